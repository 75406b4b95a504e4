#!/usr/bin/env bats
# Arrays (issue 17): vb-cat --slice/--transpose, vb-insert --axis,
# vb-delete --axis/--keep-slice over --shape (headerless) and --npy
# contents.  NumPy is the reference: the property groups of array_prop.py
# compare random cases with it, the tests after them are worked examples and
# every error path.

load test_helper

# An interpreter that imports NumPy: python3 first on PATH (may be a pyenv
# one without it), else the system's (python3-numpy).  None is a failure,
# not a skip: these tests would otherwise pass without running.
setup_file() {
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import numpy' 2>/dev/null; then
			export VB_ARRAY_PY="$py"
			return 0
		fi
	done
	echo "array.bats: no python3 that imports numpy (tried 'python3' on PATH and /usr/bin/python3); install python3-numpy" >&2
	return 1
}

PROP="${VB_SOURCE_DIR:-.}/tests/cli/array_prop.py"

# np 'CODE' ARG...: run CODE with sys and numpy as np imported.
np() {
	"$VB_ARRAY_PY" -c "import sys, io, numpy as np
$1" "${@:2}"
}

# npy_show FILE: dtype, shape and values of a .npy file, on one line.
npy_show() {
	np 'a = np.load(sys.argv[1])
print(a.dtype.str, a.shape, a.tolist())' "$1"
}

# npy_header FILE: the .npy header's version, length (magic to newline)
# and dictionary.
npy_header() {
	np 'f = open(sys.argv[1], "rb")
v = np.lib.format.read_magic(f)
h = np.lib.format._read_array_header(f, version=v)
print(v, f.tell(), h)' "$1"
}

# make_npy FILE EXPR [VERSION]: np.save(FILE, EXPR), or write_array with
# the format VERSION (e.g. 2,0).
make_npy() {
	np 'a = eval(sys.argv[2])
with open(sys.argv[1], "wb") as f:
    if sys.argv[3]:
        np.lib.format.write_array(f, a, version=tuple(map(int, sys.argv[3].split(","))))
    else:
        np.save(f, a)' "$1" "$2" "${3-}"
}

# npy_equal FILE EXPR: FILE loads as an array equal to EXPR (dtype, shape
# and bytes); EXPR sees `a`, the array of a.npy when there is one.
npy_equal() {
	np 'import os
a = np.load("a.npy") if os.path.exists("a.npy") else None
e = np.asarray(eval(sys.argv[2]))
g = np.load(sys.argv[1])
if (g.dtype, g.shape) != (e.dtype, e.shape) or \
        np.ascontiguousarray(g).tobytes() != np.ascontiguousarray(e).tobytes():
    sys.exit("%s: dtype %s shape %s, expected %s %s%s" % (sys.argv[1], g.dtype, g.shape,
             e.dtype, e.shape, "" if g.shape != e.shape else " (values differ)"))' "$1" "$2"
}

# the raw elements of a headerless content, as od prints them
od_i4() {
	od -An -v -td4 -w"$2" "$1" | sed 's/^ *//; s/  */ /g'
}

# npy_raw FILE MAJOR MINOR DICT DATA-EXPR: a .npy written by hand (to damage it)
npy_raw() {
	np 'major, minor = int(sys.argv[2]), int(sys.argv[3])
d = sys.argv[4].encode()
lb = 2 if major == 1 else 4
d += b" " * ((-(10 + lb - 2 + len(d) + 1)) % 64) + b"\n"
data = eval(sys.argv[5])
open(sys.argv[1], "wb").write(b"\x93NUMPY" + bytes([major, minor]) + len(d).to_bytes(lb, "little") + d + data)' "$@"
}

# refused_by_numpy FILE: np.load refuses FILE (a positive control)
# npy_refused MAJOR MINOR DICT DATA: a .npy NumPy refuses (npy_raw's
# arguments) is refused by vb-cat --npy too: exit 1, one line naming it
npy_refused() {
	rm -f a.npy s.vb
	npy_raw a.npy "$@"
	refused_by_numpy a.npy
	vb-insert --base a.npy s.vb 0 --text ''
	run -1 vb-cat --npy s.vb
	assert_output --partial 'vb-cat: s.vb: '
	assert_equal "${#lines[@]}" 1
}

refused_by_numpy() {
	np 'try:
    np.load(sys.argv[1])
except Exception:
    sys.exit(0)
sys.exit("np.load reads " + sys.argv[1])' "$1"
}

# npy_header_big FILE: the header's version of a .npy with a long header
npy_header_big() {
	np 'f = open(sys.argv[1], "rb")
print(np.lib.format.read_magic(f))' "$1"
}

# race WAITER-ARGS...: over a store of a.npy (3x4), a writer holds the lock
# to replace the content with b.npy (5x2); the waiter (a vb-insert or
# vb-delete with ARGS) starts before and must edit b.npy's array.
race() {
	rm -f s.vb lock.fifo
	vb-insert --base a.npy s.vb 0 --text ''
	hold_lock s.vb --replace "$(stat -c %s a.npy)"
	"$@" > waiter.out 2>&1 8>&- &
	waiter=$!
	sleep 0.5
	cat b.npy >&8
	exec 8>&-
	wait "$HOLDER_PID"
	HOLDER_PID=
	run cat holder.out
	assert_output ''
	wait "$waiter" || { cat waiter.out; false; }
	run cat waiter.out
	assert_output ''
	vb-cat -V 2 s.vb | cmp - b.npy
	vb-cat s.vb > o.npy
	run -0 vb-history --verify s.vb
}

# ------------------------------------------------------------ NumPy properties

# Each group prints its seed; a failure prints the case, its commands and how
# to reproduce it (VB_TEST_SEED, VB_TEST_ARRAY_CASES, VB_TEST_LONG=1).

@test "property cat: vb-cat --npy --slice/--transpose = np.transpose(a[spec], axes) (.npy 1.0/2.0/3.0, C and Fortran order, every dtype)" {
	run "$VB_ARRAY_PY" "$PROP" cat
	assert_success
}

@test "property raw: vb-cat --shape --unit --slice/--transpose on headerless contents = the C-order bytes" {
	run "$VB_ARRAY_PY" "$PROP" raw
	assert_success
}

@test "property edit: vb-insert --axis / vb-delete --axis sequences = np.insert / np.delete; every old version unchanged; flattens between and within edits" {
	run "$VB_ARRAY_PY" "$PROP" edit
	assert_success
}

@test "property keep: vb-delete --keep-slice = a[spec], mixed with axis edits; every old version unchanged" {
	run "$VB_ARRAY_PY" "$PROP" keep
	assert_success
}

@test "property big: megabyte contents with a 256 KiB cache: slices, transposes, edits across the buffers" {
	run "$VB_ARRAY_PY" "$PROP" big
	assert_success
}

@test "property header: damaged .npy headers: NumPy refuses => vb refuses (exit 1, one line); vb reads => as np.load" {
	run "$VB_ARRAY_PY" "$PROP" header
	assert_success
}

@test "property err-shape: errors: --shape/--unit not the content size (exit 1, the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-shape
	assert_success
}

@test "property err-syntax: errors: --slice syntax, step 0, AXES syntax (exit 2, the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-syntax
	assert_success
}

@test "property err-rank: errors: too many indices, AXES not a permutation (exit 1: they depend on the array; the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-rank
	assert_success
}

@test "property err-bounds: errors: index, INDEX/COUNT or axis out of bounds (the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-bounds
	assert_success
}

@test "property err-npy: errors: .npy data not the header size, object dtype (exit 1, the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-npy
	assert_success
}

@test "property err-slab: errors: vb-insert --axis input not whole slabs (exit 1, the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-slab
	assert_success
}

@test "property err-usage: errors: option combinations refused (exit 2, the store unchanged)" {
	run "$VB_ARRAY_PY" "$PROP" err-usage
	assert_success
}

# ------------------------------------------------------------ worked examples

@test "worked example: a 3x4 int32 .npy: delete a column, insert one, keep a slice, slice" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	cp a.npy orig.npy
	run -0 vb-insert --base a.npy s.vb 0 --text ''
	run -0 npy_show a.npy
	assert_output '<i4 (3, 4) [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]'

	# delete column 1
	run -0 vb-delete --axis 1 --npy s.vb 1 1
	assert_output ''
	vb-cat s.vb > v2.npy
	run -0 npy_show v2.npy
	assert_output '<i4 (3, 3) [[0, 2, 3], [4, 6, 7], [8, 10, 11]]'

	# insert a column before column 2: one element per row
	np 'np.array([100, 101, 102], "<i4").tofile("col")'
	run -0 vb-insert --axis 1 --npy s.vb 2 col
	assert_output ''
	vb-cat s.vb > v3.npy
	run -0 npy_show v3.npy
	assert_output '<i4 (3, 4) [[0, 2, 100, 3], [4, 6, 101, 7], [8, 10, 102, 11]]'

	# keep every other row from column 1 on
	run -0 vb-delete --keep-slice '::2,1:' --npy s.vb
	assert_output ''
	vb-cat s.vb > v4.npy
	run -0 npy_show v4.npy
	assert_output '<i4 (2, 3) [[2, 100, 3], [10, 102, 11]]'

	# read slices without changing anything
	vb-cat --npy --slice '-1,::-1' s.vb > sl.npy
	run -0 npy_show sl.npy
	assert_output '<i4 (3,) [11, 102, 10]'
	vb-cat --npy --transpose s.vb > tr.npy
	run -0 npy_show tr.npy
	assert_output '<i4 (3, 2) [[2, 10], [100, 102], [3, 11]]'
	vb-cat --npy --slice ':,1:' --transpose=1,0 s.vb > tr2.npy
	run -0 npy_show tr2.npy
	assert_output '<i4 (2, 2) [[100, 102], [3, 11]]'
	vb-cat --npy --slice '1,1' s.vb > one.npy
	run -0 npy_show one.npy
	assert_output '<i4 () 102'

	# one version per edit; every version still reads as it was
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"version":4,'
	vb-cat -V 1 s.vb > v1.npy
	cmp v1.npy orig.npy
	vb-cat -V 2 s.vb | cmp - v2.npy
	vb-cat -V 3 s.vb | cmp - v3.npy
	# the base file is never written
	cmp a.npy orig.npy
}

@test "worked example: a headerless 3x4 array of 4-byte elements (--shape --unit)" {
	np 'np.arange(12, dtype="<i4").tofile("a.raw")'
	vb-insert --base a.raw s.vb 0 --text ''
	run -0 vb-delete --axis 1 --shape 3x4 --unit 4 s.vb 1 1
	run -0 od_i4 <(vb-cat s.vb) 12
	assert_output '0 2 3
4 6 7
8 10 11'
	np 'np.array([100, 101, 102], "<i4").tofile("col")'
	run -0 vb-insert --axis 1 --shape 3x3 --unit 4 s.vb -- -1 col
	run -0 od_i4 <(vb-cat s.vb) 16
	assert_output '0 2 100 3
4 6 101 7
8 10 102 11'
	# two rows at the top: the slabs of axis 0 one after the other
	np 'np.array([[-1, -2, -3, -4], [-5, -6, -7, -8]], "<i4").tofile("rows")'
	run -0 vb-insert --axis 0 --shape 3x4 --unit 4 s.vb 0 rows
	run -0 od_i4 <(vb-cat s.vb) 16
	assert_output '-1 -2 -3 -4
-5 -6 -7 -8
0 2 100 3
4 6 101 7
8 10 102 11'
	run -0 od_i4 <(vb-cat --shape 5x4 --unit 4 --slice '1::2,::-1' s.vb) 16
	assert_output '-8 -7 -6 -5
7 101 6 4'
	run -0 od_i4 <(vb-cat --shape 5x4 --unit 4 --transpose s.vb) 20
	assert_output '-1 -5 0 4 8
-2 -6 2 6 10
-3 -7 100 101 102
-4 -8 3 7 11'
	run -0 vb-delete --keep-slice '2:,...,1::2' --shape 5x4 --unit 4 s.vb
	run -0 od_i4 <(vb-cat s.vb) 8
	assert_output '2 3
6 7
10 11'
	# --unit defaults to 1: bytes
	printf 'abcdef' > b.raw
	vb-insert --base b.raw b.vb 0 --text ''
	run -0 vb-cat --shape 2x3 --transpose b.vb
	assert_output 'adbecf'
	run -0 vb-delete --axis 1 --shape 2x3 b.vb 0 2
	run -0 vb-cat b.vb
	assert_output 'cf'
}

@test "a Fortran-order .npy: slices read the logical array, inserted blocks are in Fortran order" {
	make_npy a.npy 'np.asfortranarray(np.arange(12, dtype="<i2").reshape(3, 4))'
	cp a.npy orig.npy
	vb-insert --base a.npy s.vb 0 --text ''
	vb-cat --npy --slice '1:,::-2' s.vb > sl.npy
	npy_equal sl.npy 'a[1:, ::-2]'
	run -0 npy_show sl.npy
	assert_output '<i2 (2, 2) [[7, 5], [11, 9]]'
	# two rows: the block [[-1..-4], [-5..-8]] in Fortran order
	np 'b = np.array([[-1, -2, -3, -4], [-5, -6, -7, -8]], "<i2")
open("rowsF", "wb").write(b.tobytes(order="F"))'
	run -0 vb-insert --axis 0 --npy s.vb 1 rowsF
	vb-cat s.vb > out.npy
	run -0 npy_show out.npy
	assert_output '<i2 (5, 4) [[0, 1, 2, 3], [-1, -2, -3, -4], [-5, -6, -7, -8], [4, 5, 6, 7], [8, 9, 10, 11]]'
	run -0 npy_header out.npy
	assert_output --partial "True"
	run -0 vb-delete --axis 1 --npy s.vb 0 3
	vb-cat s.vb > out2.npy
	run -0 npy_show out2.npy
	assert_output '<i2 (5, 1) [[3], [-4], [-8], [7], [11]]'
	vb-cat -V 1 s.vb | cmp - orig.npy
}

# ------------------------------------------------------------ inputs and stores

@test "vb-insert --axis reads a pipe: no FILE, and '-'" {
	make_npy a.npy 'np.arange(6, dtype="<f8").reshape(2, 3)'
	vb-insert --base a.npy s.vb 0 --text ''
	np 'sys.stdout.buffer.write(np.array([10, 20], "<f8").tobytes())' | cat | vb-insert --axis 1 --npy s.vb 3
	vb-cat s.vb > o1.npy
	run -0 npy_show o1.npy
	assert_output '<f8 (2, 4) [[0.0, 1.0, 2.0, 10.0], [3.0, 4.0, 5.0, 20.0]]'
	np 'np.array([[7, 8, 9, 6]], "<f8").tofile("row")'
	cat row | vb-insert --axis 0 --npy s.vb -- -1 -
	vb-cat s.vb > o2.npy
	run -0 npy_show o2.npy
	assert_output '<f8 (3, 4) [[0.0, 1.0, 2.0, 10.0], [7.0, 8.0, 9.0, 6.0], [3.0, 4.0, 5.0, 20.0]]'
	# several FILEs are one input
	np 'np.array([1, 2], "<f8").tofile("p1"); np.array([3], "<f8").tofile("p2")'
	cat p2 | vb-insert --axis 1 --npy s.vb 0 p1 -
	vb-cat s.vb > o3.npy
	run -0 npy_show o3.npy
	assert_output '<f8 (3, 5) [[1.0, 0.0, 1.0, 2.0, 10.0], [2.0, 7.0, 8.0, 9.0, 6.0], [3.0, 3.0, 4.0, 5.0, 20.0]]'
	# a pipe that is not whole slabs: nothing changes
	before=$(sum_of s.vb)
	run -1 bash -c 'head -c 20 /dev/zero | cat | vb-insert --axis 1 --npy s.vb 0'
	assert_output --partial 'vb-insert: s.vb: '
	assert_equal "${#lines[@]}" 1
	assert_same_sum s.vb "$before"
}

@test "a store edited by several processes reads back in a new one; history --verify passes" {
	make_npy a.npy 'np.arange(60, dtype=">i4").reshape(3, 4, 5)'
	vb-insert --base a.npy s.vb 0 --text ''
	vb-delete --axis 2 --npy s.vb 1 2
	np 'np.full((3, 2, 3), 7, ">i4").tofile("blk")'
	vb-insert --axis 1 --npy s.vb 4 blk
	vb-delete --keep-slice '::2,...' --npy s.vb
	run -0 vb-history --verify s.vb
	# new processes, a copy of the store elsewhere too
	mkdir elsewhere
	cp -p s.vb a.npy elsewhere/
	vb-cat s.vb > out.npy
	npy_equal out.npy 'np.insert(np.delete(a, [1, 2], axis=2), [4, 4], np.full((3, 2, 3), 7, ">i4"), axis=1)[::2, ...]'
	(cd elsewhere && vb-cat --npy --slice '1,::-1' s.vb) > sl.npy
	npy_equal sl.npy 'np.insert(np.delete(a, [1, 2], axis=2), [4, 4], np.full((3, 2, 3), 7, ">i4"), axis=1)[::2, ...][1, ::-1]'
	vb-cat -V 2 s.vb > v2.npy
	npy_equal v2.npy 'np.delete(a, [1, 2], axis=2)'
}

@test ".npy format versions 2.0 and 3.0: read, edited, sliced" {
	for v in 2,0 3,0; do
		rm -f a.npy s.vb
		make_npy a.npy 'np.arange(24).astype("<U3").reshape(2, 3, 4)' "$v"
		run -0 npy_header a.npy
		assert_output --partial "(${v/,/, })"
		cp a.npy orig.npy
		vb-insert --base a.npy s.vb 0 --text ''
		vb-cat --npy --slice '...,1' --transpose s.vb > sl.npy
		npy_equal sl.npy 'a[..., 1].T'
		vb-delete --axis 2 --npy s.vb -- -2 1
		vb-cat s.vb > out.npy
		npy_equal out.npy 'np.delete(a, 2, axis=2)'
		np 'np.array([["x", "yy", "z"], ["zzz", "", "w"]], "<U3").tofile("blk")'
		vb-insert --axis 1 --npy s.vb 3 blk
		vb-cat s.vb > out2.npy
		npy_equal out2.npy 'np.insert(np.delete(a, 2, axis=2), [3], np.array([["x", "yy", "z"], ["zzz", "", "w"]], "<U3").reshape(2, 1, 3), axis=1)'
		vb-cat -V 1 s.vb | cmp - orig.npy
	done
}

@test "a header that must grow across an edit (9x9x9 -> 10x9x9 past 64 bytes), and many axes" {
	# a minimal 64-byte header: magic, version, length and 53 characters of
	# dictionary + newline; 10x9x9 cannot fit in it
	np 'd = b"{'"'"'descr'"'"':'"'"'<f4'"'"','"'"'fortran_order'"'"':False,'"'"'shape'"'"':(9,9,9)}\n"
assert 10 + len(d) == 64, len(d)
a = np.arange(729, dtype="<f4").reshape(9, 9, 9)
open("a.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d + a.tobytes())'
	run -0 npy_header a.npy
	assert_output --partial '(1, 0) 64 '
	vb-insert --base a.npy s.vb 0 --text ''
	np 'np.full((1, 9, 9), -1, "<f4").tofile("slab")'
	run -0 vb-insert --axis 0 --npy s.vb 9 slab
	vb-cat s.vb > out.npy
	run -0 npy_header out.npy
	refute_output --partial ' 64 '
	npy_equal out.npy 'np.concatenate([a, np.full((1, 9, 9), -1, "<f4")])'
	vb-cat --npy --slice '-1,0,:3' s.vb > last.npy
	run -0 npy_show last.npy
	assert_output '<f4 (3,) [-1.0, -1.0, -1.0]'
	# and back: the data still where the new header says
	run -0 vb-delete --axis 0 --npy s.vb 0 2
	vb-cat s.vb > out2.npy
	npy_equal out2.npy 'np.concatenate([a, np.full((1, 9, 9), -1, "<f4")])[2:]'

	# a header with a large padding, then shrinking edits
	np 'a = np.arange(30, dtype="|u1").reshape(5, 6)
d = ("{'"'"'descr'"'"': '"'"'|u1'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (5, 6), }").encode()
d += b" " * (4096 - 10 - len(d) - 1) + b"\n"
open("p.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d + a.tobytes())'
	vb-insert --base p.npy p.vb 0 --text ''
	vb-delete --axis 1 --npy p.vb 0 5
	vb-cat p.vb > p1.npy
	run -0 npy_show p1.npy
	assert_output '|u1 (5, 1) [[5], [11], [17], [23], [29]]'

	# 32 axes (NumPy's limit in 1.x): a long shape in the header
	make_npy m.npy 'np.arange(2**5, dtype="<i2").reshape((1,) * 27 + (2,) * 5)'
	vb-insert --base m.npy m.vb 0 --text ''
	np 'np.array([-7] * 16, "<i2").tofile("mslab")'
	vb-insert --axis 30 --npy m.vb 1 mslab
	vb-cat m.vb > m1.npy
	npy_equal m1.npy 'np.insert(np.load("m.npy"), [1], np.full((1,) * 27 + (2, 2, 2, 1, 2), -7, "<i2"), axis=30)'
	vb-delete --axis 27 --npy m.vb 0 1
	vb-cat m.vb > m2.npy
	npy_equal m2.npy 'np.insert(np.load("m.npy"), [1], np.full((1,) * 27 + (2, 2, 2, 1, 2), -7, "<i2"), axis=30)[(slice(None),) * 27 + (slice(1, None),)]'
	vb-cat --npy --slice '...,1,0' --transpose m.vb > m3.npy
	npy_equal m3.npy 'np.load("m2.npy")[..., 1, 0].T'
}

@test "a 40 MiB float32 .npy, larger than the 16 MiB cache: slices and an axis-1 delete" {
	make_npy a.npy 'np.arange(2560 * 4096, dtype="<f4").reshape(2560, 4096)'
	cp a.npy orig.npy
	vb-insert --base a.npy s.vb 0 --text ''
	vb-cat --npy --slice '::97,4000:' s.vb > s1.npy
	npy_equal s1.npy 'a[::97, 4000:]'
	vb-cat --npy --slice '-1000:-997' --transpose s.vb > s2.npy
	npy_equal s2.npy 'a[-1000:-997].T'
	vb-cat --npy --slice ':,-1' s.vb > s3.npy
	npy_equal s3.npy 'a[:, -1]'
	run -0 vb-delete --axis 1 --npy s.vb 1000 10
	vb-cat s.vb > out.npy
	npy_equal out.npy 'np.delete(a, range(1000, 1010), axis=1)'
	vb-cat --npy --slice '2000:,::-3' s.vb > s4.npy
	npy_equal s4.npy 'np.delete(a, range(1000, 1010), axis=1)[2000:, ::-3]'
	vb-cat -V 1 s.vb | cmp - orig.npy
}

@test "ulimit -v: slices, a transpose and an axis edit of a 40 MiB content in a 64 MiB memory limit" {
	skip_under_sanitizer
	make_npy a.npy 'np.arange(2560 * 4096, dtype="<f4").reshape(2560, 4096)'
	vb-insert --base a.npy s.vb 0 --text ''
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat --npy --slice '::2,1::3' s.vb > s1.npy"
	npy_equal s1.npy 'a[::2, 1::3]'
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat --npy --slice ':,:1024' --transpose s.vb > s2.npy"
	npy_equal s2.npy 'a[:, :1024].T'
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-delete --axis 1 --npy s.vb 0 4000"
	vb-cat s.vb > out.npy
	npy_equal out.npy 'a[:, 4000:]'
}

# ------------------------------------------------------------ errors

@test "--shape: a content of another size is an error of every command; the store unchanged" {
	np 'np.arange(12, dtype="<i4").tofile("a.raw")'
	vb-insert --base a.raw s.vb 0 --text ''
	before=$(sum_of s.vb)
	: > empty
	run -1 vb-cat --shape 3x5 --unit 4 s.vb
	assert_output 'vb-cat: s.vb: the content is 48 bytes, not the 60 bytes of a 3x5 array of 4-byte elements'
	run -1 vb-cat --shape 3x4 --slice 1 s.vb
	assert_output 'vb-cat: s.vb: the content is 48 bytes, not the 12 bytes of a 3x4 array of 1-byte elements'
	run -1 vb-cat --shape 3x4x2 --unit 4 --transpose s.vb
	assert_output 'vb-cat: s.vb: the content is 48 bytes, not the 96 bytes of a 3x4x2 array of 4-byte elements'
	run -1 vb-insert --axis 0 --shape 4x4 --unit 4 s.vb 0 empty
	assert_output 'vb-insert: s.vb: the content is 48 bytes, not the 64 bytes of a 4x4 array of 4-byte elements'
	run -1 vb-delete --axis 0 --shape 2x4 --unit 4 s.vb 0 1
	assert_output 'vb-delete: s.vb: the content is 48 bytes, not the 32 bytes of a 2x4 array of 4-byte elements'
	run -1 vb-delete --keep-slice 0 --shape 48 --unit 2 s.vb
	assert_output 'vb-delete: s.vb: the content is 48 bytes, not the 96 bytes of a 48 array of 2-byte elements'
	# an element size that does not divide the content
	run -1 vb-cat --shape 5 --unit 5 --slice 0 s.vb
	assert_output --partial 'vb-cat: s.vb: '
	assert_output --partial '48 bytes'
	assert_equal "${#lines[@]}" 1
	run -1 vb-delete --axis 0 --shape 5 --unit 5 s.vb 0 1
	assert_output --partial 'vb-delete: s.vb: '
	assert_output --partial '48 bytes'
	assert_equal "${#lines[@]}" 1
	assert_same_sum s.vb "$before"
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"version":1,'
}

@test "--shape and --unit syntax; --npy excludes --shape and --unit (usage errors)" {
	np 'np.arange(12, dtype="<i4").tofile("a.raw")'
	vb-insert --base a.raw s.vb 0 --text ''
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy n.vb 0 --text ''
	before=$(sum_of s.vb)
	nbefore=$(sum_of n.vb)
	for shape in '' 3x x4 3xx4 3xa 3,4 -3 0x-1 '3 x4'; do
		run vb-cat --shape "$shape" --unit 4 s.vb
		assert_usage_error vb-cat "--shape: invalid shape '$shape' (expected sizes separated by x: 1000x256)"
		run vb-delete --axis 0 --shape "$shape" s.vb 0 0
		assert_usage_error vb-delete "--shape: invalid shape '$shape' (expected sizes separated by x: 1000x256)"
	done
	run vb-cat --shape 3x4 --unit 0 s.vb
	assert_usage_error vb-cat "invalid --unit '0' (an element is at least 1 byte)"
	run vb-cat --npy --unit 4 n.vb
	assert_usage_error vb-cat '--unit cannot be combined with --npy (the header gives the element size)'
	run vb-cat --npy --shape 3x4 n.vb
	assert_usage_error vb-cat '--shape and --npy cannot be combined (a .npy header gives the shape)'
	run vb-insert --axis 0 --npy --unit 4 n.vb 0 /dev/null
	assert_usage_error vb-insert '--unit cannot be combined with --npy (the header gives the element size)'
	run vb-insert --axis 0 --npy --shape 3x4 n.vb 0 /dev/null
	assert_usage_error vb-insert '--shape and --npy cannot be combined (a .npy header gives the shape)'
	run vb-delete --axis 0 --npy --unit 4 n.vb 0 1
	assert_usage_error vb-delete '--unit cannot be combined with --npy (the header gives the element size)'
	run vb-delete --keep-slice 0 --npy --shape 3x4 n.vb
	assert_usage_error vb-delete '--shape and --npy cannot be combined (a .npy header gives the shape)'
	run vb-insert --axis 0 n.vb 0 /dev/null
	assert_usage_error vb-insert '--axis needs --shape or --npy (what the array is)'
	run vb-delete --axis 0 n.vb 0 1
	assert_usage_error vb-delete '--axis needs --shape or --npy (what the array is)'
	assert_same_sum s.vb "$before"
	assert_same_sum n.vb "$nbefore"
}

@test "--slice/--transpose need --shape or --npy and exclude --range/--offset/--length/--lines" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run vb-cat --slice 1 s.vb
	assert_usage_error vb-cat '--slice needs --shape or --npy (what the array is)'
	run vb-cat --transpose=1,0 s.vb
	assert_usage_error vb-cat '--transpose needs --shape or --npy (what the array is)'
	for opt in range=0:1 offset=1 length=1 lines=1; do
		run vb-cat --npy --slice 1 "--$opt" s.vb
		assert_usage_error vb-cat "--slice cannot be combined with --${opt%=*}"
		run vb-cat --npy --transpose "--$opt" s.vb
		assert_usage_error vb-cat "--transpose cannot be combined with --${opt%=*}"
	done
	assert_same_sum s.vb "$before"
}

@test "bad --slice syntax and step 0: usage errors of vb-cat and vb-delete --keep-slice" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	for spec in a 1:2:3:4 1,,2 ,1 1.5 1:x '[0]' .. '1 2'; do
		run vb-cat --npy --slice "$spec" s.vb
		assert_failure 2
		assert_line --index 0 --partial "vb-cat: --slice: invalid slice '$spec' at '"
		assert_line --index 1 "Try 'vb-cat --help' for more information."
		assert_equal "${#lines[@]}" 2
		run vb-delete --keep-slice "$spec" --npy s.vb
		assert_failure 2
		assert_line --index 0 --partial "vb-delete: --keep-slice: invalid slice '$spec' at '"
		assert_line --index 1 "Try 'vb-delete --help' for more information."
		assert_equal "${#lines[@]}" 2
	done
	run vb-cat --npy --slice 'a' s.vb
	assert_usage_error vb-cat "--slice: invalid slice 'a' at 'a' (expected items such as 3, -1, 10:20, ::-2 or ..., separated by commas)"
	run vb-cat --npy --slice '...,...' s.vb
	assert_usage_error vb-cat "--slice: slice '...,...' has more than one '...'"
	run vb-cat --npy --slice '::0' s.vb
	assert_usage_error vb-cat "--slice: slice '::0': a step cannot be 0"
	run vb-delete --keep-slice '1:3,::0' --npy s.vb
	assert_usage_error vb-delete "--keep-slice: slice '1:3,::0': a step cannot be 0"
	assert_same_sum s.vb "$before"
}

@test "--slice with too many indices: exit 1, as an index out of bounds (it depends on the array)" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-cat --npy --slice '0,0,0' s.vb
	assert_output 'vb-cat: s.vb: too many indices: the array has 2 axes, the slice 3'
	run -1 vb-cat --npy --slice ':,:,...,:' s.vb
	assert_output 'vb-cat: s.vb: too many indices: the array has 2 axes, the slice 3'
	run -1 vb-delete --keep-slice '0,:,:' --npy s.vb
	assert_output 'vb-delete: s.vb: too many indices: the array has 2 axes, the slice 3'
	assert_same_sum s.vb "$before"
}

@test "--slice: an index out of bounds is exit 1; a slice past the end is clamped as in NumPy" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-cat --npy --slice 5 s.vb
	assert_output 'vb-cat: s.vb: index 5 is out of bounds for axis 0 with size 3'
	run -1 vb-cat --npy --slice ':,-5' s.vb
	assert_output 'vb-cat: s.vb: index -5 is out of bounds for axis 1 with size 4'
	run -1 vb-cat --npy --slice '3,...' --transpose s.vb
	assert_output 'vb-cat: s.vb: index 3 is out of bounds for axis 0 with size 3'
	run -1 vb-delete --keep-slice '...,4' --npy s.vb
	assert_output 'vb-delete: s.vb: index 4 is out of bounds for axis 1 with size 4'
	vb-cat --npy --slice '1:99,-99:2' s.vb > c.npy
	run -0 npy_show c.npy
	assert_output '<i4 (2, 2) [[4, 5], [8, 9]]'
	vb-cat --npy --slice '99:,::-1' s.vb > e.npy
	run -0 npy_show e.npy
	assert_output '<i4 (0, 4) []'
	assert_same_sum s.vb "$before"
}

@test "bad --transpose AXES syntax: usage errors" {
	make_npy a.npy 'np.arange(24, dtype="<i4").reshape(2, 3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	for axes in a 0,,1 1.0,0,2 ,0 '0 1'; do
		run vb-cat --npy --transpose="$axes" s.vb
		assert_usage_error vb-cat "--transpose: invalid axes '$axes' (expected a permutation such as 1,0 or 2,0,1)"
	done
	# negatives as in NumPy
	vb-cat --npy --transpose=-1,0,-2 s.vb > t.npy
	npy_equal t.npy 'np.transpose(a, (2, 0, 1))'
	assert_same_sum s.vb "$before"
}

@test "--transpose AXES not a permutation of the axes: exit 1 (it depends on the array)" {
	make_npy a.npy 'np.arange(24, dtype="<i4").reshape(2, 3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-cat --npy --transpose=0,0,1 s.vb
	assert_output 'vb-cat: s.vb: axis 0 is repeated in the permutation'
	run -1 vb-cat --npy --transpose=2,-1,0 s.vb
	assert_output 'vb-cat: s.vb: axis 2 is repeated in the permutation'
	for axes in 0,1 0,1,2,3; do
		run -1 vb-cat --npy --transpose="$axes" s.vb
		assert_output --regexp "^vb-cat: s\.vb: the axes \([0-9]\) do not match the array's 3 axes\$"
	done
	run -1 vb-cat --npy --transpose=0,1,3 s.vb
	assert_output 'vb-cat: s.vb: axis 3 is out of bounds for an array of 3 axes'
	run -1 vb-cat --npy --transpose=0,1,-4 s.vb
	assert_output 'vb-cat: s.vb: axis -4 is out of bounds for an array of 3 axes'
	# the result's axes, after --slice
	run -1 vb-cat --npy --slice 0 --transpose=0,1,2 s.vb
	assert_output "vb-cat: s.vb: the axes (3) do not match the array's 2 axes"
	assert_same_sum s.vb "$before"
}

@test "vb-insert --axis: bad INDEX, bad axis, input not whole slabs, refused options; nothing changes" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	np 'np.arange(3, dtype="<i4").tofile("col")'
	run -1 vb-insert --axis 1 --npy s.vb 5 col
	assert_output 'vb-insert: s.vb: index 5 is out of bounds for axis 1 with size 4'
	run -1 vb-insert --axis 1 --npy s.vb -- -5 col
	assert_output 'vb-insert: s.vb: index -5 is out of bounds for axis 1 with size 4'
	run -1 vb-insert --axis 2 --npy s.vb 0 col
	assert_output 'vb-insert: s.vb: axis 2 is out of bounds for an array of 2 axes'
	# 12 bytes is not whole rows of 16 bytes
	run -1 vb-insert --axis 0 --npy s.vb 0 col
	assert_output 'vb-insert: s.vb: the input is 12 bytes, not whole slabs of 16 bytes along axis 0 of a 3x4 array'
	# 13 bytes is not whole columns of 12 bytes
	{ cat col; printf x; } > col13
	run -1 vb-insert --axis 1 --npy s.vb 0 col13
	assert_output 'vb-insert: s.vb: the input is 13 bytes, not whole slabs of 12 bytes along axis 1 of a 3x4 array'
	run -1 bash -c 'cat col13 | vb-insert --axis 1 --npy s.vb 4'
	assert_output 'vb-insert: s.vb: the input is 13 bytes, not whole slabs of 12 bytes along axis 1 of a 3x4 array'
	for opt in text hex replace at-version anchor; do
		run vb-insert --axis 0 "--$opt=0" --npy s.vb 0 col
		assert_usage_error vb-insert "--$opt cannot be combined with --axis (slabs come from FILE or stdin)"
	done
	assert_same_sum s.vb "$before"
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"version":1,'
}

@test "vb-delete --axis: INDEX + COUNT past the axis, bad axis; nothing changes" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-delete --axis 1 --npy s.vb 2 3
	assert_output 'vb-delete: s.vb: cannot delete 3 slabs from index 2: axis 1 has 4'
	run -1 vb-delete --axis 0 --npy s.vb 4 0
	assert_output 'vb-delete: s.vb: index 4 is out of bounds for axis 0 with size 3'
	run -1 vb-delete --axis 0 --npy s.vb -- -4 1
	assert_output 'vb-delete: s.vb: index -4 is out of bounds for axis 0 with size 3'
	run -1 vb-delete --axis 0 --npy s.vb -- -1 2
	assert_output --partial 'vb-delete: s.vb: cannot delete 2 slabs from index '
	assert_equal "${#lines[@]}" 1
	run -1 vb-delete --axis 2 --npy s.vb 0 1
	assert_output 'vb-delete: s.vb: axis 2 is out of bounds for an array of 2 axes'
	assert_same_sum s.vb "$before"
	# -1 1 deletes the last row
	run -0 vb-delete --axis 0 --npy s.vb -- -1 1
	vb-cat s.vb > o.npy
	run -0 npy_show o.npy
	assert_output '<i4 (2, 4) [[0, 1, 2, 3], [4, 5, 6, 7]]'
}

@test "--npy: not a .npy, a data size that is not the header's, an object dtype: exit 1, nothing changes" {
	printf 'hello world, not an array' > t.txt
	vb-insert --base t.txt t.vb 0 --text ''
	before=$(sum_of t.vb)
	run -1 vb-cat --npy --slice 0 t.vb
	assert_output 'vb-cat: t.vb: not a .npy file (no \x93NUMPY magic)'
	run -1 vb-delete --axis 0 --npy t.vb 0 1
	assert_output 'vb-delete: t.vb: not a .npy file (no \x93NUMPY magic)'
	run -1 vb-insert --axis 0 --npy t.vb 0 /dev/null
	assert_output 'vb-insert: t.vb: not a .npy file (no \x93NUMPY magic)'
	assert_same_sum t.vb "$before"

	# 3 bytes more than the 4x3 int16 data: not whole elements
	make_npy a.npy 'np.arange(12, dtype="<i2").reshape(4, 3)'
	printf 'abc' >> a.npy
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	msg='s.vb: the data after the .npy header is 27 bytes, not the 24 bytes of a 4x3 array of 2-byte elements'
	run -1 vb-cat --npy s.vb
	assert_output "vb-cat: $msg"
	run -1 vb-cat --npy --slice 0 s.vb
	assert_output "vb-cat: $msg"
	run -1 vb-delete --axis 0 --npy s.vb 0 1
	assert_output "vb-delete: $msg"
	run -1 vb-delete --keep-slice 1: --npy s.vb
	assert_output "vb-delete: $msg"
	np 'np.arange(3, dtype="<i2").tofile("row")'
	run -1 vb-insert --axis 0 --npy s.vb 0 row
	assert_output "vb-insert: $msg"
	assert_same_sum s.vb "$before"

	# 2 bytes short: one element missing
	make_npy b.npy 'np.arange(12, dtype="<i2").reshape(4, 3)'
	truncate -s -2 b.npy
	vb-insert --base b.npy b.vb 0 --text ''
	before=$(sum_of b.vb)
	run -1 vb-cat --npy --slice 0 b.vb
	assert_output 'vb-cat: b.vb: the data after the .npy header is 22 bytes, not the 24 bytes of a 4x3 array of 2-byte elements'
	run -1 vb-delete --axis 1 --npy b.vb 0 1
	assert_output 'vb-delete: b.vb: the data after the .npy header is 22 bytes, not the 24 bytes of a 4x3 array of 2-byte elements'
	assert_same_sum b.vb "$before"

	np 'a = np.array([None, [1], "x"], dtype=object); np.save("o.npy", a, allow_pickle=True)'
	vb-insert --base o.npy o.vb 0 --text ''
	before=$(sum_of o.vb)
	run -1 vb-cat --npy --slice 0 o.vb
	assert_output "vb-cat: o.vb: an object dtype ('O') holds Python objects, not elements"
	run -1 vb-delete --axis 0 --npy o.vb 0 1
	assert_output "vb-delete: o.vb: an object dtype ('O') holds Python objects, not elements"
	run -1 vb-insert --axis 0 --npy o.vb 0 /dev/null
	assert_output "vb-insert: o.vb: an object dtype ('O') holds Python objects, not elements"
	assert_same_sum o.vb "$before"
}

@test "vb-insert --axis along slabs of no elements is refused (their count cannot be told); nothing changes" {
	make_npy z.npy 'np.zeros((3, 0), "<i4")'
	vb-insert --base z.npy z.vb 0 --text ''
	before=$(sum_of z.vb)
	run -1 vb-insert --axis 0 --npy z.vb 0 /dev/null
	assert_output 'vb-insert: z.vb: the slabs along axis 0 hold no elements (another axis has size 0): how many to insert cannot be told from the input'
	assert_same_sum z.vb "$before"
	# along the empty axis itself a slab has 3 elements
	np 'np.array([7, 8, 9], "<i4").tofile("col")'
	run -0 vb-insert --axis 1 --npy z.vb 0 col
	vb-cat z.vb > o.npy
	run -0 npy_show o.npy
	assert_output '<i4 (3, 1) [[7], [8], [9]]'
}

@test "an edit of more than 16 Mi runs is refused before anything changes" {
	head -c $((2 * (16777216 + 1))) /dev/zero > zz
	vb-insert --base zz s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-delete --axis 1 --shape 16777217x2 s.vb 0 1
	assert_output 'vb-delete: s.vb: the edit is 16777217 runs of elements, more than the 16777216 one version may make'
	run -1 vb-delete --keep-slice '::2' --shape 33554434 s.vb
	assert_output --partial 'vb-delete: s.vb: the edit is 16777217 runs of elements, more than the 16777216'
	assert_same_sum s.vb "$before"
	# reading is not bounded so: vb-cat streams every other byte
	run -0 bash -c "vb-cat --shape 33554434 --slice '::2' s.vb | wc -c"
	assert_output 16777217
}

@test ".npy format versions other than 1.0, 2.0 and 3.0 are refused (as NumPy does)" {
	for v in '1 1' '2 1' '3 1' '4 0' '0 0'; do
		# shellcheck disable=SC2086
		npy_refused $v "{'descr': '<i2', 'fortran_order': False, 'shape': (3,), }" 'bytes(6)'
		before=$(sum_of s.vb)
		run -1 vb-delete --axis 0 --npy s.vb 0 1
		assert_output --partial 'vb-delete: s.vb: '
		assert_same_sum s.vb "$before"
	done
}

@test "a .npy descr NumPy does not know is refused" {
	for descr in "'<f7'" "'|b1000'" "'<M8[nse]'" "'<c2147483648'" "'<i3'" "'<u16'"; do
		npy_refused 1 0 "{'descr': $descr, 'fortran_order': False, 'shape': (0,), }" 'b""'
	done
}

@test "a .npy shape that is not a tuple is refused: (6) is the integer 6" {
	for shape in '(6)' '6' '[6]' '(6,' '(6.0,)' '(True,)'; do
		npy_refused 1 0 "{'descr': '|u1', 'fortran_order': False, 'shape': $shape, }" 'bytes(6)'
	done
	# a negative size: np.load happens to take -1 as reshape does, vb not
	for shape in '(-1, 6)' '(6, -1)'; do
		rm -f a.npy s.vb
		npy_raw a.npy 1 0 "{'descr': '|u1', 'fortran_order': False, 'shape': $shape, }" 'bytes(6)'
		vb-insert --base a.npy s.vb 0 --text ''
		run -1 vb-cat --npy s.vb
		assert_output --partial 'vb-cat: s.vb: '
		assert_equal "${#lines[@]}" 1
	done
}

@test "axis edits take -m and --if-version; vb-cat --slice reads -V head~K and several stores" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	run -0 vb-delete --axis 0 --npy -m 'drop row 0' --if-version 1 s.vb 0 1
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"version":2,'
	assert_output --partial '"message":"drop row 0"'
	before=$(sum_of s.vb)
	run -3 vb-delete --axis 0 --npy --if-version 1 s.vb 0 1
	assert_output 'vb-delete: s.vb: the newest version is 2, not 1 (--if-version)'
	np 'np.arange(2, dtype="<i4").tofile("col")'
	run -3 vb-insert --axis 1 --npy --if-version 1 s.vb 0 col
	assert_output 'vb-insert: s.vb: the newest version is 2, not 1 (--if-version)'
	assert_same_sum s.vb "$before"
	vb-cat -V head~1 --npy --slice 0 s.vb > h.npy
	run -0 npy_show h.npy
	assert_output '<i4 (4,) [0, 1, 2, 3]'
	# two stores: two .npy files one after the other
	cp a.npy b.npy
	vb-insert --base b.npy t.vb 0 --text ''
	vb-cat --npy --slice '...,1' s.vb t.vb > two
	np 'f = open("two", "rb")
for _ in range(2):
    print(np.load(f).tolist())
assert f.read() == b""'
	run -0 np 'f = open("two", "rb")
print(np.load(f).tolist(), np.load(f).tolist())'
	assert_output '[5, 9] [1, 5, 9]'
}

@test "--shape/--npy without an array form of vb-insert/vb-delete, --axis with --edits: usage errors" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	printf '0 1\n' > ed
	run vb-insert --npy s.vb 0 --text x
	assert_usage_error vb-insert '--npy describes the array for --axis: give --axis K (or use vb-cat --slice to read it)'
	run vb-insert --shape 3x4 --unit 4 s.vb 0 --text x
	assert_usage_error vb-insert '--shape describes the array for --axis: give --axis K (or use vb-cat --slice to read it)'
	run vb-delete --npy s.vb 0 1
	assert_usage_error vb-delete '--npy describes the array for --axis or --keep-slice: give one of them'
	run vb-delete --shape 3x4 --unit 4 s.vb 0 1
	assert_usage_error vb-delete '--shape describes the array for --axis or --keep-slice: give one of them'
	run vb-delete --npy --ranges ed s.vb
	assert_usage_error vb-delete '--npy describes the array for --axis or --keep-slice: give one of them'
	run vb-insert --axis 0 --npy --edits ed s.vb
	assert_usage_error vb-insert '--axis and --edits cannot be used together'
	assert_same_sum s.vb "$before"
	# vb-cat --npy and --shape alone read the content as it is
	vb-cat --npy s.vb | cmp - a.npy
	vb-cat --shape 176 s.vb | cmp - a.npy
}

@test "axis edits waiting for the lock edit the content they find once they have it" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	make_npy b.npy 'np.arange(100, 110, dtype="<i4").reshape(5, 2)'
	race vb-delete --axis 1 --npy --wait 30 s.vb 0 1
	run -0 npy_show o.npy
	assert_output '<i4 (5, 1) [[101], [103], [105], [107], [109]]'
	race vb-delete --keep-slice '1::2' --npy --wait 30 s.vb
	run -0 npy_show o.npy
	assert_output '<i4 (2, 2) [[102, 103], [106, 107]]'
	np 'np.array([-1, -2], "<i4").tofile("row")'
	race vb-insert --axis 0 --npy --wait 30 s.vb -- -1 row
	run -0 npy_show o.npy
	assert_output '<i4 (6, 2) [[100, 101], [102, 103], [104, 105], [106, 107], [-1, -2], [108, 109]]'
	# 8 bytes are 2 columns of a 3x4 array but not whole columns of 5x2
	np 'np.array([-1, -2], "<i4").tofile("col")'
	rm -f s.vb lock.fifo
	vb-insert --base a.npy s.vb 0 --text ''
	hold_lock s.vb --replace "$(stat -c %s a.npy)"
	vb-insert --axis 1 --npy --wait 30 s.vb 0 col > waiter.out 2>&1 8>&- &
	waiter=$!
	sleep 0.5
	cat b.npy >&8
	exec 8>&-
	wait "$HOLDER_PID"
	HOLDER_PID=
	status=0
	wait "$waiter" || status=$?
	assert_equal "$status" 1
	run cat waiter.out
	assert_output 'vb-insert: s.vb: the input is 8 bytes, not whole slabs of 20 bytes along axis 1 of a 5x2 array'
	vb-cat s.vb | cmp - b.npy
}

@test "a 1.0 header at its 65535-byte limit, a 2.0 header of 1500 fields: edited and sliced" {
	np 'a = np.arange(81, dtype="<i2").reshape(9, 9)
d = b"{'"'"'descr'"'"': '"'"'<i2'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (9, 9), }"
hlen = 65535 - (10 + 65535) % 64
d += b" " * (hlen - len(d) - 1) + b"\n"
open("a.npy", "wb").write(b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d + a.tobytes())'
	vb-insert --base a.npy s.vb 0 --text ''
	np 'np.full((1, 9), -3, "<i2").tofile("row")'
	run -0 vb-insert --axis 0 --npy s.vb 9 row
	vb-cat s.vb > o.npy
	# (np.load reads headers over 10000 bytes only when trusted)
	run -0 np 'a = np.load("o.npy", allow_pickle=True)
print(a.shape, a[8].tolist(), a[9].tolist())'
	assert_output '(10, 9) [72, 73, 74, 75, 76, 77, 78, 79, 80] [-3, -3, -3, -3, -3, -3, -3, -3, -3]'

	np 'dt = np.dtype([("f%05d_%s" % (i, "x" * 40), "<i1") for i in range(1500)])
b = np.zeros((3, 2), dt)
b.view("<i1").reshape(3, 2, 1500)[...] = np.arange(6).reshape(3, 2, 1)
np.save("m.npy", b)'
	run -0 npy_header_big m.npy
	assert_output --partial '(2, 0)'
	vb-insert --base m.npy m.vb 0 --text ''
	run -0 vb-delete --axis 1 --npy m.vb 0 1
	vb-cat m.vb > m1.npy
	run -0 np 'a = np.load("m1.npy", allow_pickle=True)
print(a.shape, len(a.dtype.names), a.view("<i1").reshape(3, 1500)[:, 0].tolist())'
	assert_output '(3, 1) 1500 [1, 3, 5]'
	vb-cat --npy --slice '::-2,-1' m.vb > m2.npy
	run -0 np 'a = np.load("m2.npy", allow_pickle=True)
print(a.shape, a.view("<i1").reshape(2, 1500)[:, 1499].tolist())'
	assert_output '(2,) [5, 1]'
}

@test "ulimit -v 96 MiB: a 120 MiB float32 array transposed whole (the transpose engine's 64 MiB is its bound)" {
	skip_under_sanitizer
	np 'a = np.lib.format.open_memmap("a.npy", "w+", "<f4", (5120, 6144))
for i in range(0, 5120, 512):
    a[i:i + 512] = np.arange(i * 6144, (i + 512) * 6144, dtype="<f8").reshape(512, 6144)
a.flush()'
	vb-insert --base a.npy s.vb 0 --text ''
	run -0 bash -c "ulimit -v $((96 * 1024)); vb-cat --npy --transpose s.vb > t.npy"
	np 'a = np.load("a.npy", mmap_mode="r")
t = np.load("t.npy", mmap_mode="r")
assert t.shape == (6144, 5120), t.shape
for j in range(0, 6144, 1024):
    assert np.array_equal(t[j:j + 1024], a[:, j:j + 1024].T), j'
}

@test "--keep-slice and an axis delete copy no element: the store grows by KiB while MiB are kept" {
	make_npy a.npy 'np.arange(2560 * 4096, dtype="<f4").reshape(2560, 4096)'
	vb-insert --base a.npy s.vb 0 --text ''
	s0=$(stat -c %s s.vb)
	vb-delete --keep-slice '::2,100:3000' --npy s.vb
	s1=$(stat -c %s s.vb)
	vb-delete --axis 1 --npy s.vb 5 100
	s2=$(stat -c %s s.vb)
	# 1280 rows of 2900 then 2800 floats (14 MiB) are kept; a record per
	# run, no element
	(( s1 - s0 < 256 * 1024 )) || { echo "keep-slice: the store grew by $((s1 - s0)) bytes"; false; }
	(( s2 - s1 < 256 * 1024 )) || { echo "axis delete: the store grew by $((s2 - s1)) bytes"; false; }
	vb-cat s.vb > o.npy
	npy_equal o.npy 'np.delete(a[::2, 100:3000], range(5, 105), axis=1)'
}

@test "vb-insert --axis from a pipe with \$TMPDIR unusable: exit 1, one line, nothing changes" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	np 'np.arange(3, dtype="<i4").tofile("col")'
	run -1 bash -c 'cat col | TMPDIR=/nonexistent vb-insert --axis 1 --npy s.vb 0'
	assert_output 'vb-insert: a temporary file in /nonexistent: No such file or directory'
	assert_same_sum s.vb "$before"
	# a regular FILE is measured, and along axis 0 the input streams in:
	# no temporary file either way
	run -0 env TMPDIR=/nonexistent vb-insert --axis 1 --npy s.vb 0 col
	np 'np.arange(5, dtype="<i4").tofile("row")'
	run -0 bash -c 'cat row | TMPDIR=/nonexistent vb-insert --axis 0 --npy s.vb 3'
	vb-cat s.vb > o.npy
	run -0 npy_show o.npy
	assert_output '<i4 (4, 5) [[0, 0, 1, 2, 3], [1, 4, 5, 6, 7], [2, 8, 9, 10, 11], [0, 1, 2, 3, 4]]'
}

@test "vb-insert --axis 0 from a pipe of 6 MB that is not whole slabs: cut off, the store byte-identical" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 bash -c 'head -c $((16 * 400000 + 3)) /dev/urandom | vb-insert --axis 0 --npy s.vb 1'
	assert_output 'vb-insert: s.vb: the input is 6400003 bytes, not whole slabs of 16 bytes along axis 0 of a 3x4 array'
	assert_same_sum s.vb "$before"
	run -0 vb-history --verify s.vb
	# and whole slabs of the same size go in
	head -c $((16 * 400000)) /dev/urandom > rows
	cat rows | vb-insert --axis 0 --npy s.vb 1
	vb-cat s.vb > o.npy
	npy_equal o.npy 'np.insert(a, [1] * 400000, np.fromfile("rows", "<i4").reshape(400000, 4), axis=0)'
}

@test "axis edits export and apply to a copy; --diff lists what they changed" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	cp s.vb c.vb
	vb-delete --axis 1 --npy s.vb 1 2
	np 'np.array([7, 8, 9], "<i4").tofile("col")'
	vb-insert --axis 1 --npy s.vb 0 col
	vb-delete --keep-slice '::2' --npy s.vb
	vb-history --export 1 s.vb > e.vbx
	run -0 vb-history --apply e.vbx c.vb
	vb-cat c.vb > c.npy
	run -0 npy_show c.npy
	assert_output '<i4 (2, 3) [[7, 0, 3], [9, 8, 11]]'
	vb-cat s.vb | cmp - c.npy
	run -0 vb-history --verify c.vb
	run -0 vb-history --diff 1 s.vb 2
	assert_line --index 0 'A_OFFSET A_LENGTH B_OFFSET B_LENGTH'
}

@test "--keep-slice with a negative step: the slice in its new order, the old version intact" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	cp a.npy orig.npy
	vb-insert --base a.npy s.vb 0 --text ''
	run -0 vb-delete --keep-slice '::-1' --npy s.vb
	vb-cat s.vb > o1.npy
	run -0 npy_show o1.npy
	assert_output '<i4 (3, 4) [[8, 9, 10, 11], [4, 5, 6, 7], [0, 1, 2, 3]]'
	run -0 vb-delete --keep-slice ':,3:0:-2' --npy s.vb
	vb-cat s.vb > o2.npy
	run -0 npy_show o2.npy
	assert_output '<i4 (3, 2) [[11, 9], [7, 5], [3, 1]]'
	run -0 vb-delete --keep-slice '-1::-2,0' --npy s.vb
	vb-cat s.vb > o3.npy
	run -0 npy_show o3.npy
	assert_output '<i4 (2,) [3, 11]'
	vb-cat -V 1 s.vb | cmp - orig.npy
	vb-cat -V 2 s.vb | cmp - o1.npy
	cmp a.npy orig.npy
}

@test "vb-cat --slice over several stores: an error about one (status 1) and the next still written" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	make_npy six.npy 'np.arange(12, dtype="<i2").reshape(6, 2)'
	vb-insert --base a.npy s.vb 0 --text ''
	vb-insert --base six.npy t.vb 0 --text ''
	run -1 --separate-stderr bash -c 'vb-cat --npy --slice 5 s.vb t.vb > out.npy'
	assert_equal "$stderr" 'vb-cat: s.vb: index 5 is out of bounds for axis 0 with size 3'
	run -0 npy_show out.npy
	assert_output '<i2 (2,) [10, 11]'
	# the whole of a Fortran-order .npy comes out in C order
	make_npy f.npy 'np.asfortranarray(np.arange(6, dtype="<i2").reshape(2, 3))'
	vb-insert --base f.npy f.vb 0 --text ''
	vb-cat --npy f.vb > c.npy
	run -0 npy_header c.npy
	assert_output --partial "False"
	run -0 npy_show c.npy
	assert_output '<i2 (2, 3) [[0, 1, 2], [3, 4, 5]]'
}

@test "stream mode ('-'): axis edits and --keep-slice need a store; vb-cat --slice reads a store on stdin" {
	make_npy a.npy 'np.arange(12, dtype="<i4").reshape(3, 4)'
	vb-insert --base a.npy s.vb 0 --text ''
	np 'np.arange(3, dtype="<i4").tofile("col")'
	run -2 --separate-stderr bash -c 'cat a.npy | vb-delete --axis 1 --npy - 1 1'
	assert_output ''
	assert_equal "$stderr" "vb-delete: --axis needs a store: a stream ('-') cannot be edited along an axis
Try 'vb-delete --help' for more information."
	run -2 --separate-stderr bash -c 'cat a.npy | vb-delete --keep-slice ::2 --npy -'
	assert_output ''
	assert_equal "$stderr" "vb-delete: --keep-slice needs a store: a stream ('-') cannot be edited along an axis
Try 'vb-delete --help' for more information."
	run -2 --separate-stderr bash -c 'cat a.npy | vb-insert --axis 1 --npy - 1 col'
	assert_output ''
	assert_equal "$stderr" "vb-insert: --axis needs a store: a stream ('-') cannot be edited along an axis
Try 'vb-insert --help' for more information."
	vb-cat --npy --slice '1,::-1' - < s.vb > o.npy
	run -0 npy_show o.npy
	assert_output '<i4 (4,) [7, 6, 5, 4]'
}

# ------------------------------------------------------------ crashes

# array_crash_sweep NAME INPUT CMD...: CMD edits ./w.vb, a copy of orig.vb
# (version 1 is a.npy); INPUT is its stdin: a file, 'pipe:FILE' (FILE
# through a pipe) or '' (none).  CMD is killed for real at each of its
# points that change a file (crash-shim.c, as crash.bats does); after each
# kill the head must be the old version or the new one with its exact
# content, version 1 still a.npy, --verify pass (a torn tail only warned
# about), and the next axis edit succeed on top of it.
array_crash_sweep() {
	local name=$1 input=$2
	shift 2
	local shim="${VB_CRASH_SHIM:-$VB_BUILD_DIR/tests/cli/crash-shim.so}"
	[ -f "$shim" ] || skip "the crash shim is not built ($shim)"
	local -a pre=(LD_PRELOAD="$shim")
	if ldd "$VB_BUILD_DIR/cmd/vb-insert" | grep -q libasan; then
		pre+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	fi
	local tail_warning='vb-history: w.vb: warning: ignoring [0-9]* bytes after the last commit (an interrupted write; the next writer removes them)'
	local tail_note='vb-history: w.vb: note: [0-9]* bytes after the last commit (offset [0-9]*) belong to no version (an interrupted write); the next writer removes them'
	local old new points at v sum st
	old=$(vb-cat orig.vb | cksum)
	rm -f w.vb count
	cp orig.vb w.vb
	st=0
	case "$input" in
	pipe:*) env "${pre[@]}" VB_CRASH_COUNT="$TEST_DIR/count" "$@" < <(cat "${input#pipe:}") > /dev/null 2> err || st=$? ;;
	*) env "${pre[@]}" VB_CRASH_COUNT="$TEST_DIR/count" "$@" < "${input:-/dev/null}" > /dev/null 2> err || st=$? ;;
	esac
	[ "$st" = 0 ] || fail "$name: the undamaged run failed ($st): $(cat err)"
	points=$(tail -n 1 count 2> /dev/null) || points=
	[[ "$points" =~ ^[0-9]+$ ]] && [ "$points" -gt 0 ] ||
		fail "$name: the crash shim counted no crash points ('$points')"
	new=$(vb-cat w.vb | cksum)
	[ "$new" != "$old" ] || fail "$name: the command changed nothing"
	for ((at = 1; at <= points; at++)); do
		rm -f w.vb
		cp orig.vb w.vb
		st=0
		case "$input" in
		pipe:*) (env "${pre[@]}" VB_CRASH_AT="$at" "$@" < <(cat "${input#pipe:}") > /dev/null 2> err; exit $?) 2> /dev/null || st=$? ;;
		*) (env "${pre[@]}" VB_CRASH_AT="$at" "$@" < "${input:-/dev/null}" > /dev/null 2> err; exit $?) 2> /dev/null || st=$? ;;
		esac
		[ "$st" = 137 ] || fail "$name: at point $at of $points: status $st, not a kill: $(cat err)"
		v=$(vb-history -H -n 1 w.vb 2> /dev/null | awk 'NR == 1 { print $1 }')
		sum=$(vb-cat w.vb 2> /dev/null | cksum)
		case "$v" in
		1) [ "$sum" = "$old" ] || fail "$name: at point $at of $points: version 1 with another content" ;;
		2) [ "$sum" = "$new" ] || fail "$name: at point $at of $points: version 2 with another content" ;;
		*) fail "$name: at point $at of $points: head '$v': $(vb-history w.vb 2>&1 | head -3)" ;;
		esac
		vb-cat -V 1 w.vb | cmp -s - a.npy || fail "$name: at point $at: version 1 reads back wrong"
		vb-history --verify w.vb > verify.out 2> verify.err ||
			fail "$name: at point $at: --verify failed: $(cat verify.out verify.err)"
		if grep -v -x -e "$tail_warning" -e "$tail_note" verify.err > verify.other; then
			fail "$name: at point $at: --verify says: $(cat verify.other)"
		fi
		vb-delete --axis 0 --npy w.vb 0 1 2> err ||
			fail "$name: at point $at: the next writer failed: $(cat err)"
		[ "$(vb-history -H -n 1 w.vb | awk 'NR == 1 { print $1 }')" = $((v + 1)) ] ||
			fail "$name: at point $at: the next writer did not make version $((v + 1))"
		vb-history --verify w.vb > verify.out 2> verify.err && [ ! -s verify.err ] ||
			fail "$name: at point $at: --verify after the next writer: $(cat verify.out verify.err)"
	done
	[ "$points" -ge 2 ] || fail "$name: only $points crash points"
}

@test "crash: vb-delete --axis and --keep-slice killed at every point: the old version or the new one" {
	make_npy a.npy 'np.arange(3000, dtype="<i4").reshape(30, 100)'
	vb-insert --base a.npy orig.vb 0 --text ''
	array_crash_sweep 'vb-delete --axis 1' '' vb-delete --axis 1 --npy w.vb 10 20
	array_crash_sweep 'vb-delete --keep-slice' '' vb-delete --keep-slice '::3,5:50:2' --npy w.vb
	array_crash_sweep 'vb-delete --keep-slice (negative step)' '' vb-delete --keep-slice '::-2,::-7' --npy w.vb
}

@test "crash: vb-insert --axis killed at every point (a file, a pipe spooled, a pipe streamed along axis 0)" {
	make_npy a.npy 'np.arange(3000, dtype="<i4").reshape(30, 100)'
	vb-insert --base a.npy orig.vb 0 --text ''
	np 'np.arange(-1, -3001, -1, dtype="<i4").tofile("cols")'
	array_crash_sweep 'vb-insert --axis 1 FILE' '' vb-insert --axis 1 --npy w.vb 50 cols
	array_crash_sweep 'vb-insert --axis 1 < pipe' pipe:cols vb-insert --axis 1 --npy w.vb 50
	array_crash_sweep 'vb-insert --axis 0 < pipe' pipe:cols vb-insert --axis 0 --npy w.vb 7
}

#!/usr/bin/env bats
# The corruption sweep (lib/README.md, Promises 1: no data is lost or silently wrong).
#
# Stores with a varied history (corruption-lib.bash) are damaged at
# seeded random places: a flipped bit, a byte set to a random value, a
# zeroed aligned 4 KiB block, 512 zeroed bytes, random garbage over up to
# 4 KiB, a truncation.  On every damaged copy every reading command runs,
# and every writer on a copy of its own, under `timeout`.  The rule:
#
#  (a) exit 0 with exactly the output of the version the store opens at.
#      That is the newest version, or the newest version whose commit
#      record ends at or before the first damaged byte: the opener
#      (lib/store.c, FINDING THE HEAD) takes the newest commit whose
#      record and, for a small commit, region checksum are intact, so
#      damage to the newest commits makes it fall back exactly there.
#      A reader that falls back must say "warning: ignoring N bytes after
#      the last commit" with N the bytes after that commit.  A truncation
#      always falls back.  Damage that reaches the end of the file, and
#      zeros or garbage over part of the last record's footer, are a torn
#      tail as far as the store can tell (a crash leaves zeros or stale
#      bytes after the last record that reached the disk, and a record's
#      sectors reach it in any order): readers warn, a writer cuts it off
#      without a warning, --verify reports it as a note with exit 0.  So a
#      committed newest version can be lost that way, said by readers
#      only.  (A footer with one field changed is damage: exit 1.)  A writer's new version must hold its edit applied to
#      the version it opened at; --verify of what it wrote may complain
#      only about records older than its own (compaction moves blocks
#      without reading them, so damage in a kept version moves with them,
#      still detected; its result may fail --verify only when the
#      damaged store did).
#  (b) exit 1 with every stderr line "PROG: FILE: ..." and one of them
#      naming where the damage is (a record or byte offset, the header, a
#      version, the base file); a writer leaves the store byte-identical,
#      or cut back to the version it opened at (the torn tail removed).
#
# Anything else (a signal, another status, a timeout, wrong bytes, a
# message without a place) is a failure, printed with the seed, damage
# and command so that it can be repeated: the damage with seed S of kind
# K to store X is made and checked again by
#   . tests/cli/corruption-lib.bash; CX=DIR; cx_make_fixtures DIR;
#   CX_FAILS=(); cx_sweep X K S 1; printf '%s\n' "${CX_FAILS[@]}"
# (with the built commands first on PATH; the damaged copy is DIR/w/d.vb;
# fixtures made again in a directory whose path has the same length (the
# header holds the base's absolute path) differ only in the store id and
# the times, so the same seed damages the same place in the same way).
# VB_TEST_LONG=1 tries many more damages (300 + 150 per kind instead of
# 6 + 3); VB_CORRUPTION_SEED moves the seeds (default 1).
#
# --verify: every byte of a store belongs to the header or to a record
# that --verify checks (data blocks no version uses any more included),
# so any change that does not reach the end of the file must make it exit
# 1; the sweep holds it to that.
bats_require_minimum_version 1.5.0

load test_helper
load corruption-lib

setup_file() {
	: "${VB_BUILD_DIR:?VB_BUILD_DIR must point at the build directory}"
	export PATH="$VB_BUILD_DIR/cmd:$PATH"
	export HOME="$BATS_FILE_TMPDIR" TZ=UTC
	export CX="$BATS_FILE_TMPDIR/fx"
	(cx_make_fixtures "$CX") || return 1
}

# cx_sweep_test KIND: the sweep of one damage kind over both stores.
cx_sweep_test() {
	local kind=$1 seed=${VB_CORRUPTION_SEED:-1} ns=6 ne=3
	if [ -n "${VB_TEST_LONG:-}" ]; then
		ns=300 ne=150
	fi
	# each kind has seeds of its own
	case $kind in
	bit) seed=$((seed + 0)) ;;
	byte) seed=$((seed + 100000)) ;;
	zero4k) seed=$((seed + 200000)) ;;
	zero512) seed=$((seed + 300000)) ;;
	garbage) seed=$((seed + 400000)) ;;
	trunc) seed=$((seed + 500000)) ;;
	esac
	CX_FAILS=() CX_INPUTS=0 CX_RUNS=0
	local t0=$SECONDS
	cx_sweep s "$kind" "$seed" "$ns"
	cx_sweep e "$kind" $((seed + 50000)) "$ne"
	echo "# corruption $kind: $CX_INPUTS damaged stores, $CX_RUNS command runs, seeds $seed.. and $((seed + 50000)).., $((SECONDS - t0)) s" >&3
	if [ "${#CX_FAILS[@]}" -gt 0 ]; then
		printf '%s\n' "${CX_FAILS[@]:0:40}" >&2
		echo "${#CX_FAILS[@]} failures" >&2
		return 1
	fi
}

@test "sweep: a flipped bit" {
	cx_sweep_test bit
}

@test "sweep: a byte set to a random value" {
	cx_sweep_test byte
}

@test "sweep: a zeroed aligned 4 KiB block" {
	cx_sweep_test zero4k
}

@test "sweep: 512 zeroed bytes" {
	cx_sweep_test zero512
}

@test "sweep: random garbage over up to 4 KiB" {
	cx_sweep_test garbage
}

@test "sweep: a truncation" {
	cx_sweep_test trunc
}

# fake_cat_caught BODY REGEX: with a fake vb-cat that runs the shell
# BODY first on PATH, the reader check reports a failure matching REGEX.
fake_cat_caught() {
	printf '#!/bin/sh\n%s\n' "$1" > "$TEST_DIR/fake/vb-cat"
	chmod +x "$TEST_DIR/fake/vb-cat"
	CX_FAILS=()
	PATH="$TEST_DIR/fake:$PATH" cx_check_reader cat
	assert_regex "${CX_FAILS[0]}" "$2"
}

# The rule is only worth something if it can fail: fake commands that
# misbehave in each way the rule forbids are caught.
@test "the sweep's rule rejects wrong bytes, a bad status, a hang, a message without a place, a silent fallback" {
	mkdir fake
	local real=$VB_BUILD_DIR/cmd
	CX_X=s CX_KIND=bit CX_SEED=0 CX_WHAT=control CX_A=7 CX_RUNS=0 CX_TORN=0
	cd "$CX/w"
	cp "$CX/s.vb" d.vb
	CX_POS=$(stat -c %s d.vb)
	cx_candidates s
	declare -gA CX_RC
	# the real command on the undamaged store passes
	CX_FAILS=()
	cx_check_reader cat
	assert_equal "${#CX_FAILS[@]}" 0
	# one wrong byte
	fake_cat_caught "\"$real/vb-cat\" \"\$@\" | sed \"1s/^/x/\"" 'exit 0 with wrong output'
	assert_equal "${#CX_FAILS[@]}" 1
	# exit 2
	fake_cat_caught 'echo "vb-cat: d.vb: offset 5: bad" >&2; exit 2' 'exit status 2'
	# exit 1 without a place, and a line in another form
	fake_cat_caught 'echo "vb-cat: d.vb: something is wrong" >&2; exit 1' \
		'no message names where the damage is'
	fake_cat_caught 'echo "record at offset 5: bad" >&2; exit 1' 'not in PROG: FILE: form'
	# a hang (and a crash)
	CX_TIMEOUT=1 fake_cat_caught 'sleep 30' 'timed out'
	fake_cat_caught 'kill -SEGV $$' 'exit status 139'
	# an older version without the warning
	CX_POS=$(awk '$1 == 29 { print $2 - 1 }' "$CX/s.ends")
	cx_candidates s
	assert_equal "$CX_FALL" 28
	fake_cat_caught "cat \"$CX/exp/s.28.cat\"" 'without the warning'
	# a writer that writes the wrong edit
	printf '#!/bin/sh\nexec "%s/vb-insert" --no-sync wr.vb 100 --text XYz\n' "$real" > "$TEST_DIR/fake/vb-insert"
	chmod +x "$TEST_DIR/fake/vb-insert"
	CX_POS=$(stat -c %s d.vb)
	cx_candidates s
	CX_FAILS=()
	CX_RC[cat]=0
	PATH="$TEST_DIR/fake:$PATH" cx_check_writer insert
	assert_regex "${CX_FAILS[0]}" 'after insert the content is wrong'
	# a failed writer that changed the store
	printf '#!/bin/sh\nprintf x >> wr.vb; echo "vb-insert: wr.vb: offset 1: bad" >&2; exit 1\n' > "$TEST_DIR/fake/vb-insert"
	CX_FAILS=()
	PATH="$TEST_DIR/fake:$PATH" cx_check_writer insert
	assert_regex "${CX_FAILS[0]}" 'changed the store'
	# --verify that passes a damaged store
	cx_put_byte d.vb 5000 $(($(od -An -tu1 -j5000 -N1 d.vb) ^ 1))
	printf '#!/bin/sh\nexit 0\n' > "$TEST_DIR/fake/vb-history"
	chmod +x "$TEST_DIR/fake/vb-history"
	CX_FAILS=()
	PATH="$TEST_DIR/fake:$PATH" cx_check_verify
	assert_regex "${CX_FAILS[0]}" 'passed a changed store'
}

# A few damages at named places, so that the common cases do not depend
# on where the seeds fall.
@test "named places: the header, the newest commit and its footer, a data block of an old version, a tree node" {
	cd "$CX/w"
	CX_FAILS=() CX_INPUTS=0 CX_RUNS=0 CX_SEED=named
	declare -gA CX_RC
	local x=s places p end13
	end13=$(awk '$1 == 13 { print $2 }' "$CX/s.ends")
	# header bytes: magic, version, length, id, base size, a sample, CRC
	local size
	size=$(stat -c %s "$CX/s.vb")
	# ... and the newest commit's payload, the footer's magic, length,
	# own offset and store id
	places="0 9 13 20 60 150 600 $((end13 - 70000)) $((end13 - 100)) $((size - 40)) $((size - 31)) $((size - 22)) $((size - 14)) $((size - 3))"
	for p in $places; do
		CX_X=$x CX_KIND=byte CX_A=$(cx_diff_from $x)
		cp "$CX/$x.vb" d.vb
		local b
		b=$(od -An -tu1 -j"$p" -N1 d.vb | tr -d ' ')
		cx_put_byte d.vb "$p" $((b ^ 0x10))
		CX_POS=$p CX_LEN=1 CX_TORN=0 CX_WHAT="byte $p xor 0x10"
		cx_candidates $x
		CX_RC=()
		for k in $CX_READERS; do
			cx_check_reader "$k"
		done
		cx_check_cat_version 0
		cx_check_verify
		for k in insert delete partial compact; do
			cx_check_writer "$k"
		done
	done
	if [ "${#CX_FAILS[@]}" -gt 0 ]; then
		printf '%s\n' "${CX_FAILS[@]}" >&2
		return 1
	fi
}

# ------------------------------------------------------- the base file

# A store over base.txt: version 1 needs the base, 2 and 3 do not (a
# flatten and an edit of it), 4 (a revert to 1) needs it again; e.vb is a
# copy with the base embedded.  Expected contents in exp.V.
make_base_stores() {
	seq 1 30000 > base.txt
	vb-insert --base base.txt b.vb 0 --text $'HEAD\n'
	vb-flatten b.vb
	vb-insert b.vb 10 --text X
	vb-history --revert 1 b.vb
	cp b.vb e.vb
	vb-flatten --embed e.vb
	local v
	for v in 0 1 2 3 4; do
		vb-cat -V "$v" b.vb > "exp.$v"
	done
	vb-cat e.vb > exp.5
	touch -r base.txt base.ref
}

# check_base_damage CAUSE_REGEX [RUNNER]: every command that needs the
# base fails naming it and what differs, leaving the store unchanged;
# the versions that need no base, and the embedded store, read exactly.
check_base_damage() {
	local cause=$1 run_as=${2:-} before ebefore c
	before=$(sum_of b.vb)
	ebefore=$(sum_of e.vb)
	local base_re="base file 'base\\.txt'( \\(or '/[^']*/base\\.txt'\\))? $cause"
	for c in "vb-cat b.vb" "vb-cat -V 1 b.vb" "vb-cat -V 0 b.vb" "vb-cat --range 5:10 b.vb" \
		"vb-frame -c b.vb"; do
		run -1 --separate-stderr $run_as $c
		assert_equal "${#stderr_lines[@]}" 1
		assert_regex "$stderr" "^${c%% *}: b\\.vb: $base_re\$"
	done
	for c in "vb-insert b.vb 0 --text x" "vb-delete b.vb 0 1" "vb-flatten --partial b.vb" \
		"vb-flatten b.vb" "vb-history --revert 1 b.vb"; do
		run -1 --separate-stderr $run_as $c
		assert_regex "$stderr" "^${c%% *}: b\\.vb: $base_re\$"
		assert_same_sum b.vb "$before"
	done
	# --verify counts it as a problem
	run -1 --separate-stderr $run_as vb-history --verify b.vb
	assert_regex "${stderr_lines[0]}" "^vb-history: b\\.vb: $base_re\$"
	assert_regex "${stderr_lines[-1]}" '^vb-history: b\.vb: verification failed: '
	# the list of versions still works, with a warning
	run -0 --separate-stderr $run_as vb-history b.vb
	assert_regex "$stderr" "^vb-history: b\\.vb: warning: $base_re\$"
	assert_line --index 1 --regexp '^ +4 '
	# versions without base pieces read
	for v in 2 3; do
		run -0 --separate-stderr $run_as vb-cat -V "$v" b.vb
		assert_equal "$stderr" ''
		$run_as vb-cat -V "$v" b.vb | cmp - "exp.$v"
	done
	# the embedded copy never opens the base
	for v in 0 1 2 3 4 5; do
		run -0 --separate-stderr $run_as vb-cat -V "$v" e.vb
		assert_equal "$stderr" ''
		$run_as vb-cat -V "$v" e.vb | cmp - "exp.$v"
	done
	run -0 $run_as vb-history --verify e.vb
	assert_same_sum b.vb "$before"
	assert_same_sum e.vb "$ebefore"
}

@test "base: a byte changed (the modification time changes)" {
	make_base_stores
	printf 'X' | dd of=base.txt bs=1 seek=70000 conv=notrunc status=none
	check_base_damage 'has changed: modification time differs'
}

@test "base: a byte changed in a sampled block, the modification time put back" {
	make_base_stores
	# the first sample covers bytes 0-4095 (vb(5) THE BASE FILE)
	printf 'X' | dd of=base.txt bs=1 seek=3000 conv=notrunc status=none
	touch -r base.ref base.txt
	check_base_damage 'has changed: content at offset 0 differs'
}

@test "base: truncated, extended" {
	make_base_stores
	local size
	size=$(stat -c %s base.txt)
	cp -p base.txt keep
	truncate -s $((size - 1)) base.txt
	touch -r base.ref base.txt
	check_base_damage "has changed: size $((size - 1)), expected $size"
	cp -p keep base.txt
	echo more >> base.txt
	touch -r base.ref base.txt
	check_base_damage "has changed: size $((size + 5)), expected $size"
}

@test "base: replaced by another file (mv over it), same size and time" {
	make_base_stores
	sed '1s/^1$/7/' base.txt > other
	touch -r base.ref other
	mv other base.txt
	check_base_damage 'has changed: content at offset 0 differs'
	# another file altogether
	seq 2 30001 > other
	mv other base.txt
	check_base_damage 'has changed: size [0-9]+, expected [0-9]+'
}

@test "base: removed, a directory, unreadable" {
	make_base_stores
	mv base.txt away
	check_base_damage 'cannot be opened: No such file or directory'
	mkdir base.txt
	check_base_damage 'has changed: it is no longer a regular file \(a directory\)'
	rmdir base.txt
	mv away base.txt
	open_to_nobody
	chmod 666 b.vb e.vb
	chmod 000 base.txt
	# positive control: root can still read it; nobody cannot
	vb-cat b.vb | cmp - exp.4
	check_base_damage 'cannot be opened: Permission denied' as_nobody
}

# vb(5): a change that keeps the size and the modification time and
# misses every sampled block is not detected.  This test shows that this
# and only this is the hole: the same change in a sampled block is caught.
@test "base: the documented undetectable case is exactly that" {
	make_base_stores
	# an offset between the first two samples (16 samples over the base:
	# the second starts near size / 16), inside version 4's content
	local off=8000
	cp -p base.txt keep
	printf 'Z' | dd of=base.txt bs=1 seek=$off conv=notrunc status=none
	touch -r base.ref base.txt
	run -0 --separate-stderr vb-cat b.vb
	assert_equal "$stderr" ''
	# wrong bytes: exactly the changed one (version 4 is "HEAD\n" + base)
	vb-cat b.vb > got
	run -0 bash -c "cmp -l got exp.4 | wc -l"
	assert_output 1
	run -1 cmp got exp.4
	assert_output --partial "byte $((off + 5 + 1))"
	# the versions that do not read the base stay right
	vb-cat -V 3 b.vb | cmp - exp.3
	vb-cat -V 4 e.vb | cmp - exp.4
	# the same change inside a sampled block is caught
	cp -p keep base.txt
	printf 'Z' | dd of=base.txt bs=1 seek=100 conv=notrunc status=none
	touch -r base.ref base.txt
	run -1 vb-cat b.vb
	assert_output "vb-cat: b.vb: base file 'base.txt' has changed: content at offset 0 differs"
}

@test "a store cut before its first commit names the bytes searched" {
	local end
	end=$(head -1 "$CX/e.ends" | cut -d' ' -f2)
	head -c $((end - 100)) "$CX/e.vb" > d.vb
	before=$(sum_of d.vb)
	local hdr
	hdr=$(od -An -tu4 -j12 -N4 d.vb | tr -d ' ')
	for c in "vb-cat d.vb" "vb-history d.vb" "vb-history --verify d.vb" "vb-insert d.vb 0 --text x"; do
		run -1 $c
		assert_output "${c%% *}: d.vb: no valid commit found in bytes $hdr to $((end - 100)) (the store is damaged or truncated)"
	done
	assert_same_sum d.vb "$before"
}

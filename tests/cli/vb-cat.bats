#!/usr/bin/env bats
# vb-cat: success paths, every error path, output to files and pipes.

load test_helper

ALPHA=abcdefghijklmnopqrstuvwxyz

# ------------------------------------------------------------ whole stores

@test "the whole store" {
	make_store s.vb "$ALPHA"
	run -0 --separate-stderr vb-cat s.vb
	assert_output "$ALPHA"
	assert_equal "$stderr" ''
	make_store e.vb ''
	run -0 vb-cat e.vb
	assert_output ''
}

@test "binary content comes out byte for byte" {
	head -c 100000 /dev/urandom > bin
	vb-insert -c s.vb 0 bin
	vb-cat s.vb > out
	cmp out bin
}

@test "several stores in turn" {
	make_store a.vb 'one '
	make_store b.vb 'two '
	make_store c.vb 'three'
	run -0 vb-cat a.vb b.vb c.vb a.vb
	assert_output 'one two threeone '
}

@test "a missing store among others: reported, the others still written, exit 1" {
	make_store a.vb 'one '
	make_store c.vb 'three'
	echo plain > plain
	run -1 --separate-stderr vb-cat a.vb nosuch.vb c.vb plain a.vb
	assert_output 'one threeone '
	assert_equal "$stderr" 'vb-cat: nosuch.vb: no such store
vb-cat: plain: not a vb store'
}

@test "store errors: not a store, unknown format, truncated header, directory" {
	echo plain > plain
	run -1 vb-cat plain
	assert_output 'vb-cat: plain: not a vb store'
	: > empty
	run -1 vb-cat empty
	assert_output 'vb-cat: empty: not a vb store (empty file)'
	make_store s.vb "$ALPHA"
	cp s.vb v2.vb
	printf '\x02' | dd of=v2.vb bs=1 seek=8 conv=notrunc status=none
	run -1 vb-cat v2.vb
	assert_output 'vb-cat: v2.vb: unsupported store format version 2 (this vb reads version 1)'
	head -c 20 s.vb > t.vb
	run -1 vb-cat t.vb
	assert_output --regexp '^vb-cat: t\.vb: truncated header \(20 of [0-9]+ bytes\)$'
	mkdir dir.vb
	run -1 vb-cat dir.vb
	assert_output 'vb-cat: dir.vb: is a directory'
}

@test "file names in messages: plain ones as they are, others quoted as the shell reads them; one message, one line" {
	run -1 --separate-stderr vb-cat nosuch.vb 'dir/ünï-1.0+x,y=z@v:w%^.vb' 'file~' $'a\nb' 'my file' "it's" \
		$'\e[31mred' $'x\xc2\x9by' $'\xff' '' '~x' $'nosuch.vb: x\nvb-cat: fake'
	assert_output ''
	assert_equal "$stderr" "vb-cat: nosuch.vb: no such store
vb-cat: dir/ünï-1.0+x,y=z@v:w%^.vb: no such store
vb-cat: file~: no such store
vb-cat: 'a'\$'\\n''b': no such store
vb-cat: 'my file': no such store
vb-cat: 'it'\\''s': no such store
vb-cat: \$'\\033''[31mred': no such store
vb-cat: 'x'\$'\\302\\233''y': no such store
vb-cat: \$'\\377': no such store
vb-cat: '': no such store
vb-cat: '~x': no such store
vb-cat: 'nosuch.vb: x'\$'\\n''vb-cat: fake': no such store"
	# the shell reads a quoted name back as the name
	last=${stderr##*$'\n'}
	quoted=${last#vb-cat: }
	eval "name=${quoted%: no such store}"
	assert_equal "$name" $'nosuch.vb: x\nvb-cat: fake'
	# a name inside a detail from the library (the base file's) keeps its
	# control characters as C escapes
	printf 'base\n' > $'ba\nse'
	vb-insert --base $'ba\nse' s.vb 0 --text A
	mv $'ba\nse' gone
	run -1 --separate-stderr vb-cat s.vb
	assert_equal "${#stderr_lines[@]}" 1
	assert_regex "$stderr" "^vb-cat: s\\.vb: base file 'ba\\\\nse' \\(or '.*/ba\\\\nse'\\) cannot be opened: No such file or directory\$"
	# vb-frame names its inputs the same way
	run -1 --separate-stderr vb-frame -l $'in\tput'
	assert_equal "$stderr" "vb-frame: 'in'\$'\\t''put': No such file or directory"
	# and an option's value stays on its line too
	run vb-cat -o $'1\n2' s.vb
	assert_usage_error vb-cat "invalid offset '1\\n2' (unknown suffix '\\n2')"
}

@test "an unreadable store is reported (as another user)" {
	make_store s.vb "$ALPHA"
	open_to_nobody
	run -0 as_nobody vb-cat s.vb
	assert_output "$ALPHA"
	chmod 600 s.vb
	run -1 as_nobody vb-cat s.vb
	assert_output 'vb-cat: s.vb: cannot open: Permission denied'
}

# ------------------------------------------------------------ selecting bytes

@test "--range START:END, either side may be empty" {
	make_store s.vb "$ALPHA"
	run -0 vb-cat --range 2:5 s.vb
	assert_output cde
	run -0 vb-cat -r :5 s.vb
	assert_output abcde
	run -0 vb-cat -r 20: s.vb
	assert_output uvwxyz
	run -0 vb-cat -r : s.vb
	assert_output "$ALPHA"
	run -0 vb-cat -r 3:3 s.vb
	assert_output ''
	run -0 vb-cat -r 26:26 s.vb
	assert_output ''
	run -0 vb-cat -r 0x10:0x12 s.vb
	assert_output qr
}

@test "--range with end-relative sides" {
	make_store s.vb "$ALPHA"
	run -0 vb-cat -r end-3: s.vb
	assert_output xyz
	run -0 vb-cat -r -3: s.vb
	assert_output xyz
	run -0 vb-cat -r 0:end-23 s.vb
	assert_output abc
	run -0 vb-cat -r :-23 s.vb
	assert_output abc
	run -0 vb-cat -r end-5:end-3 s.vb
	assert_output vw
	run -0 vb-cat -r 24:end s.vb
	assert_output yz
}

@test "--range applies to each store" {
	make_store a.vb "$ALPHA"
	make_store b.vb 0123456789
	run -0 vb-cat -r 1:3 a.vb b.vb
	assert_output bc12
	run -0 vb-cat -r end-2: a.vb b.vb
	assert_output yz89
	run -1 --separate-stderr vb-cat -r 12:14 a.vb b.vb a.vb
	assert_output mnmn
	assert_equal "$stderr" 'vb-cat: b.vb: offset 12 is beyond the end (length 10)'
}

@test "--range errors" {
	make_store s.vb "$ALPHA"
	run -1 vb-cat -r 5:2 s.vb
	assert_output 'vb-cat: s.vb: range start 5 is after its end 2'
	run -1 vb-cat -r end-1:end-2 s.vb
	assert_output 'vb-cat: s.vb: range start 25 is after its end 24'
	run -1 vb-cat -r 0:27 s.vb
	assert_output 'vb-cat: s.vb: offset 27 is beyond the end (length 26)'
	run -1 vb-cat -r 27: s.vb
	assert_output 'vb-cat: s.vb: offset 27 is beyond the end (length 26)'
	run -1 vb-cat -r end-27: s.vb
	assert_output 'vb-cat: s.vb: offset end-27 is before the start (length 26)'
	run -1 vb-cat -r 0:1G s.vb
	assert_output 'vb-cat: s.vb: offset 1073741824 is beyond the end (length 26)'
	run vb-cat -r 5 s.vb
	assert_usage_error vb-cat "invalid --range '5' (expected START:END)"
	run vb-cat -r x:5 s.vb
	assert_usage_error vb-cat "invalid offset 'x'"
	run vb-cat -r 0:18446744073709551616 s.vb
	assert_usage_error vb-cat "offset '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-cat -r 1:2:3 s.vb
	assert_usage_error vb-cat "invalid offset '2:3' (unknown suffix ':3')"
}

@test "--offset and --length" {
	make_store s.vb "$ALPHA"
	run -0 vb-cat --offset 3 --length 2 s.vb
	assert_output de
	run -0 vb-cat -o 24 s.vb
	assert_output yz
	run -0 vb-cat -n 2 s.vb
	assert_output ab
	run -0 vb-cat -o end-4 -n 2 s.vb
	assert_output wx
	run -0 vb-cat -o 26 -n 0 s.vb
	assert_output ''
	run -1 vb-cat -o 20 -n 7 s.vb
	assert_output 'vb-cat: s.vb: range 20+7 is beyond the end (length 26)'
	run -1 vb-cat -o 27 s.vb
	assert_output 'vb-cat: s.vb: offset 27 is beyond the end (length 26)'
	run -1 vb-cat -n 18446744073709551615 s.vb
	assert_output 'vb-cat: s.vb: range 0+18446744073709551615 is beyond the end (length 26)'
	run vb-cat -n x s.vb
	assert_usage_error vb-cat "invalid length 'x'"
	run vb-cat -n -1 s.vb
	assert_usage_error vb-cat "invalid length '-1' (a length cannot be negative)"
	run vb-cat -o '' s.vb
	assert_usage_error vb-cat 'empty offset'
}

@test "--range with --offset or --length is a usage error" {
	make_store s.vb "$ALPHA"
	run vb-cat -r 0:1 -o 1 s.vb
	assert_usage_error vb-cat '--range cannot be combined with --offset or --length'
	run vb-cat -r 0:1 -n 1 s.vb
	assert_usage_error vb-cat '--range cannot be combined with --offset or --length'
}

@test "size suffixes select the right bytes of a large store" {
	head -c 3M /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	for spec in 1K:1024 1KB:1000 2M:2097152 2MB:2000000 0x100:256 end-1K:3144704; do
		vb-cat -o "${spec%%:*}" -n 1KB s.vb > out
		cmp out <(tail -c +$((${spec#*:} + 1)) base | head -c 1000)
	done
	run -1 vb-cat -o 1T s.vb
	assert_output 'vb-cat: s.vb: offset 1099511627776 is beyond the end (length 3145728)'
	run -1 vb-cat -o 1TB s.vb
	assert_output 'vb-cat: s.vb: offset 1000000000000 is beyond the end (length 3145728)'
	run -1 vb-cat -o 1GB s.vb
	assert_output 'vb-cat: s.vb: offset 1000000000 is beyond the end (length 3145728)'
}

# ------------------------------------------------------------ versions

@test "-V/--at-version reads old versions after edits" {
	make_store s.vb "$ALPHA"
	vb-delete s.vb 0 3
	vb-insert s.vb end --text '!'
	vb-insert s.vb 0 --replace 3 --text DEF
	run -0 vb-cat -V 0 s.vb
	assert_output ''
	run -0 vb-cat -V 1 s.vb
	assert_output "$ALPHA"
	run -0 vb-cat --at-version 2 s.vb
	assert_output defghijklmnopqrstuvwxyz
	run -0 vb-cat --at-version=3 s.vb
	assert_output 'defghijklmnopqrstuvwxyz!'
	run -0 vb-cat -V 4 s.vb
	assert_output 'DEFghijklmnopqrstuvwxyz!'
	run -0 vb-cat s.vb
	assert_output 'DEFghijklmnopqrstuvwxyz!'
	# selections are in that version's coordinates
	run -0 vb-cat -V 1 -r end-3: s.vb
	assert_output xyz
	run -0 vb-cat -V 1 -o 0 -n 3 s.vb
	assert_output abc
}

@test "-V of a version beyond the head is an error" {
	make_store s.vb "$ALPHA"
	vb-delete s.vb 0 3
	run -1 vb-cat -V 3 s.vb
	assert_output 'vb-cat: s.vb: version 3 does not exist (the newest is 2)'
	run -1 vb-cat -V 18446744073709551615 s.vb
	assert_output 'vb-cat: s.vb: version 18446744073709551615 does not exist (the newest is 2)'
	run vb-cat -V x s.vb
	assert_usage_error vb-cat "invalid version 'x'"
	run vb-cat -V -1 s.vb
	assert_usage_error vb-cat "invalid version '-1' (a version cannot be negative)"
	run vb-cat -V 18446744073709551616 s.vb
	assert_usage_error vb-cat "version '18446744073709551616' is too large (the limit is 2^64-1)"
}

@test "-V head and head~N: the newest, and N versions before it" {
	make_store s.vb "$ALPHA"
	vb-delete s.vb 0 3
	vb-insert s.vb end --text '!'
	run -0 vb-cat -V head s.vb
	assert_output 'defghijklmnopqrstuvwxyz!'
	run -0 vb-cat -V head~0 s.vb
	assert_output 'defghijklmnopqrstuvwxyz!'
	run -0 vb-cat -V head~1 -r end-3: s.vb
	assert_output xyz
	run -0 vb-cat --at-version=head~2 s.vb
	assert_output "$ALPHA"
	run -0 vb-cat -V head~3 s.vb
	assert_output ''
	# every STORE counts from its own newest version
	make_store t.vb one
	run -0 vb-cat -V head~1 s.vb t.vb
	assert_output 'defghijklmnopqrstuvwxyz'
	# vb-frame reads versions the same way
	run -0 vb-frame -V head~2 -F 5 -n 2 s.vb
	assert_output fghij
	run -1 vb-cat -V head~4 s.vb
	assert_output 'vb-cat: s.vb: version head~4 does not exist (the newest is 3)'
	run -1 vb-cat -V head~2 s.vb t.vb
	assert_output "$ALPHA"'vb-cat: t.vb: version head~2 does not exist (the newest is 1)'
	run -1 vb-frame -V head~4 -l s.vb
	assert_output 'vb-frame: s.vb: version head~4 does not exist (the newest is 3)'
	run vb-cat -V head~x s.vb
	assert_usage_error vb-cat "invalid version 'head~x' (expected N, head or head~N)"
	run vb-frame -V head1 s.vb
	assert_usage_error vb-frame "invalid version 'head1' (expected N, head or head~N)"
}

@test "-V with a base file reads version 0 as the base" {
	make_base base.txt 1000
	vb-insert --base base.txt s.vb 0 --text HEADER
	vb-delete s.vb 100 1000
	vb-cat -V 0 s.vb > v0
	cmp v0 base.txt
	vb-cat -V 1 s.vb > v1
	cmp v1 <(printf HEADER; cat base.txt)
}

# ------------------------------------------------------------ anchors

@test "--range, --offset: @NAME, @NAME+N and @NAME-N" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	vb-history --set-anchor t s.vb 19
	run -0 vb-cat -r @k:@t s.vb
	assert_output klmnopqrs
	run -0 vb-cat -r @k+1:@t-1 s.vb
	assert_output lmnopqr
	run -0 vb-cat -r @t: s.vb
	assert_output tuvwxyz
	run -0 vb-cat -r :@k-8 s.vb
	assert_output ab
	run -0 vb-cat -r @k:@k s.vb
	assert_output ''
	run -0 vb-cat -r @k+0x2:end-10 s.vb
	assert_output mnop
	run -0 vb-cat --offset @t -n 3 s.vb
	assert_output tuv
	run -0 vb-cat -o @k-10 --length 1 s.vb
	assert_output a
	run -0 vb-cat -o @k+16 s.vb
	assert_output ''
	# the anchors follow their bytes
	vb-insert s.vb 0 --text 0123
	vb-delete s.vb @k+1 3
	run -0 vb-cat -r @k:@t s.vb
	assert_output kopqrs
}

@test "-V N: anchors are looked up in version N" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	vb-insert s.vb 0 --text 0123
	vb-history --remove-anchor k s.vb
	run -0 vb-cat -V 2 -o @k -n 3 s.vb
	assert_output klm
	run -0 vb-cat -V 3 -r @k-4:@k s.vb
	assert_output ghij
	run -1 vb-cat -V 1 -o @k s.vb
	assert_output "vb-cat: s.vb: no anchor 'k' at version 1"
	run -1 vb-cat -o @k s.vb
	assert_output "vb-cat: s.vb: no anchor 'k' at version 4"
}

@test "anchor errors: unknown, beyond the end, before the start; the other stores still written" {
	make_store a.vb "$ALPHA"
	vb-history --set-anchor k a.vb 10
	make_store b.vb 0123456789
	run -1 --separate-stderr vb-cat -o @k a.vb b.vb a.vb
	assert_output klmnopqrstuvwxyzklmnopqrstuvwxyz
	assert_equal "$stderr" "vb-cat: b.vb: no anchor 'k' at version 1"
	run -1 vb-cat -o @k+17 a.vb
	assert_output 'vb-cat: a.vb: offset @k+17 is beyond the end (length 26)'
	run -1 vb-cat -r :@k-11 a.vb
	assert_output 'vb-cat: a.vb: offset @k-11 is before the start (the anchor is at 10)'
	run -1 vb-cat -o @k -n 17 a.vb
	assert_output 'vb-cat: a.vb: range 10+17 is beyond the end (length 26)'
	run -1 vb-cat -r @k+1:@k a.vb
	assert_output 'vb-cat: a.vb: range start 11 is after its end 10'
	run -1 vb-cat -r @k:@nosuch a.vb
	assert_output "vb-cat: a.vb: no anchor 'nosuch' at version 2"
	run vb-cat -o @ a.vb
	assert_usage_error vb-cat "invalid offset '@' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)"
	run vb-cat -r '@k:@k+' a.vb
	assert_usage_error vb-cat "invalid offset '@k+'"
	run vb-cat -r '@k*:' a.vb
	assert_usage_error vb-cat "invalid offset '@k*' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)"
}

@test "anchors of a store on stdin" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	run -0 vb-cat -o @k -n 2 < s.vb
	assert_output kl
	run -1 vb-cat -o @q < s.vb
	assert_output "vb-cat: -: no anchor 'q' at version 2"
}

# ------------------------------------------------------------ stdin

@test "a store on stdin" {
	make_store s.vb "$ALPHA"
	run -0 vb-cat < s.vb
	assert_output "$ALPHA"
	run -0 vb-cat - < s.vb
	assert_output "$ALPHA"
	run -0 vb-cat -r 0:3 < s.vb
	assert_output abc
	make_store t.vb 123
	run -0 vb-cat t.vb - t.vb < s.vb
	assert_output "123${ALPHA}123"
}

@test "a store with a base file on stdin" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text 'H
'
	mkdir elsewhere
	cd elsewhere
	vb-cat < ../s.vb > out
	cmp out <(echo H; cat ../base.txt)
}

@test "a pipe on stdin is refused; a plain file on stdin is not a store" {
	make_store s.vb "$ALPHA"
	run -1 bash -c 'cat s.vb | vb-cat'
	assert_output "vb-cat: -: a store on stdin must be a regular file (use 'vb-cat < FILE')"
	run -1 bash -c 'cat s.vb | vb-cat -'
	assert_output "vb-cat: -: a store on stdin must be a regular file (use 'vb-cat < FILE')"
	echo plain > plain
	run -1 vb-cat < plain
	assert_output 'vb-cat: -: not a vb store'
}

# ------------------------------------------------------------ output

# A store of about 3.5 MB: a 2 MiB base, 1.5 MB inserted, 3000 small
# deletions (one version) and 20 inserts; `expect` holds its content.
make_big_store() {
	head -c 2M /dev/urandom > base
	head -c 1500000 /dev/urandom > ins
	vb-insert --base base big.vb 1000 ins
	seq 0 997 2990000 | awk '{ print $1, 7 }' > r
	vb-delete --ranges r big.vb
	for i in $(seq 1 20); do
		vb-insert --no-sync big.vb $((i * 100003)) --text "edit$i"
	done
	python3 - <<'EOF'
base = open('base', 'rb').read()
ins = open('ins', 'rb').read()
c = base[:1000] + ins + base[1000:]
gone = bytearray(len(c))
for line in open('r'):
    off, n = map(int, line.split())
    gone[off:off + n] = b'\1' * n
c = bytearray(b for b, g in zip(c, gone) if not g)
for i in range(1, 21):
    p = i * 100003
    c[p:p] = b'edit%d' % i
open('expect', 'wb').write(c)
EOF
}

@test "a large store with many edits: to a file and to a pipe" {
	make_big_store
	[ "$(stat -c %s expect)" -gt 1048576 ]
	vb-cat big.vb > out
	cmp out expect
	vb-cat big.vb | cat > out
	cmp out expect
	run -0 vb-history --verify big.vb
	# old versions too
	vb-cat -V 1 big.vb > out
	cmp out <(head -c 1000 base; cat ins; tail -c +1001 base)
	vb-cat -r 1000000:2000000 big.vb > out
	cmp out <(tail -c +1000001 expect | head -c 1000000)
}

@test "into a file at any offset, over a longer file, several stores, one failing: the bytes exactly (staged output)" {
	make_big_store
	make_store s.vb "$ALPHA"
	{ printf abc; vb-cat big.vb; printf xyz; } > out
	cmp out <(printf abc; cat expect; printf xyz)
	vb-cat big.vb s.vb big.vb > out
	cmp out <(cat expect; printf '%s' "$ALPHA"; cat expect)
	# over a longer file, without truncating it: the rest stays
	head -c $(( $(stat -c %s expect) + 5000 )) /dev/zero | tr '\0' 'z' > longer
	vb-cat big.vb 1<> longer
	cmp <(head -c "$(stat -c %s expect)" longer) expect
	cmp <(tail -c 5000 longer) <(head -c 5000 /dev/zero | tr '\0' 'z')
	# a store that fails between two: the others' bytes, in order
	run -1 --separate-stderr bash -c 'vb-cat big.vb nosuch.vb s.vb > out'
	assert_equal "$stderr" "vb-cat: nosuch.vb: no such store"
	cmp out <(cat expect; printf '%s' "$ALPHA")
}

@test "appending to a file (O_APPEND: the read/write fallback)" {
	make_store s.vb "$ALPHA"
	echo 'before' > out
	vb-cat s.vb >> out
	vb-cat -r 0:3 s.vb >> out
	cmp out <(echo before; printf '%s' "$ALPHA"; printf abc)
	make_big_store
	echo 'before' > out
	vb-cat big.vb >> out
	cmp out <(echo before; cat expect)
}

@test "a closed output pipe stops quietly with status 0" {
	make_big_store
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-cat big.vb | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	# with several stores, it stops at the first
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-cat big.vb big.vb nosuch.vb | head -c 10 > /dev/null'
	assert_equal "$stderr" ''
}

@test "a write error on stdout is reported" {
	make_store s.vb "$ALPHA"
	run -1 bash -c 'vb-cat s.vb > /dev/full'
	assert_output 'vb-cat: write error: No space left on device'
}

# ------------------------------------------------------------ damage

@test "a flipped byte in a data record is an error, never wrong bytes" {
	make_store s.vb 'hello'
	vb-insert s.vb 0 --text "$(printf 'A%.0s' $(seq 1 60))"
	# a later commit, so the damaged record is no longer the newest one's
	vb-insert s.vb end --text '!'
	off=$(grep -oba AAAAAAAAAA s.vb | head -1 | cut -d: -f1)
	printf 'B' | dd of=s.vb bs=1 seek=$((off + 20)) conv=notrunc status=none
	run -1 --separate-stderr vb-cat s.vb
	refute_output --partial B
	assert_regex "$stderr" '^vb-cat: s\.vb: record at offset [0-9]+: checksum mismatch$'
	# the version before does not need that record
	run -0 vb-cat -V 1 s.vb
	assert_output hello
}

@test "a flipped byte in the newest commit's records: the version before, with a warning" {
	make_store s.vb 'hello'
	vb-insert s.vb 0 --text "$(printf 'A%.0s' $(seq 1 60))"
	off=$(grep -oba AAAAAAAAAA s.vb | head -1 | cut -d: -f1)
	printf 'B' | dd of=s.vb bs=1 seek=$((off + 20)) conv=notrunc status=none
	# small commits are made durable by one flush and a checksum over
	# their records: a mismatch there is what a crash would leave
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	assert_regex "$stderr" "^vb-cat: s\.vb: warning: ignoring [0-9]+ bytes after the last commit \(the newest commit's records do not match its checksum: damaged, or cut short by a crash; the next writer removes them\)\$"
	run -1 --separate-stderr vb-history --verify s.vb
	assert_regex "$stderr" "does not match the checksum of the records it covers"
}

@test "a missing or changed base file is an error naming it" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	cp -p base.txt saved
	printf 'X' | dd of=base.txt bs=1 seek=10 conv=notrunc status=none
	touch -r saved base.txt
	run -1 vb-cat s.vb
	assert_output --regexp "^vb-cat: s\.vb: base file 'base\.txt' has changed: content at offset [0-9]+ differs$"
	truncate -s 100 base.txt
	run -1 vb-cat s.vb
	assert_output "vb-cat: s.vb: base file 'base.txt' has changed: size 100, expected 292"
	rm base.txt
	run -1 vb-cat s.vb
	assert_output --regexp "^vb-cat: s\.vb: base file 'base\.txt' \(or '/[^']*/base\.txt'\) cannot be opened: No such file or directory$"
	cp -p saved base.txt
	# the copy may or may not get the old inode number back: either no
	# message or the warning that device/inode differ
	run -0 --separate-stderr vb-cat -r 0:2 s.vb
	assert_output 'x1'
	if [ -n "$stderr" ]; then
		assert_equal "$stderr" "vb-cat: s.vb: warning: base file 'base.txt' is not the file the store was made from (device/inode differ), but its size, time and sampled content match"
	fi
}

@test "a base path that names a FIFO or a directory is an error, not a wait" {
	# the store names its base by path: whatever is there now is only
	# opened for reading, never waited on (a FIFO without a writer would
	# block open(2)) and never taken unless it is a regular file
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	mv base.txt saved
	mkfifo base.txt
	run -1 timeout 10 vb-cat s.vb
	assert_output "vb-cat: s.vb: base file 'base.txt' has changed: it is no longer a regular file (a FIFO)"
	rm base.txt
	mkdir base.txt
	run -1 timeout 10 vb-cat s.vb
	assert_output "vb-cat: s.vb: base file 'base.txt' has changed: it is no longer a regular file (a directory)"
	rmdir base.txt
	mv saved base.txt
	run -0 vb-cat -r 0:2 s.vb
	assert_output 'x1'
}

@test "a torn tail is ignored with a warning" {
	make_store s.vb "$ALPHA"
	printf 'garbage' >> s.vb
	run -0 --separate-stderr vb-cat s.vb
	assert_output "$ALPHA"
	assert_equal "$stderr" 'vb-cat: s.vb: warning: ignoring 7 bytes after the last commit (an interrupted write; the next writer removes them)'
}

# ------------------------------------------------------------ the rest

@test "popt alias files are honoured" {
	make_store s.vb "$ALPHA"
	echo 'vb-cat alias --first3 --range 0:3' > "$HOME/.popt"
	run -0 vb-cat --first3 s.vb
	assert_output abc
}

@test "usage errors" {
	run vb-cat --bogus
	assert_usage_error vb-cat '--bogus: unknown option'
	run vb-cat -r
	assert_usage_error vb-cat '-r: missing argument'
	run vb-cat --wait 0 s.vb
	assert_usage_error vb-cat '--wait: unknown option'
	# vb-cat writes no store
	run vb-cat --if-version 1 s.vb
	assert_usage_error vb-cat '--if-version: unknown option'
}

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-cat --help
	assert_line --index 0 'Usage: vb-cat [OPTION...] [STORE...]'
	assert_output --partial '--range=START:END'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-cat --version
	assert_output --regexp '^vb-cat \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

@test "-h is --help, and popt's -? still is; --help lists -h" {
	make_store s.vb abc
	run -0 --separate-stderr vb-cat --help
	help=$output
	assert_line --regexp '^  -h, --help +show this help and exit \(also -\?\)$'
	for h in -h '-?'; do
		run -0 --separate-stderr vb-cat "$h"
		assert_equal "$output" "$help"
		assert_equal "$stderr" ''
	done
	# -h wins over the rest of the line, as --help does, and changes nothing
	run -0 --separate-stderr vb-cat -V 1 -h s.vb
	assert_equal "$output" "$help"
	# vb-frame shares the options of cli.c
	run -0 vb-frame --help
	help=$output
	run -0 vb-frame -h
	assert_equal "$output" "$help"
	assert_line '  -h, --help                             show this help and exit (also -?)'
}

@test "--cache: a store many times its cache reads back right; bad sizes are usage errors" {
	# 4 MiB of inserted data in 300 pieces, read through a 256K cache
	head -c 4000000 /dev/urandom > data
	make_store s.vb ''
	for ((i = 0; i < 300; i++)); do
		echo "$(( (i * 7919) % (i * 13000 + 1) )) $(( i * 13000 )) 13000"
	done > plan
	: > flat
	while read -r at from n; do
		tail -c +$(( from + 1 )) data | head -c "$n" > piece
		vb-insert --no-sync s.vb "$at" piece
		{ head -c "$at" flat; cat piece; tail -c +$(( at + 1 )) flat; } > flat.new
		mv flat.new flat
	done < plan
	vb-cat --cache 256K s.vb > out
	cmp out flat
	VB_CACHE=256K vb-cat s.vb > out
	cmp out flat
	run -0 vb-cat --cache 1G --range 1000:1010 s.vb
	assert_output "$(tail -c +1001 flat | head -c 10)"
	# --cache wins over VB_CACHE, which is checked only when --cache is absent
	VB_CACHE=bogus vb-cat --cache 300K s.vb > out
	cmp out flat
	run vb-cat --cache 255K s.vb
	assert_usage_error vb-cat "--cache '255K' is too small (at least 256K)"
	run vb-cat --cache 1025G s.vb
	assert_usage_error vb-cat "--cache '1025G' is too large (at most 1T)"
	run -0 vb-cat --cache 1T --range 1000:1010 s.vb
	assert_output "$(tail -c +1001 flat | head -c 10)"
	run vb-cat --cache 12x s.vb
	assert_usage_error vb-cat "invalid --cache '12x' (unknown suffix 'x')"
	run vb-cat --cache '' s.vb
	assert_usage_error vb-cat "empty --cache"
	VB_CACHE=10 run vb-cat s.vb
	assert_usage_error vb-cat "VB_CACHE '10' is too small (at least 256K)"
	VB_CACHE=lots run vb-cat s.vb
	assert_usage_error vb-cat "invalid VB_CACHE 'lots'"
	# an empty VB_CACHE is the default
	VB_CACHE= vb-cat s.vb > out
	cmp out flat
}

# ------------------------------------------------------------ --unit

# make_records FILE COUNT: COUNT records of 16 bytes ("r00000000000007\n").
make_records() {
	local i
	for ((i = 0; i < $2; i++)); do
		printf 'r%014d\n' "$i"
	done > "$1"
}

# records FILE K [N]: records K to K+N-1 of FILE (all from K without N).
records() {
	dd if="$1" bs=16 skip="$2" ${3:+count="$3"} status=none
}

@test "--unit 16: --offset and --length count records" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-cat --unit 16 -o 3 -n 3 s.vb > out
	cmp out <(records base 3 3)
	vb-cat --unit 16 --offset 7 s.vb > out
	cmp out <(tail -c +$((7 * 16 + 1)) base)
	vb-cat --unit 16 --length 2 s.vb > out
	cmp out <(head -c 32 base)
	run -0 --separate-stderr vb-cat --unit 16 s.vb
	assert_equal "$stderr" ''
	cmp <(printf '%s\n' "$output") base
	vb-cat --unit 0x10 -o 0xa -n 0 s.vb > out
	cmp out /dev/null
	# --unit 1 is byte addressing
	run -0 vb-cat --unit 1 -o 16 -n 15 s.vb
	assert_output r00000000000001
}

@test "--unit: --range START:END, end, end-N and negative positions count elements" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-cat --unit 16 -r 2:5 s.vb > out
	cmp out <(records base 2 3)
	vb-cat --unit 16 -r 8: s.vb > out
	cmp out <(records base 8)
	vb-cat --unit 16 -r :1 s.vb > out
	cmp out <(records base 0 1)
	vb-cat --unit 16 -r end-3:end-1 s.vb > out
	cmp out <(records base 7 2)
	vb-cat --unit 16 -r -2: s.vb > out
	cmp out <(records base 8)
	vb-cat --unit 16 -o -1 s.vb > out
	cmp out <(records base 9)
	vb-cat --unit 16 -r end: s.vb > out
	cmp out /dev/null
}

@test "--unit 4K: a count with a size suffix" {
	head -c $((2048 * 4096)) /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	vb-cat --unit 4K -o 1K -n 3 s.vb > out
	cmp out <(dd if=base bs=4096 skip=1024 count=3 status=none)
}

@test "--unit with anchors: @NAME+N and @NAME-N are N elements away" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	vb-history --set-anchor b s.vb 128
	vb-cat --unit 16 -r @a:@b s.vb > out
	cmp out <(records base 3 5)
	vb-cat --unit 16 -r @a+1:@b-1 s.vb > out
	cmp out <(records base 4 3)
	vb-cat --unit 16 -o @a-3 -n 1 s.vb > out
	cmp out <(records base 0 1)
	vb-cat --unit 16 -o @b+2 s.vb > out
	cmp out /dev/null
}

@test "--unit with -V: the positions are in the version read" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-delete --unit 16 s.vb 0 4
	vb-insert s.vb 0 --text abc
	vb-cat --unit 16 -V 1 -o 2 -n 2 s.vb > out
	cmp out <(records base 2 2)
	vb-cat --unit 16 -V 2 -r end-2: s.vb > out
	cmp out <(records base 8 2)
	vb-cat --unit 16 -V 2 -o 1 -n 1 s.vb > out
	cmp out <(records base 5 1)
	# version 3 is not whole elements
	run -1 vb-cat --unit 16 -V 3 s.vb
	assert_output 'vb-cat: s.vb: content length 99 bytes is not a multiple of the unit (16 bytes)'
	run -1 vb-cat --unit 16 -V 2 s.vb -o 7
	assert_output 'vb-cat: s.vb: element offset 7 is beyond the end (length 6 elements)'
}

@test "--unit: content that is not whole elements fails, range or not; the other stores still written" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-insert --base base odd.vb 0 --text abc
	run -1 --separate-stderr vb-cat --unit 16 s.vb odd.vb s.vb
	assert_equal "$stderr" 'vb-cat: odd.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	cmp <(printf '%s\n' "$output") <(cat base base)
	run -1 --separate-stderr vb-cat --unit 16 -o 1 -n 1 odd.vb s.vb
	assert_equal "$stderr" 'vb-cat: odd.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	assert_output r00000000000001
	run -1 vb-cat --unit 16 -r 0:1 odd.vb
	assert_output 'vb-cat: odd.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	# an older version is named
	vb-insert odd.vb end --text x
	run -1 vb-cat --unit 16 -V 1 odd.vb
	assert_output 'vb-cat: odd.vb: content length 163 bytes of version 1 is not a multiple of the unit (16 bytes)'
	run -0 vb-cat --unit 164 -V 2 odd.vb
	run -0 vb-cat --unit 160 -V 0 odd.vb -r end-1:
	cmp <(printf '%s\n' "$output") base
}

@test "--unit: errors in elements; anchors off an element boundary" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	vb-history --set-anchor odd s.vb 50
	run -1 vb-cat --unit 16 -o 11 s.vb
	assert_output 'vb-cat: s.vb: element offset 11 is beyond the end (length 10 elements)'
	run -1 vb-cat --unit 16 -r end-11: s.vb
	assert_output 'vb-cat: s.vb: element offset end-11 is before the start (length 10 elements)'
	run -1 vb-cat --unit 16 -o 8 -n 3 s.vb
	assert_output 'vb-cat: s.vb: element range 8+3 is beyond the end (length 10 elements)'
	run -1 vb-cat --unit 16 -n 160 s.vb
	assert_output 'vb-cat: s.vb: element range 0+160 is beyond the end (length 10 elements)'
	run -1 vb-cat --unit 16 -r 5:4 s.vb
	assert_output 'vb-cat: s.vb: element range start 5 is after its end 4'
	run -1 vb-cat --unit 16 -o @odd s.vb
	assert_output "vb-cat: s.vb: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	run -1 vb-cat --unit 16 -r @a:@odd+1 s.vb
	assert_output "vb-cat: s.vb: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	run -1 vb-cat --unit 16 -o @a+8 s.vb
	assert_output 'vb-cat: s.vb: element offset @a+8 is beyond the end (length 10 elements)'
	run -1 vb-cat --unit 16 -o @a-4 s.vb
	assert_output 'vb-cat: s.vb: element offset @a-4 is before the start (the anchor is at element 3)'
	run -1 vb-cat --unit 16 -o 1152921504606846975 s.vb
	assert_output 'vb-cat: s.vb: element offset 1152921504606846975 is beyond the end (length 10 elements)'
	# with a unit it divides, the anchor is fine
	run -0 vb-cat --unit 2 -o @odd -n 2 s.vb
	assert_output 0000
}

@test "--unit: malformed units and counts too large for the unit are usage errors" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	run vb-cat --unit 0 s.vb
	assert_usage_error vb-cat "invalid --unit '0' (an element is at least 1 byte)"
	run vb-cat --unit abc s.vb
	assert_usage_error vb-cat "invalid --unit 'abc'"
	run vb-cat --unit=-1 s.vb
	assert_usage_error vb-cat "invalid --unit '-1' (a --unit cannot be negative)"
	run vb-cat --unit 16 -o 0x1000000000000000 s.vb
	assert_usage_error vb-cat "offset '0x1000000000000000' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-cat --unit 16 -r 0:1048576T s.vb
	assert_usage_error vb-cat "offset '1048576T' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-cat --unit 16 -n 1152921504606846976 s.vb
	assert_usage_error vb-cat "length '1152921504606846976' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-cat --unit 16T -o 1048576 s.vb
	assert_usage_error vb-cat "offset '1048576' is too large (at most 1048575 elements of 17592186044416 bytes)"
	run -1 vb-cat --unit 16T -o 1048575 s.vb
	assert_output 'vb-cat: s.vb: content length 160 bytes is not a multiple of the unit (17592186044416 bytes)'
}

@test "--unit: a store on stdin" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-cat --unit 16 -o 4 -n 2 < s.vb > out
	cmp out <(records base 4 2)
	vb-insert s.vb 0 --text x
	run -1 vb-cat --unit 16 < s.vb
	assert_output 'vb-cat: -: content length 161 bytes is not a multiple of the unit (16 bytes)'
}

@test "--help lists --unit" {
	run -0 vb-cat --help
	assert_output --regexp '      --unit=N +--range, --offset and --length'
}

# ------------------------------------------------------------ progress

@test "--progress: the bytes copied on stderr, into a file or a pipe" {
	head -c 3000000 /dev/urandom > big
	vb-insert --create s.vb 0 big
	run -0 --separate-stderr sh -c 'vb-cat --progress s.vb > out'
	assert_regex "$stderr" '^3000000 of 3000000 bytes \(3\.0 MB, 2\.9 MiB, 100%\) copied, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s$'
	cmp out big
	run -0 --separate-stderr sh -c 'vb-cat --progress -o 1000 -n 1000 s.vb | wc -c'
	assert_output 1000
	assert_regex "$stderr" '^1000 of 1000 bytes \(1\.0 kB, 1000 B, 100%\) copied, '
	run -0 --separate-stderr sh -c 'vb-cat s.vb > out'
	assert_equal "$stderr" ''
}

@test "progress by default only when the output is a file and stderr a terminal" {
	head -c 3000000 /dev/urandom > big
	vb-insert --create s.vb 0 big
	run -0 env VB_PROGRESS_DELAY=0 script -qec "vb-cat s.vb > out" /dev/null
	assert_output --regexp $'^\r3000000 of 3000000 bytes \\(3\\.0 MB, 2\\.9 MiB, 100%\\) copied'
	cmp out big
	# into a pipe (a pager, say): never without --progress
	run -0 env VB_PROGRESS_DELAY=0 script -qec "vb-cat s.vb | cksum" /dev/null
	assert_equal "${output%$'\r'}" "$(cksum < big)"
	run -0 env VB_PROGRESS_DELAY=0 script -qec "vb-cat --no-progress s.vb > out" /dev/null
	assert_output ''
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams)

@test "ulimit -v: stores larger than a 64 MiB memory limit stream through" {
	skip_under_sanitizer
	make_store s.vb hello
	head -c 200M /dev/zero | vb-insert s.vb 2
	truncate -s 200M sparse
	vb-insert -b sparse b.vb 0 --text x
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat s.vb | cksum"
	assert_output "$( (printf he; head -c 200M /dev/zero; printf llo) | cksum)"
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat b.vb b.vb | wc -c"
	assert_output $((2 * (200 * 1024 * 1024 + 1)))
	# into a pipe, a file and an appended file (the copy fallbacks)
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat s.vb > out; vb-cat -V 1 s.vb >> out"
	assert_equal "$(stat -c %s out)" $((200 * 1024 * 1024 + 10))
}

@test "ulimit -v: a cache larger than the memory limit: exit 1 and a one-line error" {
	skip_under_sanitizer
	make_store s.vb hello
	run -1 --separate-stderr bash -c "ulimit -v $MEM_LIMIT_KB; vb-cat --cache 1G s.vb"
	assert_output ''
	assert_equal "${#stderr_lines[@]}" 1
	assert_equal "${stderr:0:12}" 'vb-cat: s.vb'
	[[ $stderr == *'Cannot allocate memory'* ]]
}

@test "ulimit -n: too many open files: exit 1, the file named; the other stores still written" {
	make_base base 1000
	vb-insert -b base b.vb 0 --text x
	make_store s.vb hello
	run -1 --separate-stderr nofile 4 'vb-cat b.vb'
	assert_output ''
	assert_equal "$stderr" "vb-cat: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	# every store is closed before the next is opened
	run -0 nofile 5 'vb-cat s.vb b.vb s.vb b.vb s.vb | wc -c'
	assert_output $((3 * 5 + 2 * 3894))
}

@test "a closed or full stdout: exit 1 and 'write error'" {
	make_store s.vb hello
	run -1 bash -c 'vb-cat s.vb >&-'
	assert_output 'vb-cat: write error: Bad file descriptor'
	run -1 bash -c 'vb-cat -V 1 -o 1 s.vb >&-'
	assert_output 'vb-cat: write error: Bad file descriptor'
	run -1 bash -c 'vb-cat --help >&-'
	assert_output 'vb-cat: write error: Bad file descriptor'
	run -1 bash -c 'vb-cat --version > /dev/full'
	assert_output 'vb-cat: write error: No space left on device'
	run -0 vb-cat s.vb
	assert_output hello
}

# ------------------------------------------------------------ lines

# sed_lines RANGE: the sed address of a --lines RANGE (A-B, A-, -B, A).
sed_lines() {
	case $1 in
	-*) echo "1,${1#-}" ;;
	*-) echo "${1%-},\$" ;;
	*-*) echo "${1%-*},${1#*-}" ;;
	*) echo "$1" ;;
	esac
}

# lines_as_sed STORE FLAT [-V N]: --lines on STORE prints what sed -n
# prints on FLAT (the same content) for ranges inside, across and past
# the end, A > B among them.
lines_as_sed() {
	local store=$1 flat=$2 n r
	shift 2
	n=$(sed -n '$=' "$flat")
	n=${n:-0}
	for r in 1 2 3 "$n" "$((n + 1))" "$((n + 7))" 2-3 1-"$n" 2- "$n"- "$((n + 1))"- \
		-1 -2 -"$n" -"$((n + 5))" "$((n - 1))"-"$((n + 3))" 3-2 "$n"-1 "$((n + 2))"-1 \
		1-18446744073709551615 18446744073709551615; do
		case $r in 0 | 0-* | -0 | *--*) continue ;; esac
		vb-cat "$@" --lines "$r" "$store" > got
		sed -n "$(sed_lines "$r")p" "$flat" > want
		cmp got want || fail "--lines $r $*: not as sed -n '$(sed_lines "$r")p'"
	done
}

@test "--lines A-B: what sed -n 'A,Bp' prints, last line with or without its end, CRLF lines" {
	printf 'one\ntwo\nthree\nfour\nfive\n' > t
	printf 'one\ntwo\n\nfour\nfive' > u
	printf 'a\r\nb\r\n\r\nd\r' > c
	printf '\n\n\n' > e
	for f in t u c e; do
		vb-insert --create "$f.vb" 0 "$f"
		lines_as_sed "$f.vb" "$f"
	done
	# the empty content has no lines
	vb-insert --create z.vb 0 --text ''
	run -0 vb-cat --lines 1- z.vb
	assert_output ''
	run -0 vb-cat -l 1 z.vb
	assert_output ''
}

@test "--lines: a store made with edits (counted) and a base larger than 1 MiB (read), as sed" {
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	lines_as_sed b.vb big
	vb-cat --lines 123456-123460 b.vb > got
	sed -n '123456,123460p' big > want
	cmp got want
	# edits split lines across pieces: the counts come from the tree
	vb-insert b.vb 700000 --text $'x\ny'
	vb-delete b.vb 100 3
	vb-insert --create s.vb 0 big
	vb-insert s.vb 1000 --text $'\n\n'
	vb-delete s.vb 20000 7
	vb-insert s.vb end --text 'tail'
	for s in b s; do
		vb-cat "$s.vb" > flat
		lines_as_sed "$s.vb" flat
		vb-cat --lines 99990-100010 "$s.vb" > got
		sed -n '99990,100010p' flat > want
		cmp got want
	done
}

@test "--lines -V N: the lines of version N" {
	make_store s.vb $'a\nb\nc\n'
	vb-insert s.vb 0 --text $'new\n'
	vb-delete s.vb end-2 2
	run -0 vb-cat --lines 2-3 -V 1 s.vb
	assert_output $'b\nc'
	run -0 vb-cat --lines 2-3 s.vb
	assert_output $'a\nb'
	vb-cat -V 2 s.vb > flat
	lines_as_sed s.vb flat -V 2
}

@test "--lines errors: malformed, line 0, with --range, -o, -n or --unit: exit 2" {
	make_store s.vb $'a\nb\n'
	run vb-cat --lines 0 s.vb
	assert_usage_error vb-cat "--lines: invalid line range '0' (lines count from 1)"
	run vb-cat --lines 0-2 s.vb
	assert_usage_error vb-cat "--lines: invalid line range '0-2' (lines count from 1)"
	run vb-cat --lines '' s.vb
	assert_usage_error vb-cat '--lines: empty line range'
	for bad in - 1-2-3 1,3 x 1K 0x2 L2 ' 1' 1-+2; do
		run vb-cat --lines "$bad" s.vb
		assert_failure 2
		assert_output --partial "vb-cat: --lines: invalid line range '$bad'"
	done
	run vb-cat --lines 99999999999999999999 s.vb
	assert_usage_error vb-cat "--lines: line range '99999999999999999999' is too large (a line number is at most 2^64-1)"
	run vb-cat --lines 1 --range 0:1 s.vb
	assert_usage_error vb-cat '--lines cannot be combined with --range'
	run vb-cat --lines 1 -o 1 s.vb
	assert_usage_error vb-cat '--lines cannot be combined with --offset'
	run vb-cat --lines 1 -n 1 s.vb
	assert_usage_error vb-cat '--lines cannot be combined with --length'
	run vb-cat --lines 1 --unit 1 s.vb
	assert_usage_error vb-cat '--lines cannot be combined with --unit'
}

@test "L<N> in -o and --range: the first byte of line N, as tail -n +N and sed" {
	printf 'one\ntwo\nthree\nfour\nfive' > u
	printf 'a\r\nbb\r\n\r\nd\r\n' > c
	seq 1 300000 > big
	vb-insert --create u.vb 0 u
	vb-insert --create c.vb 0 c
	vb-insert --base big big.vb 0 --text ''
	vb-insert --create e.vb 0 big
	vb-insert e.vb 5000 --text $'\n'
	vb-cat e.vb > e
	for f in u c big e; do
		n=$(sed -n '$=' "$f")
		for k in 1 2 3 "$n" 1000 200001; do
			[ "$k" -le "$n" ] || continue
			vb-cat -o "L$k" "$f.vb" > got
			tail -n +"$k" "$f" > want
			cmp got want || fail "$f: -o L$k"
			vb-cat --range "L1:L$k" "$f.vb" > got
			head -n "$((k - 1))" "$f" > want
			cmp got want || fail "$f: --range L1:L$k"
			[ "$k" -lt "$n" ] || continue
			vb-cat --range "L$k:L$((k + 2))" "$f.vb" > got
			sed -n "$k,$((k + 1))p" "$f" > want
			cmp got want || fail "$f: --range L$k:L$((k + 2))"
		done
		# L<last+1> is the end of the content
		run -0 vb-cat -o "L$((n + 1))" "$f.vb"
		assert_output ''
		vb-cat --range ":L$((n + 1))" "$f.vb" > got
		cmp got "$f"
	done
	# '\r' is an ordinary byte: L2 of a CRLF file starts after the '\n'
	run -0 vb-cat -o L2 -n 2 c.vb
	assert_output bb
	# L<N>+K and L<N>-K: K bytes after and before (the size suffixes too)
	run -0 vb-cat -o L2+1 u.vb --length 2
	assert_output wo
	run -0 vb-cat --range L3-2:L3+0x2 u.vb
	assert_output $'o\nth'
	vb-cat -o L2-1 big.vb > got
	tail -c +2 big > want
	cmp got want
	vb-cat -o L1000+1K big.vb > got
	tail -n +1000 big | tail -c +1025 > want
	cmp got want
	# with -V the line is counted in that version
	vb-insert u.vb 0 --text $'zero\n'
	run -0 vb-cat -o L2 -V 1 u.vb -n 3
	assert_output two
	run -0 vb-cat -o L2 u.vb -n 3
	assert_output one
}

@test "L<N> errors: beyond L<last+1>, before the start, past the end: exit 1; L0 and --unit: exit 2" {
	printf 'one\ntwo\n' > t
	vb-insert --create s.vb 0 t
	run -1 vb-cat -o L4 s.vb
	assert_output 'vb-cat: s.vb: offset L4: line 4 is beyond the end (the content has 2 lines)'
	run -1 vb-cat --range L1:L9 s.vb
	assert_output 'vb-cat: s.vb: offset L9: line 9 is beyond the end (the content has 2 lines)'
	run -1 vb-cat -o L2-5 s.vb
	assert_output 'vb-cat: s.vb: offset L2-5 is before the start (line 2 starts at 4)'
	run -1 vb-cat -o L2+5 s.vb
	assert_output 'vb-cat: s.vb: offset L2+5 is beyond the end (length 8)'
	run -1 vb-cat -o L3+1 s.vb
	assert_output 'vb-cat: s.vb: offset L3+1 is beyond the end (length 8)'
	run -1 vb-cat --range L2:L1 s.vb
	assert_output 'vb-cat: s.vb: range start 4 is after its end 0'
	run -1 vb-cat -V 0 -o L2 s.vb
	assert_output 'vb-cat: s.vb: offset L2: line 2 is beyond the end (the content has 0 lines)'
	# a base larger than 1 MiB: found by reading, the same answer
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	run -1 vb-cat -o L300002 b.vb
	assert_output 'vb-cat: b.vb: offset L300002: line 300002 is beyond the end (the content has 300000 lines)'
	run vb-cat -o L0 s.vb
	assert_usage_error vb-cat "invalid offset 'L0' (lines count from 1)"
	run vb-cat -o L s.vb
	assert_usage_error vb-cat "invalid offset 'L' (a line number is decimal digits)"
	run vb-cat -o L2x s.vb
	assert_usage_error vb-cat "invalid offset 'L2x' (a line address is L<LINE>, L<LINE>+N or L<LINE>-N)"
	run vb-cat -o L18446744073709551616 s.vb
	assert_usage_error vb-cat "offset 'L18446744073709551616' is too large (a line number is at most 2^64-1)"
	run vb-cat --unit 2 -o L1 s.vb
	assert_usage_error vb-cat "offset 'L1' is a line address, which does not count elements (the unit is 2 bytes)"
	run vb-cat --unit 2 --range :L1 s.vb
	assert_usage_error vb-cat "offset 'L1' is a line address, which does not count elements (the unit is 2 bytes)"
}

@test "a FIFO as the store: refused at once, exit 1" {
	mkfifo f.vb
	run timeout 10 vb-cat f.vb
	assert_failure 1
	assert_output 'vb-cat: f.vb: is not a regular file (a FIFO)'
}

@test "output onto the store or its base (>> s.vb, >> BASE): refused, exit 1, nothing written to either" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 50 --text x
	make_store a.vb AAA
	s0=$(sum_of s.vb) b0=$(sum_of base.txt) a0=$(sum_of a.vb)
	run bash -c 'vb-cat s.vb >> s.vb'
	assert_failure 1
	assert_output 'vb-cat: s.vb: the output is the store itself: nothing written'
	run bash -c 'vb-cat s.vb >> base.txt'
	assert_failure 1
	assert_output "vb-cat: s.vb: the output is its base file 'base.txt': nothing written"
	# another store first: not written either (cat would append it)
	run bash -c 'vb-cat a.vb s.vb >> s.vb'
	assert_failure 1
	assert_output 'vb-cat: s.vb: the output is the store itself: nothing written'
	# through another name of the same file
	ln s.vb hard.vb
	run bash -c 'vb-cat -r 0:10 s.vb >> hard.vb'
	assert_failure 1
	assert_output 'vb-cat: s.vb: the output is the store itself: nothing written'
	assert_equal "$(sum_of s.vb)" "$s0"
	assert_equal "$(sum_of base.txt)" "$b0"
	assert_equal "$(sum_of a.vb)" "$a0"
	# an embedded base is not read: its old file may take the output
	vb-flatten --embed s.vb
	run bash -c 'vb-cat s.vb >> base.txt'
	assert_success
	run -0 vb-history --verify s.vb
}

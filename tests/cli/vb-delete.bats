#!/usr/bin/env bats
# vb-delete: success paths, every error path, and the store unchanged after
# a failure.

load test_helper

ALPHA=abcdefghijklmnopqrstuvwxyz

# ------------------------------------------------------------ one range

@test "delete OFFSET LENGTH" {
	make_store s.vb "$ALPHA"
	run -0 vb-delete s.vb 3 4
	assert_output ''
	run -0 vb-cat s.vb
	assert_output abchijklmnopqrstuvwxyz
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  delete +3 +4 +22$'
	# the old version is still there
	run -0 vb-cat -V 1 s.vb
	assert_output "$ALPHA"
}

@test "offsets: hex, suffixes, end, end-N and negative after '--'" {
	make_store s.vb "$ALPHA"
	run -0 vb-delete s.vb 0x10 0x2
	run -0 vb-cat s.vb
	assert_output abcdefghijklmnopstuvwxyz
	run -0 vb-delete s.vb end-2 2
	run -0 vb-cat s.vb
	assert_output abcdefghijklmnopstuvwx
	run -0 vb-delete -- s.vb -3 1
	run -0 vb-cat s.vb
	assert_output abcdefghijklmnopstuwx
	run -0 vb-delete s.vb end 0
	run -0 vb-delete s.vb 0 1
	run -0 vb-cat s.vb
	assert_output bcdefghijklmnopstuwx
}

@test "size suffixes on a large base" {
	head -c 3M /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	run -0 vb-delete s.vb 1M 1KB
	run -0 vb-delete s.vb 1MB 1K
	{ head -c 1000000 base; tail -c +$((1000000 + 1024 + 1)) base | head -c $((1048576 - 1000000 - 1024));
	  tail -c +$((1048576 + 1000 + 1)) base; } > expect
	vb-cat s.vb > out
	cmp out expect
	run -0 vb-history --json -n 2 s.vb
	assert_line --index 0 --partial '"op":"delete","offset":1000000,"length":1024,'
	assert_line --index 1 --partial '"op":"delete","offset":1048576,"length":1000,'
}

@test "LENGTH 0 adds a version and changes no byte" {
	make_store s.vb "$ALPHA"
	run -0 vb-delete s.vb 5 0
	run -0 vb-delete s.vb end 0
	run -0 vb-cat s.vb
	assert_output "$ALPHA"
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 4
	assert_regex "${lines[0]}" '^ +3  .*  delete +26 +0 +26$'
	assert_regex "${lines[1]}" '^ +2  .*  delete +5 +0 +26$'
}

@test "deleting everything leaves an empty version" {
	make_store s.vb "$ALPHA"
	run -0 vb-delete s.vb 0 26
	run -0 vb-cat s.vb
	assert_output ''
	run -0 vb-insert s.vb 0 --text again
	run -0 vb-cat s.vb
	assert_output again
}

@test "-m describes the version" {
	make_store s.vb "$ALPHA"
	run -0 vb-delete -m 'drop the vowel' s.vb 0 1
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '  drop the vowel$'
	before=$(sum_of s.vb)
	run vb-delete -m "$(head -c 4097 /dev/zero | tr '\0' m)" s.vb 0 1
	assert_usage_error vb-delete '--message is longer than 4096 bytes'
	assert_same_sum s.vb "$before"
}

@test "a range beyond the end is an error, never clamped" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run -1 vb-delete s.vb 0 99999999
	assert_output 'vb-delete: s.vb: range 0+99999999 is beyond the end (length 26)'
	run -1 vb-delete s.vb 20 7
	assert_output 'vb-delete: s.vb: range 20+7 is beyond the end (length 26)'
	run -1 vb-delete s.vb 27 0
	assert_output 'vb-delete: s.vb: offset 27 is beyond the end (length 26)'
	run -1 vb-delete s.vb end-27 1
	assert_output 'vb-delete: s.vb: offset end-27 is before the start (length 26)'
	run -1 vb-delete -- s.vb -27 1
	assert_output 'vb-delete: s.vb: offset end-27 is before the start (length 26)'
	run -1 vb-delete s.vb 1 18446744073709551615
	assert_output 'vb-delete: s.vb: range 1+18446744073709551615 is beyond the end (length 26)'
	run -1 vb-delete s.vb 18446744073709551615 1
	assert_output 'vb-delete: s.vb: offset 18446744073709551615 is beyond the end (length 26)'
	run -1 vb-delete s.vb 1G 1
	assert_output 'vb-delete: s.vb: offset 1073741824 is beyond the end (length 26)'
	run -1 vb-delete s.vb 0 1TB
	assert_output 'vb-delete: s.vb: range 0+1000000000000 is beyond the end (length 26)'
	assert_same_sum s.vb "$before"
}

@test "usage errors change nothing" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run vb-delete
	assert_usage_error vb-delete 'missing STORE'
	run vb-delete s.vb
	assert_usage_error vb-delete "missing OFFSET and LENGTH after 's.vb'"
	run vb-delete s.vb 1
	assert_usage_error vb-delete "missing LENGTH after '1'"
	run vb-delete s.vb 1 2 3
	assert_usage_error vb-delete "extra operand '3'"
	run vb-delete s.vb -10 10
	assert_usage_error vb-delete "-10: unknown option (write negative offsets after '--')"
	run vb-delete -- s.vb 1 -1
	assert_usage_error vb-delete "invalid length '-1' (a length cannot be negative)"
	run vb-delete s.vb 18446744073709551616 1
	assert_usage_error vb-delete "offset '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-delete s.vb 0 18446744073709551616
	assert_usage_error vb-delete "length '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-delete s.vb 0 16777216T
	assert_usage_error vb-delete "length '16777216T' is too large (the limit is 2^64-1)"
	run vb-delete s.vb 0 end
	assert_usage_error vb-delete "invalid length 'end'"
	run vb-delete s.vb 0x 1
	assert_usage_error vb-delete "invalid offset '0x'"
	run vb-delete s.vb 16E 1
	assert_usage_error vb-delete "invalid offset '16E' (unknown suffix 'E')"
	run vb-delete s.vb 1 ''
	assert_usage_error vb-delete 'empty length'
	run vb-delete --bogus s.vb 1 1
	assert_usage_error vb-delete '--bogus: unknown option'
	run vb-delete --wait soon s.vb 1 1
	assert_usage_error vb-delete "invalid --wait 'soon' (seconds, 0 or more)"
	printf '0 1\n' > r
	run vb-delete --ranges r s.vb 1
	assert_usage_error vb-delete "--ranges takes the ranges from FILE: give only STORE ('1' is extra)"
	run vb-delete --ranges r
	assert_usage_error vb-delete 'missing STORE'
	assert_same_sum s.vb "$before"
}

@test "store errors: missing, not a store, unknown format, truncated header" {
	run -1 vb-delete n.vb 0 1
	assert_output 'vb-delete: n.vb: no such store'
	assert_file_not_exists n.vb
	echo hello > notstore
	run -1 vb-delete notstore 0 1
	assert_output 'vb-delete: notstore: not a vb store'
	make_store s.vb "$ALPHA"
	cp s.vb v2.vb
	printf '\x02' | dd of=v2.vb bs=1 seek=8 conv=notrunc status=none
	before=$(sum_of v2.vb)
	run -1 vb-delete v2.vb 0 1
	assert_output 'vb-delete: v2.vb: unsupported store format version 2 (this vb reads version 1)'
	assert_same_sum v2.vb "$before"
	head -c 20 s.vb > t.vb
	run -1 vb-delete t.vb 0 1
	assert_output --regexp '^vb-delete: t\.vb: truncated header \(20 of [0-9]+ bytes\)$'
	assert_equal "$(stat -c %s t.vb)" 20
}

@test "a missing or changed base file is an error naming it" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	before=$(sum_of s.vb)
	cp -p base.txt saved
	echo more >> base.txt
	run -1 vb-delete s.vb 0 1
	assert_output "vb-delete: s.vb: base file 'base.txt' has changed: size 297, expected 292"
	rm base.txt
	run -1 vb-delete s.vb 0 1
	assert_output --regexp "^vb-delete: s\.vb: base file 'base\.txt' \(or '/[^']*/base\.txt'\) cannot be opened: No such file or directory$"
	assert_same_sum s.vb "$before"
	cp -p saved base.txt
	run -0 vb-delete s.vb 0 1
}

@test "a read-only store cannot be written by another user" {
	make_store s.vb "$ALPHA"
	open_to_nobody
	chmod 444 s.vb
	before=$(sum_of s.vb)
	run -0 as_nobody vb-cat s.vb
	run -1 as_nobody vb-delete s.vb 0 1
	assert_output 'vb-delete: s.vb: cannot open: Permission denied'
	assert_same_sum s.vb "$before"
}

@test "--wait 0 with the write lock held: exit 4, the store unchanged" {
	make_store s.vb "$ALPHA"
	hold_lock s.vb
	before=$(sum_of s.vb)
	run -4 vb-delete --wait 0 s.vb 0 1
	assert_output --regexp '^vb-delete: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	printf '0 1\n' > r
	run -4 vb-delete --wait 0 --ranges r s.vb
	assert_output --regexp '^vb-delete: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	assert_same_sum s.vb "$before"
	release_lock
	run -0 vb-delete --wait 0 s.vb 0 1
	run -0 vb-cat s.vb
	assert_output bcdefghijklmnopqrstuvwxyz
}

# ------------------------------------------------------------ --ranges

@test "--ranges: unsorted and overlapping ranges merge into one version" {
	make_store s.vb "$ALPHA"
	cat > r <<'EOF'
20 3
0 2
1 3
end-2 2
21 1
EOF
	run -0 vb-delete --ranges r s.vb
	assert_output ''
	# a-d, u-w and y-z go
	run -0 vb-cat s.vb
	assert_output efghijklmnopqrstx
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 3
	assert_regex "${lines[0]}" '^ +2  .*  delete\*3 +[0-9]+ +9 +17$'
	# applied from the highest offset down, each valid in the parent's coordinates
	run -0 vb-history --ops -n 1 --no-header s.vb
	assert_line --index 1 '        delete 24 2'
	assert_line --index 2 '        delete 20 3'
	assert_line --index 3 '        delete 0 4'
}

@test "--ranges: adjacent ranges merge; a range inside another adds nothing" {
	make_store s.vb "$ALPHA"
	printf '2 2\n4 2\n0x0a 5\n11 1\n' > r
	run -0 vb-delete -R r s.vb
	run -0 vb-cat s.vb
	assert_output abghijpqrstuvwxyz
	run -0 vb-history --ops -n 1 --no-header s.vb
	assert_regex "${lines[0]}" 'delete\*2 '
	assert_line --index 1 '        delete 10 5'
	assert_line --index 2 '        delete 2 4'
}

@test "--ranges: the result equals the deletion computed by hand" {
	head -c 200000 /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	# 500 ranges, shuffled, some overlapping
	for i in $(seq 0 499); do
		echo "$((i * 397)) $((i % 7 * 100))"
	done | shuf --random-source=base > r
	run -0 vb-delete --ranges r s.vb
	python3 - <<'EOF'
data = open('base', 'rb').read()
gone = bytearray(len(data))
for line in open('r'):
    off, n = map(int, line.split())
    for k in range(off, off + n):
        gone[k] = 1
open('expect', 'wb').write(bytes(b for b, g in zip(data, gone) if not g))
EOF
	vb-cat s.vb > out
	cmp out expect
	[ "$(vb-history --no-header s.vb | wc -l)" -eq 3 ]
	run -0 vb-history --verify s.vb
}

@test "--ranges: blank lines, comments, tabs and CRLF are accepted" {
	make_store s.vb "$ALPHA"
	printf '# delete some letters\n\n  0 1\t\n\t# indented comment\n\t2\t1\r\n\r\n   \n' > r
	run -0 vb-delete --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output bdefghijklmnopqrstuvwxyz
}

@test "--ranges -: the ranges from stdin" {
	make_store s.vb "$ALPHA"
	run -0 bash -c 'printf "0 1\nend-1 1\n" | vb-delete --ranges - s.vb'
	run -0 vb-cat s.vb
	assert_output bcdefghijklmnopqrstuvwxy
}

@test "--ranges: an empty file, or only empty ranges, still adds one version" {
	make_store s.vb "$ALPHA"
	: > empty
	run -0 vb-delete --ranges empty s.vb
	printf '0 0\n3 0\n' > zeros
	run -0 vb-delete --ranges zeros s.vb
	run -0 vb-cat s.vb
	assert_output "$ALPHA"
	run -0 vb-history --no-header -n 2 s.vb
	assert_regex "${lines[0]}" '^ +3  .*  none '
	assert_regex "${lines[1]}" '^ +2  .*  none '
}

@test "--ranges: a malformed line is FILE:LINE: cause and changes nothing" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	printf '0 1\n1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:2: expected 'OFFSET LENGTH'"
	printf '# c\n0 1 2\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:2: expected 'OFFSET LENGTH'"
	printf '0 1\n\n0 -1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:3: invalid length '-1' (a length cannot be negative)"
	printf 'x 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:1: invalid offset 'x'"
	printf '0 1\n18446744073709551616 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:2: offset '18446744073709551616' is too large (the limit is 2^64-1)"
	printf '0 1\n1 2K3\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:2: invalid length '2K3' (unknown suffix 'K3')"
	printf '0 1\n1 \0 2\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:2: NUL byte in line'
	{ echo '0 1'; head -c 5000 /dev/zero | tr '\0' ' '; echo '1 1'; } > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:2: line longer than 4096 bytes'
	run -1 bash -c 'printf "0 1\nfoo bar\n" | vb-delete --ranges - s.vb'
	assert_output "vb-delete: -:2: invalid offset 'foo'"
	assert_same_sum s.vb "$before"
}

@test "--ranges: an out-of-range line is FILE:LINE: cause and changes nothing" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	printf '0 1\n# c\n100 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:3: offset 100 is beyond the end (length 26)'
	printf '0 1\n0 100\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:2: range 0+100 is beyond the end (length 26)'
	printf 'end-27 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:1: offset end-27 is before the start (length 26)'
	assert_same_sum s.vb "$before"
}

@test "--ranges: a missing ranges file is an error" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run -1 vb-delete --ranges nosuch s.vb
	assert_output 'vb-delete: nosuch: No such file or directory'
	mkdir dir
	run -1 vb-delete --ranges dir s.vb
	assert_output 'vb-delete: dir: Is a directory'
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ --if-version

@test "--if-version V: the deletion goes ahead only when the head is V; else exit 3, unchanged" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run -3 vb-delete --if-version 0 s.vb 0 1
	assert_output 'vb-delete: s.vb: the newest version is 1, not 0 (--if-version)'
	printf '0 1\n5 1\n' > r
	run -3 vb-delete --if-version 2 --ranges r s.vb
	assert_output 'vb-delete: s.vb: the newest version is 1, not 2 (--if-version)'
	# checked before the ranges are: a stale writer hears about that first
	run -3 vb-delete --if-version 2 s.vb 0 99
	assert_output 'vb-delete: s.vb: the newest version is 1, not 2 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-delete --if-version 1 s.vb 0 1
	before=$(sum_of s.vb)
	run -3 vb-delete --if-version 1 --ranges r s.vb
	assert_output 'vb-delete: s.vb: the newest version is 2, not 1 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-delete --if-version 2 --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output cdefhijklmnopqrstuvwxyz
}

@test "a malformed --if-version is a usage error, before any store is opened" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run vb-delete --if-version x s.vb 0 1
	assert_usage_error vb-delete "invalid version 'x'"
	run vb-delete --if-version=-2 s.vb 0 1
	assert_usage_error vb-delete "invalid version '-2' (a version cannot be negative)"
	assert_same_sum s.vb "$before"
	run vb-delete --if-version x nosuch.vb 0 1
	assert_usage_error vb-delete "invalid version 'x'"
	printf '0 1\n' > r
	run vb-delete --if-version 1K1 --ranges r nosuch.vb
	assert_usage_error vb-delete "invalid version '1K1' (unknown suffix 'K1')"
}

# ------------------------------------------------------------ --at-version

@test "-V 7: the records of version 7 deleted one call at a time, shuffled, equal deleting them at once" {
	python3 - <<'PY'
import random
r = random.Random(3)
ends = [b'\n', b'\r\n', b'\r']
recs = [b'rec%02d-' % i + bytes(r.choice(b'abcxyz') for _ in range(r.randrange(0, 12)))
        + r.choice(ends) for i in range(60)]
open('F', 'wb').write(b''.join(recs) + b'tail')
PY
	vb-insert --base F S 0 --text $'head\n'
	vb-delete S 20 3
	vb-insert S end --text $'\r\nmore\n'
	vb-insert S 100 --text $'mid\r\n'
	vb-delete S 200 50
	vb-history --set-anchor m S 100
	vb-insert S @m+5 --text $'after mid\n'
	[ "$(vb-history -H -n 1 S | awk '{ print $1 }')" -eq 7 ]
	cp S copy.vb
	vb-cat S > v7
	# every third record of version 7
	vb-frame -V 7 -l --index --keep S > idx
	[ "$(wc -l < idx)" -gt 40 ]
	awk 'NR % 3 == 0' idx | shuf > third
	# another writer edits after version 7: a line at the start, a line
	# before record 6, and bytes inside record 9 (head offset: version 7's
	# plus the 4 + 9 bytes inserted before it)
	vb-insert S 0 --text $'NEW\n'
	vb-insert S $(( $(sed -n 6p idx | cut -f 1) + 4 )) --text $'before 6\n'
	vb-delete S $(( $(sed -n 9p idx | cut -f 1) + 13 + 1 )) 3
	# -V 7 still frames version 7
	vb-frame -V 7 -l --index --keep S | cmp - idx
	# one call per record, in a shuffled order
	while read -r off len; do
		vb-delete -V 7 S "$off" "$len"
	done < third
	# the same records deleted at once from a copy at version 7
	vb-delete --ranges third copy.vb
	vb-cat copy.vb > want
	# and by hand from version 7's records
	python3 - <<'PY'
v7 = open('v7', 'rb').read()
idx = [tuple(map(int, l.split())) for l in open('idx')]
assert sum(n for _, n in idx) == len(v7) and idx[0][0] == 0
kept = [v7[o:o + n] for i, (o, n) in enumerate(idx, 1) if i % 3]
open('byhand', 'wb').write(b''.join(kept))
# with the other writer's lines: the one before record 6 stays
out = b'NEW\n' + b''.join(kept[:4]) + b'before 6\n' + b''.join(kept[4:])
open('expect', 'wb').write(out)
PY
	cmp want byhand
	vb-cat S > out
	cmp out expect
	[ "$(vb-history --json S | grep -c '"at_version":7,')" -eq "$(wc -l < third)" ]
	run -0 vb-history --verify S
}

@test "-V V: deleting the same range of version V twice deletes it once" {
	make_store s.vb abcdefgh
	vb-delete s.vb 2 2
	run -0 vb-delete -V 1 s.vb 1 4
	run -0 vb-cat s.vb
	assert_output afgh
	run -0 vb-delete -V 1 s.vb 1 4
	run -0 vb-cat s.vb
	assert_output afgh
	run -0 vb-history -H -n 2 s.vb
	assert_regex "${lines[0]}" '^ +4  .*  delete +1 +0 +4$'
	assert_regex "${lines[1]}" '^ +3  .*  delete +1 +2 +4$'
}

@test "-V V: bytes inserted since V right after a range are not deleted with it" {
	# 'bc' of version 1; another writer then put X between c and d
	make_store s.vb abcdef
	vb-insert s.vb 3 --text X
	run -0 vb-delete -V 1 s.vb 1 2
	run -0 vb-cat s.vb
	assert_output aXdef
	# the same at the end of the content, and with --ranges
	make_store t.vb abcdef
	vb-insert t.vb end --text '!'
	printf '4 2\n0 1\n' > r
	run -0 vb-delete -V 1 --ranges r t.vb
	run -0 vb-cat t.vb
	assert_output 'bcd!'
	# bytes inserted right before a range stay too
	make_store u.vb abcdef
	vb-insert u.vb 1 --text X
	run -0 vb-delete -V 1 u.vb 1 2
	run -0 vb-cat u.vb
	assert_output aXdef
}

@test "-V V --ranges: the ranges and end-N are version V's, carried to the head" {
	make_store s.vb "$ALPHA"
	vb-insert s.vb 0 --text 0123
	printf '0 2\n10 3\nend-2 2\n' > r
	run -0 vb-delete --at-version 1 --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output 0123cdefghijnopqrstuvwx
	run -0 vb-history --ops -n 1 -H s.vb
	assert_line --index 1 '        delete 28 2'
	assert_line --index 2 '        delete 14 3'
	assert_line --index 3 '        delete 4 2'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"at_version":1,'
	run -0 vb-delete -V 1 s.vb end-3 1
	run -0 vb-cat s.vb
	assert_output 0123cdefghijnopqrstuvw
}

@test "-V errors: a version beyond the head, ranges beyond V's content; exit 1, unchanged" {
	make_store s.vb "$ALPHA"
	vb-insert s.vb end --text 0123456789
	before=$(sum_of s.vb)
	run -1 vb-delete -V 3 s.vb 0 1
	assert_output 'vb-delete: s.vb: version 3 does not exist (the newest is 2)'
	printf '0 1\n' > r
	run -1 vb-delete -V 9 --ranges r s.vb
	assert_output 'vb-delete: s.vb: version 9 does not exist (the newest is 2)'
	run -1 vb-delete -V 1 s.vb 0 27
	assert_output 'vb-delete: s.vb: range 0+27 is beyond the end (length 26)'
	run -1 vb-delete -V 1 s.vb 27 0
	assert_output 'vb-delete: s.vb: offset 27 is beyond the end (length 26)'
	printf '0 2\n30 1\n' > r
	run -1 vb-delete -V 1 --ranges r s.vb
	assert_output 'vb-delete: r:2: offset 30 is beyond the end (length 26)'
	printf '0 2\n0 27\n' > r
	run -1 vb-delete -V 1 --ranges r s.vb
	assert_output 'vb-delete: r:2: range 0+27 is beyond the end (length 26)'
	assert_same_sum s.vb "$before"
}

@test "-V V across a revert to a version older than V fails, exit 1, unchanged" {
	make_store s.vb "$ALPHA"
	vb-delete s.vb 0 1
	vb-history --revert 1 s.vb
	before=$(sum_of s.vb)
	run -1 vb-delete -V 2 s.vb 0 1
	assert_output 'vb-delete: s.vb: version 3 reverts to version 1, which does not have the offsets of version 2: they cannot be carried past that'
	printf '0 1\n3 1\n' > r
	run -1 vb-delete -V 2 --ranges r s.vb
	assert_output 'vb-delete: s.vb: version 3 reverts to version 1, which does not have the offsets of version 2: they cannot be carried past that'
	assert_same_sum s.vb "$before"
	run -0 vb-delete -V 1 --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output bcefghijklmnopqrstuvwxyz
}

@test "a malformed -V is a usage error and changes nothing" {
	make_store s.vb "$ALPHA"
	before=$(sum_of s.vb)
	run vb-delete -V x s.vb 0 1
	assert_usage_error vb-delete "invalid version 'x'"
	run vb-delete --at-version=-1 s.vb 0 1
	assert_usage_error vb-delete "invalid version '-1' (a version cannot be negative)"
	run vb-delete -V '' s.vb 0 1
	assert_usage_error vb-delete 'empty version'
	run vb-delete -V x nosuch.vb 0 1
	assert_usage_error vb-delete "invalid version 'x'"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ anchors

@test "@NAME, @NAME+N and @NAME-N as OFFSET and in --ranges lines" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	run -0 vb-delete s.vb @k 2
	run -0 vb-cat s.vb
	assert_output abcdefghijmnopqrstuvwxyz
	# the byte of k is gone: k is where it was, on 'm'
	printf '@k 1\n# comment\n@k-5 1\n\t@k+10  3\n@k-0 0\n' > r
	run -0 vb-delete --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output abcdeghijnopqrstuvz
	run -0 vb-history --ops -n 1 -H s.vb
	assert_line --index 1 '        delete 20 3'
	assert_line --index 2 '        delete 10 1'
	assert_line --index 3 '        delete 5 1'
}

@test "an anchor whose byte is deleted goes to where the deleted bytes were" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	vb-history --set-anchor q s.vb 16
	# bytes before an anchor move it; bytes just after it do not
	run -0 vb-delete s.vb 0 2
	run -0 vb-delete s.vb @k+1 2
	run -0 vb-history -A s.vb
	assert_output $'q\t12\t3\nk\t8\t2'
	# a range covering the anchor's byte
	run -0 vb-delete s.vb @k-2 4
	run -0 vb-cat s.vb
	assert_output cdefghopqrstuvwxyz
	run -0 vb-history -A s.vb
	assert_output $'q\t8\t3\nk\t6\t2'
	run -0 vb-cat -o @k -n 2 s.vb
	assert_output op
	# two anchors in one deleted range end up together
	run -0 vb-delete s.vb 5 5
	run -0 vb-cat s.vb
	assert_output cdefgstuvwxyz
	run -0 vb-history -A s.vb
	assert_output $'q\t5\t3\nk\t5\t2'
	run -0 vb-cat -r @k:@q s.vb
	assert_output ''
	# deleted up to the end: they are at the end, and stay there
	run -0 vb-delete s.vb 3 10
	run -0 vb-history -A s.vb
	assert_output $'q\t3\t3\nk\t3\t2'
	run -0 vb-insert s.vb end --text '!'
	run -0 vb-history -A s.vb
	assert_output $'q\t4\t3\nk\t4\t2'
}

@test "anchors with -V are looked up in version V" {
	make_store s.vb "$ALPHA"
	vb-insert s.vb 0 --text 0123
	vb-history --set-anchor z s.vb end-1
	before=$(sum_of s.vb)
	run -1 vb-delete -V 1 s.vb @z 1
	assert_output "vb-delete: s.vb: no anchor 'z' at version 1"
	printf '0 1\n@z 1\n' > r
	run -1 vb-delete -V 2 --ranges r s.vb
	assert_output "vb-delete: r:2: no anchor 'z' at version 2"
	assert_same_sum s.vb "$before"
	vb-insert s.vb 0 --text '!'
	run -0 vb-delete -V 3 --ranges r s.vb
	run -0 vb-cat s.vb
	assert_output '!123abcdefghijklmnopqrstuvwxy'
}

@test "anchor errors: unknown, beyond the end, before the start; exit 1, unchanged" {
	make_store s.vb "$ALPHA"
	vb-history --set-anchor k s.vb 10
	before=$(sum_of s.vb)
	run -1 vb-delete s.vb @zz 1
	assert_output "vb-delete: s.vb: no anchor 'zz' at version 2"
	run -1 vb-delete s.vb @k+17 0
	assert_output 'vb-delete: s.vb: offset @k+17 is beyond the end (length 26)'
	run -1 vb-delete s.vb @k-11 1
	assert_output 'vb-delete: s.vb: offset @k-11 is before the start (the anchor is at 10)'
	run -1 vb-delete s.vb @k+10 7
	assert_output 'vb-delete: s.vb: range 20+7 is beyond the end (length 26)'
	printf '0 1\n@zz 1\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output "vb-delete: r:2: no anchor 'zz' at version 2"
	printf '0 1\n\n@k+30 1\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output 'vb-delete: r:3: offset @k+30 is beyond the end (length 26)'
	printf '@k-30 1\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output 'vb-delete: r:1: offset @k-30 is before the start (the anchor is at 10)'
	printf '0 1\n@k 17\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output 'vb-delete: r:2: range 10+17 is beyond the end (length 26)'
	printf '0 1\n@ 1\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output "vb-delete: r:2: invalid offset '@' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)"
	printf '@k+x 1\n' > r
	run -1 vb-delete --ranges r s.vb
	assert_output "vb-delete: r:1: invalid offset '@k+x'"
	run vb-delete s.vb @k* 1
	assert_usage_error vb-delete "invalid offset '@k*' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)"
	run vb-delete s.vb @k- 1
	assert_usage_error vb-delete "invalid offset '@k-'"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ stream mode

@test "stream: vb-delete - OFFSET LENGTH < in > out" {
	head -c 1000 /dev/urandom > in
	run -0 bash -c 'vb-delete - 100 10 < in > out'
	assert_output ''
	cmp out <(head -c 100 in; tail -c +111 in)
	run -0 bash -c 'cat in | vb-delete - 100 10 > out'
	cmp out <(head -c 100 in; tail -c +111 in)
}

@test "stream: end, end-N and negative offsets after '--'" {
	printf abcdef > in
	run -0 vb-delete - end-3 2 < in
	assert_output abcf
	run -0 vb-delete -- - -3 2 < in
	assert_output abcf
	run -0 bash -c 'printf abcdef | vb-delete -- - -3 2'
	assert_output abcf
	run -0 vb-delete - end 0 < in
	assert_output abcdef
	run -0 bash -c 'printf abcdef | vb-delete - 0 6'
	assert_output ''
	run -0 bash -c 'printf "" | vb-delete - 0 0'
	assert_output ''
}

@test "stream: --ranges FILE with end-relative lines" {
	printf "$ALPHA" > in
	printf '# comment\n20 3\n\n  0 2\n1 3\nend-2 2\n21 1\n' > r
	run -0 vb-delete --ranges r - < in
	assert_output efghijklmnopqrstx
	run -0 bash -c 'cat in | vb-delete --ranges r -'
	assert_output efghijklmnopqrstx
}

@test "stream: a range beyond the end fails; on a regular file nothing is written" {
	printf abcdef > in
	run -1 --separate-stderr vb-delete - 1 9 < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: range 1+9 is beyond the end (length 6)'
	run -1 --separate-stderr bash -c 'printf abcdef | vb-delete - 1 9'
	assert_equal "$stderr" 'vb-delete: -: range 1+9 is beyond the end (length 6)'
	run -1 --separate-stderr bash -c 'printf abcdef | vb-delete - end-7 1'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: offset end-7 is before the start (length 6)'
	printf '0 1\n30 1\n' > r
	run -1 --separate-stderr vb-delete --ranges r - < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: r:2: offset 30 is beyond the end (length 6)'
	run -1 --separate-stderr bash -c 'cat in | vb-delete --ranges r -'
	assert_equal "$stderr" 'vb-delete: r:2: offset 30 is beyond the end (length 6)'
	printf '0 1\nx\n' > r
	run -1 --separate-stderr vb-delete --ranges r - < in
	assert_output ''
	assert_equal "$stderr" "vb-delete: r:2: expected 'OFFSET LENGTH'"
}

@test "stream: end-N on a pipe beyond VB_HOLD_MAX fails" {
	run -1 --separate-stderr bash -c 'head -c 100 /dev/zero | VB_HOLD_MAX=10 vb-delete - end-20 5'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: a position 20 bytes before the end of a pipe needs that much memory (limit 10); give a file instead of a pipe, or raise VB_HOLD_MAX'
	head -c 100 /dev/zero > z
	run -0 bash -c 'VB_HOLD_MAX=10 vb-delete - end-20 5 < z | wc -c'
	assert_output 95
}

@test "stream: usage errors" {
	printf abc > in
	run vb-delete --ranges - - < in
	assert_usage_error vb-delete 'stdin is the stream being edited; --ranges needs a FILE'
	run vb-delete -m x - 0 1 < in
	assert_usage_error vb-delete "--message has no meaning when editing a stream ('-')"
	run vb-delete --no-sync - 0 1 < in
	assert_usage_error vb-delete "--no-sync has no meaning when editing a stream ('-')"
	run vb-delete --wait 1 - 0 1 < in
	assert_usage_error vb-delete "--wait has no meaning when editing a stream ('-')"
	run vb-delete - 0 < in
	assert_usage_error vb-delete "missing LENGTH after '0'"
	run vb-delete --if-version 1 - 0 1 < in
	assert_usage_error vb-delete "--if-version has no meaning when editing a stream ('-')"
	run vb-delete -V 1 - 0 1 < in
	assert_usage_error vb-delete "--at-version has no meaning when editing a stream ('-')"
	printf '0 1\n' > r
	run vb-delete --at-version 1 --ranges r - < in
	assert_usage_error vb-delete "--at-version has no meaning when editing a stream ('-')"
}

@test "stream: @NAME is an error (a stream has no anchors); nothing is written" {
	printf abcdef > in
	run -1 --separate-stderr vb-delete - @a 1 < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: offset @a names an anchor, which only a store has'
	run -1 --separate-stderr bash -c 'printf abcdef | vb-delete - @a-1 1'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: offset @a-1 names an anchor, which only a store has'
	printf '0 1\n@k 1\n' > r
	run -1 --separate-stderr vb-delete --ranges r - < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: r:2: offset @k names an anchor, which only a store has'
	printf 'end-1 1\n@k+1 1\n' > r
	run -1 --separate-stderr bash -c 'printf abcdef | vb-delete --ranges r -'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: r:2: offset @k+1 names an anchor, which only a store has'
}

@test "stream: 50 MiB through a pipe and from a file" {
	head -c 50M /dev/urandom > big
	cat big | vb-delete - 1000000 3000000 > out
	cmp out <(head -c 1000000 big; tail -c +4000001 big)
	vb-delete -- - -1000 10 < big > out
	cmp out <(head -c $((50 * 1048576 - 1000)) big; tail -c 990 big)
	printf '40M 1M\n0 1\n10M 1\nend-5 5\n' > r
	cat big | vb-delete --ranges r - > out
	cmp out <(tail -c +2 big | head -c $((10 * 1048576 - 1));
		  tail -c +$((10 * 1048576 + 2)) big | head -c $((30 * 1048576 - 1));
		  tail -c +$((41 * 1048576 + 1)) big | head -c $((9 * 1048576 - 5)))
}

@test "stream: a closed output pipe is quiet; other write errors are reported" {
	head -c 5M /dev/zero > big
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-delete - 0 1 < big | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -1 bash -c 'vb-delete - 0 1 < big > /dev/full'
	assert_output 'vb-delete: write error: No space left on device'
}

# ------------------------------------------------------------ the rest

@test "popt alias files are honoured" {
	make_store s.vb "$ALPHA"
	echo 'vb-delete alias --first --ranges first.txt' > "$HOME/.popt"
	echo '0 1' > first.txt
	run -0 vb-delete --first s.vb
	run -0 vb-cat s.vb
	assert_output bcdefghijklmnopqrstuvwxyz
}

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-delete --help
	assert_line --index 0 'Usage: vb-delete [OPTION...] STORE OFFSET LENGTH'
	assert_output --partial '--ranges=FILE'
	assert_output --partial '-V, --at-version=V'
	assert_output --partial '--if-version=V'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-delete --version
	assert_output --regexp '^vb-delete \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

@test "--cache and VB_CACHE: checked before anything changes" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run vb-delete --cache 1K s.vb 1 2
	assert_usage_error vb-delete "--cache '1K' is too small (at least 256K)"
	VB_CACHE=-1 run vb-delete s.vb 1 2
	assert_usage_error vb-delete "invalid VB_CACHE '-1' (a VB_CACHE cannot be negative)"
	assert_same_sum s.vb "$before"
	vb-delete --cache 300K s.vb 1 2
	run -0 vb-cat s.vb
	assert_output 'adef'
}

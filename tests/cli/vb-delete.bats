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

@test "file names in messages are quoted when they need it; the store unchanged" {
	make_store s.vb abcdef
	before=$(sum_of s.vb)
	printf '0 1\n1 x\n' > $'r\tng'
	run -1 vb-delete --ranges $'r\tng' s.vb
	assert_output "vb-delete: 'r'\$'\\t''ng':2: invalid length 'x'"
	printf '0 1\n9 1\n' > 'my ranges'
	run -1 vb-delete --ranges 'my ranges' s.vb
	assert_output "vb-delete: 'my ranges':2: offset 9 is beyond the end (length 6)"
	run -1 vb-delete --ranges $'no\nsuch' s.vb
	assert_output "vb-delete: 'no'\$'\\n''such': No such file or directory"
	run vb-delete --ranges 'my ranges' s.vb $'0\n'
	assert_usage_error vb-delete "--ranges takes the ranges from FILE: give only STORE ('0'\$'\\n' is extra)"
	run vb-delete s.vb 0 1 $'x\ny'
	assert_usage_error vb-delete "extra operand 'x'\$'\\n''y'"
	run vb-delete $'s\n.vb'
	assert_usage_error vb-delete "missing OFFSET and LENGTH after 's'\$'\\n''.vb'"
	run vb-delete s.vb
	assert_usage_error vb-delete "missing OFFSET and LENGTH after 's.vb'"
	assert_same_sum s.vb "$before"
	run -1 vb-delete $'s\n.vb' 0 1
	assert_output "vb-delete: 's'\$'\\n''.vb': no such store"
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

@test "-V head~N: ranges in the content N versions before the newest" {
	make_store s.vb abcdefgh
	vb-insert s.vb 4 --text XY
	before=$(sum_of s.vb)
	run -1 vb-delete -V head~3 s.vb 0 1
	assert_output 'vb-delete: s.vb: version head~3 does not exist (the newest is 2)'
	run vb-delete -V head~1x s.vb 0 1
	assert_usage_error vb-delete "invalid version 'head~1x' (expected N, head or head~N)"
	assert_same_sum s.vb "$before"
	# 'fg' of version 1, after the bytes inserted since
	run -0 vb-delete -V head~1 s.vb 5 2
	run -0 vb-cat s.vb
	assert_output abcdXYeh
	run -0 vb-delete --at-version head s.vb 0 1
	run -0 vb-cat s.vb
	assert_output bcdXYeh
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

@test "-h is --help, and popt's -? still is; --help lists -h" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-delete --help
	help=$output
	assert_line '  -h, --help                     show this help and exit (also -?)'
	for h in -h '-?'; do
		run -0 --separate-stderr vb-delete "$h"
		assert_equal "$output" "$help"
		assert_equal "$stderr" ''
	done
	# -h wins over the rest of the line, as --help does, and changes nothing
	run -0 --separate-stderr vb-delete -h s.vb 0 1
	assert_equal "$output" "$help"
	assert_same_sum s.vb "$before"
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

# ------------------------------------------------------------ --unit

# make_records FILE COUNT: COUNT records of 16 bytes ("r00000000000007\n").
make_records() {
	local i
	for ((i = 0; i < $2; i++)); do
		printf 'r%014d\n' "$i"
	done > "$1"
}

# without FILE K N: FILE without its 16-byte records K to K+N-1 (head/tail).
without() {
	head -c $(($2 * 16)) "$1"
	tail -c +$((($2 + $3) * 16 + 1)) "$1"
}

@test "--unit 16: OFFSET and LENGTH count 16-byte records" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	run -0 --separate-stderr vb-delete --unit 16 s.vb 3 3
	assert_output ''
	assert_equal "$stderr" ''
	vb-cat s.vb > out
	cmp out <(without base 3 3)
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  delete +48 +48 +112$'
	# the same with dd: records 0-2 and 6-9
	cmp out <(dd if=base bs=16 count=3 status=none; dd if=base bs=16 skip=6 status=none)
	# the unit takes the size grammar; a count takes suffixes and hex
	run -0 vb-delete --unit 0x10 s.vb 0x1 1
	vb-cat s.vb > out2
	cmp out2 <(without out 1 1)
	# --unit 1 is byte addressing
	run -0 vb-delete --unit 1 s.vb 0 16
	vb-cat s.vb > out3
	cmp out3 <(without out2 0 1)
}

@test "--unit 4K: records of 4 KiB, and a count with a suffix" {
	head -c $((2048 * 4096)) /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	run -0 vb-delete --unit 4K s.vb 1K 2
	vb-cat s.vb > out
	cmp out <(head -c $((1024 * 4096)) base; tail -c +$((1026 * 4096 + 1)) base)
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"delete","offset":4194304,"length":8192,'
}

@test "--unit: end, end-N and negative offsets count elements" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	run -0 vb-delete --unit 16 s.vb end-2 2
	run -0 vb-delete --unit 16 -- s.vb -3 1
	run -0 vb-delete --unit 16 s.vb end 0
	vb-cat s.vb > out
	cmp out <(head -c $((5 * 16)) base; dd if=base bs=16 skip=6 count=2 status=none)
	# a range that reaches the end exactly
	run -0 vb-delete --unit 16 s.vb 5 0x2
	vb-cat s.vb > out
	cmp out <(head -c $((5 * 16)) base)
}

@test "--unit with --ranges: every line counts elements; one version" {
	make_records base 20
	vb-insert --base base s.vb 0 --text ''
	printf '# records\n15 2\n0 1\n\n1 2\nend-2 2\n16 1\n' > r
	run -0 vb-delete --unit 16 --ranges r s.vb
	vb-cat s.vb > out
	# kept: records 3-14 and 17
	cmp out <(dd if=base bs=16 skip=3 count=12 status=none; dd if=base bs=16 skip=17 count=1 status=none)
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 3
	run -0 bash -c 'printf "0 1\n" | vb-delete --unit 16 --ranges - s.vb'
	vb-cat s.vb > out
	cmp out <(dd if=base bs=16 skip=4 count=11 status=none; dd if=base bs=16 skip=17 count=1 status=none)
}

@test "--unit with anchors: @NAME+N and @NAME-N are N elements away" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	run -0 vb-delete --unit 16 s.vb @a+1 2
	vb-cat s.vb > out
	cmp out <(without base 4 2)
	run -0 vb-delete --unit 16 s.vb @a-1 1
	printf '@a 1\n' > r
	run -0 vb-delete --unit 16 --ranges r s.vb
	vb-cat s.vb > out
	cmp out <(head -c 32 base; tail -c +97 base)
}

@test "--unit: anchor errors; an anchor off an element boundary; exit 1, unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	vb-history --set-anchor odd s.vb 50
	before=$(sum_of s.vb)
	run -1 vb-delete --unit 16 s.vb @odd 1
	assert_output "vb-delete: s.vb: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	run -1 vb-delete --unit 16 s.vb @odd+1 0
	assert_output "vb-delete: s.vb: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	printf '0 1\n@odd-1 1\n' > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output "vb-delete: r:2: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	run -1 vb-delete --unit 16 s.vb @a+8 1
	assert_output 'vb-delete: s.vb: element offset @a+8 is beyond the end (length 10 elements)'
	run -1 vb-delete --unit 16 s.vb @a-4 1
	assert_output 'vb-delete: s.vb: element offset @a-4 is before the start (the anchor is at element 3)'
	run -1 vb-delete --unit 16 s.vb @a+1 7
	assert_output 'vb-delete: s.vb: element range 4+7 is beyond the end (length 10 elements)'
	run -1 vb-delete --unit 16 s.vb @b 1
	assert_output "vb-delete: s.vb: no anchor 'b' at version 3"
	assert_same_sum s.vb "$before"
	# with a unit it divides, the anchor is fine
	run -0 vb-delete --unit 2 s.vb @odd 3
	vb-cat s.vb > out
	cmp out <(head -c 50 base; tail -c +57 base)
}

@test "--unit: ranges beyond the end are errors in elements, never clamped; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 vb-delete --unit 16 s.vb 8 3
	assert_output 'vb-delete: s.vb: element range 8+3 is beyond the end (length 10 elements)'
	run -1 vb-delete --unit 16 s.vb 11 0
	assert_output 'vb-delete: s.vb: element offset 11 is beyond the end (length 10 elements)'
	run -1 vb-delete --unit 16 s.vb end-11 1
	assert_output 'vb-delete: s.vb: element offset end-11 is before the start (length 10 elements)'
	run -1 vb-delete --unit 16 -- s.vb -11 1
	assert_output 'vb-delete: s.vb: element offset end-11 is before the start (length 10 elements)'
	# 160 bytes, but only 10 elements
	run -1 vb-delete --unit 16 s.vb 0 160
	assert_output 'vb-delete: s.vb: element range 0+160 is beyond the end (length 10 elements)'
	printf '0 1\n9 2\n' > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output 'vb-delete: r:2: element range 9+2 is beyond the end (length 10 elements)'
	printf 'end-11 1\n' > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output 'vb-delete: r:1: element offset end-11 is before the start (length 10 elements)'
	# the largest count that fits in 64 bits as bytes is only out of range
	run -1 vb-delete --unit 16 s.vb 1152921504606846975 0
	assert_output 'vb-delete: s.vb: element offset 1152921504606846975 is beyond the end (length 10 elements)'
	run -1 vb-delete --unit 16 s.vb 1 1152921504606846975
	assert_output 'vb-delete: s.vb: element range 1+1152921504606846975 is beyond the end (length 10 elements)'
	assert_same_sum s.vb "$before"
}

@test "--unit: content that is not whole elements fails every deletion; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-insert s.vb end --text abc
	before=$(sum_of s.vb)
	run -1 vb-delete --unit 16 s.vb 0 1
	assert_output 'vb-delete: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	# also where no position counts from the end, and for nothing at all
	run -1 vb-delete --unit 16 s.vb 0 0
	assert_output 'vb-delete: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	: > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output 'vb-delete: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	run -1 vb-delete --unit 2 s.vb end-1 1
	assert_output 'vb-delete: s.vb: content length 163 bytes is not a multiple of the unit (2 bytes)'
	assert_same_sum s.vb "$before"
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 3
	# a unit that divides it is fine
	run -0 vb-delete --unit 163 s.vb 0 1
	run -0 vb-cat s.vb
	assert_output ''
}

@test "--unit: offsets and lengths whose bytes pass 2^64-1 are rejected, never wrapped" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run vb-delete --unit 16 s.vb 1152921504606846976 1
	assert_usage_error vb-delete "offset '1152921504606846976' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-delete --unit 16 s.vb 0x1000000000000000 1
	assert_usage_error vb-delete "offset '0x1000000000000000' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-delete --unit 16 s.vb end-1024P 1
	assert_usage_error vb-delete "invalid offset 'end-1024P' (unknown suffix 'P')"
	run vb-delete --unit 4K s.vb end-4096T 1
	assert_usage_error vb-delete "offset 'end-4096T' is too large (at most 4503599627370495 elements of 4096 bytes)"
	run vb-delete --unit 16 s.vb 0 1048576T
	assert_usage_error vb-delete "length '1048576T' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-delete --unit 16 s.vb @a+1152921504606846976 1
	assert_usage_error vb-delete "offset '@a+1152921504606846976' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-delete --unit 18446744073709551615 s.vb 2 0
	assert_usage_error vb-delete "offset '2' is too large (at most 1 elements of 18446744073709551615 bytes)"
	printf '0 1\n0x1000000000000000 1\n' > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output "vb-delete: r:2: offset '0x1000000000000000' is too large (at most 1152921504606846975 elements of 16 bytes)"
	printf '0 1\n1 1152921504606846976\n' > r
	run -1 vb-delete --unit 16 --ranges r s.vb
	assert_output "vb-delete: r:2: length '1152921504606846976' is too large (at most 1152921504606846975 elements of 16 bytes)"
	assert_same_sum s.vb "$before"
}

@test "--unit: a malformed or zero unit is a usage error" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run vb-delete --unit 0 s.vb 0 1
	assert_usage_error vb-delete "invalid --unit '0' (an element is at least 1 byte)"
	run vb-delete --unit 0K s.vb 0 1
	assert_usage_error vb-delete "invalid --unit '0K' (an element is at least 1 byte)"
	run vb-delete --unit x s.vb 0 1
	assert_usage_error vb-delete "invalid --unit 'x'"
	run vb-delete --unit=-4 s.vb 0 1
	assert_usage_error vb-delete "invalid --unit '-4' (a --unit cannot be negative)"
	run vb-delete --unit 1Q s.vb 0 1
	assert_usage_error vb-delete "invalid --unit '1Q' (unknown suffix 'Q')"
	run vb-delete --unit '' s.vb 0 1
	assert_usage_error vb-delete 'empty --unit'
	run vb-delete --unit 16 s.vb 0 -1
	assert_usage_error vb-delete "-1: unknown option (write negative offsets after '--')"
	# checked before the store is opened
	run vb-delete --unit 0 nosuch.vb 0 1
	assert_usage_error vb-delete "invalid --unit '0' (an element is at least 1 byte)"
	assert_same_sum s.vb "$before"
}

@test "--unit with -V: ranges of version V in elements, carried to the head" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	# version 2: records 0 and 1 deleted; version 3: a record in front
	vb-delete --unit 16 s.vb 0 2
	vb-insert --unit 16 s.vb 0 --text 'NEW-RECORD-0000
'
	run -0 vb-delete --unit 16 -V 1 s.vb 5 2
	vb-cat s.vb > out
	cmp out <(printf 'NEW-RECORD-0000\n'; dd if=base bs=16 skip=2 count=3 status=none;
		  dd if=base bs=16 skip=7 status=none)
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"delete","offset":64,"length":32,'
	assert_output --partial '"at_version":1'
	# --ranges and end-N are version 1's too
	printf 'end-1 1\n2 1\n' > r
	run -0 vb-delete --unit 16 -V 1 --ranges r s.vb
	vb-cat s.vb > out
	cmp out <(printf 'NEW-RECORD-0000\n'; dd if=base bs=16 skip=3 count=2 status=none;
		  dd if=base bs=16 skip=7 count=2 status=none)
}

@test "--unit with -V: V or the head not whole elements, a range carried off the boundaries; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	# half a record in front and half a record at the end
	vb-insert s.vb 0 --text abcdefgh
	vb-insert s.vb end --text ABCDEFGH
	before=$(sum_of s.vb)
	# versions 1 and 3 are whole elements, version 2 is not
	run -1 vb-delete --unit 16 -V 2 s.vb 0 1
	assert_output 'vb-delete: s.vb: content length 168 bytes of version 2 is not a multiple of the unit (16 bytes)'
	run -1 vb-delete --unit 16 -V 1 s.vb 3 1
	assert_output 'vb-delete: s.vb: element range 3+1 of version 1 is bytes 56+16 of version 3, not on element boundaries (the unit is 16 bytes)'
	printf '0 0\n3 1\n' > r
	run -1 vb-delete --unit 16 -V 1 --ranges r s.vb
	assert_output 'vb-delete: r:1: element range 0+0 of version 1 is bytes 8+0 of version 3, not on element boundaries (the unit is 16 bytes)'
	run -1 vb-delete --unit 16 -V 9 s.vb 0 1
	assert_output 'vb-delete: s.vb: version 9 does not exist (the newest is 3)'
	assert_same_sum s.vb "$before"
	# the head not whole elements, version 1 still is
	vb-insert s.vb 0 --text x
	before=$(sum_of s.vb)
	run -1 vb-delete --unit 16 -V 1 s.vb 0 1
	assert_output 'vb-delete: s.vb: content length 177 bytes is not a multiple of the unit (16 bytes)'
	assert_same_sum s.vb "$before"
	# in bytes the same deletion is fine
	run -0 vb-delete -V 1 s.vb 48 16
	vb-cat s.vb > out
	cmp out <(printf xabcdefgh; without base 3 1; printf ABCDEFGH)
}

@test "--unit with --if-version: exit 3 and unchanged unless the head is V" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -3 vb-delete --unit 16 --if-version 0 s.vb 0 1
	assert_output 'vb-delete: s.vb: the newest version is 1, not 0 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-delete --unit 16 --if-version 1 s.vb 0 1
	vb-cat s.vb > out
	cmp out <(without base 0 1)
}

@test "stream: --unit counts elements, from a regular file and a pipe" {
	make_records in 10
	run -0 bash -c 'vb-delete --unit 16 - 3 3 < in > out'
	assert_output ''
	cmp out <(without in 3 3)
	run -0 bash -c 'cat in | vb-delete --unit 16 - 3 3 > out'
	cmp out <(without in 3 3)
	run -0 bash -c 'cat in | vb-delete --unit 16 - end-2 1 > out'
	cmp out <(without in 8 1)
	run -0 bash -c 'vb-delete --unit 16 -- - -2 2 < in > out'
	cmp out <(without in 8 2)
	printf '0 1\nend-1 1\n4 2\n' > r
	run -0 bash -c 'cat in | vb-delete --unit 16 --ranges r - > out'
	cmp out <(dd if=in bs=16 skip=1 count=3 status=none; dd if=in bs=16 skip=6 count=3 status=none)
	run -0 bash -c 'vb-delete --unit 16 --ranges r - < in > out'
	cmp out <(dd if=in bs=16 skip=1 count=3 status=none; dd if=in bs=16 skip=6 count=3 status=none)
	# 1 MiB of records through a pipe, most of it deleted
	make_records big 65536
	run -0 bash -c 'cat big | vb-delete --unit 16 - 10 65000 > out'
	cmp out <(without big 10 65000)
}

@test "stream: --unit errors in elements; on a regular file nothing is written" {
	make_records in 10
	run -1 --separate-stderr vb-delete --unit 16 - 8 3 < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: element range 8+3 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 - 8 3'
	assert_equal "$stderr" 'vb-delete: -: element range 8+3 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 - end-11 1'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: element offset end-11 is before the start (length 10 elements)'
	printf '0 1\n11 0\n' > r
	run -1 --separate-stderr vb-delete --unit 16 --ranges r - < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: r:2: element offset 11 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 --ranges r -'
	assert_equal "$stderr" 'vb-delete: r:2: element offset 11 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'head -c 100 /dev/zero | VB_HOLD_MAX=10 vb-delete --unit 4 - end-3 1'
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: a position 12 bytes before the end of a pipe needs that much memory (limit 10); give a file instead of a pipe, or raise VB_HOLD_MAX'
	run vb-delete --unit 0 - 0 1 < in
	assert_usage_error vb-delete "invalid --unit '0' (an element is at least 1 byte)"
}

@test "stream: --unit with input that is not whole elements" {
	make_records in 10
	printf abc >> in
	# a regular file: found before anything is written
	run -1 --separate-stderr vb-delete --unit 16 - 0 1 < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	printf '0 1\n' > r
	run -1 --separate-stderr vb-delete --unit 16 --ranges r - < in
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	# a pipe: found at its end; what was written stays written
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 - 0 1 > out'
	assert_equal "$stderr" 'vb-delete: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	cmp out <(without in 0 1)
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 --ranges r - > out'
	assert_equal "$stderr" 'vb-delete: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	# it takes precedence over a range the short input cannot hold
	run -1 --separate-stderr bash -c 'cat in | vb-delete --unit 16 - 0 11'
	assert_equal "$stderr" 'vb-delete: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	run -1 --separate-stderr bash -c 'printf "" | vb-delete --unit 16 - 0 1'
	assert_equal "$stderr" 'vb-delete: -: element range 0+1 is beyond the end (length 0 elements)'
	run -0 bash -c 'printf "" | vb-delete --unit 16 - 0 0'
	assert_output ''
}

@test "stream: --unit; a closed output pipe is quiet, a stalled input does not hold an early failure" {
	make_records big 65536
	run -0 --separate-stderr bash -c 'set -o pipefail; { cat big || :; } | vb-delete --unit 16 - 0 1 | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -1 bash -c 'cat big | vb-delete --unit 16 - 0 1 > /dev/full'
	assert_output 'vb-delete: write error: No space left on device'
	# an early failure is reported at once, not when the input ends: a
	# FIFO held open here never ends
	mkfifo fifo
	exec 7<>fifo
	SECONDS=0
	run -1 --separate-stderr timeout 20 env VB_HOLD_MAX=1 vb-delete --unit 16 - end-1 1 < fifo
	exec 7>&-
	assert_output ''
	assert_equal "$stderr" 'vb-delete: -: a position 16 bytes before the end of a pipe needs that much memory (limit 1); give a file instead of a pipe, or raise VB_HOLD_MAX'
	((SECONDS < 10))
}

@test "--help lists --unit" {
	run -0 vb-delete --help
	assert_output --regexp '      --unit=N +OFFSET and LENGTH \(and --ranges\) count'
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams, read-only)

@test "ulimit -v: stream mode and a store larger than a 64 MiB memory limit" {
	skip_under_sanitizer
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; head -c 200M /dev/zero | vb-delete - 100 1M | wc -c"
	assert_output $((199 * 1024 * 1024))
	make_store s.vb hello
	head -c 200M /dev/zero | vb-insert s.vb 2
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-delete s.vb 1 100M"
	assert_equal "$(vb-cat s.vb | wc -c)" $((100 * 1024 * 1024 + 5))
	before=$(sum_of s.vb)
	run -1 bash -c "ulimit -v $MEM_LIMIT_KB; vb-delete --cache 1G s.vb 0 1"
	assert_output --regexp '^vb-delete: s\.vb: .*Cannot allocate memory$'
	assert_same_sum s.vb "$before"
}

@test "ulimit -n: too many open files: exit 1, the file named, the store unchanged" {
	make_base base 1000
	vb-insert -b base b.vb 0 --text x
	before=$(sum_of b.vb)
	run -1 nofile 4 'vb-delete b.vb 0 1'
	assert_output "vb-delete: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	printf '0 1\n' > r
	run -1 nofile 4 'vb-delete --ranges r b.vb'
	assert_output "vb-delete: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	assert_same_sum b.vb "$before"
}

@test "a closed stdin or stdout: exit 1, the store unchanged" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 bash -c 'vb-delete --ranges - s.vb <&-'
	assert_output --regexp '^vb-delete: -: .*Bad file descriptor$'
	assert_same_sum s.vb "$before"
	run -0 bash -c 'vb-delete s.vb 0 1 >&-'
	assert_output ''
	assert_equal "$(vb-cat s.vb)" ello
	run -1 bash -c 'printf abc | vb-delete - 0 1 >&-'
	assert_output 'vb-delete: write error: Bad file descriptor'
	run -1 bash -c 'vb-delete --help >&-'
	assert_output 'vb-delete: write error: Bad file descriptor'
}

@test "a read-only file system: exit 1, a clear error, the store unchanged" {
	mount_tmpfs 2m
	make_store mnt/s.vb hello
	before=$(sum_of mnt/s.vb)
	remount_ro
	run -1 vb-delete mnt/s.vb 0 1
	assert_output 'vb-delete: mnt/s.vb: cannot open: Read-only file system'
	assert_same_sum mnt/s.vb "$before"
	run -0 vb-cat mnt/s.vb
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

# deletes_as_sed STORE RANGE...: on a copy of STORE each --lines RANGE
# leaves what sed 'A,Bd' leaves of its content, as one new version.
deletes_as_sed() {
	local store=$1 r v
	shift
	vb-cat "$store" > flat
	for r in "$@"; do
		cp "$store" try.vb
		v=$(vb-history -H -n 1 try.vb | awk '{print $1}')
		vb-delete --lines "$r" try.vb
		vb-cat try.vb > got
		sed "$(sed_lines "$r")d" flat > want
		cmp got want || fail "--lines $r: not as sed '$(sed_lines "$r")d'"
		assert_equal "$(vb-history -H -n 1 try.vb | awk '{print $1}')" "$((v + 1))"
	done
}

@test "--lines A-B deletes lines A to B with their ends, as sed 'A,Bd'" {
	printf 'one\ntwo\nthree\nfour\nfive\n' > t
	printf 'one\ntwo\n\nfour\nfive' > u
	printf 'a\r\nb\r\n\r\nd\r' > c
	for f in t u c; do
		vb-insert --create "$f.vb" 0 "$f"
		n=$(sed -n '$=' "$f")
		deletes_as_sed "$f.vb" 1 2 "$n" 2-3 1-"$n" 2- "$n"- -1 -2 -"$n" "$((n - 1))"-"$n" 3-3
	done
	run -0 vb-history -H -n 1 -o u.vb
}

@test "--lines: a base larger than 1 MiB (read) and a store made with edits (counted), as sed" {
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	deletes_as_sed b.vb 1 300000 123456-234567 299999- -7 150000
	vb-insert b.vb 700000 --text $'x\ny'
	vb-delete b.vb 100 3
	vb-insert --create s.vb 0 big
	vb-insert s.vb 1000 --text $'\n\n'
	vb-delete s.vb 20000 7
	vb-insert s.vb end --text 'tail'
	for f in b s; do
		n=$(vb-cat "$f.vb" | sed -n '$=')
		deletes_as_sed "$f.vb" 1 "$n" 123456-234567 299999- "$((n - 1))"-"$n" -7 150000
	done
}

@test "--lines A-B,C-D: one version, every range in the version before's lines" {
	seq 1 20 > f
	vb-insert --create s.vb 0 f
	run -0 vb-delete --lines 1-3,10-12,19- -m 'three cuts' s.vb
	run -0 vb-cat s.vb
	assert_output "$(sed '1,3d; 10,12d; 19,$d' f)"
	run -0 vb-history -H -n 1 s.vb
	assert_output --regexp ' delete\*3 .* three cuts$'
	# unsorted, overlapping and repeated ranges merge
	vb-insert --create o.vb 0 f
	run -0 vb-delete --lines 8-9,2-4,3-5,8,20 o.vb
	run -0 vb-cat o.vb
	assert_output "$(sed '2,5d; 8,9d; 20d' f)"
	run -0 vb-history -n 1 -H o.vb
	assert_output --regexp ' delete\*3 '
}

@test "--lines -V N: the lines of version N, carried through the edits since" {
	printf 'a\nb\nc\nd\n' > f
	vb-insert --create s.vb 0 f
	vb-insert s.vb 0 --text $'new\n'
	vb-insert s.vb L3 --text 'X'
	vb-insert s.vb L4+1 --text 'Y'
	run -0 vb-cat s.vb
	assert_output $'new\na\nXb\ncY\nd'
	# lines 2-3 of version 1 are "b\nc\n": the X inserted at their start
	# since stays, the Y inserted inside them goes with them
	run -0 vb-delete --lines 2-3 -V 1 s.vb
	run -0 vb-cat s.vb
	assert_output $'new\na\nXd'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"at_version":1'
	before=$(sum_of s.vb)
	run -1 vb-delete --lines 5 -V 1 s.vb
	assert_output 'vb-delete: s.vb: line 5 is beyond the end (the content has 4 lines)'
	assert_same_sum s.vb "$before"
}

@test "--lines errors: a line beyond the end is exit 1 naming it and the count; the rest exit 2; unchanged" {
	printf 'one\ntwo\nthree' > f
	vb-insert --create s.vb 0 f
	before=$(sum_of s.vb)
	run -1 vb-delete --lines 4 s.vb
	assert_output 'vb-delete: s.vb: line 4 is beyond the end (the content has 3 lines)'
	run -1 vb-delete --lines 2-4 s.vb
	assert_output 'vb-delete: s.vb: line 4 is beyond the end (the content has 3 lines)'
	run -1 vb-delete --lines 4- s.vb
	assert_output 'vb-delete: s.vb: line 4 is beyond the end (the content has 3 lines)'
	run -1 vb-delete --lines 1,7-9 s.vb
	assert_output 'vb-delete: s.vb: line 7 is beyond the end (the content has 3 lines)'
	run -1 vb-delete --lines -18446744073709551614 s.vb
	assert_output 'vb-delete: s.vb: line 18446744073709551614 is beyond the end (the content has 3 lines)'
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	bbefore=$(sum_of b.vb)
	run -1 vb-delete --lines 299990-300001 b.vb
	assert_output 'vb-delete: b.vb: line 300001 is beyond the end (the content has 300000 lines)'
	assert_same_sum b.vb "$bbefore"
	vb-insert --create z.vb 0 --text ''
	run -1 vb-delete --lines 1- z.vb
	assert_output 'vb-delete: z.vb: line 1 is beyond the end (the content has 0 lines)'
	run vb-delete --lines 3-2 s.vb
	assert_usage_error vb-delete "--lines: line range '3-2' starts after its end"
	run vb-delete --lines 1,3-2 s.vb
	assert_usage_error vb-delete "--lines: line range '3-2' starts after its end"
	run vb-delete --lines 0 s.vb
	assert_usage_error vb-delete "--lines: invalid line range '0' (lines count from 1)"
	run vb-delete --lines 1, s.vb
	assert_usage_error vb-delete '--lines: empty line range'
	run vb-delete --lines '' s.vb
	assert_usage_error vb-delete '--lines: empty line range'
	run vb-delete --lines 1-2-3 s.vb
	assert_usage_error vb-delete "--lines: invalid line range '1-2-3' (expected A-B, A-, -B or A)"
	run vb-delete --lines 1 --ranges r s.vb
	assert_usage_error vb-delete '--lines and --ranges cannot be used together'
	run vb-delete --lines 1 --unit 1 s.vb
	assert_usage_error vb-delete '--lines counts lines, not elements: it cannot be used with --unit'
	run vb-delete --lines 1 s.vb 0 1
	assert_usage_error vb-delete "--lines names what to delete: give only STORE ('0' is extra)"
	run vb-delete --lines 1 -
	assert_usage_error vb-delete "--lines needs a store: a stream ('-') has no lines"
	run vb-delete --lines 1 -V 9 s.vb
	assert_output 'vb-delete: s.vb: version 9 does not exist (the newest is 1)'
	assert_failure 1
	assert_same_sum s.vb "$before"
}

@test "L<N> as OFFSET and in --ranges lines, as sed; errors exit 1 (L0, --unit: 2) and change nothing" {
	printf 'one\ntwo\nthree\nfour' > f
	vb-insert --create s.vb 0 f
	run -0 vb-delete s.vb L2 4
	run -0 vb-cat s.vb
	assert_output "$(sed 2d f)"
	printf 'L1 2\n# the first byte of line 3 and the one before it\nL3-1 2\nL2+0K 0\n' > r
	vb-insert --create t.vb 0 f
	run -0 vb-delete --ranges r t.vb
	run -0 vb-cat t.vb
	assert_output $'e\ntwohree\nfour'
	# the large base, read
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	run -0 vb-delete b.vb L299999 "$(tail -n 2 big | wc -c)"
	vb-cat b.vb > got
	head -n 299998 big > want
	cmp got want
	before=$(sum_of s.vb)
	run -1 vb-delete s.vb L5 1
	assert_output 'vb-delete: s.vb: offset L5: line 5 is beyond the end (the content has 3 lines)'
	run -1 vb-delete s.vb L3 6
	assert_output 'vb-delete: s.vb: range 10+6 is beyond the end (length 14)'
	run -1 vb-delete s.vb L2-5 1
	assert_output 'vb-delete: s.vb: offset L2-5 is before the start (line 2 starts at 4)'
	printf '0 1\nL9 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output 'vb-delete: bad:2: offset L9: line 9 is beyond the end (the content has 3 lines)'
	printf 'L0 1\n' > bad
	run -1 vb-delete --ranges bad s.vb
	assert_output "vb-delete: bad:1: invalid offset 'L0' (lines count from 1)"
	printf 'L2 1\n' > bad
	run -1 vb-delete --unit 2 --ranges bad s.vb
	assert_output "vb-delete: bad:1: offset 'L2' is a line address, which does not count elements (the unit is 2 bytes)"
	run vb-delete s.vb L0 1
	assert_usage_error vb-delete "invalid offset 'L0' (lines count from 1)"
	run vb-delete --unit 2 s.vb L1 1
	assert_usage_error vb-delete "offset 'L1' is a line address, which does not count elements (the unit is 2 bytes)"
	assert_same_sum s.vb "$before"
	# -V: the line in that version
	vb-insert s.vb 0 --text $'new\n'
	run -0 vb-delete -V 2 s.vb L2 6
	run -0 vb-cat s.vb
	assert_output $'new\none\nfour'
}

@test "L<N> on a stream ('-') is refused before anything is read" {
	printf 'L2 1\n' > r
	run vb-delete - L1 1 < /dev/null
	assert_usage_error vb-delete "offset 'L1' is a line address, which a stream ('-') does not have (edit a store instead)"
	run -1 --separate-stderr bash -c 'printf "a\nb\n" | vb-delete --ranges r -'
	assert_output ''
	assert_equal "$stderr" "vb-delete: r:1: offset L2 is a line address, which a stream ('-') does not have (edit a store instead)"
}

@test "a FIFO as the store: refused at once, exit 1" {
	mkfifo f.vb
	run timeout 10 vb-delete f.vb 0 1
	assert_failure 1
	assert_output 'vb-delete: f.vb: is not a regular file (a FIFO)'
}

# ------------------------------------------------- --ranges-format (grep -b)

@test "--ranges-format=grep: grep -b output deletes the matched lines, ':' in them and a CRLF line" {
	printf 'keep 1\nkey: value\nkeep 2\nkey:a:b::\r\nkeep 3\nkey:\n' > base
	vb-insert --create s.vb 0 base
	grep -b 'key:' base > g
	run -0 cat g
	assert_output $'7:key: value\n25:key:a:b::\r\n43:key:'
	run -0 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output ''
	run -0 vb-cat s.vb
	assert_output "$(grep -v 'key:' base)"
	# one version, one operation per line, from the highest offset down
	run -0 vb-history --ops -n 1 --no-header s.vb
	assert_line --index 1 '        delete 43 5'
	assert_line --index 2 '        delete 25 11'
	assert_line --index 3 '        delete 7 11'
}

@test "--ranges-format=grep: a last line without a newline is deleted alone; from stdin too" {
	printf 'a\nkey 1\nb\nkey 2' > base
	vb-insert --create s.vb 0 base
	grep -b key base | vb-delete --ranges-format=grep --ranges - s.vb
	run -0 vb-cat s.vb
	assert_output $'a\nb'
	[ "$(vb-cat s.vb | wc -c)" -eq 4 ]
}

@test "--ranges-format=grep-o: grep -b -o output deletes exactly the matches" {
	printf 'id=17 x:y id=4\nnone\nid=123:\n' > base
	vb-insert --create s.vb 0 base
	grep -b -o 'id=[0-9]*' base > g
	run -0 cat g
	assert_output $'0:id=17\n10:id=4\n20:id=123'
	run -0 vb-delete --ranges-format grep-o --ranges g s.vb
	run -0 vb-cat s.vb
	assert_output "$(sed 's/id=[0-9]*//g' base)"
	# a match holding ':' counts every byte after the offset's ':'
	printf 'a:b:c\n' > base2
	vb-insert --create t.vb 0 base2
	grep -b -o ':b:' base2 > g2
	run -0 vb-delete --ranges-format=grep-o --ranges g2 t.vb
	run -0 vb-cat t.vb
	assert_output 'ac'
}

@test "--ranges-format: binary lines (NUL, bytes over 0x7f, CR) and a line longer than 4096 bytes" {
	{ printf 'x\0y\377:\r\n'; printf 'plain\n'; head -c 100000 /dev/zero | tr '\0' 'k'; printf '\n'; printf 'end\n'; } > base
	vb-insert --create s.vb 0 base
	LC_ALL=C grep -a -b -e $'\377' -e kkk base > g
	[ "$(wc -l < g)" -eq 2 ]
	run -0 vb-delete --ranges-format=grep --ranges g s.vb
	run -0 vb-cat s.vb
	assert_output $'plain\nend'
	# the same with grep -o on a copy: the NUL-holding match
	vb-insert --create t.vb 0 base
	LC_ALL=C grep -a -b -o $'y\377:' base > g2
	run -0 vb-delete --ranges-format=grep-o --ranges g2 t.vb
	[ "$(vb-cat t.vb | head -c 4 | od -An -c | tr -s ' ')" = ' x \0 \r \n' ]
}

@test "--ranges-format=grep on a stream: a file as stdin knows its last line; vb-frame --index --keep stays the default format" {
	printf 'a\nkey 1\nb\nkey 2' > base
	grep -b key base > g
	run -0 --separate-stderr vb-delete --ranges-format=grep --ranges g - < base
	assert_output $'a\nb'
	[ "$(vb-delete --ranges-format=grep --ranges g - < base | wc -c)" -eq 4 ]
	# a pipe's length is known only at its end: the last line's '\n' is missing
	run -1 --separate-stderr bash -c 'cat base | vb-delete --ranges-format=grep --ranges g -'
	assert_equal "$stderr" 'vb-delete: g:2: range 10+6 is beyond the end (length 15)'
	# vb-frame --index --keep: OFFSET<tab>LENGTH, the default format
	vb-insert --create s.vb 0 base
	vb-frame --index --keep -n 2,4 s.vb > idx
	run -0 cat idx
	assert_output $'2\t6\n10\t5'
	run -0 vb-delete --ranges idx s.vb
	run -0 vb-cat s.vb
	assert_output $'a\nb'
	vb-insert --create t.vb 0 base
	run -0 vb-delete --ranges-format=offset-length --ranges idx t.vb
	run -0 vb-cat t.vb
	assert_output $'a\nb'
}

@test "--ranges-format: a line grep -b did not print as a match fails with FILE:LINE, exit 1, store unchanged" {
	printf 'one\ntwo\nthree\n' > base
	vb-insert --create s.vb 0 base
	before="$(sum_of s.vb)"
	match="expected 'OFFSET:TEXT' as grep -b prints a match (one file, or grep -h; no -n, -c or -l)"
	# grep -H (a second file makes grep name the file)
	grep -b -H two base > g
	run -1 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output "vb-delete: g:1: $match"
	# context lines and their separator
	printf 'x\ntwo\ny\nz\nw\nthree\n' > base2
	grep -b -A1 -e two -e three base2 > g
	run -1 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output "vb-delete: g:2: expected 'OFFSET:TEXT' as grep -b prints a match; 'OFFSET-TEXT' is a context line (grep -A, -B or -C)"
	printf '4:two\n--\n' > g
	run -1 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output "vb-delete: g:2: expected 'OFFSET:TEXT' as grep -b prints a match; '--' separates context lines (grep -A, -B or -C)"
	# an empty line, a count (grep -c), the default format's line
	printf '4:two\n\n' > g
	run -1 vb-delete --ranges-format=grep-o --ranges g s.vb
	assert_output "vb-delete: g:2: $match"
	grep -b -c two base > g
	run -1 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output "vb-delete: g:1: $match"
	printf '4 3\n' > g
	run -1 vb-delete --ranges-format=grep-o --ranges g s.vb
	assert_output "vb-delete: g:1: $match"
	# an offset past 2^64-1, a range past the end
	printf '18446744073709551616:x\n' > g
	run -1 vb-delete --ranges-format=grep-o --ranges g s.vb
	assert_output "vb-delete: g:1: offset '18446744073709551616:x' is too large (at most 18446744073709551615)"
	printf '4:two\n12:three\n' > g
	run -1 vb-delete --ranges-format=grep --ranges g s.vb
	assert_output "vb-delete: g:2: range 12+6 is beyond the end (length 14)"
	# and the default format refuses grep output
	grep -b two base > g
	run -1 vb-delete --ranges g s.vb
	assert_output "vb-delete: g:1: expected 'OFFSET LENGTH'"
	assert_same_sum s.vb "$before"
}

@test "--ranges-format: usage errors" {
	make_store s.vb abc
	before="$(sum_of s.vb)"
	printf '0:a\n' > g
	run vb-delete --ranges-format=grep s.vb 0 1
	assert_usage_error vb-delete "--ranges-format says how --ranges FILE reads: give --ranges FILE"
	run vb-delete --ranges-format=csv --ranges g s.vb
	assert_usage_error vb-delete "invalid --ranges-format 'csv': expected offset-length, grep or grep-o"
	run vb-delete --unit 2 --ranges-format=grep-o --ranges g s.vb
	assert_usage_error vb-delete "--ranges-format=grep-o reads byte offsets: it cannot be used with --unit"
	assert_same_sum s.vb "$before"
	run -0 vb-delete --ranges-format=grep-o --ranges g s.vb
	run -0 vb-cat s.vb
	assert_output bc
}

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
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-delete --version
	assert_output --regexp '^vb-delete \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

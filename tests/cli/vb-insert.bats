#!/usr/bin/env bats
# vb-insert: success paths, every error path, and the store unchanged after
# a failure.

load test_helper

# hex of a file's bytes, without spaces
hex_of() {
	od -An -v -tx1 "$1" | tr -d ' \n'
}

# ------------------------------------------------------------ creating

@test "insert text into a store created from a base file" {
	make_base base.txt 1000
	run vb-insert --base base.txt s.vb 0 --text 'HEADER
'
	assert_success
	assert_output ''
	run vb-cat s.vb
	assert_success
	assert_line --index 0 'HEADER'
	assert_line --index 1 '1'
	[ "$(vb-cat s.vb | wc -l)" -eq 1001 ]
}

@test "--base: version 0 is the base file, referenced in place, not copied" {
	head -c 1M /dev/urandom > base
	run -0 vb-insert --base base s.vb 10 --text XY
	vb-cat -V 0 s.vb > v0
	cmp v0 base
	{ head -c 10 base; printf XY; tail -c +11 base; } > expect
	vb-cat s.vb > v1
	cmp v1 expect
	# the store holds the two new bytes, not a megabyte of base
	[ "$(stat -c %s s.vb)" -lt 65536 ]
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[0]}" '^ +1  .*  insert +10 +2 +1048578$'
	assert_regex "${lines[1]}" '^ +0  .*  create +0 +1048576 +1048576$'
}

@test "-b is --base" {
	make_base base.txt 10
	run -0 vb-insert -b base.txt s.vb end --text 'x'
	vb-cat s.vb > out
	cmp out <(cat base.txt; printf x)
}

@test "--create makes a store whose version 0 is empty" {
	run -0 vb-insert --create s.vb 0 --text abc
	assert_output ''
	run -0 vb-cat s.vb
	assert_output 'abc'
	run -0 vb-cat -V 0 s.vb
	assert_output ''
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[1]}" '^ +0  .*  create +0 +0 +0$'
}

@test "-c is --create, and on an existing store it only inserts" {
	run -0 vb-insert -c s.vb 0 --text abc
	run -0 vb-insert -c s.vb end --text def
	run -0 vb-cat s.vb
	assert_output 'abcdef'
	[ "$(vb-history --no-header s.vb | wc -l)" -eq 3 ]
}

@test "a missing store without --create is an error and creates nothing" {
	run -1 vb-insert n.vb 0 --text x
	assert_output 'vb-insert: n.vb: no such store (use --create to make one)'
	assert_file_not_exists n.vb
	# not even a temporary file
	[ -z "$(ls -A)" ]
}

@test "--base on an existing store is an error and changes nothing" {
	make_base base.txt 10
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 vb-insert --base base.txt s.vb 0 --text x
	assert_output 'vb-insert: s.vb: store already exists; --base only applies when creating one'
	assert_same_sum s.vb "$before"
}

@test "--base with a missing or non-regular base file creates nothing" {
	run -1 vb-insert --base nosuch n.vb 0 --text x
	assert_output "vb-insert: n.vb: base file 'nosuch': No such file or directory"
	mkdir dir
	run -1 vb-insert --base dir n.vb 0 --text x
	assert_output "vb-insert: n.vb: base file 'dir' is not a regular file (a directory)"
	assert_file_not_exists n.vb
	[ "$(ls -A)" = dir ]
}

# ------------------------------------------------------------ where the bytes come from

@test "--text reaches the store verbatim, even with popt's '!#:+'" {
	make_store s.vb ''
	run -0 vb-insert s.vb 0 --text 'a!#:+b'
	run -0 vb-cat s.vb
	assert_output 'a!#:+b'
}

@test "--text with '!#:+' before the operands does not eat them" {
	make_store s.vb 'END'
	# popt would expand !#:+ into the next word (s.vb) and lose it
	run -0 vb-insert --text 'x!#:+y' s.vb 0
	run -0 vb-cat s.vb
	assert_output 'x!#:+yEND'
	# an operand after the text is still an operand (an input FILE here)
	before=$(sum_of s.vb)
	run vb-insert s.vb 0 --text 'x!#:+y' extra
	assert_usage_error vb-insert '--text cannot be used with input files'
	assert_same_sum s.vb "$before"
}

@test "--text keeps the protection byte 0x1d and '!' around it verbatim" {
	make_store s.vb ''
	run -0 vb-insert s.vb 0 --text $'\x1d!#:+\x1d\x1d!'
	vb-cat s.vb > out
	assert_equal "$(hex_of out)" '1d21233a2b1d1d21'
}

@test "--text takes values that look like options" {
	make_store s.vb ''
	run -0 vb-insert s.vb 0 --text -x
	run -0 vb-insert s.vb end --text=--foo
	run -0 vb-insert s.vb end -t ' -t'
	run -0 vb-cat s.vb
	assert_output -- '-x--foo -t'
}

@test "--hex: pairs with spaces, tabs, colons and newlines between them" {
	make_store s.vb ''
	run -0 vb-insert s.vb 0 --hex 'deadBEEF'
	run -0 vb-insert s.vb end --hex $'00 01\t02:03\n7f'
	run -0 vb-insert s.vb end -x 'ff'
	vb-cat s.vb > out
	assert_equal "$(hex_of out)" 'deadbeef000102037fff'
}

@test "a malformed --hex is a usage error and changes nothing" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run vb-insert s.vb 0 --hex abc
	assert_usage_error vb-insert "invalid --hex 'abc': expected pairs of hex digits at 'c'"
	run vb-insert s.vb 0 --hex zz
	assert_usage_error vb-insert "invalid --hex 'zz': expected pairs of hex digits at 'zz'"
	run vb-insert s.vb 0 --hex 0x41
	assert_usage_error vb-insert "invalid --hex '0x41': expected pairs of hex digits at '0x41'"
	run vb-insert s.vb 0 --hex 'a b'
	assert_usage_error vb-insert "invalid --hex 'a b': expected pairs of hex digits at 'a b'"
	assert_same_sum s.vb "$before"
}

@test "input FILEs are concatenated into one version" {
	make_store s.vb '[]'
	printf 'one ' > f1
	printf 'two ' > f2
	printf 'three' > f3
	run -0 vb-insert s.vb 1 f1 f2 f3
	run -0 vb-cat s.vb
	assert_output '[one two three]'
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  insert +1 +13 +15$'
}

@test "'-' among the FILEs reads stdin in its place" {
	make_store s.vb ''
	printf 'A' > f1
	printf 'C' > f3
	run -0 bash -c 'printf B | vb-insert s.vb 0 f1 - f3'
	run -0 vb-cat s.vb
	assert_output 'ABC'
}

@test "no FILE: the bytes come from stdin (a pipe or a file)" {
	make_store s.vb 'abcdef'
	run -0 bash -c 'printf XY | vb-insert s.vb 3'
	run -0 vb-cat s.vb
	assert_output 'abcXYdef'
	head -c 200000 /dev/urandom > in
	run -0 vb-insert s.vb end < in
	vb-cat -o 8 s.vb > out
	cmp out in
}

@test "inserting more than one data block from a file" {
	head -c 300000 /dev/urandom > in
	make_store s.vb 'ab'
	run -0 vb-insert s.vb 1 in
	{ printf a; cat in; printf b; } > expect
	vb-cat s.vb > out
	cmp out expect
	run -0 vb-history --verify s.vb
}

@test "empty edits still add a version" {
	make_store s.vb hello
	run -0 vb-insert s.vb 0 --text ''
	run -0 vb-insert s.vb 5 < /dev/null
	run -0 vb-insert s.vb 2 --hex ''
	run -0 vb-cat s.vb
	assert_output hello
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 5
	assert_regex "${lines[0]}" '^ +4  .*  insert +2 +0 +5$'
	assert_regex "${lines[1]}" '^ +3  .*  insert +5 +0 +5$'
	assert_regex "${lines[2]}" '^ +2  .*  insert +0 +0 +5$'
}

@test "--text or --hex with an input FILE is a usage error" {
	make_store s.vb hello
	printf x > f
	before=$(sum_of s.vb)
	run vb-insert s.vb 0 --text a f
	assert_usage_error vb-insert '--text cannot be used with input files'
	run vb-insert s.vb 0 --hex 41 f
	assert_usage_error vb-insert '--hex cannot be used with input files'
	run vb-insert s.vb 0 --text a --hex 41
	assert_usage_error vb-insert '--text and --hex cannot be used together'
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ offsets

@test "offsets: decimal, hex, end, end-N, and negative after '--'" {
	make_store s.vb 'abcdef'
	run -0 vb-insert s.vb 0x2 --text 1
	run -0 vb-insert s.vb end --text 2
	run -0 vb-insert s.vb end-1 --text 3
	run -0 vb-insert --text 4 -- s.vb -3
	run -0 vb-insert s.vb 0 --text 5
	run -0 vb-cat s.vb
	assert_output '5ab1cde4f32'
}

@test "offsets: K M (1024) and KB MB (1000) suffixes" {
	head -c 3M /dev/zero > base
	vb-insert --base base s.vb 0 --text ''
	for spec in 1K:1024 1KB:1000 2M:2097152 2MB:2000000 0x10:16 0X1f:31 \
		    1KiB:1024 end-1K:3144711 end:3145736; do
		run -0 vb-insert s.vb "${spec%%:*}" --text X
		run -0 vb-history --json -n 1 s.vb
		assert_output --partial "\"op\":\"insert\",\"offset\":${spec#*:},\"length\":1,"
	done
	# end-1K was resolved against the length at that moment (3 MiB + 7)
}

@test "offsets: G T (1024) and GB TB (1000) are beyond a small store" {
	make_store s.vb 'abc'
	before=$(sum_of s.vb)
	for spec in 1G:1073741824 1T:1099511627776 1GB:1000000000 1TB:1000000000000 \
		    18446744073709551615:18446744073709551615; do
		run -1 vb-insert s.vb "${spec%%:*}" --text X
		assert_output "vb-insert: s.vb: offset ${spec#*:} is beyond the end (length 3)"
	done
	assert_same_sum s.vb "$before"
}

@test "an offset beyond the end is an error, never clamped" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 7 --text x
	assert_output 'vb-insert: s.vb: offset 7 is beyond the end (length 6)'
	run -1 vb-insert s.vb end-7 --text x
	assert_output 'vb-insert: s.vb: offset end-7 is before the start (length 6)'
	run -1 vb-insert --text x -- s.vb -7
	assert_output 'vb-insert: s.vb: offset end-7 is before the start (length 6)'
	assert_same_sum s.vb "$before"
}

@test "malformed offsets are usage errors and change nothing" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run vb-insert s.vb -2 --text x
	assert_usage_error vb-insert "-2: unknown option (write negative offsets after '--')"
	run vb-insert s.vb 18446744073709551616 --text x
	assert_usage_error vb-insert "offset '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-insert s.vb 99999999999999999999 --text x
	assert_usage_error vb-insert "offset '99999999999999999999' is too large (the limit is 2^64-1)"
	run vb-insert s.vb 0x10000000000000000 --text x
	assert_usage_error vb-insert "offset '0x10000000000000000' is too large (the limit is 2^64-1)"
	run vb-insert s.vb 16E --text x
	assert_usage_error vb-insert "invalid offset '16E' (unknown suffix 'E')"
	run vb-insert s.vb 1.5K --text x
	assert_usage_error vb-insert "invalid offset '1.5K' (unknown suffix '.5K')"
	run vb-insert s.vb abc --text x
	assert_usage_error vb-insert "invalid offset 'abc'"
	run vb-insert s.vb 0x --text x
	assert_usage_error vb-insert "invalid offset '0x'"
	run vb-insert s.vb +1 --text x
	assert_usage_error vb-insert "invalid offset '+1'"
	run vb-insert s.vb end-x --text x
	assert_usage_error vb-insert "invalid offset 'end-x'"
	run vb-insert s.vb '' --text x
	assert_usage_error vb-insert 'empty offset'
	assert_same_sum s.vb "$before"
}

@test "file names in messages are quoted when they need it; the store unchanged" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 0 $'no\nfile' 'plain-missing'
	assert_output "vb-insert: 'no'\$'\\n''file': No such file or directory"
	run -1 vb-insert s.vb 0 'plain-missing'
	assert_output 'vb-insert: plain-missing: No such file or directory'
	run -1 vb-insert s.vb 0 s.vb
	assert_output "vb-insert: s.vb: cannot insert the store into itself (input 's.vb')"
	run vb-insert $'s\n.vb'
	assert_usage_error vb-insert "missing OFFSET after 's'\$'\\n''.vb'"
	run vb-insert s.vb
	assert_usage_error vb-insert "missing OFFSET after 's.vb'"
	assert_same_sum s.vb "$before"
	run -1 vb-insert $'new\n.vb' 0 --text x
	assert_output "vb-insert: 'new'\$'\\n''.vb': no such store (use --create to make one)"
	run -0 vb-insert -c $'new\n.vb' 0 --text x
	run -0 vb-cat $'new\n.vb'
	assert_output x
}

@test "size suffixes: kB is 1000 as coreutils has it, KiB to TiB are powers of 1024" {
	head -c 3000 /dev/zero | tr '\0' . > base
	vb-insert --base base s.vb 1kB --text A
	vb-insert s.vb 1KiB --text B
	vb-insert --cache 1MiB s.vb end-2kB --text C
	run -0 vb-cat s.vb
	assert_equal "$(printf '%s' "$output" | grep -ob '[ABC]' | paste -sd ' ')" '1000:A 1002:C 1025:B'
	# the progress line's own units read back as they were printed
	run -0 vb-cat -o 0x1kB -n 1kB s.vb
	assert_equal "${#output}" 1000
	run -1 vb-cat -o 1GiB s.vb
	assert_output 'vb-cat: s.vb: offset 1073741824 is beyond the end (length 3003)'
	run -1 vb-cat -o 2TiB s.vb
	assert_output 'vb-cat: s.vb: offset 2199023255552 is beyond the end (length 3003)'
	run -1 vb-cat -o 3kB -n 1kB s.vb
	assert_output 'vb-cat: s.vb: range 3000+1000 is beyond the end (length 3003)'
}

@test "ambiguous size suffixes are usage errors that list the accepted ones, and change nothing" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	accepted='use K k KiB M MiB G GiB T TiB for powers of 1024, kB KB MB GB TB for powers of 1000'
	for suffix in kb Kb KIB kiB mb m g t gb Tb mib b B; do
		run vb-insert s.vb "1$suffix" --text x
		assert_usage_error vb-insert "invalid offset '1$suffix' (ambiguous suffix '$suffix'; $accepted)"
	done
	run vb-insert s.vb 0 --replace 1kb --text x
	assert_usage_error vb-insert "invalid length '1kb' (ambiguous suffix 'kb'; $accepted)"
	run vb-insert --cache 16mb s.vb 0 --text x
	assert_usage_error vb-insert "invalid --cache '16mb' (ambiguous suffix 'mb'; $accepted)"
	run vb-insert --unit 1kb s.vb 0 --text x
	assert_usage_error vb-insert "invalid --unit '1kb' (ambiguous suffix 'kb'; $accepted)"
	assert_same_sum s.vb "$before"
	# one that is no size unit at all stays "unknown"
	run vb-insert s.vb 1E --text x
	assert_usage_error vb-insert "invalid offset '1E' (unknown suffix 'E')"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ --replace

@test "--replace LEN replaces in one operation" {
	make_store s.vb 'hello world'
	run -0 vb-insert s.vb 6 --replace 5 --text there
	run -0 vb-cat s.vb
	assert_output 'hello there'
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  replace +6 +5 +11$'
	run -0 vb-history --json --ops -n 1 s.vb
	assert_output --partial '"ops":1,'
	assert_output --partial '"operations":[{"op":"replace","offset":6,"length":5,"deleted":5}]'
}

@test "--replace with input files, a different length, and at the end" {
	make_store s.vb 'abcdef'
	printf '12345' > f
	run -0 vb-insert -r 2 s.vb 1 f
	run -0 vb-cat s.vb
	assert_output 'a12345def'
	run -0 vb-insert s.vb end-3 --replace 3 --text ''
	run -0 vb-cat s.vb
	assert_output 'a12345'
	run -0 vb-insert s.vb end --replace 0 --text Z
	run -0 vb-cat s.vb
	assert_output 'a12345Z'
}

@test "--replace beyond the end is an error and changes nothing" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 3 --replace 4 --text x
	assert_output 'vb-insert: s.vb: cannot replace 4 bytes at offset 3: the content ends at 6'
	printf x > f
	run -1 vb-insert s.vb 3 --replace 4 f
	assert_output 'vb-insert: s.vb: cannot replace 4 bytes at offset 3: the content ends at 6'
	run vb-insert s.vb 3 --replace -1 --text x
	assert_usage_error vb-insert "invalid length '-1' (a length cannot be negative)"
	run vb-insert s.vb 3 --replace x --text x
	assert_usage_error vb-insert "invalid length 'x'"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ --if-version

@test "--if-version V: the insert goes ahead only when the head is V; else exit 3, unchanged" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -3 vb-insert --if-version 0 s.vb 0 --text x
	assert_output 'vb-insert: s.vb: the newest version is 1, not 0 (--if-version)'
	run -3 vb-insert --if-version 2 s.vb 0 --replace 1 --text x
	assert_output 'vb-insert: s.vb: the newest version is 1, not 2 (--if-version)'
	printf 'abc' > f
	run -3 vb-insert --if-version 18446744073709551615 s.vb 0 f
	assert_output 'vb-insert: s.vb: the newest version is 1, not 18446744073709551615 (--if-version)'
	run -3 bash -c 'printf abc | vb-insert --if-version 7 s.vb 0'
	assert_output 'vb-insert: s.vb: the newest version is 1, not 7 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-insert --if-version 1 s.vb 0 --text '>'
	# first writer wins: the same V again is stale
	before=$(sum_of s.vb)
	run -3 vb-insert --if-version 1 s.vb end --text '<'
	assert_output 'vb-insert: s.vb: the newest version is 2, not 1 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-insert --if-version=0x2 s.vb end --text '<'
	run -0 vb-cat s.vb
	assert_output '>hello<'
}

@test "--if-version is checked under the write lock: a writer that waited sees the newer head" {
	make_store s.vb hello
	hold_lock s.vb
	vb-insert --if-version 1 --wait 20 s.vb end --text ' late' > waiter.out 2>&1 3>&- 8>&- &
	waiter=$!
	sleep 0.2
	# the holder adds version 2 while the waiter waits for the lock
	release_lock 'first '
	status=0
	wait "$waiter" || status=$?
	assert_equal "$status" 3
	assert_equal "$(cat waiter.out)" 'vb-insert: s.vb: the newest version is 2, not 1 (--if-version)'
	run -0 vb-cat s.vb
	assert_output 'first hello'
}

@test "--if-version when creating: the new store is version 0" {
	run -0 vb-insert -c --if-version 0 s.vb 0 --text abc
	run -0 vb-cat s.vb
	assert_output abc
	run -3 vb-insert -c --if-version 1 n.vb 0 --text abc
	assert_output 'vb-insert: n.vb: the newest version is 0, not 1 (--if-version)'
	make_base base.txt 3
	run -3 vb-insert --base base.txt --if-version 5 b.vb 0 --text abc
	assert_output 'vb-insert: b.vb: the newest version is 0, not 5 (--if-version)'
	# nothing created, not even a temporary file
	assert_equal "$(ls -A | sort | tr '\n' ' ')" 'base.txt s.vb '
}

@test "a malformed --if-version is a usage error, before any store is opened or created" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run vb-insert --if-version x s.vb 0 --text y
	assert_usage_error vb-insert "invalid version 'x'"
	run vb-insert --if-version=-1 s.vb 0 --text y
	assert_usage_error vb-insert "invalid version '-1' (a version cannot be negative)"
	run vb-insert --if-version 18446744073709551616 s.vb 0 --text y
	assert_usage_error vb-insert "version '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-insert --if-version '' s.vb 0 --text y
	assert_usage_error vb-insert 'empty version'
	assert_same_sum s.vb "$before"
	mkdir d
	cd d
	run vb-insert --if-version x n.vb 0 --text y
	assert_usage_error vb-insert "invalid version 'x'"
	run vb-insert -c --if-version x n.vb 0 --text y
	assert_usage_error vb-insert "invalid version 'x'"
	[ -z "$(ls -A)" ]
}

# ------------------------------------------------------------ --at-version

@test "-V V: an offset in version V's content lands next to the same bytes" {
	make_store s.vb abcdefgh
	vb-insert s.vb 0 --text XY
	vb-delete s.vb 5 2
	run -0 vb-cat s.vb
	assert_output XYabcfgh
	# before 'g' of version 1
	run -0 vb-insert -V 1 s.vb 6 --text '|'
	run -0 vb-cat s.vb
	assert_output 'XYabcf|gh'
	# 'd' of version 1 is gone: the insert goes where it was
	run -0 vb-insert --at-version 1 s.vb 3 --text '#'
	run -0 vb-cat s.vb
	assert_output 'XYabc#f|gh'
	# end and end-N are version 1's
	run -0 vb-insert --at-version=1 s.vb end-1 --text '('
	run -0 vb-insert -V 1 s.vb end --text ')'
	run -0 vb-cat s.vb
	assert_output 'XYabc#f|g(h)'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"insert","offset":11,"length":1,'
	assert_output --partial '"at_version":1,'
	run -0 vb-history --verify s.vb
}

@test "-V head~N: an offset in the content N versions before the newest" {
	make_store s.vb abcdefgh
	vb-insert s.vb 0 --text XY
	vb-delete s.vb 5 2
	before=$(sum_of s.vb)
	run -1 vb-insert -V head~4 s.vb 0 --text x
	assert_output 'vb-insert: s.vb: version head~4 does not exist (the newest is 3)'
	run vb-insert -V head~ s.vb 0 --text x
	assert_usage_error vb-insert "invalid version 'head~' (expected N, head or head~N)"
	run vb-insert --if-version head s.vb 0 --text x
	assert_usage_error vb-insert "invalid --if-version 'head' (a version number, not head or head~N)"
	assert_same_sum s.vb "$before"
	# before 'g' of version 1
	run -0 vb-insert -V head~2 s.vb 6 --text '|'
	run -0 vb-cat s.vb
	assert_output 'XYabcf|gh'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"at_version":1,'
	# head is the newest: the same as no -V
	run -0 vb-insert -V head s.vb end --text '!'
	run -0 vb-cat s.vb
	assert_output 'XYabcf|gh!'
	run -0 vb-history --json -n 1 s.vb
	refute_output --partial '"at_version"'
}

@test "-V V: bytes inserted at the same place after V stay before the new ones" {
	make_store s.vb abc
	vb-insert s.vb 1 --text X
	run -0 vb-insert -V 1 s.vb 1 --text Y
	run -0 vb-cat s.vb
	assert_output aXYbc
	# -V of the head is an ordinary insert, recorded without at_version
	run -0 vb-insert -V 3 s.vb 1 --text Z
	run -0 vb-cat s.vb
	assert_output aZXYbc
	run -0 vb-history --json -n 1 s.vb
	refute_output --partial at_version
	# version 0 of a new store is empty: its offset 0 is its end, and the
	# end stays the end
	run -0 vb-insert -V 0 s.vb 0 --text '<'
	run -0 vb-insert -V 0 s.vb end --text '>'
	run -0 vb-cat s.vb
	assert_output 'aZXYbc<>'
}

@test "-V V: a marker before every record of an old version, inserted in shuffled order" {
	printf 'one\ntwo\r\nthree\n\nfive\rsix\nseven' > F
	vb-insert --base F s.vb 0 --text ''
	vb-insert s.vb 4 --text $'new\n'
	vb-delete s.vb 0 2
	vb-insert s.vb end --text $'\neight'
	# version 1 is F; its records start where vb-frame says
	vb-frame -V 1 -i s.vb | cut -f 1 | shuf > starts
	[ "$(wc -l < starts)" -eq 7 ]
	while read -r at; do
		vb-insert -V 1 s.vb "$at" --text '>'
	done < starts
	vb-cat s.vb > out
	# 'on' of the first record was deleted: its marker goes where it was;
	# 'new\n' was inserted before 'two' later: the marker stays next to 't'
	cmp out <(printf '>e\nnew\n>two\r\n>three\n>\n>five\r>six\n>seven\neight')
	[ "$(vb-history --json -n 7 s.vb | grep -c '"at_version":1,')" -eq 7 ]
}

@test "-V V with --replace: the replaced span is carried, bytes deleted since stay deleted" {
	make_store s.vb 'hello world'
	vb-insert s.vb 0 --text '>> '
	run -0 vb-insert -V 1 s.vb 6 --replace 5 --text there
	run -0 vb-cat s.vb
	assert_output '>> hello there'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"replace","offset":9,"length":5,'
	make_store t.vb abcdefgh
	vb-delete t.vb 3 2
	# cdef of version 1, of which de are gone already
	run -0 vb-insert -V 1 t.vb 2 -r 4 --text X
	run -0 vb-cat t.vb
	assert_output abXgh
	# a span entirely deleted since: nothing more to replace
	run -0 vb-insert -V 1 t.vb 3 --replace 2 --text Y
	run -0 vb-cat t.vb
	assert_output abXYgh
}

@test "-V V with --replace: bytes inserted since V right after the span are kept" {
	# 'bc' of version 1; another writer then put X between c and d
	make_store s.vb abcdef
	vb-insert s.vb 3 --text X
	run -0 vb-insert -V 1 s.vb 1 --replace 2 --text YY
	run -0 vb-cat s.vb
	assert_output aYYXdef
	# and right before it
	make_store t.vb abcdef
	vb-insert t.vb 1 --text X
	run -0 vb-insert -V 1 t.vb 1 --replace 2 --text YY
	run -0 vb-cat t.vb
	assert_output aXYYdef
}

@test "-V errors: a version beyond the head, offsets beyond V's content; exit 1, unchanged" {
	make_store s.vb abc
	vb-insert s.vb end --text defgh
	before=$(sum_of s.vb)
	run -1 vb-insert -V 3 s.vb 0 --text x
	assert_output 'vb-insert: s.vb: version 3 does not exist (the newest is 2)'
	run -1 vb-insert -V 18446744073709551615 s.vb 0 --text x
	assert_output 'vb-insert: s.vb: version 18446744073709551615 does not exist (the newest is 2)'
	run -1 vb-insert -V 1 s.vb 5 --text x
	assert_output 'vb-insert: s.vb: offset 5 is beyond the end (length 3)'
	run -1 vb-insert -V 1 s.vb end-4 --text x
	assert_output 'vb-insert: s.vb: offset end-4 is before the start (length 3)'
	run -1 vb-insert -V 1 s.vb 2 --replace 2 --text x
	assert_output 'vb-insert: s.vb: cannot replace 2 bytes at offset 2: the content ends at 3'
	run -1 vb-insert -V 0 s.vb 1 --text x
	assert_output 'vb-insert: s.vb: offset 1 is beyond the end (length 0)'
	assert_same_sum s.vb "$before"
	run -1 vb-insert -c -V 1 n.vb 0 --text x
	assert_output 'vb-insert: n.vb: version 1 does not exist (the newest is 0)'
	assert_file_not_exists n.vb
}

@test "-V V across a revert to a version older than V fails, exit 1, unchanged" {
	make_store s.vb abc
	vb-insert s.vb end --text d
	vb-history --revert 1 s.vb
	vb-insert s.vb 0 --text X
	before=$(sum_of s.vb)
	run -1 vb-insert -V 2 s.vb 0 --text x
	assert_output 'vb-insert: s.vb: version 3 reverts to version 1, which does not have the offsets of version 2: they cannot be carried past that'
	run -1 vb-insert -V 2 s.vb 0 --replace 1 --text x
	assert_output 'vb-insert: s.vb: version 3 reverts to version 1, which does not have the offsets of version 2: they cannot be carried past that'
	assert_same_sum s.vb "$before"
	# from version 1 itself, or from the revert on, the offsets carry
	run -0 vb-insert -V 1 s.vb 1 --text '|'
	run -0 vb-insert -V 3 s.vb end --text '$'
	run -0 vb-cat s.vb
	assert_output 'Xa|bc$'
}

@test "a malformed -V is a usage error and changes nothing" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run vb-insert -V x s.vb 0 --text y
	assert_usage_error vb-insert "invalid version 'x'"
	run vb-insert --at-version=-1 s.vb 0 --text y
	assert_usage_error vb-insert "invalid version '-1' (a version cannot be negative)"
	run vb-insert -V 1 s.vb
	assert_usage_error vb-insert "missing OFFSET after 's.vb'"
	run vb-insert -V x -c n.vb 0 --text y
	assert_usage_error vb-insert "invalid version 'x'"
	assert_file_not_exists n.vb
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ anchors

@test "--anchor NAME marks the first inserted byte; @NAME finds it after edits around it" {
	make_store s.vb 'hello world'
	run -0 --separate-stderr vb-insert --anchor c s.vb 5 --text ','
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history -A s.vb
	assert_output $'c\t5\t2'
	vb-insert s.vb 0 --text '>> '
	vb-delete s.vb end-5 5
	vb-insert s.vb end --text there
	run -0 vb-cat s.vb
	assert_output '>> hello, there'
	run -0 vb-cat -o @c s.vb
	assert_output ', there'
	# an insert at an anchor goes before its byte, which keeps the anchor
	run -0 vb-insert s.vb @c --text '!'
	run -0 vb-insert s.vb @c+2 --text 'you '
	run -0 vb-insert s.vb @c-6 --text '<'
	run -0 vb-cat s.vb
	assert_output '>> <hello!, you there'
	run -0 vb-history -A s.vb
	assert_output $'c\t10\t2'
	run -0 vb-history --json -n 7 s.vb
	assert_line --index 6 --partial '"op":"insert","offset":5,"length":1,'
	assert_line --index 6 --partial '"anchors":[{"name":"c","offset":5}],'
}

@test "--anchor with input files, stdin, --replace and -V" {
	make_store s.vb 'hello world'
	printf 'FILE' > f
	run -0 vb-insert -a f s.vb 0 f
	run -0 bash -c 'printf PIPE | vb-insert -a p s.vb end'
	run -0 vb-insert -a r s.vb @f+10 --replace 5 --text there
	run -0 vb-cat s.vb
	assert_output 'FILEhello therePIPE'
	run -0 vb-cat -r @r:@p s.vb
	assert_output there
	run -0 vb-insert -V 1 -a v s.vb 5 --text ,
	run -0 vb-cat -o @v -n 2 s.vb
	assert_output ', '
	run -0 vb-history -A s.vb
	assert_output $'v\t9\t5\nr\t11\t4\np\t16\t3\nf\t0\t2'
	# an anchor named in OFFSET with -V is looked up in that version
	before=$(sum_of s.vb)
	run -1 vb-insert -V 1 s.vb @f --text x
	assert_output "vb-insert: s.vb: no anchor 'f' at version 1"
	run -0 vb-insert -V 2 s.vb @f+4 --text _
	run -0 vb-cat -n 6 s.vb
	assert_output FILE_h
	# the same name again moves the anchor
	run -0 vb-insert -a f s.vb end --text '.'
	run -0 vb-cat -o @f s.vb
	assert_output .
}

@test "anchor errors: unknown, beyond the end, before the start; exit 1, unchanged" {
	make_store s.vb abcdef
	vb-history --set-anchor a s.vb 2
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb @zz --text x
	assert_output "vb-insert: s.vb: no anchor 'zz' at version 2"
	run -1 vb-insert s.vb @A --text x
	assert_output "vb-insert: s.vb: no anchor 'A' at version 2"
	run -1 vb-insert s.vb @a+5 --text x
	assert_output 'vb-insert: s.vb: offset @a+5 is beyond the end (length 6)'
	run -1 vb-insert s.vb @a+1K --text x
	assert_output 'vb-insert: s.vb: offset @a+1024 is beyond the end (length 6)'
	run -1 vb-insert s.vb @a+18446744073709551615 --text x
	assert_output 'vb-insert: s.vb: offset @a+18446744073709551615 is beyond the end (length 6)'
	run -1 vb-insert s.vb @a-3 --text x
	assert_output 'vb-insert: s.vb: offset @a-3 is before the start (the anchor is at 2)'
	run -1 vb-insert s.vb @a+2 --replace 3 --text x
	assert_output 'vb-insert: s.vb: cannot replace 3 bytes at offset 4: the content ends at 6'
	assert_same_sum s.vb "$before"
	# the edges themselves are fine
	run -0 vb-insert s.vb @a+4 --text '$'
	run -0 vb-insert s.vb @a-2 --text '^'
	run -0 vb-cat s.vb
	assert_output '^abcdef$'
}

@test "anchor names and @ offsets: malformed ones are usage errors" {
	make_store s.vb abcdef
	before=$(sum_of s.vb)
	local name long
	long=$(head -c 64 /dev/zero | tr '\0' n)
	for name in '' 'a b' a-b a/b @a 'a+1' "$long"; do
		run vb-insert --anchor "$name" s.vb 0 --text x
		assert_usage_error vb-insert "invalid anchor name '$name' (1 to 63 of A-Z a-z 0-9 _ .)"
	done
	local grammar='(an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)'
	for off in @ @+1 @a* @a:b "@$long"; do
		run vb-insert s.vb "$off" --text x
		assert_usage_error vb-insert "invalid offset '$off' $grammar"
	done
	run vb-insert s.vb @a+ --text x
	assert_usage_error vb-insert "invalid offset '@a+'"
	run vb-insert s.vb @a-b --text x
	assert_usage_error vb-insert "invalid offset '@a-b'"
	run vb-insert s.vb @a+1Q --text x
	assert_usage_error vb-insert "invalid offset '@a+1Q' (unknown suffix 'Q')"
	run vb-insert s.vb @a+18446744073709551616 --text x
	assert_usage_error vb-insert "offset '@a+18446744073709551616' is too large (the limit is 2^64-1)"
	# a usage error comes before the store is opened
	run vb-insert -a 'a b' nosuch.vb 0 --text x
	assert_usage_error vb-insert "invalid anchor name 'a b' (1 to 63 of A-Z a-z 0-9 _ .)"
	assert_same_sum s.vb "$before"
	# 63 characters is the longest name
	run -0 vb-insert -a "${long:1}" s.vb 3 --text x
	run -0 vb-cat -o "@${long:1}" s.vb
	assert_output xdef
}

@test "stream: @NAME is an error (a stream has no anchors); nothing is written" {
	printf abcdef > in
	run -1 --separate-stderr vb-insert - @a --text x < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset @a names an anchor, which only a store has'
	run -1 --separate-stderr bash -c 'printf abcdef | vb-insert - @a+1 --text x'
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset @a+1 names an anchor, which only a store has'
	run -1 --separate-stderr vb-insert - @a-1 --replace 1 --text x < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset @a-1 names an anchor, which only a store has'
}

# ------------------------------------------------------------ messages

@test "-m describes the version in vb-history, verbatim" {
	make_store s.vb hello
	run -0 vb-insert -m 'first edit' s.vb 0 --text x
	run -0 vb-insert --message 'a!#:+b' s.vb 0 --text y
	run -0 vb-history --no-header -n 2 s.vb
	assert_regex "${lines[0]}" '  a!#:\+b$'
	assert_regex "${lines[1]}" '  first edit$'
}

@test "a --message longer than 4096 bytes is a usage error" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run vb-insert -m "$(head -c 4097 /dev/zero | tr '\0' m)" s.vb 0 --text x
	assert_usage_error vb-insert '--message is longer than 4096 bytes'
	assert_same_sum s.vb "$before"
	run -0 vb-insert -m "$(head -c 4096 /dev/zero | tr '\0' m)" s.vb 0 --text x
}

# ------------------------------------------------------------ usage errors

@test "missing operands, unknown options and bad --wait are usage errors" {
	run vb-insert
	assert_usage_error vb-insert 'missing STORE and OFFSET'
	make_store s.vb hello
	before=$(sum_of s.vb)
	run vb-insert s.vb
	assert_usage_error vb-insert "missing OFFSET after 's.vb'"
	run vb-insert --bogus s.vb 0 --text x
	assert_usage_error vb-insert '--bogus: unknown option'
	run vb-insert s.vb 0 --text
	assert_usage_error vb-insert '--text: missing argument'
	run vb-insert --wait abc s.vb 0 --text x
	assert_usage_error vb-insert "invalid --wait 'abc' (seconds, 0 or more)"
	run vb-insert --wait=-1 s.vb 0 --text x
	assert_usage_error vb-insert "invalid --wait '-1' (seconds, 0 or more)"
	assert_same_sum s.vb "$before"
}

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-insert --help
	assert_line --index 0 'Usage: vb-insert [OPTION...] STORE OFFSET [FILE...]'
	assert_output --partial '--replace=LEN'
	assert_output --partial '-V, --at-version=V'
	assert_output --partial '-a, --anchor=NAME'
	assert_output --partial '--if-version=V'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-insert --version
	assert_output --regexp '^vb-insert \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
	if [ -n "${VB_SOURCE_DIR:-}" ]; then
		version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$VB_SOURCE_DIR/meson.build" | head -1)
		assert_output "vb-insert (vb) $version"
	fi
}

@test "-h is --help, and popt's -? still is; --help lists -h" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-insert --help
	help=$output
	assert_line '  -h, --help                show this help and exit (also -?)'
	for h in -h '-?'; do
		run -0 --separate-stderr vb-insert "$h"
		assert_equal "$output" "$help"
		assert_equal "$stderr" ''
	done
	# -h wins over the rest of the line, as --help does, and changes nothing
	run -0 --separate-stderr vb-insert s.vb 0 --text x -h
	assert_equal "$output" "$help"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ bad inputs

@test "an unreadable input changes nothing" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	printf x > ok
	run -1 vb-insert s.vb 0 ok nosuch
	assert_output 'vb-insert: nosuch: No such file or directory'
	mkdir dir
	run -1 vb-insert s.vb 0 ok dir
	assert_output 'vb-insert: dir: is a directory'
	printf secret > secret
	chmod 600 secret
	open_to_nobody
	chmod 600 secret
	run -1 as_nobody vb-insert s.vb 0 secret
	assert_output 'vb-insert: secret: Permission denied'
	assert_same_sum s.vb "$before"
}

@test "an input that fails while being read: the appended data is cut off" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	head -c 300000 /dev/urandom > big
	# /proc/self/mem opens, but reading offset 0 fails
	run -1 vb-insert s.vb 0 big /proc/self/mem
	assert_output 'vb-insert: /proc/self/mem: read: Input/output error'
	assert_same_sum s.vb "$before"
}

@test "inserting the store into itself is refused" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 0 s.vb
	assert_output "vb-insert: s.vb: cannot insert the store into itself (input 's.vb')"
	run -1 vb-insert s.vb 0 < s.vb
	assert_output "vb-insert: s.vb: cannot insert the store into itself (input '-')"
	ln s.vb hard.vb
	run -1 vb-insert s.vb 0 hard.vb
	assert_output "vb-insert: s.vb: cannot insert the store into itself (input 'hard.vb')"
	assert_same_sum s.vb "$before"
}

@test "a file that is not a store is refused and left alone" {
	echo hello > notstore
	before=$(sum_of notstore)
	run -1 vb-insert notstore 0 --text x
	assert_output 'vb-insert: notstore: not a vb store'
	assert_same_sum notstore "$before"
	: > empty
	run -1 vb-insert empty 0 --text x
	assert_output 'vb-insert: empty: not a vb store (empty file)'
	assert_file_empty empty
	mkdir dir.vb
	run -1 vb-insert dir.vb 0 --text x
	assert_output 'vb-insert: dir.vb: is a directory'
	run -1 vb-insert -c dir.vb 0 --text x
	assert_output 'vb-insert: dir.vb: is a directory'
}

@test "an unknown store format version is refused" {
	make_store s.vb hello
	printf '\x02' | dd of=s.vb bs=1 seek=8 conv=notrunc status=none
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 0 --text x
	assert_output 'vb-insert: s.vb: unsupported store format version 2 (this vb reads version 1)'
	assert_same_sum s.vb "$before"
}

@test "a truncated header is refused" {
	make_store s.vb hello
	head -c 20 s.vb > t.vb
	before=$(sum_of t.vb)
	run -1 vb-insert t.vb 0 --text x
	assert_output --regexp '^vb-insert: t\.vb: truncated header \(20 of [0-9]+ bytes\)$'
	assert_same_sum t.vb "$before"
}

# ------------------------------------------------------------ the base file

@test "a missing base file is an error naming it" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	before=$(sum_of s.vb)
	rm base.txt
	run -1 vb-insert s.vb 0 --text y
	assert_output --regexp "^vb-insert: s\.vb: base file 'base\.txt' \(or '/[^']*/base\.txt'\) cannot be opened: No such file or directory$"
	assert_same_sum s.vb "$before"
}

@test "a base file that grew is an error naming it" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	before=$(sum_of s.vb)
	echo 101 >> base.txt
	run -1 vb-insert s.vb 0 --text y
	assert_output "vb-insert: s.vb: base file 'base.txt' has changed: size 296, expected 292"
	assert_same_sum s.vb "$before"
}

@test "a base file with a new mtime is an error" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	before=$(sum_of s.vb)
	touch -d '2001-02-03 04:05:06' base.txt
	run -1 vb-insert s.vb 0 --text y
	assert_output "vb-insert: s.vb: base file 'base.txt' has changed: modification time differs"
	assert_same_sum s.vb "$before"
}

@test "a base file changed in place with its mtime put back is caught by the samples" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	before=$(sum_of s.vb)
	cp -p base.txt saved
	for off in 0 150 291; do
		cp -p saved base.txt
		printf 'X' | dd of=base.txt bs=1 seek=$off conv=notrunc status=none
		touch -r saved base.txt
		run -1 vb-insert s.vb 0 --text y
		assert_output --regexp "^vb-insert: s\.vb: base file 'base\.txt' has changed: content at offset [0-9]+ differs$"
	done
	assert_same_sum s.vb "$before"
	# put back, it works again
	cp -p saved base.txt
	run -0 vb-insert s.vb 0 --text y
}

@test "a store moved together with its base keeps working" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text 'H
'
	mkdir moved
	mv s.vb base.txt moved/
	run -0 vb-cat moved/s.vb
	assert_line --index 0 H
	assert_line --index 100 100
	cd moved
	run -0 --separate-stderr vb-insert s.vb end --text 'T'
	assert_equal "$stderr" ''
	run -0 vb-cat -r end-5: s.vb
	assert_output '100
T'
}

@test "a store copied with its base works, with a warning about the new inode" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text 'H
'
	mkdir copy
	cp -p s.vb base.txt copy/
	run -0 --separate-stderr vb-insert copy/s.vb 0 --text 'G
'
	assert_equal "$stderr" "vb-insert: copy/s.vb: warning: base file 'base.txt' is not the file the store was made from (device/inode differ), but its size, time and sampled content match"
	run -0 --separate-stderr vb-cat -r :8 copy/s.vb
	assert_output 'G
H
1
2'
}

@test "a store moved away from its base finds it by its absolute path" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text 'H
'
	mkdir sub
	mv s.vb sub/
	run -0 vb-insert sub/s.vb 0 --text 'G
'
	[ "$(vb-cat sub/s.vb | wc -l)" -eq 102 ]
}

# ------------------------------------------------------------ permissions and limits

@test "a read-only store cannot be written by another user and is unchanged" {
	make_store s.vb hello
	open_to_nobody
	chmod 444 s.vb
	before=$(sum_of s.vb)
	# control: nobody can read it
	run -0 as_nobody vb-cat s.vb
	assert_output hello
	run -1 as_nobody vb-insert s.vb 0 --text x
	assert_output 'vb-insert: s.vb: cannot open: Permission denied'
	assert_same_sum s.vb "$before"
}

@test "creating a store in a directory one cannot write fails cleanly" {
	open_to_nobody
	run -1 as_nobody vb-insert -c n.vb 0 --text x
	assert_output "vb-insert: n.vb: cannot create a file in the store's directory: Permission denied"
	[ -z "$(ls -A)" ]
}

@test "the file size limit: the insert fails and the store is byte-identical" {
	make_store s.vb hello
	head -c 3M /dev/urandom > big
	before=$(sum_of s.vb)
	[ "$(stat -c %s s.vb)" -lt 1024 ]
	run bash -c 'ulimit -f 1; vb-insert s.vb 0 big'
	# a write past RLIMIT_FSIZE fails with EFBIG (SIGXFSZ is ignored)
	assert_failure 1
	assert_output 'vb-insert: s.vb: cannot append: File too large'
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	run -0 --separate-stderr vb-history --verify s.vb
	assert_output --partial 's.vb: OK: 2 versions,'
	# a failed writer cuts back what it appended (lib/README.md, Decisions 10)
	assert_same_sum s.vb "$before"
}

@test "the file size limit with the input on stdin" {
	make_store s.vb hello
	head -c 3M /dev/urandom > big
	before=$(sum_of s.vb)
	run bash -c 'ulimit -f 1; vb-insert s.vb 0 < big'
	assert_failure 1
	assert_output 'vb-insert: s.vb: cannot append: File too large'
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	assert_same_sum s.vb "$before"
}

@test "the file size limit when creating: no store and no temporary file" {
	head -c 3M /dev/urandom > big
	run bash -c 'ulimit -f 1; vb-insert -c n.vb 0 big'
	assert_failure 1
	assert_output 'vb-insert: n.vb: cannot append: File too large'
	[ "$(ls -A)" = big ]
}

@test "a full disk: an insert larger than the free space changes nothing" {
	mount_tmpfs 2m
	cd mnt
	make_store s.vb hello
	head -c 3M /dev/urandom > ../big
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 0 ../big
	assert_output 'vb-insert: s.vb: cannot append: No space left on device'
	assert_same_sum s.vb "$before"
	run -0 vb-cat s.vb
	assert_output hello
	[ "$(ls -A)" = s.vb ]
}

@test "a full disk: less free space than one data block changes nothing" {
	mount_tmpfs 2m
	cd mnt
	make_store s.vb hello
	# leave a few KiB free, less than the first block of the insert
	head -c 2080000 /dev/zero > fill 2>/dev/null || :
	[ "$(df -B1 --output=avail . | tail -1)" -lt 65536 ]
	head -c 100000 /dev/urandom > ../in
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb 0 ../in
	assert_output 'vb-insert: s.vb: cannot append: No space left on device'
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	assert_same_sum s.vb "$before"
}

@test "a full disk when creating: no store and no temporary file" {
	mount_tmpfs 1m
	head -c 3M /dev/urandom > big
	run -1 vb-insert -c mnt/n.vb 0 big
	assert_output 'vb-insert: mnt/n.vb: cannot append: No space left on device'
	[ -z "$(ls -A mnt)" ]
}

# ------------------------------------------------------------ locking

@test "--wait 0 with the write lock held: exit 4, the store unchanged" {
	make_store s.vb hello
	hold_lock s.vb
	before=$(sum_of s.vb)
	run -4 vb-insert --wait 0 s.vb 0 --text x
	assert_output --regexp '^vb-insert: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	SECONDS=0
	run -4 vb-insert --wait 1 s.vb 0 --text x
	assert_output --regexp '^vb-insert: s\.vb: another process holds the write lock \(waited 1 s[;)]'
	[ "$SECONDS" -ge 1 ]
	assert_same_sum s.vb "$before"
	# readers take no lock
	run -0 vb-cat s.vb
	assert_output hello
	release_lock 'held '
	run -0 vb-cat s.vb
	assert_output 'held hello'
}

@test "a killed writer leaves a torn tail: readers ignore it, the next writer cuts it" {
	make_store s.vb hello
	cp s.vb saved
	size=$(stat -c %s s.vb)
	hold_lock s.vb
	# the holder appends data blocks as it reads them, 16 at a time (a
	# write batch, lib/store.h VB_STORE_BATCH): 17 blocks and a part
	head -c $(( 17 * 65536 + 1000 )) /dev/urandom >&8
	for i in $(seq 1 200); do
		[ "$(stat -c %s s.vb)" -gt "$size" ] && break
		sleep 0.025
	done
	[ "$(stat -c %s s.vb)" -gt "$size" ]
	kill -KILL "$HOLDER_PID"
	wait "$HOLDER_PID" || :
	HOLDER_PID=
	exec 8>&-
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	assert_regex "$stderr" '^vb-cat: s\.vb: warning: ignoring [0-9]+ bytes after the last commit '
	run -0 vb-insert s.vb end --text '!'
	cmp -n "$size" s.vb saved
	run -0 --separate-stderr vb-cat s.vb
	assert_output 'hello!'
	assert_equal "$stderr" ''
	run -0 vb-history --verify s.vb
}

@test "a waiting writer goes ahead once the lock is released" {
	make_store s.vb hello
	hold_lock s.vb
	vb-insert --wait 20 s.vb end --text ' later' > waiter.out 2>&1 3>&- 8>&- &
	waiter=$!
	sleep 0.2
	release_lock 'first '
	wait "$waiter"
	run -0 vb-cat s.vb
	assert_output 'first hello later'
	[ ! -s waiter.out ]
}

@test "4 writers x 25 inserts in parallel: 100 contiguous versions, every marker once" {
	make_store s.vb 'start
'
	for w in 1 2 3 4; do
		(
			for i in $(seq 1 25); do
				vb-insert s.vb end --text "marker-$w-$i
" || exit 1
			done
		) 3>&- &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p"
	done
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 102
	# versions 101 down to 0, each once
	assert_equal "$(vb-history --no-header s.vb | awk '{print $1}' | tr '\n' ' ')" \
		"$(seq 101 -1 0 | tr '\n' ' ')"
	vb-cat s.vb > out
	[ "$(wc -l < out)" -eq 101 ]
	assert_equal "$(head -1 out)" start
	for w in 1 2 3 4; do
		for i in $(seq 1 25); do
			[ "$(grep -cx "marker-$w-$i" out)" -eq 1 ]
		done
	done
	run -0 vb-history --verify s.vb
}

# ------------------------------------------------------------ popt

@test "popt alias files are honoured" {
	make_store s.vb 'abc'
	echo 'vb-insert alias --shout --text "!!"' > "$HOME/.popt"
	run -0 vb-insert s.vb end --shout
	run -0 vb-cat s.vb
	assert_output 'abc!!'
}

# ------------------------------------------------------------ stream mode

@test "stream: insert into stdin, written to stdout" {
	run -0 bash -c 'printf abcdef | vb-insert - 3 --text XY'
	assert_output 'abcXYdef'
	run -0 bash -c 'printf abcdef | vb-insert - end --text XY'
	assert_output 'abcdefXY'
	run -0 bash -c 'printf abcdef | vb-insert - end-2 --hex 5859'
	assert_output 'abcdXYef'
	run -0 bash -c 'printf abcdef | vb-insert --text XY -- - -2'
	assert_output 'abcdXYef'
	run -0 bash -c 'printf abcdef | vb-insert - 0 --text XY'
	assert_output 'XYabcdef'
	run -0 bash -c 'printf "" | vb-insert - 0 --text XY'
	assert_output 'XY'
}

@test "stream: from a regular file on stdin" {
	printf abcdef > in
	run -0 vb-insert - 3 --text XY < in
	assert_output 'abcXYdef'
	run -0 vb-insert - end-6 --text XY < in
	assert_output 'XYabcdef'
	run -0 vb-insert --text XY -- - -1 < in
	assert_output 'abcdeXYf'
}

@test "stream: the bytes from FILEs, and --replace" {
	printf abcdef > in
	printf 12 > f1
	printf 34 > f2
	run -0 vb-insert - 1 f1 f2 < in
	assert_output 'a1234bcdef'
	run -0 vb-insert - 1 --replace 2 --text Z < in
	assert_output 'aZdef'
	run -0 bash -c 'printf abcdef | vb-insert - end-2 --replace 2 f1'
	assert_output 'abcd12'
}

@test "stream: an offset beyond the end of a regular file writes nothing" {
	printf abcdef > in
	run -1 --separate-stderr vb-insert - 7 --text XY < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset 7 is beyond the end (length 6)'
	run -1 --separate-stderr vb-insert - end-7 --text XY < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset end-7 is before the start (length 6)'
	run -1 --separate-stderr vb-insert - 1 --replace 9 --text XY < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: range 1+9 is beyond the end (length 6)'
}

@test "stream: an offset beyond the end of a pipe fails" {
	run -1 --separate-stderr bash -c 'printf abcdef | vb-insert - 7 --text XY'
	assert_equal "$stderr" 'vb-insert: -: offset 7 is beyond the end (length 6)'
	run -1 --separate-stderr bash -c 'printf abcdef | vb-insert - end-7 --text XY'
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: offset end-7 is before the start (length 6)'
}

@test "stream: end-N on a pipe beyond VB_HOLD_MAX fails and says how to fix it" {
	run -1 --separate-stderr bash -c 'head -c 100 /dev/zero | VB_HOLD_MAX=10 vb-insert - end-20 --text x'
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: a position 20 bytes before the end of a pipe needs that much memory (limit 10); give a file instead of a pipe, or raise VB_HOLD_MAX'
	# within the limit it works
	run -0 bash -c 'printf abcdef | VB_HOLD_MAX=10 vb-insert - end-5 --text x'
	assert_output 'axbcdef'
	# a regular file needs no holding back
	head -c 100 /dev/zero > z
	run -0 bash -c 'VB_HOLD_MAX=10 vb-insert - end-20 --text x < z | wc -c'
	assert_output 101
	run bash -c 'printf abc | VB_HOLD_MAX=lots vb-insert - end-1 --text x'
	assert_usage_error vb-insert "invalid VB_HOLD_MAX 'lots'"
}

@test "stream: usage errors" {
	run bash -c 'printf abc | vb-insert - 0'
	assert_usage_error vb-insert "editing a stream ('-') reads it from stdin: give the bytes to insert as FILE, --text or --hex"
	run bash -c 'printf abc | vb-insert -c - 0 --text x'
	assert_usage_error vb-insert "--create has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert -m hi - 0 --text x'
	assert_usage_error vb-insert "--message has no meaning when editing a stream ('-')"
	touch base
	run bash -c 'printf abc | vb-insert -b base - 0 --text x'
	assert_usage_error vb-insert "--base has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert --no-sync - 0 --text x'
	assert_usage_error vb-insert "--no-sync has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert --wait 1 - 0 --text x'
	assert_usage_error vb-insert "--wait has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert - 0 -'
	assert_usage_error vb-insert "stdin is the stream being edited; it cannot also be an input FILE"
	run bash -c 'printf abc | vb-insert - -1 --text x'
	assert_usage_error vb-insert "-1: unknown option (write negative offsets after '--')"
	run bash -c 'printf abc | vb-insert --if-version 1 - 0 --text x'
	assert_usage_error vb-insert "--if-version has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert -V 1 - 0 --text x'
	assert_usage_error vb-insert "--at-version has no meaning when editing a stream ('-')"
	run bash -c 'printf abc | vb-insert --anchor a - 0 --text x'
	assert_usage_error vb-insert "--anchor has no meaning when editing a stream ('-')"
}

@test "stream: an unreadable input FILE fails before any output" {
	printf abcdef > in
	run -1 --separate-stderr vb-insert - 0 nosuch < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: nosuch: No such file or directory'
}

@test "stream: 50 MiB through a pipe and from a file" {
	head -c 50M /dev/urandom > big
	n=$(stat -c %s big)
	# from a pipe, near the end (held back)
	cat big | vb-insert - end-1000 --text HELLO > out
	cmp out <(head -c $((n - 1000)) big; printf HELLO; tail -c 1000 big)
	# from a file, in the middle
	vb-insert - 25M --text HELLO < big > out
	cmp out <(head -c 25M big; printf HELLO; tail -c +$((25 * 1048576 + 1)) big)
	# a replace across the middle of a pipe
	cat big | vb-insert - 1000000 --replace 3000000 --text '' > out
	cmp out <(head -c 1000000 big; tail -c +4000001 big)
}

@test "stream: a closed output pipe is quiet" {
	head -c 5M /dev/zero > big
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-insert - 0 --text x < big | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
}

@test "stream: a write error on stdout is reported" {
	printf abc > in
	run -1 bash -c 'vb-insert - 0 --text x < in > /dev/full'
	assert_output 'vb-insert: write error: No space left on device'
}

@test "--cache and VB_CACHE: checked before anything changes" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run vb-insert --cache 100K s.vb 3 --text X
	assert_usage_error vb-insert "--cache '100K' is too small (at least 256K)"
	VB_CACHE=nope run vb-insert s.vb 3 --text X
	assert_usage_error vb-insert "invalid VB_CACHE 'nope'"
	assert_same_sum s.vb "$before"
	# nor is a store created
	run vb-insert --cache 1x -c new.vb 0 --text X
	assert_usage_error vb-insert "invalid --cache '1x' (unknown suffix 'x')"
	assert_file_not_exists new.vb
	vb-insert --cache 256K s.vb 3 --text X
	VB_CACHE=64M vb-insert s.vb 0 --text Y
	run -0 vb-cat s.vb
	assert_output 'YabcXdef'
}

# ------------------------------------------------------------ --unit

# make_records FILE COUNT [FIRST]: COUNT records of 16 bytes
# ("r00000000000007\n"), numbered from FIRST (default 0).
make_records() {
	local i
	for ((i = ${3:-0}; i < ${3:-0} + $2; i++)); do
		printf 'r%014d\n' "$i"
	done > "$1"
}

# records FILE K N: records K to K+N-1 of FILE (16 bytes each), with dd.
records() {
	dd if="$1" bs=16 skip="$2" count="$3" status=none
}

@test "--unit 16: whole records inserted at a record number" {
	make_records base 10
	make_records new 2 100
	vb-insert --base base s.vb 0 --text ''
	run -0 --separate-stderr vb-insert --unit 16 s.vb 3 new
	assert_output ''
	assert_equal "$stderr" ''
	vb-cat s.vb > out
	cmp out <(head -c 48 base; cat new; tail -c +49 base)
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  insert +48 +32 +192$'
	# --text, --hex, stdin and several FILEs whose total is whole records
	run -0 vb-insert --unit 16 s.vb 0 --text 'sixteen  bytes.
'
	run -0 vb-insert --unit 4 s.vb 4 --hex 'de ad be ef 00 01 02 03 04 05 06 07 08 09 0a 0b'
	run -0 bash -c 'cat new | vb-insert --unit 0x10 s.vb end'
	printf abc > three
	printf 'defghijklmno\n' > thirteen
	run -0 vb-insert --unit 16 s.vb 1 three thirteen
	vb-cat s.vb > out
	cmp out <(printf 'sixteen  bytes.\nabcdefghijklmno\n'
		  printf '\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b'
		  head -c 48 base; cat new; tail -c +49 base; cat new)
	# --unit 1 is byte addressing
	run -0 vb-insert --unit 1 s.vb 1 --text x
	run -0 vb-cat -n 3 s.vb
	assert_output 'sxi'
}

@test "--unit: end, end-N and negative offsets count elements" {
	make_records base 10
	make_records new 1 100
	vb-insert --base base s.vb 0 --text ''
	run -0 vb-insert --unit 16 s.vb end-2 new
	run -0 vb-insert --unit 16 -- s.vb -1 new
	run -0 vb-insert --unit 16 s.vb end new
	vb-cat s.vb > out
	cmp out <(records base 0 8; cat new; records base 8 1; cat new; records base 9 1; cat new)
	run -0 vb-insert --unit 16 s.vb end-13 new
	run -0 vb-cat -n 16 s.vb
	assert_output r00000000000100
}

@test "--unit with --replace LEN: LEN counts elements" {
	make_records base 10
	make_records new 1 100
	vb-insert --base base s.vb 0 --text ''
	run -0 vb-insert --unit 16 --replace 3 s.vb 2 new
	vb-cat s.vb > out
	cmp out <(records base 0 2; cat new; records base 5 5)
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"replace","offset":32,"length":16,"size":128,'
	# the last record, by a record of --text, and the end of the array
	run -0 vb-insert --unit 16 -r 1 s.vb end-1 --text 'LAST RECORD....
'
	run -0 vb-insert --unit 16 -r 0 s.vb end new
	vb-cat s.vb > out
	cmp out <(records base 0 2; cat new; records base 5 4; printf 'LAST RECORD....\n'; cat new)
	# more records than it replaces, and none
	make_records two 2 200
	run -0 vb-insert --unit 16 -r 1 s.vb 0 two
	run -0 vb-insert --unit 16 -r 2 s.vb 0 --text ''
	vb-cat s.vb > out
	cmp out <(records base 1 1; cat new; records base 5 4; printf 'LAST RECORD....\n'; cat new)
}

@test "--unit with anchors: @NAME+N elements; --anchor on the first inserted record" {
	make_records base 10
	make_records new 1 100
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	run -0 vb-insert --unit 16 s.vb @a+2 new
	run -0 vb-insert --unit 16 --anchor n s.vb @a-1 new
	vb-cat s.vb > out
	cmp out <(records base 0 2; cat new; records base 2 3; cat new; records base 5 5)
	run -0 vb-history -A s.vb
	assert_output $'n\t32\t4\na\t64\t2'
	run -0 vb-insert --unit 16 -r 1 s.vb @n+5 --text 'replaced.......
'
	run -0 vb-cat --unit 16 -o @n+5 -n 1 s.vb
	assert_output 'replaced.......'
}

@test "--unit: anchor and range errors, in elements; exit 1, unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-history --set-anchor a s.vb 48
	vb-history --set-anchor odd s.vb 50
	make_records new 1 100
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 16 s.vb @odd new
	assert_output "vb-insert: s.vb: anchor 'odd' is at byte 50, not on an element boundary (the unit is 16 bytes)"
	run -1 vb-insert --unit 16 s.vb @a+8 new
	assert_output 'vb-insert: s.vb: element offset @a+8 is beyond the end (length 10 elements)'
	run -1 vb-insert --unit 16 s.vb @a-4 new
	assert_output 'vb-insert: s.vb: element offset @a-4 is before the start (the anchor is at element 3)'
	run -1 vb-insert --unit 16 s.vb 11 new
	assert_output 'vb-insert: s.vb: element offset 11 is beyond the end (length 10 elements)'
	run -1 vb-insert --unit 16 s.vb end-11 new
	assert_output 'vb-insert: s.vb: element offset end-11 is before the start (length 10 elements)'
	run -1 vb-insert --unit 16 -r 3 s.vb 8 new
	assert_output 'vb-insert: s.vb: cannot replace 3 elements at element 8: the content ends at element 10'
	run -1 vb-insert --unit 16 -r 1152921504606846975 s.vb 0 new
	assert_output 'vb-insert: s.vb: cannot replace 1152921504606846975 elements at element 0: the content ends at element 10'
	run -1 vb-insert --unit 16 s.vb 1152921504606846975 new
	assert_output 'vb-insert: s.vb: element offset 1152921504606846975 is beyond the end (length 10 elements)'
	assert_same_sum s.vb "$before"
}

@test "--unit: --text and --hex that are not whole elements are usage errors" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run vb-insert --unit 16 s.vb 0 --text abc
	assert_usage_error vb-insert '--text is 3 bytes, not a multiple of the unit (16 bytes)'
	run vb-insert --unit 4 s.vb 0 --hex 'de ad be'
	assert_usage_error vb-insert '--hex is 3 bytes, not a multiple of the unit (4 bytes)'
	run vb-insert --unit 4 -r 1 s.vb 0 --text 'abcdef'
	assert_usage_error vb-insert '--text is 6 bytes, not a multiple of the unit (4 bytes)'
	# before any store is opened or created
	run vb-insert --unit 4 -c new.vb 0 --text abc
	assert_usage_error vb-insert '--text is 3 bytes, not a multiple of the unit (4 bytes)'
	assert_file_not_exists new.vb
	assert_same_sum s.vb "$before"
}

@test "--unit: input FILEs that are not whole elements; checked before they are read; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	printf abc > three
	printf abcd > four
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 16 s.vb 0 three
	assert_output 'vb-insert: s.vb: 3 bytes inserted are not a multiple of the unit (16 bytes)'
	run -1 vb-insert --unit 4 s.vb 0 four three four
	assert_output 'vb-insert: s.vb: 11 bytes inserted are not a multiple of the unit (4 bytes)'
	run -1 vb-insert --unit 4 s.vb 0 < three
	assert_output 'vb-insert: s.vb: 3 bytes inserted are not a multiple of the unit (4 bytes)'
	# a regular file is measured, not read: a sparse 1 TiB + 1 byte fails
	# at once, and the store never grows
	truncate -s $(((1 << 40) + 1)) sparse
	run -1 timeout 20 vb-insert --unit 4 s.vb 0 sparse
	assert_output 'vb-insert: s.vb: 1099511627777 bytes inserted are not a multiple of the unit (4 bytes)'
	assert_same_sum s.vb "$before"
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 2
}

@test "--unit: stdin named twice among the FILEs is measured once" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	printf ab > two
	run -0 vb-insert --unit 4 s.vb 0 two - - < two
	run -0 vb-cat -n 4 s.vb
	assert_output abab
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 4 s.vb 0 - - < two
	assert_output 'vb-insert: s.vb: 2 bytes inserted are not a multiple of the unit (4 bytes)'
	assert_same_sum s.vb "$before"
}

@test "--unit: input from a pipe that is not whole elements is cut off again; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -1 bash -c 'printf abcde | vb-insert --unit 4 s.vb 1'
	assert_output 'vb-insert: s.vb: 5 bytes inserted are not a multiple of the unit (4 bytes)'
	# several data blocks appended before the end shows it
	run -1 bash -c 'head -c 1000001 /dev/urandom | vb-insert --unit 4 s.vb 1'
	assert_output 'vb-insert: s.vb: 1000001 bytes inserted are not a multiple of the unit (4 bytes)'
	printf abcd > four
	run -1 bash -c 'printf ab | vb-insert --unit 4 s.vb 1 four - four'
	assert_output 'vb-insert: s.vb: 10 bytes inserted are not a multiple of the unit (4 bytes)'
	run -1 bash -c 'printf ab | vb-insert --unit 4 -r 1 s.vb 1'
	assert_output 'vb-insert: s.vb: 2 bytes inserted are not a multiple of the unit (4 bytes)'
	assert_same_sum s.vb "$before"
	# nothing was left behind for the next writer
	run -0 vb-history --verify s.vb
	run -0 bash -c 'printf abcd | vb-insert --unit 4 s.vb 1'
	vb-cat s.vb > out
	cmp out <(head -c 4 base; printf abcd; tail -c +5 base)
}

@test "--unit: creating a store whose first edit fails creates nothing" {
	printf abcde > five
	run -1 bash -c 'printf abc | vb-insert --unit 4 -c new.vb 0'
	assert_output 'vb-insert: new.vb: 3 bytes inserted are not a multiple of the unit (4 bytes)'
	run -1 vb-insert --unit 4 --base five new.vb 0 --text ''
	assert_output 'vb-insert: new.vb: content length 5 bytes is not a multiple of the unit (4 bytes)'
	assert_file_not_exists new.vb
	run -0 bash -c 'ls -A | grep -c tmp || :'
	assert_output 0
	run -0 vb-insert --unit 5 --base five new.vb end --text 12345
	run -0 vb-cat new.vb
	assert_output abcde12345
}

@test "--unit: content that is not whole elements fails every insertion; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-insert s.vb end --text abc
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 16 s.vb 0 --text 'sixteen  bytes.
'
	assert_output 'vb-insert: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	run -1 vb-insert --unit 16 s.vb end --text ''
	assert_output 'vb-insert: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	run -1 bash -c 'printf "" | vb-insert --unit 16 -r 0 s.vb 1'
	assert_output 'vb-insert: s.vb: content length 163 bytes is not a multiple of the unit (16 bytes)'
	assert_same_sum s.vb "$before"
}

@test "--unit: offsets, lengths and units out of range are usage errors, never wrapped" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run vb-insert --unit 16 s.vb 1152921504606846976 --text ''
	assert_usage_error vb-insert "offset '1152921504606846976' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-insert --unit 16 s.vb end-1048576T --text ''
	assert_usage_error vb-insert "offset 'end-1048576T' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-insert --unit 16 s.vb @a-1048576T --text ''
	assert_usage_error vb-insert "offset '@a-1048576T' is too large (at most 1152921504606846975 elements of 16 bytes)"
	# the largest count that fits is only out of range
	run -1 vb-insert --unit 16 s.vb end-1048575T --text ''
	assert_output 'vb-insert: s.vb: element offset end-1152920405095219200 is before the start (length 10 elements)'
	run vb-insert --unit 16 -r 0x1000000000000000 s.vb 0 --text ''
	assert_usage_error vb-insert "length '0x1000000000000000' is too large (at most 1152921504606846975 elements of 16 bytes)"
	run vb-insert --unit 0 s.vb 0 --text ''
	assert_usage_error vb-insert "invalid --unit '0' (an element is at least 1 byte)"
	run vb-insert --unit 4X s.vb 0 --text ''
	assert_usage_error vb-insert "invalid --unit '4X' (unknown suffix 'X')"
	run vb-insert --unit 18446744073709551616 s.vb 0 --text ''
	assert_usage_error vb-insert "--unit '18446744073709551616' is too large (the limit is 2^64-1)"
	assert_same_sum s.vb "$before"
}

@test "--unit with -V: an offset of version V in elements, carried to the head" {
	make_records base 10
	make_records new 1 100
	vb-insert --base base s.vb 0 --text ''
	vb-delete --unit 16 s.vb 0 2
	vb-insert --unit 16 s.vb 0 new
	# in front of record 5 of version 1, and replacing its records 8 and 9
	run -0 vb-insert --unit 16 -V 1 s.vb 5 --text 'before five....
'
	run -0 vb-insert --unit 16 -V 1 -r 2 s.vb end-2 new
	vb-cat s.vb > out
	cmp out <(cat new; records base 2 3; printf 'before five....\n'; records base 5 3; cat new)
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"replace","offset":128,"length":16,"size":144,'
	assert_output --partial '"at_version":1'
	# anchors are looked up at version V
	vb-history --set-anchor a s.vb 16
	run -1 vb-insert --unit 16 -V 1 s.vb @a new
	assert_output "vb-insert: s.vb: no anchor 'a' at version 1"
}

@test "--unit with -V: V or the head not whole elements, an offset carried off a boundary; unchanged" {
	make_records base 10
	vb-insert --base base s.vb 0 --text ''
	vb-insert s.vb 0 --text abcdefgh
	vb-insert s.vb end --text ABCDEFGH
	make_records new 1 100
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 16 -V 2 s.vb 0 new
	assert_output 'vb-insert: s.vb: content length 168 bytes of version 2 is not a multiple of the unit (16 bytes)'
	run -1 vb-insert --unit 16 -V 1 s.vb 3 new
	assert_output 'vb-insert: s.vb: element offset 3 of version 1 is at byte 56 of version 3, not on an element boundary (the unit is 16 bytes)'
	run -1 vb-insert --unit 16 -V 1 -r 1 s.vb 3 new
	assert_output 'vb-insert: s.vb: element range 3+1 of version 1 is bytes 56+16 of version 3, not on element boundaries (the unit is 16 bytes)'
	assert_same_sum s.vb "$before"
	vb-insert s.vb 0 --text x
	before=$(sum_of s.vb)
	run -1 vb-insert --unit 16 -V 1 s.vb 3 new
	assert_output 'vb-insert: s.vb: content length 177 bytes is not a multiple of the unit (16 bytes)'
	assert_same_sum s.vb "$before"
}

@test "--unit with --if-version: exit 3 and unchanged unless the head is V" {
	make_records base 10
	make_records new 1 100
	vb-insert --base base s.vb 0 --text ''
	before=$(sum_of s.vb)
	run -3 vb-insert --unit 16 --if-version 0 s.vb 1 new
	assert_output 'vb-insert: s.vb: the newest version is 1, not 0 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-insert --unit 16 --if-version 1 s.vb 1 new
	vb-cat s.vb > out
	cmp out <(records base 0 1; cat new; records base 1 9)
}

@test "stream: --unit counts elements, from a regular file and a pipe" {
	make_records in 10
	make_records new 2 100
	run -0 bash -c 'vb-insert --unit 16 - 3 new < in > out'
	assert_output ''
	cmp out <(records in 0 3; cat new; records in 3 7)
	run -0 bash -c 'cat in | vb-insert --unit 16 - 3 new > out'
	cmp out <(records in 0 3; cat new; records in 3 7)
	run -0 bash -c 'cat in | vb-insert --unit 16 - end-1 --text "sixteen  bytes.
" > out'
	cmp out <(records in 0 9; printf 'sixteen  bytes.\n'; records in 9 1)
	run -0 bash -c 'vb-insert --unit 16 -r 3 -- - -4 new < in > out'
	cmp out <(records in 0 6; cat new; records in 9 1)
	run -0 bash -c 'cat in | vb-insert --unit 8 -r 2 - end-2 new <(head -c 16 new) > out'
	cmp out <(records in 0 9; cat new; records new 0 1)
}

@test "stream: --unit errors in elements; on a regular file nothing is written" {
	make_records in 10
	make_records new 1 100
	run -1 --separate-stderr vb-insert --unit 16 - 11 new < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: element offset 11 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'cat in | vb-insert --unit 16 - 11 new'
	assert_equal "$stderr" 'vb-insert: -: element offset 11 is beyond the end (length 10 elements)'
	run -1 --separate-stderr vb-insert --unit 16 -r 3 - 8 new < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: element range 8+3 is beyond the end (length 10 elements)'
	run -1 --separate-stderr bash -c 'cat in | vb-insert --unit 16 - end-11 new'
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: element offset end-11 is before the start (length 10 elements)'
	run vb-insert --unit 16 - 0 --text abc < in
	assert_usage_error vb-insert '--text is 3 bytes, not a multiple of the unit (16 bytes)'
}

@test "stream: --unit with a stream or inserted bytes that are not whole elements" {
	make_records in 10
	make_records new 1 100
	printf abc > three
	# inserted bytes: a regular FILE is measured before anything is written
	run -1 --separate-stderr vb-insert --unit 16 - 1 three < in
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: 3 bytes inserted are not a multiple of the unit (16 bytes)'
	# from a pipe they are counted: the output written stays written
	run -1 --separate-stderr bash -c 'vb-insert --unit 16 - 1 <(printf abc) < in > out'
	assert_equal "$stderr" 'vb-insert: -: 3 bytes inserted are not a multiple of the unit (16 bytes)'
	cmp out <(records in 0 1; printf abc; records in 1 9)
	# the stream itself: a regular file is checked first, a pipe at its end
	cat in three > in2
	run -1 --separate-stderr vb-insert --unit 16 - 1 new < in2
	assert_output ''
	assert_equal "$stderr" 'vb-insert: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	run -1 --separate-stderr bash -c 'cat in2 | vb-insert --unit 16 - 1 new > out'
	assert_equal "$stderr" 'vb-insert: -: content length 163 bytes is not a multiple of the unit (16 bytes)'
	cmp out <(records in 0 1; cat new; records in 1 9; cat three)
}

@test "--help lists --unit" {
	run -0 vb-insert --help
	assert_output --regexp '      --unit=N +OFFSET and LEN count elements'
}

# ------------------------------------------------------------ progress and automatic flattening

@test "--progress: a final line on stderr for an insert from files or stdin" {
	head -c 3000000 /dev/urandom > big
	run -0 --separate-stderr vb-insert --create --progress s.vb 0 big
	assert_output ''
	assert_regex "$stderr" '^3000000 of 3000000 bytes \(3\.0 MB, 2\.9 MiB, 100%\) inserted, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s$'
	# a regular file on stdin has a total too; a pipe has none
	run -0 --separate-stderr vb-insert --progress s.vb 0 < big
	assert_regex "$stderr" '^3000000 of 3000000 bytes \(3\.0 MB, 2\.9 MiB, 100%\) inserted, '
	run -0 --separate-stderr bash -c 'cat big | vb-insert --progress s.vb 0'
	assert_regex "$stderr" '^3000000 bytes \(3\.0 MB, 2\.9 MiB\) inserted, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s$'
	# without it nothing, stderr being a file here
	run -0 --separate-stderr vb-insert s.vb 0 big
	assert_equal "$stderr" ''
	# a failed insert ends with its error, not with figures
	before=$(sum_of s.vb)
	run -1 --separate-stderr vb-insert --progress s.vb 0 big missing
	assert_equal "$stderr" "vb-insert: missing: No such file or directory"
	assert_same_sum s.vb "$before"
}

@test "progress on a terminal after VB_PROGRESS_DELAY; --no-progress keeps it quiet" {
	head -c 3000000 /dev/urandom > big
	vb-insert --create s.vb 0 --text x
	run -0 env VB_PROGRESS_DELAY=0 script -qec "vb-insert s.vb 0 big" /dev/null
	assert_output --regexp $'\r3000000 of 3000000 bytes .* inserted, '
	run -0 env VB_PROGRESS_DELAY=0 script -qec "vb-insert --no-progress s.vb 0 big" /dev/null
	assert_output ''
	# quick work stays silent with the default delay
	run -0 script -qec "vb-insert s.vb 0 --text y" /dev/null
	assert_output ''
}

@test "automatic flattening: a partial flatten joins the edit's version when VB_AUTO_FLATTEN's thresholds hold" {
	make_base base 20000
	vb-insert --base base s.vb 0 --text ''
	for i in 1 2 3 4 5; do
		VB_AUTO_FLATTEN=off vb-insert s.vb $((i * 1000)) --text "<$i>"
	done
	before=$(vb-cat s.vb | cksum)
	# 11 pieces, short: flattened with the insert, one version
	run -0 env VB_AUTO_FLATTEN=pieces=8,average=1M,commits=2 vb-insert s.vb 0 --text '!'
	run -0 vb-history -o -n 1 -H s.vb
	assert_line --index 0 --regexp '^ +7  .*  mixed\*2 '
	assert_line --index 1 '        insert 0 1'
	assert_line --index 2 --regexp '^        flatten 0 [0-9]+$'
	assert_equal "$(vb-cat s.vb | tail -c +2 | cksum)" "$before"
	# the short pieces are one now; the long base piece after them stays
	assert_equal "$(vb-history --json -n 1 s.vb | sed 's/.*"pieces":\([0-9]*\).*/\1/')" 2
	# --no-auto-flatten: the same thresholds, no flatten
	vb-insert --no-sync s.vb 100 --text a
	vb-insert --no-sync s.vb 200 --text b
	run -0 env VB_AUTO_FLATTEN=pieces=2,average=1M,commits=1 vb-insert --no-auto-flatten s.vb 300 --text c
	run -0 vb-history -n 1 -H s.vb
	assert_output --regexp '^ +10  .*  insert +300 +1 '
	# the defaults: far from 4096 pieces, nothing happens
	run -0 vb-insert s.vb 400 --text d
	run -0 vb-history -n 1 -H s.vb
	assert_output --regexp '^ +11  .*  insert +400 +1 '
}

@test "VB_AUTO_FLATTEN: malformed values are usage errors before the store is opened" {
	vb-insert --create s.vb 0 --text abc
	before=$(sum_of s.vb)
	for bad in bogus pieces=0 pieces=x colour=3 'average=' 'pieces=2,,'; do
		VB_AUTO_FLATTEN=$bad run -2 vb-insert s.vb 0 --text x
		assert_line --index 0 --partial "vb-insert: invalid VB_AUTO_FLATTEN '$bad'"
		assert_line --index 1 "Try 'vb-insert --help' for more information."
	done
	VB_AUTO_FLATTEN=0 run -0 vb-insert s.vb 0 --text x
	VB_AUTO_FLATTEN=no run -0 vb-insert s.vb 0 --text x
	run -0 vb-cat s.vb
	assert_output 'xxabc'
	[ "$before" != "$(sum_of s.vb)" ]
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams, read-only)

# a store whose last commit record is whole but has a bad checksum: a
# writer warns about it on stderr while the store is open
make_bad_tail() {
	make_store "$1" hello
	vb-insert "$1" 0 --text abc
	printf Z | dd of="$1" bs=1 seek=$(($(stat -c %s "$1") - 100)) conv=notrunc 2>/dev/null
}

@test "ulimit -v: a 200 MiB pipe is inserted within a 64 MiB memory limit" {
	skip_under_sanitizer
	make_store s.vb hello
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; head -c 200M /dev/zero | vb-insert s.vb 5"
	assert_output ''
	assert_equal "$(vb-cat -n 5 s.vb)" hello
	assert_equal "$(vb-cat s.vb | wc -c)" $((200 * 1024 * 1024 + 5))
	run -0 vb-history --verify s.vb
}

@test "ulimit -v: a cache larger than the memory limit: exit 1, a one-line error, the store unchanged" {
	skip_under_sanitizer
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 bash -c "ulimit -v $MEM_LIMIT_KB; vb-insert --cache 1G s.vb 0 --text x"
	assert_output --regexp '^vb-insert: s\.vb: .*(memory|Cannot allocate)'
	assert_equal "${#lines[@]}" 1
	assert_same_sum s.vb "$before"
}

@test "ulimit -n: too many open files: exit 1, the file named, the store unchanged" {
	make_base base 1000
	vb-insert -b base b.vb 0 --text x
	make_store s.vb hello
	before=$(sum_of b.vb)
	# the store itself cannot be opened
	run -1 nofile 4 'vb-insert b.vb 0 base'
	assert_output 'vb-insert: b.vb: cannot open: Too many open files'
	# the base cannot be opened
	run -1 nofile 4 'vb-insert b.vb 0 --text y'
	assert_output "vb-insert: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	assert_same_sum b.vb "$before"
	# a new store
	run -1 nofile 4 'vb-insert -c n.vb 0 --text y'
	assert_output 'vb-insert: n.vb: cannot open: Too many open files'
	[ ! -e n.vb ]
	[ -z "$(find . -name '.n.vb.*')" ]
	# one input file too many
	before=$(sum_of s.vb)
	run -1 nofile 5 'vb-insert s.vb 0 base base base'
	assert_output 'vb-insert: base: Too many open files'
	assert_same_sum s.vb "$before"
}

@test "a closed stdin is a read error, not the store read as input" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 bash -c 'vb-insert s.vb 0 <&-'
	assert_output 'vb-insert: -: read: Bad file descriptor'
	assert_same_sum s.vb "$before"
	run -1 bash -c 'vb-insert - 0 x <&-'
	assert_output --partial 'vb-insert: '
	assert_same_sum s.vb "$before"
}

@test "a closed stderr: a warning does not end up in the store" {
	make_bad_tail s.vb
	run -0 bash -c 'vb-insert s.vb 0 --text x 2>&-'
	run -0 --separate-stderr vb-cat s.vb
	assert_output xhello
	run -0 vb-history --verify s.vb
}

@test "a closed or full stdout: vb-insert writes nothing there and succeeds; stream mode fails" {
	make_store s.vb hello
	run -0 bash -c 'vb-insert s.vb 0 --text x >&-'
	assert_output ''
	run -0 bash -c 'vb-insert s.vb 0 --text y > /dev/full'
	assert_output ''
	assert_equal "$(vb-cat s.vb)" yxhello
	printf abc > in
	run -1 bash -c 'vb-insert - 1 --text x < in >&-'
	assert_output 'vb-insert: write error: Bad file descriptor'
	run -1 bash -c 'vb-insert --help >&-'
	assert_output 'vb-insert: write error: Bad file descriptor'
	run -1 bash -c 'vb-insert --version > /dev/full'
	assert_output 'vb-insert: write error: No space left on device'
}

@test "a read-only file system: exit 1, a clear error, the store unchanged" {
	mount_tmpfs 2m
	make_store mnt/s.vb hello
	before=$(sum_of mnt/s.vb)
	remount_ro
	run -1 vb-insert mnt/s.vb 0 --text x
	assert_output 'vb-insert: mnt/s.vb: cannot open: Read-only file system'
	run -1 vb-insert -c mnt/n.vb 0 --text x
	assert_output --regexp '^vb-insert: mnt/n\.vb: .*Read-only file system$'
	assert_same_sum mnt/s.vb "$before"
	[ "$(ls -A mnt)" = s.vb ]
	run -0 vb-cat mnt/s.vb
	assert_output hello
}

# ------------------------------------------------------------ lines

@test "OFFSET L<N>: before line N, as sed 'Ni'; L<last+1> appends; L<N>+K and L<N>-K" {
	printf 'one\ntwo\nthree\n' > t
	printf 'one\ntwo\nthree' > u
	printf 'a\r\nb\r\n\r\nd' > c
	for f in t u c; do
		n=$(sed -n '$=' "$f")
		for k in 1 2 "$n"; do
			vb-insert --create "$f$k.vb" 0 "$f"
			vb-insert "$f$k.vb" "L$k" --text $'new\n'
			vb-cat "$f$k.vb" > got
			sed "${k}i new" "$f" > want
			cmp got want || fail "$f: L$k not as sed '${k}i'"
		done
		# L<last+1>: where a line appended would start (the end)
		vb-insert --create "$f-end.vb" 0 "$f"
		vb-insert "$f-end.vb" "L$((n + 1))" --text 'end'
		vb-cat "$f-end.vb" > got
		{ cat "$f"; printf end; } > want
		cmp got want
	done
	# '\r' is an ordinary byte
	vb-insert --create c.vb 0 c
	vb-insert c.vb L2-1 --text X
	vb-insert c.vb L3+0x1 --text Y
	run -0 vb-cat c.vb
	assert_output $'a\rX\nb\r\n\rY\nd'
	# --replace at a line: the line's bytes
	vb-insert --create r.vb 0 t
	vb-insert r.vb L2 --replace 3 --text TWO
	run -0 vb-cat r.vb
	assert_output $'one\nTWO\nthree'
}

@test "OFFSET L<N> on a base larger than 1 MiB (read) and on a store made with edits (counted), as sed" {
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	vb-insert --create s.vb 0 big
	vb-insert s.vb 1000 --text $'\n\n'
	vb-delete s.vb 20000 7
	for f in b s; do
		for k in 1 2 1000 150001 299999; do
			vb-cat "$f.vb" > flat
			vb-insert "$f.vb" "L$k" --text $'ins\n'
			vb-cat "$f.vb" > got
			sed "${k}i ins" flat > want
			cmp got want || fail "$f: L$k not as sed '${k}i'"
		done
	done
}

@test "L<N> with -V: the line of version N, carried to the head; --anchor on it" {
	printf 'a\nb\nc\n' > f
	vb-insert --create s.vb 0 f
	vb-insert s.vb 0 --text $'x\ny\n'
	vb-insert -V 1 s.vb L3 --text $'new\n' --anchor here
	run -0 vb-cat s.vb
	assert_output $'x\ny\na\nb\nnew\nc'
	run -0 vb-cat -o @here -n 3 s.vb
	assert_output new
	before=$(sum_of s.vb)
	run -1 vb-insert -V 1 s.vb L5 --text z
	assert_output 'vb-insert: s.vb: offset L5: line 5 is beyond the end (the content has 3 lines)'
	assert_same_sum s.vb "$before"
}

@test "L<N> errors: beyond the end, before the start: exit 1, unchanged; L0, --unit, a stream: exit 2" {
	printf 'one\ntwo\n' > f
	vb-insert --create s.vb 0 f
	before=$(sum_of s.vb)
	run -1 vb-insert s.vb L4 --text z
	assert_output 'vb-insert: s.vb: offset L4: line 4 is beyond the end (the content has 2 lines)'
	run -1 vb-insert s.vb L1-1 --text z
	assert_output 'vb-insert: s.vb: offset L1-1 is before the start (line 1 starts at 0)'
	run -1 vb-insert s.vb L2+5 --text z
	assert_output 'vb-insert: s.vb: offset L2+5 is beyond the end (length 8)'
	run -1 vb-insert s.vb L2 --replace 5 --text z
	assert_output 'vb-insert: s.vb: cannot replace 5 bytes at offset 4: the content ends at 8'
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	bbefore=$(sum_of b.vb)
	run -1 vb-insert b.vb L300002 --text z
	assert_output 'vb-insert: b.vb: offset L300002: line 300002 is beyond the end (the content has 300000 lines)'
	assert_same_sum b.vb "$bbefore"
	run vb-insert s.vb L0 --text z
	assert_usage_error vb-insert "invalid offset 'L0' (lines count from 1)"
	run vb-insert s.vb L1+ --text z
	assert_usage_error vb-insert "invalid offset 'L1+'"
	run vb-insert --unit 2 s.vb L1 --text zz
	assert_usage_error vb-insert "offset 'L1' is a line address, which does not count elements (the unit is 2 bytes)"
	assert_same_sum s.vb "$before"
	run bash -c 'printf "a\nb\n" | vb-insert - L2 --text z'
	assert_usage_error vb-insert "offset 'L2' is a line address, which a stream ('-') does not have (edit a store instead)"
}

@test "a FIFO as the store or as --base: refused at once, exit 1, nothing created or waited for" {
	mkfifo f.vb fb
	make_base base.txt 3
	run timeout 10 vb-insert f.vb 0 --text x
	assert_failure 1
	assert_output 'vb-insert: f.vb: is not a regular file (a FIFO)'
	run timeout 10 vb-insert --base fb n.vb 0 --text x
	assert_failure 1
	assert_output "vb-insert: n.vb: base file 'fb' is not a regular file (a FIFO)"
	assert_file_not_exists n.vb
	run timeout 10 vb-insert /dev/null 0 --text x
	assert_failure 1
	assert_output 'vb-insert: /dev/null: is not a regular file (a character device)'
}

# interrupt_writer SIG SIZE CMD...: run CMD (a writer, stdin from the FIFO
# `in`), feed it zeros until the store s.vb has grown past SIZE bytes,
# send it SIG; sets $status to the writer's exit status.  Signals reach it
# as from a terminal (a background job would otherwise ignore SIGINT).
interrupt_writer() {
	local sig=$1 size=$2 pid k
	shift 2
	mkfifo in
	env --default-signal=INT "$@" < in &
	pid=$!
	exec 8> in
	for ((k = 0; k < 600; k++)); do
		head -c 1M /dev/zero >&8
		[ "$(stat -c %s s.vb)" -gt "$size" ] && break
	done
	kill -s "$sig" "$pid"
	status=0
	wait "$pid" || status=$?
	exec 8>&-
	rm -f in
}

@test "a writer interrupted by SIGINT, SIGTERM or SIGHUP cuts off what it appended and exits 128+N" {
	make_store s.vb hello
	s0=$(sum_of s.vb)
	interrupt_writer INT 8000000 vb-insert s.vb 2
	assert_equal "$status" 130
	assert_equal "$(sum_of s.vb)" "$s0"
	interrupt_writer TERM 8000000 vb-insert s.vb 2
	assert_equal "$status" 143
	assert_equal "$(sum_of s.vb)" "$s0"
	interrupt_writer HUP 8000000 vb-insert s.vb 2
	assert_equal "$status" 129
	assert_equal "$(sum_of s.vb)" "$s0"
	# no tail for readers to warn about; the store takes the next edit
	run -0 --separate-stderr vb-cat s.vb
	assert_output hello
	assert_equal "$stderr" ''
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 2 versions'
	vb-insert s.vb 5 --text '!'
	assert_equal "$(vb-cat s.vb)" 'hello!'
}

@test "an interrupted writer after an earlier commit keeps that commit; SIGINT ignored (nohup-like) stays ignored" {
	make_store s.vb hello
	vb-insert s.vb 0 --text '>'
	s0=$(sum_of s.vb)
	interrupt_writer INT 8000000 vb-insert -m big s.vb 0
	assert_equal "$status" 130
	assert_equal "$(sum_of s.vb)" "$s0"
	assert_equal "$(vb-cat s.vb)" '>hello'
	# started with SIGINT ignored: the signal does nothing, the insert
	# completes when its input ends
	mkfifo in
	bash -c 'trap "" INT; exec vb-insert s.vb 0 < in' &
	pid=$!
	exec 8> in
	head -c 1M /dev/zero >&8
	kill -s INT "$pid"
	printf x >&8
	exec 8>&-
	wait "$pid"
	rm in
	assert_equal "$(vb-cat s.vb | wc -c)" $(( 1048576 + 1 + 6 ))
}

@test "--progress from regular files: the total, the percent and an ETA on every update; the final line without the ETA" {
	head -c 20000000 /dev/zero > big
	VB_PROGRESS_DELAY=0 vb-insert --create --progress s.vb 0 big big 2> err
	mapfile -t l < err
	[ "${#l[@]}" -ge 2 ]
	for line in "${l[@]:0:${#l[@]}-1}"; do
		assert_regex "$line" '^[0-9]+ of 40000000 bytes \([0-9.]+ [kMG]?B, [0-9.]+ (Ki|Mi|Gi)?B, [0-9]+%\) inserted, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s, ETA ([0-9]+:[0-9]{2}:[0-9]{2}|-:--:--)$'
	done
	assert_regex "${l[-1]}" '^40000000 of 40000000 bytes \(40\.0 MB, 38\.1 MiB, 100%\) inserted, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s$'
	# from a pipe: no total, no percent, no ETA
	cat big | VB_PROGRESS_DELAY=0 vb-insert --progress s.vb 0 2> err
	run grep -c -e ' of ' -e '%' -e ETA err
	assert_output 0
	# without --progress, stderr a file: nothing
	VB_PROGRESS_DELAY=0 vb-insert s.vb 0 big 2> err
	assert_file_empty err
}

# ------------------------------------------------------------ --edits

@test "--edits: inserts, deletes and replaces in the coordinates of the version before, one version" {
	printf 'hello world\nline two\n' > f
	vb-insert --create s.vb 0 f
	printf '%s\n' '0 5 "HELLO"' '6 0 0x4142' 'L2 4' 'end 0 "\x00end\n"' > e
	run -0 vb-insert --edits e s.vb -m batch
	assert_output ''
	vb-cat s.vb > out
	cmp out <(printf 'HELLO ABworld\n two\n\0end\n')
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 3
	assert_regex "${lines[0]}" '^ +2  .*  mixed\*4 .* +24  batch$'
	# the same edits in another order give the same content
	vb-insert --create t.vb 0 f
	tac e > e2
	run -0 vb-insert --edits e2 t.vb
	cmp <(vb-cat t.vb) out
}

@test "--edits: edits at one offset keep their file order; inserts at the ends of a replaced range" {
	vb-insert --create s.vb 0 --text 0123456789
	printf '%s\n' '3 0 "a"' '3 2 "R"' '3 0 "b"' '5 0 "c"' '0 1' '9 1 "Z"' 'end 0 "!"' > e
	run -0 vb-insert --edits e s.vb
	run -0 vb-cat s.vb
	assert_output '12aRbc5678Z!'
}

@test "--edits: anchors, end-N, L<N>, suffixes; comments, blank lines, tabs and CRLF; stdin" {
	printf 'one\ntwo\nthree\n' > f
	vb-insert --create s.vb 0 f --anchor top
	printf '# a comment\n\n@top+4\t3\t"TWO"\r\nend-1 1 0x\r\n  L3 0 "3:"\n' > e
	run -0 vb-insert --edits - s.vb < e
	run -0 vb-cat s.vb
	assert_output $'one\nTWO\n3:three'
	vb-insert --create k.vb 0 --text "$(printf '%02000d' 0)"
	printf '1K 512\n' | vb-insert --edits - k.vb
	[ "$(vb-cat k.vb | wc -c)" -eq 1488 ]
}

@test "--edits: DATA as hex and C escapes: NUL, quotes, backslashes, octal, every byte" {
	vb-insert --create s.vb 0 --text ''
	printf '%s\n' '0 0 "\"q\" \\ \t\n\r\a\b\v\f\x00\xFF\101\0"' '0 0 0x00ff' > e
	run -0 vb-insert --edits e s.vb
	vb-cat s.vb > out
	cmp out <(printf '"q" \\ \t\n\r\a\b\v\f\0\377A\0\0\377')
	# an empty file: one version, nothing changed
	: > none
	run -0 vb-insert --edits none s.vb
	cmp <(vb-cat s.vb) out
	[ "$(vb-history --no-header s.vb | wc -l)" -eq 4 ]
}

@test "--edits errors: a bad line, an overlap, beyond the end, an anchor or line missing: FILE:LINE, exit 1, store unchanged" {
	printf 'one\ntwo\n' > f
	vb-insert --create s.vb 0 f
	before=$(sum_of s.vb)
	check() { # FILE-CONTENT MESSAGE
		printf '%s\n' "$1" > e
		run -1 vb-insert --edits e s.vb
		assert_output "vb-insert: e:$2"
		assert_same_sum s.vb "$before"
	}
	check $'0 1\n1 x' "2: invalid length 'x'"
	check $'0 1\n# c\n1 2 3' '3: DATA must be 0x followed by hex digits or a "quoted" string'
	check '0 1 0x123' '1: DATA 0x...: an odd number of hex digits'
	check '0 1 "abc' "1: DATA: the string that starts at column 5 has no closing '\"'"
	check '0 1 "a\q"' "1: DATA: unknown escape '\\q'"
	check '0 1 "a" b' '1: text after DATA (a line is OFFSET LENGTH [DATA])'
	check '5' '1: missing LENGTH (a line is OFFSET LENGTH [DATA])'
	check $'0 3\n2 2 "x"' '2: the edit overlaps the edit of line 1'
	check $'4 0 "x"\n2 4' '2: the edit overlaps the edit of line 1'
	check $'0 1\n9 0 "x"' '2: offset 9 is beyond the end (length 8)'
	check '6 5' '1: range 6+5 is beyond the end (length 8)'
	check '@nope 0 "x"' "1: no anchor 'nope' at version 1"
	check 'L4 0 "x"' '1: offset L4: line 4 is beyond the end (the content has 2 lines)'
	printf '0 0 "%s"\n' "$(head -c 600 /dev/zero | tr '\0' a)" > e
	VB_EDITS_MAX=512 run -1 vb-insert --edits e s.vb
	assert_output 'vb-insert: e:1: the edits'"'"' DATA passes 512 bytes (VB_EDITS_MAX)'
	assert_same_sum s.vb "$before"
	run -1 vb-insert --edits nosuch s.vb
	assert_output 'vb-insert: nosuch: No such file or directory'
	mkdir d
	run -1 vb-insert --edits d s.vb
	assert_output 'vb-insert: d: is a directory'
	printf '0 0 "x"\n' > e
	run -1 vb-insert --edits e new.vb
	assert_output 'vb-insert: new.vb: no such store (use --create to make one)'
	assert_file_not_exists new.vb
	run -3 vb-insert --if-version 0 --edits e s.vb
	assert_same_sum s.vb "$before"
	run -0 vb-insert --create --edits e new.vb
	run -0 vb-cat new.vb
	assert_output 'x'
}

@test "--edits usage errors: operands, options that do not apply, a stream, a bad VB_EDITS_MAX" {
	vb-insert --create s.vb 0 --text abc
	before=$(sum_of s.vb)
	printf '0 0 "x"\n' > e
	run vb-insert --edits e s.vb 0
	assert_usage_error vb-insert "--edits takes the edits from FILE: give only STORE ('0' is extra)"
	run vb-insert --edits e
	assert_usage_error vb-insert 'missing STORE'
	for opt in '--text=a' '--hex=61' '--replace=1' '--anchor=a' '--at-version=0' '--unit=2'; do
		run vb-insert --edits e "$opt" s.vb
		assert_usage_error vb-insert "${opt%%=*} cannot be used with --edits (the edits give offsets, lengths and data)"
	done
	run vb-insert --edits e -
	assert_usage_error vb-insert "--edits needs a store: a stream ('-') cannot take a batch of edits"
	VB_EDITS_MAX=lots run vb-insert --edits e s.vb
	assert_failure 2
	assert_same_sum s.vb "$before"
}

#!/usr/bin/env bats
# vb-history: the listing (table and JSON), --revert, --verify, anchors
# (--anchors, --set-anchor, --remove-anchor), --diff, --export and --apply,
# --if-version, and every error path.

load test_helper

HEADER='VERSION  TIME                 OP             OFFSET     LENGTH         SIZE  MESSAGE'
TIME_RE='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}'

# A store with four versions: create, insert, delete, replace.
make_history() {
	vb-insert --create -m 'first one' s.vb 0 --text 'hello world'
	vb-delete s.vb 0 6
	vb-insert -m 'shout' s.vb 0 --replace 5 --text WORLD
}

# ------------------------------------------------------------ the table

@test "the table: a header line, then one line per version, newest first" {
	make_history
	run -0 --separate-stderr vb-history s.vb
	assert_equal "$stderr" ''
	assert_equal "${#lines[@]}" 5
	assert_equal "${lines[0]}" "$HEADER"
	assert_regex "${lines[1]}" "^      3  $TIME_RE  replace             0          5            5  shout\$"
	assert_regex "${lines[2]}" "^      2  $TIME_RE  delete              0          6            5\$"
	assert_regex "${lines[3]}" "^      1  $TIME_RE  insert              0         11           11  first one\$"
	assert_regex "${lines[4]}" "^      0  $TIME_RE  create              0          0            0\$"
}

@test "the table's columns grow to fit 11-digit offsets, lengths and sizes, and stay aligned" {
	# a sparse 30 GiB base: offsets and lengths of 11 digits, nothing read
	truncate -s 30G big
	vb-insert --base big s.vb 12345678901 --text X
	vb-delete s.vb 100 20000000000
	vb-history --revert 1 s.vb
	run -0 vb-history s.vb
	assert_equal "${lines[0]}" 'VERSION  TIME                 OP              OFFSET      LENGTH         SIZE  MESSAGE'
	assert_regex "${lines[1]}" "^      3  $TIME_RE  revert               -           -  32212254721  \\[to version 1\\]\$"
	assert_regex "${lines[2]}" "^      2  $TIME_RE  delete             100 20000000000  12212254721\$"
	assert_regex "${lines[3]}" "^      1  $TIME_RE  insert     12345678901           1  32212254721\$"
	assert_regex "${lines[4]}" "^      0  $TIME_RE  create               0 32212254720  32212254720\$"
	# every row ends its columns where the titles do
	for i in 0 1 2 3 4; do
		[[ ${lines[i]:51:2} == [^\ ]' ' && ${lines[i]:63:2} == [^\ ]' ' &&
			${lines[i]:76:1} == [^\ ] && ( -z ${lines[i]:77} || ${lines[i]:77:2} == '  ' ) ]]
	done
	# only the rows listed count: -n 2 needs no room for the insert's offset
	run -0 vb-history -n 2 s.vb
	assert_equal "${lines[0]}" 'VERSION  TIME                 OP             OFFSET      LENGTH         SIZE  MESSAGE'
	assert_regex "${lines[2]}" "^      2  $TIME_RE  delete            100 20000000000  12212254721\$"
	# -H: the same widths without the titles
	run -0 vb-history -H s.vb
	assert_regex "${lines[2]}" "^      1  $TIME_RE  insert     12345678901           1  32212254721\$"
}

@test "the table's time is local time (TZ), the JSON's is UTC" {
	make_store s.vb x
	utc=$(vb-history --json -n 1 s.vb | sed 's/.*"time":"\([^".]*\)\..*/\1/; s/T/ /')
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" "^      1  $utc  "
	# 9 hours east of UTC (a POSIX TZ string: no tz database needed)
	tokyo=$(date -u -d "$utc UTC 9 hours" '+%Y-%m-%d %H:%M:%S')
	TZ=XYZ-9 run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" "^      1  $tokyo  "
}

@test "--no-header and -H omit the column titles" {
	make_history
	run -0 vb-history --no-header s.vb
	assert_equal "${#lines[@]}" 4
	assert_regex "${lines[0]}" '^      3  '
	run -0 vb-history -H s.vb
	assert_equal "${#lines[@]}" 4
}

@test "-n/--max-count lists only the newest versions" {
	make_history
	run -0 vb-history -n 1 s.vb
	assert_equal "${#lines[@]}" 2
	assert_equal "${lines[0]}" "$HEADER"
	assert_regex "${lines[1]}" '^      3  '
	run -0 vb-history --max-count 2 -H s.vb
	assert_equal "${#lines[@]}" 2
	assert_regex "${lines[1]}" '^      2  '
	run -0 vb-history --max-count=100 -H s.vb
	assert_equal "${#lines[@]}" 4
	run -0 vb-history -n 1K --json s.vb
	assert_equal "${#lines[@]}" 4
}

@test "--ops lists the operations of versions that have several" {
	make_store s.vb abcdefghijklmnopqrstuvwxyz
	printf '0 1\n10 2\n20 3\n' > r
	vb-delete --ranges r s.vb
	run -0 vb-history --ops -H s.vb
	assert_equal "${#lines[@]}" 6
	assert_regex "${lines[0]}" "^      2  $TIME_RE  delete\\*3 +[0-9]+ +6 +20\$"
	assert_equal "${lines[1]}" '        delete 20 3'
	assert_equal "${lines[2]}" '        delete 10 2'
	assert_equal "${lines[3]}" '        delete 0 1'
	assert_regex "${lines[4]}" '^      1  .* insert '
	assert_regex "${lines[5]}" '^      0  .* create '
}

@test "messages are shown verbatim, popt's '!#:+' included" {
	make_store s.vb x
	vb-insert -m 'a!#:+b c' s.vb 0 --text y
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" '  a!#:\+b c$'
}

# ------------------------------------------------------------ --json

@test "--json: one JSON object per line with the documented keys" {
	make_history
	vb-history --revert 1 -m back s.vb
	run -0 --separate-stderr vb-history --json s.vb
	assert_equal "${#lines[@]}" 5
	assert_equal "$stderr" ''
	run -0 python3 -c '
import json, sys
want = [(4, "revert", 11), (3, "replace", 5), (2, "delete", 5), (1, "insert", 11), (0, "create", 0)]
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == len(want), rows
for row, (v, op, size) in zip(rows, want):
    for key in ("version", "time", "op", "offset", "length", "size", "message"):
        assert key in row, (key, row)
    assert (row["version"], row["op"], row["size"]) == (v, op, size), row
    assert row["time"].endswith("Z"), row
assert rows[0]["target"] == 1 and rows[0]["message"] == "back", rows[0]
assert (rows[1]["offset"], rows[1]["length"], rows[1]["message"]) == (0, 5, "shout"), rows[1]
assert (rows[2]["offset"], rows[2]["length"]) == (0, 6), rows[2]
assert (rows[3]["offset"], rows[3]["length"], rows[3]["message"]) == (0, 11, "first one")
print("ok")
' < <(vb-history --json s.vb)
	assert_output ok
}

@test "--json escapes messages so that every line parses" {
	make_store s.vb x
	vb-insert -m $'quote " backslash \\ newline \n tab \t bell \a del \x7f' s.vb 0 --text y
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
print(repr(rows[0]["message"]))
' < <(vb-history --json s.vb)
	assert_output "'quote \" backslash \\\\ newline \\n tab \\t bell \\x07 del \\x7f'"
	[ "$(vb-history --json s.vb | wc -l)" -eq 3 ]
}

@test "--json --ops adds each version's operations" {
	make_store s.vb abcdefghijklmnopqrstuvwxyz
	printf '0 1\n10 2\n' > r
	vb-delete --ranges r s.vb
	vb-insert s.vb 0 --replace 2 --text XYZ
	vb-history --revert 2 s.vb
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
for r in rows:
    print(r["version"], json.dumps(r["operations"], sort_keys=True))
' < <(vb-history --json --ops s.vb)
	assert_line --index 0 '4 [{"length": 23, "offset": 0, "op": "revert", "target": 2}]'
	assert_line --index 1 '3 [{"deleted": 2, "length": 3, "offset": 0, "op": "replace"}]'
	assert_line --index 2 '2 [{"length": 2, "offset": 10, "op": "delete"}, {"length": 1, "offset": 0, "op": "delete"}]'
	assert_line --index 3 '1 [{"length": 26, "offset": 0, "op": "insert"}]'
	assert_line --index 4 '0 [{"length": 0, "offset": 0, "op": "create"}]'
}

# ------------------------------------------------------------ --revert

@test "--revert N: the content equals version N, recorded as a revert" {
	make_history
	run -0 vb-history --revert 1 s.vb
	assert_output ''
	run -0 vb-cat s.vb
	assert_output 'hello world'
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" "^      4  $TIME_RE  revert              -          -           11  \\[to version 1\\]\$"
	# history is kept: every version still reads as before
	run -0 vb-cat -V 3 s.vb
	assert_output WORLD
	run -0 vb-history --revert 3 -m 'undo the undo' s.vb
	run -0 vb-cat s.vb
	assert_output WORLD
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" '  \[to version 3\] undo the undo$'
	run -0 vb-history --revert 0 s.vb
	run -0 vb-cat s.vb
	assert_output ''
	run -0 vb-history --verify s.vb
}

@test "--revert to the head still adds a version" {
	make_history
	run -0 vb-history --revert 3 s.vb
	run -0 vb-cat s.vb
	assert_output WORLD
	[ "$(vb-history -H s.vb | wc -l)" -eq 5 ]
}

@test "--revert on a store with a base file" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text 'X'
	vb-delete s.vb 0 50
	run -0 vb-history --revert 0 s.vb
	vb-cat s.vb > out
	cmp out base.txt
}

@test "--revert beyond the head is an error and changes nothing" {
	make_history
	before=$(sum_of s.vb)
	run -1 vb-history --revert 4 s.vb
	assert_output 'vb-history: s.vb: version 4 does not exist (the newest is 3)'
	run -1 vb-history --revert 18446744073709551615 s.vb
	assert_output 'vb-history: s.vb: version 18446744073709551615 does not exist (the newest is 3)'
	run vb-history --revert 18446744073709551616 s.vb
	assert_usage_error vb-history "version '18446744073709551616' is too large (the limit is 2^64-1)"
	run vb-history --revert x s.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --revert -1 s.vb
	assert_usage_error vb-history "invalid version '-1' (a version cannot be negative)"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------ head and head~N

@test "head and head~N name versions counted back from the newest: --revert, --diff, --export, -V" {
	make_history
	vb-history --set-anchor mid s.vb 2
	# versions: 0 empty, 1 'hello world', 2 'world', 3 'WORLD', 4 the anchor
	run -0 vb-history --diff head~3 s.vb head~1
	assert_output "$(vb-history --diff 1 s.vb 3)"
	run -0 vb-history --diff head~2 s.vb
	assert_output "$(vb-history --diff 2 s.vb 4)"
	run -0 vb-history --diff head s.vb head~0
	assert_output ''
	run -0 vb-history --diff head~3 s.vb -u
	assert_output "$(vb-history --diff 1 s.vb -u)"
	run -0 vb-history --anchors -V head s.vb
	assert_output $'mid\t2\t4'
	run -0 vb-history --anchors -V head~1 s.vb
	assert_output ''
	# an anchor set by an offset of an older version: as by its number
	cp s.vb t.vb
	run -0 vb-history --set-anchor w -V head~3 s.vb 6
	run -0 vb-history --set-anchor w -V 1 t.vb 6
	assert_equal "$(vb-history --anchors s.vb)" "$(vb-history --anchors t.vb)"
	assert_equal "$(vb-history --json -n 1 s.vb | grep -o '"at_version":[0-9]*')" '"at_version":1'
	# --export head~N: the last N versions
	vb-history --export head~2 s.vb > e.vbx
	vb-history --export 3 s.vb > e3.vbx
	cmp e.vbx e3.vbx
	# --revert head~N
	run -0 vb-history --revert head~4 -m back s.vb
	run -0 vb-cat s.vb
	assert_output 'hello world'
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" '  \[to version 1\] back$'
	run -0 vb-history --revert head~1 s.vb
	run -0 vb-cat s.vb
	assert_output WORLD
	run -0 vb-history --verify s.vb
}

@test "head~N before version 0 is an error, exit 1, unchanged; malformed ones are usage errors" {
	make_history
	before=$(sum_of s.vb)
	for args in '--revert head~4 s.vb' '--diff head~4 s.vb' '--diff 1 s.vb head~9' \
		'--diff head~4 s.vb -u' '--anchors -V head~4 s.vb' '--set-anchor a -V head~4 s.vb 0'; do
		run -1 vb-history $args
		assert_output --regexp '^vb-history: s\.vb: version head~[49] does not exist \(the newest is 3\)$'
	done
	run -1 bash -c 'vb-history --export head~4 s.vb > e.vbx'
	assert_output 'vb-history: s.vb: version head~4 does not exist (the newest is 3)'
	run -1 vb-history --revert head~18446744073709551615 s.vb
	assert_output 'vb-history: s.vb: version head~18446744073709551615 does not exist (the newest is 3)'
	for v in head~ head~x head~-1 'head~ 1' head-1 heads head~1~1 head~18446744073709551616; do
		run vb-history --revert "$v" s.vb
		assert_usage_error vb-history "invalid version '$v' (expected N, head or head~N)"
		run vb-history --diff 0 s.vb "$v"
		assert_usage_error vb-history "invalid version '$v' (expected N, head or head~N)"
	done
	run vb-history --revert HEAD s.vb
	assert_usage_error vb-history "invalid version 'HEAD'"
	# --if-version compares with a number: head would always match
	for v in head head~1; do
		run vb-history --if-version "$v" --revert 1 s.vb
		assert_usage_error vb-history "invalid --if-version '$v' (a version number, not head or head~N)"
	done
	assert_same_sum s.vb "$before"
	run -0 vb-history --revert head~3 s.vb
	run -0 vb-cat s.vb
	assert_output ''
}

@test "--revert with the write lock held: exit 4, unchanged" {
	make_history
	hold_lock s.vb
	before=$(sum_of s.vb)
	run -4 vb-history --revert 1 --wait 0 s.vb
	assert_output --regexp '^vb-history: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	assert_same_sum s.vb "$before"
	release_lock
	run -0 vb-history --revert 1 --wait 0 --no-sync s.vb
	run -0 vb-cat s.vb
	assert_output 'hello world'
}

@test "--revert on a read-only store as another user: exit 1, unchanged" {
	make_history
	open_to_nobody
	chmod 444 s.vb
	before=$(sum_of s.vb)
	run -0 as_nobody vb-history -H -n 1 s.vb
	run -1 as_nobody vb-history --revert 1 s.vb
	assert_output 'vb-history: s.vb: cannot open: Permission denied'
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ --if-version

@test "--if-version V: --revert, --set-anchor and --remove-anchor only when the head is V; else exit 3, unchanged" {
	make_history
	before=$(sum_of s.vb)
	run -3 vb-history --revert 1 --if-version 2 s.vb
	assert_output 'vb-history: s.vb: the newest version is 3, not 2 (--if-version)'
	run -3 vb-history --set-anchor a --if-version 4 s.vb 0
	assert_output 'vb-history: s.vb: the newest version is 3, not 4 (--if-version)'
	run -3 vb-history --remove-anchor a --if-version 0 s.vb
	assert_output 'vb-history: s.vb: the newest version is 3, not 0 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-history --set-anchor a --if-version 3 s.vb 1
	run -0 vb-history --remove-anchor a --if-version 4 s.vb
	run -0 vb-history --revert 1 --if-version 5 s.vb
	run -0 vb-cat s.vb
	assert_output 'hello world'
	# the same V once more: a version was added since
	before=$(sum_of s.vb)
	run -3 vb-history --revert 3 --if-version 5 s.vb
	assert_output 'vb-history: s.vb: the newest version is 6, not 5 (--if-version)'
	run vb-history --revert 1 --if-version x s.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --revert 1 --if-version -1 s.vb
	assert_usage_error vb-history "invalid version '-1' (a version cannot be negative)"
	assert_same_sum s.vb "$before"
	# a malformed V is a usage error before any store is opened
	run vb-history --revert 0 --if-version x nosuch.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --remove-anchor a --if-version 1x nosuch.vb
	assert_usage_error vb-history "invalid version '1x' (unknown suffix 'x')"
}

# ------------------------------------------------------------ anchors

@test "--set-anchor NAME STORE OFFSET adds an 'anchor' version; --anchors lists NAME, OFFSET, SET_IN_VERSION" {
	make_store s.vb 'hello world'
	run -0 --separate-stderr vb-history --set-anchor w s.vb 6
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history -m 'the start' --set-anchor start s.vb 0
	# the content does not change
	run -0 vb-cat s.vb
	assert_output 'hello world'
	run -0 vb-history -H s.vb
	assert_equal "${#lines[@]}" 4
	assert_regex "${lines[0]}" "^      3  $TIME_RE  anchor              0          0           11  the start\$"
	assert_regex "${lines[1]}" "^      2  $TIME_RE  anchor              0          0           11\$"
	# --ops lists no operations for them
	run -0 vb-history --ops -H -n 2 s.vb
	assert_equal "${#lines[@]}" 2
	# newest setting first
	run -0 --separate-stderr vb-history --anchors s.vb
	assert_output $'start\t0\t3\nw\t6\t2'
	assert_equal "$stderr" ''
	run -0 vb-history -A s.vb
	assert_output $'start\t0\t3\nw\t6\t2'
	run -0 vb-cat -o @w s.vb
	assert_output world
	# OFFSET in the offset grammar: end, end-N, negative after '--', anchors
	run -0 vb-history --set-anchor e s.vb end
	run -0 vb-history --set-anchor o -- s.vb -4
	run -0 vb-history --set-anchor r s.vb @w+2
	run -0 vb-history --set-anchor h s.vb 0x0
	run -0 vb-history -A s.vb
	assert_output $'h\t0\t7\nr\t8\t6\no\t7\t5\ne\t11\t4\nstart\t0\t3\nw\t6\t2'
	run -0 vb-history --verify s.vb
}

@test "--anchors --json: one object per anchor and line" {
	make_store s.vb 'hello world'
	vb-history --set-anchor w s.vb 6
	vb-history --set-anchor a.b_C9 s.vb 0
	run -0 vb-history --anchors --json s.vb
	assert_output '{"name":"a.b_C9","offset":0,"set_in":3}
{"name":"w","offset":6,"set_in":2}'
	run -0 python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    print(r["name"], r["offset"], r["set_in"])
' < <(vb-history -A -j s.vb)
	assert_output $'a.b_C9 0 3\nw 6 2'
	# no anchors: no output
	make_store t.vb x
	run -0 --separate-stderr vb-history -A --json t.vb
	assert_output ''
	assert_equal "$stderr" ''
}

@test "anchors stay on their byte through edits around them; -V N lists another version" {
	make_store s.vb abcdefghij
	vb-history --set-anchor c s.vb 2
	vb-history --set-anchor h s.vb 7
	vb-insert s.vb 0 --text XYZ
	vb-delete s.vb 6 2
	run -0 vb-cat -r @c:@h s.vb
	assert_output cfg
	# an insert at an anchor goes before its byte
	vb-insert s.vb @h --text +
	run -0 vb-cat s.vb
	assert_output XYZabcfg+hij
	run -0 vb-history -A s.vb
	assert_output $'h\t9\t3\nc\t5\t2'
	run -0 vb-history -A -V 3 s.vb
	assert_output $'h\t7\t3\nc\t2\t2'
	run -0 vb-history --anchors --at-version 4 --json s.vb
	assert_output '{"name":"h","offset":10,"set_in":3}
{"name":"c","offset":5,"set_in":2}'
	run -0 vb-history -A -V 2 s.vb
	assert_output $'c\t2\t2'
	run -0 vb-history -A -V 1 s.vb
	assert_output ''
	run -0 vb-history -A -V 0 s.vb
	assert_output ''
	run -1 vb-history -A -V 7 s.vb
	assert_output 'vb-history: s.vb: version 7 does not exist (the newest is 6)'
}

@test "--set-anchor on a name in use moves it; --remove-anchor removes it; removing an absent one fails" {
	make_store s.vb abcdef
	vb-history --set-anchor a s.vb 1
	run -0 vb-history --set-anchor a s.vb 4
	run -0 vb-history -A s.vb
	assert_output $'a\t4\t3'
	run -0 --separate-stderr vb-history --remove-anchor a -m gone s.vb
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history -A s.vb
	assert_output ''
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" "^      4  $TIME_RE  anchor              0          0            6  gone\$"
	before=$(sum_of s.vb)
	run -1 vb-history --remove-anchor a s.vb
	assert_output "vb-history: s.vb: no anchor 'a' at version 4"
	run -1 vb-history --remove-anchor never s.vb
	assert_output "vb-history: s.vb: no anchor 'never' at version 4"
	run -1 vb-history --set-anchor b s.vb @a
	assert_output "vb-history: s.vb: no anchor 'a' at version 4"
	assert_same_sum s.vb "$before"
	# the versions before still have it
	run -0 vb-history -A -V 3 s.vb
	assert_output $'a\t4\t3'
	run -0 vb-history -A -V 2 s.vb
	assert_output $'a\t1\t2'
	# and it can be set again
	run -0 vb-history --set-anchor a s.vb 0
	run -0 vb-history -A s.vb
	assert_output $'a\t0\t5'
}

@test "--set-anchor errors: beyond the end, before the start, exit 1 and unchanged" {
	make_store s.vb abcdef
	vb-history --set-anchor a s.vb 2
	before=$(sum_of s.vb)
	run -1 vb-history --set-anchor b s.vb 7
	assert_output 'vb-history: s.vb: offset 7 is beyond the end (length 6)'
	run -1 vb-history --set-anchor b s.vb end-7
	assert_output 'vb-history: s.vb: offset end-7 is before the start (length 6)'
	run -1 vb-history --set-anchor b s.vb @a+5
	assert_output 'vb-history: s.vb: offset @a+5 is beyond the end (length 6)'
	run -1 vb-history --set-anchor b s.vb @a-3
	assert_output 'vb-history: s.vb: offset @a-3 is before the start (the anchor is at 2)'
	run -1 vb-history --set-anchor b nosuch.vb 0
	assert_output 'vb-history: nosuch.vb: no such store'
	assert_file_not_exists nosuch.vb
	assert_same_sum s.vb "$before"
	# the end itself is a place for an anchor
	run -0 vb-history --set-anchor b s.vb @a+4
	run -0 vb-history -A s.vb
	assert_output $'b\t6\t3\na\t2\t2'
}

@test "--set-anchor -V N: OFFSET is in version N's content, carried to the head" {
	make_store s.vb 'hello world'
	vb-insert s.vb 0 --text '>> '
	vb-delete s.vb 3 5
	run -0 vb-cat s.vb
	assert_output '>>  world'
	run -0 vb-history --set-anchor w -V 1 s.vb 6
	run -0 vb-history -A s.vb
	assert_output $'w\t4\t4'
	run -0 vb-cat -o @w s.vb
	assert_output world
	# a byte deleted since: the anchor goes where the deleted bytes were
	run -0 vb-history --set-anchor e --at-version 1 s.vb 1
	run -0 vb-history -A s.vb
	assert_output $'e\t3\t5\nw\t4\t4'
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"op":"anchor",'
	assert_output --partial '"at_version":1,"anchors":[{"name":"e","offset":3}],'
	# anchors named in OFFSET are looked up in version N
	before=$(sum_of s.vb)
	run -1 vb-history --set-anchor x -V 1 s.vb @w
	assert_output "vb-history: s.vb: no anchor 'w' at version 1"
	run -1 vb-history --set-anchor x -V 9 s.vb 0
	assert_output 'vb-history: s.vb: version 9 does not exist (the newest is 5)'
	# OFFSET is checked against version N's length
	run -1 vb-history --set-anchor x -V 1 s.vb 12
	assert_output 'vb-history: s.vb: offset 12 is beyond the end (length 11)'
	assert_same_sum s.vb "$before"
	run -0 vb-history --set-anchor x -V 4 s.vb @w+2
	run -0 vb-history -A s.vb
	assert_output $'x\t6\t6\ne\t3\t5\nw\t4\t4'
}

@test "--set-anchor -V across a revert to an older version fails, exit 1, unchanged" {
	make_store s.vb abc
	vb-insert s.vb end --text d
	vb-history --revert 1 s.vb
	before=$(sum_of s.vb)
	run -1 vb-history --set-anchor a -V 2 s.vb 0
	assert_output 'vb-history: s.vb: version 3 reverts to version 1, which does not have the offsets of version 2: they cannot be carried past that'
	assert_same_sum s.vb "$before"
	# the version reverted to, and the revert itself, are fine
	run -0 vb-history --set-anchor a -V 1 s.vb 1
	run -0 vb-history --set-anchor b -V 3 s.vb 2
	run -0 vb-history -A s.vb
	assert_output $'b\t2\t5\na\t1\t4'
}

@test "a revert takes the anchors back: one set later is gone, one removed later is back" {
	make_store s.vb abcdefghij
	vb-history --set-anchor a s.vb 2
	vb-history --set-anchor b s.vb 5
	vb-insert s.vb 0 --text XYZ
	vb-history --remove-anchor a s.vb
	run -0 vb-history -A s.vb
	assert_output $'b\t8\t3'
	run -0 vb-history --revert 3 s.vb
	run -0 vb-history -A s.vb
	assert_output $'b\t5\t3\na\t2\t2'
	run -0 vb-cat -r @a:@b s.vb
	assert_output cde
	run -0 vb-history --revert 1 s.vb
	run -0 vb-history -A s.vb
	assert_output ''
	run -1 vb-cat -o @b s.vb
	assert_output "vb-cat: s.vb: no anchor 'b' at version 7"
	run -0 vb-history --revert 5 s.vb
	run -0 vb-history -A s.vb
	assert_output $'b\t8\t3'
	run -1 vb-history --remove-anchor a s.vb
	assert_output "vb-history: s.vb: no anchor 'a' at version 8"
	run -0 vb-history --verify s.vb
}

@test "--json: at_version for offsets of an older version, anchors set and removed" {
	make_store s.vb 'hello world'
	vb-insert s.vb 0 --text '>> '
	vb-insert -V 1 -a w s.vb 6 --text big
	vb-history --remove-anchor w -m bye s.vb
	vb-history --set-anchor e -V 2 s.vb end
	run -0 vb-cat s.vb
	assert_output '>> hello bigworld'
	run -0 python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
for r in rows:
    print(r["version"], r["op"], r["ops"], r.get("at_version"), json.dumps(r.get("anchors")), r["message"])
' < <(vb-history --json s.vb)
	assert_output '5 anchor 0 2 [{"name": "e", "offset": 17}] 
4 anchor 0 None [{"name": "w", "removed": true}] bye
3 insert 1 1 [{"name": "w", "offset": 9}] 
2 insert 1 None null 
1 insert 1 None null 
0 create 1 None null '
	run -0 vb-history -H s.vb
	assert_regex "${lines[0]}" "^      5  $TIME_RE  anchor              0          0           17\$"
	assert_regex "${lines[1]}" "^      4  $TIME_RE  anchor              0          0           17  bye\$"
	assert_regex "${lines[2]}" "^      3  $TIME_RE  insert              9          3           17\$"
}

@test "anchors are read without the base file (a warning); setting one needs it" {
	make_base base.txt 10
	vb-insert --base base.txt s.vb 0 --text x
	vb-history --set-anchor q s.vb 3
	mv base.txt saved
	run -0 --separate-stderr vb-history -A s.vb
	assert_output $'q\t3\t2'
	assert_regex "$stderr" "^vb-history: s\\.vb: warning: base file 'base\\.txt' \\(or '/[^']*/base\\.txt'\\) cannot be opened: No such file or directory\$"
	before=$(sum_of s.vb)
	run -1 vb-history --set-anchor r s.vb 3
	assert_output --regexp "^vb-history: s\\.vb: base file 'base\\.txt' \\(or '/[^']*/base\\.txt'\\) cannot be opened: No such file or directory\$"
	assert_same_sum s.vb "$before"
	mv saved base.txt
	run -0 vb-history --set-anchor r s.vb 3
}

@test "--set-anchor and --remove-anchor with the write lock held: exit 4, unchanged" {
	make_store s.vb abc
	vb-history --set-anchor a s.vb 1
	hold_lock s.vb
	before=$(sum_of s.vb)
	run -4 vb-history --set-anchor b --wait 0 s.vb 0
	assert_output --regexp '^vb-history: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	run -4 vb-history --remove-anchor a --wait 0 s.vb
	assert_output --regexp '^vb-history: s\.vb: another process holds the write lock \(waited 0 s[;)]'
	assert_same_sum s.vb "$before"
	# readers take no lock
	run -0 vb-history -A s.vb
	assert_output $'a\t1\t2'
	release_lock 'x'
	run -0 vb-history -A s.vb
	assert_output $'a\t2\t2'
}

# ------------------------------------------------------------ --verify

@test "--verify on a good store" {
	make_history
	run -0 --separate-stderr vb-history --verify s.vb
	assert_output --regexp "^s\\.vb: OK: 4 versions, [0-9]+ records, [0-9]+ tree nodes, $(stat -c %s s.vb) bytes\$"
	assert_equal "$stderr" ''
}

@test "--verify on a store with a base file" {
	make_base base.txt 1000
	vb-insert --base base.txt s.vb 0 --text x
	vb-delete s.vb 100 100
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 3 versions, '
	rm base.txt
	run -1 vb-history --verify s.vb
	assert_line --index 0 --regexp "^vb-history: s\\.vb: base file 'base\\.txt' \\(or '/[^']*/base\\.txt'\\) cannot be opened: No such file or directory\$"
	assert_line --index 1 'vb-history: s.vb: verification failed: 1 problem found'
}

@test "--verify finds a flipped byte in the middle of a data record" {
	make_store s.vb hello
	vb-insert s.vb 0 --text "$(printf 'A%.0s' $(seq 1 60))"
	vb-insert s.vb 0 --text tail
	off=$(grep -oba AAAAAAAAAA s.vb | head -1 | cut -d: -f1)
	printf 'B' | dd of=s.vb bs=1 seek=$((off + 20)) conv=notrunc status=none
	before=$(sum_of s.vb)
	run -1 --separate-stderr vb-history --verify s.vb
	assert_output ''
	assert_regex "${stderr_lines[0]}" '^vb-history: s\.vb: record at offset [0-9]+: checksum mismatch$'
	assert_regex "$stderr" $'\nvb-history: s\\.vb: version 3: record at offset [0-9]+: checksum mismatch\n'
	assert_regex "${stderr_lines[-1]}" '^vb-history: s\.vb: verification failed: [0-9]+ problems found$'
	# verify only reads
	assert_same_sum s.vb "$before"
}

@test "--verify with a torn tail: a note on stderr, exit 0; the next writer removes it" {
	make_history
	cp s.vb good.vb
	printf 'garbagegarbage' >> s.vb
	run -0 --separate-stderr vb-history --verify s.vb
	assert_output --regexp "^s\\.vb: OK: 4 versions, [0-9]+ records, [0-9]+ tree nodes, $(stat -c %s good.vb) bytes\$"
	assert_equal "$stderr" "vb-history: s.vb: note: 14 bytes after the last commit (offset $(stat -c %s good.vb)) belong to no version (an interrupted write); the next writer removes them"
	run -0 vb-insert s.vb end --text '!'
	cmp -n "$(stat -c %s good.vb)" s.vb good.vb
	run -0 --separate-stderr vb-history --verify s.vb
	assert_equal "$stderr" ''
	run -0 vb-cat s.vb
	assert_output 'WORLD!'
}

@test "a damaged newest commit: readers fall back with a warning, --verify fails, the next writer cuts it" {
	make_history
	size=$(stat -c %s s.vb)
	cp s.vb before.vb
	vb-insert s.vb end --text '?' -m 'will be damaged'
	good=$(vb-cat s.vb)
	# flip a byte inside the last commit's payload (its message)
	off=$(( $(stat -c %s s.vb) - 40 ))
	flip_byte s.vb "$off"
	run -0 --separate-stderr vb-cat s.vb
	assert_output "$(vb-cat before.vb)"
	assert_regex "$stderr" "^vb-cat: s\.vb: warning: ignoring [0-9]+ bytes after the last commit \(a record there has a bad checksum; the next writer removes them\)\$"
	run -1 --separate-stderr vb-history --verify s.vb
	assert_regex "$stderr" "a whole record after the last good commit \(offset $size\) has a bad checksum"
	assert_regex "$stderr" "verification failed"
	run -0 --separate-stderr vb-insert s.vb end --text '!'
	assert_regex "$stderr" "^vb-insert: s\.vb: warning: [0-9]+ bytes after the last commit belong to no version \\(a record there has a bad checksum\\); this writer removes them\$"
	run -0 vb-history --verify s.vb
	[ "$good" = "$(vb-cat before.vb)?" ]
	run -0 vb-cat s.vb
	assert_output "$(vb-cat before.vb)!"
}

@test "--verify: a damaged header is an error" {
	make_history
	# byte 20 is in the random store id: flipped, not overwritten (a
	# fixed byte would sometimes be the one already there)
	flip_byte s.vb 20
	run -1 vb-history --verify s.vb
	assert_output 'vb-history: s.vb: header checksum mismatch'
}

# ------------------------------------------------------------ --diff

DIFF_HEADER='A_OFFSET A_LENGTH B_OFFSET B_LENGTH'

# apply_diff A_FILE B_FILE: apply the ranges on stdin (no title line) to
# the bytes of A_FILE and compare the result with B_FILE.
apply_diff() {
	local pa=0 ao al bo bl
	: > applied
	while read -r ao al bo bl; do
		tail -c +$((pa + 1)) "$1" | head -c $((ao - pa)) >> applied
		tail -c +$((bo + 1)) "$2" | head -c "$bl" >> applied
		pa=$((ao + al))
	done
	tail -c +$((pa + 1)) "$1" >> applied
	cmp applied "$2"
}

@test "--diff A STORE B: an insert, a delete and a replace, one range each" {
	make_store s.vb 'hello world'                  # 1
	vb-insert s.vb 5 --text ', big'                 # 2: hello, big world
	vb-delete s.vb 0 7                              # 3: big world
	vb-insert s.vb 4 --replace 5 --text there      # 4: big there
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-history --diff 1 s.vb 2
	assert_equal "$stderr" ''
	assert_output "$DIFF_HEADER
5 0 5 5"
	run -0 vb-history --diff 2 s.vb 3
	assert_output "$DIFF_HEADER
0 7 0 0"
	run -0 vb-history --diff 3 s.vb 4
	assert_output "$DIFF_HEADER
4 5 4 5"
	# several versions apart: the changes together ("hello" became the
	# "big" of version 2, the space stayed, "world" became "there")
	run -0 vb-history --diff 1 s.vb 4
	assert_output "$DIFF_HEADER
0 5 0 3
6 5 4 5"
	run -0 vb-history --diff=0 s.vb 1
	assert_output "$DIFF_HEADER
0 0 0 11"
	assert_same_sum s.vb "$before"
}

@test "--diff A STORE compares A with the newest version" {
	make_history
	run -0 vb-history --diff 1 s.vb
	assert_output "$DIFF_HEADER
0 11 0 5"
	run -0 vb-history --diff 2 s.vb
	assert_output "$DIFF_HEADER
0 5 0 5"
	run -0 vb-history --diff 3 s.vb
	assert_output ''
}

@test "--diff: equal versions print nothing, also after a revert back; A after B gives the ranges reversed" {
	make_store s.vb 'hello world'
	vb-insert s.vb 5 --text ', big'
	vb-delete s.vb 0 2
	vb-history --revert 1 s.vb                      # 4: the content of 1
	run -0 --separate-stderr vb-history --diff 2 s.vb 2
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history --diff 1 s.vb 4
	assert_output ''
	run -0 vb-history --diff 4 s.vb
	assert_output ''
	run -0 vb-history --diff 1 s.vb 3
	assert_output "$DIFF_HEADER
0 2 0 0
5 0 3 5"
	run -0 vb-history --diff 3 s.vb 1
	assert_output "$DIFF_HEADER
0 0 0 2
3 5 5 0"
	run -0 vb-history --diff 3 s.vb
	assert_output "$DIFF_HEADER
0 0 0 2
3 5 5 0"
}

@test "--diff: many ranges over a base file; applied to version A they give version B" {
	make_base base.txt 3000
	vb-insert --base base.txt s.vb 0 --text '# numbers
'                                                       # 1
	printf '100 7\n2000 13\n5000 1\n9000 300\n' > r
	vb-delete --ranges r s.vb                       # 2
	vb-insert s.vb 4000 --text 'inserted'           # 3
	vb-insert s.vb end --text 'the end'             # 4
	vb-insert s.vb 7000 --replace 2 --text XYZ      # 5
	vb-delete s.vb 0 10                             # 6
	vb-history --revert 3 s.vb                      # 7
	vb-insert s.vb 12 --text 'after the revert'     # 8
	before=$(sum_of s.vb)
	for v in 0 1 2 3 4 5 6 7 8; do
		vb-cat -V "$v" s.vb > "v$v"
	done
	for a in 0 1 2 3 4 5 6 7 8; do
		for b in 0 2 5 6 8; do
			vb-history -H --diff "$a" s.vb "$b" > d
			apply_diff "v$a" "v$b" < d
		done
	done
	# the ranges are in order, apart, and none is empty
	run -0 vb-history -H --diff 0 s.vb 5
	assert_equal "${#lines[@]}" 8
	run -0 awk 'NR > 1 && ($1 <= pa || $3 <= pb) { bad = 1 }
		$2 + $4 == 0 { bad = 1 }
		{ pa = $1 + $2; pb = $3 + $4 }
		END { print bad ? "bad" : "good" }' d
	assert_output good
	assert_same_sum s.vb "$before"
}

@test "--diff --json: one object per range and line, no title line" {
	make_history
	run -0 vb-history --json --diff 1 s.vb 3
	assert_output '{"a_offset":0,"a_length":11,"b_offset":0,"b_length":5}'
	make_store t.vb 'abcdef'
	vb-delete t.vb 1 1
	vb-delete t.vb 3 1
	run -0 vb-history -j --diff 1 t.vb
	assert_output '{"a_offset":1,"a_length":1,"b_offset":1,"b_length":0}
{"a_offset":4,"a_length":1,"b_offset":3,"b_length":0}'
	run -0 vb-history --json --diff 1 t.vb 1
	assert_output ''
}

@test "--diff -H/--no-header leaves out the column titles" {
	make_history
	run -0 vb-history -H --diff 1 s.vb 2
	assert_output '0 6 0 0'
	run -0 vb-history --diff 1 --no-header s.vb 2
	assert_output '0 6 0 0'
}

@test "--diff reads neither the content nor the base file (a warning if it is gone)" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text x
	rm base.txt
	run -0 --separate-stderr vb-history --diff 0 s.vb
	assert_output "$DIFF_HEADER
10 0 10 1"
	assert_regex "$stderr" "^vb-history: s\\.vb: warning: base file 'base\\.txt' .* cannot be opened: No such file or directory\$"
}

@test "--diff: a version that does not exist is an error, exit 1, unchanged" {
	make_history
	before=$(sum_of s.vb)
	run -1 --separate-stderr vb-history --diff 4 s.vb
	assert_output ''
	assert_equal "$stderr" 'vb-history: s.vb: version 4 does not exist (the newest is 3)'
	run -1 --separate-stderr vb-history --diff 1 s.vb 9
	assert_output ''
	assert_equal "$stderr" 'vb-history: s.vb: version 9 does not exist (the newest is 3)'
	run -1 vb-history --diff 0x10 s.vb 1K
	assert_output 'vb-history: s.vb: version 16 does not exist (the newest is 3)'
	run -1 vb-history --diff 0 nosuch.vb
	assert_output 'vb-history: nosuch.vb: no such store'
	echo plain > plain
	run -1 vb-history --diff 0 plain
	assert_output 'vb-history: plain: not a vb store'
	assert_same_sum s.vb "$before"
}

@test "--diff usage errors: malformed versions, operands, options that do not combine" {
	make_history
	before=$(sum_of s.vb)
	local choose='choose one of --revert, --verify, --anchors, --diff, --set-anchor, --remove-anchor, --set-base, --export and --apply'
	run vb-history --diff x s.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --diff 1 s.vb y
	assert_usage_error vb-history "invalid version 'y'"
	run vb-history --diff=-1 s.vb
	assert_usage_error vb-history "invalid version '-1' (a version cannot be negative)"
	run vb-history --diff 1 s.vb -- -2
	assert_usage_error vb-history "invalid version '-2' (a version cannot be negative)"
	run vb-history --diff 1 s.vb ''
	assert_usage_error vb-history "empty version"
	run vb-history --diff 1
	assert_usage_error vb-history 'missing STORE'
	run vb-history --diff 1 s.vb 2 3
	assert_usage_error vb-history "extra operand '3'"
	run vb-history --diff 1 -
	assert_usage_error vb-history "STORE must be a file ('-' is not a store)"
	run vb-history --diff
	assert_usage_error vb-history '--diff: missing argument'
	run vb-history --diff 1 --revert 1 s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --diff 1 --verify s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --diff 1 --anchors s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --diff 1 --set-anchor a s.vb 0
	assert_usage_error vb-history "$choose"
	run vb-history --diff 1 --remove-anchor a s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --diff 1 --ops s.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --diff 1 -n 2 s.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --diff 1 -m note s.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history --diff 1 --if-version 3 s.vb
	assert_usage_error vb-history '--if-version only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --diff 1 --no-sync s.vb
	assert_usage_error vb-history '--no-sync only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --diff 1 --no-auto-flatten s.vb
	assert_usage_error vb-history '--no-auto-flatten only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --no-auto-flatten s.vb
	assert_usage_error vb-history '--no-auto-flatten only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --diff 1 -V 2 s.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	assert_same_sum s.vb "$before"
}

@test "--diff: a closed output pipe is quiet, a write error is reported" {
	make_store s.vb "$(head -c 30000 /dev/zero | tr '\0' x)"
	seq 0 5 29995 | awk '{ print $1, 1 }' > r
	vb-delete --ranges r s.vb
	[ "$(vb-history --diff 1 s.vb | wc -l)" -eq 6001 ]
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-history --diff 1 s.vb | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-history --json --diff 1 s.vb | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -1 bash -c 'vb-history --diff 1 s.vb > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
	run -1 bash -c 'vb-history --diff 0 s.vb 1 > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
	run -1 bash -c 'vb-history --json --diff 1 s.vb > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
}

# ------------------------------------------------------------ --diff --unified

# same_as_diff A B [N]: vb-history --diff A s.vb B --unified=N (default:
# --unified) prints what diff -u (-U N) of the two flat versions prints,
# headers aside, and its header lines name s.vb@A and s.vb@B with the
# versions' times.
same_as_diff() {
	local a=$1 b=$2 n=${3:-}
	vb-cat -V "$a" s.vb > "flat$a"
	vb-cat -V "$b" s.vb > "flat$b"
	if [ -n "$n" ]; then
		vb-history --diff "$a" s.vb "$b" --unified="$n" > ours
		diff -U "$n" "flat$a" "flat$b" > theirs || :
	else
		vb-history --diff "$a" s.vb "$b" --unified > ours
		diff -u "flat$a" "flat$b" > theirs || :
	fi
	if [ -s theirs ]; then
		head -2 ours > ours.head
		grep -Eq "^--- s\.vb@$a	[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} [+-][0-9]{4}\$" ours.head
		grep -Eq "^\+\+\+ s\.vb@$b	[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} [+-][0-9]{4}\$" ours.head
	fi
	diff <(tail -n +3 theirs) <(tail -n +3 ours)
}

# round_trip A B N: the patch from version A to B, applied to A's content
# by patch(1), gives B's content.
round_trip() {
	local a=$1 b=$2 n=$3
	vb-history --diff "$a" s.vb "$b" --unified="$n" > p
	cp "v$a" work
	if [ -s p ]; then
		patch -s --binary -o out work < p > perr 2>&1 || {
			echo "patch failed: $a -> $b, N=$n"; cat perr p; return 1; }
	else
		cp work out
	fi
	cmp out "v$b" || { echo "wrong result: $a -> $b, N=$n"; cat p; return 1; }
	rm -f out
}

@test "--diff --unified prints what diff -u prints: inserted, deleted and changed lines, context, merged hunks" {
	make_base base.txt 40
	vb-insert --base base.txt s.vb 0 --text 'first
'                                                       # 1: a line at the start
	vb-delete s.vb 12 3                             # 2: line 5 ("5\n" is at 10)
	vb-insert s.vb 30 --text 'X'                    # 3: inside a line
	vb-insert s.vb end --text 'last
'                                                       # 4: a line at the end
	vb-insert s.vb end --text 'no newline'          # 5
	vb-delete s.vb 0 6                              # 6: the first line again
	vb-insert s.vb 50 --replace 4 --text 'a
b
'                                                       # 7
	vb-history --revert 3 s.vb                      # 8
	before=$(sum_of s.vb)
	for v in 1 2 3 4 5 6 7 8; do
		same_as_diff $((v - 1)) "$v"
	done
	for pair in '7 0' '5 6' '0 5' '4 8'; do
		same_as_diff $pair
	done
	for pair in '0 7' '6 5'; do
		same_as_diff $pair 0
		same_as_diff $pair 1
		same_as_diff $pair 6
	done
	assert_same_sum s.vb "$before"
}

@test "--diff --unified: the header lines, a hunk's counts, no newline at the end, empty versions" {
	vb-insert --create s.vb 0 --text 'one
two
three'                                                  # 1
	vb-history --revert 0 s.vb                      # 2: empty again
	run -0 --separate-stderr vb-history --diff 0 s.vb 1 --unified
	assert_equal "$stderr" ''
	assert_line --index 0 --regexp '^--- s\.vb@0	[0-9-]{10} [0-9:]{8}\.[0-9]{9} \+0000$'
	assert_line --index 1 --regexp '^\+\+\+ s\.vb@1	[0-9-]{10} [0-9:]{8}\.[0-9]{9} \+0000$'
	assert_equal "$(tail -n +3 <<< "$output")" '@@ -0,0 +1,3 @@
+one
+two
+three
\ No newline at end of file'
	run -0 vb-history --diff 1 s.vb --unified
	assert_equal "$(tail -n +3 <<< "$output")" '@@ -1,3 +0,0 @@
-one
-two
-three
\ No newline at end of file'
	# the version's time, in local time as diff writes it
	TZ=XYZ-9 run -0 vb-history --diff 1 s.vb --unified
	assert_line --index 0 --regexp '^--- s\.vb@1	.* \+0900$'
	vb-insert s.vb 0 --text 'x'                    # 3
	run -0 vb-history --diff 2 s.vb -u
	assert_equal "$(tail -n +3 <<< "$output")" '@@ -0,0 +1 @@
+x
\ No newline at end of file'
}

@test "--diff --unified: patch(1) turns version A into version B, random edits (CR LF split, no final newline, empty, whole deletions)" {
	local seed v len off n t k
	for seed in 7 1234; do
		RANDOM=$seed
		rm -f s.vb v[0-9]*
		printf 'alpha\r\nbeta\ngamma\r\n\r\ndelta' > base.txt
		vb-insert --base base.txt s.vb 0 --text ''
		len=$(stat -c %s base.txt)
		for ((v = 2; v <= 16; v++)); do
			case $((RANDOM % 9)) in
			0|1|2)
				t=
				for ((k = RANDOM % 6; k >= 0; k--)); do
					case $((RANDOM % 6)) in
					0) t+=$'\n' ;; 1) t+=$'\r' ;; 2) t+=$'\r\n' ;; 3) t+=ab ;; 4) t+=$'line\n' ;; 5) t+=x ;;
					esac
				done
				vb-insert s.vb $((RANDOM % (len + 1))) --text "$t" ;;
			3|4)
				if ((len)); then
					off=$((RANDOM % len)) n=$((RANDOM % 6 + 1))
					((n > len - off)) && n=$((len - off))
					vb-delete s.vb "$off" "$n"
				else
					vb-insert s.vb 0 --text $'new\n'
				fi ;;
			5) vb-insert s.vb 0 --text $'top\r\n' ;;
			6) vb-insert s.vb end --text 'tail' ;;
			7) vb-history --revert $((RANDOM % v)) s.vb ;;
			8) if ((len)); then vb-delete s.vb 0 "$len"; else vb-insert s.vb 0 --text $'\n'; fi ;;
			esac
			len=$(vb-history --json -n 1 s.vb | sed 's/.*"size":\([0-9]*\).*/\1/')
		done
		before=$(sum_of s.vb)
		for ((v = 0; v <= 16; v++)); do
			vb-cat -V "$v" s.vb > "v$v"
		done
		for ((k = 0; k < 16; k++)); do
			round_trip $((RANDOM % 17)) $((RANDOM % 17)) $((RANDOM % 4))
		done
		for ((v = 1; v <= 16; v++)); do
			round_trip $((v - 1)) "$v" 3
		done
		assert_same_sum s.vb "$before"
	done
}

@test "--diff --unified: equal versions print nothing (a revert, a flatten), status 0" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text 'x'    # 1
	vb-history --revert 0 s.vb                      # 2
	vb-flatten s.vb                                 # 3: every byte copied
	run -0 --separate-stderr vb-history --diff 0 s.vb 2 --unified
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history --diff 0 s.vb --unified
	assert_output ''
	run -0 vb-history --diff 3 s.vb 3 --unified
	assert_output ''
	# the range list still says where the bytes came from
	run -0 vb-history -H --diff 0 s.vb
	assert_output '0 292 0 292'
}

@test "--diff --unified: a NUL byte in a line to show says 'Binary files ... differ', status 0" {
	make_base base.txt 20
	vb-insert --base base.txt s.vb 0 --text ''      # 1
	printf 'a\0b\n' | vb-insert s.vb 4              # 2: a line after line 2
	vb-insert s.vb 20 --text 'Z'                    # 3: line 10 ("9") changed
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-history --diff 1 s.vb 2 --unified
	assert_output 'Binary files s.vb@1 and s.vb@2 differ'
	assert_equal "$stderr" ''
	run -0 vb-history --diff 2 s.vb 1 -u
	assert_output 'Binary files s.vb@2 and s.vb@1 differ'
	# a NUL in the context (line 3, the change on line 10): binary with 7
	# lines of context, text with 6
	run -0 vb-history --diff 2 s.vb 3 --unified=7
	assert_output 'Binary files s.vb@2 and s.vb@3 differ'
	run -0 vb-history --diff 2 s.vb 3 --unified=6
	assert_line --index 2 '@@ -4,13 +4,13 @@'
	assert_line --index 9 '-9'
	assert_line --index 10 '+Z9'
	assert_same_sum s.vb "$before"
}

@test "--diff --unified: a patch longer than --max-diff-bytes (1M by default) is one summary line, status 0" {
	make_store s.vb 'a
b
c
'
	head -c 1100000 /dev/zero | tr '\0' 'y' | vb-insert s.vb 2
	run -0 --separate-stderr vb-history --diff 1 s.vb --unified
	assert_output 'Files s.vb@1 and s.vb@2 differ (too large to show: more than 1048576 bytes; see --max-diff-bytes)'
	assert_equal "$stderr" ''
	run -0 vb-history --diff 1 s.vb --unified --max-diff-bytes 2M
	assert_equal "${#lines[@]}" 7
	assert_line --index 2 '@@ -1,3 +1,3 @@'
	# the limit counts the whole patch, headers included
	vb-insert s.vb 0 --text 'new
'                                                       # 3
	before=$(sum_of s.vb)
	vb-history --diff 2 s.vb 3 -u0 --max-diff-bytes=1G > p
	size=$(stat -c %s p)
	run -0 vb-history --diff 2 s.vb 3 -u0 --max-diff-bytes "$size"
	assert_output "$(cat p)"
	run -0 vb-history --diff 2 s.vb 3 -u0 --max-diff-bytes $((size - 1))
	assert_output "Files s.vb@2 and s.vb@3 differ (too large to show: more than $((size - 1)) bytes; see --max-diff-bytes)"
	assert_same_sum s.vb "$before"
}

@test "--diff --unified[=N] and -u[N]: N only in the same word; a word after a bare --unified is an operand" {
	make_base base.txt 30
	vb-insert --base base.txt s.vb 20 --text 'x'    # 1: line 11
	vb-cat -V 0 s.vb > v0
	vb-cat s.vb > v1
	run -0 vb-history --diff 0 --unified s.vb 1
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -u v0 v1 | tail -n +3)"
	run -0 vb-history --unified --diff 0 s.vb
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -u v0 v1 | tail -n +3)"
	run -0 vb-history -u --diff 0 s.vb -- 1
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -u v0 v1 | tail -n +3)"
	run -0 vb-history --diff 0 s.vb -u1
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -U 1 v0 v1 | tail -n +3)"
	run -0 vb-history --diff 0 s.vb --unified=0
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -U 0 v0 v1 | tail -n +3)"
	run -0 vb-history --diff 0 s.vb --unified 1
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -u v0 v1 | tail -n +3)"
	# the last one counts
	run -0 vb-history --diff 0 s.vb -u1 --unified=2
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -U 2 v0 v1 | tail -n +3)"
	# "--unified 5": 5 is the STORE
	run -1 vb-history --diff 0 --unified 5
	assert_output "vb-history: 5: no such store"
	run vb-history --diff 0 --unified 5 s.vb
	assert_usage_error vb-history "invalid version 's.vb'"
	run -0 vb-history --diff 0 s.vb --unified=99999999999
	assert_equal "$(tail -n +3 <<< "$output")" "$(diff -U 999999 v0 v1 | tail -n +3)"
}

@test "--diff --unified: errors (a version that does not exist, a missing base) exit 1 and change nothing" {
	make_base base.txt 10
	vb-insert --base base.txt s.vb 0 --text 'x'
	before=$(sum_of s.vb)
	run -1 --separate-stderr vb-history --diff 0 s.vb 5 --unified
	assert_output ''
	assert_equal "$stderr" 'vb-history: s.vb: version 5 does not exist (the newest is 1)'
	run -1 --separate-stderr vb-history --diff 7 s.vb --unified
	assert_equal "$stderr" 'vb-history: s.vb: version 7 does not exist (the newest is 1)'
	run -1 vb-history --diff 0 nosuch.vb -u
	assert_output 'vb-history: nosuch.vb: no such store'
	mv base.txt gone.txt
	run -1 --separate-stderr vb-history --diff 0 s.vb -u
	assert_output ''
	assert_regex "$stderr" "^vb-history: s\\.vb: .*base file 'base\\.txt'.*"
	assert_same_sum s.vb "$before"
	# a version that reads none of the base needs no base file
	vb-insert --create t.vb 0 --text 'a'
	vb-insert t.vb end --text 'b'
	run -0 vb-history --diff 1 t.vb -u
	assert_line --index 2 '@@ -1 +1 @@'
}

@test "--diff --unified usage errors: a bad N or SIZE, options that do not apply" {
	make_history
	before=$(sum_of s.vb)
	run vb-history --diff 1 s.vb --unified=x
	assert_usage_error vb-history "invalid number of context lines 'x'"
	run vb-history --diff 1 s.vb --unified=
	assert_usage_error vb-history 'empty number of context lines'
	run vb-history --diff 1 s.vb --unified=-1
	assert_usage_error vb-history "invalid number of context lines '-1' (a number of context lines cannot be negative)"
	run vb-history --diff 1 s.vb -ux
	assert_usage_error vb-history "invalid number of context lines 'x'"
	run vb-history --diff 1 s.vb -u --max-diff-bytes 0
	assert_usage_error vb-history '--max-diff-bytes must be at least 1'
	run vb-history --diff 1 s.vb -u --max-diff-bytes 2G
	assert_usage_error vb-history "--max-diff-bytes '2G' is too large (at most 1G)"
	run vb-history --diff 1 s.vb -u --max-diff-bytes lots
	assert_usage_error vb-history "invalid --max-diff-bytes 'lots'"
	run vb-history --diff 1 s.vb --max-diff-bytes 1M
	assert_usage_error vb-history '--max-diff-bytes only applies to --unified'
	run vb-history --unified s.vb
	assert_usage_error vb-history '--unified only applies to --diff'
	run vb-history --revert 1 -u s.vb
	assert_usage_error vb-history '--unified only applies to --diff'
	run vb-history --diff 1 s.vb -u --json
	assert_usage_error vb-history '--json does not apply to --unified'
	run vb-history --diff 1 s.vb -u -H
	assert_usage_error vb-history '--no-header does not apply to --unified'
	run vb-history --diff 1 s.vb 2 3 -u
	assert_usage_error vb-history "extra operand '3'"
	run vb-history --diff 1 -u
	assert_usage_error vb-history 'missing STORE'
	assert_same_sum s.vb "$before"
}

@test "--diff --unified: a closed output pipe is quiet, a write error is reported" {
	make_base base.txt 2000
	vb-insert --base base.txt s.vb 0 --text ''
	seq 0 50 8000 | awk '{ print $1, 1 }' > r
	vb-delete --ranges r s.vb
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-history --diff 1 s.vb -u --max-diff-bytes 1G | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -1 bash -c 'vb-history --diff 1 s.vb -u > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
}

# ------------------------------------------------------------ errors

@test "usage errors" {
	make_history
	before=$(sum_of s.vb)
	run vb-history
	assert_usage_error vb-history 'missing STORE'
	run vb-history s.vb other.vb
	assert_usage_error vb-history "extra operand 'other.vb'"
	run vb-history -
	assert_usage_error vb-history "STORE must be a file ('-' is not a store)"
	run vb-history --revert 1 --verify s.vb
	assert_usage_error vb-history 'choose one of --revert, --verify, --anchors, --diff, --set-anchor, --remove-anchor, --set-base, --export and --apply'
	run vb-history -m note s.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history -m note --verify s.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history --wait 1 s.vb
	assert_usage_error vb-history '--wait only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --no-sync s.vb
	assert_usage_error vb-history '--no-sync only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --verify --json s.vb
	assert_usage_error vb-history '--json only applies to the list of versions, --anchors and --diff'
	run vb-history --revert 1 --json s.vb
	assert_usage_error vb-history '--json only applies to the list of versions, --anchors and --diff'
	run vb-history --revert 1 -n 2 s.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --verify --ops s.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --verify -H s.vb
	assert_usage_error vb-history '--no-header only applies to the list of versions and --diff'
	run vb-history -n 0 s.vb
	assert_usage_error vb-history '--max-count must be at least 1'
	run vb-history -n x s.vb
	assert_usage_error vb-history "invalid count 'x'"
	run vb-history --revert 1 -m "$(head -c 4097 /dev/zero | tr '\0' m)" s.vb
	assert_usage_error vb-history '--message is longer than 4096 bytes'
	run vb-history --bogus s.vb
	assert_usage_error vb-history '--bogus: unknown option'
	assert_same_sum s.vb "$before"
}

@test "usage errors: anchors, --at-version and --if-version" {
	make_history
	before=$(sum_of s.vb)
	local choose='choose one of --revert, --verify, --anchors, --diff, --set-anchor, --remove-anchor, --set-base, --export and --apply'
	run vb-history --anchors --verify s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --anchors --revert 1 s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --set-anchor a --remove-anchor b s.vb 0
	assert_usage_error vb-history "$choose"
	run vb-history --remove-anchor a --verify s.vb
	assert_usage_error vb-history "$choose"
	run vb-history --set-anchor a --revert 1 s.vb 0
	assert_usage_error vb-history "$choose"
	run vb-history --anchors -n 1 s.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --remove-anchor a -H s.vb
	assert_usage_error vb-history '--no-header only applies to the list of versions and --diff'
	run vb-history --set-anchor a --ops s.vb 0
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --remove-anchor a --json s.vb
	assert_usage_error vb-history '--json only applies to the list of versions, --anchors and --diff'
	run vb-history -m note --anchors s.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history --if-version 3 s.vb
	assert_usage_error vb-history '--if-version only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --if-version 3 --anchors s.vb
	assert_usage_error vb-history '--if-version only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --no-sync --anchors s.vb
	assert_usage_error vb-history '--no-sync only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history -V 1 s.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history --at-version 1 --remove-anchor a s.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history -V 1 --revert 1 s.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history -V 1 --verify s.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history -A -V x s.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --set-anchor a -V -1 s.vb 0
	assert_usage_error vb-history "invalid version '-1' (a version cannot be negative)"
	run vb-history --set-anchor a s.vb
	assert_usage_error vb-history '--set-anchor needs an OFFSET after STORE'
	run vb-history --set-anchor a s.vb 0 1
	assert_usage_error vb-history "extra operand '1'"
	run vb-history --remove-anchor a s.vb 0
	assert_usage_error vb-history "extra operand '0'"
	run vb-history --anchors s.vb 0
	assert_usage_error vb-history "extra operand '0'"
	run vb-history --set-anchor a - 0
	assert_usage_error vb-history "STORE must be a file ('-' is not a store)"
	run vb-history --set-anchor
	assert_usage_error vb-history '--set-anchor: missing argument'
	local name long
	long=$(head -c 64 /dev/zero | tr '\0' n)
	for name in '' 'a b' a-b a/b @a 'a+1' "$long"; do
		run vb-history --set-anchor "$name" s.vb 0
		assert_usage_error vb-history "invalid anchor name '$name' (1 to 63 of A-Z a-z 0-9 _ .)"
		run vb-history --remove-anchor "$name" s.vb
		assert_usage_error vb-history "invalid anchor name '$name' (1 to 63 of A-Z a-z 0-9 _ .)"
	done
	run vb-history --set-anchor a s.vb x
	assert_usage_error vb-history "invalid offset 'x'"
	run vb-history --set-anchor a s.vb @
	assert_usage_error vb-history "invalid offset '@' (an anchor is @NAME, @NAME+N or @NAME-N; NAME is 1 to 63 of A-Z a-z 0-9 _ .)"
	run vb-history --set-anchor a s.vb @b+
	assert_usage_error vb-history "invalid offset '@b+'"
	run vb-history --set-anchor a s.vb -1
	assert_usage_error vb-history "-1: unknown option (write negative offsets after '--')"
	# a bad OFFSET is a usage error before the store is opened
	run vb-history --set-anchor a nosuch.vb x
	assert_usage_error vb-history "invalid offset 'x'"
	assert_same_sum s.vb "$before"
	# 63 characters is the longest name
	run -0 vb-history --set-anchor "${long:1}" s.vb 0
	run -0 vb-history -A s.vb
	assert_output "${long:1}"$'\t0\t4'
}

@test "store errors: missing, not a store, unknown format, truncated header" {
	run -1 vb-history nosuch.vb
	assert_output 'vb-history: nosuch.vb: no such store'
	run -1 vb-history --verify nosuch.vb
	assert_output 'vb-history: nosuch.vb: no such store'
	run -1 vb-history --revert 0 nosuch.vb
	assert_output 'vb-history: nosuch.vb: no such store'
	assert_file_not_exists nosuch.vb
	echo plain > plain
	run -1 vb-history plain
	assert_output 'vb-history: plain: not a vb store'
	make_history
	cp s.vb v2.vb
	printf '\x02' | dd of=v2.vb bs=1 seek=8 conv=notrunc status=none
	before=$(sum_of v2.vb)
	run -1 vb-history v2.vb
	assert_output 'vb-history: v2.vb: unsupported store format version 2 (this vb reads version 1)'
	run -1 vb-history --revert 1 v2.vb
	assert_output 'vb-history: v2.vb: unsupported store format version 2 (this vb reads version 1)'
	assert_same_sum v2.vb "$before"
	head -c 20 s.vb > t.vb
	run -1 vb-history t.vb
	assert_output --regexp '^vb-history: t\.vb: truncated header \(20 of [0-9]+ bytes\)$'
}

@test "file names in messages and in --verify's line are quoted when they need it" {
	make_history
	cp s.vb $'a\nb.vb'
	cp s.vb 'my store'
	before=$(sum_of s.vb)
	run -0 vb-history --verify $'a\nb.vb'
	assert_output --regexp "^'a'\\\$'\\\\n''b\\.vb': OK: 4 versions, "
	run -0 vb-history --verify 'my store'
	assert_output --regexp "^'my store': OK: 4 versions, "
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 4 versions, '
	run -1 vb-history $'no\nsuch.vb'
	assert_output "vb-history: 'no'\$'\\n''such.vb': no such store"
	run -1 vb-history --apply $'no\tfile' s.vb
	assert_output "vb-history: 'no'\$'\\t''file': No such file or directory"
	run vb-history s.vb $'x\ny'
	assert_usage_error vb-history "extra operand 'x'\$'\\n''y'"
	assert_same_sum s.vb "$before"
}

@test "the history does not need the base file (a warning), a revert does" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text x
	rm base.txt
	run -0 --separate-stderr vb-history -H s.vb
	assert_equal "${#lines[@]}" 2
	assert_regex "$stderr" "^vb-history: s\\.vb: warning: base file 'base\\.txt' \\(or '/[^']*/base\\.txt'\\) cannot be opened: No such file or directory\$"
	before=$(sum_of s.vb)
	run -1 vb-history --revert 0 s.vb
	assert_output --regexp "^vb-history: s\\.vb: base file 'base\\.txt' \\(or '/[^']*/base\\.txt'\\) cannot be opened: No such file or directory\$"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ output

@test "a closed output pipe is quiet" {
	make_store s.vb "$(head -c 30000 /dev/zero | tr '\0' x)"
	# 6000 operations in one version: more output than a pipe holds
	seq 0 5 29995 | awk '{ print $1, 1 }' > r
	vb-delete --ranges r s.vb
	[ "$(vb-history --ops s.vb | wc -c)" -gt 100000 ]
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-history --ops s.vb | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
	run -0 --separate-stderr bash -c 'set -o pipefail; vb-history --json --ops s.vb | head -c 10 | wc -c'
	assert_output 10
	assert_equal "$stderr" ''
}

@test "a write error on stdout is reported" {
	make_history
	run -1 bash -c 'vb-history s.vb > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
	run -1 bash -c 'vb-history --verify s.vb > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
}

@test "popt alias files are honoured" {
	make_history
	echo 'vb-history alias --last -n 1 --no-header' > "$HOME/.popt"
	run -0 vb-history --last s.vb
	assert_equal "${#lines[@]}" 1
	assert_regex "${lines[0]}" '^      3  '
}

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-history --help
	assert_line --index 0 'Usage: vb-history [OPTION...] STORE'
	assert_line --index 1 '   or: vb-history [OPTION...] --set-anchor NAME STORE OFFSET'
	assert_line --index 2 '   or: vb-history [OPTION...] --set-base FILE STORE'
	assert_line --index 3 '   or: vb-history [OPTION...] --diff A STORE [B]'
	assert_line --index 4 '   or: vb-history [OPTION...] --export SINCE STORE > FILE'
	assert_line --index 5 '   or: vb-history [OPTION...] --apply FILE STORE'
	assert_output --partial '--set-base=FILE'
	assert_output --partial '--export=SINCE'
	assert_output --partial '--apply=FILE'
	assert_output --partial '--revert=N'
	assert_output --partial '--diff=A'
	assert_output --partial '--anchors'
	assert_output --partial '--set-anchor=NAME'
	assert_output --partial '--remove-anchor=NAME'
	assert_output --partial '--at-version=N'
	assert_output --partial '--if-version=V'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-history --version
	assert_output --regexp '^vb-history \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

@test "-h is --help, and popt's -? still is; --help lists -h" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-history --help
	help=$output
	assert_line '  -h, --help                    show this help and exit (also -?)'
	for h in -h '-?'; do
		run -0 --separate-stderr vb-history "$h"
		assert_equal "$output" "$help"
		assert_equal "$stderr" ''
	done
	# -h wins over the rest of the line, as --help does, and changes nothing
	run -0 --separate-stderr vb-history --revert 0 -Hh s.vb
	assert_equal "$output" "$help"
	assert_same_sum s.vb "$before"
}

@test "--cache and VB_CACHE: checked before anything changes" {
	make_store s.vb 'abcdef'
	before=$(sum_of s.vb)
	run vb-history --cache 2 s.vb
	assert_usage_error vb-history "--cache '2' is too small (at least 256K)"
	VB_CACHE=2 run vb-history --revert 0 s.vb
	assert_usage_error vb-history "VB_CACHE '2' is too small (at least 256K)"
	assert_same_sum s.vb "$before"
	run -0 vb-history --cache 1M s.vb
	assert_line --index 1 --regexp "^ +1  .* insert "
	VB_CACHE=1M vb-history --revert 0 s.vb
	run -0 vb-cat s.vb
	assert_output ''
}

# ------------------------------------------------------ --export, --apply

# head_of STORE: the newest version.
head_of() {
	vb-history --json -n 1 "$1" | sed 's/^{"version":\([0-9]*\),.*/\1/'
}

# same_versions A B FROM [TO]: A and B have the same newest version (or
# both have TO) and, at every version from FROM on (up to TO), the same
# content and the same anchors.
same_versions() {
	local v head
	head=$(head_of "$1")
	if [ $# -gt 3 ]; then
		head=$4
	else
		assert_equal "$(head_of "$2")" "$head"
	fi
	for ((v = $3; v <= head; v++)); do
		cmp <(vb-cat -V "$v" "$1") <(vb-cat -V "$v" "$2") ||
			fail "version $v differs"
		assert_equal "$(vb-history --anchors -V "$v" "$2" | cut -f 1,2 | sort)" \
			"$(vb-history --anchors -V "$v" "$1" | cut -f 1,2 | sort)"
	done
}

# sizes_and_messages STORE: "SIZE MESSAGE" of every version, newest first.
sizes_and_messages() {
	vb-history --json "$1" | sed -E 's/.*"size":([0-9]+).*"message":(.*)}$/\1 \2/'
}

# A store over a base file (version 1), copied to b.vb, then versions 2
# to 6 on a.vb: an insert with an odd message, a delete, an insert that
# sets an anchor, an anchor, and a revert that takes one of them away.
make_pair() {
	seq 1 20000 > base.txt
	vb-insert --create --base base.txt -m start a.vb 0 --text $'head\n'
	cp a.vb b.vb
	vb-insert -m $'ins !#:+ x\tand a newline\n' a.vb 100 --text 'INSERTED'
	vb-delete -m del a.vb 1000 50
	vb-insert -m tail a.vb end --anchor tail --text 'tail line'
	vb-history --set-anchor mid -m mid a.vb 500
	vb-history --revert 3 -m back a.vb
}

@test "--export SINCE STORE > FILE; --apply FILE COPY: the same versions, content, messages and anchors" {
	make_pair
	run -0 --separate-stderr bash -c 'vb-history --export 1 a.vb > e.vbx'
	assert_equal "$stderr" ''
	assert_output ''
	run -0 --separate-stderr vb-history --apply e.vbx b.vb
	assert_output ''
	assert_equal "$stderr" ''
	same_versions a.vb b.vb 1
	assert_equal "$(sizes_and_messages b.vb)" "$(sizes_and_messages a.vb)"
	# the revert arrives as the edits it amounts to, its anchors with it
	run -0 vb-history -H -n 1 b.vb
	assert_regex "$output" '^      6  .* (insert|delete|replace|mixed)[*0-9]* .* back$'
	assert_equal "$(vb-history --anchors b.vb)" ''
	assert_equal "$(vb-history --anchors -V 5 b.vb | cut -f 1 | sort | tr '\n' ' ')" 'mid tail '
	run -0 vb-history --verify b.vb
	# the store as a whole is unchanged by being exported
	cmp <(vb-cat a.vb) <(vb-cat b.vb)
}

@test "through a pipe: vb-history --export 3 a.vb | vb-history --apply - b.vb" {
	make_pair
	run -0 bash -c 'vb-history --export 1 a.vb | vb-history --apply - b.vb'
	assert_output ''
	same_versions a.vb b.vb 1
	# more versions on a.vb, sent from the version b.vb now has
	vb-insert a.vb 3 --text 'more'
	vb-delete a.vb 0 2
	run -0 bash -c 'vb-history --export 6 a.vb | vb-history --apply - b.vb'
	same_versions a.vb b.vb 6
	# stdin redirected from a file works too
	vb-insert a.vb 0 --text 'x'
	vb-history --export 8 a.vb > e.vbx
	run -0 bash -c 'vb-history --apply - b.vb < e.vbx'
	same_versions a.vb b.vb 8
}

@test "two copies that only exchange exports, in both directions, end byte-identical" {
	seq 1 50000 > base.txt
	vb-insert --create --base base.txt a.vb 0 --text $'start\n'
	cp a.vb b.vb
	local round from to since
	for round in 1 2 3 4 5 6 7 8 9 10; do
		if ((round % 2)); then from=a.vb to=b.vb; else from=b.vb to=a.vb; fi
		since=$(head_of "$to")
		assert_equal "$(head_of "$from")" "$since"
		vb-insert -m "round $round" "$from" $((round * 997)) --text "[$round]"
		vb-delete "$from" $((round * 1500)) $((round * 3))
		case $round in
		3) vb-history --set-anchor "r$round" "$from" 4000 ;;
		4) vb-history --revert $((since - 2)) -m undo "$from" ;;
		5) vb-flatten --partial "$from" ;;
		6) vb-insert "$from" 10 --replace 20 --text 'replaced' --anchor "r$round" ;;
		7) head -c 1500000 /dev/urandom > big; vb-insert "$from" 7 big ;;
		8) vb-history --remove-anchor r6 "$from" ;;
		9) vb-flatten "$from" ;;
		esac
		vb-history --export "$since" "$from" | vb-history --apply - "$to"
		assert_equal "$(head_of "$to")" "$(head_of "$from")"
	done
	cmp <(vb-cat a.vb) <(vb-cat b.vb)
	same_versions a.vb b.vb 1
	vb-history --verify a.vb
	vb-history --verify b.vb
}

@test "an insert of several MiB (many records) goes through whole" {
	make_pair
	head -c 3500000 /dev/urandom > big
	vb-insert -m big a.vb 17 big
	vb-history --export 1 a.vb > e.vbx
	vb-history --apply e.vbx b.vb
	same_versions a.vb b.vb 6
	cmp <(vb-cat -o 17 -n 3500000 b.vb) big
}

@test "--apply again, or from an older version: the versions the store has are skipped, nothing changes" {
	make_pair
	vb-history --export 1 a.vb > e.vbx
	vb-history --apply e.vbx b.vb
	before=$(sum_of b.vb)
	run -0 --separate-stderr vb-history --apply e.vbx b.vb
	assert_output ''
	assert_equal "$stderr" ''
	assert_same_sum b.vb "$before"
	vb-history --export 3 a.vb > e3.vbx
	run -0 vb-history --apply e3.vbx b.vb
	assert_same_sum b.vb "$before"
	# an export without versions
	vb-history --export 6 a.vb > e6.vbx
	run -0 vb-history --apply e6.vbx b.vb
	assert_same_sum b.vb "$before"
	# from an older version, onto a store that has some of them
	cp a.vb c.vb
	vb-insert a.vb 0 --text 'new'
	vb-history --export 4 a.vb > e4.vbx
	run -0 vb-history --apply e4.vbx c.vb
	same_versions a.vb c.vb 1
}

@test "--export errors: beyond the newest, compacted away, a terminal, a closed pipe, a full disk" {
	make_pair
	before=$(sum_of a.vb)
	run -1 --separate-stderr vb-history --export 9 a.vb
	assert_equal "$stderr" 'vb-history: a.vb: version 9 does not exist (the newest is 6)'
	assert_output ''
	cp a.vb c.vb
	vb-flatten --compact --keep 2 c.vb
	run -1 --separate-stderr vb-history --export 2 c.vb
	assert_equal "$stderr" 'vb-history: c.vb: version 2 was compacted away (the oldest kept is 5)'
	run -0 bash -c 'vb-history --export 5 c.vb > e.vbx'
	# a terminal gets nothing
	run -1 script -qec 'vb-history --export 1 a.vb' /dev/null
	assert_output --partial 'vb-history: refusing to write an export to a terminal (redirect standard output to a file or a pipe)'
	# a closed pipe is quiet; a full disk is not
	run -0 --separate-stderr bash -c 'vb-history --export 1 a.vb | head -c 1 > /dev/null'
	assert_equal "$stderr" ''
	run -1 bash -c 'vb-history --export 1 a.vb > /dev/full'
	assert_output 'vb-history: write error: No space left on device'
	# a missing base file (the content cannot be read)
	mv base.txt gone.txt
	run -1 bash -c 'vb-history --export 1 a.vb > e.vbx'
	assert_output --partial 'vb-history: a.vb: '
	assert_output --partial 'base.txt'
	mv gone.txt base.txt
	assert_same_sum a.vb "$before"
}

@test "--apply errors: no file, not an export, another store, an older store, diverged copies: exit 1, unchanged" {
	make_pair
	vb-history --export 1 a.vb > e.vbx
	before=$(sum_of b.vb)
	run -1 vb-history --apply nope.vbx b.vb
	assert_output 'vb-history: nope.vbx: No such file or directory'
	run -1 vb-history --apply base.txt b.vb
	assert_output 'vb-history: base.txt: not an export of vb edits (no \x89VBEDIT magic)'
	: > empty
	run -1 vb-history --apply empty b.vb
	assert_output 'vb-history: empty: not an export of vb edits (no \x89VBEDIT magic)'
	run -1 vb-history --apply . b.vb
	assert_output --partial 'vb-history: .: read error: Is a directory'
	run -1 vb-history --apply e.vbx nosuch.vb
	assert_output 'vb-history: nosuch.vb: no such store'
	assert_same_sum b.vb "$before"
	# another store
	make_store o.vb 'other'
	obefore=$(sum_of o.vb)
	run -1 vb-history --apply e.vbx o.vb
	assert_output --regexp '^vb-history: e\.vbx: an export of store [0-9a-f]{16}, not of o\.vb \(store [0-9a-f]{16}\)$'
	assert_same_sum o.vb "$obefore"
	# a copy that is not at the export's version yet
	vb-history --export 3 a.vb > e3.vbx
	run -1 vb-history --apply e3.vbx b.vb
	assert_output 'vb-history: e3.vbx: the export starts at version 3; b.vb is at version 1'
	assert_same_sum b.vb "$before"
	# copies that went their own ways: the same edit, another version
	cp b.vb d.vb
	vb-insert -m $'ins !#:+ x\tand a newline\n' d.vb 100 --text 'INSERTED'
	dbefore=$(sum_of d.vb)
	vb-history --export 2 a.vb > e2.vbx
	run -1 vb-history --apply e2.vbx d.vb
	assert_output 'vb-history: e2.vbx: version 2 of d.vb is not the version the export was made from'
	run -1 vb-history --apply e.vbx d.vb
	assert_output 'vb-history: e.vbx: version 2 of d.vb is not version 2 of the export: the copies have diverged since version 1'
	assert_same_sum d.vb "$dbefore"
}

@test "--apply: a damaged or truncated FILE is refused and changes nothing" {
	make_pair
	vb-history --export 1 a.vb > e.vbx
	before=$(sum_of b.vb)
	size=$(stat -c %s e.vbx)
	local cut
	for cut in 8 20 $((size / 2)) $((size - 1)); do
		head -c "$cut" e.vbx > cut.vbx
		run -1 vb-history --apply cut.vbx b.vb
		assert_output --regexp '^vb-history: cut\.vbx: the record at byte [0-9]+ (is cut short: the export is truncated|is where the export ends, (before its header|without its END record: it is truncated))$'
		assert_same_sum b.vb "$before"
	done
	# a flipped bit in a record's compressed bytes
	cp e.vbx bad.vbx
	flip_byte bad.vbx 30
	run -1 vb-history --apply bad.vbx b.vb
	assert_output --regexp '^vb-history: bad\.vbx: the record at byte [0-9]+ has a bad checksum$'
	assert_same_sum b.vb "$before"
	# bytes after the end
	cat e.vbx e.vbx > twice.vbx
	run -1 vb-history --apply twice.vbx b.vb
	assert_output "vb-history: twice.vbx: the record at byte $size follows the end of the export"
	assert_same_sum b.vb "$before"
}

@test "--apply from a pipe: versions whose records all arrived stay; applying again continues" {
	make_pair
	head -c 3000000 /dev/urandom > big
	vb-insert -m big a.vb 17 big
	vb-history --export 1 a.vb > e.vbx
	size=$(stat -c %s e.vbx)
	# cut inside the big insert (version 7): versions 2 to 6 are applied
	run -1 bash -c "head -c $((size - 1000000)) e.vbx | vb-history --apply - b.vb"
	assert_line --index 0 --regexp '^vb-history: -: the record at byte [0-9]+ is (cut short: the export is truncated|where the export ends, in the middle of an edit.s data)$'
	assert_line --index 1 'vb-history: b.vb: versions 2 to 6 were applied before the error; applying the export again continues after them'
	assert_equal "$(head_of b.vb)" 6
	same_versions a.vb b.vb 1 6
	# cut in the last record: the newest version waits for it
	run -1 bash -c "head -c $((size - 1)) e.vbx | vb-history --apply - b.vb"
	assert_output --regexp '^vb-history: -: the record at byte [0-9]+ is cut short: the export is truncated$'
	assert_equal "$(head_of b.vb)" 6
	run -0 bash -c 'vb-history --apply - b.vb < e.vbx'
	same_versions a.vb b.vb 1
	vb-history --verify b.vb
}

@test "--apply: the lock held (exit 4), --if-version (exit 3), both unchanged; the writing options apply" {
	make_pair
	vb-history --export 1 a.vb > e.vbx
	cp b.vb c.vb
	before=$(sum_of b.vb)
	hold_lock b.vb
	run -4 vb-history --wait 0.2 --apply e.vbx b.vb
	assert_output --regexp '^vb-history: b\.vb: '
	assert_same_sum b.vb "$before"
	release_lock ''
	run -3 vb-history --if-version 6 --apply e.vbx c.vb
	assert_output 'vb-history: c.vb: the newest version is 1, not 6 (--if-version)'
	before=$(sum_of c.vb)
	run -0 vb-history --no-sync --wait 1 --no-auto-flatten --if-version 1 --apply e.vbx c.vb
	same_versions a.vb c.vb 1
	# the lock holder's version (an empty insert) made b.vb go its own way
	run -1 vb-history --apply e.vbx b.vb
	assert_output 'vb-history: e.vbx: version 2 of b.vb is not version 2 of the export: the copies have diverged since version 1'
}

@test "--export and --apply usage errors" {
	make_pair
	vb-history --export 1 a.vb > e.vbx
	before=$(sum_of b.vb)
	local choose='choose one of --revert, --verify, --anchors, --diff, --set-anchor, --remove-anchor, --set-base, --export and --apply'
	run vb-history --export x a.vb
	assert_usage_error vb-history "invalid version 'x'"
	run vb-history --export
	assert_usage_error vb-history '--export: missing argument'
	run vb-history --apply
	assert_usage_error vb-history '--apply: missing argument'
	run vb-history --export 1
	assert_usage_error vb-history 'missing STORE'
	run vb-history --apply e.vbx
	assert_usage_error vb-history 'missing STORE'
	run vb-history --export 1 a.vb 2
	assert_usage_error vb-history "extra operand '2'"
	run vb-history --apply e.vbx b.vb c.vb
	assert_usage_error vb-history "extra operand 'c.vb'"
	run vb-history --apply e.vbx -
	assert_usage_error vb-history "STORE must be a file ('-' is not a store)"
	run vb-history --export 1 --apply e.vbx b.vb
	assert_usage_error vb-history "$choose"
	run vb-history --export 1 --revert 1 a.vb
	assert_usage_error vb-history "$choose"
	run vb-history --apply e.vbx --diff 1 b.vb
	assert_usage_error vb-history "$choose"
	run vb-history --export 1 -V 2 a.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history --apply e.vbx -V 2 b.vb
	assert_usage_error vb-history '--at-version only applies to --anchors and --set-anchor'
	run vb-history --export 1 --json a.vb
	assert_usage_error vb-history '--json only applies to the list of versions, --anchors and --diff'
	run vb-history --apply e.vbx -j b.vb
	assert_usage_error vb-history '--json only applies to the list of versions, --anchors and --diff'
	run vb-history --export 1 -H a.vb
	assert_usage_error vb-history '--no-header only applies to the list of versions and --diff'
	run vb-history --export 1 -n 2 a.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --apply e.vbx --ops b.vb
	assert_usage_error vb-history '--ops and --max-count only apply to the list of versions'
	run vb-history --export 1 -m note a.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history --apply e.vbx -m note b.vb
	assert_usage_error vb-history '--message only applies to --revert, --set-anchor, --remove-anchor and --set-base'
	run vb-history --export 1 --no-sync a.vb
	assert_usage_error vb-history '--no-sync only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --export 1 --if-version 6 a.vb
	assert_usage_error vb-history '--if-version only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	run vb-history --export 1 --wait 1 a.vb
	assert_usage_error vb-history '--wait only applies to --revert, --set-anchor, --remove-anchor, --set-base and --apply'
	assert_same_sum b.vb "$before"
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams, read-only)

@test "ulimit -v: export, apply, diff and verify of 200 MiB within a 64 MiB memory limit" {
	skip_under_sanitizer
	make_store a.vb hello
	cp a.vb c.vb
	head -c 200M /dev/urandom > big
	vb-insert a.vb 2 big
	rm big
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-history --export 1 a.vb > x.exp && vb-history --apply x.exp c.vb"
	assert_equal "$(vb-cat c.vb | cksum)" "$(vb-cat a.vb | cksum)"
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-history --diff 1 a.vb"
	assert_line --index 1 '2 0 2 209715200'
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-history --verify a.vb"
	before=$(sum_of a.vb)
	run -1 --separate-stderr bash -c "ulimit -v $MEM_LIMIT_KB; vb-history --cache 1G --revert 0 a.vb"
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == 'vb-history: a.vb: '*'Cannot allocate memory' ]]
	assert_same_sum a.vb "$before"
}

@test "ulimit -n: too many open files: exit 1, the file named, the store unchanged" {
	make_base base 1000
	vb-insert -b base b.vb 0 --text x
	before=$(sum_of b.vb)
	run -1 nofile 4 'vb-history --revert 0 b.vb'
	assert_output "vb-history: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	vb-history --export 0 b.vb > x.exp
	run -1 nofile 4 'vb-history --apply x.exp b.vb'
	assert_output 'vb-history: b.vb: cannot open: Too many open files'
	assert_same_sum b.vb "$before"
}

@test "a closed stdout: listings, --export, --diff and --verify fail with 'write error'" {
	make_store s.vb hello
	vb-history --set-anchor m s.vb 1
	for args in "s.vb" "--json s.vb" "--ops s.vb" "-A s.vb" "--export 0 s.vb" "--diff 0 s.vb" \
		"--verify s.vb" "--help" "--version"; do
		run -1 bash -c "vb-history $args >&-"
		assert_output 'vb-history: write error: Bad file descriptor'
		run -1 bash -c "vb-history $args > /dev/full"
		assert_output 'vb-history: write error: No space left on device'
	done
}

@test "a closed stdin for --apply -: exit 1, the store unchanged; writers need no stdout" {
	make_store s.vb hello
	before=$(sum_of s.vb)
	run -1 bash -c 'vb-history --apply - s.vb <&-'
	assert_output --regexp '^vb-history: -: .*Bad file descriptor$'
	assert_same_sum s.vb "$before"
	run -0 bash -c 'vb-history --revert 0 s.vb >&-'
	assert_output ''
	assert_equal "$(vb-cat s.vb)" ''
}

@test "a read-only file system: exit 1, a clear error, the store unchanged" {
	mount_tmpfs 2m
	make_store mnt/s.vb hello
	vb-history --export 0 mnt/s.vb > x.exp
	before=$(sum_of mnt/s.vb)
	remount_ro
	for args in "--revert 0 mnt/s.vb" "--set-anchor m mnt/s.vb 1" "--remove-anchor m mnt/s.vb" \
		"--apply x.exp mnt/s.vb"; do
		run -1 vb-history $args
		assert_output 'vb-history: mnt/s.vb: cannot open: Read-only file system'
	done
	assert_same_sum mnt/s.vb "$before"
	run -0 vb-history --verify mnt/s.vb
}

@test "--set-anchor NAME STORE L<N>: the first byte of line N (of version N with -V); errors exit 1, unchanged" {
	printf 'one\ntwo\nthree' > f
	vb-insert --create s.vb 0 f
	run -0 vb-history --set-anchor two s.vb L2
	run -0 vb-history --set-anchor end s.vb L4
	run -0 vb-history --set-anchor t2 s.vb L3+2
	run -0 vb-history -A s.vb
	assert_output $'t2\t10\t4\nend\t13\t3\ntwo\t4\t2'
	vb-insert s.vb 0 --text $'zero\n'
	run -0 vb-history --set-anchor w -V 1 s.vb L2+1
	run -0 vb-cat -o @w s.vb -n 2
	assert_output wo
	before=$(sum_of s.vb)
	run -1 vb-history --set-anchor x s.vb L6
	assert_output 'vb-history: s.vb: offset L6: line 6 is beyond the end (the content has 4 lines)'
	run -1 vb-history --set-anchor x -V 1 s.vb L5
	assert_output 'vb-history: s.vb: offset L5: line 5 is beyond the end (the content has 3 lines)'
	run -1 vb-history --set-anchor x s.vb L1-1
	assert_output 'vb-history: s.vb: offset L1-1 is before the start (line 1 starts at 0)'
	run vb-history --set-anchor x s.vb L0
	assert_usage_error vb-history "invalid offset 'L0' (lines count from 1)"
	assert_same_sum s.vb "$before"
	# a base larger than 1 MiB (read)
	seq 1 300000 > big
	vb-insert --base big b.vb 0 --text ''
	run -0 vb-history --set-anchor m b.vb L200000
	run -0 vb-cat -o @m -n 7 b.vb
	assert_output 200000
}

@test "a FIFO as the store: refused at once, exit 1" {
	mkfifo f.vb
	run timeout 10 vb-history f.vb
	assert_failure 1
	assert_output 'vb-history: f.vb: is not a regular file (a FIFO)'
}

@test "history, exports, diffs and --verify onto the store or its base: refused, exit 1, nothing written" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 0 --text $'x\n'
	vb-insert s.vb 5 --text $'y\n'
	s0=$(sum_of s.vb) b0=$(sum_of base.txt)
	for args in '' '--export 0' '--unified --diff 1' '--verify' '--anchors'; do
		run bash -c "vb-history $args s.vb >> s.vb"
		assert_failure 1
		assert_output 'vb-history: s.vb: the output is the store itself: nothing written'
		run bash -c "vb-history $args s.vb >> base.txt"
		assert_failure 1
		assert_output "vb-history: s.vb: the output is its base file 'base.txt': nothing written"
	done
	assert_equal "$(sum_of s.vb)" "$s0"
	assert_equal "$(sum_of base.txt)" "$b0"
}

# a store over base.txt in dir/, copied to copy/ without -p (a new time)
make_copied() {
	mkdir dir copy
	seq 1 200000 > dir/base.txt
	vb-insert --base dir/base.txt dir/s.vb 5 --text hello
	cp dir/s.vb dir/base.txt copy/
	touch -d '2001-01-01' copy/base.txt
}

@test "--set-base FILE: a copied store re-bound to its copied base reads again, as a new version; the original base is not needed" {
	make_copied
	run -1 vb-cat copy/s.vb
	assert_output --partial "base file 'base.txt' has changed: modification time differs"
	run -0 --separate-stderr vb-history --set-base copy/base.txt copy/s.vb
	assert_output "version 2: the base is now 'copy/base.txt' (checked: its size and the sampled blocks; the store keeps no CRC-32 of the whole base, vb-flatten --lines records one)"
	assert_equal "$stderr" ''
	rm -r dir
	run -0 --separate-stderr vb-cat copy/s.vb
	assert_equal "$stderr" ''
	assert_equal "$(vb-cat copy/s.vb | cksum)" "$( (head -c 5 copy/base.txt; printf hello; tail -c +6 copy/base.txt) | cksum)"
	run -0 vb-history -H -n 1 copy/s.vb
	assert_output --regexp '^ +2  .*  set-base +0 +0 +1288900  set base$'
	run -0 vb-history --json -n 1 copy/s.vb
	assert_output --partial '"op":"set-base"'
	assert_output --partial '"base_checked":{"size":true,"samples":true,"crc":false}'
	# a new process, an edit, a compaction: the re-binding holds
	vb-insert copy/s.vb 0 --text '>'
	vb-flatten --compact copy/s.vb
	run -0 --separate-stderr vb-cat -r 0:7 copy/s.vb
	assert_output $'>1\n2\n3h'
	assert_equal "$stderr" ''
	run -0 vb-history --verify copy/s.vb
}

@test "--set-base after cp -p: the device/inode warning goes" {
	mkdir dir copy
	seq 1 1000 > dir/base.txt
	vb-insert --base dir/base.txt dir/s.vb 0 --text x
	cp -p dir/s.vb dir/base.txt copy/
	run -0 --separate-stderr vb-cat copy/s.vb
	assert_equal "$stderr" "vb-cat: copy/s.vb: warning: base file 'base.txt' is not the file the store was made from (device/inode differ), but its size, time and sampled content match"
	vb-history -m 'moved' --set-base copy/base.txt copy/s.vb
	run -0 --separate-stderr vb-cat copy/s.vb
	assert_equal "$stderr" ''
	run -0 vb-history -H -n 1 copy/s.vb
	assert_output --regexp 'set-base .* moved$'
}

@test "--set-base refuses a file that is not the base's content: another size, a sampled block, the whole content's CRC; exit 1, store unchanged" {
	make_copied
	s0=$(sum_of copy/s.vb)
	# another size
	printf 'more\n' >> copy/base.txt
	run -1 vb-history --set-base copy/base.txt copy/s.vb
	assert_output "vb-history: copy/s.vb: 'copy/base.txt' is 1288900 bytes; the store's base is 1288895 bytes"
	# the same size, a byte of the first sampled block changed
	cp dir/base.txt copy/base.txt
	printf 'X' | dd of=copy/base.txt bs=1 seek=10 conv=notrunc status=none
	run -1 vb-history --set-base copy/base.txt copy/s.vb
	assert_output "vb-history: copy/s.vb: 'copy/base.txt' differs from the store's base (at offset 0)"
	assert_equal "$(sum_of copy/s.vb)" "$s0"
	# a byte between the samples: only the whole content's CRC sees it,
	# which the store keeps once its lines are counted
	vb-flatten --lines dir/s.vb
	rm copy/s.vb
	cp dir/s.vb copy/
	s1=$(sum_of copy/s.vb)
	cp dir/base.txt copy/base.txt
	printf 'X' | dd of=copy/base.txt bs=1 seek=50000 conv=notrunc status=none
	run -1 vb-history --set-base copy/base.txt copy/s.vb
	assert_output --regexp "^vb-history: copy/s\.vb: 'copy/base\.txt' differs from the store's base \(the CRC-32 of its content is [0-9a-f]{8}, the base's [0-9a-f]{8}\)$"
	assert_equal "$(sum_of copy/s.vb)" "$s1"
	cp dir/base.txt copy/base.txt
	run -0 vb-history --set-base copy/base.txt copy/s.vb
	assert_output --regexp "checked: its size, the sampled blocks and the CRC-32 of its whole content\)$"
	run -0 vb-history --json -n 1 copy/s.vb
	assert_output --partial '"base_checked":{"size":true,"samples":true,"crc":true}'
}

@test "--set-base errors: a missing file, a FIFO, a store without a base or with it embedded, usage" {
	make_copied
	s0=$(sum_of copy/s.vb)
	run -1 vb-history --set-base nothere copy/s.vb
	assert_output "vb-history: copy/s.vb: base file 'nothere': No such file or directory"
	mkfifo fifo
	run -1 timeout 10 vb-history --set-base fifo copy/s.vb
	assert_output "vb-history: copy/s.vb: base file 'fifo' is not a regular file (a FIFO)"
	assert_equal "$(sum_of copy/s.vb)" "$s0"
	make_store plain.vb abc
	run -1 vb-history --set-base copy/base.txt plain.vb
	assert_output 'vb-history: plain.vb: the store has no base file'
	vb-flatten --embed dir/s.vb
	e0=$(sum_of dir/s.vb)
	run -1 vb-history --set-base dir/base.txt dir/s.vb
	assert_output 'vb-history: dir/s.vb: the base is embedded in the store: it reads no base file'
	assert_equal "$(sum_of dir/s.vb)" "$e0"
	run vb-history --set-base copy/base.txt --revert 1 copy/s.vb
	assert_usage_error vb-history 'choose one of --revert, --verify, --anchors, --diff, --set-anchor, --remove-anchor, --set-base, --export and --apply'
	run vb-history --set-base copy/base.txt copy/s.vb extra
	assert_usage_error vb-history "extra operand 'extra'"
	run -3 vb-history --if-version 7 --set-base copy/base.txt copy/s.vb
	assert_equal "$(sum_of copy/s.vb)" "$s0"
}

# ------------------------------------------------------------ progress

@test "--export and --apply --progress: the bytes exported; a file's bytes checked, then applied, with the percent" {
	head -c 3000000 /dev/urandom > big
	vb-insert --create s.vb 0 --text x
	cp s.vb c.vb
	vb-insert s.vb 0 big
	VB_PROGRESS_DELAY=0 vb-history --progress --export 1 s.vb > ex 2> err
	size=$(stat -c %s ex)
	run -0 tail -n 1 err
	assert_output --regexp "^$size bytes \([^)]*\) exported, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	VB_PROGRESS_DELAY=0 vb-history --progress --apply ex c.vb 2> err
	run -0 grep -v ETA err
	assert_line --index 0 --regexp "^$size of $size bytes \([^)]*, 100%\) checked, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	assert_line --index 1 --regexp "^$size of $size bytes \([^)]*, 100%\) applied, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	# updates carry an ETA
	run -0 grep -c -E "^[0-9]+ of $size bytes \([^)]*%\) (checked|applied), .*, ETA ([0-9]+:[0-9]{2}:[0-9]{2}|-:--:--)\$" err
	[ "$output" -ge 1 ]
	[ "$(vb-cat c.vb | cksum)" = "$(vb-cat s.vb | cksum)" ]
	# from a pipe: applied, no total
	cp c.vb d.vb
	run -0 --separate-stderr bash -c 'cat ex | vb-history --progress --apply - d.vb'
	assert_regex "$stderr" "^$size bytes \([^)]*\) applied, "
}

@test "--export and --apply: no progress without --progress when stderr is not a terminal; none after a failure" {
	vb-insert --create s.vb 0 --text x
	cp s.vb c.vb
	vb-insert s.vb 0 --text y
	VB_PROGRESS_DELAY=0 vb-history --export 1 s.vb > ex 2> err
	assert_file_empty err
	VB_PROGRESS_DELAY=0 vb-history --apply ex c.vb 2> err
	assert_file_empty err
	before=$(sum_of c.vb)
	printf 'junk' > bad
	run -1 --separate-stderr env VB_PROGRESS_DELAY=100 vb-history --progress --apply bad c.vb
	assert_equal "$stderr" 'vb-history: bad: not an export of vb edits (no \x89VBEDIT magic)'
	assert_same_sum c.vb "$before"
	command -v script > /dev/null || skip 'script (util-linux) is not installed'
	run -0 env VB_PROGRESS_DELAY=0 script -qec 'vb-history --export 1 s.vb > ex2' /dev/null < /dev/null
	assert_regex "$output" $'\r[0-9]+ bytes \\([^)]*\\) exported, '
}

# ------------------------------------------------------------ --diff --edits

# random_edits STORE N: N random versions of binary inserts, deletes and
# replaces (NULs, newlines, quotes and backslashes among the bytes).
random_edits() {
	local i len off n
	for ((i = 0; i < $2; i++)); do
		len=$(vb-cat "$1" | wc -c)
		off=$((RANDOM % (len + 1)))
		n=$((RANDOM % 300))
		{ head -c "$n" /dev/urandom; printf '\0\n"\\\r\t'; } > data
		case $((RANDOM % 3)) in
		0) vb-insert "$1" "$off" data ;;
		1) [ "$len" -gt "$off" ] && vb-delete "$1" "$off" $(((len - off) / 2 + 1)) || true ;;
		2) vb-insert --replace $(((len - off) / 3)) "$1" "$off" data ;;
		esac
	done
}

@test "--diff --edits: A_OFFSET A_LENGTH DATA lines; applied by vb-insert --edits to a copy at A they make B" {
	vb-insert --create s.vb 0 --text 'hello world'
	vb-insert --replace 5 s.vb 0 --text 'HE"L\O'
	vb-delete s.vb end-3 3
	vb-insert s.vb 7 --hex 0a00
	run -0 vb-history --diff 1 s.vb --edits
	assert_output '0 5 "HE\"L\\O"
6 0 "\n\x00"
8 3'
	run -0 vb-history --diff 3 s.vb 1 --edits
	assert_output '0 6 "hello"
9 0 "rld"'
	run -0 vb-history --diff 2 s.vb 2 --edits
	assert_output ''
	# random binary versions, both directions, a store over a base file
	RANDOM=14
	head -c 20000 /dev/urandom > base
	vb-insert --base base r.vb 0 --text ''
	random_edits r.vb 30
	for pair in '1 31' '31 1' '5 20' '20 5' '0 31'; do
		set -- $pair
		vb-cat -V "$1" r.vb > a
		rm -f copy.vb
		vb-insert --create copy.vb 0 a
		vb-history --diff "$1" r.vb "$2" --edits > e
		run -0 vb-insert --edits e copy.vb
		cmp <(vb-cat copy.vb) <(vb-cat -V "$2" r.vb)
	done
	# the pipe of the issue
	vb-cat -V 3 r.vb > a
	rm -f copy.vb
	vb-insert --create copy.vb 0 a
	vb-history --edits --diff 3 r.vb head | vb-insert --edits - copy.vb
	cmp <(vb-cat copy.vb) <(vb-cat r.vb)
}

@test "--diff --edits errors: a missing version, a changed base, usage; a closed output" {
	vb-insert --create s.vb 0 --text abc
	run -1 vb-history --diff 5 s.vb --edits
	assert_output --partial 'vb-history: s.vb: '
	run vb-history --edits s.vb
	assert_usage_error vb-history '--edits only applies to --diff'
	run vb-history --diff 0 --edits --json s.vb
	assert_usage_error vb-history '--edits does not apply to --json'
	run vb-history --diff 0 --edits -u s.vb
	assert_usage_error vb-history '--edits does not apply to --unified'
	# the content is read: a base that changed is an error (the plain
	# --diff reads only the trees)
	printf 'base\n' > base
	vb-insert --base base b.vb 0 --text x
	printf 'BASE\n' > base
	touch -d '2000-01-01' base
	run -1 vb-history --diff 1 b.vb 0 --edits
	assert_output --partial 'vb-history: b.vb: '
	run -1 bash -c 'vb-history --diff 0 s.vb --edits > /dev/full'
	assert_output --partial 'vb-history: write error: No space left on device'
}

# header_len STORE: the length of STORE's header (vb(5): 4 bytes at 12),
# where its records start.
header_len() { od -An -tu4 -j12 -N4 "$1" | tr -d ' '; }

@test "--verify --progress: the store's records read, then the base the line index is checked against, as one meter" {
	head -c 3000000 /dev/urandom > big
	vb-insert --create s.vb 0 big
	size=$(( $(stat -c %s s.vb) - $(header_len s.vb) ))
	VB_PROGRESS_DELAY=0 vb-history --verify --progress s.vb > out 2> err
	assert_file_contains out ': OK: '
	run -0 grep -v ETA err
	assert_output --regexp "^$size of $size bytes \([^)]*, 100%\) verified, [0-9]+\.[0-9]{2} s, [0-9.]+ [kMG]?B/s\$"
	# over a base with a line index: the base's bytes are in the total
	seq 1 400000 > base.txt
	vb-insert --create --base base.txt b.vb 0 --text x
	vb-flatten --lines b.vb
	total=$(( $(stat -c %s b.vb) - $(header_len b.vb) + $(stat -c %s base.txt) ))
	VB_PROGRESS_DELAY=0 vb-history --verify --progress b.vb > out 2> err
	run -0 tail -n 1 err
	assert_output --regexp "^$total of $total bytes \([^)]*, 100%\) verified, "
	# none without --progress when stderr is not a terminal; none but the
	# line drawn so far after a failure
	VB_PROGRESS_DELAY=0 vb-history --verify s.vb > out 2> err
	assert_file_empty err
	command -v script > /dev/null || skip 'script (util-linux) is not installed'
	run -0 env VB_PROGRESS_DELAY=0 script -qec 'vb-history --verify s.vb > out2' /dev/null < /dev/null
	assert_regex "$output" $'\r[0-9]+ of [0-9]+ bytes \\([^)]*\\) verified, '
}

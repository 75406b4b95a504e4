#!/usr/bin/env bats
# vb-history: the listing (table and JSON), --revert, --verify, and every
# error path.

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
	printf '\001' | dd of=s.vb bs=1 seek="$off" conv=notrunc status=none
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
	printf 'Z' | dd of=s.vb bs=1 seek=20 conv=notrunc status=none
	run -1 vb-history --verify s.vb
	assert_output 'vb-history: s.vb: header checksum mismatch'
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
	assert_usage_error vb-history '--revert and --verify cannot be used together'
	run vb-history -m note s.vb
	assert_usage_error vb-history '--message only applies to --revert'
	run vb-history -m note --verify s.vb
	assert_usage_error vb-history '--message only applies to --revert'
	run vb-history --wait 1 s.vb
	assert_usage_error vb-history '--wait only applies to --revert'
	run vb-history --no-sync s.vb
	assert_usage_error vb-history '--no-sync only applies to --revert'
	run vb-history --verify --json s.vb
	assert_usage_error vb-history '--verify does not list versions; --json, --ops, --max-count and --no-header do not apply'
	run vb-history --revert 1 -n 2 s.vb
	assert_usage_error vb-history '--revert does not list versions; --json, --ops, --max-count and --no-header do not apply'
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
	assert_output --partial '--revert=N'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-history --version
	assert_output --regexp '^vb-history \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
}

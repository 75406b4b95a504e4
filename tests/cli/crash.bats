#!/usr/bin/env bats
# Crash injection through the command binaries (issue 6, item 1): each
# writing command is killed for real (SIGKILL) at its 1st, 2nd, ... call
# that changes a file (crash-shim.c, loaded with LD_PRELOAD), every other
# time after writing only a prefix of the bytes of that call.  After each
# kill the store must open at the old head or the new one with exactly that
# version's content, an older version must still read back, `vb-history
# --verify` must pass (a torn tail is only warned about: the next writer
# cuts it, lib/store.c "FINDING THE HEAD"), and the next writer must
# succeed on top of it.
#
# By default (CI) each command runs at its first and last points and at
# evenly spaced ones between; VB_TEST_LONG=1 runs every point of every
# command, with inputs 8 times larger, with and without --no-sync, each
# twice: torn at the odd points and whole at the even ones, then the other
# way round.  Each test prints its figures
# as TAP comments; the last one prints the total.

load test_helper

setup_file() {
	: "${VB_BUILD_DIR:?}"
	export PATH="$VB_BUILD_DIR/cmd:$PATH"
	SHIM="${VB_CRASH_SHIM:-$VB_BUILD_DIR/tests/cli/crash-shim.so}"
	export SHIM
	FIX="$BATS_FILE_TMPDIR/fix"
	export FIX
	mkdir "$FIX"
	cd "$FIX" || return 1
	export HOME="$FIX"
	# long mode: inputs 8 times larger, so every data block is a point
	local scale=1
	[ -z "${VB_TEST_LONG:-}" ] || scale=8
	seq 1 $((60000 * scale)) > base
	seq 100000 $((100000 + 40000 * scale)) | head -c $((204800 * scale)) > big.in
	seq 300000 $((300000 + 60000 * scale)) | head -c $((300000 * scale)) > pipe.in
	printf '%s\n' '100 10' '2000 5' '70000 300' '300000 1' > ranges
	# p.vb: a store over a base with a few versions of every kind
	vb-insert --base base p.vb 0 --text 'first line' -m one
	vb-insert p.vb 1000 big.in
	vb-delete p.vb 5000 3000
	cp p.vb q.vb # version 3, for --apply
	vb-insert p.vb --replace 20 10 --text replaced
	vb-history --set-anchor m p.vb 300
	vb-insert p.vb end --text tail
	vb-history --export 3 p.vb > exp
	: > "$BATS_FILE_TMPDIR/points"
}

teardown_file() {
	local total
	total=$(awk '{ n += $1 } END { print n + 0 }' "$BATS_FILE_TMPDIR/points")
	echo "# crash points exercised in all: $total" >&3
}

setup() {
	export PATH="$VB_BUILD_DIR/cmd:$PATH"
	TEST_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/vb-bats.XXXXXX")"
	export HOME="$TEST_DIR" TZ=UTC
	cd "$TEST_DIR" || return 1
	[ -f "$SHIM" ] || skip "the crash shim is not built ($SHIM)"
	PRELOAD_ENV=(LD_PRELOAD="$SHIM")
	if ldd "$VB_BUILD_DIR/cmd/vb-insert" | grep -q libasan; then
		# the shim comes before the ASan runtime in the link order
		PRELOAD_ENV+=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
	fi
}

# head_of STORE: "VERSION CKSUM" of the store's head, or "none".
head_of() {
	local v
	[ -e "$1" ] || { echo none; return 0; }
	v=$(vb-history -H -n 1 "$1" 2>/dev/null | awk 'NR == 1 { print $1 }') || return 1
	[ -n "$v" ] || return 1
	echo "$v $(vb-cat "$1" 2>/dev/null | cksum | tr ' ' :)"
}

TAIL_WARNING='vb-history: w.vb: warning: ignoring [0-9]* bytes after the last commit (an interrupted write; the next writer removes them)'
TAIL_NOTE='vb-history: w.vb: note: [0-9]* bytes after the last commit (offset [0-9]*) belong to no version (an interrupted write); the next writer removes them'

# run_cmd AT INPUT CMD...: run CMD on w.vb under the shim with
# VB_CRASH_AT=AT (0: count only, into ./count), stdin from INPUT ('' for
# none); sets $status.
run_cmd() {
	local at=$1 input=$2
	shift 2
	status=0
	if [ "$at" = 0 ]; then
		env "${PRELOAD_ENV[@]}" VB_CRASH_COUNT="$TEST_DIR/count" "$@" \
			< "${input:-/dev/null}" > out 2> err || status=$?
	else
		# in a subshell of its own, whose "Killed" report goes nowhere
		(env "${PRELOAD_ENV[@]}" VB_CRASH_AT="$at" "$@" \
			< "${input:-/dev/null}" > out 2> err; exit $?) 2> /dev/null || status=$?
	fi
}

# list_versions STORE: the version listing without the times.
list_versions() {
	vb-history -H "$1" | awk '{ $2 = $3 = ""; print }'
}

# pick_points N: the points to run, one a line: all of them in long mode
# (or when there are few), else the first and last 4 and about 12 evenly
# spaced between.
pick_points() {
	local n=$1 k
	if [ -n "${VB_TEST_LONG:-}" ] || [ "$n" -le 20 ]; then
		seq 1 "$n"
		return
	fi
	k=$(((n - 8 + 11) / 12))
	{ seq 1 4; seq 5 "$k" "$((n - 4))"; seq "$((n - 3))" "$n"; } | sort -nu
}

# crash_sweep NAME ORIG INPUT CMD...: the sweep described at the top, for
# CMD (which works on ./w.vb) on copies of ORIG ('' = w.vb does not exist
# yet), with stdin from INPUT ('' = none).  With VB_TEST_LONG it repeats
# with --no-sync added to CMD, and both again with the other tearing.
crash_sweep() {
	export VB_CRASH_TEAR=odd
	crash_sweep_once "$@"
	if [ -n "${VB_TEST_LONG:-}" ]; then
		local name=$1 orig=$2 input=$3
		shift 3
		crash_sweep_once "$name --no-sync" "$orig" "$input" "$@" --no-sync
		# the write points left whole above are torn now, and back
		export VB_CRASH_TEAR=even
		crash_sweep_once "$name (torn at even points)" "$orig" "$input" "$@"
		crash_sweep_once "$name --no-sync (torn at even points)" "$orig" "$input" "$@" --no-sync
	fi
}

crash_sweep_once() {
	local name=$1 orig=$2 input=$3
	shift 3
	local old new v sum points at ran=0 ev expect leftover compact=0
	local -a old_sums new_heads
	case " $* " in *" --compact "*) compact=1 ;; esac

	# the old state, and every version of it
	rm -f w.vb .w.vb.*.tmp
	old=none
	if [ -n "$orig" ]; then
		cp "$orig" w.vb
		old=$(head_of w.vb) || fail "$name: cannot read the original store"
		for ((ev = 0; ev <= ${old%% *}; ev++)); do
			old_sums[ev]=$(vb-cat -V "$ev" w.vb 2>/dev/null | cksum | tr ' ' :)
		done
	fi
	# the new state: one undamaged run, counting the points
	rm -f count
	run_cmd 0 "$input" "$@"
	[ "$status" = 0 ] || fail "$name: the undamaged run failed ($status): $(cat err)"
	points=$(tail -n 1 count 2> /dev/null) || points=
	# no points (the shim not loaded, or counting nothing) would test nothing
	[[ "$points" =~ ^[0-9]+$ ]] && [ "$points" -gt 0 ] ||
		fail "$name: the crash shim counted no crash points ('$points')"
	new=$(head_of w.vb) || fail "$name: cannot read the new store"
	[ "$new" != "$old" ] || fail "$name: the command changed nothing"
	[ "$compact" = 0 ] || list_versions w.vb > compacted.list
	# the versions an interrupted --apply may stop at (it adds several)
	new_heads=("$new")
	if [ "$old" != none ]; then
		for ((ev = ${old%% *} + 1; ev < ${new%% *}; ev++)); do
			new_heads+=("$ev $(vb-cat -V "$ev" w.vb 2>/dev/null | cksum | tr ' ' :)")
		done
	fi

	for at in $(pick_points "$points"); do
		rm -f w.vb .w.vb.*.tmp
		[ -z "$orig" ] || cp "$orig" w.vb
		run_cmd "$at" "$input" "$@"
		[ "$status" = 137 ] ||
			fail "$name: at point $at of $points: status $status, not a kill: $(cat err)"
		ran=$((ran + 1))
		v=$(head_of w.vb) || fail "$name: at point $at of $points: the store does not open: $(vb-history w.vb 2>&1 | head -3)"
		# a new file has no name until it is complete (O_TMPFILE): only a
		# compaction killed between naming it and the rename leaves one,
		# and the next compaction removes it (checked below)
		leftover=$(find . -maxdepth 1 -name '.w.vb.*.tmp' | wc -l)
		[ "$leftover" -le "$compact" ] || fail "$name: at point $at: $leftover temporary files"
		if [ "$v" = "$old" ]; then
			if [ "$compact" = 1 ]; then
				cmp -s "$orig" w.vb || fail "$name: at point $at: a compaction killed before its rename changed the store"
			fi
		else
			expect=0
			for sum in "${new_heads[@]}"; do
				[ "$v" != "$sum" ] || expect=1
			done
			[ "$expect" = 1 ] ||
				fail "$name: at point $at of $points: head '$v', expected '$old' or '${new_heads[*]}'"
			if [ "$compact" = 1 ]; then
				list_versions w.vb | cmp -s - compacted.list ||
					fail "$name: at point $at: the compacted store lists other versions"
			fi
		fi
		if [ "$v" != none ]; then
			# an older version (one each time, in turn) still reads back
			if [ "$old" != none ] && { [ "$compact" = 0 ] || [ "$v" = "$old" ]; }; then
				ev=$((at % (${old%% *} + 1)))
				sum=$(vb-cat -V "$ev" w.vb 2>/dev/null | cksum | tr ' ' :)
				[ "$sum" = "${old_sums[ev]}" ] ||
					fail "$name: at point $at: version $ev reads back wrong"
			fi
			vb-history --verify w.vb > verify.out 2> verify.err ||
				fail "$name: at point $at: --verify failed: $(cat verify.out verify.err)"
			# nothing but the torn tail may be mentioned
			if grep -v -x -e "$TAIL_WARNING" -e "$TAIL_NOTE" verify.err > verify.other; then
				fail "$name: at point $at: --verify says: $(cat verify.other)"
			fi
			# the next writer succeeds on top of what is there
			vb-insert w.vb 0 --text next 2> err ||
				fail "$name: at point $at: the next writer failed: $(cat err)"
			[ ! -s err ] || fail "$name: at point $at: the next writer says: $(cat err)"
			sum=$(head_of w.vb)
			[ "${sum%% *}" = $((${v%% *} + 1)) ] ||
				fail "$name: at point $at: the next writer made version ${sum%% *} after ${v%% *}"
			[ "$(vb-cat -n 4 w.vb)" = next ] &&
				[ "$(vb-cat -o 4 w.vb | cksum | tr ' ' :)" = "${v#* }" ] ||
				fail "$name: at point $at: wrong content after the next writer"
			# and has cut the torn tail: nothing to warn about any more
			vb-history --verify w.vb > verify.out 2> verify.err ||
				fail "$name: at point $at: --verify after the next writer: $(cat verify.out verify.err)"
			[ ! -s verify.err ] ||
				fail "$name: at point $at: --verify after the next writer says: $(cat verify.err)"
			if [ "$compact" = 1 ]; then
				vb-flatten --compact w.vb 2> err ||
					fail "$name: at point $at: the next compaction failed: $(cat err)"
				leftover=$(find . -maxdepth 1 -name '.w.vb.*.tmp' | wc -l)
				[ "$leftover" = 0 ] ||
					fail "$name: at point $at: the next compaction left $leftover temporary files"
			fi
		else
			# a killed --create: nothing at the path; the next one works
			vb-insert --create w.vb 0 --text next 2> err ||
				fail "$name: at point $at: the next --create failed: $(cat err)"
			[ "$(vb-cat w.vb)" = next ] || fail "$name: at point $at: wrong content after --create"
		fi
	done
	[ "$ran" -gt 0 ] || fail "$name: no crash point was run (of $points)"
	echo "$ran" >> "$BATS_FILE_TMPDIR/points"
	echo "# $name: $points points, $ran crashed" >&3
}

@test "crash: vb-insert --text" {
	crash_sweep "vb-insert --text" "$FIX/p.vb" "" vb-insert w.vb 777 --text 'a small insert'
}

@test "crash: vb-insert of a file larger than 64 KiB" {
	crash_sweep "vb-insert FILE" "$FIX/p.vb" "" vb-insert w.vb 5000 "$FIX/big.in"
}

@test "crash: vb-insert from a pipe" {
	crash_sweep "vb-insert <pipe" "$FIX/p.vb" "$FIX/pipe.in" vb-insert w.vb end-100
}

@test "crash: vb-insert --create of a new store" {
	crash_sweep "vb-insert --create" "" "" vb-insert --create w.vb 0 "$FIX/big.in"
}

@test "crash: vb-insert --base of a new store" {
	crash_sweep "vb-insert --base" "" "" vb-insert --base "$FIX/base" w.vb 10 --text x
}

@test "crash: vb-insert --replace" {
	crash_sweep "vb-insert --replace" "$FIX/p.vb" "" vb-insert w.vb --replace 5000 3000 --text replacement
}

@test "crash: vb-delete" {
	crash_sweep "vb-delete" "$FIX/p.vb" "" vb-delete w.vb 900 20000
}

@test "crash: vb-delete --ranges" {
	crash_sweep "vb-delete --ranges" "$FIX/p.vb" "" vb-delete --ranges "$FIX/ranges" w.vb
}

@test "crash: vb-history --revert" {
	crash_sweep "vb-history --revert" "$FIX/p.vb" "" vb-history --revert 1 w.vb
}

@test "crash: vb-history --set-anchor" {
	crash_sweep "vb-history --set-anchor" "$FIX/p.vb" "" vb-history --set-anchor n w.vb 4000
}

@test "crash: vb-history --apply" {
	crash_sweep "vb-history --apply" "$FIX/q.vb" "" vb-history --apply "$FIX/exp" w.vb
}

@test "crash: vb-flatten" {
	crash_sweep "vb-flatten" "$FIX/p.vb" "" vb-flatten w.vb
}

@test "crash: vb-flatten --partial" {
	crash_sweep "vb-flatten --partial" "$FIX/p.vb" "" vb-flatten --partial --piece-size 1M w.vb
}

@test "crash: vb-flatten --embed" {
	crash_sweep "vb-flatten --embed" "$FIX/p.vb" "" vb-flatten --embed w.vb
}

@test "crash: vb-flatten --compact" {
	crash_sweep "vb-flatten --compact" "$FIX/p.vb" "" vb-flatten --compact --keep 3 w.vb
}

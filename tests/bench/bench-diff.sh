#!/bin/bash
# bench-diff: `vb-history --diff` on a small and a large store with the same
# number of changes, in one run.  Run by hand (never a timed test):
#
#   tests/bench/bench-diff.sh [BUILD_DIR] [SMALL_MIB] [LARGE_MIB] [REPEAT]
#
# defaults: build-bench (configured here, release), 64, 4096, 9.
#
# Each store has a sparse base file of its size (no disk used), cut into
# pieces by one `vb-delete --ranges` (a byte out of every 64 KiB, so the
# large store's tree has 64 times the pieces and a level more), then gets
# 10 edits (inserts, deletes, replaces of a few bytes at random offsets,
# one version each).  Timed:
#   1. `vb-history --diff CUT STORE`: the 10 edits (the cost should follow
#      the changes: the same on both stores, a ratio of about 1);
#   2. `vb-history -H -n 1 STORE`: opening the store and reading one commit,
#      the floor under 1;
#   3. `vb-history --diff 0 STORE`: the cut itself, a change everywhere
#      (the cost follows the changes: 64 times as many on the large store).
# Each pair runs alternately (A B A B ...), pinned to one core; medians and
# the median of the pairwise ratios.  Everything is deleted at the end.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-$src/build-bench}")
small_mib=${2:-64}
large_mib=${3:-4096}
repeat=${4:-9}
cut=$(( 64 * 1024 ))

. "$src/tests/bench/lib.sh"
bench_setup "$build"

RANDOM=42
rand64() { echo $(( (RANDOM << 30 | RANDOM << 15 | RANDOM) % $1 )); }

# make_store NAME MIB: NAME.vb over a sparse NAME.base; sets cut_v
make_store() {
	local name=$1 size=$(( $2 * 1024 * 1024 )) k off len
	truncate -s "$size" "$name.base"
	vb-insert --no-sync --base "$name.base" "$name.vb" 0 --text ''
	awk -v n=$(( size / cut )) -v c=$cut 'BEGIN { for (i = 0; i < n; i++) print i * c + 100, 1 }' \
		> "$name.ranges"
	vb-delete --no-sync --ranges "$name.ranges" "$name.vb"
	cut_v=$(vb-history -H -n 1 "$name.vb" | awk '{ print $1 }')
	for ((k = 0; k < 10; k++)); do
		len=$(vb-history --json -n 1 "$name.vb" |
			sed 's/.*"size":\([0-9]*\).*/\1/')
		off=$(rand64 $(( len - 100 )))
		case $(( k % 3 )) in
		0) vb-insert --no-sync "$name.vb" "$off" --text "edit $k" ;;
		1) vb-delete --no-sync "$name.vb" "$off" $(( 1 + k )) ;;
		2) vb-insert --no-sync "$name.vb" "$off" --replace 3 --text "r$k" ;;
		esac
	done
}

echo "making a $small_mib MiB and a $large_mib MiB store..." >&2
make_store small "$small_mib"
small_cut=$cut_v
make_store large "$large_mib"
large_cut=$cut_v
pieces() { vb-history --json -n 1 "$1" | sed 's/.*"pieces":\([0-9]*\).*/\1/'; }

# the 10 edits come out as at most 10 ranges on both stores
for s in small large; do
	c=small_cut
	[ $s = large ] && c=large_cut
	n=$(vb-history -H --diff "${!c}" "$s.vb" | wc -l)
	[ "$n" -ge 1 ] && [ "$n" -le 10 ] || { echo "$s: $n ranges for 10 edits" >&2; exit 1; }
done

one() { taskset -c 0 "$@"; }
pair edits "one vb-history --diff $small_cut small.vb" edits_l "one vb-history --diff $large_cut large.vb"
pair open "one vb-history -H -n 1 small.vb" open_l "one vb-history -H -n 1 large.vb"
pair all "one vb-history --diff 0 small.vb" all_l "one vb-history --diff 0 large.vb"

ratio() { awk -v r="$1" 'BEGIN { printf "%.2f", r }'; }
inv() { awk -v r="$1" 'BEGIN { printf "%.2f", 1 / r }'; }
cat <<TABLE

Machine: $(machine).
Stores: sparse base files of $small_mib MiB and $large_mib MiB, cut every 64 KiB by one
vb-delete --ranges ($(pieces small.vb) and $(pieces large.vb) pieces), then 10 small edits.
Medians of $repeat alternating runs, one core; times include process start-up.

| case | $small_mib MiB | $large_mib MiB | large / small | target |
|---|---|---|---|---|
| \`vb-history --diff CUT\` (the 10 edits) | $(us2ms "${med[edits]}") | $(us2ms "${med[edits_l]}") | $(inv "${med[edits/edits_l]}") | ~1 (flat) |
| \`vb-history -H -n 1\` (open, one commit) | $(us2ms "${med[open]}") | $(us2ms "${med[open_l]}") | $(inv "${med[open/open_l]}") | |
| \`vb-history --diff 0\` (the cut: $(( small_mib * 16 )) vs $(( large_mib * 16 )) ranges) | $(us2ms "${med[all]}") | $(us2ms "${med[all_l]}") | $(inv "${med[all/all_l]}") | follows the changes |
TABLE

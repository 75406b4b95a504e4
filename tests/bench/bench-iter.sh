#!/bin/bash
# bench-iter: iterators and reading from the end, beside the standard tools,
# in one run.  Run by hand (never a timed test):
#
#   tests/bench/bench-iter.sh [BUILD_DIR] [SIZE_MIB] [REPEAT]
#
# defaults: build-bench (configured here, release), 4096 MiB, 5.
#
# 1. Iterator throughput: a store over a SIZE_MIB/4 file of log lines with
#    1000 small edits spread through it, walked with a vbuf iterator
#    (tests/bench/iter-walk) forward and backward, by 64 KiB chunks and by
#    single bytes, in GB/s, beside `vb-cat STORE > /dev/null` and
#    `vb-cat STORE | cat > /dev/null`.
# 2. `vb-frame -l --last 10` on a SIZE_MIB store (the file of lines as its
#    base, a few lines inserted and deleted near the end) against
#    `tail -n 10` on the flat file, and the same on a store of a quarter of
#    the size: the time must not grow with the input (only the tail is
#    read).
# Each pair runs alternately (A B A B ...), inputs re-read before each run,
# pinned to one core; medians and the median of the pairwise ratios.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench}
size_mib=${2:-4096}
repeat=${3:-5}

. "$src/tests/bench/lib.sh"
bench_setup "$build"
walk=$build/tests/bench/iter-walk
[ -x "$walk" ] || { echo "missing $walk (configure with -Dtests=true)" >&2; exit 1; }

quarter=$(( size_mib / 4 ))
echo "generating $size_mib MiB of lines..." >&2
awk -v n=$(( 64 * 1024 * 1024 / 62 )) 'BEGIN { for (i = 0; i < n; i++)
	printf "2026-11-22T%02d:%02d:%02d host-%03d GET /api/item/%08d %4d\n",
	       (i / 3600) % 24, (i / 60) % 60, i % 60, i % 997, i, i % 9973 }' > chunk.txt
: > big.txt
for ((k = 0; k < size_mib / 64; k++)); do cat chunk.txt >> big.txt; done
head -c $(( quarter * 1024 * 1024 )) big.txt > small.txt
rm chunk.txt

# stores: small.vb with 1000 edits spread through it; big.vb and q.vb with
# a few lines inserted and deleted near the end
vb-insert --no-sync --base small.txt small.vb 0 --text ''
len=$(stat -c %s small.txt)
for ((k = 0; k < 500; k++)); do
	vb-insert --no-sync --text "inserted line $k
" small.vb $(( len / 500 * k ))
	vb-delete --no-sync small.vb $(( len / 500 * k + 1000 )) 7
done
for s in big q; do
	f=big.txt
	[ "$s" = q ] && f=small.txt
	vb-insert --no-sync --base "$f" "$s.vb" 0 --text ''
	vb-insert --no-sync --text 'a line inserted near the end
' "$s.vb" -- -500
	vb-delete --no-sync "$s.vb" -- -300 40
	vb-cat "$s.vb" > "$s.flat"
done

one() { taskset -c 0 "$@"; }
gbs() { awk -v b="$1" -v u="$2" 'BEGIN { printf "%.2f GB/s", b / u / 1000 }'; }

# 1. throughput
bytes=$(vb-cat small.vb | wc -c)
check=$("$walk" small.vb chunks)
[ "$check" = "$("$walk" small.vb rchunks)" ] || { echo "walks differ" >&2; exit 1; }
[ "$check" = "$("$walk" small.vb bytes)" ] || { echo "byte walk differs" >&2; exit 1; }
pair fwd "one $walk small.vb chunks" cat "one vb-cat small.vb" small.txt small.vb
pair back "one $walk small.vb rchunks" cat2 "one vb-cat small.vb" small.txt small.vb
pair fbytes "one $walk small.vb bytes" rbytes "one $walk small.vb rbytes" small.txt small.vb
pair pipe "one sh -c 'vb-cat small.vb | cat'" flatcat "one cat small.txt" small.txt small.vb

# 2. --last 10 against tail -n 10, and against the input size
[ "$(vb-frame -l --last 10 big.vb)" = "$(tail -n 10 big.flat)" ] ||
	{ echo "--last 10 differs from tail -n 10" >&2; exit 1; }
pair last "one vb-frame -l --last 10 big.vb" tail "one tail -n 10 big.flat"
pair lastq "one vb-frame -l --last 10 q.vb" last4 "one vb-frame -l --last 10 big.vb"
pair lastflat "one vb-frame -l --last 10 big.flat" tailflat "one tail -n 10 big.flat"

ratio() { awk -v r="$1" 'BEGIN { printf "%.2f", r }'; }
cat <<TABLE

Machine: $(machine).
Iterators: a store of $(( bytes / 1048576 )) MiB (a file of lines, 1000 small edits spread through it).
--last: stores of $size_mib MiB and $quarter MiB (a few lines inserted and deleted near the end).
Medians of $repeat alternating runs, one core, inputs in the page cache.

| case | time | rate or ratio | target |
|---|---|---|---|
| iterator forward, 64 KiB chunks | $(us2ms "${med[fwd]}") | $(gbs "$bytes" "${med[fwd]}") | |
| iterator backward, 64 KiB chunks | $(us2ms "${med[back]}") | $(gbs "$bytes" "${med[back]}") | |
| iterator forward, byte by byte | $(us2ms "${med[fbytes]}") | $(gbs "$bytes" "${med[fbytes]}") | |
| iterator backward, byte by byte | $(us2ms "${med[rbytes]}") | $(gbs "$bytes" "${med[rbytes]}") | |
| \`vb-cat STORE > /dev/null\` | $(us2ms "${med[cat]}") | $(gbs "$bytes" "${med[cat]}") | |
| \`vb-cat STORE \\| cat > /dev/null\` | $(us2ms "${med[pipe]}") | $(gbs "$bytes" "${med[pipe]}") | |
| \`cat FLAT > /dev/null\` | $(us2ms "${med[flatcat]}") | $(gbs "$bytes" "${med[flatcat]}") | |
| forward chunks / \`vb-cat > /dev/null\` (which splices base bytes without copying) | | $(ratio "${med[fwd/cat]}") | |
| backward chunks / \`vb-cat > /dev/null\` | | $(ratio "${med[back/cat2]}") | |
| forward chunks / \`vb-cat \| cat\` (both copy every byte once) | | $(ratio "$(awk -v a="${med[fwd]}" -v b="${med[pipe]}" 'BEGIN { print a / b }')") | |
| \`vb-frame -l --last 10\` ($size_mib MiB store) vs \`tail -n 10\` (flat file) | $(us2ms "${med[last]}") / $(us2ms "${med[tail]}") | $(ratio "${med[last/tail]}") | <= 2 |
| \`vb-frame -l --last 10\`: $quarter MiB store vs $size_mib MiB store | $(us2ms "${med[lastq]}") / $(us2ms "${med[last4]}") | $(ratio "${med[lastq/last4]}") | ~1 (flat) |
| \`vb-frame -l --last 10\` vs \`tail -n 10\`, both on the flat file | $(us2ms "${med[lastflat]}") / $(us2ms "${med[tailflat]}") | $(ratio "${med[lastflat/tailflat]}") | |
TABLE

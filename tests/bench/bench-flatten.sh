#!/bin/bash
# bench-flatten: the cost of a partial flatten and of compaction, in one
# run.  Run by hand (never a timed test):
#
#   tests/bench/bench-flatten.sh [BUILD_DIR] [SIZE_MIB] [REPEAT]
#
# defaults: build-bench (configured here, release), 1024 MiB, 5.
#
# (vb-flatten of a whole store against cp is a case of vb-bench.)
# 1. `vb-flatten --partial` at a fixed file size with 1, 4, 16 and 64 MiB
#    of fragmented content (a deletion every 1 KiB of a region), and the
#    16 MiB case on a file four times the size: the time follows the
#    fragmented bytes, not the file size.
# 2. `vb-flatten --compact` of a store over a SIZE_MIB file of log lines
#    with 10,000 edits (5,000 one-line inserts, one command each, and 5,000
#    deletions in one --ranges batch), keeping 1 version, against cp of
#    the store file.
# Pairs run alternately (A B A B ...), inputs re-read before each run;
# medians and the median of the pairwise ratios.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench}
size_mib=${2:-1024}
repeat=${3:-5}

. "$src/tests/bench/lib.sh"
bench_setup "$build"

echo "generating $size_mib MiB of lines..." >&2
awk -v n=$(( 64 * 1024 * 1024 / 62 )) 'BEGIN { for (i = 0; i < n; i++)
	printf "2026-11-22T%02d:%02d:%02d host-%03d GET /api/item/%08d %4d\n",
	       (i / 3600) % 24, (i / 60) % 60, i % 60, i % 997, i, i % 9973 }' > chunk.txt
: > base.txt
for ((k = 0; k < size_mib / 64; k++)); do cat chunk.txt >> base.txt; done
len=$(stat -c %s base.txt)

echo "making a store with 10,000 edits..." >&2
vb-insert --no-sync --base base.txt s0.vb 0 --text ''
for ((k = 0; k < 5000; k++)); do
	vb-insert --no-sync --text "inserted line $k
" s0.vb $(( (len / 5000) * k ))
done
awk -v l="$len" 'BEGIN { for (k = 0; k < 5000; k++) print int(l / 5000) * k + 500, 20 }' > ranges
vb-delete --no-sync --ranges ranges s0.vb
vb-cat s0.vb > flat.txt

# 1. partial flatten against the fragmented bytes
frag_store() { # NAME BASE MIB: a deletion every 1 KiB over MIB MiB
	vb-insert --no-sync --base "$2" "$1.vb" 0 --text ''
	awk -v n=$(( $3 * 1024 )) 'BEGIN { for (k = 0; k < n; k++) print k * 1023 + 100, 1 }' > r.txt
	vb-delete --no-sync --ranges r.txt "$1.vb"
}
for m in 1 4 16 64; do frag_store "f$m" base.txt "$m"; done
for ((k = 0; k < 4; k++)); do cat base.txt; done > base4.txt
frag_store f16x4 base4.txt 16
declare -A part
for s in f1 f4 f16 f64 f16x4; do
	t=()
	for ((k = 0; k < repeat; k++)); do
		cp "$s.vb" p.vb
		t+=("$(time_us "vb-flatten --no-sync --partial p.vb")")
	done
	part[$s]=$(printf '%s\n' "${t[@]}" | median)
	cmp <(vb-cat p.vb) <(vb-cat "$s.vb") || { echo "partial flatten changed $s" >&2; exit 1; }
done

# 2. compaction against cp of the store
cp s0.vb c.vb && vb-flatten --no-sync --compact c.vb
cmp <(vb-cat c.vb) flat.txt || { echo "compacted content differs" >&2; exit 1; }
pair compact "cp s0.vb c.vb && vb-flatten --no-sync --compact c.vb" cpstore "cp s0.vb c2.vb" s0.vb

echo
echo "## vb-flatten ($(machine); $size_mib MiB, $repeat runs, medians)"
echo
echo "| case | vb | standard tool | ratio | target |"
echo "|---|---|---|---|---|"
echo "| vb-flatten --compact --no-sync (keep 1) vs cp of the store file | $(us2ms "${med[compact]}") | $(us2ms "${med[cpstore]}") | ${med[compact/cpstore]} | |"
echo
echo "| partial flatten, fragmented bytes | file size | time |"
echo "|---|---|---|"
for m in 1 4 16 64; do
	echo "| $m MiB | $size_mib MiB | $(us2ms "${part[f$m]}") |"
done
echo "| 16 MiB | $(( size_mib * 4 )) MiB | $(us2ms "${part[f16x4]}") |"
echo
echo "(the 10,000-edit store: $(stat -c %s s0.vb) bytes)"

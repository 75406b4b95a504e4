#!/bin/bash
# bench-export: the size and cost of portable edits (vb-history --export,
# --apply), in one run.  Run by hand (never a timed test):
#
#   tests/bench/bench-export.sh [BUILD_DIR] [REPEAT]
#
# defaults: build-bench (configured here, release), 5.
#
# 1. Stores over a 64 MiB and a 1 GiB file of log lines, each copied
#    byte for byte (the copy is the same store), then 10 small edits on the
#    original (5 one-line inserts and 5 deletions of 20 bytes, spread over
#    the file, one command each): the size of `vb-history --export` of the
#    10 versions (it should not depend on the file size), the time to
#    export them to a file and to apply that file to a fresh copy of the
#    store (--no-sync; the file is checked whole, then applied), beside cp
#    of the store file (what a copy costs without exports).
# 2. One 100 MiB insert (log lines) into the 64 MiB store: the export's
#    size and time beside `gzip -c` of the same bytes (the same zlib level,
#    6), and the apply's time (from a file, and from a pipe) beside
#    `vb-insert --no-sync` of the raw bytes into a fresh copy.
# Pairs run alternately (A B A B ...), inputs re-read before each run;
# medians and the median of the pairwise ratios.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench}
repeat=${2:-5}

. "$src/tests/bench/lib.sh"
bench_setup "$build"

echo "generating 64 MiB and 1 GiB of lines..." >&2
awk -v n=$(( 64 * 1024 * 1024 / 62 )) 'BEGIN { for (i = 0; i < n; i++)
	printf "2026-11-22T%02d:%02d:%02d host-%03d GET /api/item/%08d %4d\n",
	       (i / 3600) % 24, (i / 60) % 60, i % 60, i % 997, i, i % 9973 }' > b64.txt
: > b1024.txt
for ((k = 0; k < 16; k++)); do cat b64.txt >> b1024.txt; done

head_of() { vb-history --json -n 1 "$1" | sed 's/^{"version":\([0-9]*\),.*/\1/'; }

declare -A size since
for s in 64 1024; do
	vb-insert --no-sync --base "b$s.txt" "s$s.vb" 0 --text ''
	cp "s$s.vb" "copy$s.vb"
	since[$s]=$(head_of "s$s.vb")
	len=$(stat -c %s "b$s.txt")
	for ((k = 0; k < 5; k++)); do
		vb-insert --no-sync --text "inserted line $k
" "s$s.vb" $(( (len / 5) * k + 12345 ))
		vb-delete --no-sync "s$s.vb" $(( (len / 5) * k + 40000 )) 20
	done
	vb-history --export "${since[$s]}" "s$s.vb" > "e$s.vbx"
	size[$s]=$(stat -c %s "e$s.vbx")
	# the check that it works: the copy ends as the original
	cp "copy$s.vb" t.vb
	vb-history --no-sync --apply "e$s.vbx" t.vb
	cmp <(vb-cat t.vb) <(vb-cat "s$s.vb") || { echo "applied content differs" >&2; exit 1; }
	pair "exp$s" "vb-history --export ${since[$s]} s$s.vb > x.vbx" \
		"cpstore$s" "cp s$s.vb c.vb" "b$s.txt" "s$s.vb"
	pair "app$s" "cp copy$s.vb t.vb && vb-history --no-sync --apply e$s.vbx t.vb" \
		"cpstore2$s" "cp s$s.vb c.vb" "b$s.txt" "s$s.vb" "copy$s.vb"
done

# 2. one 100 MiB insert
head -c $(( 100 * 1024 * 1024 )) b1024.txt > ins.txt
cp copy64.vb big.vb
vb-insert --no-sync big.vb 1000 ins.txt
bsince=${since[64]}
vb-history --export "$bsince" big.vb > big.vbx
bigsize=$(stat -c %s big.vbx)
gzsize=$(gzip -c ins.txt | wc -c)
cp copy64.vb t.vb
vb-history --no-sync --apply big.vbx t.vb
cmp <(vb-cat t.vb) <(vb-cat big.vb) || { echo "applied content differs" >&2; exit 1; }
pair bigexp "vb-history --export $bsince big.vb > x.vbx" gzip "gzip -c ins.txt > x.gz" \
	b64.txt big.vb ins.txt
pair bigapp "cp copy64.vb t.vb && vb-history --no-sync --apply big.vbx t.vb" \
	insert "cp copy64.vb t.vb && vb-insert --no-sync t.vb 1000 ins.txt" b64.txt big.vbx ins.txt
pair bigpipe "cp copy64.vb t.vb && vb-history --no-sync --apply - t.vb < <(cat big.vbx)" \
	insert2 "cp copy64.vb t.vb && vb-insert --no-sync t.vb 1000 ins.txt" b64.txt big.vbx ins.txt
rm -f x.vbx x.gz c.vb t.vb

echo
echo "## vb-history --export / --apply ($(machine); $repeat runs, medians)"
echo
echo "| case | vb | standard tool | ratio |"
echo "|---|---|---|---|"
for s in 64 1024; do
	echo "| export of 10 edits, $s MiB store, vs cp of the store file | $(us2ms "${med[exp$s]}") | $(us2ms "${med[cpstore$s]}") | ${med[exp$s/cpstore$s]} |"
	echo "| apply of them to a copy (--no-sync), vs cp of the store file | $(us2ms "${med[app$s]}") | $(us2ms "${med[cpstore2$s]}") | ${med[app$s/cpstore2$s]} |"
done
echo "| export of one 100 MiB insert vs gzip -c of its bytes | $(us2ms "${med[bigexp]}") | $(us2ms "${med[gzip]}") | ${med[bigexp/gzip]} |"
echo "| apply of it from a file (checked, then applied) vs vb-insert of the bytes | $(us2ms "${med[bigapp]}") | $(us2ms "${med[insert]}") | ${med[bigapp/insert]} |"
echo "| apply of it from a pipe vs vb-insert of the bytes | $(us2ms "${med[bigpipe]}") | $(us2ms "${med[insert2]}") | ${med[bigpipe/insert2]} |"
echo
echo "| export | bytes |"
echo "|---|---|"
echo "| 10 small edits, 64 MiB store | ${size[64]} |"
echo "| 10 small edits, 1 GiB store | ${size[1024]} |"
echo "| one 100 MiB insert | $bigsize (gzip -c of the bytes: $gzsize) |"

#!/bin/bash
# bench-edit: vb's editing and streaming against what users do today, side
# by side in one run.  Run by hand (never a timed test):
#
#   tests/bench/bench-edit.sh [BUILD_DIR] [SIZE_MIB] [EDITS] [REPEAT]
#
# defaults: build-bench (configured here, release), 1024 MiB, 10000, 7.
# Generates a base file of SIZE_MIB, a store over it with EDITS random edits
# (half inserts, half deletes, each its own vb-insert/vb-delete process), a
# flat copy of the store's content, and a second store with 100,000 pieces.
# Prints a markdown table of medians and ratios; the ratio of each pair is
# taken run by run (A B A B ...) and the median ratio reported.  Inputs are
# re-read right before each timed run (this machine evicts files from the
# page cache after ~30 s) and pipelines are pinned to one core.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench}
size_mib=${2:-1024}
edits=${3:-10000}
repeat=${4:-7}

. "$src/tests/bench/lib.sh"
bench_setup "$build"


echo "generating ${size_mib} MiB base..." >&2
head -c "$(( size_mib * 1024 * 1024 ))" /dev/urandom > base.bin
base_len=$(stat -c %s base.bin)

echo "building a store with $edits edits..." >&2
vb-insert --no-sync --base base.bin s.vb 0 --text ''
RANDOM=42
len=$base_len
for ((i = 0; i < edits; i++)); do
	off=$(( (RANDOM * 32768 + RANDOM) * 32 % (len - 200) ))
	if (( i % 2 )); then
		n=$(( RANDOM % 100 + 1 ))
		vb-delete --no-sync s.vb "$off" "$n"
		len=$(( len - n ))
	else
		t="edit-$i-$RANDOM"
		vb-insert --no-sync s.vb "$off" --text "$t"
		len=$(( len + ${#t} ))
	fi
done
vb-cat s.vb > flat.bin
pieces=$(vb-history -n 1 --json s.vb | sed 's/.*"pieces":\([0-9]*\).*/\1/')

echo "building a store with 100,000 pieces..." >&2
vb-insert --no-sync --base base.bin p.vb 0 --text ''
awk -v n=100000 -v len="$base_len" 'BEGIN { srand(7); step = int(len / n);
	for (i = 0; i < n; i++) printf "%d 1\n", i * step + 1 + int(rand() * (step - 2)) }' > ranges.txt
vb-delete --no-sync --ranges ranges.txt p.vb
p_pieces=$(vb-history -n 1 --json p.vb | sed 's/.*"pieces":\([0-9]*\).*/\1/')
printf 'x%.0s' $(seq 4096) > small.bin
vb-insert --no-sync --base small.bin small.vb 0 --text ''


mid=$(( base_len / 2 ))
# 1. one insert in the middle vs rewriting the file
cp flat.bin f.bin
pair rewrite "{ head -c $mid f.bin; printf X; tail -c +$((mid + 1)) f.bin; } > g.bin; rm -f g.bin" \
     insert "vb-insert s.vb $mid --text X" f.bin s.vb
pair rewrite2 "{ head -c $mid f.bin; printf X; tail -c +$((mid + 1)) f.bin; } > g.bin; rm -f g.bin" \
     insert_nosync "vb-insert --no-sync s.vb $mid --text X" f.bin s.vb
rm -f f.bin

# 2. streaming through a pipe, both sides pinned to one core
pair vbcat "taskset -c 0 sh -c 'vb-cat s.vb | cat > /dev/null'" \
     cat "taskset -c 0 sh -c 'cat flat.bin | cat > /dev/null'" base.bin flat.bin
pair vbcat_2cores "vb-cat s.vb | cat > /dev/null" cat_2cores "cat flat.bin | cat > /dev/null" base.bin flat.bin

# 2b. a store whose bytes all live in its own records: every 64 KiB block
# is checksum-verified on the way out (the cost of verification)
t0=$(now_us)
rss_bigins=$( { cat base.bin | /usr/bin/time -f %M vb-insert --no-sync -c d.vb 0; } 2>&1 )
t1=$(now_us)
ins_mbs=$(awk -v b="$base_len" -v u=$(( t1 - t0 )) 'BEGIN { printf "%.0f", b / u }')
pair vbcat_data "taskset -c 0 sh -c 'vb-cat d.vb | cat > /dev/null'" \
     cat_data "taskset -c 0 sh -c 'cat base.bin | cat > /dev/null'" d.vb base.bin
rm -f d.vb

# 3. edit latency: 4 KiB store vs 1 GiB store with 100,000 pieces
pair edit_big "vb-insert --no-sync p.vb $mid --text X" edit_small "vb-insert --no-sync small.vb 2048 --text X" base.bin
# 4. bytes appended by one single-edit commit at 100,000 pieces
before=$(stat -c %s p.vb)
vb-insert --no-sync p.vb $(( mid + 12345 )) --text Y
after=$(stat -c %s p.vb)
bytes_per_edit=$(( after - before ))
before=$(stat -c %s p.vb)
vb-delete --no-sync p.vb $(( mid / 3 )) 1
after=$(stat -c %s p.vb)
bytes_per_delete=$(( after - before ))
# 5. peak RSS of vb-cat on the big store, and of cat for reference
warm base.bin
rss_vbcat=$( { /usr/bin/time -f %M vb-cat s.vb > /dev/null; } 2>&1 )
rss_cat=$( { /usr/bin/time -f %M cat flat.bin > /dev/null; } 2>&1 )
rss_insert=$( { /usr/bin/time -f %M vb-insert --no-sync p.vb 5 --text Z; } 2>&1 )

cat <<TABLE

Machine: $(machine).
Base ${size_mib} MiB; store with $edits edits ($pieces pieces); second store with $p_pieces pieces. Medians of $repeat alternating runs.

| case | vb | standard tool | ratio | target |
|---|---|---|---|---|
| insert 1 byte mid-file (vb-insert, synced) vs head/printf/tail rewrite | $(us2ms "${med[insert]}") | $(us2ms "${med[rewrite]}") | $(awk -v r="${med[rewrite/insert]}" 'BEGIN { printf "%.0fx faster", r }') | >= 500x |
| the same with --no-sync | $(us2ms "${med[insert_nosync]}") | $(us2ms "${med[rewrite2]}") | $(awk -v r="${med[rewrite2/insert_nosync]}" 'BEGIN { printf "%.0fx faster", r }') | |
| vb-cat STORE \| cat vs cat FLAT \| cat (one core) | $(us2ms "${med[vbcat]}") | $(us2ms "${med[cat]}") | ${med[vbcat/cat]} | <= 1.25 |
| the same, free to use both cores | $(us2ms "${med[vbcat_2cores]}") | $(us2ms "${med[cat_2cores]}") | ${med[vbcat_2cores/cat_2cores]} | |
| vb-cat of a store holding all ${size_mib} MiB in its own (verified) records vs cat (one core) | $(us2ms "${med[vbcat_data]}") | $(us2ms "${med[cat_data]}") | ${med[vbcat_data/cat_data]} | |
| cat BASE \| vb-insert: ${size_mib} MiB streamed into a store | ${ins_mbs} MB/s, peak RSS $rss_bigins KiB | | | small RSS |
| vb-insert --no-sync: $p_pieces-piece ${size_mib} MiB store vs 4 KiB store | $(us2ms "${med[edit_big]}") | $(us2ms "${med[edit_small]}") | ${med[edit_big/edit_small]} | <= 1.5 |
| bytes appended by one insert commit at $p_pieces pieces | $bytes_per_edit B | | | <= 4096 B |
| bytes appended by one delete commit at $p_pieces pieces | $bytes_per_delete B | | | <= 4096 B |
| peak RSS: vb-cat of the $size_mib MiB store / cat / vb-insert | $rss_vbcat KiB | $rss_cat KiB | | <= 32768 KiB |
| peak RSS: vb-insert on the $p_pieces-piece store | $rss_insert KiB | | | |
TABLE

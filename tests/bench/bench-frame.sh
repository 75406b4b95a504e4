#!/bin/bash
# bench-frame: vb-frame against the standard tools, side by side in one run.
# Run by hand (never a timed test):
#
#   tests/bench/bench-frame.sh [BUILD_DIR] [SIZE_MIB] [REPEAT]
#
# defaults: build-bench (configured here, release), 1024 MiB, 7.
# Generates SIZE_MIB of log lines of about 60 bytes and SIZE_MIB of u32be
# length-prefixed 100-byte messages, then times each pair alternately
# (A B A B ...), re-reading the inputs right before each run (this machine
# evicts files from the page cache after ~30 s), with both sides pinned to
# one core, and prints medians and the median of the pairwise ratios as a
# markdown table.  Peak RSS comes from GNU time.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-bench}
size_mib=${2:-1024}
repeat=${3:-7}
vb_install_mawk() { command -v mawk >/dev/null || { echo "mawk is needed (apt-get install mawk)" >&2; exit 1; }; }
vb_install_mawk

. "$src/tests/bench/lib.sh"
bench_setup "$build"


echo "generating ${size_mib} MiB of lines..." >&2
bytes=$(( size_mib * 1024 * 1024 ))
awk -v n=$(( bytes / 62 + 1 )) 'BEGIN { for (i = 0; i < n; i++)
	printf "2026-11-22T%02d:%02d:%02d host-%03d GET /api/item/%08d %4d\n",
	       (i / 3600) % 24, (i / 60) % 60, i % 60, i % 997, i, i % 9973 }' |
	head -c "$bytes" > lines.txt
lines=$(wc -l < lines.txt)
echo "generating ${size_mib} MiB of u32be-framed 100-byte messages..." >&2
head -c $(( bytes / 104 * 100 )) /dev/urandom | vb-frame --fixed 100 --to-length-prefix u32be > msgs.bin
msgs=$(( $(stat -c %s msgs.bin) / 104 ))
mid=$(( lines / 2 ))

one() { taskset -c 0 "$@"; }

pair count "one vb-frame -l --count lines.txt" wc "one wc -l lines.txt" lines.txt
# into /dev/null: the tools' own work; into a file: what a user waits for,
# where writing 1 GiB to the file system takes most of the time
pair z "one vb-frame -l -z lines.txt" tr "one tr '\\n' '\\0' < lines.txt" lines.txt
pair lines "one vb-frame -l lines.txt" mawk "one mawk 'BEGIN{RS=\"\\r?\\n\"}{print}' lines.txt" lines.txt
pair linesf "one vb-frame -l lines.txt > out.bin" mawkf "one mawk 'BEGIN{RS=\"\\r?\\n\"}{print}' lines.txt > out.bin" lines.txt
pair pick "one vb-frame -l -n $mid lines.txt" sed "one sed -n '${mid}{p;q}' lines.txt" lines.txt
rm -f out.bin

# length-prefixed decode to NUL-separated records (no standard tool does this)
dec=()
for ((k = 0; k < repeat; k++)); do
	warm msgs.bin
	dec+=("$(time_us "one vb-frame -L u32be -z msgs.bin")")
done
med[decode]=$(printf '%s\n' "${dec[@]}" | median)
rm -f out.bin
check=$(vb-frame -L u32be --count msgs.bin)
[ "$check" = "$msgs" ] || { echo "decode count $check, expected $msgs" >&2; exit 1; }

rss() { { /usr/bin/time -f %M "$@" > /dev/null; } 2>&1 | tail -1; }
warm lines.txt msgs.bin
rss_count=$(rss vb-frame -l --count lines.txt)
rss_z=$(rss vb-frame -l -z lines.txt)
rss_pick=$(rss vb-frame -l -n "$mid" lines.txt)
rss_dec=$(rss vb-frame -L u32be -z msgs.bin)
rss_small=$(rss vb-frame -l -z --max-size 1M lines.txt)

gbs=$(awk -v b="$(stat -c %s msgs.bin)" -v u="${med[decode]}" 'BEGIN { printf "%.2f GB/s", b / u / 1000 }')
ratio() { awk -v r="$1" 'BEGIN { printf "%.2f", r }'; }
faster() { awk -v r="$1" 'BEGIN { printf "%.1fx faster", 1 / r }'; }
cat <<TABLE

Machine: $(machine).
${size_mib} MiB of $lines lines; ${size_mib} MiB of $msgs u32be-framed messages. Medians of $repeat alternating runs, one core.

| case | vb-frame | standard tool | ratio (vb / tool) | target |
|---|---|---|---|---|
| \`vb-frame -l --count\` vs \`wc -l\` | $(us2ms "${med[count]}") | $(us2ms "${med[wc]}") | $(ratio "${med[count/wc]}") | <= 2 |
| \`vb-frame -l -z\` vs \`tr '\\n' '\\0'\` (into /dev/null) | $(us2ms "${med[z]}") | $(us2ms "${med[tr]}") | $(ratio "${med[z/tr]}") | <= 1.5 |
| \`vb-frame -l\` vs \`mawk 'BEGIN{RS="\\r?\\n"}{print}'\` (into /dev/null) | $(us2ms "${med[lines]}") | $(us2ms "${med[mawk]}") | $(ratio "${med[lines/mawk]}") ($(faster "${med[lines/mawk]}")) | >= 3x faster |
| the same into a file | $(us2ms "${med[linesf]}") | $(us2ms "${med[mawkf]}") | $(ratio "${med[linesf/mawkf]}") ($(faster "${med[linesf/mawkf]}")) | |
| \`vb-frame -l -n $mid\` vs \`sed -n '$mid{p;q}'\` | $(us2ms "${med[pick]}") | $(us2ms "${med[sed]}") | $(ratio "${med[pick/sed]}") | <= 1 |
| \`vb-frame -L u32be -z\` (decode to NUL-separated, into /dev/null) | $(us2ms "${med[decode]}") = $gbs | | | |
| peak RSS: --count / -z / -n / -L decode | $rss_count / $rss_z / $rss_pick / $rss_dec KiB | | | <= 16 MiB + --max-size |
| peak RSS: -z with --max-size 1M | $rss_small KiB | | | |
TABLE

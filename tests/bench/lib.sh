# Shared by the benchmarks (sourced, not run): build, a scratch directory,
# and timing of command pairs run alternately (A B A B ...) with medians and
# the median of the pairwise ratios.
#
#   bench_setup BUILD_DIR [nobuild]
#                           configure (release) and build if needed (not
#                           with "nobuild": use the commands as they are),
#                           put the commands first on PATH, cd into a
#                           scratch dir that is removed on exit
#   make_lines FILE MIB     MIB MiB of log lines of about 62 bytes
#   peak_rss CMD...         the command's peak RSS in KiB (GNU time)
#   pair NAME_A CMD_A NAME_B CMD_B [FILES...]
#                           REPEAT runs of each, FILES re-read before every
#                           run (this machine evicts files from the page
#                           cache after ~30 s); results in med[NAME_A],
#                           med[NAME_B] (microseconds) and med[NAME_A/NAME_B]

bench_setup() {
	local build=$1 src
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	case $build in /*) ;; *) build=$PWD/$build ;; esac
	if [ "${2:-}" != nobuild ]; then
		if [ ! -x "$build/cmd/vb-cat" ]; then
			meson setup "$build" "$src" --buildtype=release >/dev/null
		fi
		ninja -C "$build" >/dev/null
	fi
	[ -x "$build/cmd/vb-cat" ] || { echo "no commands in $build/cmd" >&2; exit 1; }
	PATH="$build/cmd:$PATH"
	work=$(mktemp -d "${TMPDIR:-/var/tmp}/vb-bench.XXXXXX")
	trap 'rm -rf "$work"' EXIT
	cd "$work" || exit 1
}

now_us() { echo "${EPOCHREALTIME/./}"; }
warm() { cat "$@" > /dev/null; }

# time_us CMD: wall time of one run in microseconds (evaluated in this
# shell, so no extra shell start-up is counted)
time_us() {
	local t0 t1
	t0=$(now_us)
	eval "$1" > /dev/null
	t1=$(now_us)
	echo $(( t1 - t0 ))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A med
pair() {
	local na=$1 ca=$2 nb=$3 cb=$4 a b k
	shift 4
	local ta=() tb=() r=()
	for ((k = 0; k < repeat; k++)); do
		[ $# -gt 0 ] && warm "$@"
		a=$(time_us "$ca")
		[ $# -gt 0 ] && warm "$@"
		b=$(time_us "$cb")
		ta+=("$a"); tb+=("$b")
		r+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", a / b }')")
	done
	med[$na]=$(printf '%s\n' "${ta[@]}" | median)
	med[$nb]=$(printf '%s\n' "${tb[@]}" | median)
	med["$na/$nb"]=$(printf '%s\n' "${r[@]}" | median)
}

us2ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }

machine() {
	echo "$(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(df -T . | awk 'NR == 2 { print $2 }') file system, $(uname -r)"
}

make_lines() {
	local file=$1 mib=$2 chunk=$(( $2 < 64 ? $2 : 64 )) k
	# more lines than needed, cut to size (awk stops at the closed pipe)
	{ awk -v n=$(( chunk * 1024 * 1024 / 50 )) 'BEGIN { for (i = 0; i < n; i++)
		printf "2026-11-22T%02d:%02d:%02d host-%03d GET /api/item/%08d %4d\n",
		       (i / 3600) % 24, (i / 60) % 60, i % 60, i % 997, i, i % 9973 }' || true; } |
		head -c $(( chunk * 1024 * 1024 )) > "$file.chunk"
	: > "$file"
	for ((k = 0; k < mib / chunk; k++)); do cat "$file.chunk" >> "$file"; done
	rm -f "$file.chunk"
}

peak_rss() {
	/usr/bin/time -o "$work/.rss" -f %M "$@" > /dev/null 2>"$work/.rss-err" ||
		{ echo "failed: $* ($(head -c 300 "$work/.rss-err"))" >&2; return 1; }
	tail -1 "$work/.rss"
}

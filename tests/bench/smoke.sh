#!/bin/bash
# The test suite's smoke run of vb-bench: `--quick` completes and prints a
# table with a row for every case.  Never a timed assertion (the figures
# of a quick run mean nothing).
#
#   tests/bench/smoke.sh BUILD_DIR
set -euo pipefail
out=$("$(dirname "$0")/vb-bench" --quick --no-build --build-dir "$1" 2>/dev/null)
status=0
for c in cat frame read flatten edit latency batch udiff lines verify rss; do
	grep -q "^| $c | " <<< "$out" || { echo "no row for case '$c'" >&2; status=1; }
done
grep -q '^| case | what |' <<< "$out" || { echo "no table header" >&2; status=1; }
[ $status = 0 ] || printf '%s\n' "$out" >&2
exit $status

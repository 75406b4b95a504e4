#!/bin/sh
# Remake the real stores of corpus/store with the built commands:
#   tests/fuzz/make-store-corpus.sh BUILDDIR
# Each file is one mode byte (see fuzz-store.c; 0: the file alone) and a
# store made next to the base file fuzz-store recreates at startup (the
# lines 1 to 700, mtime 1700000000), so the stores find their base.
set -eu
build=$(cd "$1" && pwd)
out=$(cd "$(dirname "$0")" && pwd)/corpus/store
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export HOME="$tmp"
seq 1 700 > base
touch -d @1700000000 base
ins="$build/cmd/vb-insert --no-sync"
del="$build/cmd/vb-delete --no-sync"
hist="$build/cmd/vb-history --no-sync"
flat="$build/cmd/vb-flatten --no-sync"

# a base file and edits
$ins --base base edits.vb 10 --text 'hello, '
$del edits.vb 100 50
$ins edits.vb end --hex 'de ad be ef' -m 'four bytes'
$ins edits.vb 0 --replace 3 --text 'abc'
printf '0 2\n20 5\n# done\n' > ranges
$del --ranges ranges edits.vb

# no base: a revert and anchors
$ins --create revert.vb 0 --text 'The quick brown fox jumps over the lazy dog.' -a start
$ins revert.vb @start+10 --text 'red ' -a red
$del revert.vb 4 6
$hist --set-anchor end revert.vb end
$hist --revert 1 revert.vb
$hist --remove-anchor start revert.vb
$ins revert.vb end --text ' Again.'

# flattened: a fragmented store made one piece, then compacted
$ins --base base flat.vb 5 --text x
i=0
while [ $i -lt 12 ]; do
	$ins flat.vb $((i * 37)) --text "<$i>"
	i=$((i + 1))
done
$flat flat.vb
$ins flat.vb 3 --text more
$flat --compact --keep 2 flat.vb

mkdir -p "$out"
for s in edits revert flat; do
	{ printf '\000'; cat $s.vb; } > "$out/$s"
done
# the same stores opened leniently, with small caches and 1-byte reads
printf '\006' > "$out/edits-lenient"; cat edits.vb >> "$out/edits-lenient"
# the store fuzz-store builds itself, with a torn tail after it
printf '\001\000\000\000' > "$out/prefix-torn"
ls -l "$out"

#!/bin/sh
# Remake corpus/export with the built commands and fuzz-export:
#   tests/fuzz/make-export-corpus.sh BUILDDIR   # a -Dfuzz=true build
# fuzz-export builds the same small store at every start (fixed store id
# and clock; versions 0 to 3) and writes a copy of it with
# VB_FUZZ_EXPORT_STORE=DIR; the commands add versions to the copy and
# export them, so that the exports apply to the fuzzer's store.  Each file
# is one mode byte (see fuzz-export.c) and an export.
set -eu
build=$(cd "$1" && pwd)
out=$(cd "$(dirname "$0")" && pwd)/corpus/export
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
export HOME="$tmp"
VB_FUZZ_EXPORT_STORE="$tmp" "$build/tests/fuzz/fuzz-export" >/dev/null 2>&1
cp s.vb big.vb
ins="$build/cmd/vb-insert --no-sync"
del="$build/cmd/vb-delete --no-sync"
hist="$build/cmd/vb-history --no-sync"
flat="$build/cmd/vb-flatten --no-sync"
exp="$build/cmd/vb-history --export"

mkdir -p "$out"
# nothing after version 3
{ printf '\000'; $exp 3 s.vb; } > "$out/empty"

# edits, anchors, a revert, a flatten, messages
$ins s.vb 20 --text 'inserted ' -a here -m 'four'
printf '0 2\n30 5\n100 1\n' > ranges
$del --ranges ranges s.vb
$ins s.vb end --hex '00 ff 0d 0a' --replace 0 -m 'hex'
$ins s.vb 5 --replace 10 --text 'REPLACED'
$hist --set-anchor last s.vb end
$hist --remove-anchor mark s.vb
$hist --revert 5 s.vb -m 'back to 5'
$flat s.vb
$ins s.vb @here --text '+'
# a file (checked, then applied), a pipe read a byte at a time, a pipe
# whose last version is committed after the apply, one from version 0
# (versions 1 to 3 are present and only checked)
{ printf '\001'; $exp 3 s.vb; } > "$out/file-since-3"
{ printf '\000'; $exp 3 s.vb; } > "$out/pipe-1-byte"
{ printf '\026'; $exp 2 s.vb; } > "$out/pipe-leave-last-since-2"
{ printf '\201'; $exp 0 s.vb; } > "$out/file-since-0"

# an edit larger than 1 MiB (through the pipe of the applier), a flatten
head -c 1200000 /dev/zero | tr '\0' 'z' > big
$ins big.vb 100 big -m big
$flat big.vb
{ printf '\001'; $exp 3 big.vb; } > "$out/big-edit"
ls -l "$out"

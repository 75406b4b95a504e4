#!/bin/sh
# The layer rule of lib/README.md ("Layers"), checked on every
# #include "..." in lib/ and cmd/: a file may include headers of its own
# layer or of the layers its row allows; cmd/ only the front door.  The
# table is read from lib/README.md itself, so the document and the test
# cannot drift apart.  Lines of the table's "debt" block are arrows that
# break the rule today and are being removed (issue 12); any other
# forbidden arrow fails.
#
#   tests/layers/check-includes.sh [SOURCE_ROOT]
set -eu
root=${1:-$(dirname "$0")/../..}
readme=$root/lib/README.md
[ -r "$readme" ] || { echo "check-includes: $readme: cannot read" >&2; exit 1; }

# "layer: stems... | may: layers..." lines between the markers
table=$(sed -n '/^<!-- layers:begin -->$/,/^<!-- layers:end -->$/p' "$readme" | grep '^    [a-z]')
debt=$(sed -n '/^<!-- debt:begin -->$/,/^<!-- debt:end -->$/p' "$readme" | grep '^    [a-z]' | sed 's/^ *//' || true)
front=" $(sed -n 's/^<!-- front: \(.*\) -->$/\1/p' "$readme") cli progress "
[ -n "$table" ] || { echo "check-includes: no layer table in $readme" >&2; exit 1; }

layer_of() {  # stem -> layer name (empty if unknown)
	echo "$table" | awk -v s="$1" '{ sub(/^ +/, ""); split($0, h, "|"); split(h[1], w, " ");
		for (i = 2; i <= length(w); i++) if (w[i] == s) { sub(":", "", w[1]); print w[1]; exit } }'
}
allowed() {  # layer -> the layers it may include
	echo "$table" | awk -v l="$1:" '{ sub(/^ +/, ""); split($0, w, " "); if (w[1] == l) {
		split($0, h, "|"); sub(/^ *may: */, "", h[2]); print h[2]; exit } }'
}

bad=0
checked=0
for f in "$root"/lib/*.c "$root"/lib/*.h "$root"/cmd/*.c "$root"/cmd/*.h; do
	[ -e "$f" ] || continue
	rel=${f#"$root"/}
	stem=$(basename "$f"); stem=${stem%.[ch]}
	case $rel in cmd/vb-*) stem=vb-command ;; esac
	from=$(layer_of "$stem")
	if [ -z "$from" ]; then
		echo "check-includes: $rel: $stem is in no layer of lib/README.md" >&2
		bad=1
		continue
	fi
	ok=" $from $(allowed "$from") "
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		checked=$((checked + 1))
		to=$(layer_of "${inc%.h}")
		if [ -z "$to" ]; then
			echo "check-includes: $rel includes $inc, which is in no layer" >&2
			bad=1
		elif [ "$from" = cmd ]; then
			case $front in *" ${inc%.h} "*) continue ;; esac
			arrow="$rel -> $inc"
			if echo "$debt" | grep -qxF "$arrow"; then :; else
				echo "check-includes: $arrow: commands include only the front door" >&2
				bad=1
			fi
		else
			case $ok in *" $to "*) continue ;; esac
			arrow="$rel -> $inc"
			if echo "$debt" | grep -qxF "$arrow"; then continue; fi
			echo "check-includes: $arrow: layer $from may not include layer $to" >&2
			bad=1
		fi
	done
done
# every debt line must still be a real arrow: paid debt is removed from the list
echo "$debt" | while read -r rel arrow inc; do
	[ -n "$rel" ] || continue
	grep -q "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$inc\"" "$root/$rel" 2>/dev/null || {
		echo "check-includes: debt '$rel -> $inc' is gone from the code: remove it from lib/README.md" >&2
		exit 1
	}
done || bad=1
[ "$checked" -gt 0 ] || { echo "check-includes: no include checked" >&2; exit 1; }
[ "$bad" -eq 0 ] || exit 1
echo "check-includes: $checked includes follow the layer table"

# The shared part of the zsh completions of the vb commands.
#
# completions/generate.py puts this file, unchanged, into every generated
# zsh completion (the body of the autoloaded function _CMD), followed by
# the command's _arguments specs from completions/vb.spec.  It defines the
# actions those specs name; they run inside _arguments, so they read
# $line (the operands: the store is the first), $opt_args (the value of
# --at-version, or of its short form $vb_at_short) and $words, and the
# caller's $vb_cmd (the command's name) and $vb_takes (the options that
# take the next word as their value).

# _vb_run_history ARG...: run "vb-history ARG... -- STORE" on the store
# on the line (the vb-history next to the command typed, else the one on
# PATH; at most 2 seconds), its errors dropped.  Status 1 if there is no
# store yet or it is not a readable file.
(( $+functions[_vb_run_history] )) ||
_vb_run_history() {
	local store=${line[1]-} history w
	local -i k skip=0
	# no operand before the cursor: the first one after it (the options
	# in $vb_takes take the next word as their value)
	for ((k = CURRENT + 1; !$#store && k <= $#words; k++)); do
		w=$words[k]
		if (( skip )); then
			skip=0
		elif [[ $w == -- ]]; then
			store=${words[k + 1]-}
		elif [[ $w == -?* ]]; then
			(( ${vb_takes[(Ie)$w]} )) && skip=1
		else
			store=$w
		fi
	done
	[[ $store == \~/* ]] && store=$HOME/${store#\~/}
	[[ -n $store && $store != - && -f $store && -r $store ]] || return 1
	history=${words[1]%$vb_cmd}vb-history
	[[ $history == */* && -x $history ]] || history=vb-history
	local -a run=($history "$@")
	(( $+commands[timeout] )) && run=(timeout 2 $run)
	$run -- $store 2>/dev/null </dev/null
}

# _vb_anchor_names: set the array names to the anchors of the store, at
# the version of --at-version if one is given.
(( $+functions[_vb_anchor_names] )) ||
_vb_anchor_names() {
	local at=${opt_args[--at-version]-} short=${vb_at_short#-} w
	[[ -z $at && -n $short ]] && at=${opt_args[-$short]-}
	if [[ -n $short ]]; then
		# _arguments takes the value of a cluster like -cV2 to be "cV2"
		for w in $words[2,CURRENT-1]; do
			[[ $w == -[^-]##$short?* ]] && at=${w#-[^-]#$short}
		done
	fi
	names=(${${(f)"$(_vb_run_history --anchors ${at:+--at-version=$at})"}%%$'\t'*})
}

# _vb_anchors: an anchor of the store (NAME).
(( $+functions[_vb_anchors] )) ||
_vb_anchors() {
	local -a names
	_vb_anchor_names
	compadd -a names
}

# _vb_offset: after '@', an anchor of the store (@NAME).
(( $+functions[_vb_offset] )) ||
_vb_offset() {
	compset -P '@' || return 1
	_vb_anchors
}

# _vb_range: START:END, where after '@' at its start or after the ':' come
# the anchors of the store (@a:@b, @a:+10, 10:@b).
(( $+functions[_vb_range] )) ||
_vb_range() {
	compset -P '*:'
	_vb_offset
}

# _vb_versions: the versions of the store that "vb-history -H" lists (the
# kept ones): each number, head and head~K for each older one.
(( $+functions[_vb_versions] )) ||
_vb_versions() {
	local -a versions
	local v newest=
	for v in ${${(f)"$(_vb_run_history -H)"}##[[:blank:]]#}; do
		v=${v%%[[:blank:]]*}
		[[ $v == <-> ]] || continue
		if [[ -z $newest ]]; then
			newest=$v
			versions+=($v head)
		else
			versions+=($v head~$((newest - v)))
		fi
	done
	compadd -Q -a versions
}

# _vb_stores: a store file (*.vb) or a directory.
(( $+functions[_vb_stores] )) ||
_vb_stores() {
	_files -g '*.vb'
}

# The shared part of the bash completions of the vb commands.
#
# completions/generate.py puts this file, unchanged, into every generated
# bash completion, followed by the command's function: that function sets
# the command's table (from completions/vb.spec) in local variables and
# calls _vb_complete, which reads them:
#
#   vb_cmd           the command's name
#   vb_opts          every option, as '-' offers them
#   vb_long          short option -> its long name
#   vb_kind          long option -> the kind of its value (only options
#                    that take one)
#   vb_operands      the kinds of the operands in order; the last may end
#                    with "..." (it repeats)
#   vb_alt_operands  --OPTION KIND...: the operands when --OPTION is on
#                    the line (empty if none)
#
# Kinds (see vb.spec): store, file, version, offset, range, anchor,
# enum:A|B|C; any other completes to nothing.  The functions are the same
# in every file, so loading several files defines them again identically;
# they use bash-completion's helpers when they are loaded and plain
# compgen otherwise.

# _vb_option WORD: whether WORD (a word before '--') is an option; sets
# opt_wait to the long name of the option that takes the next word as its
# value (or ''), and opt_name, opt_value to an option given its value in
# WORD itself ("--at-version=2", "-V2", "-cV2").  Status 1 for an operand.
_vb_option()
{
	local w=$1 m long
	opt_wait='' opt_name='' opt_value=''
	case $w in
	--?*=*) opt_name=${w%%=*} opt_value=${w#*=} ;;
	--?*)
		# an optional value is only ever in the same word (--unified=N)
		[[ ${vb_kind[$w]-optional} != optional ]] && opt_wait=$w ;;
	-?*)
		for ((m = 1; m < ${#w}; m++)); do
			long=${vb_long[-${w:m:1}]-}
			[[ $long && ${vb_kind[$long]-} ]] || continue
			# a short option that takes a value ends the cluster
			[[ ${vb_kind[$long]} == optional ]] && break
			if ((m == ${#w} - 1)); then
				opt_wait=$long
			else
				opt_name=$long opt_value=${w:m+1}
			fi
			break
		done ;;
	*) return 1 ;;
	esac
	return 0
}

# _vb_scan END: read words[1] to words[END - 1]: vb_args gets the
# operands, vb_pending the long name of an option still waiting for its
# value (or ''), vb_at the value of --at-version (or ''), vb_dashdash
# whether '--' was among them.  Uses the caller's words, cword and cur.
_vb_scan()
{
	local w k opt_wait opt_name opt_value
	vb_args=() vb_pending='' vb_at='' vb_dashdash=false
	for ((k = 1; k < $1; k++)); do
		if ((k == cword)); then
			# the word being completed (a value, if one is due); with
			# the cursor on the blanks before a word, that word is
			# looked at
			vb_pending=''
			[[ $cur || -z ${words[k]} ]] && continue
		fi
		w=${words[k]}
		if [[ $vb_pending ]]; then
			[[ $vb_pending == --at-version ]] && vb_at=$w
			vb_pending=''
			continue
		fi
		if ! $vb_dashdash; then
			[[ $w == -- ]] && { vb_dashdash=true; continue; }
			if _vb_option "$w"; then
				vb_pending=$opt_wait
				[[ $opt_name == --at-version ]] && vb_at=$opt_value
				continue
			fi
		fi
		vb_args+=("$w")
	done
}

# _vb_store: set vb_store to the first operand on the line (before or
# after the cursor; the store whose anchors and versions are offered) and
# vb_at to the value of --at-version, if one is given.
_vb_store()
{
	local -a vb_args
	local vb_pending vb_dashdash
	_vb_scan ${#words[@]}
	vb_store=${vb_args[0]-}
	[[ $vb_store == \~/* ]] && vb_store=$HOME/${vb_store#\~/}
}

# _vb_run_history ARG...: run "vb-history ARG... -- STORE" on the store on
# the line (the vb-history next to the command typed, else the one on
# PATH; at most 2 seconds), its errors dropped.  Status 1, and no output,
# if there is no store yet or it is not a readable file.
_vb_run_history()
{
	local vb_store vb_at history
	_vb_store
	[[ $vb_store && $vb_store != - && -f $vb_store && -r $vb_store ]] || return 1
	history=${words[0]%"$vb_cmd"}vb-history
	type -P "$history" >/dev/null 2>&1 || history=vb-history
	local -a run=("$history" "$@")
	[[ $1 == --anchors && $vb_at ]] && run+=("--at-version=$vb_at")
	type -P timeout >/dev/null 2>&1 && run=(timeout 2 "${run[@]}")
	"${run[@]}" -- "$vb_store" 2>/dev/null </dev/null
}

# _vb_anchors: print the names of the anchors of the store on the line, at
# the version of --at-version if one is given, one a line, as
# "vb-history --anchors" lists them.
_vb_anchors()
{
	local name _
	_vb_run_history --anchors |
		while IFS=$'\t' read -r name _; do
			printf '%s\n' "$name"
		done
}

# _vb_versions: print the versions of the store on the line that
# "vb-history -H" lists (the kept ones), one a line: each number, then
# head and head~K for each older one.
_vb_versions()
{
	local v _ newest=''
	_vb_run_history -H |
		while read -r v _; do
			[[ $v =~ ^[0-9]+$ ]] || continue
			printf '%s\n' "$v"
			if [[ -z $newest ]]; then
				newest=$v
				printf 'head\n'
			else
				printf 'head~%s\n' $((newest - v))
			fi
		done
}

# _vb_files [vb]: complete $cur as any file name, or with "vb" as a store
# file (*.vb) or a directory.
_vb_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir ${1:+"$1"}
	elif [[ $1 == vb ]]; then
		local f
		compopt -o filenames 2>/dev/null
		COMPREPLY=()
		while IFS= read -r f; do
			[[ $f == *.vb || -d $f ]] && COMPREPLY+=("$f")
		done < <(compgen -f -- "$cur")
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

# _vb_range: complete $cur as START:END, where after '@' at its start or
# after the ':' come the anchors of the store (@a:@b, @a:+10, 10:@b).
_vb_range()
{
	local pre='' part=$cur
	if [[ $cur == *:* ]]; then
		pre=${cur%%:*}: part=${cur#*:}
	fi
	[[ $part == @* ]] || return
	mapfile -t COMPREPLY < <(compgen -P "$pre@" -W "$(_vb_anchors)" -- "${part#@}")
}

# _vb_complete_kind KIND: complete $cur as a value of KIND.
_vb_complete_kind()
{
	case $1 in
	store) _vb_files vb ;;
	file) _vb_files ;;
	offset)	# after '@', an anchor
		if [[ $cur == @* ]]; then
			mapfile -t COMPREPLY < <(compgen -P @ -W "$(_vb_anchors)" -- "${cur#@}")
		fi ;;
	range) _vb_range ;;
	anchor) mapfile -t COMPREPLY < <(compgen -W "$(_vb_anchors)" -- "$cur") ;;
	version) mapfile -t COMPREPLY < <(compgen -W "$(_vb_versions)" -- "$cur") ;;
	enum:*)
		local list=${1#enum:}
		mapfile -t COMPREPLY < <(compgen -W "${list//|/ }" -- "$cur") ;;
	*) ;;	# a number, size, text or new name: nothing to offer
	esac
}

# _vb_trim: readline replaces only the part of the word after the last
# ':' (or from the last '@') where they separate words, so drop the part
# before from each reply ("--range @a:@m" offers "@mid"; "x@" offers
# "@y.vb" where '@' separates words, as without bash-completion).
_vb_trim()
{
	local pre='' tail
	[[ $COMP_WORDBREAKS == *:* && $cur == *:* ]] && pre=${cur%:*}:
	tail=${cur#"$pre"}
	[[ $COMP_WORDBREAKS == *@* && $tail == ?*@* ]] && pre+=${tail%@*}
	[[ $pre ]] && COMPREPLY=("${COMPREPLY[@]#"$pre"}")
	return 0
}

# _vb_complete: the completion function of every command, with the
# command's table in the caller's variables (see the top of this file).
_vb_complete()
{
	local cur prev words cword split=false

	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -s -n @: || return
	else
		# COMP_WORDS splits words at '=', ':' and '@' ("--offset=@top"
		# arrives as "--offset", "=@", "top"); join again what the line
		# does not separate by blanks
		local i t j=0 line=${COMP_LINE#*"${COMP_WORDS[0]}"}
		words=("${COMP_WORDS[0]}") cword=0
		for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
			t=${COMP_WORDS[i]}
			if ((j)) && [[ $line != [[:blank:]]* ]] &&
				[[ $t == [=:@]* || ${words[j]} == *[=:@] ]]; then
				words[j]+=$t
			else
				words[++j]=$t
			fi
			line=${line#*"$t"}
			((i == COMP_CWORD)) && cword=$j
		done
		# with the cursor on the blanks before a word, COMP_CWORD names
		# that word; the word to complete is a new, empty one
		if [[ ${COMP_LINE:0:COMP_POINT} == *[[:blank:]] && ${words[cword]} ]]; then
			words=("${words[@]:0:cword}" "" "${words[@]:cword}")
		fi
		cur=${words[cword]} prev=${words[cword-1]}
		if [[ $cur == --?*=* ]]; then
			prev=${cur%%=*} cur=${cur#*=} split=true
		fi
		COMPREPLY=()
	fi

	# Count the operands before the current word and find an option
	# still waiting for its value.
	local -a vb_args
	local vb_pending vb_at vb_dashdash
	_vb_scan "$cword"
	local n=${#vb_args[@]} pending=$vb_pending dashdash=$vb_dashdash
	# "--option=value": an option without a value (or an unknown one) has
	# nothing to offer
	$split && pending=$prev

	if [[ $pending ]]; then
		_vb_complete_kind "${vb_kind[$pending]-}"
		_vb_trim
		return
	fi

	if ! $dashdash && [[ $cur == -* ]]; then
		local o
		COMPREPLY=()
		for o in "${vb_opts[@]}"; do
			[[ $o == "$cur"* ]] && COMPREPLY+=("$o")
		done
		return
	fi

	# The operands: those of vb_alt_operands when its option is on the
	# line (before '--'), else vb_operands; the last one repeats if it
	# ends with "...".
	local -a ops=("${vb_operands[@]}")
	local w k
	if ((${#vb_alt_operands[@]})); then
		for ((k = 1; k < ${#words[@]}; k++)); do
			w=${words[k]}
			[[ $w == -- ]] && break
			if [[ $w == "${vb_alt_operands[0]}" || $w == "${vb_alt_operands[0]}"=* ]]; then
				ops=("${vb_alt_operands[@]:1}")
				break
			fi
		done
	fi
	local kind=''
	if ((n < ${#ops[@]})); then
		kind=${ops[n]}
	elif [[ ${ops[-1]} == *... ]]; then
		kind=${ops[-1]}
	fi
	_vb_complete_kind "${kind%...}"
	_vb_trim
}

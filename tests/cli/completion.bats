#!/usr/bin/env bats
# Bash completions (completions/bash/*): each file registers a function for
# its command that offers the command's options, store files for STORE,
# plain files for FILE and INPUT, and the names an option value can take
# (vb-frame's --oversize, --final and length prefixes), both with
# bash-completion's helpers loaded and without them.  The function is called the way readline calls it, and the
# assertions are on COMPREPLY itself.

load test_helper

BASH_COMPLETION_SCRIPT=/usr/share/bash-completion/bash_completion

# Every command, as cmd/meson.build lists it (a test below checks the two
# agree, so a new command cannot be left out here).
COMMANDS='vb-insert vb-delete vb-cat vb-history vb-frame'

# use_completion CMD [plain]: source CMD's completion file (after
# bash-completion unless "plain") and set COMP_FUNC to the function it
# registered for CMD.
use_completion() {
	local cmd=$1 mode=${2:-}
	if [[ $mode == plain ]]; then
		unset -f _init_completion _filedir
	else
		source "$BASH_COMPLETION_SCRIPT"
		declare -F _init_completion _filedir >/dev/null
	fi
	source "$VB_SOURCE_DIR/completions/bash/$cmd"
	COMP_FUNC=$(complete -p "$cmd" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
	if [[ -z $COMP_FUNC ]]; then
		echo "completions/bash/$cmd registers no function for $cmd" >&2
		return 1
	fi
}

# complete_line LINE: complete the last word of LINE (cursor at its end),
# splitting words as readline does (an --option=VALUE word is split at
# '='); REPLIES gets COMPREPLY sorted and joined by spaces.
complete_line() {
	local line=$1 tok
	local -a toks
	read -ra toks <<<"$line"
	COMP_WORDS=()
	for tok in "${toks[@]}"; do
		if [[ $tok == --*=* ]]; then
			COMP_WORDS+=("${tok%%=*}" "=")
			if [[ -n ${tok#*=} ]]; then
				COMP_WORDS+=("${tok#*=}")
			fi
		else
			COMP_WORDS+=("$tok")
		fi
	done
	if [[ $line == *' ' || $line == *= ]]; then
		COMP_WORDS+=("")
	fi
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	"$COMP_FUNC" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}" || :
	REPLIES=$(if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}"; fi |
		LC_ALL=C sort | paste -sd ' ')
}

# expect_completion LINE EXPECTED: the sorted replies for LINE.
expect_completion() {
	complete_line "$1"
	if [[ $REPLIES != "$2" ]]; then
		printf 'completing: %s\nexpected:   [%s]\nactual:     [%s]\n' \
			"$1" "$2" "$REPLIES" >&2
		return 1
	fi
}

# The options a built command lists in --help, sorted and joined.  An
# option line starts with a few spaces ("  -d, --delimiter=STR",
# "      --strip=N"); a wrapped description line is indented much further and
# may start with an option name too ("--length-adjust=-4) to the field").
help_options() {
	local line
	local -a parts
	"$1" --help | while IFS= read -r line; do
		[[ $line =~ ^\ {1,8}(-[^\ ].*) ]] || continue
		line=${BASH_REMATCH[1]%%  *}
		IFS=', ' read -ra parts <<<"$line"
		printf '%s\n' "${parts[@]%%=*}"
	done | LC_ALL=C sort | paste -sd ' '
}

make_files() {
	: > a.vb
	: > b.vb
	: > notes.txt
	mkdir dir
}

@test "every command's completion file registers a function for it" {
	for cmd in $COMMANDS; do
		use_completion "$cmd"
		[[ $(type -t "$COMP_FUNC") == function ]]
	done
}

@test "the list of commands here is the one the build installs" {
	built=$(sed -n "s/^commands = \[\(.*\)\]/\1/p" "$VB_SOURCE_DIR/cmd/meson.build" |
		tr -d "'" | tr -s ', ' '\n' | LC_ALL=C sort | paste -sd ' ')
	[[ $built == *vb-cat* ]]
	listed=$(printf '%s\n' $COMMANDS | LC_ALL=C sort | paste -sd ' ')
	assert_equal "$listed" "$built"
	for cmd in $COMMANDS; do
		assert_file_exists "$VB_SOURCE_DIR/completions/bash/$cmd"
	done
}

@test "'-' offers exactly the options each command lists in --help" {
	for cmd in $COMMANDS; do
		use_completion "$cmd"
		expected=$(help_options "$cmd")
		[[ $expected == *--help* && $expected == *--usage* && $expected == *--version* ]]
		expect_completion "$cmd -" "$expected"
	done
}

@test "a long option prefix offers the matching options" {
	use_completion vb-insert
	expect_completion 'vb-insert --t' '--text'
	expect_completion 'vb-insert --he' '--help --hex'
	expect_completion 'vb-insert --no' '--no-sync'
	expect_completion 'vb-insert s.vb 0 --re' '--replace'
	use_completion vb-delete
	expect_completion 'vb-delete --r' '--ranges'
	expect_completion 'vb-delete --w' '--wait'
	use_completion vb-cat
	expect_completion 'vb-cat --at' '--at-version'
	expect_completion 'vb-cat --ver' '--version'
	use_completion vb-history
	expect_completion 'vb-history --v' '--verify --version'
	expect_completion 'vb-history --re' '--revert'
	expect_completion 'vb-history --no' '--no-header --no-sync'
	use_completion vb-frame
	expect_completion 'vb-frame --o' '--output-delimiter --oversize'
	expect_completion 'vb-frame --len' '--length-adjust --length-offset --length-prefix'
	expect_completion 'vb-frame --to' '--to-length-prefix'
	expect_completion 'vb-frame --u' '--unbuffered --usage'
	expect_completion 'vb-frame -n 5 --k' '--keep'
}

@test "STORE operands offer store files and directories, not other files" {
	make_files
	for cmd in vb-insert vb-delete vb-cat vb-history; do
		use_completion "$cmd"
		expect_completion "$cmd " 'a.vb b.vb dir'
		expect_completion "$cmd a" 'a.vb'
	done
	use_completion vb-cat
	expect_completion 'vb-cat a.vb ' 'a.vb b.vb dir'
	expect_completion 'vb-cat -V 2 ' 'a.vb b.vb dir'
	expect_completion 'vb-cat --range=1:2 a.vb ' 'a.vb b.vb dir'
	use_completion vb-delete
	expect_completion 'vb-delete -R notes.txt ' 'a.vb b.vb dir'
	expect_completion 'vb-delete --ranges=notes.txt -m x ' 'a.vb b.vb dir'
	use_completion vb-insert
	expect_completion 'vb-insert -m msg ' 'a.vb b.vb dir'
	expect_completion 'vb-insert -cm msg ' 'a.vb b.vb dir'
	expect_completion 'vb-insert -cmmsg ' 'a.vb b.vb dir'
}

@test "FILE operands and --base, --ranges values offer all files" {
	make_files
	use_completion vb-insert
	expect_completion 'vb-insert a.vb 0 ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-insert a.vb 0 notes.txt n' 'notes.txt'
	expect_completion 'vb-insert -- a.vb -5 ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-insert --base ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-insert --base=no' 'notes.txt'
	expect_completion 'vb-insert -b no' 'notes.txt'
	expect_completion 'vb-insert -cb no' 'notes.txt'
	use_completion vb-delete
	expect_completion 'vb-delete --ranges ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-delete -R n' 'notes.txt'
}

@test "vb-frame: INPUT operands offer all files, after any option value" {
	make_files
	use_completion vb-frame
	expect_completion 'vb-frame ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame n' 'notes.txt'
	expect_completion 'vb-frame a.vb ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame -d x ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame -cn 1-10 ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame -L u32be --strip 0 ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame --oversize skip ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame --final=drop no' 'notes.txt'
	expect_completion 'vb-frame -- -' ''
}

@test "vb-frame: --oversize, --final and the length prefixes offer their values" {
	make_files
	use_completion vb-frame
	expect_completion 'vb-frame --oversize ' 'error skip truncate'
	expect_completion 'vb-frame --oversize=' 'error skip truncate'
	expect_completion 'vb-frame --oversize s' 'skip'
	expect_completion 'vb-frame --oversize=tr' 'truncate'
	expect_completion 'vb-frame --final ' 'drop emit error'
	expect_completion 'vb-frame --final=e' 'emit error'
	expect_completion 'vb-frame -c --final d' 'drop'
	specs='u16be u16le u24be u24le u32be u32le u64be u64le u8 varint'
	expect_completion 'vb-frame -L ' "$specs"
	expect_completion 'vb-frame --length-prefix ' "$specs"
	expect_completion 'vb-frame --length-prefix=u3' 'u32be u32le'
	expect_completion 'vb-frame -cL u6' 'u64be u64le'
	expect_completion 'vb-frame --to-length-prefix ' "$specs"
	expect_completion 'vb-frame --to-length-prefix=v' 'varint'
	expect_completion 'vb-frame --oversize x' ''
}

@test "numbers, offsets and text complete to nothing" {
	make_files
	use_completion vb-insert
	expect_completion 'vb-insert a.vb ' ''
	expect_completion 'vb-insert --wait ' ''
	expect_completion 'vb-insert --text ' ''
	expect_completion 'vb-insert -r ' ''
	expect_completion 'vb-insert --replace=' ''
	use_completion vb-delete
	expect_completion 'vb-delete a.vb ' ''
	expect_completion 'vb-delete a.vb 0 ' ''
	expect_completion 'vb-delete a.vb -- -' ''
	expect_completion 'vb-delete -R notes.txt a.vb ' ''
	use_completion vb-cat
	expect_completion 'vb-cat --offset ' ''
	expect_completion 'vb-cat -n ' ''
	expect_completion 'vb-cat --at-version=' ''
	use_completion vb-history
	expect_completion 'vb-history a.vb ' ''
	expect_completion 'vb-history --revert ' ''
	expect_completion 'vb-history -n ' ''
	use_completion vb-frame
	expect_completion 'vb-frame -d ' ''
	expect_completion 'vb-frame --delimiter=' ''
	expect_completion 'vb-frame --output-delimiter ' ''
	expect_completion 'vb-frame -n ' ''
	expect_completion 'vb-frame --records=' ''
	expect_completion 'vb-frame -F ' ''
	expect_completion 'vb-frame --max-size ' ''
	expect_completion 'vb-frame -L u8 --length-offset ' ''
	expect_completion 'vb-frame -L u8 --length-adjust=' ''
	expect_completion 'vb-frame -L u8 --strip ' ''
}

@test "without bash-completion: options, store files and files still complete" {
	make_files
	use_completion vb-insert plain
	expect_completion 'vb-insert --t' '--text'
	expect_completion 'vb-insert ' 'a.vb b.vb dir'
	expect_completion 'vb-insert a.vb ' ''
	expect_completion 'vb-insert a.vb 0 n' 'notes.txt'
	expect_completion 'vb-insert --base=no' 'notes.txt'
	expect_completion 'vb-insert --text=x a.vb ' ''
	use_completion vb-delete plain
	expect_completion 'vb-delete --ranges=' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-delete -R notes.txt ' 'a.vb b.vb dir'
	use_completion vb-cat plain
	expect_completion 'vb-cat a.vb ' 'a.vb b.vb dir'
	expect_completion 'vb-cat --length ' ''
	use_completion vb-history plain
	expect_completion 'vb-history --v' '--verify --version'
	expect_completion 'vb-history ' 'a.vb b.vb dir'
	expect_completion 'vb-history -' "$(help_options vb-history)"
	use_completion vb-frame plain
	expect_completion 'vb-frame -' "$(help_options vb-frame)"
	expect_completion 'vb-frame --ov' '--oversize'
	expect_completion 'vb-frame ' 'a.vb b.vb dir notes.txt'
	expect_completion 'vb-frame -n 3 n' 'notes.txt'
	expect_completion 'vb-frame --oversize=' 'error skip truncate'
	expect_completion 'vb-frame --final ' 'drop emit error'
	expect_completion 'vb-frame -L u1' 'u16be u16le'
	expect_completion 'vb-frame --to-length-prefix=va' 'varint'
	expect_completion 'vb-frame --max-size=' ''
}

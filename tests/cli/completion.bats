#!/usr/bin/env bats
# Bash completions (generated into $VB_BUILD_DIR/completions/bash/ from
# completions/vb.spec): each file registers a function for its command
# that offers the command's options, store files for STORE, plain files
# for FILE and INPUT, the names an option value can take (vb-frame's
# --oversize, --final and length prefixes), a store's anchors (for an
# OFFSET that starts with '@', in either end of a --range, and for
# --remove-anchor) and its versions (for -V, --revert, --diff and its B,
# --export), both with bash-completion's helpers loaded and without them.
# The function is called the way readline calls it, and the assertions are
# on COMPREPLY itself.  completion-shells.bats types into real shells.

load test_helper

BASH_COMPLETION_SCRIPT=/usr/share/bash-completion/bash_completion

# Every command: the names in cmd/COMMANDS, the list the build reads (a
# test below checks that each was built and has its completion file).
COMMANDS=$(grep -v '^#' "$VB_SOURCE_DIR/cmd/COMMANDS" | paste -sd ' ')

# use_completion CMD [plain]: source CMD's completion file (after
# bash-completion unless "plain") and set COMP_FUNC to the function it
# registered for CMD.  Without bash-completion, bash's hostcomplete is on,
# as it is by default, so that '@' separates words (bash-completion turns
# it off).
use_completion() {
	local cmd=$1 mode=${2:-}
	if [[ $mode == plain ]]; then
		unset -f _init_completion _filedir
		shopt -s hostcomplete
	else
		source "$BASH_COMPLETION_SCRIPT"
		declare -F _init_completion _filedir >/dev/null
	fi
	source "$VB_BUILD_DIR/completions/bash/$cmd"
	COMP_FUNC=$(complete -p "$cmd" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
	if [[ -z $COMP_FUNC ]]; then
		echo "completions/bash/$cmd registers no function for $cmd" >&2
		return 1
	fi
}

# split_words TEXT: WORDS gets TEXT split as readline splits a line for
# COMP_WORDS: at blanks, and around each run of the characters '=', ':'
# and '@' that are in COMP_WORDBREAKS ("--offset=@top" is "--offset",
# "=@", "top").
split_words() {
	local breaks=${COMP_WORDBREAKS//[^=:@]/} tok part
	local -a toks
	read -ra toks <<<"$1"
	WORDS=()
	for tok in "${toks[@]}"; do
		while [[ $tok ]]; do
			if [[ $tok == ["$breaks"]* ]]; then
				part=${tok%%[!"$breaks"]*}
			else
				part=${tok%%["$breaks"]*}
			fi
			WORDS+=("$part")
			tok=${tok#"$part"}
		done
	done
}

# complete_line LINE [AFTER]: complete with the cursor at the end of LINE,
# AFTER (empty, or starting with a blank) following it on the line;
# REPLIES gets COMPREPLY sorted and joined by spaces.  Like bash, with the
# cursor on blanks before a word, COMP_CWORD names that word.
complete_line() {
	local line=$1 after=${2:-}
	split_words "$line"
	COMP_WORDS=("${WORDS[@]}")
	if [[ $line == *' ' ]]; then
		# the word after the cursor, or a new, empty one
		split_words "$after"
		((${#WORDS[@]})) || WORDS=("")
		COMP_CWORD=${#COMP_WORDS[@]}
	else
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		split_words "$after"
	fi
	COMP_WORDS+=("${WORDS[@]}")
	COMP_LINE=$line$after
	COMP_POINT=${#line}
	COMPREPLY=()
	"$COMP_FUNC" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}" || :
	REPLIES=$(if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}"; fi |
		LC_ALL=C sort | paste -sd ' ')
}

# expect_completion LINE EXPECTED [AFTER]: the sorted replies for LINE
# (with AFTER after the cursor).
expect_completion() {
	complete_line "$1" "${3:-}"
	if [[ $REPLIES != "$2" ]]; then
		printf 'completing: %s|%s\nexpected:   [%s]\nactual:     [%s]\n' \
			"$1" "${3:-}" "$2" "$REPLIES" >&2
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
		parts=("${parts[@]%%=*}")
		printf '%s\n' "${parts[@]%%\[*}"	# "--unified[=N]": an optional value
	done | LC_ALL=C sort | paste -sd ' '
}

# spec_options CMD [values]: the options completions/vb.spec gives CMD,
# sorted and joined; with "values", the long ones that take a value, as
# "--name=" (or "--name[=]" for a value only in the same word).
spec_options() {
	awk -v cmd="$1" -v values="${2:-}" '
		$1 == "command" { on = ($2 == cmd) }
		on && $1 == "option" && values == "" { if ($2 != "-") print $2; print $3 }
		on && $1 == "option" && values != "" && $4 != "none" {
			print $3 ($4 == "optional" ? "[=]" : "=")
		}' "$VB_SOURCE_DIR/completions/vb.spec" | LC_ALL=C sort | paste -sd ' '
}

# help_values CMD: the long options CMD --help lists with a value, as
# spec_options gives them.
help_values() {
	"$1" --help | grep -oE '^ {1,8}(-[^ ], )?--[a-z0-9-]+(\[=|=)' |
		sed -E 's/^ *(-[^ ], )?//; s/\[=$/[=]/' | LC_ALL=C sort | paste -sd ' '
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

@test "each command in cmd/COMMANDS is built and has a completion, and no other has one" {
	[[ " $COMMANDS " == *" vb-cat "* ]]
	for cmd in $COMMANDS; do
		assert_file_executable "$VB_BUILD_DIR/cmd/$cmd"
		assert_file_exists "$VB_BUILD_DIR/completions/bash/$cmd"
		assert_file_exists "$VB_BUILD_DIR/completions/zsh/_$cmd"
		assert_file_exists "$VB_BUILD_DIR/completions/fish/$cmd.fish"
	done
	# and every command in completions/vb.spec is one of them
	for cmd in $(sed -n 's/^command //p' "$VB_SOURCE_DIR/completions/vb.spec"); do
		[[ " $COMMANDS " == *" $cmd "* ]] || fail "$cmd is not in cmd/COMMANDS"
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

@test "completions/vb.spec: each command's options and values are the ones its --help lists" {
	for cmd in $COMMANDS; do
		assert_equal "$(spec_options "$cmd")" "$(help_options "$cmd")"
		assert_equal "$(spec_options "$cmd" values)" "$(help_values "$cmd")"
	done
	# a positive control of the comparison
	[[ $(spec_options vb-history values) == *' --unified[=] '* ]]
	[[ $(help_values vb-frame) == *--oversize=* ]]
}

@test "a long option prefix offers the matching options" {
	use_completion vb-insert
	expect_completion 'vb-insert --t' '--text'
	expect_completion 'vb-insert --e' '--edits'
	expect_completion 'vb-insert --he' '--help --hex'
	expect_completion 'vb-insert --no' '--no-auto-flatten --no-progress --no-sync'
	expect_completion 'vb-insert s.vb 0 --re' '--replace'
	use_completion vb-delete
	expect_completion 'vb-delete --r' '--ranges --ranges-format'
	expect_completion 'vb-delete --ranges-' '--ranges-format'
	expect_completion 'vb-delete --w' '--wait'
	use_completion vb-cat
	expect_completion 'vb-cat --at' '--at-version'
	expect_completion 'vb-cat --ver' '--version'
	use_completion vb-history
	expect_completion 'vb-history --v' '--verify --version'
	expect_completion 'vb-history --re' '--remove-anchor --revert'
	expect_completion 'vb-history --diff 1 s.vb --e' '--edits --export'
	expect_completion 'vb-history --no' '--no-auto-flatten --no-header --no-progress --no-sync'
	expect_completion 'vb-history --pro' '--progress'
	use_completion vb-frame
	expect_completion 'vb-frame --o' '--output-delimiter --oversize'
	expect_completion 'vb-frame --pro' '--progress'
	expect_completion 'vb-frame --no-' '--no-progress'
	expect_completion 'vb-frame --len' '--length-adjust --length-offset --length-prefix'
	expect_completion 'vb-frame --to' '--to-length-adjust --to-length-prefix'
	expect_completion 'vb-frame --u' '--unbuffered --usage'
	expect_completion 'vb-frame -n 5 --k' '--keep'
}

@test "versions, anchors and --last: the options that came with them" {
	use_completion vb-insert
	expect_completion 'vb-insert --a' '--anchor --at-version --axis'
	expect_completion 'vb-insert --i' '--if-version'
	expect_completion 'vb-insert -a top --c' '--cache --create'
	use_completion vb-delete
	expect_completion 'vb-delete --a' '--at-version --axis'
	expect_completion 'vb-delete --if' '--if-version'
	use_completion vb-history
	expect_completion 'vb-history --a' '--anchors --apply --at-version'
	expect_completion 'vb-history --s' '--set-anchor --set-base'
	expect_completion 'vb-history --i' '--if-version'
	use_completion vb-frame
	expect_completion 'vb-frame --la' '--last'
	expect_completion 'vb-frame --a' '--at-version'
	use_completion vb-cat
	expect_completion 'vb-cat --c' '--cache'
}

@test "vb-insert --edits: any file for FILE, then store files" {
	make_files
	local mode
	for mode in '' plain; do
		use_completion vb-insert $mode
		expect_completion 'vb-insert --edits ' 'a.vb b.vb dir notes.txt'
		expect_completion 'vb-insert --edits=no' 'notes.txt'
		expect_completion 'vb-insert --edits notes.txt ' 'a.vb b.vb dir'
		expect_completion 'vb-insert --edits - a' 'a.vb'
	done
}

@test "vb-history --export and --apply: nothing for SINCE, any file for FILE, then store files" {
	make_files
	local mode
	for mode in '' plain; do
		use_completion vb-history $mode
		expect_completion 'vb-history --ex' '--export'
		expect_completion 'vb-history --ap' '--apply'
		expect_completion 'vb-history --export ' ''
		expect_completion 'vb-history --export=' ''
		expect_completion 'vb-history --export 3 ' 'a.vb b.vb dir'
		expect_completion 'vb-history --export=3 a' 'a.vb'
		expect_completion 'vb-history --apply ' 'a.vb b.vb dir notes.txt'
		expect_completion 'vb-history --apply=no' 'notes.txt'
		expect_completion 'vb-history --apply notes.txt ' 'a.vb b.vb dir'
		expect_completion 'vb-history --no-sync --apply - ' 'a.vb b.vb dir'
		expect_completion 'vb-history --set-base ' 'a.vb b.vb dir notes.txt'
		expect_completion 'vb-history --set-base notes.txt ' 'a.vb b.vb dir'
	done
}

@test "vb-history --diff --unified: the word after a bare --unified is STORE; nothing for N or --max-diff-bytes" {
	make_files
	local mode
	for mode in '' plain; do
		use_completion vb-history $mode
		expect_completion 'vb-history --diff 1 --unif' '--unified'
		expect_completion 'vb-history --diff 1 --max' '--max-count --max-diff-bytes'
		expect_completion 'vb-history --diff 1 --unified ' 'a.vb b.vb dir'
		expect_completion 'vb-history --diff 1 -u ' 'a.vb b.vb dir'
		expect_completion 'vb-history --diff 1 --unified=' ''
		expect_completion 'vb-history --diff 1 -u --max-diff-bytes ' ''
		expect_completion 'vb-history --diff 1 -u --max-diff-bytes 1M ' 'a.vb b.vb dir'
		expect_completion 'vb-history --diff 1 -u a.vb ' ''
	done
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
	expect_completion 'vb-insert ' 'a.vb b.vb dir' ' 0 notes.txt'
	expect_completion 'vb-insert -m msg ' 'a.vb b.vb dir'
	expect_completion 'vb-insert -cm msg ' 'a.vb b.vb dir'
	expect_completion 'vb-insert -cmmsg ' 'a.vb b.vb dir'
	expect_completion 'vb-insert -V 2 -a top ' 'a.vb b.vb dir'
	expect_completion 'vb-insert --if-version=3 --cache 1M ' 'a.vb b.vb dir'
	use_completion vb-delete
	expect_completion 'vb-delete -V 1 --if-version 2 ' 'a.vb b.vb dir'
	use_completion vb-history
	expect_completion 'vb-history --set-anchor top ' 'a.vb b.vb dir'
	expect_completion 'vb-history --remove-anchor=top ' 'a.vb b.vb dir'
	expect_completion 'vb-history -AV 3 ' 'a.vb b.vb dir'
	use_completion vb-frame
	expect_completion 'vb-frame -V 2 --last 10 ' 'a.vb b.vb dir notes.txt'
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
	specs='mrt netstring pkt-line protobuf syslog tfrecord u16be u16le u24be u24le u32be u32le u64be u64le u8 varint'
	expect_completion 'vb-frame -L ' "$specs"
	expect_completion 'vb-frame -L n' 'netstring'
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
	use_completion vb-insert
	expect_completion 'vb-insert -V ' ''
	expect_completion 'vb-insert --if-version=' ''
	expect_completion 'vb-insert --anchor ' ''
	expect_completion 'vb-insert -a ' ''
	expect_completion 'vb-insert --cache ' ''
	use_completion vb-history
	expect_completion 'vb-history a.vb ' ''
	expect_completion 'vb-history --revert ' ''
	expect_completion 'vb-history -n ' ''
	expect_completion 'vb-history --set-anchor ' ''
	expect_completion 'vb-history -V ' ''
	expect_completion 'vb-history --set-anchor top a.vb ' ''
	expect_completion 'vb-history --set-anchor top a.vb 0 ' ''
	use_completion vb-delete
	expect_completion 'vb-delete --at-version ' ''
	use_completion vb-frame
	expect_completion 'vb-frame --last ' ''
	expect_completion 'vb-frame -V ' 
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
	expect_completion 'vb-insert ' 'a.vb b.vb dir' ' 0 notes.txt'
	expect_completion 'vb-insert a.vb 0 ' 'a.vb b.vb dir notes.txt' ' b.vb'
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

@test "vb-flatten: options, one STORE, nothing for option values" {
	make_files
	: > x@y.vb
	for mode in '' plain; do
		use_completion vb-flatten $mode
		expect_completion 'vb-flatten --p' '--partial --piece-size --progress'
		expect_completion 'vb-flatten --e' '--embed'
		expect_completion 'vb-flatten --k' '--keep'
		expect_completion 'vb-flatten --no' '--no-progress --no-sync'
		expect_completion 'vb-flatten --ve' '--verbose --version'
		expect_completion 'vb-flatten -p --pi' '--piece-size'
		expect_completion 'vb-flatten a.vb --i' '--if-version'
		expect_completion 'vb-flatten a.vb --pa' '--partial'
		expect_completion 'vb-flatten -' '--cache --compact --embed --help --if-version --keep --lines --message --no-progress --no-sync --partial --piece-size --progress --usage --verbose --version --wait -c -e -h -k -l -m -p -s -v'
		# STORE, after any option and its value
		expect_completion 'vb-flatten ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten a' 'a.vb'
		expect_completion 'vb-flatten -p -s 4K ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten -ps 4K ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten -ps4K b' 'b.vb'
		expect_completion 'vb-flatten --piece-size=4K -m msg ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten -vm msg ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten --embed --message=x@y ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten --wait 1 --if-version 3 --cache 1M ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten --progress --no-sync -e ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten -- ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten ' 'a.vb b.vb dir x@y.vb' ' -v'
		# one STORE only
		expect_completion 'vb-flatten a.vb ' ''
		expect_completion 'vb-flatten -v a.vb --partial ' ''
		expect_completion 'vb-flatten -- a.vb ' ''
		expect_completion 'vb-flatten -- -' ''
		# option values
		expect_completion 'vb-flatten --piece-size ' ''
		expect_completion 'vb-flatten -p -s ' ''
		expect_completion 'vb-flatten --piece-size=' ''
		expect_completion 'vb-flatten -m ' ''
		expect_completion 'vb-flatten --message=' ''
		expect_completion 'vb-flatten --wait ' ''
		expect_completion 'vb-flatten --if-version=' ''
		expect_completion 'vb-flatten --cache ' ''
		expect_completion 'vb-flatten -c --keep ' ''
		expect_completion 'vb-flatten -ck ' ''
		expect_completion 'vb-flatten -ck 3 ' 'a.vb b.vb dir x@y.vb'
		expect_completion 'vb-flatten --compact --keep=3 ' 'a.vb b.vb dir x@y.vb'
	done
	use_completion vb-flatten
	expect_completion 'vb-flatten x@' 'x@y.vb'
	# without bash-completion readline replaces only the part from '@' on
	use_completion vb-flatten plain
	expect_completion 'vb-flatten x@' '@y.vb'
}

# make_anchored_store: s.vb over "one\ntwo\nthree\n" with anchor top set
# in version 1, mid in 2 and tail in 3.
make_anchored_store() {
	printf 'one\ntwo\nthree\n' > base.txt
	vb-insert --base base.txt s.vb 0 --text '# ' --anchor top
	vb-history --set-anchor mid s.vb 6
	vb-history --set-anchor tail s.vb end
}

@test "an OFFSET that starts with '@' offers the anchors of the store on the line" {
	make_anchored_store
	: > @x.vb
	for mode in '' plain; do
		use_completion vb-insert $mode
		expect_completion 'vb-insert s.vb @' '@mid @tail @top'
		expect_completion 'vb-insert s.vb @t' '@tail @top'
		expect_completion 'vb-insert -m msg s.vb @mi' '@mid'
		expect_completion 'vb-insert -- s.vb @m' '@mid'
		# at the version of --at-version
		expect_completion 'vb-insert -V 1 s.vb @' '@top'
		expect_completion 'vb-insert s.vb --at-version=2 @' '@mid @top'
		expect_completion 'vb-insert -cV2 s.vb @' '@mid @top'
		expect_completion 'vb-insert -V 9 s.vb @' ''
		# only the OFFSET, and only after '@'
		expect_completion 'vb-insert s.vb @top+' ''
		expect_completion 'vb-insert s.vb ' ''
		expect_completion 'vb-insert s.vb @top ' '@x.vb base.txt s.vb'
		# no store to ask
		expect_completion 'vb-insert nope.vb @' ''
		expect_completion 'vb-insert base.txt @' ''
		expect_completion 'vb-insert - @' ''
		# a STORE that starts with '@' is a file name
		expect_completion 'vb-insert @' '@x.vb'
		use_completion vb-delete $mode
		expect_completion 'vb-delete s.vb @m' '@mid'
		expect_completion 'vb-delete -V 2 s.vb @' '@mid @top'
		expect_completion 'vb-delete s.vb @mid ' ''
		use_completion vb-cat $mode
		expect_completion 'vb-cat s.vb -o @' '@mid @tail @top'
		expect_completion 'vb-cat s.vb --offset=@ta' '@tail'
		expect_completion 'vb-cat -V 1 s.vb -o @' '@top'
		expect_completion 'vb-cat -o @' '@mid @tail @top' ' s.vb'
		# a STORE that starts with '@' is a file name
		expect_completion 'vb-cat -n 2 @' '@x.vb'
		use_completion vb-history $mode
		expect_completion 'vb-history --set-anchor new s.vb @' '@mid @tail @top'
		expect_completion 'vb-history -V 2 --set-anchor new s.vb @t' '@top'
	done
}

@test "--remove-anchor offers the anchors of the store on the line" {
	make_anchored_store
	for mode in '' plain; do
		use_completion vb-history $mode
		expect_completion 'vb-history s.vb --remove-anchor ' 'mid tail top'
		expect_completion 'vb-history s.vb --remove-anchor=t' 'tail top'
		expect_completion 'vb-history --remove-anchor ' 'mid tail top' ' s.vb'
		expect_completion 'vb-history --remove-anchor m' 'mid' ' s.vb'
		expect_completion 'vb-history --remove-anchor ' ''
		expect_completion 'vb-history nope.vb --remove-anchor ' ''
	done
}

@test "anchors come from the vb-history next to the command typed" {
	make_anchored_store
	PATH=${PATH//"$VB_BUILD_DIR/cmd:"/}
	if type -P vb-history >/dev/null; then
		skip 'a vb-history is installed on PATH'
	fi
	for cmd in vb-insert vb-delete; do
		use_completion "$cmd"
		expect_completion "$cmd s.vb @m" ''
		expect_completion "$VB_BUILD_DIR/cmd/$cmd s.vb @m" '@mid'
	done
	use_completion vb-history
	expect_completion "$VB_BUILD_DIR/cmd/vb-history s.vb --remove-anchor m" 'mid'
}

@test "a file name with '@' completes whole, also where '@' separates words" {
	: > a@b.log
	: > x@y.vb
	use_completion vb-frame
	expect_completion 'vb-frame a@' 'a@b.log'
	use_completion vb-cat
	expect_completion 'vb-cat x@' 'x@y.vb'
	# without bash-completion readline replaces only the part from '@' on
	use_completion vb-frame plain
	expect_completion 'vb-frame a@' '@b.log'
	expect_completion 'vb-frame a' 'a@b.log'
	use_completion vb-insert plain
	expect_completion 'vb-insert x@' '@y.vb'
	expect_completion 'vb-insert --base=a@' '@b.log'
	expect_completion 'vb-insert -m x@y x@y.vb 0 a@' '@b.log'
}

@test "--unit: offered by vb-insert, vb-delete and vb-cat; its value completes to nothing" {
	make_files
	for cmd in vb-insert vb-delete vb-cat; do
		use_completion "$cmd"
		expect_completion "$cmd --un" '--unit'
		expect_completion "$cmd --u" '--unit --usage'
		expect_completion "$cmd --unit " ''
		expect_completion "$cmd --unit=" ''
		expect_completion "$cmd --unit 16 " 'a.vb b.vb dir'
		expect_completion "$cmd --unit=16 a" 'a.vb'
	done
	use_completion vb-insert plain
	expect_completion 'vb-insert --unit 4 a.vb 0 ' 'a.vb b.vb dir notes.txt'
	use_completion vb-delete
	expect_completion 'vb-delete --unit 4 --ranges ' 'a.vb b.vb dir notes.txt'
	# the commands that have no --unit do not offer it (vb-history's
	# --unified starts the same way)
	use_completion vb-history
	expect_completion 'vb-history --uni' '--unified'
}

@test "vb-delete: --ranges-format offers its formats" {
	make_files
	use_completion vb-delete
	expect_completion 'vb-delete --ranges-format ' 'grep grep-o offset-length'
	expect_completion 'vb-delete --ranges-format=g' 'grep grep-o'
	expect_completion 'vb-delete --ranges-format=grep-o -R notes.txt ' 'a.vb b.vb dir'
	expect_completion 'vb-delete --ranges-format grep ' 'a.vb b.vb dir'
}

@test "versions: -V, --at-version, --revert, --diff (and its B), --export offer the store's versions" {
	make_anchored_store
	# the kept versions, newest first: 3 2 1 0
	all='0 1 2 3 head head~1 head~2 head~3'
	for mode in '' plain; do
		use_completion vb-cat $mode
		expect_completion 'vb-cat s.vb -V ' "$all"
		expect_completion 'vb-cat s.vb --at-version=' "$all"
		expect_completion 'vb-cat --at-version ' "$all" ' s.vb'
		expect_completion 'vb-cat s.vb -V h' 'head head~1 head~2 head~3'
		expect_completion 'vb-cat s.vb -V head~' 'head~1 head~2 head~3'
		expect_completion 'vb-cat s.vb -V 2' '2'
		use_completion vb-insert $mode
		expect_completion 'vb-insert -V ' "$all" ' s.vb 0'
		use_completion vb-delete $mode
		expect_completion 'vb-delete s.vb 0 1 --at-version ' "$all"
		use_completion vb-frame $mode
		expect_completion 'vb-frame s.vb -V ' "$all"
		use_completion vb-history $mode
		expect_completion 'vb-history -V ' "$all" ' s.vb'
		expect_completion 'vb-history --revert ' "$all" ' s.vb'
		expect_completion 'vb-history s.vb --revert=head' 'head head~1 head~2 head~3'
		expect_completion 'vb-history --export ' "$all" ' s.vb'
		expect_completion 'vb-history --diff ' "$all" ' s.vb'
		expect_completion 'vb-history --diff=1 s.vb ' "$all"
		expect_completion 'vb-history --diff 1 -u s.vb 3' '3'
		# --set-anchor's OFFSET is not a version
		expect_completion 'vb-history --set-anchor x s.vb ' ''
		# no store to ask
		expect_completion 'vb-history --revert ' ''
		expect_completion 'vb-history --revert ' '' ' nope.vb'
		expect_completion 'vb-history --revert ' '' ' base.txt'
	done
	# only the kept versions: a compaction drops the older ones
	vb-flatten --compact --keep 2 s.vb
	use_completion vb-cat
	expect_completion 'vb-cat s.vb -V ' '2 3 4 head head~1 head~2'
}

@test "--range: anchors after '@' at the start and after ':'" {
	make_anchored_store
	for mode in '' plain; do
		use_completion vb-cat $mode
		expect_completion 'vb-cat s.vb --range @' '@mid @tail @top'
		expect_completion 'vb-cat s.vb -r @t' '@tail @top'
		expect_completion 'vb-cat s.vb --range=@m' '@mid'
		expect_completion 'vb-cat -r @' '@mid @tail @top' ' s.vb'
		# at the version of --at-version
		expect_completion 'vb-cat -V 1 s.vb --range @' '@top'
		# the END: readline replaces only the part after ':'
		expect_completion 'vb-cat s.vb --range @top:@' '@mid @tail @top'
		expect_completion 'vb-cat s.vb --range=@top:@t' '@tail @top'
		expect_completion 'vb-cat s.vb -r 10:@m' '@mid'
		expect_completion 'vb-cat s.vb -r :@ta' '@tail'
		# numbers and anchor arithmetic have nothing to offer
		expect_completion 'vb-cat s.vb --range ' ''
		expect_completion 'vb-cat s.vb --range 1' ''
		expect_completion 'vb-cat s.vb --range @top:' ''
		expect_completion 'vb-cat s.vb --range @top+1:1' ''
		# the word after the range is a STORE again
		expect_completion 'vb-cat --range @top:@mid ' 's.vb'
		expect_completion 'vb-cat --range @top:@mid s' 's.vb'
		expect_completion 'vb-cat -r 1:2 ' 's.vb'
		# a ':' in another value or operand is a character like others
		use_completion vb-frame $mode
		expect_completion 'vb-frame -d : b' 'base.txt'
		expect_completion 'vb-frame --delimiter=: ' 'base.txt s.vb'
		: > a:b.txt
		expect_completion 'vb-frame a:' 'b.txt'
		rm a:b.txt
	done
}

@test "generate.py refuses a description it cannot read, and writes nothing" {
	local gen=$VB_SOURCE_DIR/completions/generate.py runtime=$VB_SOURCE_DIR/completions/runtime.bash
	printf 'command vb-x\noption -x --ex bogus what it does\n' > bad.spec
	run python3 "$gen" bad.spec "$runtime" bash vb-x out
	assert_failure
	assert_output 'generate.py: bad.spec:2: unknown kind "bogus"'
	assert_file_not_exists out
	printf 'option -x --ex none what it does\n' > bad.spec
	run python3 "$gen" bad.spec "$runtime" bash vb-x out
	assert_failure
	assert_output 'generate.py: bad.spec:1: "option" before any "command"'
	printf 'command vb-x\noperands store nothing\n' > bad.spec
	run python3 "$gen" bad.spec "$runtime" bash vb-x out
	assert_failure
	assert_output 'generate.py: bad.spec:2: unknown operand kind "nothing"'
	# a positive control: the good description of vb-cat
	run python3 "$gen" "$VB_SOURCE_DIR/completions/vb.spec" "$runtime" bash vb-cat out
	assert_success
	assert_file_exists out
	run python3 "$gen" "$VB_SOURCE_DIR/completions/vb.spec" "$runtime" bash vb-nope out2
	assert_failure
	assert_output --partial 'has no command vb-nope'
}

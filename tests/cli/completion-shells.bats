#!/usr/bin/env bats
# The generated completions (completions/vb.spec, built into
# $VB_BUILD_DIR/completions/{bash,zsh,fish}) in real interactive shells:
# each test starts bash (with bash-completion), zsh (compinit, the zsh
# directory on fpath) or fish (the fish directory on fish_complete_path)
# in a detached tmux session of its own (its own server, its socket in the
# test directory, killed in teardown), types a line and Tab, and waits (at
# most 5 seconds) for what the shell then shows: the line completed, or
# the list of choices.  A shell that is not installed skips its tests
# (tests/check installs all three, and tmux).

load test_helper

# test_helper's teardown, run after the tmux server is gone
eval "vb_teardown() $(declare -f teardown | tail -n +2)"

teardown() {
	stop_shell
	vb_teardown
}

# stop_shell: kill the tmux server of start_shell and wait (at most 5
# seconds) for its shell to be gone, so that nothing writes into the test
# directory as it is removed.
stop_shell() {
	local i
	[[ ${SOCKET:-} ]] || return 0
	tmux -S "$SOCKET" kill-server 2>/dev/null || :
	rm -f "$SOCKET"
	for ((i = 0; i < 50; i++)); do
		if [[ -z ${SHELL_PID:-} ]] || ! kill -0 "$SHELL_PID" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	SOCKET='' SHELL_PID=''
}

# start_shell SHELL: start SHELL (bash, zsh or fish) in a new tmux session
# where it finds the vb completions, and wait for it to be ready; TAB gets
# the keys that show the choices (bash lists them at the second Tab).
start_shell() {
	local shell=$1 dir=$VB_BUILD_DIR/completions/$1
	type -P tmux >/dev/null || skip "tmux is not installed"
	type -P "$shell" >/dev/null || skip "$shell is not installed"
	# its socket in the test directory
	SOCKET=$TEST_DIR/tmux-$shell.sock
	# shellcheck disable=SC2016 # the shell expands $((6 * 7)), not this one
	case $shell in
	bash)
		# bash-completion loads each file on demand, from the user
		# directory as from the system one
		TAB='Tab Tab'
		mkdir "$TEST_DIR/bash-completion"
		ln -s "$dir" "$TEST_DIR/bash-completion/completions"
		BASH_COMPLETION_USER_DIR=$TEST_DIR/bash-completion \
			tmux -S "$SOCKET" -f /dev/null new-session -d -x 200 -y 50 \
			bash --norc --noprofile
		type_line "PS1='$ '; unset HISTFILE; source /usr/share/bash-completion/bash_completion"
		type_line 'echo READY$((6 * 7))' ;;
	zsh)
		TAB=Tab
		tmux -S "$SOCKET" -f /dev/null new-session -d -x 200 -y 50 zsh -f
		type_line "PS1='%% '; fpath=('$dir' \$fpath); autoload -U compinit; compinit -u -D"
		type_line 'echo READY$((6 * 7))' ;;
	fish)
		TAB=Tab
		XDG_CONFIG_HOME=$TEST_DIR/config XDG_DATA_HOME=$TEST_DIR/data \
			tmux -S "$SOCKET" -f /dev/null new-session -d -x 200 -y 50 \
			fish --no-config --private
		type_line "set -p fish_complete_path '$dir'"
		type_line 'echo READY(math 6 \* 7)' ;;
	esac
	# (the shell's echo shows READY42, the line typed does not)
	SHELL_PID=$(tmux -S "$SOCKET" display-message -p '#{pane_pid}')
	wait_for READY42
}

# type_line TEXT: type TEXT and Enter.
type_line() {
	tmux -S "$SOCKET" send-keys -l -- "$1"
	tmux -S "$SOCKET" send-keys Enter
}

# wait_for TEXT...: wait (at most 5 seconds) until the screen shows each
# TEXT; show the screen if it does not.
wait_for() {
	local i text screen missing
	for ((i = 0; i < 50; i++)); do
		screen=$(tmux -S "$SOCKET" capture-pane -p)
		missing=''
		for text; do
			[[ $screen == *"$text"* ]] || missing=$text
		done
		[[ -z $missing ]] && return 0
		sleep 0.1
	done
	printf 'the screen does not show [%s]:\n%s\n' "$missing" "$screen" >&2
	return 1
}

# tab LINE [AFTER]: on a cleared screen, type LINE and AFTER (not Enter),
# move the cursor back to the end of LINE, and type the Tab keys that
# complete there.
tab() {
	local after=${2:-} i
	tmux -S "$SOCKET" send-keys C-e C-u C-l
	# the cleared screen, before the line is typed
	sleep 0.2
	tmux -S "$SOCKET" send-keys -l -- "$1$after"
	for ((i = 0; i < ${#after}; i++)); do
		tmux -S "$SOCKET" send-keys Left
	done
	# shellcheck disable=SC2086
	tmux -S "$SOCKET" send-keys $TAB
}

# not_shown TEXT: the screen does not show TEXT (after a wait_for).
not_shown() {
	local screen
	screen=$(tmux -S "$SOCKET" capture-pane -p)
	if [[ $screen == *"$1"* ]]; then
		printf 'the screen shows [%s]:\n%s\n' "$1" "$screen" >&2
		return 1
	fi
}

# make_anchored_store: s.vb over "one\ntwo\nthree\n" with anchor top set
# in version 1, mid in 2 and tail in 3 (versions 0 to 3), and files to
# complete: a.vb, a.txt, notes.txt.
make_anchored_store() {
	printf 'one\ntwo\nthree\n' > base.txt
	vb-insert --base base.txt s.vb 0 --text '# ' --anchor top
	vb-history --set-anchor mid s.vb 6
	vb-history --set-anchor tail s.vb end
	: > a.vb
	: > a.txt
	: > notes.txt
}

# check_shell SHELL: the completions every shell must offer.
check_shell() {
	make_anchored_store
	start_shell "$1"
	# an option
	tab 'vb-cat --ra'
	wait_for 'vb-cat --range'
	# a store file, not another file
	tab 'vb-cat a'
	wait_for 'vb-cat a.vb'
	not_shown a.txt
	# any file for a FILE operand
	tab 'vb-insert s.vb 0 no'
	wait_for 'vb-insert s.vb 0 notes.txt'
	# the versions of the store
	tab 'vb-cat s.vb -V '
	wait_for head~3 head~1
	tab 'vb-history s.vb --revert head~'
	wait_for head~1 head~2 head~3
	tab 'vb-history --diff 1 s.vb head~'
	wait_for head~1 head~2 head~3
	# the store may come after the cursor (fish shows a completion only
	# the line up to the cursor)
	if [[ $1 != fish ]]; then
		tab 'vb-cat -V ' ' -o 1 s.vb'
		wait_for head~3 head~1
		tab 'vb-history --remove-anchor ' ' s.vb'
		wait_for mid tail top
	fi
	# the anchors of the store: after '@' in an OFFSET and in a RANGE
	tab 'vb-insert s.vb @ta'
	wait_for 'vb-insert s.vb @tail'
	tab 'vb-cat s.vb --range @'
	wait_for mid tail top
	tab 'vb-cat s.vb --range @top:@m'
	wait_for 'vb-cat s.vb --range @top:@mid'
	# at the version of --at-version (top alone in version 1)
	tab 'vb-insert -cV1 s.vb @t'
	wait_for 'vb-insert -cV1 s.vb @top'
	tab 'vb-cat --at-version=1 s.vb -o @'
	wait_for 'vb-cat --at-version=1 s.vb -o @top'
	tab 'vb-history s.vb --remove-anchor mi'
	wait_for 'vb-history s.vb --remove-anchor mid'
	# the values of an option
	tab 'vb-frame --oversize tr'
	wait_for 'vb-frame --oversize truncate'
}

@test "bash: options, store files, files, versions, anchors and option values complete" {
	check_shell bash
}

@test "zsh: options, store files, files, versions, anchors and option values complete" {
	check_shell zsh
}

@test "fish: options, store files, files, versions, anchors and option values complete" {
	check_shell fish
}

@test "zsh and fish show each option's description from completions/vb.spec" {
	make_anchored_store
	for shell in zsh fish; do
		start_shell "$shell"
		tab 'vb-frame --ov'
		wait_for 'vb-frame --oversize'
		tab 'vb-frame --o'
		wait_for 'a record larger than --max-size' 'end each record written with STR'
		stop_shell
	done
}

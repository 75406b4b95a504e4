# Shared setup for the command tests.  Each test runs in its own temporary
# directory with HOME pointing there (popt reads ~/.popt), the built
# commands first on PATH, and TZ fixed.
bats_require_minimum_version 1.5.0

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

setup() {
	: "${VB_BUILD_DIR:?VB_BUILD_DIR must point at the build directory}"
	export PATH="$VB_BUILD_DIR/cmd:$PATH"
	TEST_DIR="$(mktemp -d "${BATS_TMPDIR:-/tmp}/vb-bats.XXXXXX")"
	export HOME="$TEST_DIR"
	export TZ=UTC
	cd "$TEST_DIR" || return 1
}

teardown() {
	cd /
	# a lock holder left by a failed test (see hold_lock)
	if [ -n "${HOLDER_PID:-}" ]; then
		kill "$HOLDER_PID" 2>/dev/null || :
		wait "$HOLDER_PID" 2>/dev/null || :
	fi
	if [ -n "${TMPFS_DIR:-}" ]; then
		umount "$TMPFS_DIR" || :
	fi
	rm -rf "$TEST_DIR"
}

# Checksum of a file, to show a failed command left it unchanged.
sum_of() {
	cksum < "$1"
}

# make_base FILE LINES: a text file of numbered lines.
make_base() {
	seq 1 "$2" > "$1"
}

# Run a command as an unprivileged user (everything runs as root here, so
# permission tests would otherwise pass for the wrong reason).
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# make_store FILE TEXT: a new store whose content is TEXT (version 1).
make_store() {
	vb-insert --create "$1" 0 --text "$2"
}

# assert_usage_error PROG CAUSE: the last `run` (stderr merged) failed with
# status 2, printed "PROG: CAUSE" and the --help hint, and nothing else.
assert_usage_error() {
	assert_failure 2
	assert_output "$1: $2
Try '$1 --help' for more information."
}

# assert_same_sum FILE SUM: FILE still has the checksum SUM (sum_of).
assert_same_sum() {
	assert_equal "$(sum_of "$1")" "$2"
}

# Let the unprivileged user of as_nobody into the test directory and read
# its files (the directory stays unwritable for that user).
open_to_nobody() {
	chmod 755 "$TEST_DIR"
	find "$TEST_DIR" -mindepth 1 -maxdepth 1 -type f -exec chmod 644 {} +
	# a positive control: nobody can reach the directory at all
	as_nobody test -r "$TEST_DIR" || {
		echo "the test directory is not reachable for nobody" >&2
		return 1
	}
}

# hold_lock STORE [OPTION...]: start a writer on STORE (vb-insert OPTION...
# STORE 0) that takes the write lock and then blocks reading its bytes from
# a FIFO, and wait until the lock is visible in /proc/locks.  release_lock
# [TEXT] lets it insert TEXT at 0 and finish; or write to fd 8 and close it.
hold_lock() {
	local ino i
	mkfifo "$TEST_DIR/lock.fifo"
	exec 8<>"$TEST_DIR/lock.fifo"
	vb-insert "${@:2}" "$1" 0 < "$TEST_DIR/lock.fifo" > "$TEST_DIR/holder.out" 2>&1 3>&- 8>&- &
	HOLDER_PID=$!
	ino=$(stat -c %i "$1")
	for i in $(seq 1 200); do
		grep -q "OFDLCK.*:$ino " /proc/locks && return 0
		sleep 0.025
	done
	echo "the lock holder did not take the lock" >&2
	return 1
}

release_lock() {
	local status=0
	printf '%s' "${1-}" >&8
	exec 8>&-
	wait "$HOLDER_PID" || status=$?
	HOLDER_PID=
	return "$status"
}

# mount_tmpfs SIZE: a small file system at ./mnt (unmounted by teardown),
# or skip the test where mounting is not allowed.
mount_tmpfs() {
	mkdir "$TEST_DIR/mnt"
	mount -t tmpfs -o "size=$1" tmpfs "$TEST_DIR/mnt" 2>/dev/null ||
		skip "cannot mount a tmpfs here (needs root and mount rights)"
	TMPFS_DIR="$TEST_DIR/mnt"
}

# skip_under_sanitizer: skip a test that sets `ulimit -v` in an ASan build
# (ASan reserves terabytes of address space and cannot start under it).
skip_under_sanitizer() {
	if ldd "$VB_BUILD_DIR/cmd/vb-cat" | grep -q 'libasan\|libubsan'; then
		skip "ulimit -v cannot work in a sanitizer build (ASan reserves terabytes of address space)"
	fi
}

# remount_ro: make the tmpfs of mount_tmpfs read-only.
remount_ro() {
	mount -o remount,ro "$TMPFS_DIR"
	# a positive control: the file system refuses writes now
	if touch "$TMPFS_DIR/probe" 2>/dev/null; then
		echo "the tmpfs is still writable" >&2
		return 1
	fi
}

# A memory limit (KiB) small enough to matter for inputs of 200 MiB, big
# enough for every command to start.
MEM_LIMIT_KB=65536

# nofile N SCRIPT: run SCRIPT in bash with only stdin, stdout and stderr
# open and at most N descriptors (bats keeps others open).
nofile() {
	bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}
		[ "$fd" -le 2 ] || eval "exec $fd>&-"; done
		ulimit -n "$1" && eval "$2"' nofile "$@"
}

# flip_byte FILE OFFSET: invert every bit of the byte at OFFSET (damage
# that is damage whatever the byte was; writing a fixed byte is not when
# the byte was already that one).
flip_byte() {
	python3 -c 'import sys
f = open(sys.argv[1], "r+b")
o = int(sys.argv[2])
f.seek(o)
b = f.read(1)[0]
f.seek(o)
f.write(bytes([b ^ 0xff]))' "$1" "$2"
}

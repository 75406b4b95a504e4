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
	cd / && rm -rf "$TEST_DIR"
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

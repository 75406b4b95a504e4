# Install what building and testing vb needs, on Debian/Ubuntu, when it is
# missing.  Sourced by tests/check and tests/demo.  Uses sudo when not root.
vb_install_deps() {
	pkgs="gcc meson ninja-build pkg-config libpopt-dev zlib1g-dev $*"
	missing=""
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "installing:$missing" >&2
	if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	$sudo apt-get install -y --no-install-recommends $missing ||
		{ $sudo apt-get update && $sudo apt-get install -y --no-install-recommends $missing; }
}

# The fuzzers (tests/fuzz) are built by clang, with its runtime libraries
# (libFuzzer and the sanitizers), which the clang package only recommends.
vb_fuzz_packages="clang libclang-rt-dev"

#!/bin/sh
# deps.sh -- make sure the build's Debian packages are present.
#
#   deps.sh [--check-only] PKGCONFIG_NAME...
#
# Each pkg-config name maps to a Debian package. Missing ones are installed
# with apt-get (after apt-get update) when running as root; otherwise the
# exact apt-get line is printed and the script exits 1. --check-only only
# reports (exit 1 if something is missing).
set -eu
check_only=0
if [ "${1:-}" = "--check-only" ]; then check_only=1; shift; fi

debian_package() {
	case "$1" in
	atomic_ops) echo libatomic-ops-dev ;;
	check) echo check ;;
	*) echo "$1" ;;
	esac
}

missing=""
command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
for name in "$@"; do
	if ! command -v pkg-config >/dev/null 2>&1 ||
	   ! pkg-config --exists "$name" 2>/dev/null; then
		missing="$missing $(debian_package "$name")"
	fi
done
missing=$(echo $missing)
[ -z "$missing" ] && exit 0
if [ "$check_only" = 1 ]; then
	echo "missing: $missing" >&2
	exit 1
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing $missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "tricolor needs: $missing" >&2
echo "run: sudo apt-get update && sudo apt-get install -y $missing" >&2
exit 1

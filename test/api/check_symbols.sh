#!/bin/sh
# check_symbols.sh -- the shared and the static library export only tri_
# names (DESIGN.md "Names"): every defined global symbol must start with
# tri_. Fails listing the offenders.
#   check_symbols.sh libtricolor.a libtricolor.so
set -eu
status=0
check() {
	what=$1
	shift
	bad=$("$@" | awk '$2 ~ /^[A-TV-Z]$/ && $2 != "U" {print $3}' |
	      grep -v '^tri_' || true)
	count=$("$@" | awk '$2 ~ /^[A-TV-Z]$/ {print $3}' | grep -c '^tri_' ||
	        true)
	if [ -n "$bad" ]; then
		echo "FAIL: $what exports non-tri_ symbols:"
		echo "$bad" | sed 's/^/  /'
		status=1
	elif [ "$count" -lt 10 ]; then
		echo "FAIL: $what exports only $count tri_ symbols"
		status=1
	else
		echo "ok: $what exports $count symbols, all tri_"
	fi
}
check "$1" nm -g --defined-only "$1"
check "$2" nm -D --defined-only "$2"
exit $status

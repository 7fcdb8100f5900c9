#!/bin/sh
# check_symbols.sh -- the shared and the static library export exactly the
# functions and variables include/tricolor.h declares with TRI_API, and
# the C library's blocking calls that gc/blocking.h lists as wrapped
# (BLOCKING_WRAPPED), and nothing else (DESIGN.md "Names"; internal helpers
# must stay hidden even when their names happen to start with tri_).
#   check_symbols.sh HEADER libtricolor.a libtricolor.so [BLOCKING_H]
set -eu
header=$1
blocking=${4:-$(dirname "$0")/../../gc/blocking.h}
wrapped=$(sed -n '/BLOCKING_WRAPPED:/,/\*\//p' "$blocking" |
          sed -e '1d' -e '$d' -e 's/^ \*//' | tr -s ' ' '\n' | grep -v '^$')
[ -n "$wrapped" ] || { echo "FAIL: no BLOCKING_WRAPPED list in $blocking"; exit 1; }
want=$( (sed -n 's/^TRI_API[^(]*[ *]\(tri_[a-z_0-9]*\)(.*/\1/p' "$header"
        sed -n 's/^extern TRI_API .*[ *]\(tri_[a-z_0-9]*\);$/\1/p' "$header"
        printf '%s\n' "$wrapped") |
       sort -u)
[ -n "$want" ] || { echo "FAIL: no TRI_API functions found in $header"; exit 1; }
status=0
check() {
	what=$1
	shift
	got=$("$@" | awk '$2 ~ /^[A-TV-Z]$/ {print $3}' | sort -u)
	if [ "$got" = "$want" ]; then
		echo "ok: $what exports exactly the $(echo "$want" | wc -l) TRI_API functions and wrapped calls"
	else
		echo "FAIL: $what exports differ from $header (< missing, > extra):"
		diff_out=$(printf '%s\n' "$want" > /tmp/tri_want.$$; printf '%s\n' "$got" |
		           diff /tmp/tri_want.$$ - || true)
		rm -f /tmp/tri_want.$$
		echo "$diff_out" | grep '^[<>]' | sed 's/^/  /'
		status=1
	fi
}
check "$2" nm -g --defined-only "$2"
check "$3" nm -D --defined-only "$3"
exit $status

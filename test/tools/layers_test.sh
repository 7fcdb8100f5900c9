#!/bin/sh
# test/tools/layers_test.sh -- owned by the tools tests: tools/layers.sh
# passes on the tree and fails on a planted upward include, a planted
# tri_ call below the top floor, and an allow-list line that no longer
# occurs. Prints "ok ..." lines; exits 1 if any check failed. POSIX sh.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

fresh() {
	rm -rf "$T/src" && mkdir -p "$T/src"
	for d in include tools base alloc barrier gc prof runtime preload; do
		[ -d "$ROOT/$d" ] && cp -r "$ROOT/$d" "$T/src/"
	done
}

fresh
if sh "$ROOT/tools/layers.sh" "$T/src" >"$T/out" 2>&1; then
	ok "layers: the tree passes"
else
	bad "layers: the tree fails: $(cat "$T/out")"
fi

# After a plant in a fresh copy: the check must fail and print want
# (a grep pattern), and not print unwanted (if given).
expect_fail() {
	what=$1 want=$2 unwanted=${3:-}
	if ! sh "$ROOT/tools/layers.sh" "$T/src" >"$T/out" 2>&1 &&
		grep -q "$want" "$T/out" &&
		{ [ -z "$unwanted" ] || ! grep -q "$unwanted" "$T/out"; }; then
		ok "layers: $what fails"
	else
		bad "layers: $what passed: $(cat "$T/out")"
	fi
}

fresh
echo '#include "../gc/gc.h"' >>"$T/src/base/base.h"
expect_fail "a planted upward include" 'include base/base.h gc/gc.h'

fresh
printf 'void layers_planted(void)\n{\n\ttri_collect(); /* tri_free(0) */\n}\n' \
	>>"$T/src/alloc/os.c"
expect_fail "a planted tri_ call below the top floor (not the comment)" \
	'call alloc/os.c tri_collect' 'tri_free'

fresh
echo 'include alloc/os.c gc/gc.h' >>"$T/src/tools/layers.allow"
expect_fail "an allow-list line that no longer occurs" 'gone'

[ $fails = 0 ]

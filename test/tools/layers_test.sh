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

fresh
echo '#include "../gc/gc.h"' >>"$T/src/base/base.h"
if ! sh "$ROOT/tools/layers.sh" "$T/src" >"$T/out" 2>&1 &&
	grep -q 'include base/base.h gc/gc.h' "$T/out"; then
	ok "layers: a planted upward include fails"
else
	bad "layers: a planted upward include passed: $(cat "$T/out")"
fi

fresh
printf 'void layers_planted(void)\n{\n\ttri_collect(); /* tri_free(0) */\n}\n' \
	>>"$T/src/alloc/os.c"
if ! sh "$ROOT/tools/layers.sh" "$T/src" >"$T/out" 2>&1 &&
	grep -q 'call alloc/os.c tri_collect' "$T/out" &&
	! grep -q 'tri_free' "$T/out"; then
	ok "layers: a planted tri_ call below the top floor fails (not the comment)"
else
	bad "layers: a planted tri_ call: $(cat "$T/out")"
fi

fresh
echo 'include alloc/os.c gc/gc.h' >>"$T/src/tools/layers.allow"
if ! sh "$ROOT/tools/layers.sh" "$T/src" >"$T/out" 2>&1 &&
	grep -q 'gone' "$T/out"; then
	ok "layers: an allow-list line that no longer occurs fails"
else
	bad "layers: a stale allow-list line passed: $(cat "$T/out")"
fi

[ $fails = 0 ]

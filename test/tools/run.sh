#!/bin/sh
# test/tools/run.sh BUILD_DIR [FUZZ_SECONDS] -- owned by the tests; run by
# make check (tools-check). Checks tools/tricolor-dump against dumps and
# profiles of test/tools/dumpprog (a program written against tricolor.h
# alone), go tool pprof against GODEBUG=memprofile when go is installed,
# that bad dumps are refused with one line and exit status 2, and runs the
# reader's bounded mutation fuzzer (test/fuzz/mutate.c) over the corpus,
# and test/tools/install.sh (make install to a temporary PREFIX, programs
# linked against it shared and static).
set -u
B=$1
FUZZ_SECONDS=${2:-5}
T=$B/tricolor-dump
P=$B/tools/dumpprog
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
n=0
fail() { echo "FAIL: $*"; exit 1; }
ok() { n=$((n + 1)); echo "ok $n - $*"; }

# path: the shortest chain from the global chain_root to the list's end
addr=$($P chain "$W/chain.dump") || fail "dumpprog chain"
out=$($T path "$W/chain.dump" "$addr") || fail "path exited $?"
echo "$out" | head -1 | grep -q '^root: bss of .*dumpprog (chain_root), slot 0x' ||
	fail "path does not name chain_root: $out"
[ "$(echo "$out" | grep -c -- '->')" -eq 5 ] || fail "path is not 5 long: $out"
echo "$out" | tail -1 | grep -q -- "-> $addr " || fail "path ends elsewhere: $out"
$T --json path "$W/chain.dump" "$addr" | grep -q '"reachable":true' ||
	fail "path --json"
ok "path names the global root and the 5-object chain"

# path takes an address with or without 0x: summary prints them without
bare=${addr#0x}
[ "$bare" != "$addr" ] || fail "dumpprog printed no 0x: $addr"
out=$($T path "$W/chain.dump" "$bare") || fail "path $bare exited $?"
echo "$out" | tail -1 | grep -q -- "-> $addr " || fail "path $bare: $out"
out=$($T path "$W/chain.dump" "0X$bare") || fail "path 0X$bare exited $?"
echo "$out" | tail -1 | grep -q -- "-> $addr " || fail "path 0X$bare: $out"
big=$($T summary "$W/chain.dump" | sed -n '/^largest objects:/{n;n;p;q}' |
	awk '{print $1}')
[ -n "$big" ] || fail "summary lists no largest object"
$T path "$W/chain.dump" "$big" >/dev/null 2>"$W/err"
st=$?
[ $st -le 1 ] || fail "path refuses summary's address $big: $(cat "$W/err")"
for badaddr in '' 0x xyz 12g -1 ' 12' '0x 12' 0x0x12 1ffffffffffffffff; do
	$T path "$W/chain.dump" "$badaddr" >/dev/null 2>"$W/err"
	st=$?
	[ $st -eq 2 ] && grep -q 'bad address' "$W/err" ||
		fail "path accepts bad address '$badaddr' (status $st)"
done
ok "path takes summary's addresses, with or without 0x, and refuses junk"

# diff: the planted leak grows, by class and by site
$P diff "$W/old.dump" "$W/new.dump" || fail "dumpprog diff"
out=$($T diff "$W/old.dump" "$W/new.dump") || fail "diff exited $?"
echo "$out" | grep -A2 '^by size class' | tail -1 | grep -q '+1000 .*+48000  class   5 (48 B)' ||
	fail "diff by class: $out"
echo "$out" | grep -A2 '^by allocation site' | tail -1 | grep -q '+1000 .*+48000  planted_leak$' ||
	fail "diff by site: $out"
ok "diff finds the planted leak (class and site)"

# summary, top, pprof and --json run on a real dump
$T summary "$W/new.dump" | grep -q '^objects 10[0-9][0-9], ' || fail "summary"
$T top "$W/new.dump" | sed -n 3p | grep -q 'planted_leak$' || fail "top"
$T --json summary "$W/new.dump" | grep -q '"objects":10' || fail "summary --json"
$T --json top "$W/new.dump" | grep -q '"site":"planted_leak"' || fail "top --json"
$T pprof "$W/new.dump" "$W/conv.pb" || fail "pprof conversion"
[ -s "$W/conv.pb" ] || fail "pprof conversion wrote nothing"
ok "summary, top, --json and pprof"

# bad input: one line naming the file and an offset, status 2
refused() { # FILE WHAT
	$T summary "$1" >/dev/null 2>"$W/err"
	st=$?
	[ $st -eq 2 ] || fail "$2: exit status $st"
	[ "$(wc -l <"$W/err")" -eq 1 ] || fail "$2: not one line: $(cat "$W/err")"
	grep -Eq "^tricolor-dump: $1: offset [0-9]+: " "$W/err" ||
		fail "$2: message: $(cat "$W/err")"
}
size=$(wc -c <"$W/new.dump")
for cut in 0 3 15 16 17 21 100 1000 $((size / 2)) $((size - 17)) $((size - 1)); do
	head -c "$cut" "$W/new.dump" >"$W/cut"
	refused "$W/cut" "truncated at $cut"
done
printf 'not a dump at all\n' >"$W/text"
refused "$W/text" "not a dump"
{ printf 'TRIDUMP\n\002\000\000\000\000\000\000\000'; tail -c +17 "$W/new.dump"; } >"$W/v2"
refused "$W/v2" "version 2"
grep -q 'unsupported version 2' "$W/err" || fail "version message"
# a record length made huge, a pointer target changed, data after END
cp "$W/new.dump" "$W/len" && printf '\377\377\377\177' |
	dd of="$W/len" bs=1 seek=17 conv=notrunc 2>/dev/null
refused "$W/len" "huge record length"
cp "$W/new.dump" "$W/tail" && printf 'x' >>"$W/tail"
refused "$W/tail" "data after END"
$T summary "$W/missing.dump" 2>"$W/err" >/dev/null
[ $? -eq 2 ] && grep -q 'missing.dump' "$W/err" || fail "missing file"
ok "truncated, corrupted and foreign files are refused (exit 2, one line)"

# go tool pprof names the leaking function (GODEBUG=memprofile at exit)
GODEBUG=memprofile=$W/leak.pb $P leak || fail "dumpprog leak"
[ -s "$W/leak.pb" ] || fail "GODEBUG=memprofile wrote nothing"
if command -v go >/dev/null 2>&1; then
	out=$(go tool pprof -top "$P" "$W/leak.pb" 2>&1) || fail "pprof: $out"
	first=$(echo "$out" | sed -n '/flat%/{n;p;q}')
	echo "$first" | grep -q ' leaking_function$' ||
		fail "go tool pprof -top does not start with leaking_function: $out"
	ok "go tool pprof -top names leaking_function first"
	out=$(go tool pprof -top "$P" "$W/conv.pb" 2>&1) || fail "pprof conv: $out"
	echo "$out" | sed -n '/flat%/{n;p;q}' | grep -q ' planted_leak$' ||
		fail "go tool pprof on the converted dump: $out"
	ok "go tool pprof reads tricolor-dump pprof output"
else
	echo "ok - go tool pprof checks skipped: go is not installed"
fi

# the reader under a bounded mutation fuzz (ASan + UBSan build)
"$B/tools/fuzz_mutate" "$FUZZ_SECONDS" 1 test/fuzz/corpus/*.dump ||
	fail "fuzz_mutate"
ok "reader survives the mutation fuzz"
# make install into a temporary PREFIX, then link shared and static
sh test/tools/install.sh "$B" || fail "test/tools/install.sh"
ok "install and the documented link lines (test/tools/install.sh)"
echo "tools-check: all $n checks passed"

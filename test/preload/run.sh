#!/bin/sh
# test/preload/run.sh -- owns the tests of libtricolor-malloc.so;
# `make check` runs it (target `preload`), and so can anyone:
#
#   sh test/preload/run.sh [BUILD_DIR]      (default: build)
#
# 1. Exports: the preload exports only the malloc family, the interposed
#    blocking calls (gc/blocking.h), the interposed
#    thread and signal-mask calls, and the tri_ API (nm -D).
# 2. Real programs the project did not write (Debian's sqlite3, gawk, perl,
#    python3, also with four threads, git, its repack with two threads,
#    make, bc), each on a scripted workload, run once with
#    glibc's malloc and once per mode (off, gc, leakcheck) under the
#    preload: stdout, stderr and the exit status must match byte for byte
#    (every preload run has GODEBUG=gctrace=1 and GOGC=5, a heap goal of
#    200 KiB, so that collections run often; in gc mode their lines are
#    counted, then removed: every workload must see at least one; leakcheck's
#    report is removed from stderr and must end with its SUMMARY line).
#    A program that is missing is installed with apt-get when running as
#    root, else skipped with a message.
# 3. contract.c (the family against its contracts) with glibc and in each
#    mode; a free of a foreign pointer aborts with one line. 3c.
#    dlsym_first.c: a tri_collect found with dlsym as the first contact
#    with the heap returns (gc and off modes). 3b.
#    sleeper.c: in gc and off modes, a 3 s sleep in the main thread and
#    20 polls of 50 ms last their full time and return 0 while workers
#    churn (in gc mode over ten cycles stop the world meanwhile).
# 4. leaky.c: in gc mode its peak RSS stays under a quarter of what it
#    leaked; in leakcheck mode the report names leak_site_a and
#    leak_site_b and neither kept_site nor freed_site, and
#    TRICOLOR_LEAK_EXITCODE sets the exit status.
# 5. forker.c: fork from several threads, in each mode.
# 6. A bad TRICOLOR_MALLOC value warns once and runs in gc mode.
# 7. exceptions.cc: C++ exceptions thrown and caught on several threads,
#    in each mode (the preload carries its own hidden copy of libgcc's
#    unwinder); skipped when there is no C++ compiler.
# 8. churn.c: 30,000 short-lived threads (joined and detached, some
#    allocating again past their exit handlers) with glibc and in each
#    mode (gc dropping 2 KB per thread for the collector), peak RSS under
#    64 MiB; before the bootstrap arena reused its blocks (shim.c P6) the
#    preload aborted after about 14,000.
# 9. heapprof.c: GODEBUG=memprofile under the preload; go tool pprof -top
#    names hold_site (70 MiB held through main's local, or through XOR-ed
#    pointers in off mode) as the flat top, not tricolor's profile_alloc,
#    in every run, and freed_site (all freed) not in use. Skipped without go.
# 10. threadleak.c: leakcheck reports what LeakSanitizer reports (four
#    exited threads' 777-byte blocks: 3108 bytes in 4 allocations; a table
#    main held in a local: 10080 bytes in 11) with the static allocating
#    function named; a bad TRICOLOR_LEAK_FRAMES warns in one line.
#
# Ends with "N passed, N failed" (and ", N skipped"); exits 1 if any failed.
# POSIX sh.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-$ROOT/build}
PRELOAD=$B/libtricolor-malloc.so
CC=${CC:-cc}
T=$B/preload
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tricolor-preload.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
MODES="off gc leakcheck"
pass=0
fail=0
skip=0

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
skipped() { skip=$((skip + 1)); echo "skip $*"; }

[ -f "$PRELOAD" ] || { echo "run.sh: $PRELOAD not built" >&2; exit 1; }
mkdir -p "$T"

# ---- 1. exports ----
# the blocking calls gc/blocking.h lists as wrapped
wrapped=$(sed -n '/BLOCKING_WRAPPED:/,/\*\//p' "$ROOT/gc/blocking.h" |
	sed -e '1d' -e '$d' -e 's/^ \*//' | tr -s ' ' '\n' | grep -v '^$' |
	paste -sd '|' -)
extra=$(nm -D --defined-only "$PRELOAD" | awk '{print $3}' |
	grep -v -E '^(tri_.*|malloc|free|calloc|realloc|reallocarray|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|malloc_usable_size|malloc_trim|mallopt|mallinfo2?|malloc_stats|malloc_info|__libc_(malloc|free|calloc|realloc|memalign)|pthread_create|pthread_sigmask|sigprocmask|'"$wrapped"')$')
if [ -z "$extra" ]; then ok "exports: only the malloc family, the wrapped blocking calls and tri_"
else bad "exports: unexpected symbols: $(echo $extra)"; fi

# ---- the test programs ----
for p in contract leaky forker sleeper dlsym_first; do
	if ! $CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -pthread \
		-rdynamic "$ROOT/test/preload/$p.c" -o "$T/$p" -ldl; then
		bad "build $p"
	fi
done

# run NAME MODE CMD...: run CMD in $WORK/NAME.MODE (a fresh directory),
# output in $WORK/NAME.MODE.{out,err,rc}; MODE glibc runs without preload.
run() {
	name=$1 mode=$2
	shift 2
	d=$WORK/$name.$mode
	rm -rf "$d" && mkdir -p "$d"
	if [ "$mode" = glibc ]; then
		(cd "$d" && "$@") >"$d.out" 2>"$d.err"
	else
		(cd "$d" && env TRICOLOR_MALLOC="$mode" GODEBUG=gctrace=1 \
			GOGC=${RUN_GOGC:-5} LD_PRELOAD="$PRELOAD" "$@") \
			>"$d.out" 2>"$d.err"
	fi
	echo $? >"$d.rc"
}

# compare NAME MODE: the preload run against the glibc one.
compare() {
	name=$1 mode=$2
	g=$WORK/$name.glibc m=$WORK/$name.$mode
	cycles=$(grep -c '^gc [0-9]* @' "$m.err")
	grep -v -e '^gc [0-9]* @' -e '^GC forced$' -e '^gc tracking: ' \
		-e '^gc [0-9]* tracked: ' "$m.err" |
		sed '/^=================*$/,/^SUMMARY: tricolor leakcheck/d' \
		>"$m.err.clean"
	why=""
	cmp -s "$g.out" "$m.out" || why="$why stdout differs;"
	cmp -s "$g.err" "$m.err.clean" || why="$why stderr differs;"
	cmp -s "$g.rc" "$m.rc" || why="$why exit $(cat "$g.rc") vs $(cat "$m.rc");"
	if [ "$mode" = gc ] && [ "$cycles" -eq 0 ]; then
		why="$why no collection ran;"
	fi
	if [ "$mode" = leakcheck ] && grep -q '^=====' "$m.err" &&
		! grep -q '^SUMMARY: tricolor leakcheck' "$m.err"; then
		why="$why leak report without SUMMARY;"
	fi
	if [ -z "$why" ]; then
		extra=""
		[ "$mode" = gc ] && extra=" ($cycles cycles)"
		ok "$name $mode: output identical to glibc's$extra"
	else
		bad "$name $mode:$why see $m.*"
		diff "$g.out" "$m.out" | head -5
		diff "$g.err" "$m.err.clean" | head -5
		KEEP=1
	fi
}

# have PROGRAM PACKAGE: present, or installed now (root), or skipped.
have() {
	[ -x "$1" ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing $2 for $1"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "$2" >/dev/null 2>&1
		[ -x "$1" ] && return 0
	fi
	skipped "$1: not installed (apt-get install $2)"
	return 1
}

# real NAME PROGRAM PACKAGE ARGS...: every mode against glibc.
real() {
	name=$1 prog=$2 pkg=$3
	shift 3
	have "$prog" "$pkg" || return 0
	run "$name" glibc "$prog" "$@"
	# A workload that fails without the preload proves nothing with it
	# (a missing module fails the same way in every mode).
	if [ "$(cat "$WORK/$name.glibc.rc")" != 0 ]; then
		bad "$name: fails without the preload (exit" \
		    "$(cat "$WORK/$name.glibc.rc")): $(head -c 300 \
		    "$WORK/$name.glibc.err")"
		return 0
	fi
	for mode in $MODES; do
		run "$name" "$mode" "$prog" "$@"
		compare "$name" "$mode"
	done
}

# ---- 2. real programs ----
cat >"$WORK/sqlite.sql" <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
                        WHERE x < 60000)
INSERT INTO t SELECT x, printf('name-%08d-%s', x, hex(x * 7919)), x % 97,
                     x * 1.5 FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp ON t(grp, val);
SELECT grp, count(*), sum(val), min(name), max(name) FROM t GROUP BY grp
 ORDER BY grp LIMIT 12;
UPDATE t SET name = name || '-updated' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(name)), group_concat(id, ',') FILTER
  (WHERE id < 40) FROM t;
CREATE TABLE u AS SELECT a.grp AS g, count(*) AS n FROM t a JOIN t b
  ON a.id = b.id + 1 GROUP BY a.grp;
SELECT * FROM u ORDER BY n DESC, g LIMIT 5;
SELECT name FROM t WHERE name LIKE 'name-0001%' ORDER BY name LIMIT 5;
EOF
real sqlite3 /usr/bin/sqlite3 sqlite3 :memory: -init /dev/null \
	-cmd ".read $WORK/sqlite.sql" .quit

cat >"$WORK/gawk.awk" <<'EOF'
BEGIN {
	for (i = 1; i <= 150000; i++) {
		k = sprintf("key%06d", (i * 7919) % 150001)
		a[k] = a[k] " " i
		s = s substr(k, 4, 2)
		if (length(s) > 4000) { words += split(s, w, "0"); s = "" }
	}
	n = asorti(a, idx)
	for (i = 1; i <= n; i += 15000) {
		v = a[idx[i]]; gsub(/ /, ",", v); print idx[i], v
	}
	print n, words, length(a)
	delete a
}
EOF
real gawk /usr/bin/gawk gawk -f "$WORK/gawk.awk"

cat >"$WORK/perl.pl" <<'EOF'
use strict; use warnings;
my %h; my @l;
for my $i (1 .. 150000) {
	my $k = sprintf("k%07d", ($i * 7919) % 150001);
	$h{$k} .= "$i,";
	push @l, [$i, "x" x ($i % 50)] if $i % 3 == 0;
}
my @keys = sort keys %h;
print scalar(@keys), " ", $keys[0], " ", $keys[-1], "\n";
my $j = join("|", map { $_->[0] . length($_->[1]) } @l);
my @m = ($j =~ /(\d+7)\|/g);
print length($j), " ", scalar(@m), " ", $m[-1], "\n";
my %c; $c{length $_}++ for values %h;
print join(" ", map { "$_=$c{$_}" } sort { $a <=> $b } keys %c), "\n";
EOF
real perl /usr/bin/perl perl "$WORK/perl.pl"

cat >"$WORK/python.py" <<'EOF'
import json, collections, re
d = {}
for i in range(60000):
    d["k%06d" % i] = [i, "v" * (i % 300), {"n": i, "s": str(i) * 40}]
s = json.dumps(d, sort_keys=True)
back = json.loads(s)
words = re.findall(r"k\d{6}", s)
c = collections.Counter(w[-2:] for w in words)
big = [bytes(4000 + i % 5000) for i in range(3000)]
print(len(s), len(back), len(words), c.most_common(3), sum(map(len, big)))
EOF
real python3 /usr/bin/python3 python3 -E "$WORK/python.py"

cat >"$WORK/threads.py" <<'EOF'
import threading, json, hashlib
out = [None] * 4
def work(k):
    acc = []
    for i in range(15000):
        s = json.dumps({"k": i, "v": [str(i) * 5, i * k]})
        acc.append(hashlib.sha1(s.encode()).hexdigest()[:4])
        if len(acc) > 1000:
            acc = acc[-10:]
    out[k] = "".join(acc)
ts = [threading.Thread(target=work, args=(k,)) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(hashlib.sha1("".join(out).encode()).hexdigest())
EOF
real python3-threads /usr/bin/python3 python3 -E "$WORK/threads.py"

cat >"$WORK/git.sh" <<'EOF'
set -e
export HOME=$PWD GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z'
export GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
git init -q -b main repo && cd repo
i=0
while [ $i -lt 300 ]; do
	seq $i $((i + 200)) >"f$i.txt"; i=$((i + 1))
done
git add . && git commit -qm first
i=0
while [ $i -lt 300 ]; do
	echo "change $i" >>"f$i.txt"; i=$((i + 7))
done
git commit -qam second
git log --stat --format='%H %s' | head -60
git diff HEAD~1 --stat | tail -3
git rev-list --all --objects | wc -l
git grep -c 'change' | head -5
git -c pack.threads=2 repack -a -d -q
git fsck --no-progress && git rev-list --all --objects | wc -l
EOF
have /usr/bin/git git && real git /bin/sh sh "$WORK/git.sh"

{
	echo 'N := $(shell seq 1 3000)'
	echo 'T := $(addprefix t,$(N))'
	echo 'all: $(T)'
	echo '	@echo $(words $(sort $(T))) $(lastword $(sort $(T)))'
	echo 't%: ; @: $(eval X += $(patsubst t%,x%,$@))'
	echo 'last: all ; @echo $(words $(X)) $(firstword $(X))'
} >"$WORK/gen.mk"
real make /usr/bin/make make -s -f "$WORK/gen.mk" last

cat >"$WORK/bc.in" <<'EOF'
scale=600
a=sqrt(2)
length(a)
define f(n) { if (n < 2) return 1; return n * f(n - 1); }
x=f(400)
length(x)
y=2^20000
length(y)
z=0
for (i = 0; i < 2000; i++) z = z + 1/(i+1)
z
EOF
real bc /usr/bin/bc bc -q "$WORK/bc.in"

# ---- 3. the contract program ----
run contract glibc "$T/contract"
if [ "$(cat "$WORK/contract.glibc.rc")" = 0 ]; then ok "contract glibc"
else bad "contract glibc: $(tail -3 "$WORK/contract.glibc.err")"; fi
for mode in $MODES; do
	run contract "$mode" "$T/contract"
	if [ "$(cat "$WORK/contract.$mode.rc")" = 0 ]; then
		ok "contract $mode: $(tail -1 "$WORK/contract.$mode.out")"
	else
		bad "contract $mode: $(grep -v '^gc ' "$WORK/contract.$mode.err" |
			head -5)"
	fi
	(run foreign "$mode" "$T/contract" foreign) 2>/dev/null # "Aborted"
	lines=$(grep -v '^gc ' "$WORK/foreign.$mode.err" | wc -l)
	if [ "$(cat "$WORK/foreign.$mode.rc")" -gt 128 ] && [ "$lines" = 1 ] &&
		grep -q 'not allocated' "$WORK/foreign.$mode.err"; then
		ok "foreign free $mode: one line, abort"
	else
		bad "foreign free $mode: status $(cat "$WORK/foreign.$mode.rc")," \
			"$lines lines"
	fi
done

# ---- 3c. the first contact through a dlsym'ed tri_collect ----
# dlsym_first.c: registering the thread from a tri_ call (its
# pthread_getattr_np mallocs) must not recurse into a second registration;
# it deadlocked once, hence the timeout.
for mode in gc off; do
	run dlsym_first "$mode" timeout 60 "$T/dlsym_first"
	if [ "$(cat "$WORK/dlsym_first.$mode.rc")" = 0 ]; then
		ok "dlsym_first $mode: $(cat "$WORK/dlsym_first.$mode.out")"
	else
		bad "dlsym_first $mode: status" \
		    "$(cat "$WORK/dlsym_first.$mode.rc") (124: deadlocked)"
	fi
done

# ---- 3b. blocking calls: a stop of the world never cuts a sleep short ----
# sleeper.c: the main thread sleeps 3 s and a thread polls 20 x 50 ms
# while two workers malloc and free; in gc mode (GOGC=5) cycles stop the
# world throughout, and no call may return early or with EINTR.
for mode in gc off; do
	run sleeper "$mode" "$T/sleeper" 3
	c=$(grep -c '^gc [0-9]* @' "$WORK/sleeper.$mode.err")
	if [ "$(cat "$WORK/sleeper.$mode.rc")" = 0 ] &&
		{ [ "$mode" = off ] || [ "$c" -gt 10 ]; }; then
		ok "sleeper $mode: $(cat "$WORK/sleeper.$mode.out") ($c cycles)"
	else
		bad "sleeper $mode: $(cat "$WORK/sleeper.$mode.out")" \
		    "status $(cat "$WORK/sleeper.$mode.rc"), $c cycles"
	fi
done

# ---- 4. leaks ----
RUN_GOGC=100 run leaky gc "$T/leaky" 4 1000
set -- $(cat "$WORK/leaky.gc.out")
if [ "${1:-}" = leaked_kib ] && [ "$(cat "$WORK/leaky.gc.rc")" = 0 ] &&
	[ "$4" -lt $(($2 / 4)) ]; then
	ok "leaky gc: leaked $2 KiB, peak RSS $4 KiB"
else
	bad "leaky gc: $(cat "$WORK/leaky.gc.out") status $(cat "$WORK/leaky.gc.rc")"
fi
run leaky leakcheck "$T/leaky" 3 20
e=$WORK/leaky.leakcheck.err
if grep -A1 '^Direct leak' "$e" | grep -q 'leak_site_a'; then
	if grep -A1 'leak of' "$e" | grep -q 'leak_site_b' &&
		! grep -q -e kept_site -e freed_site "$e" &&
		grep -q '^SUMMARY: tricolor leakcheck: [0-9]* byte' "$e" &&
		[ "$(cat "$WORK/leaky.leakcheck.rc")" = 0 ]; then
		ok "leaky leakcheck: both leak sites named, nothing else"
	else
		bad "leaky leakcheck: see $e"; KEEP=1
	fi
else
	bad "leaky leakcheck: leak_site_a not reported, see $e"; KEEP=1
fi
(cd "$WORK" && TRICOLOR_MALLOC=leakcheck TRICOLOR_LEAK_EXITCODE=23 \
	LD_PRELOAD="$PRELOAD" "$T/leaky" 1 2 >/dev/null 2>&1)
st=$?
if [ $st = 23 ]; then ok "leaky leakcheck: TRICOLOR_LEAK_EXITCODE=23"
else bad "leaky leakcheck: TRICOLOR_LEAK_EXITCODE=23 gave $st"; fi

# each_mode NAME LINE CMD...: run CMD with glibc and in each mode; each
# run must exit 0 and print LINE.
each_mode() {
	name=$1 line=$2
	shift 2
	for mode in glibc $MODES; do
		run "$name" "$mode" "$@"
		if [ "$(cat "$WORK/$name.$mode.rc")" = 0 ] &&
			grep -q "^$line\$" "$WORK/$name.$mode.out"; then
			ok "$name $mode"
		else
			bad "$name $mode: $(cat "$WORK/$name.$mode.out")" \
				"$(grep -v '^gc ' "$WORK/$name.$mode.err" | head -3)"
		fi
	done
}

# ---- 5. fork from threads ----
each_mode forker 'ok 12' "$T/forker" 4 3

# ---- 6. a bad mode ----
out=$(TRICOLOR_MALLOC=bogus LD_PRELOAD="$PRELOAD" /bin/echo hi 2>&1)
if [ "$(echo "$out" | grep -c 'TRICOLOR_MALLOC=bogus')" = 1 ] &&
	echo "$out" | grep -q '^hi$'; then
	ok "bad TRICOLOR_MALLOC: one warning, runs"
else
	bad "bad TRICOLOR_MALLOC: $out"
fi

# ---- 7. C++ exceptions ----
CXX=${CXX:-c++}
if ! command -v "$CXX" >/dev/null 2>&1; then
	skipped "exceptions: no C++ compiler ($CXX)"
elif ! "$CXX" -std=c++17 -O1 -g -Wall -Wextra -Werror -pthread \
	"$ROOT/test/preload/exceptions.cc" -o "$T/exceptions"; then
	bad "build exceptions"
else
	each_mode exceptions 'ok 20000' "$T/exceptions" 4 5000
fi

# ---- 8. thread churn ----
if $CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -pthread \
	"$ROOT/test/preload/churn.c" -o "$T/churn"; then
	for mode in glibc $MODES; do
		leak=0
		[ "$mode" = gc ] && leak=2000
		run churn "$mode" "$T/churn" 30000 4 $leak
		set -- $(cat "$WORK/churn.$mode.out")
		if [ "$(cat "$WORK/churn.$mode.rc")" = 0 ] &&
			[ "${1:-}" = ok ] && [ "${4:-65536}" -lt 65536 ]; then
			ok "churn $mode: $2 threads, peak RSS $4 KiB"
		else
			bad "churn $mode: $(cat "$WORK/churn.$mode.out")" \
				"$(grep -v '^gc ' "$WORK/churn.$mode.err" | head -3)"
		fi
	done
else
	bad "build churn"
fi

# ---- 9. heap profiles name the program's code ----
# go tool pprof -top: hold_site (70 MiB held through main's local, or only
# through XOR-ed pointers in off mode) is the flat top of inuse_space,
# never a function of tricolor's; freed_site (all freed) is not in use.
if ! command -v go >/dev/null 2>&1; then
	skipped "heap profile: go is not installed (apt-get install golang-go)"
elif ! $CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror \
	"$ROOT/test/preload/heapprof.c" -o "$T/heapprof"; then
	bad "build heapprof"
else
	for how in gc.local gc.local gc.local off.local off.hidden leakcheck.local; do
		mode=${how%.*} arg=${how#*.}
		pb=$WORK/heapprof.$how.pb
		rm -f "$pb"
		(cd "$WORK" && env TRICOLOR_MALLOC=$mode GODEBUG=memprofile=$pb \
			LD_PRELOAD="$PRELOAD" "$T/heapprof" $arg) >/dev/null 2>&1
		top=$(PPROF_TMPDIR=$WORK HOME=$WORK go tool pprof -top \
			"$T/heapprof" "$pb" 2>/dev/null)
		first=$(echo "$top" | awk '/flat%/ { getline; print $NF; exit }')
		alloc=$(PPROF_TMPDIR=$WORK HOME=$WORK go tool pprof \
			-sample_index=alloc_space -top "$T/heapprof" "$pb" 2>/dev/null)
		if [ "$first" = hold_site ] &&
			! echo "$top" | grep -q freed_site &&
			echo "$alloc" | grep -q freed_site; then
			ok "heap profile $mode $arg: hold_site is the flat top" \
				"($(echo "$top" | awk '/flat%/ { getline; print $1; exit }'))"
		else
			bad "heap profile $mode $arg: flat top '$first':" \
				"$(echo "$top" | sed -n '4,8p')"
		fi
	done
fi

# ---- 10. leakcheck agrees with LeakSanitizer ----
# threadleak threads: 4 threads leak 777 bytes each and exit (LSan: 3108
# bytes in 4 allocations); threadleak local: main returns holding a table
# of ten 1000-byte blocks in a local (LSan: 10080 bytes in 11). The
# allocating functions are static: named from the .symtab. Three runs each
# (stale words vary); then a bad TRICOLOR_LEAK_FRAMES warns in one line.
if $CC -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -Werror -pthread \
	"$ROOT/test/preload/threadleak.c" -o "$T/threadleak"; then
	for how in threads.3108.4.leak_777 local.10080.11.table_of_ten; do
		set -- $(echo "$how" | tr . ' ')
		want="SUMMARY: tricolor leakcheck: $2 byte(s) leaked in $3 allocation(s)."
		good=0
		for i in 1 2 3; do
			run threadleak.$1 leakcheck "$T/threadleak" "$1"
			e=$WORK/threadleak.$1.leakcheck.err
			grep -qxF "$want" "$e" &&
				grep -q "^    #0 0x[0-9a-f]* in $4+0x" "$e" &&
				good=$((good + 1))
		done
		if [ $good = 3 ]; then
			ok "leakcheck $1: $2 bytes in $3 allocations, #0 $4 (3 runs)"
		else
			bad "leakcheck $1: $good of 3 runs as LeakSanitizer:" \
				"$(grep -e SUMMARY -e '#0' "$e" | head -3)"
		fi
	done
	out=$(cd "$WORK" && TRICOLOR_MALLOC=leakcheck TRICOLOR_LEAK_FRAMES=abc \
		LD_PRELOAD="$PRELOAD" "$T/threadleak" threads 2>&1)
	if [ "$(echo "$out" | grep -c 'TRICOLOR_LEAK_FRAMES=abc')" = 1 ] &&
		echo "$out" | grep -q "TRICOLOR_LEAK_FRAMES=abc: not a whole number; using 12" &&
		echo "$out" | grep -q '^SUMMARY: tricolor leakcheck: 3108'; then
		ok "bad TRICOLOR_LEAK_FRAMES: one warning, default used"
	else
		bad "bad TRICOLOR_LEAK_FRAMES: $(echo "$out" | head -3)"
	fi
else
	bad "build threadleak"
fi

if [ "${KEEP:-0}" = 1 ]; then
	cp -r "$WORK" "$B/preload/failed" 2>/dev/null
	echo "outputs kept in $B/preload/failed"
fi
echo "preload: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]

#!/bin/sh
# run.sh -- owns `make bench`. Two parts, each skippable:
#
# 1. alloc_ring: builds bench/alloc_ring.c once per allocator (tricolor,
#    glibc, jemalloc, mimalloc, tcmalloc), runs every allocator RUNS times at
#    1 and 2 threads, interleaved round-robin so machine noise hits all
#    alike, and prints the medians as one table (also written as markdown to
#    $OUT/alloc_ring.md).
# 2. GC benchmarks: builds bench/binarytrees.c and bench/gcbench.c once per
#    allocator (tricolor, bdwgc, glibc) and the Go ports in bench/go, runs
#    each size GC_RUNS times per allocator, round-robin, and prints one table
#    of medians per benchmark and size (also written as markdown to
#    $OUT/gc_bench.md).
#
# Peers whose library or toolchain is missing are skipped, never failed; so
# is tricolor in part 2 when its GC benchmarks do not build or run (the
# collector is not there yet, or a run crashed): the peers still run.
# Benchmarks are not tests: nothing here passes or fails on speed.
# POSIX sh (make runs it with sh, which is dash on Debian).
#
# Environment (all optional):
#   CC          compiler                        (cc)
#   TRI_LIB     tricolor static library         (build/libtricolor.a)
#   TRI_INC     tricolor include directory      (include)
#   TRI_LDLIBS  libraries tricolor needs        (-latomic_ops -lpthread)
#   OUT         where binaries and results go   (build/bench)
#   RUNS        alloc_ring: runs per allocator and threads (5)
#   OPS         alloc_ring: operations per thread per run  (20000000)
#   ALLOC_RING  0 skips alloc_ring                          (1)
#   GC_BENCH    0 skips the GC benchmarks                   (1)
#   BENCH_SIZES GC benchmarks' sizes: quick (binary-trees 16, GCBench
#               18/16) or full (also binary-trees 21, GCBench 22/20) (full)
#   GC_RUNS     GC benchmarks: runs per allocator and size  (RUNS if set,
#               else 3)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-cc}
TRI_LIB=${TRI_LIB:-$ROOT/build/libtricolor.a}
TRI_INC=${TRI_INC:-$ROOT/include}
TRI_LDLIBS=${TRI_LDLIBS:--latomic_ops -lpthread}
OUT=${OUT:-$ROOT/build/bench}
GC_RUNS=${GC_RUNS:-${RUNS:-3}} # before RUNS takes its own default
RUNS=${RUNS:-5}
OPS=${OPS:-20000000}
ALLOC_RING=${ALLOC_RING:-1}
GC_BENCH=${GC_BENCH:-1}
BENCH_SIZES=${BENCH_SIZES:-full}

SRC=$ROOT/bench/alloc_ring.c
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -pthread"
THREAD_COUNTS="1 2"
# NAME-calloc: the same peer through calloc(1, n), zeroed like tri_malloc.
PEERS="glibc jemalloc mimalloc tcmalloc glibc-calloc mimalloc-calloc"
RING_DESC="random sizes 16..256 B, ring of 100000 live objects per thread"

ALLOCATORS=""   # the ones that built, tricolor first, space separated
SKIPPED=""      # one "skipped NAME: reason" line per missing peer

die() {
	echo "bench/run.sh: $*" >&2
	exit 1
}

check_count() { # NAME VALUE: VALUE must be a positive integer
	case $2 in
	'' | *[!0-9]* | 0) die "$1 must be a positive integer, got '$2'" ;;
	esac
}

check_switch() { # NAME VALUE: VALUE must be 0 or 1
	case $2 in
	0 | 1) ;;
	*) die "$1 must be 0 or 1, got '$2'" ;;
	esac
}

link_flags() { # PEER: the flags that link it
	case ${1%-calloc} in
	glibc) echo "" ;;
	jemalloc) echo "-ljemalloc" ;;
	mimalloc) echo "-lmimalloc" ;;
	tcmalloc) echo "-ltcmalloc_minimal" ;;
	esac
}

package_of() { # PEER: the Debian package that provides it
	case ${1%-calloc} in
	jemalloc) echo libjemalloc-dev ;;
	mimalloc) echo libmimalloc-dev ;;
	tcmalloc) echo libgoogle-perftools-dev ;;
	*) echo libc6-dev ;;
	esac
}

machine_lines() { # date, machine, compiler
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
	echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
	echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
	echo "compiler: $($CC --version | head -n 1)"
}

machine_header() { # lines describing the machine and the alloc_ring run
	machine_lines
	echo "bench:    alloc_ring, $RING_DESC,"
	echo "          $OPS ops per thread, threads $THREAD_COUNTS," \
		"median of $RUNS runs (round-robin)"
}

lib_links() { # FLAGS: can a trivial program link with FLAGS?
	# shellcheck disable=SC2086 # FLAGS is a list of flags
	printf 'int main(void) { return 0; }\n' |
		$CC -x c - -o "$OUT/.probe" $1 >/dev/null 2>&1
}

build_tricolor() {
	# shellcheck disable=SC2086 # TRI_LDLIBS is a list of flags
	$CC $CFLAGS -DUSE_TRI -I"$TRI_INC" -o "$OUT/alloc_ring.tricolor" \
		"$SRC" "$TRI_LIB" $TRI_LDLIBS
	ALLOCATORS=tricolor
}

build_peer() { # PEER
	flags=$(link_flags "$1")
	if ! lib_links "$flags"; then
		pkg=$(package_of "$1")
		SKIPPED="${SKIPPED}skipped $1: not installed (apt-get install $pkg)
"
		return 0
	fi
	variant=""
	case $1 in *-calloc) variant=-DUSE_CALLOC ;; esac
	# shellcheck disable=SC2086 # flags is a list of flags
	$CC $CFLAGS $variant -o "$OUT/alloc_ring.$1" "$SRC" $flags
	ALLOCATORS="$ALLOCATORS $1"
}

build_all() {
	build_tricolor
	for peer in $PEERS; do
		build_peer "$peer"
	done
	rm -f "$OUT/.probe"
}

run_one() { # NAME THREADS: one run, appends "ns rss_kb" to its result file
	line=$("$OUT/alloc_ring.$1" "$2" "$OPS")
	case $line in
	ns_per_op=*' 'peak_rss_kb=*) ;;
	*) die "alloc_ring.$1 printed '$line'" ;;
	esac
	ns=${line#ns_per_op=}
	ns=${ns%% *}
	rss=${line##*peak_rss_kb=}
	echo "$ns $rss" >>"$OUT/raw/$1.$2"
	echo "$1,$2,$ns,$rss" >>"$OUT/alloc_ring.csv"
	printf ' %s/%s' "$1" "$2" >&2
}

pick() { # INDEX WORD...: the word at INDEX (0-based)
	shift $(($1 + 1))
	echo "$1"
}

count_words() { # WORD...: how many
	echo $#
}

run_rounds() { # RUNS rounds; each runs every allocator once per thread count
	# shellcheck disable=SC2086 # ALLOCATORS is a list of words
	n=$(count_words $ALLOCATORS)
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		printf 'round %d/%d:' $((r + 1)) "$RUNS" >&2
		for t in $THREAD_COUNTS; do
			k=0
			while [ "$k" -lt "$n" ]; do # rotate the start each round
				# shellcheck disable=SC2086
				run_one "$(pick $(((k + r) % n)) $ALLOCATORS)" "$t"
				k=$((k + 1))
			done
		done
		echo >&2
		r=$((r + 1))
	done
}

median() { # FILE COLUMN: median of that column (mean of the middle two)
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (NR % 2) print v[(NR + 1) / 2]
			else print (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# Rows "name threads ns_per_op rss_mib ratio", tricolor's ns as the base.
table_rows() {
	for t in $THREAD_COUNTS; do
		base=$(median "$OUT/raw/tricolor.$t" 1)
		for name in $ALLOCATORS; do
			awk -v n="$name" -v t="$t" -v b="$base" \
				-v ns="$(median "$OUT/raw/$name.$t" 1)" \
				-v r="$(median "$OUT/raw/$name.$t" 2)" 'BEGIN {
				printf "%s %s %.1f %.1f %.2fx\n", n, t, ns, r / 1024, b / ns
			}'
		done
	done
}

print_table() { # stdin: rows; stdout: aligned text table
	awk 'BEGIN {
		f = "%-16s %7s %10s %13s %16s\n"
		printf f, "allocator", "threads", "ns/op", "peak RSS MiB", "tricolor / this"
		printf f, "---------", "-------", "-----", "------------", "---------------"
	}
	{ printf f, $1, $2, $3, $4, $5 }'
}

print_markdown() { # stdin: rows; stdout: markdown table
	echo "| allocator | threads | ns/op | peak RSS MiB | tricolor / this |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }'
}

LEGEND="ns/op (wall time / all threads' ops) and peak RSS are medians;
tricolor / this = ratio of ns/op (below 1.00x: tricolor is faster)."

write_markdown() { # HEADER ROWS -> $OUT/alloc_ring.md
	{
		echo "## alloc_ring"
		echo
		echo '```'
		echo "$1"
		echo '```'
		echo
		echo "$2" | print_markdown
		echo
		echo "$LEGEND"
		[ -z "$SKIPPED" ] || printf '\n%s' "$SKIPPED" | sed 's/^skipped/- skipped/'
	} >"$OUT/alloc_ring.md"
}

ring_main() {
	rm -rf "$OUT/raw" "$OUT/alloc_ring.csv"
	mkdir -p "$OUT/raw"
	header=$(machine_header)
	echo "$header"
	build_all
	printf '%s' "$SKIPPED"
	echo "allocators: $ALLOCATORS"
	echo
	run_rounds
	echo
	rows=$(table_rows)
	echo "$rows" | print_table
	echo
	echo "$LEGEND"
	write_markdown "$header" "$rows"
	echo "markdown: $OUT/alloc_ring.md, raw runs: $OUT/alloc_ring.csv"
}

# ---- part 2: the GC benchmarks ----

GC_OUT="" # $OUT/gc, set by gc_main
GC_CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror"
GC_BENCHES="binarytrees gcbench"
GC_ALLOCATORS="" # the ones that built and passed their check, in table order
GC_NOTES=""      # one line per skipped allocator or failed run

gc_note() { # LINE: print it now and keep it for the markdown
	echo "$*"
	GC_NOTES="$GC_NOTES$*
"
}

# The cases of BENCH_SIZES as BENCH:ARGS words, ARGS joined by '/'.
gc_cases() {
	echo "binarytrees:16 gcbench:18/16"
	[ "$BENCH_SIZES" = quick ] || echo "binarytrees:21 gcbench:22/20"
}

gc_case_id() { # CASE: a file name part, e.g. gcbench-18-16
	echo "$1" | tr ':/' '--'
}

gc_case_title() { # CASE: the table's title
	case $1 in
	binarytrees:*) echo "binary-trees, depth ${1#*:}" ;;
	gcbench:*)
		args=${1#*:}
		echo "GCBench, stretch tree depth ${args%/*}," \
			"long-lived tree depth ${args#*/}"
		;;
	esac
}

gc_build_c() { # NAME FLAGS LIBS: both C benchmarks; output in build.NAME.log
	log=$GC_OUT/build.$1.log
	: >"$log"
	for b in $GC_BENCHES; do
		# shellcheck disable=SC2086 # FLAGS and LIBS are lists of flags
		$CC $GC_CFLAGS $2 -o "$GC_OUT/$b.$1" "$ROOT/bench/$b.c" $3 \
			>>"$log" 2>&1 || return 1
	done
}

gc_build_error() { # NAME: the first error line of its build log
	grep -m 1 -e 'undefined reference' -e 'error' "$GC_OUT/build.$1.log" |
		sed 's/^.*: \(undefined reference\)/\1/' | cut -c 1-120
}

gc_build_tricolor() {
	if gc_build_c tricolor "-DALLOC_TRICOLOR -I$TRI_INC" \
		"$TRI_LIB $TRI_LDLIBS"; then
		GC_ALLOCATORS=tricolor
		return 0
	fi
	gc_note "skipped tricolor: the GC benchmarks do not build against" \
		"$TRI_LIB ($(gc_build_error tricolor)); full log:" \
		"$GC_OUT/build.tricolor.log"
}

gc_build_bdwgc() {
	if ! printf '#include <gc/gc.h>\nint main(void) { GC_INIT(); %s }\n' \
		'return GC_MALLOC(8) == 0;' |
		$CC -x c - -o "$GC_OUT/.probe" -lgc >/dev/null 2>&1; then
		gc_note "skipped bdwgc: not installed (apt-get install libgc-dev)"
		return 0
	fi
	rm -f "$GC_OUT/.probe"
	if gc_build_c bdwgc -DALLOC_BDWGC -lgc; then
		GC_ALLOCATORS="$GC_ALLOCATORS bdwgc"
	else
		gc_note "skipped bdwgc: build failed ($(gc_build_error bdwgc))"
	fi
}

gc_build_glibc() {
	if gc_build_c glibc -DALLOC_GLIBC ""; then
		GC_ALLOCATORS="$GC_ALLOCATORS glibc"
	else
		gc_note "skipped glibc: build failed ($(gc_build_error glibc))"
	fi
}

# The Go ports, with Go's caches under $OUT so nothing lands in the tree;
# GOENV, GOWORK and GOFLAGS are neutralised so a user's settings cannot
# change the build.
gc_build_go() {
	if ! command -v go >/dev/null 2>&1; then
		gc_note "skipped go: not installed (apt-get install golang-go)"
		return 0
	fi
	log=$GC_OUT/build.go.log
	: >"$log"
	for b in $GC_BENCHES; do
		if ! (cd "$ROOT/bench/go" && GOCACHE="$OUT/go-cache" \
			GOPATH="$OUT/go-path" GOENV=off GOWORK=off \
			GO111MODULE=on GOFLAGS=-modcacherw \
			go build -o "$GC_OUT/$b.go" "./$b") >>"$log" 2>&1; then
			gc_note "skipped go: build failed, see $log"
			return 0
		fi
	done
	GC_ALLOCATORS="$GC_ALLOCATORS go"
}

# FIELD < a program's output: the value of FIELD in its RESULT line.
result_field() {
	awk -v f="$1" '/^RESULT / {
		for (i = 2; i <= NF; i++)
			if (index($i, f "=") == 1) v = substr($i, length(f) + 2)
	} END { print v }'
}

# tricolor must collect before it runs the big sizes: without a working
# collector its full runs would allocate gigabytes. One binary-trees 16
# run (about 230 MB allocated) must report at least one cycle.
gc_gate_tricolor() {
	case " $GC_ALLOCATORS " in *" tricolor "*) ;; *) return 0 ;; esac
	log=$GC_OUT/log/gate.tricolor.txt
	st=0
	"$GC_OUT/binarytrees.tricolor" 16 >"$log" 2>&1 || st=$?
	gcs=$(result_field gcs <"$log")
	if [ "$st" = 0 ] && [ -n "$gcs" ] && [ "$gcs" != 0 ]; then
		return 0
	fi
	if [ "$st" != 0 ]; then
		gc_note "skipped tricolor: binarytrees 16 failed (exit $st)," \
			"see $log"
	else
		gc_note "skipped tricolor: binarytrees 16 ran no GC cycle, so" \
			"the larger runs would exhaust memory; see $log"
	fi
	GC_ALLOCATORS=${GC_ALLOCATORS#tricolor}
}

gc_build_all() {
	rm -rf "$GC_OUT" "$OUT/gc_bench.csv" "$OUT/gc_bench.md"
	mkdir -p "$GC_OUT/raw" "$GC_OUT/log"
	gc_build_tricolor
	gc_build_bdwgc
	gc_build_glibc
	gc_build_go
	gc_gate_tricolor
	echo "benchmark,size,allocator,run,wall_ms,maxrss_kb,gcs," \
		"max_pause_us,total_pause_us,cpu_ms" | tr -d ' ' \
		>"$OUT/gc_bench.csv"
}

# One run: CASE ALLOCATOR ROUND. The program's output goes to a log; its
# RESULT fields are appended to raw/ID.ALLOCATOR and to the CSV. A run that
# fails (exit status, no RESULT line) is noted and leaves no numbers.
gc_run_one() {
	gb=${1%%:*}
	gargs=$(echo "${1#*:}" | tr / ' ')
	gid=$(gc_case_id "$1")
	glog=$GC_OUT/log/$gid.$2.$3.txt
	gst=0
	# shellcheck disable=SC2086 # gargs is a list of arguments
	"$GC_OUT/$gb.$2" $gargs >"$glog" 2>&1 || gst=$?
	gwall=$(result_field wall_ms <"$glog")
	if [ "$gst" != 0 ] || [ -z "$gwall" ]; then
		# Listed after the tables (printing it now would split the
		# progress line).
		GC_NOTES="${GC_NOTES}FAILED: $2 $gb $gargs, run $3 (exit $gst), see $glog
"
		printf ' %s/%s:FAILED' "$gid" "$2" >&2
		return 0
	fi
	set -- "$@" "$gwall" "$(result_field maxrss_kb <"$glog")" \
		"$(result_field gcs <"$glog")" \
		"$(result_field max_pause_us <"$glog")" \
		"$(result_field total_pause_us <"$glog")" \
		"$(result_field cpu_ms <"$glog")"
	echo "$4 $5 $6 $7 $8 $9" >>"$GC_OUT/raw/$gid.$2"
	echo "$gb,$(echo "$gargs" | tr ' ' /),$2,$3,$4,$5,$6,$7,$8,$9" \
		>>"$OUT/gc_bench.csv"
	printf ' %s/%s' "$gid" "$2" >&2
}

# GC_RUNS rounds; each runs every case once per allocator, the allocators
# in an order rotating from round to round.
gc_rounds() {
	# shellcheck disable=SC2086 # GC_ALLOCATORS is a list of words
	gn=$(count_words $GC_ALLOCATORS)
	gr=0
	while [ "$gr" -lt "$GC_RUNS" ]; do
		printf 'round %d/%d:' $((gr + 1)) "$GC_RUNS" >&2
		for c in $(gc_cases); do
			gk=0
			while [ "$gk" -lt "$gn" ]; do
				# shellcheck disable=SC2086
				gc_run_one "$c" \
					"$(pick $(((gk + gr) % gn)) $GC_ALLOCATORS)" \
					$((gr + 1))
				gk=$((gk + 1))
			done
		done
		echo >&2
		gr=$((gr + 1))
	done
}

# Rows "allocator wall_ms ratio rss_mib cycles max_pause_ms total_pause_ms
# cpu_ms" of CASE: medians, wall time over bdwgc's. "-" where there is
# nothing.
gc_rows() {
	raw=$GC_OUT/raw/$(gc_case_id "$1")
	base=-
	[ ! -s "$raw.bdwgc" ] || base=$(median "$raw.bdwgc" 1)
	for a in $GC_ALLOCATORS; do
		if [ ! -s "$raw.$a" ]; then
			echo "$a failed - - - - - -"
			continue
		fi
		awk -v a="$a" -v b="$base" -v w="$(median "$raw.$a" 1)" \
			-v r="$(median "$raw.$a" 2)" -v c="$(median "$raw.$a" 3)" \
			-v m="$(median "$raw.$a" 4)" -v t="$(median "$raw.$a" 5)" \
			-v u="$(median "$raw.$a" 6)" 'BEGIN {
			ratio = b == "-" ? "-" : sprintf("%.2fx", w / b)
			if (a == "glibc")
				gc = "- - -"
			else
				gc = sprintf("%g %.2f %.1f", c, m / 1000, t / 1000)
			printf "%s %.0f %s %.1f %s %.0f\n", a, w, ratio, r / 1024,
				gc, u
		}'
	done
}

gc_print_table() { # stdin: rows; stdout: aligned text table
	awk 'BEGIN {
		f = "%-10s %9s %8s %13s %7s %13s %15s %8s\n"
		printf f, "allocator", "wall ms", "/ bdwgc", "peak RSS MiB", \
			"cycles", "max pause ms", "total pause ms", "CPU ms"
		printf f, "---------", "-------", "-------", "------------", \
			"------", "------------", "--------------", "------"
	}
	{ printf f, $1, $2, $3, $4, $5, $6, $7, $8 }'
}

gc_print_markdown() { # stdin: rows; stdout: markdown table
	echo "| allocator | wall ms | / bdwgc | peak RSS MiB | cycles |" \
		"max pause ms | total pause ms | CPU ms |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6, $7, $8 }'
}

GC_LEGEND="Medians of the runs: wall ms (the timed part, CLOCK_MONOTONIC), peak
RSS (ru_maxrss), cycles (collections), max pause (a run's longest
stop-the-world pause), total pause (their sum) and CPU ms (user + system
time of the whole process, all threads). / bdwgc = wall time over bdwgc's
(below 1.00x: faster than bdwgc). glibc has no collector: it
frees every tree. For tricolor and go the max pause covers the last 256
cycles of a run (the pause ring); for bdwgc, all of them."

gc_header() { # lines describing the machine and the run
	machine_lines
	echo "bench:    binary-trees and GCBench, one mutator thread, sizes" \
		"$BENCH_SIZES, median of $GC_RUNS runs (round-robin)"
	echo "go:       $(go version 2>/dev/null || echo not installed)"
	echo "bdwgc:    $(pkg-config --modversion bdw-gc 2>/dev/null ||
		echo unknown)"
	echo "settings: GOGC=${GOGC:-unset} GODEBUG=${GODEBUG:-unset}" \
		"(read by tricolor and go)"
	echo "load:     $(cut -d ' ' -f 1-3 /proc/loadavg) at the start" \
		"(other work on the machine skews the times)"
}

gc_write_markdown() { # HEADER -> $OUT/gc_bench.md
	{
		echo "## GC benchmarks"
		echo
		echo '```'
		echo "$1"
		echo '```'
		for c in $(gc_cases); do
			echo
			echo "### $(gc_case_title "$c")"
			echo
			gc_rows "$c" | gc_print_markdown
		done
		echo
		echo "$GC_LEGEND"
		[ -z "$GC_NOTES" ] || printf '\n%s' "$GC_NOTES" | sed 's/^./- &/'
	} >"$OUT/gc_bench.md"
}

gc_main() {
	GC_OUT=$OUT/gc
	header=$(gc_header)
	echo "$header"
	gc_build_all
	# shellcheck disable=SC2086 # GC_ALLOCATORS is a list of words
	echo "allocators:" $GC_ALLOCATORS
	# shellcheck disable=SC2086 # GC_ALLOCATORS is a list of words
	if [ "$(count_words $GC_ALLOCATORS)" = 0 ]; then
		echo "GC benchmarks: nothing to run"
		return 0
	fi
	echo
	gc_rounds
	for c in $(gc_cases); do
		echo
		gc_case_title "$c"
		gc_rows "$c" | gc_print_table
	done
	echo
	echo "$GC_LEGEND"
	[ -z "$GC_NOTES" ] || printf '\n%s' "$GC_NOTES"
	gc_write_markdown "$header"
	echo "markdown: $OUT/gc_bench.md, raw runs: $OUT/gc_bench.csv," \
		"program output: $GC_OUT/log/"
}

main() {
	check_count RUNS "$RUNS"
	check_count OPS "$OPS"
	check_count GC_RUNS "$GC_RUNS"
	check_switch ALLOC_RING "$ALLOC_RING"
	check_switch GC_BENCH "$GC_BENCH"
	case $BENCH_SIZES in
	quick | full) ;;
	*) die "BENCH_SIZES must be quick or full, got '$BENCH_SIZES'" ;;
	esac
	[ -f "$TRI_LIB" ] || die "$TRI_LIB not found: build tricolor first (make)"
	started=$(date +%s)
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd) # absolute: the Go build runs in bench/go
	if [ "$ALLOC_RING" = 1 ]; then
		ring_main
	else
		echo "alloc_ring: skipped (ALLOC_RING=0)"
	fi
	if [ "$GC_BENCH" = 1 ]; then
		echo
		gc_main
	else
		echo "GC benchmarks: skipped (GC_BENCH=0)"
	fi
	echo "took $(($(date +%s) - started)) s"
}

main

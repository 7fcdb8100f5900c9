#!/bin/sh
# run.sh -- owns `make bench`. Seven parts, each skippable:
#
# 1. alloc_ring: builds bench/alloc_ring.c once per allocator (tricolor,
#    glibc, jemalloc, mimalloc, tcmalloc), runs every allocator RUNS times at
#    1 and 2 threads, interleaved round-robin so machine noise hits all
#    alike, and prints the medians as one table (also written as markdown to
#    $OUT/alloc_ring.md).
# 2. GC benchmarks: builds bench/binarytrees.c and bench/gcbench.c once per
#    allocator (tricolor in both modes: tricolor-stw and tricolor-conc;
#    bdwgc, glibc) and the Go ports in bench/go, runs each size GC_RUNS
#    times per allocator, round-robin, and prints one table of medians per
#    benchmark and size (also written as markdown to $OUT/gc_bench.md).
# 3. Latency: builds bench/latency.c for tricolor-stw, tricolor-conc and
#    bdwgc, runs it LAT_RUNS times per collector, round-robin (a live heap
#    of LAT_LIVE_MB MiB, LAT_THREADS threads mutating for LAT_SECONDS), and
#    prints one table of medians (markdown: $OUT/latency.md).
# 4. Phase change: builds bench/phase.c for tricolor-stw, bdwgc, glibc and
#    jemalloc, runs each once, one after the other (RSS is the measure:
#    never two at once): grow to PHASE_LIVE_MB MiB live, drop 95 %, shrink
#    for PHASE_SHRINK_S s, idle for PHASE_IDLE_S s, RSS sampled every
#    100 ms. Merges the samples into $OUT/phase_rss.csv, prints a table
#    (markdown: $OUT/phase_rss.md) and draws $OUT/phase_rss.svg with
#    bench/plot_rss.awk. PHASE_DOCS=1 also copies the chart and the CSV to
#    docs/img and docs/data and rewrites the block between the phase_rss
#    markers of docs/performance.md.
# 5. malloc: bench/malloc.sh -- multi-threaded malloc/free workloads with
#    libtricolor-malloc.so (off and gc modes), glibc, jemalloc, mimalloc,
#    tcmalloc and bdwgc preloaded; one table (markdown: $OUT/malloc.md).
# 6. blocking: bench/blocking.c -- what a blocking section costs per
#    wrapped call against the C library's call (glibc), and the pause with
#    2 and 1000 threads blocked in read, in each mode (markdown:
#    $OUT/blocking.md). About half a minute.
# 7. throughput: bench/throughput.sh -- one full collection of a 1 GiB
#    live graph (bench/markrate.c: tricolor, bdwgc) and the scanned
#    allocation loop (bench/allocscan.c: tricolor, bdwgc, Go); medians
#    and ratios over bdwgc (markdown: $OUT/throughput.md).
#
# Peers whose library or toolchain is missing are skipped, never failed; so
# is a tricolor mode in parts 2 and 3 when its benchmarks do not build or
# run (a run crashed, or no cycle ran), and any allocator in part 4 whose
# phase.c does not build or run: the others still run.
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
#   LAT_BENCH   0 skips the latency benchmark               (1)
#   LAT_LIVE_MB latency: live heap in MiB                   (1024)
#   LAT_SECONDS latency: seconds the mutator threads run    (20)
#   LAT_THREADS latency: mutator threads                    (2)
#   LAT_RUNS    latency: runs per collector                 (1)
#   PHASE_BENCH 0 skips the phase-change benchmark          (1)
#   PHASE_LIVE_MB  phase: live heap at the end of grow, MiB  (1024)
#   PHASE_SHRINK_S phase: seconds from the drop to idle      (5)
#   PHASE_IDLE_S   phase: seconds of idle                    (15)
#   PHASE_DOCS  1 also updates docs/ (see part 4)           (0)
#   MALLOC_BENCH 0 skips part 5, the malloc-replacement benchmark
#               (bench/malloc.sh, with its own MB_* settings)    (1)
#   BENCH       malloc: run part 5 alone                        (all)
#   BLOCKING_BENCH 0 skips part 6, the blocking-call benchmark      (1)
#   THROUGHPUT_BENCH 0 skips part 7, the collectors' throughput
#               (bench/throughput.sh, with its own TP_* settings) (1)
#   BENCH       throughput: run part 7 alone
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # ROOT, CC, TRI_*, OUT; die, check_count,
                           # rotated, count_words, median, result_field
GC_RUNS=${GC_RUNS:-${RUNS:-3}} # before RUNS takes its own default
RUNS=${RUNS:-5}
OPS=${OPS:-20000000}
ALLOC_RING=${ALLOC_RING:-1}
GC_BENCH=${GC_BENCH:-1}
BENCH_SIZES=${BENCH_SIZES:-full}
LAT_BENCH=${LAT_BENCH:-1}
LAT_LIVE_MB=${LAT_LIVE_MB:-1024}
LAT_SECONDS=${LAT_SECONDS:-20}
LAT_THREADS=${LAT_THREADS:-2}
LAT_RUNS=${LAT_RUNS:-1}
PHASE_BENCH=${PHASE_BENCH:-1}
PHASE_LIVE_MB=${PHASE_LIVE_MB:-1024}
PHASE_IDLE_S=${PHASE_IDLE_S:-15}
PHASE_SHRINK_S=${PHASE_SHRINK_S:-5}
PHASE_DOCS=${PHASE_DOCS:-0}
MALLOC_BENCH=${MALLOC_BENCH:-1}
BLOCKING_BENCH=${BLOCKING_BENCH:-1}
THROUGHPUT_BENCH=${THROUGHPUT_BENCH:-1}
if [ "${BENCH:-all}" = malloc ]; then
	ALLOC_RING=0 GC_BENCH=0 LAT_BENCH=0 PHASE_BENCH=0 MALLOC_BENCH=1
	BLOCKING_BENCH=0 THROUGHPUT_BENCH=0
fi
if [ "${BENCH:-all}" = throughput ]; then
	ALLOC_RING=0 GC_BENCH=0 LAT_BENCH=0 PHASE_BENCH=0 MALLOC_BENCH=0
	BLOCKING_BENCH=0 THROUGHPUT_BENCH=1
fi

SRC=$ROOT/bench/alloc_ring.c
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -pthread"
THREAD_COUNTS="1 2"
# NAME-calloc: the same peer through calloc(1, n), zeroed like tri_malloc.
PEERS="glibc jemalloc mimalloc tcmalloc glibc-calloc mimalloc-calloc"
RING_DESC="random sizes 16..256 B, ring of 100000 live objects per thread"

ALLOCATORS=""   # the ones that built, tricolor first, space separated
SKIPPED=""      # one "skipped NAME: reason" line per missing peer

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
	# The same binary with heap profiling off: its row's ratio is the
	# cost of sampling at the default rate (docs/performance.md).
	printf '#!/bin/sh\nGODEBUG=memprofilerate=0 exec "%s" "$@"\n' \
		"$OUT/alloc_ring.tricolor" >"$OUT/alloc_ring.tricolor-noprof"
	chmod +x "$OUT/alloc_ring.tricolor-noprof"
	ALLOCATORS="tricolor tricolor-noprof"
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

run_rounds() { # RUNS rounds; each runs every allocator once per thread count
	r=0
	while [ "$r" -lt "$RUNS" ]; do
		printf 'round %d/%d:' $((r + 1)) "$RUNS" >&2
		for t in $THREAD_COUNTS; do
			# shellcheck disable=SC2086 # ALLOCATORS is a list of words
			for a in $(rotated "$r" $ALLOCATORS); do
				run_one "$a" "$t"
			done
		done
		echo >&2
		r=$((r + 1))
	done
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

GC_OUT="" # $OUT/gc, set by main
GC_CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -pthread"
# The C programs each allocator builds (glibc has no latency.c: no collector).
GC_PROGRAMS="binarytrees gcbench latency"
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

# NAME FLAGS LIBS [PROGRAMS]: the C programs (GC_PROGRAMS); output in
# build.NAME.log
gc_build_c() {
	log=$GC_OUT/build.$1.log
	: >"$log"
	for b in ${4:-$GC_PROGRAMS}; do
		# shellcheck disable=SC2086 # FLAGS and LIBS are lists of flags
		$CC $GC_CFLAGS $2 -o "$GC_OUT/$b.$1" "$ROOT/bench/$b.c" $3 \
			>>"$log" 2>&1 || return 1
	done
}

gc_build_error() { # NAME: the first error line of its build log
	grep -m 1 -e 'undefined reference' -e 'error' "$GC_OUT/build.$1.log" |
		sed 's/^.*: \(undefined reference\)/\1/' | cut -c 1-120
}

# tricolor twice: tricolor-stw (stop-the-world, the default mode) and
# tricolor-conc (-DBENCH_CONCURRENT: tri_set_mode(TRI_MODE_CONCURRENT)).
# Both binaries store through TRI_STORE.
gc_build_tricolor() {
	for m in stw conc; do
		f="-DALLOC_TRICOLOR -I$TRI_INC"
		[ "$m" = stw ] || f="$f -DBENCH_CONCURRENT"
		if gc_build_c "tricolor-$m" "$f" "$TRI_LIB $TRI_LDLIBS"; then
			GC_ALLOCATORS="$GC_ALLOCATORS tricolor-$m"
			continue
		fi
		gc_note "skipped tricolor-$m: the GC benchmarks do not build" \
			"against $TRI_LIB ($(gc_build_error "tricolor-$m"));" \
			"full log: $GC_OUT/build.tricolor-$m.log"
	done
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
	if gc_build_c glibc -DALLOC_GLIBC "" "$GC_BENCHES"; then
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

# tricolor must collect before it runs the big sizes: without a working
# collector its full runs would allocate gigabytes. One binary-trees 16
# run (about 230 MB allocated) per mode must report at least one cycle.
gc_gate_tricolor() {
	for a in $GC_ALLOCATORS; do
		case $a in tricolor-*) ;; *) continue ;; esac
		log=$GC_OUT/log/gate.$a.txt
		st=0
		"$GC_OUT/binarytrees.$a" 16 >"$log" 2>&1 || st=$?
		gcs=$(result_field gcs <"$log")
		if [ "$st" = 0 ] && [ -n "$gcs" ] && [ "$gcs" != 0 ]; then
			continue
		fi
		if [ "$st" != 0 ]; then
			gc_note "skipped $a: binarytrees 16 failed (exit $st)," \
				"see $log"
		else
			gc_note "skipped $a: binarytrees 16 ran no GC cycle, so" \
				"the larger runs would exhaust memory; see $log"
		fi
		GC_ALLOCATORS=$(echo " $GC_ALLOCATORS " | sed "s/ $a / /")
	done
}

gc_build_all() {
	rm -rf "$GC_OUT" "$OUT/gc_bench.csv" "$OUT/gc_bench.md" \
		"$OUT/latency.csv" "$OUT/latency.md"
	mkdir -p "$GC_OUT/raw" "$GC_OUT/log"
	gc_build_tricolor
	gc_build_bdwgc
	if [ "$GC_BENCH" = 1 ]; then
		gc_build_glibc
		gc_build_go
	fi
	gc_gate_tricolor
	echo "benchmark,size,allocator,run,wall_ms,maxrss_kb,gcs," \
		"max_pause_us,p99_pause_us,total_pause_us,pauses_lost,cpu_ms" |
		tr -d ' ' >"$OUT/gc_bench.csv"
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
	# raw columns: wall_ms maxrss_kb gcs max_pause_us p99_pause_us
	# total_pause_us cpu_ms pauses_lost
	gvals="$gwall"
	for f in maxrss_kb gcs max_pause_us p99_pause_us total_pause_us \
		cpu_ms pauses_lost; do
		v=$(result_field "$f" <"$glog")
		gvals="$gvals ${v:-0}"
	done
	echo "$gvals" >>"$GC_OUT/raw/$gid.$2"
	# shellcheck disable=SC2086 # gvals is a list of numbers
	set -- "$@" $gvals
	echo "$gb,$(echo "$gargs" | tr ' ' /),$2,$3,$4,$5,$6,$7,$8,$9,${11},${10}" \
		>>"$OUT/gc_bench.csv"
	printf ' %s/%s' "$gid" "$2" >&2
}

# GC_RUNS rounds; each runs every case once per allocator, the allocators
# in an order rotating from round to round.
gc_rounds() {
	gr=0
	while [ "$gr" -lt "$GC_RUNS" ]; do
		printf 'round %d/%d:' $((gr + 1)) "$GC_RUNS" >&2
		for c in $(gc_cases); do
			# shellcheck disable=SC2086 # GC_ALLOCATORS: a list of words
			for a in $(rotated "$gr" $GC_ALLOCATORS); do
				gc_run_one "$c" "$a" $((gr + 1))
			done
		done
		echo >&2
		gr=$((gr + 1))
	done
}

# Rows "allocator wall_ms wall_ratio rss_mib rss_ratio cycles max_pause_ms
# p99_pause_ms total_pause_ms cpu_ms" of CASE: medians, wall time and RSS
# over bdwgc's. "-" where there is nothing.
gc_rows() {
	raw=$GC_OUT/raw/$(gc_case_id "$1")
	bw=-
	br=-
	if [ -s "$raw.bdwgc" ]; then
		bw=$(median "$raw.bdwgc" 1)
		br=$(median "$raw.bdwgc" 2)
	fi
	for a in $GC_ALLOCATORS; do
		if [ ! -s "$raw.$a" ]; then
			echo "$a failed - - - - - - - -"
			continue
		fi
		awk -v a="$a" -v bw="$bw" -v br="$br" \
			-v w="$(median "$raw.$a" 1)" -v r="$(median "$raw.$a" 2)" \
			-v c="$(median "$raw.$a" 3)" -v m="$(median "$raw.$a" 4)" \
			-v p="$(median "$raw.$a" 5)" -v t="$(median "$raw.$a" 6)" \
			-v u="$(median "$raw.$a" 7)" 'BEGIN {
			wr = bw == "-" ? "-" : sprintf("%.2fx", w / bw)
			rr = br == "-" ? "-" : sprintf("%.2fx", r / br)
			if (a == "glibc")
				gc = "- - - -"
			else
				gc = sprintf("%g %.2f %.2f %.1f", c, m / 1000,
					p / 1000, t / 1000)
			printf "%s %.0f %s %.1f %s %s %.0f\n", a, w, wr, r / 1024,
				rr, gc, u
		}'
	done
}

# One note per allocator and case whose runs lost pauses (more than 256
# cycles between two reads of the ring).
gc_lost_notes() {
	for c in $(gc_cases); do
		raw=$GC_OUT/raw/$(gc_case_id "$c")
		for a in $GC_ALLOCATORS; do
			[ -s "$raw.$a" ] || continue
			lost=$(awk '{ n += $8 } END { print n + 0 }' "$raw.$a")
			[ "$lost" = 0 ] ||
				gc_note "$a, $(gc_case_title "$c"): $lost cycles'" \
					"pauses were lost over all runs (ring" \
					"wrapped between reads); max and p99" \
					"cover the recorded ones"
		done
	done
}

gc_print_table() { # stdin: rows; stdout: aligned text table
	awk 'BEGIN {
		f = "%-14s %8s %7s %8s %7s %6s %9s %9s %11s %8s\n"
		printf f, "allocator", "wall ms", "/bdwgc", "RSS MiB", "/bdwgc", \
			"cycles", "max ms", "p99 ms", "total ms", "CPU ms"
		printf f, "---------", "-------", "------", "-------", "------", \
			"------", "------", "------", "--------", "------"
	}
	{ printf f, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
}

gc_print_markdown() { # stdin: rows; stdout: markdown table
	echo "| allocator | wall ms | / bdwgc | peak RSS MiB | / bdwgc |" \
		"cycles | max pause ms | p99 pause ms | total pause ms | CPU ms |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }'
}

GC_LEGEND="Medians of the runs: wall ms (the timed part, CLOCK_MONOTONIC), RSS MiB
(peak, ru_maxrss), cycles (collections), max / p99 / total pause ms (a
run's longest cycle pause, its 99th percentile (nearest rank) and their
sum; a cycle's pause is its stop-the-world time, both stops of a
concurrent cycle summed) and CPU ms (user + system time of the whole
process, all threads). /bdwgc = wall time, then peak RSS, over bdwgc's
(below 1.00x: less than bdwgc). glibc has no collector: it frees every
tree. tricolor-stw / tricolor-conc: tricolor in stop-the-world /
concurrent mode (the same program, TRI_STORE on every pointer store).
Pauses: every cycle is recorded (tricolor and go: the 256-entry pause
ring read every 5 ms; bdwgc: its stop/start-world events)."

gc_header() { # lines describing the machine and the run
	machine_lines
	echo "bench:    binary-trees and GCBench, one mutator thread, sizes" \
		"$BENCH_SIZES, median of $GC_RUNS runs (round-robin)"
	echo "go:       $(go version 2>/dev/null || echo not installed)"
	echo "bdwgc:    $(pkg-config --modversion bdw-gc 2>/dev/null ||
		echo unknown)"
	echo "settings: GOGC=${GOGC:-unset} GODEBUG=${GODEBUG:-unset}" \
		"(read by tricolor and go; gcstoptheworld=1 turns" \
		"tricolor-conc into stop-the-world)"
	gc_load_line
}

gc_load_line() {
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
	header=$(gc_header)
	echo "$header"
	# shellcheck disable=SC2086 # GC_ALLOCATORS is a list of words
	echo "allocators:" $GC_ALLOCATORS
	# shellcheck disable=SC2086 # GC_ALLOCATORS is a list of words
	if [ "$(count_words $GC_ALLOCATORS)" = 0 ]; then
		echo "GC benchmarks: nothing to run"
		return 0
	fi
	echo
	gc_rounds
	gc_lost_notes >/dev/null
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

# ---- part 3: latency ----

LAT_ALLOCATORS="" # tricolor modes and bdwgc whose latency binary built
LAT_NOTES=""

lat_select() { # the collectors of GC_ALLOCATORS with a latency binary
	for a in $GC_ALLOCATORS; do
		case $a in tricolor-* | bdwgc) ;; *) continue ;; esac
		[ -x "$GC_OUT/latency.$a" ] && LAT_ALLOCATORS="$LAT_ALLOCATORS $a"
	done
	echo "allocator,run,wall_ms,maxrss_kb,gcs,max_pause_us,p99_pause_us," \
		"total_pause_us,pauses_lost,cpu_ms,ops_per_s,max_alloc_us," \
		"allocs_over_1ms,build_ms" | tr -d ' ' >"$OUT/latency.csv"
}

# One run: ALLOCATOR ROUND. raw/latency.ALLOCATOR columns: ops_per_s
# maxrss_kb gcs max_pause_us p99_pause_us total_pause_us max_alloc_us
# allocs_over_1ms cpu_ms pauses_lost build_ms wall_ms
lat_run_one() {
	llog=$GC_OUT/log/latency.$1.$2.txt
	lst=0
	"$GC_OUT/latency.$1" "$LAT_LIVE_MB" "$LAT_SECONDS" "$LAT_THREADS" \
		>"$llog" 2>&1 || lst=$?
	lops=$(result_field ops_per_s <"$llog")
	if [ "$lst" != 0 ] || [ -z "$lops" ]; then
		LAT_NOTES="${LAT_NOTES}FAILED: $1 latency, run $2 (exit $lst), see $llog
"
		printf ' %s:FAILED' "$1" >&2
		return 0
	fi
	lvals=$lops
	for f in maxrss_kb gcs max_pause_us p99_pause_us total_pause_us \
		max_alloc_us allocs_over_1ms cpu_ms pauses_lost build_ms \
		wall_ms; do
		v=$(result_field "$f" <"$llog")
		lvals="$lvals ${v:-0}"
	done
	echo "$lvals" >>"$GC_OUT/raw/latency.$1"
	echo "$lvals" | awk -v a="$1" -v r="$2" '{
		printf "%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", a, r,
			$12, $2, $3, $4, $5, $6, $10, $9, $1, $7, $8, $11
	}' >>"$OUT/latency.csv"
	printf ' %s' "$1" >&2
}

lat_rounds() {
	lr=0
	while [ "$lr" -lt "$LAT_RUNS" ]; do
		printf 'round %d/%d:' $((lr + 1)) "$LAT_RUNS" >&2
		# shellcheck disable=SC2086 # LAT_ALLOCATORS: a list of words
		for a in $(rotated "$lr" $LAT_ALLOCATORS); do
			lat_run_one "$a" $((lr + 1))
		done
		echo >&2
		lr=$((lr + 1))
	done
}

# Rows "allocator ops_per_s ratio rss_mib cycles max_pause_ms p99_pause_ms
# total_pause_ms worst_alloc_ms allocs_over_1ms cpu_ms": medians; ratio =
# throughput over bdwgc's (above 1.00x: more operations than bdwgc).
lat_rows() {
	raw=$GC_OUT/raw/latency
	base=-
	[ ! -s "$raw.bdwgc" ] || base=$(median "$raw.bdwgc" 1)
	for a in $LAT_ALLOCATORS; do
		if [ ! -s "$raw.$a" ]; then
			echo "$a failed - - - - - - - - -"
			continue
		fi
		awk -v a="$a" -v b="$base" \
			-v o="$(median "$raw.$a" 1)" -v r="$(median "$raw.$a" 2)" \
			-v c="$(median "$raw.$a" 3)" -v m="$(median "$raw.$a" 4)" \
			-v p="$(median "$raw.$a" 5)" -v t="$(median "$raw.$a" 6)" \
			-v w="$(median "$raw.$a" 7)" -v s="$(median "$raw.$a" 8)" \
			-v u="$(median "$raw.$a" 9)" 'BEGIN {
			ratio = b == "-" ? "-" : sprintf("%.2fx", o / b)
			printf "%s %.0f %s %.1f %g %.2f %.2f %.1f %.2f %g %.0f\n",
				a, o, ratio, r / 1024, c, m / 1000, p / 1000,
				t / 1000, w / 1000, s, u
		}'
	done
}

lat_print_table() { # stdin: rows; stdout: aligned text table
	awk 'BEGIN {
		f = "%-14s %9s %7s %8s %6s %9s %9s %10s %11s %9s %8s\n"
		printf f, "collector", "ops/s", "/bdwgc", "RSS MiB", "cycles", \
			"max ms", "p99 ms", "total ms", "worst alloc", \
			"allocs>1ms", "CPU ms"
		printf f, "---------", "-----", "------", "-------", "------", \
			"------", "------", "--------", "-----------", \
			"----------", "------"
	}
	{ printf f, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}

lat_print_markdown() { # stdin: rows; stdout: markdown table
	echo "| collector | ops/s | / bdwgc | peak RSS MiB | cycles |" \
		"max pause ms | p99 pause ms | total pause ms |" \
		"worst alloc ms | allocs > 1 ms | CPU ms |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }'
}

LAT_LEGEND="Medians of the runs: ops/s (operations of all mutator threads per second
of the timed part), / bdwgc (ops/s over bdwgc's: above 1.00x is more
throughput), RSS MiB (peak, ru_maxrss, the build included), cycles during
the timed part, max / p99 / total pause ms (per cycle: its stop-the-world
time, both stops of a concurrent cycle summed), worst alloc ms (the
slowest single allocation of any thread: pauses, assists and sweeping as
the mutator sees them), allocs>1ms (allocations slower than 1 ms), CPU ms
(user + system, all threads, the build included)."

lat_header() {
	machine_lines
	echo "bench:    latency, live heap $LAT_LIVE_MB MiB (trees of 63" \
		"32-byte nodes), $LAT_THREADS threads for $LAT_SECONDS s," \
		"median of $LAT_RUNS runs (round-robin)"
	echo "settings: GOGC=${GOGC:-unset} GODEBUG=${GODEBUG:-unset}"
	gc_load_line
}

lat_main() {
	header=$(lat_header)
	echo "$header"
	lat_select
	# shellcheck disable=SC2086 # LAT_ALLOCATORS is a list of words
	echo "collectors:" $LAT_ALLOCATORS
	# shellcheck disable=SC2086 # LAT_ALLOCATORS is a list of words
	if [ "$(count_words $LAT_ALLOCATORS)" = 0 ]; then
		echo "latency: nothing to run"
		return 0
	fi
	echo
	lat_rounds
	echo
	rows=$(lat_rows)
	echo "$rows" | lat_print_table
	for a in $LAT_ALLOCATORS; do
		[ -s "$GC_OUT/raw/latency.$a" ] || continue
		lost=$(awk '{ n += $10 } END { print n + 0 }' \
			"$GC_OUT/raw/latency.$a")
		[ "$lost" = 0 ] ||
			LAT_NOTES="$LAT_NOTES$a: $lost cycles' pauses were lost over all runs (ring wrapped between reads); max and p99 cover the recorded ones
"
	done
	echo
	echo "$LAT_LEGEND"
	[ -z "$LAT_NOTES" ] || printf '\n%s' "$LAT_NOTES"
	{
		echo "## Latency"
		echo
		echo '```'
		echo "$header"
		echo '```'
		echo
		echo "$rows" | lat_print_markdown
		echo
		echo "$LAT_LEGEND"
		[ -z "$LAT_NOTES" ] || printf '\n%s' "$LAT_NOTES" |
			sed 's/^./- &/'
	} >"$OUT/latency.md"
	echo "markdown: $OUT/latency.md, raw runs: $OUT/latency.csv," \
		"program output: $GC_OUT/log/latency.*"
}

# ---- part 4: phase change, RSS over time ----

PH_OUT=""        # $OUT/phase, set by main
PH_ALLOCATORS="" # the ones that built, in run order
PH_NOTES=""      # one line per skipped allocator or failed run
PH_DOC_BEGIN="<!-- phase_rss: begin (written by PHASE_DOCS=1 make bench) -->"
PH_DOC_END="<!-- phase_rss: end -->"

ph_note() { # LINE: print it now and keep it for the markdown
	echo "$*"
	PH_NOTES="$PH_NOTES$*
"
}

ph_probe() { # C-SOURCE FLAGS: does a program using the peer build and link?
	# shellcheck disable=SC2086 # FLAGS is a list of flags
	printf '%s\n' "$1" | $CC -x c - -o "$PH_OUT/.probe" $2 >/dev/null 2>&1
}

# NAME FLAGS LIBS: build $PH_OUT/phase.NAME, or note why it did not build.
ph_build() {
	log=$PH_OUT/build.$1.log
	# shellcheck disable=SC2086 # FLAGS and LIBS are lists of flags
	if $CC $GC_CFLAGS $2 -o "$PH_OUT/phase.$1" "$ROOT/bench/phase.c" $3 \
		>"$log" 2>&1; then
		PH_ALLOCATORS="$PH_ALLOCATORS $1"
		return 0
	fi
	err=$(grep -m 1 -e 'undefined reference' -e 'error' "$log" |
		sed 's/^.*: \(undefined reference\)/\1/' | cut -c 1-120)
	ph_note "skipped $1: bench/phase.c does not build ($err); see $log"
}

ph_build_all() {
	rm -rf "$PH_OUT" "$OUT/phase_rss.csv" "$OUT/phase_rss.svg" \
		"$OUT/phase_rss.md"
	mkdir -p "$PH_OUT"
	ph_build tricolor-stw "-DALLOC_TRICOLOR -I$TRI_INC" \
		"$TRI_LIB $TRI_LDLIBS"
	if ph_probe '#include <gc/gc.h>
int main(void) { GC_INIT(); return GC_MALLOC(8) == 0; }' -lgc; then
		ph_build bdwgc -DALLOC_BDWGC -lgc
	else
		ph_note "skipped bdwgc: not installed (apt-get install libgc-dev)"
	fi
	ph_build glibc -DALLOC_GLIBC ""
	if ph_probe '#include <jemalloc/jemalloc.h>
int main(void) { return mallctl("version", 0, 0, 0, 0); }' -ljemalloc; then
		ph_build jemalloc -DALLOC_JEMALLOC -ljemalloc
	else
		ph_note "skipped jemalloc: not installed" \
			"(apt-get install libjemalloc-dev)"
	fi
	rm -f "$PH_OUT/.probe"
	echo "allocator,ms,phase,rss_mib" >"$OUT/phase_rss.csv"
	: >"$PH_OUT/rows"
}

# One run of NAME, alone on the machine's memory (RSS is the measure, so
# never two at once): its samples go to the merged CSV, its RESULT fields
# to $PH_OUT/rows as "name peak_mib grow_mib shrink1s_mib idle_end_mib
# cycles wall_s". A failed run is noted and leaves no row.
ph_run_one() {
	plog=$PH_OUT/log.$1.txt
	pst=0
	"$PH_OUT/phase.$1" "$PHASE_LIVE_MB" "$PHASE_IDLE_S" "$PHASE_SHRINK_S" \
		"$PH_OUT/$1.csv" >"$plog" 2>&1 || pst=$?
	pwall=$(result_field wall_ms <"$plog")
	if [ "$pst" != 0 ] || [ -z "$pwall" ] || [ ! -s "$PH_OUT/$1.csv" ]; then
		PH_NOTES="${PH_NOTES}FAILED: $1 phase (exit $pst), see $plog
"
		printf ' %s:FAILED' "$1" >&2
		return 0
	fi
	cat "$PH_OUT/$1.csv" >>"$OUT/phase_rss.csv"
	awk -v a="$1" -v w="$pwall" -v r="$(result_field maxrss_kb <"$plog")" \
		-v g="$(result_field grow_rss_mib <"$plog")" \
		-v s="$(result_field shrink1s_rss_mib <"$plog")" \
		-v e="$(result_field idle_end_rss_mib <"$plog")" \
		-v p="$(result_field sampled_peak_mib <"$plog")" \
		-v c="$(result_field gcs <"$plog")" 'BEGIN {
		r /= 1024
		if (p + 0 > r) r = p # statm can see a little more than ru_maxrss
		printf "%s %.1f %.1f %.1f %.1f %s %.1f\n", a, r, g, s, e,
			a ~ /^(glibc|jemalloc)$/ ? "-" : c, w / 1000
	}' >>"$PH_OUT/rows"
	printf ' %s' "$1" >&2
}

ph_print_table() { # stdin: rows; stdout: aligned text table
	awk 'BEGIN {
		f = "%-14s %9s %9s %11s %9s %7s %7s\n"
		printf f, "allocator", "peak MiB", "grow end", "shrink+1s", \
			"idle end", "cycles", "wall s"
		printf f, "---------", "--------", "--------", "---------", \
			"--------", "------", "------"
	}
	{ printf f, $1, $2, $3, $4, $5, $6, $7 }'
}

ph_print_markdown() { # stdin: rows; stdout: markdown table
	echo "| allocator | peak RSS MiB | end of grow | 1 s after shrink |" \
		"end of idle | cycles | wall s |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6, $7 }'
}

PH_LEGEND="RSS in MiB (resident set, /proc/self/statm): peak (the larger of
ru_maxrss and the largest sample), at the end of grow (just before the
drop), 1 s after the end of shrink (1 s into idle) and at the end of
idle; cycles: collections from the start of grow (- for malloc); wall s:
the whole run. One run per allocator, one after the other. tricolor-stw:
tricolor in its default stop-the-world mode."

ph_header() {
	machine_lines
	echo "bench:    phase, grow to $PHASE_LIVE_MB MiB live, drop 95 %," \
		"shrink $PHASE_SHRINK_S s (2 x live of garbage, then churn)," \
		"idle $PHASE_IDLE_S s (churn 4 MiB/s)"
	# the library's source: the last commit outside bench/ and docs/
	echo "tricolor: $(git -C "$ROOT" log -1 --format='%h %cs %s' -- . \
		':!bench' ':!docs' 2>/dev/null | cut -c 1-68 | sed 's/ *$//')"
	echo "settings: GOGC=${GOGC:-unset} GODEBUG=${GODEBUG:-unset}" \
		"MALLOC_CONF=${MALLOC_CONF:-unset}" \
		"GLIBC_TUNABLES=${GLIBC_TUNABLES:-unset}"
	gc_load_line
}

# The markdown block: header, figure, table, legend, notes. IMG: the SVG's
# path as the markdown's reader finds it.
ph_markdown() { # HEADER ROWS IMG
	echo '```'
	echo "$1"
	echo '```'
	echo
	echo "![RSS over time, one line per allocator]($3)"
	echo
	echo "$2" | ph_print_markdown
	echo
	echo "$PH_LEGEND"
	[ -z "$PH_NOTES" ] || printf '\n%s' "$PH_NOTES" | sed 's/^./- &/'
}

# PHASE_DOCS=1: copy the chart and the CSV into docs/ and replace the block
# between the PH_DOC_BEGIN and PH_DOC_END lines of docs/performance.md.
ph_update_docs() { # HEADER ROWS
	doc=$ROOT/docs/performance.md
	if ! grep -q -F -x "$PH_DOC_BEGIN" "$doc" ||
		! grep -q -F -x "$PH_DOC_END" "$doc"; then
		echo "PHASE_DOCS: no phase_rss markers in $doc; docs left alone"
		return 0
	fi
	mkdir -p "$ROOT/docs/img" "$ROOT/docs/data"
	cp "$OUT/phase_rss.svg" "$ROOT/docs/img/phase_rss.svg"
	cp "$OUT/phase_rss.csv" "$ROOT/docs/data/phase_rss.csv"
	ph_markdown "$1" "$2" img/phase_rss.svg >"$PH_OUT/block.md"
	awk -v b="$PH_DOC_BEGIN" -v e="$PH_DOC_END" -v f="$PH_OUT/block.md" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip' "$doc" >"$PH_OUT/performance.md"
	cp "$PH_OUT/performance.md" "$doc"
	echo "PHASE_DOCS: updated docs/img/phase_rss.svg," \
		"docs/data/phase_rss.csv and the table in docs/performance.md"
}

ph_main() {
	header=$(ph_header)
	echo "$header"
	ph_build_all
	# shellcheck disable=SC2086 # PH_ALLOCATORS is a list of words
	echo "allocators:" $PH_ALLOCATORS
	# shellcheck disable=SC2086 # PH_ALLOCATORS is a list of words
	if [ "$(count_words $PH_ALLOCATORS)" = 0 ]; then
		echo "phase: nothing to run"
		return 0
	fi
	echo
	printf 'runs:' >&2
	for a in $PH_ALLOCATORS; do
		ph_run_one "$a"
	done
	echo >&2
	echo
	rows=$(cat "$PH_OUT/rows")
	echo "$rows" | ph_print_table
	echo
	echo "$PH_LEGEND"
	[ -z "$PH_NOTES" ] || printf '\n%s' "$PH_NOTES"
	if [ -s "$PH_OUT/rows" ]; then
		awk -f "$ROOT/bench/plot_rss.awk" \
			-v title="RSS over a phase change: grow, drop 95 %, idle" \
			-v subtitle="$PHASE_LIVE_MB MiB live, then 5 %;\
 shrink $PHASE_SHRINK_S s, idle $PHASE_IDLE_S s;\
 $(date '+%Y-%m-%d'), $(nproc) CPUs, bench/phase.c" \
			"$OUT/phase_rss.csv" >"$OUT/phase_rss.svg"
	fi
	{
		echo "## Memory returned to the OS (phase change)"
		echo
		ph_markdown "$header" "$rows" phase_rss.svg
	} >"$OUT/phase_rss.md"
	echo "markdown: $OUT/phase_rss.md, chart: $OUT/phase_rss.svg," \
		"samples: $OUT/phase_rss.csv, program output: $PH_OUT/"
	if [ "$PHASE_DOCS" = 1 ] && [ -s "$OUT/phase_rss.svg" ]; then
		ph_update_docs "$header" "$rows"
	fi
}

main() {
	check_count RUNS "$RUNS"
	check_count OPS "$OPS"
	check_count GC_RUNS "$GC_RUNS"
	check_count LAT_LIVE_MB "$LAT_LIVE_MB"
	check_count LAT_SECONDS "$LAT_SECONDS"
	check_count LAT_THREADS "$LAT_THREADS"
	check_count LAT_RUNS "$LAT_RUNS"
	check_count PHASE_LIVE_MB "$PHASE_LIVE_MB"
	check_count PHASE_IDLE_S "$PHASE_IDLE_S"
	check_count PHASE_SHRINK_S "$PHASE_SHRINK_S"
	check_switch ALLOC_RING "$ALLOC_RING"
	check_switch GC_BENCH "$GC_BENCH"
	check_switch LAT_BENCH "$LAT_BENCH"
	check_switch PHASE_BENCH "$PHASE_BENCH"
	check_switch PHASE_DOCS "$PHASE_DOCS"
	check_switch MALLOC_BENCH "$MALLOC_BENCH"
	check_switch BLOCKING_BENCH "$BLOCKING_BENCH"
	check_switch THROUGHPUT_BENCH "$THROUGHPUT_BENCH"
	case $BENCH_SIZES in
	quick | full) ;;
	*) die "BENCH_SIZES must be quick or full, got '$BENCH_SIZES'" ;;
	esac
	[ -f "$TRI_LIB" ] || die "$TRI_LIB not found: build tricolor first (make)"
	started=$(date +%s)
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd) # absolute: the Go build runs in bench/go
	GC_OUT=$OUT/gc
	PH_OUT=$OUT/phase
	if [ "$ALLOC_RING" = 1 ]; then
		ring_main
	else
		echo "alloc_ring: skipped (ALLOC_RING=0)"
	fi
	if [ "$GC_BENCH" = 1 ] || [ "$LAT_BENCH" = 1 ]; then
		echo
		gc_build_all
	fi
	if [ "$GC_BENCH" = 1 ]; then
		gc_main
	else
		echo "GC benchmarks: skipped (GC_BENCH=0)"
	fi
	if [ "$LAT_BENCH" = 1 ]; then
		echo
		lat_main
	else
		echo "latency: skipped (LAT_BENCH=0)"
	fi
	if [ "$PHASE_BENCH" = 1 ]; then
		echo
		ph_main
	else
		echo "phase: skipped (PHASE_BENCH=0)"
	fi
	if [ "$MALLOC_BENCH" = 1 ]; then
		echo
		CC="$CC" OUT="$OUT" sh "$ROOT/bench/malloc.sh"
	else
		echo "malloc benchmark: skipped (MALLOC_BENCH=0)"
	fi
	if [ "$BLOCKING_BENCH" = 1 ]; then
		echo
		blocking_main
	else
		echo "blocking: skipped (BLOCKING_BENCH=0)"
	fi
	if [ "$THROUGHPUT_BENCH" = 1 ]; then
		echo
		echo "== throughput: full collections and the scanned" \
			"allocation loop, beside bdwgc and Go"
		CC="$CC" TRI_LIB="$TRI_LIB" TRI_INC="$TRI_INC" \
			TRI_LDLIBS="$TRI_LDLIBS" OUT="$OUT" \
			sh "$ROOT/bench/throughput.sh"
	else
		echo "throughput: skipped (THROUGHPUT_BENCH=0)"
	fi
	echo "took $(($(date +%s) - started)) s"
}

# ---- part 6: blocking calls ----
blocking_main() {
	echo "== blocking: a blocking section's cost, pauses with blocked threads"
	if ! $CC $CFLAGS -I"$TRI_INC" "$ROOT/bench/blocking.c" "$TRI_LIB" \
		$TRI_LDLIBS -ldl -o "$OUT/blocking"; then
		echo "blocking: did not build, skipped"
		return 0
	fi
	machine_lines >"$OUT/blocking.md"
	echo >>"$OUT/blocking.md"
	"$OUT/blocking" "${RUNS}" | tee -a "$OUT/blocking.md"
	echo "markdown: $OUT/blocking.md"
}

main

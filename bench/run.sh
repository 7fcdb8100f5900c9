#!/bin/sh
# run.sh -- owns `make bench`: builds bench/alloc_ring.c once per allocator
# (tricolor, glibc, jemalloc, mimalloc, tcmalloc), runs every allocator RUNS
# times at 1 and 2 threads, interleaved round-robin so machine noise hits all
# alike, and prints the medians as one table (also written as markdown to
# $OUT/alloc_ring.md). Peers whose library is missing are skipped, never
# failed. Benchmarks are not tests: nothing here passes or fails on speed.
# POSIX sh (make runs it with sh, which is dash on Debian).
#
# Environment (all optional):
#   CC          compiler                        (cc)
#   TRI_LIB     tricolor static library         (build/libtricolor.a)
#   TRI_INC     tricolor include directory      (include)
#   TRI_LDLIBS  libraries tricolor needs        (-latomic_ops -lpthread)
#   OUT         where binaries and results go   (build/bench)
#   RUNS        runs per allocator and threads  (5)
#   OPS         operations per thread per run   (20000000)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-cc}
TRI_LIB=${TRI_LIB:-$ROOT/build/libtricolor.a}
TRI_INC=${TRI_INC:-$ROOT/include}
TRI_LDLIBS=${TRI_LDLIBS:--latomic_ops -lpthread}
OUT=${OUT:-$ROOT/build/bench}
RUNS=${RUNS:-5}
OPS=${OPS:-20000000}

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

machine_header() { # lines describing the machine and the run
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
	echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
	echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
	echo "compiler: $($CC --version | head -n 1)"
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

main() {
	check_count RUNS "$RUNS"
	check_count OPS "$OPS"
	[ -f "$TRI_LIB" ] || die "$TRI_LIB not found: build tricolor first (make)"
	started=$(date +%s)
	mkdir -p "$OUT"
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
	echo "took $(($(date +%s) - started)) s; markdown: $OUT/alloc_ring.md," \
		"raw runs: $OUT/alloc_ring.csv"
}

main

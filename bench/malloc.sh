#!/bin/sh
# malloc.sh -- owns the malloc-replacement benchmark (part 4 of
# `make bench`, run by bench/run.sh; alone: `BENCH=malloc make bench` or
# `sh bench/malloc.sh`).
#
# Builds bench/malloc_bench.c once against the C library and runs its
# workloads (server: cross-thread frees; churn: small objects; large:
# 64 KiB .. 4 MiB blocks) with each allocator preloaded: glibc (none),
# libtricolor-malloc.so in off and gc modes, jemalloc, mimalloc, tcmalloc
# (Debian's shared libraries) and bdwgc through bench/bdwgc_shim.c (built
# here: GC_malloc / GC_free). Runs are interleaved round-robin, MB_RUNS
# per allocator and workload; prints one table of medians (wall time,
# peak RSS, and both as ratios to glibc) and writes it as markdown to
# $OUT/malloc.md, every run to $OUT/malloc.csv. A run whose checksum
# differs from glibc's is reported and left out. Peers that are missing are
# skipped. Not a test: nothing passes or fails on speed.
#
# Environment: CC, OUT (build/bench), PRELOAD (build/libtricolor-malloc.so),
#   MB_RUNS (5), MB_THREADS (2: pairs for server, workers otherwise),
#   MB_SCALE (1), MB_WORKLOADS ("server churn large"), MB_TIMEOUT (120 s).
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # ROOT, CC, OUT; rotated, median
PRELOAD=${PRELOAD:-$ROOT/build/libtricolor-malloc.so}
MB_RUNS=${MB_RUNS:-5}
MB_THREADS=${MB_THREADS:-2}
MB_SCALE=${MB_SCALE:-1}
MB_WORKLOADS=${MB_WORKLOADS:-server churn large}
MB_TIMEOUT=${MB_TIMEOUT:-120}
LIBDIR=/usr/lib/x86_64-linux-gnu
D=$OUT/malloc

mkdir -p "$D/raw"
OUT=$(cd "$OUT" && pwd)
rm -f "$D"/raw/* "$OUT/malloc.csv"
PRELOAD=$(cd "$(dirname "$PRELOAD")" && pwd)/$(basename "$PRELOAD")
[ -f "$PRELOAD" ] || { echo "malloc.sh: $PRELOAD not built (make)" >&2; exit 1; }

$CC -std=c11 -O2 -g -Wall -Wextra -Werror -pthread \
	-o "$D/malloc_bench" "$ROOT/bench/malloc_bench.c"

ALLOCS="glibc tricolor-off tricolor-gc"
SKIPPED=""
peer_lib() { # NAME: the library to preload for a peer
	case $1 in
	jemalloc) echo "$LIBDIR/libjemalloc.so.2" ;;
	mimalloc) echo "$LIBDIR/libmimalloc.so.2" ;;
	tcmalloc) echo "$LIBDIR/libtcmalloc_minimal.so.4" ;;
	bdwgc) echo "$D/bdwgc_shim.so" ;;
	esac
}
peer_pkg() {
	case $1 in
	jemalloc) echo libjemalloc2 ;;
	mimalloc) echo libmimalloc2.0 ;;
	tcmalloc) echo libtcmalloc-minimal4 ;;
	bdwgc) echo libgc-dev ;;
	esac
}
$CC -O2 -Wall -Wextra -fPIC -shared -o "$D/bdwgc_shim.so" \
	"$ROOT/bench/bdwgc_shim.c" -lgc >/dev/null 2>&1 || true
for p in jemalloc mimalloc tcmalloc bdwgc; do
	if [ -f "$(peer_lib $p)" ]; then ALLOCS="$ALLOCS $p"
	else SKIPPED="${SKIPPED}skipped $p: not installed (apt-get install $(peer_pkg $p))
"; fi
done

run_one() { # ALLOC WORKLOAD: one run, appends "ms rss check" to its file
	a=$1 w=$2
	case $a in
	glibc) set -- ;;
	tricolor-*) set -- LD_PRELOAD="$PRELOAD" TRICOLOR_MALLOC="${a#tricolor-}" ;;
	*) set -- LD_PRELOAD="$(peer_lib "$a")" ;;
	esac
	line=$(timeout -s KILL "$MB_TIMEOUT" env "$@" "$D/malloc_bench" "$w" \
		"$MB_THREADS" "$MB_SCALE" 2>"$D/raw/$a.$w.err") || line="failed"
	case $line in
	ms=*' 'peak_rss_kb=*' 'check=*) ;;
	*) echo "  $a $w: run failed ($(head -c 200 "$D/raw/$a.$w.err"))" >&2
	   return 0 ;;
	esac
	ms=${line#ms=}; ms=${ms%% *}
	rss=${line#*peak_rss_kb=}; rss=${rss%% *}
	check=${line##*check=}
	echo "$ms $rss $check" >>"$D/raw/$a.$w"
	echo "$a,$w,$ms,$rss,$check" >>"$OUT/malloc.csv"
	printf ' %s/%s' "$a" "$w" >&2
}

echo "malloc benchmark: $(nproc) CPUs, $(uname -sr)," \
	"threads $MB_THREADS, scale $MB_SCALE, median of $MB_RUNS runs (round-robin)"
printf '%s' "$SKIPPED"
echo "allocators: $ALLOCS"
r=0
while [ $r -lt "$MB_RUNS" ]; do
	printf 'round %d/%d:' $((r + 1)) "$MB_RUNS" >&2
	for w in $MB_WORKLOADS; do
		# shellcheck disable=SC2086 # ALLOCS: a list of words
		for a in $(rotated "$r" $ALLOCS); do
			run_one "$a" "$w"
		done
	done
	echo >&2
	r=$((r + 1))
done

rows=""
for w in $MB_WORKLOADS; do
	[ -f "$D/raw/glibc.$w" ] || continue
	gms=$(median "$D/raw/glibc.$w" 1)
	grss=$(median "$D/raw/glibc.$w" 2)
	gcheck=$(head -n 1 "$D/raw/glibc.$w" | cut -d' ' -f3)
	for a in $ALLOCS; do
		f=$D/raw/$a.$w
		[ -f "$f" ] || { rows="$rows$w $a - - - - (failed)
"; continue; }
		note=""
		awk -v c="$gcheck" '$3 != c { bad = 1 } END { exit !bad }' "$f" &&
			note="(checksum differs from glibc's!)"
		rows="$rows$(awk -v w="$w" -v a="$a" -v ms="$(median "$f" 1)" \
			-v rss="$(median "$f" 2)" -v gms="$gms" -v grss="$grss" \
			-v note="$note" 'BEGIN {
			printf "%s %s %.0f %.1f %.2fx %.2fx %s\n", w, a, ms,
			    rss / 1024, ms / gms, rss / grss, note }')
"
	done
done
echo
printf '%s' "$rows" | awk 'BEGIN {
	f = "%-8s %-14s %9s %13s %12s %12s %s\n"
	printf f, "workload", "allocator", "time ms", "peak RSS MiB", "time/glibc", "RSS/glibc", ""
	printf f, "--------", "---------", "-------", "------------", "----------", "---------", ""
} { printf f, $1, $2, $3, $4, $5, $6, $7 " " $8 " " $9 " " $10 }'
{
	echo "| workload | allocator | time ms | peak RSS MiB | time / glibc | RSS / glibc |"
	echo "| --- | --- | ---: | ---: | ---: | ---: |"
	printf '%s' "$rows" | awk '{ printf "| %s | %s | %s | %s | %s | %s |\n",
		$1, $2, $3, $4, $5, $6 }'
} >"$OUT/malloc.md"
echo
echo "time: wall clock of the whole run; peak RSS: VmHWM; medians."
echo "markdown: $OUT/malloc.md, raw runs: $OUT/malloc.csv"

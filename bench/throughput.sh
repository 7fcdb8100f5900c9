#!/bin/sh
# throughput.sh -- owns part 7 of `make bench`: the collectors' throughput
# beside bdwgc (its parallel markers started) and Go.
#
#   markrate   one forced full collection of a live graph of TP_MARK_MB
#              MiB of 64-byte nodes reached from shuffled roots
#              (bench/markrate.c, EDGES 0 and 1): tricolor (stop-the-world)
#              and bdwgc; the median collection time of each run.
#   allocscan  the scanned allocation loop: 16..256-byte scanned objects
#              replacing each other in a ring of 100000, nothing freed
#              (bench/allocscan.c, Go's port bench/go/allocscan): tricolor,
#              bdwgc and Go; ns per allocation, collection included.
#
# TP_RUNS rounds (default 3), each running every program once per
# collector in an order that rotates from round to round; medians and
# ratios over bdwgc. Markdown in $OUT/throughput.md, every run in
# $OUT/throughput.csv. A collector that does not build is skipped with a
# line saying why. Benchmarks are not tests: nothing here fails on speed.
# POSIX sh.
#
# Environment: CC, TRI_LIB, TRI_INC, TRI_LDLIBS, OUT as bench/run.sh;
#   TP_RUNS      rounds                                  (3)
#   TP_MARK_MB   markrate's live graph, MiB              (1024)
#   TP_OPS       allocscan's allocations                 (20000000)
set -eu

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh" # ROOT, CC, TRI_*, OUT; check_count,
                           # rotated, median, result_field
TP_RUNS=${TP_RUNS:-3}
TP_MARK_MB=${TP_MARK_MB:-1024}
TP_OPS=${TP_OPS:-20000000}
TP_OUT=$OUT/throughput
CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Werror -pthread"

check_count TP_RUNS "$TP_RUNS"
check_count TP_MARK_MB "$TP_MARK_MB"
check_count TP_OPS "$TP_OPS"


rm -rf "$TP_OUT"
mkdir -p "$TP_OUT"
NOTES=""
MARK_ALLOCS=""  # collectors with a markrate binary
SCAN_ALLOCS=""  # collectors with an allocscan binary

note() {
	echo "$*"
	NOTES="$NOTES$*
"
}

build_c() { # NAME FLAGS LIBS: both programs, or none
	# shellcheck disable=SC2086 # FLAGS and LIBS are lists of flags
	for b in markrate allocscan; do
		$CC $CFLAGS $2 -o "$TP_OUT/$b.$1" "$ROOT/bench/$b.c" $3 \
			>>"$TP_OUT/build.$1.log" 2>&1 || return 1
	done
}

if build_c tricolor "-DALLOC_TRICOLOR -I$TRI_INC" "$TRI_LIB $TRI_LDLIBS"; then
	MARK_ALLOCS="tricolor"
	SCAN_ALLOCS="tricolor"
else
	note "skipped tricolor: does not build, see $TP_OUT/build.tricolor.log"
fi
if printf '#include <gc/gc.h>\nint main(void) { GC_INIT(); return 0; }\n' |
	$CC -x c - -o "$TP_OUT/.probe" -lgc >/dev/null 2>&1 &&
	build_c bdwgc -DALLOC_BDWGC -lgc; then
	MARK_ALLOCS="$MARK_ALLOCS bdwgc"
	SCAN_ALLOCS="$SCAN_ALLOCS bdwgc"
else
	note "skipped bdwgc: not installed or does not build" \
		"(apt-get install libgc-dev)"
fi
rm -f "$TP_OUT/.probe"
if command -v go >/dev/null 2>&1 &&
	(cd "$ROOT/bench/go" && GOCACHE="$OUT/go-cache" \
		GOPATH="$OUT/go-path" GOENV=off GOWORK=off GO111MODULE=on \
		GOFLAGS=-modcacherw \
		go build -o "$TP_OUT/allocscan.go" ./allocscan) \
		>>"$TP_OUT/build.go.log" 2>&1; then
	SCAN_ALLOCS="$SCAN_ALLOCS go"
else
	note "skipped go: not installed or does not build" \
		"(apt-get install golang-go)"
fi

CASES="markrate-0 markrate-1 allocscan"
echo "case,collector,run,value,maxrss_kb" >"$OUT/throughput.csv"
run_one() { # CASE COLLECTOR ROUND
	log=$TP_OUT/$1.$2.$3.txt
	case $1 in
	markrate-*)
		"$TP_OUT/markrate.$2" "$TP_MARK_MB" 3 "${1#markrate-}" \
			>"$log" 2>&1 || true
		f=collect_ms
		;;
	allocscan)
		"$TP_OUT/allocscan.$2" 100000 "$TP_OPS" >"$log" 2>&1 || true
		f=ns_per_alloc
		;;
	esac
	v=$(result_field "$f" <"$log")
	if [ -z "$v" ]; then
		NOTES="${NOTES}FAILED: $2 $1, run $3, see $log
"
		return 0
	fi
	echo "$v" >>"$TP_OUT/raw.$1.$2"
	echo "$1,$2,$3,$v,$(result_field maxrss_kb <"$log")" >>"$OUT/throughput.csv"
	printf ' %s/%s' "$1" "$2" >&2
}

r=0
while [ "$r" -lt "$TP_RUNS" ]; do
	printf 'round %d/%d:' $((r + 1)) "$TP_RUNS" >&2
	for c in $CASES; do
		case $c in markrate-*) allocs=$MARK_ALLOCS ;; *) allocs=$SCAN_ALLOCS ;; esac
		# shellcheck disable=SC2086 # allocs is a list of words
		for a in $(rotated "$r" $allocs); do
			run_one "$c" "$a" $((r + 1))
		done
	done
	echo >&2
	r=$((r + 1))
done

title() {
	case $1 in
	markrate-*) echo "full collection, $TP_MARK_MB MiB live," \
		"${1#markrate-} pointer(s) per node: ms" ;;
	allocscan) echo "scanned allocation loop, 100000 live," \
		"$TP_OPS allocations: ns per allocation" ;;
	esac
}

{
	echo "date:     $(date '+%Y-%m-%d %H:%M:%S %Z')"
	echo "machine:  $(nproc) CPUs, $(uname -sr)"
	echo "bdwgc:    $(pkg-config --modversion bdw-gc 2>/dev/null ||
		echo unknown), parallel markers started"
	echo "go:       $(go version 2>/dev/null || echo not installed)"
	echo "load:     $(cut -d ' ' -f 1-3 /proc/loadavg) at the end"
	echo "runs:     median of $TP_RUNS (round-robin)"
	echo
	echo "| work | collector | median | / bdwgc |"
	echo "| --- | --- | ---: | ---: |"
	for c in $CASES; do
		b=-
		[ -s "$TP_OUT/raw.$c.bdwgc" ] && b=$(median "$TP_OUT/raw.$c.bdwgc" 1)
		for a in tricolor bdwgc go; do
			[ -s "$TP_OUT/raw.$c.$a" ] || continue
			m=$(median "$TP_OUT/raw.$c.$a" 1)
			ratio=$(awk -v m="$m" -v b="$b" 'BEGIN {
				if (b == "-") print "-"; else printf "%.2fx", m / b }')
			echo "| $(title "$c") | $a | $m | $ratio |"
		done
	done
	[ -z "$NOTES" ] || printf '\n%s' "$NOTES"
} >"$OUT/throughput.md"
cat "$OUT/throughput.md"

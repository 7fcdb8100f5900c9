/*
 * gc_alloc.h -- the allocator layer of the GC benchmarks (gcbench.c,
 * binarytrees.c). Each benchmark is one source built once per allocator with
 * exactly one of:
 *
 *   -DALLOC_TRICOLOR  tri_malloc / tri_malloc_noscan; never freed
 *                     (link libtricolor.a)
 *   -DALLOC_BDWGC     GC_MALLOC / GC_MALLOC_ATOMIC; never freed (link -lgc)
 *   -DALLOC_GLIBC     malloc / free; the program frees what it drops
 *
 * A benchmark allocates with BENCH_ALLOC (objects that hold pointers: the
 * collectors scan them) or BENCH_ALLOC_NOSCAN (pointer-free data), sets
 * every field itself (malloc does not zero), and frees a dropped structure
 * only `if (BENCH_FREES)`, so the GC variants never free.
 *
 * The run:
 *   1. bench_gc_start(): initialise the heap, force one collection so the
 *      collector's start-up is outside the timing, take a baseline of the
 *      collector's counters;
 *   2. bench_now_ms() before and after the work (CLOCK_MONOTONIC);
 *   3. bench_result(): print one line
 *        RESULT name=N alloc=A <params> wall_ms=W maxrss_kb=R gcs=C
 *               max_pause_us=M total_pause_us=T cpu_ms=U
 *      where C counts the cycles after the baseline, M is the longest pause
 *      among them and T their sum, R is getrusage's ru_maxrss and U the
 *      user + system CPU time of the whole process (every thread, so a
 *      collector's helper threads count; less disturbed than W by other
 *      work on the machine).
 *
 * Pauses, per allocator:
 *   tricolor  tri_read_stats: num_gc, pause_total_ns, and the pause_ns ring
 *             (cycle k is at pause_ns[(k + 255) % 256]); the max covers the
 *             last min(cycles, 256) cycles, as the ring holds no more.
 *   bdwgc     GC_get_gc_no() for cycles; each pause is timed from
 *             GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD (the
 *             world-stopped mark), for every cycle.
 *   glibc     no collector: gcs=0 and pauses 0.
 */
#ifndef BENCH_GC_ALLOC_H
#define BENCH_GC_ALLOC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#if defined(ALLOC_TRICOLOR) + defined(ALLOC_BDWGC) + defined(ALLOC_GLIBC) != 1
#error "define exactly one of ALLOC_TRICOLOR, ALLOC_BDWGC, ALLOC_GLIBC"
#endif

/* The counters the RESULT line reports, all since the baseline. */
typedef struct bench_gc_counts {
	uint64_t gcs;
	uint64_t max_pause_ns;
	uint64_t total_pause_ns;
} bench_gc_counts_t;

static void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

#if defined(ALLOC_TRICOLOR)
#include "tricolor.h"

#define BENCH_ALLOC_NAME      "tricolor"
#define BENCH_FREES           0
#define BENCH_ALLOC(n)        tri_malloc(n)
#define BENCH_ALLOC_NOSCAN(n) tri_malloc_noscan(n)
#define BENCH_FREE(p)         ((void)(p))

static tri_stats_t bench_stats0, bench_stats1; /* too big for the stack */

static void bench_gc_start(void)
{
	if (tri_init() != 0)
		bench_die("tri_init failed");
	tri_collect();
	tri_read_stats(&bench_stats0);
	printf("allocator: tricolor %d\n", tri_version());
}

static bench_gc_counts_t bench_gc_counts(void)
{
	const tri_stats_t *s0 = &bench_stats0, *s1 = &bench_stats1;
	bench_gc_counts_t c = {0, 0, 0};
	uint64_t first;

	tri_read_stats(&bench_stats1);
	c.gcs = s1->num_gc - s0->num_gc;
	c.total_pause_ns = s1->pause_total_ns - s0->pause_total_ns;
	first = s1->num_gc - (c.gcs < 256 ? c.gcs : 256) + 1;
	for (uint64_t k = first; k <= s1->num_gc; k++) {
		uint64_t p = s1->pause_ns[(k + 255) % 256];
		if (p > c.max_pause_ns)
			c.max_pause_ns = p;
	}
	return c;
}

#elif defined(ALLOC_BDWGC)
#include <gc/gc.h>

#define BENCH_ALLOC_NAME      "bdwgc"
#define BENCH_FREES           0
#define BENCH_ALLOC(n)        GC_MALLOC(n)
#define BENCH_ALLOC_NOSCAN(n) GC_MALLOC_ATOMIC(n)
#define BENCH_FREE(p)         ((void)(p))

/* Written by the collection event callback, which bdwgc calls with its
 * allocation lock held: on the thread that collects. */
static struct {
	uint64_t stop_ns; /* when the current stop began */
	uint64_t max_ns, total_ns;
} bench_bdw;
static GC_word bench_bdw_gc0;

static uint64_t bench_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void GC_CALLBACK bench_bdw_event(GC_EventType ev)
{
	uint64_t d;

	if (ev == GC_EVENT_PRE_STOP_WORLD) {
		bench_bdw.stop_ns = bench_clock_ns();
	} else if (ev == GC_EVENT_POST_START_WORLD) {
		d = bench_clock_ns() - bench_bdw.stop_ns;
		bench_bdw.total_ns += d;
		if (d > bench_bdw.max_ns)
			bench_bdw.max_ns = d;
	}
}

static void bench_gc_start(void)
{
	unsigned v;

	GC_INIT();
	GC_gcollect();
	bench_bdw_gc0 = GC_get_gc_no();
	GC_set_on_collection_event(bench_bdw_event);
	v = GC_get_version();
	printf("allocator: bdwgc %u.%u.%u\n", v >> 16, (v >> 8) & 0xff,
	       v & 0xff);
}

static bench_gc_counts_t bench_gc_counts(void)
{
	bench_gc_counts_t c;

	c.gcs = GC_get_gc_no() - bench_bdw_gc0;
	c.max_pause_ns = bench_bdw.max_ns;
	c.total_pause_ns = bench_bdw.total_ns;
	return c;
}

#else /* ALLOC_GLIBC */

#define BENCH_ALLOC_NAME      "glibc"
#define BENCH_FREES           1
#define BENCH_ALLOC(n)        malloc(n)
#define BENCH_ALLOC_NOSCAN(n) malloc(n)
#define BENCH_FREE(p)         free(p)

static void bench_gc_start(void)
{
	printf("allocator: glibc malloc/free\n");
}

static bench_gc_counts_t bench_gc_counts(void)
{
	bench_gc_counts_t c = {0, 0, 0};

	return c;
}

#endif

/* Milliseconds on CLOCK_MONOTONIC. */
static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A pointer the benchmark cannot go on without. */
static void *bench_check(void *p)
{
	if (p == NULL)
		bench_die("out of memory");
	return p;
}

/* Parse a decimal integer in [lo, hi], or exit(2) naming the argument. */
static int bench_parse(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr,
		        "bench: %s must be an integer in [%ld, %ld], "
		        "got '%s'\n",
		        what, lo, hi, s);
		exit(2);
	}
	return (int)v;
}

static double bench_tv_ms(struct timeval tv)
{
	return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

/* The RESULT line. params: the benchmark's size, "key=value ...". */
static void bench_result(const char *name, const char *params, double t0_ms,
                         double t1_ms)
{
	bench_gc_counts_t c = bench_gc_counts();
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		bench_die("getrusage failed");
	printf("RESULT name=%s alloc=%s %s wall_ms=%.1f maxrss_kb=%ld gcs=%llu "
	       "max_pause_us=%.1f total_pause_us=%.1f cpu_ms=%.1f\n",
	       name, BENCH_ALLOC_NAME, params, t1_ms - t0_ms, ru.ru_maxrss,
	       (unsigned long long)c.gcs, (double)c.max_pause_ns / 1e3,
	       (double)c.total_pause_ns / 1e3,
	       bench_tv_ms(ru.ru_utime) + bench_tv_ms(ru.ru_stime));
	fflush(stdout);
}

#endif /* BENCH_GC_ALLOC_H */

/*
 * gc_alloc.h -- the allocator layer of the GC benchmarks (gcbench.c,
 * binarytrees.c, latency.c, phase.c). Each benchmark is one source built
 * once per allocator with exactly one of:
 *
 *   -DALLOC_TRICOLOR  tri_malloc / tri_malloc_noscan; never freed
 *                     (link libtricolor.a). Stop-the-world mode; with
 *                     -DBENCH_CONCURRENT as well, concurrent mode, or with
 *                     -DBENCH_TRACKED, tracked mode and plain stores
 *                     (tri_set_mode before the first cycle;
 *                     GODEBUG=gcstoptheworld=1 still forces
 *                     stop-the-world). With -DBENCH_PRELOAD instead:
 *                     malloc, never freed, plain stores, not linked with
 *                     tricolor -- run it under libtricolor-malloc.so,
 *                     whose statistics it reads through dlsym.
 *   -DALLOC_BDWGC     GC_MALLOC / GC_MALLOC_ATOMIC; never freed (link -lgc)
 *   -DALLOC_GLIBC     malloc / free; the program frees what it drops
 *   -DALLOC_JEMALLOC  the same calls, linked with -ljemalloc (which replaces
 *                     malloc and free; bench_gc_start prints jemalloc's
 *                     version, read with mallctl, so a binary that is not
 *                     using it is seen at once)
 *
 * A benchmark allocates with BENCH_ALLOC (objects that hold pointers: the
 * collectors scan them) or BENCH_ALLOC_NOSCAN (pointer-free data), sets
 * every field itself (malloc does not zero), and frees a dropped structure
 * only `if (BENCH_FREES)`, so the GC variants never free. Every store of a
 * pointer into a heap object or a global goes through BENCH_STORE(lvalue,
 * value): TRI_STORE for tricolor (the barrier contract concurrent mode
 * needs; the same binary code in both modes), a plain store for the others.
 * Stores to locals need none. A benchmark that starts threads defines
 * BENCH_THREADS before including this file and creates them with
 * bench_thread_create (tri_pthread_create; GC_pthread_create for bdwgc).
 *
 * The run:
 *   1. bench_gc_start(): initialise the heap, force one collection so the
 *      collector's start-up is outside the timing, take a baseline of the
 *      collector's counters and start recording pauses; bench_gc_baseline()
 *      takes the baseline again (after an untimed set-up phase);
 *   2. bench_now_ms() before and after the work (CLOCK_MONOTONIC);
 *   3. bench_result(): print one line
 *        RESULT name=N alloc=A <params> wall_ms=W maxrss_kb=R gcs=C
 *               max_pause_us=M p99_pause_us=P total_pause_us=T
 *               pauses=K pauses_lost=L cpu_ms=U [extra]
 *      where C counts the cycles after the baseline; K of them have a
 *      recorded pause (L = cycles whose pause was lost, see below); M is
 *      the longest recorded pause, P the 99th percentile (nearest rank:
 *      the ceil(0.99 K)-th smallest) and T the sum of all pauses; R is
 *      getrusage's ru_maxrss and U the user + system CPU time of the whole
 *      process (every thread, so a collector's helper threads count; less
 *      disturbed than W by other work on the machine); extra is the
 *      benchmark's own "key=value ..." results (latency.c), if any.
 *
 * A "pause" is one cycle's stop-the-world time: both pauses of a
 * concurrent cycle summed (tri_stats_t.pause_ns and Go's PauseNs have that
 * meaning).
 *
 * Pauses, per allocator:
 *   tricolor  tri_read_stats: num_gc, pause_total_ns, and the pause_ns ring
 *             (cycle k is at pause_ns[(k + 255) % 256], the last 256
 *             cycles). A sampler thread (not registered with the heap; it
 *             only reads the statistics) copies the new entries every
 *             BENCH_POLL_MS and once more at the end, so every cycle is
 *             recorded unless more than 256 complete between two reads:
 *             those are counted in pauses_lost, never guessed.
 *   bdwgc     GC_get_gc_no() for cycles; each stop is timed from
 *             GC_EVENT_PRE_STOP_WORLD to GC_EVENT_POST_START_WORLD (the
 *             world-stopped mark) and the stops between GC_EVENT_START and
 *             GC_EVENT_END summed into one pause per cycle; every cycle.
 *   glibc, jemalloc  no collector: gcs=0 and pauses 0.
 */
#ifndef BENCH_GC_ALLOC_H
#define BENCH_GC_ALLOC_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#if defined(ALLOC_TRICOLOR) + defined(ALLOC_BDWGC) + defined(ALLOC_GLIBC) + \
        defined(ALLOC_JEMALLOC) != 1
#error "define exactly one of ALLOC_TRICOLOR, ALLOC_BDWGC, ALLOC_GLIBC or ALLOC_JEMALLOC"
#endif
#if defined(BENCH_CONCURRENT) && !defined(ALLOC_TRICOLOR)
#error "BENCH_CONCURRENT is a tricolor mode"
#endif

#ifndef BENCH_POLL_MS
#define BENCH_POLL_MS 5 /* the tricolor pause sampler's period */
#endif

/* The counters the RESULT line reports, all since the baseline. */
typedef struct bench_gc_counts {
	uint64_t gcs;
	uint64_t max_pause_ns;
	uint64_t p99_pause_ns;
	uint64_t total_pause_ns;
	uint64_t pauses;      /* cycles whose pause was recorded */
	uint64_t pauses_lost; /* cycles whose pause fell out of the ring */
} bench_gc_counts_t;

static void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

static inline uint64_t bench_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep until bench_clock_ns() reaches deadline_ns. */
static inline void bench_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts;

	for (;;) { /* a stop-the-world signal may cut a sleep short */
		uint64_t now = bench_clock_ns();

		if (now >= deadline_ns)
			return;
		ts.tv_sec = (time_t)((deadline_ns - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline_ns - now) % 1000000000u);
		nanosleep(&ts, NULL);
	}
}

/*
 * The pause history since the baseline, in glibc memory (never scanned; it
 * holds no heap pointers). bench_pause_lock guards it: the sampler thread
 * (tricolor) or the collecting thread (bdwgc) appends, the main thread
 * resets and reads.
 */
static pthread_mutex_t bench_pause_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	uint64_t *ns;
	size_t n, cap;
	uint64_t lost;
} bench_pauses;

static inline void bench_pause_add(uint64_t ns) /* bench_pause_lock held */
{
	if (bench_pauses.n == bench_pauses.cap) {
		size_t cap = bench_pauses.cap ? 2 * bench_pauses.cap : 1024;
		uint64_t *p = realloc(bench_pauses.ns, cap * sizeof *p);

		if (p == NULL) {
			bench_pauses.lost++;
			return;
		}
		bench_pauses.ns = p;
		bench_pauses.cap = cap;
	}
	bench_pauses.ns[bench_pauses.n++] = ns;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Fill max, p99, pauses and pauses_lost of *c from the history. */
static inline void bench_pause_summary(bench_gc_counts_t *c)
{
	size_t n;

	pthread_mutex_lock(&bench_pause_lock);
	n = bench_pauses.n;
	c->pauses = n;
	c->pauses_lost = bench_pauses.lost;
	if (n > 0) {
		qsort(bench_pauses.ns, n, sizeof(uint64_t), bench_cmp_u64);
		c->max_pause_ns = bench_pauses.ns[n - 1];
		c->p99_pause_ns = bench_pauses.ns[(99 * n + 99) / 100 - 1];
	}
	pthread_mutex_unlock(&bench_pause_lock);
}

#if defined(ALLOC_TRICOLOR)
#include "tricolor.h"

#ifdef BENCH_PRELOAD
/* Plain C under LD_PRELOAD=libtricolor-malloc.so (gc mode): malloc, never
 * free, plain stores, in the default mode; not linked with tricolor: its
 * statistics are found with dlsym. */
#include <dlfcn.h>
#define BENCH_ALLOC_NAME "tricolor-preload"
static void (*bench_tri_read_stats)(tri_stats_t *);
static void (*bench_tri_collect)(void);
#define tri_read_stats(s) bench_tri_read_stats(s)
#define tri_collect()     bench_tri_collect()
#elif defined(BENCH_CONCURRENT)
#define BENCH_ALLOC_NAME "tricolor-conc"
#define BENCH_TRI_MODE   TRI_MODE_CONCURRENT
#elif defined(BENCH_TRACKED)
#define BENCH_ALLOC_NAME "tricolor-tracked"
#define BENCH_TRI_MODE   TRI_MODE_TRACKED
#else
#define BENCH_ALLOC_NAME "tricolor-stw"
#define BENCH_TRI_MODE   TRI_MODE_STW
#endif
#define BENCH_FREES           0
#define BENCH_FREE(p)         ((void)(p))
#ifdef BENCH_PRELOAD
#define BENCH_ALLOC(n)        malloc(n)
#define BENCH_ALLOC_NOSCAN(n) malloc(n)
#else
#define BENCH_ALLOC(n)        tri_malloc(n)
#define BENCH_ALLOC_NOSCAN(n) tri_malloc_noscan(n)
#endif
#if defined(BENCH_TRACKED) || defined(BENCH_PRELOAD) /* ordinary C */
#define BENCH_STORE(lvalue, value) ((lvalue) = (value))
#else
#define BENCH_STORE(lvalue, value) TRI_STORE(lvalue, value)
#endif

static inline int bench_thread_create(pthread_t *t, void *(*start)(void *),
                               void *arg)
{
#ifdef BENCH_PRELOAD
	return pthread_create(t, NULL, start, arg);
#else
	return tri_pthread_create(t, NULL, start, arg);
#endif
}

/* Sampler state, under bench_pause_lock. bench_tri_st is too big for the
 * stack and only read under the lock. */
static tri_stats_t bench_tri_st;
static uint64_t bench_tri_gc0, bench_tri_pause0, bench_tri_seen;
static volatile int bench_tri_stop;
static pthread_t bench_tri_sampler;

/* Append the pauses of the cycles completed since the last read. */
static void bench_tri_poll(void) /* bench_pause_lock held */
{
	uint64_t k, last;

	tri_read_stats(&bench_tri_st);
	last = bench_tri_st.num_gc;
	k = bench_tri_seen + 1;
	if (last > bench_tri_seen + 256) { /* the ring wrapped: lost */
		bench_pauses.lost += last - 256 - bench_tri_seen;
		k = last - 255;
	}
	for (; k <= last; k++)
		bench_pause_add(bench_tri_st.pause_ns[(k + 255) % 256]);
	bench_tri_seen = last;
}

static void *bench_tri_sample(void *arg)
{
	struct timespec d = {BENCH_POLL_MS / 1000,
	                     BENCH_POLL_MS % 1000 * 1000000L};

	(void)arg;
	while (!bench_tri_stop) {
		pthread_mutex_lock(&bench_pause_lock);
		bench_tri_poll();
		pthread_mutex_unlock(&bench_pause_lock);
		nanosleep(&d, NULL);
	}
	return NULL;
}

static inline void bench_gc_baseline(void)
{
	pthread_mutex_lock(&bench_pause_lock);
	tri_read_stats(&bench_tri_st);
	bench_tri_gc0 = bench_tri_seen = bench_tri_st.num_gc;
	bench_tri_pause0 = bench_tri_st.pause_total_ns;
	bench_pauses.n = 0;
	bench_pauses.lost = 0;
	pthread_mutex_unlock(&bench_pause_lock);
}

static void bench_gc_start(void)
{
#ifdef BENCH_PRELOAD
	*(void **)&bench_tri_read_stats = dlsym(RTLD_DEFAULT, "tri_read_stats");
	*(void **)&bench_tri_collect = dlsym(RTLD_DEFAULT, "tri_collect");
	if (!bench_tri_read_stats || !bench_tri_collect)
		bench_die("tri_read_stats not found: run under "
		          "LD_PRELOAD=libtricolor-malloc.so");
	free(malloc(1)); /* the heap initialised */
#else
	if (tri_init() != 0)
		bench_die("tri_init failed");
	if (tri_set_mode(BENCH_TRI_MODE) != 0)
		bench_die("tri_set_mode failed");
#endif
	tri_collect();
	bench_gc_baseline();
	if (pthread_create(&bench_tri_sampler, NULL, bench_tri_sample, NULL))
		bench_die("cannot start the pause sampler");
#ifdef BENCH_PRELOAD
	printf("allocator: malloc, never freed, under the tricolor preload\n");
#else
	printf("allocator: tricolor %d, %s mode requested\n", tri_version(),
	       BENCH_TRI_MODE == TRI_MODE_STW ? "stop-the-world"
	       : BENCH_TRI_MODE == TRI_MODE_TRACKED ? "tracked"
	                                            : "concurrent");
#endif
}

static bench_gc_counts_t bench_gc_counts(void)
{
	bench_gc_counts_t c;

	memset(&c, 0, sizeof c);
	bench_tri_stop = 1;
	pthread_join(bench_tri_sampler, NULL);
	pthread_mutex_lock(&bench_pause_lock);
	bench_tri_poll();
	c.gcs = bench_tri_st.num_gc - bench_tri_gc0;
	c.total_pause_ns = bench_tri_st.pause_total_ns - bench_tri_pause0;
	pthread_mutex_unlock(&bench_pause_lock);
	bench_pause_summary(&c);
	return c;
}

#elif defined(ALLOC_BDWGC)
#ifdef BENCH_THREADS
#define GC_THREADS /* pthread_create and friends go through bdwgc */
#endif
#include <gc/gc.h>

#define BENCH_ALLOC_NAME      "bdwgc"
#define BENCH_FREES           0
#define BENCH_ALLOC(n)        GC_MALLOC(n)
#define BENCH_ALLOC_NOSCAN(n) GC_MALLOC_ATOMIC(n)
#define BENCH_FREE(p)         ((void)(p))
#define BENCH_STORE(lvalue, value)                                           \
	do {                                                                 \
		(lvalue) = (value);                                          \
	} while (0)

static inline int bench_thread_create(pthread_t *t, void *(*start)(void *),
                               void *arg)
{
	return pthread_create(t, NULL, start, arg); /* GC_pthread_create */
}

/* Written by the collection event callback, which bdwgc calls with its
 * allocation lock held, on the thread that collects. */
static struct {
	uint64_t stop_ns;  /* when the current stop began */
	uint64_t cycle_ns; /* the current cycle's stops so far */
	uint64_t total_ns; /* every stop since the baseline */
} bench_bdw;
static GC_word bench_bdw_gc0;

static void GC_CALLBACK bench_bdw_event(GC_EventType ev)
{
	switch (ev) {
	case GC_EVENT_PRE_STOP_WORLD:
		bench_bdw.stop_ns = bench_clock_ns();
		break;
	case GC_EVENT_POST_START_WORLD: {
		uint64_t d = bench_clock_ns() - bench_bdw.stop_ns;

		pthread_mutex_lock(&bench_pause_lock);
		bench_bdw.cycle_ns += d;
		bench_bdw.total_ns += d;
		pthread_mutex_unlock(&bench_pause_lock);
		break;
	}
	case GC_EVENT_END:
		pthread_mutex_lock(&bench_pause_lock);
		if (bench_bdw.cycle_ns > 0)
			bench_pause_add(bench_bdw.cycle_ns);
		bench_bdw.cycle_ns = 0;
		pthread_mutex_unlock(&bench_pause_lock);
		break;
	default:
		break;
	}
}

static inline void bench_gc_baseline(void)
{
	pthread_mutex_lock(&bench_pause_lock);
	bench_bdw_gc0 = GC_get_gc_no();
	bench_bdw.cycle_ns = bench_bdw.total_ns = 0;
	bench_pauses.n = 0;
	bench_pauses.lost = 0;
	pthread_mutex_unlock(&bench_pause_lock);
}

static void bench_gc_start(void)
{
	unsigned v;

	GC_INIT();
#ifdef BENCH_THREADS
	GC_allow_register_threads();
#endif
	GC_start_mark_threads(); /* its parallel markers, as tricolor's */
	GC_gcollect();
	bench_gc_baseline();
	GC_set_on_collection_event(bench_bdw_event);
	v = GC_get_version();
	printf("allocator: bdwgc %u.%u.%u\n", v >> 16, (v >> 8) & 0xff,
	       v & 0xff);
}

static bench_gc_counts_t bench_gc_counts(void)
{
	bench_gc_counts_t c;

	memset(&c, 0, sizeof c);
	pthread_mutex_lock(&bench_pause_lock);
	c.gcs = GC_get_gc_no() - bench_bdw_gc0;
	c.total_pause_ns = bench_bdw.total_ns;
	if (bench_bdw.cycle_ns > 0) /* a cycle still under way */
		bench_pause_add(bench_bdw.cycle_ns);
	bench_bdw.cycle_ns = 0;
	pthread_mutex_unlock(&bench_pause_lock);
	bench_pause_summary(&c);
	return c;
}

#else /* ALLOC_GLIBC or ALLOC_JEMALLOC: the same calls, another library */

#ifdef ALLOC_JEMALLOC
#include <jemalloc/jemalloc.h>
#define BENCH_ALLOC_NAME "jemalloc"
#else
#define BENCH_ALLOC_NAME "glibc"
#endif
#define BENCH_FREES           1
#define BENCH_ALLOC(n)        malloc(n)
#define BENCH_ALLOC_NOSCAN(n) malloc(n)
#define BENCH_FREE(p)         free(p)
#define BENCH_STORE(lvalue, value)                                           \
	do {                                                                 \
		(lvalue) = (value);                                          \
	} while (0)

static inline int bench_thread_create(pthread_t *t, void *(*start)(void *),
                               void *arg)
{
	return pthread_create(t, NULL, start, arg);
}

static inline void bench_gc_baseline(void)
{
}

static void bench_gc_start(void)
{
#ifdef ALLOC_JEMALLOC
	const char *v = NULL;
	size_t len = sizeof v;

	if (mallctl("version", &v, &len, NULL, 0) != 0 || v == NULL)
		bench_die("jemalloc's mallctl failed: not linked with -ljemalloc?");
	printf("allocator: jemalloc %s malloc/free\n", v);
#else
	printf("allocator: glibc malloc/free\n");
#endif
}

static bench_gc_counts_t bench_gc_counts(void)
{
	bench_gc_counts_t c;

	memset(&c, 0, sizeof c);
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

/* The RESULT line. params: the benchmark's size, "key=value ..."; extra:
 * more "key=value ..." results of the benchmark's own, after cpu_ms, or
 * NULL. */
static void bench_result(const char *name, const char *params,
                         const char *extra, double t0_ms, double t1_ms)
{
	bench_gc_counts_t c = bench_gc_counts();
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		bench_die("getrusage failed");
	printf("RESULT name=%s alloc=%s %s wall_ms=%.1f maxrss_kb=%ld gcs=%llu "
	       "max_pause_us=%.1f p99_pause_us=%.1f total_pause_us=%.1f "
	       "pauses=%llu pauses_lost=%llu cpu_ms=%.1f%s%s\n",
	       name, BENCH_ALLOC_NAME, params, t1_ms - t0_ms, ru.ru_maxrss,
	       (unsigned long long)c.gcs, (double)c.max_pause_ns / 1e3,
	       (double)c.p99_pause_ns / 1e3, (double)c.total_pause_ns / 1e3,
	       (unsigned long long)c.pauses, (unsigned long long)c.pauses_lost,
	       bench_tv_ms(ru.ru_utime) + bench_tv_ms(ru.ru_stime),
	       extra ? " " : "", extra ? extra : "");
	fflush(stdout);
}

#endif /* BENCH_GC_ALLOC_H */

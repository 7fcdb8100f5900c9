/*
 * alloc_ring.c -- the "ring" allocation benchmark: small random sizes with a
 * fixed number of live objects per thread.
 *
 * Each thread owns a ring of RING_SLOTS pointers. One operation visits the
 * next slot, frees the object there (if any) and allocates a new one of a
 * random size in [MIN_SIZE, MAX_SIZE], writing its first and last byte so the
 * memory is really touched. Every object therefore lives for exactly
 * RING_SLOTS operations of its thread (FIFO lifetimes), and the live set is
 * about RING_SLOTS * 136 bytes per thread.
 *
 * The allocator is chosen at compile time: with -DUSE_TRI, ALLOC/FREE are
 * tri_malloc/tri_free; otherwise malloc/free, so linking the same source
 * with -ljemalloc, -lmimalloc or -ltcmalloc_minimal measures those.
 *
 * Usage:  alloc_ring THREADS [OPS_PER_THREAD]
 * Output: one line on stdout, "ns_per_op=<float> peak_rss_kb=<int>", where
 * ns_per_op is the wall time of the timed phase divided by the total number
 * of operations of all threads, and peak_rss_kb is ru_maxrss.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#ifndef USE_TRI
#define ADD_ROOTS(lo, hi) ((void)(lo), (void)(hi))
#endif
#ifdef USE_TRI
#include "tricolor.h"
#define ALLOC(n) tri_malloc(n)
#define FREE(p) tri_free(p)
/* The rings are malloc'd: the collector must see them (it runs beside). */
#define ADD_ROOTS(lo, hi) tri_add_roots(lo, hi)
#elif defined(USE_CALLOC)
/* The peers with zeroed memory, like tri_malloc's. */
#define ALLOC(n) calloc(1, n)
#define FREE(p) free(p)
#else
#define ALLOC(n) malloc(n)
#define FREE(p) free(p)
#endif

enum {
	RING_SLOTS = 100000,
	MIN_SIZE = 16,
	MAX_SIZE = 256,
	MAX_THREADS = 1024,
};

#define DEFAULT_OPS 20000000UL

/* One thread's state, on its own cache lines so threads share nothing. */
typedef struct worker {
	_Alignas(64) pthread_t tid;
	uint64_t rng;
	unsigned long ops;
	void **ring;
} worker_t;

/* Start and end barriers: main times the span between them. */
static pthread_barrier_t start_line, finish_line;

/* xorshift64: small, fast, and the same sequence on every run. */
static inline uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A distinct, never-zero seed for thread i (splitmix64 of i). */
static uint64_t seed_for(unsigned i)
{
	uint64_t z = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ULL;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return z ? z : 1;
}

static void die(const char *what)
{
	fprintf(stderr, "alloc_ring: %s\n", what);
	exit(1);
}

/* One operation on slot i: free the old object, allocate and touch a new. */
static inline void ring_step(worker_t *w, size_t i)
{
	size_t n = MIN_SIZE + (size_t)(xorshift64(&w->rng) %
	                               (MAX_SIZE - MIN_SIZE + 1));
	unsigned char *p;

	FREE(w->ring[i]);
	p = ALLOC(n);
	if (p == NULL)
		die("allocation failed");
	p[0] = (unsigned char)i;
	p[n - 1] = (unsigned char)n;
	w->ring[i] = p;
}

/* The timed loop: w->ops operations, walking the ring in order. */
static void run_ops(worker_t *w)
{
	size_t slot = 0;

	for (unsigned long k = 0; k < w->ops; k++) {
		ring_step(w, slot);
		if (++slot == RING_SLOTS)
			slot = 0;
	}
}

/* Free whatever is still in the ring (untimed). */
static void drain_ring(worker_t *w)
{
	for (size_t i = 0; i < RING_SLOTS; i++) {
		FREE(w->ring[i]);
		w->ring[i] = NULL;
	}
}

static void *worker_main(void *arg)
{
	worker_t *w = arg;

	pthread_barrier_wait(&start_line);
	run_ops(w);
	pthread_barrier_wait(&finish_line);
	drain_ring(w);
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Parse a positive decimal integer no larger than max, or exit(2). */
static unsigned long parse_count(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' ||
	    v == 0 || v > max) {
		fprintf(stderr, "alloc_ring: bad count '%s'\n", s);
		exit(2);
	}
	return v;
}

/* Allocate the rings and start the threads (they wait at start_line). */
static void start_workers(worker_t *ws, unsigned nthreads, unsigned long ops)
{
	for (unsigned i = 0; i < nthreads; i++) {
		ws[i].rng = seed_for(i);
		ws[i].ops = ops;
		ws[i].ring = calloc(RING_SLOTS, sizeof(void *));
		if (ws[i].ring == NULL)
			die("out of memory for the rings");
		ADD_ROOTS(ws[i].ring, ws[i].ring + RING_SLOTS);
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0)
			die("pthread_create failed");
	}
}

static void join_workers(worker_t *ws, unsigned nthreads)
{
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_join(ws[i].tid, NULL) != 0)
			die("pthread_join failed");
		free(ws[i].ring);
	}
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage failed");
	return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
	unsigned nthreads;
	unsigned long ops = DEFAULT_OPS;
	worker_t *ws;
	double t0, t1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: alloc_ring THREADS [OPS_PER_THREAD]\n");
		return 2;
	}
	nthreads = (unsigned)parse_count(argv[1], MAX_THREADS);
	if (argc == 3)
		ops = parse_count(argv[2], 1UL << 40);

	FREE(ALLOC(MIN_SIZE)); /* initialise the heap outside the timing */
	ws = aligned_alloc(64, nthreads * sizeof(*ws));
	if (ws == NULL)
		die("out of memory");
	memset(ws, 0, nthreads * sizeof(*ws));
	if (pthread_barrier_init(&start_line, NULL, nthreads + 1) != 0 ||
	    pthread_barrier_init(&finish_line, NULL, nthreads + 1) != 0)
		die("pthread_barrier_init failed");

	start_workers(ws, nthreads, ops);
	pthread_barrier_wait(&start_line);
	t0 = now_ns();
	pthread_barrier_wait(&finish_line);
	t1 = now_ns();
	join_workers(ws, nthreads);

	printf("ns_per_op=%.3f peak_rss_kb=%ld\n",
	       (t1 - t0) / ((double)ops * nthreads), peak_rss_kb());
	free(ws);
	return 0;
}

/*
 * test/api/test_sweep.c -- owned by the API test suite (not by the library).
 *
 * The background sweeper, seen through <tricolor.h> only:
 *   idle         after a cycle started by allocation (never tri_collect),
 *                with the program sleeping and allocating nothing, the
 *                garbage of every size (small classes and large objects)
 *                is counted freed within a few seconds: tri_read_stats'
 *                frees grow by at least 90 % of the garbage made before
 *                the cycle. (Lazy sweeping alone sweeps only the spans a
 *                refill needs, a few per class, so without the sweeper
 *                the count stays far lower.) Objects kept in a global are
 *                intact, and objects allocated afterwards, from the slots
 *                the sweeper freed, read zero.
 *   threads      several threads allocate, stamp, verify and free objects
 *                of mixed sizes with GOGC=25, so cycles and background
 *                sweeps run under them all the time; every object must
 *                read zero when allocated and keep its stamp until freed.
 * No test asserts a time beyond a generous "within N seconds" poll.
 *
 * Run: ./build/api/test_sweep (fork mode, the default, is required: each
 * test needs a fresh heap). Not run under ASan (the collector scans
 * stacks; Makefile API_ASAN_EXCLUDE).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TESTLIB_REAL_STACKS
#include "../testlib.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* ------------------------------------------------------------------------ */
/* idle: garbage swept while the program sleeps                              */
/* ------------------------------------------------------------------------ */

enum {
	KEEP_EVERY = 8,      /* one object in 8 stays live */
	KEEP_MAX = 1 << 16,
	CHECK_EVERY = 64,    /* allocations between statistics reads */
	LARGE_EVERY = 128,   /* one allocation in 128 is large */
	LARGE_SIZE = 40000,
	POLL_SECONDS = 20,
};
static const size_t g_sizes[] = {32, 96, 256, 1024, 3072};

static void *g_keep[KEEP_MAX];
static size_t g_keep_size[KEEP_MAX];
static size_t g_nkeep;

static size_t idle_size(size_t i)
{
	return i % LARGE_EVERY == LARGE_EVERY - 1 ? LARGE_SIZE
	                                          : g_sizes[i % NELEMS(g_sizes)];
}

static uint64_t idle_tag(size_t i)
{
	return mix64(0x1d1e0000u + i);
}

struct garbage {
	size_t before;  /* allocations surely made before the cycle */
	size_t kept_before; /* of which kept */
	size_t total;   /* allocations made */
};

/* Allocate stamped objects, keeping one in KEEP_EVERY in g_keep, until a
 * cycle has run; only the kept ones stay reachable. Returns what it did,
 * or total 0 when no cycle came in `limit` allocations. */
static NOINLINE struct garbage make_garbage_until_cycle(size_t limit)
{
	struct garbage g = {0, 0, 0};
	tri_stats_t s;
	tri_read_stats(&s);
	uint64_t gc0 = s.num_gc;
	for (size_t i = 0; i < limit; i++) {
		if (i % CHECK_EVERY == 0) {
			tri_read_stats(&s);
			if (s.num_gc != gc0) {
				g.total = i;
				return g;
			}
			g.before = i;
			g.kept_before = g_nkeep;
		}
		size_t n = idle_size(i);
		char *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		stamp(p, n, idle_tag(i));
		if (i % KEEP_EVERY == 0 && g_nkeep < KEEP_MAX) {
			g_keep[g_nkeep] = p;
			g_keep_size[g_nkeep++] = n;
		}
	}
	return g;
}

START_TEST(idle_program_is_swept)
{
	/* Stop-the-world cycles: objects allocated while a concurrent mark
	 * runs (the default mode's) are allocated black and survive it, so
	 * not all of those counted below would be garbage of that cycle. */
	ck_assert_int_eq(tri_set_mode(TRI_MODE_STW), 0);
	ck_assert_int_eq(tri_set_gc_percent(100), 100);
	tri_stats_t s0, s;
	tri_read_stats(&s0);
	struct garbage g = make_garbage_until_cycle(2000000);
	clear_stack();
	ck_assert_msg(g.total != 0, "no cycle after 2,000,000 allocations");
	tri_read_stats(&s);
	ck_assert_uint_eq(s.num_forced_gc, 0);
	uint64_t garbage = g.before - g.kept_before;
	uint64_t want = garbage - garbage / 10;
	/* The program sleeps; only the background sweeper can count. */
	uint64_t freed = s.frees - s0.frees;
	for (int i = 0; i < POLL_SECONDS * 50 && freed < want; i++) {
		sleep_ms(20);
		tri_read_stats(&s);
		freed = s.frees - s0.frees;
	}
	ck_assert_msg(freed >= want,
	              "%llu of %llu garbage objects counted freed %d s after "
	              "an automatic cycle, with nothing allocating "
	              "(heap_alloc %llu, num_gc %llu)",
	              U(freed), U(garbage), POLL_SECONDS, U(s.heap_alloc),
	              U(s.num_gc));
	ck_assert_uint_eq(s.num_forced_gc, 0);

	/* Kept objects intact; new ones, in the freed slots, zeroed. */
	for (size_t k = 0; k < g_nkeep; k++) {
		void *p = g_keep[k];
		ck_assert_ptr_eq(tri_base(p), p);
		ck_assert_uint_eq(stamp_check(p, g_keep_size[k],
		                              g_keep_size[k],
		                              idle_tag(k * KEEP_EVERY)),
		                  g_keep_size[k]);
	}
	for (size_t i = 0; i < 4000; i++) {
		size_t n = idle_size(i);
		char *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(first_nonzero(p, n) == n,
		              "allocation %zu (%zu bytes) after the background "
		              "sweep is not zeroed at byte %zu",
		              i, n, first_nonzero(p, n));
		stamp(p, n, 1); /* dirty it for the next cycle's reuse */
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* threads: allocation beside cycles and background sweeps                   */
/* ------------------------------------------------------------------------ */

enum { NTHREADS = 4, RING = 512, ITERS = 150000 };

struct slot {
	void *p;
	size_t n;
	uint64_t tag;
};
static struct slot g_ring[NTHREADS][RING]; /* a global root */
static char g_err[NTHREADS][256];

static size_t thread_size(uint64_t *rng)
{
	uint64_t r = rng_below(rng, 1000);
	if (r == 0)
		return 33 * KiB + rng_below(rng, 64 * KiB); /* large */
	if (r < 300)
		return 1 + rng_below(rng, 15); /* maybe tiny (noscan) */
	return 16 + rng_below(rng, 2048);
}

static int check_slot(const struct slot *sl)
{
	if (!sl->p)
		return 0;
	if (tri_base(sl->p) != sl->p)
		return -1;
	return stamp_check(sl->p, sl->n, sl->n, sl->tag) == sl->n ? 0 : -1;
}

static void *thread_main(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;
	uint64_t rng = 0x5eed0000u + t;
	struct slot *ring = g_ring[t];
	for (uint64_t i = 0; i < ITERS; i++) {
		struct slot *sl = &ring[rng_below(&rng, RING)];
		if (check_slot(sl)) {
			snprintf(g_err[t], sizeof g_err[t],
			         "thread %zu iteration %llu: object %p (%zu "
			         "bytes) lost or overwritten", t, U(i), sl->p,
			         sl->n);
			return NULL;
		}
		if (sl->p && rng_below(&rng, 4) == 0)
			tri_free(sl->p);
		size_t n = thread_size(&rng);
		bool noscan = n < 16 || rng_below(&rng, 2);
		void *p = noscan ? tri_malloc_noscan(n) : tri_malloc(n);
		if (!p || first_nonzero(p, n) != n) {
			snprintf(g_err[t], sizeof g_err[t],
			         "thread %zu iteration %llu: %zu-byte allocation "
			         "%s", t, U(i), n,
			         p ? "not zeroed" : "failed");
			return NULL;
		}
		uint64_t tag = mix64(((uint64_t)t << 40) ^ i);
		stamp(p, n, tag);
		*sl = (struct slot){p, n, tag};
	}
	return NULL;
}

START_TEST(threads_allocate_while_sweeping)
{
	tri_set_gc_percent(25);
	tri_stats_t s0, s1;
	tri_read_stats(&s0);
	pthread_t th[NTHREADS];
	for (size_t t = 0; t < NTHREADS; t++)
		ck_assert_int_eq(tri_pthread_create(&th[t], NULL, thread_main,
		                                    (void *)(uintptr_t)t),
		                 0);
	for (size_t t = 0; t < NTHREADS; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	for (size_t t = 0; t < NTHREADS; t++)
		ck_assert_msg(g_err[t][0] == 0, "%s", g_err[t]);
	tri_read_stats(&s1);
	ck_assert_msg(s1.num_gc >= s0.num_gc + 3,
	              "only %llu cycles while the threads allocated",
	              U(s1.num_gc - s0.num_gc));
	for (size_t t = 0; t < NTHREADS; t++)
		for (size_t j = 0; j < RING; j++)
			ck_assert_msg(check_slot(&g_ring[t][j]) == 0,
			              "thread %zu slot %zu lost after join", t,
			              j);
}
END_TEST

static Suite *sweep_suite(void)
{
	Suite *s = suite_create("tricolor-sweep");
	TCase *tc = tcase(s, "background", 120);
	tcase_add_test(tc, idle_program_is_swept);
	tcase_add_test(tc, threads_allocate_while_sweeping);
	return s;
}

int main(void)
{
	return run_suite(sweep_suite());
}

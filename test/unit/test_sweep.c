/*
 * test_sweep.c -- the sweeper (gc/sweep.h): sweep_one sweeps every span a
 * cycle left unswept, one at a time, and nothing else; sweep_finish closes
 * the gate until sweep_wake; sweep_one beside threads that allocate and
 * free; the background thread sweeps on its own; and clobberfree's fold of
 * explicit frees (span_reclaim) with zeroed reuse.
 *
 * Cycles are started by allocation (GOGC=100 over garbage), never by
 * tri_collect (which sweeps everything before it returns), and stop the
 * world. Tests that
 * count spans turn the background sweeper off first.
 */
#include "arena.h"
#include "mcache.h"
#include "sweep.h"
#include "unit.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

enum { KEEP_MAX = 1 << 15, KEEP_EVERY = 8 };
static void *keep[KEEP_MAX];
static size_t keep_size[KEEP_MAX];
static size_t nkeep;
static const size_t sizes[] = {24, 128, 512, 2048, 40000};

static unsigned char tag_of(size_t k)
{
	return (unsigned char)(k * 7 + 1);
}

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	/* cycles on the allocating thread, so that when num_gc moves the
	 * cycle is over and nothing sweeps but what a test asks (the default
	 * mode runs them on the controller thread, which sweeps first) */
	ck_assert_int_eq(tri_set_mode(TRI_MODE_STW), 0);
}

static uint64_t num_gc(void)
{
	tri_stats_t s;
	tri_read_stats(&s);
	return s.num_gc;
}

/* Allocate until a cycle has run, keeping one object in KEEP_EVERY
 * (filled with its tag) in `keep`; the rest is garbage. */
static __attribute__((noinline)) void cycle_by_allocation(void)
{
	tri_set_gc_percent(100);
	uint64_t gc0 = num_gc();
	for (size_t i = 0; num_gc() == gc0; i++) {
		ck_assert_uint_lt(i, 1000000);
		size_t n = sizes[i % 5];
		void *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		memset(p, 0x5a, n);
		if (i % KEEP_EVERY == 0 && nkeep < KEEP_MAX) {
			memset(p, tag_of(nkeep), n);
			keep_size[nkeep] = n;
			keep[nkeep++] = p;
		}
	}
}

static void check_kept(void)
{
	for (size_t k = 0; k < nkeep; k++) {
		unsigned char *p = keep[k];
		ck_assert_ptr_eq(tri_base(p), p);
		for (size_t j = 0; j < keep_size[k]; j += 8)
			ck_assert_uint_eq(p[j], tag_of(k));
	}
}

static uint64_t unswept(void)
{
	return mcentral_unswept() + mheap_large_unswept();
}

START_TEST(sweep_one_sweeps_every_span)
{
	sweep_set_background(false);
	cycle_by_allocation();
	sweep_counts c0, c1;
	sweep_stats(&c0);
	uint64_t left = unswept();
	ck_assert_uint_gt(left, 10);
	uint64_t spans = 0, pages = 0;
	for (uintptr_t n; (n = sweep_one()) != 0;) {
		spans++;
		pages += n;
	}
	ck_assert_uint_eq(spans, left);
	ck_assert_uint_ge(pages, spans);
	ck_assert_uint_eq(unswept(), 0);
	ck_assert_uint_eq(sweep_one(), 0);
	sweep_stats(&c1);
	ck_assert_uint_eq(c1.bg, c0.bg); /* off: not the thread's work */
	check_kept();
}
END_TEST

START_TEST(sweep_finish_closes_gate)
{
	sweep_set_background(false);
	cycle_by_allocation();
	uint64_t left = unswept();
	ck_assert_uint_gt(left, 0);
	sweep_counts c0, c1;
	sweep_stats(&c0);
	ck_assert_uint_eq(sweep_finish(), left);
	sweep_stats(&c1);
	ck_assert_uint_eq(c1.finish, c0.finish + left);
	ck_assert_uint_eq(unswept(), 0);
	ck_assert_uint_eq(sweep_one(), 0);
	sweep_wake(); /* open again: still nothing to sweep */
	ck_assert_uint_eq(sweep_one(), 0);
	check_kept();
}
END_TEST

/* Threads allocating, stamping and freeing while sweep_one runs. */
enum { NMUT = 2, MUT_ITERS = 20000, MUT_RING = 256 };
static void *mut_ring[NMUT][MUT_RING];
static size_t mut_n[NMUT][MUT_RING];
static atomic_word mut_bad;

static void *mutator(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;
	unsigned long rng = 88172645463325252ul + t;
	for (int i = 0; i < MUT_ITERS; i++) {
		size_t j = unit_rand(&rng) % MUT_RING;
		unsigned char *old = mut_ring[t][j];
		if (old) {
			for (size_t b = 0; b < mut_n[t][j]; b++)
				if (old[b] != (unsigned char)(j + 1))
					atomic_add_full(&mut_bad, 1);
			if (unit_rand(&rng) % 2)
				tri_free(old);
		}
		size_t n = 16 + unit_rand(&rng) % 3000;
		unsigned char *p = tri_malloc(n);
		for (size_t b = 0; p && b < n; b++)
			if (p[b])
				atomic_add_full(&mut_bad, 1);
		if (p)
			memset(p, (int)(j + 1), n);
		mut_ring[t][j] = p;
		mut_n[t][j] = p ? n : 0;
	}
	return NULL;
}

START_TEST(sweep_one_beside_allocation_and_free)
{
	sweep_set_background(false);
	cycle_by_allocation();
	pthread_t th[NMUT];
	for (size_t t = 0; t < NMUT; t++)
		ck_assert_int_eq(tri_pthread_create(&th[t], NULL, mutator,
		                                    (void *)(uintptr_t)t),
		                 0);
	while (sweep_one())
		;
	for (size_t t = 0; t < NMUT; t++)
		ck_assert_int_eq(pthread_join(th[t], NULL), 0);
	ck_assert_uint_eq(atomic_load_relaxed(&mut_bad), 0);
	while (sweep_one()) /* a cycle the mutators started */
		;
	ck_assert_uint_eq(unswept(), 0);
	check_kept();
}
END_TEST

START_TEST(background_thread_sweeps)
{
	sweep_counts c0, c1;
	sweep_stats(&c0);
	cycle_by_allocation();
	for (int i = 0; i < 1000 && unswept(); i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	ck_assert_uint_eq(unswept(), 0);
	sweep_stats(&c1);
	ck_assert_uint_gt(c1.bg, c0.bg);
	check_kept();
}
END_TEST

START_TEST(clobber_folded_frees)
{
	span_clobber = true;
	enum { N = 32, SZ = 256 };
	unsigned char *p[N];
	for (int i = 0; i < N; i++) {
		p[i] = tri_malloc(SZ);
		memset(p[i], 0x11, SZ);
	}
	for (int i = 0; i < N; i += 2)
		tri_free(p[i]);
	mcache_flush(mcache_tls); /* the span to partial, frees pending */
	unsigned char *q = tri_malloc(SZ); /* refill: span_reclaim */
	ck_assert_uint_eq(arena_span_of((uintptr_t)q)->needzero, 1);
	for (int b = 0; b < SZ; b++)
		ck_assert_uint_eq(q[b], 0);
	int reused = 0;
	for (int i = 0; i < N; i++) {
		uint32_t w;
		if (p[i] == q) {
			reused++;
			continue;
		}
		memcpy(&w, p[i] + SZ - 4, 4);
		ck_assert_uint_eq(w, i % 2 ? 0x11111111u : SPAN_CLOBBER_WORD);
	}
	ck_assert_int_eq(reused, 1);
	span_clobber = false;
}
END_TEST

/* sweep_check (sweep.h): holds with spans left unswept and the gate
 * open, through sweep_one and sweep_finish (then the gate is closed and
 * nothing may be unswept), and after sweep_wake opens it again. */
START_TEST(sweep_check_through_a_sweep)
{
	sweep_set_background(false);
	cycle_by_allocation();
	ck_assert_uint_gt(unswept(), 0);
	ck_assert(!sweep_none_unswept());
	ck_assert(sweep_check());
	ck_assert_uint_gt(sweep_one(), 0);
	ck_assert(sweep_check());
	sweep_finish();
	ck_assert(sweep_none_unswept());
	ck_assert(sweep_check());
	ck_assert(mcache_check());
	sweep_wake();
	ck_assert(sweep_check());
	check_kept();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep");
	TCase *tc = tcase_create("sweep");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, sweep_one_sweeps_every_span);
	tcase_add_test(tc, sweep_finish_closes_gate);
	tcase_add_test(tc, sweep_one_beside_allocation_and_free);
	tcase_add_test(tc, background_thread_sweeps);
	tcase_add_test(tc, clobber_folded_frees);
	tcase_add_test(tc, sweep_check_through_a_sweep);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test/api/test_memlimit.c -- owned by the API test suite (not by the
 * library).
 *
 * GOMEMLIMIT as in Go 1.19 (docs/tuning.md#gomemlimit), written against
 * <tricolor.h> only:
 *   - GOGC=off with a 64 MiB limit collects near the limit: over 1 GB of
 *     garbage with 8 MB live there are cycles, and the heap's retained
 *     memory (heap_sys - heap_released) and the RSS stay within 128 MB;
 *     in stop-the-world mode and, for the cycles, in concurrent mode;
 *   - a 1 MiB limit under a 16 MB live heap costs a bounded slowdown,
 *     not a stall: the GC CPU limiter keeps the collector near half the
 *     time, so the cycles per MB of garbage stay few (without it every
 *     cache refill is a cycle: thousands) and the garbage takes at most
 *     4x as long as without the limit (measured up to three times: the
 *     machine is shared). Stop-the-world mode, where the limiter delays
 *     cycles (gc/pacer.h F12), and concurrent mode.
 * The live set hangs from a global (the data and bss are roots); each
 * test runs forked by Check, with a fresh heap. Timings go to stderr.
 *
 * Run: ./build/api/test_memlimit
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../testlib.h"

#define LIVE_OBJ 1024 /* bytes per live object */

#ifdef __SANITIZE_ADDRESS__
#define RSS_CHECKED false /* ASan's shadow and quarantine are resident */
#else
#define RSS_CHECKED true
#endif

static void **live_set; /* a root: the bss is scanned */
static size_t live_n;

static tri_stats_t stats(void)
{
	tri_stats_t st;
	tri_read_stats(&st);
	return st;
}

static uint64_t retained(void)
{
	tri_stats_t st = stats();
	return st.heap_sys - st.heap_released;
}

static void build_live(size_t mb)
{
	live_n = mb * MiB / LIVE_OBJ;
	live_set = tri_malloc(live_n * sizeof *live_set);
	ck_assert_ptr_nonnull(live_set);
	for (size_t i = 0; i < live_n; i++) {
		live_set[i] = tri_malloc(LIVE_OBJ);
		ck_assert_ptr_nonnull(live_set[i]);
	}
}

/* The garbage: objects of 64 to 2063 bytes, one in 97 replacing a live
 * one (the live set keeps its size). Stops early, returning false, when
 * stop(arg) says so (checked every MB). */
typedef bool (*stop_fn)(void *arg);

static NOINLINE bool churn(size_t mb, uint64_t *seed, stop_fn stop, void *arg)
{
	size_t done = 0, next_check = MiB;
	for (unsigned long k = 1; done < mb * MiB; k++) {
		size_t n = 64 + rng_below(seed, 2000);
		char *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		p[0] = 1;
		done += n;
		if (k % 97 == 0)
			live_set[rng_below(seed, live_n)] = tri_malloc(LIVE_OBJ);
		if (done >= next_check) {
			next_check += MiB;
			if (stop && stop(arg))
				return false;
		}
	}
	return true;
}

/* ---- GOGC=off with a limit (without the fix: 0 cycles, 2.3 GB RSS) ---- */

#define OFF_LIMIT   ((size_t)64 * MiB)
#define OFF_BOUND   ((size_t)128 * MiB)
#define OFF_GARBAGE 1024

static uint64_t max_retained;

/* Record the peak; give up past 4 limits (no collection at all). */
static bool note_retained(void *arg)
{
	(void)arg;
	uint64_t r = retained();
	if (r > max_retained)
		max_retained = r;
	return r > 4 * OFF_LIMIT;
}

static void gogc_off_with_limit(bool concurrent)
{
	if (concurrent)
		ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
	tri_set_gc_percent(-1);
	tri_set_memory_limit((int64_t)OFF_LIMIT);
	size_t rss0 = rss_bytes();
	build_live(8);
	uint64_t seed = 1;
	bool finished = churn(OFF_GARBAGE, &seed, note_retained, NULL);
	tri_stats_t st = stats();
	size_t rss = rss_bytes();
	fprintf(stderr,
	        "GOGC=off GOMEMLIMIT=64MiB %s, %d MB of garbage, 8 MB live: "
	        "%llu cycles, peak retained %llu MiB, rss %zu MiB (+%zu)\n",
	        concurrent ? "concurrent" : "stop-the-world", OFF_GARBAGE,
	        U(st.num_gc), U(max_retained / MiB), rss / MiB,
	        (rss - rss0) / MiB);
	ck_assert_uint_ge(st.num_gc, 2);
	if (concurrent)
		return; /* the workers' pace depends on the machine's load */
	ck_assert(finished);
	ck_assert_uint_le(max_retained, OFF_BOUND);
	if (RSS_CHECKED)
		ck_assert_uint_le(rss, rss0 + OFF_BOUND);
}

START_TEST(gogc_off_collects_near_the_limit)
{
	gogc_off_with_limit(false);
}
END_TEST

START_TEST(gogc_off_collects_near_the_limit_concurrent)
{
	gogc_off_with_limit(true);
}
END_TEST

/* ---- a limit below the live heap (without the limiter: 100 s for 0.2 s) ---- */

#define LOW_LIVE    16
#define LOW_GARBAGE 128
#define LOW_CYCLES_PER_MB 4 /* with the limiter about 1; without, 100s */

typedef struct cycle_cap {
	uint64_t start, cap;
} cycle_cap;

static bool too_many_cycles(void *arg)
{
	const cycle_cap *c = arg;
	return stats().num_gc - c->start > c->cap;
}

/* The garbage's time; its cycles in *cycles. */
static double timed_churn(uint64_t *seed, uint64_t *cycles, bool *finished)
{
	cycle_cap c = {stats().num_gc, (uint64_t)LOW_GARBAGE * LOW_CYCLES_PER_MB};
	double t0 = now_s();
	*finished = churn(LOW_GARBAGE, seed, too_many_cycles, &c);
	double t = now_s() - t0;
	*cycles = stats().num_gc - c.start;
	return t;
}

static void limit_below_live(int mode)
{
	static const char *const names[] = {
		[TRI_MODE_STW] = "stop-the-world",
		[TRI_MODE_CONCURRENT] = "concurrent",
		[TRI_MODE_TRACKED] = "tracked",
	};
	ck_assert_int_eq(tri_set_mode(mode), 0);
	build_live(LOW_LIVE);
	uint64_t seed = 7;
	double ratio = 0;
	for (int attempt = 1; attempt <= 3; attempt++) {
		uint64_t c0, c1;
		bool done0, done1;
		tri_set_memory_limit(INT64_MAX);
		double t0 = timed_churn(&seed, &c0, &done0);
		tri_set_memory_limit((int64_t)MiB);
		double t1 = timed_churn(&seed, &c1, &done1);
		ratio = t1 / t0;
		fprintf(stderr,
		        "GOMEMLIMIT=1MiB %s, %d MB live, %d MB of garbage "
		        "(attempt %d): %.3f s, %llu cycles; without the limit "
		        "%.3f s, %llu cycles: %.2fx\n",
		        names[mode], LOW_LIVE,
		        LOW_GARBAGE, attempt, t1, U(c1), t0, U(c0), ratio);
		ck_assert(done0);
		ck_assert_msg(done1, "more than %d cycles per MB of garbage",
		              LOW_CYCLES_PER_MB);
		ck_assert_uint_ge(c1, 1);
		if (ratio <= 4)
			break;
	}
	ck_assert_msg(ratio <= 4, "%.2fx slower with the limit", ratio);
	for (size_t i = 0; i < live_n; i += 4096) /* the live set survived */
		ck_assert_ptr_eq(tri_base(live_set[i]), live_set[i]);
}

START_TEST(limit_below_live_heap_stw)
{
	limit_below_live(TRI_MODE_STW);
}
END_TEST

START_TEST(limit_below_live_heap_concurrent)
{
	limit_below_live(TRI_MODE_CONCURRENT);
}
END_TEST

START_TEST(limit_below_live_heap_tracked)
{
	limit_below_live(TRI_MODE_TRACKED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memlimit");
	TCase *tc = tcase(s, "gogc_off", 240);
	tcase_add_test(tc, gogc_off_collects_near_the_limit);
	tcase_add_test(tc, gogc_off_collects_near_the_limit_concurrent);
	tc = tcase(s, "below_live", 240);
	tcase_add_test(tc, limit_below_live_heap_stw);
	tcase_add_test(tc, limit_below_live_heap_concurrent);
	tcase_add_test(tc, limit_below_live_heap_tracked);
	return run_suite(s);
}

/*
 * test/api/test_scavenge.c -- owned by the API test suite (not by the
 * library).
 *
 * Memory going back to the OS, written against <tricolor.h> only, with the
 * process's resident set read from /proc/self/statm:
 *   - after 500 MB is built, dropped and collected, RSS falls to within
 *     20 % of the live heap plus a fixed slack within a few seconds with
 *     the background scavenger alone, and at once with tri_free_os_memory;
 *   - heap_released follows, and memory released and allocated again
 *     comes back zeroed and keeps what is written to it;
 *   - the number of mappings in /proc/self/maps stays bounded under heavy
 *     large-object churn with memory released all the while;
 *   - with GOGC=off nothing is released until GOMEMLIMIT gives a goal;
 *     then RSS falls under the limit;
 *   - GODEBUG=madvdontneed=0 (MADV_FREE) and scavtrace=1: the same
 *     accounting, correct data, and Go 1.19's scav lines on stderr.
 * Each test runs forked by Check, so each starts with a fresh heap and
 * reads GODEBUG for the first time.
 *
 * Run: ./build/api/test_scavenge
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TESTLIB_REAL_STACKS
#include "../testlib.h"

#define BUILD_MB 500
#define OBJ_SIZE 4000           /* class 4096: two objects per page */
#define SLACK ((size_t)64 * MiB) /* fixed: metadata, binaries, stacks;
                                   the scavenger's own goal (~1.1 x the
                                   heap goal) lies about 12 MiB under */

static tri_stats_t stats(void)
{
	tri_stats_t st;
	tri_read_stats(&st);
	return st;
}

/* The table of objects built; kept in a global so it is a root. */
static void **g_objs;
static size_t g_nobjs;

/* Build BUILD_MB MB of stamped objects (and a few large ones), touching
 * every byte, then drop all but every 64th. */
static NOINLINE void build_and_drop(void)
{
	g_nobjs = (size_t)BUILD_MB * 1000 * 1000 / OBJ_SIZE;
	g_objs = tri_malloc(g_nobjs * sizeof *g_objs);
	ck_assert_ptr_nonnull(g_objs);
	for (size_t i = 0; i < g_nobjs; i++) {
		size_t n = i % 97 == 0 ? 300 * KiB : OBJ_SIZE;
		g_objs[i] = tri_malloc_noscan(n);
		ck_assert_ptr_nonnull(g_objs[i]);
		memset(g_objs[i], 0x5a, n);
		if (i % 97 == 0)
			i += 300 * KiB / OBJ_SIZE; /* count its bytes */
	}
	for (size_t i = 0; i < g_nobjs; i++)
		if (i % 64 != 0)
			g_objs[i] = NULL;
	clear_stack();
}

/* RSS allowed for the live heap: within 20 % of it, plus the slack and
 * what the process held before the heap grew. */
static size_t rss_bound(size_t base_rss)
{
	return base_rss + SLACK + stats().heap_alloc * 12 / 10;
}

/* Poll RSS every 50 ms until it is at most bound, for up to 90 s (the
 * scavenger is paced to about 1 % of one CPU, so a loaded machine slows
 * it: it takes 15 to 25 s here when idle); the last reading, and the
 * seconds waited in *t. */
static size_t wait_rss_at_most(size_t bound, double *t)
{
	double t0 = now_s();
	size_t rss = rss_bytes();
	*t = 0;
	while (rss > bound && (*t = now_s() - t0) < 90) {
		usleep(50 * 1000);
		rss = rss_bytes();
	}
	return rss;
}

START_TEST(background_scavenger_returns_memory)
{
	size_t base = rss_bytes();
	build_and_drop();
	ck_assert_uint_gt(rss_bytes(), base + 400 * MiB);
	tri_collect();
	size_t bound = rss_bound(base);
	double t;
	size_t rss = wait_rss_at_most(bound, &t);
	fprintf(stderr, "background: rss %zu MiB (bound %zu MiB) after %.2f s; "
	        "heap_released %llu MiB\n", rss / MiB, bound / MiB, t,
	        U(stats().heap_released / MiB));
	ck_assert_uint_le(rss, bound);
	ck_assert_uint_ge(stats().heap_released, 300 * MiB);
}
END_TEST

/* Every kept object still holds its bytes. */
static void check_kept(void)
{
	for (size_t i = 0; i < g_nobjs; i += 64) {
		if (!g_objs[i])
			continue;
		size_t n = tri_usable_size(g_objs[i]) < OBJ_SIZE
		               ? tri_usable_size(g_objs[i]) : OBJ_SIZE;
		const unsigned char *p = g_objs[i];
		if (p[0] != 0x5a || p[n - 1] != 0x5a)
			ck_abort_msg("object %zu lost its contents", i);
	}
}

START_TEST(free_os_memory_returns_memory_at_once)
{
	size_t base = rss_bytes();
	build_and_drop();
	tri_free_os_memory();
	size_t rss = rss_bytes(), bound = rss_bound(base);
	tri_stats_t st = stats();
	fprintf(stderr, "tri_free_os_memory: rss %zu MiB (bound %zu MiB), "
	        "heap_released %llu MiB, heap_idle %llu MiB\n", rss / MiB,
	        bound / MiB, U(st.heap_released / MiB), U(st.heap_idle / MiB));
	ck_assert_uint_le(rss, bound);
	ck_assert_uint_ge(st.heap_released, 400 * MiB);
	ck_assert_uint_le(st.heap_released, st.heap_idle);
	check_kept();
}
END_TEST

/* Released pages allocated again: zeroed, and they keep what is written
 * (a page the kernel dropped after the write would read zero). */
START_TEST(released_memory_reused_zeroed_and_correct)
{
	build_and_drop();
	tri_free_os_memory();
	uint64_t released = stats().heap_released;
	enum { N = 40000 };
	static void *again[N];
	for (size_t i = 0; i < N; i++) {
		size_t n = i % 50 == 0 ? 100 * KiB : OBJ_SIZE;
		again[i] = tri_malloc_noscan(n);
		ck_assert_ptr_nonnull(again[i]);
		if (first_nonzero(again[i], n) != n)
			ck_abort_msg("object %zu (%zu bytes) not zeroed", i, n);
		stamp(again[i], n, mix64(i));
	}
	ck_assert_uint_lt(stats().heap_released, released); /* reused */
	for (size_t i = 0; i < N; i++) {
		size_t n = i % 50 == 0 ? 100 * KiB : OBJ_SIZE;
		if (stamp_check(again[i], n, n, mix64(i)) != n)
			ck_abort_msg("object %zu lost its contents", i);
	}
	check_kept();
}
END_TEST

static size_t count_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	ck_assert_ptr_nonnull(f);
	size_t n = 0;
	int c;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Large objects of many sizes allocated and dropped while memory is
 * released all the time: the mapping count stays flat. */
START_TEST(mappings_bounded_under_large_churn)
{
	enum { WINDOW = 64, ROUNDS = 4000 };
	static void *win[WINDOW];
	uint64_t rng = 7;
	tri_free_os_memory(); /* the heap and its threads exist */
	size_t start = count_mappings(), most = start;
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = 40 * KiB + (size_t)rng_below(&rng, 4 * MiB);
		void *p = tri_malloc_noscan(n);
		ck_assert_ptr_nonnull(p);
		((char *)p)[0] = ((char *)p)[n - 1] = 1;
		size_t k = (size_t)rng_below(&rng, WINDOW);
		if (win[k] && r % 2) /* half freed, half left to the collector */
			tri_free(win[k]);
		win[k] = p;
		if (r % 500 == 499) {
			tri_free_os_memory();
			size_t m = count_mappings();
			most = m > most ? m : most;
		}
	}
	fprintf(stderr, "mappings: %zu at start, at most %zu; heap_released "
	        "%llu MiB\n", start, most, U(stats().heap_released / MiB));
	ck_assert_uint_le(most, start + 16);
	ck_assert_uint_gt(stats().heap_released, 0);
}
END_TEST

/* GOGC=off: no GOGC goal, so nothing is released until GOMEMLIMIT sets
 * one; then the background scavenger brings RSS under the limit. */
START_TEST(memory_limit_goal_without_gogc)
{
	tri_set_gc_percent(-1);
	size_t base = rss_bytes();
	build_and_drop();
	tri_collect();
	usleep(300 * 1000);
	ck_assert_uint_gt(rss_bytes(), base + 300 * MiB); /* kept */
	tri_set_memory_limit(64 * (int64_t)MiB);
	tri_collect(); /* its sweep readies the scavenger */
	size_t bound = base + 64 * MiB + SLACK;
	double t;
	size_t rss = wait_rss_at_most(bound, &t);
	fprintf(stderr, "GOMEMLIMIT=64MiB, GOGC=off: rss %zu MiB (bound %zu "
	        "MiB) after %.2f s\n", rss / MiB, bound / MiB, t);
	ck_assert_uint_le(rss, bound);
	check_kept();
}
END_TEST

/* GODEBUG=madvdontneed=0,scavtrace=1 with stderr captured in a file. */
START_TEST(madv_free_and_scavtrace)
{
	char path[] = "/tmp/tricolor-scavtrace-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	int saved = dup(2);
	ck_assert_int_eq(dup2(fd, 2), 2);
	setenv("GODEBUG", "madvdontneed=0,scavtrace=1", 1);
	build_and_drop();
	tri_free_os_memory();
	uint64_t released = stats().heap_released;
	void *p = tri_malloc_noscan(64 * KiB);
	ck_assert_uint_eq(first_nonzero(p, 64 * KiB), 64 * KiB);
	check_kept();
	dup2(saved, 2);
	close(saved);

	char buf[16384];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	close(fd);
	regex_t re;
	ck_assert_int_eq(regcomp(&re, "^scav [0-9]+ KiB work, [0-9]+ KiB "
	                              "total, [0-9]+% util \\(forced\\)$",
	                         REG_EXTENDED | REG_NEWLINE), 0);
	regmatch_t m;
	ck_assert_msg(regexec(&re, buf, 1, &m, 0) == 0,
	              "no forced scav line in:\n%s", buf);
	unsigned long work = strtoul(buf + m.rm_so + 5, NULL, 10);
	ck_assert_uint_ge(work, 300 * 1024); /* KiB released by the call */
	regfree(&re);
	ck_assert_uint_ge(released, 400 * MiB);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scavenge");
	TCase *tc = tcase(s, "rss", 180);
	tcase_add_test(tc, background_scavenger_returns_memory);
	tcase_add_test(tc, free_os_memory_returns_memory_at_once);
	tcase_add_test(tc, released_memory_reused_zeroed_and_correct);
	tcase_add_test(tc, mappings_bounded_under_large_churn);
	tcase_add_test(tc, memory_limit_goal_without_gogc);
	tcase_add_test(tc, madv_free_and_scavtrace);
	return run_suite(s);
}

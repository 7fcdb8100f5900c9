/*
 * test_mcache.c -- per-thread caches (alloc/mcache.h): refill, the flush
 * on thread exit (nothing stranded), frees from another thread, and the
 * tiny allocator's packing, usable sizes and block reclaim.
 */
#include "arena.h"
#include "mcache.h"
#include "unit.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

static void *alloc_some(void *arg)
{
	void **out = arg;
	for (int i = 0; i < 1000; i++)
		out[i] = tri_malloc(16 + (size_t)i % 200);
	return NULL;
}

START_TEST(thread_exit_returns_spans)
{
	static void *objs[1000];
	uint64_t before = mheap_inuse_bytes();
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_some, objs), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* The exited thread's cached spans are on mcentral lists now: when
	 * every object is freed, every span goes back to the heap. */
	for (int i = 0; i < 1000; i++)
		tri_free(objs[i]);
	ck_assert_uint_eq(mheap_inuse_bytes(), before);
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_eq(st.mallocs, 1000);
	ck_assert_uint_eq(st.frees, 1000);
	ck_assert_uint_eq(st.heap_alloc, 0);
}
END_TEST

static void *free_all(void *arg)
{
	void **objs = arg;
	for (int i = 0; i < 1000; i++) {
		ck_assert_uint_eq(*(unsigned *)objs[i], (unsigned)i);
		tri_free(objs[i]);
	}
	return NULL;
}

START_TEST(cross_thread_free_is_reused)
{
	static void *objs[1000];
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 1000; i++) {
			objs[i] = tri_malloc(48);
			*(unsigned *)objs[i] = (unsigned)i;
		}
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, free_all, objs), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
	}
	tri_stats_t st;
	tri_read_stats(&st);
	/* Five rounds of 48 KiB reuse the same spans: far below 5 rounds'
	 * worth of fresh spans. */
	ck_assert_uint_le(st.heap_inuse, 2 * 1000 * 48 + 64 * 1024);
	ck_assert_uint_eq(st.heap_alloc, 0);
}
END_TEST

START_TEST(unregister_flushes_and_reregisters)
{
	void *p = tri_malloc(100);
	ck_assert_ptr_nonnull(mcache_tls);
	ck_assert_int_eq(tri_thread_unregister(), 0);
	ck_assert_ptr_null(mcache_tls);
	ck_assert_int_eq(tri_thread_unregister(), -1);
	tri_free(p); /* registers again */
	ck_assert_ptr_nonnull(mcache_tls);
	ck_assert_int_eq(tri_thread_register(), 0);
	ck_assert_int_eq(tri_thread_register(), 0);
}
END_TEST

START_TEST(tiny_packs_and_aligns)
{
	char *a = tri_malloc_noscan(8);
	char *b = tri_malloc_noscan(4);
	char *c = tri_malloc_noscan(1);
	char *d = tri_malloc_noscan(2);
	/* One 16-byte block: 8 at 0, 4 at 8, 1 at 12, 2 at 14 (Go's rule). */
	ck_assert_ptr_eq(b, a + 8);
	ck_assert_ptr_eq(c, a + 12);
	ck_assert_ptr_eq(d, a + 14);
	ck_assert_uint_eq(tri_usable_size(a), 8);
	ck_assert_uint_eq(tri_usable_size(b), 4);
	ck_assert_uint_eq(tri_usable_size(c), 1);
	ck_assert_uint_eq(tri_usable_size(d), 2);
	mspan *s = arena_span_of((uintptr_t)a);
	ck_assert_ptr_nonnull(s->tiny);
	memset(a, 1, 8);
	memset(b, 2, 4);
	tri_free(a);
	tri_free(c);
	ck_assert_uint_eq(b[0], 2);
	tri_free(b);
	tri_free(d);
}
END_TEST

START_TEST(tiny_blocks_are_reclaimed)
{
	static char *p[20000];
	tri_stats_t st0, st1;
	tri_read_stats(&st0);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 20000; i++) {
			p[i] = tri_malloc_noscan(1 + (size_t)i % 15);
			for (size_t k = 0; k < 1 + (size_t)i % 15; k++)
				ck_assert_uint_eq(p[i][k], 0);
			memset(p[i], 0x77, 1 + (size_t)i % 15);
		}
		for (int i = 0; i < 20000; i++)
			tri_free(p[i]);
	}
	tri_read_stats(&st1);
	ck_assert_uint_eq(st1.mallocs - st0.mallocs, 20 * 20000);
	ck_assert_uint_eq(st1.frees - st0.frees, 20 * 20000);
	ck_assert_uint_le(st1.heap_alloc, 16); /* at most the current block */
	ck_assert_uint_le(st1.heap_inuse, 2 * 1024 * 1024);
}
END_TEST

/* An exhausted span with enough pending frees is reclaimed by its owner in
 * place: the refill keeps the same span and reuses exactly those slots,
 * without going through the central lists. */
START_TEST(refill_reclaims_in_place)
{
	void *p[128];
	for (int i = 0; i < 128; i++)
		p[i] = tri_malloc(64); /* one 128-object span */
	mspan *s = arena_span_of((uintptr_t)p[0]);
	ck_assert_ptr_eq(arena_span_of((uintptr_t)p[127]), s);
	spanclass_t spc = s->spanclass;
	ck_assert_ptr_eq(mcache_tls->alloc[spc], s);
	for (int i = 0; i < 128; i += 4)
		tri_free(p[i]); /* 32 pending >= 128 / 8 */
	for (int i = 0; i < 128; i += 4) {
		void *q = tri_malloc(64);
		ck_assert_ptr_eq(q, p[i]); /* same slots, in address order */
		ck_assert_int_eq(((char *)q)[0], 0);
	}
	ck_assert_ptr_eq(mcache_tls->alloc[spc], s);
	/* Never uncached: last_owner is written only by mcentral_uncache_span
	 * (a trip through the central list would have set it). */
	ck_assert_ptr_null(s->last_owner);
	for (int i = 0; i < 128; i++)
		tri_free(p[i]);
}
END_TEST

static atomic_word stop_churn;

static void *churn(void *arg)
{
	(void)arg;
	void *keep[64] = {0};
	for (unsigned long i = 0; !atomic_load_acquire(&stop_churn); i++) {
		tri_free(keep[i % 64]);
		keep[i % 64] = tri_malloc(16 + (i * 7919) % 3000);
	}
	for (int i = 0; i < 64; i++)
		tri_free(keep[i]);
	return NULL;
}

/* fork() while other threads allocate: without the atfork handlers the
 * child can inherit a heap lock held by a thread that does not exist in it
 * and hang (the tcase timeout turns that into a failure). */
START_TEST(fork_while_threads_allocate)
{
	/* Registered before the fork: registering reads the stack bounds with
	 * pthread_getattr_np, which allocates with the C library's malloc;
	 * under ASan that allocator is not safe in the child of a fork taken
	 * while other threads run (glibc's own malloc is). */
	ck_assert_int_eq(tri_thread_register(), 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, NULL), 0);
	for (int round = 0; round < 100; round++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			void *p[1000];
			for (int i = 0; i < 1000; i++)
				p[i] = tri_malloc(16 + (size_t)i * 13 % 5000);
			for (int i = 0; i < 1000; i++)
				tri_free(p[i]);
			tri_stats_t st;
			tri_read_stats(&st);
			_exit(mheap_check() && mcentral_check() ? 0 : 3);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store_release(&stop_churn, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}
END_TEST

static void tiny_double_free(void)
{
	char *a = tri_malloc_noscan(3);
	char *b = tri_malloc_noscan(3);
	tri_free(a);
	tri_free(b);
	tri_thread_unregister(); /* the block's last reference goes */
	tri_free(a);             /* slot is free now: must abort */
}

START_TEST(tiny_double_free_aborts)
{
	tiny_double_free();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mcache");
	TCase *tc = tcase_create("mcache");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, thread_exit_returns_spans);
	tcase_add_test(tc, cross_thread_free_is_reused);
	tcase_add_test(tc, unregister_flushes_and_reregisters);
	tcase_add_test(tc, tiny_packs_and_aligns);
	tcase_add_test(tc, tiny_blocks_are_reclaimed);
	tcase_add_test_raise_signal(tc, tiny_double_free_aborts, SIGABRT);
	tcase_add_test(tc, fork_while_threads_allocate);
	tcase_add_test(tc, refill_reclaims_in_place);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_mcache.c -- per-thread caches (alloc/mcache.h): refill, the flush
 * on thread exit (nothing stranded), frees from another thread, the
 * thread's free lists (reuse, cap, flush, double frees), and the tiny
 * allocator's packing, usable sizes and block reclaim.
 */
#include "arena.h"
#include "malloc.h"
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
	tri_thread_unregister(); /* this thread's free lists go back too */
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
	mcache_tls->free[spc].cap = 0; /* frees go to the span's bits */
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

/* ---- the thread's free lists (mcache.h I4, I5) ---- */

static mcache_freelist *list_of(const void *p)
{
	return &mcache_tls->free[arena_span_of((uintptr_t)p)->spanclass];
}

/* A freed object is handed out again by the next allocation of its class
 * on the same thread: last freed, first reused, and zeroed. */
START_TEST(freed_object_is_reused_first)
{
	char *a = tri_malloc(100), *b = tri_malloc(100);
	memset(a, 0x5a, 100);
	uint32_t n = list_of(a)->n;
	tri_free(a);
	tri_free(b);
	ck_assert_uint_eq(list_of(a)->n, n + 2);
	ck_assert_ptr_eq(tri_malloc(100), b);
	char *c = tri_malloc(100);
	ck_assert_ptr_eq(c, a);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(c[i], 0);
	ck_assert_uint_eq(list_of(a)->n, n);
	tri_free(b);
	tri_free(c);
}
END_TEST

/* The C library's malloc (malloc_uninit) keeps the old contents but clears
 * the list's two words, so the object's own free is not taken for a
 * double free. */
START_TEST(uninit_reuse_clears_only_the_list_words)
{
	uintptr_t *a = tri_malloc(64);
	for (int i = 0; i < 8; i++)
		a[i] = 0x1111 * (uintptr_t)(i + 1);
	tri_free(a);
	ck_assert_uint_eq(a[1], mcache_free_key);
	uintptr_t *b = malloc_uninit(64);
	ck_assert_ptr_eq(b, a);
	ck_assert_uint_eq(b[0], 0);
	ck_assert_uint_eq(b[1], 0);
	for (int i = 2; i < 8; i++)
		ck_assert_uint_eq(b[i], 0x1111 * (uintptr_t)(i + 1));
	tri_free(b); /* no abort */
	b = realloc_uninit(NULL, 64);
	ck_assert_ptr_eq(b, a);
	tri_free(b);
}
END_TEST

/* Past its cap a list gives half back to the spans as explicit frees: the
 * heap stays bounded and every trimmed slot is reusable from its span. */
START_TEST(list_is_trimmed_at_its_cap)
{
	enum { N = 3000 };
	static void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = tri_malloc(256);
	mcache_freelist *l = list_of(p[0]);
	ck_assert_uint_gt(l->cap, 0);
	for (int i = 0; i < N; i++) {
		tri_free(p[i]);
		ck_assert_uint_le(l->n, l->cap);
	}
	ck_assert_uint_ge(l->n, l->cap / 2);
	unsigned pending = 0;
	for (int i = 0; i < N; i++) {
		mspan *s = arena_span_of((uintptr_t)p[i]);
		bool in_use = s && span_state(s) == SPAN_IN_USE &&
		              (uintptr_t)p[i] >= s->base; /* else: span freed */
		pending += !in_use || !span_is_allocated(s, span_obj_index(
			s, (uintptr_t)p[i] - s->base));
	}
	ck_assert_uint_eq(pending, N - l->n); /* listed ones stay allocated */
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_eq(st.heap_objects, 0);
}
END_TEST

/* Every stop of the world empties the lists (I5): after a collection,
 * nothing is listed, and allocating again never hands one slot out twice
 * (a listed object the sweep had freed would come back from both). */
START_TEST(collection_flushes_the_lists)
{
	enum { N = 2000 };
	static void *p[N];
	for (int i = 0; i < N; i++)
		p[i] = tri_malloc(32 + (size_t)i % 300);
	for (int i = 0; i < N; i += 2)
		tri_free(p[i]);
	tri_collect();
	for (unsigned spc = 0; spc < NUM_SPAN_CLASSES; spc++)
		ck_assert_ptr_null(mcache_tls->free[spc].head);
	for (int i = 0; i < N; i += 2)
		p[i] = tri_malloc(32 + (size_t)i % 300);
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			ck_assert_ptr_ne(p[i], p[j]);
	for (int i = 0; i < N; i++)
		tri_free(p[i]);
}
END_TEST

/* While a concurrent mark runs nothing is listed (I5), and objects sampled
 * by the heap profile keep the span path, where their free is booked. */
START_TEST(mark_and_samples_bypass_the_list)
{
	void *a = tri_malloc(80);
	uint32_t n = list_of(a)->n;
	atomic_store_relaxed(&span_alloc_black, 1);
	tri_free(a);
	atomic_store_relaxed(&span_alloc_black, 0);
	ck_assert_uint_eq(list_of(a)->n, n);
	mspan *s = arena_span_of((uintptr_t)a);
	ck_assert(!span_is_allocated(s, span_obj_index(s, (uintptr_t)a -
	                                                     s->base)));
	tri_set_profile_rate(1);
	void *b = tri_malloc(80);
	tri_set_profile_rate(0);
	ck_assert(arena_span_of((uintptr_t)b)->has_specials);
	n = list_of(b)->n;
	tri_free(b);
	ck_assert_uint_eq(list_of(b)->n, n);
}
END_TEST

static void listed_double_free(void)
{
	void *a = tri_malloc(48);
	tri_free(a);
	tri_free(a); /* on the list: must abort */
}

START_TEST(listed_double_free_aborts)
{
	listed_double_free();
}
END_TEST

/* tri_free never reads the block it frees (mcache.h I6): a block freed
 * twice with another free between (or by two threads racing) is listed
 * twice, and the copy that leaves the list second finds no key there and
 * aborts before the block is handed out twice: on reuse ... */
static void double_free_on_reuse(void)
{
	void *a = tri_malloc(48), *b = tri_malloc(48);
	tri_free(a);
	tri_free(b);
	tri_free(a); /* not the head: listed again */
	ck_assert_ptr_eq(tri_malloc(48), a);
	ck_assert_ptr_eq(tri_malloc(48), b);
	ck_assert_ptr_null(tri_malloc(48)); /* the second copy: aborts */
}

START_TEST(double_free_aborts_on_reuse)
{
	double_free_on_reuse();
}
END_TEST

/* ... or when the list goes back to the spans (the thread exits, or the
 * world stops): the second copy finds its slot already pending. */
static void double_free_on_flush(void)
{
	void *a = tri_malloc(48), *b = tri_malloc(48);
	tri_free(a);
	tri_free(b);
	tri_free(a);
	tri_thread_unregister();
}

START_TEST(double_free_aborts_on_flush)
{
	double_free_on_flush();
}
END_TEST

static void flushed_double_free(void)
{
	void *a = tri_malloc(48);
	tri_free(a);
	tri_thread_unregister(); /* the list goes back to the span */
	tri_free(a);             /* pending in its span: must abort */
}

START_TEST(flushed_double_free_aborts)
{
	flushed_double_free();
}
END_TEST

/* fork() while another thread holds a cached span: in the child that
 * thread is gone, but an object it allocated can still be live (handed to
 * this thread). Its span must be swept like any other, or its mark bits
 * stay set from the child's first cycle and the next cycle takes the
 * object for already scanned: what only it references is then freed while
 * reachable. */
struct holder {
	void *ref; /* the only pointer to a second object */
};
static struct holder *volatile handed;
static mcache *volatile other_cache;
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_stage;

static void stage_set(int stage)
{
	pthread_mutex_lock(&hold_mu);
	hold_stage = stage;
	pthread_cond_broadcast(&hold_cv);
	pthread_mutex_unlock(&hold_mu);
}

static void stage_wait(int stage)
{
	pthread_mutex_lock(&hold_mu);
	while (hold_stage != stage)
		pthread_cond_wait(&hold_cv, &hold_mu);
	pthread_mutex_unlock(&hold_mu);
}

/* The other thread: allocates `handed` from its own span, publishes its
 * cache, and waits (holding both) until the test is done. */
static void *hand_over_and_wait(void *arg)
{
	(void)arg;
	handed = tri_malloc(sizeof(struct holder));
	other_cache = mcache_tls;
	stage_set(1);
	stage_wait(2);
	return NULL;
}

static pthread_t start_holder(void)
{
	hold_stage = 0;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, hand_over_and_wait, NULL), 0);
	stage_wait(1);
	return t;
}

/* Reap the fork child (it must exit 0), then let the holder go. */
static void finish_fork_test(pid_t pid, pthread_t t)
{
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	stage_set(2);
	pthread_join(t, NULL);
}

START_TEST(fork_child_sweeps_spans_of_vanished_threads)
{
	pthread_t t = start_holder();
	handed->ref = tri_malloc(4096); /* reachable only through handed */
	memset(handed->ref, 0x5c, 4096);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (int i = 0; i < 3; i++) {
			tri_collect();
			for (int k = 0; k < 64; k++) /* reuse any freed slot */
				memset(tri_malloc(4096), 0x11, 4096);
		}
		const unsigned char *r = handed->ref;
		for (int i = 0; i < 4096; i++)
			if (r[i] != 0x5c)
				_exit(4);
		_exit(mheap_check() && mcentral_check() ? 0 : 3);
	}
	finish_fork_test(pid, t);
}
END_TEST

/* fork() while another thread is inside mcache_refill: it has given its
 * old span back to the central list but not yet cleared the slot naming
 * it, and taken a new span but not yet stored it. The child must file
 * each span exactly once: the old one is not uncached again (it would be
 * on two lists, or swept after the central list freed it), the new one
 * is not left cached by nobody (it would never be swept). Each window is
 * set up by hand on the other thread's cache, then closed in the parent
 * as mcache_refill would. */
START_TEST(fork_child_files_spans_of_a_refill_once)
{
	pthread_t t = start_holder();
	mcache *c = other_cache;
	unsigned ci = mcentral_index_of(arena_span_of((uintptr_t)handed));
	mspan *given_back = c->alloc[ci];
	mcentral_uncache_span(given_back, c); /* slot not yet cleared */
	void *p = tri_malloc(1000);
	unsigned cj = mcentral_index_of(arena_span_of((uintptr_t)p));
	mspan *taken = mcentral_cache_span(cj, c); /* not yet stored */
	ck_assert_ptr_nonnull(taken);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		bool ok = taken->location != SPAN_LOC_CACHED &&
		          mheap_check() && mcentral_check();
		tri_collect();
		_exit(ok && mheap_check() && mcentral_check() ? 0 : 3);
	}
	c->alloc[ci] = &mcache_empty_span; /* the refill, finished */
	mcentral_uncache_span(taken, c);
	finish_fork_test(pid, t);
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
	tcase_add_test(tc, fork_child_sweeps_spans_of_vanished_threads);
	tcase_add_test(tc, fork_child_files_spans_of_a_refill_once);
	tcase_add_test(tc, refill_reclaims_in_place);
	tcase_add_test(tc, freed_object_is_reused_first);
	tcase_add_test(tc, uninit_reuse_clears_only_the_list_words);
	tcase_add_test(tc, list_is_trimmed_at_its_cap);
	tcase_add_test(tc, collection_flushes_the_lists);
	tcase_add_test(tc, mark_and_samples_bypass_the_list);
	tcase_add_test_raise_signal(tc, listed_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, flushed_double_free_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, double_free_aborts_on_reuse, SIGABRT);
	tcase_add_test_raise_signal(tc, double_free_aborts_on_flush, SIGABRT);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_walkers.c -- the collector's <module>_check walkers: each holds at
 * rest, with the world stopped between stop-the-world and concurrent
 * cycles while other threads allocate and free, and at the end of a mark
 * (mark_check); each reports a broken invariant (the tests break one
 * and mend it before teardown); and the debug build's asserts stop the
 * program where an invariant they rely on does not hold.
 */
#include "../../barrier/wbbuf.h"
#include "arena.h"
#include "bgmark.h"
#include "checkmark.h"
#include "gc.h"
#include "mark.h"
#include "mcache.h"
#include "roots.h"
#include "scavenge.h"
#include "stacks.h"
#include "sweep.h"
#include "threads.h"
#include "unit.h"
#include "work.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

/* ---- every walker, with the world stopped ---- */

enum {
	W_THREADS, W_WBBUF, W_MCACHE, W_SWEEP, W_ROOTS, W_STACKS, W_WORK,
	W_CHECKMARK, W_BGMARK, W_SCAVENGE, W_MCENTRAL, W_MHEAP, W_COUNT
};
static const char *const walker_names[W_COUNT] = {
	"threads", "wbbuf", "mcache", "sweep", "roots", "stacks", "work",
	"checkmark", "bgmark", "scavenge", "mcentral", "mheap",
};

typedef struct walk_result {
	bool ok[W_COUNT];
} walk_result;

/* gc_with_world_stopped: the walkers' conditions (threads_lock held,
 * world stopped, no cycle); results checked after the world restarts. */
static void walk_stopped(void *arg)
{
	walk_result *r = arg;
	r->ok[W_THREADS] = threads_check();
	r->ok[W_WBBUF] = wbbuf_check();
	r->ok[W_MCACHE] = mcache_check();
	r->ok[W_SWEEP] = sweep_check();
	r->ok[W_ROOTS] = roots_check();
	r->ok[W_STACKS] = stacks_check();
	r->ok[W_WORK] = work_check_idle();
	r->ok[W_CHECKMARK] = checkmark_check();
	r->ok[W_BGMARK] = bgmark_check();
	r->ok[W_SCAVENGE] = scavenge_check();
	r->ok[W_MCENTRAL] = mcentral_check();
	r->ok[W_MHEAP] = mheap_check();
}

static void assert_walkers_hold(void)
{
	walk_result r;
	memset(&r, 0, sizeof r);
	gc_with_world_stopped(walk_stopped, &r);
	for (int i = 0; i < W_COUNT; i++)
		ck_assert_msg(r.ok[i], "%s_check failed", walker_names[i]);
}

START_TEST(walkers_hold_at_rest)
{
	assert_walkers_hold(); /* nothing allocated by this thread yet */
	void *keep[64];
	for (int i = 0; i < 64; i++)
		keep[i] = tri_malloc((size_t)(i * 97 % 5000) + 1);
	for (int i = 0; i < 64; i += 3)
		tri_free(keep[i]);
	assert_walkers_hold();
	tri_collect();
	assert_walkers_hold();
}
END_TEST

/* Threads that allocate, keep a few and free the rest, while the main
 * thread runs cycles and the walkers between them. */
enum { CHURN_THREADS = 2, CHURN_KEEP = 256 };
static atomic_word churn_stop;

static void *churn(void *arg)
{
	unsigned long seed = (unsigned long)(uintptr_t)arg * 2654435761u | 1;
	void *keep[CHURN_KEEP] = {0};
	while (!atomic_load_acquire(&churn_stop)) {
		unsigned k = (unsigned)(unit_rand(&seed) % CHURN_KEEP);
		size_t n = unit_rand(&seed) % 3 ? unit_rand(&seed) % 600 + 1
		                                : unit_rand(&seed) % 70000 + 1;
		if (keep[k] && unit_rand(&seed) % 2)
			tri_free(keep[k]);
		bool scan = unit_rand(&seed) % 4; /* noscan ones may be tiny */
		keep[k] = scan ? tri_malloc(n) : tri_malloc_noscan(n);
		ck_assert_ptr_nonnull(keep[k]);
		void **next = keep[(k + 1) % CHURN_KEEP];
		if (scan && n >= sizeof(void *))
			TRI_STORE(*(void **)keep[k], next);
	}
	return NULL;
}

static void cycles_with_churn(int mode)
{
	ck_assert_int_eq(tri_set_mode(mode), 0);
	pthread_t t[CHURN_THREADS];
	atomic_store_relaxed(&churn_stop, 0);
	for (uintptr_t i = 0; i < CHURN_THREADS; i++)
		ck_assert_int_eq(tri_pthread_create(&t[i], NULL, churn,
		                                     (void *)(i + 1)), 0);
	for (int round = 0; round < 4; round++) {
		tri_collect();
		assert_walkers_hold();
	}
	atomic_store_release(&churn_stop, 1);
	for (int i = 0; i < CHURN_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	tri_collect();
	assert_walkers_hold();
}

START_TEST(walkers_hold_through_stw_cycles)
{
	cycles_with_churn(TRI_MODE_STW);
}
END_TEST

START_TEST(walkers_hold_through_concurrent_cycles)
{
	cycles_with_churn(TRI_MODE_CONCURRENT);
}
END_TEST

/* ---- mark_check: at the end of a stop-the-world mark ---- */

static void *root_slot;

typedef struct mark_result {
	bool before, after;
	uintptr_t unmark; /* 0, or an object to unmark between the checks */
} mark_result;

static void unmark(uintptr_t p)
{
	mspan *s = arena_span_of(p);
	uintptr_t idx = s->divmul ? span_obj_index(s, p - s->base) : 0;
	atomic_word *m = &span_marks(s)[idx / 64];
	atomic_store_relaxed(m, atomic_load_relaxed(m) &
	                            ~((uintptr_t)1 << (idx % 64)));
}

static void mark_stopped(void *arg)
{
	mark_result *r = arg;
	mark_begin(false);
	roots_prepare(true);
	mark_run();
	r->before = mark_check();
	if (r->unmark)
		unmark(r->unmark);
	r->after = mark_check();
}

/* A list hanging from a user root, marked by a mark run by hand (no
 * cycle sweeps after it: automatic cycles are off). */
static void build_list(void)
{
	tri_set_gc_percent(-1);
	void **head = NULL;
	for (int i = 0; i < 500; i++) {
		void **n = tri_malloc(i % 50 == 0 ? 200000 : 48);
		n[0] = head;
		head = n;
	}
	root_slot = head;
	tri_add_roots(&root_slot, &root_slot + 1);
	mark_start_helpers();
}

START_TEST(mark_check_agrees_with_the_mark)
{
	build_list();
	mark_result r = {0};
	gc_with_world_stopped(mark_stopped, &r);
	ck_assert(r.before);
	ck_assert(r.after);
}
END_TEST

START_TEST(mark_check_sees_a_lost_mark)
{
	build_list();
	mark_result r = {.unmark = (uintptr_t)*(void **)root_slot};
	gc_with_world_stopped(mark_stopped, &r);
	ck_assert(r.before);
	ck_assert(!r.after);
}
END_TEST

/* ---- each walker reports its broken invariant ---- */

/* Objects marked by hand, their addresses for a gcwork (work.h I1). */
static uintptr_t marked_object(size_t n)
{
	void *p = tri_malloc(n);
	gcwork w = {0};
	mark_shade((uintptr_t)p, &w);
	ck_assert_uint_eq(w.nput, 1);
	uintptr_t got = gcw_get(&w);
	ck_assert_uint_eq(grey_obj(got), (uintptr_t)p);
	gcw_dispose(&w);
	return got;
}

START_TEST(work_check_counts_and_holds)
{
	tri_set_gc_percent(-1);
	ck_assert(work_check_idle());
	gcwork w = {0};
	for (int i = 0; i < (int)WORKBUF_NOBJ * 3; i++)
		gcw_put(&w, marked_object(64));
	ck_assert(work_check());
	ck_assert(!work_check_idle()); /* w holds buffers, one list full */
	gcw_dispose(&w);
	ck_assert(work_check());
	ck_assert(!work_check_idle()); /* grey objects are left */
	atomic_add_full(&work_nfull, 1); /* I2 broken: one too many */
	ck_assert(!work_check());
	atomic_add_full(&work_nfull, (uintptr_t)-1);
	ck_assert(work_check());
	while (gcw_get(&w) != 0)
		;
	gcw_dispose(&w);
	ck_assert(work_check_idle());
}
END_TEST

START_TEST(work_check_sees_an_unmarked_object)
{
	tri_set_gc_percent(-1);
	enum { N = WORKBUF_NOBJ * 2 + 1 };
	static uintptr_t obj[N];
	gcwork w = {0};
	for (int i = 0; i < N; i++) {
		obj[i] = marked_object(64);
		gcw_put(&w, obj[i]);
	}
	gcw_dispose(&w); /* three buffers on the full list */
	ck_assert(work_check());
	uintptr_t o = grey_obj(obj[N / 2]);
	unmark(o); /* I1 broken, on the list */
	ck_assert(!work_check());
	mspan *s = arena_span_of(o);
	uintptr_t idx = span_obj_index(s, o - s->base);
	span_mark_word(s, (unsigned)(idx / 64), (uint64_t)1 << (idx % 64));
	ck_assert(work_check());
	while (gcw_get(&w) != 0) /* taken, never put back */
		;
	gcw_dispose(&w);
	ck_assert(work_check_idle());
}
END_TEST

/* wbbuf.h I4: a buffer left with entries when the barrier goes off. */
static void wbbuf_stopped(void *arg)
{
	*(bool *)arg = wbbuf_check();
}

START_TEST(wbbuf_check_sees_entries_with_the_barrier_off)
{
	ck_assert_int_eq(tri_thread_register(), 0);
	void *p = tri_malloc(32);
	bool ok = false;
	gc_with_world_stopped(wbbuf_stopped, &ok);
	ck_assert(ok);
	wbbuf_enable(true);
	tri_shade(p);
	gc_with_world_stopped(wbbuf_stopped, &ok);
	ck_assert(ok); /* on: entries are expected */
	wbbuf_enable(false);
	gc_with_world_stopped(wbbuf_stopped, &ok);
	ck_assert(!ok);
	gthread *t = threads_first();
	ck_assert_uint_eq(wbbuf_flush(threads_wbbuf(t)), 0); /* discarded */
	gc_with_world_stopped(wbbuf_stopped, &ok);
	ck_assert(ok);
}
END_TEST

/* mcache.h I1 and I4 broken on this thread's own cache. */
START_TEST(mcache_check_sees_a_bad_cache)
{
	void *p = tri_malloc(48);
	mcache *c = mcache_tls;
	ck_assert_ptr_nonnull(c);
	mspan *s = arena_span_of((uintptr_t)p);
	ck_assert(mcache_check());
	unsigned spc = s->spanclass;
	uint32_t n = c->free[spc].n;
	c->free[spc].n = c->free[spc].cap + 1; /* I4 */
	ck_assert(!mcache_check());
	c->free[spc].n = n;
	ck_assert(mcache_check());
	uint64_t cache = s->alloc_cache;
	s->alloc_cache ^= 1; /* span.h I3: the next slot looks taken */
	ck_assert(!mcache_check());
	s->alloc_cache = cache;
	ck_assert(mcache_check());
	tri_free(p);
}
END_TEST

/* span.h I4 / mcentral.h I2 broken on a span filed on a central list. */
START_TEST(mcentral_check_sees_bad_counts)
{
	tri_set_gc_percent(-1);
	void *p = tri_malloc(1000);
	mspan *s = arena_span_of((uintptr_t)p);
	m_acquire();
	mcache_flush(mcache_tls); /* s goes back to its central list */
	m_release();
	ck_assert_uint_eq(s->location, SPAN_LOC_PARTIAL);
	ck_assert(mcentral_check());
	AO_int_store(&s->alloc_count, s->alloc_count + 1);
	ck_assert(!mcentral_check());
	AO_int_store(&s->alloc_count, s->alloc_count - 1);
	ck_assert(mcentral_check());
}
END_TEST

/* A swept span with a mark bit: the next mark would take its object for
 * scanned. The gate is closed after tri_collect until the next wake. */
typedef struct sweep_result {
	bool clean, marked;
	uintptr_t obj;
} sweep_result;

static void sweep_stopped(void *arg)
{
	sweep_result *r = arg;
	r->clean = sweep_check();
	mspan *s = arena_span_of(r->obj);
	uintptr_t idx = span_obj_index(s, r->obj - s->base);
	span_mark_word(s, (unsigned)(idx / 64), (uint64_t)1 << (idx % 64));
	r->marked = sweep_check();
	unmark(r->obj);
}

START_TEST(sweep_check_sees_a_marked_swept_span)
{
	tri_set_gc_percent(-1);
	void *p = tri_malloc(200);
	m_acquire();
	mcache_flush(mcache_tls);
	m_release();
	tri_collect(); /* swept whole; the gate stays closed */
	sweep_result r = {.obj = (uintptr_t)p};
	gc_with_world_stopped(sweep_stopped, &r);
	ck_assert(r.clean);
	ck_assert(!r.marked);
	ck_assert(sweep_check());
}
END_TEST

START_TEST(list_walkers_hold_with_user_state)
{
	static char coro_stack[64 * 1024] __attribute__((aligned(16)));
	static void *slots[16];
	tri_add_roots(slots, slots + 16);
	tri_add_roots(slots + 4, slots + 8);
	tri_remove_roots(slots + 5, slots + 6); /* splits one */
	tri_stack_t *s = tri_stack_register(coro_stack,
	                                    coro_stack + sizeof coro_stack);
	ck_assert_ptr_nonnull(s);
	tri_stack_set_sp(s, coro_stack + 1000);
	ck_assert(stacks_check());
	ck_assert(roots_check());
	tri_collect();
	assert_walkers_hold();
	tri_stack_unregister(s);
	tri_remove_roots(slots, slots + 16);
	ck_assert(stacks_check());
	ck_assert(roots_check());
}
END_TEST

/* ---- asserts that stop the debug build ---- */

/* work.h I1: an object put in a work buffer must be marked. */
START_TEST(assert_unmarked_object_in_a_work_buffer)
{
	void *p = tri_malloc(64);
	gcwork w = {0};
	gcw_put(&w, (uintptr_t)p); /* aborts in gcw_put_slow */
}
END_TEST

/* work.h I2: taking a full buffer while wbuf1 still holds grey objects
 * would drop them. */
START_TEST(assert_grey_objects_dropped)
{
	tri_set_gc_percent(-1);
	gcwork a = {0}, b = {0};
	gcw_put(&a, marked_object(64));
	gcw_put(&b, marked_object(64));
	gcw_dispose(&b); /* a full buffer on the list */
	gcw_take_full(&a); /* aborts: a.wbuf1 is not empty */
}
END_TEST

/* sweep.h I1: a mark must not begin while a span is unswept. */
START_TEST(assert_mark_begins_unswept)
{
	sweep_set_background(false);
	tri_set_gc_percent(100);
	tri_stats_t st;
	tri_read_stats(&st);
	uint64_t gc0 = st.num_gc;
	for (int i = 0; st.num_gc == gc0; i++) { /* a cycle by allocation */
		ck_assert_int_lt(i, 10000000);
		ck_assert_ptr_nonnull(tri_malloc(128));
		if (i % 1024 == 0)
			tri_read_stats(&st);
	}
	ck_assert(!sweep_none_unswept());
	mark_begin(false); /* aborts */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("walkers");
	TCase *tc = tcase_create("walkers");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, walkers_hold_at_rest);
	tcase_add_test(tc, walkers_hold_through_stw_cycles);
	tcase_add_test(tc, walkers_hold_through_concurrent_cycles);
	tcase_add_test(tc, mark_check_agrees_with_the_mark);
	tcase_add_test(tc, mark_check_sees_a_lost_mark);
	tcase_add_test(tc, work_check_counts_and_holds);
	tcase_add_test(tc, work_check_sees_an_unmarked_object);
	tcase_add_test(tc, wbbuf_check_sees_entries_with_the_barrier_off);
	tcase_add_test(tc, mcache_check_sees_a_bad_cache);
	tcase_add_test(tc, mcentral_check_sees_bad_counts);
	tcase_add_test(tc, sweep_check_sees_a_marked_swept_span);
	tcase_add_test(tc, list_walkers_hold_with_user_state);
	if (TRI_DEBUG >= 2) {
		tcase_add_test_raise_signal(
		    tc, assert_unmarked_object_in_a_work_buffer, SIGABRT);
		tcase_add_test_raise_signal(tc, assert_mark_begins_unswept,
		                            SIGABRT);
	}
	tcase_add_test_raise_signal(tc, assert_grey_objects_dropped, SIGABRT);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_mark.c -- marking (gc/mark.h): mark_shade greys the object a word
 * points into, from its start and once (interior pointers, large objects
 * too), and ignores words outside the heap, slots never handed out or
 * pending an explicit free, and a span's tail past its limit; noscan
 * objects are marked but never queued; mark_drain_n marks a whole chain,
 * and with a budget stops and resumes where it stopped, root ranges
 * counted in the budget; the lookup
 * pipeline greys every word before mark_scan_range or a drain returns,
 * and grey values carry a small object's size class; a large object is
 * scanned oblet by oblet; mark_run marks from the roots with the world
 * stopped, and gccheckmark's re-mark agrees with it, or stops the program
 * when a reachable object lacks its mark.
 *
 * Each test runs in a new process with automatic cycles off: no cycle has
 * prepared root jobs, so mark_drain_n finds only the grey objects a test
 * gives it. Marks set by hand are never swept: nothing collects after them.
 */
#include "arena.h"
#include "checkmark.h"
#include "debug.h"
#include "gc.h"
#include "mark.h"
#include "roots.h"
#include "unit.h"
#include "work.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	tri_set_gc_percent(-1);
}

static mspan *span_of(const void *p)
{
	return arena_span_of((uintptr_t)p);
}

static uintptr_t slot_of(const mspan *s, const void *p)
{
	return s->divmul ? span_obj_index(s, (uintptr_t)p - s->base) : 0;
}

static bool marked(const void *p)
{
	mspan *s = span_of(p);
	return span_is_marked(s, slot_of(s, p));
}

static uintptr_t elemsize_of(const void *p)
{
	return span_of(p)->elemsize;
}

/* Everything grey, whatever the budget. */
static int64_t drain(gcwork *w)
{
	return mark_drain_n(w, INT64_MAX, false, 0, NULL);
}

START_TEST(interior_pointer_marks_the_start)
{
	char *a = tri_malloc(100), *b = tri_malloc(100), *c = tri_malloc(100);
	ck_assert_ptr_eq(span_of(a), span_of(b));
	gcwork w = {0};
	mark_shade((uintptr_t)(b + 57), &w);
	ck_assert(marked(b));
	ck_assert(!marked(a));
	ck_assert(!marked(c));
	ck_assert_uint_eq(w.nput, 1);
	ck_assert_uint_eq(w.bytes_marked, elemsize_of(b));
	ck_assert_uint_eq(grey_obj(gcw_get(&w)), (uintptr_t)b); /* by its start */
	ck_assert_uint_eq(gcw_get(&w), 0);
	/* Marked once (I1): other words into b grey nothing more. */
	mark_shade((uintptr_t)b, &w);
	mark_shade((uintptr_t)(b + elemsize_of(b) - 1), &w);
	ck_assert_uint_eq(w.nput, 1);
	ck_assert_uint_eq(gcw_get(&w), 0);
	ck_assert(!marked(c));
	/* A large object: any word inside it marks it. */
	char *big = tri_malloc(100000);
	mark_shade((uintptr_t)(big + 70001), &w);
	ck_assert(marked(big));
	ck_assert_uint_eq(grey_obj(gcw_get(&w)), (uintptr_t)big);
	ck_assert_uint_eq(w.nput, 2);
	ck_assert_uint_eq(mark_gcw_flush(&w), 2);
}
END_TEST

static uintptr_t a_global;

START_TEST(non_heap_words_are_ignored)
{
	void **obj = tri_malloc(64); /* the heap exists; nothing points here */
	char *gone = tri_malloc(1 << 20);
	tri_free(gone); /* a large object: its pages are free at once */
	uintptr_t local = 0;
	uintptr_t words[] = {
		0, 1, 4096, (uintptr_t)&a_global, (uintptr_t)&local,
		arena_lo() - 8, arena_hi(), arena_hi() + 4096, UINTPTR_MAX,
		(uintptr_t)gone, (uintptr_t)gone + 300000,
	};
	size_t n = sizeof words / sizeof words[0];
	gcwork w = {0};
	for (size_t i = 0; i < n; i++)
		mark_shade(words[i], &w);
	ck_assert_uint_eq(w.nput, 0);
	ck_assert_uint_eq(w.bytes_marked, 0);
	mark_scan_range((uintptr_t)words, (uintptr_t)(words + n), &w);
	ck_assert_uint_eq(w.nput, 0);
	ck_assert_uint_eq(gcw_get(&w), 0);
	ck_assert(!marked(obj));
	/* The same range with one heap word in it: that object only. */
	words[3] = (uintptr_t)obj + 8;
	mark_scan_range((uintptr_t)words, (uintptr_t)(words + n), &w);
	ck_assert_uint_eq(w.nput, 1);
	ck_assert(marked(obj));
	ck_assert_uint_eq(grey_obj(gcw_get(&w)), (uintptr_t)obj);
	mark_gcw_flush(&w);
}
END_TEST

START_TEST(free_slots_are_ignored)
{
	char *a = tri_malloc(200); /* class 208: 39 slots, an 80-byte tail */
	mspan *s = span_of(a);
	uintptr_t ia = slot_of(s, a);
	gcwork w = {0};
	/* The next slot, not handed out yet. */
	char *next = a + s->elemsize;
	ck_assert_uint_lt((uintptr_t)next, s->limit);
	ck_assert(!span_is_allocated(s, ia + 1));
	mark_shade((uintptr_t)next + 3, &w);
	ck_assert_uint_eq(w.nput, 0);
	ck_assert(!marked(next));
	/* A slot pending an explicit free. */
	char *b = tri_malloc(200);
	ck_assert_ptr_eq(b, next);
	mcentral_free_object(s, ia + 1, "test", b);
	ck_assert(!span_is_allocated(s, ia + 1));
	mark_shade((uintptr_t)b, &w);
	ck_assert_uint_eq(w.nput, 0);
	ck_assert(!marked(b));
	/* The tail past the last slot, inside the span's pages. */
	ck_assert_uint_lt(s->limit, s->base + s->npages * PAGE_SIZE);
	mark_shade(s->limit, &w);
	mark_shade(s->base + s->npages * PAGE_SIZE - 8, &w);
	ck_assert_uint_eq(w.nput, 0);
	ck_assert_uint_eq(w.bytes_marked, 0);
	/* The allocated one still counts. */
	mark_shade((uintptr_t)a, &w);
	ck_assert_uint_eq(w.nput, 1);
	ck_assert(marked(a));
	mark_drain_n(&w, INT64_MAX, false, 0, NULL);
	mark_gcw_flush(&w);
}
END_TEST

START_TEST(noscan_objects_are_marked_not_scanned)
{
	void **ns = tri_malloc_noscan(64);
	void **sc = tri_malloc(64);
	void *t1 = tri_malloc(64), *t2 = tri_malloc(64);
	ck_assert(spanclass_noscan(span_of(ns)->spanclass));
	ns[3] = t1;
	sc[3] = t2;
	gcwork w = {0};
	mark_shade((uintptr_t)ns, &w);
	ck_assert(marked(ns));
	ck_assert_uint_eq(w.nput, 1);
	ck_assert_uint_eq(w.bytes_marked, 64);
	ck_assert_uint_eq(gcw_get(&w), 0); /* never queued */
	ck_assert_int_eq(drain(&w), 0);
	ck_assert(!marked(t1));
	mark_shade((uintptr_t)sc, &w);
	ck_assert_int_eq(drain(&w), 128); /* sc, then t2 */
	ck_assert(marked(t2));
	ck_assert(!marked(t1));
	ck_assert_uint_eq(mark_gcw_flush(&w), 3);
}
END_TEST

/* A chain of N objects of mixed sizes, some large: each holds the next
 * at a word that varies, sometimes as an interior pointer. */
enum { CHAIN = 3000 };
static void *chain[CHAIN];

static size_t chain_size(int i)
{
	if (i % 1000 == 999)
		return (size_t)(1 + i / 1000) * 150000; /* 2-4 oblets */
	return 16 + (size_t)(i % 9) * 40;
}

static void build_chain(void)
{
	for (int i = 0; i < CHAIN; i++)
		chain[i] = tri_malloc(chain_size(i));
	for (int i = 0; i + 1 < CHAIN; i++) {
		size_t words = chain_size(i) / sizeof(void *);
		uintptr_t next = (uintptr_t)chain[i + 1];
		if (i % 3 == 1)
			next += chain_size(i + 1) / 2; /* interior */
		((uintptr_t *)chain[i])[(size_t)i * 7 % words] = next;
	}
}

static uint64_t chain_bytes(void)
{
	uint64_t n = 0;
	for (int i = 0; i < CHAIN; i++)
		n += elemsize_of(chain[i]);
	return n;
}

static int chain_marked(void)
{
	int n = 0;
	for (int i = 0; i < CHAIN; i++)
		n += marked(chain[i]);
	return n;
}

START_TEST(drain_marks_a_whole_chain)
{
	build_chain();
	/* chain[] holds them all, but no root job scans it: the drain
	 * follows the objects' own pointers. */
	mark_begin(false);
	gcwork w = {0};
	mark_shade((uintptr_t)chain[0], &w);
	int64_t work = drain(&w);
	ck_assert_int_eq(chain_marked(), CHAIN);
	ck_assert_uint_eq(w.nput, CHAIN);
	ck_assert_uint_eq(w.bytes_marked, chain_bytes());
	ck_assert_int_eq(work, (int64_t)chain_bytes()); /* each scanned once */
	ck_assert_uint_eq(mark_gcw_flush(&w), CHAIN);
	uint64_t scan, stacks;
	ck_assert_uint_eq(mark_totals(&scan, &stacks), chain_bytes());
	ck_assert_uint_eq(scan, chain_bytes());
	ck_assert_uint_eq(stacks, 0);
	ck_assert_uint_eq(atomic_load_relaxed(&work_nfull), 0);
}
END_TEST

START_TEST(drain_budget_stops_and_resumes)
{
	enum { N = 100, SZ = 64, STEP = 10 };
	static void *node[N];
	for (int i = 0; i < N; i++)
		node[i] = tri_malloc(SZ);
	for (int i = 0; i + 1 < N; i++)
		*(void **)node[i] = node[i + 1];
	ck_assert_uint_eq(elemsize_of(node[0]), SZ);
	gcwork w = {0};
	mark_shade((uintptr_t)node[0], &w);
	/* Each scan is one 64-byte object and greys the next one. */
	ck_assert_int_eq(mark_drain_n(&w, STEP * SZ, false, 0, NULL),
	                 STEP * SZ);
	int n = 0;
	for (int i = 0; i < N; i++)
		n += marked(node[i]);
	ck_assert_int_eq(n, STEP + 1);
	ck_assert(!marked(node[STEP + 1]));
	/* A budget below one object still scans one. */
	ck_assert_int_eq(mark_drain_n(&w, 1, false, 0, NULL), SZ);
	ck_assert(marked(node[STEP + 1]));
	int64_t total = (STEP + 1) * SZ, got;
	int calls = 0;
	while ((got = mark_drain_n(&w, STEP * SZ, false, 0, NULL)) > 0) {
		ck_assert_int_le(got, STEP * SZ);
		total += got;
		calls++;
	}
	ck_assert_int_eq(total, N * SZ);
	ck_assert_int_eq(calls, (N - STEP - 1 + STEP - 1) / STEP);
	for (int i = 0; i < N; i++)
		ck_assert(marked(node[i]));
	ck_assert_uint_eq(mark_gcw_flush(&w), N);
}
END_TEST

/* A deadline or a stop flag bounds a drain however much budget is left:
 * one already past (set) stops it within DRAIN_CLOCK_EVERY objects, and
 * what it did not scan is handed back, still grey. */
START_TEST(drain_deadline_and_stop_end_early)
{
	enum { N = 8 * DRAIN_CLOCK_EVERY, SZ = 64 };
	static void *node[N];
	for (int i = 0; i < N; i++)
		node[i] = tri_malloc(SZ);
	for (int i = 0; i + 1 < N; i++)
		*(void **)node[i] = node[i + 1];
	gcwork w = {0};
	mark_shade((uintptr_t)node[0], &w);
	int64_t got = mark_drain_n(&w, INT64_MAX, false, 1, NULL);
	ck_assert_int_gt(got, 0);
	ck_assert_int_le(got, DRAIN_CLOCK_EVERY * SZ);
	atomic_word stop = 1;
	int64_t more = mark_drain_n(&w, INT64_MAX, false, 0, &stop);
	ck_assert_int_gt(more, 0);
	ck_assert_int_le(more, DRAIN_CLOCK_EVERY * SZ);
	ck_assert(!marked(node[N - 1]));
	/* neither: the rest of the chain */
	stop = 0;
	int64_t rest = mark_drain_n(&w, INT64_MAX, false, 0, &stop);
	ck_assert_int_eq(got + more + rest, N * SZ);
	ck_assert(marked(node[N - 1]));
	ck_assert_uint_eq(mark_gcw_flush(&w), N);
}
END_TEST

/* mark.c P1: nothing is left in the lookup pipeline or taken ahead. */
static bool pipeline_empty(const gcwork *w)
{
	for (unsigned k = 0; k < 3; k++)
		for (unsigned i = 0; i < MARK_PIPE; i++)
			if (w->pipe[k].slot[i].p)
				return false;
	return w->ahead_n == 0;
}

START_TEST(pipeline_greys_every_word_before_returning)
{
	/* More candidate words than the pipeline holds, interior pointers
	 * into objects of several classes and a large one. */
	enum { N = 6 * MARK_PIPE + 5 };
	static const size_t size[] = {64, 208, 4096, 100000};
	static uintptr_t words[N];
	static char *obj[N];
	for (int i = 0; i < N; i++) {
		obj[i] = tri_malloc(size[i % 4]);
		words[i] = (uintptr_t)obj[i] + (size_t)i % size[i % 4];
	}
	gcwork w = {0};
	mark_scan_range((uintptr_t)words, (uintptr_t)(words + N), &w);
	ck_assert(pipeline_empty(&w));
	ck_assert_uint_eq(w.nput, N);
	for (int i = 0; i < N; i++)
		ck_assert(marked(obj[i]));
	/* A drain with a budget hands back everything it did not scan. */
	ck_assert_int_gt(mark_drain_n(&w, 64, false, 0, NULL), 0);
	ck_assert(pipeline_empty(&w));
	ck_assert_uint_eq(mark_gcw_flush(&w), N);
	ck_assert(pipeline_empty(&w));
}
END_TEST

START_TEST(grey_values_carry_the_size_class)
{
	char *small = tri_malloc(200), *big = tri_malloc(100000);
	gcwork w = {0};
	mark_shade((uintptr_t)small + 10, &w);
	uintptr_t v = gcw_get(&w);
	ck_assert_uint_eq(grey_obj(v), (uintptr_t)small);
	ck_assert_uint_eq(grey_class(v),
	                  spanclass_sizeclass(span_of(small)->spanclass));
	ck_assert(mark_grey_ok(v));
	ck_assert(mark_grey_ok(grey_obj(v))); /* a bare address is fine */
	ck_assert(!mark_grey_ok(grey_pack(grey_obj(v), grey_class(v) + 1)));
	/* The scan reads exactly the class's size, no span lookup needed. */
	uint64_t before = w.scan_work;
	mark_scan_object(v, &w);
	ck_assert_uint_eq(w.scan_work - before, elemsize_of(small));
	mark_shade((uintptr_t)big, &w);
	v = gcw_get(&w);
	ck_assert_uint_eq(v, (uintptr_t)big); /* large: class 0, no tag */
	mark_gcw_flush(&w);
}
END_TEST

/* A drain's budget counts the root ranges it scans (Go's markroot
 * work): an assist with a small budget claims one job or a few, never
 * every job at once (before, root bytes were free and it took them all). */
enum { BIG_ROOT_WORDS = 3 * ROOT_JOB_BYTES / sizeof(uintptr_t) + 1 };
static uintptr_t big_root[BIG_ROOT_WORDS];

static void drain_a_little(void *arg)
{
	int64_t *got = arg;
	mark_begin(false);
	roots_prepare(false);
	gcwork w = {0};
	got[0] = mark_drain_n(&w, 1024, false, 0, NULL);
	got[1] = mark_roots_done();
	/* finish cleanly */
	while (mark_drain_n(&w, INT64_MAX, false, 0, NULL) > 0)
		;
	mark_gcw_flush(&w);
}

START_TEST(drain_budget_counts_root_jobs)
{
	tri_add_roots(big_root, big_root + BIG_ROOT_WORDS);
	int64_t got[2];
	gc_with_world_stopped(drain_a_little, got);
	ck_assert_int_ge(got[0], 1024);
	ck_assert_int_lt(got[0], 1024 + ROOT_JOB_BYTES);
	ck_assert(!got[1]); /* big_root's jobs are not all claimed */
}
END_TEST

START_TEST(large_object_is_scanned_in_oblets)
{
	size_t size = 3 * OBLET_BYTES + 1000;
	uintptr_t *big = tri_malloc(size);
	mspan *s = span_of(big);
	ck_assert_uint_eq(s->divmul, 0);
	ck_assert_uint_gt(s->limit - s->base, 3 * OBLET_BYTES);
	void *t[4];
	size_t at[4] = {0, OBLET_BYTES / 8 + 1, 2 * OBLET_BYTES / 8 + 2,
	                (s->limit - s->base) / 8 - 1};
	for (int i = 0; i < 4; i++) {
		t[i] = tri_malloc(48);
		big[at[i]] = (uintptr_t)t[i];
	}
	gcwork w = {0};
	mark_shade((uintptr_t)big + 12345, &w);
	ck_assert_uint_eq(grey_obj(gcw_get(&w)), (uintptr_t)big);
	mark_scan_object((uintptr_t)big, &w);
	ck_assert_uint_eq(w.scan_work, OBLET_BYTES); /* the first oblet */
	ck_assert(marked(t[0]));
	for (int i = 1; i < 4; i++)
		ck_assert(!marked(t[i]));
	drain(&w); /* the other oblets, queued by the first */
	for (int i = 0; i < 4; i++)
		ck_assert(marked(t[i]));
	ck_assert_uint_eq(w.scan_work, s->limit - s->base + 4 * 48);
	ck_assert_uint_eq(mark_gcw_flush(&w), 5);
}
END_TEST

/* ---- mark_run and gccheckmark, with the world stopped ---- */

/* A tri_add_roots range, the only roots: the chain and a noscan leaf. */
static void *roots[2];
static uintptr_t hidden;     /* ~address of an object nothing points to */

static void *alloc_hidden(void *arg)
{
	(void)arg;
	hidden = ~(uintptr_t)tri_malloc(80);
	return NULL;
}

/* The object after the one p points into: the only nonzero word. */
static void *chain_next(void *p)
{
	void **base = tri_base(p);
	ck_assert_ptr_nonnull(base);
	size_t words = tri_usable_size(base) / sizeof(void *);
	for (size_t k = 0; k < words; k++)
		if (base[k])
			return base[k];
	return NULL;
}

/* The chain and a noscan leaf hang from roots[]; an object allocated by
 * a thread that has exited (its stack no longer scanned) is referenced by
 * nothing. */
static void build_roots(void)
{
	build_chain();
	roots[0] = chain[0];
	roots[1] = tri_malloc_noscan(256);
	memset(chain, 0, sizeof chain); /* chain[] is no root here */
	tri_add_roots(roots, roots + 2);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_hidden, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	mark_start_helpers(); /* world running */
}

typedef struct mark_result {
	uint64_t marked_bytes, scan_work;
	bool hidden_marked;
	uintptr_t unmark; /* 0, or an object to unmark before the check */
} mark_result;

/* World stopped (gc_with_world_stopped): a stop-the-world cycle's mark,
 * then gccheckmark's re-mark over the same roots. */
static void mark_and_check(void *arg)
{
	mark_result *r = arg;
	uint64_t stacks;
	mark_begin(false);
	roots_prepare(true);
	mark_run();
	r->marked_bytes = mark_totals(&r->scan_work, &stacks);
	r->hidden_marked = marked((void *)~hidden);
	if (r->unmark) { /* as if the mark had missed this object */
		mspan *s = arena_span_of(r->unmark);
		uintptr_t idx = slot_of(s, (void *)r->unmark);
		atomic_word *m = &span_marks(s)[idx / 64];
		atomic_store_relaxed(m, atomic_load_relaxed(m) &
		                            ~((uintptr_t)1 << (idx % 64)));
	}
	checkmark_run(); /* aborts if a reachable object lacks its mark */
}

START_TEST(mark_run_marks_from_the_roots)
{
	build_roots();
	uint64_t scanned = 0; /* the chain; the leaf is marked, not scanned */
	for (void *p = roots[0]; p; p = chain_next(p))
		scanned += elemsize_of(tri_base(p));
	uint64_t expect = scanned + elemsize_of(roots[1]);
	mark_result r = {0};
	gc_with_world_stopped(mark_and_check, &r); /* checkmark agrees */
	int n = 0;
	for (void *p = roots[0]; p; p = chain_next(p), n++)
		ck_assert(marked(p));
	ck_assert_int_eq(n, CHAIN);
	ck_assert(marked(roots[1]));
	ck_assert(!r.hidden_marked);
	ck_assert_uint_eq(r.marked_bytes, expect);
	ck_assert_uint_eq(r.scan_work, scanned);
}
END_TEST

/* The leaf: noscan, so only checkmark's report can stop the program
 * (a scannable object left unmarked would also trip the debug assert
 * that what is scanned was greyed). */
START_TEST(checkmark_stops_on_a_missed_object)
{
	build_roots();
	mark_result r = {.unmark = (uintptr_t)roots[1]};
	gc_with_world_stopped(mark_and_check, &r); /* aborts */
}
END_TEST

/* A concurrent cycle under gccheckmark: the re-mark at mark termination
 * finds every object the concurrent mark should have marked, marked. */
START_TEST(concurrent_mark_agrees_with_checkmark)
{
	debug.gccheckmark = 1;
	ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
	build_roots();
	void **volatile on_stack = tri_malloc(512);
	on_stack[5] = tri_malloc(4000);
	memset(on_stack[5], 0x3c, 4000);
	for (int round = 0; round < 3; round++) {
		tri_collect();
		ck_assert_ptr_null(tri_base((void *)~hidden));
		ck_assert_ptr_eq(tri_base(on_stack), on_stack);
		unsigned char *q = on_stack[5];
		ck_assert_ptr_eq(tri_base(q), q);
		for (int i = 0; i < 4000; i++)
			ck_assert_uint_eq(q[i], 0x3c);
		int n = 0;
		for (void *p = roots[0]; p; p = chain_next(p))
			n++;
		ck_assert_int_eq(n, CHAIN);
	}
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_ge(st.num_gc, 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mark");
	TCase *tc = tcase_create("mark");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, interior_pointer_marks_the_start);
	tcase_add_test(tc, non_heap_words_are_ignored);
	tcase_add_test(tc, free_slots_are_ignored);
	tcase_add_test(tc, noscan_objects_are_marked_not_scanned);
	tcase_add_test(tc, drain_marks_a_whole_chain);
	tcase_add_test(tc, drain_budget_stops_and_resumes);
	tcase_add_test(tc, drain_deadline_and_stop_end_early);
	tcase_add_test(tc, pipeline_greys_every_word_before_returning);
	tcase_add_test(tc, grey_values_carry_the_size_class);
	tcase_add_test(tc, drain_budget_counts_root_jobs);
	tcase_add_test(tc, large_object_is_scanned_in_oblets);
	tcase_add_test(tc, mark_run_marks_from_the_roots);
	tcase_add_test_raise_signal(tc, checkmark_stops_on_a_missed_object,
	                            SIGABRT);
	tcase_add_test(tc, concurrent_mark_agrees_with_checkmark);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

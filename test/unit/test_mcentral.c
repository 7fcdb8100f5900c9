/*
 * test_mcentral.c -- the central span lists (alloc/mcentral.h):
 * mcentral_cache_span and mcentral_uncache_span move a span between
 * CACHED and PARTIAL or FULL (location, alloc_count, last_owner), full
 * spans are not handed out, and an uncached span with nothing allocated
 * goes back to the heap; explicit frees move a full span to partial, are
 * folded in at the next cache_span, and the free of a span's last object
 * gives it back; a double free aborts; a span given back is preferred by
 * the owner that gave it back; after a cycle, a refill sweeps lazily and
 * mcentral_sweep_one / mcentral_sweep_all sweep exactly the unswept spans.
 * mcentral_check runs after every step that changes a list.
 *
 * Tests hold spans as an mcache would, under made-up owners; those that
 * count on a class's lists use one nothing else in their process
 * allocates from. Automatic cycles are off except where a test starts one
 * by allocating (with the background sweeper off).
 */
#include "mcentral.h"
#include "sizeclass.h"
#include "span.h"
#include "sweep.h"
#include "unit.h"

#include <signal.h>
#include <string.h>

/* Made-up mcaches: only their addresses matter. */
static const char owner_a, owner_b, owner_c;

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	tri_set_gc_percent(-1);
}

/* The central list of scannable objects of n bytes. */
static unsigned class_for(size_t n)
{
	return spanclass_make(sizeclass_of(n), false);
}

/* Allocate from a span this test holds, as mcache does (owner only). */
static void *take(mspan *s)
{
	uintptr_t p = span_next_free_fast(s);
	if (p)
		return (void *)p;
	uintptr_t idx = span_next_free_index(s);
	return idx < s->nelems ? (void *)(s->base + idx * s->elemsize) : NULL;
}

static uintptr_t slot(const mspan *s, const void *p)
{
	return ((uintptr_t)p - s->base) / s->elemsize;
}

static void free_obj(mspan *s, void *p)
{
	mcentral_free_object(s, slot(s, p), "test", p);
}

START_TEST(cache_and_uncache_move_the_span)
{
	unsigned ci = class_for(96);
	uint64_t inuse0 = mheap_inuse_bytes();
	mspan *s = mcentral_cache_span(ci, &owner_a);
	ck_assert_ptr_nonnull(s);
	size_t bytes = s->npages * PAGE_SIZE;
	ck_assert_uint_eq(s->location, SPAN_LOC_CACHED);
	ck_assert_uint_eq(mcentral_index_of(s), ci);
	ck_assert_uint_eq(s->alloc_count, 0);
	ck_assert_uint_eq(s->sweepgen, mheap_swept_gen());
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0 + bytes);
	for (uintptr_t i = 0; i < 10; i++)
		ck_assert_ptr_eq(take(s), (void *)(s->base + i * s->elemsize));

	mcentral_uncache_span(s, &owner_a);
	ck_assert_uint_eq(s->location, SPAN_LOC_PARTIAL);
	ck_assert_uint_eq(s->alloc_count, 10);
	ck_assert_ptr_eq(s->last_owner, &owner_a);
	ck_assert(span_is_allocated(s, 9));
	ck_assert(!span_is_allocated(s, 10));
	ck_assert(mcentral_check());

	/* The only partial span, whoever asks; it goes on at slot 10. */
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_b), s);
	ck_assert_uint_eq(s->location, SPAN_LOC_CACHED);
	ck_assert_uint_eq(s->alloc_count, 10);
	ck_assert_ptr_eq(take(s), (void *)(s->base + 10 * s->elemsize));
	unsigned n = 11;
	while (take(s))
		n++;
	ck_assert_uint_eq(n, s->nelems);
	mcentral_uncache_span(s, &owner_b);
	ck_assert_uint_eq(s->location, SPAN_LOC_FULL);
	ck_assert_uint_eq(s->alloc_count, s->nelems);
	ck_assert_ptr_eq(s->last_owner, &owner_b);
	ck_assert(mcentral_check());

	/* A full span is not handed out: a fresh one is, and given back
	 * with nothing allocated it returns to the heap. */
	mspan *u = mcentral_cache_span(ci, &owner_b);
	ck_assert_ptr_ne(u, s);
	ck_assert_uint_eq(u->alloc_count, 0);
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0 + 2 * bytes);
	mcentral_uncache_span(u, &owner_b);
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0 + bytes);
	ck_assert_uint_eq(s->location, SPAN_LOC_FULL);
	ck_assert(mcentral_check());
}
END_TEST

START_TEST(frees_move_full_to_partial_and_release)
{
	enum { MAX = 1024 };
	static void *p[MAX];
	unsigned ci = class_for(96);
	uint64_t inuse0 = mheap_inuse_bytes();
	mspan *s = mcentral_cache_span(ci, &owner_a);
	unsigned n = 0;
	while ((p[n] = take(s)) != NULL)
		n++;
	ck_assert_uint_eq(n, s->nelems);
	mcentral_uncache_span(s, &owner_a);
	ck_assert_uint_eq(s->location, SPAN_LOC_FULL);

	free_obj(s, p[5]); /* the first free into a full span (I2) */
	ck_assert_uint_eq(s->location, SPAN_LOC_PARTIAL);
	ck_assert_uint_eq(span_pending_count(s), 1);
	ck_assert(!span_is_allocated(s, 5));
	ck_assert(mcentral_check());

	for (unsigned i = 0; i < n; i++) {
		if (i == 5)
			continue;
		ck_assert_uint_eq(s->location, SPAN_LOC_PARTIAL);
		ck_assert_uint_eq(mheap_inuse_bytes(),
		                  inuse0 + s->npages * PAGE_SIZE);
		free_obj(s, p[i]); /* the last one empties it (I3) */
	}
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0);
	ck_assert(mcentral_check());
}
END_TEST

START_TEST(frees_while_cached_fold_in_later)
{
	unsigned ci = class_for(96);
	uint64_t inuse0 = mheap_inuse_bytes();
	mspan *s = mcentral_cache_span(ci, &owner_a);
	void *p[6];
	for (int i = 0; i < 5; i++)
		p[i] = take(s);
	free_obj(s, p[1]); /* cached: the span's owner sees them later */
	free_obj(s, p[3]);
	ck_assert_uint_eq(s->location, SPAN_LOC_CACHED);
	mcentral_uncache_span(s, &owner_a);
	ck_assert_uint_eq(s->location, SPAN_LOC_PARTIAL);
	ck_assert_uint_eq(s->alloc_count, 5); /* pending until reclaimed */
	ck_assert_uint_eq(span_pending_count(s), 2);
	ck_assert(mcentral_check());

	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_a), s);
	ck_assert_uint_eq(s->alloc_count, 3); /* reclaimed by the refill */
	ck_assert_uint_eq(span_pending_count(s), 0);
	ck_assert_ptr_eq(take(s), p[1]);
	ck_assert_ptr_eq(take(s), p[3]);
	p[5] = take(s);
	ck_assert_ptr_eq(p[5], (void *)(s->base + 5 * s->elemsize));
	for (int i = 0; i < 6; i++)
		free_obj(s, p[i]); /* all of them, still cached */
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0 + s->npages * PAGE_SIZE);
	mcentral_uncache_span(s, &owner_a); /* empty: back to the heap */
	ck_assert_uint_eq(mheap_inuse_bytes(), inuse0);
	ck_assert(mcentral_check());
}
END_TEST

static void free_twice(void)
{
	mspan *s = mcentral_cache_span(class_for(96), &owner_a);
	void *p = take(s);
	take(s);
	free_obj(s, p);
	free_obj(s, p); /* must abort */
}

START_TEST(double_free_aborts)
{
	free_twice();
}
END_TEST

START_TEST(owner_gets_its_own_span_back)
{
	unsigned ci = class_for(96);
	mspan *sa = mcentral_cache_span(ci, &owner_a);
	mspan *sb = mcentral_cache_span(ci, &owner_b);
	ck_assert_ptr_ne(sa, sb);
	for (int i = 0; i < 3; i++) {
		take(sa);
		take(sb);
	}
	mcentral_uncache_span(sa, &owner_a); /* partial: sa, then sb */
	mcentral_uncache_span(sb, &owner_b);
	ck_assert(mcentral_check());
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_b), sb);
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_c), sa); /* the head */
	mcentral_uncache_span(sa, &owner_a);
	mcentral_uncache_span(sb, &owner_b);

	/* Only the first few are looked at: behind eight of a's spans, b's
	 * is not found, and the head is handed out. */
	enum { AHEAD = 8 };
	mspan *ahead[AHEAD];
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_a), sa);
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_a), sb);
	ahead[0] = sa;
	ahead[1] = sb;
	for (int i = 2; i < AHEAD; i++) {
		ahead[i] = mcentral_cache_span(ci, &owner_a);
		take(ahead[i]);
	}
	mspan *last = mcentral_cache_span(ci, &owner_b);
	take(last);
	for (int i = 0; i < AHEAD; i++)
		mcentral_uncache_span(ahead[i], &owner_a);
	mcentral_uncache_span(last, &owner_b);
	ck_assert(mcentral_check());
	ck_assert_ptr_eq(mcentral_cache_span(ci, &owner_b), ahead[0]);
	ck_assert(mcentral_check());
}
END_TEST

/* ---- sweeping, after a cycle started by allocation ---- */

enum { KEEP = 2000 };
static void *keep[KEEP];
static size_t nkeep;

static uint64_t num_gc(void)
{
	tri_stats_t s;
	tri_read_stats(&s);
	return s.num_gc;
}

static unsigned char tag_of(size_t k)
{
	return (unsigned char)(k * 13 + 5);
}

/* Allocate until a cycle has run (not forced: nothing is swept after it),
 * keeping one object in eight, each filled with its tag. */
static __attribute__((noinline)) void cycle_by_allocation(void)
{
	static const size_t sizes[] = {48, 96, 512, 4096};
	tri_set_gc_percent(100);
	uint64_t gc0 = num_gc();
	for (size_t i = 0; num_gc() == gc0; i++) {
		ck_assert_uint_lt(i, 1000000);
		size_t n = sizes[i % 4];
		unsigned char *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		if (i % 8 == 0 && nkeep < KEEP) {
			memset(p, tag_of(nkeep), 48);
			keep[nkeep++] = p;
		}
	}
	tri_set_gc_percent(-1);
}

static void check_kept(void)
{
	for (size_t k = 0; k < nkeep; k++) {
		unsigned char *p = keep[k];
		ck_assert_ptr_eq(tri_base(p), p);
		for (int j = 0; j < 48; j++)
			ck_assert_uint_eq(p[j], tag_of(k));
	}
}

START_TEST(refill_sweeps_lazily)
{
	sweep_set_background(false);
	cycle_by_allocation();
	unsigned ci = class_for(4096);
	uint64_t unswept = mcentral_unswept(), lazy = mcentral_lazy_sweeps();
	ck_assert_uint_gt(unswept, 0);
	mspan *s = mcentral_cache_span(ci, &owner_a);
	ck_assert_ptr_nonnull(s);
	uint64_t swept = mcentral_lazy_sweeps() - lazy;
	ck_assert_uint_ge(swept, 1);
	ck_assert_uint_eq(mcentral_unswept(), unswept - swept);
	ck_assert_uint_eq(s->sweepgen, mheap_swept_gen());
	ck_assert_uint_eq(s->location, SPAN_LOC_CACHED);
	ck_assert_uint_lt(s->alloc_count, s->nelems);
	ck_assert(mcentral_check());
	mcentral_uncache_span(s, &owner_a);
	ck_assert(mcentral_check());
	check_kept();
}
END_TEST

START_TEST(sweep_one_and_sweep_all_count_spans)
{
	sweep_set_background(false);
	cycle_by_allocation();
	uint64_t unswept = mcentral_unswept();
	uint64_t inuse = mheap_inuse_bytes();
	ck_assert_uint_gt(unswept, 10);
	uint64_t spans = 0;
	for (unsigned ci = 0; ci < NUM_CENTRALS; ci++) {
		uintptr_t pages;
		while ((pages = mcentral_sweep_one(ci)) != 0) {
			ck_assert_uint_ge(pages, 1);
			ck_assert_uint_lt(spans++, unswept); /* each once */
		}
		ck_assert(mcentral_check());
	}
	ck_assert_uint_eq(spans, unswept);
	ck_assert_uint_eq(mcentral_unswept(), 0);
	ck_assert_uint_eq(mcentral_sweep_all(), 0);
	ck_assert_uint_lt(mheap_inuse_bytes(), inuse); /* empty ones went */
	check_kept();

	cycle_by_allocation(); /* and again, all at once */
	unswept = mcentral_unswept();
	ck_assert_uint_gt(unswept, 10);
	ck_assert_uint_eq(mcentral_sweep_all(), unswept);
	ck_assert_uint_eq(mcentral_unswept(), 0);
	for (unsigned ci = 0; ci < NUM_CENTRALS; ci++)
		ck_assert_uint_eq(mcentral_sweep_one(ci), 0);
	ck_assert(mcentral_check());
	check_kept();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mcentral");
	TCase *tc = tcase_create("mcentral");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, cache_and_uncache_move_the_span);
	tcase_add_test(tc, frees_move_full_to_partial_and_release);
	tcase_add_test(tc, frees_while_cached_fold_in_later);
	tcase_add_test_raise_signal(tc, double_free_aborts, SIGABRT);
	tcase_add_test(tc, owner_gets_its_own_span_back);
	tcase_add_test(tc, refill_sweeps_lazily);
	tcase_add_test(tc, sweep_one_and_sweep_all_count_spans);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

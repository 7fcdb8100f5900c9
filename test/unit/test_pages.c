/*
 * test_pages.c -- the page allocator (alloc/pages.h) against a simple
 * model under random allocation and free: every run handed out was free in
 * the model, free counts agree, coalescing leaves one run when everything
 * is free again, and pages_check (I1-I5) holds after every step; the
 * scavenged bits (I5) are counted, merged, cleared on reuse, and the
 * scavenger's search finds the highest free unreleased pages first.
 */
#include "arena.h"
#include "pages.h"
#include "unit.h"

#include <string.h>

#define REGION_PAGES (2 * PAGES_PER_ARENA) /* 128 MiB of address space */

static uintptr_t region;
static unsigned char model[REGION_PAGES]; /* 1 = allocated */

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	/* A private region handed to the page allocator as free pages. The
	 * test is single-threaded, so it calls pages_* without mheap.lock. */
	ck_assert(arena_grow(REGION_PAGES * PAGE_SIZE, &region));
	ck_assert(pages_free(region, REGION_PAGES, false));
	memset(model, 0, sizeof model);
}

/* pages_alloc, ignoring how many pages had been released. */
static uintptr_t palloc(size_t n)
{
	size_t scav;
	return pages_alloc(n, &scav);
}

static size_t page_of(uintptr_t p)
{
	ck_assert(p >= region && p < region + REGION_PAGES * PAGE_SIZE);
	return (p - region) / PAGE_SIZE;
}

struct run {
	uintptr_t base;
	size_t npages;
};

static size_t model_free(void)
{
	size_t n = 0;
	for (size_t i = 0; i < REGION_PAGES; i++)
		n += !model[i];
	return n;
}

START_TEST(random_against_model)
{
	static struct run live[4096];
	size_t nlive = 0;
	unsigned long rng = 88172645463325252ul;
	for (int step = 0; step < 20000; step++) {
		bool do_alloc = nlive == 0 ||
		                (nlive < 4096 && unit_rand(&rng) % 3 != 0);
		if (do_alloc) {
			size_t n = unit_rand(&rng) % 8 == 0
			               ? 1 + unit_rand(&rng) % 2000
			               : 1 + unit_rand(&rng) % 40;
			uintptr_t p = palloc(n);
			if (!p) { /* must really not fit */
				ck_assert(model_free() < REGION_PAGES);
				continue;
			}
			size_t first = page_of(p);
			ck_assert(first + n <= REGION_PAGES);
			for (size_t i = first; i < first + n; i++) {
				ck_assert_msg(!model[i], "page %zu reused", i);
				model[i] = 1;
			}
			live[nlive++] = (struct run){p, n};
		} else {
			size_t k = unit_rand(&rng) % nlive;
			size_t first = page_of(live[k].base);
			for (size_t i = first; i < first + live[k].npages; i++)
				model[i] = 0;
			ck_assert(pages_free(live[k].base, live[k].npages, false));
			live[k] = live[--nlive];
		}
		ck_assert_uint_eq(pages_free_count(), model_free());
		if (step % 500 == 0)
			ck_assert(pages_check());
	}
	while (nlive) {
		nlive--;
		ck_assert(pages_free(live[nlive].base, live[nlive].npages, false));
	}
	ck_assert(pages_check());
}
END_TEST

static void count_run(uintptr_t base, size_t npages, void *arg)
{
	(void)base;
	(void)npages;
	(*(size_t *)arg)++;
}

START_TEST(coalesces_back_to_one_run)
{
	uintptr_t a[64];
	for (int i = 0; i < 64; i++)
		ck_assert((a[i] = palloc(1 + (size_t)i % 7)) != 0);
	for (int i = 0; i < 64; i += 2)
		ck_assert(pages_free(a[i], 1 + (size_t)i % 7, false));
	for (int i = 1; i < 64; i += 2)
		ck_assert(pages_free(a[i], 1 + (size_t)i % 7, false));
	size_t runs = 0;
	pages_for_each(count_run, &runs);
	ck_assert_uint_eq(runs, 1);
	ck_assert_uint_eq(pages_free_count(), REGION_PAGES);
	ck_assert(pages_check());
}
END_TEST

START_TEST(best_fit_prefers_small_runs)
{
	/* Carve holes of 3 and 300 pages; a 3-page request takes the first. */
	uintptr_t a = palloc(10), h3 = palloc(3), b = palloc(10);
	uintptr_t h300 = palloc(300), c = palloc(10);
	ck_assert(a && h3 && b && h300 && c);
	ck_assert(pages_free(h300, 300, false));
	ck_assert(pages_free(h3, 3, false));
	ck_assert_uint_eq(palloc(3), h3);
	ck_assert_uint_eq(palloc(250), h300);
	ck_assert(pages_check());
}
END_TEST

/* pages_alloc_at takes the front of the run that starts exactly there
 * (a bin run and a treap run), and refuses an address inside a run, in
 * use, or a run too short. */
START_TEST(alloc_at_takes_the_front_of_a_run)
{
	size_t scav;
	uintptr_t a = palloc(4), hole = palloc(200), b = palloc(4);
	ck_assert(a && hole && b);
	ck_assert(pages_free(hole, 200, false));
	ck_assert(!pages_alloc_at(hole + PAGE_SIZE, 1, &scav)); /* inside */
	ck_assert(!pages_alloc_at(b, 1, &scav));                /* in use */
	ck_assert(!pages_alloc_at(hole, 201, &scav));           /* too long */
	size_t before = pages_free_count();
	ck_assert(pages_alloc_at(hole, 150, &scav)); /* treap run, split */
	ck_assert_uint_eq(pages_free_count(), before - 150);
	ck_assert(pages_check());
	ck_assert(pages_alloc_at(hole + 150 * PAGE_SIZE, 50, &scav)); /* bin */
	ck_assert(!pages_alloc_at(hole + 200 * PAGE_SIZE, 1, &scav));
	ck_assert_uint_eq(pages_free_count(), before - 200);
	ck_assert(pages_check());
}
END_TEST

START_TEST(many_treap_runs)
{
	/* 100 runs of >= 128 pages with holes between: the treap holds many
	 * nodes of equal and different sizes and still finds best fits. */
	static uintptr_t r[100];
	for (int i = 0; i < 100; i++)
		ck_assert((r[i] = palloc(128 + (size_t)i % 5)) != 0);
	for (int i = 0; i < 100; i += 2)
		ck_assert(pages_free(r[i], 128 + (size_t)i % 5, false));
	ck_assert(pages_check());
	/* 50 holes of 128..132 pages and the big tail: each request must be
	 * met and leave the structure valid. */
	for (int i = 0; i < 50; i++) {
		uintptr_t p = palloc(128);
		ck_assert(p != 0);
		ck_assert(pages_check());
	}
}
END_TEST

static bool scavenged(uintptr_t p)
{
	size_t i = (p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
	return (arena_of(p)->scavenged[i / 8] >> (i % 8)) & 1;
}

START_TEST(scavenged_pages_counted_merged_and_cleared)
{
	uintptr_t a = palloc(10), b = palloc(10), c = palloc(10);
	ck_assert(a && b && c);
	size_t r0 = pages_released();
	ck_assert(pages_free(b, 10, true));
	ck_assert_uint_eq(pages_released(), r0 + 10);
	ck_assert(scavenged(b) && scavenged(b + 9 * PAGE_SIZE));
	ck_assert(pages_check());
	ck_assert(pages_free(a, 10, false)); /* merges with b: 10 of 20 */
	ck_assert(pages_free(c, 10, false)); /* and the rest of the region */
	ck_assert(pages_check());
	ck_assert_uint_eq(pages_released(), r0 + 10);
	/* Take every free page of the heap, one at a time: the released
	 * ones are reported, all of them, and their bits cleared. */
	size_t scav = 0, s1;
	while (pages_alloc(1, &s1))
		scav += s1;
	ck_assert_uint_eq(scav, r0 + 10);
	ck_assert_uint_eq(pages_released(), 0);
	ck_assert(!scavenged(b) && !scavenged(b + 9 * PAGE_SIZE));
	ck_assert(pages_check());
}
END_TEST

struct highest {
	uintptr_t page; /* the highest free page not yet released */
};

static void find_highest(uintptr_t base, size_t n, void *arg)
{
	struct highest *h = arg;
	for (size_t i = n; i-- > 0;) {
		uintptr_t p = base + i * PAGE_SIZE;
		if (!scavenged(p)) {
			if (p > h->page)
				h->page = p;
			break;
		}
	}
}

/* One search step: the pages found are the highest unreleased free
 * pages of the whole heap; mark them released. Returns false once the
 * search has covered the heap. */
static bool scav_step(scav_cursor *c)
{
	uintptr_t base;
	mspan *run;
	size_t n = pages_scav_find(c, 8, 64, &base, &run);
	if (!n)
		return !pages_scav_done(c);
	struct highest h = {0};
	pages_for_each(find_highest, &h);
	ck_assert_uint_eq(base + (n - 1) * PAGE_SIZE, h.page);
	pages_scav_mark(run, base, n);
	return true;
}

START_TEST(scavenger_search_goes_highest_first)
{
	unsigned long rng = 42;
	static struct run live[512];
	static mspan used[512]; /* what mheap would point their pages at */
	size_t nlive = 0;
	scav_cursor c;
	pages_scav_reset(&c);
	/* Search while allocating: allocation never adds a free page, so
	 * each find must be the highest unreleased free page of the heap. */
	for (int step = 0; step < 400 && scav_step(&c); step++) {
		if (step % 4 != 3)
			continue;
		size_t n = 1 + unit_rand(&rng) % 30;
		uintptr_t p = palloc(n);
		ck_assert(p != 0);
		used[nlive] = (mspan){.state = SPAN_IN_USE, .base = p,
		                      .npages = n};
		arena_set_spans(p, n, &used[nlive]);
		live[nlive++] = (struct run){p, n};
		ck_assert(pages_check());
	}
	ck_assert_uint_gt(nlive, 50);
	while (nlive) {
		nlive--;
		ck_assert(pages_free(live[nlive].base, live[nlive].npages,
		                     false));
	}
	/* A fresh pass releases everything free. */
	pages_scav_reset(&c);
	while (scav_step(&c))
		continue;
	ck_assert_uint_eq(pages_released(), pages_free_count());
	ck_assert(pages_check());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pages");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, random_against_model);
	tcase_add_test(tc, coalesces_back_to_one_run);
	tcase_add_test(tc, best_fit_prefers_small_runs);
	tcase_add_test(tc, many_treap_runs);
	tcase_add_test(tc, alloc_at_takes_the_front_of_a_run);
	tcase_add_test(tc, scavenged_pages_counted_merged_and_cleared);
	tcase_add_test(tc, scavenger_search_goes_highest_first);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_pages.c -- the page allocator (alloc/pages.h) against a simple
 * model under random allocation and free: every run handed out was free in
 * the model, free counts agree, coalescing leaves one run when everything
 * is free again, and pages_check (I1-I4) holds after every step.
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
	ck_assert(pages_free(region, REGION_PAGES));
	memset(model, 0, sizeof model);
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
			uintptr_t p = pages_alloc(n);
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
			ck_assert(pages_free(live[k].base, live[k].npages));
			live[k] = live[--nlive];
		}
		ck_assert_uint_eq(pages_free_count(), model_free());
		if (step % 500 == 0)
			ck_assert(pages_check());
	}
	while (nlive) {
		nlive--;
		ck_assert(pages_free(live[nlive].base, live[nlive].npages));
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
		ck_assert((a[i] = pages_alloc(1 + (size_t)i % 7)) != 0);
	for (int i = 0; i < 64; i += 2)
		ck_assert(pages_free(a[i], 1 + (size_t)i % 7));
	for (int i = 1; i < 64; i += 2)
		ck_assert(pages_free(a[i], 1 + (size_t)i % 7));
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
	uintptr_t a = pages_alloc(10), h3 = pages_alloc(3), b = pages_alloc(10);
	uintptr_t h300 = pages_alloc(300), c = pages_alloc(10);
	ck_assert(a && h3 && b && h300 && c);
	ck_assert(pages_free(h300, 300));
	ck_assert(pages_free(h3, 3));
	ck_assert_uint_eq(pages_alloc(3), h3);
	ck_assert_uint_eq(pages_alloc(250), h300);
	ck_assert(pages_check());
}
END_TEST

START_TEST(many_treap_runs)
{
	/* 100 runs of >= 128 pages with holes between: the treap holds many
	 * nodes of equal and different sizes and still finds best fits. */
	static uintptr_t r[100];
	for (int i = 0; i < 100; i++)
		ck_assert((r[i] = pages_alloc(128 + (size_t)i % 5)) != 0);
	for (int i = 0; i < 100; i += 2)
		ck_assert(pages_free(r[i], 128 + (size_t)i % 5));
	ck_assert(pages_check());
	/* 50 holes of 128..132 pages and the big tail: each request must be
	 * met and leave the structure valid. */
	for (int i = 0; i < 50; i++) {
		uintptr_t p = pages_alloc(128);
		ck_assert(p != 0);
		ck_assert(pages_check());
	}
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
	suite_add_tcase(s, tc);
	return unit_run(s);
}

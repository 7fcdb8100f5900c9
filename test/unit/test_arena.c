/*
 * test_arena.c -- the arena index (alloc/arena.h): every page of spans
 * covering several arenas maps to its span, non-heap addresses map to
 * NULL, arenas are 64 MiB-aligned and come from Go's hints when free.
 */
#include "arena.h"
#include "span.h"
#include "unit.h"

#include <string.h>

static int a_global;

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

START_TEST(non_heap_addresses)
{
	int local;
	void *libc = malloc(64);
	uintptr_t addrs[] = {0, 4096, (uintptr_t)&local, (uintptr_t)&a_global,
	                     (uintptr_t)libc, HEAP_ADDR_LIMIT,
	                     ~(uintptr_t)0, (uintptr_t)1 << 63,
	                     ARENA_BASE_OFFSET - 1};
	for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
		ck_assert_ptr_null(arena_of(addrs[i]));
		ck_assert_ptr_null(arena_span_of(addrs[i]));
	}
	free(libc);
}
END_TEST

START_TEST(every_page_of_multi_arena_span)
{
	size_t npages = 3 * PAGES_PER_ARENA + 17; /* spans 4+ arenas */
	mspan *s = mheap_alloc_span(npages, 0, spanclass_make(0, true));
	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < npages; i++) {
		uintptr_t p = s->base + i * PAGE_SIZE;
		ck_assert_ptr_eq(arena_span_of(p), s);
		ck_assert_ptr_eq(arena_span_of(p + PAGE_SIZE - 1), s);
		heap_arena *ha = arena_of(p);
		ck_assert_ptr_nonnull(ha);
		ck_assert_uint_eq(ha->base % ARENA_BYTES, 0);
		ck_assert(p >= ha->base && p < ha->base + ARENA_BYTES);
	}
	ck_assert(s->base + npages * PAGE_SIZE <= HEAP_ADDR_LIMIT);
	uintptr_t base = s->base;
	mheap_free_span(s);
	/* Freed: interior pages map to nothing in use (arena.h I2). */
	for (size_t i = 1; i + 1 < npages; i++)
		ck_assert_ptr_null(arena_span_of(base + i * PAGE_SIZE));
}
END_TEST

START_TEST(first_arena_from_hint)
{
	void *p = tri_malloc(100);
	ck_assert_ptr_nonnull(p);
	heap_arena *ha = arena_of((uintptr_t)p);
	ck_assert_ptr_nonnull(ha);
	/* Go's hints are i<<40 | 0xc0<<32; under ASan the low ones are
	 * shadow memory, so accept any hint of that shape. */
	ck_assert_uint_eq(ha->base & (((uintptr_t)1 << 40) - 1),
	                  (uintptr_t)0xc0 << 32);
	tri_free(p);
}
END_TEST

START_TEST(zeroed_base_tracks_use)
{
	mspan *a = mheap_alloc_span(4, 0, spanclass_make(0, false));
	ck_assert_ptr_nonnull(a);
	memset((void *)a->base, 0x5a, 4 * PAGE_SIZE);
	uintptr_t base = a->base;
	mheap_free_span(a);
	mspan *b = mheap_alloc_span(4, 0, spanclass_make(0, false));
	ck_assert_ptr_nonnull(b);
	if (b->base == base) /* reused: must be known dirty */
		ck_assert_uint_eq(b->zero_bytes, 4 * PAGE_SIZE);
	mheap_free_span(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("index");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, non_heap_addresses);
	tcase_add_test(tc, every_page_of_multi_arena_span);
	tcase_add_test(tc, first_arena_from_hint);
	tcase_add_test(tc, zeroed_base_tracks_use);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

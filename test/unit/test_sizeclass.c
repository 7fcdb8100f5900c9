/*
 * test_sizeclass.c -- the size-class tables (alloc/sizeclass.h I1-I3) and
 * the lookup for every size 0..32768, against a linear search of Go's
 * class list.
 */
#include "sizeclass.h"
#include "unit.h"

START_TEST(tables_are_consistent)
{
	ck_assert(sizeclass_check());
}
END_TEST

START_TEST(go_values)
{
	/* Spot values from Go 1.19's sizeclasses.go. */
	ck_assert_uint_eq(class_to_size[1], 8);
	ck_assert_uint_eq(class_to_size[3], 24);
	ck_assert_uint_eq(class_to_size[5], 48);
	ck_assert_uint_eq(class_to_size[35], 1408);
	ck_assert_uint_eq(class_to_allocnpages[35], 2);
	ck_assert_uint_eq(class_to_size[52], 9472);
	ck_assert_uint_eq(class_to_allocnpages[52], 7);
	ck_assert_uint_eq(class_to_size[67], 32768);
	ck_assert_uint_eq(class_nelems(1), 1024);
	ck_assert_uint_eq(class_nelems(3), 341);
	ck_assert_uint_eq(class_nelems(65), 3);
	ck_assert_uint_eq(spanclass_make(TINY_SIZE_CLASS, true), 5);
}
END_TEST

static unsigned linear_class(size_t n)
{
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++)
		if (class_to_size[c] >= n)
			return c;
	return 0;
}

START_TEST(lookup_every_size)
{
	for (size_t n = 1; n <= MAX_SMALL_SIZE; n++)
		ck_assert_msg(sizeclass_of(n) == linear_class(n),
		              "size %zu: class %u, want %u", n,
		              sizeclass_of(n), linear_class(n));
}
END_TEST

START_TEST(divmul_every_offset)
{
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
		size_t span = class_to_allocnpages[c] * PAGE_SIZE;
		for (size_t off = 0; off < span; off++) {
			uint64_t q = ((uint64_t)off * class_to_divmul[c]) >> 32;
			ck_assert_uint_eq(q, off / class_to_size[c]);
		}
		ck_assert(class_nelems(c) * class_to_size[c] <= span);
	}
}
END_TEST

START_TEST(alignment_of_classes)
{
	/* Multiples of 16 land in classes that are multiples of 16. */
	for (size_t n = 16; n <= MAX_SMALL_SIZE; n += 16)
		ck_assert_uint_eq(class_to_size[sizeclass_of(n)] % 16, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sizeclass");
	TCase *tc = tcase_create("tables");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tables_are_consistent);
	tcase_add_test(tc, go_values);
	tcase_add_test(tc, lookup_every_size);
	tcase_add_test(tc, divmul_every_offset);
	tcase_add_test(tc, alignment_of_classes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_sample.c -- unit suite for alloc/sample.c, the allocation
 * sampler's gap: its distribution (Go's fastexprand: exponential with the
 * rate as mean) and the rate's special values (0: almost never, 1: every
 * allocation; a negative rate is refused by tri_set_profile_rate).
 */
#include "unit.h"

#include "sample.h"

START_TEST(gap_is_exponential_with_the_rate_as_mean)
{
	const long rate = 4096;
	const int n = 200000;
	ck_assert_int_eq(tri_set_profile_rate(rate), 0);
	double sum = 0;
	int over2 = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t g = sample_next_gap();
		sum += (double)g;
		over2 += g > 2 * (uintptr_t)rate;
	}
	double mean = sum / n;
	/* sd of the mean: rate / sqrt(n) ~ 9 bytes; allow 6 sd */
	ck_assert_msg(mean > rate - 60 && mean < rate + 60, "mean %f", mean);
	/* P(gap > 2 rate) = e^-2 = 0.1353; sd ~ 0.00077 */
	double p = (double)over2 / n;
	ck_assert_msg(p > 0.1353 - 0.005 && p < 0.1353 + 0.005, "tail %f", p);
}
END_TEST

START_TEST(special_rates)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	ck_assert_uint_eq(sample_next_gap(), 0);
	ck_assert_int_eq(sample_rate(), 1);
	ck_assert_int_eq(tri_set_profile_rate(0), 0);
	ck_assert_uint_gt(sample_next_gap(), (uintptr_t)1 << 20);
	ck_assert_int_eq(tri_set_profile_rate(-5), -1);
	ck_assert_int_eq(sample_rate(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sample");
	TCase *tc = tcase_create("sample");
	tcase_add_checked_fixture(tc, NULL, unit_teardown);
	tcase_add_test(tc, gap_is_exponential_with_the_rate_as_mean);
	tcase_add_test(tc, special_rates);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

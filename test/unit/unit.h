/*
 * unit.h -- shared scaffolding for the unit suites: each suite links the
 * TRI_DEBUG=3 internal archive, runs forked, and checks the heap's walkers
 * in teardown so a test that breaks an invariant fails even if its own
 * assertions pass.
 */
#ifndef TRI_UNIT_H
#define TRI_UNIT_H

#include <check.h>
#include <stdlib.h>

#include "mcentral.h"
#include "mheap.h"
#include "tricolor.h"

static inline void unit_teardown(void)
{
	ck_assert(mheap_check());
	ck_assert(mcentral_check());
}

/* ASan's fake stacks (detect_stack_use_after_return) would move locals
 * out of the stacks the collector scans: off in every suite. */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_stack_use_after_return=0";
}
#endif

/* Run one suite forked; exit status is the number of failures. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* A small deterministic PRNG for model tests. */
static inline unsigned long unit_rand(unsigned long *state)
{
	unsigned long x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif /* TRI_UNIT_H */

/*
 * test_callstack.c -- gc/callstack.h: a capture names the frames of a known
 * chain of calls in order, skip drops the innermost ones, and max bounds
 * what is stored.
 */
#include "unit.h"
#include "callstack.h"

#define CHAIN 4
static uintptr_t got[CALLSTACK_MAX];
static int ngot;
static int want_skip, want_max;

/* Each link calls the next; the innermost captures. The volatile sink keeps
 * the calls from becoming tail calls. */
static volatile int sink;
static TRI_NOINLINE void link3(void)
{
	ngot = callstack_capture(got, want_max, want_skip);
	sink++;
}
static TRI_NOINLINE void link2(void) { link3(); sink++; }
static TRI_NOINLINE void link1(void) { link2(); sink++; }
static TRI_NOINLINE void link0(void) { link1(); sink++; }

/* A return address inside f: after its entry, within its short body. */
static bool inside(uintptr_t pc, void (*f)(void))
{
	uintptr_t a = (uintptr_t)f;
	return pc > a && pc < a + 256;
}

static void capture(int max, int skip)
{
	want_max = max;
	want_skip = skip;
	ngot = -1;
	link0();
}

START_TEST(names_the_chain_in_order)
{
	capture(CALLSTACK_MAX, 0);
	ck_assert_int_gt(ngot, CHAIN);
	ck_assert(inside(got[0], link3));
	ck_assert(inside(got[1], link2));
	ck_assert(inside(got[2], link1));
	ck_assert(inside(got[3], link0));
}
END_TEST

START_TEST(skip_drops_innermost_frames)
{
	capture(CALLSTACK_MAX, 2);
	ck_assert_int_gt(ngot, 2);
	ck_assert(inside(got[0], link1));
	ck_assert(inside(got[1], link0));
}
END_TEST

START_TEST(max_bounds_the_capture)
{
	capture(2, 0);
	ck_assert_int_eq(ngot, 2);
	ck_assert(inside(got[1], link2));
	capture(0, 0);
	ck_assert_int_eq(ngot, 0);
}
END_TEST

int main(void)
{
	callstack_init();
	Suite *s = suite_create("callstack");
	TCase *tc = tcase_create("capture");
	tcase_add_test(tc, names_the_chain_in_order);
	tcase_add_test(tc, skip_drops_innermost_frames);
	tcase_add_test(tc, max_bounds_the_capture);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

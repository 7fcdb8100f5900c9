/*
 * test_callstack.c -- prof/callstack.h: a capture names the frames of a known
 * chain of calls in order, skip drops the innermost ones, and max bounds
 * what is stored; a program capture drops the library's leading frames
 * and only those (C4); a static function is named from the .symtab (C5);
 * callstack_frame_of finds a caller's frame.
 */
#include "unit.h"
#include "callstack.h"

#define CHAIN 4
static uintptr_t got[CALLSTACK_MAX];
static int ngot;
static int want_skip, want_max;
static bool want_program;      /* callstack_capture_program instead */
static uintptr_t frame_fn, frame_cfa; /* callstack_frame_of(frame_fn) */

static void link1(void);
static void link2(void);

/* Each link calls the next; the innermost captures. The volatile sink keeps
 * the calls from becoming tail calls. */
static volatile int sink;
static TRI_NOINLINE void link3(void)
{
	if (want_program)
		ngot = callstack_capture_program(got, want_max);
	else
		ngot = callstack_capture(got, want_max, want_skip);
	frame_cfa = frame_fn ? callstack_frame_of(frame_fn) : 0;
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

static void capture_program(void)
{
	want_program = true;
	capture(CALLSTACK_MAX, 0);
	want_program = false;
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

/* C4: with the library's code set to exactly link3's call, a program
 * capture starts at link2; set to link2's call (not a leading frame) it
 * changes nothing. */
START_TEST(program_capture_drops_leading_library_frames)
{
	callstack_set_library(0, 0);
	capture_program();
	ck_assert_int_gt(ngot, 3);
	ck_assert(inside(got[0], link3));
	ck_assert(inside(got[1], link2));
	uintptr_t in3 = got[0], in2 = got[1];
	int all = ngot;
	callstack_set_library(in3 - 1, in3);
	ck_assert(callstack_in_library(in3));
	ck_assert(!callstack_in_library(in2));
	capture_program();
	ck_assert_int_eq(ngot, all - 1);
	ck_assert_uint_eq(got[0], in2);
	callstack_set_library(in2 - 1, in2);
	capture_program();
	ck_assert_int_eq(ngot, all);
	ck_assert_uint_eq(got[0], in3);
	callstack_set_library(0, 0);
}
END_TEST

/* C5: link3 is static and the test is not linked with -rdynamic, so
 * dladdr cannot name it; the executable's .symtab does. */
START_TEST(symbolize_names_static_functions)
{
	capture(CALLSTACK_MAX, 0);
	char name[64];
	uintptr_t off = 0;
	ck_assert(callstack_symbolize(got[0], name, sizeof name, &off));
	ck_assert_str_eq(name, "link3");
	ck_assert_uint_eq(off, got[0] - 1 - (uintptr_t)link3);
	ck_assert(callstack_symbolize(got[2], name, sizeof name, &off));
	ck_assert_str_eq(name, "link1");
	ck_assert(!callstack_symbolize(1, name, sizeof name, &off));
}
END_TEST

/* A caller's frame address: link1's frame is above link2's. */
START_TEST(frame_of_finds_a_callers_frame)
{
	frame_fn = (uintptr_t)link1;
	capture(1, 0);
	uintptr_t cfa1 = frame_cfa;
	frame_fn = (uintptr_t)link2;
	capture(1, 0);
	uintptr_t cfa2 = frame_cfa;
	frame_fn = 1; /* no function starts there */
	capture(1, 0);
	ck_assert_uint_eq(frame_cfa, 0);
	frame_fn = 0;
	ck_assert_uint_gt(cfa2, 0);
	ck_assert_uint_gt(cfa1, cfa2);
	ck_assert_uint_lt(cfa1, (uintptr_t)__builtin_frame_address(0));
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
	tcase_add_test(tc, program_capture_drops_leading_library_frames);
	tcase_add_test(tc, symbolize_names_static_functions);
	tcase_add_test(tc, frame_of_finds_a_callers_frame);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

/*
 * test_pacer.c -- the pacer (gc/pacer.h): each pure formula F1-F11 against
 * values worked out by hand (the arithmetic is in the comment beside each
 * expected value), F12 included, then the stateful layer: commit, cycle
 * start, revise, end, the CPU limiter with its stops and stop-the-world
 * admission, and the periodic cycle.
 */
#include <math.h>

#include "debug.h"
#include "pacer.h"
#include "unit.h"

#include "../testlib.h"

#define GiB   ((uint64_t)1 << 30)
#define NEVER (~(uint64_t)0)
#define EPS   1e-12

/* ---- F1, F2: the percent goal ---- */

START_TEST(heap_minimum)
{
	ck_assert_uint_eq(pacer_heap_minimum(100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_minimum(50), 2 * MiB);
	ck_assert_uint_eq(pacer_heap_minimum(400), 16 * MiB);
	ck_assert_uint_eq(pacer_heap_minimum(10), 419430); /* 4194304/10 */
	ck_assert_uint_eq(pacer_heap_minimum(0), 0);
	ck_assert_uint_eq(pacer_heap_minimum(-1), 0);
}
END_TEST

START_TEST(percent_goal)
{
	/* 32 + (32 + 0 + 0) * 100/100 */
	ck_assert_uint_eq(pacer_percent_goal(32 * MiB, 0, 0, 100), 64 * MiB);
	/* 32 + (32 + 2 + 6) * 100/100 = 72 */
	ck_assert_uint_eq(pacer_percent_goal(32 * MiB, 2 * MiB, 6 * MiB, 100),
	                  72 * MiB);
	/* 32 + (32 + 2 + 6) * 50/100 = 32 + 20 */
	ck_assert_uint_eq(pacer_percent_goal(32 * MiB, 2 * MiB, 6 * MiB, 50),
	                  52 * MiB);
	/* 32 + 40 * 300/100 = 152 */
	ck_assert_uint_eq(pacer_percent_goal(32 * MiB, 2 * MiB, 6 * MiB, 300),
	                  152 * MiB);
	/* rounding down: (1e8 + 99) * 50/100 = 50000049.5 -> 50000049 */
	ck_assert_uint_eq(pacer_percent_goal(100000099, 0, 0, 50),
	                  100000099 + 50000049);
	/* 100001 * 1/100 = 1000.01 -> 1000; minimum 4194304/100 = 41943 */
	ck_assert_uint_eq(pacer_percent_goal(100001, 0, 0, 1), 101001);
}
END_TEST

START_TEST(percent_goal_edges)
{
	/* GOGC=0: the goal is the marked heap itself, no minimum */
	ck_assert_uint_eq(pacer_percent_goal(10 * MiB, MiB, MiB, 0), 10 * MiB);
	ck_assert_uint_eq(pacer_percent_goal(0, 0, 0, 0), 0);
	/* GOGC off */
	ck_assert_uint_eq(pacer_percent_goal(5 * MiB, 0, 0, -1), NEVER);
	ck_assert_uint_eq(pacer_percent_goal(0, 0, 0, -100), NEVER);
	/* tiny heaps: 1 + (1 + 0.5 + 0.5) = 3 MiB < minimum 4 MiB */
	ck_assert_uint_eq(pacer_percent_goal(MiB, MiB / 2, MiB / 2, 100),
	                  4 * MiB);
	ck_assert_uint_eq(pacer_percent_goal(0, 0, 0, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_percent_goal(0, 0, 0, 50), 2 * MiB);
	/* exactly the minimum: 2 + 2 = 4; one more byte: 2 + (2 MiB+1) */
	ck_assert_uint_eq(pacer_percent_goal(2 * MiB, 0, 0, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_percent_goal(2 * MiB, 1, 0, 100), 4 * MiB + 1);
	/* 1000 + 1000 * 3 = 4000 < 12 MiB minimum at GOGC=300 */
	ck_assert_uint_eq(pacer_percent_goal(1000, 0, 0, 300), 12 * MiB);
	/* huge: 2^40 * (1 + 10000) with no overflow of the product */
	ck_assert_uint_eq(pacer_percent_goal((uint64_t)1 << 40, 0, 0, 1000000),
	                  ((uint64_t)1 << 40) * 10001);
	/* 2^62 + 2^62 * 10 = 11 * 2^62 > 2^64: saturates */
	ck_assert_uint_eq(pacer_percent_goal((uint64_t)1 << 62, 0, 0, 1000),
	                  NEVER);
	/* 2^63 * 3 saturates to 2^64 - 1 before the percent (wrapping would
	 * give 2^63): 2^63 + (2^64 - 1)/100 = 2^63 + 184467440737095516 */
	ck_assert_uint_eq(pacer_percent_goal((uint64_t)1 << 63,
	                                     (uint64_t)1 << 63,
	                                     (uint64_t)1 << 63, 1),
	                  ((uint64_t)1 << 63) + 184467440737095516ull);
}
END_TEST

/* The stop-the-world formula kept as pacer_heap_goal (no roots). */
START_TEST(heap_goal_stw)
{
	ck_assert_uint_eq(pacer_heap_goal(0, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(1 * MiB, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(32 * MiB, 100), 64 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(32 * MiB, 50), 48 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(0, 10), 4 * MiB / 10);
	ck_assert_uint_eq(pacer_heap_goal(10 * MiB, 0), 10 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(101, 100), 4 * MiB);
	ck_assert_uint_eq(pacer_heap_goal(5 * MiB, -1), NEVER);
}
END_TEST

/* ---- F3: the memory-limit goal ---- */

START_TEST(memlimit_goal)
{
	/* nonheap = 60 - (10 + 40) = 10; 100 - 10 = 90; - 1 headroom */
	ck_assert_uint_eq(pacer_memlimit_goal(100 * MiB, 60 * MiB, 10 * MiB,
	                                      40 * MiB, 20 * MiB),
	                  89 * MiB);
	/* over the limit: nonheap 120 - 110 = 10, overage 20:
	 * 100 - 30 = 70; - 1 */
	ck_assert_uint_eq(pacer_memlimit_goal(100 * MiB, 120 * MiB, 10 * MiB,
	                                      100 * MiB, 30 * MiB),
	                  69 * MiB);
	/* nothing mapped yet: 64 - 0 - 1 */
	ck_assert_uint_eq(pacer_memlimit_goal(64 * MiB, 0, 0, 0, 0), 63 * MiB);
	/* racy stats, free + alloc (50) > mapped (40): nonheap taken as 0,
	 * 100 - 0 - 1 */
	ck_assert_uint_eq(
	    pacer_memlimit_goal(100 * MiB, 40 * MiB, 10 * MiB, 40 * MiB, 0),
	    99 * MiB);
}
END_TEST

START_TEST(memlimit_goal_edges)
{
	/* limit below the live heap: nonheap 10 + overage 120 - 50 = 70
	 * >= 50 -> marked */
	ck_assert_uint_eq(
	    pacer_memlimit_goal(50 * MiB, 120 * MiB, 0, 110 * MiB, 80 * MiB),
	    80 * MiB);
	/* 89 MiB < marked 95 MiB -> never below marked */
	ck_assert_uint_eq(pacer_memlimit_goal(100 * MiB, 60 * MiB, 10 * MiB,
	                                      40 * MiB, 95 * MiB),
	                  95 * MiB);
	/* headroom floor: nonheap 10 - 1 = 9, g = 10 - 9 = 1 < 2 -> 1 MiB */
	ck_assert_uint_eq(pacer_memlimit_goal(10 * MiB, 10 * MiB, 0, MiB, 0),
	                  MiB);
	/* g = 2 MiB exactly: 2 - 1 = 1 >= 1 -> 1 MiB */
	ck_assert_uint_eq(pacer_memlimit_goal(10 * MiB, 8 * MiB, 0, 0, 0), MiB);
	/* g = 2 MiB - 1 (nonheap 8 MiB + 1): floor -> 1 MiB */
	ck_assert_uint_eq(pacer_memlimit_goal(10 * MiB, 8 * MiB + 1, 0, 0, 0),
	                  MiB);
	/* g = 3 MiB: 3 - 1 = 2 MiB */
	ck_assert_uint_eq(pacer_memlimit_goal(10 * MiB, 7 * MiB, 0, 0, 0),
	                  2 * MiB);
	/* floor 1 MiB but marked 5 MiB: never below marked */
	ck_assert_uint_eq(
	    pacer_memlimit_goal(10 * MiB, 10 * MiB, 0, MiB, 5 * MiB), 5 * MiB);
	/* limit 0: 0 + 0 >= 0 -> marked */
	ck_assert_uint_eq(pacer_memlimit_goal(0, 0, 0, 0, 3 * MiB), 3 * MiB);
}
END_TEST

/* ---- F4: the final goal ---- */

START_TEST(final_goal)
{
	uint64_t min;
	/* percent binds: 64 < 100; no sweep floor */
	ck_assert_uint_eq(pacer_final_goal(64 * MiB, 100 * MiB, 0, NEVER, &min),
	                  64 * MiB);
	ck_assert_uint_eq(min, 0);
	/* equal: not limited, the sweep floor applies (5 > 4) */
	ck_assert_uint_eq(
	    pacer_final_goal(4 * MiB, 4 * MiB, 5 * MiB, NEVER, &min), 5 * MiB);
	ck_assert_uint_eq(min, 5 * MiB);
	/* sweep floor below the goal: goal stays, min_trigger = floor */
	ck_assert_uint_eq(
	    pacer_final_goal(64 * MiB, NEVER, 33 * MiB, NEVER, &min), 64 * MiB);
	ck_assert_uint_eq(min, 33 * MiB);
	/* the limit binds (50 < 64): no floors, even a higher sweep floor */
	min = 1;
	ck_assert_uint_eq(
	    pacer_final_goal(64 * MiB, 50 * MiB, 60 * MiB, NEVER, &min),
	    50 * MiB);
	ck_assert_uint_eq(min, 0);
	/* minRunway: triggered at 64 MiB - 16 KiB -> goal 64 MiB + 48 KiB */
	ck_assert_uint_eq(
	    pacer_final_goal(64 * MiB, NEVER, 0, 64 * MiB - 16 * KiB, &min),
	    64 * MiB + 48 * KiB);
	/* triggered far below: 64 KiB of runway already there */
	ck_assert_uint_eq(pacer_final_goal(64 * MiB, NEVER, 0, 40 * MiB, &min),
	                  64 * MiB);
	/* limited: no minRunway either (limit 10 MiB, triggered there) */
	ck_assert_uint_eq(
	    pacer_final_goal(64 * MiB, 10 * MiB, 0, 10 * MiB, &min), 10 * MiB);
	/* GOGC off, no limit: never */
	ck_assert_uint_eq(pacer_final_goal(NEVER, NEVER, 0, NEVER, &min),
	                  NEVER);
}
END_TEST

/* ---- F5, F6: runway and trigger ---- */

START_TEST(runway)
{
	/* cons/mark 1: 1 * 0.75/0.25 * (8 + 1 + 1) MiB = 30 MiB */
	ck_assert_uint_eq(pacer_runway(1.0, 8 * MiB, MiB, MiB), 30 * MiB);
	/* 0.5 * 3 * (1000 + 200 + 100) = 1950 */
	ck_assert_uint_eq(pacer_runway(0.5, 1000, 200, 100), 1950);
	/* 0.125 * 3 * 1000 = 375 (all exact in binary) */
	ck_assert_uint_eq(pacer_runway(0.125, 1000, 0, 0), 375);
	ck_assert_uint_eq(pacer_runway(0, 8 * MiB, MiB, MiB), 0);
	/* the controller can go negative: no runway, not a wrapped value */
	ck_assert_uint_eq(pacer_runway(-2.5, 8 * MiB, 0, 0), 0);
	/* 1000 * 3 * 2^60 > 2^64: saturates */
	ck_assert_uint_eq(pacer_runway(1000, (uint64_t)1 << 60, 0, 0), NEVER);
}
END_TEST

START_TEST(trigger)
{
	/* marked 32 MiB, goal 64 MiB: step = 32 MiB/64 = 512 KiB,
	 * lo = 32 + 45 * 0.5 = 54.5 MiB, hi = 32 + 61 * 0.5 = 62.5 MiB
	 * (goal - 4 = 60 MiB is not above it) */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, 0, 32 * MiB, 6 * MiB),
	                  58 * MiB); /* 64 - 6, inside */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, 0, 32 * MiB, 0),
	                  62 * MiB + 512 * KiB); /* 64 clamped to hi */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, 0, 32 * MiB, 20 * MiB),
	                  54 * MiB + 512 * KiB); /* 44 clamped to lo */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, 0, 32 * MiB, 100 * MiB),
	                  54 * MiB + 512 * KiB); /* runway > goal -> lo */
	/* large heap: marked 1 GiB, goal 2 GiB: step 16 MiB, 61 * 16 =
	 * 976 -> hi 2000 MiB; goal - 4 MiB = 2044 MiB > hi -> hi = 2044 */
	ck_assert_uint_eq(pacer_trigger_for(2 * GiB, 0, GiB, MiB),
	                  2044 * MiB); /* 2047 clamped */
	ck_assert_uint_eq(pacer_trigger_for(2 * GiB, 0, GiB, 100 * MiB),
	                  1948 * MiB); /* 2048 - 100, lo = 1024 + 720 */
	/* integer steps: goal - marked = 127, step 127/64 = 1:
	 * lo = 100 + 45, hi = 100 + 61 */
	ck_assert_uint_eq(pacer_trigger_for(227, 0, 100, 0), 161);
	ck_assert_uint_eq(pacer_trigger_for(227, 0, 100, 100), 145);
	ck_assert_uint_eq(pacer_trigger_for(227, 0, 100, 70), 157);
}
END_TEST

START_TEST(trigger_edges)
{
	/* heap minimum, nothing marked: step 64 KiB, hi = 61 * 64 KiB */
	ck_assert_uint_eq(pacer_trigger_for(4 * MiB, 0, 0, 0), 3904 * KiB);
	ck_assert_uint_eq(pacer_trigger_for(4 * MiB, 0, 0, 4 * MiB),
	                  2880 * KiB); /* 0 -> lo = 45 * 64 KiB */
	/* marked >= goal: the goal */
	ck_assert_uint_eq(pacer_trigger_for(10 * MiB, 0, 10 * MiB, 0),
	                  10 * MiB);
	ck_assert_uint_eq(pacer_trigger_for(10 * MiB, 0, 12 * MiB, 0),
	                  10 * MiB);
	/* sweep floor raises lo: max(60, 54.5) = 60; 64 - 10 = 54 -> 60 */
	ck_assert_uint_eq(
	    pacer_trigger_for(64 * MiB, 60 * MiB, 32 * MiB, 10 * MiB),
	    60 * MiB);
	/* floor above hi: hi = max(62.5, 63) = 63 */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, 63 * MiB, 32 * MiB, 0),
	                  63 * MiB);
	/* floor below marked: lo = max(marked, ...) = 54.5 still */
	ck_assert_uint_eq(pacer_trigger_for(64 * MiB, MiB, 32 * MiB, 64 * MiB),
	                  54 * MiB + 512 * KiB);
	/* goal - marked < 64: step 0, lo = hi = marked */
	ck_assert_uint_eq(pacer_trigger_for(100, 0, 50, 0), 50);
	/* never: goal ~0, marked 0: step = (2^64-1)/64 = 2^58 - 1 (floor),
	 * hi = 61 * (2^58 - 1); goal - 4 MiB is above -> that */
	ck_assert_uint_eq(pacer_trigger_for(NEVER, 0, 0, 0), NEVER - 4 * MiB);
}
END_TEST

/* ---- F7: mark workers ---- */

static void check_workers(int nprocs, int dedicated, double fractional)
{
	pacer_workers w = pacer_workers_for(nprocs);
	ck_assert_int_eq(w.dedicated, dedicated);
	ck_assert_double_eq_tol(w.fractional, fractional, EPS);
}

START_TEST(workers)
{
	/* P=1: total 0.25, round 0, error -1 -> fractional 0.25/1 */
	check_workers(1, 0, 0.25);
	/* P=2: total 0.5, round 1, error +1 -> 0; (0.5 - 0)/2 */
	check_workers(2, 0, 0.25);
	/* P=3: total 0.75, round 1, error +1/3 -> 0; 0.75/3 */
	check_workers(3, 0, 0.25);
	/* P=4: total 1, 1 dedicated, error 0 */
	check_workers(4, 1, 0);
	/* P=5: total 1.25, round 1, error -0.2 (within 0.3) */
	check_workers(5, 1, 0);
	/* P=6: total 1.5, round 2, error +1/3 -> 1; (1.5 - 1)/6 */
	check_workers(6, 1, 0.5 / 6);
	/* P=8: total 2, 2 dedicated */
	check_workers(8, 2, 0);
	/* P=10: total 2.5, round 3, error +0.2 */
	check_workers(10, 3, 0);
	check_workers(0, 0, 0);
}
END_TEST

/* ---- F8: the assist ratio ---- */

/* live 40 MiB, goal 64, triggered 38, expected 10, max scan 20, GOGC 100 */
static pacer_revise_in revise_base(void)
{
	return (pacer_revise_in){.heap_live = 40 * MiB,
	                         .goal = 64 * MiB,
	                         .triggered = 38 * MiB,
	                         .work = 2 * MiB,
	                         .expected = 10 * MiB,
	                         .max_scan = 20 * MiB,
	                         .gogc = 100};
}

static void check_assist(const pacer_revise_in *in, double wpb)
{
	pacer_assist a = pacer_assist_for(in);
	ck_assert_double_eq_tol(a.work_per_byte, wpb, wpb * EPS);
	ck_assert_double_eq_tol(a.bytes_per_work, 1 / wpb, EPS / wpb);
}

START_TEST(assist_normal)
{
	pacer_revise_in in = revise_base();
	/* (10 - 2) MiB of work left over (64 - 40) MiB of heap = 1/3 */
	check_assist(&in, 1.0 / 3);
	/* nearly done: 10 MiB - 10 bytes left -> floor 1000 work units
	 * over 24 MiB */
	in.work = 10 * MiB - 10;
	check_assist(&in, 1000.0 / (24 * MiB));
	/* exactly expected: 0 left -> 1000 */
	in.work = 10 * MiB;
	check_assist(&in, 1000.0 / (24 * MiB));
}
END_TEST

START_TEST(assist_heap_growing)
{
	pacer_revise_in in = revise_base();
	/* work 12 > expected 10: goal = 38 + (64 - 38)/10 * 20 = 90 MiB
	 * (hard goal 2 * 64 = 128 not reached), expected = 20:
	 * (20 - 12) / (90 - 40) = 8/50 */
	in.work = 12 * MiB;
	check_assist(&in, 8.0 / 50);
	/* max scan 100: 38 + 26 * 10 = 298 > hard 128 -> 128;
	 * (100 - 12) / (128 - 40) = 1 */
	in.max_scan = 100 * MiB;
	check_assist(&in, 1.0);
	/* GOGC off (forced cycle) acts as 100000: hard = 1001 * 64 MiB =
	 * 64064 MiB; max scan 10240 MiB: 38 + 2.6 * 10240 = 26662 MiB
	 * wins; (10240 - 12) / (26662 - 40) */
	in.gogc = -1;
	in.max_scan = 10240 * MiB;
	check_assist(&in, 10228.0 / 26622);
	/* the same at GOGC 100: hard 128 wins; (10240 - 12)/(128 - 40) */
	in.gogc = 100;
	check_assist(&in, 10228.0 / 88);
	/* nothing expected (first cycle): goal = hard = 128 MiB;
	 * (20 MiB - 1) / (128 - 40) MiB */
	in = revise_base();
	in.expected = 0;
	in.work = 1;
	check_assist(&in, (20.0 * MiB - 1) / (88 * MiB));
}
END_TEST

START_TEST(assist_overshoot)
{
	pacer_revise_in in = revise_base();
	/* live 70 MiB > goal 64: goal = 64 MiB * 1.1 = 73819750.4 ->
	 * 73819750; heap left 73819750 - 73400320 = 419430; expected = max
	 * scan 20 MiB: (20 - 2) MiB = 18874368 */
	in.heap_live = 70 * MiB;
	check_assist(&in, 18874368.0 / 419430);
	/* live 80 MiB > 70.4 MiB: heap left floors at 1 byte */
	in.heap_live = 80 * MiB;
	check_assist(&in, 18874368.0);
	/* growing and over: goal 90 MiB (as above), live 100 > 90:
	 * 90 * 1.1 = 99 MiB < 100 -> 1 byte; (20 - 12) MiB */
	in.heap_live = 100 * MiB;
	in.work = 12 * MiB;
	check_assist(&in, 8.0 * MiB);
	/* growing, over 90 but not 99: live 95: (20 - 12)/(99 - 95) = 2 */
	in.heap_live = 95 * MiB;
	check_assist(&in, 2.0);
}
END_TEST

/* ---- F9: cons/mark and the PI controller ---- */

START_TEST(cons_mark)
{
	double cm = -1;
	/* 4 procs for 1 ms = 4e6 cpu ns; u = 0.25 + 0.4/4 = 0.35,
	 * ui = 0.8/4 = 0.2; 10 MiB * 0.55 / (20 MiB * 0.65) = 11/26 */
	pacer_cycle_stats s = {.heap_live = 60 * MiB,
	                       .scan_work = 20 * MiB,
	                       .mark_ns = 1000000,
	                       .assist_ns = 400000,
	                       .idle_ns = 800000,
	                       .nprocs = 4};
	ck_assert(pacer_cons_mark_for(&s, 50 * MiB, &cm));
	ck_assert_double_eq_tol(cm, 11.0 / 26, EPS);
	/* no assist or idle: 10/20 * 0.25/0.75 = 1/6 */
	s.assist_ns = s.idle_ns = 0;
	ck_assert(pacer_cons_mark_for(&s, 50 * MiB, &cm));
	ck_assert_double_eq_tol(cm, 1.0 / 6, EPS);
	/* no mark time measured: utilisation 0.25 alone, as above */
	s.mark_ns = 0;
	s.idle_ns = 800000;
	ck_assert(pacer_cons_mark_for(&s, 50 * MiB, &cm));
	ck_assert_double_eq_tol(cm, 1.0 / 6, EPS);
}
END_TEST

START_TEST(cons_mark_none)
{
	double cm = 7;
	pacer_cycle_stats s = {.heap_live = 50 * MiB,
	                       .scan_work = 20 * MiB,
	                       .mark_ns = 1000000,
	                       .nprocs = 4};
	ck_assert(!pacer_cons_mark_for(&s, 50 * MiB, &cm)); /* live = trig */
	ck_assert(!pacer_cons_mark_for(&s, 60 * MiB, &cm)); /* live < trig */
	s.heap_live = 60 * MiB;
	s.scan_work = 0;
	ck_assert(!pacer_cons_mark_for(&s, 50 * MiB, &cm)); /* no work */
	/* assists took 3 of 4 ms*procs: u = 0.25 + 0.75 = 1 */
	s.scan_work = 20 * MiB;
	s.assist_ns = 3000000;
	ck_assert(!pacer_cons_mark_for(&s, 50 * MiB, &cm));
	ck_assert_double_eq(cm, 7); /* untouched */
}
END_TEST

START_TEST(pi_controller)
{
	pacer_pi c = PACER_PI_CONS_MARK;
	bool ok = false;
	/* raw = 0.9 * (2 - 0) + 0 = 1.8;
	 * integral = 0.9 * 1/4 * 2 + 1/1000 * (1.8 - 1.8) = 0.45 */
	ck_assert_double_eq_tol(pacer_pi_next(&c, 0, 2, 1, &ok), 1.8, EPS);
	ck_assert(ok);
	ck_assert_double_eq_tol(c.integral, 0.45, EPS);
	/* raw = 0.9 * (2 - 1.8) + 0.45 = 0.63;
	 * integral = 0.45 + 0.225 * 0.2 = 0.495 */
	ck_assert_double_eq_tol(pacer_pi_next(&c, 1.8, 2, 1, &ok), 0.63, EPS);
	ck_assert_double_eq_tol(c.integral, 0.495, EPS);
	/* period 2: raw = 0.9 * (1 - 0.63) + 0.495 = 0.828;
	 * integral = 0.495 + 0.9 * 2/4 * 0.37 = 0.6615 */
	ck_assert_double_eq_tol(pacer_pi_next(&c, 0.63, 1, 2, &ok), 0.828, EPS);
	ck_assert_double_eq_tol(c.integral, 0.6615, EPS);
	ck_assert(!c.err_overflow && !c.input_overflow);
}
END_TEST

START_TEST(pi_controller_clamp)
{
	pacer_pi c = PACER_PI_CONS_MARK;
	bool ok = false;
	/* raw = 0.9 * 5000 = 4500 -> clamped to 1000;
	 * integral = 0.225 * 5000 + (1000 - 4500)/1000 = 1125 - 3.5 */
	ck_assert_double_eq(pacer_pi_next(&c, 0, 5000, 1, &ok), 1000);
	ck_assert(ok);
	ck_assert_double_eq_tol(c.integral, 1121.5, EPS);
	/* raw = 0.9 * 4000 + 1121.5 = 4721.5 -> 1000;
	 * integral += 900 + (1000 - 4721.5)/1000 = 900 - 3.7215 */
	ck_assert_double_eq(pacer_pi_next(&c, 1000, 5000, 1, &ok), 1000);
	ck_assert_double_eq_tol(c.integral, 2017.7785, 1e-9);
	/* the lower bound: raw = 0.9 * -2000 = -1800 -> -1000;
	 * integral = 0.225 * -2000 + (-1000 + 1800)/1000 = -449.2 */
	c = PACER_PI_CONS_MARK;
	ck_assert_double_eq(pacer_pi_next(&c, 0, -2000, 1, &ok), -1000);
	ck_assert_double_eq_tol(c.integral, -449.2, 1e-9);
}
END_TEST

START_TEST(pi_controller_overflow)
{
	pacer_pi c = PACER_PI_CONS_MARK;
	bool ok = true;
	/* raw = 0.9 * 1e308 + 1.7e308 = inf: reset, input flag, min */
	c.integral = 1.7e308;
	ck_assert_double_eq(pacer_pi_next(&c, 0, 1e308, 1, &ok), -1000);
	ck_assert(!ok && c.input_overflow && !c.err_overflow);
	ck_assert_double_eq(c.integral, 0);
	/* raw = 0.9 * 1e10 fine, but the integral step
	 * 0.9 * 1e300/4 * 1e10 = 2.25e309 = inf: reset, error flag */
	c = PACER_PI_CONS_MARK;
	ok = true;
	ck_assert_double_eq(pacer_pi_next(&c, 0, 1e10, 1e300, &ok), -1000);
	ck_assert(!ok && c.err_overflow && !c.input_overflow);
	ck_assert_double_eq(c.integral, 0);
	/* NaN input */
	c = PACER_PI_CONS_MARK;
	ck_assert_double_eq(pacer_pi_next(&c, 0, NAN, 1, &ok), -1000);
	ck_assert(!ok && c.input_overflow);
}
END_TEST

/* ---- F10: the CPU limiter ---- */

START_TEST(limiter_window)
{
	int64_t mut, gc;
	/* 10 ms on 4 procs = 4e7 ns; during a cycle gc = 2e6 assist +
	 * 0.25 * 4e7 = 1.2e7; mutator = 4e7 - 5e6 idle - 1.2e7 = 2.3e7 */
	pacer_limiter_window(10000000, 4, 2000000, 5000000, true, &mut, &gc);
	ck_assert_int_eq(gc, 12000000);
	ck_assert_int_eq(mut, 23000000);
	/* outside a cycle: gc = 2e6; mutator = 4e7 - 5e6 - 2e6 */
	pacer_limiter_window(10000000, 4, 2000000, 5000000, false, &mut, &gc);
	ck_assert_int_eq(gc, 2000000);
	ck_assert_int_eq(mut, 33000000);
}
END_TEST

START_TEST(limiter_bucket)
{
	pacer_bucket b = {0};
	pacer_bucket_resize(&b, 4); /* 4 * 1e9 ns */
	ck_assert_uint_eq(b.capacity, 4000000000ull);
	ck_assert(!b.enabled);
	pacer_bucket_fill(&b, 1000000000, 3000000000); /* +2e9 */
	ck_assert_uint_eq(b.fill, 2000000000ull);
	ck_assert(!b.enabled);
	pacer_bucket_fill(&b, 0, 2000000000); /* +2e9 = headroom: full */
	ck_assert_uint_eq(b.fill, 4000000000ull);
	ck_assert_uint_eq(b.overflow, 0);
	ck_assert(b.enabled);
	pacer_bucket_fill(&b, 0, 1000000000); /* +1e9 past full */
	ck_assert_uint_eq(b.fill, 4000000000ull);
	ck_assert_uint_eq(b.overflow, 1000000000ull);
	ck_assert(b.enabled);
	pacer_bucket_fill(&b, 5, 5); /* no change: still limiting */
	ck_assert(b.enabled);
	pacer_bucket_fill(&b, 1500000000, 500000000); /* -1e9 */
	ck_assert_uint_eq(b.fill, 3000000000ull);
	ck_assert(!b.enabled);
	pacer_bucket_fill(&b, 5000000000, 0); /* -5e9: empty, not negative */
	ck_assert_uint_eq(b.fill, 0);
	ck_assert(!b.enabled);
}
END_TEST

START_TEST(limiter_resize)
{
	pacer_bucket b = {0};
	pacer_bucket_resize(&b, 4);
	pacer_bucket_fill(&b, 0, 3000000000);
	pacer_bucket_resize(&b, 2); /* 3e9 > 2e9: clipped, full */
	ck_assert_uint_eq(b.capacity, 2000000000ull);
	ck_assert_uint_eq(b.fill, 2000000000ull);
	ck_assert(b.enabled);
	pacer_bucket_resize(&b, 8); /* room again */
	ck_assert_uint_eq(b.fill, 2000000000ull);
	ck_assert(!b.enabled);
}
END_TEST

/* GC above half of the non-idle CPU fills the bucket: 4 procs, windows
 * of 10 ms during a cycle, assists 1.2e7 ns per window: gc = 1.2e7 + 1e7,
 * mutator = 4e7 - 2.2e7 = 1.8e7, +4e6 a window: 4e9/4e6 = 1000 windows
 * to fill. At exactly half (assists 1e7) it never fills. */
START_TEST(limiter_fills_over_half)
{
	pacer_bucket b = {0}, half = {0};
	pacer_bucket_resize(&b, 4);
	pacer_bucket_resize(&half, 4);
	int64_t mut, gc;
	for (int i = 0; i < 999; i++) {
		pacer_limiter_window(10000000, 4, 12000000, 0, true, &mut, &gc);
		pacer_bucket_fill(&b, mut, gc);
		pacer_limiter_window(10000000, 4, 10000000, 0, true, &mut, &gc);
		pacer_bucket_fill(&half, mut, gc);
	}
	ck_assert_uint_eq(b.fill, 3996000000ull); /* 999 * 4e6 */
	ck_assert(!b.enabled);
	pacer_limiter_window(10000000, 4, 12000000, 0, true, &mut, &gc);
	pacer_bucket_fill(&b, mut, gc);
	ck_assert(b.enabled);
	ck_assert_uint_eq(half.fill, 0);
	ck_assert(!half.enabled);
}
END_TEST

/* ---- F12: stop-the-world admission ---- */

START_TEST(stw_admits)
{
	const uint64_t burst = 2 * PACER_STW_BURST_PER_PROC; /* 2 procs */
	pacer_bucket b = {0};
	ck_assert(pacer_stw_admits(&b, burst, burst)); /* not sized yet */
	pacer_bucket_resize(&b, 2);
	ck_assert(pacer_stw_admits(&b, burst, 50000000)); /* 0 + 5e7 */
	pacer_bucket_fill(&b, 0, 150000000);
	ck_assert(pacer_stw_admits(&b, burst, 50000000)); /* = 2e8 */
	ck_assert(!pacer_stw_admits(&b, burst, 50000001));
	/* a cost past the burst counts as the burst: an empty bucket only */
	ck_assert(!pacer_stw_admits(&b, burst, 10 * burst));
	pacer_bucket_fill(&b, 150000000, 0);
	ck_assert_uint_eq(b.fill, 0);
	ck_assert(pacer_stw_admits(&b, burst, 10 * burst));
	/* filled past the burst (by concurrent cycles): nothing fits */
	pacer_bucket_fill(&b, 0, 1000000000);
	ck_assert(!pacer_stw_admits(&b, burst, 0));
}
END_TEST

/* ---- F11: the periodic cycle ---- */

START_TEST(periodic)
{
	const uint64_t s = 1000000000;
	/* 200 - 79 = 121 s > 120 s */
	ck_assert(pacer_periodic_due(200 * s, 79 * s, 100));
	ck_assert(!pacer_periodic_due(200 * s, 80 * s, 100)); /* 120: not > */
	ck_assert(pacer_periodic_due(200 * s, 80 * s - 1, 0));
	ck_assert(!pacer_periodic_due(200 * s, 79 * s, -1));  /* GOGC off */
	ck_assert(!pacer_periodic_due(200 * s, 0, 100));      /* no cycle yet */
	ck_assert(!pacer_periodic_due(79 * s, 200 * s, 100)); /* clock skew */
}
END_TEST

/* ---- the stateful layer ---- */

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
}

static void teardown(void)
{
	ck_assert(pacer_check());
	unit_teardown();
}

static void check_published(uint64_t goal, uint64_t trigger)
{
	ck_assert_uint_eq(pacer_goal(), goal);
	ck_assert_uint_eq(pacer_trigger(), trigger);
	ck_assert_uint_eq(atomic_load_relaxed(&mheap_trigger), trigger);
	ck_assert(pacer_check());
}

/* A stop-the-world commit of `marked` alone: no stacks, globals, memory
 * stats or sweep floor, trigger = goal. */
static void commit_stw(uint64_t marked, int gogc, int64_t memlimit)
{
	pacer_inputs in = {.marked = marked, .gogc = gogc,
	                   .memlimit = memlimit, .heap_live = marked,
	                   .sweep_done = true};
	pacer_commit_cycle(&in);
}

/* Stop-the-world commits keep the pre-concurrent results. */
START_TEST(commit_publishes_the_trigger)
{
	pacer_init(100, MEMLIMIT_NONE);
	check_published(4 * MiB, 4 * MiB); /* the heap minimum */
	commit_stw(8 * MiB, 100, MEMLIMIT_NONE);
	check_published(16 * MiB, 16 * MiB); /* 8 + 8 */
	commit_stw(8 * MiB, -1, MEMLIMIT_NONE);
	check_published(NEVER, NEVER);
	pacer_init(-1, MEMLIMIT_NONE);
	check_published(NEVER, NEVER);
}
END_TEST

/* A stop-the-world commit with a memory limit: 20 - 0 - 1. */
START_TEST(commit_stw_memlimit)
{
	pacer_init(100, 20 * MiB);
	check_published(4 * MiB, 4 * MiB);
	commit_stw(8 * MiB, 100, 20 * MiB); /* 16 < 19 */
	check_published(16 * MiB, 16 * MiB);
	commit_stw(16 * MiB, 100, 20 * MiB); /* 32 > 19: the limit */
	check_published(19 * MiB, 19 * MiB);
	commit_stw(30 * MiB, 100, 20 * MiB); /* 19 < marked 30: marked */
	check_published(30 * MiB, 30 * MiB);
}
END_TEST

/* marked 32 MiB, 8 + 1 + 1 MiB scanned, GOGC 100, sweeping follows */
static pacer_inputs inputs_32(bool concurrent)
{
	return (pacer_inputs){.marked = 32 * MiB,
	                      .heap_scan = 8 * MiB,
	                      .stack_scan = MiB,
	                      .globals_scan = MiB,
	                      .gogc = 100,
	                      .memlimit = MEMLIMIT_NONE,
	                      .heap_live = 32 * MiB,
	                      .concurrent = concurrent};
}

START_TEST(commit_concurrent)
{
	pacer_init(100, MEMLIMIT_NONE);
	pacer_inputs in = inputs_32(false);
	pacer_commit_cycle(&in);
	/* goal 32 + (32 + 1 + 1) = 66 MiB (sweep floor 33 below it);
	 * stop the world: trigger = goal */
	check_published(66 * MiB, 66 * MiB);
	in.concurrent = true;
	pacer_commit_cycle(&in);
	/* cons/mark 0: runway 0; step 34 MiB/64 = 544 KiB,
	 * hi = 32 MiB + 61 * 544 KiB = 32768 + 33184 KiB (goal - 4 MiB
	 * = 62 MiB is lower) */
	check_published(66 * MiB, 65952 * KiB);
	/* memory limit 50 MiB, 45 mapped, 2 free, 40 allocated:
	 * nonheap 3, goal 50 - 3 - 1 = 46 MiB < 66; step 14 MiB/64 =
	 * 224 KiB, hi = 32768 + 61 * 224 = 46432 KiB < 47104 */
	in.memlimit = 50 * MiB;
	in.mapped_ready = 45 * MiB;
	in.heap_free = 2 * MiB;
	in.heap_alloc = 40 * MiB;
	pacer_commit_cycle(&in);
	check_published(46 * MiB, 46432 * KiB);
	/* limit 30 MiB below the live heap: overage 15 + nonheap 3 = 18,
	 * 30 - 18 - 1 = 11 < marked 32: goal = trigger = marked */
	in.memlimit = 30 * MiB;
	pacer_commit_cycle(&in);
	check_published(32 * MiB, 32 * MiB);
	/* GOGC off, no limit: never, also in concurrent mode */
	in.memlimit = MEMLIMIT_NONE;
	in.gogc = -1;
	pacer_commit_cycle(&in);
	check_published(NEVER, NEVER);
	/* GOGC off, limit 64 MiB, nothing mapped, nothing marked: goal 63
	 * MiB; step 1008 KiB, hi = 61 * 1008 KiB */
	in = (pacer_inputs){
	    .gogc = -1, .memlimit = 64 * MiB, .concurrent = true};
	pacer_commit_cycle(&in);
	check_published(63 * MiB, 61488 * KiB);
}
END_TEST

/* One concurrent cycle through the state: commit, start, revise, end,
 * commit again with the measured cons/mark. */
START_TEST(cycle)
{
	pacer_init(100, MEMLIMIT_NONE);
	pacer_inputs in = inputs_32(true);
	pacer_commit_cycle(&in); /* goal 66 MiB, trigger 65952 KiB */
	pacer_start_in st = {.heap_live = 65952 * KiB,
	                     .heap_scan = 10 * MiB,
	                     .stack_size = 2 * MiB,
	                     .nprocs = 4};
	pacer_workers w = pacer_start_cycle(&st);
	ck_assert_int_eq(w.dedicated, 1);
	ck_assert_double_eq(w.fractional, 0);
	/* goal 67584 KiB >= triggered + 64 KiB: unchanged. Expected work
	 * 8 + 1 + 1 = 10 MiB = 10240 KiB over 67584 - 65952 = 1632 KiB */
	ck_assert_uint_eq(pacer_goal(), 66 * MiB);
	ck_assert_double_eq_tol(pacer_assist_work_per_byte(), 10240.0 / 1632,
	                        EPS);
	ck_assert_double_eq_tol(pacer_assist_bytes_per_work(), 1632.0 / 10240,
	                        EPS);
	/* live 65 MiB, 5 MiB done: 5 MiB left over 1 MiB */
	pacer_revise(65 * MiB, 5 * MiB);
	ck_assert_double_eq_tol(pacer_assist_work_per_byte(), 5.0, EPS);
	ck_assert_double_eq_tol(pacer_assist_bytes_per_work(), 0.2, EPS);
	/* live 67 MiB past the goal: 66 MiB * 1.1 = 76126617.6 ->
	 * 76126617, minus 70254592 = 5872025; max scan 10 + 2 + 1 = 13 MiB,
	 * 13 - 6 = 7 MiB = 7340032 */
	pacer_revise(67 * MiB, 6 * MiB);
	ck_assert_double_eq_tol(pacer_assist_work_per_byte(),
	                        7340032.0 / 5872025, EPS);
	ck_assert(pacer_check());
	/* end: (68608 - 65952) KiB * 0.25 / (10240 KiB * 0.75) = 83/960;
	 * PI from 0: 0.9 * 83/960 */
	pacer_cycle_stats s = {.heap_live = 67 * MiB,
	                       .scan_work = 10 * MiB,
	                       .mark_ns = 1000000,
	                       .nprocs = 4};
	ck_assert_double_eq_tol(pacer_end_cycle(&s), 0.9 * 83 / 960, EPS);
	ck_assert_double_eq_tol(pacer_cons_mark(), 0.9 * 83 / 960, EPS);
	/* next commit: marked 40, scanned 12 + 1 + 1. Runway =
	 * 0.9 * 83/960 * 3 * 14 MiB = 3426877.44 -> 3426877; goal 40 + 42
	 * = 82 MiB; step 672 KiB: lo = 40960 + 30240 KiB, hi = 40960 +
	 * 40992 KiB; 85983232 - 3426877 = 82556355 lies between */
	in.marked = in.heap_live = 40 * MiB;
	in.heap_scan = 12 * MiB;
	pacer_commit_cycle(&in);
	check_published(82 * MiB, 82556355);
}
END_TEST

/* gc/gc.c may run cycles before (or without) pacer_init: the controller
 * starts as Go's. Same cycle as above: 0.9 * 83/960. */
START_TEST(cycle_without_init)
{
	pacer_inputs in = inputs_32(true);
	pacer_commit_cycle(&in);
	ck_assert_uint_eq(pacer_trigger(), 65952 * KiB);
	pacer_start_in st = {.heap_live = 65952 * KiB, .nprocs = 4};
	pacer_start_cycle(&st);
	pacer_cycle_stats s = {.heap_live = 67 * MiB,
	                       .scan_work = 10 * MiB,
	                       .mark_ns = 1000000,
	                       .nprocs = 4};
	ck_assert_double_eq_tol(pacer_end_cycle(&s), 0.9 * 83 / 960, EPS);
}
END_TEST

/* The start raises the goal to triggered + 64 KiB (minRunway) only in
 * concurrent mode, and not when the memory limit binds. */
START_TEST(cycle_min_runway)
{
	pacer_init(100, MEMLIMIT_NONE);
	pacer_inputs in = inputs_32(true);
	in.sweep_done = true;
	pacer_commit_cycle(&in);
	in.concurrent = false;
	pacer_commit_cycle(&in);
	pacer_start_in st = {.heap_live = 66 * MiB, .nprocs = 1};
	pacer_workers w = pacer_start_cycle(&st);
	ck_assert_int_eq(w.dedicated, 0);
	ck_assert_double_eq_tol(w.fractional, 0.25, EPS);
	ck_assert_uint_eq(pacer_goal(), 66 * MiB);
	pacer_cycle_stats s = {.heap_live = 66 * MiB};
	pacer_end_cycle(&s);
	/* concurrent, trigger 65952 KiB: 65952 + 64 < 67584 KiB, stays */
	in.concurrent = true;
	pacer_commit_cycle(&in);
	pacer_start_cycle(&st);
	ck_assert_uint_eq(pacer_goal(), 66 * MiB);
	pacer_end_cycle(&s);
	/* sweeping from heap_live 65 MiB - 16 KiB: sweep floor 66 MiB -
	 * 16 KiB = lo = hi = the trigger; the start lifts the goal to
	 * trigger + 64 KiB = 66 MiB + 48 KiB */
	in.sweep_done = false;
	in.heap_live = 65 * MiB - 16 * KiB;
	pacer_commit_cycle(&in);
	check_published(66 * MiB, 66 * MiB - 16 * KiB);
	pacer_start_cycle(&st);
	ck_assert_uint_eq(pacer_goal(), 66 * MiB + 48 * KiB);
	pacer_end_cycle(&s);
	/* memory-limited goal 46 MiB (as in commit_concurrent), trigger
	 * 46432 KiB: no minimum runway when the limit binds */
	in.memlimit = 50 * MiB;
	in.mapped_ready = 45 * MiB;
	in.heap_free = 2 * MiB;
	in.heap_alloc = 40 * MiB;
	pacer_commit_cycle(&in);
	pacer_start_cycle(&st);
	ck_assert_uint_eq(pacer_goal(), 46 * MiB);
}
END_TEST

/* No measurement (forced cycle below the trigger) keeps cons/mark; the
 * end clears the cycle. */
START_TEST(cycle_forced_no_measure)
{
	pacer_init(100, MEMLIMIT_NONE);
	pacer_inputs in = inputs_32(true);
	pacer_commit_cycle(&in);
	pacer_start_in st = {.heap_live = 40 * MiB, .nprocs = 8};
	pacer_workers w = pacer_start_cycle(&st);
	ck_assert_int_eq(w.dedicated, 2);
	/* heap_live 50 MiB < triggered 65952 KiB: nothing measured */
	pacer_cycle_stats s = {.heap_live = 50 * MiB,
	                       .scan_work = MiB,
	                       .mark_ns = 10,
	                       .nprocs = 8};
	ck_assert_double_eq(pacer_end_cycle(&s), 0);
}
END_TEST

/* 2 procs, 10 ms windows during a cycle with 1.5e7 ns of assists:
 * gc = 1.5e7 + 0.25 * 2e7 = 2e7, mutator 0: +2e7 a window, 2e9/2e7 =
 * 100 windows to fill. */
START_TEST(limiter_state)
{
	const uint64_t t0 = 1000000000, ms10 = 10000000;
	pacer_init(100, MEMLIMIT_NONE);
	ck_assert(!pacer_limiting());
	/* before a reset the bucket has no size: never limits */
	ck_assert(pacer_limiter_update(t0, 5 * ms10, 0, true));
	ck_assert(!pacer_limiting());
	pacer_limiter_reset(t0, 2);
	uint64_t t = t0;
	for (int i = 0; i < 99; i++) {
		t += ms10;
		ck_assert(pacer_limiter_update(t, 15000000, 0, true));
	}
	ck_assert(!pacer_limiting()); /* 99 * 2e7 = 1.98e9 */
	ck_assert(pacer_check());
	t += ms10;
	ck_assert(pacer_limiter_update(t, 15000000, 0, true));
	ck_assert(pacer_limiting());
	ck_assert(pacer_check());
	/* the clock went back: nothing done, the caller keeps its times */
	ck_assert(!pacer_limiter_update(t - 1, 0, 0, false));
	ck_assert(pacer_limiting());
	/* 10 ms of mutator only (2e7 ns): drains */
	t += ms10;
	ck_assert(pacer_limiter_update(t, 0, 0, false));
	ck_assert(!pacer_limiting());
	/* all idle: no change */
	t += ms10;
	ck_assert(pacer_limiter_update(t, 0, 2 * ms10, false));
	ck_assert(!pacer_limiting());
	/* one proc now: capacity 1e9 < fill 1.98e9: clipped, limiting */
	pacer_limiter_reset(t, 1);
	ck_assert(pacer_limiting());
}
END_TEST

/* F10's stops: the window before closes as usual, the stop counts as
 * GC time on every CPU, and nothing else updates meanwhile (I5). */
START_TEST(limiter_transition)
{
	const uint64_t t0 = 1000000000, ms = 1000000;
	pacer_init(-1, 64 * MiB); /* GOGC off: the limit's goal binds */
	pacer_limiter_reset(t0, 2);
	/* a concurrent cycle's window: 10 ms * 2 * 0.25 = 5e6 GC, 1.5e7
	 * mutator: stays empty */
	pacer_limiter_start_transition(t0 + 10 * ms, 0, 0, true);
	ck_assert(!pacer_limiter_update(t0 + 15 * ms, 0, 0, false)); /* I5 */
	/* busy limiter: yes, for the caller to ask under the world lock */
	ck_assert(pacer_limiter_admit_stw(t0 + 15 * ms, false));
	pacer_limiter_finish_transition(t0 + 30 * ms); /* 20 ms * 2 */
	ck_assert_uint_eq(pacer_limiter_bucket().fill, 40 * ms);
	ck_assert(pacer_check());
	/* 5 ms of program drains 1e7 */
	ck_assert(pacer_limiter_update(t0 + 35 * ms, 0, 0, false));
	ck_assert_uint_eq(pacer_limiter_bucket().fill, 30 * ms);
	/* a stop-the-world cycle of 90 ms: 1.8e8 more, fill 2.1e8 */
	pacer_limiter_start_transition(t0 + 35 * ms, 0, 0, false);
	pacer_limiter_finish_transition(t0 + 125 * ms);
	ck_assert_uint_eq(pacer_limiter_bucket().fill, 210 * ms);
	ck_assert(!pacer_limiting()); /* Go's 2e9 is far */
	/* F12: cost 1.8e8 needs fill <= 2e7: 95 ms of program */
	ck_assert_uint_eq(pacer_limiter_delays(), 0);
	ck_assert(!pacer_limiter_admit_stw(t0 + 200 * ms, true));
	ck_assert(!pacer_limiter_admit_stw(t0 + 219 * ms, true));
	ck_assert_uint_eq(pacer_limiter_delays(), 1); /* one delay */
	ck_assert(pacer_limiter_engaged());
	ck_assert(!pacer_limiter_engaged()); /* asked: cleared */
	ck_assert(pacer_limiter_admit_stw(t0 + 220 * ms, true));
	ck_assert_uint_eq(pacer_limiter_bucket().fill, 20 * ms);
	ck_assert(!pacer_limiter_engaged());
	ck_assert_uint_eq(pacer_limiter_delays(), 1);
}
END_TEST

/* F12 only delays for the memory limit: the percent goal binding, a full
 * bucket admits every cycle. */
START_TEST(limiter_stw_percent_goal)
{
	const uint64_t t0 = 1000000000;
	pacer_init(100, 1024 * MiB); /* 4 MiB goal < the limit's */
	pacer_limiter_reset(t0, 2);
	pacer_limiter_start_transition(t0, 0, 0, false);
	pacer_limiter_finish_transition(t0 + 3000000000ull); /* full */
	ck_assert(pacer_limiting());
	ck_assert(pacer_limiter_admit_stw(t0 + 3000000001ull, true));
	ck_assert_uint_eq(pacer_limiter_delays(), 0);
	commit_stw(600 * MiB, 100, 1024 * MiB); /* 1200 > 1023: the limit */
	ck_assert(!pacer_limiter_admit_stw(t0 + 3000000002ull, true));
	ck_assert_uint_eq(pacer_limiter_delays(), 1);
}
END_TEST

/* A limit below the live heap in stop-the-world mode: every trigger test
 * (each 1 ms of program) wants a cycle, whose stop lasts 20 ms, for 10 s.
 * F12 holds the stops to about half the time: the burst (2e8 on 2 CPUs,
 * 100 ms) plus one cycle over it at most, and lets them take no less
 * than half less a cycle. Without F12: 20/21 of the time. */
START_TEST(limiter_stw_caps_half)
{
	const uint64_t t0 = 1000000000, ms = 1000000, end = t0 + 10000 * ms;
	pacer_init(-1, MiB);
	pacer_limiter_reset(t0, 2);
	uint64_t t = t0, stopped = 0, cycles = 0;
	while (t < end) {
		t += ms; /* the program runs to its next trigger test */
		if (!pacer_limiter_admit_stw(t, true))
			continue;
		pacer_limiter_start_transition(t, 0, 0, false);
		t += 20 * ms;
		pacer_limiter_finish_transition(t);
		stopped += 20 * ms;
		cycles++;
		ck_assert(pacer_check());
	}
	uint64_t total = t - t0;
	ck_assert_uint_le(stopped, total / 2 + 120 * ms);
	ck_assert_uint_ge(stopped, total / 2 - 20 * ms);
	/* past the burst, every cycle waited once */
	ck_assert_uint_ge(pacer_limiter_delays(), cycles - 10);
	ck_assert_uint_le(pacer_limiter_delays(), cycles);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pacer");
	TCase *tc = tcase(s, "pure", 10);
	tcase_add_test(tc, heap_minimum);
	tcase_add_test(tc, percent_goal);
	tcase_add_test(tc, percent_goal_edges);
	tcase_add_test(tc, heap_goal_stw);
	tcase_add_test(tc, memlimit_goal);
	tcase_add_test(tc, memlimit_goal_edges);
	tcase_add_test(tc, final_goal);
	tcase_add_test(tc, runway);
	tcase_add_test(tc, trigger);
	tcase_add_test(tc, trigger_edges);
	tcase_add_test(tc, workers);
	tcase_add_test(tc, assist_normal);
	tcase_add_test(tc, assist_heap_growing);
	tcase_add_test(tc, assist_overshoot);
	tcase_add_test(tc, cons_mark);
	tcase_add_test(tc, cons_mark_none);
	tcase_add_test(tc, pi_controller);
	tcase_add_test(tc, pi_controller_clamp);
	tcase_add_test(tc, pi_controller_overflow);
	tcase_add_test(tc, limiter_window);
	tcase_add_test(tc, limiter_bucket);
	tcase_add_test(tc, limiter_resize);
	tcase_add_test(tc, limiter_fills_over_half);
	tcase_add_test(tc, stw_admits);
	tcase_add_test(tc, periodic);
	tc = tcase(s, "state", 10);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, commit_publishes_the_trigger);
	tcase_add_test(tc, commit_stw_memlimit);
	tcase_add_test(tc, commit_concurrent);
	tcase_add_test(tc, cycle);
	tcase_add_test(tc, cycle_without_init);
	tcase_add_test(tc, cycle_min_runway);
	tcase_add_test(tc, cycle_forced_no_measure);
	tcase_add_test(tc, limiter_state);
	tcase_add_test(tc, limiter_transition);
	tcase_add_test(tc, limiter_stw_percent_goal);
	tcase_add_test(tc, limiter_stw_caps_half);
	return run_suite(s);
}

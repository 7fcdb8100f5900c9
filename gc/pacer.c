/*
 * pacer.c -- see pacer.h.
 */
#include "pacer.h"

#include <string.h>

#include "../alloc/mheap.h"

static atomic_word heap_goal = HEAP_MINIMUM;

uint64_t pacer_heap_goal(uint64_t marked, int gogc)
{
	if (gogc < 0)
		return ~(uint64_t)0;
	uint64_t goal = marked + marked / 100 * (uint64_t)gogc +
	                marked % 100 * (uint64_t)gogc / 100;
	uint64_t minimum = (uint64_t)HEAP_MINIMUM * (uint64_t)gogc / 100;
	return goal > minimum ? goal : minimum;
}

void pacer_commit(uint64_t marked, int gogc)
{
	uint64_t goal = pacer_heap_goal(marked, gogc);
	atomic_store_relaxed(&heap_goal, goal);
	atomic_store_relaxed(&mheap_trigger, goal);
}

uint64_t pacer_goal(void)
{
	return atomic_load_relaxed(&heap_goal);
}

/* ---- provisional concurrent pacing (replaced by Go 1.19's pacer) ---- */

static atomic_word work_per_byte_bits, bytes_per_work_bits;
static uint64_t last_scan = 1 << 20, triggered;

static void store_double(atomic_word *p, double d)
{
	uintptr_t u;
	memcpy(&u, &d, sizeof u);
	atomic_store_relaxed(p, u);
}

static double load_double(atomic_word *p)
{
	uintptr_t u = atomic_load_relaxed(p);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

void pacer_commit_concurrent(uint64_t marked, int gogc)
{
	uint64_t goal = pacer_heap_goal(marked, gogc);
	if (goal == ~(uint64_t)0)
		return;
	uint64_t trig = marked + (goal - marked) / 64 * 45;
	atomic_store_relaxed(&mheap_trigger, trig);
	last_scan = marked ? marked : 1;
}

void pacer_start_cycle(uint64_t heap_live, unsigned nprocs,
                       unsigned *dedicated, double *fractional)
{
	triggered = heap_live;
	double total = nprocs * 0.25;
	unsigned d = (unsigned)(total + 0.5);
	double err = d / total - 1;
	if (err < -0.3 || err > 0.3) {
		if (d > total)
			d--;
		*fractional = total - d;
	} else {
		*fractional = 0;
	}
	*dedicated = d;
	pacer_revise(heap_live, 0);
}

void pacer_revise(uint64_t heap_live, uint64_t scan_done)
{
	uint64_t goal = pacer_goal();
	double work_left = last_scan > scan_done ? (double)(last_scan - scan_done)
	                                        : 1000.0;
	if (work_left < 1000)
		work_left = 1000;
	double heap_left = goal > heap_live ? (double)(goal - heap_live) : 1.0;
	store_double(&work_per_byte_bits, work_left / heap_left);
	store_double(&bytes_per_work_bits, heap_left / work_left);
}

double pacer_assist_work_per_byte(void)
{
	return load_double(&work_per_byte_bits);
}

double pacer_assist_bytes_per_work(void)
{
	return load_double(&bytes_per_work_bits);
}

bool pacer_limiting(void)
{
	return false;
}

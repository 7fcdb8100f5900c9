/*
 * pacer.c -- see pacer.h.
 */
#include "pacer.h"

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

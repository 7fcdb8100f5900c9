/*
 * stats.c -- the statistics of tri_read_stats (stats_read), computed
 * from the per-thread counters (alloc/mcache.c), the heap's span
 * accounting (alloc/mheap.c) and the OS layer, with Go's MemStats
 * meanings:
 *   heap_alloc   = bytes of allocated objects (tiny blocks count 16 bytes)
 *   heap_inuse   = bytes of in-use spans; heap_idle = heap_sys - heap_inuse
 *   heap_objects = mallocs - frees (tiny objects count one each)
 * Frees include the collector's (counted when a sweep finds garbage), and
 * the collector's fields come from gc.c (published after each cycle).
 *
 * Invariants:
 *   I1. total_alloc >= heap_alloc, mallocs >= frees, heap_sys >= heap_idle
 *       in every snapshot. Each thread's counters are written by that
 *       thread alone and read here without stopping it, so while threads
 *       free each other's objects a free can be read before the matching
 *       allocation; derived values are clamped, never wrapped. (The
 *       collector will take exact snapshots with the world stopped.)
 */
#include "stats.h"

#include <string.h>

#include "../alloc/arena.h"
#include "../alloc/mcache.h"
#include "../alloc/mheap.h"
#include "../alloc/os.h"
#include "../include/tricolor.h"
#include "gc.h"

static uint64_t sub_clamped(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* gc.c publishes a cycle's pause into the ring and the total together
 * (gc.h I3): the ring holds the last 256 pauses of the total. */
static bool pauses_add_up(const gc_stats *g)
{
	uint64_t sum = 0, n = g->num_gc < 256 ? g->num_gc : 256;
	for (uint64_t i = 0; i < n; i++)
		sum += g->pause_ns[i];
	return g->num_gc <= 256 ? sum == g->pause_total_ns
	                        : sum <= g->pause_total_ns;
}

static void read_gc_fields(tri_stats_t *st)
{
	gc_stats g;
	gc_read_stats(&g);
	/* one snapshot under gcstats_lock (gc.h I3): consistent */
	TRI_ASSERT(g.num_forced_gc <= g.num_gc && g.gc_cpu_fraction >= 0);
	if (TRI_DEBUG >= 2)
		TRI_ASSERT2(pauses_add_up(&g));
	st->num_gc = g.num_gc;
	st->num_forced_gc = g.num_forced_gc;
	st->pause_total_ns = g.pause_total_ns;
	memcpy(st->pause_ns, g.pause_ns, sizeof st->pause_ns);
	st->next_gc = g.next_gc;
	st->last_gc_ns = g.last_gc_ns;
	st->gc_cpu_fraction = g.gc_cpu_fraction;
}

void stats_read(tri_stats_t *st)
{
	memset(st, 0, sizeof *st);
	read_gc_fields(st);
	mcache_stats m;
	m_acquire(); /* the registry lock: never held by a stopped thread */
	mcache_sum_stats(&m);
	m_release();
	uint64_t small_alloc = 0, small_free = 0, nalloc = 0, nfree = 0;
	for (unsigned c = 1; c < NUM_SIZE_CLASSES; c++) {
		small_alloc += m.small_allocs[c] * class_to_size[c];
		small_free += m.small_frees[c] * class_to_size[c];
		nalloc += m.small_allocs[c];
		nfree += m.small_frees[c];
	}
	small_alloc += m.tiny_blocks * TINY_SIZE;
	small_free += m.tiny_block_frees * TINY_SIZE;
	st->total_alloc = small_alloc + m.large_alloc_bytes;
	st->heap_alloc = sub_clamped(st->total_alloc,
	                             small_free + m.large_free_bytes); /* I1 */
	st->mallocs = nalloc + m.large_allocs + m.tiny_allocs;
	st->frees = nfree + m.large_frees + m.tiny_frees;
	if (st->frees > st->mallocs) /* I1 */
		st->frees = st->mallocs;
	st->heap_objects = st->mallocs - st->frees;
	st->heap_sys = arena_heap_sys();
	st->heap_inuse = mheap_inuse_bytes();
	st->heap_idle = sub_clamped(st->heap_sys, st->heap_inuse);
	st->heap_released = mheap_released_bytes();
	st->sys = os_committed_bytes();
	st->meta_sys = sub_clamped(st->sys, st->heap_sys);
}

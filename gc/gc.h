/*
 * gc.h -- the collection cycle (Go's mgc.go), stop-the-world mode:
 *
 *   off/sweep -> [finish sweeping, world running]
 *   sweep termination: stop the world, flush every thread's cache
 *   mark: roots and heap, on every core, world stopped
 *   mark termination: sweepgen += 2 (every span unswept), heap_live =
 *     bytes marked, next goal, restart the world
 *   sweep: by the background sweeper (woken by sweep_wake) and lazily at
 *     refill (all of them first when tri_collect forced it)
 *
 * Invariants:
 *   I1. One cycle at a time: gc_collect holds the world lock for the
 *       whole cycle, taken outside the heap-critical region.
 *   I2. Nothing allocates from the heap while the world is stopped (every
 *       registered thread is stopped outside the region; the collector
 *       and its helpers never allocate from the heap).
 *   I3. Statistics are published under gcstats_lock after the world
 *       restarts; readers never stop the world.
 */
#ifndef TRI_GC_H
#define TRI_GC_H

#include "../alloc/base.h"

bool gc_init(void);
/* A cycle if the heap is over its trigger and GOGC is on (m_release). */
void gc_maybe_collect(void);

/* The collector's statistics, for tri_read_stats. */
typedef struct gc_stats {
	uint64_t num_gc, num_forced_gc;
	uint64_t pause_total_ns;
	uint64_t pause_ns[256];
	uint64_t next_gc;
	uint64_t last_gc_ns;
	double gc_cpu_fraction;
} gc_stats;
void gc_read_stats(gc_stats *out);

void gc_fork_prepare(void);
void gc_fork_parent(void);
void gc_fork_child(void);

#endif /* TRI_GC_H */

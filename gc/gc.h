/*
 * gc.h -- the collection cycle (Go's mgc.go), in two modes.
 *
 * Stop-the-world mode (the thread that crossed the trigger runs it):
 *   off/sweep -> [finish sweeping, world running]
 *   sweep termination: stop the world, flush every thread's cache
 *   mark: roots and heap, on every core, world stopped
 *   mark termination: sweepgen += 2 (every span unswept), heap_live =
 *     bytes marked, next goal, restart the world
 *   sweep: the background sweeper, and lazily at refill (all of it first
 *     when tri_collect forced the cycle)
 * Concurrent mode (run by the controller thread; docs/concurrency.md):
 *   sweep termination (pause 1): flush caches, barrier on, allocate black
 *   mark: background workers and assists, roots as jobs, each thread's
 *     stack scanned while that thread alone is stopped (bgmark.c)
 *   ragged barrier: flush each thread's barrier buffer, one at a time,
 *     until a round finds nothing
 *   mark termination (pause 2): flush caches and buffers, rescan every
 *     thread's stack, drain, [gccheckmark], barrier off, flip, next goal
 *
 * Invariants:
 *   I1. One cycle at a time: a cycle runs with the world lock held from
 *       start to end (the controller holds it across a concurrent mark),
 *       taken outside the heap-critical region.
 *   I2. Nothing allocates from the heap while the world is stopped (every
 *       registered thread is stopped outside the region; the collector,
 *       its helpers, workers and controller never allocate from the heap).
 *   I3. Statistics are published under gcstats_lock after the world
 *       restarts; readers never stop the world.
 *   I4. The barrier flag, span_alloc_black and span_black_gen change only
 *       with the world stopped, and are set exactly from pause 1 to
 *       pause 2 of a concurrent cycle.
 */
#ifndef TRI_GC_H
#define TRI_GC_H

#include "../base/base.h"

bool gc_init(void);
/* A cycle if the heap is over its trigger and GOGC is on (m_release). */
void gc_maybe_collect(void);
/* Call fn(arg) with no cycle under way and the world stopped (the caller
 * must be registered; its own stack is scanned like a stopped thread's).
 * fn must not allocate or take heap locks. */
void gc_with_world_stopped(void (*fn)(void *), void *arg);

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

/* Run fn(arg) with the world stopped between cycles: every cache
 * flushed, every span swept, the calling thread's registers and stack
 * published like a stopped thread's (heap dumps). The caller is a
 * registered thread outside the heap-critical region. */
void gc_run_stopped(void (*fn)(void *arg), void *arg);
void gc_fork_prepare(void);
void gc_fork_parent(void);
void gc_fork_child(void);

#endif /* TRI_GC_H */

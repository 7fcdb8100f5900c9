/*
 * gc.h -- the collection cycle (Go's mgc.go), in three modes.
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
 * Tracked mode (the default; the concurrent cycle without the barrier,
 * remark.h): the heap write-protected before pause 1; re-mark rounds
 * after the mark; pause 2 also rescans the pages written since the last
 * round and the globals, rescans every stack (blocked threads' too), and
 * drains for at most TRACKED_DRAIN_NS before restarting the mark; the
 * protection lifted after it. Where the kernel tracks no writes, a
 * tracked cycle runs as a stop-the-world one.
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
 *       with the world stopped; black allocation is on exactly from pause
 *       1 to pause 2 of a concurrent or tracked cycle, the barrier flag
 *       of a concurrent one only.
 *   I5. The phase (gc_phase) changes only in gc.c's set_phase, with the
 *       world stopped and the world lock held, along the edges
 *       off -> mark -> mark termination -> off, plus mark termination ->
 *       mark (a concurrent mark that found more grey restarts). set_phase
 *       is the one writer of the barrier flag, black allocation (I4) and
 *       the sweep generation (mheap.h I3): entering a concurrent mark turns
 *       black allocation on, then the barrier (concurrent mode only);
 *       leaving mark termination
 *       turns both off and then moves the sweep generation (every span
 *       unswept), in that order.
 */
#ifndef TRI_GC_H
#define TRI_GC_H

#include "../base/base.h"

bool gc_init(void);

/* The cycle's phases (Go's gcphase: _GCoff, _GCmark, _GCmarktermination;
 * I5). A stop-the-world cycle passes through mark inside its pause. */
enum gc_phase {
	GC_PHASE_OFF,       /* no mark: allocation white, no barrier */
	GC_PHASE_MARK,      /* marking: concurrent, or inside the pause */
	GC_PHASE_MARK_TERM, /* world stopped: the mark finishes, then flips */
	GC_NUM_PHASES
};
extern const char *const gc_phase_names[GC_NUM_PHASES];
/* The current phase (relaxed: exact only under the world lock). */
enum gc_phase gc_phase(void);
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
/* The collector's one hook for observers (the heap profile), one of the
 * two calls that go up a floor (docs/internals.md, "Source layout"):
 * fn hears three boundaries of every cycle. Installed once by
 * runtime/init.c before the first cycle; until then nobody listens. */
enum gc_event {
	GC_EVENT_MARK_DONE, /* world stopped, the sweep generation about to
	                       move (Go's mProf_NextCycle) */
	GC_EVENT_CYCLE_END, /* world running, the sweep not yet woken (Go's
	                       mProf_Flush) */
	GC_EVENT_SWEPT,     /* a forced cycle has swept the whole heap */
};
void gc_set_observer(void (*fn)(enum gc_event ev));

/* A full cycle by the calling thread, an attached thread outside the
 * heap-critical region; forced: tri_collect's (the heap swept when it
 * returns), else a cycle the trigger asked for. */
void gc_collect(bool forced);
/* tri_free_os_memory: a forced cycle, then every free page released. */
void gc_free_os_memory(void);
/* tri_set_mode, tri_set_memory_limit and tri_set_gc_percent (their
 * contracts are tricolor.h's), the heap initialised. */
int gc_set_mode(int mode);
int64_t gc_set_memory_limit(int64_t limit);
int gc_set_gc_percent(int percent);

/* fork() child step: no collector thread survives; reset their state. */
void gc_fork_child(void);

#endif /* TRI_GC_H */

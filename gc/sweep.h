/*
 * sweep.h -- the sweeper's policy (Go's mgcsweep.go): what is swept when.
 *
 * After every cycle's flip every span is unswept (mheap.h I3). Three kinds
 * of sweeper then share the work, each taking one span at a time off its
 * list under the list's lock (span_sweep):
 *   - lazy: a thread refilling its cache sweeps spans of that class
 *     (alloc/mcentral.c, Go's cacheSpan); a free that empties an unswept
 *     span sweeps it;
 *   - background: one low-priority thread, woken by sweep_wake after the
 *     world restarts, calls sweep_one until nothing is left (Go's
 *     bgsweep), small spans first, then large;
 *   - finish: sweep_finish sweeps what is left before the next mark (and
 *     after a forced cycle).
 * Objects freed come back zeroed (needzero); empty spans return to the
 * page allocator. With GODEBUG=clobberfree=1 freed objects are filled
 * with 0xdeadbeef first (span.h: span_clobber).
 *
 * Invariants:
 *   I1. When a cycle starts marking, every span is swept (mheap.h I3):
 *       the collector calls sweep_finish before it stops the world and
 *       again with the world stopped. sweep_finish closes the gate (I3)
 *       and waits for every sweep_one in flight, so no span is half swept
 *       off its list when it returns.
 *   I2. An unmarked large span is freed by whoever wins the CAS of its
 *       state from IN_USE to DEAD: the sweeper or a racing tri_free.
 *   I3. sweep_one sweeps only between sweep_wake and the next
 *       sweep_finish (Go's activeSweep): the gate is a "drained" bit and
 *       a count of sweeps in flight in one word.
 *   I4. The background thread is never registered (never stopped, never
 *       allocates from the heap, takes no signals); it holds no lock of
 *       its own while it sweeps.
 *   I5. Each cycle's end of sweeping is announced once (sweep_done): the
 *       scavtrace line is printed and the scavenger (alloc/scavenge.h) is
 *       readied for a pass over the pages the sweep freed. The background
 *       sweeper announces when it finds nothing left with the gate open;
 *       the collector after each sweep_finish it runs with the world
 *       going (never with it stopped: sweep_done may start a thread).
 * Locks: sweep_mu (not ranked, like mark_mu: nothing is taken under it)
 * protects the thread's start and its wake-up count; it is held only to
 * sleep and to wake, never while sweeping.
 */
#ifndef TRI_SWEEP_H
#define TRI_SWEEP_H

#include "../base/base.h"

/* Sweep every unswept span, small and large, closing the gate for the
 * background sweeper until the next sweep_wake (I1, I3). Returns spans
 * swept. World running or stopped; the collector only. */
uint64_t sweep_finish(void);
/* Announce that this cycle's sweeping is done (I5); idempotent. World
 * running. */
void sweep_done(void);
/* Sweep every unswept large span. Returns spans swept. */
uint64_t sweep_large_all(void);
/* Go's sweepone: sweep one unswept span (small lists first, then large).
 * Returns its pages, or 0 when nothing is left or the gate is closed (I3).
 * Any thread, concurrently with allocation, lazy sweeping and tri_free. */
uintptr_t sweep_one(void);
/* After the flip, world running again: open the gate and wake the
 * background sweeper (started on first use). */
void sweep_wake(void);
/* Tests: turn the background sweeper off (it finishes its current span
 * and sleeps) or on again. On by default. */
void sweep_set_background(bool on);

/* Spans swept so far, by whom (internal: tests and measurements). */
typedef struct sweep_counts {
	uint64_t bg;     /* by the background sweeper */
	uint64_t lazy;   /* by allocating / freeing threads (mcentral.c) */
	uint64_t finish; /* by sweep_finish, at cycle start or tri_collect */
} sweep_counts;
void sweep_stats(sweep_counts *out);

/* fork(): the sweeper thread did not survive; start a new one later. */
void sweep_fork_child(void);

/* No span is unswept (mheap.h I3): a walk of the unswept lists, each
 * central lock and then the large lock in turn, so the caller holds no
 * lock ranked MCENTRAL or above. Exact once sweep_finish has returned
 * (I1: the gate closed); a hint while sweepers run. */
bool sweep_none_unswept(void);
/* The walker (TRI_DEBUG >= 3, tests), any time, the caller holding no
 * lock ranked MCENTRAL or above: the cursor is within the central lists;
 * with the gate closed, nothing in flight and no flip since the last
 * sweep_finish, no span is unswept (I1, I3); and then, if the caller
 * stopped the world in phase off, no swept span has a mark bit set (the
 * sweep clears them: the next mark starts from white). */
bool sweep_check(void);

#endif /* TRI_SWEEP_H */

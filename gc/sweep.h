/*
 * sweep.h -- the sweeper's policy (Go's mgcsweep.go): what is swept when.
 *
 * Small spans are swept lazily, by the thread that refills its cache from
 * their class (alloc/mcentral.c), or all at once by sweep_finish. Large
 * spans are swept by the collecting thread right after each cycle, outside
 * the pause. Sweeping a span folds its mark bits into its alloc bits
 * (span_sweep); objects freed come back zeroed (needzero) and empty spans
 * return to the page allocator.
 *
 * Invariants:
 *   I1. When a cycle starts marking, every span is swept (mheap.h I3):
 *       the collector calls sweep_finish before it stops the world and
 *       again with the world stopped.
 *   I2. An unmarked large span is freed by whoever wins the CAS of its
 *       state from IN_USE to DEAD: the sweeper or a racing tri_free.
 */
#ifndef TRI_SWEEP_H
#define TRI_SWEEP_H

#include "../alloc/base.h"

/* Sweep every unswept span, small and large. Returns spans swept. */
uint64_t sweep_finish(void);
/* Sweep every unswept large span. Returns spans swept. */
uint64_t sweep_large_all(void);
/* After a cycle: start sweeping what it left. */
void sweep_wake(void);

#endif /* TRI_SWEEP_H */

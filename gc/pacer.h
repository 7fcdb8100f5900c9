/*
 * pacer.h -- when the next cycle starts (Go's gcControllerState, the
 * stop-the-world subset; the concurrent pacer adds the trigger ratio,
 * worker utilisation and assists).
 *
 *   heap minimum = 4 MiB * GOGC / 100                    (Go's heapMinimum)
 *   goal         = max(marked + marked * GOGC / 100, heap minimum)
 *   trigger      = goal (the world is stopped for the whole mark, so the
 *                  heap cannot grow past the goal while marking)
 * GOGC < 0 (off): goal and trigger are infinite.
 *
 * Invariants:
 *   I1. pacer_commit runs with the world lock held and publishes the
 *       trigger to mheap_trigger, which allocation reads racily.
 */
#ifndef TRI_PACER_H
#define TRI_PACER_H

#include "../alloc/base.h"

#define HEAP_MINIMUM (4 * TRI_MiB) /* Go's defaultHeapMinimum */

/* The goal for `marked` live bytes at `gogc` percent (~0 when off). */
uint64_t pacer_heap_goal(uint64_t marked, int gogc);
/* Compute and publish goal and trigger (world lock held). */
void pacer_commit(uint64_t marked, int gogc);
uint64_t pacer_goal(void);

/* Concurrent mode. */
void pacer_commit_concurrent(uint64_t marked, int gogc);
void pacer_start_cycle(uint64_t heap_live, unsigned nprocs,
                       unsigned *dedicated, double *fractional);
void pacer_revise(uint64_t heap_live, uint64_t scan_done);
double pacer_assist_work_per_byte(void);
double pacer_assist_bytes_per_work(void);
bool pacer_limiting(void);

#endif /* TRI_PACER_H */

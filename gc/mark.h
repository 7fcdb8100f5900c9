/*
 * mark.h -- marking: finding the object a word points into, setting its
 * mark bit, and scanning grey objects, on every core with the world
 * stopped.
 *
 * Conservative rule: an aligned word whose value lies inside an allocated
 * object of an in-use span (interior pointers included, large objects too)
 * marks that object. Allocated means span_is_allocated: allocated and not
 * pending an explicit free. Objects of noscan span classes are marked but
 * never scanned. Large objects are scanned in oblets of OBLET_BYTES so
 * several markers can share one (Go's maxObletBytes).
 *
 * Invariants:
 *   I1. A mark bit is set at most once per cycle, by an atomic OR; the
 *       marker that set it owns greying the object (exactly one push).
 *   I2. Marking ends when every marker is idle, no full buffer is left and
 *       every root job has been claimed (Go's nwait == nproc).
 *   I3. Marker threads are never registered: they are not stopped, hold
 *       no heap lock, and never allocate from the heap.
 */
#ifndef TRI_MARK_H
#define TRI_MARK_H

#include "../alloc/base.h"

#define OBLET_BYTES (128 * TRI_KiB)

bool mark_init(void);
/* World running: make sure the helper threads exist (one per CPU beyond
 * the collecting thread). */
void mark_start_helpers(void);
/* World stopped, roots prepared: mark everything reachable on the
 * collecting thread and every helper. Returns the bytes marked. */
uint64_t mark_run(uint64_t *scan_work);
/* Markers used by mark_run (the collecting thread included). */
unsigned mark_nprocs(void);

void mark_fork_child(void);

#endif /* TRI_MARK_H */

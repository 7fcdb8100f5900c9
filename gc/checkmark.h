/*
 * checkmark.h -- GODEBUG=gccheckmark=1 (Go's mcheckmark.go): after a
 * concurrent mark, with the world still stopped, mark everything again
 * from all roots, single-threaded, into side bits, and stop the program if
 * an object reached this way lacks its mark from the concurrent mark: the
 * concurrent mark would have freed a reachable object, almost always
 * because a pointer store skipped the write barrier.
 *
 * Invariants:
 *   I1. checkmark_active is set only while checkmark_run runs (world
 *       stopped, one thread); grey_in_span then calls checkmark_grey and
 *       leaves the real mark bits alone.
 *   I2. A span's side bits are valid only when its checkmark_gen equals
 *       the current pass; they come from a pool mapped for the pass and
 *       unmapped after it (metadata, never scanned).
 */
#ifndef TRI_CHECKMARK_H
#define TRI_CHECKMARK_H

#include "../alloc/span.h"
#include "work.h"

extern bool checkmark_active; /* I1 */

/* grey_in_span in checkmark mode: set the side bit of slot idx of s; abort
 * with a report if the slot is allocated but was not marked. */
void checkmark_grey(mspan *s, uintptr_t idx, gcwork *w);
/* World stopped, concurrent mark finished, roots snapshotted: verify. */
void checkmark_run(void);
/* The walker (TRI_DEBUG >= 3, tests), any time but inside checkmark_run
 * (every phase boundary): no pass is active (I1) and its side bits are
 * unmapped (I2). */
bool checkmark_check(void);

#endif /* TRI_CHECKMARK_H */

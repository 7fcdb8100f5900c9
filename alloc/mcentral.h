/*
 * mcentral.h -- per span class lists of spans not held by any mcache.
 *
 * partial: spans with free slots or pending explicit frees, FIFO (a span
 * freed into long ago has gathered the most frees by the time it is reused).
 * full: spans with neither. A span cached by an mcache is on no list.
 * Tiny blocks have their own central list (TINY_CENTRAL), because each
 * tiny block carries a live count that ordinary 16-byte objects do not.
 *
 * Invariants:
 *   I1. s->location says which list s is on (PARTIAL, FULL), or CACHED, and
 *       changes only under this mcentral's lock.
 *   I2. A span on full had no free slot and no pending free when it was
 *       filed (every free word read empty under the lock); each tri_free
 *       whose CAS finds its word empty takes the lock, so the first free
 *       into a full span moves it to partial.
 *   I4. A free that sees its span CACHED after its CAS may skip the lock:
 *       uncache stores a non-CACHED location and fences before it reads
 *       the free bits, so either uncache sees that free's bit or the free
 *       sees the span is no longer cached (store-load fences on both sides).
 *   I3. A span whose every slot is free and that no mcache holds goes back
 *       to the heap, at uncache, at the free of its last object, or when a
 *       sweep finds it empty. (A free racing with the uncache may leave an
 *       empty span on partial; the next refill of the class reuses it.)
 *   I5. Each list comes in two sets by sweep state (mheap.h I3); a span is
 *       on the set of its own sweepgen.
 * Concurrency: one lock per mcentral (rank LOCK_RANK_MCENTRAL), each on its
 * own cache line. Lock order: mcentral -> mheap -> fixalloc.
 */
#ifndef TRI_MCENTRAL_H
#define TRI_MCENTRAL_H

#include "../base/base.h"
#include "span.h"

#define TINY_CENTRAL NUM_SPAN_CLASSES     /* index of the tiny list */
#define NUM_CENTRALS (NUM_SPAN_CLASSES + 1)

void mcentral_init(void);
/* The central list span s belongs to. */
unsigned mcentral_index_of(const mspan *s);
/* A span with at least one free slot for central index ci, taken out of the
 * lists (location CACHED, alloc_cache ready), or NULL when out of memory.
 * owner identifies the calling mcache: among the first few partial spans
 * one it held last is preferred, so a thread's frees are reused by the
 * same core (explicit free makes spans travel between threads; Go has no
 * such traffic). */
mspan *mcentral_cache_span(unsigned ci, const void *owner);
/* Return a span the mcache owner is done with. */
void mcentral_uncache_span(mspan *s, const void *owner);
/* Sweep every unswept span (Go's finishsweep); returns how many. */
uint64_t mcentral_sweep_all(void);
/* Sweep one unswept span of central index ci (partial first) and file it
 * or give it back; returns its pages, 0 when ci has none unswept (gc/sweep.c
 * sweep_one). */
uintptr_t mcentral_sweep_one(unsigned ci);
/* Spans swept lazily so far: by refills (cache_span) and by frees that
 * emptied an unswept span. */
uint64_t mcentral_lazy_sweeps(void);
/* Unswept spans on the lists (a walker for tests: takes every lock). */
uint64_t mcentral_unswept(void);
/* Explicitly free slot idx of small span s (span already validated).
 * Aborts on a double free or a slot that is not allocated. */
void mcentral_free_object(mspan *s, uintptr_t idx, const char *caller,
                          const void *p);

/* After span_free_slot returned SPAN_FREE_CHECK: under the lock, move a
 * full span to partial (I2) or give an empty, uncached span back (I3). gen
 * was read before the free's CAS (the span may be reused after it). */
void mcentral_freed_slow(mspan *s, unsigned gen);

/* After span_free_slot: does mcentral need to look (I4)? A cached span is
 * handled when it is uncached, so its frees never take the lock. */
TRI_INLINE bool mcentral_freed_needs_look(const mspan *s,
                                          enum span_free_result r)
{
	return r == SPAN_FREE_CHECK &&
	       AO_char_load(&s->location) != SPAN_LOC_CACHED;
}
/* Explicitly free slot idx of small span s: the free bit, then the central
 * lock only when span_free_slot says the span may have just become
 * partial or empty. Returns false when the slot was not allocated (or is
 * already pending free). gen is read before the CAS: once the bit is set,
 * another thread's free may return s to the heap and s may be reused. */
TRI_INLINE bool mcentral_free(mspan *s, uintptr_t idx)
{
	unsigned gen = AO_int_load(&s->gen);
	enum span_free_result r = span_free_slot(s, idx);
	if (TRI_UNLIKELY(r == SPAN_FREE_BAD))
		return false;
	if (TRI_UNLIKELY(mcentral_freed_needs_look(s, r)))
		mcentral_freed_slow(s, gen);
	return true;
}

/* Walk every list and check the spans on it. */
bool mcentral_check(void);

#endif /* TRI_MCENTRAL_H */

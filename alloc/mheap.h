/*
 * mheap.h -- the global heap: spans for mcentral, large objects, and the
 * page allocator and arenas under one lock.
 *
 * Invariants:
 *   I1. A span returned by mheap_alloc_span is SPAN_IN_USE, every one of its
 *       pages maps to it (arena.h I2), and its arena's page_in_use bit is set
 *       at its first page.
 *   I2. inuse_bytes is the total size of in-use spans.
 *   I3. Sweep generations (Go's mheap.sweepgen, h): h grows by 2 per cycle,
 *       only with the world stopped. An uncached span's sweepgen is h - 2
 *       (unswept: its alloc bits predate the last mark), h - 1 (being
 *       swept) or h (swept); a cached span is always swept. Before a mark
 *       begins every span is swept.
 *   I4. Every in-use large span is on large[(sweepgen / 2) % 2] (location
 *       SPAN_LOC_LARGE) except while the sweeper or tri_free holds it
 *       (location NONE).
 *   I5. heap_live (Go's heapLive) = bytes marked by the last cycle + bytes
 *       of slots handed to caches since - slots given back unused - frees
 *       folded in since + large objects allocated - large objects freed.
 *       It moves per span and per large object, never per small object.
 * Concurrency: mheap.lock (rank LOCK_RANK_MHEAP) protects the page
 * allocator, the arena growth state and span-table writes; large_lock
 * (LOCK_RANK_LARGE) the large-span lists and the sweep of a large span.
 * Span structs are published with
 * state stored last (span.h I5).
 */
#ifndef TRI_MHEAP_H
#define TRI_MHEAP_H

#include "../base/base.h"
#include "pages.h"
#include "span.h"

bool mheap_init(void);

/* A new in-use span of npages pages for span class spc: small spans are
 * set up for class sizeclass, large spans (sizeclass 0) for one object.
 * needzero / zero_bytes say whether the memory may hold old data. Returns
 * NULL if memory ran out (errno is not touched). */
mspan *mheap_alloc_span(size_t npages, unsigned sizeclass, spanclass_t spc);

/* Grow large span s in place to npages (realloc): true if the pages
 * right after it were free, then *dirty is the bytes at the start of the
 * new part that may hold old data (the rest is zero). The span's size and
 * limit are stored with plain stores: only its owner (the caller, inside
 * the heap-critical region) and a concurrent marker read them, and the
 * marker reads either size consistently. */
bool mheap_grow_large(mspan *s, size_t npages, size_t *dirty);
/* Give an in-use span's pages back to the page allocator. */
void mheap_free_span(mspan *s);
/* The same, releasing the pages to the OS first when `release` (one
 * madvise of the whole span, outside mheap.lock: nobody else can reach
 * the pages until they are filed, released, pages.h I5). */
void mheap_free_span_release(mspan *s, bool release);

/* ---- the collector's view (I3-I5) ---- */
extern atomic_word mheap_sweepgen; /* I3 */
extern atomic_word mheap_live;     /* I5 */
extern atomic_word mheap_trigger;  /* heap_live that starts a cycle
                                      (gc/gc.c; ~0 = never) */

TRI_INLINE uintptr_t mheap_swept_gen(void)
{
	return atomic_load_acquire(&mheap_sweepgen); /* pairs: gc.c flip */
}

TRI_INLINE void mheap_live_add(intptr_t bytes)
{
	if (bytes)
		atomic_add_full(&mheap_live, (uintptr_t)bytes);
}

/* Has heap_live reached the trigger? */
TRI_INLINE bool mheap_over_trigger(void)
{
	return atomic_load_relaxed(&mheap_live) >=
	       atomic_load_relaxed(&mheap_trigger);
}

/* File a large span as swept (I4): a new one, or one the sweeper kept. */
void mheap_large_add(mspan *s);
/* tri_free of a large span: take it off its list, waiting while the
 * sweeper holds it. False when the span was freed meanwhile (its gen is
 * no longer gen): by the sweeper, or a racing free. */
bool mheap_large_claim(mspan *s, unsigned gen);
/* Sweep the next unswept large span (I4; gc/sweep.h I2), under the
 * large lock so it is never in transit: a marked one gets its mark bit
 * cleared and moves to the swept list; an unmarked one is claimed (state
 * DEAD), unlinked and handed to the caller in *dead to free with
 * mheap_free_span. Returns the span's pages, 0 when none is unswept. */
uintptr_t mheap_large_sweep_one(mspan **dead);
/* Unswept large spans (a walker for tests; takes the large lock). */
uint64_t mheap_large_unswept(void);

/* Release free pages to the OS from cursor c (pages.h) downward, up to
 * max_bytes, one quantum per lock hold (scavenge.h); c follows.
 * *exhausted says the search reached the bottom of the heap. Returns
 * bytes released. */
uintptr_t mheap_scavenge(scav_cursor *c, size_t max_bytes, bool *exhausted);
/* Point c at the top of the heap (a new pass). */
void mheap_scavenge_reset(scav_cursor *c);

/* Statistics. */
uint64_t mheap_released_bytes(void); /* heap_released (pages.h I5) */
uint64_t mheap_inuse_bytes(void);
uint64_t mheap_free_bytes(void);

/* Call fn on every in-use span, in address order (I1: page_in_use marks
 * each one's first page). The caller keeps spans from being made or
 * freed meanwhile: the world is stopped, or it is a fork child's only
 * thread. */
void mheap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg);

/* Walk the page allocator's invariants under the lock. */
bool mheap_check(void);

#endif /* TRI_MHEAP_H */

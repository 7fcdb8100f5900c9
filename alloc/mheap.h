/*
 * mheap.h -- the global heap: spans for mcentral, large objects, and the
 * page allocator and arenas under one lock.
 *
 * Invariants:
 *   I1. A span returned by mheap_alloc_span is SPAN_IN_USE, every one of its
 *       pages maps to it (arena.h I2), and its arena's page_in_use bit is set
 *       at its first page.
 *   I2. inuse_bytes is the total size of in-use spans.
 * Concurrency: mheap.lock (rank LOCK_RANK_MHEAP) protects the page
 * allocator, the arena growth state and span-table writes. Span structs are
 * published with state stored last (span.h I5).
 */
#ifndef TRI_MHEAP_H
#define TRI_MHEAP_H

#include "base.h"
#include "span.h"

bool mheap_init(void);

/* A new in-use span of npages pages for span class spc: small spans are
 * set up for class sizeclass, large spans (sizeclass 0) for one object.
 * needzero / zero_bytes say whether the memory may hold old data. Returns
 * NULL if memory ran out (errno is not touched). */
mspan *mheap_alloc_span(size_t npages, unsigned sizeclass, spanclass_t spc);

/* Give an in-use span's pages back to the page allocator. */
void mheap_free_span(mspan *s);

/* fork() handlers for mheap.lock (see base.h). */
void mheap_fork_prepare(void);
void mheap_fork_parent(void);
void mheap_fork_child(void);

/* Statistics. */
uint64_t mheap_inuse_bytes(void);
uint64_t mheap_free_bytes(void);

/* Walk the page allocator's invariants under the lock. */
bool mheap_check(void);

#endif /* TRI_MHEAP_H */

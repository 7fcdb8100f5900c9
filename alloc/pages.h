/*
 * pages.h -- the page allocator: free page runs inside the arenas.
 *
 * Free runs are mspan structs in state SPAN_FREE. A run of n < PAGES_BINS
 * pages sits on bin n (a list; a 128-bit mask says which bins are
 * non-empty); longer runs sit in a treap keyed by (npages, base). Allocation
 * takes the smallest fitting run (best fit, lowest address among equals in
 * the treap) and splits it; freeing coalesces with free neighbours found
 * through the arena span table. Neither scans the heap: a request costs
 * O(1) for the bins and O(log runs) for the treap, at any heap size.
 *
 * Invariants:
 *   I1. No two free runs are adjacent (coalescing is eager).
 *   I2. Each free run's first and last page map to it in the arena span
 *       table; its interior pages map to NULL (arena.h I2).
 *   I3. Bin n holds exactly the free runs of n pages (n < PAGES_BINS); the
 *       treap holds exactly the runs of >= PAGES_BINS pages, in BST order
 *       by (npages, base) and heap order by tprio.
 *   I4. free_pages is the total pages in free runs.
 *   I5. Scavenged pages (Go's scavenged bits, heap_arena.scavenged): a
 *       page's bit is set only while it lies in a free run and its memory
 *       has been released to the OS (or never touched: memory the heap grows
 *       by is filed scavenged, as in Go); each run's nscav counts its set
 *       bits, and released_pages is their total (heap_released). Taking
 *       pages out of a run clears their bits.
 * Concurrency: everything runs under mheap.lock; released_pages is also
 * read without it (a statistic, atomic).
 */
#ifndef TRI_PAGES_H
#define TRI_PAGES_H

#include "../base/base.h"
#include "span.h"

#define PAGES_BINS 128

/* Allocate npages contiguous pages; returns their base or 0 if no run fits
 * (the caller grows the heap and calls pages_free on the new memory).
 * *scav gets how many of them had been released to the OS (I5). */
TRI_LOCKED uintptr_t pages_alloc(size_t npages, size_t *scav);
/* Take the npages at base if a free run starts there and is long enough
 * (a large object growing in place); false otherwise. *scav as above. */
TRI_LOCKED bool pages_alloc_at(uintptr_t base, size_t npages, size_t *scav);
/* Give [base, base + npages pages) back (coalescing). scavenged says the
 * pages hold no memory (fresh from the OS); pages of a freed span do.
 * Returns false only if a span struct could not be allocated for a new
 * run. */
TRI_LOCKED bool pages_free(uintptr_t base, size_t npages, bool scavenged);

/* Where a scavenger's search (highest addresses first) goes on from:
 * below `at`; `top` is where the stretch of NULL span-table entries being
 * walked began (== at outside one); `run` is the free run the last pages
 * came from, a hint checked under the lock before use. Addresses are
 * hidden (arena.h I5); the owner serialises use under mheap.lock. */
typedef struct scav_cursor {
	uintptr_t at_h, top_h;
	mspan *run;
} scav_cursor;
/* Start a search at the top of the heap. */
TRI_LOCKED void pages_scav_reset(scav_cursor *c);
/* The search itself (Go's scavengeOne): at most `budget` span-table steps
 * down from c, find the highest free pages not yet released, up to
 * max_pages contiguous ones. Returns how many (their base in *base, their
 * run in *run), or 0 when the budget ran out first; pages_scav_done then
 * says whether the whole heap has been searched. */
TRI_LOCKED size_t pages_scav_find(scav_cursor *c, size_t max_pages,
                                  size_t budget, uintptr_t *base,
                                  mspan **run);
TRI_LOCKED bool pages_scav_done(const scav_cursor *c);
/* Record that the n pages at base in run, just found by pages_scav_find
 * under the same lock hold, were released (I5). */
TRI_LOCKED void pages_scav_mark(mspan *run, uintptr_t base, size_t n);
/* Pages released to the OS and not reused since (I5): any thread. */
size_t pages_released(void);
/* Pages currently free. */
TRI_LOCKED size_t pages_free_count(void);
/* Verify I1-I4 by walking the bins and the treap. */
TRI_LOCKED bool pages_check(void);
/* Visit every free run (for tests and tools). */
TRI_LOCKED void pages_for_each(void (*fn)(uintptr_t base, size_t npages,
                                          void *arg), void *arg);

#endif /* TRI_PAGES_H */

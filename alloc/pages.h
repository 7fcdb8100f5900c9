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
 * Concurrency: everything runs under mheap.lock.
 */
#ifndef TRI_PAGES_H
#define TRI_PAGES_H

#include "base.h"
#include "span.h"

#define PAGES_BINS 128

/* Allocate npages contiguous pages; returns their base or 0 if no run fits
 * (the caller grows the heap and calls pages_free on the new memory). */
TRI_LOCKED uintptr_t pages_alloc(size_t npages);
/* Give [base, base + npages pages) back (coalescing). Returns false only if
 * a span struct could not be allocated for a new run. */
TRI_LOCKED bool pages_free(uintptr_t base, size_t npages);
/* Pages currently free. */
TRI_LOCKED size_t pages_free_count(void);
/* Verify I1-I4 by walking the bins and the treap. */
TRI_LOCKED bool pages_check(void);
/* Visit every free run (for tests and tools). */
TRI_LOCKED void pages_for_each(void (*fn)(uintptr_t base, size_t npages,
                                          void *arg), void *arg);

#endif /* TRI_PAGES_H */

/*
 * arena.h -- 64 MiB heap arenas and the two-level arena index.
 *
 * The heap's address space comes in arenas of ARENA_BYTES, each aligned to
 * its size and reserved from Go's hint addresses (0x00c000000000, then
 * 0x01c000000000, ...), so heap pointers are recognisable in scanned words.
 * Any address maps to its arena's metadata in O(1): Go's arenaIndex, with
 * arenaBaseOffset, L1 = 1 entry and L2 = 4M entries (the L2 array is 32 MiB
 * of address space, touched only where arenas exist).
 *
 * Per arena (heap_arena): the page -> span table, the pageInUse and
 * pageMarks bitmaps the collector uses, the scavenged bitmap of the page
 * allocator (Go's pallocData.scavenged), and zeroed_base (Go's zeroedBase):
 * pages at or above it have never been handed out, so they are known zero.
 *
 * Invariants:
 *   I1. arena_index[i] is NULL or the heap_arena of arena i, and once set
 *       never changes (published with release; read with plain loads by
 *       arena_of, which is fine because the pointer never changes again).
 *   I2. For an in-use span every page maps to it; for a free page run only
 *       its first and last page map to it; every other page maps to NULL.
 *   I3. zeroed_base only grows; [base + zeroed_base, base + ARENA_BYTES)
 *       has never been given to a span and is zero.
 *   I4. Every registered arena lies in [arena_lo, arena_hi); the bounds
 *       only widen, each after its arenas are registered, so a scanner's
 *       cheap range test never rejects a heap pointer it could resolve.
 *   I5. Globals of tricolor that hold heap addresses store them hidden
 *       (addr_hide: XOR with ARENA_HIDE_MASK gives a kernel-half value,
 *       never a heap pointer), so the collector scans every loaded
 *       object's data and bss, tricolor's own included, without its
 *       bookkeeping keeping objects alive.
 * Concurrency: spans[] and zeroed_base are written under mheap.lock; spans[]
 * entries are read without a lock by free/usable_size/the collector, which
 * then validate the span's state and bounds.
 */
#ifndef TRI_ARENA_H
#define TRI_ARENA_H

#include "../base/base.h"
#include "sizeclass.h"

#define ARENA_SHIFT 26
#define ARENA_BYTES ((size_t)1 << ARENA_SHIFT) /* Go's heapArenaBytes */
#define PAGES_PER_ARENA (ARENA_BYTES / PAGE_SIZE) /* 8192 */
#define ARENA_L2_BITS 22                         /* 48 - 26, L1 = 0 bits */
#define ARENA_L2_ENTRIES ((size_t)1 << ARENA_L2_BITS)
#define ARENA_BASE_OFFSET ((uintptr_t)0xffff800000000000ull)
#define HEAP_ADDR_LIMIT ((uintptr_t)1 << 47) /* user space on amd64 */

struct mspan;

typedef struct heap_arena {
	struct mspan *spans[PAGES_PER_ARENA]; /* I2; mheap.lock to write */
	uint8_t page_in_use[PAGES_PER_ARENA / 8]; /* first page of in-use
	                                             spans; mheap.lock */
	uint8_t page_marks[PAGES_PER_ARENA / 8];  /* for the collector */
	uint8_t scavenged[PAGES_PER_ARENA / 8];   /* free page released to the
	                                             OS (pages.h I5);
	                                             mheap.lock */
	uintptr_t base;        /* first byte of the arena */
	uintptr_t zeroed_base; /* I3; offset; mheap.lock */
} heap_arena;

extern heap_arena **arena_index; /* ARENA_L2_ENTRIES entries (I1) */
#define ARENA_HIDE_MASK ((uintptr_t)0xffff000000000000ull)
TRI_INLINE uintptr_t addr_hide(uintptr_t a)
{
	return a ^ ARENA_HIDE_MASK;
}
TRI_INLINE uintptr_t addr_unhide(uintptr_t h)
{
	return h ^ ARENA_HIDE_MASK;
}

extern atomic_word arena_lo_h, arena_hi_h; /* I4, hidden (I5) */
TRI_INLINE uintptr_t arena_lo(void)
{
	return addr_unhide(atomic_load_acquire(&arena_lo_h)); /* pairs:
	                                         register_arenas' release */
}
TRI_INLINE uintptr_t arena_hi(void)
{
	return addr_unhide(atomic_load_acquire(&arena_hi_h));
}

/* Could p point into the heap? I4's bounds, with one subtraction and one
 * compare (an address below arena_lo wraps to a huge difference). */
TRI_INLINE bool arena_contains(uintptr_t p)
{
	uintptr_t lo = arena_lo();
	return p - lo < arena_hi() - lo;
}

TRI_INLINE uintptr_t arena_index_of(uintptr_t p)
{
	return (p - ARENA_BASE_OFFSET) >> ARENA_SHIFT;
}

/* The arena holding p, or NULL if p is not in the heap's address space. */
TRI_INLINE heap_arena *arena_of(uintptr_t p)
{
	uintptr_t i = arena_index_of(p);
	if (TRI_UNLIKELY(i >= ARENA_L2_ENTRIES || !arena_index))
		return NULL;
	return arena_index[i];
}

/* The page's entry in its arena's span table (I2), or NULL. */
TRI_INLINE struct mspan *arena_span_of(uintptr_t p)
{
	heap_arena *ha = arena_of(p);
	if (!ha)
		return NULL;
	return ha->spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)];
}

/* Set the span-table entries of npages pages from base to s. mheap.lock. */
TRI_LOCKED void arena_set_spans(uintptr_t base, size_t npages,
                                struct mspan *s);

/* Reserve the arena index. Returns false if the OS refused. */
bool arena_init(void);

/* Hand out committed, never-used heap memory of size bytes (a multiple of
 * ARENA_CHUNK_BYTES) at *base. Returns false on failure (nothing changed).
 * mheap.lock. */
#define ARENA_CHUNK_BYTES (4 * TRI_MiB) /* Go's palloc chunk */
TRI_LOCKED bool arena_grow(size_t size, uintptr_t *base);

/* The prefix of [base, base+size) that may hold old data and must be
 * zeroed before use (I3), and mark the whole range as used. Returns the
 * length of that prefix. mheap.lock. */
TRI_LOCKED size_t arena_take_range(uintptr_t base, size_t size);

/* The collector's watch on new heap memory (its write tracking, a call
 * that goes up a floor like gc_set_observer's): fn(base, size) for every
 * range arena_grow commits, under mheap.lock, before any of it is handed
 * out. Set once, before the heap first grows; NULL: nobody watches. */
void arena_set_grow_hook(void (*fn)(uintptr_t base, size_t size));

/* Bytes of heap address space committed for spans. */
uint64_t arena_heap_sys(void);


#endif /* TRI_ARENA_H */

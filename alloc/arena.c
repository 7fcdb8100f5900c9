/*
 * arena.c -- reserving arenas from hint addresses, registering them in the
 * arena index, and committing their memory chunk by chunk.
 *
 * Algorithm (Go's sysAlloc and mheap.grow):
 *   1. The heap grows into the current reservation [cur_next, cur_end).
 *   2. When it does not fit, reserve align_up(size, ARENA_BYTES) more: try the
 *      hints in order (each hint moves up past what it gave); when every hint
 *      fails, reserve anywhere, aligned. A reservation contiguous with the
 *      current one extends it; otherwise the rest of the old one is left
 *      reserved and unused (it costs no memory).
 *   3. Each new arena gets a heap_arena (metadata mapped from the OS, never
 *      from the heap) published in the index with release ordering.
 *   4. The range handed out is committed (made read/write) first.
 *
 * Invariants: see arena.h (I1-I3). Also:
 *   I4. cur_next <= cur_end, both ARENA_CHUNK_BYTES-aligned, and every arena
 *       overlapping [cur_next, cur_end) is registered in the index.
 * Concurrency: everything here except arena_of/arena_span_of runs under
 * mheap.lock (the caller's); arena_init runs once under the init lock.
 */
#include "arena.h"

#include "os.h"

heap_arena **arena_index; /* I1 */

/* Heap addresses in these globals are stored hidden (arena.h I5). */
static uintptr_t cur_next_h = ARENA_HIDE_MASK;  /* I4; mheap.lock */
static uintptr_t cur_end_h = ARENA_HIDE_MASK;
static unsigned hint_index;          /* next hint to try; mheap.lock */
static uintptr_t hint_addr_h = ARENA_HIDE_MASK; /* where it continues */
static atomic_word heap_sys_bytes;   /* committed for spans */
atomic_word arena_lo_h = ARENA_HIDE_MASK, arena_hi_h = ARENA_HIDE_MASK;

#define NUM_HINTS 0x80

bool arena_init(void)
{
	if (arena_index)
		return true;
	arena_index = os_map(ARENA_L2_ENTRIES * sizeof(heap_arena *));
	return arena_index != NULL;
}

/* Go's hint i: i<<40 | 0x00c0<<32, tried from i = 0 upwards. */
static uintptr_t hint_start(unsigned i)
{
	return (uintptr_t)i << 40 | (uintptr_t)0x00c0 << 32;
}

/* Reserve size bytes (a multiple of ARENA_BYTES), aligned to ARENA_BYTES. */
static uintptr_t reserve_from_hints(size_t size, uintptr_t *hint)
{
	uintptr_t hint_addr = *hint;
	while (hint_index < NUM_HINTS) {
		if (!hint_addr)
			hint_addr = hint_start(hint_index);
		if (hint_addr + size > hint_addr &&
		    hint_addr + size <= HEAP_ADDR_LIMIT) {
			void *p = os_reserve((void *)hint_addr, size);
			if (p) {
				*hint = hint_addr + size;
				return (uintptr_t)p;
			}
		}
		hint_index++;
		hint_addr = 0;
	}
	*hint = 0;
	void *p = os_reserve_aligned(size, ARENA_BYTES);
	if (p && (uintptr_t)p + size > HEAP_ADDR_LIMIT) {
		os_unmap(p, size);
		return 0;
	}
	return (uintptr_t)p;
}

static uintptr_t reserve_arenas(size_t size)
{
	uintptr_t hint_addr = addr_unhide(hint_addr_h);
	uintptr_t p = reserve_from_hints(size, &hint_addr);
	hint_addr_h = addr_hide(hint_addr);
	return p;
}

/* Register arenas covering [base, base+size) (I1, step 3). */
static bool register_arenas(uintptr_t base, size_t size)
{
	for (uintptr_t a = base; a < base + size; a += ARENA_BYTES) {
		uintptr_t i = arena_index_of(a);
		if (arena_index[i])
			continue;
		heap_arena *ha = os_map(sizeof(heap_arena));
		if (!ha)
			return false;
		ha->base = a;
		atomic_store_release((atomic_word *)&arena_index[i],
		                     (uintptr_t)ha);
	}
	/* Widen the bounds only after the arenas are in the index. */
	uintptr_t lo = arena_lo(), hi = arena_hi();
	if (!lo || base < lo)
		atomic_store_release(&arena_lo_h, addr_hide(base));
	if (base + size > hi)
		atomic_store_release(&arena_hi_h, addr_hide(base + size));
	return true;
}

/* arena_grow on decoded copies of [cur_next, cur_end). */
static bool grow_range(size_t size, uintptr_t *cur_next, uintptr_t *cur_end,
                       uintptr_t *base)
{
	TRI_ASSERT(size % ARENA_CHUNK_BYTES == 0 && size > 0);
	if (*cur_end - *cur_next < size) {
		size_t rsize = align_up(size, ARENA_BYTES);
		if (rsize < size)
			return false;
		uintptr_t p = reserve_arenas(rsize);
		if (!p)
			return false;
		if (!register_arenas(p, rsize)) {
			os_unmap((void *)p, rsize);
			return false;
		}
		if (p == *cur_end) {
			*cur_end += rsize; /* contiguous: extend */
		} else {
			*cur_next = p;
			*cur_end = p + rsize;
		}
		if (*cur_end - *cur_next < size)
			return false;
	}
	if (!os_commit((void *)*cur_next, size))
		return false;
	*base = *cur_next;
	*cur_next += size;
	atomic_add_full(&heap_sys_bytes, size);
	return true;
}

static void (*grow_hook)(uintptr_t base, size_t size);

void arena_set_grow_hook(void (*fn)(uintptr_t base, size_t size))
{
	TRI_ASSERT(!fn || arena_heap_sys() == 0); /* before the first growth */
	grow_hook = fn;
}

bool arena_grow(size_t size, uintptr_t *base)
{
	uintptr_t next = addr_unhide(cur_next_h), end = addr_unhide(cur_end_h);
	bool ok = grow_range(size, &next, &end, base);
	cur_next_h = addr_hide(next);
	cur_end_h = addr_hide(end);
	if (ok && grow_hook)
		grow_hook(*base, size);
	return ok;
}

void arena_set_spans(uintptr_t base, size_t npages, struct mspan *s)
{
	for (size_t i = 0; i < npages; i++) {
		uintptr_t p = base + i * PAGE_SIZE;
		heap_arena *ha = arena_of(p);
		TRI_ASSERT(ha != NULL);
		ha->spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)] = s;
	}
}

size_t arena_take_range(uintptr_t base, size_t size)
{
	uintptr_t dirty_end = base;
	for (uintptr_t p = base; p < base + size;) {
		heap_arena *ha = arena_of(p);
		uintptr_t aend = ha->base + ARENA_BYTES;
		uintptr_t end = base + size < aend ? base + size : aend;
		uintptr_t zb = ha->base + ha->zeroed_base;
		if (zb > p) /* I3: below the watermark may be dirty */
			dirty_end = zb < end ? zb : end;
		if (end > zb)
			ha->zeroed_base = end - ha->base;
		p = end;
	}
	return dirty_end - base;
}

uint64_t arena_heap_sys(void)
{
	return atomic_load_relaxed(&heap_sys_bytes);
}

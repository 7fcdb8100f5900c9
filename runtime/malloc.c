/*
 * malloc.c -- the allocator's public functions (tri_malloc and friends),
 * the top floor's mallocgc junction: a request goes to the tiny, small or
 * large path (Go's mallocgc), with the heap profile's sampling, the
 * assist debit of black allocation and the trigger test on the way;
 * tri_free / tri_usable_size resolve any pointer through the arena index
 * before trusting it. mallocgc and the free path are inline here, in the
 * functions that use them, so the public calls cost no extra call.
 *
 * Paths:
 *   tiny   noscan and n < 16: packed into the thread's current 16-byte block
 *          (Go's alignment rule: 8 if n % 8 == 0, else 4, 2, 1).
 *   small  n <= 32 KiB: size class -> span class -> the cached span's
 *          alloc_cache (span_next_free_fast); refill out of line.
 *   large  n > 32 KiB: a span of its own straight from mheap.
 * Budget: the small fast path is the class lookup, one TLS load, the
 * ctz/shift/bump of span_next_free_fast, one per-class counter bump, the
 * heap profile's sample counter (a subtract and a branch: mcache.h) and
 * the zeroing of a reused slot -- no lock, no atomic read-modify-write.
 *
 * Every public entry runs inside the heap-critical region (base.h:
 * m_acquire / m_release), so the collector never stops a thread half-way
 * through one; a cycle the allocation asked for runs at m_release.
 *
 * Invariants:
 *   I1. Every pointer returned points at zeroed memory of at least n bytes,
 *       except from malloc_uninit / realloc_uninit (malloc.h: the
 *       preload's malloc, with glibc's semantics), whose memory holds old
 *       data where a freed object was, but never a free list's words.
 *   I2. tri_free / tri_usable_size never act on a pointer before checking
 *       that its span is in use (span.h I5), that it lies below the span's
 *       limit, and that it is the start of an allocated object; otherwise
 *       one line on stderr and abort().
 *   I3. The small-object free never reads the block it frees (memory
 *       often last touched long ago: a cache miss per free); it reads the
 *       span's first line and bitmap block, and stores the list's two
 *       words into the block (mcache.h I6 says how a double free of a
 *       listed block is still caught).
 */
#include <errno.h>
#include <string.h>

#include "../alloc/arena.h"
#include "../alloc/fixalloc.h"
#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"
#include "../alloc/os.h"
#include "../alloc/scavenge.h"
#include "../gc/threads.h"
#include "../include/tricolor.h"
#include "../prof/profile.h"
#include "malloc.h"

/* Larger requests cannot be met on amd64 (47-bit user space); requests
 * beyond RAM + swap are refused too (max_alloc, set at init). */
#define MAX_ALLOC ((size_t)1 << 46)
static size_t max_alloc = MAX_ALLOC;

/* Called by tri_init (runtime/init.c) before any allocation. */
bool malloc_init(void)
{
	uint64_t limit = os_memory_limit();
	if (limit < max_alloc)
		max_alloc = (size_t)limit;
	return true;
}

/* The first allocation of a thread (or of the program): initialise the
 * heap if nobody has, then attach the thread (register it, make its
 * cache). Inside the heap-critical region. NULL when that fails. */
static TRI_NOINLINE mcache *attach_slow(void)
{
	if (tri_init() != 0)
		return NULL;
	return threads_attach_cache();
}

static void *out_of_memory(void)
{
	errno = ENOMEM;
	return NULL;
}

/* Go's mcache.nextFree: the slow half of the small path. */
static TRI_NOINLINE uintptr_t next_free(mcache *c, unsigned ci)
{
	mspan *s = c->alloc[ci];
	uintptr_t idx = span_next_free_index(s);
	if (idx == s->nelems) {
		if (!mcache_refill(c, ci))
			return 0;
		s = c->alloc[ci];
		idx = span_next_free_index(s);
		TRI_ASSERT(idx < s->nelems);
	}
	return s->base + idx * s->elemsize;
}

/* Make the slot at p ready for its new owner: zeroed (I1), or for an
 * uninitialised request only its first two words, where a free list keeps
 * its link and mcache_free_key (a stale link would look like a pointer to
 * the collector; a stale key in a live object would hide a double free of
 * it from the checks below). */
TRI_INLINE void clear_slot(uintptr_t p, size_t size, bool zero)
{
	if (zero) {
		memset((void *)p, 0, size);
	} else {
		((uintptr_t *)p)[0] = 0;
		((uintptr_t *)p)[1] = 0;
	}
}

/* An object this thread freed (mcache.h I4), handed out again; a listed
 * object without the key was freed twice (mcache.h I6). */
TRI_INLINE void *reuse_listed(mcache *c, spanclass_t spc,
                              mcache_freelist *l, size_t size, bool zero)
{
	void **p = l->head;
	if (TRI_UNLIKELY((uintptr_t)p[1] != mcache_free_key))
		mcache_double_free(p);
	l->head = p[0];
	l->n--;
	clear_slot((uintptr_t)p, size, zero);
	counter_add_local(&c->stats.small_allocs[spc >> 1], 1);
	return p;
}

TRI_INLINE void *malloc_small(mcache *c, size_t n, bool noscan, bool zero)
{
	spanclass_t spc = spanclass_make(sizeclass_of(n), noscan);
	mcache_freelist *l = &c->free[spc];
	/* A sampled allocation comes from the cached span instead: its
	 * special goes on a span this thread holds (span.h). */
	if (l->head) {
		size_t size = class_to_size[spanclass_sizeclass(spc)];
		if (!mcache_sample_due(c, size))
			return reuse_listed(c, spc, l, size, zero);
	}
	mspan *s = c->alloc[spc];
	uintptr_t p = span_next_free_fast(s);
	if (TRI_UNLIKELY(!p)) {
		p = next_free(c, spc);
		if (!p)
			return out_of_memory();
		s = c->alloc[spc];
	}
	if (mcache_sample_due(c, s->elemsize))
		profile_alloc(c, s, p);
	if (s->needzero)
		clear_slot(p, s->elemsize, zero); /* I1 */
	counter_add_local(&c->stats.small_allocs[spc >> 1], 1);
	return (void *)p;
}

/* Account n more bytes of large objects, a new object or one grown in
 * place: black bytes and the assist debt during a mark (span.h),
 * heap_live and the trigger (mheap.h I5), the thread's counter (c may be
 * NULL for a growth on a thread without a cache). */
static void note_large_bytes(mcache *c, size_t n)
{
	if (atomic_load_relaxed(&span_alloc_black)) {
		atomic_add_full(&span_black_bytes, n);
		if (c)
			mcache_assist_debit(c, n);
	}
	mheap_live_add((intptr_t)n);
	if (mheap_over_trigger())
		tri_m.b.want_gc = 1;
	if (c)
		counter_add_local(&c->stats.large_alloc_bytes, n);
}

static TRI_NOINLINE void *malloc_large(mcache *c, size_t n, bool noscan,
                                       bool zero)
{
	if (n > max_alloc)
		return out_of_memory();
	size_t npages = (n + PAGE_SIZE - 1) / PAGE_SIZE;
	mspan *s = mheap_alloc_span(npages, 0, spanclass_make(0, noscan));
	if (!s)
		return out_of_memory();
	if (s->zero_bytes && zero)
		memset((void *)s->base, 0, s->zero_bytes); /* I1 */
	if (atomic_load_relaxed(&span_alloc_black)) /* span.h */
		span_mark_word(s, 0, 1);
	note_large_bytes(c, s->elemsize);
	counter_add_local(&c->stats.large_allocs, 1);
	if (mcache_sample_due(c, s->elemsize)) /* before anyone can free it */
		profile_alloc(c, s, s->base);
	mheap_large_add(s);
	return (void *)s->base;
}

/* Record a tiny object at [off, end) of its block. Only the block's owner
 * writes starts/ends, so plain read-modify-write stores suffice; readers
 * (tri_free, tri_usable_size of that object) are ordered after them by
 * whatever handed them the pointer. */
TRI_INLINE void tiny_note(mspan *s, uintptr_t block, uintptr_t off,
                          uintptr_t end)
{
	tiny_meta *m = &s->tiny[(block - s->base) / TINY_SIZE];
	AO_short_store(&m->starts, (unsigned short)(m->starts | 1u << off));
	AO_short_store(&m->ends, (unsigned short)(m->ends | 1u << (end - 1)));
}

/* A fresh block for a tiny object of n bytes (Go: adopt it as the current
 * block only if it leaves more room than the old one). */
static TRI_NOINLINE void *malloc_tiny_slow(mcache *c, size_t n)
{
	mspan *s = c->alloc[TINY_CENTRAL];
	uintptr_t p = span_next_free_fast(s);
	if (!p) {
		p = next_free(c, TINY_CENTRAL);
		if (!p)
			return out_of_memory();
		s = c->alloc[TINY_CENTRAL];
	}
	if (s->needzero)
		memset((void *)p, 0, TINY_SIZE);
	tiny_meta *m = &s->tiny[(p - s->base) / TINY_SIZE];
	m->ends = m->starts = m->freed = 0; /* the block was dead: no racers */
	tiny_note(s, p, 0, n);
	counter_add_local(&c->stats.tiny_blocks, 1);
	counter_add_local(&c->stats.tiny_allocs, 1);
	if (mcache_sample_due(c, TINY_SIZE)) /* Go: a new block counts 16 B */
		profile_alloc(c, s, p);
	if (c->tiny && n >= c->tiny_offset) {
		m->live = 1; /* not adopted: just this object */
		return (void *)p;
	}
	mcache_release_tiny(c);
	m->live = TINY_OWNED;
	c->tiny = p;
	c->tiny_offset = n;
	c->tiny_span = s;
	c->tiny_count = 1;
	return (void *)p;
}

/* Go's tiny alignment: 8 if n % 8 == 0, else 4, 2, 1. */
TRI_INLINE uintptr_t tiny_align(size_t n)
{
	return (n & 7) == 0 ? 8 : (n & 3) == 0 ? 4 : (n & 1) == 0 ? 2 : 1;
}

TRI_INLINE void *malloc_tiny(mcache *c, size_t n)
{
	uintptr_t off = align_up(c->tiny_offset, tiny_align(n));
	if (c->tiny && off + n <= TINY_SIZE) {
		uintptr_t p = c->tiny + off;
		c->tiny_offset = off + n;
		c->tiny_count++;
		tiny_note(c->tiny_span, c->tiny, off, off + n);
		counter_add_local(&c->stats.tiny_allocs, 1);
		return (void *)p; /* the block was zeroed when it was taken */
	}
	return malloc_tiny_slow(c, n);
}

TRI_INLINE void *mallocgc(size_t n, bool noscan, bool zero)
{
	mcache *c = mcache_tls;
	if (TRI_UNLIKELY(!c)) {
		c = attach_slow();
		if (!c)
			return out_of_memory();
	}
	if (TRI_UNLIKELY(n == 0))
		n = 1; /* a unique minimal object */
	if (TRI_LIKELY(n <= MAX_SMALL_SIZE)) {
		if (noscan && n < TINY_SIZE)
			return malloc_tiny(c, n);
		return malloc_small(c, n, noscan, zero);
	}
	return malloc_large(c, n, noscan, zero);
}

TRI_API void *tri_malloc(size_t n)
{
	m_acquire();
	void *p = mallocgc(n, false, true);
	m_release();
	return p;
}

void *malloc_uninit(size_t n)
{
	m_acquire();
	void *p = mallocgc(n, false, false);
	m_release();
	return p;
}

TRI_API void *tri_malloc_noscan(size_t n)
{
	m_acquire();
	void *p = mallocgc(n, true, true);
	m_release();
	return p;
}

TRI_API void *tri_calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size)
		return out_of_memory();
	return tri_malloc(count * size); /* already zeroed (I1) */
}

/* ---- pointers coming back: free, usable_size, realloc ---- */

/* The in-use span holding p, or abort (I2). */
static mspan *span_of_checked(const void *p, const char *caller)
{
	uintptr_t a = (uintptr_t)p;
	mspan *s = arena_span_of(a);
	if (!s || span_state(s) != SPAN_IN_USE || a < s->base || a >= s->limit)
		base_fatal("%s(%p): pointer not allocated by tricolor "
		          "(or already freed)", caller, p);
	return s;
}

static void interior(const void *p, uintptr_t start, const char *caller)
{
	base_fatal("%s(%p): not the start of an object (object at %p)", caller,
	          p, (void *)start);
}

static void unallocated(const void *p, const char *caller)
{
	base_fatal("%s(%p): object not allocated (double free?)", caller, p);
}

/* Slot index of the small object at p, checked to be an allocated start. */
static uintptr_t small_index_checked(mspan *s, const void *p,
                                     const char *caller)
{
	uintptr_t off = (uintptr_t)p - s->base;
	uintptr_t idx = span_obj_index(s, off);
	if (idx * s->elemsize != off)
		interior(p, s->base + idx * s->elemsize, caller);
	if (!span_is_allocated(s, idx))
		unallocated(p, caller);
	return idx;
}

/* Bytes usable at tiny object p (its own size: up to the next object end
 * in its block), after checking that an object starts at p and is live. */
static size_t tiny_usable(mspan *s, const void *p, const char *caller)
{
	uintptr_t off = (uintptr_t)p - s->base;
	uintptr_t idx = off / TINY_SIZE;
	if (!span_is_allocated(s, idx))
		unallocated(p, caller);
	tiny_meta *m = &s->tiny[idx];
	unsigned in = (unsigned)(off % TINY_SIZE);
	if (!((AO_short_load(&m->starts) >> in) & 1))
		interior(p, s->base + idx * TINY_SIZE, caller);
	if ((AO_short_load(&m->freed) >> in) & 1)
		unallocated(p, caller);
	return (size_t)ctz64(AO_short_load(&m->ends) >> in) + 1;
}

/* Mark tiny object p freed; abort if it already was (double free). */
static void tiny_mark_freed(mspan *s, const void *p)
{
	uintptr_t off = (uintptr_t)p - s->base;
	tiny_meta *m = &s->tiny[off / TINY_SIZE];
	unsigned short bit = (unsigned short)(1u << (off % TINY_SIZE));
	unsigned short old = AO_short_load(&m->freed);
	for (;;) {
		if (old & bit)
			unallocated(p, "tri_free");
		unsigned short seen = AO_short_fetch_compare_and_swap_full(
			&m->freed, old, (unsigned short)(old | bit));
		if (seen == old)
			return;
		old = seen;
	}
}

static void free_large(mspan *s, void *p)
{
	if ((uintptr_t)p != s->base)
		interior(p, s->base, "tri_free");
	/* Own the span first (the sweeper cannot take it then), then the
	 * CAS decides between this free and a racing double free. */
	unsigned gen = AO_int_load(&s->gen);
	if (!gen || !mheap_large_claim(s, gen) ||
	    atomic_cas_full(&s->state, SPAN_IN_USE, SPAN_DEAD) != SPAN_IN_USE)
		unallocated(p, "tri_free");
	mcache *c = mcache_tls ? mcache_tls : attach_slow();
	if (c) {
		counter_add_local(&c->stats.large_frees, 1);
		counter_add_local(&c->stats.large_free_bytes, s->elemsize);
	}
	if (atomic_load_relaxed(&s->sweepgen) == mheap_swept_gen() ||
	    span_is_marked(s, 0))
		mheap_live_add(-(intptr_t)s->elemsize); /* mheap.h I5 */
	if (s->specials)
		special_free_all(s, true);
	span_clobber_large(s);
	mheap_free_span_release(s, scavenge_release_freed(s->elemsize));
}

/* Everything but a small, non-tiny object: NULL, large, tiny, misuse. */
static void free_slow_locked(void *p)
{
	mspan *s = span_of_checked(p, "tri_free");
	if (spanclass_sizeclass(s->spanclass) == 0) {
		free_large(s, p);
		return;
	}
	mcache *c = mcache_tls ? mcache_tls : attach_slow();
	if (!c)
		base_fatal("tri_free(%p): out of metadata", p);
	if (s->is_tiny) {
		uintptr_t idx = ((uintptr_t)p - s->base) / TINY_SIZE;
		tiny_usable(s, p, "tri_free"); /* validates */
		tiny_mark_freed(s, p);
		counter_add_local(&c->stats.tiny_frees, 1);
		mcache_tiny_put(c, s, idx, "tri_free", p);
		return;
	}
	uintptr_t idx = small_index_checked(s, p, "tri_free");
	counter_add_local(&c->stats.small_frees[s->spanclass >> 1], 1);
	mcentral_free_object(s, idx, "tri_free", p);
}

static TRI_NOINLINE void free_slow(void *p)
{
	if (!p)
		return;
	m_acquire();
	free_slow_locked(p);
	m_release();
}

/* List p on the thread's free list (mcache.h I4) if its class lists and
 * no concurrent mark runs (I5: read inside the region, so a stop cannot
 * fall between the test and the listing). Sampled objects keep the span
 * path, where their free is booked (prof/profile.c). The span's bitmaps
 * say the slot is allocated (I2), and p is not the list's head (a block
 * freed twice in a row); other double frees are caught when a copy
 * leaves the list (mcache.h I6). Stores only into p (I3). */
TRI_INLINE bool free_listed(mcache *c, mspan *s, uintptr_t idx,
                            uintptr_t *p)
{
	mcache_freelist *l = &c->free[s->spanclass];
	if (!l->cap || AO_char_load(&s->has_specials))
		return false;
	m_acquire();
	if (TRI_UNLIKELY(atomic_load_relaxed(&span_alloc_black))) {
		m_release();
		return false;
	}
	if (TRI_UNLIKELY(!span_is_allocated_fast(s, idx)))
		unallocated(p, "tri_free");
	if (TRI_UNLIKELY((void *)p == l->head))
		mcache_double_free(p);
	p[0] = (uintptr_t)l->head;
	p[1] = mcache_free_key;
	l->head = p;
	if (TRI_UNLIKELY(++l->n > l->cap))
		mcache_free_trim(c, s->spanclass, l->cap / 2);
	m_release();
	return true;
}

/* The small-object free, inline: lookup and validation (I2), then the
 * thread's free list; the span's free bit (one CAS) when it does not
 * list, and the central lock only when the CAS says the span may have
 * just become partial or empty. */
TRI_INLINE void free_object(void *p)
{
	uintptr_t a = (uintptr_t)p;
	mspan *s = arena_span_of(a);
	mcache *c = mcache_tls;
	if (TRI_UNLIKELY(!s || !c || span_state(s) != SPAN_IN_USE ||
	                 a - s->base >= s->limit - s->base || s->divmul == 0 ||
	                 s->is_tiny)) {
		free_slow(p);
		return;
	}
	uintptr_t off = a - s->base;
	uintptr_t idx = span_obj_index(s, off);
	if (TRI_UNLIKELY(idx * s->elemsize != off))
		interior(p, s->base + idx * s->elemsize, "tri_free");
	unsigned sizeclass = spanclass_sizeclass(s->spanclass);
	if (!free_listed(c, s, idx, p) &&
	    TRI_UNLIKELY(!mcentral_free(s, idx)))
		unallocated(p, "tri_free");
	counter_add_local(&c->stats.small_frees[sizeclass], 1);
}

/* The span path needs no region: a thread stopped inside it holds no
 * lock, and its free-bit CAS is right before or after any cycle (the
 * object is live: the caller holds it). Listing and the slow paths run
 * inside it. */
TRI_API void tri_free(void *p)
{
	free_object(p);
}

static size_t usable_size_checked(mspan *s, const void *p, const char *who)
{
	if (spanclass_sizeclass(s->spanclass) == 0) {
		if ((uintptr_t)p != s->base)
			interior(p, s->base, who);
		return s->elemsize;
	}
	if (s->is_tiny)
		return tiny_usable(s, p, who);
	small_index_checked(s, p, who);
	return s->elemsize;
}

TRI_API size_t tri_usable_size(const void *p)
{
	if (!p)
		return 0;
	mspan *s = span_of_checked(p, "tri_usable_size");
	return usable_size_checked(s, p, "tri_usable_size");
}

TRI_API void *tri_base(const void *p)
{
	m_acquire();
	void *b = (void *)span_find_object((uintptr_t)p);
	m_release();
	return b;
}

/* Can p (usable size old >= n) serve a request of n bytes in place with
 * the alignment a fresh allocation of n would have? Large: page-aligned,
 * keep it unless it would waste more than half. Small: only within the
 * same size class. Tiny: if p is aligned as Go's tiny rule wants for n. */
static bool realloc_in_place_ok(const mspan *s, const void *p, size_t n,
                                size_t old)
{
	if (spanclass_sizeclass(s->spanclass) == 0)
		return n > MAX_SMALL_SIZE && n > old / 2;
	if (s->is_tiny) {
		return n < TINY_SIZE && (uintptr_t)p % tiny_align(n) == 0;
	}
	return sizeclass_of(n) == spanclass_sizeclass(s->spanclass);
}

/* Grow large object p (span s) to n bytes without moving it, when the
 * pages after it are free: no copy, and for a big block none of the page
 * faults a copy into released memory costs. The extra bytes are
 * accounted as an allocation (note_large_bytes). */
static bool grow_large_in_place(mspan *s, size_t n, bool zero)
{
	size_t old = s->elemsize, dirty;
	size_t npages = (n + PAGE_SIZE - 1) / PAGE_SIZE;
	if (n > max_alloc || !mheap_grow_large(s, npages, &dirty))
		return false;
	if (zero && dirty)
		memset((void *)(s->base + old), 0, dirty); /* I1 */
	note_large_bytes(mcache_tls, s->elemsize - old);
	return true;
}

static void *realloc_object(void *p, size_t n, bool zero)
{
	if (!p)
		return mallocgc(n, false, zero);
	mspan *s = span_of_checked(p, "tri_realloc");
	size_t old = usable_size_checked(s, p, "tri_realloc");
	bool noscan = spanclass_noscan(s->spanclass);
	if (n <= old && n > 0 && realloc_in_place_ok(s, p, n, old)) {
		/* Stay in place; keep bytes past n zero for a later grow. */
		if (zero)
			memset((char *)p + n, 0, old - n);
		return p;
	}
	if (n > old && spanclass_sizeclass(s->spanclass) == 0 &&
	    grow_large_in_place(s, n, zero))
		return p;
	void *q = mallocgc(n, noscan, zero);
	if (!q)
		return NULL; /* p untouched */
	memcpy(q, p, old < n ? old : n);
	free_object(p);
	return q;
}

TRI_API void *tri_realloc(void *p, size_t n)
{
	m_acquire();
	void *q = realloc_object(p, n, true);
	m_release();
	return q;
}

void *realloc_uninit(void *p, size_t n)
{
	m_acquire();
	void *q = realloc_object(p, n, false);
	m_release();
	return q;
}

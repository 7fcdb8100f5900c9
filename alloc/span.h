/*
 * span.h -- mspan: a run of pages, either free (owned by the page
 * allocator) or in use (cut into objects of one size class, or one large
 * object).
 *
 * Object state in an in-use span (Go's, plus explicit free):
 *   - slot i is allocated  iff  i < freeindex  or  alloc_bits[i] = 1,
 *     and it is not yet reusable while free_bits[i] = 1 (a pending free);
 *   - alloc_cache holds the complement of the alloc_bits word containing
 *     freeindex, shifted so bit 0 is freeindex: ctz finds the next free slot.
 * tri_free sets free_bits[i] with one CAS (a set bit found already set is a
 * double free); nothing else counts pending frees. span_reclaim folds them into
 * alloc_bits and restarts freeindex at 0 (the sweep of explicit frees; the
 * collector's sweep does the same with the mark bits, span_marks).
 *
 * Invariants:
 *   I1. base and npages never change while the span is in use;
 *       limit = base + nelems * elemsize; every object lies in
 *       [base, limit).
 *   I2. 0 <= freeindex <= nelems.
 *   I3. The alloc_cache bit for slot j (freeindex <= j < next multiple of 64)
 *       is the complement of alloc_bits[j].
 *   I4. free_bits[i] is set only for a slot that is allocated (I1's sense);
 *       bits outside [0, nelems) are never set.
 *   I5. state is published last (release) when a span goes in use, and
 *       checked first (acquire) by anything resolving an untrusted pointer.
 *   I6. objindex(off) = (off * divmul) >> 32 = off / elemsize for every
 *       offset in the span (no division on any path).
 * Concurrency: a span in use is owned by one mcache (location CACHED: the
 * owner thread alone touches freeindex and alloc_cache; alloc_bits is then
 * read-only) or sits on an mcentral list (location PARTIAL/FULL: fields under
 * that mcentral's lock). free_bits words are atomic and may be touched by
 * any thread at any time. freeindex and alloc_bits words are stored with
 * atomic stores so tri_free can read them racily (see span_is_allocated).
 */
#ifndef TRI_SPAN_H
#define TRI_SPAN_H

#include "../base/base.h"
#include "sizeclass.h"

enum span_state {
	SPAN_DEAD = 0, /* not describing memory (Go's mSpanDead) */
	SPAN_FREE,     /* a free page run in the page allocator */
	SPAN_IN_USE,   /* objects (Go's mSpanInUse) */
	SPAN_NUM_STATES
};
extern const char *const span_state_names[SPAN_NUM_STATES];

/* Where an in-use small span is (mcentral.lock, or owner when CACHED). */
enum span_location {
	SPAN_LOC_NONE = 0, /* large, or in transit */
	SPAN_LOC_CACHED,   /* in an mcache */
	SPAN_LOC_PARTIAL,  /* mcentral.partial: free slots or pending frees */
	SPAN_LOC_FULL,     /* mcentral.full */
	SPAN_LOC_LARGE,    /* a large span on mheap's large list */
};

/* Per-block metadata of a tiny span (runtime/malloc.c: tiny allocator). */
typedef struct tiny_meta {
	unsigned short ends;   /* bit e-1: an object ends at offset e (owner) */
	unsigned short starts; /* bit o: an object starts at offset o (owner) */
	unsigned short freed;  /* bit o: that object was freed (CAS) */
	unsigned char live;    /* live objects (+TINY_OWNED while current) */
	unsigned char pad;
} tiny_meta;

typedef struct mspan {
	/* Line 0: what every tri_free and pointer lookup reads. Written only
	 * while the span changes hands, never on the allocation fast path,
	 * so freeing threads do not contend with the owner (no false
	 * sharing with line 1). */
	atomic_word state;       /* enum span_state; I5 */
	uintptr_t base;          /* first byte (I1) */
	uintptr_t limit;         /* I1 */
	uintptr_t elemsize;      /* object size (large: npages * PAGE_SIZE) */
	uint16_t nelems;         /* objects in the span (<= 1024) */
	spanclass_t spanclass;
	uint8_t is_tiny;         /* a tiny-block span (tiny != NULL) */
	uint32_t divmul;         /* I6 (0 for large spans) */
	atomic_word *free_bits;  /* nwords; pending explicit frees (I4) */
	atomic_word *alloc_bits; /* nwords; 1 = allocated as of last reclaim */
	uint8_t has_specials;    /* specials != NULL, stored by whoever
	                            changes the list: tri_free reads it here
	                            without touching the cold lines */
	unsigned int gen;        /* unique per use of the struct as an in-use
	                            span (never 0); a racing tri_free checks
	                            it after taking a lock (mcentral.c) */

	/* Line 1: the owner's allocation state. */
	uint64_t alloc_cache TRI_ALIGNED(TRI_CACHELINE); /* I3; owner */
	atomic_word freeindex;   /* I2; owner / mcentral.lock; atomic stores */
	uint8_t needzero;        /* objects may hold old data */
	unsigned char location;  /* enum span_location; mcentral.lock */
	uint32_t black_gen;      /* span_black_gen when it was cached */

	/* Cold. */
	unsigned alloc_count;    /* allocated slots at the last uncache or
	                            reclaim; mcentral.lock */
	const void *last_owner;  /* the mcache that last held it (a hint for
	                            refills; mcentral.lock) */
	struct mspan *next, *prev; /* list links: mcentral or page bins */
	size_t npages;
	atomic_word sweepgen;    /* Go's sweep generation: mheap.h */
	size_t zero_bytes;       /* large: prefix that may hold old data */
	tiny_meta *tiny;         /* per-block metadata for tiny spans */
	atomic_word *checkmark_bits; /* gc/checkmark.c, valid for one pass */
	unsigned checkmark_gen;
	struct special *specials; /* sorted by slot; whoever holds the span
	                             (owner when CACHED, else the lock that
	                             guards its sweep or free); prof/profile.c */

	/* Free page runs (state SPAN_FREE), under mheap.lock. */
	struct mspan *tleft, *tright; /* treap children (runs >= 128 pages) */
	uint32_t tprio;               /* treap priority */
	uint8_t in_treap;
	size_t nscav;                 /* pages released to the OS (pages.h I5) */
} TRI_ALIGNED(TRI_CACHELINE) mspan;

/* A doubly linked list of spans through next/prev (mcentral's lists,
 * mheap's large lists); the owner's lock protects it. */
typedef struct span_list {
	mspan *head, *tail;
} span_list;
void span_list_push_tail(span_list *l, mspan *s);
void span_list_remove(span_list *l, mspan *s);

TRI_INLINE unsigned span_nwords(unsigned nelems)
{
	return (nelems + 63) / 64;
}

TRI_INLINE uintptr_t span_state(const mspan *s)
{
	/* I5: pairs with the release store in mheap_alloc_span. */
	return atomic_load_acquire((atomic_word *)&s->state);
}

/* Object index of offset off in the span (I6). */
TRI_INLINE uintptr_t span_obj_index(const mspan *s, uintptr_t off)
{
	return (uintptr_t)(((uint64_t)off * s->divmul) >> 32);
}

TRI_INLINE bool bit_test(const atomic_word *bits, uintptr_t i)
{
	return (atomic_load_relaxed(&bits[i / 64]) >> (i % 64)) & 1;
}

/* Allocation fast path (Go's nextFreeFast): a free slot from alloc_cache, or
 * 0 when the slow path must run. No lock, no atomic RMW. ~12 instructions. */
TRI_INLINE uintptr_t span_next_free_fast(mspan *s)
{
	uint64_t cache = s->alloc_cache;
	if (TRI_UNLIKELY(cache == 0))
		return 0;
	unsigned bit = ctz64(cache);
	uintptr_t idx = s->freeindex + bit;
	if (TRI_UNLIKELY(idx >= s->nelems))
		return 0;
	uintptr_t next = idx + 1;
	if (TRI_UNLIKELY(next % 64 == 0 && next != s->nelems))
		return 0; /* the cache must be refilled: slow path */
	s->alloc_cache = (cache >> bit) >> 1;
	atomic_store_relaxed(&s->freeindex, next);
	return s->base + idx * s->elemsize;
}

/* Allocate bitmaps and set up a span of size class sizeclass over its pages
 * (base/npages already set). Returns false if metadata ran out. */
bool span_init_small(mspan *s, unsigned sizeclass, spanclass_t spc);
/* Set up a large span: one object of npages pages. */
bool span_init_large(mspan *s, spanclass_t spc);
/* Give a tiny span its per-block metadata. */
bool span_attach_tiny(mspan *s);
/* Return the span's bitmaps and tiny metadata. */
void span_free_bits(mspan *s);

/* Go's nextFreeIndex: the next free slot at or after freeindex (advancing
 * freeindex past it), or nelems when the span is exhausted. Owner only. */
uintptr_t span_next_free_index(mspan *s);

/* Is slot idx allocated and not pending free? Safe from any thread. */
bool span_is_allocated(const mspan *s, uintptr_t idx);

/* span_is_allocated for a valid slot (idx < nelems), inline for the
 * common answer: settled as allocated and not pending. */
TRI_INLINE bool span_is_allocated_fast(const mspan *s, uintptr_t idx)
{
	uintptr_t bit = (uintptr_t)1 << (idx % 64);
	if ((atomic_load_relaxed(&s->alloc_bits[idx / 64]) & bit) &&
	    !(atomic_load_relaxed(&s->free_bits[idx / 64]) & bit))
		return true;
	return span_is_allocated(s, idx);
}

/* What a free learned from its CAS, for mcentral's rare cases. */
enum span_free_result {
	SPAN_FREE_BAD = 0,   /* not allocated, or already pending: misuse */
	SPAN_FREE_OK,        /* nothing more to do */
	SPAN_FREE_CHECK,     /* its word was empty before (maybe the span's
	                        first pending free) or is now all freed (maybe
	                        the span is empty): mcentral must look */
};

/* The free that just set a bit decides, with plain loads of the span's
 * words, whether mcentral must look (span.c). After the free's CAS the
 * span may already be back in the heap (another free emptied it), so this
 * reads only the bitmap block and word count the free loaded before its
 * CAS: fixalloc never unmaps, so a stale block reads as a harmless hint
 * (mcentral_freed_slow checks gen under the lock). */
enum span_free_result span_free_check(const atomic_word *free_bits,
                                      unsigned nwords, bool word_was_empty);

/* Record an explicit free of slot idx (any thread): one load of the alloc
 * word and one CAS on the free word, both in the span's metadata block.
 * The result says whether mcentral needs to look at the span (see
 * mcentral_freed_slow); deciding that needs no counter, so the common case
 * is a single locked instruction. */
TRI_INLINE enum span_free_result span_free_slot(mspan *s, uintptr_t idx)
{
	uintptr_t bit = (uintptr_t)1 << (idx % 64);
	atomic_word *fb = s->free_bits; /* span_free_check: before the CAS */
	unsigned nwords = span_nwords(s->nelems);
	uintptr_t alloc = atomic_load_relaxed(&s->alloc_bits[idx / 64]);
	if (!(alloc & bit) && !span_is_allocated(s, idx))
		return SPAN_FREE_BAD;
	atomic_word *w = &fb[idx / 64];
	uintptr_t old = atomic_load_relaxed(w);
	for (;;) {
		if (old & bit)
			return SPAN_FREE_BAD; /* already pending: double free */
		uintptr_t seen = atomic_cas_full(w, old, old | bit);
		if (seen == old)
			break;
		old = seen;
	}
	if (TRI_LIKELY(old != 0 && (old | bit) != alloc))
		return SPAN_FREE_OK;
	return span_free_check(fb, nwords, old == 0);
}

/* Number of pending frees (plain loads: a hint). */
unsigned span_pending_count(const mspan *s);
/* True when some slot has a pending free (plain loads: a hint unless the
 * caller holds the span's mcentral lock and no free is in flight). */
bool span_has_pending(const mspan *s);
/* True when every allocated slot of a settled span is pending free. */
bool span_all_pending(const mspan *s);

/* Black allocation (Go's gcmarknewobject, per span instead of per object):
 * while span_alloc_black is set (a concurrent mark runs; changed only with
 * the world stopped), span_settle also sets the mark bit of every slot it
 * folds in -- the slots allocated since the span was cached, all of them
 * during the mark, since every cache is flushed when it starts -- and adds
 * their bytes to span_black_bytes. Large objects are marked when
 * allocated (runtime/malloc.c). */
extern atomic_word span_alloc_black;
extern atomic_word span_black_bytes;
/* Nonzero and new for every concurrent mark, 0 otherwise. A span cached
 * during a mark records it in black_gen: until the span is settled, its
 * slots below freeindex that alloc_bits does not have were allocated
 * black, and the marker treats them as marked (span_allocated_black). */
extern atomic_word span_black_gen;

TRI_INLINE bool span_allocated_black(const mspan *s, uintptr_t idx)
{
	uint32_t g = (uint32_t)atomic_load_relaxed(&span_black_gen);
	return g != 0 && AO_int_load((const unsigned *)&s->black_gen) == g &&
	       !bit_test(s->alloc_bits, idx);
}
/* Set the mark bits `bits` of word w; returns how many were newly set. */
unsigned span_mark_word(mspan *s, unsigned w, uint64_t bits);

/* Fold the slots below freeindex into alloc_bits (normalise) and recount
 * alloc_count. Called when the span leaves an mcache. */
void span_settle(mspan *s);

/* Fold pending frees into alloc_bits (clobbering the freed slots under
 * span_clobber), restart freeindex at 0, refill alloc_cache. Caller
 * holds the span: mcentral.lock for an uncached span, or it is the owner
 * of a cached one (after span_settle). Returns the number of slots
 * reclaimed. */
uint32_t span_reclaim(mspan *s);

/* GODEBUG=clobberfree=1 (Go's debug.clobberfree): every object freed --
 * swept as garbage, or an explicit free folded in -- is filled with the
 * 32-bit pattern 0xdeadbeef, so a use after free reads a recognisable
 * value. Set once at init (gc/debug.c) before anything is allocated;
 * read once per span swept or reclaimed, never on the allocation path. */
extern bool span_clobber;
#define SPAN_CLOBBER_WORD 0xdeadbeefu
/* Fill [p, p + n) with SPAN_CLOBBER_WORD (n a multiple of 4). */
void span_clobber_range(uintptr_t p, size_t n);
/* A large span's object, freed by tri_free or the sweep. */
TRI_INLINE void span_clobber_large(const mspan *s)
{
	if (TRI_UNLIKELY(span_clobber))
		span_clobber_range(s->base, s->elemsize);
}

/* What a sweep found (span_sweep). */
typedef struct span_sweep_counts {
	uint32_t gc_freed;      /* allocated, unmarked, not pending: garbage */
	uint32_t freed_marked;  /* pending explicit frees of marked objects */
	uint32_t freed;         /* all pending explicit frees folded in */
	uint32_t tiny_objects;  /* tiny spans: objects in the garbage blocks */
} span_sweep_counts;

/* The collector's sweep (Go's mspan.sweep), with explicit frees: a slot
 * stays allocated iff it was allocated, is marked, and is not pending
 * free; mark bits are cleared for the next cycle; freeindex restarts at 0.
 * Caller holds the span as for span_reclaim and the span is not cached.
 * Adds what it found to *c; returns the number of live slots. */
uint32_t span_sweep(mspan *s, span_sweep_counts *c);

/* The start of the allocated object containing address p (interior
 * pointers included; a tiny object's own start), or 0 when p is not
 * inside a live object of an in-use span. Never aborts: every step
 * validates before it trusts, so any word may be asked (conservative
 * scans, tri_base, the leak checker). */
uintptr_t span_find_object(uintptr_t p);
/* The allocated slot containing p (a tiny span's 16-byte block, whatever
 * lives in it), and its span in *s; 0 as span_find_object. */
uintptr_t span_find_slot(uintptr_t p, mspan **s);

/* Specials (Go's mheap.go specials): per-object records kept on the
 * object's span. The only kind is the heap profile's: owner is the
 * sampled object's profile bucket (prof/profile.c). span_sweep and
 * span_reclaim look at the list only when it is non-empty.
 *   SP1. A span's specials are sorted by slot index, at most one per
 *        slot, each for an allocated slot; whoever holds the span edits
 *        the list.
 *   SP2. When its slot is freed (explicitly, or found garbage by the
 *        sweep) a special leaves its span for the freed stack, marked
 *        with how it was freed, and stays there until its owner takes the
 *        stack (span_take_freed_specials): the owner books the frees
 *        there, so the free path never calls up a floor. */
typedef struct special {
	struct special *next;
	uint32_t idx;       /* slot index in the span */
	bool explicit_free; /* how the slot was freed (SP2) */
	void *owner;        /* the sample's profile bucket */
} special;
/* Add a special for the object at p (the caller holds s); false when
 * metadata ran out. */
bool span_add_special(mspan *s, uintptr_t p, void *owner);
/* Move the specials of the slots of word w freed explicitly
 * (`explicit_freed`) or found garbage by the sweep (`gc_freed`) to the
 * freed stack (SP2). The caller holds the span. */
void special_free_slots(mspan *s, unsigned w, uint64_t explicit_freed,
                        uint64_t gc_freed);
/* A large span's one object dies (tri_free: explicit, or the sweep). */
void special_free_all(mspan *s, bool explicit_free);
/* The whole freed stack (SP2), newest first; the caller gives each
 * special back with special_release once it has read it. */
special *span_take_freed_specials(void);
void special_release(special *sp);

/* The span's mark bits (nwords; set by the collector's markers with an
 * atomic OR, cleared by span_sweep): the third bitmap of the block
 * [free | alloc | mark] (span.c), found from line 0 alone, so a marker
 * resolving a word touches the span's first cache line and its bitmap
 * block, no other line. Only for a span with bitmaps (free_bits set). */
TRI_INLINE atomic_word *span_marks(const mspan *s)
{
	return s->free_bits + 2 * span_nwords(s->nelems);
}

/* Is slot idx marked? (the collector's bit) */
TRI_INLINE bool span_is_marked(const mspan *s, uintptr_t idx)
{
	return bit_test(span_marks(s), idx);
}

/* Verify the invariants of a span; returns false (with a warning line). */
bool span_check(const mspan *s);

/* Allocate / free an mspan struct (metadata; mheap.lock not required). */
mspan *span_struct_alloc(void);
void span_struct_free(mspan *s);
void span_init_allocators(void);

#endif /* TRI_SPAN_H */

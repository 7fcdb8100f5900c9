/*
 * span.c -- span setup, the free-slot search, explicit-free bookkeeping and
 * the span invariant checker. The invariants are in span.h.
 *
 * Bitmaps: a span of n objects needs w = ceil(n / 64) words for each of
 * free_bits, alloc_bits and the mark bits. They live in one block laid
 * out [free_bits | alloc_bits | mark bits] from a fixalloc of 4 * 2^c
 * words, 2^c >= w (c = 0..4: no class has more than 1024 objects;
 * power-of-two blocks stay inside as few cache lines as possible); the
 * span keeps no pointer to the mark bits (span_marks). So a tri_free
 * -- free bit and alloc bit -- touches one cache line for every class of
 * 128 objects or fewer. Tiny spans also get a tiny_meta array.
 */
#include "span.h"

#include <string.h>

#include "arena.h"
#include "fixalloc.h"

const char *const span_state_names[SPAN_NUM_STATES] = {
	[SPAN_DEAD] = "dead", [SPAN_FREE] = "free", [SPAN_IN_USE] = "in-use"};

bool span_clobber;

#define BITS_CLASSES 5 /* 1, 2, 4, 8, 16 words */
static fixalloc span_structs;
static fixalloc bits_alloc[BITS_CLASSES];
static fixalloc tiny_meta_alloc;

static fixalloc special_alloc;
/* Specials whose slot was freed, not yet taken by their owner (SP2): a
 * stack pushed with CAS and emptied whole with a swap, so no ABA. */
static atomic_word freed_specials;

void span_init_allocators(void)
{
	fixalloc_init(&span_structs, sizeof(mspan));
	for (unsigned i = 0; i < BITS_CLASSES; i++)
		fixalloc_init(&bits_alloc[i], 4 * sizeof(atomic_word) << i);
	fixalloc_init(&tiny_meta_alloc, sizeof(tiny_meta) * (PAGE_SIZE / 16));
	fixalloc_init(&special_alloc, sizeof(special));
}

mspan *span_struct_alloc(void)
{
	return fixalloc_alloc(&span_structs);
}

void span_struct_free(mspan *s)
{
	fixalloc_free(&span_structs, s);
}

void span_list_push_tail(span_list *l, mspan *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
}

void span_list_remove(span_list *l, mspan *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->next = s->prev = NULL;
}

static unsigned bits_class(unsigned nwords)
{
	unsigned c = 0;
	while ((1u << c) < nwords)
		c++;
	return c;
}

static bool alloc_bitmaps(mspan *s)
{
	unsigned w = span_nwords(s->nelems);
	unsigned c = bits_class(w);
	TRI_ASSERT(c < BITS_CLASSES);
	atomic_word *b = fixalloc_alloc(&bits_alloc[c]);
	if (!b)
		return false;
	s->free_bits = b;
	s->alloc_bits = b + w; /* the mark bits follow: span_marks */
	return true;
}

void span_free_bits(mspan *s)
{
	if (s->alloc_bits)
		fixalloc_free(&bits_alloc[bits_class(span_nwords(s->nelems))],
		              s->free_bits);
	if (s->tiny)
		fixalloc_free(&tiny_meta_alloc, s->tiny);
	s->alloc_bits = s->free_bits = NULL;
	s->tiny = NULL;
	s->is_tiny = 0;
}

static void init_common(mspan *s, spanclass_t spc)
{
	s->spanclass = spc;
	s->freeindex = 0;
	AO_int_store(&s->alloc_count, 0);
	s->alloc_cache = ~(uint64_t)0; /* I3: all bits clear = all free */
	AO_char_store(&s->location, SPAN_LOC_NONE);
	TRI_ASSERT(s->specials == NULL); /* every free dropped its special */
	s->specials = NULL;
	AO_char_store(&s->has_specials, 0);
}

bool span_init_small(mspan *s, unsigned sizeclass, spanclass_t spc)
{
	init_common(s, spc);
	s->elemsize = class_to_size[sizeclass];
	s->nelems = (uint16_t)class_nelems(sizeclass);
	s->divmul = class_to_divmul[sizeclass];
	s->limit = s->base + (uintptr_t)s->nelems * s->elemsize; /* I1 */
	return alloc_bitmaps(s);
}

bool span_init_large(mspan *s, spanclass_t spc)
{
	init_common(s, spc);
	s->elemsize = s->npages * PAGE_SIZE;
	s->nelems = 1;
	s->divmul = 0;
	s->limit = s->base + s->elemsize;
	if (!alloc_bitmaps(s))
		return false;
	/* Its one object is allocated from the start (span_is_allocated). */
	atomic_store_relaxed(&s->alloc_bits[0], 1);
	atomic_store_relaxed(&s->freeindex, 1);
	s->alloc_cache = 0;
	AO_int_store(&s->alloc_count, 1);
	return true;
}

bool span_attach_tiny(mspan *s)
{
	s->tiny = fixalloc_alloc(&tiny_meta_alloc);
	s->is_tiny = s->tiny != NULL;
	return s->is_tiny;
}

/* Go's refillAllocCache: the complement of the alloc word holding whichword
 * (I3; the caller shifts for freeindex's position). */
static void refill_alloc_cache(mspan *s, uintptr_t whichword)
{
	s->alloc_cache = ~(uint64_t)atomic_load_relaxed(&s->alloc_bits[whichword]);
}

uintptr_t span_next_free_index(mspan *s)
{
	uintptr_t fi = s->freeindex, n = s->nelems;
	if (fi == n)
		return n;
	uint64_t cache = s->alloc_cache;
	while (cache == 0) {
		fi = (fi + 64) & ~(uintptr_t)63; /* next 64-slot group */
		if (fi >= n) {
			atomic_store_relaxed(&s->freeindex, n);
			return n;
		}
		refill_alloc_cache(s, fi / 64);
		cache = s->alloc_cache;
	}
	unsigned bit = ctz64(cache);
	uintptr_t idx = fi + bit;
	if (idx >= n) {
		atomic_store_relaxed(&s->freeindex, n);
		return n;
	}
	s->alloc_cache = (cache >> bit) >> 1;
	fi = idx + 1;
	if (fi % 64 == 0 && fi != n)
		refill_alloc_cache(s, fi / 64);
	atomic_store_relaxed(&s->freeindex, fi);
	return idx;
}

bool span_is_allocated(const mspan *s, uintptr_t idx)
{
	if (idx >= s->nelems || bit_test(s->free_bits, idx))
		return false;
	if (bit_test(s->alloc_bits, idx)) /* settled spans: no freeindex */
		return true;
	/* Acquire pairs with the release store of freeindex in span_reclaim:
	 * a reader that sees freeindex restart sees the new bits; then the
	 * bits are read again. */
	uintptr_t fi = atomic_load_acquire((atomic_word *)&s->freeindex);
	return idx < fi || bit_test(s->alloc_bits, idx);
}

/* Mask of the valid slot bits of word w. */
static uint64_t valid_mask(const mspan *s, unsigned w)
{
	uint32_t left = s->nelems - w * 64;
	return left >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << left) - 1;
}

atomic_word span_alloc_black;
atomic_word span_black_bytes;
atomic_word span_black_gen;

unsigned span_mark_word(mspan *s, unsigned w, uint64_t bits)
{
	atomic_word *p = &span_marks(s)[w];
	uintptr_t old = atomic_load_relaxed(p);
	for (;;) {
		if ((old & bits) == bits)
			return 0;
		uintptr_t seen = atomic_cas_full(p, old, old | bits);
		if (seen == old)
			return popcount64(bits & ~old);
		old = seen;
	}
}

void span_settle(mspan *s)
{
	uintptr_t fi = s->freeindex;
	bool black = atomic_load_relaxed(&span_alloc_black);
	uint32_t count = 0, marked = 0;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t old = atomic_load_relaxed(&s->alloc_bits[w]);
		uint64_t bits = old;
		uintptr_t lo = (uintptr_t)w * 64;
		if (fi >= lo + 64)
			bits = ~(uint64_t)0;
		else if (fi > lo)
			bits |= ((uint64_t)1 << (fi - lo)) - 1;
		bits &= valid_mask(s, w);
		if (black && (bits & ~old))
			marked += span_mark_word(s, w, bits & ~old);
		atomic_store_relaxed(&s->alloc_bits[w], bits);
		count += popcount64(bits);
	}
	AO_int_store(&s->alloc_count, count);
	if (marked)
		atomic_add_full(&span_black_bytes, (uintptr_t)marked * s->elemsize);
}

void span_clobber_range(uintptr_t p, size_t n)
{
	uint32_t *w = (uint32_t *)p;
	for (size_t i = 0; i < n / 4; i++)
		w[i] = SPAN_CLOBBER_WORD;
}

/* Clobber the slots of bitmap word w set in `slots` (a tiny span's slot
 * is its whole 16-byte block). */
static void clobber_slots(const mspan *s, unsigned w, uint64_t slots)
{
	while (slots) {
		uintptr_t idx = (uintptr_t)w * 64 + ctz64(slots);
		slots &= slots - 1;
		span_clobber_range(s->base + idx * s->elemsize, s->elemsize);
	}
}

uint32_t span_reclaim(mspan *s)
{
	uint32_t reclaimed = 0, count = 0;
	bool clobber = span_clobber;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t freed = atomic_swap_full(&s->free_bits[w], 0);
		if (TRI_UNLIKELY(clobber) && freed)
			clobber_slots(s, w, freed);
		if (TRI_UNLIKELY(s->specials != NULL) && freed)
			special_free_slots(s, w, freed, 0);
		uint64_t bits = atomic_load_relaxed(&s->alloc_bits[w]) & ~freed;
		atomic_store_relaxed(&s->alloc_bits[w], bits);
		reclaimed += popcount64(freed);
		count += popcount64(bits);
	}
	AO_int_store(&s->alloc_count, count);
	if (reclaimed)
		s->needzero = 1; /* reused slots hold old data */
	/* Release pairs with span_is_allocated's acquire: the bits above are
	 * visible to whoever sees freeindex restart. */
	atomic_store_release(&s->freeindex, 0);
	refill_alloc_cache(s, 0);
	return reclaimed;
}

/* Objects in the tiny blocks of word w's garbage slots. */
static uint32_t tiny_garbage_objects(const mspan *s, unsigned w,
                                     uint64_t garbage)
{
	uint32_t n = 0;
	while (garbage) {
		unsigned b = ctz64(garbage);
		garbage &= garbage - 1;
		const tiny_meta *m = &s->tiny[w * 64 + b];
		n += popcount64(m->starts & ~(unsigned)m->freed);
	}
	return n;
}

uint32_t span_sweep(mspan *s, span_sweep_counts *c)
{
	span_settle(s); /* slots below freeindex into alloc_bits */
	uint32_t live = 0;
	bool any = false, clobber = span_clobber;
	atomic_word *marks = span_marks(s);
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t freed = atomic_swap_full(&s->free_bits[w], 0);
		uint64_t alloc = atomic_load_relaxed(&s->alloc_bits[w]);
		uint64_t mark = atomic_load_relaxed(&marks[w]);
		uint64_t keep = alloc & mark & ~freed;
		uint64_t garbage = alloc & ~mark & ~freed;
		c->gc_freed += popcount64(garbage);
		c->freed_marked += popcount64(alloc & mark & freed);
		c->freed += popcount64(alloc & freed);
		if (s->is_tiny && garbage)
			c->tiny_objects += tiny_garbage_objects(s, w, garbage);
		any |= keep != alloc;
		if (TRI_UNLIKELY(s->specials != NULL) && keep != alloc)
			special_free_slots(s, w, alloc & freed, garbage);
		if (TRI_UNLIKELY(clobber) && keep != alloc)
			clobber_slots(s, w, alloc & ~keep);
		atomic_store_relaxed(&s->alloc_bits[w], keep);
		atomic_store_relaxed(&marks[w], 0);
		live += popcount64(keep);
	}
	AO_int_store(&s->alloc_count, live);
	if (any)
		s->needzero = 1;
	/* Release: as in span_reclaim (span_is_allocated's acquire). */
	atomic_store_release(&s->freeindex, 0);
	refill_alloc_cache(s, 0);
	return live;
}

enum span_free_result span_free_check(const atomic_word *free_bits,
                                      unsigned nwords, bool word_was_empty)
{
	/* Maybe the span's first pending free: every free that finds its word
	 * empty must look (mcentral.h I2). Filtering with loads of the other
	 * words is wrong: two frees into two empty words can each see the
	 * other's bit, and neither would move a full span to partial. */
	if (word_was_empty)
		return SPAN_FREE_CHECK;
	/* Did this free complete the span (every allocated slot pending)? Of
	 * racing "last" frees the later CAS sees every earlier bit, so at
	 * least one of them reports it. */
	const atomic_word *alloc_bits = free_bits + nwords; /* span.c layout */
	for (unsigned w = 0; w < nwords; w++)
		if (atomic_load_relaxed(&alloc_bits[w]) &
		    ~atomic_load_relaxed(&free_bits[w]))
			return SPAN_FREE_OK;
	return SPAN_FREE_CHECK;
}

unsigned span_pending_count(const mspan *s)
{
	unsigned n = 0;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++)
		n += popcount64(atomic_load_relaxed(&s->free_bits[w]));
	return n;
}

bool span_has_pending(const mspan *s)
{
	for (unsigned w = 0; w < span_nwords(s->nelems); w++)
		if (atomic_load_relaxed(&s->free_bits[w]))
			return true;
	return false;
}

bool span_all_pending(const mspan *s)
{
	for (unsigned w = 0; w < span_nwords(s->nelems); w++)
		if (atomic_load_relaxed(&s->alloc_bits[w]) &
		    ~atomic_load_relaxed(&s->free_bits[w]))
			return false;
	return true;
}

bool span_check(const mspan *s)
{
	const char *why = NULL;
	if (span_state(s) != SPAN_IN_USE)
		why = "not in use";
	else if (s->limit != s->base + (uintptr_t)s->nelems * s->elemsize)
		why = "limit"; /* I1 */
	else if (s->limit > s->base + s->npages * PAGE_SIZE)
		why = "objects past the span";
	else if (s->freeindex > s->nelems)
		why = "freeindex"; /* I2 */
	for (unsigned w = 0; !why && w < span_nwords(s->nelems); w++) {
		uint64_t outside = ~valid_mask(s, w);
		if (atomic_load_relaxed(&s->free_bits[w]) & outside)
			why = "free bit outside the span"; /* I4 */
	}
	if (why)
		base_warn("span %p (base %p, class %u): %s", (void *)s,
		         (void *)s->base, (unsigned)s->spanclass, why);
	return why == NULL;
}

/* ---- object lookup ---- */

/* The tiny object of block idx containing byte `in` of it, or 0. */
static uintptr_t tiny_base(const mspan *s, uintptr_t idx, unsigned in)
{
	const tiny_meta *m = &s->tiny[idx];
	unsigned starts = AO_short_load(&m->starts) & ((2u << in) - 1);
	if (!starts)
		return 0;
	unsigned start = 31 - (unsigned)__builtin_clz(starts);
	unsigned ends = AO_short_load(&m->ends) >> start;
	if (!ends || start + ctz64(ends) < in) /* object ends before `in` */
		return 0;
	if ((AO_short_load(&m->freed) >> start) & 1)
		return 0;
	return s->base + idx * TINY_SIZE + start;
}

uintptr_t span_find_slot(uintptr_t a, mspan **sp)
{
	mspan *s = arena_span_of(a);
	if (!s || span_state(s) != SPAN_IN_USE || a < s->base || a >= s->limit)
		return 0;
	uintptr_t idx = s->divmul ? span_obj_index(s, a - s->base) : 0;
	if (!span_is_allocated(s, idx))
		return 0;
	*sp = s;
	return s->base + idx * s->elemsize;
}

uintptr_t span_find_object(uintptr_t a)
{
	mspan *s;
	uintptr_t slot = span_find_slot(a, &s);
	if (!slot || !s->is_tiny)
		return slot;
	return tiny_base(s, (slot - s->base) / TINY_SIZE,
	                 (unsigned)((a - s->base) % TINY_SIZE));
}

/* ---- specials ---- */

bool span_add_special(mspan *s, uintptr_t p, void *owner)
{
	special *sp = fixalloc_alloc(&special_alloc);
	if (!sp)
		return false;
	sp->idx = s->divmul ? (uint32_t)span_obj_index(s, p - s->base) : 0;
	sp->owner = owner;
	special **pp = &s->specials;
	while (*pp && (*pp)->idx < sp->idx)
		pp = &(*pp)->next;
	TRI_ASSERT(!*pp || (*pp)->idx != sp->idx); /* SP1 */
	sp->next = *pp;
	*pp = sp;
	AO_char_store(&s->has_specials, 1);
	return true;
}

/* SP2: onto the freed stack. */
static void push_freed(special *sp, bool explicit_free)
{
	sp->explicit_free = explicit_free;
	uintptr_t old = atomic_load_relaxed(&freed_specials);
	for (;;) {
		sp->next = (special *)old;
		uintptr_t seen = atomic_cas_full(&freed_specials, old,
		                                 (uintptr_t)sp);
		if (seen == old)
			return;
		old = seen;
	}
}

void special_free_slots(mspan *s, unsigned w, uint64_t explicit_freed,
                        uint64_t gc_freed)
{
	uint64_t any = explicit_freed | gc_freed;
	for (special **pp = &s->specials; *pp;) {
		special *sp = *pp;
		if (sp->idx / 64 > w)
			break; /* SP1: sorted */
		uint64_t bit = (uint64_t)1 << (sp->idx % 64);
		if (sp->idx / 64 < w || !(any & bit)) {
			pp = &sp->next;
			continue;
		}
		*pp = sp->next;
		push_freed(sp, (explicit_freed & bit) != 0);
	}
	AO_char_store(&s->has_specials, s->specials != NULL);
}

void special_free_all(mspan *s, bool explicit_free)
{
	special *sp = s->specials;
	s->specials = NULL;
	AO_char_store(&s->has_specials, 0);
	while (sp) {
		special *next = sp->next;
		push_freed(sp, explicit_free);
		sp = next;
	}
}

special *span_take_freed_specials(void)
{
	return (special *)atomic_swap_full(&freed_specials, 0);
}

void special_release(special *sp)
{
	fixalloc_free(&special_alloc, sp);
}

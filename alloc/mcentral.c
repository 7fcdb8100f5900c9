/*
 * mcentral.c -- see mcentral.h.
 *
 * cache_span (Go's mcentral.cacheSpan, with explicit-free reclaim):
 *   1. Pop swept partial spans in order; reclaim each one's pending frees.
 *      The first with a free slot is handed out; one without goes to full.
 *   2. Sweep unswept spans (partial, then full; a budget of them): the
 *      first with a free slot is handed out, the rest are filed swept.
 *   3. Nothing usable: allocate a fresh span from mheap (outside the lock).
 * Every span handed out or filed is swept for the current sweepgen.
 * sweep_one (gc/sweep.c's background sweeper): one unswept span of a
 * class, partial first, swept and filed (or freed when empty) under the
 * lock, as a refill would.
 * uncache_span: settle the span (slots below freeindex become alloc bits),
 * then file it on partial or full, or give it back to the heap when empty.
 * free_object: set the free bit; a free whose CAS found its word empty may
 * be the span's first (full -> partial), one that completed its word may
 * have emptied the span (back to the heap): both look under the lock.
 */
#include "mcentral.h"

#include "mcache.h"
#include "mheap.h"

/* Lists by sweep state (Go's partial/full spanSets, swept and unswept):
 * set [(sweepgen / 2) % 2] holds the spans of that sweepgen, so when the
 * collector adds 2 to mheap_sweepgen every swept span becomes unswept at
 * once, and the other set (empty by mheap.h I3) becomes the swept one. */
typedef struct mcentral {
	base_mutex lock;
	span_list partial[2]; /* I1; lock */
	span_list full[2];    /* I1; lock */
} TRI_ALIGNED(TRI_CACHELINE) mcentral;

static mcentral centrals[NUM_CENTRALS];
static atomic_word lazy_sweeps; /* spans swept by refills and frees */

void mcentral_init(void)
{
	for (unsigned i = 0; i < NUM_CENTRALS; i++)
		base_mutex_init(&centrals[i].lock, LOCK_RANK_MCENTRAL);
}

unsigned mcentral_index_of(const mspan *s)
{
	return s->is_tiny ? TINY_CENTRAL : s->spanclass;
}

static span_list *list_of(mcentral *c, unsigned loc, uintptr_t sweepgen)
{
	unsigned set = (unsigned)(sweepgen / 2) % 2;
	return loc == SPAN_LOC_PARTIAL ? &c->partial[set] : &c->full[set];
}

static uintptr_t span_size(const mspan *s, uintptr_t nslots)
{
	return nslots * s->elemsize;
}

/* An uncached span's counts and bits agree (span.h I4; alloc_count as
 * the last settle, reclaim or sweep left it): alloc_count is the number
 * of alloc bits, and every pending free is of an allocated slot. */
static bool counts_ok(const mspan *s)
{
	unsigned n = 0;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t alloc = atomic_load_relaxed(&s->alloc_bits[w]);
		if (atomic_load_relaxed(&s->free_bits[w]) & ~alloc)
			return false;
		n += popcount64(alloc);
	}
	return n == s->alloc_count && n <= s->nelems;
}

/* File s on the list of its own sweepgen. */
static void file_span(mcentral *c, mspan *s, enum span_location loc)
{
	/* I1; I2: a full span had every slot allocated when filed */
	TRI_ASSERT(loc == SPAN_LOC_PARTIAL ||
	           (loc == SPAN_LOC_FULL && s->alloc_count == s->nelems));
	TRI_ASSERT2(counts_ok(s));
	AO_char_store(&s->location, (unsigned char)loc);
	span_list_push_tail(list_of(c, loc, s->sweepgen), s);
}

/* File s, just swept or reclaimed for the current sweepgen. */
static void file_swept(mcentral *c, mspan *s, enum span_location loc)
{
	atomic_store_relaxed(&s->sweepgen, mheap_swept_gen());
	file_span(c, s, loc);
}

static void unfile_span(mcentral *c, mspan *s)
{
	/* I1: it is on the list its location and sweepgen name */
	TRI_ASSERT(s->location == SPAN_LOC_PARTIAL ||
	           s->location == SPAN_LOC_FULL);
	span_list_remove(list_of(c, s->location, s->sweepgen), s);
	AO_char_store(&s->location, SPAN_LOC_NONE);
}

/* The size class to build new spans of for central index ci. */
static unsigned central_sizeclass(unsigned ci)
{
	return ci == TINY_CENTRAL ? TINY_SIZE_CLASS : spanclass_sizeclass(
		(spanclass_t)ci);
}

static mspan *grow(unsigned ci)
{
	unsigned sc = central_sizeclass(ci);
	spanclass_t spc = ci == TINY_CENTRAL ? spanclass_make(sc, true)
	                                     : (spanclass_t)ci;
	mspan *s = mheap_alloc_span(class_to_allocnpages[sc], sc, spc);
	if (s && ci == TINY_CENTRAL && !span_attach_tiny(s)) {
		mheap_free_span(s);
		return NULL;
	}
	if (s)
		atomic_store_relaxed(&s->sweepgen, mheap_swept_gen());
	return s;
}

/* Sweep unfiled span s (mheap.h I3, I5): book what the sweep freed and
 * drop the marked objects freed explicitly since the mark from heap_live.
 * c->lock held. Returns the live slot count. */
static uint32_t sweep_locked(mspan *s)
{
	span_sweep_counts n = {0};
	uint32_t live = span_sweep(s, &n);
	mheap_live_add(-(intptr_t)span_size(s, n.freed_marked));
	mcache_note_swept(s, n.gc_freed, n.tiny_objects);
	atomic_store_relaxed(&s->sweepgen, mheap_swept_gen());
	return live;
}

/* File a span just swept: partial, full, or back to the heap when empty.
 * c->lock held. */
static void file_after_sweep(mcentral *c, mspan *s, uint32_t live)
{
	if (live == 0) {
		mheap_free_span(s);
		return;
	}
	file_swept(c, s, live < s->nelems ? SPAN_LOC_PARTIAL : SPAN_LOC_FULL);
}

/* The partial span to try next: one `owner` held last among the first
 * AFFINITY_SCAN, else the head. */
#define AFFINITY_SCAN 4
static mspan *pick_partial(span_list *l, const void *owner)
{
	mspan *s = l->head;
	for (int i = 0; s && i < AFFINITY_SCAN; i++, s = s->next)
		if (s->last_owner == owner)
			return s;
	return l->head;
}

/* Step 1: a swept partial span with a free slot after reclaim. */
static mspan *take_swept_locked(mcentral *c, const void *owner)
{
	span_list *l = list_of(c, SPAN_LOC_PARTIAL, mheap_swept_gen());
	mspan *s;
	while ((s = pick_partial(l, owner)) != NULL) {
		TRI_ASSERT(s->location == SPAN_LOC_PARTIAL); /* I1 */
		unfile_span(c, s);
		uint32_t r = span_reclaim(s);
		mheap_live_add(-(intptr_t)span_size(s, r)); /* mheap.h I5 */
		if (s->alloc_count < s->nelems)
			return s;
		file_swept(c, s, SPAN_LOC_FULL); /* raced: nothing came back */
	}
	return NULL;
}

/* The next unswept span of c, partial ones first (c->lock), or NULL. */
static mspan *unswept_head(mcentral *c)
{
	uintptr_t unswept = mheap_swept_gen() - 2;
	mspan *s = list_of(c, SPAN_LOC_PARTIAL, unswept)->head;
	if (!s)
		s = list_of(c, SPAN_LOC_FULL, unswept)->head;
	/* I5; mheap.h I3: the other set holds exactly the unswept */
	TRI_ASSERT(!s || atomic_load_relaxed(&s->sweepgen) == unswept);
	return s;
}

/* Step 2 (Go's lazy sweep in cacheSpan): sweep unswept spans, partial
 * ones first, until one has a free slot; at most SWEEP_BUDGET. */
#define SWEEP_BUDGET 100
static mspan *take_unswept_locked(mcentral *c)
{
	mspan *got = NULL;
	int budget = SWEEP_BUDGET;
	for (; budget > 0 && !got; budget--) {
		mspan *s = unswept_head(c);
		if (!s)
			break;
		unfile_span(c, s);
		uint32_t live = sweep_locked(s);
		if (live < s->nelems)
			got = s; /* even if empty: we need a span */
		else
			file_swept(c, s, SPAN_LOC_FULL);
	}
	if (budget < SWEEP_BUDGET)
		atomic_add_full(&lazy_sweeps, (uintptr_t)(SWEEP_BUDGET - budget));
	return got;
}

mspan *mcentral_cache_span(unsigned ci, const void *owner)
{
	mcentral *c = &centrals[ci];
	base_mutex_lock(&c->lock);
	mspan *s = take_swept_locked(c, owner);
	if (!s)
		s = take_unswept_locked(c);
	if (s)
		AO_char_store(&s->location, SPAN_LOC_CACHED);
	base_mutex_unlock(&c->lock);
	if (!s) {
		s = grow(ci);
		if (!s)
			return NULL;
		AO_char_store(&s->location, SPAN_LOC_CACHED);
	}
	/* mheap.h I5: the free slots count as allocated from now on. */
	mheap_live_add((intptr_t)span_size(s, s->nelems - s->alloc_count));
	return s;
}

/* Empty and not cached: unlink and give it back (I3). An unswept span is
 * swept first (its pending frees may be of objects the mark never saw).
 * c->lock held (the lock order mcentral -> mheap allows entering the heap
 * here). */
static void release_if_empty_locked(mcentral *c, mspan *s)
{
	if (s->location != SPAN_LOC_PARTIAL && s->location != SPAN_LOC_FULL)
		return;
	if (!span_all_pending(s))
		return;
	unfile_span(c, s);
	if (atomic_load_relaxed(&s->sweepgen) != mheap_swept_gen()) {
		atomic_add_full(&lazy_sweeps, 1);
		file_after_sweep(c, s, sweep_locked(s));
		return;
	}
	/* mheap.h I5: every object left was freed explicitly. */
	mheap_live_add(-(intptr_t)span_size(s, span_pending_count(s)));
	if (span_clobber)
		span_reclaim(s); /* fold the frees in: clobbers them */
	if (s->specials) /* not reclaimed: book the profile's frees here */
		special_free_all(s, true);
	mheap_free_span(s);
}

void mcentral_uncache_span(mspan *s, const void *owner)
{
	mcentral *c = &centrals[mcentral_index_of(s)];
	base_mutex_lock(&c->lock);
	TRI_ASSERT(s->location == SPAN_LOC_CACHED); /* I1 */
	/* I4: leave CACHED, then fence, before reading the free bits. */
	AO_char_store(&s->location, SPAN_LOC_NONE);
	AO_nop_full();
	span_settle(s);
	/* mheap.h I5: the slots never handed out come back. */
	mheap_live_add(-(intptr_t)span_size(s, s->nelems - s->alloc_count));
	s->last_owner = owner;
	bool pending = span_has_pending(s);
	file_swept(c, s, pending || s->alloc_count < s->nelems
	                         ? SPAN_LOC_PARTIAL : SPAN_LOC_FULL);
	release_if_empty_locked(c, s);
	base_mutex_unlock(&c->lock);
}

void mcentral_freed_slow(mspan *s, unsigned gen)
{
	mcentral *c = &centrals[mcentral_index_of(s)];
	m_acquire(); /* tri_free's fast path runs outside the region */
	base_mutex_lock(&c->lock);
	if (AO_int_load(&s->gen) == gen) { /* still the same span */
		if (s->location == SPAN_LOC_FULL) { /* I2 */
			unfile_span(c, s);
			file_span(c, s, SPAN_LOC_PARTIAL);
		}
		release_if_empty_locked(c, s);
	}
	base_mutex_unlock(&c->lock);
	m_release();
}

void mcentral_free_object(mspan *s, uintptr_t idx, const char *caller,
                          const void *p)
{
	if (!mcentral_free(s, idx))
		base_fatal("%s(%p): object not allocated (double free?)", caller,
		          p);
}

uintptr_t mcentral_sweep_one(unsigned ci)
{
	mcentral *c = &centrals[ci];
	base_mutex_lock(&c->lock);
	mspan *s = unswept_head(c);
	uintptr_t pages = s ? s->npages : 0;
	if (s) {
		unfile_span(c, s);
		file_after_sweep(c, s, sweep_locked(s));
	}
	base_mutex_unlock(&c->lock);
	return pages;
}

uint64_t mcentral_lazy_sweeps(void)
{
	return atomic_load_relaxed(&lazy_sweeps);
}

uint64_t mcentral_unswept(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < NUM_CENTRALS; i++) {
		mcentral *c = &centrals[i];
		base_mutex_lock(&c->lock);
		uintptr_t unswept = mheap_swept_gen() - 2;
		for (unsigned loc = SPAN_LOC_PARTIAL; loc <= SPAN_LOC_FULL;
		     loc++)
			for (mspan *s = list_of(c, loc, unswept)->head; s;
			     s = s->next)
				n++;
		base_mutex_unlock(&c->lock);
	}
	return n;
}

/* Sweep up to `budget` unswept spans of c; returns how many. */
static unsigned sweep_some(mcentral *c, unsigned budget)
{
	unsigned n = 0;
	base_mutex_lock(&c->lock);
	for (; n < budget; n++) {
		mspan *s = unswept_head(c);
		if (!s)
			break;
		unfile_span(c, s);
		file_after_sweep(c, s, sweep_locked(s));
	}
	base_mutex_unlock(&c->lock);
	return n;
}

#define SWEEP_BATCH 64 /* spans per lock hold */
uint64_t mcentral_sweep_all(void)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < NUM_CENTRALS; i++) {
		unsigned n;
		do {
			n = sweep_some(&centrals[i], SWEEP_BATCH);
			total += n;
		} while (n == SWEEP_BATCH);
	}
	return total;
}

static bool check_list(const span_list *l, enum span_location loc,
                       unsigned set)
{
	const mspan *prev = NULL;
	for (mspan *s = l->head; s; prev = s, s = s->next) {
		const char *why = NULL;
		if (!span_check(s))
			return false; /* it warned */
		if (s->location != loc || s->prev != prev)
			why = "not where its location says (I1)";
		else if ((s->sweepgen / 2) % 2 != set)
			why = "on the set of another sweepgen (I5)";
		else if (loc == SPAN_LOC_FULL && s->alloc_count != s->nelems)
			why = "full with a free slot (I2)";
		else if (!counts_ok(s))
			why = "alloc_count and the bits disagree (span.h I4)";
		if (why) {
			base_warn("mcentral_check: span %p (base %p, "
			          "class %u): %s", (void *)s, (void *)s->base,
			          (unsigned)s->spanclass, why);
			return false;
		}
	}
	if (l->tail != prev) {
		base_warn("mcentral_check: a list's tail is not its last span");
		return false;
	}
	return true;
}

bool mcentral_check(void)
{
	bool ok = true;
	for (unsigned i = 0; i < NUM_CENTRALS && ok; i++) {
		mcentral *c = &centrals[i];
		base_mutex_lock(&c->lock);
		for (unsigned set = 0; set < 2 && ok; set++)
			ok = check_list(&c->partial[set], SPAN_LOC_PARTIAL,
			                set) &&
			     check_list(&c->full[set], SPAN_LOC_FULL, set);
		base_mutex_unlock(&c->lock);
	}
	return ok;
}

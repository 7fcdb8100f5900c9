/*
 * mcentral.c -- see mcentral.h.
 *
 * cache_span (Go's mcentral.cacheSpan, with explicit-free reclaim in place
 * of sweeping):
 *   1. Pop partial spans in order; reclaim each one's pending frees. The
 *      first with a free slot is handed out; one without goes to full.
 *   2. Nothing usable: allocate a fresh span from mheap (outside the lock).
 * uncache_span: settle the span (slots below freeindex become alloc bits),
 * then file it on partial or full, or give it back to the heap when empty.
 * free_object: set the free bit; a free whose CAS found its word empty may
 * be the span's first (full -> partial), one that completed its word may
 * have emptied the span (back to the heap): both look under the lock.
 */
#include "mcentral.h"

#include "mheap.h"

typedef struct span_list {
	mspan *head, *tail;
} span_list;

typedef struct mcentral {
	base_mutex lock;
	span_list partial; /* I1; lock */
	span_list full;    /* I1; lock */
} TRI_ALIGNED(TRI_CACHELINE) mcentral;

static mcentral centrals[NUM_CENTRALS];

void mcentral_init(void)
{
	for (unsigned i = 0; i < NUM_CENTRALS; i++)
		base_mutex_init(&centrals[i].lock, LOCK_RANK_MCENTRAL);
}

void mcentral_fork_prepare(void)
{
	for (unsigned i = 0; i < NUM_CENTRALS; i++)
		base_mutex_fork_lock(&centrals[i].lock);
}

void mcentral_fork_parent(void)
{
	for (unsigned i = NUM_CENTRALS; i-- > 0;)
		base_mutex_fork_unlock(&centrals[i].lock);
}

void mcentral_fork_child(void)
{
	for (unsigned i = 0; i < NUM_CENTRALS; i++)
		base_mutex_reinit(&centrals[i].lock);
}

unsigned mcentral_index_of(const mspan *s)
{
	return s->is_tiny ? TINY_CENTRAL : s->spanclass;
}

static void list_push_tail(span_list *l, mspan *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
}

static void list_remove(span_list *l, mspan *s)
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

static void file_span(mcentral *c, mspan *s, enum span_location loc)
{
	AO_char_store(&s->location, (unsigned char)loc);
	list_push_tail(loc == SPAN_LOC_PARTIAL ? &c->partial : &c->full, s);
}

static void unfile_span(mcentral *c, mspan *s)
{
	list_remove(s->location == SPAN_LOC_PARTIAL ? &c->partial : &c->full,
	            s);
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
	return s;
}

/* The partial span to try next: one `owner` held last among the first
 * AFFINITY_SCAN, else the head. */
#define AFFINITY_SCAN 4
static mspan *pick_partial(mcentral *c, const void *owner)
{
	mspan *s = c->partial.head;
	for (int i = 0; s && i < AFFINITY_SCAN; i++, s = s->next)
		if (s->last_owner == owner)
			return s;
	return c->partial.head;
}

mspan *mcentral_cache_span(unsigned ci, const void *owner)
{
	mcentral *c = &centrals[ci];
	base_mutex_lock(&c->lock);
	mspan *s;
	while ((s = pick_partial(c, owner)) != NULL) {
		TRI_ASSERT(s->location == SPAN_LOC_PARTIAL); /* I1 */
		unfile_span(c, s);
		span_reclaim(s);
		if (s->alloc_count < s->nelems)
			break;
		file_span(c, s, SPAN_LOC_FULL); /* raced: nothing came back */
	}
	if (s)
		AO_char_store(&s->location, SPAN_LOC_CACHED);
	base_mutex_unlock(&c->lock);
	if (!s) {
		s = grow(ci);
		if (s)
			AO_char_store(&s->location, SPAN_LOC_CACHED);
	}
	return s;
}

/* Empty and not cached: unlink and give it back (I3). c->lock held (the
 * lock order mcentral -> mheap allows entering the heap here). */
static void release_if_empty_locked(mcentral *c, mspan *s)
{
	if (s->location == SPAN_LOC_CACHED || s->location == SPAN_LOC_NONE)
		return;
	if (!span_all_pending(s))
		return;
	unfile_span(c, s);
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
	s->last_owner = owner;
	bool pending = span_has_pending(s);
	file_span(c, s, pending || s->alloc_count < s->nelems
	                        ? SPAN_LOC_PARTIAL : SPAN_LOC_FULL);
	release_if_empty_locked(c, s);
	base_mutex_unlock(&c->lock);
}

void mcentral_freed_slow(mspan *s, unsigned gen)
{
	mcentral *c = &centrals[mcentral_index_of(s)];
	base_mutex_lock(&c->lock);
	if (AO_int_load(&s->gen) == gen) { /* still the same span */
		if (s->location == SPAN_LOC_FULL) { /* I2 */
			unfile_span(c, s);
			file_span(c, s, SPAN_LOC_PARTIAL);
		}
		release_if_empty_locked(c, s);
	}
	base_mutex_unlock(&c->lock);
}

void mcentral_free_object(mspan *s, uintptr_t idx, const char *caller,
                          const void *p)
{
	/* Read while our object keeps s alive: once the bit is set, another
	 * thread's free may return s to the heap and s may be reused; then
	 * mcentral_index_of(s) would be wrong too, hence the gen check. */
	unsigned gen = AO_int_load(&s->gen);
	enum span_free_result r = span_free_slot(s, idx);
	if (r == SPAN_FREE_BAD)
		base_fatal("%s(%p): object not allocated (double free?)", caller,
		          p);
	if (mcentral_freed_needs_look(s, r))
		mcentral_freed_slow(s, gen);
}

static bool check_list(const span_list *l, enum span_location loc)
{
	for (mspan *s = l->head; s; s = s->next)
		if (s->location != loc || !span_check(s))
			return false;
	return true;
}

bool mcentral_check(void)
{
	bool ok = true;
	for (unsigned i = 0; i < NUM_CENTRALS && ok; i++) {
		mcentral *c = &centrals[i];
		base_mutex_lock(&c->lock);
		ok = check_list(&c->partial, SPAN_LOC_PARTIAL) &&
		     check_list(&c->full, SPAN_LOC_FULL);
		base_mutex_unlock(&c->lock);
	}
	return ok;
}

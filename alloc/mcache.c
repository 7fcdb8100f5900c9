/*
 * mcache.c -- creating, refilling and retiring per-thread caches, the tiny
 * block's lifetime, and summing the per-thread counters.
 *
 * Lifetime: a thread's cache is made on its first allocation (or
 * tri_thread_register), after the thread is registered with the collector
 * (gc/threads.c threads_attach_cache does both, in that order); when the
 * thread exits, threads.c releases the cache
 * (every cached span back to mcentral, so nothing is stranded) before it
 * unregisters the thread, and the counters are folded into `retired`.
 * Every cache in the registry therefore belongs to a registered thread, and
 * with the world stopped the collector may flush them all (mcache_flush_all).
 * Frees found by the collector's sweep are counted in `swept` with atomic
 * adds (once per span swept).
 *
 * Tiny blocks (Go's tiny allocator with explicit free): a block's
 * tiny_meta.live counts its live objects. While a block is an mcache's
 * current block, live also holds TINY_OWNED and the owner counts its own
 * allocations privately in tiny_count (so the fast path does no atomic);
 * when the owner gives the block up it adds tiny_count - TINY_OWNED. Frees
 * subtract 1. Whoever brings live to 0 frees the block's 16-byte slot.
 * A block holds at most 16 objects and the owner's count is published only
 * when it lets go, so while owned live stays within TINY_OWNED-16 ..
 * TINY_OWNED and never reaches 0.
 *
 * Concurrency: mcache_list_lock (LOCK_RANK_THREADS; it is taken before any
 * mcentral) protects the registry and `retired`.
 */
#include "mcache.h"

#include <errno.h>
#include <string.h>

#include "arena.h"
#include "fixalloc.h"
#include "mheap.h"
#include "sample.h"

mspan mcache_empty_span; /* alloc_cache 0, nelems 0: always refill */
__thread mcache *mcache_tls __attribute__((tls_model("initial-exec")));
uintptr_t mcache_free_key;

/* A free list's cap (I4) starts at about FREE_START_BYTES and doubles at
 * each refill of its class (tcmalloc's slow start: only a thread that
 * also allocates the class it frees earns a long list), up to about
 * FREE_CAP_BYTES; always between FREE_CAP_MIN and FREE_CAP_MAX objects.
 * A thread that only frees a class (a consumer) so holds about 1 KiB of
 * it, and one that frees and allocates at random reuses its own frees
 * nearly always. */
#if TRI_SMALL_BUF /* base.h: lists that trim and refill all the time */
#define FREE_START_BYTES 16u
#define FREE_CAP_BYTES 64u
#define FREE_CAP_MIN 1u
#define FREE_CAP_MAX 4u
#else
#define FREE_START_BYTES (1u << 10)
#define FREE_CAP_BYTES (32u << 10)
#define FREE_CAP_MIN 2u
#define FREE_CAP_MAX 512u
#endif

static fixalloc mcache_alloc;
static base_mutex mcache_list_lock;
static mcache *mcache_list;   /* mcache_list_lock */
static mcache_stats retired;  /* mcache_list_lock */
static mcache_stats swept;    /* atomic adds */

bool mcache_init(void)
{
	uintptr_t k = (uintptr_t)clock_ns(CLOCK_MONOTONIC) * 0x9e3779b97f4a7c15u;
	mcache_free_key = (k ^ (uintptr_t)&k ^ (k >> 29)) | 1;
	fixalloc_init(&mcache_alloc, sizeof(mcache));
	base_mutex_init(&mcache_list_lock, LOCK_RANK_THREADS);
	return true;
}

/* FREE_*_BYTES worth of objects of span class spc, within the bounds. */
static uint32_t free_cap_of(unsigned spc, uint32_t bytes)
{
	uint32_t cap = bytes / class_to_size[spanclass_sizeclass(
		(spanclass_t)spc)];
	cap = cap < FREE_CAP_MIN ? FREE_CAP_MIN : cap;
	return cap > FREE_CAP_MAX ? FREE_CAP_MAX : cap;
}

/* Listing needs two words per object, and span_clobber wants every free
 * filled at once (span.h), so neither lists (cap 0, for good). */
static void set_free_caps(mcache *c)
{
	for (unsigned spc = 0; spc < NUM_SPAN_CLASSES; spc++) {
		unsigned size = class_to_size[spanclass_sizeclass(
			(spanclass_t)spc)];
		bool ok = size >= 2 * sizeof(void *) && !span_clobber;
		c->free[spc] = (mcache_freelist){
			.cap = ok ? free_cap_of(spc, FREE_START_BYTES) : 0};
	}
}

/* The thread allocates class ci past its list: let the list grow. */
static void grow_free_cap(mcache *c, unsigned ci)
{
	if (ci >= NUM_SPAN_CLASSES || c->free[ci].cap == 0)
		return;
	uint32_t max = free_cap_of(ci, FREE_CAP_BYTES);
	uint32_t cap = c->free[ci].cap * 2;
	c->free[ci].cap = cap < max ? cap : max;
}

mcache *mcache_make(void)
{
	TRI_ASSERT(!mcache_tls);
	mcache *c = fixalloc_alloc(&mcache_alloc);
	if (!c)
		return NULL;
	for (unsigned i = 0; i < NUM_CENTRALS; i++)
		c->alloc[i] = &mcache_empty_span; /* I1 */
	set_free_caps(c);
	c->next_sample = (intptr_t)sample_next_gap();
	base_mutex_lock(&mcache_list_lock);
	c->next = mcache_list;
	if (mcache_list)
		mcache_list->prev = c;
	mcache_list = c;
	base_mutex_unlock(&mcache_list_lock);
	mcache_tls = c;
	return c;
}

#define ADD_STAT(name) out->name += atomic_load_relaxed(&in->name);
static void add_stats(mcache_stats *out, const mcache_stats *in)
{
	MCACHE_STATS(ADD_STAT)
	for (unsigned c = 0; c < NUM_SIZE_CLASSES; c++) {
		out->small_allocs[c] += atomic_load_relaxed(&in->small_allocs[c]);
		out->small_frees[c] += atomic_load_relaxed(&in->small_frees[c]);
	}
}

void mcache_double_free(const void *p)
{
	base_fatal("tri_free(%p): object freed twice (found on the thread's "
	          "free list)", p);
}

void mcache_free_trim(mcache *c, unsigned spc, uint32_t keep)
{
	mcache_freelist *l = &c->free[spc];
	while (l->n > keep) {
		void **p = l->head;
		if (TRI_UNLIKELY((uintptr_t)p[1] != mcache_free_key)) /* I6 */
			mcache_double_free(p);
		l->head = p[0];
		l->n--;
		mspan *s = arena_span_of((uintptr_t)p);
		/* I4: listed objects are of spc, in an in-use span */
		TRI_ASSERT2(s && span_state(s) == SPAN_IN_USE &&
		            s->spanclass == spc);
		uintptr_t idx = span_obj_index(s, (uintptr_t)p - s->base);
		mcentral_free_object(s, idx, "tri_free", p); /* word 1 stays */
	}
}

void mcache_flush(mcache *c)
{
	c->assist_credit = 0; /* a cycle starts or ends: debts are settled */
	for (unsigned spc = 0; spc < NUM_SPAN_CLASSES; spc++)
		mcache_free_trim(c, spc, 0); /* I5 */
	mcache_release_tiny(c);
	for (unsigned i = 0; i < NUM_CENTRALS; i++) {
		if (c->alloc[i] != &mcache_empty_span)
			mcentral_uncache_span(c->alloc[i], c);
		c->alloc[i] = &mcache_empty_span;
	}
}

void mcache_flush_all(void)
{
	base_mutex_lock(&mcache_list_lock);
	for (mcache *c = mcache_list; c; c = c->next) {
		if (c->parked && c->parked_clean)
			continue; /* I7: nothing cached since its flush */
		mcache_flush(c);
		c->parked_clean = c->parked;
	}
	base_mutex_unlock(&mcache_list_lock);
}

bool mcache_release(void)
{
	mcache *c = mcache_tls;
	if (!c)
		return false;
	mcache_flush(c);
	base_mutex_lock(&mcache_list_lock);
	add_stats(&retired, &c->stats);
	if (c->prev)
		c->prev->next = c->next;
	else
		mcache_list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	base_mutex_unlock(&mcache_list_lock);
	mcache_tls = NULL;
	fixalloc_free(&mcache_alloc, c);
	return true;
}

/* An exhausted span with at least this share of its slots pending free is
 * reclaimed in place by its owner: no central lock, and the slots stay on
 * the core that freed them. Fewer pending frees would make the span run
 * out again at once. */
#define RECLAIM_IN_PLACE_DIV 8

/* Reclaim the cached, exhausted span s in place (owner only: nobody else
 * touches a CACHED span's alloc bits, freeindex or alloc_count). */
static bool reclaim_in_place(mspan *s)
{
	unsigned want = s->nelems / RECLAIM_IN_PLACE_DIV;
	if (span_pending_count(s) < (want ? want : 1))
		return false;
	span_settle(s);
	span_reclaim(s);
	return s->alloc_count < s->nelems;
}

bool mcache_refill(mcache *c, unsigned ci)
{
	/* I1: nothing ever allocates from the placeholder */
	TRI_ASSERT(mcache_empty_span.alloc_cache == 0 &&
	           mcache_empty_span.nelems == 0);
	grow_free_cap(c, ci);
	mspan *s = c->alloc[ci];
	if (s != &mcache_empty_span && reclaim_in_place(s))
		return true;
	if (s != &mcache_empty_span)
		mcentral_uncache_span(s, c);
	c->alloc[ci] = &mcache_empty_span;
	s = mcentral_cache_span(ci, c);
	if (!s)
		return false;
	/* I1: cached for this class, with a free slot */
	TRI_ASSERT(s->location == SPAN_LOC_CACHED &&
	           mcentral_index_of(s) == ci && s->alloc_count < s->nelems);
	c->alloc[ci] = s;
	AO_int_store((unsigned *)&s->black_gen,
	             (unsigned)atomic_load_relaxed(&span_black_gen));
	if (atomic_load_relaxed(&span_alloc_black)) /* span.h */
		mcache_assist_debit(c, (uint64_t)(s->nelems - s->alloc_count) *
		                       s->elemsize);
	if (mheap_over_trigger())
		tri_m.b.want_gc = 1; /* Go's gcTrigger test, at m_release */
	return true;
}

/* Subtract `drop` from block idx's live count; free the slot at 0 and
 * count it in acct's statistics (the calling thread's cache, or the
 * cache being flushed: each counter has one writer at a time, I3). */
static void tiny_drop(mcache *acct, mspan *s, uintptr_t idx, unsigned drop,
                      const char *caller, const void *p)
{
	unsigned char *live = &s->tiny[idx].live;
	unsigned old = AO_char_fetch_and_add_full(live, (unsigned char)-drop);
	if (old < drop) /* unreachable unless metadata is corrupt: tri_free
	                   checks each tiny object's freed bit first */
		base_fatal("%s(%p): tiny block count underflow", caller, p);
	if (old == drop) {
		counter_add_local(&acct->stats.tiny_block_frees, 1);
		mcentral_free_object(s, idx, caller, p);
	}
}

void mcache_release_tiny(mcache *c)
{
	if (!c->tiny)
		return;
	mspan *s = c->tiny_span;
	uintptr_t idx = (c->tiny - s->base) / TINY_SIZE;
	/* I2: an object of the block takes a byte at least */
	TRI_ASSERT(s->is_tiny && c->tiny_count <= TINY_SIZE);
	c->tiny = 0;
	uintptr_t count = c->tiny_count;
	c->tiny_count = 0;
	/* live = TINY_OWNED + n - frees; publish n and drop the bias. */
	unsigned char *live = &s->tiny[idx].live;
	AO_char_fetch_and_add_full(live, (unsigned char)count);
	tiny_drop(c, s, idx, TINY_OWNED, "tri_malloc", (void *)(s->base +
	          idx * TINY_SIZE));
}

void mcache_tiny_put(mcache *c, mspan *s, uintptr_t idx, const char *caller,
                     const void *p)
{
	tiny_drop(c, s, idx, 1, caller, p);
}

void mcache_note_swept(const mspan *s, uint32_t objects, uint32_t tiny)
{
	if (!objects)
		return;
	if (s->is_tiny) {
		atomic_add_full(&swept.tiny_block_frees, objects);
		atomic_add_full(&swept.tiny_frees, tiny);
	} else {
		unsigned sc = spanclass_sizeclass(s->spanclass);
		atomic_add_full(&swept.small_frees[sc], objects);
	}
}

void mcache_note_swept_large(uintptr_t bytes)
{
	atomic_add_full(&swept.large_frees, 1);
	atomic_add_full(&swept.large_free_bytes, bytes);
}

/* In a fork child only the forking thread's cache survives. Every other
 * span still CACHED goes back to its central list, to be swept like any
 * other (a span left cached would never be swept, and its mark bits, never
 * cleared, would make the next cycle take its live objects for already
 * scanned). The span's location decides, not the vanished caches' slots:
 * a thread caught by the fork in mcache_refill may hold a slot naming a
 * span it has already given back (and the central list may have freed or
 * handed on), or have taken a span it has not yet stored. Only the spans
 * come back: a vanished thread's free list and tiny block are reclaimed by
 * the collector as garbage. A span is settled at the freeindex its thread
 * last stored, below which are all the objects it handed out. */
static void uncache_orphan(mspan *s, void *self)
{
	if (s->location != SPAN_LOC_CACHED)
		return;
	const mcache *c = self;
	if (c) {
		unsigned ci = mcentral_index_of(s);
		if (c->alloc[ci] == s)
			return;
	}
	mcentral_uncache_span(s, NULL);
}

void mcache_fork_child(void)
{
	mcache *self = mcache_tls;
	for (mcache *c = mcache_list; c; c = c->next)
		if (c != self)
			add_stats(&retired, &c->stats);
	mheap_for_each_span(uncache_orphan, self);
	mcache_list = self;
	if (self)
		self->next = self->prev = NULL;
}

void mcache_sum_stats(mcache_stats *out)
{
	memset(out, 0, sizeof *out);
	base_mutex_lock(&mcache_list_lock);
	add_stats(out, &retired);
	add_stats(out, &swept);
	for (mcache *c = mcache_list; c; c = c->next)
		add_stats(out, &c->stats);
	base_mutex_unlock(&mcache_list_lock);
}

/* ---- the walker ---- */

/* span.h I3 for a cached span: bit k of alloc_cache is the complement of
 * the alloc bit of slot freeindex + k, up to the next multiple of 64. */
static bool alloc_cache_ok(const mspan *s)
{
	uintptr_t fi = s->freeindex;
	uintptr_t end = (fi | 63) + 1;
	if (end > s->nelems)
		end = s->nelems;
	for (uintptr_t j = fi; j < end; j++)
		if (((s->alloc_cache >> (j - fi)) & 1) ==
		    bit_test(s->alloc_bits, j))
			return false;
	return true;
}

/* What is wrong with c's slot ci, or NULL (I1). */
static const char *slot_fault(const mcache *c, unsigned ci)
{
	const mspan *s = c->alloc[ci];
	if (s == &mcache_empty_span)
		return NULL;
	if (!s || !span_check(s)) /* in use, geometry, freeindex (it warns) */
		return "a span slot not a sound in-use span (I1)";
	if (s->location != SPAN_LOC_CACHED || mcentral_index_of(s) != ci)
		return "a span not CACHED for its class (I1)";
	if (!alloc_cache_ok(s))
		return "alloc_cache (span.h I3)";
	return NULL;
}

/* What is wrong with c's free list spc, or NULL (I4-I6). */
static const char *list_fault(const mcache *c, unsigned spc)
{
	const mcache_freelist *l = &c->free[spc];
	if (l->n > l->cap)
		return "a free list past its cap (I4)";
	if (l->n && atomic_load_relaxed(&span_alloc_black))
		return "a free list during a concurrent mark (I5)";
	void *const *p = l->head;
	for (uint32_t i = 0; i < l->n; i++, p = p[0]) {
		const mspan *s = p ? arena_span_of((uintptr_t)p) : NULL;
		if (!s || span_state(s) != SPAN_IN_USE || s->spanclass != spc)
			return "a listed object not of its class (I4)";
		if ((uintptr_t)p[1] != mcache_free_key)
			return "a listed object without the key (I6)";
	}
	return p ? "more objects listed than counted (I4)" : NULL;
}

/* What is wrong with c's tiny block, or NULL (I2). */
static const char *tiny_fault(const mcache *c)
{
	if (!c->tiny)
		return NULL;
	const mspan *s = c->tiny_span;
	if (!s || !s->is_tiny || c->tiny < s->base || c->tiny >= s->limit ||
	    (c->tiny - s->base) % TINY_SIZE || c->tiny_count > TINY_SIZE)
		return "the tiny block is not a block of a tiny span (I2)";
	unsigned live = s->tiny[(c->tiny - s->base) / TINY_SIZE].live;
	if (live > TINY_OWNED || live < TINY_OWNED - TINY_SIZE)
		return "the tiny block is not owned (I2)";
	return NULL;
}

static const char *cache_fault(const mcache *c)
{
	const char *why = tiny_fault(c);
	for (unsigned i = 0; !why && i < NUM_CENTRALS; i++) {
		why = slot_fault(c, i);
		if (!why && c->parked_clean &&
		    c->alloc[i] != &mcache_empty_span)
			why = "a span cached since its parked flush (I7)";
	}
	for (unsigned spc = 0; !why && spc < NUM_SPAN_CLASSES; spc++)
		why = list_fault(c, spc);
	if (!why && c->parked_clean && (!c->parked || c->tiny))
		why = "parked_clean on a cache in use (I7)";
	return why;
}

bool mcache_check(void)
{
	const char *why = NULL;
	const mcache *prev = NULL, *c;
	uintptr_t n = 0;
	base_mutex_lock(&mcache_list_lock);
	uintptr_t inuse = atomic_load_relaxed(&mcache_alloc.inuse);
	for (c = mcache_list; c && !why; prev = c, c = c->next)
		if (++n > inuse)
			why = "more caches listed than allocated";
		else if (c->prev != prev)
			why = "registry links";
		else
			why = cache_fault(c);
	base_mutex_unlock(&mcache_list_lock);
	if (why)
		base_warn("mcache_check: cache %p: %s", (const void *)prev,
		          why);
	return why == NULL;
}

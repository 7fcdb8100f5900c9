/*
 * mheap.c -- see mheap.h.
 *
 * mheap_alloc_span:
 *   1. Under mheap.lock, take a page run from the page allocator; if none
 *      fits, grow the heap by whole 4 MiB chunks (arena_grow) and retry.
 *   2. Note the prefix that may hold old data (arena_take_range), point
 *      every page at the new span, set page_in_use.
 *   3. Outside the lock, allocate the span's bitmaps and publish its state
 *      (release) last.
 * mheap_free_span reverses it: the span is marked dead first, so a racing
 * lookup through the span table sees a dead span, not a live one.
 * mheap_scavenge: per lock hold, one search of at most SCAV_FIND_BUDGET
 * span-table steps and one madvise of at most SCAV_QUANTUM, so the lock
 * is held for microseconds however much is released in all.
 */
#include "mheap.h"

#include "arena.h"
#include "os.h"
#include "pages.h"
#include "scavenge.h"

#include <sched.h>

static base_mutex mheap_lock;
static atomic_word inuse_bytes; /* I2 */
atomic_word mheap_sweepgen;    /* I3 */
atomic_word mheap_live;        /* I5 */
atomic_word mheap_trigger = ~(atomic_word)0;

static base_mutex large_lock;
static span_list large[2]; /* I4; large_lock */
static atomic_word span_gen;    /* source of mspan.gen */

#define SCAV_FIND_BUDGET 8192 /* span-table steps per search: one arena */

/* A fresh, non-zero span generation (wraps after 2^32 span uses). */
static unsigned next_gen(void)
{
	unsigned g;
	do
		g = (unsigned)(atomic_add_full(&span_gen, 1) + 1);
	while (g == 0);
	return g;
}

bool mheap_init(void)
{
	base_mutex_init(&mheap_lock, LOCK_RANK_MHEAP);
	base_mutex_init(&large_lock, LOCK_RANK_LARGE);
	span_init_allocators();
	return arena_init();
}

/* Step 1: pages, growing the heap if needed. mheap.lock. *grown gets the
 * bytes the heap grew by, *reused the pages taken that had been released
 * (new memory is filed released: pages.h I5). */
static uintptr_t alloc_pages_locked(size_t npages, size_t *grown,
                                    size_t *reused)
{
	*grown = 0;
	uintptr_t base = pages_alloc(npages, reused);
	if (base)
		return base;
	size_t bytes = npages * PAGE_SIZE;
	size_t grow = align_up(bytes, ARENA_CHUNK_BYTES);
	uintptr_t p;
	if (grow < bytes || !arena_grow(grow, &p))
		return 0;
	if (!pages_free(p, grow / PAGE_SIZE, true))
		return 0;
	*grown = grow;
	return pages_alloc(npages, reused);
}

static void set_page_in_use(uintptr_t base, bool on)
{
	heap_arena *ha = arena_of(base);
	size_t page = (base >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
	if (on)
		ha->page_in_use[page / 8] |= (uint8_t)(1u << (page % 8));
	else
		ha->page_in_use[page / 8] &= (uint8_t)~(1u << (page % 8));
}

mspan *mheap_alloc_span(size_t npages, unsigned sizeclass, spanclass_t spc)
{
	mspan *s = span_struct_alloc();
	if (!s)
		return NULL;
	base_mutex_lock(&mheap_lock);
	size_t grown, reused;
	uintptr_t base = alloc_pages_locked(npages, &grown, &reused);
	if (!base) {
		base_mutex_unlock(&mheap_lock);
		span_struct_free(s);
		return NULL;
	}
	if (TRI_DEBUG >= 2) /* pages.h: a run handed out holds no in-use span */
		for (size_t i = 0; i < npages; i++) {
			mspan *o = arena_span_of(base + i * PAGE_SIZE);
			if (o && atomic_load_relaxed(&o->state) == SPAN_IN_USE)
				base_fatal("mheap: page %p handed out while span "
				          "%p (base %p, %zu pages) uses it",
				          (void *)(base + i * PAGE_SIZE), (void *)o,
				          (void *)o->base, o->npages);
		}
	s->base = base;
	s->npages = npages;
	AO_int_store(&s->gen, next_gen());
	s->zero_bytes = arena_take_range(base, npages * PAGE_SIZE);
	s->needzero = s->zero_bytes != 0;
	arena_set_spans(base, npages, s);
	set_page_in_use(base, true);
	base_mutex_unlock(&mheap_lock);
	atomic_add_full(&inuse_bytes, npages * PAGE_SIZE); /* I2 */
	if (grown | reused)
		scavenge_after_alloc(grown, reused);

	bool ok = sizeclass ? span_init_small(s, sizeclass, spc)
	                    : span_init_large(s, spc);
	if (!ok) {
		mheap_free_span(s);
		return NULL;
	}
	atomic_store_release(&s->state, SPAN_IN_USE); /* span.h I5 */
	return s;
}

bool mheap_grow_large(mspan *s, size_t npages, size_t *dirty)
{
	size_t extra = npages - s->npages, scav;
	uintptr_t end = s->base + s->npages * PAGE_SIZE;
	base_mutex_lock(&mheap_lock);
	bool ok = pages_alloc_at(end, extra, &scav);
	if (ok) {
		*dirty = arena_take_range(end, extra * PAGE_SIZE);
		arena_set_spans(end, extra, s);
		s->npages = npages;
		s->elemsize = npages * PAGE_SIZE;
		s->limit = s->base + s->elemsize;
	}
	base_mutex_unlock(&mheap_lock);
	if (!ok)
		return false;
	atomic_add_full(&inuse_bytes, extra * PAGE_SIZE); /* I2 */
	if (scav)
		scavenge_after_alloc(0, scav);
	return true;
}

void mheap_free_span(mspan *s)
{
	mheap_free_span_release(s, false);
}

void mheap_free_span_release(mspan *s, bool release)
{
	atomic_store_release(&s->state, SPAN_DEAD);
	AO_int_store(&s->gen, 0); /* stale holders see a change */
	span_free_bits(s);
	bool released = release &&
	                os_release((void *)s->base, s->npages * PAGE_SIZE);
	if (released) /* counted once the OS took them, as mheap_scavenge */
		scavenge_note_work(s->npages * PAGE_SIZE);
	base_mutex_lock(&mheap_lock);
	set_page_in_use(s->base, false);
	bool filed = pages_free(s->base, s->npages, released);
	base_mutex_unlock(&mheap_lock);
	if (!filed) /* out of metadata: the pages leak, the heap stays sane */
		base_warn("mheap: leaking %zu pages at %p (no metadata)",
		         s->npages, (void *)s->base);
	atomic_add_full(&inuse_bytes, (uintptr_t)0 - s->npages * PAGE_SIZE);
	span_struct_free(s);
}

static span_list *large_list_of(uintptr_t sweepgen)
{
	return &large[(sweepgen / 2) % 2];
}

static void large_push(span_list *l, mspan *s)
{
	span_list_push_tail(l, s);
	AO_char_store(&s->location, SPAN_LOC_LARGE);
}

static void large_unlink(span_list *l, mspan *s)
{
	span_list_remove(l, s);
	AO_char_store(&s->location, SPAN_LOC_NONE);
}

void mheap_large_add(mspan *s)
{
	base_mutex_lock(&large_lock);
	uintptr_t h = mheap_swept_gen();
	atomic_store_relaxed(&s->sweepgen, h);
	large_push(large_list_of(h), s);
	base_mutex_unlock(&large_lock);
}

bool mheap_large_claim(mspan *s, unsigned gen)
{
	for (;;) {
		base_mutex_lock(&large_lock);
		bool same = AO_int_load(&s->gen) == gen;
		bool listed = same && s->location == SPAN_LOC_LARGE;
		if (listed)
			large_unlink(large_list_of(s->sweepgen), s);
		base_mutex_unlock(&large_lock);
		if (!same)
			return false;
		if (listed)
			return true;
		sched_yield(); /* the sweeper holds it for a moment */
	}
}

uintptr_t mheap_large_sweep_one(mspan **dead)
{
	*dead = NULL;
	base_mutex_lock(&large_lock);
	uintptr_t h = mheap_swept_gen();
	mspan *s = large_list_of(h - 2)->head;
	uintptr_t pages = s ? s->npages : 0;
	if (s && span_is_marked(s, 0)) { /* live: swept as it stands */
		span_list_remove(large_list_of(h - 2), s);
		atomic_store_relaxed(&s->sweepgen, h); /* before the bit:
		                                          malloc.c free_large */
		span_list_push_tail(large_list_of(h), s);
		atomic_store_release(&span_marks(s)[0], 0);
	} else if (s) {
		large_unlink(large_list_of(h - 2), s);
		atomic_store_relaxed(&s->sweepgen, h - 1);
		/* sweep.h I2: listed, so no tri_free has claimed it. */
		if (atomic_cas_full(&s->state, SPAN_IN_USE, SPAN_DEAD) ==
		    SPAN_IN_USE)
			*dead = s;
	}
	base_mutex_unlock(&large_lock);
	return pages;
}

uint64_t mheap_large_unswept(void)
{
	uint64_t n = 0;
	base_mutex_lock(&large_lock);
	for (mspan *s = large_list_of(mheap_swept_gen() - 2)->head; s;
	     s = s->next)
		n++;
	base_mutex_unlock(&large_lock);
	return n;
}

uintptr_t mheap_scavenge(scav_cursor *c, size_t max_bytes, bool *exhausted)
{
	uintptr_t done = 0;
	*exhausted = false;
	while (done < max_bytes) {
		uintptr_t base;
		mspan *run;
		size_t want = (max_bytes - done + PAGE_SIZE - 1) / PAGE_SIZE;
		if (want > SCAV_QUANTUM / PAGE_SIZE)
			want = SCAV_QUANTUM / PAGE_SIZE;
		base_mutex_lock(&mheap_lock);
		size_t n = pages_scav_find(c, want, SCAV_FIND_BUDGET, &base, &run);
		bool ok = n && os_release((void *)base, n * PAGE_SIZE);
		if (ok)
			pages_scav_mark(run, base, n); /* scavenge.h I1 */
		bool done_all = !n && pages_scav_done(c);
		base_mutex_unlock(&mheap_lock);
		if (ok)
			done += n * PAGE_SIZE;
		else if (n) /* the OS refused: leave the rest for later */
			break;
		else if (done_all) {
			*exhausted = true;
			break;
		}
	}
	return done;
}

void mheap_scavenge_reset(scav_cursor *c)
{
	base_mutex_lock(&mheap_lock);
	pages_scav_reset(c);
	base_mutex_unlock(&mheap_lock);
}

uint64_t mheap_released_bytes(void)
{
	return (uint64_t)pages_released() * PAGE_SIZE;
}

uint64_t mheap_inuse_bytes(void)
{
	return atomic_load_relaxed(&inuse_bytes);
}

uint64_t mheap_free_bytes(void)
{
	base_mutex_lock(&mheap_lock);
	uint64_t n = pages_free_count() * PAGE_SIZE;
	base_mutex_unlock(&mheap_lock);
	return n;
}

void mheap_for_each_span(void (*fn)(mspan *s, void *arg), void *arg)
{
	uintptr_t lo = arena_lo(), hi = arena_hi();
	if (hi <= lo)
		return;
	for (uintptr_t i = arena_index_of(lo); i <= arena_index_of(hi - 1); i++) {
		heap_arena *ha = arena_index[i];
		if (!ha)
			continue;
		for (uintptr_t pg = 0; pg < PAGES_PER_ARENA; pg++) {
			if (!((ha->page_in_use[pg / 8] >> (pg % 8)) & 1))
				continue;
			mspan *s = ha->spans[pg];
			if (s && span_state(s) == SPAN_IN_USE &&
			    s->base == ha->base + pg * PAGE_SIZE)
				fn(s, arg);
		}
	}
}

bool mheap_check(void)
{
	base_mutex_lock(&mheap_lock);
	bool ok = pages_check();
	base_mutex_unlock(&mheap_lock);
	return ok;
}

/*
 * pages.c -- see pages.h for the structure and its invariants.
 *
 * Allocation:
 *   1. Find the lowest non-empty bin >= npages with the bin mask; else the
 *      treap's smallest run with at least npages pages.
 *   2. Unlink it; if longer than asked, the tail stays a free run (same
 *      struct, base moved up) and is re-filed.
 * Free:
 *   1. Look up the page before base and the page after the end in the span
 *      table; a SPAN_FREE run ending/starting there is unlinked and merged.
 *   2. The merged run's interior pages are cleared, its ends point to it,
 *      and it is filed in its bin or the treap.
 * Scavenged pages (I5): a run's nscav is the sum of its pieces' on merge;
 * pages taken from a run have their bits counted and cleared only when the
 * run has any (nscav != 0), so a heap that never scavenges pays nothing.
 * The scavenger's search walks the span table downward: a non-NULL entry
 * names the span or run covering that page, so the walk jumps to its base;
 * NULL entries (run interiors, memory not yet grown into) are stepped over
 * one page at a time, and whole arenas missing from the index at once.
 */
#include "pages.h"

#include "arena.h"

#include <string.h>

static mspan *bins[PAGES_BINS]; /* I3; bin 0 unused */
static uint64_t bin_mask[2];    /* bit n: bins[n] non-empty */
static mspan *treap_root;       /* I3 */
static size_t free_pages;       /* I4 */
static atomic_word released_pages; /* I5; written under mheap.lock */

/* ---- scavenged bits (I5) ---- */

enum scav_op { SCAV_COUNT, SCAV_SET, SCAV_CLEAR };

/* op on k bits from bit i of one arena's bitmap; returns how many were
 * set before. Whole bytes at a time where it can. */
static size_t scav_bits_in(uint8_t *bits, size_t i, size_t k, enum scav_op op)
{
	size_t was = 0;
	while (k) {
		if (i % 8 == 0 && k >= 8) {
			uint8_t *b = bits + i / 8;
			size_t nb = k / 8;
			for (size_t j = 0; j < nb; j++)
				was += popcount64(b[j]);
			if (op != SCAV_COUNT)
				memset(b, op == SCAV_SET ? 0xff : 0, nb);
			i += nb * 8;
			k -= nb * 8;
			continue;
		}
		uint8_t m = (uint8_t)(1u << (i % 8));
		was += (bits[i / 8] & m) != 0;
		if (op == SCAV_SET)
			bits[i / 8] |= m;
		else if (op == SCAV_CLEAR)
			bits[i / 8] &= (uint8_t)~m;
		i++;
		k--;
	}
	return was;
}

/* op on the bits of the n pages at base (which may cross arenas). */
static size_t scav_bits(uintptr_t base, size_t n, enum scav_op op)
{
	size_t was = 0;
	while (n) {
		heap_arena *ha = arena_of(base);
		size_t i = (base >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
		size_t k = PAGES_PER_ARENA - i < n ? PAGES_PER_ARENA - i : n;
		was += scav_bits_in(ha->scavenged, i, k, op);
		base += k * PAGE_SIZE;
		n -= k;
	}
	return was;
}

static bool scav_test(uintptr_t p)
{
	size_t i = (p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
	return (arena_of(p)->scavenged[i / 8] >> (i % 8)) & 1;
}

static void released_add(intptr_t pages)
{
	atomic_store_relaxed(&released_pages,
	                     atomic_load_relaxed(&released_pages) +
	                     (uintptr_t)pages);
}

size_t pages_released(void)
{
	return atomic_load_relaxed(&released_pages);
}

/* ---- bins ---- */

static void bin_push(mspan *s)
{
	size_t n = s->npages;
	s->prev = NULL;
	s->next = bins[n];
	if (bins[n])
		bins[n]->prev = s;
	bins[n] = s;
	bin_mask[n / 64] |= (uint64_t)1 << (n % 64);
}

static void bin_remove(mspan *s)
{
	size_t n = s->npages;
	if (s->prev)
		s->prev->next = s->next;
	else
		bins[n] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (!bins[n])
		bin_mask[n / 64] &= ~((uint64_t)1 << (n % 64));
	s->next = s->prev = NULL;
}

/* Lowest non-empty bin >= n, or 0. */
static size_t bin_find(size_t n)
{
	for (size_t w = n / 64; w < 2; w++) {
		uint64_t m = bin_mask[w];
		if (w == n / 64)
			m &= ~(uint64_t)0 << (n % 64);
		if (m)
			return w * 64 + ctz64(m);
	}
	return 0;
}

/* ---- treap keyed by (npages, base) ---- */

static bool key_less(const mspan *a, const mspan *b)
{
	return a->npages < b->npages ||
	       (a->npages == b->npages && a->base < b->base);
}

static uint32_t prio_of(uintptr_t base)
{
	uint64_t x = base * 0x9e3779b97f4a7c15ull; /* Fibonacci hash */
	return (uint32_t)(x >> 32) | 1;
}

static mspan *treap_insert(mspan *t, mspan *s)
{
	if (!t)
		return s;
	if (key_less(s, t)) {
		t->tleft = treap_insert(t->tleft, s);
		if (t->tleft->tprio > t->tprio) { /* rotate right */
			mspan *l = t->tleft;
			t->tleft = l->tright;
			l->tright = t;
			return l;
		}
	} else {
		t->tright = treap_insert(t->tright, s);
		if (t->tright->tprio > t->tprio) { /* rotate left */
			mspan *r = t->tright;
			t->tright = r->tleft;
			r->tleft = t;
			return r;
		}
	}
	return t;
}

/* Merge two treaps where every key of a is below every key of b. */
static mspan *treap_join(mspan *a, mspan *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (a->tprio > b->tprio) {
		a->tright = treap_join(a->tright, b);
		return a;
	}
	b->tleft = treap_join(a, b->tleft);
	return b;
}

static mspan *treap_delete(mspan *t, mspan *s)
{
	TRI_ASSERT(t != NULL);
	if (t == s)
		return treap_join(t->tleft, t->tright);
	if (key_less(s, t))
		t->tleft = treap_delete(t->tleft, s);
	else
		t->tright = treap_delete(t->tright, s);
	return t;
}

/* Smallest run with at least n pages (lowest base among equals). */
static mspan *treap_find(size_t n)
{
	mspan *best = NULL;
	for (mspan *t = treap_root; t;) {
		if (t->npages >= n) {
			best = t;
			t = t->tleft;
		} else {
			t = t->tright;
		}
	}
	return best;
}

/* ---- filing runs ---- */

static void file_run(mspan *s)
{
	uintptr_t last = s->base + (s->npages - 1) * PAGE_SIZE;
	arena_set_spans(s->base, 1, s); /* I2 */
	arena_set_spans(last, 1, s);
	if (s->npages < PAGES_BINS) {
		bin_push(s);
	} else {
		s->tleft = s->tright = NULL;
		s->tprio = prio_of(s->base);
		s->in_treap = 1;
		treap_root = treap_insert(treap_root, s);
	}
}

static void unfile_run(mspan *s)
{
	if (s->in_treap) {
		treap_root = treap_delete(treap_root, s);
		s->in_treap = 0;
		s->tleft = s->tright = NULL;
	} else {
		bin_remove(s);
	}
}

/* Take the first npages of free run s (unfiled and refiled here). */
static uintptr_t take_front(mspan *s, size_t npages, size_t *scav)
{
	*scav = 0;
	unfile_run(s);
	uintptr_t base = s->base;
	free_pages -= npages;
	if (s->nscav) { /* I5: the pages leave the run with their bits */
		*scav = scav_bits(base, npages, SCAV_CLEAR);
		s->nscav -= *scav;
		released_add(-(intptr_t)*scav);
	}
	if (s->npages == npages) {
		atomic_store_release(&s->state, SPAN_DEAD);
		span_struct_free(s);
		return base;
	}
	/* Keep the tail as a free run; its last page still maps to s. */
	s->base += npages * PAGE_SIZE;
	s->npages -= npages;
	file_run(s);
	return base;
}

uintptr_t pages_alloc(size_t npages, size_t *scav)
{
	*scav = 0;
	mspan *s = NULL;
	size_t b = npages < PAGES_BINS ? bin_find(npages) : 0;
	if (b)
		s = bins[b];
	else
		s = treap_find(npages);
	return s ? take_front(s, npages, scav) : 0;
}

static mspan *free_run_at(uintptr_t p);

bool pages_alloc_at(uintptr_t base, size_t npages, size_t *scav)
{
	*scav = 0;
	mspan *s = free_run_at(base);
	if (!s || s->base != base || s->npages < npages)
		return false;
	take_front(s, npages, scav);
	return true;
}

/* The free run ending just before p (or starting at p), if any. */
static mspan *free_run_at(uintptr_t p)
{
	if (!arena_of(p))
		return NULL;
	mspan *s = arena_span_of(p);
	if (s && atomic_load_relaxed(&s->state) == SPAN_FREE)
		return s;
	return NULL;
}

bool pages_free(uintptr_t base, size_t npages, bool scavenged)
{
	TRI_ASSERT(TRI_DEBUG < 2 || scav_bits(base, npages, SCAV_COUNT) == 0);
	uintptr_t end = base + npages * PAGE_SIZE;
	size_t freed = npages;
	mspan *left = free_run_at(base - PAGE_SIZE);
	mspan *right = free_run_at(end);
	if (left && left->base + left->npages * PAGE_SIZE != base)
		left = NULL;
	if (right && right->base != end)
		right = NULL;
	mspan *s = left ? left : right;
	if (!s) {
		s = span_struct_alloc();
		if (!s)
			return false;
		atomic_store_relaxed(&s->state, SPAN_FREE);
	}
	size_t nscav = (left ? left->nscav : 0) + (right ? right->nscav : 0);
	if (scavenged) { /* I5 */
		scav_bits(base, npages, SCAV_SET);
		nscav += npages;
		released_add((intptr_t)npages);
	}
	if (left)
		unfile_run(left);
	if (right)
		unfile_run(right);
	/* Clear what becomes interior: the freed pages and the old ends. */
	arena_set_spans(base, npages, NULL);
	if (left) {
		arena_set_spans(base - PAGE_SIZE, 1, NULL);
		base = left->base;
		npages += left->npages;
	}
	if (right) {
		arena_set_spans(right->base, 1, NULL);
		npages += right->npages;
		if (right != s) {
			atomic_store_relaxed(&right->state, SPAN_DEAD);
			span_struct_free(right);
		}
	}
	s->base = base;
	s->npages = npages;
	s->nscav = nscav;
	free_pages += freed;
	file_run(s);
	return true;
}

/* ---- the scavenger's search (I5) ---- */

/* The highest unscavenged pages of [lo, top), at most max of them,
 * contiguous: their count, base in *base. */
static size_t highest_unscavenged(uintptr_t lo, uintptr_t top, size_t max,
                                  uintptr_t *base)
{
	uintptr_t p = top;
	while (p > lo && scav_test(p - PAGE_SIZE))
		p -= PAGE_SIZE;
	size_t n = 0;
	while (p > lo && n < max && !scav_test(p - PAGE_SIZE)) {
		p -= PAGE_SIZE;
		n++;
	}
	*base = p;
	return n;
}

void pages_scav_reset(scav_cursor *c)
{
	c->at_h = c->top_h = addr_hide(arena_hi());
	c->run = NULL;
}

bool pages_scav_done(const scav_cursor *c)
{
	return addr_unhide(c->at_h) <= arena_lo();
}

/* Pages found at base in run s: the search goes on below them. */
static void found(scav_cursor *c, mspan *s, uintptr_t base, mspan **run)
{
	c->at_h = c->top_h = addr_hide(base);
	c->run = *run = s;
}

/* The hint: the run the last pages came from, if it is still a free run
 * reaching below the cursor. */
static mspan *hinted_run(const scav_cursor *c, uintptr_t p)
{
	mspan *s = c->run;
	return s && atomic_load_relaxed(&s->state) == SPAN_FREE &&
	               s->base < p && p <= s->base + s->npages * PAGE_SIZE
	           ? s
	           : NULL;
}

size_t pages_scav_find(scav_cursor *c, size_t max_pages, size_t budget,
                       uintptr_t *base, mspan **run)
{
	uintptr_t p = addr_unhide(c->at_h), hi = addr_unhide(c->top_h);
	uintptr_t lo = arena_lo();
	if (p > arena_hi())
		p = hi = arena_hi();
	mspan *s = hinted_run(c, p);
	if (s) {
		size_t n = highest_unscavenged(s->base, p, max_pages, base);
		if (n) {
			found(c, s, *base, run);
			return n;
		}
		p = hi = s->base;
	}
	c->run = NULL;
	/* hi: where the current stretch of NULL entries began; a run found
	 * at its bottom (its first page) is searched up to there. */
	for (; p > lo && budget; budget--) {
		uintptr_t q = p - PAGE_SIZE;
		heap_arena *ha = arena_of(q);
		if (!ha) { /* no arena here: skip all of it */
			p = hi = align_down(q, ARENA_BYTES);
			continue;
		}
		s = ha->spans[(q >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)];
		if (!s) {
			p = q;
			continue;
		}
		if (atomic_load_relaxed(&s->state) == SPAN_FREE &&
		    s->nscav < s->npages) {
			uintptr_t end = s->base + s->npages * PAGE_SIZE;
			size_t n = highest_unscavenged(s->base, end < hi ? end : hi,
			                               max_pages, base);
			if (n) {
				found(c, s, *base, run);
				return n;
			}
		}
		p = hi = s->base; /* in use, dead, or nothing left to release */
	}
	c->at_h = addr_hide(p);
	c->top_h = addr_hide(hi);
	return 0;
}

void pages_scav_mark(mspan *run, uintptr_t base, size_t n)
{
	TRI_ASSERT(atomic_load_relaxed(&run->state) == SPAN_FREE &&
	           base >= run->base &&
	           base + n * PAGE_SIZE <= run->base + run->npages * PAGE_SIZE);
	size_t was = scav_bits(base, n, SCAV_SET);
	TRI_ASSERT(was == 0);
	run->nscav += n - was;
	released_add((intptr_t)(n - was));
}

size_t pages_free_count(void)
{
	return free_pages;
}

/* ---- checking (I1-I4) ---- */

struct walk {
	size_t pages, runs, scav;
	bool ok;
};

static void check_run(const mspan *s, struct walk *w)
{
	uintptr_t end = s->base + s->npages * PAGE_SIZE;
	mspan *before = free_run_at(s->base - PAGE_SIZE);
	mspan *after = free_run_at(end);
	bool ok = atomic_load_relaxed(&s->state) == SPAN_FREE &&
	          arena_span_of(s->base) == s &&
	          arena_span_of(end - PAGE_SIZE) == s &&    /* I2 */
	          (!before || before == s || before->base + before->npages *
	           PAGE_SIZE != s->base) &&                  /* I1 */
	          (!after || after == s || after->base != end);
	for (uintptr_t p = s->base + PAGE_SIZE; ok && p + PAGE_SIZE < end;
	     p += PAGE_SIZE)
		ok = arena_span_of(p) == NULL; /* I2 */
	size_t nscav = scav_bits(s->base, s->npages, SCAV_COUNT);
	ok = ok && nscav == s->nscav; /* I5 */
	if (!ok) {
		base_warn("pages: bad free run %p (%zu pages, %zu/%zu scavenged)",
		         (void *)s->base, s->npages, nscav, s->nscav);
		w->ok = false;
	}
	w->pages += s->npages;
	w->scav += nscav;
	w->runs++;
}

static void check_treap(const mspan *t, const mspan *lo, const mspan *hi,
                        struct walk *w)
{
	if (!t)
		return;
	if (t->npages < PAGES_BINS || (lo && !key_less(lo, t)) ||
	    (hi && !key_less(t, hi)) ||
	    (t->tleft && t->tleft->tprio > t->tprio) ||
	    (t->tright && t->tright->tprio > t->tprio)) { /* I3 */
		base_warn("pages: treap order broken at %p", (void *)t->base);
		w->ok = false;
	}
	check_run(t, w);
	check_treap(t->tleft, lo, t, w);
	check_treap(t->tright, t, hi, w);
}

bool pages_check(void)
{
	struct walk w = {0, 0, 0, true};
	for (size_t n = 1; n < PAGES_BINS; n++) {
		bool nonempty = (bin_mask[n / 64] >> (n % 64)) & 1;
		if (nonempty != (bins[n] != NULL))
			w.ok = false;
		for (mspan *s = bins[n]; s; s = s->next) {
			if (s->npages != n) /* I3 */
				w.ok = false;
			check_run(s, &w);
		}
	}
	check_treap(treap_root, NULL, NULL, &w);
	if (w.pages != free_pages) { /* I4 */
		base_warn("pages: %zu free pages counted, %zu recorded", w.pages,
		         free_pages);
		w.ok = false;
	}
	if (w.scav != pages_released()) { /* I5 */
		base_warn("pages: %zu scavenged pages counted, %zu recorded",
		         w.scav, pages_released());
		w.ok = false;
	}
	return w.ok;
}

static void visit_treap(mspan *t, void (*fn)(uintptr_t, size_t, void *),
                        void *arg)
{
	if (!t)
		return;
	visit_treap(t->tleft, fn, arg);
	fn(t->base, t->npages, arg);
	visit_treap(t->tright, fn, arg);
}

void pages_for_each(void (*fn)(uintptr_t base, size_t npages, void *arg),
                    void *arg)
{
	for (size_t n = 1; n < PAGES_BINS; n++)
		for (mspan *s = bins[n]; s; s = s->next)
			fn(s->base, s->npages, arg);
	visit_treap(treap_root, fn, arg);
}

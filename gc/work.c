/*
 * work.c -- work buffers; see work.h.
 */
#include "work.h"

#include "../alloc/arena.h"
#include "../alloc/os.h"
#include "mark.h"

#define WORKBUF_CHUNK (64 * TRI_KiB) /* buffers are mapped 32 at a time */

static base_mutex work_lock;
static workbuf *full_list;  /* I2; work_lock */
static workbuf *empty_list; /* I2; work_lock */
atomic_word work_nfull;
/* Buffers mapped so far (work_lock), for work_check; counted only at
 * TRI_DEBUG >= 1, so the release build's paths stay as they were. */
static size_t nmapped;

bool work_init(void)
{
	base_mutex_init(&work_lock, LOCK_RANK_WORK);
	return true;
}

/* I1 for one value put in a buffer (mark_grey_ok: exact while no
 * concurrent mark runs). Values outside the arena are not heap addresses
 * at all: test_work puts such values to exercise the lists, and mark.c
 * asserts mark_grey_ok on what it puts itself. */
static bool obj_ok(uintptr_t v)
{
	return !arena_contains(grey_obj(v)) || mark_grey_ok(v);
}

/* Every object of b satisfies I1 (a loop: callers test TRI_DEBUG). */
static bool buf_ok(const workbuf *b)
{
	for (uintptr_t i = 0; i < b->nobj; i++)
		if (!obj_ok(b->obj[i]))
			return false;
	return true;
}

/* An empty buffer; maps more when the list runs dry. */
static workbuf *get_empty(void)
{
	base_mutex_lock(&work_lock);
	if (!empty_list) {
		char *chunk = os_map(WORKBUF_CHUNK);
		if (!chunk) {
			base_mutex_unlock(&work_lock);
			base_fatal("out of memory for mark work buffers");
		}
		for (size_t off = 0; off < WORKBUF_CHUNK; off += WORKBUF_BYTES) {
			workbuf *b = (workbuf *)(chunk + off);
			b->next = empty_list;
			empty_list = b;
		}
		if (TRI_DEBUG >= 1)
			nmapped += WORKBUF_CHUNK / WORKBUF_BYTES;
	}
	workbuf *b = empty_list;
	empty_list = b->next;
	base_mutex_unlock(&work_lock);
	/* I2: what the empty list holds are buffers of a mapped chunk */
	TRI_ASSERT((uintptr_t)b % WORKBUF_BYTES == 0);
	b->next = NULL;
	b->nobj = 0;
	return b;
}

static void put_empty(workbuf *b)
{
	TRI_ASSERT(b->nobj == 0); /* I2: no grey object is dropped */
	base_mutex_lock(&work_lock);
	b->next = empty_list;
	empty_list = b;
	base_mutex_unlock(&work_lock);
}

static void put_full(workbuf *b)
{
	TRI_ASSERT(b->nobj > 0 && b->nobj <= WORKBUF_NOBJ); /* I2 */
	if (TRI_DEBUG >= 2)
		TRI_ASSERT2(buf_ok(b)); /* I1 */
	base_mutex_lock(&work_lock);
	b->next = full_list;
	full_list = b;
	atomic_add_full(&work_nfull, 1);
	base_mutex_unlock(&work_lock);
}

static workbuf *try_get_full(void)
{
	if (!atomic_load_relaxed(&work_nfull))
		return NULL;
	base_mutex_lock(&work_lock);
	workbuf *b = full_list;
	if (b) {
		full_list = b->next;
		uintptr_t had = atomic_add_full(&work_nfull, (uintptr_t)-1);
		TRI_ASSERT(had > 0); /* I2: nfull counts the full list */
	}
	base_mutex_unlock(&work_lock);
	if (b) {
		TRI_ASSERT(b->nobj > 0 && b->nobj <= WORKBUF_NOBJ); /* I2 */
		b->next = NULL;
	}
	return b;
}

void gcw_put_slow(gcwork *w, uintptr_t obj)
{
	TRI_ASSERT2(obj_ok(obj)); /* I1; once per buffer filled */
	/* a gcwork holds both buffers or none; gcw_put came here because
	 * wbuf1 is full or missing */
	TRI_ASSERT(!w->wbuf1 == !w->wbuf2);
	TRI_ASSERT(!w->wbuf1 || w->wbuf1->nobj == WORKBUF_NOBJ);
	if (!w->wbuf1) {
		w->wbuf1 = get_empty();
		w->wbuf2 = get_empty();
	} else { /* wbuf1 is full */
		workbuf *t = w->wbuf1;
		w->wbuf1 = w->wbuf2;
		w->wbuf2 = t;
		if (w->wbuf1->nobj == WORKBUF_NOBJ) {
			put_full(w->wbuf1);
			w->wbuf1 = get_empty();
		}
	}
	TRI_ASSERT(w->wbuf1->nobj < WORKBUF_NOBJ);
	w->wbuf1->obj[w->wbuf1->nobj++] = obj;
}

uintptr_t gcw_get_slow(gcwork *w)
{
	TRI_ASSERT(!w->wbuf1 == !w->wbuf2);
	TRI_ASSERT(!w->wbuf1 || w->wbuf1->nobj == 0); /* gcw_get's miss */
	if (!w->wbuf1) /* a marker that has put nothing yet */
		return gcw_take_full(w) ? w->wbuf1->obj[--w->wbuf1->nobj] : 0;
	if (w->wbuf2->nobj) { /* wbuf1 is empty: swap */
		workbuf *t = w->wbuf1;
		w->wbuf1 = w->wbuf2;
		w->wbuf2 = t;
		return w->wbuf1->obj[--w->wbuf1->nobj];
	}
	if (!gcw_take_full(w))
		return 0;
	return w->wbuf1->obj[--w->wbuf1->nobj];
}

bool gcw_take_full(gcwork *w)
{
	TRI_ASSERT(!w->wbuf1 == !w->wbuf2);
	workbuf *b = try_get_full();
	if (!b)
		return false;
	if (!w->wbuf1) {
		w->wbuf1 = b;
		w->wbuf2 = get_empty();
		return true;
	}
	/* wbuf1 is empty here (callers drained it). */
	TRI_ASSERT(w->wbuf1->nobj == 0);
	put_empty(w->wbuf1);
	w->wbuf1 = b;
	return true;
}

void gcw_balance(gcwork *w)
{
	if (!w->wbuf1)
		return;
	TRI_ASSERT(w->wbuf2 != NULL); /* both buffers or none */
	if (w->wbuf2->nobj) { /* hand over the spare, keep working on ours */
		put_full(w->wbuf2);
		w->wbuf2 = get_empty();
		return;
	}
	workbuf *b = w->wbuf1;
	if (b->nobj < 4)
		return;
	workbuf *half = get_empty(); /* move the older half */
	uintptr_t n = b->nobj / 2;
	for (uintptr_t i = 0; i < n; i++)
		half->obj[i] = b->obj[i];
	for (uintptr_t i = n; i < b->nobj; i++)
		b->obj[i - n] = b->obj[i];
	half->nobj = n;
	b->nobj -= n;
	TRI_ASSERT(half->nobj > 0 && b->nobj > 0); /* nothing lost */
	put_full(half);
}

void gcw_dispose(gcwork *w)
{
	TRI_ASSERT(!w->wbuf1 == !w->wbuf2);
	workbuf *bufs[2] = {w->wbuf1, w->wbuf2};
	for (int i = 0; i < 2; i++) {
		if (!bufs[i])
			continue;
		if (bufs[i]->nobj)
			put_full(bufs[i]);
		else
			put_empty(bufs[i]);
	}
	w->wbuf1 = w->wbuf2 = NULL;
}

/* ---- invariants ---- */

/* Walk the full list (I1, I2) and count both lists; work_lock held. */
static bool check_lists(size_t *nfull, size_t *nempty)
{
	size_t n = 0, e = 0;
	for (const workbuf *b = full_list; b; b = b->next, n++) {
		if (TRI_DEBUG >= 1 && n >= nmapped) {
			base_warn("work_check: the full list is longer than "
			          "the %zu buffers mapped (a cycle?)", nmapped);
			return false;
		}
		if (b->nobj == 0 || b->nobj > WORKBUF_NOBJ) {
			base_warn("work_check: full buffer %p holds %lu "
			          "objects", (const void *)b,
			          (unsigned long)b->nobj);
			return false;
		}
		if (!buf_ok(b)) {
			base_warn("work_check: full buffer %p holds an object "
			          "that is not a marked scannable one (I1)",
			          (const void *)b);
			return false;
		}
	}
	for (const workbuf *b = empty_list; b; b = b->next, e++)
		if (TRI_DEBUG >= 1 && n + e >= nmapped) {
			base_warn("work_check: %zu buffers on the lists, %zu "
			          "mapped (a cycle, or a buffer on both?)",
			          n + e + 1, nmapped);
			return false;
		}
	*nfull = n;
	*nempty = e;
	return true;
}

static bool check(bool idle)
{
	base_mutex_lock(&work_lock);
	size_t n = 0, e = 0;
	bool ok = check_lists(&n, &e);
	uintptr_t nfull = atomic_load_relaxed(&work_nfull);
	if (ok && nfull != n) {
		base_warn("work_check: nfull %lu, full list %zu (I2)",
		          (unsigned long)nfull, n);
		ok = false;
	}
	if (ok && idle && n != 0) {
		base_warn("work_check: %zu full buffers left after the mark "
		          "(mark.h I2)", n);
		ok = false;
	}
	if (ok && idle && TRI_DEBUG >= 1 && e != nmapped) {
		base_warn("work_check: %zu of %zu buffers still held by a "
		          "marker (I2)", nmapped - e, nmapped);
		ok = false;
	}
	base_mutex_unlock(&work_lock);
	return ok;
}

bool work_check(void)
{
	return check(false);
}

bool work_check_idle(void)
{
	return check(true);
}

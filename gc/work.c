/*
 * work.c -- work buffers; see work.h.
 */
#include "work.h"

#include "../alloc/os.h"

#define WORKBUF_CHUNK (64 * TRI_KiB) /* buffers are mapped 32 at a time */

static base_mutex work_lock;
static workbuf *full_list;  /* I2; work_lock */
static workbuf *empty_list; /* I2; work_lock */
atomic_word work_nfull;

bool work_init(void)
{
	base_mutex_init(&work_lock, LOCK_RANK_WORK);
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
	}
	workbuf *b = empty_list;
	empty_list = b->next;
	base_mutex_unlock(&work_lock);
	b->next = NULL;
	b->nobj = 0;
	return b;
}

static void put_empty(workbuf *b)
{
	base_mutex_lock(&work_lock);
	b->next = empty_list;
	empty_list = b;
	base_mutex_unlock(&work_lock);
}

static void put_full(workbuf *b)
{
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
		atomic_add_full(&work_nfull, (uintptr_t)-1);
	}
	base_mutex_unlock(&work_lock);
	if (b)
		b->next = NULL;
	return b;
}

void gcw_put_slow(gcwork *w, uintptr_t obj)
{
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
	w->wbuf1->obj[w->wbuf1->nobj++] = obj;
}

uintptr_t gcw_get_slow(gcwork *w)
{
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
	workbuf *b = try_get_full();
	if (!b)
		return false;
	if (!w->wbuf1) {
		w->wbuf1 = b;
		w->wbuf2 = get_empty();
		return true;
	}
	/* wbuf1 is empty here (callers drained it). */
	put_empty(w->wbuf1);
	w->wbuf1 = b;
	return true;
}

void gcw_balance(gcwork *w)
{
	if (!w->wbuf1)
		return;
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
	put_full(half);
}

void gcw_dispose(gcwork *w)
{
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

void work_fork_child(void)
{
	base_mutex_reinit(&work_lock);
}

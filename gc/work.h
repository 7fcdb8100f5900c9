/*
 * work.h -- grey objects in work buffers (Go's gcWork / workbuf).
 *
 * Each marker owns a gcwork: two buffers (wbuf1 in use, wbuf2 a spare) so
 * that a worker alternating between putting and getting near a buffer
 * boundary does not hit the global lists every time. Full buffers go to
 * the global full list, where idle markers take them; empty ones to the
 * empty list. Buffers are mapped from the OS and never freed.
 *
 * Invariants:
 *   I1. Every pointer in a buffer is the base of a marked, scannable object
 *       (or an oblet of a large one: an interior address of a large
 *       object, on a 128 KiB boundary).
 *   I2. A buffer is on exactly one of: the full list, the empty list, one
 *       gcwork. nfull counts the full list.
 * Concurrency: a gcwork belongs to one marker; the global lists are under
 * work_lock (rank LOCK_RANK_WORK), nfull is read without it as a hint.
 */
#ifndef TRI_WORK_H
#define TRI_WORK_H

#include "../base/base.h"

#if TRI_SMALL_BUF
#define WORKBUF_BYTES 64 /* six objects: base.h TRI_SMALL_BUF */
#else
#define WORKBUF_BYTES 2048
#endif
#define WORKBUF_NOBJ ((WORKBUF_BYTES - 2 * sizeof(uintptr_t)) / \
                      sizeof(uintptr_t))

typedef struct workbuf {
	struct workbuf *next;
	uintptr_t nobj;
	uintptr_t obj[WORKBUF_NOBJ];
} workbuf;

typedef struct gcwork {
	workbuf *wbuf1, *wbuf2;
	uint64_t bytes_marked; /* Go's bytesMarked share of this marker */
	uint64_t scan_work;    /* bytes scanned (heap) */
	unsigned nput;         /* objects this marker newly marked */
} gcwork;

extern atomic_word work_nfull; /* I2 */

bool work_init(void);
void gcw_put_slow(gcwork *w, uintptr_t obj);
uintptr_t gcw_get_slow(gcwork *w);
/* Give half of the local work to the global list (Go's balance). */
void gcw_balance(gcwork *w);
/* Return both buffers (must be empty at the end of mark). */
void gcw_dispose(gcwork *w);
/* Take a full buffer from the global list into w; false if none. */
bool gcw_take_full(gcwork *w);

/* Walkers (TRI_DEBUG >= 3 and tests); each takes work_lock, so the
 * caller holds no lock ranked WORK or above. work_check, any time: nfull
 * counts the full list (I2), each full buffer holds 1 to WORKBUF_NOBJ
 * objects, each one marked (I1: checked while no concurrent mark runs),
 * and the lists hold no more buffers than were mapped. */
bool work_check(void);
/* work_check, and the mark is over: no full buffer is left (mark.h I2)
 * and every buffer is back on the empty list (no gcwork holds one). After
 * mark_run, or bgmark_finish_stw with the world stopped, and between
 * cycles; not while any gcwork (a test's) still holds its buffers. */
bool work_check_idle(void);

TRI_INLINE void gcw_put(gcwork *w, uintptr_t obj)
{
	workbuf *b = w->wbuf1;
	if (TRI_LIKELY(b && b->nobj < WORKBUF_NOBJ))
		b->obj[b->nobj++] = obj;
	else
		gcw_put_slow(w, obj);
}

/* A grey object, or 0 when w and the global full list are empty. */
TRI_INLINE uintptr_t gcw_get(gcwork *w)
{
	workbuf *b = w->wbuf1;
	if (TRI_LIKELY(b && b->nobj))
		return b->obj[--b->nobj];
	return gcw_get_slow(w);
}


#endif /* TRI_WORK_H */

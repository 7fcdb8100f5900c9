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
 *   I1. Every value in a buffer is a grey object: the base of a marked,
 *       scannable object (or an oblet of a large one: an interior address
 *       of a large object, on a 128 KiB boundary), with, in its top
 *       byte, the object's size class or 0 (grey_pack below).
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

/* A delay line of mark.c's lookup pipeline (mark.c, "The pipeline"): a
 * word pushed in comes out MARK_PIPE pushes later, while the metadata its
 * next step reads is prefetched. p == 0 is an empty slot. */
#define MARK_PIPE 8
typedef struct mark_stage {
	struct {
		uintptr_t p;     /* the candidate word */
		const void *ref; /* what its next step reads */
	} slot[MARK_PIPE];
	unsigned pos;        /* the next slot to take over */
} mark_stage;
#define MARK_AHEAD 8 /* grey objects taken ahead of their scan (mark.c) */

typedef struct gcwork {
	workbuf *wbuf1, *wbuf2;
	uint64_t bytes_marked; /* Go's bytesMarked share of this marker */
	uint64_t scan_work;    /* bytes scanned (heap) */
	unsigned nput;         /* objects this marker newly marked */
	/* Owned by mark.c, empty (all zero) whenever the gcwork is handed
	 * back (mark_gcw_flush) and whenever its marker looks idle: */
	mark_stage pipe[3];    /* words on their way to being greyed */
	uintptr_t ahead[MARK_AHEAD]; /* grey objects taken from the buffers
	                                and prefetched, not yet scanned */
	unsigned ahead_head, ahead_n;
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

/* A grey value (I1): the object's address (user space: 47 bits) and in
 * the top byte the size class of a small object, so its scan needs no
 * span lookup (mark.c), or 0: look it up (large objects, oblets, or a
 * caller that does not know the class). */
#define GREY_CLASS_SHIFT 56
TRI_INLINE uintptr_t grey_pack(uintptr_t obj, unsigned sizeclass)
{
	return obj | (uintptr_t)sizeclass << GREY_CLASS_SHIFT;
}
TRI_INLINE uintptr_t grey_obj(uintptr_t v)
{
	return v & (((uintptr_t)1 << GREY_CLASS_SHIFT) - 1);
}
TRI_INLINE unsigned grey_class(uintptr_t v)
{
	return (unsigned)(v >> GREY_CLASS_SHIFT);
}

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

/*
 * wbbuf.h -- the write barrier and its per-thread buffer (Go's wbBuf,
 * mwbbuf.go; the barrier itself is mbarrier.go's hybrid barrier).
 *
 * While a concurrent cycle marks (tri_wb_enabled set), a barriered store
 * appends the slot's old value (Yuasa's deletion barrier) and the new
 * value (Dijkstra's insertion barrier) to the calling thread's buffer,
 * then stores; a full buffer is flushed out of line: every recorded
 * pointer is shaded (gc/mark.c) and the grey objects go to the global
 * work lists. Values outside the arena range are never recorded.
 *
 * Invariants:
 *   I1. tri_wb_enabled changes only while the world is stopped (gc/gc.c:
 *       on at sweep termination, off at mark termination).
 *   I2. The barrier's slow path (record + store), tri_shade and
 *       tri_memmove run inside the heap-critical region (base/base.h), so
 *       a thread is never stopped half-way through one: a stopped thread's
 *       buffer is consistent and the collector may flush it.
 *   I3. A buffer is written only by its owner thread, and flushed by the
 *       owner or by the collector while the owner is stopped.
 *   I4. When tri_wb_enabled is clear every buffer is empty (mark
 *       termination flushes them all with the world stopped).
 * docs/concurrency.md gives the argument that this, with the second test
 * in TRI_STORE and mark termination's stack rescan, loses no object.
 */
#ifndef TRI_WBBUF_H
#define TRI_WBBUF_H

#include "../base/base.h"

#if TRI_SMALL_BUF
#define WBBUF_ENTRIES 4   /* base.h TRI_SMALL_BUF: flushes all the time */
#else
#define WBBUF_ENTRIES 512 /* pointers (Go 1.19: 256 pairs) */
#endif

typedef struct wbbuf {
	unsigned n; /* entries used */
	uintptr_t buf[WBBUF_ENTRIES];
} wbbuf;

void wbbuf_reset(wbbuf *b);
/* Make b the calling thread's buffer (NULL: none). */
void wbbuf_attach(wbbuf *b);
/* Shade everything b holds and empty it (I3); with the barrier off, just
 * empty it. Returns the number of objects greyed or blackened. */
unsigned wbbuf_flush(wbbuf *b);
/* Turn the barrier on or off (world stopped, I1). */
void wbbuf_enable(bool on);
/* tri_write_barrier, tri_shade and tri_memmove (tricolor.h). */
void wbbuf_write_barrier(void **slot, void *value);
void wbbuf_shade_one(const void *p);
void *wbbuf_memmove(void *dst, const void *src, size_t n);

/* The walker (TRI_DEBUG >= 3, tests): the world stopped by the caller,
 * who holds threads_lock. Every registered thread's buffer holds at most
 * WBBUF_ENTRIES heap values, and none at all while the barrier is off
 * (I4): valid at every phase boundary (mark termination has flushed
 * them all before the barrier goes off). */
bool wbbuf_check(void);

#endif /* TRI_WBBUF_H */

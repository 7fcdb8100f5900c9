/*
 * wbbuf.c -- the write barrier: tri_write_barrier, tri_shade, tri_memmove
 * and the per-thread buffer they record into. See wbbuf.h.
 */
#include "wbbuf.h"

#include <string.h>

#include "../alloc/arena.h"
#include "../alloc/mcache.h"
#include "../gc/mark.h"
#include "../gc/work.h"
#include "../include/tricolor.h"

TRI_API volatile int tri_wb_enabled; /* I1 */

static __thread wbbuf *self_buf __attribute__((tls_model("initial-exec")));

void wbbuf_reset(wbbuf *b)
{
	b->n = 0;
}

void wbbuf_attach(wbbuf *b)
{
	self_buf = b;
}

void wbbuf_enable(bool on)
{
	tri_wb_enabled = on;
}

unsigned wbbuf_flush(wbbuf *b)
{
	unsigned n = b->n;
	b->n = 0;
	if (!tri_wb_enabled || n == 0)
		return 0;
	gcwork w = {0};
	for (unsigned i = 0; i < n; i++)
		mark_shade(b->buf[i], &w);
	return mark_gcw_flush(&w);
}

/* Could v point into the heap? (arena.h I4: one subtraction.) */
TRI_INLINE bool maybe_heap(uintptr_t v)
{
	uintptr_t lo = arena_lo();
	return v - lo < arena_hi() - lo;
}

TRI_INLINE void record(wbbuf *b, uintptr_t v)
{
	if (!maybe_heap(v))
		return;
	if (TRI_UNLIKELY(b->n == WBBUF_ENTRIES))
		wbbuf_flush(b);
	b->buf[b->n++] = v;
}

/* The calling thread's buffer, registering the thread if it has none;
 * NULL only if registration failed (then shade at once). */
static wbbuf *my_buf(void)
{
	if (TRI_LIKELY(self_buf != NULL))
		return self_buf;
	mcache_attach();
	return self_buf;
}

static void shade_now(uintptr_t v)
{
	gcwork w = {0};
	mark_shade(v, &w);
	mark_gcw_flush(&w);
}

static void shade(uintptr_t v)
{
	wbbuf *b = my_buf();
	if (b)
		record(b, v);
	else if (maybe_heap(v))
		shade_now(v);
}

TRI_API void tri_write_barrier(void **slot, void *value)
{
	m_acquire(); /* I2 */
	if (tri_wb_enabled) {
		shade((uintptr_t)*slot);
		shade((uintptr_t)value);
	}
	*slot = value;
	m_release();
}

TRI_API void tri_shade(const void *p)
{
	m_acquire();
	if (tri_wb_enabled)
		shade((uintptr_t)p);
	m_release();
}

/* Shade every aligned word that overlaps [p, p + n) (an aligned word never
 * crosses a page, so the reads stay in mapped memory). */
static void shade_words(const void *p, size_t n)
{
	uintptr_t lo = align_down((uintptr_t)p, sizeof(void *));
	uintptr_t hi = align_up((uintptr_t)p + n, sizeof(void *));
	for (uintptr_t a = lo; a < hi; a += sizeof(void *))
		shade(*(const uintptr_t *)a);
}

/* Go's bulkBarrierPreWrite + memmove: the words of dst are shaded before
 * (old values) and after (new values, whatever src's alignment), all in
 * one stay in the region. A huge copy holds the region, and so delays a
 * pause, for as long as it runs. */
TRI_API void *tri_memmove(void *dst, const void *src, size_t n)
{
	m_acquire();
	bool on = tri_wb_enabled;
	if (on && n)
		shade_words(dst, n);
	memmove(dst, src, n);
	if (on && n)
		shade_words(dst, n);
	m_release();
	return dst;
}

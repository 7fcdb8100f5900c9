/*
 * wbbuf.c -- the write barrier (behind tri_write_barrier, tri_shade and
 * tri_memmove) and the per-thread buffer it records into. See wbbuf.h.
 */
#include "wbbuf.h"

#include <string.h>

#include "../alloc/arena.h"
#include "../alloc/mcache.h"
#include "../gc/mark.h"
#include "../gc/threads.h"
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
	TRI_ASSERT(!b || b->n == 0); /* a thread's buffer starts empty */
	self_buf = b;
}

void wbbuf_enable(bool on)
{
	tri_wb_enabled = on;
}

unsigned wbbuf_flush(wbbuf *b)
{
	TRI_ASSERT(b->n <= WBBUF_ENTRIES);
	unsigned n = b->n;
	b->n = 0;
	if (!tri_wb_enabled || n == 0)
		return 0;
	gcwork w = {0};
	for (unsigned i = 0; i < n; i++) {
		TRI_ASSERT2(arena_contains(b->buf[i])); /* only heap values */
		mark_shade(b->buf[i], &w);
	}
	return mark_gcw_flush(&w);
}

TRI_INLINE void record(wbbuf *b, uintptr_t v)
{
	TRI_ASSERT2(tri_m.b.locks > 0); /* I2: inside the region */
	if (!arena_contains(v))
		return;
	if (TRI_UNLIKELY(b->n == WBBUF_ENTRIES))
		wbbuf_flush(b);
	TRI_ASSERT2(b->n < WBBUF_ENTRIES);
	b->buf[b->n++] = v;
}

/* The calling thread's buffer, registering the thread if it has none;
 * NULL only if registration failed (then shade at once). */
static wbbuf *my_buf(void)
{
	if (TRI_LIKELY(self_buf != NULL))
		return self_buf;
	threads_attach();
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
	/* I1, I2: the flag changes only with the world stopped, and a
	 * thread inside the region is never stopped: still on */
	TRI_ASSERT2(tri_wb_enabled);
	wbbuf *b = my_buf();
	if (b)
		record(b, v);
	else if (arena_contains(v))
		shade_now(v);
}

void wbbuf_write_barrier(void **slot, void *value)
{
	m_acquire(); /* I2 */
	if (tri_wb_enabled) {
		shade((uintptr_t)*slot);
		shade((uintptr_t)value);
	}
	*slot = value;
	m_release();
}

void wbbuf_shade_one(const void *p)
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
void *wbbuf_memmove(void *dst, const void *src, size_t n)
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

/* ---- the walker ---- */

bool wbbuf_check(void)
{
	bool on = tri_wb_enabled;
	for (gthread *t = threads_first(); t; t = threads_next(t)) {
		const wbbuf *b = threads_wbbuf(t);
		const char *why = NULL;
		if (b->n > WBBUF_ENTRIES)
			why = "more entries than it holds";
		else if (!on && b->n)
			why = "not empty with the barrier off (I4)";
		for (unsigned i = 0; !why && i < b->n; i++)
			if (!arena_contains(b->buf[i]))
				why = "a value outside the arena recorded";
		if (why) {
			base_warn("wbbuf_check: buffer %p (%u entries): %s",
			          (const void *)b, b->n, why);
			return false;
		}
	}
	return true;
}

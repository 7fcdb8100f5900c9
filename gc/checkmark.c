/*
 * checkmark.c -- see checkmark.h.
 */
#include "checkmark.h"

#include "../alloc/os.h"
#include "mark.h"
#include "roots.h"
#include "threads.h"

bool checkmark_active;
static unsigned pass;       /* never 0 while active (I2) */

#define POOL_CHUNK (1 * TRI_MiB)
typedef struct pool_chunk {
	struct pool_chunk *next;
	size_t used;
} pool_chunk;
static pool_chunk *pool;    /* the pass's side-bit memory */

static atomic_word *pool_alloc(size_t words)
{
	size_t bytes = words * sizeof(atomic_word);
	TRI_ASSERT(bytes + sizeof(pool_chunk) <= POOL_CHUNK); /* fits one */
	if (!pool || pool->used + bytes > POOL_CHUNK) {
		pool_chunk *c = os_map(POOL_CHUNK);
		if (!c)
			base_fatal("gccheckmark: out of memory for mark bits");
		c->next = pool;
		c->used = align_up(sizeof *c, sizeof(atomic_word));
		pool = c;
	}
	atomic_word *p = (atomic_word *)((char *)pool + pool->used);
	pool->used += bytes; /* os_map returns zeroed memory */
	return p;
}

static void pool_release(void)
{
	while (pool) {
		pool_chunk *next = pool->next;
		os_unmap_mapped(pool, POOL_CHUNK);
		pool = next;
	}
}

static atomic_word *side_bits(mspan *s)
{
	TRI_ASSERT2(checkmark_active && pass != 0); /* I1, I2 */
	if (s->checkmark_gen != pass) {
		s->checkmark_bits = pool_alloc(span_nwords(s->nelems ? s->nelems
		                                                     : 1));
		s->checkmark_gen = pass;
	}
	return s->checkmark_bits;
}

static TRI_NORETURN void missed(mspan *s, uintptr_t idx)
{
	uintptr_t obj = s->base + idx * s->elemsize;
	base_fatal("gccheckmark: object %p (size class %u, %zu bytes) is "
	          "reachable but the concurrent mark missed it; a pointer "
	          "store without TRI_STORE (a forgotten write barrier) "
	          "probably hid it", (void *)obj,
	          (unsigned)spanclass_sizeclass(s->spanclass),
	          (size_t)s->elemsize);
}

void checkmark_grey(mspan *s, uintptr_t idx, gcwork *w)
{
	if (!span_is_allocated(s, idx))
		return;
	atomic_word *bits = side_bits(s);
	uintptr_t bit = (uintptr_t)1 << (idx % 64);
	if (bits[idx / 64] & bit)
		return;
	bits[idx / 64] |= bit;
	if (!span_is_marked(s, idx))
		missed(s, idx);
	if (!spanclass_noscan(s->spanclass))
		gcw_put(w, s->base + idx * s->elemsize);
}

void checkmark_run(void)
{
	/* I1: world stopped, one thread, never nested; I2: no pool left */
	TRI_ASSERT(threads_world_stopped());
	TRI_ASSERT(!checkmark_active && !pool);
	if (++pass == 0)
		pass = 1;
	checkmark_active = true;
	roots_prepare(true);
	gcwork w = {0};
	for (size_t i = 0; i < roots_njobs(); i++)
		mark_scan_range(roots_job(i)->lo, roots_job(i)->hi, &w);
	uintptr_t obj;
	while ((obj = gcw_get(&w)) != 0)
		mark_scan_object(obj, &w);
	/* everything reached was scanned: no full buffer is left for a
	 * marker to take (the workers are gone: gc.c stops them first) */
	TRI_ASSERT(atomic_load_relaxed(&work_nfull) == 0);
	gcw_dispose(&w);
	checkmark_active = false;
	pool_release();
}

bool checkmark_check(void)
{
	if (!checkmark_active && !pool)
		return true;
	base_warn("checkmark_check: a pass is %s outside checkmark_run "
	          "(I1, I2)", checkmark_active ? "active" : "holding memory");
	return false;
}

/*
 * sweep.c -- see sweep.h.
 */
#include "sweep.h"

#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"

/* Sweep one large span taken off its list. */
static void sweep_large(mspan *s)
{
	if (span_is_marked(s, 0)) {
		mheap_large_add(s); /* sweepgen = h before the bit */
		atomic_store_release(&s->mark_bits[0], 0);
		return;
	}
	/* I2: claim it; a failed CAS means tri_free owns it now. */
	if (atomic_cas_full(&s->state, SPAN_IN_USE, SPAN_DEAD) != SPAN_IN_USE)
		return;
	mcache_note_swept_large(s->elemsize);
	mheap_free_span(s);
}

uint64_t sweep_large_all(void)
{
	uint64_t n = 0;
	mspan *s;
	while ((s = mheap_large_take_unswept()) != NULL) {
		sweep_large(s);
		n++;
	}
	return n;
}

uint64_t sweep_finish(void)
{
	return mcentral_sweep_all() + sweep_large_all();
}

void sweep_wake(void)
{
	sweep_large_all();
}

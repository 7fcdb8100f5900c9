/*
 * callstack.c -- stack capture through libgcc's unwinder; see callstack.h.
 */
#include "callstack.h"

#include <unwind.h>

#include "../alloc/base.h"

struct walk {
	uintptr_t *pcs;
	int max, skip, n;
};

static _Unwind_Reason_Code walk_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct walk *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
	if (ip == 0)
		return _URC_END_OF_STACK;
	if (w->skip > 0) {
		w->skip--;
		return _URC_NO_REASON;
	}
	w->pcs[w->n++] = ip;
	return w->n == w->max ? _URC_END_OF_STACK : _URC_NO_REASON;
}

TRI_NOINLINE int callstack_capture(uintptr_t *pcs, int max, int skip)
{
	if (max <= 0)
		return 0;
	/* +1: this function's own frame. */
	struct walk w = {.pcs = pcs, .max = max, .skip = skip + 1, .n = 0};
	_Unwind_Backtrace(walk_frame, &w);
	return w.n;
}

void callstack_init(void)
{
	uintptr_t pcs[4];
	(void)callstack_capture(pcs, 4, 0);
}

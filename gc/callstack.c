/*
 * callstack.c -- stack capture through libgcc's unwinder; see callstack.h.
 */
#include "callstack.h"

#include <stdbool.h>
#include <unwind.h>

#include "../alloc/base.h"
#include "threads.h"

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

struct walk_above {
	uintptr_t pcs[CALLSTACK_MAX + CALLSTACK_TRIM];
	uintptr_t starts[CALLSTACK_TRIM];
	int n;
	uintptr_t sp, hi; /* C3: the last frame's stack pointer, the top */
};

static _Unwind_Reason_Code walk_above(struct _Unwind_Context *ctx, void *arg)
{
	struct walk_above *w = arg;
	uintptr_t ip = (uintptr_t)_Unwind_GetIP(ctx);
	if (ip == 0)
		return _URC_END_OF_STACK;
	/* The frame's stack pointer (x86-64: the callee's CFA) must climb
	 * and stay below the top (C3). */
	uintptr_t sp = (uintptr_t)_Unwind_GetCFA(ctx);
	if (sp <= w->sp || sp >= w->hi)
		return _URC_END_OF_STACK;
	w->sp = sp;
	if (w->n < CALLSTACK_TRIM)
		w->starts[w->n] = (uintptr_t)_Unwind_GetRegionStart(ctx);
	w->pcs[w->n++] = ip;
	return w->n == CALLSTACK_MAX + CALLSTACK_TRIM ? _URC_END_OF_STACK
	                                              : _URC_NO_REASON;
}

static void backtrace_above(void *w)
{
	_Unwind_Backtrace(walk_above, w);
}

TRI_NOINLINE int callstack_capture_above(uintptr_t *pcs, int max,
                                         const uintptr_t *entries, int n,
                                         uintptr_t stack_hi)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	/* unknown top: the first frames only (a page above this one) */
	struct walk_above w = {.n = 0, .sp = here - 4096,
	                       .hi = stack_hi ? stack_hi : here + 4096};
	/* C3: a fault in the unwinder ends the walk; the frames found so far
	 * are kept (w is memory, not registers, across the longjmp) */
	threads_run_guarded(backtrace_above, &w);
	/* Drop this function's own frame and those under it (the guard's,
	 * the unwinder's), then everything up to the outermost entry. */
	int from = 0;
	for (int i = 0; i < w.n && i < CALLSTACK_TRIM; i++) {
		if (w.starts[i] == (uintptr_t)callstack_capture_above)
			from = i + 1;
		for (int e = 0; e < n; e++)
			if (w.starts[i] == entries[e])
				from = i + 1;
	}
	int k = 0;
	for (int i = from; i < w.n && k < max; i++)
		pcs[k++] = w.pcs[i];
	return k;
}

void callstack_init(void)
{
	uintptr_t pcs[4];
	(void)callstack_capture(pcs, 4, 0);
}

/*
 * api.c -- the public functions of tricolor.h that are not the
 * allocator's (those are in malloc.c, where mallocgc inlines into them),
 * one to one: each makes sure of what its floor below needs -- the heap
 * initialised, the calling thread attached -- and calls down. Nothing
 * below this floor calls a tri_ function (tools/layers.sh checks it).
 *
 * Invariants:
 *   A1. A call that touches heap state runs tri_init first; one that
 *       runs the collector or reads its stacks attaches the calling
 *       thread first (gc/threads.h threads_attach). A call that must work
 *       before init (tri_set_stop_signals) or only changes the calling
 *       thread's own state (the blocking-section calls, tri_stack_set_sp,
 *       tri_scan_range) does neither.
 *   A2. The contracts (arguments, errno, return values) are tricolor.h's;
 *       the functions below keep them.
 */
#include <errno.h>
#include <string.h>

#include "../barrier/wbbuf.h"
#include "../gc/debug.h"
#include "../gc/gc.h"
#include "../gc/roots.h"
#include "../gc/stacks.h"
#include "../gc/stats.h"
#include "../gc/threads.h"
#include "../include/tricolor.h"
#include "../prof/heapdump.h"
#include "../prof/leakcheck.h"
#include "../prof/profile.h"

/* A1: initialised and attached; warns in the caller's name if not. */
static bool attach(const char *caller)
{
	if (tri_init() == 0 && threads_attach() == 0)
		return true;
	base_warn("%s: cannot register the calling thread", caller);
	return false;
}

/* ---- threads ---- */

TRI_API int tri_thread_register(void)
{
	if (tri_init() != 0)
		return -1;
	return threads_attach();
}

TRI_API int tri_thread_unregister(void)
{
	return threads_unregister_self();
}

TRI_API int tri_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                               void *(*start)(void *), void *arg)
{
	if (tri_init() != 0 || threads_attach() != 0) /* the parent's stack
	                                                 holds arg */
		return errno;
	return threads_pthread_create(thread, attr, start, arg);
}

/* The caller's registers are saved on entry (gc/threads.h): on x86-64 a
 * jump, which changes neither a register nor the stack; elsewhere
 * threads_entersyscall saves this frame's, which hold the caller's
 * callee-saved values. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl tri_enter_blocking\n"
        ".type tri_enter_blocking, @function\n"
        "tri_enter_blocking:\n"
        "\tjmp threads_entersyscall\n"
        ".size tri_enter_blocking, .-tri_enter_blocking\n");
#else
TRI_API void tri_enter_blocking(void)
{
	threads_entersyscall();
}
#endif

TRI_API void tri_exit_blocking(void)
{
	threads_exit_blocking();
}

TRI_API void *tri_do_blocking(void *(*fn)(void *), void *arg)
{
	threads_entersyscall();
	void *r = fn(arg);
	threads_exitsyscall();
	return r;
}

TRI_API int tri_set_stop_signals(int suspend_signal, int restart_signal)
{
	return threads_set_stop_signals(suspend_signal, restart_signal);
}

/* ---- roots and stacks ---- */

TRI_API void tri_add_roots(void *lo, void *hi)
{
	if (tri_init() != 0) {
		base_warn("tri_add_roots: the heap could not be initialised");
		return;
	}
	roots_add_user(lo, hi);
}

TRI_API void tri_remove_roots(void *lo, void *hi)
{
	if (tri_init() == 0)
		roots_remove_user(lo, hi);
}

TRI_API tri_stack_t *tri_stack_register(void *lo, void *hi)
{
	if (tri_init() != 0)
		return NULL;
	return stacks_register(lo, hi);
}

TRI_API void tri_stack_unregister(tri_stack_t *s)
{
	stacks_unregister(s);
}

TRI_API void tri_stack_set_sp(tri_stack_t *s, void *sp)
{
	stacks_set_sp(s, sp);
}

TRI_API void tri_set_root_scanner(void (*fn)(void *arg), void *arg)
{
	if (tri_init() == 0)
		stacks_set_scanner(fn, arg);
}

TRI_API void tri_scan_range(const void *lo, const void *hi)
{
	stacks_scan_range(lo, hi);
}

/* ---- the collector ---- */

TRI_API void tri_collect(void)
{
	if (attach("tri_collect"))
		gc_collect(true);
}

TRI_API void tri_free_os_memory(void)
{
	if (attach("tri_free_os_memory"))
		gc_free_os_memory();
}

TRI_API int tri_set_gc_percent(int percent)
{
	if (tri_init() != 0)
		return GOGC_DEFAULT;
	return gc_set_gc_percent(percent);
}

TRI_API int tri_set_mode(int mode)
{
	if (tri_init() != 0)
		return -1;
	return gc_set_mode(mode);
}

TRI_API int64_t tri_set_memory_limit(int64_t limit)
{
	if (tri_init() != 0)
		return MEMLIMIT_NONE;
	return gc_set_memory_limit(limit);
}

/* ---- the write barrier ---- */

TRI_API void tri_write_barrier(void **slot, void *value)
{
	wbbuf_write_barrier(slot, value);
}

TRI_API void *tri_memmove(void *dst, const void *src, size_t n)
{
	return wbbuf_memmove(dst, src, n);
}

TRI_API void tri_shade(const void *p)
{
	wbbuf_shade_one(p);
}

/* ---- observing ---- */

TRI_API void tri_read_stats(tri_stats_t *st)
{
	if (tri_init() != 0) {
		memset(st, 0, sizeof *st);
		return;
	}
	stats_read(st);
}

TRI_API int tri_set_profile_rate(long bytes)
{
	if (bytes >= 0 && tri_init() != 0)
		return -1;
	return profile_set_rate(bytes);
}

TRI_API int tri_write_heap_profile(int fd)
{
	if (tri_init() != 0)
		return -1;
	return pprof_write(fd);
}

TRI_API int tri_heap_dump(int fd)
{
	if (tri_init() != 0 || threads_attach() != 0)
		return -1;
	return heapdump_write(fd);
}

TRI_API void tri_report_leaks(int fd)
{
	(void)leakcheck_report(fd, false);
}

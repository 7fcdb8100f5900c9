/*
 * remark.c -- the tracked mode's epoch, re-mark rounds and final rescan;
 * see remark.h.
 *
 * A round (the controller thread, world running):
 *   1. collect the written pages into runs[] (re-protecting them: a
 *      write after this is reported by the next look); with soft-dirty
 *      bits, inside a stop of the world (I5);
 *   2. rescan the marked objects on every run (mark_rescan), then every
 *      global range, and hand the grey objects found to the workers;
 *   3. wait for the mark to be quiescent.
 * Rounds end when a round reports no fewer pages than the one before (the
 * program writes as fast as the collector looks: the final stop may as
 * well take them), when one reports at most ROUND_ENOUGH pages (the final
 * stop's rescan of so few is short), or after REMARK_MAX_ROUNDS.
 */
#include "remark.h"

#include <limits.h>

#include "../alloc/arena.h"
#include "../alloc/os.h"
#include "../barrier/dirty.h"
#include "mark.h"
#include "roots.h"
#include "threads.h"

#define ROUND_ENOUGH 64 /* pages: about 20 us of rescan */

typedef struct run {
	uintptr_t lo, hi;
} run;
static run *runs;              /* a round's runs; the controller's */
static size_t nruns, runs_cap;
static bool runs_lost;         /* runs[] could not grow: rescan all */
static bool watching;          /* the grow hook is ours (remark_init) */

static void track_range(uintptr_t base, size_t size)
{
	dirty_track(base, base + size); /* a refusal: method none (I4) */
}

void remark_init(int gcdirty)
{
	static const dirty_method want[] = {DIRTY_AUTO, DIRTY_UFFD, DIRTY_SOFT,
	                                    DIRTY_NONE};
	TRI_ASSERT(gcdirty >= 0 && gcdirty < 4); /* debug.h I2 */
	/* tests may build the heap before the collector: then nothing is
	 * tracked, and the mode stops the world */
	bool fresh = arena_heap_sys() == 0;
	dirty_init(fresh ? want[gcdirty] : DIRTY_NONE);
	if (fresh)
		arena_set_grow_hook(track_range);
	watching = fresh;
}

bool remark_available(void)
{
	return dirty_method_in_use() != DIRTY_NONE;
}

void remark_describe(char *buf, size_t cap)
{
	const char *why = dirty_reason();
	base_format(buf, cap, "%s%s%s%s",
	            dirty_method_name(dirty_method_in_use()),
	            *why ? " (" : "", why, *why ? ")" : "");
}

bool remark_begin(remark_stats *st)
{
	*st = (remark_stats){0};
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	bool ok = dirty_protect_all();
	st->protect_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	return ok && remark_available();
}

/* ---- rescans ---- */

static void note_run(uintptr_t lo, uintptr_t hi, void *arg)
{
	(void)arg;
	if (nruns && runs[nruns - 1].hi == lo) {
		runs[nruns - 1].hi = hi;
		return;
	}
	if (!os_vec_reserve((void **)&runs, &runs_cap, nruns, nruns + 1,
	                    sizeof *runs, 256)) {
		runs_lost = true;
		return;
	}
	runs[nruns++] = (run){lo, hi};
}

static void rescan_user(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                        void *arg)
{
	(void)kind;
	mark_scan_guarded(lo, hi, arg);
}

/* Every global range (I3): the data jobs of this cycle's root list and
 * the tri_add_roots ranges as they are now (one removed meanwhile may be
 * gone). */
static void rescan_globals(gcwork *w)
{
	for (size_t i = 0; i < roots_njobs(); i++) {
		const root_job *j = roots_job(i);
		if (j->kind == ROOT_DATA)
			mark_scan_guarded(j->lo, j->hi, w);
	}
	roots_for_each_user(rescan_user, w);
}

/* Look at the written pages: collect (clean again) or peek. Their runs
 * end up in runs[]; on a kernel failure, or if runs[] could not grow,
 * every tracked range (I4). Returns the pages reported, -1 for all. */
static long gather(bool clean)
{
	nruns = 0;
	runs_lost = false;
	long n = clean ? dirty_collect(note_run, NULL)
	               : dirty_peek(note_run, NULL);
	if (n < 0 || runs_lost) {
		nruns = 0;
		runs_lost = false;
		dirty_for_each_tracked(note_run, NULL);
		n = -1;
	}
	return n;
}

static void rescan_runs(gcwork *w)
{
	for (size_t i = 0; i < nruns; i++)
		mark_rescan(runs[i].lo, runs[i].hi, w);
}

/* ---- rounds ---- */

/* Step 1 with soft-dirty bits: the world stopped around it (I5). */
static long gather_round(remark_stats *st)
{
	if (dirty_method_in_use() != DIRTY_SOFT)
		return gather(true);
	threads_lock();
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	threads_stop_world();
	long n = gather(true);
	threads_start_world();
	st->round_pause_ns += clock_ns(CLOCK_MONOTONIC) - t0;
	threads_unlock();
	return n;
}

void remark_rounds(remark_stats *st, void (*wait)(void))
{
	long prev = LONG_MAX;
	while (st->rounds < REMARK_MAX_ROUNDS && !st->fell_back) {
		uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
		long n = gather_round(st);
		gcwork w = {0};
		rescan_runs(&w);
		rescan_globals(&w);
		mark_gcw_flush(&w);
		st->round_ns += clock_ns(CLOCK_MONOTONIC) - t0;
		st->round_pages[st->rounds++] = n;
		if (n < 0) { /* I4: everything rescanned; the method is none */
			st->fell_back = true;
			return;
		}
		wait();
		if (n <= ROUND_ENOUGH || n >= prev)
			return;
		prev = n;
	}
}

void remark_final(remark_stats *st, gcwork *w)
{
	TRI_ASSERT(threads_world_stopped());
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	/* no write happens until the world restarts: a peek is exact, and
	 * protects nothing (no TLB flush in the pause) */
	st->final_pages = gather(false);
	if (st->final_pages < 0)
		st->fell_back = true;
	rescan_runs(w);
	st->final_pages_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	rescan_globals(w);
}

void remark_end(remark_stats *st, bool (*stop)(void))
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
	dirty_unprotect_all(stop);
	st->unprotect_ns = clock_ns(CLOCK_MONOTONIC) - t0;
}

static void add_bytes(uintptr_t lo, uintptr_t hi, void *arg)
{
	*(uint64_t *)arg += hi - lo;
}

bool remark_check(void)
{
	if (!watching)
		return true;
	uint64_t tracked = 0;
	dirty_for_each_tracked(add_bytes, &tracked);
	if (tracked != arena_heap_sys()) {
		base_warn("remark_check: %llu bytes tracked, the heap has %llu "
		          "(I1)", (unsigned long long)tracked,
		          (unsigned long long)arena_heap_sys());
		return false;
	}
	return true;
}

void remark_fork_child(void)
{
	dirty_fork_child();
}

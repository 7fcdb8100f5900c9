/*
 * sweep.c -- see sweep.h.
 *
 * sweep_one (Go's sweepone):
 *   1. Enter the gate (I3): fail if sweeping is drained, else count this
 *      sweep in flight.
 *   2. From the cursor on, ask each central list to sweep one unswept
 *      span (mcentral_sweep_one); a list with none left moves the cursor
 *      past it for good (no span becomes unswept before the next flip,
 *      and sweep_wake resets the cursor after it).
 *   3. Small spans done: sweep one large span (mheap_large_sweep_one).
 *   4. Leave the gate; return the pages swept.
 * The background sweeper (Go's bgsweep): a thread started by the first
 * sweep_wake, all signals blocked, scheduled SCHED_IDLE (nice 19 if the
 * kernel refuses). Each wake-up it calls sweep_one in batches of
 * BG_BATCH spans with a sched_yield between batches, and sleeps on
 * sweep_cv when sweep_one finds nothing, after printing the scavtrace
 * line and readying the scavenger (alloc/scavenge.h), whose thread it
 * starts on first use.
 * sweep_finish (Go's finishsweep_m): close the gate, sweep every list,
 * then wait for the sweeps still in flight.
 */
#include "sweep.h"

#include <sched.h>
#include <unistd.h>

#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"
#include "../alloc/scavenge.h"
#include "debug.h"
#include "gc.h"
#include "threads.h"
#include "trace.h"

/* The gate (I3, Go's activeSweep.state): the high bit says sweeping is
 * drained for this cycle; the rest counts sweep_one calls in flight. */
#define SWEEP_DRAINED ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))
static atomic_word sweep_state;
static atomic_word sweep_cursor; /* next central index to look at */

static atomic_word done_gen;     /* I5: the sweepgen announced done */
static atomic_word bg_swept;     /* spans; the background thread */
static atomic_word finish_swept; /* spans; sweep_finish */
/* The sweep generation the last sweep_finish completed (sweep_check;
 * kept at TRI_DEBUG >= 1 only). */
static atomic_word finished_gen;

/* The background thread (I4). */
#define BG_BATCH 10 /* spans between yields (Go 1.20's sweepBatchSize) */
static pthread_mutex_t sweep_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sweep_cv = PTHREAD_COND_INITIALIZER;
static bool bg_started;      /* sweep_mu */
static bool scav_started;    /* sweep_mu: the scavenger's thread */
static uint64_t bg_wakes;    /* sweep_mu */
static atomic_word bg_on = 1; /* sweep_set_background */

/* ---- the gate ---- */

static bool sweep_begin(void)
{
	uintptr_t st = atomic_load_relaxed(&sweep_state);
	for (;;) {
		if (st & SWEEP_DRAINED)
			return false;
		uintptr_t seen = atomic_cas_full(&sweep_state, st, st + 1);
		if (seen == st) {
			/* I3: the count never reaches the drained bit */
			TRI_ASSERT(!((st + 1) & SWEEP_DRAINED));
			return true;
		}
		st = seen;
	}
}

static void sweep_end(void)
{
	/* pairs: wait_idle */
	uintptr_t st = atomic_add_full(&sweep_state, (uintptr_t)-1);
	TRI_ASSERT(st & ~SWEEP_DRAINED); /* I3: this sweep was counted */
}

static void gate_close(void)
{
	uintptr_t st = atomic_load_relaxed(&sweep_state);
	for (;;) {
		uintptr_t seen = atomic_cas_full(&sweep_state, st,
		                                 st | SWEEP_DRAINED);
		if (seen == st)
			return;
		st = seen;
	}
}

static void gate_open(void)
{
	uintptr_t st = atomic_load_relaxed(&sweep_state);
	for (;;) {
		uintptr_t seen = atomic_cas_full(&sweep_state, st,
		                                 st & ~SWEEP_DRAINED);
		if (seen == st)
			return;
		st = seen;
	}
}

/* Wait until no sweep_one is in flight (the gate is closed: none can
 * start). Each one sweeps at most one span, under that span's lock. */
static void wait_idle(void)
{
	while (atomic_load_acquire(&sweep_state) & ~SWEEP_DRAINED)
		sched_yield();
	/* I1, I3: closed, nothing in flight (only sweep_wake reopens) */
	TRI_ASSERT(atomic_load_relaxed(&sweep_state) == SWEEP_DRAINED);
}

/* ---- sweeping ---- */

/* Free a large span the sweep found dead (sweep.h I2: claimed already). */
static void free_dead_large(mspan *s)
{
	/* I2: the sweeper won the CAS to DEAD, off every list */
	TRI_ASSERT(span_state(s) == SPAN_DEAD &&
	           s->location == SPAN_LOC_NONE);
	if (s->specials)
		special_free_all(s, false);
	span_clobber_large(s);
	mcache_note_swept_large(s->elemsize);
	mheap_free_span(s);
}

static uintptr_t sweep_large_one(void)
{
	mspan *dead = NULL;
	uintptr_t pages = mheap_large_sweep_one(&dead);
	if (dead)
		free_dead_large(dead);
	return pages;
}

uint64_t sweep_large_all(void)
{
	uint64_t n = 0;
	while (sweep_large_one())
		n++;
	return n;
}

uintptr_t sweep_one(void)
{
	if (!sweep_begin())
		return 0;
	uintptr_t pages = 0;
	uintptr_t ci = atomic_load_relaxed(&sweep_cursor);
	TRI_ASSERT(ci <= NUM_CENTRALS); /* step 2: it only moves up to it */
	while (!pages && ci < NUM_CENTRALS) {
		pages = mcentral_sweep_one((unsigned)ci);
		if (!pages) { /* none left in ci until the next flip */
			atomic_cas_full(&sweep_cursor, ci, ci + 1);
			ci++; /* (a failed CAS: another sweeper is ahead) */
		}
	}
	if (!pages)
		pages = sweep_large_one();
	sweep_end();
	return pages;
}

uint64_t sweep_finish(void)
{
	gate_close();
	uint64_t n = mcentral_sweep_all() + sweep_large_all();
	wait_idle(); /* I1: no span is half swept off its list */
	if (TRI_DEBUG >= 2)
		TRI_ASSERT2(sweep_none_unswept()); /* I1 */
	if (TRI_DEBUG >= 1)
		atomic_store_relaxed(&finished_gen, mheap_swept_gen());
	atomic_add_full(&finish_swept, n);
	return n;
}

/* ---- the background sweeper ---- */

/* One wake-up's work: sweep until nothing is left (true) or the
 * sweeper is turned off (false). */
static bool bg_sweep(void)
{
	for (;;) {
		for (unsigned i = 0; i < BG_BATCH; i++) {
			if (!sweep_one())
				return true;
			atomic_add_full(&bg_swept, 1);
		}
		if (!atomic_load_relaxed(&bg_on))
			return false;
		sched_yield(); /* Go's goschedIfBusy */
	}
}

void sweep_done(void)
{
	uintptr_t h = mheap_swept_gen();
	uintptr_t seen = atomic_load_relaxed(&done_gen);
	if (seen == h || atomic_cas_full(&done_gen, seen, h) != seen)
		return; /* announced already (I5) */
	if (debug.scavtrace)
		trace_print_scav(scavenge_take_work(), mheap_released_bytes(),
		                 mheap_inuse_bytes(), scavenge_retained(),
		                 false);
	pthread_mutex_lock(&sweep_mu);
	if (!scav_started)
		scav_started = threads_start_internal(scavenge_bg, NULL);
	pthread_mutex_unlock(&sweep_mu);
	scavenge_ready();
}

static void *bg_main(void *arg)
{
	(void)arg;
	TRI_ASSERT(!mcache_tls); /* I4: never allocates from the heap */
	threads_lower_priority(true);
	uint64_t seen = 0;
	pthread_mutex_lock(&sweep_mu);
	for (;;) {
		while (bg_wakes == seen || !atomic_load_relaxed(&bg_on))
			pthread_cond_wait(&sweep_cv, &sweep_mu);
		seen = bg_wakes;
		pthread_mutex_unlock(&sweep_mu); /* I4: not held sweeping */
		/* Nothing left with the gate open: all swept. A closed gate
		 * means a sweep_finish is running; its caller announces. */
		if (bg_sweep() &&
		    !(atomic_load_acquire(&sweep_state) & SWEEP_DRAINED))
			sweep_done();
		pthread_mutex_lock(&sweep_mu);
	}
	return NULL;
}

/* Start the thread (sweep_mu held). No signals: it is never stopped
 * (I4). A failure leaves the sweeping to the lazy and finish sweeps; the
 * next wake-up tries again. */
static void bg_start_locked(void)
{
	bg_started = threads_start_internal(bg_main, NULL);
}

void sweep_wake(void)
{
	/* after the flip, the world running: it may start a thread (I5) */
	TRI_ASSERT(!threads_world_stopped());
	atomic_store_relaxed(&sweep_cursor, 0);
	gate_open(); /* after the cursor: a sweep that gets in sees it */
	if (!atomic_load_relaxed(&bg_on))
		return;
	pthread_mutex_lock(&sweep_mu);
	bg_wakes++;
	if (!bg_started)
		bg_start_locked();
	pthread_cond_signal(&sweep_cv);
	pthread_mutex_unlock(&sweep_mu);
}

void sweep_set_background(bool on)
{
	pthread_mutex_lock(&sweep_mu);
	atomic_store_relaxed(&bg_on, on);
	if (on) { /* sweep what a cycle left while it was off */
		bg_wakes++;
		if (!bg_started)
			bg_start_locked();
		pthread_cond_signal(&sweep_cv);
	}
	pthread_mutex_unlock(&sweep_mu);
}

void sweep_stats(sweep_counts *out)
{
	out->bg = atomic_load_relaxed(&bg_swept);
	out->lazy = mcentral_lazy_sweeps();
	out->finish = atomic_load_relaxed(&finish_swept);
}

void sweep_fork_child(void)
{
	/* The sweeper did not survive: forget it and its sweep in flight
	 * (it held no list lock: fork takes them all first). */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	sweep_mu = m;
	sweep_cv = c;
	bg_started = scav_started = false;
	atomic_store_relaxed(&sweep_state,
	                     atomic_load_relaxed(&sweep_state) & SWEEP_DRAINED);
}

/* ---- invariants ---- */

bool sweep_none_unswept(void)
{
	return mcentral_unswept() == 0 && mheap_large_unswept() == 0;
}

/* A swept span carries no mark bit (span_sweep and the large sweep
 * clear them); mheap_for_each_span, world stopped. */
struct swept_walk {
	uintptr_t h;
	const mspan *bad;
};

static void check_swept_unmarked(mspan *s, void *arg)
{
	struct swept_walk *sw = arg;
	if (sw->bad || atomic_load_relaxed(&s->sweepgen) != sw->h)
		return;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++)
		if (atomic_load_relaxed(&span_marks(s)[w]))
			sw->bad = s;
}

bool sweep_check(void)
{
	uintptr_t st = atomic_load_acquire(&sweep_state);
	uintptr_t ci = atomic_load_relaxed(&sweep_cursor);
	if (ci > NUM_CENTRALS) {
		base_warn("sweep_check: cursor %lu past the %u central lists",
		          (unsigned long)ci, (unsigned)NUM_CENTRALS);
		return false;
	}
	/* Open, a sweep in flight, or closed before the last flip (the
	 * spans unswept until sweep_wake): no more to check. */
	if (st != SWEEP_DRAINED || TRI_DEBUG < 1 ||
	    atomic_load_relaxed(&finished_gen) != mheap_swept_gen())
		return true;
	uint64_t small = mcentral_unswept(), large = mheap_large_unswept();
	if (small || large) {
		base_warn("sweep_check: gate closed with %lu small and %lu "
		          "large spans unswept (I1)", (unsigned long)small,
		          (unsigned long)large);
		return false;
	}
	if (!threads_world_stopped() || gc_phase() != GC_PHASE_OFF)
		return true;
	struct swept_walk sw = {mheap_swept_gen(), NULL};
	mheap_for_each_span(check_swept_unmarked, &sw);
	if (sw.bad) {
		base_warn("sweep_check: span %p (base %p, class %u) is swept "
		          "but has a mark bit set", (const void *)sw.bad,
		          (void *)sw.bad->base, (unsigned)sw.bad->spanclass);
		return false;
	}
	return true;
}

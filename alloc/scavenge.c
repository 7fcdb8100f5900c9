/*
 * scavenge.c -- the scavenger's goals and its three callers; see
 * scavenge.h.
 *
 * Background pass (scavenge_bg), per wake-up:
 *   1. Wait until scavenge_ready starts a new pass (cursor back at the top
 *      of the heap) and until the pacing allows work again (not_before).
 *   2. While retained memory is above the goal: release SCAV_QUANTUM at a
 *      time for at least SCAV_MIN_WORK_NS, then sleep 99 times the time
 *      worked. Stop when the search reaches the bottom of the heap.
 * Eager (scavenge_after_alloc): growth past the GOGC goal releases the
 * overage, at most the growth; anything past the memory limit is
 * released whatever it costs. An explicit free of a large object is
 * released with the span (scavenge_release_freed) while the free pages
 * kept exceed the slack.
 */
#include "scavenge.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "arena.h"
#include "mheap.h"
#include "os.h"

#define SCAV_MIN_WORK_NS 1000000ull /* Go's minScavWorkTime: 1 ms */
#define NO_GOAL UINT64_MAX

static atomic_word gc_goal = NO_GOAL;    /* bytes; scavenge_pace */
static atomic_word limit_goal = NO_GOAL; /* bytes; scavenge_pace */
static atomic_word work_bytes;           /* since scavenge_take_work */

/* The shared search cursor of background and eager scavenging (I2);
 * used only inside mheap_scavenge, under mheap.lock. */
static scav_cursor cursor;

static pthread_mutex_t scav_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t scav_cv = PTHREAD_COND_INITIALIZER;
static uint64_t pass;       /* scav_mu: passes started by scavenge_ready */
static uint64_t not_before; /* scav_mu: CLOCK_MONOTONIC ns */

static struct timespec abs_time(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
	                         .tv_nsec = (long)(ns % 1000000000u)};
}

/* ---- goals ---- */

void scavenge_pace(uint64_t last_heap_inuse, uint64_t heap_goal,
                   uint64_t last_heap_goal, int64_t memlimit)
{
	uint64_t lg = NO_GOAL;
	if (memlimit != INT64_MAX && memlimit >= 0)
		lg = (uint64_t)((double)memlimit *
		                (100 - SCAV_REDUCE_EXTRA_PERCENT) / 100);
	atomic_store_relaxed(&limit_goal, lg);
	uint64_t g = NO_GOAL;
	if (last_heap_goal != 0 && heap_goal != UINT64_MAX) {
		double ratio = (double)heap_goal / (double)last_heap_goal;
		g = (uint64_t)((double)last_heap_inuse * ratio);
		g += g / (100 / SCAV_RETAIN_EXTRA_PERCENT);
		g = align_up(g, OS_PAGE_SIZE);
	}
	atomic_store_relaxed(&gc_goal, g);
}

uint64_t scavenge_goal(void)
{
	uint64_t g = atomic_load_relaxed(&gc_goal);
	uint64_t l = atomic_load_relaxed(&limit_goal);
	return g < l ? g : l;
}

uint64_t scavenge_retained(void)
{
	uint64_t sys = arena_heap_sys(), rel = mheap_released_bytes();
	return sys > rel ? sys - rel : 0;
}

/* Bytes retained above the goal (Go: met within one physical page). */
static uint64_t over_goal(void)
{
	uint64_t goal = scavenge_goal(), r = scavenge_retained();
	return goal != NO_GOAL && r > goal + OS_PAGE_SIZE ? r - goal : 0;
}

static uintptr_t release(size_t bytes, bool *exhausted)
{
	uintptr_t n = mheap_scavenge(&cursor, bytes, exhausted);
	atomic_add_full(&work_bytes, n);
	return n;
}

uint64_t scavenge_take_work(void)
{
	uintptr_t n = atomic_load_relaxed(&work_bytes);
	atomic_add_full(&work_bytes, (uintptr_t)0 - n);
	return n;
}

/* ---- background ---- */

void scavenge_ready(void)
{
	pthread_mutex_lock(&scav_mu);
	pass++;
	pthread_cond_signal(&scav_cv);
	pthread_mutex_unlock(&scav_mu);
}

/* Sleep until not_before (scav_mu held; wake-ups for a new pass do not
 * cut the pacing short). */
static void wait_not_before(void)
{
	struct timespec until = abs_time(not_before);
	while (clock_ns(CLOCK_MONOTONIC) < not_before)
		if (pthread_cond_clockwait(&scav_cv, &scav_mu, CLOCK_MONOTONIC,
		                           &until) == ETIMEDOUT)
			break;
}

/* Step 1: wait for a pass newer than *seen, then for the pacing. */
static void wait_for_pass(uint64_t *seen)
{
	pthread_mutex_lock(&scav_mu);
	while (pass == *seen)
		pthread_cond_wait(&scav_cv, &scav_mu);
	*seen = pass;
	wait_not_before();
	pthread_mutex_unlock(&scav_mu);
}

/* Step 2's sleep: 100/SCAV_PERCENT - 1 times the time worked. */
static void pace(uint64_t worked_ns)
{
	uint64_t sleep = worked_ns * (100 / SCAV_PERCENT - 1);
	pthread_mutex_lock(&scav_mu);
	not_before = clock_ns(CLOCK_MONOTONIC) + sleep;
	wait_not_before();
	pthread_mutex_unlock(&scav_mu);
}

/* One pass from the top of the heap (step 2). */
static void bg_pass(void)
{
	mheap_scavenge_reset(&cursor);
	bool exhausted = false;
	while (!exhausted && over_goal()) {
		/* its own CPU time, madvise included, however busy the machine */
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), worked = 0;
		while (!exhausted && worked < SCAV_MIN_WORK_NS) {
			uint64_t over = over_goal();
			if (!over)
				break;
			release(over < SCAV_QUANTUM ? over : SCAV_QUANTUM,
			        &exhausted);
			worked = clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		}
		pace(worked);
	}
}

void *scavenge_bg(void *arg)
{
	(void)arg;
	uint64_t seen = 0;
	for (;;) {
		wait_for_pass(&seen);
		bg_pass();
	}
	return NULL;
}

/* ---- eager and on demand ---- */

void scavenge_after_alloc(size_t grown, size_t reused)
{
	uint64_t r = scavenge_retained();
	uint64_t g = atomic_load_relaxed(&gc_goal);
	uint64_t l = atomic_load_relaxed(&limit_goal);
	uint64_t todo = 0;
	if (grown && g != NO_GOAL && r > g) /* Go's mheap.grow */
		todo = r - g < grown ? r - g : grown;
	if ((grown || reused) && l != NO_GOAL && r > l && r - l > todo)
		todo = r - l; /* Go's allocSpan: the memory limit */
	if (todo) {
		bool exhausted;
		release(todo, &exhausted);
	}
}

bool scavenge_release_freed(size_t freed)
{
	uint64_t inuse = mheap_inuse_bytes(), r = scavenge_retained();
	uint64_t slack = inuse / SCAV_FREE_SLACK_DIV;
	if (slack < SCAV_FREE_SLACK_MIN)
		slack = SCAV_FREE_SLACK_MIN;
	return freed >= SCAV_FREE_MIN_BYTES && r > inuse + slack;
}

void scavenge_note_work(size_t bytes)
{
	atomic_add_full(&work_bytes, bytes);
}

uint64_t scavenge_all(void)
{
	scav_cursor cur;
	mheap_scavenge_reset(&cur);
	bool exhausted = false;
	uint64_t n = 0;
	while (!exhausted) {
		uintptr_t got = mheap_scavenge(&cur, 64 * SCAV_QUANTUM,
		                               &exhausted);
		if (!got && !exhausted)
			break; /* the OS refused */
		n += got;
	}
	return n;
}

/* ---- the walker ---- */

bool scavenge_check(void)
{
	/* released first: heap_sys only grows, so a later read bounds it */
	uint64_t rel = mheap_released_bytes(), sys = arena_heap_sys();
	uint64_t g = atomic_load_relaxed(&gc_goal);
	uint64_t l = atomic_load_relaxed(&limit_goal);
	const char *why = NULL;
	if (rel > sys)
		why = "more released than the heap holds (pages.h I5)";
	else if (g != NO_GOAL && g % OS_PAGE_SIZE)
		why = "the GOGC goal is not whole pages";
	else if (l != NO_GOAL && l >= (uint64_t)INT64_MAX)
		why = "the memory-limit goal is past any limit";
	if (why)
		base_warn("scavenge_check: %s (released %lu, heap %lu, goals "
		          "%lu, %lu)", why, (unsigned long)rel,
		          (unsigned long)sys, (unsigned long)g,
		          (unsigned long)l);
	return why == NULL;
}

void scavenge_fork_child(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	scav_mu = mu;
	scav_cv = cv;
	pass = 0;
	not_before = 0;
}

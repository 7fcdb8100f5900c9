/*
 * gc.c -- the cycle driver, tri_collect, tri_set_gc_percent and the
 * per-cycle record behind gctrace and the statistics. See gc.h.
 *
 * Times (Go's names): tSweepTerm when the stop begins, tMark when marking
 * begins, tMarkTerm when it ends, tEnd when the world runs again. The
 * whole [tSweepTerm, tEnd] is one pause. GC CPU counts every core for the
 * pause (the program is stopped on all of them): gctrace's "cpu" fields
 * are the clock fields times the number of CPUs, and gc_cpu_fraction is
 * the sum over cycles divided by (time since start * CPUs).
 *
 * Locks: world_lock (rank WORLD) serialises cycles and GOGC changes;
 * gcstats_lock (rank GCSTATS) the published statistics (I3).
 */
#include "gc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"
#include "../include/tricolor.h"
#include "debug.h"
#include "mark.h"
#include "pacer.h"
#include "roots.h"
#include "sweep.h"
#include "threads.h"
#include "trace.h"
#include "work.h"

static base_mutex world_lock;
static base_mutex gcstats_lock;
static int gcpercent = GOGC_DEFAULT;  /* world_lock */
static int64_t memlimit = MEMLIMIT_NONE;
static uint64_t heap_marked;          /* world_lock */
static gc_stats stats;                /* I3; gcstats_lock */
static uint64_t gc_cpu_total_ns;      /* gcstats_lock */
static uint64_t start_ns;             /* program start (monotonic) */

static uint64_t nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t walltime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Go's runtimeInitTime: as early as the program's constructors run. */
__attribute__((constructor)) static void note_start(void)
{
	if (!start_ns)
		start_ns = nanotime();
}

bool gc_init(void)
{
	note_start();
	base_mutex_init(&world_lock, LOCK_RANK_WORLD);
	base_mutex_init(&gcstats_lock, LOCK_RANK_GCSTATS);
	debug_init(&gcpercent, &memlimit);
	pacer_commit(0, gcpercent);
	stats.next_gc = pacer_goal();
	return threads_init() && roots_init() && work_init() && mark_init();
}

/* ---- one cycle ---- */

typedef struct cycle {
	bool forced;
	uint64_t t_start, t_sweep_term, t_mark, t_mark_term, t_end;
	uint64_t heap0, heap1, marked, scan_work, goal;
	uint64_t globals, stacks;
} cycle;

/* The pause: stop, flush, mark, flip, restart (gc.h). */
static void stop_mark_start(cycle *c)
{
	c->t_sweep_term = nanotime();
	threads_stop_world();
	mcache_flush_all();
	sweep_finish(); /* spans swept lazily since are fine; any left (I1) */
	c->heap1 = atomic_load_relaxed(&mheap_live);
	c->t_mark = nanotime();
	roots_prepare();
	c->marked = mark_run(&c->scan_work);
	c->t_mark_term = nanotime();
	c->globals = roots_bytes(ROOT_DATA) + roots_bytes(ROOT_USER) +
	             roots_bytes(ROOT_TLS);
	c->stacks = roots_bytes(ROOT_STACK);
	c->goal = pacer_goal();
	/* Flip (mheap.h I3): every span becomes unswept. */
	atomic_store_release(&mheap_sweepgen,
	                     atomic_load_relaxed(&mheap_sweepgen) + 2);
	atomic_store_relaxed(&mheap_live, c->marked); /* mheap.h I5 */
	heap_marked = c->marked;
	pacer_commit(heap_marked, gcpercent);
	threads_start_world();
	c->t_end = nanotime();
}

/* Spill the callee-saved registers into this frame (unwind_init saves
 * them all in the prologue), publish a stack pointer below it, and run the
 * pause: the caller's registers and frames are scanned like any stopped
 * thread's. */
static TRI_NOINLINE void with_registers_saved(cycle *c)
{
	__builtin_unwind_init();
	threads_save_self();
	stop_mark_start(c);
	compiler_barrier(); /* no tail call: this frame stays until here */
}

static double cpu_fraction(uint64_t now)
{
	uint64_t avail = (now - start_ns) * mark_nprocs();
	return avail ? (double)gc_cpu_total_ns / (double)avail : 0;
}

/* Publish the cycle's statistics (I3); returns its number, and the CPU
 * fraction after it in *frac. */
static uint64_t publish(const cycle *c, double *frac)
{
	uint64_t pause = c->t_end - c->t_sweep_term;
	unsigned ncpu = mark_nprocs();
	base_mutex_lock(&gcstats_lock);
	stats.pause_ns[stats.num_gc % 256] = pause;
	stats.pause_total_ns += pause;
	stats.num_gc++;
	stats.num_forced_gc += c->forced;
	stats.next_gc = pacer_goal();
	stats.last_gc_ns = walltime();
	gc_cpu_total_ns += pause * ncpu;
	uint64_t num = stats.num_gc;
	*frac = cpu_fraction(nanotime());
	base_mutex_unlock(&gcstats_lock);
	return num;
}

static void trace(const cycle *c, uint64_t num, double frac)
{
	unsigned ncpu = mark_nprocs();
	gc_trace_cycle t = {
		.num = num,
		.since_start_ns = c->t_sweep_term - start_ns,
		.cpu_percent = (int)(frac * 100),
		.clock_ns = {c->t_mark - c->t_sweep_term,
		             c->t_mark_term - c->t_mark,
		             c->t_end - c->t_mark_term},
		.heap0 = c->heap0, .heap1 = c->heap1, .heap2 = c->marked,
		.goal = c->goal, .stacks = c->stacks, .globals = c->globals,
		.nprocs = (int)ncpu, .forced = c->forced,
	};
	t.cpu_ns[0] = t.clock_ns[0] * ncpu;
	t.cpu_ns[2] = t.clock_ns[1] * ncpu; /* every core marks */
	t.cpu_ns[4] = t.clock_ns[2] * ncpu;
	trace_print_gc(&t);
}

static void gc_collect(bool forced)
{
	base_mutex_lock(&world_lock);
	if (!forced && (gcpercent < 0 || !mheap_over_trigger())) {
		base_mutex_unlock(&world_lock); /* another thread collected */
		return;
	}
	cycle c = {.forced = forced, .t_start = nanotime()};
	c.heap0 = atomic_load_relaxed(&mheap_live);
	sweep_finish(); /* Go sweeps what is left before it stops (I1) */
	mark_start_helpers();
	roots_snapshot_globals();
	threads_lock();
	with_registers_saved(&c);
	threads_unlock();
	sweep_wake();
	if (forced)
		sweep_finish(); /* runtime.GC returns with the heap swept */
	double frac;
	uint64_t num = publish(&c, &frac);
	if (debug.gctrace) /* under the world lock: lines stay in order */
		trace(&c, num, frac);
	base_mutex_unlock(&world_lock);
}

void gc_maybe_collect(void)
{
	if (mheap_over_trigger())
		gc_collect(false);
}

TRI_API void tri_collect(void)
{
	if (tri_thread_register() != 0) {
		base_warn("tri_collect: cannot register the calling thread");
		return;
	}
	gc_collect(true);
}

static int gcmode = TRI_MODE_STW; /* world_lock */

TRI_API int tri_set_mode(int mode)
{
	if (mode != TRI_MODE_STW && mode != TRI_MODE_CONCURRENT) {
		errno = EINVAL;
		return -1;
	}
	if (tri_init() != 0)
		return -1;
	base_mutex_lock(&world_lock);
	gcmode = mode;
	base_mutex_unlock(&world_lock);
	return 0;
}

TRI_API int64_t tri_set_memory_limit(int64_t limit)
{
	if (tri_init() != 0)
		return MEMLIMIT_NONE;
	base_mutex_lock(&world_lock);
	int64_t old = memlimit;
	if (limit >= 0)
		memlimit = limit;
	base_mutex_unlock(&world_lock);
	return old;
}

TRI_API int tri_set_gc_percent(int percent)
{
	if (tri_init() != 0)
		return GOGC_DEFAULT;
	base_mutex_lock(&world_lock);
	int old = gcpercent;
	gcpercent = percent < 0 ? GOGC_OFF
	                        : percent > GOGC_MAX ? GOGC_MAX : percent;
	pacer_commit(heap_marked, gcpercent);
	base_mutex_unlock(&world_lock);
	base_mutex_lock(&gcstats_lock);
	stats.next_gc = pacer_goal();
	base_mutex_unlock(&gcstats_lock);
	return old; /* a lower goal takes effect at the next refill */
}

void gc_read_stats(gc_stats *out)
{
	base_mutex_lock(&gcstats_lock);
	*out = stats;
	out->gc_cpu_fraction = cpu_fraction(nanotime());
	base_mutex_unlock(&gcstats_lock);
}

/* ---- fork: no cycle runs across fork() ---- */

void gc_fork_prepare(void)
{
	base_mutex_fork_lock(&world_lock);
	threads_fork_prepare();
	roots_fork_prepare();
}

void gc_fork_parent(void)
{
	roots_fork_parent();
	threads_fork_parent();
	base_mutex_fork_unlock(&world_lock);
}

void gc_fork_child(void)
{
	roots_fork_child();
	threads_fork_child();
	work_fork_child();
	mark_fork_child();
	sweep_fork_child();
	base_mutex_reinit(&gcstats_lock);
	base_mutex_reinit(&world_lock);
}

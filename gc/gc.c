/*
 * gc.c -- the cycle driver: the phases as a state machine (set_phase, gc.h
 * I5), the stop-the-world and concurrent cycles, the controller thread,
 * GOGC and the memory limit, and the per-cycle record behind gctrace and
 * the statistics. See gc.h.
 *
 * Times (Go's names): tSweepTerm when the first stop begins, tMark when
 * marking begins, tMarkTerm when it ends, tEnd when the world runs again.
 * Stop-the-world mode: the whole [tSweepTerm, tEnd] is one pause.
 * Concurrent mode: [tSweepTerm, tMark] and [tMarkTerm, tEnd] are the two
 * pauses; marking runs between them. GC CPU (Go's): each pause times the
 * number of CPUs, plus assist and dedicated/fractional worker CPU time
 * (idle workers excluded); gc_cpu_fraction is the sum over cycles divided
 * by (time since start * CPUs).
 *
 * The controller thread (never registered, takes no signals) runs the
 * concurrent cycles, the forced periodic cycle and tri_collect in
 * concurrent mode; it starts with the first cycle of either mode.
 *
 * Locks: world_lock (rank WORLD) serialises cycles and GOGC / limit
 * changes (the controller holds it for a whole concurrent cycle);
 * gcstats_lock (rank GCSTATS) the published statistics (I3); ctl_mu (an
 * unranked leaf) the controller's requests.
 */
#include "gc.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"
#include "../alloc/arena.h"
#include "../alloc/scavenge.h"
#include "../barrier/wbbuf.h"
#include "../include/tricolor.h"
#include "bgmark.h"
#include "checkmark.h"
#include "debug.h"
#include "mark.h"
#include "pacer.h"
#include "remark.h"
#include "roots.h"
#include "stacks.h"
#include "sweep.h"
#include "threads.h"
#include "trace.h"
#include "work.h"

static base_mutex world_lock;
static base_mutex gcstats_lock;
static int gcpercent = GOGC_DEFAULT;  /* world_lock */
static int64_t memlimit = MEMLIMIT_NONE;
static gc_stats stats;                /* I3; gcstats_lock */
static uint64_t gc_cpu_total_ns;      /* gcstats_lock */
static uint64_t start_ns;             /* program start (monotonic) */
static atomic_word gcmode = TRI_MODE_TRACKED; /* TRI_MODE_*; read once a
                                                 cycle */

/* The cycle driver's state (Go's gcphase and work): world_lock, except
 * phase, which anyone may read (gc_phase). */
static struct gc_state {
	atomic_word phase;     /* enum gc_phase; set_phase only (I5) */
	bool concurrent;       /* the mark under way is concurrent */
	bool tracked;          /* ... and has no barrier (remark.h) */
	uint64_t heap_marked;  /* bytes marked by the last cycle */
	uint64_t last_end_ns;  /* end of the last cycle; 0 before the first */
	/* The pacer's view of the heap now (inputs it keeps between
	 * cycles). */
	pacer_inputs last_inputs;
	/* The scavenger's inputs (Go's lastHeapGoal, memstats.lastHeapInUse):
	 * the goal of the last cycle to end and the bytes in use spans
	 * then. */
	uint64_t last_heap_goal, last_heap_inuse;
} gcs;

const char *const gc_phase_names[GC_NUM_PHASES] = {
	[GC_PHASE_OFF] = "off",
	[GC_PHASE_MARK] = "mark",
	[GC_PHASE_MARK_TERM] = "mark termination",
};

enum gc_phase gc_phase(void)
{
	return (enum gc_phase)atomic_load_relaxed(&gcs.phase);
}

static bool phase_edge(enum gc_phase from, enum gc_phase to)
{
	return (from == GC_PHASE_OFF && to == GC_PHASE_MARK) ||
	       (from == GC_PHASE_MARK && to == GC_PHASE_MARK_TERM) ||
	       (from == GC_PHASE_MARK_TERM &&
	        (to == GC_PHASE_OFF || to == GC_PHASE_MARK));
}

/* The debug build's walkers, at every phase boundary (TRI_DEBUG >= 3):
 * the world is stopped and the sweep gate closed (sweep.h I1, I3), so no
 * thread changes a span list, a cache or the page allocator while they
 * read them (the mark workers, when they run, touch none of these).
 * Every module's walker runs; the work lists must be empty on the edges
 * into and out of off, and the mark must be complete (mark_check) on the
 * way out of mark termination. Not pacer_check: the stop holds the CPU
 * limiter (pacer.h I5), which it would wait for. */
static void phase_check(enum gc_phase from, enum gc_phase to)
{
	if (!mheap_check() || !mcentral_check() || !threads_check() ||
	    !wbbuf_check() || !mcache_check() || !sweep_check() ||
	    !roots_check() || !stacks_check() || !work_check() ||
	    !checkmark_check() || !bgmark_check() || !scavenge_check() ||
	    !remark_check())
		base_fatal("phase check, %s -> %s: a walker failed (above)",
		           gc_phase_names[from], gc_phase_names[to]);
	if ((from == GC_PHASE_OFF || to == GC_PHASE_OFF) && !work_check_idle())
		base_fatal("phase check, %s -> %s: work left in the buffers",
		           gc_phase_names[from], gc_phase_names[to]);
	if (to == GC_PHASE_OFF && !mark_check())
		base_fatal("phase check: mark termination left the mark "
		           "incomplete");
}

/* The one place the phase changes (I5), with what goes with it. */
static void set_phase(enum gc_phase to, bool concurrent)
{
	enum gc_phase from = gc_phase();
	if (TRI_DEBUG >= 3)
		phase_check(from, to);
	TRI_ASSERT(phase_edge(from, to));
	TRI_ASSERT(threads_world_stopped());
	TRI_ASSERT(from == GC_PHASE_OFF || concurrent == gcs.concurrent);
	if (from == GC_PHASE_OFF && concurrent) { /* I4: black, then barrier */
		atomic_store_relaxed(&span_black_bytes, 0);
		atomic_store_relaxed(&span_alloc_black, 1);
		atomic_store_relaxed(&span_black_gen,
		                     atomic_load_relaxed(&mheap_sweepgen) / 2 + 1);
		wbbuf_enable(!gcs.tracked);
	}
	if (to == GC_PHASE_OFF) { /* both off, then every span unswept */
		atomic_store_relaxed(&span_alloc_black, 0);
		atomic_store_relaxed(&span_black_gen, 0);
		wbbuf_enable(false);
		atomic_store_release(&mheap_sweepgen,
		                     atomic_load_relaxed(&mheap_sweepgen) + 2);
	}
	TRI_ASSERT(!!atomic_load_relaxed(&span_alloc_black) ==
	           (to != GC_PHASE_OFF && concurrent));
	TRI_ASSERT(!!tri_wb_enabled ==
	           (to != GC_PHASE_OFF && concurrent && !gcs.tracked));
	gcs.concurrent = concurrent;
	atomic_store_relaxed(&gcs.phase, (uintptr_t)to);
}

static uint64_t nanotime(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t walltime(void)
{
	return clock_ns(CLOCK_REALTIME);
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
	remark_init(debug.gcdirty);
	if (!(threads_init() && roots_init() && stacks_init() && work_init() &&
	      mark_init()))
		return false;
	pacer_init(gcpercent, memlimit);
	pacer_limiter_reset(nanotime(), (int)mark_nprocs());
	stats.next_gc = pacer_goal();
	return true;
}

static void (*observer)(enum gc_event ev); /* set before any cycle */

void gc_set_observer(void (*fn)(enum gc_event ev))
{
	observer = fn;
}

static void observe(enum gc_event ev)
{
	if (observer)
		observer(ev);
}

/* ---- one cycle ---- */

typedef struct cycle {
	bool forced, concurrent, tracked;
	bool workers_stopped;           /* bgmark_stop already ran */
	unsigned restarts;              /* mark terminations that found grey */
	uint64_t aborted_pause_ns;      /* their stops */
	uint64_t t_start, t_sweep_term, t_mark, t_mark_term, t_end;
	uint64_t heap0, heap1, marked, scan_work, goal;
	uint64_t globals, stacks;
	uint64_t assist_ns, bg_ns, idle_ns; /* concurrent mark CPU */
	uint64_t t_stopped, t_rescanned; /* tracked: the final stop's parts */
	remark_stats rm;                 /* tracked: the re-mark's costs */
} cycle;

static void record_roots(cycle *c)
{
	uint64_t stack_bytes;
	c->marked = mark_totals(&c->scan_work, &stack_bytes);
	c->globals = roots_bytes(ROOT_DATA) + roots_bytes(ROOT_USER) +
	             roots_bytes(ROOT_TLS);
	c->stacks = c->concurrent ? stack_bytes : roots_bytes(ROOT_STACK);
}

/* The next cycle's kind: the mode asked for, unless GODEBUG forces
 * stop-the-world or the kernel tracks no writes (remark.h). */
enum cycle_kind { CYCLE_STW, CYCLE_BARRIER, CYCLE_TRACKED };

static enum cycle_kind wanted_kind(void)
{
	if (debug.gcstoptheworld)
		return CYCLE_STW;
	switch (atomic_load_relaxed(&gcmode)) {
	case TRI_MODE_CONCURRENT:
		return CYCLE_BARRIER;
	case TRI_MODE_TRACKED:
		return remark_available() ? CYCLE_TRACKED : CYCLE_STW;
	default:
		return CYCLE_STW;
	}
}

static bool want_concurrent(void)
{
	return wanted_kind() != CYCLE_STW;
}


static void commit_pacer(void)
{
	gcs.last_inputs.gogc = gcpercent;
	gcs.last_inputs.memlimit = memlimit;
	/* Go's mappedReady counts the runtime's metadata too; tricolor's is
	 * dominated by the arena index, 32 MiB reserved and mostly never
	 * touched, so only the heap's own memory counts toward the limit. */
	gcs.last_inputs.mapped_ready = scavenge_retained();
	gcs.last_inputs.heap_free = mheap_free_bytes();
	gcs.last_inputs.concurrent = want_concurrent();
	pacer_commit_cycle(&gcs.last_inputs);
	/* Go skips memory-limit scavenging while the CPU limiter limits:
	 * releasing pages that the program takes back at once only adds
	 * page faults and TLB shootdowns to a collector already at its cap */
	int64_t scav_limit = pacer_limiter_engaged() ? MEMLIMIT_NONE : memlimit;
	scavenge_pace(gcs.last_heap_inuse, pacer_goal(), gcs.last_heap_goal,
	              scav_limit);
}

/* World stopped, mark done: every span becomes unswept (mheap.h I3), the
 * heap is what was marked (I5), and the next goal is set. */
static void flip(cycle *c)
{
	c->goal = pacer_goal();
	gcs.last_heap_goal = c->goal == PACER_NEVER ? 0 : c->goal;
	gcs.last_heap_inuse = mheap_inuse_bytes();
	observe(GC_EVENT_MARK_DONE);
	set_phase(GC_PHASE_OFF, c->concurrent);
	atomic_store_relaxed(&mheap_live, c->marked); /* mheap.h I5 */
	gcs.heap_marked = c->marked;
	gcs.last_inputs = (pacer_inputs){
		.marked = c->marked, .heap_scan = c->scan_work,
		.stack_scan = c->stacks, .globals_scan = c->globals,
		/* Go's heapAlloc: the objects not swept yet count (F3) */
		.heap_alloc = c->heap1, .heap_live = c->marked,
		.sweep_done = false,
	};
	commit_pacer();
}

/* The stop-the-world pause: stop, flush, mark, flip, restart (gc.h). */
static void stop_mark_start(cycle *c)
{
	c->t_sweep_term = nanotime();
	threads_stop_world();
	mcache_flush_all();
	sweep_finish(); /* spans swept lazily since are fine; any left (I1) */
	c->heap1 = atomic_load_relaxed(&mheap_live);
	c->t_mark = nanotime();
	set_phase(GC_PHASE_MARK, false);
	mark_begin(false);
	roots_prepare(true);
	mark_run();
	c->t_mark_term = nanotime();
	set_phase(GC_PHASE_MARK_TERM, false);
	record_roots(c);
	flip(c);
	c->t_end = nanotime(); /* the one wake-up below ends the pause */
	threads_start_world();
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

/* The limiter (pacer.h F10) takes the whole of it as one stop: the
 * sweep it finishes first included; no assists in this mode. */
static void stw_cycle(cycle *c)
{
	pacer_limiter_start_transition(nanotime(), 0, 0, false);
	sweep_finish(); /* Go sweeps what is left before it stops (I1) */
	sweep_done();
	mark_start_helpers();
	roots_snapshot_globals();
	threads_lock();
	threads_flush_parked(); /* not in the pause */
	with_registers_saved(c);
	threads_unlock();
	pacer_limiter_finish_transition(nanotime());
}

/* ---- the concurrent cycle (gc.h), run by the controller thread ---- */

/* Sweep termination: the first pause. */
static void sweep_termination(cycle *c, unsigned *dedicated, double *frac)
{
	threads_lock();
	threads_flush_parked(); /* not in the pause */
	c->t_sweep_term = nanotime();
	threads_stop_world();
	mcache_flush_all(); /* every span cached from now on allocates black */
	sweep_finish();
	mark_begin(true);
	roots_prepare(false); /* the thread job scans stacks concurrently */
	set_phase(GC_PHASE_MARK, true);
	uint64_t live = atomic_load_relaxed(&mheap_live);
	pacer_workers pw = pacer_start_cycle(&(pacer_start_in){
		.heap_live = live, .heap_scan = live,
		.stack_size = gcs.last_inputs.stack_scan,
		.nprocs = (int)mark_nprocs()});
	*dedicated = pw.dedicated > 0 ? (unsigned)pw.dedicated : 0;
	/* Go's fractional goal is a share of each CPU; one worker runs it */
	*frac = pw.fractional * mark_nprocs();
	c->t_mark = nanotime(); /* the one wake-up below ends the pause */
	threads_start_world();
	threads_unlock();
}

static void rescan_root(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                        void *arg)
{
	(void)kind;
	mark_scan_range(lo, hi, arg);
}

/* While the controller waits for the mark: Go revises the assist ratio
 * as the heap grows, and updates the CPU limiter every 10 ms. */
static uint64_t limiter_assist_seen, limiter_idle_seen, limiter_last;

/* The workers' assist and idle CPU time since the limiter last took it
 * (controller thread only; the counters restart at bgmark_start). */
static void limiter_cpu(uint64_t *assist, uint64_t *idle, uint64_t *da,
                        uint64_t *di)
{
	bgmark_cpu_so_far(assist, idle);
	*da = *assist >= limiter_assist_seen ? *assist - limiter_assist_seen
	                                     : *assist;
	*di = *idle >= limiter_idle_seen ? *idle - limiter_idle_seen : *idle;
}

static void update_limiter(bool gc_running)
{
	uint64_t now = nanotime();
	if (now - limiter_last < 10000000)
		return;
	uint64_t assist, idle, da, di;
	limiter_cpu(&assist, &idle, &da, &di);
	if (pacer_limiter_update(now, da, di, gc_running)) {
		limiter_assist_seen = assist;
		limiter_idle_seen = idle;
		limiter_last = now;
	}
}

/* A pause of a concurrent cycle (Go's GC transitions, pacer.h F10). */
static void limiter_stop_begin(bool gc_running)
{
	uint64_t now = nanotime(), assist, idle, da, di;
	limiter_cpu(&assist, &idle, &da, &di);
	pacer_limiter_start_transition(now, da, di, gc_running);
	limiter_assist_seen = assist;
	limiter_idle_seen = idle;
	limiter_last = now;
}

static void revise(void)
{
	uint64_t scan, stacks;
	mark_totals(&scan, &stacks);
	pacer_revise(atomic_load_relaxed(&mheap_live), scan + stacks);
	update_limiter(true);
}

/* Mark termination: the second pause. Every cache is flushed (its black
 * allocations marked), every barrier buffer flushed, and every thread's
 * stack, registers and TLS scanned once more: an inline TRI_STORE may
 * have been stopped between its store and its shading, with the values
 * only in that thread's registers or frame (docs/concurrency.md). What
 * that turns grey is drained here; normally it is nothing. */
#define MAX_MARK_RESTARTS 4
/* A tracked mark's final rescan nearly always greys a few objects (the
 * program stored pointers since the last round), and what they reach
 * may be a large part of the heap (a subtree the program parked in a
 * local): the pause drains for up to TRACKED_DRAIN_NS itself, and
 * restarts the mark with what is left. */
#define TRACKED_DRAIN_NS 500000

/* The thread roots of mark termination: every thread's stack, registers
 * and TLS, barrier buffers flushed. A barrier mark skips a thread blocked
 * since its concurrent scan (threads.h I9); a tracked mark has no barrier
 * to shade what another thread stores into such a frame (remark.h I3). */
static unsigned rescan_threads(const cycle *c, gcwork *w)
{
	unsigned grey = 0;
	stacks_begin_scan();
	for (gthread *t = threads_first(); t; t = threads_next(t)) {
		if (!c->tracked && threads_blocked_since_scan(t))
			continue; /* threads.h I9: scanned, buffer flushed */
		grey += wbbuf_flush(threads_wbbuf(t));
		threads_roots_of(t, rescan_root, w);
	}
	stacks_for_each_suspended(rescan_root, w); /* coroutine stacks */
	stacks_run_scanner(rescan_root, w);
	return grey;
}

/* Go's gcMarkDone re-check: did the stop find more to mark? A barrier
 * mark restarts on any grey object; a tracked one first drains in the
 * pause for a while (TRACKED_DRAIN_NS). Never after MAX_MARK_RESTARTS
 * restarts: the caller then drains the rest in the pause. */
static bool should_restart(const cycle *c, unsigned grey)
{
	if (c->restarts >= MAX_MARK_RESTARTS)
		return false;
	if (!c->tracked)
		return grey > 0;
	return !bgmark_finish_stw(nanotime() + TRACKED_DRAIN_NS);
}

/* The pause itself; a tracked mark first rescans its last written pages
 * and the globals (remark_final). What is left grey when should_restart
 * says so is marked with the world running again; after
 * MAX_MARK_RESTARTS restarts it is drained in the pause, so a mark always
 * ends. Returns false after a restart; the aborted stop counts in the
 * cycle's pause. */
static bool mark_termination(cycle *c)
{
	bgmark_hold_workers(); /* bgmark.h I6: before the pause */
	threads_lock();
	threads_flush_parked(); /* not in the pause */
	c->t_mark_term = nanotime();
	threads_stop_world();
	set_phase(GC_PHASE_MARK_TERM, true);
	c->heap1 = atomic_load_relaxed(&mheap_live);
	mcache_flush_all();
	gcwork w = {0};
	c->t_stopped = nanotime();
	if (c->tracked)
		remark_final(&c->rm, &w); /* remark.h I2, I3 */
	unsigned grey = rescan_threads(c, &w);
	grey += mark_gcw_flush(&w);
	c->t_rescanned = nanotime();
	if (should_restart(c, grey)) {
		c->restarts++;
		uint64_t now = nanotime();
		c->aborted_pause_ns += now - c->t_mark_term;
		set_phase(GC_PHASE_MARK, true);
		threads_start_world();
		threads_unlock();
		bgmark_release_workers();
		return false;
	}
	bgmark_finish_stw(0);
	record_roots(c); /* before a re-mark rebuilds the root jobs */
	if (debug.gccheckmark) { /* the workers must be gone: it re-marks */
		bgmark_stop(&c->bg_ns, &c->idle_ns, &c->assist_ns);
		c->workers_stopped = true;
		checkmark_run();
	}
	c->marked += atomic_load_relaxed(&span_black_bytes);
	uint64_t assist, idle;
	bgmark_cpu_so_far(&assist, &idle);
	pacer_end_cycle(&(pacer_cycle_stats){
		.heap_live = c->heap1,
		.scan_work = c->scan_work + c->stacks + c->globals,
		.mark_ns = c->t_mark_term - c->t_mark,
		.assist_ns = assist, .idle_ns = idle,
		.nprocs = (int)mark_nprocs()});
	flip(c);
	c->t_end = nanotime(); /* the one wake-up below ends the pause */
	threads_start_world();
	threads_unlock();
	return true;
}

/* A tracked cycle lifts the protection at its end (remark_end): lifting
 * a page costs about 20 times less than the write fault it spares (0.75
 * us against 15 us on the build machine, docs/performance.md), and until
 * the next cycle the program writes many pages -- allocating, and the
 * sweeper and tri_free writing into freed objects under clobberfree.
 * The lift gives up as soon as the next cycle is wanted: cycles back to
 * back under a memory limit lift nothing. */
static bool lift_stop(void)
{
	return mheap_over_trigger();
}

static void wait_for_mark(void)
{
	bgmark_wait_quiescent(revise);
}

static void concurrent_cycle(cycle *c)
{
	sweep_finish();
	sweep_done();
	roots_snapshot_globals();
	/* remark.h I1: the epoch starts before anything is scanned; a
	 * kernel that fails here leaves the cycle to stop the world */
	if (c->tracked && !remark_begin(&c->rm)) {
		c->tracked = gcs.tracked = c->concurrent = false;
		stw_cycle(c);
		return;
	}
	unsigned dedicated;
	double frac;
	limiter_stop_begin(false);
	sweep_termination(c, &dedicated, &frac);
	pacer_limiter_finish_transition(nanotime());
	bgmark_start(dedicated, frac, c->t_mark);
	limiter_assist_seen = limiter_idle_seen = 0; /* counters restarted */
	bool done;
	do {
		wait_for_mark();
		if (c->tracked)
			remark_rounds(&c->rm, wait_for_mark);
		limiter_stop_begin(true);
		done = mark_termination(c);
		pacer_limiter_finish_transition(nanotime());
	} while (!done);
	if (!c->workers_stopped)
		bgmark_stop(&c->bg_ns, &c->idle_ns, &c->assist_ns);
	if (c->tracked)
		remark_end(&c->rm, lift_stop);
}

/* ---- statistics and trace ---- */

static double cpu_fraction(uint64_t now)
{
	uint64_t avail = (now - start_ns) * mark_nprocs();
	return avail ? (double)gc_cpu_total_ns / (double)avail : 0;
}

static uint64_t pause_of(const cycle *c)
{
	if (!c->concurrent)
		return c->t_end - c->t_sweep_term;
	return (c->t_mark - c->t_sweep_term) + (c->t_end - c->t_mark_term) +
	       c->aborted_pause_ns + c->rm.round_pause_ns;
}

/* The tracked line (trace.h): the last stop of the cycle in four parts --
 * stopping (and the caches flushed), the written pages, the globals and
 * stacks, the drain and the flip. */
static void trace_tracked(const cycle *c, uint64_t num)
{
	const remark_stats *rm = &c->rm;
	uint64_t rescan = c->t_rescanned - c->t_stopped;
	gc_trace_tracked t = {
		.num = num,
		.protect_ns = rm->protect_ns, .unprotect_ns = rm->unprotect_ns,
		.rounds = rm->rounds, .round_ns = rm->round_ns,
		.final_pages = rm->final_pages,
		.stop_ns = c->t_stopped - c->t_mark_term,
		.pages_ns = rm->final_pages_ns,
		.roots_ns = rescan > rm->final_pages_ns
		                    ? rescan - rm->final_pages_ns : 0,
		.drain_ns = c->t_end - c->t_rescanned,
	};
	for (unsigned i = 0; i < rm->rounds && i < TRACE_TRACKED_ROUNDS; i++)
		t.round_pages[i] = rm->round_pages[i];
	trace_print_tracked(&t);
}

/* Publish the cycle's statistics (I3); returns its number, and the CPU
 * fraction after it in *frac. Go's GC CPU: the pauses on every CPU, plus
 * assists and dedicated/fractional workers (idle workers excluded). */
static uint64_t publish(const cycle *c, double *frac)
{
	uint64_t pause = pause_of(c);
	unsigned ncpu = mark_nprocs();
	base_mutex_lock(&gcstats_lock);
	stats.pause_ns[stats.num_gc % 256] = pause;
	stats.pause_total_ns += pause;
	stats.num_gc++;
	stats.num_forced_gc += c->forced;
	stats.next_gc = pacer_goal();
	stats.last_gc_ns = walltime();
	gc_cpu_total_ns += pause * ncpu + c->assist_ns + c->bg_ns +
	                   c->rm.protect_ns + c->rm.round_ns +
	                   c->rm.unprotect_ns; /* the controller's share */
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
	if (c->concurrent) {
		t.cpu_ns[1] = c->assist_ns;
		t.cpu_ns[2] = c->bg_ns;
		t.cpu_ns[3] = c->idle_ns;
	} else {
		t.cpu_ns[2] = t.clock_ns[1] * ncpu; /* every core marks */
	}
	t.cpu_ns[4] = t.clock_ns[2] * ncpu;
	trace_print_gc(&t);
}

static void controller_start(void);

/* The trigger test: heap_live past the trigger and, in stop-the-world
 * mode, room in the GC CPU limiter (pacer.h F12; `wait`: world_lock
 * held, else a busy limiter says yes and the locked test decides). */
static bool trigger_fires(bool wait)
{
	return mheap_over_trigger() &&
	       (want_concurrent() || pacer_limiter_admit_stw(nanotime(), wait));
}

/* gctrace: the tracked mode's method, and why, once, before the first
 * cycle's line (a program that never collects prints nothing). */
static void trace_tracking_once(void)
{
	static bool said; /* world_lock */
	if (!debug.gctrace || said)
		return;
	said = true;
	char desc[256];
	remark_describe(desc, sizeof desc);
	trace_print_tracking(desc, remark_available());
}

/* One whole cycle under the world lock (I1), in the mode asked for. */
static void run_cycle(bool forced)
{
	trace_tracking_once();
	cycle c = {.forced = forced, .t_start = nanotime()};
	enum cycle_kind kind = wanted_kind();
	c.heap0 = atomic_load_relaxed(&mheap_live);
	c.concurrent = kind != CYCLE_STW;
	c.tracked = gcs.tracked = kind == CYCLE_TRACKED;
	if (c.concurrent)
		concurrent_cycle(&c);
	else
		stw_cycle(&c);
	gcs.last_end_ns = nanotime();
	observe(GC_EVENT_CYCLE_END);
	sweep_wake();
	double frac;
	uint64_t num = publish(&c, &frac);
	if (debug.gctrace) /* under the world lock: lines stay in order */
		trace(&c, num, frac);
	if (debug.gctrace && c.tracked)
		trace_tracked(&c, num);
	if (forced || debug.gcstoptheworld == 2) {
		sweep_finish(); /* runtime.GC returns with the heap swept */
		observe(GC_EVENT_SWEPT);
		sweep_done();   /* after the gctrace line, as in Go */
	}
	controller_start(); /* from the first cycle on: the periodic cycle */
}

/* ---- the controller thread (Go's background GC and sysmon's forced
 * periodic cycle) ---- */

static pthread_mutex_t ctl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t ctl_done_cv = PTHREAD_COND_INITIALIZER;
static bool ctl_running;           /* the thread exists; ctl_mu */
static bool ctl_kicked;            /* a cycle was asked for; ctl_mu */
static uint64_t forced_asked, forced_done; /* tickets; ctl_mu */

/* Go's forcegcperiod rule (pacer.h F11): a cycle ran, and none since. */
static bool periodic_due(void)
{
	return pacer_periodic_due(nanotime(), gcs.last_end_ns, gcpercent);
}

static void *controller_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ctl_mu);
	for (;;) {
		struct timespec dl;
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += 1;
		while (!ctl_kicked && forced_asked == forced_done &&
		       !periodic_due())
			if (pthread_cond_timedwait(&ctl_cv, &ctl_mu, &dl) ==
			    ETIMEDOUT)
				break;
		uint64_t ticket = forced_asked;
		bool forced = ticket != forced_done;
		ctl_kicked = false;
		pthread_mutex_unlock(&ctl_mu);
		update_limiter(false);
		base_mutex_lock(&world_lock);
		bool periodic = !forced && periodic_due();
		if (forced || periodic || trigger_fires(true)) {
			if (periodic && debug.gctrace) /* Go's line */
				(void)!write(2, "GC forced\n", 10);
			run_cycle(forced);
		}
		base_mutex_unlock(&world_lock);
		pthread_mutex_lock(&ctl_mu);
		if (forced)
			forced_done = ticket;
		pthread_cond_broadcast(&ctl_done_cv);
	}
	return NULL;
}

/* ctl_mu held: start the controller once (it takes no signals and is
 * never registered, like the mark workers). */
static void ensure_controller(void)
{
	if (!ctl_running)
		ctl_running = threads_start_internal(controller_main, NULL);
}

static void controller_start(void)
{
	pthread_mutex_lock(&ctl_mu);
	ensure_controller();
	pthread_mutex_unlock(&ctl_mu);
}

static void controller_kick(void)
{
	pthread_mutex_lock(&ctl_mu);
	ensure_controller();
	ctl_kicked = true;
	pthread_cond_signal(&ctl_cv);
	pthread_mutex_unlock(&ctl_mu);
}

/* tri_collect in concurrent mode: a whole cycle that starts after this
 * call, then sweep everything (Go's runtime.GC). */
static void controller_collect(void)
{
	pthread_mutex_lock(&ctl_mu);
	ensure_controller();
	uint64_t ticket = ++forced_asked;
	pthread_cond_signal(&ctl_cv);
	while (forced_done < ticket && ctl_running)
		pthread_cond_wait(&ctl_done_cv, &ctl_mu);
	bool ok = ctl_running;
	pthread_mutex_unlock(&ctl_mu);
	if (!ok) { /* no controller thread: collect here */
		base_mutex_lock(&world_lock);
		run_cycle(true);
		base_mutex_unlock(&world_lock);
	}
}

void gc_collect(bool forced)
{
	if (want_concurrent()) {
		if (forced)
			controller_collect();
		else
			controller_kick();
		return;
	}
	base_mutex_lock(&world_lock);
	if (forced || trigger_fires(true))
		run_cycle(forced);
	base_mutex_unlock(&world_lock);
}

void gc_maybe_collect(void)
{
	if (trigger_fires(false))
		gc_collect(false);
}


/* Go's debug.FreeOSMemory: a forced cycle (which sweeps), then every free
 * page back to the OS. */
void gc_free_os_memory(void)
{
	gc_collect(true);
	uint64_t n = scavenge_all();
	if (debug.scavtrace)
		trace_print_scav(n, mheap_released_bytes(), mheap_inuse_bytes(),
		                 scavenge_retained(), true);
}

/* Takes effect at the next cycle: run_cycle reads the mode once. */
int gc_set_mode(int mode)
{
	if (mode != TRI_MODE_STW && mode != TRI_MODE_CONCURRENT &&
	    mode != TRI_MODE_TRACKED) {
		errno = EINVAL;
		return -1;
	}
	atomic_store_relaxed(&gcmode, (uintptr_t)mode);
	return 0;
}

int64_t gc_set_memory_limit(int64_t limit)
{
	base_mutex_lock(&world_lock);
	int64_t old = memlimit;
	if (limit >= 0) {
		memlimit = limit;
		commit_pacer(); /* a lower goal takes effect at the next refill */
	}
	base_mutex_unlock(&world_lock);
	if (limit >= 0) {
		base_mutex_lock(&gcstats_lock);
		stats.next_gc = pacer_goal();
		base_mutex_unlock(&gcstats_lock);
	}
	return old;
}

int gc_set_gc_percent(int percent)
{
	base_mutex_lock(&world_lock);
	int old = gcpercent;
	gcpercent = percent < 0 ? GOGC_OFF
	                        : percent > GOGC_MAX ? GOGC_MAX : percent;
	commit_pacer();
	base_mutex_unlock(&world_lock);
	base_mutex_lock(&gcstats_lock);
	stats.next_gc = pacer_goal();
	base_mutex_unlock(&gcstats_lock);
	return old; /* a lower goal takes effect at the next refill */
}

/* fn(arg) with no cycle running and every other registered thread
 * stopped, the caller's registers spilled on its stack (as
 * with_registers_saved); `settle`: every cache flushed and every span
 * swept first (heap dumps), else the heap as the threads left it
 * (leakcheck.c). The caller holds world_lock and threads_lock. */
static TRI_NOINLINE void stopped_call(void (*fn)(void *), void *arg,
                                      bool settle)
{
	__builtin_unwind_init();
	threads_save_self();
	threads_stop_world();
	if (settle) {
		mcache_flush_all();
		sweep_finish();
	}
	fn(arg);
	threads_start_world();
	compiler_barrier();
}

void gc_with_world_stopped(void (*fn)(void *), void *arg)
{
	base_mutex_lock(&world_lock);
	threads_lock();
	stopped_call(fn, arg, false);
	threads_unlock();
	base_mutex_unlock(&world_lock);
}

void gc_read_stats(gc_stats *out)
{
	base_mutex_lock(&gcstats_lock);
	*out = stats;
	out->gc_cpu_fraction = cpu_fraction(nanotime());
	base_mutex_unlock(&gcstats_lock);
}

/* ---- the world stopped for a heap dump ---- */

void gc_run_stopped(void (*fn)(void *arg), void *arg)
{
	base_mutex_lock(&world_lock); /* I1: no cycle meanwhile */
	sweep_finish();
	threads_lock();
	stopped_call(fn, arg, true);
	threads_unlock();
	sweep_wake(); /* reopen the sweep gate sweep_finish closed */
	base_mutex_unlock(&world_lock);
}

/* ---- fork: no cycle runs across fork() ---- */

void gc_fork_child(void)
{
	threads_fork_child();
	mark_fork_child();
	sweep_fork_child();
	scavenge_fork_child();
	bgmark_fork_child();
	remark_fork_child();
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	ctl_mu = m;
	ctl_cv = cv;
	ctl_done_cv = cv;
	ctl_running = ctl_kicked = false;
	forced_done = forced_asked;
}

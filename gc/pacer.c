/*
 * pacer.c -- see pacer.h: the pure arithmetic (F1-F11), then the state.
 * References: Go 1.19 runtime/mgcpacer.go, mgclimit.go, proc.go
 * (forcegcperiod).
 */
#include "pacer.h"

#include <math.h>
#include <string.h>

#include "../alloc/mheap.h"
#include "debug.h"

/* ---- saturating helpers ---- */

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_add_overflow(a, b, &r) ? PACER_NEVER : r;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	uint64_t r;
	return __builtin_mul_overflow(a, b, &r) ? PACER_NEVER : r;
}

/* x * pct / 100, exact, saturating instead of wrapping. */
static uint64_t percent_of(uint64_t x, uint64_t pct)
{
	return add_sat(mul_sat(x / 100, pct), x % 100 * pct / 100);
}

/* A double as a byte count: truncated, 0 for negatives and NaN, ~0 past
 * 2^64 (a plain cast would be undefined there). */
static uint64_t u64_of(double x)
{
	if (!(x > 0))
		return 0;
	if (x >= 18446744073709551616.0)
		return PACER_NEVER;
	return (uint64_t)x;
}

/* ---- goals (F1-F4) ---- */

uint64_t pacer_heap_minimum(int gogc)
{
	return gogc < 0 ? 0 : (uint64_t)HEAP_MINIMUM * (uint64_t)gogc / 100;
}

uint64_t pacer_percent_goal(uint64_t marked, uint64_t stack_scan,
                            uint64_t globals_scan, int gogc)
{
	if (gogc < 0)
		return PACER_NEVER;
	uint64_t base = add_sat(add_sat(marked, stack_scan), globals_scan);
	uint64_t goal = add_sat(marked, percent_of(base, (uint64_t)gogc));
	TRI_ASSERT(goal >= marked); /* I2: saturating, never wrapping */
	uint64_t minimum = pacer_heap_minimum(gogc);
	return goal > minimum ? goal : minimum;
}

uint64_t pacer_heap_goal(uint64_t marked, int gogc)
{
	return pacer_percent_goal(marked, 0, 0, gogc);
}

uint64_t pacer_memlimit_goal(uint64_t limit, uint64_t mapped_ready,
                             uint64_t heap_free, uint64_t heap_alloc,
                             uint64_t marked)
{
	uint64_t heap = add_sat(heap_free, heap_alloc);
	/* The three are read racily; Go retries until they agree. */
	uint64_t nonheap = mapped_ready > heap ? mapped_ready - heap : 0;
	uint64_t overage = mapped_ready > limit ? mapped_ready - limit : 0;
	uint64_t taken = add_sat(nonheap, overage);
	if (taken >= limit)
		return marked;
	uint64_t goal = limit - taken;
	if (goal >= 2 * PACER_LIMIT_HEADROOM)
		goal -= PACER_LIMIT_HEADROOM;
	else
		goal = PACER_LIMIT_HEADROOM;
	return goal > marked ? goal : marked;
}

uint64_t pacer_final_goal(uint64_t percent_goal, uint64_t memlimit_goal,
                          uint64_t sweep_min, uint64_t triggered,
                          uint64_t *min_trigger)
{
	*min_trigger = 0;
	if (memlimit_goal < percent_goal)
		return memlimit_goal; /* the limit binds: no other floor */
	uint64_t goal = percent_goal > sweep_min ? percent_goal : sweep_min;
	*min_trigger = sweep_min;
	if (triggered != PACER_NEVER) {
		uint64_t floor = add_sat(triggered, PACER_MIN_RUNWAY);
		if (goal < floor)
			goal = floor;
	}
	return goal;
}

/* ---- runway and trigger (F5, F6) ---- */

uint64_t pacer_runway(double cons_mark, uint64_t heap_scan, uint64_t stack_scan,
                      uint64_t globals_scan)
{
	uint64_t work = add_sat(add_sat(heap_scan, stack_scan), globals_scan);
	double weight = cons_mark * (1 - PACER_BG_UTIL) / PACER_BG_UTIL;
	return u64_of(weight * (double)work);
}

uint64_t pacer_trigger_for(uint64_t goal, uint64_t min_trigger, uint64_t marked,
                           uint64_t runway)
{
	if (marked >= goal)
		return goal;
	uint64_t step = (goal - marked) / PACER_TRIGGER_DEN;
	uint64_t lo = min_trigger > marked ? min_trigger : marked;
	if (lo < marked + step * PACER_TRIGGER_MIN)
		lo = marked + step * PACER_TRIGGER_MIN;
	uint64_t hi = marked + step * PACER_TRIGGER_MAX;
	if (goal > HEAP_MINIMUM && goal - HEAP_MINIMUM > hi)
		hi = goal - HEAP_MINIMUM;
	if (hi < lo)
		hi = lo;
	uint64_t trigger = runway > goal ? lo : goal - runway;
	if (trigger < lo)
		trigger = lo;
	if (trigger > hi)
		trigger = hi;
	TRI_ASSERT(trigger <= goal); /* I1 */
	return trigger;
}

/* ---- mark workers and assists (F7, F8) ---- */

pacer_workers pacer_workers_for(int nprocs)
{
	pacer_workers w = {0, 0};
	if (nprocs < 1)
		return w;
	double total = nprocs * PACER_BG_UTIL;
	w.dedicated = (int)(total + 0.5);
	double err = w.dedicated / total - 1;
	if (err < -PACER_MAX_UTIL_ERROR || err > PACER_MAX_UTIL_ERROR) {
		if (w.dedicated > total)
			w.dedicated--;
		w.fractional = (total - w.dedicated) / nprocs;
	}
	/* F7: the split never exceeds the 25 % goal's CPUs */
	TRI_ASSERT(w.dedicated >= 0 && w.dedicated <= total + 0.5 &&
	           w.fractional >= 0 && w.fractional < 1);
	return w;
}

/* The goal stretched from the expected scan work to max_scan, keeping the
 * runway per unit of work (Go's extHeapGoal, truncated as Go does). */
static uint64_t extrapolate(uint64_t goal, uint64_t triggered,
                            uint64_t expected, uint64_t max_scan)
{
	double per_work = (double)max_scan / (double)expected;
	if (goal >= triggered)
		return add_sat(triggered,
		               u64_of((double)(goal - triggered) * per_work));
	uint64_t back = u64_of((double)(triggered - goal) * per_work);
	return triggered > back ? triggered - back : 0;
}

pacer_assist pacer_assist_for(const pacer_revise_in *in)
{
	double pct = in->gogc < 0 ? 100000 : in->gogc; /* forced cycle */
	uint64_t goal = in->goal, expected = in->expected;
	if (in->work > expected) { /* the heap is growing */
		uint64_t hard = u64_of((1.0 + pct / 100.0) * (double)goal);
		uint64_t ext = expected ? extrapolate(goal, in->triggered,
		                                      expected, in->max_scan)
		                        : hard;
		goal = ext < hard ? ext : hard;
		expected = in->max_scan;
	}
	if (in->heap_live > goal) { /* past even that: overshoot a little */
		goal = u64_of((double)goal * PACER_MAX_OVERSHOOT);
		expected = in->max_scan;
	}
	uint64_t scan_left = expected > in->work ? expected - in->work : 0;
	if (scan_left < PACER_MIN_SCAN_LEFT)
		scan_left = PACER_MIN_SCAN_LEFT;
	uint64_t heap_left = goal > in->heap_live ? goal - in->heap_live : 1;
	pacer_assist a = {(double)scan_left / (double)heap_left,
	                  (double)heap_left / (double)scan_left};
	/* I3: F8's floors keep both ratios positive and finite */
	TRI_ASSERT(a.work_per_byte > 0 && !isinf(a.work_per_byte) &&
	           a.bytes_per_work > 0 && !isinf(a.bytes_per_work));
	return a;
}

/* ---- cons/mark and its controller (F9) ---- */

bool pacer_cons_mark_for(const pacer_cycle_stats *s, uint64_t triggered,
                         double *cons_mark)
{
	if (s->heap_live <= triggered || s->scan_work == 0)
		return false;
	double u = PACER_BG_UTIL, ui = 0;
	if (s->mark_ns > 0 && s->nprocs > 0) {
		double cpu = (double)s->mark_ns * s->nprocs;
		u += (double)s->assist_ns / cpu;
		ui = (double)s->idle_ns / cpu;
	}
	if (u >= 1)
		return false;
	*cons_mark = (double)(s->heap_live - triggered) * (u + ui) /
	             ((double)s->scan_work * (1 - u));
	return true;
}

double pacer_pi_next(pacer_pi *c, double input, double setpoint, double period,
                     bool *ok)
{
	double raw = c->kp * (setpoint - input) + c->integral;
	*ok = false;
	if (isinf(raw) || isnan(raw)) {
		c->integral = 0;
		c->input_overflow = true;
		return c->min;
	}
	double out = raw < c->min ? c->min : raw > c->max ? c->max : raw;
	if (c->ti != 0 && c->tt != 0) {
		c->integral += c->kp * period / c->ti * (setpoint - input) +
		               period / c->tt * (out - raw);
		if (isinf(c->integral) || isnan(c->integral)) {
			c->integral = 0;
			c->err_overflow = true;
			return c->min;
		}
	}
	*ok = true;
	return out;
}

/* ---- the CPU limiter (F10) and the periodic cycle (F11) ---- */

void pacer_limiter_window(uint64_t window_ns, int nprocs, uint64_t assist_ns,
                          uint64_t idle_ns, bool gc_running,
                          int64_t *mutator_ns, int64_t *gc_ns)
{
	int64_t total = (int64_t)window_ns * nprocs;
	int64_t gc = (int64_t)assist_ns;
	if (gc_running) /* background workers assumed at their goal */
		gc += (int64_t)((double)total * PACER_BG_UTIL);
	*gc_ns = gc;
	*mutator_ns = total - (int64_t)idle_ns - gc;
}

void pacer_bucket_fill(pacer_bucket *b, int64_t mutator_ns, int64_t gc_ns)
{
	if (b->capacity == 0)
		return; /* not sized yet: never limits */
	uint64_t headroom = b->capacity - b->fill;
	bool was_full = headroom == 0;
	int64_t change = gc_ns - mutator_ns;
	if (change > 0 && headroom <= (uint64_t)change) {
		b->overflow += (uint64_t)change - headroom;
		b->fill = b->capacity;
		b->enabled = true;
		return;
	}
	if (change < 0) {
		uint64_t drain = -(uint64_t)change;
		b->fill = b->fill > drain ? b->fill - drain : 0;
	} else {
		b->fill += (uint64_t)change;
	}
	if (change != 0 && was_full)
		b->enabled = false;
	/* I4: never past capacity; limiting exactly when full */
	TRI_ASSERT(b->fill <= b->capacity &&
	           b->enabled == (b->fill == b->capacity));
}

void pacer_bucket_resize(pacer_bucket *b, int nprocs)
{
	b->capacity =
	    (uint64_t)(nprocs > 0 ? nprocs : 0) * PACER_LIMITER_PER_PROC;
	if (b->fill > b->capacity)
		b->fill = b->capacity;
	/* Go leaves the flag alone when fill == capacity; full means
	 * limiting here (I4). */
	b->enabled = b->capacity > 0 && b->fill == b->capacity;
}

bool pacer_stw_admits(const pacer_bucket *b, uint64_t burst_ns,
                      uint64_t cost_ns)
{
	if (b->capacity == 0)
		return true; /* not sized yet: never limits */
	uint64_t cost = cost_ns < burst_ns ? cost_ns : burst_ns;
	return b->fill <= burst_ns - cost;
}

bool pacer_periodic_due(uint64_t now_ns, uint64_t last_end_ns, int gogc)
{
	return gogc >= 0 && last_end_ns != 0 && now_ns > last_end_ns &&
	       now_ns - last_end_ns > PACER_FORCE_PERIOD_NS;
}

/* ---- state ---- */

/* Written with the world lock held. pacer_revise reads triggered,
 * expected and max_scan during mark: written by pacer_start_cycle before
 * marking starts, not changed until pacer_end_cycle. */
static struct {
	bool concurrent;
	bool started; /* a cycle has computed the assist ratio (I3) */
	int64_t memlimit;
	uint64_t marked;                                 /* heapMarked */
	uint64_t heap_scan, stack_scan, globals_scan;    /* last cycle's */
	uint64_t percent_goal, memlimit_goal, sweep_min; /* F2, F3, F4 */
	uint64_t runway;                                 /* F5 */
	double cons_mark;                                /* F9, smoothed */
	pacer_pi pi;
	uint64_t triggered; /* cycle start; PACER_NEVER outside a cycle */
	uint64_t expected;  /* scan work expected this cycle (F8) */
	uint64_t max_scan;  /* worst-case scan work this cycle (F8) */
} pacer = {.memlimit = MEMLIMIT_NONE,
           .pi = PACER_PI_CONS_MARK_INIT,
           .triggered = PACER_NEVER};

/* The limiter's state (F10, F12). */
static struct {
	atomic_word lock;        /* try-lock: 1 held (Go's limiter lock) */
	atomic_word enabled;     /* bucket.enabled for racy readers */
	atomic_word delays;      /* F12 delays so far, for racy readers */
	pacer_bucket bucket;     /* lock */
	uint64_t last_update_ns; /* lock; 0 = no window open yet */
	int nprocs;              /* lock */
	bool transitioning;      /* lock: a stop holds it (I5) */
	uint64_t stop_start_ns;  /* lock: when that stop began */
	uint64_t cycle_cost;     /* lock: the current cycle's stops (F10) */
	uint64_t stw_cost;       /* lock: the last whole cycle's (F12) */
	bool delaying;           /* lock: a refused cycle waits (I6) */
	atomic_word engaged;     /* limited since last asked (swap) */
} limiter;

/* Does the memory-limit goal bind (F4's first branch)? For F12. */
static atomic_word limit_binds_word;

static bool limiter_trylock(void)
{
	return atomic_cas_full(&limiter.lock, 0, 1) == 0;
}

static void limiter_unlock(void)
{
	atomic_store_release(&limiter.lock, 0); /* pairs: the next CAS */
}

/* Not inside a stop (I5): other holders keep it a few instructions. */
static void limiter_lock_wait(void)
{
	while (!limiter_trylock())
		;
}

/* Racy readers' copies (relaxed; doubles as bit patterns). */
static atomic_word goal_word = HEAP_MINIMUM;
static atomic_word trigger_word = HEAP_MINIMUM;
static atomic_word gogc_word = GOGC_DEFAULT; /* (uintptr_t)(intptr_t) */
static atomic_word assist_wpb_word, assist_bpw_word;

_Static_assert(sizeof(atomic_word) == sizeof(double) &&
                   sizeof(atomic_word) == sizeof(uint64_t),
               "the pacer keeps 64-bit values in atomic words");

static void store_double(atomic_word *w, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	atomic_store_relaxed(w, bits);
}

static double load_double(const atomic_word *w)
{
	uint64_t bits = atomic_load_relaxed(w);
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static int load_gogc(void)
{
	return (int)(intptr_t)atomic_load_relaxed(&gogc_word);
}

/* F4 with the current cycle's start; the stop-the-world mode takes no
 * minimum runway (its trigger is its goal). */
static uint64_t current_goal(uint64_t *min_trigger)
{
	uint64_t triggered = pacer.concurrent ? pacer.triggered : PACER_NEVER;
	return pacer_final_goal(pacer.percent_goal, pacer.memlimit_goal,
	                        pacer.sweep_min, triggered, min_trigger);
}

/* Goal and trigger (F4, F6) to the readers and to allocation. */
static void publish(void)
{
	uint64_t min_trigger;
	uint64_t goal = current_goal(&min_trigger);
	uint64_t trigger = goal;
	if (pacer.concurrent && goal != PACER_NEVER)
		trigger = pacer_trigger_for(goal, min_trigger, pacer.marked,
		                            pacer.runway);
	/* I2: F2 and F3 are at least marked, and F4 only raises them */
	TRI_ASSERT(goal >= pacer.marked);
	atomic_store_relaxed(&goal_word, goal);
	atomic_store_relaxed(&trigger_word, trigger);
	atomic_store_relaxed(&limit_binds_word,
	                     pacer.memlimit_goal < pacer.percent_goal);
	atomic_store_relaxed(&mheap_trigger, trigger);
}

void pacer_commit_cycle(const pacer_inputs *in)
{
	pacer.concurrent = in->concurrent;
	pacer.memlimit = in->memlimit;
	pacer.marked = in->marked;
	pacer.heap_scan = in->heap_scan;
	pacer.stack_scan = in->stack_scan;
	pacer.globals_scan = in->globals_scan;
	atomic_store_relaxed(&gogc_word, (uintptr_t)(intptr_t)in->gogc);
	pacer.percent_goal = pacer_percent_goal(in->marked, in->stack_scan,
	                                        in->globals_scan, in->gogc);
	pacer.memlimit_goal = PACER_NEVER; /* no limit: see pacer.h */
	if (in->memlimit >= 0 && in->memlimit != MEMLIMIT_NONE)
		pacer.memlimit_goal = pacer_memlimit_goal(
		    (uint64_t)in->memlimit, in->mapped_ready, in->heap_free,
		    in->heap_alloc, in->marked);
	pacer.sweep_min =
	    in->sweep_done ? 0 : add_sat(in->heap_live, PACER_SWEEP_DISTANCE);
	pacer.runway = pacer_runway(pacer.cons_mark, in->heap_scan,
	                            in->stack_scan, in->globals_scan);
	publish();
}

void pacer_init(int gogc, int64_t memlimit)
{
	pacer.pi = PACER_PI_CONS_MARK;
	pacer.cons_mark = 0;
	pacer.triggered = PACER_NEVER;
	pacer.started = false;
	store_double(&assist_wpb_word, 0);
	store_double(&assist_bpw_word, 0);
	limiter_lock_wait();
	limiter.bucket = (pacer_bucket){0};
	limiter.last_update_ns = 0;
	limiter.nprocs = 0;
	limiter.transitioning = limiter.delaying = false;
	atomic_store_relaxed(&limiter.engaged, 0);
	limiter.cycle_cost = limiter.stw_cost = 0;
	atomic_store_relaxed(&limiter.enabled, 0);
	atomic_store_relaxed(&limiter.delays, 0);
	limiter_unlock();
	pacer_inputs in = {
	    .gogc = gogc, .memlimit = memlimit, .sweep_done = true};
	pacer_commit_cycle(&in);
}

uint64_t pacer_goal(void)
{
	return atomic_load_relaxed(&goal_word);
}

uint64_t pacer_trigger(void)
{
	return atomic_load_relaxed(&trigger_word);
}

pacer_workers pacer_start_cycle(const pacer_start_in *in)
{
	/* one cycle at a time: the last one ended (pacer_end_cycle) */
	TRI_ASSERT(pacer.triggered == PACER_NEVER);
	uint64_t min_trigger;
	pacer.triggered = pacer_trigger();
	atomic_store_relaxed(&goal_word, current_goal(&min_trigger));
	pacer.expected = add_sat(add_sat(pacer.heap_scan, pacer.stack_scan),
	                         pacer.globals_scan);
	pacer.max_scan =
	    add_sat(add_sat(in->heap_scan, in->stack_size), pacer.globals_scan);
	pacer.started = true;
	pacer_revise(in->heap_live, 0);
	return pacer_workers_for(in->nprocs);
}

void pacer_revise(uint64_t heap_live, uint64_t work)
{
	pacer_revise_in in = {.heap_live = heap_live,
	                      .goal = pacer_goal(),
	                      .triggered = pacer.triggered,
	                      .work = work,
	                      .expected = pacer.expected,
	                      .max_scan = pacer.max_scan,
	                      .gogc = load_gogc()};
	pacer_assist a = pacer_assist_for(&in);
	store_double(&assist_wpb_word, a.work_per_byte);
	store_double(&assist_bpw_word, a.bytes_per_work);
}

double pacer_assist_work_per_byte(void)
{
	return load_double(&assist_wpb_word);
}

double pacer_assist_bytes_per_work(void)
{
	return load_double(&assist_bpw_word);
}

double pacer_end_cycle(const pacer_cycle_stats *s)
{
	double measured;
	if (pacer_cons_mark_for(s, pacer.triggered, &measured)) {
		bool ok;
		double next = pacer_pi_next(&pacer.pi, pacer.cons_mark,
		                            measured, 1.0, &ok);
		pacer.cons_mark = ok ? next : 0; /* a blown-up controller */
	}
	pacer.triggered = PACER_NEVER;
	return pacer.cons_mark;
}

double pacer_cons_mark(void)
{
	return pacer.cons_mark;
}

/* Close the window ending at now (lock held); false if now is before it
 * started. */
static bool limiter_update_locked(uint64_t now_ns, uint64_t assist_ns,
                                  uint64_t idle_ns, bool gc_running)
{
	TRI_ASSERT2(atomic_load_relaxed(&limiter.lock) == 1); /* held */
	if (now_ns < limiter.last_update_ns)
		return false;
	if (limiter.last_update_ns != 0) {
		int64_t mutator, gc;
		pacer_limiter_window(now_ns - limiter.last_update_ns,
		                     limiter.nprocs, assist_ns, idle_ns,
		                     gc_running, &mutator, &gc);
		pacer_bucket_fill(&limiter.bucket, mutator, gc);
	}
	if (limiter.bucket.enabled)
		atomic_store_relaxed(&limiter.engaged, 1);
	limiter.last_update_ns = now_ns;
	atomic_store_relaxed(&limiter.enabled, limiter.bucket.enabled);
	return true;
}

void pacer_limiter_reset(uint64_t now_ns, int nprocs)
{
	limiter_lock_wait();
	limiter_update_locked(now_ns, 0, 0, false);
	limiter.nprocs = nprocs;
	pacer_bucket_resize(&limiter.bucket, nprocs);
	atomic_store_relaxed(&limiter.enabled, limiter.bucket.enabled);
	limiter_unlock();
}

bool pacer_limiter_update(uint64_t now_ns, uint64_t assist_ns, uint64_t idle_ns,
                          bool gc_running)
{
	if (!limiter_trylock())
		return false;
	bool done =
	    limiter_update_locked(now_ns, assist_ns, idle_ns, gc_running);
	limiter_unlock();
	return done;
}

bool pacer_limiting(void)
{
	return atomic_load_relaxed(&limiter.enabled) != 0;
}

/* ---- the stops and stop-the-world admission (F10, F12) ---- */

void pacer_limiter_start_transition(uint64_t now_ns, uint64_t assist_ns,
                                    uint64_t idle_ns, bool gc_running)
{
	limiter_lock_wait();
	TRI_ASSERT(!limiter.transitioning); /* I5: world lock held */
	limiter_update_locked(now_ns, assist_ns, idle_ns, gc_running);
	if (!gc_running) { /* a cycle begins (F10): no delay is open */
		limiter.cycle_cost = 0;
		limiter.delaying = false;
	}
	limiter.transitioning = true;
	limiter.stop_start_ns = limiter.last_update_ns;
	/* held until finish (I5) */
}

void pacer_limiter_finish_transition(uint64_t now_ns)
{
	TRI_ASSERT(limiter.transitioning); /* I5 */
	uint64_t start = limiter.stop_start_ns;
	if (now_ns > start) {
		uint64_t gc = (now_ns - start) * (uint64_t)limiter.nprocs;
		pacer_bucket_fill(&limiter.bucket, 0, (int64_t)gc);
		limiter.cycle_cost = add_sat(limiter.cycle_cost, gc);
		limiter.last_update_ns = now_ns;
	}
	limiter.stw_cost = limiter.cycle_cost;
	if (limiter.bucket.enabled)
		atomic_store_relaxed(&limiter.engaged, 1);
	limiter.transitioning = false;
	atomic_store_relaxed(&limiter.enabled, limiter.bucket.enabled);
	limiter_unlock();
}

/* F12 with the lock held: the window to now is mutator time. */
static bool admit_stw_locked(uint64_t now_ns)
{
	TRI_ASSERT(!limiter.transitioning); /* I5 */
	limiter_update_locked(now_ns, 0, 0, false);
	uint64_t burst =
	    (uint64_t)(limiter.nprocs > 0 ? limiter.nprocs : 0) *
	    PACER_STW_BURST_PER_PROC;
	bool ok = pacer_stw_admits(&limiter.bucket, burst, limiter.stw_cost);
	if (!ok && !limiter.delaying) /* I6: a delay opens */
		atomic_store_relaxed(&limiter.delays,
		                     atomic_load_relaxed(&limiter.delays) + 1);
	limiter.delaying = !ok;
	if (!ok)
		atomic_store_relaxed(&limiter.engaged, 1);
	return ok;
}

bool pacer_limiter_admit_stw(uint64_t now_ns, bool wait)
{
	if (!atomic_load_relaxed(&limit_binds_word))
		return true; /* F12 applies to the memory-limit goal only */
	if (wait)
		limiter_lock_wait();
	else if (!limiter_trylock())
		return true; /* busy: the caller asks again under the lock */
	bool ok = admit_stw_locked(now_ns);
	limiter_unlock();
	return ok;
}

uint64_t pacer_limiter_delays(void)
{
	return atomic_load_relaxed(&limiter.delays);
}

pacer_bucket pacer_limiter_bucket(void)
{
	limiter_lock_wait();
	pacer_bucket b = limiter.bucket;
	limiter_unlock();
	return b;
}

bool pacer_limiter_engaged(void)
{
	/* no lock: the collector asks from inside a stop too (I5) */
	return atomic_swap_full(&limiter.engaged, 0) != 0 ||
	       pacer_limiting();
}

/* ---- invariants ---- */

static bool ratio_ok(double r)
{
	return r > 0 && !isinf(r);
}

bool pacer_check(void)
{
	uint64_t goal = pacer_goal(), trigger = pacer_trigger();
	bool ok = trigger <= goal; /* I1 */
	if (!pacer.concurrent && pacer.triggered == PACER_NEVER)
		ok = ok && trigger == goal; /* I1 */
	ok = ok && goal >= pacer.marked;    /* I2 */
	if (pacer.started)                  /* I3 */
		ok = ok && ratio_ok(pacer_assist_work_per_byte()) &&
		     ratio_ok(pacer_assist_bytes_per_work());
	pacer_bucket b = pacer_limiter_bucket();
	ok = ok && b.fill <= b.capacity && /* I4 */
	     b.enabled == (b.capacity > 0 && b.fill == b.capacity);
	return ok;
}

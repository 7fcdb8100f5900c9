/*
 * pacer.c -- see pacer.h: the pure arithmetic (F1-F11), then the state.
 * References: Go 1.19 runtime/mgcpacer.go, mgclimit.go, proc.go
 * (forcegcperiod).
 */
#include "pacer.h"

#include <math.h>

#include "../alloc/mheap.h"

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

uint64_t pacer_runway(double cons_mark, uint64_t heap_scan,
                      uint64_t stack_scan, uint64_t globals_scan)
{
	uint64_t work = add_sat(add_sat(heap_scan, stack_scan), globals_scan);
	double weight = cons_mark * (1 - PACER_BG_UTIL) / PACER_BG_UTIL;
	return u64_of(weight * (double)work);
}

uint64_t pacer_trigger_for(uint64_t goal, uint64_t min_trigger,
                           uint64_t marked, uint64_t runway)
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
	return (pacer_assist){(double)scan_left / (double)heap_left,
	                      (double)heap_left / (double)scan_left};
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

double pacer_pi_next(pacer_pi *c, double input, double setpoint,
                     double period, bool *ok)
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
}

void pacer_bucket_resize(pacer_bucket *b, int nprocs)
{
	b->capacity = (uint64_t)(nprocs > 0 ? nprocs : 0) *
	              PACER_LIMITER_PER_PROC;
	if (b->fill > b->capacity) {
		b->fill = b->capacity;
		b->enabled = true;
	} else if (b->fill < b->capacity) {
		b->enabled = false;
	}
}

bool pacer_periodic_due(uint64_t now_ns, uint64_t last_end_ns, int gogc)
{
	return gogc >= 0 && last_end_ns != 0 && now_ns > last_end_ns &&
	       now_ns - last_end_ns > PACER_FORCE_PERIOD_NS;
}

/* ---- state ---- */

static atomic_word heap_goal = HEAP_MINIMUM;

void pacer_commit(uint64_t marked, int gogc)
{
	uint64_t goal = pacer_heap_goal(marked, gogc);
	atomic_store_relaxed(&heap_goal, goal);
	atomic_store_relaxed(&mheap_trigger, goal);
}

uint64_t pacer_goal(void)
{
	return atomic_load_relaxed(&heap_goal);
}

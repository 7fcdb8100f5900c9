/*
 * pacer.h -- when the next cycle starts and how hard marking works: Go
 * 1.19's gcControllerState (mgcpacer.go) and gcCPULimiterState
 * (mgclimit.go).
 *
 * The arithmetic is in pure functions (no globals; unit-tested against
 * hand-computed values). A small stateful layer keeps last cycle's
 * measurements, calls them, and publishes the results for racy readers.
 *
 * Per cycle, the collector (gc/gc.c):
 *   1. pacer_init at startup; pacer_limiter_reset with the CPU count.
 *   2. Allocation starts a cycle when heap_live >= mheap_trigger. In
 *      stop-the-world mode with the memory limit setting the goal, only
 *      if pacer_limiter_admit_stw says the CPU limiter has room for it
 *      (F12); else the heap overshoots the goal and the next trigger
 *      test asks again. Forced cycles never wait.
 *   3. Every stop of the world (the whole stop-the-world cycle, from the
 *      sweep it finishes before stopping to the restart; each pause of a
 *      concurrent one) is bracketed by pacer_limiter_start_transition /
 *      _finish_transition (F10's stops). Sweep termination:
 *      pacer_start_cycle gives the worker split (F7) and the first
 *      assist ratio (F8).
 *   4. Mark: pacer_revise as heap_live and scan work grow; assists use
 *      the ratios unless pacer_limiting(); pacer_limiter_update about
 *      every 10 ms (F10).
 *   5. Mark termination: pacer_end_cycle (F9), then pacer_commit_cycle
 *      for the next goal, runway and trigger (F2-F6); the memory limit
 *      goes on to the scavenger unless pacer_limiter_engaged().
 *   6. An idle heap gets a cycle when pacer_periodic_due (F11).
 *
 * Formulas (GOGC = gogc; sizes in bytes; `/` on integers rounds down):
 *   F1  heap minimum = 4 MiB * GOGC/100                      (heapMinimum)
 *   F2  percent goal = max(marked + (marked + stack_scan + globals_scan)
 *                          * GOGC/100, F1); ~0 when GOGC < 0
 *                                                       (gcPercentHeapGoal)
 *   F3  memory-limit goal (memoryLimitHeapGoal):
 *         nonheap = mapped_ready - heap_free - heap_alloc
 *         overage = max(mapped_ready - limit, 0)
 *         nonheap + overage >= limit  ->  marked
 *         g = limit - nonheap - overage
 *         g = g - 1 MiB >= 1 MiB ? g - 1 MiB : 1 MiB      (1 MiB headroom)
 *         max(g, marked)
 *   F4  goal = min(F2, F3) (heapGoalInternal). Only when F3 does not bind:
 *         goal = max(goal, sweep_min) and min_trigger = sweep_min, where
 *         sweep_min = heap_live + 1 MiB if sweeping is unfinished at commit
 *         (sweepDistMinTrigger), else 0; and during a cycle
 *         goal = max(goal, triggered + 64 KiB)                 (minRunway)
 *   F5  runway = cons_mark * (1 - 0.25)/0.25
 *                * (heap_scan + stack_scan + globals_scan)      (commit)
 *   F6  trigger (trigger()): marked >= goal -> goal. Else
 *         lo = max(min_trigger, marked, marked + (goal - marked)/64 * 45)
 *         hi = marked + (goal - marked)/64 * 61
 *         hi = goal - 4 MiB if goal > 4 MiB and goal - 4 MiB > hi
 *         hi = max(hi, lo)
 *         trigger = clamp(runway > goal ? lo : goal - runway, lo, hi)
 *       Stop-the-world mode, and a goal of ~0: trigger = goal (the heap
 *       cannot grow while marking, so there is nothing to leave runway
 *       for; ~0 stays "never").
 *   F7  mark workers (startCycle): total = nprocs * 0.25,
 *         dedicated = (int)(total + 0.5); if |dedicated/total - 1| > 0.3:
 *         dedicated -= (dedicated > total), fractional = (total -
 *         dedicated)/nprocs; else fractional = 0.
 *   F8  assist ratio (revise): work = scan work done, expected = last
 *       heap_scan + stack_scan + globals_scan, max_scan = heap_scan now +
 *       stack in use + globals_scan, g = goal:
 *         work > expected (heap growing): g = min(triggered + (g -
 *           triggered)/expected * max_scan, (1 + GOGC/100) * g),
 *           expected = max_scan                  (GOGC off acts as 100000)
 *         heap_live > g (overshoot): g = g * 1.1, expected = max_scan
 *         work_per_byte = max(expected - work, 1000) / max(g - heap_live, 1)
 *         bytes_per_work = its reciprocal
 *   F9  cons/mark (endCycle): u = 0.25 + assist_ns / (mark_ns * nprocs),
 *       ui = idle_ns / (mark_ns * nprocs),
 *         cons_mark = (heap_live - triggered) * (u + ui)
 *                     / (scan_work * (1 - u)),
 *       smoothed by a PI controller (kp 0.9, ti 4, tt 1000, output in
 *       [-1000, 1000]; period 1 cycle; input = the old cons_mark):
 *         raw = kp * (setpoint - input) + integral; out = clamp(raw)
 *         integral += kp * period/ti * (setpoint - input)
 *                     + period/tt * (out - raw)
 *   F10 CPU limiter (mgclimit.go), a leaky bucket of nprocs * 1 s:
 *         gc = assist_ns + (cycle running ? 0.25 * window * nprocs : 0)
 *         mutator = window * nprocs - idle_ns - gc
 *         fill = clamp(fill + gc - mutator, 0, capacity)
 *       A stop of the world from start to end (Go's GC transitions):
 *       the window up to start closes as above, then
 *         gc = (end - start) * nprocs,  mutator = 0
 *       and no other update happens in between. The stops of one cycle
 *       add up to its cost (F12), reset by a stop that starts a cycle.
 *       limiting while full: assists are skipped (GC CPU stays near 50 %).
 *       A bucket of capacity 0 (not sized yet) never fills.
 *   F11 periodic cycle: GOGC >= 0 and more than 2 minutes since the last
 *       cycle ended (forcegcperiod).
 *   F12 stop-the-world admission (no assists to skip: the limiter delays
 *       cycles instead), when the memory-limit goal is the goal (F4):
 *         burst = nprocs * 100 ms                (PACER_STW_BURST_PER_PROC)
 *         cost  = min(the last cycle's stops * nprocs (F10), burst)
 *         a triggered cycle starts  <=>  fill + cost <= burst
 *       with fill updated to now first (the time since the last stop is
 *       mutator time). Otherwise the heap overshoots the goal and the
 *       next trigger test (each refill past the trigger) asks again. So
 *       a cycle whose stop lasted p waits until the bucket has drained
 *       p * nprocs, i.e. the program ran for at least p since: GC takes
 *       at most about half the wall time once the first `burst` of
 *       excess GC time is spent (~100 ms of stops, not Go's 1 s: in
 *       this mode a burst is the program standing still). Forced
 *       cycles, the percent goal and concurrent mode never wait.
 *
 * Invariants (pacer_check):
 *   I1. trigger <= goal; outside a cycle in stop-the-world mode,
 *       trigger == goal.
 *   I2. goal >= marked (F2, F3 and F4 never go below it).
 *   I3. Once a cycle has started, assist_work_per_byte and
 *       assist_bytes_per_work are > 0 and finite (F8's floors).
 *   I4. The limiter's fill <= capacity, and it is limiting exactly when
 *       full (capacity > 0).
 *   I5. Between pacer_limiter_start_transition and _finish_transition
 *       the limiter is held: updates fail and leave the bucket alone, so
 *       the stop is charged once, as GC time. Transitions happen under
 *       the world lock only, so a caller holding it never finds one open.
 *   I6. F12: pacer_limiter_admit_stw admits a cycle under a binding
 *       memory limit only when fill + cost <= burst at that moment, so
 *       the cycle's own stops can take fill past burst by about one
 *       cycle's cost at most; a refusal opens a delay, closed by the next
 *       admission or cycle (each delay counted once).
 *
 * Concurrency: writes to the pacer state (init, commit, start, end) run
 * with the world lock held (Go: STW or mheap_.lock). pacer_revise may run
 * on any thread during mark (racy, as Go's revise): it only reads what
 * pacer_start_cycle wrote before marking began and stores the two ratios.
 * Readers (goal, trigger, ratios, limiting, periodic) load atomic words
 * relaxed; doubles travel as their bit pattern. The limiter has its own
 * try-lock (Go's), so any thread may call pacer_limiter_update; a stop
 * holds it from start to finish (I5), everything else for a few
 * instructions, so a waiter under the world lock spins briefly.
 *
 * Deviations from Go: the goal and trigger are computed at commit (and at
 * cycle start), not on demand from live statistics; with no memory limit
 * (MEMLIMIT_NONE) F3 is skipped, so GOGC=off gives goal = trigger = ~0
 * ("never") rather than ~2^63; a cycle with no scan work, or with assists
 * using all the CPU, measures no cons/mark (Go divides by zero there); the
 * minimum runway (F4) applies in concurrent mode only; a limiter resized
 * to exactly its fill is limiting (Go keeps the old flag); the scannable
 * heap taken at cycle start is not revised as the cycle allocates; F12
 * has no Go counterpart (Go has no stop-the-world mode).
 */
#ifndef TRI_PACER_H
#define TRI_PACER_H

#include "../base/base.h"

#define HEAP_MINIMUM           (4 * TRI_MiB)  /* Go's defaultHeapMinimum */
#define PACER_BG_UTIL          0.25           /* gcBackgroundUtilization */
#define PACER_LIMIT_HEADROOM   TRI_MiB        /* memoryLimitHeapGoalHeadroom */
#define PACER_SWEEP_DISTANCE   TRI_MiB        /* sweepMinHeapDistance */
#define PACER_MIN_RUNWAY       (64 * TRI_KiB) /* heapGoalInternal's minRunway */
#define PACER_TRIGGER_DEN      64             /* triggerRatioDen */
#define PACER_TRIGGER_MIN      45             /* minTriggerRatioNum (~0.7) */
#define PACER_TRIGGER_MAX      61             /* maxTriggerRatioNum (~0.95) */
#define PACER_MAX_UTIL_ERROR   0.3            /* startCycle's maxUtilError */
#define PACER_MIN_SCAN_LEFT    1000 /* revise's scanWorkRemaining floor */
#define PACER_MAX_OVERSHOOT    1.1  /* revise's maxOvershoot */
#define PACER_LIMITER_PER_PROC 1000000000ull   /* capacityPerProc: 1 s */
#define PACER_STW_BURST_PER_PROC 100000000ull  /* F12's burst: 100 ms */
#define PACER_FORCE_PERIOD_NS  120000000000ull /* forcegcperiod: 2 min */
#define PACER_NEVER            (~(uint64_t)0)

/* ---- pure arithmetic (no globals) ---- */

uint64_t pacer_heap_minimum(int gogc); /* F1 */
uint64_t pacer_percent_goal(uint64_t marked, uint64_t stack_scan,
                            uint64_t globals_scan, int gogc); /* F2 */
/* F2 with no stacks or globals: the stop-the-world formula. */
uint64_t pacer_heap_goal(uint64_t marked, int gogc);
uint64_t pacer_memlimit_goal(uint64_t limit, uint64_t mapped_ready,
                             uint64_t heap_free, uint64_t heap_alloc,
                             uint64_t marked); /* F3 */
/* F4: triggered is PACER_NEVER outside a cycle; *min_trigger is set. */
uint64_t pacer_final_goal(uint64_t percent_goal, uint64_t memlimit_goal,
                          uint64_t sweep_min, uint64_t triggered,
                          uint64_t *min_trigger);
uint64_t pacer_runway(double cons_mark, uint64_t heap_scan, uint64_t stack_scan,
                      uint64_t globals_scan); /* F5 */
uint64_t pacer_trigger_for(uint64_t goal, uint64_t min_trigger, uint64_t marked,
                           uint64_t runway); /* F6 */

typedef struct pacer_workers {
	int dedicated;     /* workers that mark for the whole phase */
	double fractional; /* share of each other CPU's time to mark */
} pacer_workers;

pacer_workers pacer_workers_for(int nprocs); /* F7 */

typedef struct pacer_revise_in {
	uint64_t heap_live; /* now */
	uint64_t goal;      /* F4 during the cycle */
	uint64_t triggered; /* the trigger this cycle started at */
	uint64_t work;      /* scan work done so far (heap+stack+globals) */
	uint64_t expected;  /* last heap_scan + stack_scan + globals_scan */
	uint64_t max_scan;  /* heap_scan now + stack in use + globals_scan */
	int gogc;
} pacer_revise_in;

typedef struct pacer_assist {
	double work_per_byte;  /* scan work owed per byte allocated */
	double bytes_per_work; /* bytes of credit per unit of scan work */
} pacer_assist;

pacer_assist pacer_assist_for(const pacer_revise_in *in); /* F8 */

/* What a cycle measured, at mark termination (Go's endCycle inputs). */
typedef struct pacer_cycle_stats {
	uint64_t heap_live; /* at mark termination */
	uint64_t scan_work; /* heap + stack + globals bytes scanned */
	uint64_t mark_ns;   /* wall time from cycle start to termination */
	uint64_t assist_ns; /* CPU time in assists */
	uint64_t idle_ns;   /* CPU time of idle mark workers */
	int nprocs;
} pacer_cycle_stats;

/* F9's raw measurement into *cons_mark; false when there is none (heap
 * did not grow past triggered, no scan work, or u >= 1). */
bool pacer_cons_mark_for(const pacer_cycle_stats *s, uint64_t triggered,
                         double *cons_mark);

/* A proportional-integral controller (Go's piController). */
typedef struct pacer_pi {
	double kp, ti, tt; /* gain, integral time, reset time */
	double min, max;   /* output bounds */
	double integral;   /* accumulated error */
	bool err_overflow, input_overflow;
} pacer_pi;

/* Go's cons/mark controller, as an initializer and as a value. */
#define PACER_PI_CONS_MARK_INIT                                             \
	{                                                                   \
		.kp = 0.9, .ti = 4.0, .tt = 1000, .min = -1000, .max = 1000 \
	}
#define PACER_PI_CONS_MARK ((pacer_pi)PACER_PI_CONS_MARK_INIT)

/* One sample; returns the new output. On an infinite or NaN result the
 * integral resets, a flag is set, *ok is false and min is returned. */
double pacer_pi_next(pacer_pi *c, double input, double setpoint, double period,
                     bool *ok);

/* F10's bucket (Go's gcCPULimiterState.bucket and accumulate). */
typedef struct pacer_bucket {
	uint64_t fill, capacity; /* ns of CPU */
	uint64_t overflow;       /* GC time that did not fit, for stats */
	bool enabled;            /* limiting: full */
} pacer_bucket;

/* A window of window_ns on nprocs CPUs as mutator and GC CPU time. */
void pacer_limiter_window(uint64_t window_ns, int nprocs, uint64_t assist_ns,
                          uint64_t idle_ns, bool gc_running,
                          int64_t *mutator_ns, int64_t *gc_ns);
void pacer_bucket_fill(pacer_bucket *b, int64_t mutator_ns, int64_t gc_ns);
/* New capacity for nprocs; full (or over) turns limiting on. */
void pacer_bucket_resize(pacer_bucket *b, int nprocs);
/* F12: may a stop-the-world cycle costing cost_ns start, with this burst?
 * Always true for a bucket of capacity 0. */
bool pacer_stw_admits(const pacer_bucket *b, uint64_t burst_ns,
                      uint64_t cost_ns);

bool pacer_periodic_due(uint64_t now_ns, uint64_t last_end_ns, int gogc);

/* ---- state (world lock held for writes) ---- */

/* What mark termination knows (Go: heapMarked, lastHeapScan,
 * lastStackScan, globalsScan, gcPercent, memoryLimit and the heap stats). */
typedef struct pacer_inputs {
	uint64_t marked;       /* heap bytes marked this cycle */
	uint64_t heap_scan;    /* of the heap, bytes scanned */
	uint64_t stack_scan;   /* stack bytes scanned */
	uint64_t globals_scan; /* data, bss, TLS and user roots scanned */
	int gogc;              /* percent, < 0 = off */
	int64_t memlimit;      /* bytes; MEMLIMIT_NONE (gc/debug.h) = none */
	uint64_t mapped_ready; /* mapped, not released (metadata included) */
	uint64_t heap_free;    /* in no span, not released */
	uint64_t heap_alloc;   /* in objects (swept or not) */
	uint64_t heap_live;    /* now: = marked at mark termination */
	bool sweep_done;       /* false when sweeping follows this commit */
	bool concurrent;       /* the next cycle marks concurrently */
} pacer_inputs;

typedef struct pacer_start_in {
	uint64_t heap_live;  /* at the trigger */
	uint64_t heap_scan;  /* scannable heap now (heap_live if untracked) */
	uint64_t stack_size; /* stack bytes in use (Go's maxStackScan) */
	int nprocs;          /* CPUs for the cycle */
} pacer_start_in;

/* Reset everything: no cycle measured, GOGC and the memory limit given;
 * goal = trigger = the heap minimum (MEMLIMIT_NONE: no limit). */
void pacer_init(int gogc, int64_t memlimit);
/* At mark termination (or when GOGC or the limit changes): remember the
 * inputs, compute goal (F2-F4), runway (F5) and trigger (F6, or = goal
 * when !concurrent), and publish the trigger to mheap_trigger. */
void pacer_commit_cycle(const pacer_inputs *in);
uint64_t pacer_goal(void);    /* racy reader; PACER_NEVER = none */
uint64_t pacer_trigger(void); /* racy reader; = mheap_trigger */

/* Sweep termination of a concurrent cycle: remember the trigger as the
 * cycle's start (Go's triggered), raise the goal to triggered + 64 KiB if
 * needed, compute the first assist ratio; returns the worker split. */
pacer_workers pacer_start_cycle(const pacer_start_in *in);
/* During mark, any thread: new assist ratio for heap_live and the scan
 * work done so far (heap + stack + globals). Racy like Go's revise. */
void pacer_revise(uint64_t heap_live, uint64_t work);
double pacer_assist_work_per_byte(void); /* racy readers (I3) */
double pacer_assist_bytes_per_work(void);
/* Mark termination, before pacer_commit_cycle: measure cons/mark (F9)
 * against the cycle's start, smooth it, end the cycle; returns the new
 * cons/mark. */
double pacer_end_cycle(const pacer_cycle_stats *s);
double pacer_cons_mark(void);

/* The GC CPU limiter (F10). reset: at init and when the CPU count
 * changes (the open window counts as mutator time). update: any thread,
 * with the assist and idle CPU time since its last successful update and
 * whether a cycle ran in the window (call it at each cycle start and end
 * too); false when another thread is updating or the clock went back --
 * keep the times for the next call. While pacer_limiting(), skip assists
 * (and memory-limit scavenging). */
void pacer_limiter_reset(uint64_t now_ns, int nprocs);
bool pacer_limiter_update(uint64_t now_ns, uint64_t assist_ns, uint64_t idle_ns,
                          bool gc_running);
bool pacer_limiting(void);

/* F10's stops (Go's startGCTransition, finishGCTransition), world lock
 * held: start closes the window at now_ns as pacer_limiter_update would
 * (waiting for a racing update) and holds the limiter (I5); finish
 * charges the stop as GC time on every CPU, adds it to the cycle's cost
 * (a new cost when the start had !gc_running: a cycle begins) and
 * releases the limiter. */
void pacer_limiter_start_transition(uint64_t now_ns, uint64_t assist_ns,
                                    uint64_t idle_ns, bool gc_running);
void pacer_limiter_finish_transition(uint64_t now_ns);
/* F12, any thread, at a trigger test in stop-the-world mode: true when
 * the memory-limit goal does not bind or the limiter has room for
 * another cycle (the window up to now_ns is closed as mutator time
 * first). `wait`: wait for a racing update (world lock held, I5); else a
 * busy limiter answers true, for the caller to ask again under the lock.
 * A refusal starts a delay; pacer_limiter_delays counts them. */
bool pacer_limiter_admit_stw(uint64_t now_ns, bool wait);
uint64_t pacer_limiter_delays(void);
/* Has the limiter limited since the last call (the bucket full, or F12
 * refusing a cycle), or does it now? Any thread, lock-free (a stop may
 * be open); the collector asks at each commit, to keep the memory limit
 * from the scavenger while it is so (Go's allocSpan skips limit
 * scavenging then). */
bool pacer_limiter_engaged(void);
/* A copy of the bucket (waits for the limiter: not inside a stop). */
pacer_bucket pacer_limiter_bucket(void);


/* I1-I4 (world lock held; I5 is asserted at each stop, I6 is F12). */
bool pacer_check(void);

#endif /* TRI_PACER_H */

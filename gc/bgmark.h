/*
 * bgmark.h -- the concurrent mark: background mark workers, mark assists
 * and distributed termination (Go's gcBgMarkWorker, gcAssistAlloc and
 * gcMarkDone).
 *
 * Workers are threads of two kinds, created once and reused every cycle:
 *   normal  SCHED_OTHER; per cycle the first `dedicated` of them mark
 *           without pause and the next one, when the pacer asks for a
 *           fractional share, marks at that duty cycle (it sleeps whenever
 *           its CPU time since the mark began exceeds the share);
 *   idle    SCHED_IDLE, one per CPU not taken by a dedicated worker: the
 *           kernel runs them only on a CPU that would otherwise idle.
 * Each works in chunks of scan work, hands what it holds back to the
 * global lists after every chunk, and adds the chunk to the background
 * credit that assists steal from.
 *
 * Invariants:
 *   I1. bgmark_busy counts the markers (workers and assists) that may hold
 *       grey objects outside the global lists; each raises it before it
 *       takes work and lowers it after handing its buffers back. Marking
 *       is quiescent when every root job is claimed, no full buffer is
 *       left and bgmark_busy is 0, read in that order and the full count
 *       read again last.
 *   I2. Workers are never registered: they are never stopped, hold no
 *       heap lock, and never allocate from the heap.
 *   I3. Workers touch marking state only between bgmark_start and
 *       bgmark_stop; bgmark_stop returns after every participating worker
 *       has reported its CPU time.
 *   I4. An assist never keeps its allocation waiting long: it marks in
 *       steps of ASSIST_CHUNK scan work and stops after ASSIST_MAX_NS
 *       (0.5 ms), keeping the debt it did not pay for the thread's next
 *       allocation; a step that finds no grey object forgives the debt
 *       instead of waiting for the workers.
 * Lock: bg_mu (not ranked: nothing else is taken under it) protects the
 * cycle epoch, the roles and the report count.
 */
#ifndef TRI_BGMARK_H
#define TRI_BGMARK_H

#include "../base/base.h"

/* World running, after sweep termination: start the workers for a mark
 * with `dedicated` dedicated workers and `fractional` CPUs (0..1) of
 * fractional work. mark_start_ns is the mark's start (monotonic). */
void bgmark_start(unsigned dedicated, double fractional,
                  uint64_t mark_start_ns);
/* The controller: wait until marking is quiescent (I1), then flush every
 * thread's barrier buffer one thread at a time (Go's ragged barrier);
 * repeat until a flush finds nothing. `poll` runs on every wake-up (pacer
 * revision). */
void bgmark_wait_quiescent(void (*poll)(void));
/* World stopped: drain whatever is left on this thread until quiescent. */
void bgmark_finish_stw(void);
/* Tell the workers the mark is over and collect their CPU time. */
void bgmark_stop(uint64_t *bg_ns, uint64_t *idle_ns, uint64_t *assist_ns);

/* Assist CPU time of this mark so far; idle-worker CPU time reported so
 * far (workers report theirs when the mark ends). */
void bgmark_cpu_so_far(uint64_t *assist, uint64_t *idle);

/* Mark assist, at m_release when the allocator set want_assist. */
void bgmark_assist(void);

void bgmark_fork_child(void);

/* The walker (TRI_DEBUG >= 3, tests), any time, the caller not holding
 * bg_mu: the worker records match their slots and no mark has more
 * reports than participants (I3). */
bool bgmark_check(void);

#endif /* TRI_BGMARK_H */

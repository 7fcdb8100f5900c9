/*
 * bgmark.h -- the concurrent mark: background mark workers, mark assists
 * and distributed termination (Go's gcBgMarkWorker, gcAssistAlloc and
 * gcMarkDone).
 *
 * Workers are threads of two kinds, created once and reused every cycle:
 *   normal  nice 19 (I5); per cycle the first `dedicated` of them mark
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
 *       steps of ASSIST_CHUNK scan work and stops ASSIST_MAX_NS (0.5 ms)
 *       after it began -- the clock is read between steps and every
 *       DRAIN_CLOCK_EVERY objects within one (mark.h) -- keeping the debt
 *       it did not pay for the thread's next allocation; a step that
 *       finds no grey object before the deadline forgives the debt
 *       instead of waiting for the workers.
 *   I5. Workers give way to the program's threads (threads.h
 *       threads_lower_priority): when every CPU is wanted by the program, a
 *       worker that woke up never holds a mutator off its CPU for a time
 *       slice (with two allocating threads on two CPUs, that made about
 *       eight times as many allocations wait over 1 ms); the mark then
 *       advances through the assists, which the pacer sizes to the
 *       allocation. With spare CPUs the workers mark at their full share.
 *       A worker kept off the CPU delays the end of a mark, never a pause
 *       (I6).
 *   I6. No worker marks while the world is stopped for mark termination,
 *       so the pause never waits for a worker's chunk (which, however
 *       short in scan work, can take milliseconds when memory is slow or
 *       the worker is off its CPU). Before stopping the world the
 *       controller sets workers_hold and waits, outside the pause, until
 *       workers_in_chunk is 0; a worker raises workers_in_chunk before it
 *       looks at the hold and lowers it after its chunk, and a chunk ends
 *       within DRAIN_CLOCK_EVERY objects of the hold (Dekker's order:
 *       each side writes, fences, then reads the other's word, so a
 *       worker either sees the hold or is waited for). The hold is
 *       lifted when the world restarts for more marking, and at
 *       bgmark_stop. (gccheckmark's bgmark_stop, inside the pause, waits
 *       for held workers to report; they hold no work then.)
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
/* The controller, holding no lock, before it stops the world for mark
 * termination: stop the workers between chunks and wait until none is in
 * one (I6); and lift that when the world restarts for more marking
 * (bgmark_stop lifts it too). */
void bgmark_hold_workers(void);
void bgmark_release_workers(void);
/* World stopped: drain whatever is left on this thread until quiescent,
 * or until CLOCK_MONOTONIC reaches deadline (ns; 0: none). True when
 * quiescent; false leaves the rest grey on the global lists. */
bool bgmark_finish_stw(uint64_t deadline);
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

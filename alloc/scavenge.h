/*
 * scavenge.h -- giving free heap pages back to the OS (Go's
 * mgcscavenge.go): how much memory the heap keeps, and who releases the
 * rest.
 *
 * Retained memory is heap_sys - heap_released: what the heap holds from
 * the OS, in use or free. Go's goals bound it:
 *   - the GOGC goal: the heap in use when the last cycle ended, scaled by
 *     how the heap goal moved (goal / previous goal), plus 10 %, rounded
 *     up to a physical page; off until a second goal exists;
 *   - the GOMEMLIMIT goal: 95 % of the limit (Go 1.20's reading; Go 1.19
 *     meant the same but its arithmetic disabled this goal).
 * Releasing is done by three parties, all through mheap_scavenge (free
 * runs from the highest address down, SCAV_QUANTUM per lock hold):
 *   - background: a thread (started by the collector; gc/sweep.c) woken
 *     when a cycle's sweeping is done (scavenge_ready). It works in slices
 *     of at least 1 ms of its own CPU time while retained is above a
 *     goal, then sleeps 99 times as long, so it takes about 1 % of one
 *     CPU however busy the machine is (Go's
 *     scavengePercent; Go also runs a PI controller on the sleep ratio,
 *     tricolor sleeps the ratio outright). Each wake-up starts again from
 *     the top of the heap (Go: once over the heap per cycle).
 *   - eager: the allocating thread, after the heap grew past the GOGC goal
 *     (at most the growth, Go's mheap.grow) or past the memory limit;
 *     and the freeing thread: tri_free of a large object of at least
 *     SCAV_FREE_MIN_BYTES releases its pages while the free pages kept
 *     exceed the slack (SCAV_FREE_SLACK_*) (not Go's: Go has no free,
 *     and a malloc user expects a freed big block to leave the
 *     process, as glibc's munmap of its mmapped chunks does); one
 *     madvise per free;
 *   - on demand: scavenge_all (tri_free_os_memory).
 *
 * Invariants:
 *   I1. Every page released is free and marked scavenged in the same
 *       mheap.lock hold as its madvise (pages.h I5), so no allocation can
 *       use it in between, and reuse clears the mark.
 *   I2. The cursors are heap addresses and stored hidden (arena.h I5).
 * Lock: scav_mu (not ranked: nothing is taken under it) protects the
 * thread's wake-up state; it is held only to sleep and to wake. The
 * goals are atomics written by the collector.
 */
#ifndef TRI_SCAVENGE_H
#define TRI_SCAVENGE_H

#include "../base/base.h"

/* Released per lock hold. Go's scavengeQuantum is 64 KiB; madvise costs
 * about 2.5 times less per byte at 256 KiB (a TLB shootdown per call when
 * other threads run: 3.8 MB/ms at 64 KiB, 9.3 MB/ms at 256 KiB, measured
 * on the 2-CPU CI machine), and one call still holds mheap.lock for only
 * 15-30 us. */
#define SCAV_QUANTUM ((size_t)256 * TRI_KiB)
#define SCAV_PERCENT 1                      /* Go's scavengePercent */
#define SCAV_RETAIN_EXTRA_PERCENT 10        /* Go's retainExtraPercent */
#define SCAV_REDUCE_EXTRA_PERCENT 5         /* Go's reduceExtraPercent */

/* Set the goals (the collector, at every pacer commit: Go's
 * gcPaceScavenger). last_heap_goal 0 = no cycle has ended yet; memlimit
 * INT64_MAX = none. */
void scavenge_pace(uint64_t last_heap_inuse, uint64_t heap_goal,
                   uint64_t last_heap_goal, int64_t memlimit);

/* The goal retained memory is held to now (the lower of the two), in
 * bytes; UINT64_MAX when neither applies. */
uint64_t scavenge_goal(void);
/* heap_sys - heap_released, bytes. */
uint64_t scavenge_retained(void);

/* The background scavenger's body (never returns); the collector starts
 * it on a thread of its own. */
void *scavenge_bg(void *arg);
/* Sweeping of a cycle is done: start a new pass from the top of the heap
 * and wake the background scavenger. */
void scavenge_ready(void);

/* The allocation path, after mheap took pages: grown bytes the heap just
 * grew by, reused pages that had been released. Cheap when nothing is
 * over a goal. Not under any heap lock. */
void scavenge_after_alloc(size_t grown, size_t reused);

/* Free pages kept beyond the heap in use before frees release them: the
 * larger of in use / SCAV_FREE_SLACK_DIV and SCAV_FREE_SLACK_MIN, so a
 * program that frees keeps at most about twice its heap plus 64 MiB.
 * Only blocks of SCAV_FREE_MIN_BYTES or more are released (glibc's
 * default mmap threshold). A tighter slack costs more than it saves when
 * freed pages are soon reused: with in use / 8 and 4 MiB, the malloc
 * bench's `large` workload fell from 86 to 21 MiB of RSS but ran 6 times
 * as long (page faults on reuse, mostly in realloc's copy). */
#define SCAV_FREE_SLACK_DIV 1
#define SCAV_FREE_SLACK_MIN ((uint64_t)64 * TRI_MiB)
#define SCAV_FREE_MIN_BYTES ((size_t)128 * TRI_KiB)

/* tri_free of a large object of `freed` bytes (runtime/malloc.c): should its
 * pages go back to the OS with it? */
bool scavenge_release_freed(size_t freed);
/* Bytes released outside mheap_scavenge (a freed span's, mheap.c): count
 * them as scavenger work for the scavtrace line. */
void scavenge_note_work(size_t bytes);

/* Release every free page (tri_free_os_memory); returns bytes released. */
uint64_t scavenge_all(void);

/* Bytes released by the background and eager scavenging since the last
 * call (the "work" of the scavtrace line). */
uint64_t scavenge_take_work(void);

/* fork(): the thread did not survive; its state is reset. */
void scavenge_fork_child(void);

/* The walker (TRI_DEBUG >= 3, tests), any time and phase, no lock
 * needed: no more bytes released than the heap holds (pages.h I5), the
 * GOGC goal in whole pages and the memory-limit goal below any limit. */
bool scavenge_check(void);

#endif /* TRI_SCAVENGE_H */

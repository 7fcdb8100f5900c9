/*
 * remark.h -- the tracked mode's re-mark: concurrent marking for code
 * with no write barrier, the kernel recording the pages the program
 * writes (barrier/dirty.c). Boehm, Demers and Shenker's mostly-concurrent
 * collector; docs/concurrency.md tells it for users.
 *
 * A tracked cycle, as gc.c drives it:
 *   world running: remark_begin protects every heap page (a new epoch),
 *     before anything of this cycle is scanned
 *   pause 1 and the mark: the concurrent mode's, without the barrier
 *     (black allocation on; stacks and roots scanned as jobs)
 *   re-mark rounds (world running): collect the pages written since the
 *     last look, rescan the marked objects on them and the globals, wait
 *     for the mark to be quiescent; again until the count stops shrinking
 *   mark termination (pause 2): remark_final peeks at the pages written
 *     since the last round and rescans them and the globals; gc.c rescans
 *     every thread's stack, drains, flips
 *   world running: remark_end lifts the protection (until the next
 *     cycle is wanted)
 *
 * Invariants:
 *   I1. Every heap page is protected before any object or root of the
 *       cycle is scanned (remark_begin before pause 1), and heap memory
 *       the heap gains later is protected before it is handed out
 *       (dirty.h I7). So a write an object's scan may have missed lies on
 *       a page that a later collect or peek reports.
 *   I2. Every marked object (allocated black included) on a reported
 *       page is rescanned after the report -- a round's with the world
 *       running, the final one with the world stopped, after which no
 *       write happens before the mark ends. With I1, when the final
 *       stop's drain ends every pointer in a marked object was read by a
 *       scan of that object made after the pointer was stored, so the
 *       object it points to is marked too.
 *   I3. Globals and stacks are not tracked: the final stop rescans every
 *       global range and every thread's stack and registers (blocked
 *       threads too: with no barrier, another thread may have stored into
 *       a blocked thread's frame through a pointer).
 *   I4. A kernel failure never loses a write: a collect or peek that
 *       returns -1 turns into a rescan of every tracked range (in the
 *       pause, if it is the final one), and the method is then none, so
 *       later cycles stop the world.
 *   I5. Soft-dirty bits lose a write made between their read and their
 *       clear (dirty.h I4): a round with that method stops the world for
 *       its collect (not for the rescan), recording the runs to rescan.
 * The runs a look found are kept in a vector mapped from the OS (not the
 * heap): the controller's, under the world lock.
 */
#ifndef TRI_REMARK_H
#define TRI_REMARK_H

#include "../base/base.h"
#include "work.h"

/* Choose the tracking method -- GODEBUG=gcdirty: 0 the best that works,
 * 1 userfaultfd only, 2 soft-dirty bits only, 3 none -- and watch the
 * heap's memory from its first growth on. Before the heap grows. */
void remark_init(int gcdirty);
/* Can a tracked cycle run? (a method is in use) */
bool remark_available(void);
/* One line for gctrace: the method in use, and why better ones were
 * passed over, e.g. "uffd" or "none (userfaultfd: Operation not
 * permitted; soft-dirty self-test: Protocol error)". */
void remark_describe(char *buf, size_t cap);

/* Per-cycle costs, for the gctrace line. */
#define REMARK_MAX_ROUNDS 8
typedef struct remark_stats {
	uint64_t protect_ns, unprotect_ns;
	unsigned rounds;
	long round_pages[REMARK_MAX_ROUNDS];
	uint64_t round_ns;          /* the rounds' collects and rescans */
	uint64_t round_pause_ns;    /* their stops (soft-dirty, I5) */
	long final_pages;
	uint64_t final_pages_ns;    /* the final peek and its rescans */
	bool fell_back;             /* I4: a kernel failure, all rescanned */
} remark_stats;

/* World running, before pause 1: start the cycle's epoch (I1). False if
 * the kernel failed: the cycle must stop the world instead. */
bool remark_begin(remark_stats *st);
/* World running, the mark quiescent: the re-mark rounds; wait() waits
 * for the mark to be quiescent again after each. */
void remark_rounds(remark_stats *st, void (*wait)(void));
/* World stopped, workers held: rescan the objects on the pages written
 * since the last round, and every global range (I2, I3), into w. */
void remark_final(remark_stats *st, gcwork *w);
/* World running, the mark over: lift the protection, giving up as soon
 * as stop() (NULL: never) says the next cycle is wanted; a page left
 * protected costs a write fault, and the next epoch re-protects only
 * the pages written meanwhile. */
void remark_end(remark_stats *st, bool (*stop)(void));

void remark_fork_child(void);

/* The walker (TRI_DEBUG >= 3, tests), the world stopped or the heap not
 * growing: every byte of heap memory is tracked (I1) -- the tracked
 * ranges add up to the heap's committed bytes -- unless the heap grew
 * before remark_init (tests; then nothing is tracked). */
bool remark_check(void);

#endif /* TRI_REMARK_H */

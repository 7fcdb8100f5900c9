/*
 * stacks.h -- registered coroutine stacks (tri_stack_register and
 * friends) and the program's root scanner (tri_set_root_scanner,
 * tri_scan_range): roots that are neither threads' own stacks nor globals.
 *
 * A scan of the stacks (stop-the-world roots, the concurrent thread job,
 * mark termination's rescan) goes:
 *   stacks_begin_scan();
 *   per thread: threads_roots_of() -- a thread whose stack pointer lies in
 *     a registered stack scans that stack from there (stacks_find, which
 *     also marks it running for this scan), and its own stack whole,
 *     unless the program registered the own stack too: then from the
 *     stack pointer saved when the thread left it for a coroutine;
 *   stacks_for_each_suspended(): every other registered stack, from its
 *     saved stack pointer to its top;
 *   stacks_run_scanner(): the program's scanner, whose tri_scan_range
 *     calls become ranges.
 *
 * Invariants:
 *   I1. The list of stacks changes only under stacks_lock (rank
 *       LOCK_RANK_STACKS), taken inside the heap-critical region, so no
 *       stopped thread holds it; a scan of the stacks' memory holds it, so
 *       a stack is never unregistered (and unmapped) while it is read.
 *   I2. A stack's sp is in [lo, hi]; it is written by the program alone
 *       (tri_stack_set_sp, a release store) and read by the collector.
 *   I3. tri_scan_range does something only on the thread running the
 *       scanner, inside stacks_run_scanner.
 */
#ifndef TRI_STACKS_H
#define TRI_STACKS_H

#include "../base/base.h"
#include "../include/tricolor.h"
#include "threads.h"

bool stacks_init(void);
/* Start a scan: no stack is running for it yet. */
void stacks_begin_scan(void);
/* The registered stack holding sp, marked running for the current scan,
 * or 0; *hi gets its top. */
bool stacks_find(uintptr_t sp, uintptr_t *hi);
/* Is the stack whose top is `top` (a thread's own) registered? Then it
 * is scanned from its saved stack pointer while the thread runs a
 * coroutine, not whole. */
bool stacks_covers(uintptr_t top);
/* Every registered stack not found running since stacks_begin_scan. */
void stacks_for_each_suspended(root_range_fn fn, void *arg);
/* Call the program's root scanner, its ranges going to fn. */
void stacks_run_scanner(root_range_fn fn, void *arg);
/* The coroutine-stack calls of tricolor.h (tri_stack_register, ...),
 * the heap initialised where they allocate or lock. */
tri_stack_t *stacks_register(void *lo, void *hi);
void stacks_unregister(tri_stack_t *s);
void stacks_set_sp(tri_stack_t *s, void *sp);
void stacks_set_scanner(void (*fn)(void *arg), void *arg);
void stacks_scan_range(const void *lo, const void *hi);

/* The walker (TRI_DEBUG >= 3, tests), any time and phase, the caller
 * holding no lock ranked STACKS or above (it takes stacks_lock): every
 * listed stack is live and linked both ways (I1), no more are listed
 * than allocated, and each has aligned bounds and its sp inside them
 * (I2). */
bool stacks_check(void);


#endif /* TRI_STACKS_H */

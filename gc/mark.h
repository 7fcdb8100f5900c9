/*
 * mark.h -- marking: finding the object a word points into, setting its
 * mark bit, and scanning grey objects: on every core with the world
 * stopped (mark_run), or piece by piece beside the program (the pieces
 * below mark_nprocs, driven by bgmark.c and the write barrier).
 *
 * Conservative rule: an aligned word whose value lies inside an allocated
 * object of an in-use span (interior pointers included, large objects too)
 * marks that object. Allocated means span_is_allocated: allocated and not
 * pending an explicit free. Objects of noscan span classes are marked but
 * never scanned. Large objects are scanned in oblets of OBLET_BYTES so
 * several markers can share one (Go's maxObletBytes).
 *
 * Invariants:
 *   I1. A mark bit is set at most once per cycle, by an atomic OR; the
 *       marker that set it owns greying the object (exactly one push).
 *   I2. A stop-the-world mark ends when every marker is idle, no full
 *       buffer is left and every root job has been claimed (Go's nwait ==
 *       nproc); a concurrent one as bgmark.h I1 says.
 *   I4. During a concurrent mark a slot allocated black (span.h:
 *       span_allocated_black) counts as marked, so it is never greyed.
 *   I3. Marker threads are never registered: they are not stopped, hold
 *       no heap lock, and never allocate from the heap.
 */
#ifndef TRI_MARK_H
#define TRI_MARK_H

#include "../base/base.h"
#include "work.h"

/* Go's maxObletBytes is 128 KiB. An oblet is the unit no marker can stop
 * inside, so it bounds an assist's time (bgmark.h I4): 16 KiB is 2048
 * words, each a likely cache miss when the object is an array of
 * pointers; on a virtual machine whose page walks exit to the host, a
 * 128 KiB oblet of such an array held one allocation for 14 ms. */
#define OBLET_BYTES (16 * TRI_KiB)

bool mark_init(void);
/* World running: make sure the helper threads exist (one per CPU beyond
 * the collecting thread). */
void mark_start_helpers(void);
/* Start a cycle's mark: reset the totals and the root cursor. A
 * concurrent mark adds one root job after the prepared ones: every
 * registered thread, each stopped alone while it is scanned. */
void mark_begin(bool concurrent);
/* World stopped, roots prepared, mark_begin(false): mark everything
 * reachable on the collecting thread and every helper. */
void mark_run(void);
/* Bytes marked, scan work and stack bytes scanned since mark_begin. */
uint64_t mark_totals(uint64_t *scan_work, uint64_t *stack_bytes);
/* Markers used by mark_run (the collecting thread included). */
unsigned mark_nprocs(void);

/* ---- pieces for the concurrent mark (bgmark.c, the barrier) ---- */
/* Shade the object p points into, if any (Go's shade). */
void mark_shade(uintptr_t p, gcwork *w);
/* Scan one grey object (or oblet), given as a grey value (work.h
 * grey_pack) or a bare address; [lo, hi) word by word. */
void mark_scan_object(uintptr_t obj, gcwork *w);
void mark_scan_range(uintptr_t lo, uintptr_t hi, gcwork *w);
/* Scan a global root range [lo, hi) (data, bss, a tri_add_roots range, a
 * mapping under the malloc preload) so that a fault -- the program
 * unmapped it while a concurrent mark ran -- ends the scan of that range
 * instead of the process (threads_run_guarded). */
void mark_scan_guarded(uintptr_t lo, uintptr_t hi, gcwork *w);
/* The tracked mode's rescan of written pages [lo, hi): scan the words
 * there of every marked object (allocated black included, I4), and
 * only those words; free slots, unmarked objects and noscan spans are
 * skipped. */
void mark_rescan(uintptr_t lo, uintptr_t hi, gcwork *w);
/* Have all root jobs been claimed (and so, once their claimers are idle,
 * scanned)? */
bool mark_roots_done(void);
/* Scan up to budget bytes of work from root jobs (the thread job only if
 * threads_ok: the caller holds no heap state, a background worker) and
 * grey objects (Go's gcDrainN); returns the scan work done: the bytes of
 * the objects and of the prepared root ranges scanned (the budget counts
 * both, so an assist cannot claim every root job at once). It also stops
 * once CLOCK_MONOTONIC reaches deadline (ns; 0: none) or *stop is set
 * (stop NULL: never), both read every DRAIN_CLOCK_EVERY items: an assist's
 * bound (bgmark.h I4) must hold however slowly memory answers, and a
 * budget of scan work alone does not bound time (a step of 32 KiB was
 * measured at 100 ms on a virtual machine whose page walks exit to the
 * host); a background worker is told to stop before a pause (bgmark.h
 * I6). */
#define DRAIN_CLOCK_EVERY 16
int64_t mark_drain_n(gcwork *w, int64_t budget, bool threads_ok,
                     uint64_t deadline, const atomic_word *stop);
/* Hand w's buffers to the global lists and add its counts to the totals;
 * returns the objects it marked. */
unsigned mark_gcw_flush(gcwork *w);

/* May a work buffer hold obj (work.h I1): the base of a marked object of
 * a scannable span, or an oblet boundary of a marked large object? Exact
 * while no concurrent mark runs; always true during one (an object
 * greyed, then freed explicitly, may have had its span reused). v is a
 * grey value (work.h grey_pack): a size class in it must be the span's.
 * For asserts and walkers. */
bool mark_grey_ok(uintptr_t v);
/* The walker for the end of a mark (TRI_DEBUG >= 3, tests): world
 * stopped, the mark finished (mark_run returned, or bgmark_finish_stw and
 * any checkmark_run), before the flip; the caller holds no lock ranked
 * WORK or above. No grey object or held buffer is left (work_check_idle,
 * I2), and the marked slots of the in-use spans add up to the bytes
 * marked (I1: each mark set once, by the marker that counted it): equal
 * for a stop-the-world mark; for a concurrent one at most the bytes
 * marked plus those allocated black (explicit frees drop marks). */
bool mark_check(void);

void mark_fork_child(void);

#endif /* TRI_MARK_H */

/*
 * dirty.h -- which pages the program wrote since the collector last
 * looked, recorded by the kernel: the write barrier of code that has
 * none (Boehm, Demers and Shenker's mostly-parallel collector, with the
 * page dirtying done by the MMU).
 *
 * Methods, chosen once (dirty_init), best first:
 *   DIRTY_UFFD  userfaultfd write-protect in asynchronous mode
 *               (UFFD_FEATURE_WP_ASYNC, Linux 6.7): a tracked range is
 *               registered for write-protect; the first write to a
 *               protected page faults and the kernel resolves the fault
 *               itself -- no signal, no message, kernel-mode writes
 *               (read(2) into the heap) included -- leaving the page
 *               "written". The PAGEMAP_SCAN ioctl on /proc/self/pagemap
 *               returns a range's written pages and protects them again
 *               in the same page-table walk.
 *   DIRTY_SOFT  the soft-dirty bits: writing "4" to /proc/self/clear_refs
 *               clears them in the whole process, bit 55 of a page's
 *               /proc/self/pagemap entry reads one.
 *   DIRTY_NONE  neither works here (or it was asked for): the caller
 *               marks with the program stopped.
 * dirty_init tries them in that order, or only the one asked for, and
 * keeps a one-line reason for every method it passed over.
 *
 * Use: dirty_track each range to watch (the heap's arenas), when it is
 * created; dirty_protect_all to start an epoch (every tracked page reads
 * clean); dirty_collect, any number of times, for the runs of pages
 * written since the epoch began or the last collect, which it makes
 * clean again.
 *
 * Invariants:
 *   I1. The method is set by dirty_init before any range is tracked and
 *       changes only to DIRTY_NONE (a kernel call that fails where it
 *       worked before: an error, not a state) or in a fork child.
 *   I2. tracked[] holds disjoint page-aligned ranges in the order they
 *       were tracked, never removed; contiguous ones are merged. dirty_mu
 *       (rank DIRTY: taken under MHEAP, takes OS) protects it; collect
 *       and protect read one entry at a time under it and make their
 *       kernel calls and callbacks without it.
 *   I3. DIRTY_UFFD: a collect is exact per page. The kernel checks and
 *       re-protects each page under its page-table lock, and flushes the
 *       TLB before the ioctl returns, so a write is either reported by
 *       this collect (and its data visible when collect returns) or
 *       faults after the re-protection and is reported by a later one. A
 *       page written at any time after dirty_protect_all is reported by
 *       some collect that ends after the write; none is lost.
 *   I4. DIRTY_SOFT: a collect reads every tracked range, then clears the
 *       bits of the whole process; a write between the two is lost. A
 *       caller that needs I3 stops the writers around the collect.
 *   I5. A page given back to the OS (MADV_DONTNEED) or never populated
 *       reads as written once it is touched again: a release never hides
 *       a write, at worst it costs a rescan.
 *   I6. One collect, peek, protect or unprotect runs at a time (the
 *       collector holds the world lock); the scan buffer is the module's
 *       own. dirty_track may run beside them (it takes no buffer).
 *   I7. A range starts tracked protected: dirty_track protects it before
 *       it records it, so a write to it after dirty_track returns is
 *       reported, even in the middle of an epoch (a heap that grows while
 *       the collector marks). A registered page never protected would
 *       read as written.
 */
#ifndef TRI_DIRTY_H
#define TRI_DIRTY_H

#include "../base/base.h"

typedef enum dirty_method {
	DIRTY_NONE,
	DIRTY_SOFT,
	DIRTY_UFFD,
	DIRTY_AUTO /* dirty_init: the best that works */
} dirty_method;

/* Choose the method: want, or with DIRTY_AUTO the best that works. Safe
 * to call again (a test forcing another method): earlier ranges are
 * dropped. Returns the method in use. */
dirty_method dirty_init(dirty_method want);
dirty_method dirty_method_in_use(void);
/* "uffd", "soft-dirty", "none" (and "auto"). */
const char *dirty_method_name(dirty_method m);
/* Why the methods better than the one in use were passed over, one
 * line ("" when the best is in use), e.g. "userfaultfd: Operation not
 * permitted". */
const char *dirty_reason(void);

/* Watch [lo, hi) (page-aligned, not yet tracked), protected (I7). False
 * if the kernel refused: the method is then DIRTY_NONE (I1). With
 * DIRTY_NONE the range is only recorded (dirty_for_each_tracked). */
bool dirty_track(uintptr_t lo, uintptr_t hi);
/* Start an epoch: every tracked page reads clean. False on failure (the
 * method is then DIRTY_NONE). */
bool dirty_protect_all(void);

typedef void (*dirty_fn)(uintptr_t lo, uintptr_t hi, void *arg);
/* Call fn for each run [lo, hi) of tracked pages written since the
 * epoch began or the last collect, in address order within a range, and
 * make them clean (I3, I4). Returns the pages reported, or -1 if the
 * kernel failed part-way: then the method is DIRTY_NONE and the caller
 * must treat every tracked page as written. */
long dirty_collect(dirty_fn fn, void *arg);

/* As dirty_collect, but leave the pages written: a later collect or peek
 * reports them again. With the program stopped, the cheap way to read
 * the last writes of a mark (no page is protected, so no TLB flush). */
long dirty_peek(dirty_fn fn, void *arg);
/* End an epoch early: lift every protection (DIRTY_UFFD; a no-op
 * otherwise), so writes until the next dirty_protect_all cost nothing;
 * in steps, giving up between two as soon as stop() (NULL: never) says
 * so -- the rest stays protected, which is never wrong. False on failure
 * (the method is then DIRTY_NONE). */
bool dirty_unprotect_all(bool (*stop)(void));
/* fn for every tracked range (a caller whose collect returned -1 treats
 * them all as written). */
void dirty_for_each_tracked(dirty_fn fn, void *arg);

/* A fork child: the kernel tracks nothing for it (its copies of the
 * registered ranges lost their registration, and the pagemap file open
 * is the parent's). Reopen, register the tracked ranges again; on
 * failure the method is DIRTY_NONE. */
void dirty_fork_child(void);

typedef struct dirty_stats {
	uint64_t collects;  /* dirty_collect calls */
	uint64_t pages;     /* pages they reported */
	uint64_t protects;  /* dirty_protect_all calls */
} dirty_stats;
void dirty_read_stats(dirty_stats *s);

/* Test hook: scan at most n regions per kernel call (0: the default), so
 * a test walks a range in many calls. */
void dirty_set_scan_regions(unsigned n);
/* Test hook: the next collect or peek fails as a kernel call failing
 * part-way would (EIO): it returns -1 and the method becomes none. */
void dirty_fail_next_collect(void);

#endif /* TRI_DIRTY_H */

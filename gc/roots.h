/*
 * roots.h -- where marking starts: the writable data and bss of every
 * loaded object, the ranges given to tri_add_roots, and each registered
 * thread's stack and static TLS (threads.h), cut into root jobs.
 *
 * A cycle calls roots_snapshot_globals with the world running (it walks the
 * loader's list with dl_iterate_phdr, which takes the loader's lock that a
 * stopped thread could hold), then roots_prepare with the world stopped;
 * markers claim jobs by index until none is left.
 *
 * Invariants:
 *   I1. Every job is an 8-byte-aligned range [lo, hi) of at most
 *       ROOT_JOB_BYTES, readable while the world is stopped.
 *   I2. The user ranges change only under roots_lock (taken inside the
 *       heap-critical region), so the stopped world sees a whole list.
 *   I3. Job memory and the range lists are mapped from the OS (metadata):
 *       they are never in the heap and never scanned.
 */
#ifndef TRI_ROOTS_H
#define TRI_ROOTS_H

#include "../base/base.h"
#include "threads.h"

#define ROOT_JOB_BYTES (256 * TRI_KiB)

typedef struct root_job {
	uintptr_t lo, hi;
	enum root_kind kind;
} root_job;

bool roots_init(void);
/* World running: record the writable segments of every loaded object. */
void roots_snapshot_globals(void);
/* World stopped: build the job list (globals, user ranges, and, for a
 * stop-the-world mark, every thread's stack and TLS). */
void roots_prepare(bool with_threads);
/* The malloc preload's roots: instead of the loaded objects' data and
 * bss, source (called by roots_prepare, world stopped) pushes every range
 * to scan as ROOT_DATA (every writable mapping that is not tricolor's).
 * Set before the first cycle; NULL restores dl_iterate_phdr. */
void roots_set_mappings_source(void (*source)(void (*push)(uintptr_t lo,
                                                           uintptr_t hi)));
size_t roots_njobs(void);
const root_job *roots_job(size_t i);
/* Bytes of each kind in the current job list (for gctrace). */
uint64_t roots_bytes(enum root_kind kind);

/* World running (it takes the loader's lock): each writable segment of
 * each loaded object, [lo, data_end) its data and [data_end, hi) its bss;
 * name is the object's path ("" for the main program). Heap dumps. */
typedef void (*roots_segment_fn)(const char *name, uintptr_t lo,
                                 uintptr_t data_end, uintptr_t hi, void *arg);
void roots_for_each_segment(roots_segment_fn fn, void *arg);
/* tri_add_roots and tri_remove_roots (tricolor.h), the heap
 * initialised. */
void roots_add_user(void *lo, void *hi);
void roots_remove_user(void *lo, void *hi);
/* The tri_add_roots ranges (world stopped, or any time: roots_lock). */
void roots_for_each_user(root_range_fn fn, void *arg);

/* The walker (TRI_DEBUG >= 3, tests), any phase: the caller keeps the
 * job list and the globals from changing (the world lock held, or the
 * world stopped) and holds no lock ranked ROOTS or above (it takes
 * roots_lock). Every job is a non-empty, word-aligned range of at most
 * ROOT_JOB_BYTES (I1) and each kind's jobs add up to roots_bytes; every
 * user range is non-empty; the lists are mapped from the OS, never in
 * the heap (I3). */
bool roots_check(void);

#endif /* TRI_ROOTS_H */

/*
 * profile.h -- the sampled heap profile (Go's mprof.go and malloc.go's
 * profilealloc / nextSample): which call stacks allocated the heap, and
 * how much of it they still hold.
 *
 * Sampling: each thread's cache counts down next_sample bytes
 * (mcache_sample_due, on the allocation fast path); the allocation that
 * takes it to zero or below is sampled, and the next gap is drawn from an
 * exponential distribution whose mean is the rate (512 KiB by default,
 * GODEBUG=memprofilerate=N or tri_set_profile_rate): a Poisson process
 * over the bytes allocated, so an object of size s is sampled with
 * probability 1 - exp(-s / rate), which pprof's unsampling undoes.
 *
 * A sample: the call stack (callstack.h, up to CALLSTACK_MAX frames above
 * the public allocation function) and the object's size key a bucket in a
 * hash table (Go's stkbucket); the bucket counts allocations and frees in
 * Go's cycle-lagged records (profile.c); a special on the object's span
 * (span.h) remembers the bucket so the free is booked when the slot is
 * freed: by the sweep (garbage), or when an explicit tri_free is folded
 * into the span (span_reclaim or the sweep), which happens before the slot
 * can be reused.
 *
 * Invariants:
 *   I1. A bucket, once in the table, is never freed or moved; its stack
 *       and size never change (readers may keep pointers to it).
 *   I2. Every special points at a bucket whose future[] already counts
 *       its allocation; removing a special books exactly one free.
 *   I3. The records (active, future[]) and the table change only under
 *       prof_lock (rank LOCK_RANK_PROF; taken inside the heap-critical
 *       region or by the collector and its sweeper, so no stopped thread
 *       holds it).
 *   I4. The profile written at exit (GODEBUG=memprofile) has every sample
 *       taken before it published (profile_publish_all): in use is what
 *       the program had neither freed nor had collected when it exited,
 *       so a run that sampled anything never writes an empty profile.
 */
#ifndef TRI_PROFILE_H
#define TRI_PROFILE_H

#include "../base/base.h"
#include "../gc/gc.h"
#include "pprof_enc.h"

/* Go's memRecordCycle. */
typedef struct mprof_record {
	uint64_t allocs, frees, alloc_bytes, free_bytes;
} mprof_record;

/* Go's bucket + memRecord: one (stack, size) pair. */
typedef struct mprof_bucket {
	struct mprof_bucket *next;    /* hash chain; prof_lock */
	struct mprof_bucket *allnext; /* every bucket; prof_lock */
	uint64_t hash;
	uint64_t size;                /* object size (size class / pages) */
	uint64_t id;                  /* 1, 2, ... in creation order */
	uint32_t nstk;
	mprof_record active;          /* published (I3) */
	mprof_record future[3];       /* cycles C, C+1, C+2 (I3) */
	uintptr_t stk[];              /* return addresses, innermost first */
} mprof_bucket;

struct mcache;
struct mspan;

bool profile_init(void);
/* The public allocation functions (at most PROFILE_MAX_ENTRIES): a
 * sample's stack starts at the caller of the first of them it finds
 * (callstack.h). Set once, at init, by runtime/init.c. */
#define PROFILE_MAX_ENTRIES 8
void profile_set_entries(const uintptr_t *fns, int n);
/* tri_set_profile_rate (tricolor.h), the heap initialised. */
int profile_set_rate(long bytes);
/* tri_write_heap_profile (tricolor.h; pprof.c), the heap initialised. */
int pprof_write(int fd);
/* Sample the allocation of the object at p in span s (the fast path saw
 * next_sample run out): draw the next gap and, if the rate is not 0,
 * record the call stack and attach a special. Owner of s, in the
 * heap-critical region. */
void profile_alloc(struct mcache *c, struct mspan *s, uintptr_t p);
/* Go's mProf_NextCycle (mark termination, world stopped), mProf_Flush
 * (after the world restarts) and mProf_PostSweep (the heap is swept). */
/* The collector's observer (gc/gc.h gc_set_observer): Go's
 * mProf_NextCycle, mProf_Flush and the post-sweep publication. */
void profile_observe(enum gc_event ev);
/* I4: publish every record now (world stopped between cycles; books the
 * sampled slots' pending explicit frees first). No collection runs. The
 * caller is outside the heap-critical region. */
void profile_publish_all(void);
/* Call fn for every bucket, under prof_lock: fn must not allocate from
 * the heap or take a lock. Returns the number of buckets. */
typedef void (*profile_bucket_fn)(const mprof_bucket *b, void *arg);
size_t profile_for_each_bucket(profile_bucket_fn fn, void *arg);
/* The executable file mappings of the process (/proc/self/maps), the
 * main executable's first (prof/pprof.c). */
#define MAX_MAPPINGS 512
typedef struct maps_scratch {
	pp_mapping m[MAX_MAPPINGS];
	char names[MAX_MAPPINGS][256];
	size_t n;
} maps_scratch;
void profile_read_maps(maps_scratch *ms);
/* The at-exit / on-signal profile of GODEBUG=memprofile=PATH (after the
 * heap is initialised; profile.c). */
void profile_start_writer(void);

#endif /* TRI_PROFILE_H */

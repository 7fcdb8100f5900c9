/*
 * mcache.h -- the per-thread cache: one span per span class, the tiny
 * block, and the thread's allocation statistics. The allocation fast path
 * lives in malloc.c and touches only this struct and the cached span.
 *
 * Invariants:
 *   I1. alloc[i] is either &mcache_empty_span (alloc_cache 0, so the fast
 *       path always falls to refill) or a span with location CACHED that no
 *       other mcache holds.
 *   I2. tiny is 0 or the start of a 16-byte block in tiny_span whose
 *       tiny_meta.live includes TINY_OWNED; tiny_count objects have been
 *       allocated from it and not yet published to live.
 *   I3. The counters are written only by the owner thread (plain store,
 *       counter_add_local) and read by tri_read_stats with relaxed loads.
 *   I4. free[spc] lists objects of span class spc that this thread freed
 *       (glibc's tcache, tcmalloc's per-thread free lists): each is
 *       allocated in its span's bits (span.h), holds the next object in
 *       word 0 and mcache_free_key in word 1, and is handed out again by
 *       the next allocation of its class on this thread. At most cap are
 *       kept; past that half go back to their spans as explicit frees.
 *       cap starts small and doubles at each refill of the class, up to
 *       a bound (mcache.c); 0 means the class never lists.
 *   I5. The lists are empty whenever the collector looks at the heap: every
 *       stop of the world flushes them (mcache_flush), and while a
 *       concurrent mark runs (span_alloc_black) nothing is listed, so an
 *       object handed out during a mark always comes from a span and is
 *       allocated black. Listing runs inside the heap-critical region
 *       (base.h), so no stop finds a list half-linked.
 *   I6. A listed object holds mcache_free_key in word 1 until it is
 *       allocated again, and the key is tested whenever an object leaves
 *       a list (reuse, trim, flush; every stop of the world flushes).
 *       tri_free never reads the block (runtime/malloc.c I3): it checks
 *       the span's bitmaps (a slot never allocated, or pending free after
 *       a trim or flush, aborts at once) and the list's head (a block
 *       freed twice in a row). A block freed twice otherwise -- later on
 *       one list, or racing on two threads -- is listed twice; whichever
 *       copy leaves second finds word 1 cleared by the first (or
 *       overwritten by its new owner), or, trimmed, its slot already
 *       pending: one line, abort, before the block can be handed out
 *       twice.
 *   I7. A parked cache (its owner in a blocking call, gc/threads.h I8)
 *       is not used by its owner until unparked; it is flushed once
 *       (parked_clean), before the next stop by the collector while the
 *       owner is claimed (threads_flush_parked), else at the stop by
 *       mcache_flush_all, which skips it after: a thousand threads
 *       blocked in calls cost one flush each, outside the pauses.
 * Concurrency: the owner thread alone, except the counters (I3) and the
 * registry links (mcache_list_lock).
 */
#ifndef TRI_MCACHE_H
#define TRI_MCACHE_H

#include "../base/base.h"
#include "mcentral.h"
#include "span.h"

#define TINY_OWNED 64 /* tiny_meta.live bias while a block is current */

/* Per-thread statistics; each field is an owner-written counter (I3).
 * Small objects are counted per size class (one increment on the fast
 * path; bytes follow from the class size, as Go's smallAllocCount does).
 * Tiny objects count as objects; their 16-byte blocks count as bytes. */
#define MCACHE_STATS(X)                                                      \
	X(large_alloc_bytes) X(large_free_bytes)                             \
	X(large_allocs) X(large_frees)                                       \
	X(tiny_allocs) X(tiny_frees)                                         \
	X(tiny_blocks) X(tiny_block_frees)
#define MCACHE_STAT_FIELD(name) atomic_word name;
typedef struct mcache_stats {
	MCACHE_STATS(MCACHE_STAT_FIELD)
	atomic_word small_allocs[NUM_SIZE_CLASSES];
	atomic_word small_frees[NUM_SIZE_CLASSES];
} mcache_stats;

/* A thread's list of objects it freed, for one span class (I4). */
typedef struct mcache_freelist {
	void *head;   /* word 0 of each object links the next */
	uint32_t n;   /* objects listed */
	uint32_t cap; /* most listed; 0: frees go straight to the span */
} mcache_freelist;

typedef struct mcache {
	mspan *alloc[NUM_CENTRALS]; /* I1; index = span class, or TINY */
	mcache_freelist free[NUM_SPAN_CLASSES]; /* I4, I5 */
	uintptr_t tiny;             /* I2 */
	uintptr_t tiny_offset;
	mspan *tiny_span;
	uintptr_t tiny_count;
	intptr_t next_sample;       /* Go's nextSample: bytes left before
	                               the next heap profile sample
	                               (prof/profile.h); owner only */
	mcache_stats stats;         /* I3 */
	int64_t assist_credit;      /* Go's gcAssistBytes: bytes this thread
	                               may allocate during mark before it
	                               owes scan work (gc/mark.c); owner */
	struct mcache *next, *prev; /* registry; mcache_list_lock */
	bool parked;                /* I7: the owner is in a blocking call;
	                               owner, read with the world stopped */
	bool parked_clean;          /* I7: flushed since it was parked; world
	                               stopped or owner claimed (set: gc/
	                               threads.c), owner (cleared) */
} mcache;

extern mspan mcache_empty_span;
/* Word 1 of every object on a free list (I4, I6). Random per process,
 * odd, so it is never an aligned pointer. */
extern uintptr_t mcache_free_key;
extern __thread mcache *mcache_tls __attribute__((tls_model("initial-exec")));

bool mcache_init(void);
/* Make the calling thread's cache (it has none) and list it; NULL if
 * metadata ran out. The caller has registered the thread with the
 * collector first (gc/threads.h threads_attach_cache: the registry holds
 * only registered threads' caches). */
mcache *mcache_make(void);
/* Flush and free the calling thread's cache (thread exit, unregister).
 * Returns false if the thread had none. */
bool mcache_release(void);
/* Give back c's tiny block and every cached span (owner, or any thread
 * while the owner is stopped outside the heap-critical region). */
void mcache_flush(mcache *c);
/* The owner enters a blocking call (gc/threads.h I8) and leaves it: a
 * parked cache is not used until it is unparked, so one flush while it is
 * parked is enough (I7). unpark runs before the cache is used again. */
TRI_INLINE void mcache_park(mcache *c)
{
	c->parked = true;
}

TRI_INLINE void mcache_unpark(mcache *c)
{
	c->parked = false;
	c->parked_clean = false;
}
/* Flush every registered cache: the collector, with the world stopped. */
void mcache_flush_all(void);
/* A listed object p without the key (I6): report the double free, abort. */
TRI_NORETURN void mcache_double_free(const void *p);
/* Give listed objects of span class spc back to their spans as explicit
 * frees until `keep` are left (owner, inside the heap-critical region, or
 * mcache_flush). */
void mcache_free_trim(mcache *c, unsigned spc, uint32_t keep);
/* Count the collector's frees: `objects` slots of small span s (tiny: the
 * blocks, holding `tiny` objects), or one large object. */
void mcache_note_swept(const mspan *s, uint32_t objects, uint32_t tiny);
void mcache_note_swept_large(uintptr_t bytes);
/* Replace c->alloc[ci] with a span that has a free slot (Go's refill).
 * Returns false when memory ran out. */
bool mcache_refill(mcache *c, unsigned ci);
/* During a concurrent mark: charge n bytes to c's assist credit and ask
 * for an assist at m_release when it runs out. */
TRI_INLINE void mcache_assist_debit(mcache *c, uint64_t n)
{
	c->assist_credit -= (int64_t)n;
	if (c->assist_credit < 0)
		tri_m.b.want_assist = 1;
}

/* Heap profile sampling (Go's nextSample test in mallocgc): charge n
 * bytes to the sample counter; true when it reached zero or below, i.e.
 * this allocation is to be sampled (the caller then calls profile_alloc,
 * which draws the next gap). No lock, no atomic: owner only. */
#if defined(__x86_64__) && (__GNUC__ >= 11 || __clang_major__ >= 11)
/* amd64: one subtract from memory and one branch on its flags (compilers
 * emit load, compare, branch, subtract, store for the C version). */
TRI_INLINE bool mcache_sample_due(mcache *c, uintptr_t n)
{
	__asm__ goto("subq %1, %0\n\tjle %l[due]"
	             : /* no outputs: see m_release in base.h */
	             : "m"(c->next_sample), "r"(n)
	             : "cc", "memory"
	             : due);
	return false;
due:
	return true;
}
#else
TRI_INLINE bool mcache_sample_due(mcache *c, uintptr_t n)
{
	c->next_sample -= (intptr_t)n;
	return TRI_UNLIKELY(c->next_sample <= 0);
}
#endif

/* Give the current tiny block up (publishing its object count). */
void mcache_release_tiny(mcache *c);
/* Drop one live object of tiny block idx of span s; frees the block slot
 * when it was the last. */
void mcache_tiny_put(mcache *c, mspan *s, uintptr_t idx, const char *caller,
                     const void *p);
/* fork() child step (runtime/init.c; locks are base.h's). Only the
 * forking thread exists: the other threads' caches are folded into
 * `retired` and dropped from the registry, and every span still cached
 * but not by this thread goes back to its central list (mcache.c
 * uncache_orphan: a span left cached is never swept, and its stale mark
 * bits hide its live objects' pointers from the next cycle). */
void mcache_fork_child(void);
/* Sum every thread's counters (live and exited) into *out. */
void mcache_sum_stats(mcache_stats *out);

/* The walker (TRI_DEBUG >= 3, tests): with the world stopped (every
 * owner stopped outside the heap-critical region) or no other thread
 * allocating, the caller holding no lock ranked THREADS or above (it
 * takes mcache_list_lock). The registry's links; in each cache every
 * slot is the placeholder or a span CACHED for its class with a
 * consistent alloc_cache (I1, span.h I3), the tiny block is owned (I2),
 * each free list holds at most cap objects of its class with the key
 * (I4, I6) and none during a concurrent mark (I5), and a cache flushed
 * while parked has stayed empty (I7). Any phase. */
bool mcache_check(void);

#endif /* TRI_MCACHE_H */

/*
 * base.h -- what every tricolor module shares: attributes, debug levels,
 * asserts, the fatal-error path, the lock wrapper and the atomics wrapper.
 *
 * Debug levels (TRI_DEBUG, a compile-time constant, 0 by default):
 *   0  release: no asserts.
 *   1  TRI_ASSERT checks cheap invariants.
 *   2  internal pre/postconditions (TRI_ASSERT2), lock ownership.
 *   3  expensive walkers: the tables are verified at init, and the unit
 *      suites (built at this level) run the <module>_check() walkers.
 * Code tests the level with `if (TRI_DEBUG >= n)`, never with #if inside a
 * function body, so every branch compiles in every build. Struct layouts never
 * depend on the level.
 *
 * Small buffers (TRI_SMALL_BUF=1, Go's testSmallBuf; `make small`, part of
 * make check): the write-barrier buffers hold 4 pointers, work buffers 6
 * objects, the per-thread free lists 1 to 4 blocks, the mark balances
 * every 4 objects and background workers and assists hand back after 8
 * and 4 KiB of scanning, so every slow path
 * (flush, spill, steal, trim, refill) runs all the time. Its own build:
 * struct sizes differ.
 *
 * Atomics: only through the wrappers below, over libatomic_ops' MIT core. The
 * name states the memory order; every acquire names its release partner in a
 * comment at the call site.
 */
#ifndef TRI_BASE_H
#define TRI_BASE_H

#include <atomic_ops.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef TRI_DEBUG
#define TRI_DEBUG 0
#endif
#ifndef TRI_SMALL_BUF
#define TRI_SMALL_BUF 0
#endif

#define TRI_LIKELY(x) __builtin_expect(!!(x), 1)
#define TRI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TRI_NOINLINE __attribute__((noinline))
#define TRI_COLD __attribute__((cold, noinline))
#define TRI_NORETURN __attribute__((noreturn))
#define TRI_INLINE static inline __attribute__((always_inline))
#define TRI_CACHELINE 64
#define TRI_ALIGNED(n) __attribute__((aligned(n)))
#define TRI_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Marks on functions, each with a reason a reader can check. */
#define TRI_SIGNAL_SAFE /* runs in a signal handler: async-signal-safe only */
#define TRI_LOCKED      /* caller holds the lock named in the comment */

#define TRI_KiB ((size_t)1 << 10)
#define TRI_MiB ((size_t)1 << 20)
#define TRI_GiB ((size_t)1 << 30)

/* Fatal errors: format into a stack buffer, write(2) one line, abort().
 * Never allocates, so it is safe with the heap in any state. */
TRI_COLD TRI_NORETURN TRI_PRINTF(1, 2) void base_fatal(const char *fmt, ...);
/* As base_fatal, but only writes the line (for warnings). */
TRI_COLD TRI_PRINTF(1, 2) void base_warn(const char *fmt, ...);
TRI_COLD TRI_NORETURN void base_assert_fail(const char *expr, const char *file,
                                           int line);

#define TRI_ASSERT(e)                                                        \
	do {                                                                 \
		if (TRI_DEBUG >= 1 && TRI_UNLIKELY(!(e)))                    \
			base_assert_fail(#e, __FILE__, __LINE__);             \
	} while (0)
#define TRI_ASSERT2(e)                                                       \
	do {                                                                 \
		if (TRI_DEBUG >= 2 && TRI_UNLIKELY(!(e)))                    \
			base_assert_fail(#e, __FILE__, __LINE__);             \
	} while (0)

/* ---- atomics (libatomic_ops core) ---- */
typedef AO_t atomic_word; /* an unsigned machine word */

TRI_INLINE uintptr_t atomic_load_relaxed(const volatile atomic_word *p)
{
	return AO_load(p);
}
TRI_INLINE uintptr_t atomic_load_acquire(const volatile atomic_word *p)
{
	return AO_load_acquire(p);
}
TRI_INLINE void atomic_store_relaxed(volatile atomic_word *p, uintptr_t v)
{
	AO_store(p, v);
}
TRI_INLINE void atomic_store_release(volatile atomic_word *p, uintptr_t v)
{
	AO_store_release(p, v);
}
/* Returns the old value. */
TRI_INLINE uintptr_t atomic_add_full(volatile atomic_word *p, uintptr_t v)
{
	return AO_fetch_and_add_full(p, v);
}
/* Returns the value found (== old on success). */
TRI_INLINE uintptr_t atomic_cas_full(volatile atomic_word *p, uintptr_t old,
                                     uintptr_t new)
{
	return AO_fetch_compare_and_swap_full(p, old, new);
}
TRI_INLINE uintptr_t atomic_swap_full(volatile atomic_word *p, uintptr_t v)
{
	uintptr_t old = AO_load(p);
	for (;;) {
		uintptr_t seen = AO_fetch_compare_and_swap_full(p, old, v);
		if (seen == old)
			return old;
		old = seen;
	}
}
/* Owner-only counter bump that other threads may read with
 * atomic_load_relaxed: a plain load and store, no lock prefix. */
TRI_INLINE void counter_add_local(volatile atomic_word *p, uintptr_t v)
{
	AO_store(p, AO_load(p) + v);
}

/* ---- locks ----
 * A mutex with a rank. Ranks must strictly increase along any chain of
 * nested acquisitions; at TRI_DEBUG >= 2 each thread tracks the highest rank
 * it holds and asserts the order. The order is listed once, here:
 *   LOCK_RANK_WORLD     gc/gc.c           one cycle at a time (Go's worldsema)
 *   LOCK_RANK_GCTHREADS gc/threads.c      registered threads, stop the world
 *   LOCK_RANK_ROOTS     gc/roots.c        tri_add_roots ranges
 *   LOCK_RANK_STACKS    gc/stacks.c       registered coroutine stacks
 *   LOCK_RANK_THREADS   alloc/mcache.c    the registry of thread caches
 *   LOCK_RANK_MCENTRAL  alloc/mcentral.c  one per span class
 *   LOCK_RANK_LARGE     alloc/mheap.c     the list of large spans
 *   LOCK_RANK_MHEAP     alloc/mheap.c     page allocator, arena growth
 *   LOCK_RANK_PROF      prof/profile.c      heap profile buckets and cycles
 *   LOCK_RANK_FIXALLOC  alloc/fixalloc.c  each metadata allocator
 *   LOCK_RANK_WORK      gc/work.c         global work-buffer lists
 *   LOCK_RANK_GCSTATS   gc/stats.c        the collector's statistics
 *   LOCK_RANK_LEAK      prof/leakcheck.c    allocation records, stacks
 *   LOCK_RANK_DIRTY     barrier/dirty.c   the ranges the kernel tracks
 *   LOCK_RANK_OS        alloc/os.c        the list of tricolor's mappings
 * (tri_init's once-lock is taken with no other held; gc/mark.c's mark_mu
 * and gc/sweep.c's sweep_mu are unranked: nothing is taken under them, and
 * the background sweeper drops sweep_mu before it sweeps, then takes
 * MCENTRAL, LARGE, MHEAP, FIXALLOC in this order.) Locks from ROOTS
 * on are only taken inside the heap-critical region (below) or by the
 * collector, so no stopped thread ever holds one.
 */
enum lock_rank {
	LOCK_RANK_NONE = 0,
	LOCK_RANK_WORLD,
	LOCK_RANK_GCTHREADS,
	LOCK_RANK_ROOTS,
	LOCK_RANK_STACKS,
	LOCK_RANK_THREADS,
	LOCK_RANK_MCENTRAL,
	LOCK_RANK_LARGE,
	LOCK_RANK_MHEAP,
	LOCK_RANK_PROF,
	LOCK_RANK_FIXALLOC,
	LOCK_RANK_WORK,
	LOCK_RANK_GCSTATS,
	LOCK_RANK_LEAK,
	LOCK_RANK_DIRTY,
	LOCK_RANK_OS,
	LOCK_RANK_COUNT
};

typedef struct base_mutex {
	pthread_mutex_t m;
	enum lock_rank rank;
} base_mutex;

/* Initialise l with its rank and enter it in the fork registry (I3);
 * initialising it again (a retried init) leaves one entry. */
void base_mutex_init(base_mutex *l, enum lock_rank rank);
void base_mutex_lock(base_mutex *l);
void base_mutex_unlock(base_mutex *l);

/* fork() (runtime/init.c installs these with pthread_atfork): prepare
 * takes every registered lock in rank order, so the child never inherits
 * one held by a thread that does not exist there; the parent releases
 * them; the child makes them all usable again (it has one thread). The
 * modules' own fork_child steps run after base_fork_child. */
void base_fork_prepare(void);
void base_fork_parent(void);
void base_fork_child(void);

/* ---- the heap-critical region (Go's m.locks) ----
 * Every entry point that touches heap state (allocation, free, the
 * registries, the locks above from ROOTS on) runs between m_acquire and
 * m_release. A registered thread is never stopped inside it: the suspend
 * signal handler (gc/threads.c) that finds locks != 0 only sets
 * pending_suspend and returns, and m_release stops the thread when it
 * leaves. So while the world is stopped no thread is half-way through an
 * allocation and no stopped thread holds a heap lock. want_gc is set by
 * the allocator when the heap passed its trigger; the cycle runs at
 * m_release, outside the region; want_assist when the thread owes mark
 * assist work (gc/bgmark.c), paid at m_release too. The bytes are read as
 * one word on the way out; the handler writes only pending_suspend and
 * the owner only the others, with single-byte stores or (amd64's
 * m_release) one read-modify-write instruction that a signal cannot
 * split, so no update is lost. Cost: a byte add in, a subtract and a
 * branch out, no atomic. */
typedef union m_state {
	struct {
		unsigned char locks;           /* nesting depth; owner */
		unsigned char pending_suspend; /* the signal handler */
		unsigned char want_gc;         /* owner */
		unsigned char want_assist;     /* owner: mark assist owed */
	} b;
	uint32_t all; /* zero: outside the region with nothing to do */
} m_state;
extern __thread m_state tri_m __attribute__((tls_model("initial-exec")));

#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

/* Leaving the region with a flag set (or still nested): stop for the
 * collector or run a cycle. One of the two calls that go up a floor
 * (docs/internals.md, "Source layout"; Go's releasem safepoint): the
 * collector defines it (gc/threads.c), every floor's entry points reach
 * it through m_release. */
void m_release_slow(void);

/* One add in, one subtract and test out; the barriers keep the region's
 * loads and stores inside it (the handler runs on this thread, so program
 * order is all it needs). */
#if defined(__x86_64__) && (__GNUC__ >= 11 || __clang_major__ >= 11)
/* amd64: both are one read-modify-write of the whole word (locks is its
 * low byte and stays below 255, so nothing carries or borrows), which the
 * handler cannot split. Same-size accesses matter: m_release's load of
 * the word right after a byte store to it could not be forwarded from the
 * store buffer and waited until that store, and every store before it,
 * reached the cache -- a cache miss per call when the caller had just
 * written a cold block (a free list push: alloc_ring 1.7x slower). */
TRI_INLINE void m_acquire(void)
{
	__asm__ __volatile__("addl $1, %0" : : "m"(tri_m.all) : "cc", "memory");
}

TRI_INLINE void m_release(void)
{
	__asm__ goto("subl $1, %0\n\tjnz %l[slow]"
	             : /* no outputs: gcc 12 miscompiled callers of the
	                  "+m" form (a live register was lost across it) */
	             : "m"(tri_m.all)
	             : "cc", "memory"
	             : slow);
	return;
slow:
	m_release_slow();
}
#else
TRI_INLINE void m_acquire(void)
{
	tri_m.b.locks++;
	compiler_barrier();
}

TRI_INLINE void m_release(void)
{
	compiler_barrier();
	tri_m.b.locks--;
	compiler_barrier();
	if (TRI_UNLIKELY(tri_m.all != 0))
		m_release_slow();
}
#endif

/* ---- small helpers ---- */
TRI_INLINE uintptr_t align_up(uintptr_t x, uintptr_t a)
{
	return (x + a - 1) & ~(a - 1);
}
TRI_INLINE uintptr_t align_down(uintptr_t x, uintptr_t a)
{
	return x & ~(a - 1);
}
TRI_INLINE unsigned ctz64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}
TRI_INLINE unsigned popcount64(uint64_t x)
{
	return (unsigned)__builtin_popcountll(x);
}
/* Clock id's time in nanoseconds (CLOCK_MONOTONIC: Go's nanotime). */
TRI_INLINE uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Fill a caller's buffer with a formatted message, like snprintf but
 * async-signal-safe and allocation-free. Supports %s %d %u %zu %lu %llu %x
 * %lx %p %c %%. Returns the length written (always NUL-terminated). */
size_t base_format(char *buf, size_t cap, const char *fmt, ...)
	TRI_PRINTF(3, 4);

#endif /* TRI_BASE_H */

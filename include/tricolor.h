/*
 * tricolor.h -- the whole public interface of tricolor.
 *
 * tricolor is a garbage-collected heap for C built the way the Go runtime
 * builds its own: Go's size classes, spans, central lists, per-thread caches
 * and 64 MiB arenas, under a tri-color mark-sweep collector. Objects that the
 * program can no longer reach are freed by the collector; tri_free frees one
 * at once. The collector is conservative: any word in a root or in a scanned
 * object that points into an allocated object (interior pointers included)
 * keeps it alive. Roots: the writable data and bss of the program and of
 * every loaded shared object, each registered thread's stack, registers and
 * static TLS block, and ranges given to tri_add_roots.
 *
 * Three modes (tri_set_mode). Tracked mode, the default: the program keeps
 * running while the heap is marked, with no change to its code -- the
 * kernel records which pages it writes (Linux 6.7's asynchronous
 * userfaultfd write-protect, or the soft-dirty bits), the collector
 * rescans the objects on them, and a short final pause takes the last
 * writes, the stacks and the registers. Where the kernel records nothing
 * (an older kernel, a seccomp filter, vm.unprivileged_userfaultfd=0 for a
 * non-root user), its cycles stop the world instead (GODEBUG=gctrace=1
 * says which, docs/concurrency.md). Stop-the-world mode: a cycle stops
 * every registered thread with a signal (see tri_set_stop_signals), marks
 * on every core, and lets the threads go. Concurrent mode: the shortest
 * pauses, two per cycle; in exchange the program promises the barrier
 * contract (TRI_STORE below). Tracked and stop-the-world modes are
 * correct for any C program whose pointers to tricolor objects live in
 * the roots above or in tricolor objects allocated with tri_malloc (not
 * tri_malloc_noscan). In every mode freed objects are swept in the
 * background and lazily as threads allocate.
 *
 * Everything public is spelled tri_ (functions), TRI_ (macros) or tri_*_t
 * (types). Nothing else is exported from libtricolor.so or libtricolor.a.
 *
 * Thread safety: every function may be called from any thread at any time,
 * unless its comment says otherwise. A thread is registered with the heap
 * automatically on its first allocation; tri_thread_register makes that
 * explicit.
 *
 * Errors: functions that allocate return NULL with errno = ENOMEM when the
 * request cannot be met (too large, size overflow, or the OS refuses memory);
 * the heap stays usable. Misuse that would corrupt the heap (freeing a pointer
 * tricolor did not return, an interior pointer, or one already freed) prints
 * one line on stderr naming the call and the address, then aborts, as glibc
 * does.
 */
#ifndef TRICOLOR_H
#define TRICOLOR_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TRI_API marks the symbols libtricolor exports; everything else is hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define TRI_API __attribute__((visibility("default")))
#define TRI_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#else
#define TRI_API
#define TRI_MALLOC_ATTR
#endif

/* Version of this header and of the library (major * 10000 + minor * 100 +
 * patch). tri_version() returns the library's, so a program can check it was
 * linked against the release it was compiled with. */
#define TRI_VERSION 100
TRI_API int tri_version(void);

/*
 * Initialise the heap. Idempotent and thread-safe; the first allocation calls
 * it implicitly, so calling it is optional. Returns 0, or -1 with errno set
 * (ENOMEM when the heap's metadata could not be reserved).
 */
TRI_API int tri_init(void);

/*
 * Allocate n bytes, zeroed. The object may hold pointers to other tricolor
 * objects (the collector will scan it). Alignment: 16 bytes when n is a
 * multiple of 16; otherwise at least the largest power of two dividing the
 * size class n rounds up to (so tri_malloc(24) may be only 8-aligned), never
 * less than 8 for n >= 8. Objects above 32 KiB are page (8 KiB) aligned.
 * tri_malloc(0) returns a unique pointer that tri_free and tri_realloc accept.
 * Returns NULL with errno = ENOMEM on failure.
 */
TRI_API TRI_MALLOC_ATTR void *tri_malloc(size_t n);

/*
 * As tri_malloc, but the caller promises the object never holds a pointer to
 * a tricolor object: the collector never scans it. Requests under 16 bytes
 * are packed into shared 16-byte blocks (Go's tiny allocator); such an object
 * is aligned to the largest power of two (up to 8) dividing n.
 */
TRI_API TRI_MALLOC_ATTR void *tri_malloc_noscan(size_t n);

/* Allocate an array of count elements of size bytes, zeroed. Returns NULL
 * with errno = ENOMEM if count * size overflows. */
TRI_API TRI_MALLOC_ATTR void *tri_calloc(size_t count, size_t size);

/*
 * Resize p to n bytes, keeping min(old, n) bytes of contents; bytes past the
 * old size are zero. tri_realloc(NULL, n) is tri_malloc(n). tri_realloc(p, 0)
 * returns a minimal object (like tri_malloc(0)) and frees p. The result keeps
 * p's scan / noscan kind. On failure returns NULL, errno = ENOMEM, and p is
 * left untouched.
 */
TRI_API void *tri_realloc(void *p, size_t n);

/*
 * Free p now. tri_free(NULL) does nothing. p must be a pointer returned by
 * tricolor's allocation functions and not yet freed; anything else prints
 * one line on stderr and aborts. Memory freed by one thread may be reused by
 * any thread.
 */
TRI_API void tri_free(void *p);

/*
 * The number of bytes usable at p (>= the size requested). p must be a live
 * tricolor object, or NULL (returns 0). A pointer that is not the start of a
 * live object prints one line on stderr and aborts.
 */
TRI_API size_t tri_usable_size(const void *p);

/*
 * The start of the live object containing p (p may point inside it), or NULL
 * when p is not inside an allocated tricolor object. Never aborts. An object
 * the collector found unreachable counts as allocated until it is swept
 * (tri_collect sweeps everything before it returns).
 */
TRI_API void *tri_base(const void *p);

/*
 * Register the calling thread: the collector then scans its stack,
 * registers and static TLS block, and stops it during a cycle. Done
 * automatically on a thread's first allocation; a thread that holds
 * pointers to tricolor objects without ever allocating must register.
 * Idempotent. Returns 0, or -1 with errno set.
 */
TRI_API int tri_thread_register(void);

/*
 * Unregister the calling thread: its cache goes back to the central lists
 * and its stack is no longer a root. Done automatically when a registered
 * thread exits. The thread may allocate again afterwards (it registers
 * again). Returns 0, or -1 with errno = EINVAL if the thread was not
 * registered.
 */
TRI_API int tri_thread_unregister(void);

/*
 * pthread_create, with the new thread registered before start runs and
 * unregistered when it exits, as any registered thread is (after its
 * first round of thread-specific destructors). arg stays reachable until the new thread has it. Returns
 * pthread_create's result.
 */
TRI_API int tri_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                               void *(*start)(void *), void *arg);

/*
 * Blocking sections, Go's system-call state (bdwgc's GC_do_blocking). A
 * registered thread about to wait for a long time (in a system call, a
 * lock, a foreign library) publishes its stack and registers; cycles then
 * scan it without stopping it (no signal, so no EINTR, and no delay to
 * the pause), and when it leaves the section it waits while a cycle has
 * the world stopped. Sections nest; the outermost pair counts.
 *
 * tricolor already does this around the blocking calls of the C library
 * that programs use (nanosleep, sleep, usleep, clock_nanosleep, pause,
 * poll, ppoll, select, pselect, epoll_wait, epoll_pwait, read, readv,
 * write, writev, recv, recvfrom, recvmsg, send, sendto, sendmsg, accept,
 * accept4, connect, wait, waitpid, waitid, sigsuspend, sigwait,
 * sigwaitinfo, sigtimedwait, pthread_join, pthread_cond_wait,
 * pthread_cond_timedwait, sem_wait, sem_timedwait, and the _chk forms of
 * the fortified ones): both libraries and the malloc preload export
 * wrappers of them under the C library's names (docs/api.md). Use these
 * for other calls.
 *
 * Between enter and exit the thread must not store, move or hide pointers
 * to tricolor objects (the collector may be reading its stack), nor use
 * TRI_STORE. Allocating or freeing is allowed: it ends the section early
 * (the rest of the call runs as ordinary code). Unregistered threads and
 * calls made inside the heap's own code pass through. tri_exit_blocking
 * without a matching enter prints one line and does nothing.
 */
TRI_API void tri_enter_blocking(void);
TRI_API void tri_exit_blocking(void);
/* fn(arg) inside a blocking section; returns what fn returns. */
TRI_API void *tri_do_blocking(void *(*fn)(void *), void *arg);

/*
 * The two signals that stop and restart registered threads during a cycle.
 * Defaults: SIGPWR (suspend) and SIGXCPU (restart), as bdwgc uses on Linux.
 * (This release wakes stopped threads through a futex; the restart
 * signal's handler is installed and the signal stays reserved.)
 * The program must not use them for anything else, nor block them in
 * registered threads. A thread inside a blocking section (above) is never
 * signalled; one in an unwrapped blocking system call may see it return
 * EINTR, as with any handled signal. To change them, call this before the first
 * allocation or tri_init. Returns 0, or -1 with errno = EINVAL (bad or equal
 * signal numbers) or EBUSY (the heap is already initialised).
 */
TRI_API int tri_set_stop_signals(int suspend_signal, int restart_signal);

/*
 * Add [lo, hi) to the roots: every aligned word in it is scanned at each
 * cycle. The range must stay readable until removed. Ranges may overlap;
 * hi <= lo prints one line on stderr and does nothing.
 */
TRI_API void tri_add_roots(void *lo, void *hi);

/*
 * Remove the root ranges that lie within [lo, hi) (normally the same
 * arguments given to tri_add_roots). Ranges partly inside are trimmed.
 */
TRI_API void tri_remove_roots(void *lo, void *hi);

/*
 * Coroutine stacks (green threads, fibers): stacks other than the OS
 * threads' own, on which registered threads run code that holds pointers.
 *
 * tri_stack_register(lo, hi) declares [lo, hi) a stack (it grows down from
 * hi). Returns a handle, or NULL with errno = EINVAL (empty or inverted
 * range, one stderr line) or ENOMEM.
 *
 * tri_stack_set_sp(s, sp) is called when the coroutine on s is switched
 * out: sp is the lowest address still in use (e.g. the address of a local
 * of the switching function). Registers saved at the switch must be stored
 * in [sp, hi) (e.g. in a ucontext_t local to the switching function). A
 * plain store: no lock, no system call. Until it is first called the whole
 * stack is scanned.
 *
 * What is scanned: a suspended registered stack from its saved sp to hi;
 * a registered stack a thread is running on from that thread's stack
 * pointer to hi, and then that thread's own stack: whole, or, if the
 * program registered the thread's own stack too, from the sp set when the
 * thread switched to the coroutine (docs/coroutines.md). In concurrent mode
 * every registered stack is scanned again at mark termination, so a
 * coroutine may be resumed and switched during a mark without barriers on
 * its locals (docs/coroutines.md).
 *
 * tri_stack_unregister(s): the stack is no longer scanned; s is invalid
 * afterwards. Unregistering a handle twice prints one stderr line and does
 * nothing else (while the handle's memory is not reused).
 */
typedef struct tri_stack tri_stack_t;
TRI_API tri_stack_t *tri_stack_register(void *lo, void *hi);
TRI_API void tri_stack_unregister(tri_stack_t *s);
TRI_API void tri_stack_set_sp(tri_stack_t *s, void *sp);

/*
 * A root scanner: fn(arg) is called at every cycle, with the world stopped
 * (in concurrent mode: in mark termination), and reports memory that holds
 * pointers by calling tri_scan_range(lo, hi) for each range (a scheduler's
 * run queues, a handle table). fn must not allocate from tricolor, free,
 * take locks other threads may hold, or block. NULL removes the scanner.
 * One scanner at a time: a new call replaces the old one.
 *
 * tri_scan_range may be called only from inside the scanner; elsewhere it
 * prints one stderr line and does nothing. An empty range is ignored.
 */
TRI_API void tri_set_root_scanner(void (*fn)(void *arg), void *arg);
TRI_API void tri_scan_range(const void *lo, const void *hi);

/*
 * Run a full collection now and return when it is done, with every span
 * swept (Go's runtime.GC). Counted in num_forced_gc; gctrace marks its
 * line "(forced)". Registers the calling thread.
 */
TRI_API void tri_collect(void);

/*
 * Return as much memory to the OS as possible (Go's debug.FreeOSMemory): a
 * forced collection (as tri_collect), then every free heap page is
 * released with madvise (MADV_DONTNEED, or MADV_FREE with
 * GODEBUG=madvdontneed=0), highest addresses first. The heap stays usable:
 * released pages come back, zeroed, when they are allocated again.
 * Without this call a background scavenger keeps what the heap retains
 * near 110 % of what the heap goal needs (and under GOMEMLIMIT) using
 * about 1 % of one CPU. Registers the calling thread.
 */
TRI_API void tri_free_os_memory(void);

/*
 * Set GOGC: a cycle aims to end when the heap reaches (Go 1.18+)
 *   goal = marked + (marked + stacks + globals) * percent / 100,
 * with marked the live heap after the last mark and stacks and globals
 * the bytes of roots scanned, but never below 4 MiB * percent / 100
 * (Go's heap minimum); it starts earlier, at the pacer's trigger. A negative
 * percent turns automatic cycles off (tri_collect still works). Returns the
 * previous setting. The initial value comes from the GOGC environment
 * variable (a number or "off"; default 100).
 */
TRI_API int tri_set_gc_percent(int percent);

/*
 * Collection modes (above). TRI_MODE_TRACKED (the default) marks while the
 * program runs and needs nothing from it: the kernel tracks its writes, or,
 * where it cannot, the cycle stops the world. TRI_MODE_STW marks with every
 * registered thread stopped. TRI_MODE_CONCURRENT marks while the program
 * runs and requires every store of a pointer into a tricolor object or
 * into a global (data, bss, a tri_add_roots range) to go through
 * TRI_STORE, tri_write_barrier or tri_memmove while the program runs in
 * that mode. Stores to local variables (the stack, registers) need no
 * barrier.
 */
#define TRI_MODE_STW 0
#define TRI_MODE_CONCURRENT 1
#define TRI_MODE_TRACKED 2

/*
 * Choose the mode; it takes effect from the next cycle (a cycle under way
 * finishes in its own mode). Returns 0, or -1 with errno = EINVAL for an
 * unknown mode. GODEBUG=gcstoptheworld=1 (or 2) forces stop-the-world
 * whatever the program asks.
 */
TRI_API int tri_set_mode(int mode);

/*
 * The write barrier (Go's hybrid barrier). While a concurrent cycle is
 * marking, a pointer store records both the value it overwrites and the
 * value it writes in the calling thread's buffer, so the marker sees both;
 * at any other time it is a plain store behind one test of tri_wb_enabled.
 * Values that are not tricolor pointers are ignored, and the slot may be
 * anywhere (a tricolor object, a global, malloc'ed memory).
 *
 *   TRI_STORE(lvalue, value)  store value into lvalue (a statement; both are
 *                             evaluated once; lvalue must have a pointer or
 *                             pointer-sized integer type)
 *   tri_write_barrier(slot, value)   the same as a function: *slot = value
 *   tri_memmove(dst, src, n)  memmove for memory that holds pointers; every
 *                             aligned word overwritten and copied is shaded
 *   tri_shade(p)              while marking, mark the object p points into
 *                             (TRI_STORE calls it; rarely needed directly)
 * Read tri_wb_enabled only through these: it is the barrier's flag.
 */
extern TRI_API volatile int tri_wb_enabled;
TRI_API void tri_write_barrier(void **slot, void *value);
TRI_API void *tri_memmove(void *dst, const void *src, size_t n);
TRI_API void tri_shade(const void *p);

/* The store first tests the flag; a store that tested it just before a
 * cycle began marking tests it again after storing, and shades the new
 * value (docs/concurrency.md explains why both tests are needed). */
#define TRI_STORE(lvalue, value)                                             \
	do {                                                                 \
		__typeof__(lvalue) *tri_slot_ = &(lvalue);                    \
		__typeof__(lvalue) tri_value_ = (value);                      \
		if (__builtin_expect(tri_wb_enabled, 0)) {                    \
			tri_write_barrier((void **)tri_slot_,                 \
			                  (void *)tri_value_);                \
		} else {                                                     \
			*tri_slot_ = tri_value_;                              \
			__asm__ __volatile__("" ::: "memory");                \
			if (__builtin_expect(tri_wb_enabled, 0))              \
				tri_shade((const void *)tri_value_);          \
		}                                                            \
	} while (0)

/*
 * GOMEMLIMIT: a soft limit on the memory the heap uses (its mapped, not
 * released memory, metadata included). Near the limit the collector runs
 * more often, but never takes much more than half the CPU: a program whose
 * live heap exceeds the limit slows down instead of stalling. Returns the
 * previous limit; a negative argument only queries. INT64_MAX (the default,
 * or the GOMEMLIMIT environment variable with Go's syntax) means no limit.
 */
TRI_API int64_t tri_set_memory_limit(int64_t limit);

/*
 * Heap and collector statistics, with the meanings of Go's runtime.MemStats.
 * All byte counts are bytes; times are nanoseconds (last_gc_ns is wall clock
 * since the Unix epoch).
 */
typedef struct tri_stats {
	uint64_t heap_alloc;     /* bytes of allocated heap objects */
	uint64_t heap_sys;       /* bytes of heap memory obtained from the OS */
	uint64_t heap_idle;      /* bytes in spans with no objects */
	uint64_t heap_inuse;     /* bytes in spans with at least one object */
	uint64_t heap_released;  /* bytes of idle spans returned to the OS */
	uint64_t heap_objects;   /* number of allocated objects */
	uint64_t total_alloc;    /* cumulative bytes allocated (never falls) */
	uint64_t mallocs;        /* cumulative count of objects allocated */
	uint64_t frees;          /* cumulative count of objects freed */
	uint64_t sys;            /* all bytes obtained from the OS, incl. metadata */
	uint64_t meta_sys;       /* bytes of metadata (spans, caches, index) */
	uint64_t num_gc;         /* completed collection cycles */
	uint64_t num_forced_gc;  /* cycles forced by the program */
	uint64_t pause_total_ns; /* cumulative stop-the-world pause time */
	uint64_t pause_ns[256];  /* each cycle's stop-the-world time (both
	                            pauses of a concurrent cycle, summed); the
	                            latest is at pause_ns[(num_gc + 255) % 256] */
	uint64_t next_gc;        /* heap_alloc goal of the next cycle */
	uint64_t last_gc_ns;     /* end of the last cycle, ns since the epoch */
	double gc_cpu_fraction;  /* share of available CPU used by the collector
	                            since the program started */
} tri_stats_t;

/* Fill *st with a snapshot of the statistics. Exact when no other thread
 * allocates or frees meanwhile; otherwise each thread's counters are read
 * at slightly different moments, and derived values (heap_alloc,
 * heap_objects) are clamped so they never wrap. */
TRI_API void tri_read_stats(tri_stats_t *st);

/*
 * Heap profiling (docs/profiling.md). Allocations are sampled as Go samples
 * them: on average one every `bytes` bytes allocated (a Poisson process,
 * so an object of n bytes is sampled with probability 1 - exp(-n/bytes)),
 * recording the call stack (up to 32 frames) and, later, the object's
 * free. tri_set_profile_rate sets the average: 0 turns sampling off, 1
 * samples every allocation; the default is 512 KiB, or
 * GODEBUG=memprofilerate=N. A thread picks up a new rate within its
 * current sampling gap (at once for the calling thread). The first sample
 * installs a SIGSEGV/SIGBUS handler guarding the stack unwinder, chained
 * to the program's (docs/profiling.md). Returns 0, or -1 with errno =
 * EINVAL for a negative rate.
 *
 * tri_write_heap_profile writes the profile to fd in pprof's format
 * (protocol buffers, uncompressed: `go tool pprof PROGRAM FILE` reads it)
 * with Go's four sample types alloc_objects, alloc_space, inuse_objects,
 * inuse_space, unsampled as Go does. Like Go's, the profile shows the heap
 * as of the last completed collection: call tri_collect first for an
 * up-to-date one. Returns 0, or -1 with errno set (from write, or ENOMEM).
 * GODEBUG=memprofile=PATH writes it to PATH at exit (after a tri_collect),
 * and also, with memprofilesignal=N, each time signal N arrives.
 *
 * tri_heap_dump writes every allocated object (address, size, size class,
 * noscan, the heap pointers it holds), the roots that point into the heap,
 * the statistics and the profile's buckets and samples to fd, with the
 * world stopped, in the format of docs/heapdump.md (read it with
 * tools/tricolor-dump). It allocates nothing from the heap. fd must not be
 * a pipe read by another thread of this process. Registers the calling
 * thread. Returns 0, or -1 with errno set.
 */
TRI_API int tri_set_profile_rate(long bytes);
TRI_API int tri_write_heap_profile(int fd);
TRI_API int tri_heap_dump(int fd);

/*
 * Leak report (libtricolor-malloc.so with TRICOLOR_MALLOC=leakcheck,
 * docs/malloc.md): stop the world, find the objects that were allocated,
 * never freed, and are no longer reachable from the roots, and write them
 * on fd grouped by allocation site with their call stacks, in
 * LeakSanitizer's format, ending with a SUMMARY line. Nothing is freed.
 * Where allocation sites are not recorded (the plain library, other modes)
 * it writes one line saying so. Registers the calling thread.
 */
TRI_API void tri_report_leaks(int fd);

#ifdef __cplusplus
}
#endif

#endif /* TRICOLOR_H */

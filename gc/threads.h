/*
 * threads.h -- registered threads and stopping the world.
 *
 * A registered thread has a record (gthread) with its stack bounds and
 * static TLS ranges; it is registered on its first allocation,
 * tri_thread_register or tri_pthread_create, before it gets an allocation
 * cache, and unregistered (cache released first) when it exits.
 *
 * Stopping the world is a signal handshake (bdwgc's, on Go's safe-point
 * rule): the collector, holding threads_lock, sends the suspend signal to
 * every other registered thread and waits for one acknowledgement each. A
 * thread outside the heap-critical region (base.h) acknowledges from the
 * handler after publishing its stack pointer (the kernel has saved its
 * registers on that stack, above the pointer) and sleeps on a futex word
 * until its stop request is released (one FUTEX_WAKE restarts every
 * thread); one inside the region defers, and stops itself at
 * m_release.
 *
 * Blocking calls (Go's entersyscall / exitsyscall): a registered thread
 * that enters a blocking call (the wrappers of gc/blocking.c,
 * tri_enter_blocking) first saves its callee-saved registers in its
 * record, publishes its stack pointer and moves its status from running
 * to "in a call". Stopping the world, or suspending one thread, claims
 * such a thread by setting its scan bit: no signal, no wait; the thread
 * keeps blocking meanwhile. On return it clears its status, or, if the
 * scan bit is set, sleeps on the status word until the collector clears
 * it. So a thread blocked in a call is never interrupted by the collector
 * and never delays a stop.
 *
 * Invariants:
 *   I1. A thread is in the list iff it is registered; it is added and
 *       removed under threads_lock, which the collector holds from before
 *       it stops the world until after it restarts it, so the set of
 *       threads it signals cannot change during a cycle.
 *   I2. Every thread that has an mcache is registered (registered before
 *       the cache is made, unregistered after it is released).
 *   I3. While the world is stopped, each other registered thread is in the
 *       suspend handler, outside the heap-critical region, with its
 *       stack_sp published; the collector's own stack_sp is set by
 *       threads_save_self.
 *   I4. Each thread has its own stop request counter (odd: stop). The
 *       world is stopped by raising every thread's; a concurrent cycle
 *       suspends one thread at a time the same way (threads_suspend, to
 *       scan its stack or flush its barrier buffer). Either is done with
 *       threads_lock held, so requests never overlap.
 *   I5. A thread's status is "in a call" only between its entersyscall
 *       and exitsyscall, with its stack pointer and callee-saved
 *       registers published before the status changes (the CAS releases
 *       them); it enters only from "running", never while signalled (it
 *       lets the pending stop happen first) nor inside the heap-critical
 *       region.
 *   I6. The collector owns a thread's stack while the thread is stopped
 *       in the handler or its status has the scan bit; both are set and
 *       cleared under threads_lock (I4). Its roots are then its stack from
 *       the published sp up, its TLS and, in a call, its saved registers.
 *   I7. A thread back from a call runs program code only after a CAS
 *       from "in a call" (scan bit clear) to "running".
 *   I8. A thread in a call has no allocation cache (mcache_tls NULL, the
 *       cache parked in its record): any heap operation takes the slow
 *       path, which ends the call state first (waiting out a stop), so
 *       the heap is never touched by a thread the collector counts as
 *       stopped. The call goes on as a running thread's would.
 *   I9. A thread whose status has been "in a call" with the same
 *       call_gen since the concurrent mark scanned its stack has run no
 *       code above its published sp since: mark termination need not
 *       scan it again. (Another thread may store into its frames through
 *       a pointer, but what it stores was reachable or allocated black,
 *       and the barrier shades what it deletes: Go's reason for never
 *       rescanning a stack.)
 *   I10. A thread that exits registered stays registered through the
 *       first round of thread-specific destructors and is unregistered in
 *       the second (the exit destructor sets its key once more): a value
 *       another key's destructor puts back in round one (held only in the
 *       thread's struct pthread, inside the stack range scanned) stays a
 *       root until round two frees it. One extra round, not all of
 *       glibc's PTHREAD_DESTRUCTOR_ITERATIONS (4): a thread that first
 *       registers inside a destructor must still get its unregistering
 *       round, and so it does unless it registers in round 3 or 4.
 * Lock order: world (gc.c) -> threads_lock -> the allocator's locks.
 */
#ifndef TRI_THREADS_H
#define TRI_THREADS_H

#include "../base/base.h"
#include "../barrier/wbbuf.h"

struct mcache;

typedef struct gthread gthread;

/* Root kinds, for statistics and the heap dump. */
enum root_kind { ROOT_DATA, ROOT_USER, ROOT_STACK, ROOT_TLS, ROOT_NUM_KINDS };

bool threads_init(void);
/* Register / unregister the calling thread. 0, or -1 with errno set. */
int threads_register_self(void);
/* Is the calling thread inside threads_register_self, reading its stack
 * bounds (pthread_getattr_np reads /proc/self/maps with fopen: malloc)?
 * The malloc preload serves such a thread from its bootstrap arena: a
 * registration never recurses into another. */
bool threads_registering(void);
/* Attach the calling thread (the heap is initialised): registered, then
 * given its cache (alloc/mcache.h mcache_make). The caller is inside the
 * heap-critical region. The thread's cache, or NULL if metadata ran out. */
struct mcache *threads_attach_cache(void);
/* threads_attach_cache inside its own region. Idempotent. 0, or -1 with
 * errno set (ENOMEM when metadata ran out). */
int threads_attach(void);
int threads_unregister_self(void);

void threads_lock(void);
void threads_unlock(void);
/* With threads_lock held: stop / restart every other registered thread. */
void threads_stop_world(void);
void threads_start_world(void);
/* Between threads_stop_world and threads_start_world (the stopper, or
 * anyone holding threads_lock). */
bool threads_world_stopped(void);
/* With threads_lock held, the world running, just before a stop: flush
 * the cache of every thread blocked in a call that has not been flushed
 * since it parked it (claiming the thread for the flush, as a stop
 * would), so the stop's mcache_flush_all skips it (mcache.h I7): a stop
 * then costs a thread blocked in a call no more than a status word, not
 * a walk of its whole cache. */
void threads_flush_parked(void);
/* Record the calling (collecting) thread's stack pointer, below the
 * caller's frame: the caller must have spilled its registers there. */
void threads_save_self(void);
/* With the world stopped: call fn for each stack and TLS range of every
 * registered thread. */
typedef void (*root_range_fn)(uintptr_t lo, uintptr_t hi,
                              enum root_kind kind, void *arg);
void threads_for_each_root(root_range_fn fn, void *arg);
/* The same for one stopped thread. */
void threads_roots_of(const gthread *t, root_range_fn fn, void *arg);

/* With threads_lock held: walk the registered threads; stop one of them
 * alone (it publishes its stack pointer as in a stopped world) and let it
 * go again (I4). */
gthread *threads_first(void);
gthread *threads_next(const gthread *t);
void threads_suspend(gthread *t);
void threads_resume(gthread *t);
/* Start one of the collector's own threads (mark helper, worker,
 * controller, sweeper), detached, with every signal blocked: it is never
 * registered, so it must never be stopped. False if it could not start. */
bool threads_start_internal(void *(*fn)(void *), void *arg);
/* The calling internal thread gives the CPU to the program's threads.
 * idle: it runs only on a CPU with nothing else to do (SCHED_IDLE; nice
 * 19 where that is refused): the sweeper, the idle mark workers. Else nice
 * 19: a mark worker, which takes any spare CPU but, when the program's
 * threads want every CPU, yields to them at once instead of holding a
 * CPU for a whole time slice (the assists then do the marking). */
void threads_lower_priority(bool idle);

/* tri_set_stop_signals, tri_pthread_create (the heap initialised) and
 * tri_exit_blocking (tricolor.h). */
int threads_set_stop_signals(int suspend_signal, int restart_signal);
int threads_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                           void *(*start)(void *), void *arg);
void threads_exit_blocking(void);

/* Blocking calls (I5-I8), nested: the outermost pair changes the status.
 * entersyscall saves the caller's registers: call it from the function
 * whose frame stays live across the call. */
/* Look up the C library's definition of every wrapped blocking call
 * (gc/blocking.c), once, before any stop of the world. */
void blocking_init(void);
void threads_entersyscall(void);
void threads_exitsyscall(void);
bool threads_in_syscall(void);
/* The heap's slow path, on a thread in a call: end the call state (I8). */
void threads_exitsyscall_for_heap(void);
/* With t's stack owned by the collector: its stack has just been scanned
 * by the concurrent mark; whether it is still in the call it was in then
 * (I9: mark termination skips its rescan). */
void threads_note_scanned(gthread *t);
bool threads_blocked_since_scan(const gthread *t);
/* Whether the suspend handler stopped this thread since the last call
 * (clears it): an EINTR then came from the collector. */
bool threads_take_stopped(void);

/* The signal that stops registered threads (the malloc preload keeps
 * programs from blocking it). */
int threads_suspend_signal(void);

/* A thread's write-barrier buffer (the thread stopped, or the caller). */
wbbuf *threads_wbbuf(gthread *t);
/* The top of the stack the calling thread runs on at sp: its own, or a
 * registered coroutine stack; 0 if the thread is not registered or sp is
 * on neither (heap profile samples bound their unwinding with it). */
uintptr_t threads_self_stack_hi(uintptr_t sp);
/* Run fn(arg) so that a SIGSEGV or SIGBUS it takes makes this return
 * false instead of killing the process (root ranges the program may
 * unmap during a concurrent mark; heap profile samples: libgcc's
 * unwinder reads wherever wrong unwind information points, e.g. through
 * assembly that moves the stack pointer without CFI). The first call
 * installs the handlers; they pass every other fault to the handler
 * installed before them (or the default action). SIGSEGV and SIGBUS are
 * unblocked for the call (the collector's own threads block every
 * signal; the mark's guarded root scans run there). fn must hold no lock
 * a fault could leave held. */
bool threads_run_guarded(void (*fn)(void *), void *arg);
/* Registered threads (a hint outside threads_lock). */
unsigned threads_count(void);

/* fork() child step: only the forking thread stays registered. */
void threads_fork_child(void);

/* The walker (TRI_DEBUG >= 3, tests), with threads_lock held (a stop of
 * the world holds it): the list's links and count agree (I1), each
 * thread's bounds and status are valid (I5-I8); with the world running no
 * thread is claimed or asked to stop (I4); with it stopped by the caller
 * every other thread is stopped in the handler with its stack pointer
 * published, or claimed in a call (I3, I6). */
bool threads_check(void);

#endif /* TRI_THREADS_H */

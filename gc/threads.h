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
 * m_release. Blocking system calls are interrupted by the handler and
 * restarted (SA_RESTART) after it.
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
 * Lock order: world (gc.c) -> threads_lock -> the allocator's locks.
 */
#ifndef TRI_THREADS_H
#define TRI_THREADS_H

#include "../alloc/base.h"
#include "../barrier/wbbuf.h"

typedef struct gthread gthread;

/* Root kinds, for statistics and the heap dump. */
enum root_kind { ROOT_DATA, ROOT_USER, ROOT_STACK, ROOT_TLS, ROOT_NUM_KINDS };

bool threads_init(void);
/* Register / unregister the calling thread. 0, or -1 with errno set. */
int threads_register_self(void);
int threads_unregister_self(void);

void threads_lock(void);
void threads_unlock(void);
/* With threads_lock held: stop / restart every other registered thread. */
void threads_stop_world(void);
void threads_start_world(void);
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
 * false instead of killing the process (heap profile samples: libgcc's
 * unwinder reads wherever wrong unwind information points, e.g. through
 * assembly that moves the stack pointer without CFI). The first call
 * installs the handlers; they pass every other fault to the handler
 * installed before them (or the default action). fn must hold no lock a
 * fault could leave held. */
bool threads_run_guarded(void (*fn)(void *), void *arg);
/* Registered threads (a hint outside threads_lock). */
unsigned threads_count(void);

/* fork() handlers: threads_lock (rank GCTHREADS); in the child only the
 * forking thread stays registered. */
void threads_fork_prepare(void);
void threads_fork_parent(void);
void threads_fork_child(void);

#endif /* TRI_THREADS_H */

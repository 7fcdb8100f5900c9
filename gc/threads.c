/*
 * threads.c -- registered threads, the stop-the-world handshake, and the
 * heap-critical region's slow exit. See threads.h for the protocol.
 *
 * Signal handler rules: the suspend handler uses only async-signal-safe
 * calls (sem_post, the futex system call) and touches only the thread's
 * own TLS, resume_word and
 * its gthread record; it saves errno.
 */
#include "threads.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <link.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../alloc/fixalloc.h"
#include "../alloc/mcache.h"
#include "../barrier/wbbuf.h"
#include "../include/tricolor.h"
#include "bgmark.h"
#include "gc.h"
#include "stacks.h"


#define MAX_TLS_RANGES 8
/* gthread.status (I5-I8): what the thread is doing, as the collector
 * sees it. A futex word. */
enum {
	GS_RUNNING = 0,   /* program code: stopped by the signal */
	GS_SYSCALL = 1,   /* in a blocking call: sp and registers published */
	GS_SCAN = 2,      /* with GS_SYSCALL: the collector owns the stack */
	GS_SIGNALLED = 4, /* running, sent the suspend signal */
	GS_WAITING = 8,   /* with GS_SYSCALL|GS_SCAN: back from the call,
	                     sleeping on the word until GS_SCAN clears */
};
#define NUM_SAVED_REGS 40 /* room for the callee-saved registers */

struct gthread {
	/* what a stop reads for every thread, together in one cache line */
	volatile unsigned int status;  /* GS_*; atomic (I5-I8) */
	atomic_word stop_req;          /* odd: asked to stop (I4) */
	struct gthread *next, *prev;   /* threads_lock */
	uintptr_t call_gen;            /* owner: bumped at each entry (I9) */
	uintptr_t scanned_gen;         /* collector: call_gen at the last
	                                  concurrent scan, 0 if running (I9) */
	volatile uintptr_t stack_sp;   /* published when stopped (I3) or at
	                                  entersyscall (I5) */
	mcache *parked_cache;          /* owner: mcache_tls while in a call */
	pthread_t id;
	uintptr_t stack_lo, stack_hi;  /* the thread's stack mapping */
	uintptr_t regs[NUM_SAVED_REGS]; /* saved at entersyscall (I5) */
	uintptr_t tls_lo[MAX_TLS_RANGES], tls_hi[MAX_TLS_RANGES];
	unsigned ntls;
	wbbuf wb;                      /* the thread's write-barrier buffer */
};

static base_mutex threads_mu;
static gthread *all_threads;      /* I1; threads_mu */
static atomic_word nthreads;
static fixalloc gthread_alloc;
static __thread gthread *self __attribute__((tls_model("initial-exec")));
/* Owner thread: nesting depth of blocking sections (tri_enter_blocking and
 * the wrappers); the outermost one changes the status. */
static __thread unsigned syscall_depth
	__attribute__((tls_model("initial-exec")));
/* Owner thread (and its suspend handler): set when the handler stopped
 * the thread; threads_take_stopped reads and clears it. */
static __thread volatile sig_atomic_t stopped_since
	__attribute__((tls_model("initial-exec")));
static pthread_key_t exit_key;    /* unregisters at thread exit */

static int sig_suspend = SIGPWR, sig_restart = SIGXCPU;
static atomic_word signals_fixed; /* set once threads_init ran */
static sem_t ack_sem;             /* one post per stopped thread */
/* A stopped thread sleeps on this futex word until its stop request is
 * released: one FUTEX_WAKE restarts every thread at once, so a thread woken
 * first cannot delay the others by taking the collector's CPU. */
static volatile unsigned int resume_word;

int threads_set_stop_signals(int suspend_signal, int restart_signal)
{
	if (atomic_load_acquire(&signals_fixed)) { /* pairs: threads_init */
		errno = EBUSY;
		return -1;
	}
	if (suspend_signal <= 0 || suspend_signal > SIGRTMAX ||
	    restart_signal <= 0 || restart_signal > SIGRTMAX ||
	    suspend_signal == restart_signal || suspend_signal == SIGKILL ||
	    suspend_signal == SIGSTOP || restart_signal == SIGKILL ||
	    restart_signal == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	sig_suspend = suspend_signal;
	sig_restart = restart_signal;
	return 0;
}

/* ---- the handshake ---- */

static TRI_NOINLINE uintptr_t stack_pointer_below(void)
{
	return (uintptr_t)__builtin_frame_address(0);
}

TRI_SIGNAL_SAFE static void suspend_handler(int sig, siginfo_t *si,
                                            void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	int saved_errno = errno;
	gthread *t = self;
	uintptr_t req = t ? atomic_load_acquire(&t->stop_req) : 0; /* pairs:
	                                                    request_stop */
	if (*(volatile unsigned char *)&tri_m.b.locks) {
		/* m_release stops us */
		*(volatile unsigned char *)&tri_m.b.pending_suspend = 1;
	} else if (req & 1) {
		/* I4: only a claim (running -> signalled) asks a stop */
		TRI_ASSERT(AO_int_load(&t->status) == GS_SIGNALLED);
		/* The kernel saved the interrupted registers in the signal
		 * frame above us; spill ours too. */
		__builtin_unwind_init();
		t->stack_sp = stack_pointer_below();
		stopped_since = 1;
		AO_nop_full();
		sem_post(&ack_sem);
		for (;;) {
			unsigned seen = AO_int_load(&resume_word);
			if (atomic_load_acquire(&t->stop_req) != req)
				break; /* pairs: release_stop */
			syscall(SYS_futex, &resume_word, FUTEX_WAIT_PRIVATE,
			        seen, NULL, NULL, 0);
		}
	}
	errno = saved_errno;
}

TRI_SIGNAL_SAFE static void restart_handler(int sig)
{
	(void)sig; /* reserved: threads resume through resume_word */
}

void m_release_slow(void)
{
	volatile m_state *m = &tri_m;
	if (m->b.locks) /* nested: the outermost release acts */
		return;
	if (m->b.pending_suspend) {
		m->b.pending_suspend = 0;
		pthread_kill(pthread_self(), sig_suspend); /* stops here */
	}
	if (m->b.want_assist) {
		m->b.want_assist = 0;
		bgmark_assist();
	}
	if (m->b.want_gc) {
		m->b.want_gc = 0;
		gc_maybe_collect();
	}
}

static bool install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART | SA_SIGINFO;
	sa.sa_sigaction = suspend_handler;
	/* While stopped, only the signals that end the process get through
	 * (as bdwgc): nothing else runs on a stopped thread. */
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGINT);
	sigdelset(&sa.sa_mask, SIGQUIT);
	sigdelset(&sa.sa_mask, SIGTERM);
	sigdelset(&sa.sa_mask, SIGABRT);
	if (sigaction(sig_suspend, &sa, NULL) != 0)
		return false;
	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = restart_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig_restart, &sa, NULL) != 0)
		return false;
	return true;
}

/* Owner thread: rounds of thread-specific destructors seen at exit. */
static __thread unsigned exit_rounds
	__attribute__((tls_model("initial-exec")));

/* I10: set again once, so glibc runs a second round and calls again. */
static void exit_destructor(void *arg)
{
	if (++exit_rounds < 2 && self == arg &&
	    pthread_setspecific(exit_key, arg) == 0)
		return;
	threads_unregister_self();
}

bool threads_init(void)
{
	static bool done;
	atomic_store_release(&signals_fixed, 1);
	if (done)
		return true;
	blocking_init();
	base_mutex_init(&threads_mu, LOCK_RANK_GCTHREADS);
	fixalloc_init(&gthread_alloc, sizeof(gthread));
	if (sem_init(&ack_sem, 0, 0) != 0 || !install_handlers() ||
	    pthread_key_create(&exit_key, exit_destructor) != 0)
		return false;
	done = true;
	return true;
}

void threads_lock(void)
{
	base_mutex_lock(&threads_mu);
}

void threads_unlock(void)
{
	base_mutex_unlock(&threads_mu);
}

/* Ask t to stop (I4); it acknowledges on ack_sem. */
static void request_stop(gthread *t)
{
	/* Debug builds forget the stale stack pointer, so the one found
	 * after the acknowledgement is the handler's (I3). */
	if (TRI_DEBUG >= 2)
		t->stack_sp = 0;
	uintptr_t req = atomic_add_full(&t->stop_req, 1); /* odd: stop */
	TRI_ASSERT(!(req & 1)); /* I4: requests never overlap */
	int err = pthread_kill(t->id, sig_suspend);
	if (err != 0) /* I1 makes this impossible for a live thread */
		base_fatal("stop the world: cannot signal a registered "
		          "thread (error %d): collecting would be unsafe", err);
}

static void release_stop(gthread *t)
{
	uintptr_t req = atomic_add_full(&t->stop_req, 1); /* even: run */
	TRI_ASSERT(req & 1); /* I4: releases the request it made */
}

/* Wake every thread sleeping in the handler; each checks its own request. */
static void wake_stopped(void)
{
	AO_int_fetch_and_add_full(&resume_word, 1);
	syscall(SYS_futex, &resume_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL,
	        0);
}

static void wait_acks(unsigned n)
{
	while (n > 0)
		if (sem_wait(&ack_sem) == 0)
			n--;
	AO_nop_full(); /* every stack_sp is visible */
}

static bool status_cas(gthread *t, unsigned old, unsigned new)
{
	return AO_int_compare_and_swap_full(&t->status, old, new);
}

/* One of the statuses the protocol reaches (I5-I8). */
static bool status_valid(unsigned s)
{
	return s == GS_RUNNING || s == GS_SYSCALL || s == GS_SIGNALLED ||
	       s == (GS_SYSCALL | GS_SCAN) ||
	       s == (GS_SYSCALL | GS_SCAN | GS_WAITING);
}

/* The collector owns t's stack (I6): t is stopped in the handler (after
 * its acknowledgement) or claimed in a call; or t is the caller, whose
 * stack pointer threads_save_self published. */
static bool stack_owned(const gthread *t)
{
	unsigned s = AO_int_load(&t->status);
	return t == self || s == GS_SIGNALLED || (s & GS_SCAN);
}

/* After its acknowledgement: t is stopped in the handler with a stack
 * pointer published (I3), or claimed in a call (I6). */
static bool stopped_ok(const gthread *t)
{
	unsigned s = AO_int_load(&t->status);
	if (s == GS_SIGNALLED)
		return (atomic_load_relaxed(&t->stop_req) & 1) &&
		       t->stack_sp != 0;
	return (s & GS_SCAN) && (s & GS_SYSCALL);
}

/* Take t's stack for the collector (I6): a thread in a blocking call is
 * claimed without a signal (Go's suspendG of a _Gsyscall goroutine);
 * a running one is signalled. True if it was signalled (an ack follows). */
static bool claim(gthread *t)
{
	for (;;) {
		unsigned s = AO_int_load(&t->status);
		if (s == GS_SYSCALL && status_cas(t, s, GS_SYSCALL | GS_SCAN))
			return false;
		if (s == GS_RUNNING && status_cas(t, s, GS_SIGNALLED)) {
			request_stop(t);
			return true;
		}
		if (s != GS_SYSCALL && s != GS_RUNNING) /* I4: one claim */
			base_fatal("stop the world: thread status %u", s);
	}
}

/* Give t its stack back: a claimed thread may return from its call (and
 * is woken if it already waits, I7); a signalled one is released. The
 * caller then wakes the signalled ones (wake_stopped). */
static bool unclaim(gthread *t)
{
	unsigned s = AO_int_load(&t->status);
	if (s & GS_SCAN) {
		while (!status_cas(t, s, GS_SYSCALL))
			s = AO_int_load(&t->status); /* GS_WAITING came */
		if (s & GS_WAITING)
			syscall(SYS_futex, &t->status, FUTEX_WAKE_PRIVATE, 1,
			        NULL, NULL, 0);
		return false;
	}
	TRI_ASSERT(s == GS_SIGNALLED);
	AO_int_store_release(&t->status, GS_RUNNING); /* pairs: entersyscall */
	release_stop(t);
	return true;
}

static bool world_stopped; /* threads_mu */

void threads_stop_world(void)
{
	TRI_ASSERT(!world_stopped); /* one stop at a time */
	unsigned n = 0;
	for (gthread *t = all_threads; t; t = t->next) {
		/* I4: no claim is left over from an earlier stop */
		TRI_ASSERT2(!(atomic_load_relaxed(&t->stop_req) & 1));
		if (t != self && claim(t))
			n++;
	}
	TRI_ASSERT(n <= atomic_load_relaxed(&nthreads)); /* I1 */
	wait_acks(n);
	if (TRI_DEBUG >= 2) /* a loop the release build must not keep */
		for (gthread *t = all_threads; t; t = t->next)
			TRI_ASSERT2(t == self || stopped_ok(t)); /* I3, I6 */
	world_stopped = true;
}

bool threads_world_stopped(void)
{
	return world_stopped;
}

void threads_start_world(void)
{
	TRI_ASSERT(world_stopped);
	world_stopped = false;
	bool signalled = false;
	for (gthread *t = all_threads; t; t = t->next)
		if (t != self && unclaim(t))
			signalled = true;
	if (signalled)
		wake_stopped();
}

void threads_flush_parked(void)
{
	TRI_ASSERT(!world_stopped); /* just before a stop */
	for (gthread *t = all_threads; t; t = t->next) {
		if (t == self || AO_int_load(&t->status) != GS_SYSCALL ||
		    !status_cas(t, GS_SYSCALL, GS_SYSCALL | GS_SCAN))
			continue;
		mcache *c = t->parked_cache; /* published by its entry CAS */
		if (c && !c->parked_clean) {
			m_acquire();
			mcache_flush(c); /* the owner waits to unpark it (I7) */
			c->parked_clean = true;
			m_release();
		}
		unclaim(t); /* wakes it if it came back meanwhile */
	}
}

void threads_suspend(gthread *t)
{
	TRI_ASSERT(t != self);
	TRI_ASSERT(!world_stopped); /* I4: one thread, or the world */
	if (claim(t))
		wait_acks(1);
	TRI_ASSERT2(stopped_ok(t)); /* I3, I6 */
}

void threads_resume(gthread *t)
{
	TRI_ASSERT(!world_stopped && stack_owned(t)); /* I4, I6 */
	if (unclaim(t))
		wake_stopped();
}

/* ---- blocking calls: Go's entersyscall / exitsyscall (I5-I8) ---- */

/* threads_entersyscall (tri_enter_blocking jumps here: runtime/api.c): the
 * callee-saved registers are saved on the first instructions, while they
 * still hold the caller's values (any C prologue could push one and
 * reuse it, and its frame is gone once the call returns), then
 * entersyscall_saved(saved, sp) runs with sp the caller's stack pointer
 * after the return. */
void entersyscall_saved(const uintptr_t *saved, uintptr_t sp)
	__attribute__((used));
#if defined(__x86_64__)
#define NUM_PUSHED 6
__asm__(".text\n"
        ".globl threads_entersyscall\n"
        ".hidden threads_entersyscall\n"
        ".type threads_entersyscall, @function\n"
        "threads_entersyscall:\n"
        "\tpushq %rbx\n\tpushq %rbp\n\tpushq %r12\n"
        "\tpushq %r13\n\tpushq %r14\n\tpushq %r15\n"
        "\tmovq %rsp, %rdi\n"        /* saved */
        "\tleaq 56(%rsp), %rsi\n"    /* above the return address */
        "\tsubq $8, %rsp\n"          /* 16-byte aligned at the call */
        "\tcall entersyscall_saved\n"
        "\taddq $56, %rsp\n"         /* the registers are unchanged */
        "\tret\n"
        ".size threads_entersyscall, .-threads_entersyscall\n");
#else
/* Elsewhere, best effort: a jmp_buf in this frame holds the registers
 * (frame registers pointer-mangled by the C library). */
#define NUM_PUSHED (sizeof(jmp_buf) / sizeof(uintptr_t))
_Static_assert(sizeof(jmp_buf) <= NUM_SAVED_REGS * sizeof(uintptr_t),
               "jmp_buf does not fit gthread.regs");
TRI_NOINLINE void threads_entersyscall(void)
{
	jmp_buf jb;
	setjmp(jb);
	entersyscall_saved((const uintptr_t *)(void *)&jb,
	                   (uintptr_t)__builtin_frame_address(0));
}

#endif

bool threads_in_syscall(void)
{
	return syscall_depth > 0;
}

/* Wait until a stop that has signalled us is over (its signal is pending
 * or being handled): entering now would let it interrupt the call. */
static void wait_unsignalled(gthread *t)
{
	while (AO_int_load(&t->status) == GS_SIGNALLED)
		sched_yield(); /* the signal is taken on the way back */
}

void entersyscall_saved(const uintptr_t *saved, uintptr_t sp)
{
	gthread *t = self;
	if (syscall_depth++ > 0)
		return; /* nested */
	stopped_since = 0;
	if (!t || tri_m.b.locks)
		return; /* not registered, or in the heap's region (I8) */
	/* I5: entered from running (or signalled: it lets the stop
	 * happen first), never from a call */
	TRI_ASSERT(!(AO_int_load(&t->status) & GS_SYSCALL));
	memcpy(t->regs, saved, NUM_PUSHED * sizeof *saved);
	t->stack_sp = sp;
	t->parked_cache = mcache_tls; /* I8: the heap's slow path ends it */
	if (mcache_tls)
		mcache_park(mcache_tls); /* mcache.h I7 */
	mcache_tls = NULL;
	t->call_gen++; /* I9: published by the CAS */
	while (!status_cas(t, GS_RUNNING, GS_SYSCALL)) /* I5 */
		wait_unsignalled(t);
}

/* Back from the call: wait while the collector owns the stack (I7). */
static void take_back(gthread *t)
{
	for (;;) {
		unsigned s = AO_int_load(&t->status);
		if (s == GS_RUNNING)
			return; /* the heap's slow path took it back (I8) */
		if (s == GS_SYSCALL) {
			if (status_cas(t, s, GS_RUNNING))
				break;
			continue;
		}
		if (!(s & GS_WAITING) && !status_cas(t, s, s | GS_WAITING))
			continue;
		syscall(SYS_futex, &t->status, FUTEX_WAIT_PRIVATE,
		        s | GS_WAITING, NULL, NULL, 0);
	}
	/* I7: running again, the collector no longer owning the stack
	 * (a new claim may have signalled it already) */
	TRI_ASSERT(!(AO_int_load(&t->status) & GS_SYSCALL));
	mcache *c = t->parked_cache;
	TRI_ASSERT(!c || c->parked); /* mcache.h I7 */
	if (c)
		mcache_unpark(c); /* before it is used (mcache.h I7) */
	mcache_tls = c;
	t->parked_cache = NULL;
}

void threads_exitsyscall(void)
{
	TRI_ASSERT(syscall_depth > 0);
	if (--syscall_depth == 0 && self)
		take_back(self);
}

void threads_exitsyscall_for_heap(void)
{
	if (syscall_depth > 0 && self)
		take_back(self);
}

void threads_note_scanned(gthread *t)
{
	TRI_ASSERT(stack_owned(t)); /* I6: just scanned */
	bool in_call = AO_int_load(&t->status) & GS_SYSCALL;
	t->scanned_gen = in_call ? t->call_gen : 0;
}

bool threads_blocked_since_scan(const gthread *t)
{
	TRI_ASSERT(stack_owned(t)); /* I6: it is not running meanwhile */
	return (AO_int_load(&t->status) & GS_SYSCALL) && t->scanned_gen &&
	       t->scanned_gen == t->call_gen; /* I9 */
}

bool threads_take_stopped(void)
{
	bool s = stopped_since;
	stopped_since = 0;
	return s;
}

gthread *threads_first(void)
{
	return all_threads;
}

gthread *threads_next(const gthread *t)
{
	return t->next;
}

wbbuf *threads_wbbuf(gthread *t)
{
	TRI_ASSERT2(stack_owned(t)); /* wbbuf.h I3: its owner stopped */
	return &t->wb;
}

void threads_save_self(void)
{
	if (self)
		self->stack_sp = stack_pointer_below();
}

unsigned threads_count(void)
{
	return (unsigned)atomic_load_relaxed(&nthreads);
}

uintptr_t threads_self_stack_hi(uintptr_t sp)
{
	gthread *t = self;
	uintptr_t hi;
	if (!t)
		return 0;
	if (sp >= t->stack_lo && sp < t->stack_hi)
		return t->stack_hi;
	return stacks_find(sp, &hi) ? hi : 0;
}

/* ---- guarded calls (threads_run_guarded) ---- */

static __thread sigjmp_buf *fault_guard
	__attribute__((tls_model("initial-exec")));
static struct sigaction prev_segv, prev_bus; /* set once, then read */
static pthread_once_t guard_once = PTHREAD_ONCE_INIT;

/* A fault outside a guarded call: what the program had before. */
TRI_SIGNAL_SAFE static void fault_chain(int sig, siginfo_t *info, void *uc)
{
	struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, info, uc);
		return;
	}
	if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN) {
		/* back to the default: the faulting instruction runs again
		 * and the process dies as it would have */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
		return;
	}
	prev->sa_handler(sig);
}

TRI_SIGNAL_SAFE static void fault_handler(int sig, siginfo_t *info, void *uc)
{
	sigjmp_buf *g = fault_guard;
	if (g) {
		fault_guard = NULL;
		siglongjmp(*g, 1); /* SA_NODEFER: nothing left blocked */
	}
	fault_chain(sig, info, uc);
}

static void install_fault_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &prev_segv);
	sigaction(SIGBUS, &sa, &prev_bus);
}

/* The mask as the kernel has it, bypassing pthread_sigmask: the malloc
 * preload interposes it to keep the stop signal unblocked, which would
 * open a collector thread's mask to it. */
static void raw_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	syscall(SYS_rt_sigprocmask, how, set, old, (size_t)(_NSIG / 8));
}

/* The collector's threads block every signal, and the kernel kills a
 * process whose thread faults with SIGSEGV blocked: the guard unblocks
 * the two fault signals for the call, and puts the mask back after. */
bool threads_run_guarded(void (*fn)(void *), void *arg)
{
	pthread_once(&guard_once, install_fault_handlers);
	sigset_t faults, old;
	sigemptyset(&faults);
	sigaddset(&faults, SIGSEGV);
	sigaddset(&faults, SIGBUS);
	raw_sigmask(SIG_UNBLOCK, &faults, &old);
	bool ok = false;
	sigjmp_buf jb;
	if (sigsetjmp(jb, 0) == 0) {
		fault_guard = &jb;
		compiler_barrier();
		fn(arg);
		compiler_barrier();
		fault_guard = NULL;
		ok = true;
	}
	raw_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

/* ---- roots of a thread ---- */

void threads_roots_of(const gthread *t, root_range_fn fn, void *arg)
{
	TRI_ASSERT(stack_owned(t)); /* I6 */
	TRI_ASSERT2(t->stack_sp != 0); /* I3, I5: published */
	if (AO_int_load(&t->status) & GS_SYSCALL) /* I6 */
		fn((uintptr_t)t->regs, (uintptr_t)(t->regs + NUM_PUSHED),
		   ROOT_STACK, arg);
	uintptr_t sp = t->stack_sp, hi;
	if (sp >= t->stack_lo && sp < t->stack_hi) {
		stacks_find(sp, &hi); /* if registered too: running, not saved */
		fn(sp & ~(uintptr_t)7, t->stack_hi, ROOT_STACK, arg);
	} else { /* on another stack: a coroutine's, or a sigaltstack */
		if (stacks_find(sp, &hi)) /* registered: from sp up */
			fn(sp & ~(uintptr_t)7, hi, ROOT_STACK, arg);
		/* The own stack: from where the thread left it if the program
		 * registered it (stacks.h), else all of it. */
		if (!stacks_covers(t->stack_hi))
			fn(t->stack_lo, t->stack_hi, ROOT_STACK, arg);
	}
	for (unsigned i = 0; i < t->ntls; i++)
		fn(t->tls_lo[i], t->tls_hi[i], ROOT_TLS, arg);
}

void threads_for_each_root(root_range_fn fn, void *arg)
{
	for (gthread *t = all_threads; t; t = t->next)
		threads_roots_of(t, fn, arg);
}

/* The calling thread's static TLS blocks, one per module that has a
 * PT_TLS segment allocated in this thread. */
static int tls_ranges_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	gthread *t = arg;
	if (size < offsetof(struct dl_phdr_info, dlpi_tls_data) +
	           sizeof info->dlpi_tls_data || !info->dlpi_tls_data)
		return 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_TLS || ph->p_memsz == 0)
			continue;
		if (t->ntls == MAX_TLS_RANGES) {
			base_warn("more than %d TLS blocks: the rest are not "
			         "scanned", MAX_TLS_RANGES);
			return 1;
		}
		uintptr_t lo = (uintptr_t)info->dlpi_tls_data;
		t->tls_lo[t->ntls] = align_down(lo, sizeof(void *));
		/* down: a pointer field ends at an aligned offset within the
		 * block, and the scan reads whole words below hi */
		t->tls_hi[t->ntls] = align_down(lo + ph->p_memsz,
		                                sizeof(void *));
		t->ntls++;
	}
	return 0;
}

static bool stack_bounds(gthread *t)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return false;
	int err = pthread_attr_getstack(&attr, &addr, &size);
	pthread_attr_destroy(&attr);
	if (err != 0)
		return false;
	t->stack_lo = (uintptr_t)addr;
	t->stack_hi = (uintptr_t)addr + size;
	return true;
}

/* ---- registration ---- */

mcache *threads_attach_cache(void)
{
	if (mcache_tls)
		return mcache_tls;
	threads_exitsyscall_for_heap(); /* I8 */
	if (mcache_tls)
		return mcache_tls;
	if (threads_register_self() != 0)
		return NULL;
	return mcache_make();
}

int threads_attach(void)
{
	m_acquire();
	mcache *c = threads_attach_cache();
	m_release();
	if (!c) {
		if (!errno)
			errno = ENOMEM;
		return -1;
	}
	return 0;
}

static __thread bool registering __attribute__((tls_model("initial-exec")));

bool threads_registering(void)
{
	return registering;
}

/* The thread's bounds and TLS blocks: pthread_getattr_np and
 * dl_iterate_phdr, which may call malloc (threads_registering). */
static bool thread_bounds(gthread *t)
{
	registering = true;
	bool ok = stack_bounds(t);
	if (ok)
		dl_iterate_phdr(tls_ranges_cb, t);
	registering = false;
	return ok;
}

int threads_register_self(void)
{
	if (self)
		return 0;
	gthread *t = fixalloc_alloc(&gthread_alloc);
	if (!t) {
		errno = ENOMEM;
		return -1;
	}
	if (!thread_bounds(t)) {
		fixalloc_free(&gthread_alloc, t);
		errno = EAGAIN;
		return -1;
	}
	TRI_ASSERT(t->stack_lo < t->stack_hi && t->ntls <= MAX_TLS_RANGES);
	TRI_ASSERT(!mcache_tls); /* I2: registered before the cache */
	t->id = pthread_self();
	t->stack_sp = t->stack_hi;
	t->stop_req = 0;
	t->status = GS_RUNNING;
	t->call_gen = 1;
	t->scanned_gen = 0;
	t->parked_cache = NULL;
	wbbuf_reset(&t->wb);
	self = t; /* before the list: a stop signal may come at once */
	wbbuf_attach(&t->wb);
	pthread_setspecific(exit_key, t);
	base_mutex_lock(&threads_mu);
	t->next = all_threads;
	if (all_threads)
		all_threads->prev = t;
	all_threads = t;
	atomic_add_full(&nthreads, 1);
	base_mutex_unlock(&threads_mu);
	return 0;
}

int threads_unregister_self(void)
{
	gthread *t = self;
	if (!t) {
		errno = EINVAL;
		return -1;
	}
	if (syscall_depth) { /* left a blocking section by cancellation */
		take_back(t);
		syscall_depth = 0;
	}
	m_acquire();
	wbbuf_flush(&t->wb); /* what it recorded is shaded before it goes */
	wbbuf_attach(NULL);
	mcache_release(); /* I2: the cache goes first */
	m_release();
	TRI_ASSERT(!mcache_tls && t->wb.n == 0); /* I2; wbbuf.h I3 */
	base_mutex_lock(&threads_mu); /* may be stopped while waiting */
	/* I1, I4: with the lock no claim is outstanding: running */
	TRI_ASSERT(AO_int_load(&t->status) == GS_RUNNING);
	TRI_ASSERT(t->prev ? t->prev->next == t : all_threads == t);
	if (t->prev)
		t->prev->next = t->next;
	else
		all_threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	uintptr_t had = atomic_add_full(&nthreads, (uintptr_t)-1);
	TRI_ASSERT(had > 0); /* I1 */
	base_mutex_unlock(&threads_mu);
	self = NULL;
	pthread_setspecific(exit_key, NULL);
	fixalloc_free(&gthread_alloc, t);
	return 0;
}

bool threads_start_internal(void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all); /* the new thread inherits this mask */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t t;
	bool ok = pthread_create(&t, NULL, fn, arg) == 0;
	if (ok)
		pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

void threads_lower_priority(bool idle)
{
	struct sched_param p = {0};
	if (idle && pthread_setschedparam(pthread_self(), SCHED_IDLE, &p) == 0)
		return;
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
}

int threads_suspend_signal(void)
{
	return sig_suspend;
}

/* ---- tri_pthread_create ---- */

typedef struct start_args {
	void *(*start)(void *);
	void *arg;
	sem_t ready;
	int err;
} start_args;

static void *thread_start(void *p)
{
	start_args *sa = p;
	void *(*start)(void *) = sa->start;
	void *arg = sa->arg; /* on our stack before the parent lets go */
	int err = threads_attach() == 0 ? 0 : errno;
	sa->err = err;
	sem_post(&sa->ready); /* sa is gone once posted */
	if (err)
		return NULL;
	return start(arg); /* the exit destructor unregisters (I10) */
}

int threads_pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                           void *(*start)(void *), void *arg)
{
	start_args sa = {.start = start, .arg = arg};
	if (sem_init(&sa.ready, 0, 0) != 0)
		return errno;
	int err = pthread_create(thread, attr, thread_start, &sa);
	if (err == 0) { /* arg stays on our (scanned) stack until then */
		while (sem_wait(&sa.ready) != 0)
			;
		if (sa.err) { /* it could not register: it ran nothing */
			int detached = PTHREAD_CREATE_JOINABLE;
			if (attr)
				pthread_attr_getdetachstate(attr, &detached);
			if (detached == PTHREAD_CREATE_JOINABLE)
				pthread_join(*thread, NULL);
			err = sa.err;
		}
	}
	sem_destroy(&sa.ready);
	return err;
}

/* ---- the walker ---- */

/* What is wrong with t, or NULL (threads_lock held). */
static const char *thread_fault(const gthread *t, const gthread *prev)
{
	unsigned s = AO_int_load(&t->status);
	bool asked = atomic_load_relaxed(&t->stop_req) & 1;
	if (t->prev != prev)
		return "list links";
	if (t->stack_lo >= t->stack_hi || t->ntls > MAX_TLS_RANGES)
		return "stack or TLS bounds";
	if (!status_valid(s))
		return "status (I5-I8)";
	if (!world_stopped)
		return s & ~(unsigned)GS_SYSCALL || asked
		               ? "claimed with the world running (I4)"
		               : NULL;
	if (t != self && !stopped_ok(t))
		return "not stopped with the world (I3, I6)";
	if (asked != (t != self && s == GS_SIGNALLED))
		return "stop request without a signalled stop (I4)";
	return NULL;
}

bool threads_check(void)
{
	uintptr_t count = atomic_load_relaxed(&nthreads), n = 0;
	const gthread *prev = NULL, *t = all_threads;
	const char *why = NULL;
	for (; t && !why; prev = t, t = t->next)
		if (++n > count)
			why = "more threads listed than counted (I1)";
		else
			why = thread_fault(t, prev);
	if (!why && n != count)
		why = "fewer threads listed than counted (I1)";
	if (why)
		base_warn("threads_check: thread %p: %s (%lu registered)",
		          (const void *)prev, why, (unsigned long)count);
	return why == NULL;
}

/* ---- fork ---- */

void threads_fork_child(void)
{
	sem_init(&ack_sem, 0, 0);
	all_threads = self;
	atomic_store_relaxed(&nthreads, self ? 1 : 0);
	if (self) {
		self->id = pthread_self();
		self->next = self->prev = NULL;
		self->status = GS_RUNNING; /* forked outside any call */
	}
}

/* ---- the public calls' halves (runtime/api.c) ---- */

void threads_exit_blocking(void)
{
	if (syscall_depth == 0) {
		base_warn("tri_exit_blocking without tri_enter_blocking: ignored");
		return;
	}
	threads_exitsyscall();
}


/*
 * coro.h -- a tiny coroutine scheduler on ucontext, wired to tricolor.
 * Owned by the examples (docs/examples/coroutines.c) and the API tests
 * (test/api/test_coro.c); not part of the library. Header-only: static
 * functions, include it once per program after <tricolor.h>.
 *
 * What it shows (docs/coroutines.md explains each step):
 *   1. Each coroutine runs on its own stack, mmap'ed by the pool (never
 *      from tricolor), with a guard page below it, registered with
 *      tri_stack_register when the coroutine is spawned and unregistered
 *      before the stack is unmapped.
 *   2. coro_yield tells tricolor where the suspended stack's live part
 *      starts (tri_stack_set_sp) with the registers saved inside it.
 *   3. The pool's own memory (the coroutines' control blocks, which hold
 *      each coroutine's argument and the run queue's links) is one malloc'ed
 *      array reported to the collector by a root scanner.
 *   4. One run queue shared by every OS thread that calls coro_run, under
 *      a mutex: a coroutine suspended on one thread may resume on another.
 *
 * API:
 *   coro_pool_new(max, stack_size)  a pool of at most max live coroutines
 *   coro_pool_free(pool)            after every coroutine has ended
 *   coro_spawn(pool, fn, arg)       a new coroutine that will run
 *                                   fn(self, arg); NULL when the pool is
 *                                   full or a stack cannot be had
 *   coro_ready(pool, co)            put co on the run queue
 *   coro_yield(self)                from inside fn: switch back to the
 *                                   thread that resumed self
 *   coro_resume(co, worker)         run co on this thread until it yields
 *                                   or ends; false once it has ended (co
 *                                   is then destroyed)
 *   coro_run(pool, worker)          run queued coroutines until none is
 *                                   left; any number of threads at once
 *
 * Rules for the code a coroutine runs: it may migrate between OS threads at
 * every coro_yield, so it must not keep the address of a thread-local
 * variable (errno and pthread_self() included: glibc declares both
 * functions const, so the compiler may reuse a value read before a yield)
 * across a yield. Use self->home->worker to learn where it runs now.
 *
 * Concurrency: pool->lock protects the free list, the run queue and
 * pool->live; a coroutine's control block is touched by the one thread
 * running or queueing it. The root scanner reads the control blocks with
 * the world stopped and takes no lock (a stopped thread may hold
 * pool->lock).
 */
#ifndef CORO_H
#define CORO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <tricolor.h>

/* The OS thread side of a resume: where a yielding coroutine returns to. */
struct coro_home {
	ucontext_t ctx; /* the resumer's registers, on the thread's stack */
	int worker;     /* the number its thread passed to coro_resume */
};

struct coro;
typedef void coro_fn(struct coro *self, void *arg);

struct coro {
	ucontext_t *ctx;        /* registers to resume from: inside the stack */
	struct coro_home *home; /* the thread running it; NULL otherwise */
	coro_fn *fn;
	void *arg;          /* may point to a tricolor object: scanned */
	tri_stack_t *stack; /* registered [mem + page, mem + size) */
	char *mem;          /* mmap'ed: guard page, then the stack */
	size_t size;        /* bytes mapped at mem */
	struct coro *next;  /* run queue or free list (pool->lock) */
	bool done;          /* fn has returned */
};

struct coro_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* a coroutine was queued or the last ended */
	struct coro *head, *tail; /* run queue (lock) */
	struct coro *free;        /* unused control blocks (lock) */
	size_t live;              /* spawned and not ended (lock) */
	size_t stack_size;
	size_t max;
	struct coro *slots; /* max control blocks, reported by coro_scan */
};

/* The root scanner: every control block, used or not. Called by the
 * collector with the world stopped; must take no lock. */
static void coro_scan(void *arg)
{
	struct coro_pool *pool = arg;
	tri_scan_range(pool->slots, pool->slots + pool->max);
}

static struct coro_pool *coro_pool_new(size_t max, size_t stack_size)
{
	struct coro_pool *pool = calloc(1, sizeof *pool);
	if (!pool)
		return NULL;
	pool->slots = calloc(max, sizeof *pool->slots);
	if (!pool->slots) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->max = max;
	pool->stack_size = stack_size;
	for (size_t i = max; i-- > 0;) {
		pool->slots[i].next = pool->free;
		pool->free = &pool->slots[i];
	}
	tri_set_root_scanner(coro_scan, pool);
	return pool;
}

static void coro_pool_free(struct coro_pool *pool)
{
	tri_set_root_scanner(NULL, NULL);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool->slots);
	free(pool);
}

static void coro_ready(struct coro_pool *pool, struct coro *co)
{
	pthread_mutex_lock(&pool->lock);
	co->next = NULL;
	if (pool->tail)
		pool->tail->next = co;
	else
		pool->head = co;
	pool->tail = co;
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

/* The first frame on a coroutine's stack. makecontext passes only ints,
 * so the control block's address comes in two halves. */
static void coro_main(unsigned hi, unsigned lo)
{
	struct coro *co = (struct coro *)(((uintptr_t)hi << 32) | lo);
	co->fn(co, co->arg);
	co->done = true;
	setcontext(&co->home->ctx); /* the stack is dead from here on */
}

/* Map and register a stack for co, and build its first context at the top
 * of that stack: the live part of a coroutine that never ran is just that
 * context, so it is the first sp (tricolor would otherwise scan the whole
 * untouched stack until the first switch-out). */
static bool coro_stack_new(struct coro *co, size_t stack_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	co->size = page + (stack_size + page - 1) / page * page;
	co->mem = mmap(NULL, co->size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (co->mem == MAP_FAILED)
		return false;
	mprotect(co->mem, page, PROT_NONE); /* overflow faults, not corrupts */
	char *lo = co->mem + page, *hi = co->mem + co->size;
	co->stack = tri_stack_register(lo, hi);
	if (!co->stack) {
		munmap(co->mem, co->size);
		return false;
	}
	uintptr_t top = ((uintptr_t)hi - sizeof(ucontext_t)) & ~(uintptr_t)63;
	ucontext_t *uc = (ucontext_t *)top;
	getcontext(uc);
	uc->uc_stack.ss_sp = lo;
	uc->uc_stack.ss_size = (size_t)((char *)uc - lo);
	uc->uc_link = NULL;
	uintptr_t p = (uintptr_t)co;
	makecontext(uc, (void (*)(void))coro_main, 2, (unsigned)(p >> 32),
	            (unsigned)p);
	co->ctx = uc;
	tri_stack_set_sp(co->stack, uc); /* not the whole, untouched stack */
	return true;
}

static struct coro *coro_spawn(struct coro_pool *pool, coro_fn *fn,
                               void *arg)
{
	pthread_mutex_lock(&pool->lock);
	struct coro *co = pool->free;
	if (co) {
		pool->free = co->next;
		pool->live++;
	}
	pthread_mutex_unlock(&pool->lock);
	if (!co)
		return NULL;
	co->fn = fn;
	co->done = false;
	co->home = NULL;
	/* The control blocks are reported by the root scanner, which runs
	 * with the world stopped at the end of every mark: like a stack,
	 * they need no write barrier. */
	co->arg = arg;
	if (!coro_stack_new(co, pool->stack_size)) {
		co->arg = NULL;
		pthread_mutex_lock(&pool->lock);
		co->next = pool->free;
		pool->free = co;
		pool->live--;
		pthread_mutex_unlock(&pool->lock);
		return NULL;
	}
	return co;
}

/*
 * Switch from the coroutine self back to the thread that resumed it.
 *
 * `here` is a local of this function and this function is never inlined,
 * so `here` lies below every frame of the coroutine: [&here, top) holds
 * all the coroutine's frames. swapcontext saves the callee-saved registers
 * (where the compiler may keep the coroutine's pointers across the call)
 * into `here`, so they too lie in the part of the stack tricolor scans
 * while the coroutine is suspended. tri_stack_set_sp is a plain store;
 * it must come before the switch: from the moment the thread has left the
 * stack the collector treats it as suspended.
 */
static __attribute__((noinline)) void coro_yield(struct coro *self)
{
	ucontext_t here;
	self->ctx = &here;
	tri_stack_set_sp(self->stack, &here);
	swapcontext(&here, &self->home->ctx);
}

/* Run co on the calling thread until it yields (true) or ends (false:
 * its stack is unregistered, then unmapped, and co is back in the free
 * list). */
/* The running thread's own stack, registered by coro_run so that while
 * the thread runs a coroutine its stack is scanned from coro_resume's
 * frame up, not whole (docs/coroutines.md). */
static __thread tri_stack_t *coro_own_stack;

static bool coro_resume(struct coro_pool *pool, struct coro *co, int worker)
{
	struct coro_home home;
	home.worker = worker;
	co->home = &home;
	if (coro_own_stack) /* home.ctx, below, is above this point */
		tri_stack_set_sp(coro_own_stack, &home);
	swapcontext(&home.ctx, co->ctx);
	co->home = NULL;
	if (!co->done)
		return true;
	tri_stack_unregister(co->stack); /* before the memory goes */
	munmap(co->mem, co->size);
	co->arg = NULL;
	co->stack = NULL;
	pthread_mutex_lock(&pool->lock);
	co->next = pool->free;
	pool->free = co;
	if (--pool->live == 0)
		pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	return false;
}

/* Take the next queued coroutine; wait while others run; NULL once no
 * coroutine is left. */
static struct coro *coro_next(struct coro_pool *pool)
{
	pthread_mutex_lock(&pool->lock);
	while (!pool->head && pool->live > 0)
		pthread_cond_wait(&pool->wake, &pool->lock);
	struct coro *co = pool->head;
	if (co) {
		pool->head = co->next;
		if (!pool->head)
			pool->tail = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	return co;
}

/* Round-robin: resume queued coroutines one after the other, requeueing
 * the ones that yield, until every coroutine of the pool has ended. Any
 * number of threads may run it on the same pool. */
static void coro_run(struct coro_pool *pool, int worker)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) == 0) {
		if (pthread_attr_getstack(&a, &lo, &size) == 0)
			coro_own_stack = tri_stack_register(lo, (char *)lo + size);
		pthread_attr_destroy(&a);
	}
	struct coro *co;
	while ((co = coro_next(pool)) != NULL)
		if (coro_resume(pool, co, worker))
			coro_ready(pool, co);
	tri_stack_unregister(coro_own_stack); /* NULL: nothing */
	coro_own_stack = NULL;
}

#endif /* CORO_H */

/*
 * coroutines.c -- tricolor under a green-thread scheduler: 1000 ucontext
 * coroutines (coro.h) on two OS threads, each building linked lists that
 * only its own stack references, yielding after every node, while cycles
 * run (GOGC=10) in concurrent mode. Every coroutine checks each list when
 * it is complete. Build and run (docs/coroutines.md):
 *
 *   make build/coroutines && ./build/coroutines
 */
#include <stdio.h>
#include <stdlib.h>
#include <tricolor.h>

#include "coro.h"

#define COROS 1000
#define ROUNDS 10 /* lists per coroutine */
#define LEN 20    /* nodes per list */

struct node {
	struct node *next;
	long value;
	char payload[48]; /* 64 bytes a node: more cycles */
};

static long bad;      /* lists that did not check out (atomic add) */
static long migrated; /* coroutines that ran on both threads */

/* Build a list of LEN nodes that only this coroutine's stack references,
 * yielding after each node, and check it; ROUNDS times, dropping each. */
static void work(struct coro *self, void *arg)
{
	long seed = (long)(intptr_t)arg;
	int first = self->home->worker, moved = 0;
	for (long r = 0; r < ROUNDS; r++) {
		struct node *list = NULL; /* a local: on this stack only */
		long sum = 0;
		for (long i = 0; i < LEN; i++) {
			struct node *n = tri_malloc(sizeof *n);
			if (!n)
				abort();
			n->value = (seed * ROUNDS + r) * LEN + i;
			TRI_STORE(n->next, list); /* into a tricolor object */
			list = n;
			sum += n->value;
			coro_yield(self); /* may resume on the other thread */
			moved |= self->home->worker != first;
		}
		for (struct node *n = list; n; n = n->next)
			sum -= n->value;
		if (sum != 0)
			__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	}
	if (moved)
		__atomic_add_fetch(&migrated, 1, __ATOMIC_RELAXED);
}

static void *worker(void *pool)
{
	coro_run(pool, 1);
	return NULL;
}

int main(void)
{
	tri_set_mode(TRI_MODE_CONCURRENT);
	tri_set_gc_percent(10);
	struct coro_pool *pool = coro_pool_new(COROS, 64 * 1024);
	if (!pool)
		return 1;
	for (long i = 0; i < COROS; i++) {
		struct coro *co = coro_spawn(pool, work, (void *)(intptr_t)i);
		if (!co)
			return 1;
		coro_ready(pool, co);
	}
	pthread_t t;
	if (tri_pthread_create(&t, NULL, worker, pool) != 0)
		return 1;
	coro_run(pool, 0);
	pthread_join(t, NULL);
	coro_pool_free(pool);

	tri_stats_t st;
	tri_read_stats(&st);
	printf("%d coroutines, %ld moved between threads, %d lists each\n",
	       COROS, migrated, ROUNDS);
	uint64_t max = 0;
	for (uint64_t c = 0; c < st.num_gc && c < 256; c++)
		max = st.pause_ns[c] > max ? st.pause_ns[c] : max;
	printf("%llu cycles, longest pause %.2f ms, %ld lists broken\n",
	       (unsigned long long)st.num_gc, max / 1e6, bad);
	return bad != 0;
}

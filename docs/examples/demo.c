/*
 * demo.c -- the collector at work: two threads build binary trees and
 * linked lists and drop them without ever calling tri_free, keeping 64
 * structures each alive in a global table. GODEBUG=gctrace=1 (set below,
 * before the first allocation, unless GODEBUG is already set) prints Go's
 * line for every cycle on stderr. `make demo` runs it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <tricolor.h>

struct node {
	struct node *left, *right; /* a list uses left only */
	long value;
};

#define SLOTS 64    /* structures each thread keeps alive */
#define ROUNDS 1000 /* structures each thread builds */
static struct node *live[2 * SLOTS]; /* in bss: scanned, a root */
static long expect[2 * SLOTS];       /* the sum each slot must give */

static struct node *node(struct node *l, struct node *r, long v, long *sum)
{
	struct node *n = tri_malloc(sizeof *n); /* zeroed; never freed */
	if (!n)
		abort();
	n->left = l, n->right = r, n->value = v, *sum += v;
	return n;
}

static struct node *tree(int depth, long v, long *sum)
{
	if (depth < 0)
		return NULL;
	struct node *l = tree(depth - 1, 2 * v, sum);
	return node(l, tree(depth - 1, 2 * v + 1, sum), v, sum);
}

static struct node *list(int len, long v, long *sum)
{
	struct node *head = NULL;
	for (int i = 0; i < len; i++)
		head = node(head, NULL, v + i, sum);
	return head;
}

static long sum(const struct node *n)
{
	return n ? n->value + sum(n->left) + sum(n->right) : 0;
}

static void *churn(void *arg)
{
	unsigned seed = (unsigned)(intptr_t)arg, base = seed * SLOTS;
	for (int r = 0; r < ROUNDS; r++) {
		unsigned i = base + rand_r(&seed) % SLOTS;
		long s = 0; /* the structure replaced in live[i] is garbage */
		live[i] = r % 2 ? tree(10, r, &s) : list(2000, r, &s);
		expect[i] = s;
	}
	return NULL;
}

int main(void)
{
	setenv("GODEBUG", "gctrace=1", 0); /* read at the first allocation */
	pthread_t t; /* registered before churn runs, so it is stopped too */
	if (tri_pthread_create(&t, NULL, churn, (void *)1) != 0)
		return 1;
	churn((void *)0);
	pthread_join(t, NULL);
	tri_collect(); /* a forced cycle: its line ends "(forced)" */

	for (int i = 0; i < 2 * SLOTS; i++) /* the live data is intact */
		if (sum(live[i]) != expect[i])
			return printf("slot %d damaged\n", i), 1;
	tri_stats_t st;
	tri_read_stats(&st);
	uint64_t max = 0;
	for (uint64_t i = 0; i < st.num_gc && i < 256; i++)
		max = st.pause_ns[i] > max ? st.pause_ns[i] : max;
	printf("live data verified; %llu MiB allocated in all\n"
	       "num_gc %llu (%llu forced), pause total %.2f ms, max %.2f ms\n"
	       "heap_alloc %.1f MiB, next_gc %.1f MiB, gc_cpu_fraction %.3f\n",
	       (unsigned long long)(st.total_alloc >> 20),
	       (unsigned long long)st.num_gc,
	       (unsigned long long)st.num_forced_gc, st.pause_total_ns / 1e6,
	       max / 1e6, st.heap_alloc / 1048576.0, st.next_gc / 1048576.0,
	       st.gc_cpu_fraction);
	return 0;
}

/*
 * latency.c -- pauses and allocation latency under a large live heap, with
 * threads that allocate and rewire pointers while cycles run; on the
 * collector chosen at build time (see gc_alloc.h: tricolor in either mode,
 * or bdwgc; glibc has no collector and is not a target).
 *
 * Usage:  latency [LIVE_MB [SECONDS [THREADS]]]    (default 1024 10 2)
 *
 * The live heap: a global pointer to one scanned array of slots (a large
 * object), each slot pointing to a complete binary tree of height
 * TREE_HEIGHT (63 nodes). A node is 32 bytes: two child pointers, its
 * height and a check word. There are LIVE_MB MiB / (63 * 32 B) trees, so
 * the default keeps about 1 GiB live in 34 million objects. The main thread
 * builds it before the timed part (cycles run as it grows: that is the
 * set-up, not measured), then the baseline of the collector's counters is
 * taken again (bench_gc_baseline).
 *
 * The timed part: THREADS mutator threads run for SECONDS. Thread t owns
 * the slots i with i % THREADS == t (no two threads write the same node, so
 * there are no data races; the collector still sees every thread's
 * stores). Each operation, with xorshift randomness of a fixed seed per
 * thread:
 *   - 7 in 8: replace a random subtree: walk from a random own slot's root
 *     down a random path to a node of height h + 1 (h uniform in
 *     0 .. TREE_HEIGHT - 1) and store a freshly built tree of height h
 *     (1 to 31 nodes) into one of its child pointers; one operation in 16
 *     of these replaces a whole tree through its slot instead (63 nodes);
 *   - 1 in 8: swap two random subtrees of the same height between two own
 *     trees (two pointer stores, no allocation): the pattern that hides a
 *     pointer from a concurrent marker that has no barrier.
 * The shape of every tree never changes, so the live heap stays the same
 * size; everything replaced becomes garbage. Every pointer store into a
 * node, the slot array or the global goes through BENCH_STORE (tricolor's
 * barrier). Every allocation is timed with clock_gettime(CLOCK_MONOTONIC)
 * on both sides: a stop-the-world pause that catches the thread there, a
 * cycle that allocation starts, a mark assist, a sweep on the way all show
 * in that figure.
 *
 * After the timed part the main thread walks every tree: each must have
 * 63 nodes with the right heights and check words, or the program prints
 * "Failed" and exits 1 (a collector freed a live node).
 *
 * Output: the RESULT line (gc_alloc.h) with params "live_mb=M seconds=S
 * threads=T" and, after cpu_ms, this benchmark's own results:
 *   ops, ops_per_s     operations of all threads, and per second of wall
 *   allocs             allocations of all threads
 *   max_alloc_us       the worst single allocation, any thread
 *   allocs_over_1ms    allocations that took more than 1 ms
 *   build_ms           the untimed build of the live heap
 */
#define _POSIX_C_SOURCE 200809L
#define BENCH_THREADS

#include "gc_alloc.h"

#include <stdatomic.h>

enum {
	TREE_HEIGHT = 5,
	TREE_NODES = (1 << (TREE_HEIGHT + 1)) - 1,
	MAX_THREADS = 64,
	CHECK_WORD = 0x5ca1ab1e,
};

typedef struct node {
	struct node *left, *right;
	uint64_t height;
	uint64_t check; /* CHECK_WORD ^ height */
} node_t;

/* The root of the live heap: a global, so a store into it is barriered. */
static node_t **slots;
static long nslots;
static int nthreads;
static atomic_int stop;

typedef struct worker {
	pthread_t thread;
	int id;
	uint64_t rng;
	/* results */
	uint64_t ops, allocs, slow_allocs, max_alloc_ns;
} worker_t;

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* One timed allocation of a node of the given height, children NULL. */
static node_t *new_node(worker_t *w, uint64_t height)
{
	uint64_t t0, d;
	node_t *n;

	t0 = bench_clock_ns();
	n = BENCH_ALLOC(sizeof(node_t));
	d = bench_clock_ns() - t0;
	bench_check(n);
	if (w != NULL) {
		w->allocs++;
		if (d > w->max_alloc_ns)
			w->max_alloc_ns = d;
		if (d > 1000000)
			w->slow_allocs++;
	}
	BENCH_STORE(n->left, NULL);
	BENCH_STORE(n->right, NULL);
	n->height = height;
	n->check = CHECK_WORD ^ height;
	return n;
}

/* A complete tree of height h, bottom up (w NULL: untimed). */
static node_t *make_tree(worker_t *w, int h)
{
	node_t *l, *r, *n;

	if (h == 0)
		return new_node(w, 0);
	l = make_tree(w, h - 1);
	r = make_tree(w, h - 1);
	n = new_node(w, (uint64_t)h);
	BENCH_STORE(n->left, l);
	BENCH_STORE(n->right, r);
	return n;
}

/* A random own slot of w. */
static long own_slot(worker_t *w)
{
	long per = (nslots - w->id + nthreads - 1) / nthreads;

	return w->id + (long)(xorshift(&w->rng) % (uint64_t)per) * nthreads;
}

/* Walk from the root of slot i down a random path to a node of height h. */
static node_t *walk_to(worker_t *w, long i, int h)
{
	node_t *n = slots[i];

	for (int k = TREE_HEIGHT; k > h; k--)
		n = xorshift(&w->rng) & 1 ? n->right : n->left;
	return n;
}

static void replace_op(worker_t *w)
{
	long i = own_slot(w);
	int h = (int)(xorshift(&w->rng) % TREE_HEIGHT);
	node_t *p, *t;

	if (xorshift(&w->rng) % 16 == 0) {
		t = make_tree(w, TREE_HEIGHT);
		BENCH_STORE(slots[i], t);
		return;
	}
	p = walk_to(w, i, h + 1);
	t = make_tree(w, h);
	if (xorshift(&w->rng) & 1)
		BENCH_STORE(p->right, t);
	else
		BENCH_STORE(p->left, t);
}

static void swap_op(worker_t *w)
{
	int h = (int)(xorshift(&w->rng) % TREE_HEIGHT);
	node_t *pa = walk_to(w, own_slot(w), h + 1);
	node_t *pb = walk_to(w, own_slot(w), h + 1);
	node_t *a = pa->left, *b = pb->right;

	BENCH_STORE(pa->left, b);
	BENCH_STORE(pb->right, a);
}

static void *mutator(void *arg)
{
	worker_t *w = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int k = 0; k < 64; k++) {
			if (xorshift(&w->rng) % 8 == 0)
				swap_op(w);
			else
				replace_op(w);
		}
		w->ops += 64;
	}
	return NULL;
}

/* Nodes of the tree at n of height h, or -1 if a node is damaged. */
static long tree_nodes(const node_t *n, uint64_t h)
{
	long l, r;

	if (n == NULL || n->height != h || n->check != (CHECK_WORD ^ h))
		return -1;
	if (h == 0)
		return n->left == NULL && n->right == NULL ? 1 : -1;
	l = tree_nodes(n->left, h - 1);
	r = tree_nodes(n->right, h - 1);
	return l < 0 || r < 0 ? -1 : 1 + l + r;
}

static worker_t workers[MAX_THREADS];

int main(int argc, char **argv)
{
	int live_mb = 1024, seconds = 10;
	char params[80], extra[200];
	double t0, t1, tb;
	uint64_t ops = 0, allocs = 0, slow = 0, max_ns = 0;

	nthreads = 2;
	if (argc > 4) {
		fprintf(stderr, "usage: latency [LIVE_MB [SECONDS [THREADS]]]\n");
		return 2;
	}
	if (argc >= 2)
		live_mb = bench_parse(argv[1], "LIVE_MB", 1, 1 << 20);
	if (argc >= 3)
		seconds = bench_parse(argv[2], "SECONDS", 1, 86400);
	if (argc == 4)
		nthreads = bench_parse(argv[3], "THREADS", 1, MAX_THREADS);
	nslots = (long)live_mb * (1L << 20) / (TREE_NODES * (long)sizeof(node_t));
	if (nslots < nthreads)
		nslots = nthreads;

	bench_gc_start();
	printf("live heap: %ld trees of %d nodes of %zu bytes (%.1f MiB)\n",
	       nslots, TREE_NODES, sizeof(node_t),
	       (double)nslots * TREE_NODES * sizeof(node_t) / (1 << 20));
	fflush(stdout);
	tb = bench_now_ms();
	BENCH_STORE(slots,
	            bench_check(BENCH_ALLOC((size_t)nslots * sizeof(node_t *))));
	for (long i = 0; i < nslots; i++)
		BENCH_STORE(slots[i], make_tree(NULL, TREE_HEIGHT));
	tb = bench_now_ms() - tb;
	printf("built in %.0f ms; %d threads mutate for %d s\n", tb, nthreads,
	       seconds);
	fflush(stdout);

	bench_gc_baseline();
	t0 = bench_now_ms();
	atomic_store(&stop, 0);
	for (int t = 0; t < nthreads; t++) {
		workers[t].id = t;
		workers[t].rng = 0x9e3779b97f4a7c15u * (uint64_t)(t + 1);
		if (bench_thread_create(&workers[t].thread, mutator,
		                        &workers[t]) != 0)
			bench_die("cannot create a mutator thread");
	}
	bench_sleep_until(bench_clock_ns() + (uint64_t)seconds * 1000000000u);
	atomic_store(&stop, 1);
	for (int t = 0; t < nthreads; t++) {
		pthread_join(workers[t].thread, NULL);
		ops += workers[t].ops;
		allocs += workers[t].allocs;
		slow += workers[t].slow_allocs;
		if (workers[t].max_alloc_ns > max_ns)
			max_ns = workers[t].max_alloc_ns;
	}
	t1 = bench_now_ms();

	for (long i = 0; i < nslots; i++) {
		if (tree_nodes(slots[i], TREE_HEIGHT) != TREE_NODES) {
			printf("Failed: tree %ld is damaged\n", i);
			return 1;
		}
	}

	snprintf(params, sizeof(params), "live_mb=%d seconds=%d threads=%d",
	         live_mb, seconds, nthreads);
	snprintf(extra, sizeof(extra),
	         "ops=%llu ops_per_s=%.0f allocs=%llu max_alloc_us=%.1f "
	         "allocs_over_1ms=%llu build_ms=%.0f",
	         (unsigned long long)ops, (double)ops * 1e3 / (t1 - t0),
	         (unsigned long long)allocs, (double)max_ns / 1e3,
	         (unsigned long long)slow, tb);
	bench_result("latency", params, extra, t0, t1);
	return 0;
}

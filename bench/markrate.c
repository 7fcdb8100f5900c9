/*
 * markrate.c -- how fast a collector marks: one full collection of a large
 * live graph, on the allocator chosen at build time (see gc_alloc.h; the
 * collectors only: tricolor and bdwgc).
 *
 * Usage:  markrate [LIVE_MB [COLLECTIONS [EDGES]]]   (defaults 1024, 3, 1)
 *
 * The graph: LIVE_MB MiB of 64-byte nodes (LIVE_MB * 16384 of them), each
 * with EDGES (0 to 4) pointers to nodes chosen at random, the rest of its
 * eight words small integers, reachable from one heap array of roots
 * (itself a scanned object) whose order is shuffled, so marking visits
 * memory in no useful order -- the worst case and the common one for a
 * long-lived heap. Each node costs a collector one lookup from the roots
 * and EDGES more from other nodes. The graph is built
 * untimed; then COLLECTIONS forced full collections are timed one by one
 * and the RESULT line (gc_alloc.h) carries, as its extra fields, the
 * median and the best of them (collect_ms=, collect_min_ms=) and the nodes
 * per millisecond at the median (nodes_per_ms=). After the last one every
 * node is walked to check that its integers survived (a collector that
 * freed a live node fails: "Failed", exit status 1).
 */
#define _POSIX_C_SOURCE 200809L

#include "gc_alloc.h"

#include <stdint.h>

#if defined(ALLOC_TRICOLOR)
#define BENCH_COLLECT() tri_collect()
#elif defined(ALLOC_BDWGC)
#define BENCH_COLLECT() GC_gcollect()
#else
#error "markrate measures a collector: build with ALLOC_TRICOLOR or ALLOC_BDWGC"
#endif

enum { NODE_PTRS = 4, NODE_INTS = 4, MAX_COLLECTIONS = 64 };
static int edges = 1; /* pointers per node that are set (<= NODE_PTRS) */

typedef struct node {
	struct node *next[NODE_PTRS];
	uintptr_t val[NODE_INTS]; /* small integers: never heap addresses */
} node_t;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) /* xorshift64* */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static node_t **build(size_t n)
{
	node_t **roots = bench_check(BENCH_ALLOC(n * sizeof *roots));

	for (size_t i = 0; i < n; i++) {
		node_t *x = bench_check(BENCH_ALLOC(sizeof(node_t)));

		for (int k = 0; k < NODE_INTS; k++)
			x->val[k] = (i * NODE_INTS + (size_t)k) & 0xffff;
		for (int k = edges; k < NODE_PTRS; k++)
			x->next[k] = (node_t *)(uintptr_t)k; /* not a pointer */
		BENCH_STORE(roots[i], x);
	}
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < edges; k++)
			BENCH_STORE(roots[i]->next[k],
			            roots[next_random() % n]);
	for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
		size_t j = next_random() % (i + 1);
		node_t *t = roots[i];

		BENCH_STORE(roots[i], roots[j]);
		BENCH_STORE(roots[j], t);
	}
	return roots;
}

static int verify(node_t *const *roots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const node_t *x = roots[i];

		for (int k = 0; k < NODE_PTRS; k++)
			if (k < edges ? !x->next[k]
			              : x->next[k] != (node_t *)(uintptr_t)k)
				return 0;
		for (int k = 1; k < NODE_INTS; k++)
			if (((x->val[k] - x->val[0]) & 0xffff) != (uintptr_t)k)
				return 0;
	}
	return 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int live_mb = 1024, runs = 3;
	double ms[MAX_COLLECTIONS], t0, t1;
	char params[64], extra[128];

	if (argc > 4) {
		fprintf(stderr,
		        "usage: markrate [LIVE_MB [COLLECTIONS [EDGES]]]\n");
		return 2;
	}
	if (argc >= 2)
		live_mb = bench_parse(argv[1], "LIVE_MB", 1, 65536);
	if (argc >= 3)
		runs = bench_parse(argv[2], "COLLECTIONS", 1, MAX_COLLECTIONS);
	if (argc == 4)
		edges = bench_parse(argv[3], "EDGES", 0, NODE_PTRS);
	size_t n = (size_t)live_mb * (1024 * 1024 / sizeof(node_t));

	bench_gc_start();
	node_t **volatile roots = build(n);
	bench_gc_baseline();
	t0 = bench_now_ms();
	for (int r = 0; r < runs; r++) {
		double a = bench_now_ms();

		BENCH_COLLECT();
		ms[r] = bench_now_ms() - a;
	}
	t1 = bench_now_ms();
	if (!verify(roots, n)) {
		printf("Failed: a live node was freed or overwritten\n");
		return 1;
	}
	qsort(ms, (size_t)runs, sizeof ms[0], cmp_double);
	snprintf(params, sizeof params, "live_mb=%d nodes=%zu edges=%d",
	         live_mb, n, edges);
	snprintf(extra, sizeof extra,
	         "collect_ms=%.1f collect_min_ms=%.1f nodes_per_ms=%.0f",
	         ms[runs / 2], ms[0], (double)n / ms[runs / 2]);
	bench_result("markrate", params, extra, t0, t1);
	return 0;
}

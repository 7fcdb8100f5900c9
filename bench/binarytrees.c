/*
 * binarytrees.c -- the Benchmarks Game's binary-trees, single-threaded, on
 * the allocator chosen at build time (see gc_alloc.h).
 *
 * Usage:  binarytrees [N]      (N = max depth, default 10)
 *
 * The algorithm (the Benchmarks Game's, with max_depth = max(6, N)):
 *   1. build a "stretch" tree of depth max_depth + 1, count its nodes, drop it;
 *   2. build a long-lived tree of depth max_depth, kept to the end;
 *   3. for depth d = 4, 6, ..., max_depth: build 2^(max_depth - d + 4) trees
 *      of depth d one after another, count the nodes of each and drop it;
 *   4. count the long-lived tree's nodes.
 * A tree of depth d has 2^(d+1) - 1 nodes of two pointers each (16 bytes),
 * built bottom up. "Count" is the Benchmarks Game's check: 1 + check(left) +
 * check(right). The GC variants drop a tree by forgetting it; glibc frees it
 * node by node. The output for N = 10 is the Benchmarks Game's reference:
 *
 *   stretch tree of depth 11	 check: 4095
 *   1024	 trees of depth 4	 check: 31744
 *   256	 trees of depth 6	 check: 32512
 *   64	 trees of depth 8	 check: 32704
 *   16	 trees of depth 10	 check: 32752
 *   long lived tree of depth 10	 check: 2047
 *
 * followed by the RESULT line (gc_alloc.h) with params "depth=N". Every
 * count is also compared with the node count the tree must have: a wrong
 * one (a collector freed or reused a live node) prints "Failed" and exits
 * with status 1 before the RESULT line. Unlike the
 * Benchmarks Game's C programs this one uses no threads (no OpenMP) and no
 * memory pools: every node is one allocation. Every pointer store into a
 * node goes through BENCH_STORE (tricolor's barrier in both modes).
 */
#define _POSIX_C_SOURCE 200809L

#include "gc_alloc.h"

enum { MIN_DEPTH = 4, MAX_N = 30 };

typedef struct node {
	struct node *left, *right;
} node_t;

static node_t *bottom_up_tree(int depth)
{
	node_t *n = bench_check(BENCH_ALLOC(sizeof(node_t)));

	if (depth > 0) {
		BENCH_STORE(n->left, bottom_up_tree(depth - 1));
		BENCH_STORE(n->right, bottom_up_tree(depth - 1));
	} else {
		BENCH_STORE(n->left, NULL);
		BENCH_STORE(n->right, NULL);
	}
	return n;
}

static long item_check(const node_t *n)
{
	if (n->left == NULL)
		return 1;
	return 1 + item_check(n->left) + item_check(n->right);
}

/* glibc only: free every node (the GC variants never call it). */
static void delete_tree(node_t *n)
{
	if (n->left != NULL) {
		delete_tree(n->left);
		delete_tree(n->right);
	}
	BENCH_FREE(n);
}

static void drop_tree(node_t *n)
{
	if (BENCH_FREES)
		delete_tree(n);
}

static long tree_nodes(int depth)
{
	return (1L << (depth + 1)) - 1;
}

/* Set when a check is not the node count its trees must have. */
static int failed;

static void expect(long check, long nodes)
{
	if (check != nodes)
		failed = 1;
}

static void run(int max_depth)
{
	int stretch_depth = max_depth + 1;
	node_t *stretch, *long_lived;
	long c;

	stretch = bottom_up_tree(stretch_depth);
	c = item_check(stretch);
	printf("stretch tree of depth %d\t check: %ld\n", stretch_depth, c);
	expect(c, tree_nodes(stretch_depth));
	drop_tree(stretch);

	long_lived = bottom_up_tree(max_depth);

	for (int d = MIN_DEPTH; d <= max_depth; d += 2) {
		long iterations = 1L << (max_depth - d + MIN_DEPTH);
		long check = 0;

		for (long i = 0; i < iterations; i++) {
			node_t *t = bottom_up_tree(d);

			check += item_check(t);
			drop_tree(t);
		}
		printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d,
		       check);
		expect(check, iterations * tree_nodes(d));
	}

	c = item_check(long_lived);
	printf("long lived tree of depth %d\t check: %ld\n", max_depth, c);
	expect(c, tree_nodes(max_depth));
	drop_tree(long_lived);
}

int main(int argc, char **argv)
{
	int n = 10, max_depth;
	char params[32];
	double t0, t1;

	if (argc > 2) {
		fprintf(stderr, "usage: binarytrees [N]\n");
		return 2;
	}
	if (argc == 2)
		n = bench_parse(argv[1], "N", 0, MAX_N);
	max_depth = n > MIN_DEPTH + 2 ? n : MIN_DEPTH + 2;

	bench_gc_start();
	t0 = bench_now_ms();
	run(max_depth);
	t1 = bench_now_ms();
	if (failed) {
		printf("Failed: a check is not the node count of its trees\n");
		return 1;
	}

	snprintf(params, sizeof(params), "depth=%d", n);
	bench_result("binarytrees", params, NULL, t0, t1);
	return 0;
}

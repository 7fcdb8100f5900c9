/*
 * gcbench.c -- GCBench (John Ellis and Pete Kovac; modified by Hans Boehm;
 * C translation by Boehm), single-threaded, on the allocator chosen at build
 * time (see gc_alloc.h).
 *
 * Usage:  gcbench [STRETCH_DEPTH [LONG_LIVED_DEPTH]]
 *         classic: 18 16 (the default); scaled: 22 20
 *
 * The algorithm (Boehm's, with the depths as parameters):
 *   1. "stretch" the heap: build a tree of depth STRETCH bottom up, drop it;
 *   2. build a long-lived tree of depth LONG_LIVED top down, kept to the end;
 *   3. allocate a long-lived array of ARRAY doubles (pointer-free: the
 *      collectors never scan it) and fill its first half with 1.0 / i;
 *   4. for depth d = 4, 6, ..., LONG_LIVED: build NumIters(d) =
 *      2 * TreeSize(STRETCH) / TreeSize(d) trees of depth d top down
 *      (Populate: each node allocated before its children, so older objects
 *      point to younger ones) and drop each; then the same number bottom up
 *      (MakeTree). Every d so allocates about 4 * TreeSize(STRETCH) nodes;
 *   5. check that the long-lived tree and the array are still there.
 * TreeSize(d) = 2^(d+1) - 1. A node is two pointers and two ints (24 bytes
 * on LP64), every field set to zero or to a child. ARRAY is 500000 doubles
 * for LONG_LIVED 16 (Boehm's figure) and scales with the long-lived tree:
 * 500000 * 2^(LONG_LIVED - 16), so the scaled run keeps the classic's mix
 * of live tree and live array (8000000 doubles, 64 MB, at 22 20).
 *
 * The output is Boehm's (construction times per depth) followed by the
 * RESULT line (gc_alloc.h) with params "stretch=S long_lived=L". After the
 * timing, the long-lived tree is walked: a wrong node count or a non-zero
 * field (a collector freed or reused a live node) prints "Failed" and exits
 * with status 1. Every pointer store into a node or a global goes through
 * BENCH_STORE (tricolor's barrier in both modes).
 */
#define _POSIX_C_SOURCE 200809L

#include "gc_alloc.h"

enum { MIN_TREE_DEPTH = 4, MAX_DEPTH = 28 };

typedef struct node {
	struct node *left, *right;
	int i, j;
} node_t;

static long tree_size(int depth)
{
	return (1L << (depth + 1)) - 1;
}

static node_t *new_node(node_t *left, node_t *right)
{
	node_t *n = bench_check(BENCH_ALLOC(sizeof(node_t)));

	BENCH_STORE(n->left, left);
	BENCH_STORE(n->right, right);
	n->i = n->j = 0;
	return n;
}

/* Build a tree top down: n's children are allocated after n. */
static void populate(int depth, node_t *n)
{
	if (depth <= 0)
		return;
	depth--;
	BENCH_STORE(n->left, new_node(NULL, NULL));
	BENCH_STORE(n->right, new_node(NULL, NULL));
	populate(depth, n->left);
	populate(depth, n->right);
}

/* Build a tree bottom up: n is allocated after its children. */
static node_t *make_tree(int depth)
{
	node_t *left, *right;

	if (depth <= 0)
		return new_node(NULL, NULL);
	left = make_tree(depth - 1);
	right = make_tree(depth - 1);
	return new_node(left, right);
}

/* glibc only: free every node (the GC variants never call it). */
static void delete_tree(node_t *n)
{
	if (n->left != NULL)
		delete_tree(n->left);
	if (n->right != NULL)
		delete_tree(n->right);
	BENCH_FREE(n);
}

static void drop_tree(node_t *n)
{
	if (BENCH_FREES)
		delete_tree(n);
}

/* Nodes of the tree at n, or -1 if a field is not what the build left. */
static long tree_nodes(const node_t *n)
{
	long l, r;

	if (n->i != 0 || n->j != 0)
		return -1;
	if (n->left == NULL && n->right == NULL)
		return 1;
	if (n->left == NULL || n->right == NULL)
		return -1;
	l = tree_nodes(n->left);
	r = tree_nodes(n->right);
	return l < 0 || r < 0 ? -1 : 1 + l + r;
}

static void time_construction(int stretch_depth, int depth)
{
	long iters = 2 * tree_size(stretch_depth) / tree_size(depth);
	double t;

	printf("Creating %ld trees of depth %d\n", iters, depth);
	t = bench_now_ms();
	for (long i = 0; i < iters; i++) {
		node_t *temp = new_node(NULL, NULL);

		populate(depth, temp);
		drop_tree(temp);
	}
	printf("\tTop down construction took %.0f msec\n", bench_now_ms() - t);

	t = bench_now_ms();
	for (long i = 0; i < iters; i++)
		drop_tree(make_tree(depth));
	printf("\tBottom up construction took %.0f msec\n", bench_now_ms() - t);
}

/* Live data kept from step 2 to the end: referenced from here (a root). */
static node_t *long_lived;
static double *array;

static void run(int stretch_depth, int long_lived_depth, long array_size)
{
	printf(" Stretching memory with a binary tree of depth %d\n",
	       stretch_depth);
	drop_tree(make_tree(stretch_depth));

	printf(" Creating a long-lived binary tree of depth %d\n",
	       long_lived_depth);
	BENCH_STORE(long_lived, new_node(NULL, NULL));
	populate(long_lived_depth, long_lived);

	printf(" Creating a long-lived array of %ld doubles\n", array_size);
	BENCH_STORE(array,
	            bench_check(BENCH_ALLOC_NOSCAN(array_size * sizeof(double))));
	for (long i = 0; i < array_size / 2; i++)
		array[i] = 1.0 / (double)i;

	for (int d = MIN_TREE_DEPTH; d <= long_lived_depth; d += 2)
		time_construction(stretch_depth, d);

	if (long_lived == NULL || array[1000] != 1.0 / 1000)
		printf("Failed\n");
}

int main(int argc, char **argv)
{
	int stretch = 18, lived = 16;
	long array_size;
	char params[48];
	double t0, t1;

	if (argc > 3) {
		fprintf(stderr, "usage: gcbench [STRETCH_DEPTH "
		                "[LONG_LIVED_DEPTH]]\n");
		return 2;
	}
	if (argc >= 2)
		stretch = bench_parse(argv[1], "STRETCH_DEPTH", MIN_TREE_DEPTH,
		                      MAX_DEPTH);
	if (argc == 3)
		lived = bench_parse(argv[2], "LONG_LIVED_DEPTH", 10, stretch);
	array_size =
	    lived >= 16 ? 500000L << (lived - 16) : 500000L >> (16 - lived);

	printf("Garbage Collector Test\n");
	printf(" Live storage will peak at %ld bytes.\n\n",
	       (long)(2 * sizeof(node_t)) * tree_size(lived) +
	           (long)sizeof(double) * array_size);
	bench_gc_start();
	t0 = bench_now_ms();
	run(stretch, lived, array_size);
	t1 = bench_now_ms();
	printf("Completed in %.0f msec\n", t1 - t0);

	if (tree_nodes(long_lived) != tree_size(lived)) {
		printf("Failed: the long-lived tree is damaged\n");
		return 1;
	}
	snprintf(params, sizeof(params), "stretch=%d long_lived=%d", stretch,
	         lived);
	bench_result("gcbench", params, NULL, t0, t1);
	return 0;
}

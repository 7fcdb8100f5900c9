/*
 * test/api/test_concurrent.c -- owned by the API test suite (not by the
 * library).
 *
 * Black-box tests of concurrent mode, written against <tricolor.h> only:
 * tri_set_mode (values, switching between cycles with the heap intact),
 * the barrier entry points (TRI_STORE, tri_write_barrier, tri_memmove)
 * storing what they are given, objects allocated and linked while cycles
 * run over a large live heap, a thread blocked for whole cycles keeping
 * what only its stack references, threads that exit while cycles run,
 * pause statistics, and the GOMEMLIMIT API. Every test but mode_values
 * runs with tri_set_mode(TRI_MODE_CONCURRENT) and keeps the barrier
 * contract: every pointer store into a tricolor object or a global goes
 * through TRI_STORE or tri_memmove.
 *
 * Every test verifies data (tri_base, a check word, a stamp) after the
 * cycles, so a collector that frees a reachable object fails it; none
 * asserts a time (the machine is shared). Until concurrent marking lands
 * the cycles are stop-the-world and these tests pass trivially on the
 * concurrency they target; they are written for the real thing.
 *
 * Build and run like test_gc.c (the Makefile does it; not under ASan: the
 * collector scans other threads' stacks):
 *   make build/api/test_concurrent && ./build/api/test_concurrent
 *   CK_RUN_CASE=threads ./build/api/test_concurrent   (one tcase)
 * Fork mode (the default) is required: every test needs a fresh heap.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testlib.h"

/* Test ids, mixed into stamps so tests never share a pattern. */
enum { T_SWITCH = 1, T_LIST, T_BIG, T_BLOCKED, T_EXIT, T_BARRIER };

static void concurrent_mode(void)
{
	ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
}

/* ------------------------------------------------------------------------ */
/* nodes: a check word over address and identity, a stamped tail            */
/* ------------------------------------------------------------------------ */

struct node {
	struct node *next;
	uint64_t id;    /* test << 48 | index */
	uint64_t check; /* node_check() */
	uint32_t size;  /* bytes requested */
	uint32_t pad;
	/* size - sizeof(struct node) stamped bytes */
};

static uint64_t node_check(const struct node *n)
{
	return mix64((uint64_t)(uintptr_t)n ^ mix64(n->id) ^ n->size);
}

static size_t node_size(uint64_t id)
{
	return sizeof(struct node) + (size_t)(mix64(id) % 200);
}

/* NULL on failure: usable from any thread. */
static struct node *node_new(uint64_t id)
{
	size_t size = node_size(id);
	struct node *n = tri_malloc(size);
	if (!n)
		return NULL;
	n->id = id;
	n->size = (uint32_t)size;
	stamp(n + 1, size - sizeof *n, id);
	n->check = node_check(n);
	return n;
}

/* 0 if n is a live node with identity id; else -1 and err says why. */
static int node_bad(const struct node *n, uint64_t id, char *err, size_t sz)
{
	if (!n)
		return snprintf(err, sz, "node %llx: NULL", U(id)), -1;
	if (tri_base(n) != n)
		return snprintf(err, sz,
		                "node %llx at %p: tri_base = %p (freed while "
		                "reachable)",
		                U(id), (const void *)n, tri_base(n)),
		       -1;
	if (n->id != id || n->check != node_check(n))
		return snprintf(err, sz,
		                "node at %p: id %llx check %llx, expected id "
		                "%llx check %llx (freed and reused?)",
		                (const void *)n, U(n->id), U(n->check), U(id),
		                U(node_check(n))),
		       -1;
	size_t k = n->size - sizeof *n;
	size_t off = stamp_check(n + 1, k, k, id);
	if (off != k)
		return snprintf(err, sz, "node %llx at %p: byte %zu of its "
		                         "stamp overwritten",
		                U(id), (const void *)n, off),
		       -1;
	return 0;
}

static void assert_node(const struct node *n, uint64_t id, const char *what)
{
	char err[512];
	/* ck_assert in a loop over millions of nodes would write to Check's
	 * pipe every time: test, then fail. */
	if (node_bad(n, id, err, sizeof err) != 0)
		ck_abort_msg("%s: %s", what, err);
}

static uint64_t node_id(uint64_t test, uint64_t i)
{
	return (test << 48) | i;
}

/* Garbage: total bytes in objects of `each` bytes, none kept. */
static NOINLINE void make_garbage(size_t total, size_t each)
{
	void *volatile sink = NULL;
	for (size_t done = 0; done < total; done += each) {
		sink = tri_malloc(each);
		ck_assert_ptr_nonnull(sink);
	}
	(void)sink;
}

/* Block in read(2) (restarting after the collector's signals). */
static int read_byte(int fd)
{
	char c;
	ssize_t r;
	do
		r = read(fd, &c, 1);
	while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

static void write_byte(int fd)
{
	char c = 1;
	ssize_t r;
	do
		r = write(fd, &c, 1);
	while (r < 0 && errno == EINTR);
}

/* ------------------------------------------------------------------------ */
/* tri_set_mode                                                              */
/* ------------------------------------------------------------------------ */

START_TEST(mode_values)
{
	ck_assert_int_eq(tri_set_mode(TRI_MODE_STW), 0);
	ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
	ck_assert_int_eq(tri_set_mode(TRI_MODE_TRACKED), 0);
	ck_assert_int_eq(tri_set_mode(TRI_MODE_STW), 0);
	int bad[] = {-1, 3, 4, 100, 0x7fffffff};
	for (size_t i = 0; i < NELEMS(bad); i++) {
		errno = 0;
		ck_assert_int_eq(tri_set_mode(bad[i]), -1);
		ck_assert_msg(errno == EINVAL,
		              "tri_set_mode(%d): errno %d, expected EINVAL",
		              bad[i], errno);
	}
	/* A bad call changes nothing: the heap still collects. */
	struct node *n = node_new(node_id(T_SWITCH, 999999));
	ck_assert_ptr_nonnull(n);
	tri_collect();
	assert_node(n, node_id(T_SWITCH, 999999), "after bad tri_set_mode");
}
END_TEST

enum { SW_NODES = 20000, SW_ROUNDS = 8 };
static struct node *g_sw_head; /* a global root; stores through TRI_STORE */

static NOINLINE void build_list(struct node **head, uint64_t test, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct node *x = node_new(node_id(test, i));
		ck_assert_ptr_nonnull(x);
		TRI_STORE(x->next, *head);
		TRI_STORE(*head, x);
	}
}

/* The list built by build_list: n nodes, ids n-1 down to 0. */
static NOINLINE void verify_list(const struct node *head, uint64_t test,
                                 size_t n, const char *what)
{
	size_t i = n;
	for (const struct node *x = head; x; x = x->next) {
		if (i == 0)
			ck_abort_msg("%s: more than %zu nodes", what, n);
		i--;
		assert_node(x, node_id(test, i), what);
	}
	ck_assert_msg(i == 0, "%s: %zu of %zu nodes missing", what, i, n);
}

START_TEST(mode_switch_heap_intact)
{
	tri_stats_t s0, s1;
	build_list(&g_sw_head, T_SWITCH, SW_NODES);
	tri_read_stats(&s0);
	for (int r = 0; r < SW_ROUNDS; r++) {
		int mode = r % 2 ? TRI_MODE_STW : TRI_MODE_CONCURRENT;
		ck_assert_int_eq(tri_set_mode(mode), 0);
		make_garbage(8 * MiB, 512); /* automatic cycles */
		clear_stack();
		tri_collect();
		verify_list(g_sw_head, T_SWITCH, SW_NODES,
		            mode == TRI_MODE_STW ? "after a cycle in STW mode"
		                                 : "after a cycle in "
		                                   "concurrent mode");
	}
	tri_read_stats(&s1);
	ck_assert_msg(s1.num_forced_gc >= s0.num_forced_gc + SW_ROUNDS,
	              "num_forced_gc %llu -> %llu after %d tri_collect",
	              U(s0.num_forced_gc), U(s1.num_forced_gc), SW_ROUNDS);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the barrier entry points store what they are given                       */
/* ------------------------------------------------------------------------ */

enum { BAR_N = 256 };
static struct node **g_bar; /* BAR_N slots, a tri_malloc'ed array */

START_TEST(barrier_stores)
{
	concurrent_mode();
	struct node **a = tri_malloc(2 * BAR_N * sizeof *a);
	ck_assert_ptr_nonnull(a);
	TRI_STORE(g_bar, a);
	for (size_t i = 0; i < BAR_N; i++) {
		struct node *n = node_new(node_id(T_BARRIER, i));
		ck_assert_ptr_nonnull(n);
		if (i % 2)
			TRI_STORE(g_bar[i], n);
		else
			tri_write_barrier((void **)&g_bar[i], n);
		ck_assert_ptr_eq(g_bar[i], n);
	}
	/* Integers through TRI_STORE (pointer-sized, not pointers). */
	uintptr_t word = 0;
	TRI_STORE(word, (uintptr_t)0x1234567);
	ck_assert_uint_eq(word, 0x1234567);
	/* tri_memmove = memmove, overlapping both ways. */
	struct node *ref[2 * BAR_N];
	memcpy(ref, g_bar, sizeof ref);
	ck_assert_ptr_eq(tri_memmove(&g_bar[BAR_N / 2], &g_bar[0],
	                             BAR_N * sizeof *g_bar),
	                 &g_bar[BAR_N / 2]);
	memmove(&ref[BAR_N / 2], &ref[0], BAR_N * sizeof *ref);
	ck_assert_int_eq(memcmp(ref, g_bar, sizeof ref), 0);
	ck_assert_ptr_eq(tri_memmove(&g_bar[1], &g_bar[BAR_N / 2 + 1],
	                             (BAR_N - 3) * sizeof *g_bar),
	                 &g_bar[1]);
	memmove(&ref[1], &ref[BAR_N / 2 + 1], (BAR_N - 3) * sizeof *ref);
	ck_assert_int_eq(memcmp(ref, g_bar, sizeof ref), 0);
	/* Unaligned lengths and bytes that are not pointers. */
	unsigned char *b = tri_malloc(100), c[100];
	ck_assert_ptr_nonnull(b);
	stamp(b, 100, 77);
	memcpy(c, b, 100);
	tri_memmove(b + 3, b + 1, 61);
	memmove(c + 3, c + 1, 61);
	ck_assert_int_eq(memcmp(b, c, 100), 0);
	memset(ref, 0, sizeof ref);
	/* What the slots hold now survives cycles. */
	clear_stack();
	tri_collect();
	make_garbage(4 * MiB, 128);
	tri_collect();
	for (size_t i = 0; i < 2 * BAR_N; i++) {
		struct node *n = g_bar[i];
		if (n)
			assert_node(n, n->id, "stored by the barrier");
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* allocation while cycles run over a large live heap                       */
/* ------------------------------------------------------------------------ */

/* BIG_BLOCKS blocks of BIG_WORDS pointers, each to a block: about 100 MiB
 * of pointers that every cycle must scan. */
enum { BIG_WORDS = 512, BIG_BLOCKS = 24 * 1024, LIST_CYCLES = 8 };
static void ***g_big; /* BIG_BLOCKS blocks */

static size_t big_target(size_t b, size_t w)
{
	return (size_t)(mix64((b << 16) ^ w ^ ((uint64_t)T_BIG << 40)) %
	                BIG_BLOCKS);
}

static NOINLINE void build_big(void)
{
	void ***t = tri_malloc(BIG_BLOCKS * sizeof *t);
	ck_assert_ptr_nonnull(t);
	TRI_STORE(g_big, t);
	for (size_t b = 0; b < BIG_BLOCKS; b++) {
		void **blk = tri_malloc(BIG_WORDS * sizeof *blk);
		ck_assert_ptr_nonnull(blk);
		TRI_STORE(g_big[b], blk);
	}
	for (size_t b = 0; b < BIG_BLOCKS; b++)
		for (size_t w = 0; w < BIG_WORDS; w++)
			TRI_STORE(g_big[b][w],
			          (void *)g_big[big_target(b, w)]);
}

static NOINLINE void verify_big(void)
{
	for (size_t b = 0; b < BIG_BLOCKS; b++) {
		void **blk = g_big[b];
		if (tri_base(blk) != blk)
			ck_abort_msg("block %zu of the live structure at %p: "
			             "tri_base = %p", b, (void *)blk,
			             tri_base(blk));
		for (size_t w = 0; w < BIG_WORDS; w++)
			if (blk[w] != (void *)g_big[big_target(b, w)])
				ck_abort_msg("block %zu word %zu: %p, expected "
				             "%p (freed and reused?)",
				             b, w, blk[w],
				             (void *)g_big[big_target(b, w)]);
	}
}

static struct {
	struct node *head; /* the list; stores through TRI_STORE */
	int stop;          /* atomic */
	uint64_t count;    /* nodes appended (atomic release) */
	int failed;
} g_list;

/* Append nodes to the list until told to stop; the tail is only in this
 * thread's locals between appends. */
static void *list_thread(void *arg)
{
	(void)arg;
	struct node *tail = node_new(node_id(T_LIST, 0));
	if (!tail) {
		__atomic_store_n(&g_list.failed, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	TRI_STORE(g_list.head, tail);
	uint64_t i = 1;
	while (!__atomic_load_n(&g_list.stop, __ATOMIC_ACQUIRE)) {
		struct node *n = node_new(node_id(T_LIST, i));
		if (!n) {
			__atomic_store_n(&g_list.failed, 1, __ATOMIC_RELEASE);
			break;
		}
		TRI_STORE(tail->next, n);
		tail = n;
		__atomic_store_n(&g_list.count, ++i, __ATOMIC_RELEASE);
		if (i % 4096 == 0)
			sched_yield();
	}
	return NULL;
}

START_TEST(alloc_while_marking)
{
	tri_stats_t s0, s1;
	pthread_t t;
	concurrent_mode();
	build_big();
	tri_read_stats(&s0);
	ck_assert_int_eq(tri_pthread_create(&t, NULL, list_thread, NULL), 0);
	while (__atomic_load_n(&g_list.count, __ATOMIC_ACQUIRE) == 0 &&
	       !__atomic_load_n(&g_list.failed, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int c = 0; c < LIST_CYCLES; c++)
		tri_collect();
	__atomic_store_n(&g_list.stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(!g_list.failed, "allocation failed in the list thread");
	tri_read_stats(&s1);
	ck_assert_msg(s1.num_gc >= s0.num_gc + LIST_CYCLES,
	              "num_gc %llu -> %llu", U(s0.num_gc), U(s1.num_gc));
	uint64_t n = g_list.count;
	/* One more cycle after the thread is gone, then every node. */
	clear_stack();
	tri_collect();
	uint64_t i = 0;
	for (const struct node *x = g_list.head; x; x = x->next, i++) {
		if (i >= n)
			ck_abort_msg("the list has more than %llu nodes", U(n));
		assert_node(x, node_id(T_LIST, i),
		            "appended while cycles ran");
	}
	ck_assert_msg(i == n, "the list has %llu of %llu nodes", U(i), U(n));
	verify_big();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* a thread blocked for whole cycles keeps what only its stack holds        */
/* ------------------------------------------------------------------------ */

enum { BL_NODES = 2000 };

struct blocked {
	int use_pipe; /* else pthread_cond_wait */
	int ready[2]; /* thread -> test */
	int go[2];    /* test -> thread (pipe variant) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int go_flag; /* lock */
	char err[512];
};

/* A list of BL_NODES in this frame only (head on the stack, links through
 * TRI_STORE), plus every node in a stack array. */
static NOINLINE void blocked_body(struct blocked *b)
{
	struct node *volatile keep[BL_NODES];
	struct node *head = NULL;
	for (size_t i = 0; i < BL_NODES; i++) {
		struct node *n = node_new(node_id(T_BLOCKED, i));
		if (!n) {
			snprintf(b->err, sizeof b->err, "allocation failed");
			return;
		}
		TRI_STORE(n->next, head);
		head = n;
		keep[i] = n;
	}
	write_byte(b->ready[1]);
	if (b->use_pipe) {
		if (read_byte(b->go[0]))
			snprintf(b->err, sizeof b->err, "read(go) failed");
	} else {
		pthread_mutex_lock(&b->lock);
		while (!b->go_flag)
			pthread_cond_wait(&b->cond, &b->lock);
		pthread_mutex_unlock(&b->lock);
	}
	size_t i = BL_NODES;
	for (struct node *x = head; x && !b->err[0]; x = x->next) {
		if (i == 0) {
			snprintf(b->err, sizeof b->err, "list too long");
			break;
		}
		i--;
		if (node_bad(x, node_id(T_BLOCKED, i), b->err, sizeof b->err))
			break;
		if (keep[i] != x)
			snprintf(b->err, sizeof b->err,
			         "node %zu: the stack array says %p, the list "
			         "%p",
			         i, (void *)keep[i], (void *)x);
	}
	if (!b->err[0] && i != 0)
		snprintf(b->err, sizeof b->err, "%zu nodes missing", i);
}

static void *blocked_thread(void *arg)
{
	blocked_body(arg);
	return NULL;
}

static void run_blocked(int use_pipe)
{
	static struct blocked b;
	pthread_t t;
	concurrent_mode();
	memset(&b, 0, sizeof b);
	b.use_pipe = use_pipe;
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	ck_assert_int_eq(pipe(b.ready), 0);
	ck_assert_int_eq(pipe(b.go), 0);
	ck_assert_int_eq(tri_pthread_create(&t, NULL, blocked_thread, &b), 0);
	ck_assert_int_eq(read_byte(b.ready[0]), 0);
	/* Cycles while it blocks; garbage of the same size takes back any
	 * slot freed by mistake. */
	for (int c = 0; c < 4; c++) {
		clear_stack();
		tri_collect();
		make_garbage(4 * MiB, node_size(node_id(T_BLOCKED, c)));
	}
	tri_collect();
	if (use_pipe) {
		write_byte(b.go[1]);
	} else {
		pthread_mutex_lock(&b.lock);
		b.go_flag = 1;
		pthread_cond_signal(&b.cond);
		pthread_mutex_unlock(&b.lock);
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(!b.err[0], "thread blocked in %s for whole cycles: %s",
	              use_pipe ? "read()" : "pthread_cond_wait", b.err);
	close(b.ready[0]);
	close(b.ready[1]);
	close(b.go[0]);
	close(b.go[1]);
}

START_TEST(blocked_in_cond_wait)
{
	run_blocked(0);
}
END_TEST

START_TEST(blocked_in_read)
{
	run_blocked(1);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* threads exiting while cycles run                                          */
/* ------------------------------------------------------------------------ */

enum {
	EX_ROUNDS = 150,
	EX_THREADS = 4,
	EX_CHAIN = 16,
	EX_SLOTS = EX_ROUNDS * EX_THREADS,
	EX_LIVE_BLOCKS = 4096 /* 16 MiB of pointers: cycles take a while */
};
static struct node **g_ex;   /* EX_SLOTS chain heads, tri_malloc'ed */
static void **g_ex_live;     /* EX_LIVE_BLOCKS blocks */
static int g_ex_stop;        /* atomic */
static uint64_t g_ex_cycles; /* atomic */

static void *ex_collector(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&g_ex_stop, __ATOMIC_ACQUIRE)) {
		tri_collect();
		__atomic_fetch_add(&g_ex_cycles, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* Build a chain of EX_CHAIN nodes (some garbage between), publish it in
 * its own slot, and exit. Returns non-NULL on failure. */
static void *ex_thread(void *arg)
{
	size_t slot = (size_t)(uintptr_t)arg;
	struct node *head = NULL;
	void *volatile sink;
	for (size_t i = 0; i < EX_CHAIN; i++) {
		struct node *n = node_new(node_id(T_EXIT, slot * EX_CHAIN + i));
		if (!n)
			return (void *)1;
		TRI_STORE(n->next, head);
		head = n;
		sink = tri_malloc(64 + i * 100);
		(void)sink;
		if (i == EX_CHAIN / 2)
			sched_yield();
	}
	TRI_STORE(g_ex[slot], head);
	return NULL;
}

START_TEST(threads_exit_while_cycling)
{
	pthread_t coll;
	concurrent_mode();
	struct node **heads = tri_calloc(EX_SLOTS, sizeof *heads);
	void **live = tri_calloc(EX_LIVE_BLOCKS, sizeof *live);
	ck_assert_ptr_nonnull(heads);
	ck_assert_ptr_nonnull(live);
	TRI_STORE(g_ex, heads);
	TRI_STORE(g_ex_live, live);
	for (size_t b = 0; b < EX_LIVE_BLOCKS; b++) {
		void **blk = tri_malloc(BIG_WORDS * sizeof *blk);
		ck_assert_ptr_nonnull(blk);
		TRI_STORE(g_ex_live[b], (void *)blk);
		for (size_t w = 0; w < BIG_WORDS; w += 8)
			TRI_STORE(blk[w], (void *)g_ex_live[b / 2]);
	}
	ck_assert_int_eq(tri_pthread_create(&coll, NULL, ex_collector, NULL),
	                 0);
	while (__atomic_load_n(&g_ex_cycles, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (size_t r = 0; r < EX_ROUNDS; r++) {
		pthread_t t[EX_THREADS];
		for (size_t k = 0; k < EX_THREADS; k++)
			ck_assert_int_eq(
			    tri_pthread_create(&t[k], NULL, ex_thread,
			                       (void *)(uintptr_t)(r * EX_THREADS +
			                                           k)),
			    0);
		for (size_t k = 0; k < EX_THREADS; k++) {
			void *ret;
			ck_assert_int_eq(pthread_join(t[k], &ret), 0);
			ck_assert_msg(ret == NULL,
			              "round %zu thread %zu: allocation failed",
			              r, k);
		}
	}
	__atomic_store_n(&g_ex_stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(coll, NULL), 0);
	ck_assert_msg(g_ex_cycles >= 2, "only %llu cycles ran",
	              U(g_ex_cycles));
	clear_stack();
	tri_collect();
	for (size_t s = 0; s < EX_SLOTS; s++) {
		size_t i = EX_CHAIN;
		for (const struct node *x = g_ex[s]; x; x = x->next) {
			ck_assert_msg(i > 0, "slot %zu: chain too long", s);
			i--;
			assert_node(x, node_id(T_EXIT, s * EX_CHAIN + i),
			            "linked by a thread that exited while "
			            "cycles ran");
		}
		ck_assert_msg(i == 0, "slot %zu: %zu of %d nodes missing", s,
		              i, EX_CHAIN);
	}
	for (size_t b = 0; b < EX_LIVE_BLOCKS; b++) {
		void **blk = g_ex_live[b];
		ck_assert_ptr_eq(tri_base(blk), blk);
		for (size_t w = 0; w < BIG_WORDS; w += 8)
			ck_assert_ptr_eq(blk[w], g_ex_live[b / 2]);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* statistics and the memory limit                                           */
/* ------------------------------------------------------------------------ */

enum { PAUSE_CYCLES = 10 };

/* Forced cycles with GOGC off while threads allocate: the heap goal is
 * "never", so the assist ratio is enormous, and an assisting thread's
 * credit (work times that ratio) must saturate instead of overflowing a
 * signed 64-bit integer (UBSan aborted this test before the fix). */
static volatile int assist_stop;

static void *allocate_until_stopped(void *arg)
{
	(void)arg;
	void *keep[256] = {0};
	for (unsigned long i = 0; !assist_stop; i++)
		keep[i % 256] = tri_malloc(64 + i % 4000);
	return keep[0];
}

START_TEST(forced_cycles_with_gogc_off)
{
	static void *live[1 << 18];
	tri_set_gc_percent(-1);
	for (size_t i = 0; i < NELEMS(live); i++) /* work for the mark */
		live[i] = tri_malloc(48);
	ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(tri_pthread_create(&t[i], NULL,
		                                    allocate_until_stopped,
		                                    NULL), 0);
	for (int i = 0; i < 30; i++)
		tri_collect();
	assist_stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < NELEMS(live); i += 4096)
		ck_assert_ptr_nonnull(live[i]);
}
END_TEST

START_TEST(pause_stats)
{
	tri_stats_t s0, s1;
	concurrent_mode();
	struct node *keep = NULL;
	build_list(&keep, T_SWITCH, 5000);
	tri_read_stats(&s0);
	for (int c = 0; c < PAUSE_CYCLES; c++) {
		make_garbage(2 * MiB, 256);
		tri_collect();
	}
	tri_read_stats(&s1);
	ck_assert_msg(s1.num_gc >= s0.num_gc + PAUSE_CYCLES,
	              "num_gc %llu -> %llu after %d tri_collect",
	              U(s0.num_gc), U(s1.num_gc), PAUSE_CYCLES);
	ck_assert_msg(s1.num_forced_gc >= s0.num_forced_gc + PAUSE_CYCLES,
	              "num_forced_gc %llu -> %llu", U(s0.num_forced_gc),
	              U(s1.num_forced_gc));
	ck_assert_msg(s1.pause_total_ns > s0.pause_total_ns,
	              "pause_total_ns %llu -> %llu", U(s0.pause_total_ns),
	              U(s1.pause_total_ns));
	uint64_t n = s1.num_gc - s0.num_gc, sum = 0;
	if (n > 256)
		n = 256;
	for (uint64_t c = s1.num_gc - n; c < s1.num_gc; c++) {
		uint64_t p = s1.pause_ns[c % 256]; /* cycle c + 1 */
		ck_assert_msg(p > 0, "pause_ns of cycle %llu is 0", U(c + 1));
		sum += p;
	}
	ck_assert_msg(sum <= s1.pause_total_ns - s0.pause_total_ns,
	              "the last %llu pauses sum to %llu ns, more than "
	              "pause_total_ns grew (%llu)",
	              U(n), U(sum), U(s1.pause_total_ns - s0.pause_total_ns));
	ck_assert_msg(s1.last_gc_ns >= s0.last_gc_ns && s1.last_gc_ns > 0,
	              "last_gc_ns %llu -> %llu", U(s0.last_gc_ns),
	              U(s1.last_gc_ns));
	verify_list(keep, T_SWITCH, 5000, "kept across the cycles");
}
END_TEST

START_TEST(memory_limit_api)
{
	ck_assert_msg(tri_set_memory_limit(-1) == INT64_MAX,
	              "default limit %lld, expected INT64_MAX",
	              (long long)tri_set_memory_limit(-1));
	ck_assert(tri_set_memory_limit(-1) == INT64_MAX); /* query only */
	ck_assert(tri_set_memory_limit((int64_t)1 << 30) == INT64_MAX);
	ck_assert(tri_set_memory_limit(-5) == (int64_t)1 << 30);
	ck_assert(tri_set_memory_limit(512 * (int64_t)MiB) ==
	          (int64_t)1 << 30);
	ck_assert(tri_set_memory_limit(0) == 512 * (int64_t)MiB);
	ck_assert(tri_set_memory_limit(INT64_MAX) == 0);
	ck_assert(tri_set_memory_limit(-1) == INT64_MAX);
	/* A limit well above the heap changes nothing visible. */
	concurrent_mode();
	ck_assert(tri_set_memory_limit((int64_t)1 << 40) == INT64_MAX);
	struct node *keep = NULL;
	build_list(&keep, T_SWITCH, 1000);
	make_garbage(8 * MiB, 1024);
	tri_collect();
	verify_list(keep, T_SWITCH, 1000, "under a memory limit");
	ck_assert(tri_set_memory_limit(-1) == (int64_t)1 << 40);
}
END_TEST

/* GOMEMLIMIT lowers the goal: with about 24 MB live and GOGC=100 the goal
 * is about twice that; a limit of 40 MiB pulls it under the limit (Go's
 * memory-limit goal: limit - non-heap - overage - 1 MiB headroom), and
 * lifting the limit gives the GOGC goal back. The heap keeps working. */
START_TEST(memory_limit_lowers_goal)
{
	concurrent_mode();
	struct node *keep = NULL;
	build_list(&keep, T_SWITCH, 200000); /* about 24 MB of nodes */
	tri_collect();
	tri_stats_t st;
	tri_read_stats(&st);
	uint64_t gogc_goal = st.next_gc;
	ck_assert_msg(gogc_goal > 40 * MiB, "GOGC goal %llu",
	              (unsigned long long)gogc_goal);
	tri_set_memory_limit(40 * (int64_t)MiB);
	tri_read_stats(&st);
	ck_assert_msg(st.next_gc < 40 * MiB && st.next_gc >= st.heap_alloc,
	              "goal %llu under a 40 MiB limit (heap %llu)",
	              (unsigned long long)st.next_gc,
	              (unsigned long long)st.heap_alloc);
	make_garbage(64 * MiB, 1024);
	tri_collect();
	verify_list(keep, T_SWITCH, 200000, "under a low memory limit");
	tri_set_memory_limit(INT64_MAX);
	tri_read_stats(&st);
	ck_assert_msg(st.next_gc > 40 * MiB, "goal %llu with the limit lifted",
	              (unsigned long long)st.next_gc);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *concurrent_suite(void)
{
	Suite *s = suite_create("tricolor-concurrent");
	TCase *tc;

	tc = tcase(s, "mode", 60);
	tcase_add_test(tc, mode_values);
	tcase_add_test(tc, mode_switch_heap_intact);
	tcase_add_test(tc, barrier_stores);

	tc = tcase(s, "marking", 120);
	tcase_add_test(tc, alloc_while_marking);
	tcase_add_test(tc, forced_cycles_with_gogc_off);

	tc = tcase(s, "threads", 120);
	tcase_add_test(tc, blocked_in_cond_wait);
	tcase_add_test(tc, blocked_in_read);
	tcase_add_test(tc, threads_exit_while_cycling);

	tc = tcase(s, "stats", 60);
	tcase_add_test(tc, pause_stats);
	tcase_add_test(tc, memory_limit_api);
	tcase_add_test(tc, memory_limit_lowers_goal);

	return s;
}

int main(void)
{
	return run_suite(concurrent_suite());
}

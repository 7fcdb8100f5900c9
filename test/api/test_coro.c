/*
 * test/api/test_coro.c -- owned by the API test suite (not by the library).
 *
 * Black-box tests of the coroutine hooks, written against <tricolor.h>
 * and the example scheduler docs/examples/coro.h (ucontext coroutines on
 * mmap'ed stacks, a run queue shared by OS threads, control blocks
 * reported by a root scanner):
 *   suspended_stack   an object only a suspended coroutine's local holds
 *                     survives forced and automatic cycles (GOGC=10)
 *   running_stack     the same while the coroutine runs and collects
 *   many_coroutines   2000 coroutines on 32 KiB stacks, two OS threads,
 *                     GOGC=10: each builds a chain of stamped nodes that
 *                     only its stack holds and verifies all of it after
 *                     every switch; some coroutines must migrate
 *   stack_ranges      memory of a registered stack keeps what it points
 *                     to: all of it before the first tri_stack_set_sp, only
 *                     [sp, hi) after, nothing after tri_stack_unregister
 *   root_scanner      objects referenced only from malloc'ed memory
 *                     reported by tri_scan_range survive; removing the
 *                     scanner lets them go and stops the calls
 *   bad_input         empty and inverted ranges, a double unregister,
 *                     tri_scan_range outside the scanner: one stderr line
 *                     each, errno, and a heap that still works
 * Every test but bad_input runs twice (Check loop index): stop-the-world,
 * then concurrent mode, where pointer stores into tricolor objects and
 * globals go through TRI_STORE. Each verifies data (tri_base, a check word,
 * a stamp); none asserts a time.
 *
 * Tests that show an object is freed follow testlib.h's pattern (hidden
 * addresses, clear_stack, counting most rather than all), since a stale
 * copy in a register may keep one alive.
 *
 * Build and run (the Makefile does it; not under ASan, which does not
 * follow swapcontext and reports the collector's scans of other stacks):
 *   make build/api/test_coro && ./build/api/test_coro
 *   CK_RUN_CASE=threads ./build/api/test_coro   (one tcase)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "../../docs/examples/coro.h"
#include "../testlib.h"

/* Test ids, mixed into stamps so tests never share a pattern. */
enum { T_SUSP = 1, T_RUN, T_MANY, T_RANGE, T_SCAN, T_BAD, T_OWN };

static const char *const mode_names[] = {"stop-the-world", "concurrent"};

/* Loop index 0: stop-the-world; 1: concurrent. Small GOGC: many cycles. */
static void set_mode(int i)
{
	ck_assert_int_eq(tri_set_mode(i ? TRI_MODE_CONCURRENT : TRI_MODE_STW),
	                 0);
	tri_set_gc_percent(10);
}

/* ------------------------------------------------------------------------ */
/* nodes: a check word over address and identity, a stamped tail            */
/* ------------------------------------------------------------------------ */

struct node {
	struct node *next;
	uint64_t id;    /* test << 48 | ... */
	uint64_t check; /* node_check() */
	uint64_t size;  /* bytes requested */
	/* size - sizeof(struct node) stamped bytes */
};

static uint64_t node_check(const struct node *n)
{
	return mix64((uint64_t)(uintptr_t)n ^ mix64(n->id) ^ n->size);
}

static struct node *node_new(uint64_t id)
{
	size_t size = sizeof(struct node) + (size_t)(mix64(id) % 160);
	struct node *n = tri_malloc(size);
	if (!n)
		return NULL;
	n->id = id;
	n->size = size;
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
		return snprintf(err, sz, "node %llx at %p: tri_base = %p (freed "
		                "while reachable)", U(id), (const void *)n,
		                tri_base(n)), -1;
	if (n->id != id || n->check != node_check(n))
		return snprintf(err, sz, "node at %p: id %llx, expected %llx, "
		                "check word %s (freed and reused?)",
		                (const void *)n, U(n->id), U(id),
		                n->check == node_check(n) ? "ok" : "wrong"), -1;
	size_t k = n->size - sizeof *n;
	size_t off = stamp_check(n + 1, k, k, id);
	if (off != k)
		return snprintf(err, sz, "node %llx at %p: byte %zu of its "
		                "stamp overwritten", U(id), (const void *)n,
		                off), -1;
	return 0;
}

/* Garbage in sizes around the nodes', so a freed node is soon reused. */
static NOINLINE void make_garbage(size_t total)
{
	void *volatile sink = NULL;
	for (size_t done = 0, i = 0; done < total; i++) {
		size_t each = 32 + (size_t)(mix64(i) % 192);
		sink = tri_malloc(each);
		ck_assert_ptr_nonnull(sink);
		done += each;
	}
	(void)sink;
}

/* clear_stack for coroutine stacks: 8 KiB (they are 32-64 KiB). */
static NOINLINE void clear_coro_stack(void)
{
	volatile uint64_t buf[1024];
	for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
		buf[i] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* What a coroutine reports back: no pointer to its objects. */
struct probe {
	int rounds;     /* rounds verified */
	int failed;     /* a check failed: err says which */
	char err[512];
};

/* ------------------------------------------------------------------------ */
/* an object held by a suspended coroutine, and by a running one            */
/* ------------------------------------------------------------------------ */

enum { SUSP_ROUNDS = 20, RUN_ROUNDS = 20, CORO_STACK = 64 * KiB };

static void hold_across_yields(struct coro *self, void *arg)
{
	struct probe *pr = arg;
	uint64_t id = ((uint64_t)T_SUSP << 48) | 1;
	struct node *n = node_new(id); /* this local is its only reference */
	clear_coro_stack(); /* the allocator's dead frames */
	for (int r = 0; r < SUSP_ROUNDS && !pr->failed; r++) {
		coro_yield(self);
		if (node_bad(n, id, pr->err, sizeof pr->err))
			pr->failed = 1;
		else
			pr->rounds++;
	}
}

START_TEST(suspended_stack)
{
	set_mode(_i);
	static struct probe pr;
	struct coro_pool *pool = coro_pool_new(1, CORO_STACK);
	ck_assert_ptr_nonnull(pool);
	struct coro *co = coro_spawn(pool, hold_across_yields, &pr);
	ck_assert_ptr_nonnull(co);
	ck_assert(coro_resume(pool, co, 0)); /* allocates, yields */
	tri_stats_t s0, s1;
	tri_read_stats(&s0);
	for (int r = 0; r < SUSP_ROUNDS; r++) {
		make_garbage(2 * MiB); /* automatic cycles: GOGC=10 */
		clear_stack();
		tri_collect();
		bool more = coro_resume(pool, co, 0); /* verifies, yields */
		ck_assert_msg(!pr.failed, "%s mode, round %d: %s",
		              mode_names[_i], r, pr.err);
		ck_assert_int_eq(pr.rounds, r + 1);
		ck_assert(more == (r + 1 < SUSP_ROUNDS));
	}
	tri_read_stats(&s1);
	ck_assert_msg(s1.num_gc - s0.num_gc > SUSP_ROUNDS,
	              "%llu cycles: no automatic ones", U(s1.num_gc - s0.num_gc));
	coro_pool_free(pool);
}
END_TEST

static void collect_while_holding(struct coro *self, void *arg)
{
	struct probe *pr = arg;
	uint64_t id = ((uint64_t)T_RUN << 48) | 1;
	struct node *n = node_new(id); /* this local is its only reference */
	clear_coro_stack();
	for (int r = 0; r < RUN_ROUNDS && !pr->failed; r++) {
		make_garbage(1 * MiB); /* cycles start on this stack */
		clear_coro_stack();
		tri_collect();
		if (node_bad(n, id, pr->err, sizeof pr->err))
			pr->failed = 1;
		else
			pr->rounds++;
	}
	(void)self;
}

START_TEST(running_stack)
{
	set_mode(_i);
	static struct probe pr;
	struct coro_pool *pool = coro_pool_new(1, CORO_STACK);
	ck_assert_ptr_nonnull(pool);
	struct coro *co = coro_spawn(pool, collect_while_holding, &pr);
	ck_assert_ptr_nonnull(co);
	ck_assert(!coro_resume(pool, co, 0)); /* runs to the end */
	ck_assert_msg(!pr.failed, "%s mode, round %d: %s", mode_names[_i],
	              pr.rounds, pr.err);
	ck_assert_int_eq(pr.rounds, RUN_ROUNDS);
	coro_pool_free(pool);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* thousands of coroutines on two OS threads                                */
/* ------------------------------------------------------------------------ */

enum { MANY = 2000, MANY_ROUNDS = 12, MANY_STACK = 32 * KiB };

struct many_result {
	int rounds;     /* rounds verified */
	int workers;    /* bit w: ran on worker w */
	int failed;
};
static struct many_result *g_many; /* MANY results (malloc'ed) */
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_err[640]; /* the first failure (g_err_lock) */

static uint64_t many_id(uintptr_t c, int r)
{
	return ((uint64_t)T_MANY << 48) | ((uint64_t)c << 16) | (uint64_t)r;
}

/* Verify the chain from head: ids r down to 0 of coroutine c. */
static int chain_bad(const struct node *head, uintptr_t c, int r)
{
	char err[512];
	for (; r >= 0; r--, head = head->next)
		if (node_bad(head, many_id(c, r), err, sizeof err) != 0) {
			pthread_mutex_lock(&g_err_lock);
			if (!g_err[0])
				snprintf(g_err, sizeof g_err, "coroutine %zu, "
				         "round %d: %s", (size_t)c, r, err);
			pthread_mutex_unlock(&g_err_lock);
			return -1;
		}
	return head ? -1 : 0; /* node 0 ends the chain */
}

/* Each round: a new node at the head of a chain only this coroutine's
 * stack references (the links are barriered heap stores), a switch, and
 * the whole chain verified. */
static void chain_and_yield(struct coro *self, void *arg)
{
	uintptr_t c = (uintptr_t)arg;
	struct many_result *res = &g_many[c];
	struct node *head = NULL;
	for (int r = 0; r < MANY_ROUNDS; r++) {
		struct node *n = node_new(many_id(c, r));
		if (!n) {
			res->failed = 1;
			return;
		}
		TRI_STORE(n->next, head);
		head = n;
		/* At least one cycle with every coroutine's chain half built,
		 * however slowly the machine lets allocation reach a trigger:
		 * a collection asked for from a coroutine's own stack. */
		if (c == MANY / 2 && r == MANY_ROUNDS / 2)
			tri_collect();
		coro_yield(self); /* may resume on the other thread */
		res->workers |= 1 << self->home->worker;
		if (chain_bad(head, c, r) != 0) {
			res->failed = 1;
			return;
		}
		res->rounds++;
	}
}

static pthread_barrier_t g_start;

static void *many_worker(void *pool)
{
	pthread_barrier_wait(&g_start);
	coro_run(pool, 1);
	return NULL;
}

START_TEST(many_coroutines)
{
	set_mode(_i);
	g_many = calloc(MANY, sizeof *g_many);
	ck_assert_ptr_nonnull(g_many);
	struct coro_pool *pool = coro_pool_new(MANY, MANY_STACK);
	ck_assert_ptr_nonnull(pool);
	for (uintptr_t c = 0; c < MANY; c++) {
		struct coro *co = coro_spawn(pool, chain_and_yield, (void *)c);
		ck_assert_msg(co != NULL, "coro_spawn %zu: %s", (size_t)c,
		              strerror(errno));
		coro_ready(pool, co);
	}
	tri_stats_t s0, s1;
	tri_read_stats(&s0);
	pthread_barrier_init(&g_start, NULL, 2);
	pthread_t t;
	ck_assert_int_eq(tri_pthread_create(&t, NULL, many_worker, pool), 0);
	pthread_barrier_wait(&g_start);
	coro_run(pool, 0);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&g_start);
	tri_read_stats(&s1);

	int migrated = 0;
	for (size_t c = 0; c < MANY; c++) {
		ck_assert_msg(!g_many[c].failed, "%s mode: %s", mode_names[_i],
		              g_err[0] ? g_err : "out of memory");
		ck_assert_int_eq(g_many[c].rounds, MANY_ROUNDS);
		migrated += g_many[c].workers == 3;
	}
	ck_assert_msg(migrated > 0, "no coroutine ran on both threads");
	ck_assert_msg(s1.num_gc > s0.num_gc, "no cycle ran");
	coro_pool_free(pool);
	free(g_many);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* what a registered stack's memory keeps                                   */
/* ------------------------------------------------------------------------ */

enum { RANGE_N = 64, RANGE_WORDS = 8192 }; /* a 64 KiB "stack" */

/* Put RANGE_N nodes into words spread over the stack memory, the upper
 * half above `mid`, keeping only hidden copies. */
static NOINLINE void range_fill(void **words, uintptr_t *hid)
{
	for (size_t i = 0; i < RANGE_N; i++) {
		struct node *n = node_new(((uint64_t)T_RANGE << 48) | i);
		ck_assert_ptr_nonnull(n);
		words[i * (RANGE_WORDS / RANGE_N) + 3] = n;
		hid[i] = hide_ptr(n);
	}
}

/* Nodes [from, to) still intact. */
static NOINLINE size_t range_alive(const uintptr_t *hid, size_t from,
                                   size_t to)
{
	char err[256];
	size_t alive = 0;
	for (size_t i = from; i < to; i++)
		alive += node_bad(unhide_ptr(hid[i]),
		                  ((uint64_t)T_RANGE << 48) | i, err,
		                  sizeof err) == 0;
	return alive;
}

/* Nodes [from, to) freed (tri_base NULL: nothing is allocated meanwhile). */
static NOINLINE size_t range_gone(const uintptr_t *hid, size_t from,
                                  size_t to)
{
	size_t gone = 0;
	for (size_t i = from; i < to; i++)
		gone += tri_base(unhide_ptr(hid[i])) == NULL;
	return gone;
}

static NOINLINE void collect_clean(void)
{
	clear_stack();
	tri_collect();
}

START_TEST(stack_ranges)
{
	set_mode(_i);
	size_t bytes = RANGE_WORDS * sizeof(void *);
	void **words = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(words != MAP_FAILED);
	static uintptr_t hid[RANGE_N];
	tri_stack_t *s = tri_stack_register(words, words + RANGE_WORDS);
	ck_assert_ptr_nonnull(s);
	range_fill(words, hid);

	/* 1. Before the first tri_stack_set_sp the whole stack is scanned. */
	for (int k = 0; k < 3; k++)
		collect_clean();
	ck_assert_int_eq(range_alive(hid, 0, RANGE_N), RANGE_N);

	/* 2. Suspended at mid: [mid, hi) keeps its nodes, below goes. */
	tri_stack_set_sp(s, words + RANGE_WORDS / 2);
	size_t gone = 0;
	for (int k = 0; k < 4 && gone < RANGE_N / 2; k++) {
		collect_clean();
		gone = range_gone(hid, 0, RANGE_N / 2);
	}
	ck_assert_int_eq(range_alive(hid, RANGE_N / 2, RANGE_N), RANGE_N / 2);
	ck_assert_msg(gone >= RANGE_N / 2 * 3 / 4, "%s mode: %zu of %d nodes "
	              "below sp freed", mode_names[_i], gone, RANGE_N / 2);

	/* 3. Unregistered: the memory still holds the pointers, but it is
	 * no longer scanned. */
	tri_stack_unregister(s);
	gone = 0;
	for (int k = 0; k < 4 && gone < RANGE_N / 2; k++) {
		collect_clean();
		gone = range_gone(hid, RANGE_N / 2, RANGE_N);
	}
	ck_assert_msg(gone >= RANGE_N / 2 * 3 / 4, "%s mode: %zu of %d nodes "
	              "freed after tri_stack_unregister", mode_names[_i], gone,
	              RANGE_N / 2);
	ck_assert_ptr_nonnull(words[RANGE_WORDS - RANGE_WORDS / RANGE_N + 3]);
	munmap(words, bytes);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* the root scanner                                                          */
/* ------------------------------------------------------------------------ */

enum { SCAN_N = 256 };
static void **g_table;                /* SCAN_N slots, malloc'ed */
static uintptr_t g_table_hid[SCAN_N]; /* hidden copies */
static long g_scans;                  /* scanner calls (atomic) */

static void table_scanner(void *arg)
{
	/* No Check calls here: the collector runs it with the world
	 * stopped. A wrong arg fails the test by scanning nothing. */
	__atomic_add_fetch(&g_scans, 1, __ATOMIC_RELAXED);
	if (arg == &g_table)
		tri_scan_range(g_table, g_table + SCAN_N);
}

static NOINLINE void table_fill(void)
{
	for (size_t i = 0; i < SCAN_N; i++) {
		struct node *n = node_new(((uint64_t)T_SCAN << 48) | i);
		ck_assert_ptr_nonnull(n);
		g_table[i] = n; /* malloc'ed memory: no barrier needed */
		g_table_hid[i] = hide_ptr(n);
	}
}

static NOINLINE size_t table_alive(void)
{
	char err[256];
	size_t alive = 0;
	for (size_t i = 0; i < SCAN_N; i++)
		alive += node_bad(unhide_ptr(g_table_hid[i]),
		                  ((uint64_t)T_SCAN << 48) | i, err,
		                  sizeof err) == 0;
	return alive;
}

static NOINLINE size_t table_gone(void)
{
	size_t gone = 0;
	for (size_t i = 0; i < SCAN_N; i++)
		gone += tri_base(unhide_ptr(g_table_hid[i])) == NULL;
	return gone;
}

START_TEST(root_scanner)
{
	set_mode(_i);
	g_table = calloc(SCAN_N, sizeof *g_table);
	ck_assert_ptr_nonnull(g_table);
	tri_set_root_scanner(table_scanner, &g_table);
	table_fill();
	for (int k = 0; k < 5; k++) {
		make_garbage(1 * MiB);
		collect_clean();
		ck_assert_msg(table_alive() == SCAN_N, "%s mode, cycle %d: %zu "
		              "of %d nodes intact", mode_names[_i], k,
		              table_alive(), SCAN_N);
	}
	long calls = __atomic_load_n(&g_scans, __ATOMIC_RELAXED);
	ck_assert_msg(calls >= 5, "scanner called %ld times", calls);

	tri_set_root_scanner(NULL, NULL);
	calls = __atomic_load_n(&g_scans, __ATOMIC_RELAXED);
	size_t gone = 0;
	for (int k = 0; k < 4 && gone < SCAN_N; k++) {
		collect_clean();
		gone = table_gone();
	}
	/* Half, not all: in concurrent mode up to a fifth of them have been
	 * seen kept for 40 cycles by stale copies somewhere the collector
	 * scans (the same with tri_add_roots instead of a scanner). */
	ck_assert_msg(gone >= SCAN_N / 2, "%s mode: %zu of %d nodes freed "
	              "once the scanner was removed", mode_names[_i], gone,
	              SCAN_N);
	ck_assert_int_eq(__atomic_load_n(&g_scans, __ATOMIC_RELAXED), calls);
	ck_assert_ptr_nonnull(g_table[0]); /* the table still holds them */
	free(g_table);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* bad input                                                                 */
/* ------------------------------------------------------------------------ */

/* Capture what fd 2 gets between capture_begin and capture_end. */
struct capture {
	int saved;
	FILE *file;
	char text[1024];
	int lines;
};

static void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	ck_assert_ptr_nonnull(c->file);
	c->saved = dup(2);
	ck_assert_int_ge(c->saved, 0);
	ck_assert_int_ge(dup2(fileno(c->file), 2), 0);
}

static void capture_end(struct capture *c)
{
	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	rewind(c->file);
	size_t n = fread(c->text, 1, sizeof c->text - 1, c->file);
	c->text[n] = '\0';
	fclose(c->file);
	c->lines = 0;
	for (size_t i = 0; i < n; i++)
		c->lines += c->text[i] == '\n';
}

/* One stderr line naming fn. */
static void assert_one_line(const struct capture *c, const char *fn)
{
	ck_assert_msg(c->lines == 1 && strstr(c->text, fn),
	              "expected one line naming %s on stderr, got %d: %s", fn,
	              c->lines, c->text);
}

START_TEST(bad_input)
{
	static char mem[4096];
	struct capture cap;
	struct { void *lo, *hi; } bad[] = {
		{mem, mem}, {mem + 64, mem}, {mem + 4096, mem}, {NULL, NULL},
		{mem + 8, mem + 8},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		capture_begin(&cap);
		errno = 0;
		tri_stack_t *s = tri_stack_register(bad[i].lo, bad[i].hi);
		int err = errno;
		capture_end(&cap);
		ck_assert_msg(s == NULL && err == EINVAL, "tri_stack_register("
		              "%p, %p): %p, errno %d", bad[i].lo, bad[i].hi,
		              (void *)s, err);
		assert_one_line(&cap, "tri_stack_register");
	}

	/* Unregistering twice: silent, then one line. */
	tri_stack_t *s = tri_stack_register(mem, mem + sizeof mem);
	ck_assert_ptr_nonnull(s);
	capture_begin(&cap);
	tri_stack_unregister(s);
	capture_end(&cap);
	ck_assert_msg(cap.lines == 0, "first unregister printed: %s",
	              cap.text);
	capture_begin(&cap);
	tri_stack_unregister(s);
	capture_end(&cap);
	assert_one_line(&cap, "tri_stack_unregister");

	/* tri_scan_range outside a scanner: one line, nothing else. */
	capture_begin(&cap);
	tri_scan_range(mem, mem + sizeof mem);
	capture_end(&cap);
	assert_one_line(&cap, "tri_scan_range");

	/* The heap still works. */
	uint64_t id = (uint64_t)T_BAD << 48;
	struct node *n = node_new(id);
	ck_assert_ptr_nonnull(n);
	make_garbage(1 * MiB);
	tri_collect();
	char err[256];
	ck_assert_msg(node_bad(n, id, err, sizeof err) == 0, "%s", err);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* suite                                                                     */
/* ------------------------------------------------------------------------ */
/* the thread's own stack registered: scanned from where it left it          */
/* ------------------------------------------------------------------------ */

enum { OWN_ROUNDS = 8 };
static ucontext_t own_co, *own_back; /* own_back: on the own stack */
static tri_stack_t *own_stack, *own_co_stack;

/* The coroutine collects while the thread's own stack is left at
 * own_switch's frame. */
static void own_body(void)
{
	for (int r = 0; r < OWN_ROUNDS; r++) {
		make_garbage(256 * KiB);
		tri_collect();
		ucontext_t here;
		tri_stack_set_sp(own_co_stack, &here);
		swapcontext(&here, own_back);
	}
}

/* Below the caller's frame: the caller's locals lie above the saved sp. */
static NOINLINE void own_switch(void)
{
	ucontext_t here; /* the registers saved here lie above the sp set */
	own_back = &here;
	tri_stack_set_sp(own_stack, &here);
	swapcontext(&here, &own_co);
}

static NOINLINE void own_hold(void)
{
	uint64_t id = ((uint64_t)T_OWN << 48) | 1;
	struct node *n = node_new(id); /* this local is its only reference */
	clear_coro_stack();
	for (int r = 0; r < OWN_ROUNDS; r++) {
		own_switch();
		char err[512];
		if (node_bad(n, id, err, sizeof err))
			ck_abort_msg("round %d: %s", r, err);
	}
}

START_TEST(own_stack_registered)
{
	set_mode(_i);
	pthread_attr_t a;
	void *lo;
	size_t size;
	ck_assert_int_eq(pthread_getattr_np(pthread_self(), &a), 0);
	ck_assert_int_eq(pthread_attr_getstack(&a, &lo, &size), 0);
	pthread_attr_destroy(&a);
	own_stack = tri_stack_register(lo, (char *)lo + size);
	ck_assert_ptr_nonnull(own_stack);
	char *cs = mmap(NULL, CORO_STACK, PROT_READ | PROT_WRITE,
	                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(cs, MAP_FAILED);
	own_co_stack = tri_stack_register(cs, cs + CORO_STACK);
	ck_assert_ptr_nonnull(own_co_stack);
	ck_assert_int_eq(getcontext(&own_co), 0);
	own_co.uc_stack.ss_sp = cs;
	own_co.uc_stack.ss_size = CORO_STACK;
	own_co.uc_link = NULL;
	makecontext(&own_co, own_body, 0);
	own_hold();
	tri_stack_unregister(own_co_stack);
	tri_stack_unregister(own_stack);
	munmap(cs, CORO_STACK);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *coro_suite(void)
{
	Suite *s = suite_create("tricolor-coro");
	TCase *tc;

	tc = tcase(s, "stacks", 60);
	tcase_add_loop_test(tc, suspended_stack, 0, 2);
	tcase_add_loop_test(tc, running_stack, 0, 2);
	tcase_add_loop_test(tc, stack_ranges, 0, 2);
	tcase_add_loop_test(tc, own_stack_registered, 0, 2);

	tc = tcase(s, "threads", 120);
	tcase_add_loop_test(tc, many_coroutines, 0, 2);

	tc = tcase(s, "scanner", 60);
	tcase_add_loop_test(tc, root_scanner, 0, 2);
	tcase_add_test(tc, bad_input);

	return s;
}

int main(void)
{
	return run_suite(coro_suite());
}

/*
 * test/api/test_gc.c -- owned by the API test suite (not by the library).
 *
 * Black-box tests of the collector's contract, written against <tricolor.h>
 * only: what keeps an object alive (each kind of root, interior pointers),
 * what lets it go (unreachable objects, cycles, references only from noscan
 * objects, removed root ranges, a dropped 200 MiB structure), what a cycle
 * does to the statistics, GOGC set by the program, tri_free beside the
 * collector, and threads (tri_pthread_create's argument, threads exiting
 * while another collects, fork). Process-level behaviour (GOGC / GODEBUG in
 * the environment, gctrace lines, tri_set_stop_signals) is in test_gcenv.c.
 *
 * How a conservative collector is observed:
 *   survives   the only reference to each object is in the root under
 *              test. The test clears its stack, collects twice, allocates
 *              many objects of the same size and kind (a wrongly freed
 *              object would be handed out again, zeroed and restamped),
 *              collects again, then requires for every object that
 *              tri_base(p) == p and its stamp is intact. An object freed
 *              and not reused fails the first check, one reused fails the
 *              second. A stray copy elsewhere can only make such a test
 *              pass wrongly (never fail wrongly), so helpers that allocate
 *              are noinline and the stack is cleared before collecting.
 *   collected  the objects are allocated by a noinline helper that keeps
 *              only hidden addresses (testlib.h), the stack is cleared, the
 *              heap collected, and the objects whose tri_base is NULL are
 *              counted (tri_collect sweeps everything, and nothing is
 *              allocated before counting). A stale copy in a callee-saved
 *              register may keep one, so at least 99 % of many objects must
 *              go; a structure that is kept must be kept whole.
 *
 * Build (the Makefile does this for the rel, ubsan and asan variants):
 *   cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -pthread \
 *      -Iinclude -DLIBROOT_PATH='"/abs/path/libroot.so"' test/api/test_gc.c \
 *      build/libtricolor.a $(pkg-config --cflags --libs check) \
 *      -latomic_ops -ldl -pthread -o build/api/test_gc
 * where libroot.so is test/api/libroot.c built with -shared -fPIC.
 * Run: ./build/api/test_gc (exit status 0 iff every test passed);
 *   CK_RUN_CASE=roots runs one tcase. Fork mode (the default) is required:
 *   every test needs a process of its own (a fresh heap, and crashes or
 *   hangs count as one failure). main() clears GOGC, GODEBUG and GOMEMLIMIT
 *   so each test starts from the defaults.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The collector scans stacks, so locals must live on the real stack: ASan's
 * fake stacks (detect_stack_use_after_return) would hide them. */
#define TESTLIB_REAL_STACKS
#include "../testlib.h"

#ifndef LIBROOT_PATH
#error "build with -DLIBROOT_PATH='\"/absolute/path/to/libroot.so\"'"
#endif

enum {
	NOBJ = 1000,     /* objects per survive / collect test */
	OBJ_SIZE = 96,   /* their size (a small class, above the tiny 16) */
	CHURN_MAX = 8192 /* objects churn() may keep */
};

/* At least this many of n unreachable objects must be collected. */
static size_t dead_min(size_t n)
{
	return n - n / 100;
}

/* Test ids, mixed into the stamp tags so tests never share a pattern. */
enum {
	T_STACK = 1,
	T_REGS,
	T_REGS_THREAD,
	T_THREAD_STACK,
	T_GLOBAL,
	T_DLOPEN,
	T_TLS_MAIN,
	T_TLS_THREAD,
	T_ROOTS,
	T_INTERIOR,
	T_UNREACH,
	T_NOSCAN_HOLDER,
	T_SCAN_HOLDER,
	T_FREE,
	T_ARG,
	T_EXIT,
	T_FORK,
};

static uint64_t obj_tag(uint64_t test, size_t i)
{
	return mix64((test << 40) ^ (uint64_t)i);
}

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* One object of n bytes, stamped with tag. Fails the test on NULL (only
 * from the thread running the test: Check's asserts are not for others). */
static void *new_obj(size_t n, int noscan, uint64_t tag)
{
	void *p = noscan ? tri_malloc_noscan(n) : tri_malloc(n);
	ck_assert_msg(p != NULL, "tri_malloc%s(%zu) = NULL",
	              noscan ? "_noscan" : "", n);
	stamp(p, n, tag);
	return p;
}

/* For threads other than the test's: NULL on failure, no assert. */
static void *new_obj_quiet(size_t n, int noscan, uint64_t tag)
{
	void *p = noscan ? tri_malloc_noscan(n) : tri_malloc(n);
	if (p)
		stamp(p, n, tag);
	return p;
}

/* 0 if p is a live object of at least n bytes still holding tag's stamp;
 * else -1 with err describing the first problem. */
static int alive_msg(const void *p, size_t n, uint64_t tag, const char *what,
                     size_t i, char *err, size_t errsz)
{
	if (p == NULL) {
		snprintf(err, errsz, "%s: object %zu: the root holds NULL",
		         what, i);
		return -1;
	}
	void *b = tri_base(p);
	if (b != p) {
		snprintf(
		    err, errsz,
		    "%s: object %zu at %p (%zu bytes): tri_base = %p after "
		    "collecting (freed while reachable)",
		    what, i, p, n, b);
		return -1;
	}
	size_t off = stamp_check(p, n, n, tag);
	if (off != n) {
		snprintf(
		    err, errsz,
		    "%s: object %zu at %p (%zu bytes): byte %zu is 0x%02x, "
		    "expected 0x%02x (freed while reachable and reused?)",
		    what, i, p, n, off, ((const unsigned char *)p)[off],
		    expected_byte(tag, n, off));
		return -1;
	}
	return 0;
}

static void assert_alive(const void *p, size_t n, uint64_t tag,
                         const char *what, size_t i)
{
	char err[512];
	int r = alive_msg(p, n, tag, what, i, err, sizeof err);
	ck_assert_msg(r == 0, "%s", err);
}

/* n objects of size bytes; only their hidden addresses go to h[]. */
static NOINLINE void alloc_hidden(uintptr_t *h, size_t n, size_t size,
                                  int noscan, uint64_t test)
{
	for (size_t i = 0; i < n; i++)
		h[i] = hide_ptr(new_obj(size, noscan, obj_tag(test, i)));
}

/* How many of the hidden objects are no longer allocated. (Helpers that
 * hold real addresses are noinline: their dead frames are what clear_stack
 * wipes; an inlined copy would leave them in the test's own frame.) */
static NOINLINE size_t count_dead(const uintptr_t *h, size_t n)
{
	size_t dead = 0;
	for (size_t i = 0; i < n; i++)
		if (tri_base(unhide_ptr(h[i])) == NULL)
			dead++;
	return dead;
}

/* Reachable filler of one size and kind, stamped with its own tags: takes
 * back any slot of that class the collector freed by mistake. */
static void *g_churn[CHURN_MAX];
static size_t g_churn_n;

static NOINLINE void churn(size_t size, int noscan, size_t n)
{
	for (size_t i = 0; i < n && g_churn_n < CHURN_MAX; i++, g_churn_n++)
		g_churn[g_churn_n] =
		    new_obj(size, noscan, mix64(~(uint64_t)g_churn_n));
}

/* The survive sequence: clear the stack, two cycles, churn, one more. */
static void collect_then_churn(size_t size, int noscan, size_t n)
{
	clear_stack();
	tri_collect();
	tri_collect();
	churn(size, noscan, n);
	tri_collect();
}

static void collect_then_churn_std(void)
{
	collect_then_churn(OBJ_SIZE, 0, 2 * NOBJ);
}

/* Tests that count collected objects turn automatic cycles off first: an
 * automatic cycle while they allocate would free objects early and hand
 * their slots out again, so tri_base would find a new object there. Each
 * such test also checks that every object is allocated before it collects
 * (else a tri_base that always said NULL would pass). */
static void no_automatic_cycles(void)
{
	tri_set_gc_percent(-1);
}

/* Garbage: total bytes in objects of `each` bytes, none kept (the sink
 * holds the last one). */
static void *volatile g_sink;

static NOINLINE void make_garbage(size_t total, size_t each)
{
	for (size_t done = 0; done < total; done += each) {
		g_sink = tri_malloc(each);
		ck_assert_ptr_nonnull(g_sink);
	}
}

static void write_byte(int fd)
{
	char c = 1;
	ssize_t r;
	do
		r = write(fd, &c, 1);
	while (r < 0 && errno == EINTR);
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

static void *map_pages(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_msg(p != MAP_FAILED, "mmap(%zu): %s", bytes, strerror(errno));
	return p;
}

/* ------------------------------------------------------------------------ */
/* survives: stack and registers                                             */
/* ------------------------------------------------------------------------ */

static NOINLINE void fill_volatile(void *volatile *keep, size_t n,
                                   uint64_t test)
{
	for (size_t i = 0; i < n; i++)
		keep[i] = new_obj(OBJ_SIZE, 0, obj_tag(test, i));
}

START_TEST(survive_stack)
{
	void *volatile keep[NOBJ];
	fill_volatile(keep, NOBJ, T_STACK);
	collect_then_churn_std();
	for (size_t i = 0; i < NOBJ; i++)
		assert_alive(keep[i], OBJ_SIZE, obj_tag(T_STACK, i),
		             "only on the collecting thread's stack", i);
}
END_TEST

enum { NREGS = 5 };

#if defined(__x86_64__)
struct regs_ctx {
	uintptr_t h[NREGS];
	uintptr_t mask;
	void (*fn)(void);
	void *out[NREGS];
};

#define RC_OFF(field) [field] "i"(offsetof(struct regs_ctx, field))

/*
 * Unhide h[0..4] into rbx, r12, r13, r14 and r15 (the callee-saved
 * registers), call fn() with nothing else holding them, and hand them back
 * in out[]. Every operand goes through one pointer in rdi (saved on the
 * stack around the call; it points to the frame, not to the heap), so the
 * asm needs no other free register; the stack is realigned below the red
 * zone for the call.
 */
static NOINLINE void call_with_ptrs_in_regs(void (*fn)(void),
                                            const uintptr_t *h, void **out)
{
	struct regs_ctx c;
	struct regs_ctx *ctx = &c;
	memcpy(c.h, h, sizeof c.h);
	c.mask = TESTLIB_HIDE_MASK;
	c.fn = fn;
	__asm__ volatile("mov %c[mask](%%rdi), %%r10\n\t"
	                 "mov %c[h](%%rdi), %%rbx\n\t"
	                 "xor %%r10, %%rbx\n\t"
	                 "mov %c[h]+8(%%rdi), %%r12\n\t"
	                 "xor %%r10, %%r12\n\t"
	                 "mov %c[h]+16(%%rdi), %%r13\n\t"
	                 "xor %%r10, %%r13\n\t"
	                 "mov %c[h]+24(%%rdi), %%r14\n\t"
	                 "xor %%r10, %%r14\n\t"
	                 "mov %c[h]+32(%%rdi), %%r15\n\t"
	                 "xor %%r10, %%r15\n\t"
	                 "xor %%r10d, %%r10d\n\t"
	                 "mov %c[fn](%%rdi), %%r11\n\t"
	                 "mov %%rsp, %%rax\n\t"
	                 "sub $128, %%rsp\n\t"
	                 "and $-16, %%rsp\n\t"
	                 "push %%rax\n\t"
	                 "push %%rdi\n\t"
	                 "call *%%r11\n\t"
	                 "pop %%rdi\n\t"
	                 "pop %%rsp\n\t"
	                 "mov %%rbx, %c[out](%%rdi)\n\t"
	                 "mov %%r12, %c[out]+8(%%rdi)\n\t"
	                 "mov %%r13, %c[out]+16(%%rdi)\n\t"
	                 "mov %%r14, %c[out]+24(%%rdi)\n\t"
	                 "mov %%r15, %c[out]+32(%%rdi)\n\t"
	                 : "+D"(ctx)
	                 : RC_OFF(h), RC_OFF(mask), RC_OFF(fn), RC_OFF(out)
	                 : "rax", "rbx", "rcx", "rdx", "rsi", "r8", "r9", "r10",
	                   "r11", "r12", "r13", "r14", "r15", "xmm0", "xmm1",
	                   "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	                   "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
	                   "xmm14", "xmm15", "memory", "cc");
	memcpy(out, c.out, sizeof c.out);
}

/*
 * Unhide h[0..4] into the callee-saved registers, set *ready, spin until
 * *go, hand the registers back in out[]. While it spins (and is stopped by
 * the collector) the pointers are only in registers.
 */
static NOINLINE void spin_with_ptrs_in_regs(const uintptr_t *h, void **out,
                                            int *ready, int *go)
{
	uintptr_t h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4];
	uintptr_t mask = TESTLIB_HIDE_MASK;
	void *o0, *o1, *o2, *o3, *o4;
	__asm__ volatile(
	    "mov %[mask], %%r10\n\t"
	    "mov %[h0], %%rbx\n\t"
	    "xor %%r10, %%rbx\n\t"
	    "mov %[h1], %%r12\n\t"
	    "xor %%r10, %%r12\n\t"
	    "mov %[h2], %%r13\n\t"
	    "xor %%r10, %%r13\n\t"
	    "mov %[h3], %%r14\n\t"
	    "xor %%r10, %%r14\n\t"
	    "mov %[h4], %%r15\n\t"
	    "xor %%r10, %%r15\n\t"
	    "xor %%r10d, %%r10d\n\t"
	    "movl $1, (%[ready])\n\t"
	    "1:\n\t"
	    "pause\n\t"
	    "cmpl $0, (%[go])\n\t"
	    "je 1b\n\t"
	    "mov %%rbx, %[o0]\n\t"
	    "mov %%r12, %[o1]\n\t"
	    "mov %%r13, %[o2]\n\t"
	    "mov %%r14, %[o3]\n\t"
	    "mov %%r15, %[o4]\n\t"
	    : [o0] "=m"(o0), [o1] "=m"(o1), [o2] "=m"(o2), [o3] "=m"(o3),
	      [o4] "=m"(o4)
	    : [h0] "m"(h0), [h1] "m"(h1), [h2] "m"(h2), [h3] "m"(h3),
	      [h4] "m"(h4), [mask] "m"(mask), [ready] "r"(ready), [go] "r"(go)
	    : "rbx", "r10", "r12", "r13", "r14", "r15", "memory", "cc");
	out[0] = o0;
	out[1] = o1;
	out[2] = o2;
	out[3] = o3;
	out[4] = o4;
}
#else
/* Best effort elsewhere: the pointers are live across the call, in
 * callee-saved registers or in spill slots of this frame. */
static NOINLINE void call_with_ptrs_in_regs(void (*fn)(void),
                                            const uintptr_t *h, void **out)
{
	void *p0 = unhide_ptr(h[0]), *p1 = unhide_ptr(h[1]);
	void *p2 = unhide_ptr(h[2]), *p3 = unhide_ptr(h[3]);
	void *p4 = unhide_ptr(h[4]);
	__asm__ volatile("" : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(p3), "+r"(p4));
	fn();
	__asm__ volatile("" : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(p3), "+r"(p4));
	out[0] = p0;
	out[1] = p1;
	out[2] = p2;
	out[3] = p3;
	out[4] = p4;
}

static NOINLINE void spin_with_ptrs_in_regs(const uintptr_t *h, void **out,
                                            int *ready, int *go)
{
	void *p0 = unhide_ptr(h[0]), *p1 = unhide_ptr(h[1]);
	void *p2 = unhide_ptr(h[2]), *p3 = unhide_ptr(h[3]);
	void *p4 = unhide_ptr(h[4]);
	__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
		__asm__ volatile(""
		                 : "+r"(p0), "+r"(p1), "+r"(p2), "+r"(p3),
		                   "+r"(p4));
	out[0] = p0;
	out[1] = p1;
	out[2] = p2;
	out[3] = p3;
	out[4] = p4;
}
#endif

static uintptr_t g_reg_h[NREGS];

START_TEST(survive_registers_own_thread)
{
	void *out[NREGS];
	alloc_hidden(g_reg_h, NREGS, OBJ_SIZE, 0, T_REGS);
	clear_stack();
	call_with_ptrs_in_regs(collect_then_churn_std, g_reg_h, out);
	for (size_t i = 0; i < NREGS; i++) {
		ck_assert_msg(out[i] == unhide_ptr(g_reg_h[i]),
		              "register %zu changed across the call", i);
		assert_alive(
		    out[i], OBJ_SIZE, obj_tag(T_REGS, i),
		    "only in a callee-saved register of the collecting "
		    "thread",
		    i);
	}
}
END_TEST

static struct {
	uintptr_t h[NREGS];
	void *out[NREGS];
	int ready, go, alloc_failed;
} g_spin;

static void *spin_thread(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < NREGS; i++) {
		void *p = new_obj_quiet(OBJ_SIZE, 0, obj_tag(T_REGS_THREAD, i));
		if (!p)
			g_spin.alloc_failed = 1;
		g_spin.h[i] = hide_ptr(p);
	}
	clear_stack();
	spin_with_ptrs_in_regs(g_spin.h, g_spin.out, &g_spin.ready, &g_spin.go);
	return NULL;
}

START_TEST(survive_registers_other_thread)
{
	pthread_t t;
	memset(&g_spin, 0, sizeof g_spin);
	ck_assert_int_eq(tri_pthread_create(&t, NULL, spin_thread, NULL), 0);
	while (!__atomic_load_n(&g_spin.ready, __ATOMIC_ACQUIRE))
		sched_yield();
	collect_then_churn_std();
	__atomic_store_n(&g_spin.go, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(!g_spin.alloc_failed, "allocation failed in the thread");
	for (size_t i = 0; i < NREGS; i++) {
		ck_assert_msg(g_spin.out[i] == unhide_ptr(g_spin.h[i]),
		              "register %zu changed while spinning", i);
		assert_alive(g_spin.out[i], OBJ_SIZE, obj_tag(T_REGS_THREAD, i),
		             "only in a register of a thread stopped while "
		             "spinning",
		             i);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* survives: another thread's stack and TLS, blocked in read(2)             */
/* ------------------------------------------------------------------------ */

static _Thread_local void *tls_keep[NOBJ];

static NOINLINE void fill_tls(uint64_t test)
{
	for (size_t i = 0; i < NOBJ; i++)
		tls_keep[i] = new_obj(OBJ_SIZE, 0, obj_tag(test, i));
}

struct blocked {
	int use_tls;   /* keep the objects in tls_keep, not on the stack */
	int ready[2];  /* thread -> test: objects stored, stack cleared */
	int go[2];     /* test -> thread: verify and exit */
	char err[512]; /* first problem, "" if none */
};

static NOINLINE int fill_volatile_quiet(void *volatile *keep, size_t n,
                                        uint64_t test)
{
	for (size_t i = 0; i < n; i++) {
		keep[i] = new_obj_quiet(OBJ_SIZE, 0, obj_tag(test, i));
		if (!keep[i])
			return -1;
	}
	return 0;
}

static NOINLINE int fill_tls_quiet(uint64_t test)
{
	for (size_t i = 0; i < NOBJ; i++) {
		tls_keep[i] = new_obj_quiet(OBJ_SIZE, 0, obj_tag(test, i));
		if (!tls_keep[i])
			return -1;
	}
	return 0;
}

static void *blocked_thread(void *arg)
{
	struct blocked *b = arg;
	void *volatile keep[NOBJ];
	uint64_t test = b->use_tls ? T_TLS_THREAD : T_THREAD_STACK;
	const char *what = b->use_tls
	                       ? "only in a __thread array of a thread blocked "
	                         "in read()"
	                       : "only on the stack of a thread blocked in "
	                         "read()";
	int r = b->use_tls ? fill_tls_quiet(test)
	                   : fill_volatile_quiet(keep, NOBJ, test);
	if (r)
		snprintf(b->err, sizeof b->err,
		         "allocation failed in the thread");
	clear_stack();
	write_byte(b->ready[1]);
	if (read_byte(b->go[0]) && !b->err[0])
		snprintf(b->err, sizeof b->err, "read(go) failed");
	for (size_t i = 0; i < NOBJ && !b->err[0]; i++)
		alive_msg(b->use_tls ? tls_keep[i] : keep[i], OBJ_SIZE,
		          obj_tag(test, i), what, i, b->err, sizeof b->err);
	return NULL;
}

static void run_blocked(int use_tls)
{
	static struct blocked b;
	pthread_t t;
	memset(&b, 0, sizeof b);
	b.use_tls = use_tls;
	ck_assert_int_eq(pipe(b.ready), 0);
	ck_assert_int_eq(pipe(b.go), 0);
	ck_assert_int_eq(tri_pthread_create(&t, NULL, blocked_thread, &b), 0);
	ck_assert_int_eq(read_byte(b.ready[0]), 0);
	collect_then_churn_std();
	write_byte(b.go[1]);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(!b.err[0], "%s", b.err);
	close(b.ready[0]);
	close(b.ready[1]);
	close(b.go[0]);
	close(b.go[1]);
}

START_TEST(survive_thread_stack_blocked)
{
	run_blocked(0);
}
END_TEST

START_TEST(survive_tls_other_thread)
{
	run_blocked(1);
}
END_TEST

START_TEST(survive_tls_main_thread)
{
	fill_tls(T_TLS_MAIN);
	collect_then_churn_std();
	for (size_t i = 0; i < NOBJ; i++)
		assert_alive(tls_keep[i], OBJ_SIZE, obj_tag(T_TLS_MAIN, i),
		             "only in a __thread array of the main thread", i);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* survives: globals of the program and of a dlopen'ed library               */
/* ------------------------------------------------------------------------ */

enum { DATA_SLOTS = 64 };
/* Non-zero initialiser: .data; the other array is in .bss. */
static void *g_keep_data[DATA_SLOTS] = {(void *)1};
static void *g_keep_bss[NOBJ];

static NOINLINE void fill_globals(void)
{
	for (size_t i = 0; i < DATA_SLOTS; i++)
		g_keep_data[i] = new_obj(OBJ_SIZE, 0, obj_tag(T_GLOBAL, i));
	for (size_t i = 0; i < NOBJ; i++)
		g_keep_bss[i] =
		    new_obj(OBJ_SIZE, 0, obj_tag(T_GLOBAL, DATA_SLOTS + i));
}

START_TEST(survive_program_globals)
{
	fill_globals();
	collect_then_churn_std();
	for (size_t i = 0; i < DATA_SLOTS; i++)
		assert_alive(g_keep_data[i], OBJ_SIZE, obj_tag(T_GLOBAL, i),
		             "only in the program's .data", i);
	for (size_t i = 0; i < NOBJ; i++)
		assert_alive(g_keep_bss[i], OBJ_SIZE,
		             obj_tag(T_GLOBAL, DATA_SLOTS + i),
		             "only in the program's .bss", i);
}
END_TEST

typedef size_t (*libroot_capacity_fn)(void);
typedef void (*libroot_set_fn)(size_t, void *);
typedef void *(*libroot_get_fn)(size_t);

static void *sym(void *lib, const char *name)
{
	void *s = dlsym(lib, name);
	ck_assert_msg(s != NULL, "dlsym(%s): %s", name, dlerror());
	return s;
}

static NOINLINE void fill_library(libroot_set_fn set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		set(i, new_obj(OBJ_SIZE, 0, obj_tag(T_DLOPEN, i)));
}

/* A thread stopped inside the dynamic loader must not hold up the
 * collector: nothing the collector runs after init may take the loader's
 * lock (its own waits go through the blocking-call wrappers, whose
 * definitions are looked up at init). Here the thread sits in a library's
 * constructor, which dlopen runs with that lock held, while this thread
 * collects. Without the fix the collection never returns (the tcase
 * timeout fails the test). */
static void *dlopen_held(void *arg)
{
	(void)arg;
	return dlopen(LIBROOT_PATH, RTLD_NOW | RTLD_LOCAL);
}

START_TEST(collect_while_a_thread_is_in_the_loader)
{
	int go[2], started[2];
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(pipe(started), 0);
	char env[32];
	snprintf(env, sizeof env, "%d %d", go[0], started[1]);
	ck_assert_int_eq(setenv("LIBROOT_CTOR_FDS", env, 1), 0);
	pthread_t t;
	ck_assert_int_eq(tri_pthread_create(&t, NULL, dlopen_held, NULL), 0);
	char c;
	ck_assert_int_eq(read(started[0], &c, 1), 1); /* in the constructor */
	for (int i = 0; i < 3; i++)
		tri_collect();
	ck_assert_int_eq(write(go[1], &c, 1), 1);
	void *lib;
	ck_assert_int_eq(pthread_join(t, &lib), 0);
	ck_assert_ptr_nonnull(lib);
	unsetenv("LIBROOT_CTOR_FDS");
}
END_TEST

START_TEST(survive_dlopen_globals)
{
	/* The heap and the collector run before the library is loaded. */
	void *warm = tri_malloc(64);
	ck_assert_ptr_nonnull(warm);
	tri_collect();
	void *lib = dlopen(LIBROOT_PATH, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(lib != NULL, "dlopen(\"%s\"): %s", LIBROOT_PATH,
	              dlerror());
	libroot_capacity_fn cap;
	libroot_set_fn set;
	libroot_get_fn get;
	void *s = sym(lib, "libroot_capacity");
	memcpy(&cap, &s, sizeof s);
	s = sym(lib, "libroot_set");
	memcpy(&set, &s, sizeof s);
	s = sym(lib, "libroot_get");
	memcpy(&get, &s, sizeof s);
	size_t n = cap();
	ck_assert_msg(n > NOBJ, "libroot has %zu slots", n);
	n = NOBJ; /* slots 0..63 in its .data, the rest in its .bss */
	fill_library(set, n);
	collect_then_churn_std();
	for (size_t i = 0; i < n; i++)
		assert_alive(get(i), OBJ_SIZE, obj_tag(T_DLOPEN, i),
		             i < 64 ? "only in the .data of a dlopen'ed library"
		                    : "only in the .bss of a dlopen'ed library",
		             i);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* root ranges                                                               */
/* ------------------------------------------------------------------------ */

static NOINLINE void fill_range(void **slot, size_t n, uint64_t test)
{
	for (size_t i = 0; i < n; i++)
		slot[i] = new_obj(OBJ_SIZE, 0, obj_tag(test, i));
}

/* Objects referenced by slot[lo..hi) are alive. */
static NOINLINE void assert_range_alive(void **slot, size_t lo, size_t hi,
                                        uint64_t test, const char *what)
{
	for (size_t i = lo; i < hi; i++)
		assert_alive(slot[i], OBJ_SIZE, obj_tag(test, i), what, i);
}

/* How many objects referenced by slot[lo..hi) are gone. */
static NOINLINE size_t count_dead_slots(void **slot, size_t lo, size_t hi)
{
	size_t dead = 0;
	for (size_t i = lo; i < hi; i++)
		if (tri_base(slot[i]) == NULL)
			dead++;
	return dead;
}

/* A libc malloc buffer is no root until tri_add_roots makes it one. */
START_TEST(roots_malloc_buffer)
{
	void **buf = malloc(NOBJ * sizeof *buf);
	ck_assert_ptr_nonnull(buf);
	tri_add_roots(buf, buf + NOBJ);
	fill_range(buf, NOBJ, T_ROOTS);
	collect_then_churn_std();
	assert_range_alive(buf, 0, NOBJ, T_ROOTS,
	                   "only in a malloc'ed tri_add_roots range");
	tri_remove_roots(buf, buf + NOBJ);
	free(buf);
	tri_collect(); /* the freed buffer is no longer read */
}
END_TEST

/* Added: alive. Removed: collected, and the range is never read again (it
 * is unmapped before the next cycle). */
START_TEST(roots_add_remove)
{
	size_t bytes = 4 * NOBJ * sizeof(void *);
	void **buf = map_pages(bytes);
	no_automatic_cycles();
	tri_add_roots(buf, buf + NOBJ);
	fill_range(buf, NOBJ, T_ROOTS);
	collect_then_churn_std();
	assert_range_alive(buf, 0, NOBJ, T_ROOTS,
	                   "only in an mmap'ed tri_add_roots range");
	tri_remove_roots(buf, buf + NOBJ);
	clear_stack();
	tri_collect();
	size_t dead = count_dead_slots(buf, 0, NOBJ);
	ck_assert_msg(
	    dead >= dead_min(NOBJ),
	    "after tri_remove_roots only %zu of %d objects referenced "
	    "only from the removed range were collected",
	    dead, NOBJ);
	ck_assert_int_eq(munmap(buf, bytes), 0);
	tri_collect();
	void *p = tri_malloc(100);
	ck_assert_ptr_nonnull(p);
}
END_TEST

/* Removing [lo, mid) of an added [lo, hi) trims the range to [mid, hi). */
START_TEST(roots_remove_trims)
{
	size_t n = 2 * NOBJ, bytes = n * sizeof(void *);
	void **buf = map_pages(bytes);
	no_automatic_cycles();
	tri_add_roots(buf, buf + n);
	fill_range(buf, n, T_ROOTS);
	ck_assert_uint_eq(count_dead_slots(buf, 0, n), 0);
	tri_remove_roots(buf, buf + NOBJ);
	clear_stack();
	tri_collect();
	tri_collect();
	size_t dead = count_dead_slots(buf, 0, NOBJ);
	ck_assert_msg(dead >= dead_min(NOBJ),
	              "only %zu of %d objects referenced from the removed "
	              "first half of a root range were collected",
	              dead, NOBJ);
	churn(OBJ_SIZE, 0, 2 * NOBJ);
	tri_collect();
	assert_range_alive(buf, NOBJ, n, T_ROOTS,
	                   "in the second half of a root range whose first "
	                   "half was removed");
	munmap(buf, bytes);
}
END_TEST

/* Overlapping ranges A = [0, 2K) and B = [K, 3K); removing A's bounds
 * removes A and trims B to [2K, 3K). */
START_TEST(roots_overlap)
{
	size_t k = NOBJ / 2, n = 3 * k, bytes = n * sizeof(void *);
	void **buf = map_pages(bytes);
	no_automatic_cycles();
	tri_add_roots(buf, buf + 2 * k);
	tri_add_roots(buf + k, buf + 3 * k);
	fill_range(buf, n, T_ROOTS);
	collect_then_churn_std();
	assert_range_alive(buf, 0, n, T_ROOTS, "in overlapping root ranges");
	tri_remove_roots(buf, buf + 2 * k);
	clear_stack();
	tri_collect();
	size_t dead = count_dead_slots(buf, 0, 2 * k);
	ck_assert_msg(dead >= dead_min(2 * k),
	              "only %zu of %zu objects in [lo, lo + 2K) were collected "
	              "after removing that range (the overlapping range starts "
	              "at lo + K and must be trimmed to lo + 2K)",
	              dead, 2 * k);
	churn(OBJ_SIZE, 0, 2 * NOBJ);
	tri_collect();
	assert_range_alive(buf, 2 * k, n, T_ROOTS,
	                   "in the trimmed tail of an overlapping root range");
	munmap(buf, bytes);
}
END_TEST

/* hi <= lo: one line on stderr per call, nothing else happens. */
START_TEST(roots_bad_range)
{
	static void *buf[16];
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	fflush(stderr);
	int saved = dup(2);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(pfd[1], 2), 0);
	tri_add_roots(buf + 8, buf); /* hi < lo */
	tri_add_roots(buf, buf);     /* hi == lo */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	char out[4096];
	size_t len = 0;
	ssize_t r;
	while ((r = read(pfd[0], out + len, sizeof out - 1 - len)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			len += (size_t)r;
	out[len] = '\0';
	close(pfd[0]);
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += out[i] == '\n';
	ck_assert_msg(
	    lines == 2 && len > 0 && out[len - 1] == '\n',
	    "tri_add_roots(hi < lo) and (hi == lo) printed %zu lines, "
	    "expected one each: \"%s\"",
	    lines, out);
	tri_collect();
	void *p = tri_malloc(100);
	ck_assert_ptr_nonnull(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* survives: interior pointers                                               */
/* ------------------------------------------------------------------------ */

enum {
	LARGE_SIZE = 1 << 20,
	LARGE_OFF = 500000,
	SMALL_SIZE = 256,
	TINYISH_SIZE = 64
};

static char *g_in_large;        /* base + LARGE_OFF */
static char *g_in_small[NOBJ];  /* base_i + i % SMALL_SIZE */
static char *g_in_noscan[NOBJ]; /* noscan base_i + i % TINYISH_SIZE */

static NOINLINE void fill_interior(void)
{
	char *p = new_obj(LARGE_SIZE, 0, obj_tag(T_INTERIOR, 0));
	g_in_large = p + LARGE_OFF;
	for (size_t i = 0; i < NOBJ; i++) {
		p = new_obj(SMALL_SIZE, 0, obj_tag(T_INTERIOR, 1 + i));
		g_in_small[i] = p + i % SMALL_SIZE;
		p = new_obj(TINYISH_SIZE, 1, obj_tag(T_INTERIOR, 1 + NOBJ + i));
		g_in_noscan[i] = p + i % TINYISH_SIZE;
	}
}

START_TEST(survive_interior_pointers)
{
	fill_interior();
	clear_stack();
	tri_collect();
	tri_collect();
	churn(SMALL_SIZE, 0, 2 * NOBJ);
	churn(TINYISH_SIZE, 1, 2 * NOBJ);
	churn(LARGE_SIZE, 0, 8);
	tri_collect();
	char *base = g_in_large - LARGE_OFF;
	ck_assert_msg(tri_base(g_in_large) == base,
	              "tri_base(base + %d) of a 1 MiB object kept only by that "
	              "interior pointer = %p, expected %p",
	              LARGE_OFF, tri_base(g_in_large), (void *)base);
	assert_alive(base, LARGE_SIZE, obj_tag(T_INTERIOR, 0),
	             "1 MiB object kept by a pointer at +500000", 0);
	for (size_t i = 0; i < NOBJ; i++) {
		base = g_in_small[i] - i % SMALL_SIZE;
		ck_assert_msg(
		    tri_base(g_in_small[i]) == base,
		    "object %zu: tri_base(base + %zu) = %p, expected %p", i,
		    i % SMALL_SIZE, tri_base(g_in_small[i]), (void *)base);
		assert_alive(base, SMALL_SIZE, obj_tag(T_INTERIOR, 1 + i),
		             "256-byte object kept by an interior pointer", i);
		base = g_in_noscan[i] - i % TINYISH_SIZE;
		assert_alive(
		    base, TINYISH_SIZE, obj_tag(T_INTERIOR, 1 + NOBJ + i),
		    "64-byte noscan object kept by an interior pointer", i);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* collected                                                                 */
/* ------------------------------------------------------------------------ */

enum { NLARGE = 40, LARGE_GARBAGE = 100000 };
static uintptr_t g_h_scan[NOBJ], g_h_noscan[NOBJ], g_h_large[NLARGE];

START_TEST(collect_unreachable)
{
	no_automatic_cycles();
	alloc_hidden(g_h_scan, NOBJ, OBJ_SIZE, 0, T_UNREACH);
	alloc_hidden(g_h_noscan, NOBJ, OBJ_SIZE, 1, T_UNREACH + 100);
	alloc_hidden(g_h_large, NLARGE, LARGE_GARBAGE, 0, T_UNREACH + 200);
	ck_assert_uint_eq(count_dead(g_h_scan, NOBJ), 0);
	ck_assert_uint_eq(count_dead(g_h_noscan, NOBJ), 0);
	ck_assert_uint_eq(count_dead(g_h_large, NLARGE), 0);
	clear_stack();
	tri_collect();
	size_t d1 = count_dead(g_h_scan, NOBJ);
	size_t d2 = count_dead(g_h_noscan, NOBJ);
	size_t d3 = count_dead(g_h_large, NLARGE);
	ck_assert_msg(d1 >= dead_min(NOBJ),
	              "%zu of %d unreachable %d-byte objects collected", d1,
	              NOBJ, OBJ_SIZE);
	ck_assert_msg(d2 >= dead_min(NOBJ),
	              "%zu of %d unreachable %d-byte noscan objects collected",
	              d2, NOBJ, OBJ_SIZE);
	ck_assert_msg(d3 >= NLARGE - 3,
	              "%zu of %d unreachable %d-byte objects collected", d3,
	              NLARGE, LARGE_GARBAGE);
}
END_TEST

enum { NPAIRS = 500, NRINGS = 20, RING_LEN = 100, CYC_SIZE = 48 };
static uintptr_t g_pair_h[2 * NPAIRS];
static uintptr_t g_ring_h[NRINGS][RING_LEN];
static uintptr_t g_self_h[NOBJ];

static NOINLINE void make_cycles(void)
{
	for (size_t k = 0; k < NPAIRS; k++) {
		void **a = tri_malloc(CYC_SIZE), **b = tri_malloc(CYC_SIZE);
		ck_assert(a != NULL && b != NULL);
		a[0] = b;
		b[0] = a;
		g_pair_h[2 * k] = hide_ptr(a);
		g_pair_h[2 * k + 1] = hide_ptr(b);
	}
	for (size_t r = 0; r < NRINGS; r++) {
		void **first = tri_malloc(CYC_SIZE), **prev = first;
		ck_assert_ptr_nonnull(first);
		g_ring_h[r][0] = hide_ptr(first);
		for (size_t j = 1; j < RING_LEN; j++) {
			void **q = tri_malloc(CYC_SIZE);
			ck_assert_ptr_nonnull(q);
			prev[0] = q;
			g_ring_h[r][j] = hide_ptr(q);
			prev = q;
		}
		prev[0] = first;
	}
	for (size_t i = 0; i < NOBJ; i++) {
		void **s = tri_malloc(CYC_SIZE);
		ck_assert_ptr_nonnull(s);
		s[0] = s;
		s[1] = (char *)s + 8;
		g_self_h[i] = hide_ptr(s);
	}
}

START_TEST(collect_cycles)
{
	no_automatic_cycles();
	make_cycles();
	ck_assert_uint_eq(count_dead(g_pair_h, 2 * NPAIRS), 0);
	ck_assert_uint_eq(count_dead(&g_ring_h[0][0], NRINGS * RING_LEN), 0);
	ck_assert_uint_eq(count_dead(g_self_h, NOBJ), 0);
	clear_stack();
	tri_collect();
	size_t pairs_dead = 0;
	for (size_t k = 0; k < NPAIRS; k++) {
		size_t d = count_dead(&g_pair_h[2 * k], 2);
		ck_assert_msg(
		    d != 1,
		    "pair %zu (A <-> B): one collected, the other kept "
		    "(a kept object's referent was freed)",
		    k);
		pairs_dead += d == 2;
	}
	ck_assert_msg(pairs_dead >= dead_min(NPAIRS),
	              "only %zu of %d unreachable A <-> B pairs collected",
	              pairs_dead, NPAIRS);
	size_t rings_dead = 0;
	for (size_t r = 0; r < NRINGS; r++) {
		size_t d = count_dead(g_ring_h[r], RING_LEN);
		ck_assert_msg(d == 0 || d == RING_LEN,
		              "ring %zu of %d objects: %zu collected, the rest "
		              "kept (a kept object's referent was freed)",
		              r, RING_LEN, d);
		rings_dead += d == RING_LEN;
	}
	/* One stale word keeps a whole ring: allow two. */
	ck_assert_msg(rings_dead >= NRINGS - 2,
	              "only %zu of %d unreachable rings of %d collected",
	              rings_dead, NRINGS, RING_LEN);
	size_t self_dead = count_dead(g_self_h, NOBJ);
	ck_assert_msg(self_dead >= dead_min(NOBJ),
	              "only %zu of %d unreachable self-referencing objects "
	              "collected",
	              self_dead, NOBJ);
}
END_TEST

/* Pointers inside a noscan object keep nothing; the same pointers inside a
 * scanned object keep everything (the control). */
static void **g_holder_noscan, **g_holder_scan;

static NOINLINE void fill_holders(void)
{
	g_holder_noscan = tri_malloc_noscan(NOBJ * sizeof(void *));
	g_holder_scan = tri_malloc(NOBJ * sizeof(void *));
	ck_assert(g_holder_noscan != NULL && g_holder_scan != NULL);
	for (size_t i = 0; i < NOBJ; i++) {
		g_holder_noscan[i] =
		    new_obj(OBJ_SIZE, 0, obj_tag(T_NOSCAN_HOLDER, i));
		g_holder_scan[i] =
		    new_obj(OBJ_SIZE, 0, obj_tag(T_SCAN_HOLDER, i));
	}
}

START_TEST(collect_only_in_noscan)
{
	no_automatic_cycles();
	fill_holders();
	ck_assert_uint_eq(count_dead_slots(g_holder_noscan, 0, NOBJ), 0);
	clear_stack();
	tri_collect();
	tri_collect();
	ck_assert_msg(tri_base(g_holder_noscan) == g_holder_noscan,
	              "the noscan holder itself (in a global) was collected");
	size_t dead = count_dead_slots(g_holder_noscan, 0, NOBJ);
	ck_assert_msg(dead >= dead_min(NOBJ),
	              "only %zu of %d objects referenced only from inside a "
	              "tri_malloc_noscan object were collected",
	              dead, NOBJ);
	churn(OBJ_SIZE, 0, 2 * NOBJ);
	tri_collect();
	assert_range_alive(g_holder_scan, 0, NOBJ, T_SCAN_HOLDER,
	                   "referenced from a scanned (tri_malloc) object");
}
END_TEST

/* ------------------------------------------------------------------------ */
/* dropping a big structure gives the memory back                            */
/* ------------------------------------------------------------------------ */

enum { BIG_NODE = 4096, BIG_CHAINS = 512, BIG_CHAIN_LEN = 100 };
/* 512 chains of 100 nodes of 4 KiB: 200 MiB. A stale word can keep at most
 * one chain's tail (400 KiB), unless it is the root itself. */
static void **g_big_root;

static NOINLINE void *build_chain(void)
{
	void **head = tri_malloc(BIG_NODE), **tail = head;
	ck_assert_ptr_nonnull(head);
	for (size_t j = 1; j < BIG_CHAIN_LEN; j++) {
		void **q = tri_malloc(BIG_NODE);
		ck_assert_ptr_nonnull(q);
		tail[0] = q;
		tail = q;
	}
	return head;
}

static NOINLINE void build_big(void)
{
	g_big_root = tri_malloc(BIG_CHAINS * sizeof(void *));
	ck_assert_ptr_nonnull(g_big_root);
	for (size_t c = 0; c < BIG_CHAINS; c++)
		g_big_root[c] = build_chain();
}

static NOINLINE void drop_big(void)
{
	g_big_root = NULL;
}

START_TEST(drop_200mb_structure)
{
	tri_stats_t s0, s1, s2;
	const uint64_t total = (uint64_t)BIG_NODE * BIG_CHAINS * BIG_CHAIN_LEN;
	tri_collect();
	tri_read_stats(&s0);
	build_big();
	tri_read_stats(&s1);
	ck_assert_msg(s1.heap_alloc >= s0.heap_alloc + total,
	              "heap_alloc %llu -> %llu while %llu bytes are reachable",
	              U(s0.heap_alloc), U(s1.heap_alloc), U(total));
	drop_big();
	clear_stack();
	tri_collect();
	clear_stack();
	tri_collect();
	tri_read_stats(&s2);
	uint64_t limit = s0.heap_alloc + s0.heap_alloc / 10 + 8 * MiB;
	ck_assert_msg(
	    s2.heap_alloc <= limit,
	    "heap_alloc %llu after dropping %llu bytes and collecting "
	    "(baseline %llu, limit %llu, peak %llu)",
	    U(s2.heap_alloc), U(total), U(s0.heap_alloc), U(limit),
	    U(s1.heap_alloc));
	ck_assert_msg(s2.heap_objects < s1.heap_objects,
	              "heap_objects %llu -> %llu", U(s1.heap_objects),
	              U(s2.heap_objects));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* statistics and GOGC                                                       */
/* ------------------------------------------------------------------------ */

START_TEST(stats_forced_cycles)
{
	tri_stats_t s0, s, prev;
	void *warm = tri_malloc(100);
	ck_assert_ptr_nonnull(warm);
	int pct = tri_set_gc_percent(-1); /* only forced cycles from here */
	tri_read_stats(&s0);
	prev = s0;
	for (uint64_t k = 1; k <= 3; k++) {
		tri_collect();
		tri_read_stats(&s);
		ck_assert_msg(s.num_gc == s0.num_gc + k,
		              "num_gc %llu after %llu tri_collect (was %llu)",
		              U(s.num_gc), U(k), U(s0.num_gc));
		ck_assert_msg(s.num_forced_gc == s0.num_forced_gc + k,
		              "num_forced_gc %llu after %llu tri_collect (was "
		              "%llu)",
		              U(s.num_forced_gc), U(k), U(s0.num_forced_gc));
		uint64_t last = s.pause_ns[(s.num_gc + 255) % 256];
		ck_assert_msg(
		    last > 0,
		    "pause_ns[(num_gc + 255) %% 256] = 0 after cycle %llu",
		    U(s.num_gc));
		ck_assert_msg(s.pause_total_ns >= prev.pause_total_ns + last,
		              "pause_total_ns %llu -> %llu, last pause %llu",
		              U(prev.pause_total_ns), U(s.pause_total_ns),
		              U(last));
		ck_assert_msg(s.last_gc_ns > 0 &&
		                  s.last_gc_ns >= prev.last_gc_ns,
		              "last_gc_ns %llu -> %llu", U(prev.last_gc_ns),
		              U(s.last_gc_ns));
		ck_assert_msg(s.gc_cpu_fraction >= 0 && s.gc_cpu_fraction <= 1,
		              "gc_cpu_fraction %g", s.gc_cpu_fraction);
		prev = s;
	}
	ck_assert_int_eq(tri_set_gc_percent(pct), -1);
}
END_TEST

/* Keep `bytes` reachable in objects of 64 KiB. */
enum { LIVE_OBJ = 64 * 1024 };
/* volatile: write-only globals could be optimised away, roots and all */
static void *volatile g_live[1024];

static NOINLINE void make_live(size_t bytes)
{
	for (size_t i = 0; i < bytes / LIVE_OBJ && i < NELEMS(g_live); i++) {
		g_live[i] = tri_malloc_noscan(LIVE_OBJ);
		ck_assert_ptr_nonnull(g_live[i]);
	}
}

/* goal = live heap after the last mark * (1 + GOGC / 100), >= 4 MiB. */
START_TEST(stats_next_gc)
{
	tri_stats_t s;
	ck_assert_int_eq(tri_set_gc_percent(100), 100); /* the default */
	tri_collect();
	tri_read_stats(&s);
	ck_assert_msg(
	    s.next_gc >= 4 * MiB,
	    "next_gc %llu with GOGC=100 and a tiny heap: below Go's 4 "
	    "MiB minimum",
	    U(s.next_gc));
	const uint64_t live = 32 * MiB;
	make_live(live);
	tri_collect();
	tri_read_stats(&s);
	uint64_t goal100 = s.next_gc;
	ck_assert_msg(
	    goal100 >= live * 19 / 10,
	    "next_gc %llu with GOGC=100 and %llu bytes live (heap_alloc "
	    "%llu): expected about twice the live heap",
	    U(goal100), U(live), U(s.heap_alloc));
	ck_assert_int_eq(tri_set_gc_percent(50), 100);
	tri_collect();
	tri_read_stats(&s);
	ck_assert_msg(s.next_gc >= live * 14 / 10 && s.next_gc < goal100,
	              "next_gc %llu with GOGC=50 and %llu bytes live (GOGC=100 "
	              "gave %llu)",
	              U(s.next_gc), U(live), U(goal100));
}
END_TEST

START_TEST(gc_percent_previous)
{
	ck_assert_int_eq(tri_set_gc_percent(50), 100);
	ck_assert_int_eq(tri_set_gc_percent(-1), 50);
	ck_assert_int_eq(tri_set_gc_percent(200), -1);
	ck_assert_int_eq(tri_set_gc_percent(0), 200);
	ck_assert_int_eq(tri_set_gc_percent(100), 0);
	ck_assert_int_eq(tri_set_gc_percent(100), 100);
}
END_TEST

START_TEST(gogc_off_no_cycles)
{
	tri_stats_t s0, s1;
	void *warm = tri_malloc(100);
	ck_assert_ptr_nonnull(warm);
	ck_assert_int_eq(tri_set_gc_percent(-1), 100);
	tri_read_stats(&s0);
	make_garbage(64 * MiB, 4096);
	for (int i = 0; i < 10; i++)
		sched_yield();
	tri_read_stats(&s1);
	ck_assert_msg(
	    s1.num_gc == s0.num_gc,
	    "GOGC off: num_gc %llu -> %llu while allocating 64 MiB of "
	    "garbage",
	    U(s0.num_gc), U(s1.num_gc));
	ck_assert_msg(s1.total_alloc >= s0.total_alloc + 64 * MiB,
	              "total_alloc %llu -> %llu", U(s0.total_alloc),
	              U(s1.total_alloc));
	/* tri_collect still works. */
	tri_collect();
	tri_read_stats(&s1);
	ck_assert_uint_eq(s1.num_gc, s0.num_gc + 1);
}
END_TEST

START_TEST(gogc_on_cycles)
{
	tri_stats_t s0, s1;
	void *warm = tri_malloc(100);
	ck_assert_ptr_nonnull(warm);
	ck_assert_int_eq(tri_set_gc_percent(100), 100);
	tri_read_stats(&s0);
	size_t done = 64 * MiB;
	make_garbage(done, 4096);
	tri_read_stats(&s1);
	/* A cycle may finish off the allocating thread: allow more
	 * allocation (not time) before deciding. */
	while (s1.num_gc == s0.num_gc && done < 512 * MiB) {
		make_garbage(16 * MiB, 4096);
		done += 16 * MiB;
		sched_yield();
		tri_read_stats(&s1);
	}
	ck_assert_msg(s1.num_gc > s0.num_gc,
	              "GOGC=100: no cycle after %zu MiB of garbage (next_gc "
	              "%llu)",
	              done >> 20, U(s1.next_gc));
	ck_assert_msg(s1.num_forced_gc == s0.num_forced_gc,
	              "automatic cycles counted as forced: %llu -> %llu",
	              U(s0.num_forced_gc), U(s1.num_forced_gc));
	ck_assert_msg(s1.heap_alloc < 32 * MiB,
	              "heap_alloc %llu after cycles over 4 KiB garbage",
	              U(s1.heap_alloc));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tri_free beside the collector                                             */
/* ------------------------------------------------------------------------ */

static void *g_fb[NOBJ];

static NOINLINE void fill_fb(void)
{
	for (size_t i = 0; i < NOBJ; i++)
		g_fb[i] = new_obj(OBJ_SIZE, 0, obj_tag(T_FREE, i));
}

START_TEST(free_beside_collector)
{
	fill_fb();
	for (size_t i = 0; i < NOBJ; i += 2)
		tri_free(g_fb[i]);
	clear_stack();
	tri_collect();
	for (size_t i = 0; i < NOBJ; i += 2)
		ck_assert_msg(tri_base(g_fb[i]) == NULL,
		              "object %zu, freed with tri_free, is allocated "
		              "again after a cycle (tri_base = %p)",
		              i, tri_base(g_fb[i]));
	for (size_t i = 1; i < NOBJ; i += 2)
		assert_alive(g_fb[i], OBJ_SIZE, obj_tag(T_FREE, i),
		             "neighbour of freed objects", i);
	churn(OBJ_SIZE, 0, 2 * NOBJ);
	tri_collect();
	for (size_t i = 1; i < NOBJ; i += 2)
		assert_alive(g_fb[i], OBJ_SIZE, obj_tag(T_FREE, i),
		             "neighbour of freed objects, after reuse", i);
	/* Objects that lived through cycles can still be freed. */
	for (size_t i = 1; i < NOBJ; i += 2)
		tri_free(g_fb[i]);
	for (size_t i = 0; i < g_churn_n; i += 3)
		tri_free(g_churn[i]);
	tri_collect();
	for (size_t i = 1; i < g_churn_n; i += 3)
		assert_alive(g_churn[i], OBJ_SIZE, mix64(~(uint64_t)i),
		             "churn object beside freed ones", i);
	void *p = tri_malloc(OBJ_SIZE);
	ck_assert_ptr_nonnull(p);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* threads                                                                   */
/* ------------------------------------------------------------------------ */

enum { ARG_THREADS = 32, ARG_SIZE = 128 };

struct arg_obj {
	uint64_t index;
	uint64_t check; /* mix64(index ^ T_ARG) */
	                /* then ARG_SIZE - 16 stamped bytes */
};

static int g_arg_go[2];

static void *arg_thread(void *arg)
{
	struct arg_obj *a = arg;
	if (read_byte(g_arg_go[0]))
		return (void *)(uintptr_t)1;
	if (tri_base(a) != a)
		return (void *)(uintptr_t)2;
	if (a->check != mix64(a->index ^ T_ARG))
		return (void *)(uintptr_t)3;
	size_t n = ARG_SIZE - sizeof *a;
	if (stamp_check(a + 1, n, n, obj_tag(T_ARG, a->index)) != n)
		return (void *)(uintptr_t)4;
	return NULL;
}

/* The argument's only reference is handed to the new thread. */
static NOINLINE int spawn_with_arg(pthread_t *t, uint64_t index)
{
	struct arg_obj *a = tri_malloc(ARG_SIZE);
	ck_assert_ptr_nonnull(a);
	a->index = index;
	a->check = mix64(index ^ T_ARG);
	stamp(a + 1, ARG_SIZE - sizeof *a, obj_tag(T_ARG, index));
	return tri_pthread_create(t, NULL, arg_thread, a);
}

START_TEST(thread_arg_survives)
{
	static pthread_t t[ARG_THREADS];
	static const char *why[] = {"ok", "read failed", "tri_base(arg) != arg",
	                            "check word overwritten",
	                            "stamp overwritten"};
	ck_assert_int_eq(pipe(g_arg_go), 0);
	for (uint64_t i = 0; i < ARG_THREADS; i++) {
		ck_assert_int_eq(spawn_with_arg(&t[i], i), 0);
		/* The thread may not have started yet: collect now. */
		clear_stack();
		tri_collect();
	}
	churn(ARG_SIZE, 0, 2 * NOBJ);
	tri_collect();
	for (int i = 0; i < ARG_THREADS; i++)
		write_byte(g_arg_go[1]);
	for (int i = 0; i < ARG_THREADS; i++) {
		void *ret;
		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		uintptr_t code = (uintptr_t)ret;
		ck_assert_msg(
		    code == 0,
		    "thread %d: its tri_pthread_create argument, dropped "
		    "by the parent, did not survive: %s",
		    i, code < NELEMS(why) ? why[code] : "?");
	}
}
END_TEST

/* Threads come and go while another thread collects back to back. */
enum { EXIT_ROUNDS = 100, EXIT_OBJS = 64, LONG_OBJS = 256 };
static int g_exit_stop;
static unsigned long g_exit_cycles;
static void *g_long[LONG_OBJS];

static void *collector_loop(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&g_exit_stop, __ATOMIC_ACQUIRE)) {
		tri_collect();
		__atomic_fetch_add(&g_exit_cycles, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* kind 0: tri_pthread_create; 1: pthread_create (registers on its first
 * allocation); 2: tri_pthread_create, unregisters itself before exiting. */
static void *short_thread(void *arg)
{
	uintptr_t kind = (uintptr_t)arg;
	void *volatile keep[EXIT_OBJS];
	uint64_t seed = mix64(kind ^ (uintptr_t)&keep);
	char err[256];
	for (size_t i = 0; i < EXIT_OBJS; i++) {
		size_t n = 16 + (size_t)rng_below(&seed, 2000);
		keep[i] = new_obj_quiet(n, i & 1, obj_tag(T_EXIT, n));
		if (!keep[i])
			return (void *)(uintptr_t)1;
		if (i % 16 == 0)
			sched_yield();
	}
	seed = mix64(kind ^ (uintptr_t)&keep);
	for (size_t i = 0; i < EXIT_OBJS; i++) {
		size_t n = 16 + (size_t)rng_below(&seed, 2000);
		if (alive_msg(keep[i], n, obj_tag(T_EXIT, n), "short thread", i,
		              err, sizeof err))
			return (void *)(uintptr_t)2;
	}
	if (kind == 2 && tri_thread_unregister() != 0)
		return (void *)(uintptr_t)3;
	return NULL;
}

static NOINLINE void fill_long(void)
{
	for (size_t i = 0; i < LONG_OBJS; i++)
		g_long[i] = new_obj(OBJ_SIZE, 0, obj_tag(T_EXIT + 100, i));
}

START_TEST(thread_exit_while_collecting)
{
	pthread_t coll;
	fill_long();
	ck_assert_int_eq(tri_pthread_create(&coll, NULL, collector_loop, NULL),
	                 0);
	while (__atomic_load_n(&g_exit_cycles, __ATOMIC_ACQUIRE) == 0)
		sched_yield();
	for (int round = 0; round < EXIT_ROUNDS; round++) {
		pthread_t t[3];
		ck_assert_int_eq(tri_pthread_create(&t[0], NULL, short_thread,
		                                    (void *)(uintptr_t)0),
		                 0);
		ck_assert_int_eq(pthread_create(&t[1], NULL, short_thread,
		                                (void *)(uintptr_t)1),
		                 0);
		ck_assert_int_eq(tri_pthread_create(&t[2], NULL, short_thread,
		                                    (void *)(uintptr_t)2),
		                 0);
		for (int k = 0; k < 3; k++) {
			void *ret;
			ck_assert_int_eq(pthread_join(t[k], &ret), 0);
			ck_assert_msg(
			    ret == NULL,
			    "round %d, thread kind %d: failure %lu (1 "
			    "allocation, 2 object lost, 3 unregister)",
			    round, k, (unsigned long)(uintptr_t)ret);
		}
	}
	__atomic_store_n(&g_exit_stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(coll, NULL), 0);
	for (size_t i = 0; i < LONG_OBJS; i++)
		assert_alive(g_long[i], OBJ_SIZE, obj_tag(T_EXIT + 100, i),
		             "global object while threads came and went", i);
}
END_TEST

/* fork() while other threads allocate and collect: the child has a heap it
 * can use and collect (and must not wait for threads it does not have). */
enum { FORK_KEEP = 100, FORK_ROUNDS = 8 };
static void *g_fork_keep[FORK_KEEP];
static int g_fork_stop;

static void *fork_alloc_loop(void *arg)
{
	(void)arg;
	void *volatile ring[64];
	memset((void *)ring, 0, sizeof ring);
	for (uint64_t i = 0; !__atomic_load_n(&g_fork_stop, __ATOMIC_ACQUIRE);
	     i++) {
		ring[i % 64] = tri_malloc(1 + (size_t)(i * 37 % 3000));
		if (i % 256 == 0)
			g_sink = tri_malloc(100000);
	}
	return NULL;
}

static void *fork_collect_loop(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&g_fork_stop, __ATOMIC_ACQUIRE))
		tri_collect();
	return NULL;
}

static int fork_keep_ok(void)
{
	char err[256];
	for (size_t i = 0; i < FORK_KEEP; i++)
		if (alive_msg(g_fork_keep[i], OBJ_SIZE, obj_tag(T_FORK, i),
		              "kept across fork", i, err, sizeof err))
			return 0;
	return 1;
}

/* The child: exit 0 if the heap works, 1..4 for what failed. */
static int fork_child(void)
{
	static void *mine[2000];
	/* A hang (waiting for a parent's thread) dies of SIGALRM. Check's own
	 * SIGALRM handler (inherited) would kill the whole test's process
	 * group: restore the default first. */
	signal(SIGALRM, SIG_DFL);
	alarm(60);
	if (!fork_keep_ok())
		return 1;
	for (size_t i = 0; i < NELEMS(mine); i++) {
		mine[i] = new_obj_quiet(OBJ_SIZE, 0, obj_tag(T_FORK + 1, i));
		if (!mine[i])
			return 2;
	}
	for (size_t done = 0; done < 16 * MiB; done += 4096)
		g_sink = tri_malloc(4096);
	tri_collect();
	tri_collect();
	if (!fork_keep_ok())
		return 3;
	char err[256];
	for (size_t i = 0; i < NELEMS(mine); i++)
		if (alive_msg(mine[i], OBJ_SIZE, obj_tag(T_FORK + 1, i),
		              "child object", i, err, sizeof err))
			return 4;
	return 0;
}

START_TEST(fork_multithreaded)
{
	pthread_t a, c;
	for (size_t i = 0; i < FORK_KEEP; i++)
		g_fork_keep[i] = new_obj(OBJ_SIZE, 0, obj_tag(T_FORK, i));
	ck_assert_int_eq(tri_pthread_create(&a, NULL, fork_alloc_loop, NULL),
	                 0);
	ck_assert_int_eq(tri_pthread_create(&c, NULL, fork_collect_loop, NULL),
	                 0);
	for (int round = 0; round < FORK_ROUNDS; round++) {
		for (int i = 0; i < 100; i++)
			sched_yield();
		fflush(NULL);
		pid_t pid = fork();
		ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			_exit(fork_child());
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(!WIFSIGNALED(status),
		              "round %d: the forked child died of signal %d%s",
		              round, WTERMSIG(status),
		              WTERMSIG(status) == SIGALRM
		                  ? " (SIGALRM: it hung for 60 s)"
		                  : "");
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		              "round %d: the forked child exited with %d (1 "
		              "parent's objects bad before collecting, 2 "
		              "allocation failed, 3 parent's objects bad after "
		              "collecting, 4 its own objects lost)",
		              round, WEXITSTATUS(status));
	}
	__atomic_store_n(&g_fork_stop, 1, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_join(a, NULL), 0);
	ck_assert_int_eq(pthread_join(c, NULL), 0);
	ck_assert(fork_keep_ok());
}
END_TEST

/* ------------------------------------------------------------------------ */
/* suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *gc_suite(void)
{
	Suite *s = suite_create("tricolor-gc");
	TCase *tc;

	tc = tcase(s, "survive", 120);
	tcase_add_test(tc, survive_stack);
	tcase_add_test(tc, survive_registers_own_thread);
	tcase_add_test(tc, survive_registers_other_thread);
	tcase_add_test(tc, survive_thread_stack_blocked);
	tcase_add_test(tc, survive_tls_main_thread);
	tcase_add_test(tc, survive_tls_other_thread);
	tcase_add_test(tc, survive_program_globals);
	tcase_add_test(tc, survive_dlopen_globals);
	tcase_add_test(tc, collect_while_a_thread_is_in_the_loader);
	tcase_add_test(tc, survive_interior_pointers);

	tc = tcase(s, "roots", 120);
	tcase_add_test(tc, roots_malloc_buffer);
	tcase_add_test(tc, roots_add_remove);
	tcase_add_test(tc, roots_remove_trims);
	tcase_add_test(tc, roots_overlap);
	tcase_add_test(tc, roots_bad_range);

	tc = tcase(s, "collect", 300);
	tcase_add_test(tc, collect_unreachable);
	tcase_add_test(tc, collect_cycles);
	tcase_add_test(tc, collect_only_in_noscan);
	tcase_add_test(tc, drop_200mb_structure);

	tc = tcase(s, "stats", 300);
	tcase_add_test(tc, stats_forced_cycles);
	tcase_add_test(tc, stats_next_gc);
	tcase_add_test(tc, gc_percent_previous);
	tcase_add_test(tc, gogc_off_no_cycles);
	tcase_add_test(tc, gogc_on_cycles);

	tc = tcase(s, "free", 120);
	tcase_add_test(tc, free_beside_collector);

	tc = tcase(s, "threads", 600);
	tcase_add_test(tc, thread_arg_survives);
	tcase_add_test(tc, thread_exit_while_collecting);
	tcase_add_test(tc, fork_multithreaded);

	return s;
}

int main(void)
{
	return run_suite(gc_suite());
}

/*
 * test_threads.c -- registered threads (gc/threads.h): registering and
 * unregistering (explicitly, on the first allocation, by
 * tri_pthread_create, at thread exit) as threads_count sees it; stopping
 * and restarting the world while threads run and allocate; a thread in a
 * blocking section (tri_enter_blocking, a wrapped call, tri_do_blocking)
 * is claimed without a signal and its stack is still scanned, so what only
 * its frames hold survives; threads_for_each_root reports every thread's
 * stack, TLS and saved registers; threads exiting while another thread
 * collects, in both modes; the section's nesting and its parked cache.
 *
 * A thread is known to be inside its section when it says so after
 * entering it, or, for a wrapped call, when /proc shows it in that system
 * call: never by waiting for a while.
 */
#include "gc.h"
#include "mcache.h"
#include "threads.h"
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	tri_set_gc_percent(-1); /* cycles only when a test asks */
	ck_assert_int_eq(tri_thread_register(), 0);
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Wait until thread tid is blocked in system call nr. */
static void wait_in_syscall(pid_t tid, long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		bool in = fgets(buf, sizeof buf, f) && strtol(buf, NULL, 10) == nr &&
		          buf[0] != 'r'; /* "running" */
		fclose(f);
		if (in)
			return;
		sched_yield();
	}
}

/* An object nothing references: allocated by a thread that has exited
 * (its stack is no longer a root). Returns its address, complemented. */
static void *alloc_and_exit(void *arg)
{
	(void)arg;
	return (void *)~(uintptr_t)tri_malloc(4096);
}

static uintptr_t unreferenced_object(void)
{
	pthread_t t;
	void *r;
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_and_exit, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	return (uintptr_t)r;
}

/* ---- registration ---- */

typedef struct gate {
	sem_t ready, go;
} gate;

static void gate_init(gate *g)
{
	ck_assert_int_eq(sem_init(&g->ready, 0, 0), 0);
	ck_assert_int_eq(sem_init(&g->go, 0, 0), 0);
}

static void *register_and_wait(void *arg)
{
	gate *g = arg;
	if (tri_thread_register() != 0)
		return arg;
	sem_post(&g->ready);
	sem_wait(&g->go);
	return NULL; /* unregistered by the exit destructor (I10) */
}

static void *report_count(void *arg)
{
	(void)arg;
	/* Registered before start runs (I2: the cache exists already). */
	return mcache_tls ? (void *)(uintptr_t)threads_count() : NULL;
}

START_TEST(register_unregister_and_count)
{
	ck_assert_uint_eq(threads_count(), 1); /* this thread (setup) */
	ck_assert_int_eq(tri_thread_register(), 0); /* idempotent */
	ck_assert_uint_eq(threads_count(), 1);

	gate g;
	gate_init(&g);
	pthread_t t;
	void *r;
	ck_assert_int_eq(pthread_create(&t, NULL, register_and_wait, &g), 0);
	sem_wait(&g.ready);
	ck_assert_uint_eq(threads_count(), 2);
	sem_post(&g.go);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(threads_count(), 1); /* gone with the thread */

	ck_assert_int_eq(tri_pthread_create(&t, NULL, report_count, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	ck_assert_uint_eq((uintptr_t)r, 2);
	ck_assert_uint_eq(threads_count(), 1);

	ck_assert_int_eq(tri_thread_unregister(), 0);
	ck_assert_uint_eq(threads_count(), 0);
	ck_assert_ptr_null(mcache_tls);
	errno = 0;
	ck_assert_int_eq(tri_thread_unregister(), -1);
	ck_assert_int_eq(errno, EINVAL);
	void *p = tri_malloc(32); /* the first allocation registers */
	ck_assert_uint_eq(threads_count(), 1);
	tri_free(p);
}
END_TEST

/* ---- threads in a blocking section ---- */

enum how { VIA_ENTER, VIA_WRAPPED, VIA_DO_BLOCKING };

typedef struct blocked {
	enum how how;
	gate g;
	int pipe[2];        /* VIA_WRAPPED: blocks in read(pipe[0]) */
	pid_t tid;
	uintptr_t hidden;   /* ~address of what only the thread's frame holds */
	bool in_call;       /* threads_in_syscall inside the section */
	bool stopped;       /* the suspend handler ran on it meanwhile */
	bool intact;        /* its object unchanged after the section */
	atomic_word deep;   /* go on to block (after a first stop) */
} blocked;

static void *wait_for_go(void *arg)
{
	blocked *b = arg;
	b->in_call = threads_in_syscall();
	sem_post(&b->g.ready);
	sem_wait(&b->g.go);
	return arg;
}

/* Hold an object in this frame only, enter the section, block. */
static __attribute__((noinline)) void hold_and_block(blocked *b)
{
	unsigned char *volatile keep = tri_malloc(4096);
	memset(keep, 0x6b, 4096);
	b->hidden = ~(uintptr_t)keep;
	threads_take_stopped();
	switch (b->how) {
	case VIA_ENTER:
		tri_enter_blocking();
		b->in_call = threads_in_syscall();
		sem_post(&b->g.ready);
		sem_wait(&b->g.go); /* a wrapped call too: nested */
		tri_exit_blocking();
		break;
	case VIA_WRAPPED: {
		char c;
		b->in_call = true; /* seen from /proc instead */
		sem_post(&b->g.ready);
		(void)!read(b->pipe[0], &c, 1);
		break;
	}
	case VIA_DO_BLOCKING:
		if (tri_do_blocking(wait_for_go, b) != b)
			b->in_call = false;
		break;
	}
	b->stopped = threads_take_stopped();
	b->intact = true;
	for (int i = 0; i < 4096; i++)
		b->intact &= keep[i] == 0x6b;
}

static __attribute__((noinline)) void far_below(blocked *b)
{
	volatile char pad[16384];
	pad[0] = 1;
	hold_and_block(b);
	pad[1] = pad[0];
}

/* Stopped once while it runs up here, then blocks far below: a stack
 * pointer left from that stop, not replaced when the section begins,
 * would leave hold_and_block's frame unscanned. */
static void *blocked_main(void *arg)
{
	blocked *b = arg;
	b->tid = my_tid();
	sem_post(&b->g.ready);
	while (!atomic_load_acquire(&b->deep))
		sched_yield();
	far_below(b);
	return NULL;
}

static void start_blocked(blocked *b, pthread_t *t, enum how how)
{
	memset(b, 0, sizeof *b);
	b->how = how;
	gate_init(&b->g);
	ck_assert_int_eq(pipe(b->pipe), 0);
	ck_assert_int_eq(tri_pthread_create(t, NULL, blocked_main, b), 0);
	sem_wait(&b->g.ready); /* running */
	tri_collect();         /* stops it there */
	atomic_store_release(&b->deep, 1);
	sem_wait(&b->g.ready); /* it posts from inside its section */
	if (how == VIA_WRAPPED)
		wait_in_syscall(b->tid, SYS_read);
}

static void release_blocked(blocked *b, pthread_t t)
{
	if (b->how == VIA_WRAPPED)
		ck_assert_int_eq(write(b->pipe[1], "x", 1), 1);
	else
		sem_post(&b->g.go);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	close(b->pipe[0]);
	close(b->pipe[1]);
	ck_assert(b->in_call);
	ck_assert(!b->stopped); /* claimed by its scan bit, no signal */
	ck_assert(b->intact);
}

static void blocked_survives(enum how how)
{
	blocked b;
	pthread_t t;
	start_blocked(&b, &t, how);
	uintptr_t garbage = unreferenced_object();
	for (int i = 0; i < 3; i++)
		tri_collect();
	unsigned char *p = (unsigned char *)~b.hidden;
	ck_assert_ptr_eq(tri_base(p), p); /* its stack was scanned */
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(p[i], 0x6b);
	/* The same cycles free what nothing references. */
	ck_assert_ptr_null(tri_base((void *)~garbage));
	release_blocked(&b, t);
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_eq(st.num_gc, 1 + 3);
}

START_TEST(entered_section_is_scanned_not_signalled)
{
	blocked_survives(VIA_ENTER);
}
END_TEST

START_TEST(wrapped_call_is_scanned_not_signalled)
{
	blocked_survives(VIA_WRAPPED);
}
END_TEST

START_TEST(do_blocking_is_scanned_not_signalled)
{
	blocked_survives(VIA_DO_BLOCKING);
}
END_TEST

/* ---- stopping the world ---- */

enum { NRUN = 3, STOP_ROUNDS = 100 };
static atomic_word run_count[NRUN], run_stops[NRUN], run_done;

/* Count, allocate now and then, and count for a while inside the
 * heap-critical region: a stop that lands there is deferred to m_release,
 * and the stop must wait for it (I3). */
static void *runner(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;
	void *keep = NULL;
	threads_take_stopped();
	for (uintptr_t k = 1; !atomic_load_acquire(&run_done); k++) {
		atomic_store_relaxed(&run_count[i], k);
		if (k % 16 == 0) {
			tri_free(keep);
			keep = tri_malloc(16 + k % 700);
		}
		if (k % 64 == 0) {
			m_acquire();
			for (int j = 0; j < 20000; j++)
				atomic_store_relaxed(&run_count[i], ++k);
			m_release();
		}
		if (threads_take_stopped())
			atomic_add_full(&run_stops[i], 1);
	}
	tri_free(keep);
	if (threads_take_stopped())
		atomic_add_full(&run_stops[i], 1);
	return NULL;
}

START_TEST(stop_world_stops_running_threads)
{
	pthread_t th[NRUN], bt;
	blocked b;
	start_blocked(&b, &bt, VIA_ENTER);
	for (size_t i = 0; i < NRUN; i++)
		ck_assert_int_eq(tri_pthread_create(&th[i], NULL, runner,
		                                    (void *)(uintptr_t)i), 0);
	for (size_t i = 0; i < NRUN; i++)
		while (!atomic_load_relaxed(&run_count[i]))
			sched_yield();
	unsigned moved = 0;
	for (int round = 0; round < STOP_ROUNDS; round++) {
		uintptr_t seen[NRUN];
		threads_lock();
		threads_stop_world();
		for (size_t i = 0; i < NRUN; i++)
			seen[i] = atomic_load_relaxed(&run_count[i]);
		for (int k = 0; k < 50; k++) {
			sched_yield(); /* the other core is free to run them */
			for (size_t i = 0; i < NRUN; i++)
				moved += atomic_load_relaxed(&run_count[i]) !=
				         seen[i];
		}
		threads_start_world();
		threads_unlock();
		for (size_t i = 0; i < NRUN; i++) /* and they run again */
			while (atomic_load_relaxed(&run_count[i]) == seen[i])
				sched_yield();
	}
	atomic_store_release(&run_done, 1);
	for (size_t i = 0; i < NRUN; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	ck_assert_uint_eq(moved, 0);
	for (size_t i = 0; i < NRUN; i++)
		ck_assert_uint_ge(atomic_load_relaxed(&run_stops[i]), 1);
	release_blocked(&b, bt); /* never signalled by the stops */
	ck_assert_uint_eq(threads_count(), 1);
}
END_TEST

/* ---- the roots of every thread ---- */

enum { NROOTED = 3, MAX_RANGES = 256 };
static __thread uintptr_t tls_word;

typedef struct rooted {
	gate g;
	bool blocked;       /* in a section, else spinning */
	bool ok;            /* its stack bounds were found */
	uintptr_t local, tls, stack_hi;
	atomic_word stop;
} rooted;

static void note_where(rooted *r, const volatile uintptr_t *local)
{
	pthread_attr_t a;
	void *lo;
	size_t size;
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return;
	r->ok = pthread_attr_getstack(&a, &lo, &size) == 0;
	pthread_attr_destroy(&a);
	if (!r->ok)
		return;
	r->local = (uintptr_t)local;
	r->tls = (uintptr_t)&tls_word;
	r->stack_hi = (uintptr_t)lo + size;
}

static void *rooted_main(void *arg)
{
	rooted *r = arg;
	volatile uintptr_t local = 1;
	note_where(r, &local);
	if (r->blocked) {
		tri_enter_blocking();
		sem_post(&r->g.ready);
		sem_wait(&r->g.go);
		tri_exit_blocking();
	} else {
		sem_post(&r->g.ready);
		while (!atomic_load_acquire(&r->stop))
			local++;
	}
	return NULL;
}

typedef struct root_range {
	uintptr_t lo, hi;
	enum root_kind kind;
} root_range;
static root_range ranges[MAX_RANGES];
static unsigned nranges;

static void record_range(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                         void *arg)
{
	(void)arg;
	if (nranges < MAX_RANGES)
		ranges[nranges++] = (root_range){lo, hi, kind};
}

static void record_roots(void *arg) /* world stopped */
{
	(void)arg;
	nranges = 0;
	threads_for_each_root(record_range, NULL);
}

static unsigned ranges_holding(uintptr_t p, enum root_kind kind,
                               uintptr_t hi)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nranges; i++)
		n += ranges[i].kind == kind && ranges[i].lo <= p &&
		     p < ranges[i].hi && (!hi || ranges[i].hi == hi);
	return n;
}

START_TEST(roots_cover_every_thread)
{
	rooted r[NROOTED + 1];
	pthread_t t[NROOTED];
	memset(r, 0, sizeof r);
	for (int i = 0; i < NROOTED; i++) {
		gate_init(&r[i].g);
		r[i].blocked = i == 0;
		ck_assert_int_eq(tri_pthread_create(&t[i], NULL, rooted_main,
		                                    &r[i]), 0);
		sem_wait(&r[i].g.ready);
	}
	volatile uintptr_t local = 2;
	note_where(&r[NROOTED], &local); /* this thread */
	gc_with_world_stopped(record_roots, NULL);
	for (int i = 0; i < NROOTED; i++) {
		if (r[i].blocked)
			sem_post(&r[i].g.go);
		else
			atomic_store_release(&r[i].stop, 1);
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	}
	ck_assert_uint_lt(nranges, MAX_RANGES);
	unsigned stacks = 0, outside = 0;
	for (unsigned i = 0; i < nranges; i++) {
		ck_assert_uint_lt(ranges[i].lo, ranges[i].hi);
		if (ranges[i].kind != ROOT_STACK)
			continue;
		stacks++;
		bool on_a_stack = false;
		for (int k = 0; k <= NROOTED; k++)
			on_a_stack |= ranges[i].hi == r[k].stack_hi;
		outside += !on_a_stack;
	}
	/* One stack each, from its stack pointer up, and its TLS block. */
	for (int k = 0; k <= NROOTED; k++) {
		ck_assert(r[k].ok);
		ck_assert_uint_eq(ranges_holding(r[k].local, ROOT_STACK,
		                                 r[k].stack_hi), 1);
		ck_assert_uint_eq(ranges_holding(r[k].tls, ROOT_TLS, 0), 1);
	}
	/* And the saved registers of the one in a section (I6). */
	ck_assert_uint_eq(stacks, NROOTED + 1 + 1);
	ck_assert_uint_eq(outside, 1);
}
END_TEST

/* ---- threads exiting during cycles ---- */

enum { SPAWN = 120, KEEP_PER = 4, KEEP_SIZE = 64 };
static void *kept[SPAWN * KEEP_PER];
static atomic_word spawn_done;

static unsigned char tag_of(size_t k)
{
	return (unsigned char)(k * 7 + 1);
}

static void *short_lived(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;
	for (size_t k = 0; k < 200; k++) {
		void *p = tri_malloc(24 + k * 8 % 700);
		if (k % 50 == 0) {
			size_t j = i * KEEP_PER + k / 50;
			unsigned char *q = tri_malloc(KEEP_SIZE);
			memset(q, tag_of(j), KEEP_SIZE);
			TRI_STORE(kept[j], (void *)q); /* a global: barrier */
		}
		if (k % 3 == 0)
			tri_free(p);
	}
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	for (size_t i = 0; i < SPAWN; i += 2) {
		pthread_t a, b;
		if (tri_pthread_create(&a, NULL, short_lived,
		                       (void *)(uintptr_t)i) != 0 ||
		    tri_pthread_create(&b, NULL, short_lived,
		                       (void *)(uintptr_t)(i + 1)) != 0)
			abort();
		pthread_join(a, NULL);
		pthread_join(b, NULL);
	}
	atomic_store_release(&spawn_done, 1);
	return NULL;
}

static void exits_during_cycles(int mode)
{
	ck_assert_int_eq(tri_set_mode(mode), 0);
	pthread_t sp;
	ck_assert_int_eq(tri_pthread_create(&sp, NULL, spawner, NULL), 0);
	unsigned cycles = 0;
	while (!atomic_load_acquire(&spawn_done) || cycles < 3) {
		tri_collect();
		cycles++;
	}
	ck_assert_int_eq(pthread_join(sp, NULL), 0);
	tri_collect();
	ck_assert_uint_eq(threads_count(), 1);
	for (size_t j = 0; j < SPAWN * KEEP_PER; j++) {
		unsigned char *q = kept[j];
		ck_assert_ptr_eq(tri_base(q), q);
		for (int b = 0; b < KEEP_SIZE; b++)
			ck_assert_uint_eq(q[b], tag_of(j));
	}
}

START_TEST(threads_exit_during_stw_cycles)
{
	exits_during_cycles(TRI_MODE_STW);
}
END_TEST

START_TEST(threads_exit_during_concurrent_cycles)
{
	exits_during_cycles(TRI_MODE_CONCURRENT);
}
END_TEST

/* ---- the section itself ---- */

typedef struct probe {
	bool in_call, parked, back;
	void *obj;
} probe;

static void *probe_section(void *arg)
{
	probe *pr = arg;
	pr->in_call = threads_in_syscall();
	pr->parked = mcache_tls == NULL; /* I8 */
	pr->obj = tri_malloc(100);       /* ends the section early */
	pr->back = mcache_tls != NULL;
	return arg;
}

START_TEST(do_blocking_nesting_and_stray_exit)
{
	mcache *c = mcache_tls;
	ck_assert_ptr_nonnull(c);
	probe pr = {0};
	ck_assert_ptr_eq(tri_do_blocking(probe_section, &pr), &pr);
	ck_assert(pr.in_call);
	ck_assert(pr.parked);
	ck_assert(pr.back);
	ck_assert_ptr_eq(tri_base(pr.obj), pr.obj);
	ck_assert(!threads_in_syscall());
	ck_assert_ptr_eq(mcache_tls, c);

	tri_enter_blocking();
	tri_enter_blocking();
	bool in2 = threads_in_syscall(), parked2 = mcache_tls == NULL;
	tri_exit_blocking();
	bool in1 = threads_in_syscall(), parked1 = mcache_tls == NULL;
	tri_exit_blocking();
	ck_assert(in2 && parked2 && in1 && parked1);
	ck_assert(!threads_in_syscall());
	ck_assert_ptr_eq(mcache_tls, c);

	tri_exit_blocking(); /* without an enter: a warning, nothing else */
	ck_assert(!threads_in_syscall());
	ck_assert_ptr_eq(mcache_tls, c);
	tri_free(tri_malloc(64));
	tri_free(pr.obj);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, register_unregister_and_count);
	tcase_add_test(tc, entered_section_is_scanned_not_signalled);
	tcase_add_test(tc, wrapped_call_is_scanned_not_signalled);
	tcase_add_test(tc, do_blocking_is_scanned_not_signalled);
	tcase_add_test(tc, stop_world_stops_running_threads);
	tcase_add_test(tc, roots_cover_every_thread);
	tcase_add_test(tc, threads_exit_during_stw_cycles);
	tcase_add_test(tc, threads_exit_during_concurrent_cycles);
	tcase_add_test(tc, do_blocking_nesting_and_stray_exit);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

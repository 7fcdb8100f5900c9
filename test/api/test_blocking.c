/*
 * test_blocking.c -- owned by the tests: blocking sections (tricolor.h,
 * tri_enter_blocking) and the wrapped blocking calls of the C library,
 * through the public header only.
 *
 *   - Hundreds of threads blocked in the wrapped calls while another
 *     thread allocates and collects: no call returns early or with EINTR,
 *     in both modes.
 *   - A thread blocked in read is not woken by fifty stops (its context
 *     switch count does not move).
 *   - What a blocked thread holds only in its frames and registers
 *     survives the cycles that run while it blocks.
 *   - A signal handler that allocates inside a wrapped call ends the
 *     section early; the call still completes and the heap stays sound.
 *   - A thread cancelled inside a wrapped call leaves its section: later
 *     stops do not wait for it.
 *   - tri_enter_blocking around an unwrapped system call: no EINTR;
 *     tri_do_blocking returns fn's result; a stray tri_exit_blocking
 *     warns and does nothing.
 *   - The pause with 1,000 blocked threads is measured beside the pause
 *     with 2 and printed (a time is never asserted here).
 */
#define TESTLIB_REAL_STACKS
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <tricolor.h>
#include <unistd.h>

#include "../testlib.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- many threads blocked in the wrapped calls ---- */

enum { CALL_NANOSLEEP, CALL_CLOCK_NANOSLEEP, CALL_POLL, CALL_SELECT,
       CALL_EPOLL, CALL_SEM, CALL_COND, CALL_USLEEP, NUM_CALLS };

#define SLEEP_MS 150
#define ROUNDS 3

static atomic_int eintr_count, short_count, started;
static pthread_mutex_t cond_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond_cv = PTHREAD_COND_INITIALIZER;

static void abs_after(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (ms % 1000) * 1000000;
	ts->tv_sec += ms / 1000 + ts->tv_nsec / 1000000000;
	ts->tv_nsec %= 1000000000;
}

/* One timed wait of SLEEP_MS; returns the result as an errno value (0 for
 * a normal timeout). */
static int timed_wait(int kind, int epfd, sem_t *sem)
{
	struct timespec ts = {0, SLEEP_MS * 1000000L}, abs;
	struct timeval tv = {0, SLEEP_MS * 1000};
	struct epoll_event ev;
	switch (kind) {
	case CALL_NANOSLEEP:
		return nanosleep(&ts, NULL) == 0 ? 0 : errno;
	case CALL_CLOCK_NANOSLEEP:
		return clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	case CALL_POLL:
		return poll(NULL, 0, SLEEP_MS) == 0 ? 0 : errno;
	case CALL_SELECT:
		return select(0, NULL, NULL, NULL, &tv) == 0 ? 0 : errno;
	case CALL_EPOLL:
		return epoll_wait(epfd, &ev, 1, SLEEP_MS) == 0 ? 0 : errno;
	case CALL_SEM:
		abs_after(&abs, SLEEP_MS);
		return sem_timedwait(sem, &abs) == 0 ? -1
		       : errno == ETIMEDOUT ? 0 : errno;
	case CALL_COND: {
		abs_after(&abs, SLEEP_MS);
		pthread_mutex_lock(&cond_mu);
		int r = pthread_cond_timedwait(&cond_cv, &cond_mu, &abs);
		pthread_mutex_unlock(&cond_mu);
		return r == ETIMEDOUT ? 0 : r;
	}
	default:
		return usleep(SLEEP_MS * 1000) == 0 ? 0 : errno;
	}
}

static void *sleeper(void *arg)
{
	int kind = (int)(intptr_t)arg % NUM_CALLS;
	int epfd = epoll_create1(0);
	sem_t sem;
	sem_init(&sem, 0, 0);
	tri_thread_register();
	atomic_fetch_add(&started, 1);
	for (int i = 0; i < ROUNDS; i++) {
		uint64_t t0 = now_ns();
		int r = timed_wait(kind, epfd, &sem);
		if (r == EINTR)
			atomic_fetch_add(&eintr_count, 1);
		else if (now_ns() - t0 < (SLEEP_MS - 2) * 1000000ull)
			atomic_fetch_add(&short_count, 1);
	}
	close(epfd);
	sem_destroy(&sem);
	return NULL;
}

static void churn(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end) {
		for (int i = 0; i < 2000; i++)
			if (!tri_malloc(64 + (size_t)i % 512))
				abort();
		tri_collect();
	}
}

static void no_eintr_with(int nthreads)
{
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * KiB);
	for (int i = 0; i < nthreads; i++)
		ck_assert_int_eq(pthread_create(&th[i], &attr, sleeper,
		                                 (void *)(intptr_t)i), 0);
	while (atomic_load(&started) < nthreads)
		usleep(1000);
	tri_stats_t before, after;
	tri_read_stats(&before);
	churn(SLEEP_MS * ROUNDS * 1000000ull);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	tri_read_stats(&after);
	ck_assert_uint_gt(after.num_gc, before.num_gc + 5);
	ck_assert_int_eq(atomic_load(&eintr_count), 0);
	ck_assert_int_eq(atomic_load(&short_count), 0);
	pthread_attr_destroy(&attr);
	free(th);
}

START_TEST(no_eintr_stw)
{
	no_eintr_with(200);
}
END_TEST

START_TEST(no_eintr_concurrent)
{
	ck_assert_int_eq(tri_set_mode(TRI_MODE_CONCURRENT), 0);
	no_eintr_with(200);
}
END_TEST

/* ---- what a blocked thread holds survives ---- */

typedef struct node {
	struct node *next;
	uint64_t check;
} node;

#define LIST_LEN 2000
#define HOLDERS 8

static NOINLINE node *build_list(uint64_t seed)
{
	node *head = NULL;
	for (int i = 0; i < LIST_LEN; i++) {
		node *n = tri_malloc(sizeof *n);
		n->next = head;
		n->check = mix64(seed + (uint64_t)i);
		head = n;
	}
	return head;
}

static bool list_ok(const node *n, uint64_t seed)
{
	for (int i = LIST_LEN - 1; i >= 0; i--, n = n->next)
		if (!n || n->check != mix64(seed + (uint64_t)i))
			return false;
	return n == NULL;
}

static int pipes[HOLDERS][2];
static atomic_int bad_lists, holders_ready;

static void *holder(void *arg)
{
	int i = (int)(intptr_t)arg;
	node *volatile list = build_list((uint64_t)i * 1000003u);
	node *reg = build_list((uint64_t)i * 7919u + 1); /* likely a register */
	char c;
	clear_stack();
	atomic_fetch_add(&holders_ready, 1);
	ssize_t r = read(pipes[i][0], &c, 1); /* blocks while cycles run */
	/* its cache was flushed while it waited: allocate from it again */
	node *after = build_list((uint64_t)i * 104729u + 2);
	if (r != 1 || !list_ok(list, (uint64_t)i * 1000003u) ||
	    !list_ok(reg, (uint64_t)i * 7919u + 1) ||
	    !list_ok(after, (uint64_t)i * 104729u + 2))
		atomic_fetch_add(&bad_lists, 1);
	return NULL;
}

#if defined(__x86_64__)
/* The list's head only in r15, a callee-saved register, across the
 * blocking call: found only through the registers saved on entry. */
static NOINLINE uintptr_t block_holding_in_r15(uint64_t seed, int fd)
{
	node *l = build_list(seed);
	__asm__ __volatile__("movq %0, %%r15" : : "r"(l) : "r15");
	l = NULL;
	clear_stack();
	char c;
	ssize_t r = read(fd, &c, 1);
	uintptr_t out;
	__asm__ __volatile__("movq %%r15, %0" : "=r"(out));
	return r == 1 ? out : 0;
}
#else
static NOINLINE uintptr_t block_holding_in_r15(uint64_t seed, int fd)
{
	node *l = build_list(seed);
	char c;
	return read(fd, &c, 1) == 1 ? (uintptr_t)l : 0;
}
#endif

static void *reg_holder(void *arg)
{
	int i = (int)(intptr_t)arg;
	atomic_fetch_add(&holders_ready, 1);
	uintptr_t l = block_holding_in_r15((uint64_t)i * 31337u, pipes[i][0]);
	if (!list_ok((const node *)l, (uint64_t)i * 31337u))
		atomic_fetch_add(&bad_lists, 1);
	return NULL;
}

static void blocked_roots_with_mode(int mode)
{
	ck_assert_int_eq(tri_set_mode(mode), 0);
	pthread_t th[HOLDERS];
	for (int i = 0; i < HOLDERS; i++) {
		ck_assert_int_eq(pipe(pipes[i]), 0);
		ck_assert_int_eq(tri_pthread_create(&th[i], NULL,
		                                    i % 2 ? holder : reg_holder,
		                                    (void *)(intptr_t)i), 0);
	}
	while (atomic_load(&holders_ready) < HOLDERS)
		usleep(1000);
	usleep(20000); /* all in read */
	for (int round = 0; round < 20; round++) {
		/* garbage that reuses freed memory with new contents */
		for (int k = 0; k < 20000; k++)
			memset(tri_malloc(sizeof(node)), 0x5a, sizeof(node));
		tri_collect();
	}
	for (int i = 0; i < HOLDERS; i++) {
		ck_assert_int_eq(write(pipes[i][1], "x", 1), 1);
		pthread_join(th[i], NULL);
	}
	ck_assert_int_eq(atomic_load(&bad_lists), 0);
}

START_TEST(blocked_roots_stw)
{
	blocked_roots_with_mode(TRI_MODE_STW);
}
END_TEST

START_TEST(blocked_roots_concurrent)
{
	blocked_roots_with_mode(TRI_MODE_CONCURRENT);
}
END_TEST

/* ---- a handler that allocates inside a wrapped call ---- */

static atomic_int handler_allocs;

static void alloc_handler(int sig)
{
	(void)sig;
	if (tri_malloc(100))
		atomic_fetch_add(&handler_allocs, 1);
}

static int hpipe[2];
static atomic_int hready, hresult = -2;

static void *handler_victim(void *arg)
{
	(void)arg;
	tri_thread_register();
	char c;
	atomic_store(&hready, 1);
	ssize_t r = read(hpipe[0], &c, 1);
	atomic_store(&hresult, r == 1 ? 0 : errno);
	return NULL;
}

START_TEST(handler_allocates_in_call)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = alloc_handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	ck_assert_int_eq(pipe(hpipe), 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, handler_victim, NULL), 0);
	while (!atomic_load(&hready))
		usleep(1000);
	usleep(10000);
	for (int i = 0; i < 20; i++) {
		pthread_kill(th, SIGUSR1);
		churn(5000000);
	}
	ck_assert_int_eq(write(hpipe[1], "x", 1), 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&hresult), 0);
	ck_assert_int_gt(atomic_load(&handler_allocs), 0);
}
END_TEST

/* ---- cancelled inside a wrapped call ---- */

static void unlock_cond_mu(void *unused)
{
	(void)unused;
	pthread_mutex_unlock(&cond_mu);
}

static void *cancel_victim(void *arg)
{
	(void)arg;
	tri_thread_register();
	pthread_mutex_lock(&cond_mu);
	pthread_cleanup_push(unlock_cond_mu, NULL);
	for (;;)
		pthread_cond_wait(&cond_cv, &cond_mu);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *cancel_reader(void *arg)
{
	int fd = (int)(intptr_t)arg;
	tri_thread_register();
	char c;
	for (;;)
		(void)!read(fd, &c, 1);
	return NULL;
}

START_TEST(cancelled_in_call)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pthread_t a, b;
	ck_assert_int_eq(pthread_create(&a, NULL, cancel_victim, NULL), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, cancel_reader,
	                                (void *)(intptr_t)p[0]), 0);
	usleep(20000);
	churn(20000000);
	pthread_cancel(a);
	pthread_cancel(b);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	churn(20000000); /* would hang on a thread left "in a call" */
	tri_stats_t st;
	tri_read_stats(&st);
	ck_assert_uint_gt(st.num_gc, 2);
}
END_TEST

/* ---- a blocked thread is never woken by a stop ---- */

static atomic_int quiet_tid;

static void *quiet_reader(void *arg)
{
	int fd = (int)(intptr_t)arg;
	tri_thread_register();
	atomic_store(&quiet_tid, (int)syscall(SYS_gettid));
	char c;
	(void)!read(fd, &c, 1);
	return NULL;
}

/* How often the thread has been switched out: a signal wakes it. */
static long switches(int tid)
{
	char path[64], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	long n = 0, v;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1)
			n += v;
	fclose(f);
	return n;
}

START_TEST(blocked_thread_not_woken)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, quiet_reader,
	                                (void *)(intptr_t)p[0]), 0);
	while (!atomic_load(&quiet_tid))
		usleep(1000);
	usleep(50000); /* in read */
	int tid = atomic_load(&quiet_tid);
	long before = switches(tid);
	for (int i = 0; i < 50; i++)
		tri_collect();
	long after = switches(tid);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(after, before);
}
END_TEST

/* ---- the explicit sections ---- */

static atomic_int raw_eintr, raw_ready;

static void *raw_sleeper(void *arg)
{
	(void)arg;
	tri_thread_register();
	atomic_store(&raw_ready, 1);
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec ts = {0, SLEEP_MS * 1000000L};
		tri_enter_blocking();
		long r = syscall(SYS_nanosleep, &ts, NULL);
		int err = errno;
		tri_exit_blocking();
		if (r != 0 && err == EINTR)
			atomic_fetch_add(&raw_eintr, 1);
	}
	return NULL;
}

START_TEST(explicit_section)
{
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, raw_sleeper, NULL), 0);
	while (!atomic_load(&raw_ready))
		usleep(1000);
	churn(SLEEP_MS * ROUNDS * 1000000ull);
	pthread_join(th, NULL);
	ck_assert_int_eq(atomic_load(&raw_eintr), 0);
}
END_TEST

static void *twice(void *arg)
{
	return (char *)arg + 1;
}

START_TEST(do_blocking_and_stray_exit)
{
	tri_thread_register();
	char buf[4];
	ck_assert_ptr_eq(tri_do_blocking(twice, buf), buf + 1);
	tri_exit_blocking(); /* warns, ignored */
	tri_enter_blocking();
	tri_enter_blocking(); /* nested */
	tri_exit_blocking();
	tri_exit_blocking();
	ck_assert_ptr_nonnull(tri_malloc(10));
	tri_collect();
}
END_TEST

/* ---- the pause with many blocked threads (printed, not asserted) ---- */

static int stop_pipe[2];

static void *parked(void *arg)
{
	(void)arg;
	tri_thread_register();
	atomic_fetch_add(&started, 1);
	char c;
	(void)!read(stop_pipe[0], &c, 1);
	return NULL;
}

static uint64_t worst_pause(int nthreads)
{
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * KiB);
	atomic_store(&started, 0);
	ck_assert_int_eq(pipe(stop_pipe), 0);
	for (int i = 0; i < nthreads; i++)
		ck_assert_int_eq(pthread_create(&th[i], &attr, parked, NULL), 0);
	while (atomic_load(&started) < nthreads)
		usleep(1000);
	usleep(20000);
	uint64_t worst = 0;
	for (int i = 0; i < 20; i++) {
		tri_collect();
		tri_stats_t st;
		tri_read_stats(&st);
		uint64_t p = st.pause_ns[(st.num_gc + 255) % 256];
		if (p > worst)
			worst = p;
	}
	close(stop_pipe[1]);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	close(stop_pipe[0]);
	pthread_attr_destroy(&attr);
	free(th);
	return worst;
}

START_TEST(pause_with_blocked_threads)
{
	uint64_t p2 = worst_pause(2), p1000 = worst_pause(1000);
	printf("worst pause over 20 cycles: %.3f ms with 2 blocked threads, "
	       "%.3f ms with 1000\n", p2 / 1e6, p1000 / 1e6);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("blocking");
	TCase *tc = tcase_create("blocking");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, no_eintr_stw);
	tcase_add_test(tc, no_eintr_concurrent);
	tcase_add_test(tc, blocked_roots_stw);
	tcase_add_test(tc, blocked_roots_concurrent);
	tcase_add_test(tc, blocked_thread_not_woken);
	tcase_add_test(tc, handler_allocates_in_call);
	tcase_add_test(tc, cancelled_in_call);
	tcase_add_test(tc, explicit_section);
	tcase_add_test(tc, do_blocking_and_stray_exit);
	tcase_add_test(tc, pause_with_blocked_threads);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

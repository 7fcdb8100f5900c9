/*
 * blocking.c -- owned by bench/run.sh (part 6): what a blocking section
 * costs, and what it saves.
 *
 *   1. ns per call of poll(NULL, 0, 0) and of a 1-byte read from
 *      /dev/zero (both return at once, so the section's cost is all that
 *      differs): the C library's function called directly (glibc), the
 *      wrapped call on a registered thread (tricolor), and on an
 *      unregistered thread (tricolor-unreg, the pass-through); and the
 *      section alone (tri_enter_blocking + tri_exit_blocking, against an
 *      empty loop). ROUNDS rounds, the three interleaved; medians
 *      printed. System calls are slow and noisy in a virtual machine: the
 *      section's own row is the one to read.
 *   2. The worst and median stop-the-world pause over 50 forced cycles
 *      with 2 and with 1000 threads blocked in read, in each mode.
 *
 *   blocking [ROUNDS]       prints two small tables
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tricolor.h>
#include <unistd.h>

#define CALLS 2000000

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int (*libc_poll)(struct pollfd *, nfds_t, int);
static ssize_t (*libc_read)(int, void *, size_t);
static int zero_fd;

enum { GLIBC, WRAPPED, UNREG, NVAR };
static const char *const var_name[NVAR] = {"glibc", "tricolor",
                                           "tricolor-unreg"};

typedef struct job {
	int var, call; /* call 0: poll, 1: read, 2: the section alone */
	double ns;
} job;

static void *run_calls(void *p)
{
	job *j = p;
	if (j->var != UNREG)
		tri_thread_register();
	char c;
	uint64_t t0 = now_ns();
	for (int i = 0; i < CALLS; i++) {
		if (j->call == 2) {
			if (j->var != GLIBC) {
				tri_enter_blocking();
				tri_exit_blocking();
			}
			__asm__ __volatile__("" ::: "memory");
		} else if (j->call == 0)
			(void)(j->var == GLIBC ? libc_poll(NULL, 0, 0)
			                       : poll(NULL, 0, 0));
		else
			(void)(j->var == GLIBC ? libc_read(zero_fd, &c, 1)
			                       : read(zero_fd, &c, 1));
	}
	j->ns = (double)(now_ns() - t0) / CALLS;
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void call_costs(int rounds)
{
	double *ns = calloc((size_t)rounds * NVAR * 3, sizeof *ns);
	static const char *const call_name[3] = {
		"poll(NULL, 0, 0)", "read(/dev/zero, 1)",
		"enter + exit alone (glibc: empty loop)"};
	for (int r = 0; r < rounds; r++)
		for (int call = 0; call < 3; call++)
			for (int v = 0; v < NVAR; v++) {
				job j = {.var = v, .call = call};
				pthread_t th;
				pthread_create(&th, NULL, run_calls, &j);
				pthread_join(th, NULL);
				ns[(call * NVAR + v) * rounds + r] = j.ns;
			}
	printf("| call (ns per call, median of %d) |", rounds);
	for (int v = 0; v < NVAR; v++)
		printf(" %s |", var_name[v]);
	printf(" section cost |\n|---|---:|---:|---:|---:|\n");
	for (int call = 0; call < 3; call++) {
		double m[NVAR];
		for (int v = 0; v < NVAR; v++)
			m[v] = median(ns + (call * NVAR + v) * rounds, rounds);
		printf("| %s |", call_name[call]);
		for (int v = 0; v < NVAR; v++)
			printf(" %.1f |", m[v]);
		printf(" %+.1f |\n", m[WRAPPED] - m[GLIBC]);
	}
	free(ns);
}

static int park_pipe[2];
static atomic_int parked_n;

static void *parked(void *arg)
{
	(void)arg;
	tri_thread_register();
	atomic_fetch_add(&parked_n, 1);
	char c;
	(void)!read(park_pipe[0], &c, 1);
	return NULL;
}

static void pauses(int nthreads, double *worst, double *med)
{
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	atomic_store(&parked_n, 0);
	if (pipe(park_pipe) != 0)
		abort();
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], &attr, parked, NULL);
	while (atomic_load(&parked_n) < nthreads)
		usleep(1000);
	usleep(20000);
	double p[50];
	for (int i = 0; i < 50; i++) {
		tri_collect();
		tri_stats_t st;
		tri_read_stats(&st);
		p[i] = st.pause_ns[(st.num_gc + 255) % 256] / 1e6;
	}
	close(park_pipe[1]);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	close(park_pipe[0]);
	pthread_attr_destroy(&attr);
	free(th);
	*med = median(p, 50);
	*worst = p[49];
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5;
	libc_poll = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT,
	                                                          "poll");
	libc_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	zero_fd = open("/dev/zero", O_RDONLY);
	if (!libc_poll || !libc_read || zero_fd < 0 || rounds < 1)
		return 1;
	call_costs(rounds);
	printf("\n| mode | blocked threads | median pause ms | worst pause ms "
	       "(50 forced cycles) |\n|---|---:|---:|---:|\n");
	for (int mode = 0; mode < 2; mode++) {
		tri_set_mode(mode ? TRI_MODE_CONCURRENT : TRI_MODE_STW);
		int counts[2] = {2, 1000};
		for (int k = 0; k < 2; k++) {
			double worst, med;
			pauses(counts[k], &worst, &med);
			printf("| %s | %d | %.3f | %.3f |\n",
			       mode ? "concurrent" : "stw", counts[k], med, worst);
		}
	}
	return 0;
}

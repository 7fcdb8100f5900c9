/*
 * sleeper.c -- owned by test/preload/run.sh: the main thread sleeps while
 * workers malloc and free (so the collector stops the world many times
 * in gc mode). Every sleep and every poll must last its full time and
 * return 0: a stop of the world must not cut them short with EINTR.
 *
 *   sleeper SECONDS    prints "slept S s, poll ok, N ops" and exits 0, or
 *                      says what went wrong and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static void *volatile sink; /* the garbage is really allocated */
static atomic_long ops;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
	void *keep[256] = {0};
	unsigned seed = (unsigned)(uintptr_t)arg;
	long n = 0;
	while (!atomic_load(&stop)) {
		unsigned i = (seed = seed * 1103515245u + 12345u) >> 8;
		free(keep[i % 256]);
		keep[i % 256] = malloc(16 + i % 2000);
		if (!keep[i % 256])
			abort();
		memset(keep[i % 256], 1, 16);
		sink = malloc(64); /* garbage: never freed */
		n++;
	}
	for (int i = 0; i < 256; i++)
		free(keep[i]);
	atomic_fetch_add(&ops, n);
	return NULL;
}

static void *poller(void *arg)
{
	int *bad = arg;
	for (int i = 0; i < 20; i++) {
		double t0 = now();
		int r = poll(NULL, 0, 50);
		if (r != 0 || now() - t0 < 0.049)
			*bad = r != 0 ? errno : -1;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 3;
	pthread_t w[2], p;
	int poll_bad = 0;
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	pthread_create(&p, NULL, poller, &poll_bad);
	double t0 = now();
	unsigned left = sleep((unsigned)seconds);
	double slept = now() - t0;
	atomic_store(&stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	pthread_join(p, NULL);
	if (left != 0 || slept < seconds - 0.01) {
		printf("sleep(%d) returned %u after %.3f s\n", seconds, left,
		       slept);
		return 1;
	}
	if (poll_bad) {
		printf("poll(50 ms) cut short: %s\n",
		       poll_bad > 0 ? strerror(poll_bad) : "returned early");
		return 1;
	}
	printf("slept %d s, poll ok, %ld ops\n", seconds, atomic_load(&ops));
	return 0;
}

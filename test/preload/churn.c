/*
 * churn.c -- many short-lived threads under the malloc preload (a server
 * that starts a thread per request). test/preload/run.sh runs it.
 *
 *   churn THREADS [BATCH [LEAK]]
 *
 * Starts THREADS threads, at most BATCH (default 8) alive at a time; one
 * in four is detached, the others are joined. Each does a few malloc,
 * calloc, realloc and free calls, and a quarter of them are still
 * allocating after they returned (a thread-specific value's destructor,
 * run again after the preload's own exit handler). With LEAK, each also
 * drops a block of LEAK bytes without freeing it (gc mode collects them,
 * while threads come and go). Prints
 * "ok THREADS peak_rss_kib N" (VmHWM) and exits 0.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int detached_alive;
static size_t leak;      /* bytes each thread drops */
static void *volatile sink;
static pthread_key_t late_key; /* frees its value at thread exit */

/* Thread exit: the first round of destructors sets the key again, so
 * the second round, past every other key's destructor (the preload's
 * own exit handler included), allocates and frees. */
static void late_free(void *p)
{
	char *s = p;
	if (s[0] == 'l') {
		s[0] = 'L';
		pthread_setspecific(late_key, s);
		return;
	}
	char *volatile q = malloc(24); /* not elided with the free */
	if (!q)
		abort();
	free(q);
	free(s);
}

static void *work(void *arg)
{
	unsigned long n = (unsigned long)arg;
	char *a = malloc(16 + n % 200);
	char *b = calloc(4, 8 + n % 64);
	if (!a || !b)
		abort();
	memset(a, (int)n, 16);
	char *c = realloc(a, 300 + n % 1000);
	if (!c || c[15] != (char)n || b[3])
		abort();
	free(b);
	free(c);
	if (leak) /* the pointer is overwritten by the next thread's */
		sink = malloc(leak);
	if (n % 4 == 1) /* the C library frees it past our cleanup */
		pthread_setspecific(late_key, strdup("late"));
	return NULL;
}

static void *work_detached(void *arg)
{
	work(arg);
	atomic_fetch_sub(&detached_alive, 1);
	return NULL;
}

static long peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static void start(unsigned long i, pthread_t *slot)
{
	int err;
	if (i % 4 == 3) {
		pthread_t t;
		atomic_fetch_add(&detached_alive, 1);
		err = pthread_create(&t, NULL, work_detached, (void *)i);
		if (!err)
			err = pthread_detach(t);
		*slot = 0;
	} else {
		err = pthread_create(slot, NULL, work, (void *)i);
	}
	if (err) {
		fprintf(stderr, "churn: pthread_create %lu: error %d\n", i, err);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	unsigned long threads = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	unsigned batch = argc > 2 ? (unsigned)atoi(argv[2]) : 8;
	leak = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	if (batch < 1 || batch > 64)
		batch = 8;
	pthread_t slots[64];
	if (pthread_key_create(&late_key, late_free) != 0)
		return 1;
	for (unsigned long i = 0; i < threads; i += batch) {
		unsigned k = 0;
		for (; k < batch && i + k < threads; k++)
			start(i + k, &slots[k]);
		for (unsigned j = 0; j < k; j++)
			if (slots[j] && pthread_join(slots[j], NULL) != 0)
				return 1;
		while (atomic_load(&detached_alive) > (int)batch)
			usleep(100);
	}
	while (atomic_load(&detached_alive) > 0)
		usleep(1000);
	printf("ok %lu peak_rss_kib %ld\n", threads, peak_rss_kib());
	return 0;
}

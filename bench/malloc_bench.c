/*
 * malloc_bench.c -- owned by bench/malloc.sh. Multi-threaded malloc/free
 * workloads for comparing malloc implementations, built once against the
 * C library and run with each allocator preloaded (LD_PRELOAD).
 *
 *   malloc_bench WORKLOAD THREADS SCALE
 *
 * Workloads (SCALE multiplies the work; 1 is about a second with glibc on
 * one core):
 *   server  a server's pattern: THREADS pairs of threads; each producer
 *           builds requests (a header and a 64 B .. 4 KiB body, plus
 *           short-lived temporary buffers it frees itself) and hands them
 *           through a bounded queue to its consumer, which reads and frees
 *           them: every request is freed by another thread than the one
 *           that allocated it.
 *   churn   small-object churn: each thread keeps 20000 live objects of
 *           16 .. 512 B and replaces a random one at every step.
 *   large   large blocks: each thread keeps 8 blocks of 64 KiB .. 4 MiB,
 *           replaces a random one at every step, and writes its first and
 *           last 4 KiB; a realloc grows one block now and then.
 * Prints "ms=M peak_rss_kb=K check=C" (wall time, VmHWM, a checksum that
 * must not depend on the allocator).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long scale;
static int nthreads;

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "malloc_bench: out of memory (%zu)\n", n);
		exit(1);
	}
	return p;
}

/* ---- server ---- */

#define QCAP 256
struct request {
	size_t len;
	char *body;
	uint64_t sum;
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t not_full, not_empty;
	struct request *v[QCAP];
	unsigned head, n;
	int done;
	uint64_t check;
	long id;
};

static void queue_put(struct queue *q, struct request *r)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == QCAP)
		pthread_cond_wait(&q->not_full, &q->mu);
	q->v[(q->head + q->n++) % QCAP] = r;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
}

static struct request *queue_get(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == 0 && !q->done)
		pthread_cond_wait(&q->not_empty, &q->mu);
	struct request *r = NULL;
	if (q->n) {
		r = q->v[q->head];
		q->head = (q->head + 1) % QCAP;
		q->n--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->mu);
	return r;
}

static void *producer(void *arg)
{
	struct queue *q = arg;
	uint64_t s = (uint64_t)q->id + 1;
	long n = 400000 * scale;
	for (long i = 0; i < n; i++) {
		struct request *r = xmalloc(sizeof *r);
		r->len = 64 + rng(&s) % 4033;
		r->body = xmalloc(r->len);
		memset(r->body, (int)(i & 0xff), r->len);
		char *tmp = xmalloc(32 + rng(&s) % 256); /* parsing scratch */
		tmp[0] = r->body[0];
		r->sum = (uint64_t)(unsigned char)tmp[0] + r->len;
		free(tmp);
		queue_put(q, r);
	}
	pthread_mutex_lock(&q->mu);
	q->done = 1;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static void *consumer(void *arg)
{
	struct queue *q = arg;
	struct request *r;
	while ((r = queue_get(q))) {
		q->check += r->sum + (unsigned char)r->body[r->len - 1];
		free(r->body);
		free(r);
	}
	return NULL;
}

static uint64_t run_server(void)
{
	struct queue *qs = calloc((size_t)nthreads, sizeof *qs);
	pthread_t *t = calloc((size_t)nthreads * 2, sizeof *t);
	for (int i = 0; i < nthreads; i++) {
		pthread_mutex_init(&qs[i].mu, NULL);
		pthread_cond_init(&qs[i].not_full, NULL);
		pthread_cond_init(&qs[i].not_empty, NULL);
		qs[i].id = i;
		pthread_create(&t[2 * i], NULL, producer, &qs[i]);
		pthread_create(&t[2 * i + 1], NULL, consumer, &qs[i]);
	}
	uint64_t check = 0;
	for (int i = 0; i < 2 * nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nthreads; i++)
		check += qs[i].check;
	free(qs);
	free(t);
	return check;
}

/* ---- churn ---- */

#define CHURN_LIVE 20000

static void *churn(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg * 77 + 3;
	unsigned char **live = calloc(CHURN_LIVE, sizeof *live);
	uint64_t check = 0;
	long n = 6000000 * scale;
	for (long i = 0; i < n; i++) {
		size_t k = rng(&s) % CHURN_LIVE;
		if (live[k]) {
			check += live[k][0];
			free(live[k]);
		}
		size_t len = 16 + rng(&s) % 497;
		live[k] = xmalloc(len);
		live[k][0] = (unsigned char)len;
	}
	for (size_t k = 0; k < CHURN_LIVE; k++)
		free(live[k]);
	free(live);
	return (void *)(uintptr_t)check;
}

/* ---- large ---- */

#define LARGE_LIVE 8

static void *large(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg * 131 + 7;
	char *live[LARGE_LIVE] = {0};
	size_t len[LARGE_LIVE] = {0};
	uint64_t check = 0;
	long n = 20000 * scale;
	for (long i = 0; i < n; i++) {
		size_t k = rng(&s) % LARGE_LIVE;
		if (live[k] && i % 16 == 0) { /* grow in place or move */
			size_t nl = len[k] + len[k] / 2;
			char *p = realloc(live[k], nl);
			if (!p)
				exit(1);
			check += (unsigned char)p[len[k] - 1];
			p[nl - 1] = (char)i; /* realloc leaves the tail unset */
			live[k] = p;
			len[k] = nl;
			continue;
		}
		if (live[k]) {
			check += (unsigned char)live[k][len[k] - 1];
			free(live[k]);
		}
		len[k] = (64 << 10) + rng(&s) % (4 << 20);
		live[k] = xmalloc(len[k]);
		memset(live[k], (int)i, 4096);
		memset(live[k] + len[k] - 4096, (int)i, 4096);
	}
	for (int k = 0; k < LARGE_LIVE; k++)
		free(live[k]);
	return (void *)(uintptr_t)check;
}

static uint64_t run_each(void *(*fn)(void *))
{
	pthread_t t[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)(i + 1));
	uint64_t check = 0;
	for (int i = 0; i < nthreads; i++) {
		void *r;
		pthread_join(t[i], &r);
		check += (uint64_t)(uintptr_t)r;
	}
	return check;
}

static long vm_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmHWM:", 6) == 0)
			kib = atol(line + 6);
	if (f)
		fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: malloc_bench server|churn|large "
		        "THREADS SCALE\n");
		return 2;
	}
	nthreads = atoi(argv[2]);
	scale = atol(argv[3]);
	if (nthreads < 1 || nthreads > 32 || scale < 1) {
		fprintf(stderr, "malloc_bench: THREADS 1..32, SCALE >= 1\n");
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t check;
	if (strcmp(argv[1], "server") == 0)
		check = run_server();
	else if (strcmp(argv[1], "churn") == 0)
		check = run_each(churn);
	else if (strcmp(argv[1], "large") == 0)
		check = run_each(large);
	else {
		fprintf(stderr, "malloc_bench: unknown workload %s\n", argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	            (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("ms=%.1f peak_rss_kb=%ld check=%llu\n", ms, vm_hwm_kib(),
	       (unsigned long long)check);
	return 0;
}

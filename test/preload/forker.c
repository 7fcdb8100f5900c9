/*
 * forker.c -- owned by test/preload/run.sh. fork() from several threads
 * of a program that allocates on every thread, under the preload.
 *
 *   forker THREADS FORKS
 * THREADS threads each allocate and free in a loop while forking FORKS
 * times. Each child allocates 32 MiB of garbage in objects of 16 B to
 * 64 KiB (enough for several cycles in gc mode), keeps a checked list,
 * starts a thread that does the same, and exits 0 if every object kept
 * its contents; the parent checks every child's status. Prints "ok N"
 * (N children) or names the failure and exits 1.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int forks;
static volatile int stop;

struct obj {
	struct obj *next;
	size_t n;
	unsigned char tag;
	unsigned char data[];
};

/* Allocate ~bytes of garbage, keep every 64th object in a list, check it. */
static int churn(unsigned seed, size_t bytes)
{
	struct obj *keep = NULL;
	size_t done = 0;
	for (unsigned i = 0; done < bytes; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = 16 + (seed >> 8) % (i % 97 == 0 ? 65536 : 512);
		struct obj *o = malloc(sizeof *o + n);
		if (!o)
			return 0;
		o->n = n;
		o->tag = (unsigned char)i;
		memset(o->data, o->tag, n);
		done += n;
		if (i % 64 == 0) {
			o->next = keep;
			keep = o;
		} else if (i % 2) {
			free(o); /* the rest is left for the collector */
		}
	}
	int ok = 1;
	while (keep) {
		struct obj *o = keep;
		for (size_t k = 0; k < o->n; k++)
			ok &= o->data[k] == o->tag;
		keep = o->next;
		free(o);
	}
	return ok;
}

static void *child_thread(void *arg)
{
	return (void *)(long)churn((unsigned)(long)arg, 8u << 20);
}

static void child(unsigned seed)
{
	pthread_t t;
	void *r = NULL;
	int ok = churn(seed, 32u << 20);
	if (pthread_create(&t, NULL, child_thread, (void *)(long)seed) != 0 ||
	    pthread_join(t, &r) != 0)
		ok = 0;
	_exit(ok && r ? 0 : 3);
}

static void *worker(void *arg)
{
	long id = (long)arg, bad = 0;
	for (int f = 0; f < forks; f++) {
		churn((unsigned)(id * 100 + f), 1u << 20);
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0)
			return (void *)1;
		if (pid == 0)
			child((unsigned)(id * 1000 + f));
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "forker: child of thread %ld fork %d: "
			        "status %#x\n", id, f, st);
			bad++;
		}
	}
	return (void *)bad;
}

static void *background(void *arg)
{
	(void)arg;
	unsigned s = 7;
	while (!stop)
		churn(s++, 256u << 10);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	forks = argc > 2 ? atoi(argv[2]) : 3;
	if (threads < 1 || threads > 32 || forks < 1) {
		fprintf(stderr, "usage: forker THREADS(1-32) FORKS\n");
		return 2;
	}
	pthread_t bg, t[32];
	pthread_create(&bg, NULL, background, NULL);
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	long bad = 0;
	for (int i = 0; i < threads; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	stop = 1;
	pthread_join(bg, NULL);
	if (bad) {
		printf("FAILED %ld children\n", bad);
		return 1;
	}
	printf("ok %d\n", threads * forks);
	return 0;
}

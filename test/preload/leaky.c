/*
 * leaky.c -- owned by test/preload/run.sh. A multi-threaded program that
 * leaks on purpose, built without tricolor and run under the preload.
 *
 *   leaky THREADS ROUNDS
 * Each thread runs ROUNDS rounds; a round allocates objects of 64 B to
 * 16 KiB from two named sites and drops every one of them (leak_site_a
 * chains them into a list it forgets, leak_site_b loses each at once),
 * frees a third batch properly (freed_site), and adds one object to a
 * global list that stays reachable (kept_site). At the end it prints its
 * peak RSS (VmHWM, KiB) and the bytes it leaked.
 *
 * gc mode: the peak RSS stays far below the bytes leaked (run.sh checks).
 * leakcheck mode: the report names leak_site_a and leak_site_b, never
 * kept_site or freed_site (run.sh checks; built with -rdynamic so dladdr
 * finds the names).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

struct node {
	struct node *next;
	char payload[];
};

static struct node *kept; /* reachable from a global: not a leak */
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static long rounds;
static unsigned long long leaked[64];

/* Global (not static) so that dladdr can name them in the report. */
size_t leak_site_a(unsigned *seed);
size_t leak_site_b(unsigned *seed);
void freed_site(unsigned *seed);
void kept_site(void);

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

NOINLINE size_t leak_site_a(unsigned *seed)
{
	struct node *head = NULL;
	size_t bytes = 0;
	for (int i = 0; i < 32; i++) {
		size_t n = 64 + next_rand(seed) % (16 * 1024);
		struct node *x = malloc(n);
		if (!x)
			abort();
		memset(x, 0x5a, n);
		x->next = head;
		head = x;
		bytes += n;
	}
	__asm__ __volatile__("" ::"r"(head) : "memory");
	return bytes; /* the list is dropped whole */
}

NOINLINE size_t leak_site_b(unsigned *seed)
{
	size_t bytes = 0;
	for (int i = 0; i < 32; i++) {
		size_t n = 64 + next_rand(seed) % 4096;
		char *p = calloc(1, n);
		if (!p)
			abort();
		p[n - 1] = 1;
		__asm__ __volatile__("" ::"r"(p) : "memory");
		bytes += n;
	}
	return bytes;
}

NOINLINE void freed_site(unsigned *seed)
{
	void *v[16];
	for (int i = 0; i < 16; i++)
		v[i] = malloc(16 + next_rand(seed) % 2048);
	for (int i = 0; i < 16; i++)
		free(v[i]);
}

NOINLINE void kept_site(void)
{
	struct node *x = malloc(sizeof *x + 32);
	if (!x)
		abort();
	pthread_mutex_lock(&kept_mu);
	x->next = kept;
	kept = x;
	pthread_mutex_unlock(&kept_mu);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	unsigned seed = (unsigned)id * 7919u + 1;
	for (long r = 0; r < rounds; r++) {
		leaked[id] += leak_site_a(&seed);
		leaked[id] += leak_site_b(&seed);
		freed_site(&seed);
		if (r % 16 == 0)
			kept_site();
	}
	return NULL;
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
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	rounds = argc > 2 ? atol(argv[2]) : 100;
	if (threads < 1 || threads > 64 || rounds < 1) {
		fprintf(stderr, "usage: leaky THREADS(1-64) ROUNDS\n");
		return 2;
	}
	pthread_t t[64];
	for (long i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0)
			abort();
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	unsigned long long total = 0;
	for (int i = 0; i < threads; i++)
		total += leaked[i];
	long kept_n = 0;
	for (struct node *x = kept; x; x = x->next)
		kept_n++;
	printf("leaked_kib %llu peak_rss_kib %ld kept %ld\n", total / 1024,
	       vm_hwm_kib(), kept_n);
	return 0;
}

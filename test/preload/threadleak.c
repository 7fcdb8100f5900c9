/*
 * threadleak.c -- owned by test/preload/run.sh (section 9). Leaks that
 * LeakSanitizer finds, for leakcheck mode to find alike:
 *
 *   threadleak threads   four threads each leak one 777-byte block and
 *                        exit; main joins them. LeakSanitizer: 3108
 *                        bytes in 4 allocations (what kept them reachable
 *                        before: the exited threads' stacks, which glibc
 *                        caches as writable mappings).
 *   threadleak local     main keeps an 80-byte table of ten 1000-byte
 *                        blocks in a local and returns. LeakSanitizer:
 *                        10080 bytes in 11 allocations (1 direct, 10
 *                        indirect): after main returns, stale copies of
 *                        the pointer in the exit path's frames are not
 *                        roots.
 *
 * The allocating functions are static, so the report must name them
 * from the executable's .symtab (dladdr knows only exported symbols).
 * Prints "ok" and exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

static NOINLINE void *leak_777(void)
{
	char *p = malloc(777);
	if (!p)
		abort();
	memset(p, 0x77, 777);
	return p;
}

static void *worker(void *arg)
{
	(void)arg;
	void *p = leak_777();
	__asm__ __volatile__("" ::"r"(p) : "memory");
	return NULL; /* the block is lost here */
}

static NOINLINE void **table_of_ten(void)
{
	void **t = malloc(10 * sizeof *t);
	if (!t)
		abort();
	for (int i = 0; i < 10; i++)
		if (!(t[i] = calloc(1, 1000)))
			abort();
	return t;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "local") == 0) {
		void **t = table_of_ten();
		printf("ok %d\n", ((char *)t[9])[999]);
		return 0;
	}
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, worker, NULL) != 0)
			abort();
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	puts("ok 0");
	return 0;
}

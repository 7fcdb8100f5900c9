/*
 * test/preload/dlsym_first.c -- owned by the preload tests (run.sh, 3c):
 * a program whose first contact with the heap is tri_collect, found with
 * dlsym, before any malloc (docs/malloc.md allows the tri_ API that way).
 * That call registers the thread, and pthread_getattr_np reads
 * /proc/self/maps with fopen, whose malloc once registered the same
 * thread again and deadlocked on glibc's lock. Then it allocates, keeps a chain
 * of 100 blocks, collects again and prints "dlsym_first: ok 100 kept".
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	void (*collect)(void) = (void (*)(void))dlsym(RTLD_DEFAULT,
	                                              "tri_collect");
	if (!collect) {
		puts("dlsym_first: no tri_collect (not under the preload)");
		return 1;
	}
	collect(); /* the first contact: registers this thread */
	char *keep = NULL;
	for (int i = 0; i < 100000; i++) {
		char *p = malloc(64);
		if (!p)
			return 1;
		memset(p, i, 64);
		if (i % 1000 == 0) {
			*(char **)p = keep;
			keep = p;
		}
	}
	collect();
	int n = 0;
	for (char *p = keep; p; p = *(char **)p)
		n++;
	printf("dlsym_first: ok %d kept\n", n);
	return n == 100 ? 0 : 1;
}

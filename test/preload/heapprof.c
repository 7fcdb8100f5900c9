/*
 * heapprof.c -- owned by test/preload/run.sh (section 8). A program whose
 * heap profile (GODEBUG=memprofile=PATH under the preload) must name its
 * own functions:
 *
 *   heapprof local    hold_site allocates 70 blocks of 1 MiB and returns
 *                     them in a table main keeps in a local until it
 *                     returns; freed_site allocates 32 MiB of 1000-byte
 *                     blocks and frees every one.
 *   heapprof hidden   the same, but the 70 blocks are reachable only
 *                     through pointers kept XOR-ed (run in off mode,
 *                     where the program may hide pointers: no collection
 *                     may free them, not even at exit).
 *
 * go tool pprof -top must show hold_site as the flat top of inuse_space
 * and no freed_site there (freed_site only under alloc_space). Both sites
 * are static functions (named from the binary's debug information).
 * Prints "ok" and exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define HELD 70
#define MIB (1024 * 1024)
#define MASK ((uintptr_t)0x5a5a5a5a5a5a5a5a)

static uintptr_t hidden[HELD];

static NOINLINE void **hold_site(int hide)
{
	void **t = malloc(HELD * sizeof *t);
	if (!t)
		abort();
	for (int i = 0; i < HELD; i++) {
		char *p = malloc(MIB);
		if (!p)
			abort();
		memset(p, i, MIB);
		if (hide) {
			hidden[i] = (uintptr_t)p ^ MASK;
			t[i] = NULL;
		} else {
			t[i] = p;
		}
	}
	return t;
}

static NOINLINE void freed_site(void)
{
	enum { N = 32 * 1024 };
	static void *v[N];
	for (int i = 0; i < N; i++)
		if (!(v[i] = malloc(1000)))
			abort();
	for (int i = 0; i < N; i++)
		free(v[i]);
}

int main(int argc, char **argv)
{
	int hide = argc > 1 && strcmp(argv[1], "hidden") == 0;
	void **t = hold_site(hide);
	freed_site();
	char *last = hide ? (char *)(hidden[HELD - 1] ^ MASK) : t[HELD - 1];
	printf("ok %d\n", last[MIB - 1] - (HELD - 1));
	return 0;
}

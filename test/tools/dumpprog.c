/*
 * dumpprog.c -- owned by the tests: programs written against tricolor.h
 * alone whose heap dumps and profiles test/tools/run.sh checks with
 * tools/tricolor-dump and go tool pprof (and whose small dumps seed the
 * fuzz corpus, test/fuzz/corpus).
 *
 *   dumpprog seed OUT        a small dump of every record kind
 *   dumpprog chain OUT       a 5-node list from the global chain_root;
 *                            prints the last node's address
 *   dumpprog diff OLD NEW    dump, leak 1000 objects of 48 bytes from
 *                            planted_leak, dump again
 *   dumpprog leak            leaking_function keeps 20000 objects of
 *                            1000 bytes alive; run with
 *                            GODEBUG=memprofile=PATH to get its profile
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tricolor.h"

#define NOINLINE __attribute__((noinline))

struct node {
	struct node *next;
	long value;
};

struct node *chain_root;          /* bss: the path test's root */
void *leaked[1000];               /* bss: the diff test's leak */
static void **kept;               /* the pprof test's leak */
static char *tiny_a, *tiny_b;     /* tiny objects for the seed */
static void *big;                 /* a large object for the seed */

static void dump_to(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || tri_heap_dump(fd) != 0) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static NOINLINE void make_chain(int n)
{
	for (int i = 0; i < n; i++) {
		struct node *x = tri_malloc(sizeof *x);
		x->value = i;
		x->next = chain_root;
		chain_root = x;
	}
}

static NOINLINE void planted_leak(void)
{
	for (int i = 0; i < 1000; i++)
		leaked[i] = tri_malloc(48);
}

static NOINLINE void leaking_function(int i)
{
	kept[i] = tri_malloc(1000);
}

static NOINLINE void *transient(void)
{
	void *p = tri_malloc(200);
	__asm__ __volatile__("" ::"r"(p) : "memory");
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "seed") == 0) {
		tri_set_profile_rate(1);
		make_chain(3);
		tiny_a = tri_malloc_noscan(5);
		tiny_b = tri_malloc_noscan(7);
		big = tri_malloc(40000);
		void **user = malloc(4 * sizeof *user);
		user[0] = chain_root;
		tri_add_roots(user, user + 4);
		tri_free(tri_malloc(100));
		tri_collect(); /* publishes the profile's samples */
		dump_to(argv[2]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "chain") == 0) {
		make_chain(5);
		struct node *last = chain_root;
		while (last->next)
			last = last->next;
		printf("%p\n", (void *)last);
		last = NULL;
		dump_to(argv[2]);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "diff") == 0) {
		tri_set_profile_rate(1);
		make_chain(10);
		tri_collect();
		dump_to(argv[2]);
		planted_leak();
		tri_collect();
		dump_to(argv[3]);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "leak") == 0) {
		kept = tri_malloc(20000 * sizeof *kept);
		for (int i = 0; i < 20000; i++) {
			leaking_function(i);
			transient();
		}
		return 0; /* GODEBUG=memprofile writes the profile at exit */
	}
	fprintf(stderr, "usage: dumpprog seed|chain OUT | diff OLD NEW | "
	                "leak\n");
	return 2;
}

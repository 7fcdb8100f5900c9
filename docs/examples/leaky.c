/*
 * leaky.c -- the example of docs/profiling.md: a request loop whose
 * "cache" keeps every rendered page. Written against tricolor.h alone.
 *
 *   leaky [DUMP_PREFIX]   with a prefix, writes DUMP_PREFIX.1 half-way and
 *                         DUMP_PREFIX.2 at the end (tri_heap_dump)
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tricolor.h"

struct entry {
	struct entry *next;
	char *key;
	char *page;
};

struct entry *cache; /* a global: everything it reaches stays alive */

static char *copy(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = tri_malloc_noscan(n);
	memcpy(p, s, n);
	return p;
}

__attribute__((noinline)) char *render(int i)
{
	char *page = tri_malloc_noscan(1024);
	snprintf(page, 1024, "<html><p>request %d</p></html>", i);
	return page;
}

__attribute__((noinline)) void cache_put(const char *key, char *page)
{
	struct entry *e = tri_malloc(sizeof *e);
	e->key = copy(key);
	e->page = page; /* the leak: nothing ever evicts */
	e->next = cache;
	cache = e;
}

__attribute__((noinline)) void handle(int i)
{
	char key[32];
	snprintf(key, sizeof key, "user-%d", i);
	char *scratch = tri_malloc_noscan(8192); /* garbage after each request */
	snprintf(scratch, 8192, "%s", key);
	cache_put(key, render(i));
}

static void dump(const char *prefix, int n)
{
	char path[256];
	snprintf(path, sizeof path, "%s.%d", prefix, n);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || tri_heap_dump(fd) != 0)
		perror(path);
	close(fd);
}

int main(int argc, char **argv)
{
	for (int i = 0; i < 50000; i++) {
		handle(i);
		if (argc > 1 && i == 25000) {
			tri_collect();
			dump(argv[1], 1);
		}
	}
	printf("newest page at %p\n", (void *)cache->page);
	if (argc > 1) {
		tri_collect();
		dump(argv[1], 2);
	}
	return 0;
}

/*
 * demo.c -- tricolor at work as an allocator: builds and tears down a few
 * data structures from two threads and prints the heap statistics after
 * each phase. `make demo` runs it. (When the collector lands, the demo
 * switches to garbage collection with GODEBUG=gctrace=1.)
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <tricolor.h>

struct node {
	struct node *next;
	char payload[40];
};

static void show(const char *phase)
{
	tri_stats_t st;
	tri_read_stats(&st);
	printf("%-28s heap_alloc %8.2f MiB  heap_inuse %8.2f MiB  "
	       "heap_sys %8.2f MiB  objects %8llu  mallocs %9llu  frees %9llu\n",
	       phase, st.heap_alloc / 1048576.0, st.heap_inuse / 1048576.0,
	       st.heap_sys / 1048576.0, (unsigned long long)st.heap_objects,
	       (unsigned long long)st.mallocs, (unsigned long long)st.frees);
}

static struct node *build_list(int n)
{
	struct node *head = NULL;
	for (int i = 0; i < n; i++) {
		struct node *x = tri_malloc(sizeof *x);
		if (!x)
			return head;
		snprintf(x->payload, sizeof x->payload, "node %d", i);
		x->next = head;
		head = x;
	}
	return head;
}

static void free_list(struct node *l)
{
	while (l) {
		struct node *next = l->next;
		tri_free(l);
		l = next;
	}
}

static void *worker(void *arg)
{
	struct node *l = build_list(200000);
	*(struct node **)arg = l; /* handed back: freed by the main thread */
	return NULL;
}

int main(void)
{
	show("start");
	struct node *list = build_list(500000);
	show("500k-node list built");
	char *big[16];
	for (int i = 0; i < 16; i++)
		big[i] = tri_malloc_noscan((size_t)(i + 1) << 20);
	show("16 large buffers (136 MiB)");
	for (int i = 0; i < 16; i++)
		tri_free(big[i]);
	show("large buffers freed");
	struct node *from_thread = NULL;
	pthread_t t;
	pthread_create(&t, NULL, worker, &from_thread);
	pthread_join(t, NULL);
	show("thread built 200k nodes");
	free_list(from_thread);
	show("freed them from main thread");
	free_list(list);
	show("everything freed");
	list = build_list(500000);
	show("rebuilt 500k (reuses memory)");
	free_list(list);
	show("done");
	return 0;
}

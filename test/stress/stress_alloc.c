/*
 * test/stress/stress_alloc.c -- owned by the stress tests (not the library).
 *
 * A bounded multi-threaded stress run of tricolor's public API (only
 * <tricolor.h> is used):
 *
 *   stress_alloc SEED THREADS MAX_SIZE SECONDS
 *
 * Each of THREADS threads keeps a table of up to 4096 live objects and, until
 * SECONDS have passed (checked with clock_gettime; it never sleeps), picks a
 * random slot: an empty slot gets a new object (tri_malloc, tri_malloc_noscan,
 * tri_calloc or tri_realloc(NULL, n)) of 0..MAX_SIZE bytes, skewed to small
 * sizes; a live slot is verified and then freed, resized with tri_realloc,
 * or (1 time in 8) handed to the next thread through a mutex-protected
 * mailbox, so objects are freed and resized by threads that did not allocate
 * them. Every new object must be zeroed; every object is stamped over its
 * whole length with a pattern derived from (SEED, thread, slot, generation)
 * and checked in full before it is freed or resized; a resize must keep
 * min(old, new) bytes and zero the rest. At the end everything is freed and
 * the statistics must show no live object. The tables are a root range
 * (tri_add_roots), so collection cycles run throughout and must free
 * nothing the tables still hold.
 *
 * Prints "stress_alloc: ok ops=N" and exits 0, or prints the first mismatch
 * and exits 1 (2 for bad arguments). Deterministic for a seed except for the
 * interleaving of threads (which objects arrive in which mailbox when).
 * Memory: roughly 2048 live objects per thread; with MAX_SIZE in the tens of
 * MiB expect a few hundred MiB per thread.
 */
#define _POSIX_C_SOURCE 200809L

#include <tricolor.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

enum { SLOTS = 4096, MAILBOX_CAP = 1024, MAX_THREADS = 1024 };

struct obj {
	unsigned char *p; /* NULL: empty slot (tri_malloc(0) is never NULL) */
	size_t n;         /* requested size */
	uint64_t tag;     /* stamp pattern */
};

struct mailbox {
	pthread_mutex_t lock;
	size_t count;
	struct obj item[MAILBOX_CAP];
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng;
	uint64_t gen;
	struct obj tab[SLOTS];
	struct mailbox mb;
	/* counters */
	uint64_t ops, allocs, frees, reallocs, sent, received, adopted;
};

static int g_threads;
static size_t g_max_size;
static struct worker *g_workers;

/* ------------------------------------------------------------------------ */

static uint64_t make_tag(int thread, size_t slot, uint64_t gen)
{
	return mix64(g_seed ^ mix64(((uint64_t)(unsigned)thread << 32) ^
	                            (uint64_t)slot ^ mix64(gen)));
}

/* Sizes 0..g_max_size, skewed to small. */
static size_t pick_size(uint64_t *rng)
{
	uint64_t r = rng_below(rng, 100);
	size_t n;
	if (r < 50)
		n = (size_t)rng_below(rng, 65);
	else if (r < 75)
		n = (size_t)rng_below(rng, 513);
	else if (r < 90)
		n = (size_t)rng_below(rng, 4097);
	else if (r < 97)
		n = (size_t)rng_below(rng, 32769);
	else {
		/* log-uniform above 32 KiB up to the maximum */
		unsigned top = 15;
		while (top < 63 && ((size_t)1 << (top + 1)) <= g_max_size)
			top++;
		unsigned b = 15 + (unsigned)rng_below(rng, top - 15 + 1);
		size_t hi = (size_t)1 << b;
		if (b < 63)
			hi <<= 1;
		if (hi > g_max_size)
			hi = g_max_size;
		n = (size_t)rng_below(rng, (uint64_t)hi + 1);
	}
	return n > g_max_size ? g_max_size : n;
}

static void verify(struct worker *w, const struct obj *o, const char *why)
{
	size_t off = stamp_check(o->p, o->n, o->n, o->tag);
	if (off != o->n)
		fail("thread %d: before %s: object %p of %zu bytes (tag %016" PRIx64
		     "): byte %zu is 0x%02x, expected 0x%02x",
		     w->id, why, (void *)o->p, o->n, o->tag, off, o->p[off],
		     expected_byte(o->tag, o->n, off));
	size_t us = tri_usable_size(o->p);
	if (us < o->n)
		fail("thread %d: tri_usable_size(%p) = %zu < %zu requested", w->id,
		     (void *)o->p, us, o->n);
}

static void new_object(struct worker *w, size_t slot)
{
	struct obj *o = &w->tab[slot];
	size_t n = pick_size(&w->rng);
	int kind = (int)rng_below(&w->rng, 4);
	void *p;
	const char *name;
	switch (kind) {
	case 0:
		p = tri_malloc(n);
		name = "tri_malloc";
		break;
	case 1:
		p = tri_malloc_noscan(n);
		name = "tri_malloc_noscan";
		break;
	case 2: {
		size_t es = (size_t)1 << rng_below(&w->rng, 5);
		n = n / es * es;
		p = tri_calloc(n / es, es);
		name = "tri_calloc";
		break;
	}
	default:
		p = tri_realloc(NULL, n);
		name = "tri_realloc(NULL)";
		break;
	}
	if (!p)
		fail("thread %d: %s(%zu) returned NULL, errno %d", w->id, name, n,
		     errno);
	size_t z = first_nonzero(p, n);
	if (z != n)
		fail("thread %d: %s(%zu) = %p: byte %zu of the new object is 0x%02x,"
		     " not 0",
		     w->id, name, n, p, z, ((unsigned char *)p)[z]);
	o->p = p;
	o->n = n;
	o->tag = make_tag(w->id, slot, w->gen++);
	stamp(p, n, o->tag);
	w->allocs++;
}

static void resize(struct worker *w, size_t slot)
{
	struct obj *o = &w->tab[slot];
	size_t m = rng_below(&w->rng, 16) == 0 ? 0 : pick_size(&w->rng);
	verify(w, o, "tri_realloc");
	unsigned char *q = tri_realloc(o->p, m);
	if (!q)
		fail("thread %d: tri_realloc(%p, %zu) returned NULL, errno %d",
		     w->id, (void *)o->p, m, errno);
	size_t keep = o->n < m ? o->n : m;
	size_t off = stamp_check(q, keep, o->n, o->tag);
	if (off != keep)
		fail("thread %d: tri_realloc(%p of %zu bytes, %zu) = %p: byte %zu "
		     "is 0x%02x, expected 0x%02x",
		     w->id, (void *)o->p, o->n, m, (void *)q, off, q[off],
		     expected_byte(o->tag, o->n, off));
	if (m > o->n) {
		size_t z = first_nonzero(q + o->n, m - o->n);
		if (z != m - o->n)
			fail("thread %d: tri_realloc(%p of %zu bytes, %zu) = %p: byte "
			     "%zu past the old size is 0x%02x, not 0",
			     w->id, (void *)o->p, o->n, m, (void *)q, o->n + z,
			     q[o->n + z]);
	}
	o->p = q;
	o->n = m;
	o->tag = make_tag(w->id, slot, w->gen++);
	stamp(q, m, o->tag);
	w->reallocs++;
}

static void release(struct worker *w, struct obj *o, const char *why)
{
	verify(w, o, why);
	tri_free(o->p);
	o->p = NULL;
	w->frees++;
}

static int send_to_neighbour(struct worker *w, struct obj *o)
{
	struct worker *to = &g_workers[(w->id + 1) % g_threads];
	int ok = 0;
	pthread_mutex_lock(&to->mb.lock);
	if (to->mb.count < MAILBOX_CAP) {
		to->mb.item[to->mb.count++] = *o;
		ok = 1;
	}
	pthread_mutex_unlock(&to->mb.lock);
	if (ok) {
		o->p = NULL;
		w->sent++;
	}
	return ok;
}

/* Take everything in w's mailbox: verify each object, then free it or adopt
 * it into an empty slot (so it may later be resized or passed on). */
static void drain(struct worker *w, int adopt)
{
	struct obj got[MAILBOX_CAP];
	size_t k;
	pthread_mutex_lock(&w->mb.lock);
	k = w->mb.count;
	memcpy(got, w->mb.item, k * sizeof got[0]);
	w->mb.count = 0;
	pthread_mutex_unlock(&w->mb.lock);
	for (size_t i = 0; i < k; i++) {
		w->received++;
		if (adopt && rng_below(&w->rng, 2) == 0) {
			size_t slot = (size_t)rng_below(&w->rng, SLOTS);
			if (!w->tab[slot].p) {
				verify(w, &got[i], "adoption");
				w->tab[slot] = got[i];
				w->adopted++;
				continue;
			}
		}
		release(w, &got[i], "tri_free of a received object");
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	if (tri_thread_register() != 0)
		fail("thread %d: tri_thread_register failed, errno %d", w->id,
		     errno);
	for (;;) {
		if ((w->ops & 15) == 0 && past_deadline())
			break;
		if ((w->ops & 63) == 0)
			drain(w, 1);
		w->ops++;
		size_t slot = (size_t)rng_below(&w->rng, SLOTS);
		struct obj *o = &w->tab[slot];
		if (!o->p) {
			new_object(w, slot);
			continue;
		}
		uint64_t r = rng_below(&w->rng, 16);
		if (r < 2) { /* 1 in 8: hand to the neighbour thread */
			verify(w, o, "sending to the neighbour");
			if (send_to_neighbour(w, o))
				continue;
			release(w, o, "tri_free (mailbox full)");
		} else if (r < 10) {
			release(w, o, "tri_free");
		} else {
			resize(w, slot);
		}
	}
	drain(w, 0);
	for (size_t i = 0; i < SLOTS; i++)
		if (w->tab[i].p)
			release(w, &w->tab[i], "final tri_free");
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t threads, max_size;
	double seconds;
	if (!stress_parse_args(argc, argv, "stress_alloc", MAX_THREADS,
	                       (uint64_t)1 << 40, "<= 2^40", &threads,
	                       &max_size, &seconds))
		return 2;
	g_threads = (int)threads;
	g_max_size = (size_t)max_size;

	/* The workers' tables live outside the heap under test, as a root
	 * range: the collector runs beside the explicit frees and must keep
	 * every object they hold. */
	g_workers = calloc((size_t)g_threads, sizeof *g_workers);
	if (!g_workers) {
		fprintf(stderr, "stress_alloc: out of memory for the tables\n");
		return 2;
	}
	tri_add_roots(g_workers, g_workers + g_threads);
	set_deadline(seconds);

	tri_stats_t before;
	tri_read_stats(&before);

	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_workers[i];
		w->id = i;
		w->rng = mix64(g_seed * 0x100000001b3ull + (uint64_t)i);
		pthread_mutex_init(&w->mb.lock, NULL);
	}
	for (int i = 0; i < g_threads; i++) {
		int e = pthread_create(&g_workers[i].th, NULL, worker_main,
		                       &g_workers[i]);
		if (e)
			fail("pthread_create: %s", strerror(e));
	}
	for (int i = 0; i < g_threads; i++)
		pthread_join(g_workers[i].th, NULL);

	/* Objects sent after their receiver's last drain. */
	uint64_t ops = 0, allocs = 0, frees = 0, reallocs = 0, sent = 0,
	         adopted = 0;
	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_workers[i];
		drain(w, 0);
		ops += w->ops;
		allocs += w->allocs;
		frees += w->frees;
		reallocs += w->reallocs;
		sent += w->sent;
		adopted += w->adopted;
	}
	if (frees != allocs)
		fail("internal: %" PRIu64 " objects allocated, %" PRIu64 " freed",
		     allocs, frees);

	tri_stats_t after;
	tri_read_stats(&after);
	if (after.heap_objects != before.heap_objects)
		fail("every object was freed, but heap_objects is %" PRIu64
		     " (was %" PRIu64 " before the run)",
		     after.heap_objects, before.heap_objects);
	if (after.mallocs - after.frees != before.mallocs - before.frees)
		fail("every object was freed, but mallocs - frees went from %" PRIu64
		     " to %" PRIu64,
		     before.mallocs - before.frees, after.mallocs - after.frees);
	if (after.total_alloc < before.total_alloc)
		fail("total_alloc fell from %" PRIu64 " to %" PRIu64,
		     before.total_alloc, after.total_alloc);

	printf("stress_alloc: seed=%" PRIu64 " threads=%d max_size=%zu "
	       "seconds=%g allocs=%" PRIu64 " reallocs=%" PRIu64 " frees=%" PRIu64
	       " sent=%" PRIu64 " adopted=%" PRIu64 " heap_sys=%" PRIu64
	       " heap_alloc=%" PRIu64 "\n",
	       g_seed, g_threads, g_max_size, seconds, allocs, reallocs, frees, sent,
	       adopted, after.heap_sys, after.heap_alloc);
	printf("stress_alloc: ok ops=%" PRIu64 " cycles=%" PRIu64 "\n", ops,
	       after.num_gc);
	tri_remove_roots(g_workers, g_workers + g_threads);
	free(g_workers);
	return 0;
}

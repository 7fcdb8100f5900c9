/*
 * allocscan.c -- the scanned allocation loop: how fast a collector lets a
 * program allocate, collection included, on the allocator chosen at build
 * time (see gc_alloc.h; the collectors only: tricolor and bdwgc; Go's
 * port is bench/go/allocscan).
 *
 * Usage:  allocscan [LIVE [OPS]]      (defaults 100000 and 20000000)
 *
 * A ring of LIVE slots (one scanned heap array); each operation stores a
 * new object of a random size in 16 .. 256 bytes (xorshift, fixed seed)
 * into the next slot, writing its first and last byte, and drops the one
 * that was there: nothing is ever freed, so the collector finds the
 * garbage (about LIVE * 136 bytes stay live). Objects are allocated as
 * scanned memory (BENCH_ALLOC): the collector reads every word of every
 * live object. The RESULT line (gc_alloc.h) carries, after cpu_ms,
 * ns_per_alloc= (wall time over OPS). Before it, every slot is checked to
 * still hold its first and last byte.
 */
#define _POSIX_C_SOURCE 200809L

#include "gc_alloc.h"

#include <stdint.h>

#if !defined(ALLOC_TRICOLOR) && !defined(ALLOC_BDWGC)
#error "allocscan measures a collector: build with ALLOC_TRICOLOR or ALLOC_BDWGC"
#endif

enum { MIN_SIZE = 16, MAX_SIZE = 256 };

typedef struct slot {
	unsigned char *p;
	size_t n;
} slot_t;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_random(void) /* xorshift64 */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void step(slot_t *ring, size_t i)
{
	size_t n = MIN_SIZE + (size_t)(next_random() %
	                               (MAX_SIZE - MIN_SIZE + 1));
	unsigned char *p = bench_check(BENCH_ALLOC(n));

	p[0] = (unsigned char)n;
	p[n - 1] = (unsigned char)(n >> 1);
	BENCH_STORE(ring[i].p, p);
	ring[i].n = n;
}

static int verify(const slot_t *ring, size_t live)
{
	for (size_t i = 0; i < live; i++) {
		const slot_t *s = &ring[i];

		if (s->p[0] != (unsigned char)s->n ||
		    s->p[s->n - 1] != (unsigned char)(s->n >> 1))
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	long live = 100000, ops = 20000000;
	char params[64], extra[64];
	double t0, t1;

	if (argc > 3) {
		fprintf(stderr, "usage: allocscan [LIVE [OPS]]\n");
		return 2;
	}
	if (argc >= 2)
		live = bench_parse(argv[1], "LIVE", 1, 100000000);
	if (argc == 3)
		ops = bench_parse(argv[2], "OPS", 1, 2000000000);

	bench_gc_start();
	slot_t *volatile ring = bench_check(BENCH_ALLOC((size_t)live *
	                                                sizeof(slot_t)));
	for (long i = 0; i < live; i++) /* untimed: the ring fills */
		step(ring, (size_t)i);
	bench_gc_baseline();
	t0 = bench_now_ms();
	for (long k = 0; k < ops; k++)
		step(ring, (size_t)(k % live));
	t1 = bench_now_ms();
	if (!verify(ring, (size_t)live)) {
		printf("Failed: a live object was freed or overwritten\n");
		return 1;
	}
	snprintf(params, sizeof params, "live=%ld ops=%ld", live, ops);
	snprintf(extra, sizeof extra, "ns_per_alloc=%.1f",
	         (t1 - t0) * 1e6 / (double)ops);
	bench_result("allocscan", params, extra, t0, t1);
	return 0;
}

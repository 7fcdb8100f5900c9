/*
 * test/api/test_profile.c -- owned by the API test suite (not by the
 * library).
 *
 * The heap profile and the heap dump, seen through <tricolor.h> only. The
 * tests read the dump's records themselves (docs/heapdump.md: a 16-byte
 * header, then u8 tag, u32 length, payload; little-endian):
 *   rate          at 64 KiB, 64 MiB of 256-byte objects give about 1000
 *                 samples: the count must be within 6 standard deviations
 *                 (Poisson) of bytes / (rate + size / 2);
 *   every         at rate 1 every allocation is sampled and every tri_free
 *                 booked: 1000 allocated, 500 freed, after two cycles the
 *                 bucket says 1000 / 500 and the dump has a SAMPLE for
 *                 exactly the 500 live objects; large objects too;
 *   garbage       objects the collector frees are booked as frees;
 *   off           rate 0 records nothing;
 *   pprof         tri_write_heap_profile writes a protobuf with Go's four
 *                 sample types; a bad fd gives -1 and EBADF;
 *   round trip    a graph of 300 objects (small and large) hanging from a
 *                 global array: the dump has each exactly once, with
 *                 exactly its two pointer fields and their targets, and
 *                 the global's slots as bss/data roots;
 *   threads       dumps taken while other threads allocate are complete.
 *
 * Run: ./build/api/test_profile (fork mode: each test needs a fresh heap).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define TESTLIB_REAL_STACKS
#include "../testlib.h"

/* ---- a small reader of the dump format ---- */

enum { T_END = 0, T_OBJECT = 3, T_ROOT = 4, T_BUCKET = 5, T_SAMPLE = 6 };

typedef struct blob {
	unsigned char *p;
	size_t n;
} blob;

static uint32_t r32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t r64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Everything written to a fresh memfd by fn(fd). */
static blob capture(int (*fn)(int))
{
	int fd = memfd_create("tricolor-test", 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fn(fd), 0);
	off_t n = lseek(fd, 0, SEEK_END);
	ck_assert_int_gt(n, 0);
	blob b = {malloc((size_t)n), (size_t)n};
	ck_assert_int_eq(pread(fd, b.p, (size_t)n, 0), n);
	close(fd);
	return b;
}

/* Call fn for every record (payload, length); checks the framing and
 * that END comes last with the right record count. */
static void each_record(const blob *b,
                        void (*fn)(unsigned tag, const unsigned char *p,
                                   uint32_t len, void *arg),
                        void *arg)
{
	ck_assert_uint_ge(b->n, 16);
	ck_assert_int_eq(memcmp(b->p, "TRIDUMP\n", 8), 0);
	ck_assert_uint_eq(r32(b->p + 8), 1);
	size_t off = 16;
	uint64_t records = 0;
	for (;;) {
		ck_assert_uint_le(off + 5, b->n);
		unsigned tag = b->p[off];
		uint32_t len = r32(b->p + off + 1);
		ck_assert_uint_le(off + 5 + len, b->n);
		if (tag == T_END) {
			ck_assert_uint_eq(r64(b->p + off + 5), records);
			ck_assert_uint_eq(off + 5 + len, b->n);
			return;
		}
		fn(tag, b->p + off + 5, len, arg);
		records++;
		off += 5 + len;
	}
}

typedef struct bucket_sum {
	uint64_t size;
	uint64_t allocs, frees, alloc_bytes, free_bytes;
	unsigned buckets;
} bucket_sum;

static void sum_buckets(unsigned tag, const unsigned char *p, uint32_t len,
                        void *arg)
{
	bucket_sum *s = arg;
	(void)len;
	if (tag != T_BUCKET || r64(p + 8) != s->size)
		return;
	s->buckets++;
	s->allocs += r64(p + 16);
	s->alloc_bytes += r64(p + 24);
	s->frees += r64(p + 32);
	s->free_bytes += r64(p + 40);
}

/* The profile's records for objects of `size` bytes, from a dump. */
static bucket_sum profile_of_size(uint64_t size)
{
	blob b = capture(tri_heap_dump);
	bucket_sum s = {.size = size};
	each_record(&b, sum_buckets, &s);
	free(b.p);
	return s;
}

/* ---- the profile ---- */

static NOINLINE void churn(size_t size, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		void *p = tri_malloc(size);
		__asm__ __volatile__("" ::"r"(p) : "memory");
	}
}

START_TEST(sampled_counts_match_rate)
{
	const long rate = 64 * 1024;
	const size_t size = 256, count = (64 * MiB) / size;
	ck_assert_int_eq(tri_set_profile_rate(rate), 0);
	churn(size, count);
	tri_collect();
	bucket_sum s = profile_of_size(size);
	/* Go's counter: a gap of mean `rate`, and the sampled object's
	 * own bytes are not charged, about size / 2 more per sample. */
	double mean = (double)(size * count) / ((double)rate + size / 2.0);
	double sd = sqrt(mean);
	ck_assert_msg(fabs((double)s.allocs - mean) < 6 * sd,
	              "%llu samples, expected %.0f +- %.0f", U(s.allocs), mean,
	              6 * sd);
	ck_assert_uint_eq(s.alloc_bytes, s.allocs * size);
}
END_TEST

START_TEST(bad_rate)
{
	errno = 0;
	ck_assert_int_eq(tri_set_profile_rate(-1), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

static void *kept[1000];

static NOINLINE void alloc_kept(size_t size, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kept[i] = tri_malloc(size);
}

typedef struct sample_set {
	size_t n;
	uint64_t addr[2000];
} sample_set;

static void collect_samples(unsigned tag, const unsigned char *p,
                            uint32_t len, void *arg)
{
	sample_set *s = arg;
	(void)len;
	if (tag == T_SAMPLE && s->n < NELEMS(s->addr))
		s->addr[s->n++] = r64(p);
}

static void every_allocation(size_t size, size_t n)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	alloc_kept(size, n);
	for (size_t i = 0; i < n; i += 2) {
		tri_free(kept[i]);
		kept[i] = NULL;
	}
	tri_collect(); /* explicit frees are published two cycles on */
	tri_collect();
	size_t slot = tri_usable_size(kept[1]);
	bucket_sum s = profile_of_size(slot);
	ck_assert_uint_eq(s.allocs, n);
	ck_assert_uint_eq(s.frees, n / 2);
	ck_assert_uint_eq(s.alloc_bytes, n * slot);
	blob b = capture(tri_heap_dump);
	sample_set *ss = calloc(1, sizeof *ss);
	each_record(&b, collect_samples, ss);
	free(b.p);
	for (size_t i = 1; i < n; i += 2) {
		size_t hits = 0;
		for (size_t k = 0; k < ss->n; k++)
			hits += ss->addr[k] == (uint64_t)(uintptr_t)kept[i];
		ck_assert_msg(hits == 1, "object %zu has %zu samples", i, hits);
	}
	free(ss);
}

START_TEST(rate_one_books_every_allocation_and_free)
{
	every_allocation(48, 1000);
}
END_TEST

START_TEST(large_objects_are_sampled_and_freed)
{
	every_allocation(100 * KiB, 10);
}
END_TEST

static NOINLINE void make_garbage(size_t size, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *p = tri_malloc(size);
		memset(p, 1, size);
	}
}

START_TEST(garbage_frees_are_booked)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	make_garbage(80, 1000);
	clear_stack();
	tri_collect();
	tri_collect();
	bucket_sum s = profile_of_size(80);
	ck_assert_uint_eq(s.allocs, 1000);
	/* conservative: a stale word may keep one or two */
	ck_assert_msg(s.frees >= 990, "%llu frees", U(s.frees));
}
END_TEST

START_TEST(rate_zero_records_nothing)
{
	ck_assert_int_eq(tri_set_profile_rate(0), 0);
	churn(96, 100000);
	tri_collect();
	bucket_sum s = profile_of_size(96);
	ck_assert_uint_eq(s.buckets, 0);
}
END_TEST

static bool contains(const blob *b, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= b->n; i++)
		if (memcmp(b->p + i, s, n) == 0)
			return true;
	return false;
}

START_TEST(pprof_output)
{
	ck_assert_int_eq(tri_set_profile_rate(1), 0);
	alloc_kept(64, 100);
	tri_collect();
	blob b = capture(tri_write_heap_profile);
	ck_assert_uint_eq(b.p[0], 0x0a); /* field 1 (sample_type), bytes */
	const char *want[] = {"alloc_objects", "alloc_space", "inuse_objects",
	                      "inuse_space", "count", "bytes", "space"};
	for (size_t i = 0; i < NELEMS(want); i++)
		ck_assert_msg(contains(&b, want[i]), "no \"%s\"", want[i]);
	free(b.p);
	errno = 0;
	ck_assert_int_eq(tri_write_heap_profile(-1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* ---- the dump ---- */

enum { NODES = 300 };

typedef struct node {
	struct node *a, *b; /* offsets 0 and 8: the only pointers */
	uint64_t id;
} node;

node *graph[NODES]; /* a global: bss */

static size_t node_size(size_t i)
{
	if (i % 100 == 99)
		return 64 * KiB + i; /* large */
	return sizeof(node) + (i % 37) * 24;
}

static NOINLINE void build_graph(void)
{
	for (size_t i = 0; i < NODES; i++) {
		graph[i] = tri_malloc(node_size(i));
		graph[i]->id = i + 1000000; /* not a pointer */
	}
	for (size_t i = 0; i < NODES; i++) {
		graph[i]->a = graph[(i * 7 + 1) % NODES];
		graph[i]->b = i % 3 ? graph[(i * 13 + 5) % NODES] : NULL;
	}
}

typedef struct graph_check {
	unsigned seen[NODES];
	unsigned others;
	unsigned root_slots[NODES];
} graph_check;

static long node_index(uint64_t addr)
{
	for (size_t i = 0; i < NODES; i++)
		if ((uint64_t)(uintptr_t)graph[i] == addr)
			return (long)i;
	return -1;
}

static void check_graph_record(unsigned tag, const unsigned char *p,
                               uint32_t len, void *arg)
{
	graph_check *g = arg;
	if (tag == T_OBJECT) {
		long i = node_index(r64(p));
		if (i < 0) {
			g->others++;
			return;
		}
		g->seen[i]++;
		ck_assert_uint_ge(r64(p + 8), node_size((size_t)i));
		ck_assert_uint_eq(p[17] & 1, 0); /* scanned */
		uint32_t n = r32(p + 20);
		ck_assert_uint_eq(len, 24 + 16 * n);
		node *x = graph[i];
		ck_assert_uint_eq(n, x->b ? 2 : 1);
		ck_assert_uint_eq(r64(p + 24), 0);
		ck_assert_uint_eq(r64(p + 32), (uint64_t)(uintptr_t)x->a);
		if (x->b) {
			ck_assert_uint_eq(r64(p + 40), 8);
			ck_assert_uint_eq(r64(p + 48), (uint64_t)(uintptr_t)x->b);
		}
	} else if (tag == T_ROOT) {
		unsigned kind = p[0];
		unsigned nl = p[21] | p[22] << 8;
		uint32_t n = r32(p + 23 + nl);
		const unsigned char *q = p + 27 + nl;
		for (uint32_t k = 0; k < n; k++) {
			uint64_t slot = r64(q + 16 * k);
			uint64_t base = (uint64_t)(uintptr_t)graph;
			if (slot < base || slot >= base + sizeof graph)
				continue;
			ck_assert_msg(kind == 1 || kind == 2, "graph[] root kind %u",
			              kind);
			size_t i = (slot - base) / sizeof graph[0];
			ck_assert_uint_eq(r64(q + 16 * k + 8),
			                  (uint64_t)(uintptr_t)graph[i]);
			g->root_slots[i]++;
		}
	}
}

START_TEST(heap_dump_round_trip)
{
	build_graph();
	blob b = capture(tri_heap_dump);
	graph_check *g = calloc(1, sizeof *g);
	each_record(&b, check_graph_record, g);
	free(b.p);
	for (size_t i = 0; i < NODES; i++) {
		ck_assert_msg(g->seen[i] == 1, "node %zu dumped %u times", i,
		              g->seen[i]);
		ck_assert_msg(g->root_slots[i] == 1, "graph[%zu]: %u roots", i,
		              g->root_slots[i]);
	}
	ck_assert_uint_eq(g->others, 0);
	free(g);
	errno = 0;
	ck_assert_int_eq(tri_heap_dump(-1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static int write_both(int fd)
{
	return tri_heap_dump(fd) || tri_write_heap_profile(fd);
}

/* Scratch buffers are given back: sys does not grow dump after dump. */
START_TEST(dumps_and_profiles_leave_sys_unchanged)
{
	build_graph();
	free(capture(write_both).p); /* warm: first-use metadata */
	tri_stats_t before, after;
	tri_read_stats(&before);
	for (int i = 0; i < 3; i++)
		free(capture(write_both).p);
	tri_read_stats(&after);
	ck_assert_uint_eq(after.sys, before.sys);
}
END_TEST

static volatile int stop_threads;

static void *allocator(void *arg)
{
	(void)arg;
	void *ring[64] = {0};
	for (unsigned i = 0; !stop_threads; i++) {
		ring[i % 64] = tri_malloc(16 + i % 500);
		if (i % 7 == 0)
			tri_free(ring[(i + 32) % 64]), ring[(i + 32) % 64] = NULL;
	}
	return NULL;
}

static void count_objects(unsigned tag, const unsigned char *p, uint32_t len,
                          void *arg)
{
	(void)p;
	(void)len;
	*(unsigned long *)arg += tag == T_OBJECT;
}

START_TEST(dump_while_threads_allocate)
{
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(tri_pthread_create(&th[i], NULL, allocator, NULL),
		                 0);
	for (int k = 0; k < 5; k++) {
		blob b = capture(tri_heap_dump);
		unsigned long objects = 0;
		each_record(&b, count_objects, &objects);
		ck_assert_uint_gt(objects, 0);
		free(b.p);
	}
	stop_threads = 1;
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tricolor-profile");
	TCase *p = tcase(s, "profile", 120);
	tcase_add_test(p, sampled_counts_match_rate);
	tcase_add_test(p, bad_rate);
	tcase_add_test(p, rate_one_books_every_allocation_and_free);
	tcase_add_test(p, large_objects_are_sampled_and_freed);
	tcase_add_test(p, garbage_frees_are_booked);
	tcase_add_test(p, rate_zero_records_nothing);
	tcase_add_test(p, pprof_output);
	TCase *d = tcase(s, "dump", 120);
	tcase_add_test(d, heap_dump_round_trip);
	tcase_add_test(d, dump_while_threads_allocate);
	tcase_add_test(d, dumps_and_profiles_leave_sys_unchanged);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

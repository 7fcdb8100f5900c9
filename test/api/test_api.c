/*
 * test/api/test_api.c -- owned by the API test suite (not by the library).
 *
 * Black-box tests of tricolor's public contract, written against
 * <tricolor.h> only (no internal header is included on purpose): zeroing,
 * alignment, zero-size objects, usable sizes, realloc, calloc overflow, huge
 * requests, misuse that must abort (and the one-line diagnostic it prints),
 * thread registration, cross-thread frees, statistics and a many-thread
 * random workload.
 *
 * Build (the Makefile does the same):
 *   cc -std=c11 -O2 -g -Wall -Wextra -Werror -Iinclude test/api/test_api.c \
 *      build/libtricolor.a $(pkg-config --cflags --libs check) \
 *      -latomic_ops -pthread -o build/test_api
 * Run: ./build/test_api   (exit status 0 iff every test passed)
 *   CK_RUN_CASE=realloc ./build/test_api    runs one tcase;
 *   CK_VERBOSITY=verbose lists every test. The suite needs fork mode (the
 *   default): the abort tests kill their process on purpose, and every test
 *   must start with a fresh heap for the statistics tests to be exact.
 */
#define _POSIX_C_SOURCE 200809L

#include <tricolor.h>

#include <check.h>

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testlib.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                   */
/* ------------------------------------------------------------------------ */

/* Hide a pointer's provenance from the optimiser: tri_malloc carries the
 * malloc attribute, so GCC may fold comparisons between two results. */
static void *launder(void *p)
{
	void *volatile v = p;
	return v;
}

/* Offset of the first byte of p[0..n) that is not c, or n. */
static size_t first_not(const void *p, size_t n, unsigned char c)
{
	const unsigned char *b = p;
	uint64_t cw = 0x0101010101010101ull * c;
	size_t i = 0;
	while (i < n && ((uintptr_t)(b + i) & 7) != 0) {
		if (b[i] != c)
			return i;
		i++;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w != cw)
			break;
	}
	for (; i < n; i++)
		if (b[i] != c)
			return i;
	return n;
}

#define ASSERT_ZERO(p, n, what)                                               \
	do {                                                                  \
		const unsigned char *az_p = (const unsigned char *)(p);       \
		size_t az_n = (n);                                            \
		size_t az_off = first_nonzero(az_p, az_n);                    \
		ck_assert_msg(az_off == az_n,                                 \
		              "%s: object %p of %zu bytes: byte %zu is 0x%02x, " \
		              "expected 0",                                   \
		              (what), (void *)az_p, az_n, az_off,             \
		              az_p[az_off]);                                  \
	} while (0)

static void assert_heap_works(void)
{
	static const size_t sizes[] = {0, 1, 8, 100, 4096, 40000, 1 << 20};
	void *p[NELEMS(sizes)];
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		p[i] = tri_malloc(sizes[i]);
		ck_assert_msg(p[i] != NULL, "heap unusable: tri_malloc(%zu) = NULL",
		              sizes[i]);
		ASSERT_ZERO(p[i], sizes[i], "heap after error");
		memset(p[i], 0x5c, sizes[i]);
	}
	for (size_t i = 0; i < NELEMS(sizes); i++)
		tri_free(p[i]);
	void *q = tri_calloc(10, 10);
	ck_assert_ptr_nonnull(q);
	ASSERT_ZERO(q, 100, "tri_calloc after error");
	tri_free(q);
}

static size_t lowbit(size_t n)
{
	return n & (~n + 1);
}

/* ------------------------------------------------------------------------ */
/* zeroing                                                                   */
/* ------------------------------------------------------------------------ */

typedef void *(*alloc_fn)(size_t);

static void *do_malloc(size_t n) { return tri_malloc(n); }
static void *do_noscan(size_t n) { return tri_malloc_noscan(n); }

static void zero_small_sizes(alloc_fn fn, const char *name)
{
	enum { MAXN = 4096 };
	static void *keep[MAXN + 1];
	char what[64];

	/* Every size, all live at once (fresh slots). */
	for (size_t n = 0; n <= MAXN; n++) {
		keep[n] = fn(n);
		snprintf(what, sizeof what, "%s(%zu) fresh", name, n);
		ck_assert_msg(keep[n] != NULL, "%s returned NULL", what);
		ASSERT_ZERO(keep[n], n, what);
	}
	/* Dirty them all, free them all, allocate all again: reused slots. */
	for (size_t n = 0; n <= MAXN; n++)
		memset(keep[n], 0xAA, n);
	for (size_t n = 0; n <= MAXN; n++)
		tri_free(keep[n]);
	for (size_t n = 0; n <= MAXN; n++) {
		keep[n] = fn(n);
		snprintf(what, sizeof what, "%s(%zu) after free", name, n);
		ck_assert_msg(keep[n] != NULL, "%s returned NULL", what);
		ASSERT_ZERO(keep[n], n, what);
	}
	for (size_t n = 0; n <= MAXN; n++)
		tri_free(keep[n]);
	/* Immediate free + reallocate of the same size (most likely the very
	 * slot just freed, from the thread cache). */
	for (size_t n = 0; n <= MAXN; n++) {
		void *p = fn(n);
		ck_assert_ptr_nonnull(p);
		memset(p, 0xAA, n);
		tri_free(p);
		p = fn(n);
		snprintf(what, sizeof what, "%s(%zu) right after free", name, n);
		ck_assert_msg(p != NULL, "%s returned NULL", what);
		ASSERT_ZERO(p, n, what);
		tri_free(p);
	}
}

START_TEST(zero_malloc_small)
{
	zero_small_sizes(do_malloc, "tri_malloc");
}
END_TEST

START_TEST(zero_noscan_small)
{
	zero_small_sizes(do_noscan, "tri_malloc_noscan");
}
END_TEST

static const size_t large_sizes[] = {
	4097,          8191,          8192,      8193,     16384,
	32767,         32768,         32769,     40000,    65536,
	65537,         100000,        1 << 20,   (1 << 20) + 1,
	(3 << 20) + 5, 8 << 20,       64 << 20,
};

static void zero_large_sizes(alloc_fn fn, const char *name)
{
	char what[80];
	for (size_t i = 0; i < NELEMS(large_sizes); i++) {
		size_t n = large_sizes[i];
		void *p = fn(n);
		snprintf(what, sizeof what, "%s(%zu) fresh", name, n);
		ck_assert_msg(p != NULL, "%s returned NULL", what);
		ASSERT_ZERO(p, n, what);
		memset(p, 0xAA, n);
		tri_free(p);
		p = fn(n);
		snprintf(what, sizeof what, "%s(%zu) after free", name, n);
		ck_assert_msg(p != NULL, "%s returned NULL", what);
		ASSERT_ZERO(p, n, what);
		memset(p, 0xAA, n);
		tri_free(p);
	}
	/* Same sizes, several live at once, freed, then allocated again. */
	void *keep[NELEMS(large_sizes)];
	for (size_t i = 0; i < NELEMS(large_sizes); i++) {
		keep[i] = fn(large_sizes[i]);
		ck_assert_ptr_nonnull(keep[i]);
		memset(keep[i], 0xAA, large_sizes[i]);
	}
	for (size_t i = 0; i < NELEMS(large_sizes); i++)
		tri_free(keep[i]);
	for (size_t i = NELEMS(large_sizes); i-- > 0;) {
		keep[i] = fn(large_sizes[i]);
		snprintf(what, sizeof what, "%s(%zu) after batch free", name,
		         large_sizes[i]);
		ck_assert_msg(keep[i] != NULL, "%s returned NULL", what);
		ASSERT_ZERO(keep[i], large_sizes[i], what);
	}
	for (size_t i = 0; i < NELEMS(large_sizes); i++)
		tri_free(keep[i]);
}

START_TEST(zero_malloc_large)
{
	zero_large_sizes(do_malloc, "tri_malloc");
}
END_TEST

START_TEST(zero_noscan_large)
{
	zero_large_sizes(do_noscan, "tri_malloc_noscan");
}
END_TEST

/* Objects larger than one 64 MiB arena are legal requests too. */
START_TEST(zero_beyond_arena)
{
	static const size_t sizes[] = {(64 << 20) + 1, (64 << 20) + 8192,
	                               (size_t)130 << 20};
	char what[80];
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		void *p = tri_malloc(sizes[i]);
		snprintf(what, sizeof what, "tri_malloc(%zu)", sizes[i]);
		ck_assert_msg(p != NULL, "%s returned NULL (errno %d)", what,
		              errno);
		ASSERT_ZERO(p, sizes[i], what);
		memset(p, 0xAA, sizes[i]);
		tri_free(p);
		p = tri_malloc(sizes[i]);
		ck_assert_ptr_nonnull(p);
		snprintf(what, sizeof what, "tri_malloc(%zu) after free",
		         sizes[i]);
		ASSERT_ZERO(p, sizes[i], what);
		tri_free(p);
	}
}
END_TEST

/* Memory freed as one size class (or as a large object) and handed out again
 * as another must be zeroed too. */
START_TEST(zero_after_span_reuse)
{
	enum { NSMALL = (16 << 20) / 48 };
	static void *small[NSMALL];
	char what[80];

	for (size_t i = 0; i < NSMALL; i++) {
		small[i] = tri_malloc(48);
		ck_assert_ptr_nonnull(small[i]);
		memset(small[i], 0xAA, 48);
	}
	for (size_t i = 0; i < NSMALL; i++)
		tri_free(small[i]);

	/* 16 MiB of 1024-byte objects, then large objects, from that memory. */
	enum { NMID = (16 << 20) / 1024 };
	static void *mid[NMID];
	for (size_t i = 0; i < NMID; i++) {
		mid[i] = tri_malloc_noscan(1024);
		snprintf(what, sizeof what, "tri_malloc_noscan(1024) #%zu", i);
		ck_assert_ptr_nonnull(mid[i]);
		ASSERT_ZERO(mid[i], 1024, what);
	}
	for (size_t i = 0; i < NMID; i++)
		tri_free(mid[i]);
	void *big[64];
	for (size_t i = 0; i < 64; i++) {
		big[i] = tri_malloc(40000 + i * 4096);
		snprintf(what, sizeof what, "tri_malloc(%zu)", 40000 + i * 4096);
		ck_assert_ptr_nonnull(big[i]);
		ASSERT_ZERO(big[i], 40000 + i * 4096, what);
		memset(big[i], 0xAA, 40000 + i * 4096);
	}
	for (size_t i = 0; i < 64; i++)
		tri_free(big[i]);
	/* Large freed -> small. */
	for (size_t i = 0; i < NSMALL; i++) {
		small[i] = tri_malloc(48);
		snprintf(what, sizeof what, "tri_malloc(48) #%zu after large", i);
		ck_assert_ptr_nonnull(small[i]);
		ASSERT_ZERO(small[i], 48, what);
	}
	for (size_t i = 0; i < NSMALL; i++)
		tri_free(small[i]);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* alignment                                                                 */
/* ------------------------------------------------------------------------ */

static void check_align(const char *name, const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	if (n > 0 && n % 16 == 0)
		ck_assert_msg(a % 16 == 0, "%s(%zu) = %p is not 16-aligned", name,
		              n, p);
	if (n >= 8)
		ck_assert_msg(a % 8 == 0, "%s(%zu) = %p is not 8-aligned", name,
		              n, p);
	if (n > 32768)
		ck_assert_msg(a % 8192 == 0, "%s(%zu) = %p is not 8192-aligned",
		              name, n, p);
}

static const size_t align_large[] = {
	32769, 32784, 40000, 49152, 65536, 100000, 1 << 20, (3 << 20) + 16,
	(5 << 20) + 3, 64 << 20,
};

START_TEST(align_malloc)
{
	for (size_t n = 0; n <= 32768; n++) {
		void *p[3];
		for (int k = 0; k < 3; k++) {
			p[k] = tri_malloc(n);
			ck_assert_ptr_nonnull(p[k]);
			check_align("tri_malloc", p[k], n);
		}
		for (int k = 0; k < 3; k++)
			tri_free(p[k]);
	}
	for (size_t i = 0; i < NELEMS(align_large); i++) {
		void *p = tri_malloc(align_large[i]);
		ck_assert_ptr_nonnull(p);
		check_align("tri_malloc", p, align_large[i]);
		tri_free(p);
	}
}
END_TEST

START_TEST(align_noscan)
{
	for (size_t n = 0; n <= 32768; n++) {
		void *p[3];
		for (int k = 0; k < 3; k++) {
			p[k] = tri_malloc_noscan(n);
			ck_assert_ptr_nonnull(p[k]);
			if (n > 0 && n < 16) {
				size_t want = lowbit(n) < 8 ? lowbit(n) : 8;
				ck_assert_msg((uintptr_t)p[k] % want == 0,
				              "tri_malloc_noscan(%zu) = %p is not "
				              "%zu-aligned",
				              n, p[k], want);
			} else {
				check_align("tri_malloc_noscan", p[k], n);
			}
		}
		for (int k = 0; k < 3; k++)
			tri_free(p[k]);
	}
	for (size_t i = 0; i < NELEMS(align_large); i++) {
		void *p = tri_malloc_noscan(align_large[i]);
		ck_assert_ptr_nonnull(p);
		check_align("tri_malloc_noscan", p, align_large[i]);
		tri_free(p);
	}
}
END_TEST

START_TEST(align_calloc)
{
	for (size_t n = 1; n <= 4096; n++) {
		void *p = tri_calloc(n, 16);
		ck_assert_ptr_nonnull(p);
		check_align("tri_calloc(n, 16) -> n*16", p, n * 16);
		tri_free(p);
		p = tri_calloc(1, n);
		ck_assert_ptr_nonnull(p);
		check_align("tri_calloc(1, n) -> n", p, n);
		tri_free(p);
	}
}
END_TEST

/* A realloc result is an object of the new size: same alignment contract. */
START_TEST(align_realloc)
{
	static const size_t sizes[] = {8,    16,    24,    32,     48,
	                               100,  112,   1000,  1024,   4096,
	                               8208, 32768, 32769, 100000, 1 << 20};
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		for (size_t j = 0; j < NELEMS(sizes); j++) {
			void *p = tri_malloc(sizes[i]);
			ck_assert_ptr_nonnull(p);
			void *q = tri_realloc(p, sizes[j]);
			ck_assert_ptr_nonnull(q);
			char name[64];
			snprintf(name, sizeof name, "tri_realloc(tri_malloc(%zu), n) "
			         "with n=", sizes[i]);
			check_align(name, q, sizes[j]);
			tri_free(q);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* zero-size objects                                                         */
/* ------------------------------------------------------------------------ */

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(zero_size_objects)
{
	void *a = launder(tri_malloc(0));
	void *b = launder(tri_malloc(0));
	ck_assert_msg(a != NULL && b != NULL, "tri_malloc(0) = %p, %p", a, b);
	ck_assert_msg(a != b, "two tri_malloc(0) returned the same pointer %p",
	              a);
	void *c = launder(tri_malloc_noscan(0));
	void *d = launder(tri_malloc_noscan(0));
	ck_assert_msg(c != NULL && d != NULL, "tri_malloc_noscan(0) = %p, %p", c,
	              d);
	ck_assert_msg(c != d,
	              "two tri_malloc_noscan(0) returned the same pointer %p", c);

	/* tri_free accepts them. */
	tri_free(a);
	tri_free(c);
	/* tri_realloc accepts them: grow from zero, contents zero. */
	void *b2 = tri_realloc(b, 100);
	ck_assert_ptr_nonnull(b2);
	ASSERT_ZERO(b2, 100, "tri_realloc(tri_malloc(0), 100)");
	void *d2 = tri_realloc(d, 0);
	ck_assert_ptr_nonnull(d2);
	tri_free(b2);
	tri_free(d2);

	/* 1000 of each kind, all distinct while live. */
	enum { N = 1000 };
	static uintptr_t all[2 * N];
	for (int i = 0; i < N; i++) {
		all[i] = (uintptr_t)tri_malloc(0);
		all[N + i] = (uintptr_t)tri_malloc_noscan(0);
		ck_assert(all[i] != 0 && all[N + i] != 0);
	}
	qsort(all, 2 * N, sizeof all[0], cmp_ptr);
	for (int i = 1; i < 2 * N; i++)
		ck_assert_msg(all[i] != all[i - 1],
		              "zero-size objects share the address %p",
		              (void *)all[i]);
	for (int i = 0; i < 2 * N; i++)
		tri_free((void *)all[i]);
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tri_usable_size                                                           */
/* ------------------------------------------------------------------------ */

START_TEST(usable_null)
{
	ck_assert_uint_eq(tri_usable_size(NULL), 0);
}
END_TEST

/* Allocate K objects of n bytes with fn, check usable >= n, fill each whole
 * usable range with its own byte, then check no range was overwritten. */
static void usable_round(alloc_fn fn, const char *name, size_t n)
{
	enum { K = 5 };
	void *p[K];
	size_t us[K];
	for (int k = 0; k < K; k++) {
		p[k] = fn(n);
		ck_assert_msg(p[k] != NULL, "%s(%zu) = NULL", name, n);
		us[k] = tri_usable_size(p[k]);
		ck_assert_msg(us[k] >= n, "tri_usable_size(%s(%zu)) = %zu < %zu",
		              name, n, us[k], n);
		ASSERT_ZERO(p[k], n, name);
		memset(p[k], 0x11 * (k + 1), us[k]);
	}
	for (int k = 0; k < K; k++) {
		size_t off = first_not(p[k], us[k], (unsigned char)(0x11 * (k + 1)));
		ck_assert_msg(off == us[k],
		              "%s(%zu): object %d at %p, usable %zu, byte %zu was "
		              "overwritten (0x%02x) by writing a neighbour's usable "
		              "range",
		              name, n, k, p[k], us[k], off,
		              ((unsigned char *)p[k])[off]);
	}
	for (int k = 0; k < K; k++)
		tri_free(p[k]);
}

START_TEST(usable_small)
{
	for (size_t n = 1; n <= 33000; n++)
		usable_round(do_malloc, "tri_malloc", n);
}
END_TEST

START_TEST(usable_noscan)
{
	for (size_t n = 1; n <= 4096; n++)
		usable_round(do_noscan, "tri_malloc_noscan", n);
	/* tiny objects share 16-byte blocks: interleave tiny sizes so several
	 * land in one block, and check their usable ranges are disjoint. */
	enum { N = 64 };
	void *p[N];
	size_t us[N], req[N];
	for (int i = 0; i < N; i++) {
		req[i] = 1 + (size_t)(i * 7) % 15;
		p[i] = tri_malloc_noscan(req[i]);
		ck_assert_ptr_nonnull(p[i]);
		us[i] = tri_usable_size(p[i]);
		ck_assert_msg(us[i] >= req[i],
		              "tri_usable_size(tri_malloc_noscan(%zu)) = %zu",
		              req[i], us[i]);
		memset(p[i], i + 1, us[i]);
	}
	for (int i = 0; i < N; i++) {
		size_t off = first_not(p[i], us[i], (unsigned char)(i + 1));
		ck_assert_msg(off == us[i],
		              "tiny object %d (%zu bytes at %p, usable %zu): byte "
		              "%zu overwritten by a neighbour's usable range",
		              i, req[i], p[i], us[i], off);
	}
	for (int i = 0; i < N; i++)
		tri_free(p[i]);
}
END_TEST

START_TEST(usable_large)
{
	static const size_t sizes[] = {33001,    40000,   65535,    65536,
	                               100001,   1 << 20, (1 << 20) + 1,
	                               7 << 20,  64 << 20};
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		usable_round(do_malloc, "tri_malloc", sizes[i]);
		usable_round(do_noscan, "tri_malloc_noscan", sizes[i]);
	}
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tri_realloc                                                               */
/* ------------------------------------------------------------------------ */

START_TEST(realloc_null)
{
	static const size_t sizes[] = {0, 1, 100, 5000, 40000, 1 << 20};
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		void *p = tri_realloc(NULL, sizes[i]);
		ck_assert_msg(p != NULL, "tri_realloc(NULL, %zu) = NULL", sizes[i]);
		ASSERT_ZERO(p, sizes[i], "tri_realloc(NULL, n)");
		ck_assert(tri_usable_size(p) >= sizes[i]);
		memset(p, 0x77, sizes[i]);
		tri_free(p);
	}
}
END_TEST

static const size_t realloc_sizes[] = {
	1,     7,     8,     15,     16,      24,      100,          1000,
	4096,  8193,  32768, 32769,  40000,   100000,  1 << 20,      (5 << 20) + 3,
};

static void realloc_pairs(alloc_fn fn, const char *name)
{
	for (size_t i = 0; i < NELEMS(realloc_sizes); i++) {
		for (size_t j = 0; j < NELEMS(realloc_sizes); j++) {
			size_t o = realloc_sizes[i], n = realloc_sizes[j];
			uint64_t tag = mix64(i * 1000 + j);
			void *p = fn(o);
			ck_assert_ptr_nonnull(p);
			stamp(p, o, tag);
			void *q = tri_realloc(p, n);
			ck_assert_msg(q != NULL, "tri_realloc(%s(%zu), %zu) = NULL",
			              name, o, n);
			size_t keep = o < n ? o : n;
			size_t off = stamp_check(q, keep, o, tag);
			ck_assert_msg(off == keep,
			              "tri_realloc(%s(%zu), %zu): %p -> %p: byte %zu of "
			              "the kept %zu bytes differs",
			              name, o, n, p, q, off, keep);
			if (n > o) {
				size_t z = first_nonzero((char *)q + o, n - o);
				ck_assert_msg(z == n - o,
				              "tri_realloc(%s(%zu), %zu): byte %zu past "
				              "the old size is 0x%02x, not 0",
				              name, o, n, o + z,
				              ((unsigned char *)q)[o + z]);
			}
			ck_assert(tri_usable_size(q) >= n);
			tri_free(q);
		}
	}
}

START_TEST(realloc_content)
{
	realloc_pairs(do_malloc, "tri_malloc");
}
END_TEST

START_TEST(realloc_content_noscan)
{
	realloc_pairs(do_noscan, "tri_malloc_noscan");
}
END_TEST

/* Grow one object step by step (often in place within its size class),
 * then shrink it, checking contents and zero tails at every step. */
START_TEST(realloc_steps)
{
	uint64_t tag = 0x1234;
	size_t n = 1;
	void *p = tri_malloc(n);
	ck_assert_ptr_nonnull(p);
	stamp(p, n, tag);
	while (n < (4 << 20)) {
		size_t m = n + n / 3 + 1;
		void *q = tri_realloc(p, m);
		ck_assert_msg(q != NULL, "tri_realloc(%zu -> %zu) = NULL", n, m);
		size_t off = stamp_check(q, n, n, tag);
		ck_assert_msg(off == n, "grow %zu -> %zu: byte %zu differs", n, m,
		              off);
		size_t z = first_nonzero((char *)q + n, m - n);
		ck_assert_msg(z == m - n,
		              "grow %zu -> %zu: byte %zu past the old size is not 0",
		              n, m, n + z);
		tag = mix64(tag);
		stamp(q, m, tag);
		p = q;
		n = m;
	}
	size_t full = n; /* length last stamped */
	while (n > 1) {
		size_t m = n - n / 3 - 1;
		if (m == 0)
			m = 1;
		void *q = tri_realloc(p, m);
		ck_assert_msg(q != NULL, "tri_realloc(%zu -> %zu) = NULL", n, m);
		size_t off = stamp_check(q, m, full, tag);
		ck_assert_msg(off == m, "shrink %zu -> %zu: byte %zu differs", n, m,
		              off);
		p = q;
		n = m;
	}
	tri_free(p);
}
END_TEST

/* "bytes past the old size are zero": the old size is the size of the last
 * request, so a shrink that stays in place must not let the stale tail
 * reappear when the object grows again. */
START_TEST(realloc_shrink_then_grow)
{
	static const size_t cases[][2] = {
		{1000, 10}, {4096, 1}, {32768, 100}, {1 << 20, 100000},
		{1 << 20, 1000}, {100000, 40000},
	};
	for (size_t i = 0; i < NELEMS(cases); i++) {
		size_t big = cases[i][0], small = cases[i][1];
		uint64_t tag = mix64(i);
		void *p = tri_malloc(big);
		ck_assert_ptr_nonnull(p);
		stamp(p, big, tag);
		void *q = tri_realloc(p, small);
		ck_assert_ptr_nonnull(q);
		void *r = tri_realloc(q, big);
		ck_assert_ptr_nonnull(r);
		size_t off = stamp_check(r, small, big, tag);
		ck_assert_msg(off == small, "%zu -> %zu -> %zu: byte %zu differs",
		              big, small, big, off);
		size_t z = first_nonzero((char *)r + small, big - small);
		ck_assert_msg(z == big - small,
		              "realloc %zu -> %zu -> %zu (%p -> %p -> %p): byte %zu "
		              "(past the intermediate size) is 0x%02x, not 0",
		              big, small, big, p, q, r, small + z,
		              ((unsigned char *)r)[small + z]);
		tri_free(r);
	}
	/* Through zero: realloc(p, 0) frees p; growing the result gives
	 * zeroes only. */
	void *p = tri_malloc(64);
	ck_assert_ptr_nonnull(p);
	memset(p, 0xAA, 64);
	void *z = tri_realloc(p, 0);
	ck_assert_ptr_nonnull(z);
	void *g = tri_realloc(z, 64);
	ck_assert_ptr_nonnull(g);
	ASSERT_ZERO(g, 64, "tri_realloc(tri_realloc(p, 0), 64)");
	tri_free(g);
}
END_TEST

START_TEST(realloc_to_zero)
{
	static const size_t sizes[] = {1, 64, 5000, 40000, 1 << 20};
	for (size_t i = 0; i < NELEMS(sizes); i++) {
		void *p = tri_malloc(sizes[i]);
		ck_assert_ptr_nonnull(p);
		memset(p, 0x33, sizes[i]);
		void *q = tri_realloc(p, 0);
		ck_assert_msg(q != NULL, "tri_realloc(p[%zu], 0) = NULL", sizes[i]);
		(void)tri_usable_size(q); /* must not abort: q is live */
		void *r = tri_realloc(q, 16);
		ck_assert_ptr_nonnull(r);
		ASSERT_ZERO(r, 16, "tri_realloc(tri_realloc(p, 0), 16)");
		tri_free(r);
	}
	void *p = tri_malloc_noscan(100);
	ck_assert_ptr_nonnull(p);
	void *q = tri_realloc(p, 0);
	ck_assert_ptr_nonnull(q);
	tri_free(q);
	assert_heap_works();
}
END_TEST

/* On failure p is left untouched and still owned by the caller. */
START_TEST(realloc_failure_keeps_p)
{
	static const size_t bad[] = {SIZE_MAX, (size_t)1 << 62, SIZE_MAX - 4096};
	static const size_t sizes[] = {100, 40000};
	for (size_t s = 0; s < NELEMS(sizes); s++) {
		void *p = tri_malloc(sizes[s]);
		ck_assert_ptr_nonnull(p);
		stamp(p, sizes[s], 99);
		for (size_t i = 0; i < NELEMS(bad); i++) {
			errno = 0;
			void *q = tri_realloc(p, bad[i]);
			ck_assert_msg(q == NULL, "tri_realloc(p, %zu) = %p", bad[i], q);
			ck_assert_msg(errno == ENOMEM,
			              "tri_realloc(p, %zu): errno %d, not ENOMEM",
			              bad[i], errno);
			ck_assert(stamp_check(p, sizes[s], sizes[s], 99) == sizes[s]);
			ck_assert(tri_usable_size(p) >= sizes[s]);
		}
		tri_free(p);
	}
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* tri_calloc                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(calloc_zeroed)
{
	static const size_t shapes[][2] = {
		{1, 1},     {3, 5},      {16, 16},   {100, 8},  {1, 4096},
		{17, 1000}, {4096, 8},   {1, 32769}, {1000, 100},
		{256, 4096}, {1, 64 << 20},
	};
	for (int round = 0; round < 2; round++) {
		void *p[NELEMS(shapes)];
		for (size_t i = 0; i < NELEMS(shapes); i++) {
			size_t n = shapes[i][0] * shapes[i][1];
			p[i] = tri_calloc(shapes[i][0], shapes[i][1]);
			ck_assert_msg(p[i] != NULL, "tri_calloc(%zu, %zu) = NULL",
			              shapes[i][0], shapes[i][1]);
			ASSERT_ZERO(p[i], n, "tri_calloc");
			ck_assert(tri_usable_size(p[i]) >= n);
			memset(p[i], 0xAA, n);
		}
		for (size_t i = 0; i < NELEMS(shapes); i++)
			tri_free(p[i]);
	}
	/* Dirty memory of many small classes, then calloc from it. */
	for (size_t n = 1; n <= 2048; n++) {
		void *p = tri_malloc(n);
		ck_assert_ptr_nonnull(p);
		memset(p, 0xAA, n);
		tri_free(p);
		void *q = tri_calloc(n, 1);
		ck_assert_ptr_nonnull(q);
		ASSERT_ZERO(q, n, "tri_calloc(n, 1) after free");
		tri_free(q);
	}
}
END_TEST

START_TEST(calloc_overflow)
{
	static const size_t cases[][2] = {
		{SIZE_MAX / 2, 3},
		{(size_t)1 << 32, (size_t)1 << 32}, /* product wraps to 0 */
		{SIZE_MAX, SIZE_MAX},               /* product wraps to 1 */
		{(SIZE_MAX / 16) + 1, 16},          /* wraps to 0 */
		{(SIZE_MAX / 16) + 2, 16},          /* wraps to 16 */
		{3, SIZE_MAX / 2},
		{2, SIZE_MAX},
	};
	for (size_t i = 0; i < NELEMS(cases); i++) {
		errno = 0;
		void *p = tri_calloc(cases[i][0], cases[i][1]);
		ck_assert_msg(p == NULL, "tri_calloc(%zu, %zu) = %p, expected NULL",
		              cases[i][0], cases[i][1], p);
		ck_assert_msg(errno == ENOMEM,
		              "tri_calloc(%zu, %zu): errno %d, expected ENOMEM",
		              cases[i][0], cases[i][1], errno);
	}
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* huge requests                                                             */
/* ------------------------------------------------------------------------ */

static const size_t huge_sizes[] = {
	SIZE_MAX,        (size_t)1 << 62,  SIZE_MAX - 4096, SIZE_MAX - 8191,
	SIZE_MAX - 8192, SIZE_MAX - 16,    SIZE_MAX / 2,    (SIZE_MAX / 2) + 1,
	(size_t)1 << 48,
};

START_TEST(huge_requests)
{
	for (size_t i = 0; i < NELEMS(huge_sizes); i++) {
		size_t n = huge_sizes[i];
		errno = 0;
		void *p = tri_malloc(n);
		ck_assert_msg(p == NULL, "tri_malloc(%zu) = %p, expected NULL", n, p);
		ck_assert_msg(errno == ENOMEM, "tri_malloc(%zu): errno %d", n,
		              errno);
		errno = 0;
		p = tri_malloc_noscan(n);
		ck_assert_msg(p == NULL, "tri_malloc_noscan(%zu) = %p", n, p);
		ck_assert_msg(errno == ENOMEM, "tri_malloc_noscan(%zu): errno %d",
		              n, errno);
		errno = 0;
		p = tri_realloc(NULL, n);
		ck_assert_msg(p == NULL, "tri_realloc(NULL, %zu) = %p", n, p);
		ck_assert_msg(errno == ENOMEM, "tri_realloc(NULL, %zu): errno %d",
		              n, errno);
		errno = 0;
		p = tri_calloc(1, n);
		ck_assert_msg(p == NULL, "tri_calloc(1, %zu) = %p", n, p);
		ck_assert_msg(errno == ENOMEM, "tri_calloc(1, %zu): errno %d", n,
		              errno);
		assert_heap_works();
	}
	/* And once more, after normal traffic. */
	void *keep = tri_malloc(1000);
	ck_assert_ptr_nonnull(keep);
	errno = 0;
	void *p = tri_malloc(SIZE_MAX);
	ck_assert(p == NULL && errno == ENOMEM);
	tri_free(keep);
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* misuse that must abort                                                    */
/* ------------------------------------------------------------------------ */

static char misuse_global[64];

START_TEST(abort_free_stack)
{
	void *warm = tri_malloc(32); /* heap initialised */
	ck_assert_ptr_nonnull(warm);
	char buf[64];
	memset(buf, 1, sizeof buf);
	tri_free(launder(buf));
}
END_TEST

START_TEST(abort_free_stack_uninit)
{
	/* No allocation yet in this process. */
	char buf[64];
	memset(buf, 1, sizeof buf);
	tri_free(launder(buf));
}
END_TEST

START_TEST(abort_free_global)
{
	void *warm = tri_malloc(32);
	ck_assert_ptr_nonnull(warm);
	tri_free(launder(misuse_global));
}
END_TEST

START_TEST(abort_free_glibc)
{
	void *warm = tri_malloc(32);
	ck_assert_ptr_nonnull(warm);
	void *p = malloc(64);
	ck_assert_ptr_nonnull(p);
	tri_free(launder(p));
}
END_TEST

START_TEST(abort_free_wild)
{
	void *warm = tri_malloc(32);
	ck_assert_ptr_nonnull(warm);
	tri_free(launder((void *)(uintptr_t)0xdead0000u));
}
END_TEST

START_TEST(abort_free_interior_small)
{
	char *p = tri_malloc(64);
	ck_assert_ptr_nonnull(p);
	tri_free(launder(p + 8));
}
END_TEST

START_TEST(abort_free_interior_large)
{
	char *p = tri_malloc(1 << 20);
	ck_assert_ptr_nonnull(p);
	tri_free(launder(p + 8192));
}
END_TEST

START_TEST(abort_double_free_small)
{
	void *p = tri_malloc(64);
	ck_assert_ptr_nonnull(p);
	tri_free(p);
	tri_free(launder(p));
}
END_TEST

/* The freed object sits among live ones in a partly used span. */
START_TEST(abort_double_free_small_busy_span)
{
	void *p[100];
	for (int i = 0; i < 100; i++) {
		p[i] = tri_malloc(64);
		ck_assert_ptr_nonnull(p[i]);
	}
	tri_free(p[50]);
	tri_free(launder(p[50]));
}
END_TEST

START_TEST(abort_double_free_large)
{
	void *p = tri_malloc(1 << 20);
	ck_assert_ptr_nonnull(p);
	tri_free(p);
	tri_free(launder(p));
}
END_TEST

/* realloc that moves frees the old pointer: freeing it again is a double
 * free. */
START_TEST(abort_free_after_realloc_moved)
{
	void *p = tri_malloc(16);
	ck_assert_ptr_nonnull(p);
	void *q = tri_realloc(p, 1 << 20);
	ck_assert_ptr_nonnull(q);
	ck_assert(launder(q) != launder(p));
	tri_free(launder(p));
}
END_TEST

START_TEST(abort_double_free_zero_size)
{
	void *p = tri_malloc(0);
	ck_assert_ptr_nonnull(p);
	tri_free(p);
	tri_free(launder(p));
}
END_TEST

START_TEST(abort_double_free_tiny)
{
	void *a = tri_malloc_noscan(4);
	void *b = tri_malloc_noscan(4); /* likely shares a's 16-byte block */
	ck_assert(a != NULL && b != NULL);
	tri_free(a);
	tri_free(launder(a));
}
END_TEST

START_TEST(abort_usable_size_interior)
{
	char *p = tri_malloc(64);
	ck_assert_ptr_nonnull(p);
	(void)tri_usable_size(launder(p + 8));
}
END_TEST

/* Run fn(arg) in a child whose stderr is a pipe; collect what it prints and
 * how it ended. */
static void run_misuse_child(void (*fn)(void *), void *arg, char *out,
                             size_t outsz, int *status)
{
	int pfd[2];
	ck_assert_int_eq(pipe(pfd), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork failed");
	if (pid == 0) {
		close(pfd[0]);
		if (dup2(pfd[1], 2) < 0)
			_exit(99);
		close(pfd[1]);
		fn(arg);
		_exit(0); /* misuse was not detected */
	}
	close(pfd[1]);
	size_t len = 0;
	for (;;) {
		ssize_t r = read(pfd[0], out + len, outsz - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == outsz - 1)
			break;
	}
	out[len] = '\0';
	close(pfd[0]);
	ck_assert_int_eq(waitpid(pid, status, 0), pid);
}

static void child_free(void *p)
{
	tri_free(p);
}

static void child_double_free(void *p)
{
	tri_free(p);
	tri_free(p);
}

static void assert_one_line_diag(void (*fn)(void *), void *arg, void *addr,
                                 const char *call, const char *what)
{
	char out[4096];
	int status;
	char hex[64];
	run_misuse_child(fn, arg, out, sizeof out, &status);
	snprintf(hex, sizeof hex, "%p", addr);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	              "%s: child did not die of SIGABRT (status 0x%x); stderr: "
	              "\"%s\"",
	              what, status, out);
	size_t len = strlen(out);
	ck_assert_msg(len > 0, "%s: nothing printed on stderr", what);
	ck_assert_msg(out[len - 1] == '\n',
	              "%s: stderr does not end with a newline: \"%s\"", what, out);
	ck_assert_msg(strchr(out, '\n') == out + len - 1,
	              "%s: more than one line on stderr: \"%s\"", what, out);
	ck_assert_msg(strstr(out, call) != NULL,
	              "%s: diagnostic does not name %s: \"%s\"", what, call, out);
	ck_assert_msg(strstr(out, hex) != NULL,
	              "%s: diagnostic does not contain the address %s: \"%s\"",
	              what, hex, out);
}

START_TEST(diag_double_free_small)
{
	void *p = tri_malloc(64);
	ck_assert_ptr_nonnull(p);
	assert_one_line_diag(child_double_free, p, p, "tri_free",
	                     "double free of a 64-byte object");
	tri_free(p); /* still live in this process */
}
END_TEST

START_TEST(diag_free_stack)
{
	void *warm = tri_malloc(8);
	ck_assert_ptr_nonnull(warm);
	char buf[64];
	memset(buf, 0, sizeof buf);
	assert_one_line_diag(child_free, buf, buf, "tri_free",
	                     "free of a stack address");
	tri_free(warm);
}
END_TEST

START_TEST(diag_free_interior_large)
{
	char *p = tri_malloc(1 << 20);
	ck_assert_ptr_nonnull(p);
	assert_one_line_diag(child_free, p + 8192, p + 8192, "tri_free",
	                     "free of p+8192 of a 1 MiB object");
	tri_free(p);
}
END_TEST

START_TEST(diag_free_glibc)
{
	void *warm = tri_malloc(8);
	ck_assert_ptr_nonnull(warm);
	void *g = malloc(64);
	ck_assert_ptr_nonnull(g);
	assert_one_line_diag(child_free, g, g, "tri_free",
	                     "free of a glibc pointer");
	free(g);
	tri_free(warm);
}
END_TEST

/* ------------------------------------------------------------------------ */
/* misc API: init, version, free(NULL), thread registration                  */
/* ------------------------------------------------------------------------ */

START_TEST(init_and_version)
{
	ck_assert_int_eq(tri_version(), TRI_VERSION);
	ck_assert_int_eq(tri_init(), 0);
	ck_assert_int_eq(tri_init(), 0);
	assert_heap_works();
	ck_assert_int_eq(tri_init(), 0);
}
END_TEST

START_TEST(free_null)
{
	void *warm = tri_malloc(100);
	ck_assert_ptr_nonnull(warm);
	tri_stats_t a, b;
	tri_read_stats(&a);
	for (int i = 0; i < 1000; i++)
		tri_free(NULL);
	tri_read_stats(&b);
	ck_assert_msg(b.frees == a.frees,
	              "tri_free(NULL) x1000 changed frees: %llu -> %llu",
	              (unsigned long long)a.frees, (unsigned long long)b.frees);
	ck_assert(b.heap_alloc == a.heap_alloc);
	ck_assert(b.heap_objects == a.heap_objects);
	tri_free(warm);
	tri_free(NULL);
	assert_heap_works();
}
END_TEST

START_TEST(register_main_thread)
{
	ck_assert_int_eq(tri_thread_register(), 0);
	ck_assert_int_eq(tri_thread_register(), 0);
	void *p = tri_malloc(100);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(tri_thread_register(), 0);
	ck_assert_int_eq(tri_thread_unregister(), 0);
	/* Allocation after unregister registers the thread again. */
	void *q = tri_malloc(200);
	ck_assert_ptr_nonnull(q);
	ASSERT_ZERO(q, 200, "tri_malloc after unregister");
	tri_free(p); /* allocated before unregister */
	tri_free(q);
	assert_heap_works();
	ck_assert_int_eq(tri_thread_unregister(), 0);
	ck_assert_int_eq(tri_thread_register(), 0);
	ck_assert_int_eq(tri_thread_unregister(), 0);
}
END_TEST

struct reg_result {
	int unreg_fresh, unreg_fresh_errno;
	int reg1, reg2, unreg1, unreg2, unreg2_errno, unreg3;
	int alloc_ok;
};

static void *reg_thread(void *arg)
{
	struct reg_result *r = arg;
	errno = 0;
	r->unreg_fresh = tri_thread_unregister();
	r->unreg_fresh_errno = errno;
	r->reg1 = tri_thread_register();
	r->reg2 = tri_thread_register();
	char *p = tri_malloc(100);
	r->alloc_ok = p != NULL && first_nonzero(p, 100) == 100;
	if (p)
		memset(p, 0x42, 100);
	r->unreg1 = tri_thread_unregister();
	errno = 0;
	r->unreg2 = tri_thread_unregister();
	r->unreg2_errno = errno;
	char *q = tri_malloc(5000); /* registers again */
	r->alloc_ok &= q != NULL && first_nonzero(q, 5000) == 5000;
	r->alloc_ok &= p == NULL || first_not(p, 100, 0x42) == 100;
	tri_free(p);
	r->unreg3 = tri_thread_unregister(); /* 0: the allocation registered */
	tri_free(q);
	return NULL; /* exits registered (tri_free re-registered it or not) */
}

START_TEST(register_other_thread)
{
	struct reg_result r;
	memset(&r, 0x7f, sizeof r);
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, reg_thread, &r), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_msg(r.unreg_fresh == -1 && r.unreg_fresh_errno == EINVAL,
	              "tri_thread_unregister on a never-registered thread: %d "
	              "errno %d, expected -1 EINVAL",
	              r.unreg_fresh, r.unreg_fresh_errno);
	ck_assert_int_eq(r.reg1, 0);
	ck_assert_int_eq(r.reg2, 0);
	ck_assert_int_eq(r.unreg1, 0);
	ck_assert_msg(r.unreg2 == -1 && r.unreg2_errno == EINVAL,
	              "second tri_thread_unregister: %d errno %d, expected -1 "
	              "EINVAL",
	              r.unreg2, r.unreg2_errno);
	ck_assert_msg(r.unreg3 == 0,
	              "tri_thread_unregister after allocating again = %d "
	              "(allocation should have registered the thread)",
	              r.unreg3);
	ck_assert_msg(r.alloc_ok, "allocation around (un)registration failed");
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* statistics                                                                */
/* ------------------------------------------------------------------------ */

START_TEST(stats_truthful)
{
	enum { N = 1000 };
	static void *p[N];
	tri_stats_t s0, s1, s2, s3;

	void *warm = tri_malloc(100); /* initialised, thread registered */
	ck_assert_ptr_nonnull(warm);
	tri_free(warm);

	tri_read_stats(&s0);
	for (int i = 0; i < N; i++) {
		p[i] = tri_malloc(100);
		ck_assert_ptr_nonnull(p[i]);
	}
	tri_read_stats(&s1);
	ck_assert_msg(s1.mallocs - s0.mallocs == N,
	              "mallocs rose by %llu after %d tri_malloc",
	              U(s1.mallocs - s0.mallocs), N);
	ck_assert_msg(s1.frees == s0.frees, "frees rose by %llu with no free",
	              U(s1.frees - s0.frees));
	ck_assert_msg(s1.heap_alloc >= s0.heap_alloc + (uint64_t)N * 100,
	              "heap_alloc %llu -> %llu: rose by less than %d*100",
	              U(s0.heap_alloc), U(s1.heap_alloc), N);
	ck_assert_msg(s1.heap_objects - s0.heap_objects == N,
	              "heap_objects rose by %llu after %d allocations",
	              U(s1.heap_objects - s0.heap_objects), N);
	ck_assert_msg(s1.total_alloc >= s0.total_alloc + (uint64_t)N * 100,
	              "total_alloc %llu -> %llu", U(s0.total_alloc),
	              U(s1.total_alloc));

	for (int i = 0; i < N; i++)
		tri_free(p[i]);
	tri_read_stats(&s2);
	ck_assert_msg(s2.frees - s0.frees == N,
	              "frees rose by %llu after %d tri_free",
	              U(s2.frees - s0.frees), N);
	ck_assert_msg(s2.mallocs == s1.mallocs, "mallocs moved during frees");
	ck_assert_msg(s2.heap_alloc <= s0.heap_alloc + 64 * KiB,
	              "heap_alloc did not fall back after freeing: %llu before, "
	              "%llu with %d objects, %llu after freeing them",
	              U(s0.heap_alloc), U(s1.heap_alloc), N, U(s2.heap_alloc));
	ck_assert_msg(s2.heap_objects == s0.heap_objects,
	              "heap_objects %llu before, %llu after alloc+free",
	              U(s0.heap_objects), U(s2.heap_objects));
	ck_assert_msg(s2.total_alloc >= s1.total_alloc, "total_alloc fell");

	/* Mixed sizes, large ones too. */
	uint64_t seed = 7, bytes = 0;
	for (int i = 0; i < N; i++) {
		size_t n = (i % 100 == 0) ? 40000 + rng_below(&seed, 1 << 20)
		                          : 1 + rng_below(&seed, 2000);
		p[i] = tri_malloc(n);
		ck_assert_ptr_nonnull(p[i]);
		bytes += n;
	}
	tri_read_stats(&s3);
	ck_assert(s3.mallocs - s2.mallocs == N);
	ck_assert_msg(s3.heap_alloc >= s2.heap_alloc + bytes,
	              "heap_alloc rose by %llu for %llu bytes requested",
	              U(s3.heap_alloc - s2.heap_alloc), U(bytes));
	ck_assert(s3.total_alloc >= s2.total_alloc + bytes);
	for (int i = 0; i < N; i++)
		tri_free(p[i]);
	tri_stats_t s4;
	tri_read_stats(&s4);
	ck_assert(s4.frees - s3.frees == N);
	ck_assert_msg(s4.heap_alloc <= s2.heap_alloc + 64 * KiB,
	              "heap_alloc %llu after freeing mixed sizes, was %llu",
	              U(s4.heap_alloc), U(s2.heap_alloc));
	ck_assert(s4.total_alloc >= s3.total_alloc);
	(void)s4.num_gc; /* read, not asserted: the collector comes later */
}
END_TEST

/* Relations that hold by Go's runtime.MemStats definitions. */
static void assert_stats_consistent(const tri_stats_t *s, const char *when)
{
	ck_assert_msg(s->heap_sys == s->heap_inuse + s->heap_idle,
	              "%s: heap_sys %llu != heap_inuse %llu + heap_idle %llu", when,
	              U(s->heap_sys), U(s->heap_inuse), U(s->heap_idle));
	ck_assert_msg(s->heap_released <= s->heap_idle,
	              "%s: heap_released %llu > heap_idle %llu", when,
	              U(s->heap_released), U(s->heap_idle));
	ck_assert_msg(s->heap_alloc <= s->heap_inuse,
	              "%s: heap_alloc %llu > heap_inuse %llu", when,
	              U(s->heap_alloc), U(s->heap_inuse));
	ck_assert_msg(s->heap_objects == s->mallocs - s->frees,
	              "%s: heap_objects %llu != mallocs %llu - frees %llu", when,
	              U(s->heap_objects), U(s->mallocs), U(s->frees));
	ck_assert_msg(s->total_alloc >= s->heap_alloc,
	              "%s: total_alloc %llu < heap_alloc %llu", when,
	              U(s->total_alloc), U(s->heap_alloc));
	ck_assert_msg(s->sys >= s->heap_sys + s->meta_sys,
	              "%s: sys %llu < heap_sys %llu + meta_sys %llu", when,
	              U(s->sys), U(s->heap_sys), U(s->meta_sys));
}

START_TEST(stats_consistent)
{
	tri_stats_t s;
	enum { N = 20000 };
	static void *p[N];
	uint64_t seed = 3;
	tri_read_stats(&s);
	assert_stats_consistent(&s, "fresh heap");
	uint64_t last_total = s.total_alloc;
	for (int i = 0; i < N; i++) {
		size_t n = (i % 500 == 0) ? 32769 + rng_below(&seed, 4 << 20)
		                          : rng_below(&seed, 3000);
		p[i] = (i & 1) ? tri_malloc_noscan(n) : tri_malloc(n);
		ck_assert_ptr_nonnull(p[i]);
		if (i % 997 == 0) {
			tri_read_stats(&s);
			assert_stats_consistent(&s, "while allocating");
			ck_assert(s.total_alloc >= last_total);
			last_total = s.total_alloc;
		}
	}
	tri_read_stats(&s);
	assert_stats_consistent(&s, "after allocating");
	ck_assert(s.heap_objects >= N);
	for (int i = 0; i < N; i += 2)
		tri_free(p[i]);
	tri_read_stats(&s);
	assert_stats_consistent(&s, "after freeing half");
	ck_assert(s.total_alloc >= last_total);
	last_total = s.total_alloc;
	for (int i = 1; i < N; i += 2)
		tri_free(p[i]);
	tri_read_stats(&s);
	assert_stats_consistent(&s, "after freeing all");
	ck_assert(s.total_alloc >= last_total);
	(void)s.num_gc;
}
END_TEST

/* ------------------------------------------------------------------------ */
/* threads                                                                   */
/* ------------------------------------------------------------------------ */

/* Sizes for the cross-thread test: mostly small, sometimes a few pages,
 * rarely large. */
static size_t xthread_size(uint64_t *seed)
{
	uint64_t r = rng_below(seed, 1000);
	if (r < 900)
		return 1 + rng_below(seed, 512);
	if (r < 990)
		return 513 + rng_below(seed, 8192 - 512);
	return 8193 + rng_below(seed, 65536 - 8192);
}

enum { XT_N = 100000, XT_ROUNDS = 20 };

struct xobj {
	void *p;
	size_t n;
	uint64_t tag;
};

static struct xthread {
	struct xobj obj[XT_N];
	int round;
	uint64_t requested;
	sem_t go_a, go_b, done;
	char err[512];
} xt;

static void *xt_alloc_thread(void *arg)
{
	(void)arg;
	for (int round = 0; round < XT_ROUNDS; round++) {
		while (sem_wait(&xt.go_a) != 0)
			;
		uint64_t seed = mix64((uint64_t)round + 1);
		xt.requested = 0;
		for (int i = 0; i < XT_N; i++) {
			size_t n = xthread_size(&seed);
			int kind = (int)rng_below(&seed, 3);
			void *p = kind == 0   ? tri_malloc(n)
			          : kind == 1 ? tri_malloc_noscan(n)
			                      : tri_calloc(1, n);
			if (!p) {
				snprintf(xt.err, sizeof xt.err,
				         "round %d: allocation %d of %zu bytes failed",
				         round, i, n);
				xt.obj[i].p = NULL;
				continue;
			}
			if (first_nonzero(p, n) != n && !xt.err[0])
				snprintf(xt.err, sizeof xt.err,
				         "round %d: new object %p of %zu bytes not zeroed",
				         round, p, n);
			xt.obj[i].p = p;
			xt.obj[i].n = n;
			xt.obj[i].tag = mix64(((uint64_t)round << 32) | (uint64_t)i);
			stamp(p, n, xt.obj[i].tag);
			xt.requested += n;
		}
		sem_post(&xt.done);
	}
	return NULL;
}

static void *xt_free_thread(void *arg)
{
	(void)arg;
	for (int round = 0; round < XT_ROUNDS; round++) {
		while (sem_wait(&xt.go_b) != 0)
			;
		/* Free in a scrambled order. */
		for (int k = 0; k < XT_N; k++) {
			int i = (int)(((uint64_t)k * 7919u) % XT_N);
			struct xobj *o = &xt.obj[i];
			if (!o->p)
				continue;
			size_t off = stamp_check(o->p, o->n, o->n, o->tag);
			if (off != o->n && !xt.err[0])
				snprintf(xt.err, sizeof xt.err,
				         "round %d: object %d at %p (%zu bytes): byte %zu "
				         "corrupted before the cross-thread free",
				         round, i, o->p, o->n, off);
			tri_free(o->p);
			o->p = NULL;
		}
		sem_post(&xt.done);
	}
	return NULL;
}

START_TEST(cross_thread_free)
{
	pthread_t a, b;
	tri_stats_t base, s;
	uint64_t sys_round2 = 0;

	memset(&xt, 0, sizeof xt);
	sem_init(&xt.go_a, 0, 0);
	sem_init(&xt.go_b, 0, 0);
	sem_init(&xt.done, 0, 0);
	ck_assert_int_eq(pthread_create(&a, NULL, xt_alloc_thread, NULL), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, xt_free_thread, NULL), 0);
	tri_read_stats(&base);
	uint64_t last_total = base.total_alloc;
	for (int round = 1; round <= XT_ROUNDS; round++) {
		sem_post(&xt.go_a);
		while (sem_wait(&xt.done) != 0)
			;
		ck_assert_msg(!xt.err[0], "%s", xt.err);
		tri_read_stats(&s);
		ck_assert_msg(s.heap_alloc >= base.heap_alloc + xt.requested,
		              "round %d: heap_alloc %llu with %llu bytes live "
		              "(baseline %llu)",
		              round, U(s.heap_alloc), U(xt.requested),
		              U(base.heap_alloc));
		ck_assert_msg(s.heap_objects >= base.heap_objects + XT_N,
		              "round %d: heap_objects %llu", round,
		              U(s.heap_objects));
		ck_assert(s.total_alloc >= last_total);
		last_total = s.total_alloc;

		sem_post(&xt.go_b);
		while (sem_wait(&xt.done) != 0)
			;
		ck_assert_msg(!xt.err[0], "%s", xt.err);
		tri_read_stats(&s);
		ck_assert_msg(s.heap_alloc <= base.heap_alloc + 1 * MiB,
		              "round %d: heap_alloc %llu after the other thread "
		              "freed everything (baseline %llu)",
		              round, U(s.heap_alloc), U(base.heap_alloc));
		ck_assert_msg(s.heap_objects == base.heap_objects,
		              "round %d: heap_objects %llu after freeing all, "
		              "baseline %llu",
		              round, U(s.heap_objects), U(base.heap_objects));
		ck_assert(s.total_alloc >= last_total);
		last_total = s.total_alloc;
		if (round == 2)
			sys_round2 = s.heap_sys;
		if (round == XT_ROUNDS)
			ck_assert_msg(s.heap_sys <= 2 * sys_round2 + 16 * MiB,
			              "heap_sys grew from %llu after round 2 to %llu "
			              "after round %d: cross-thread frees are not "
			              "reused",
			              U(sys_round2), U(s.heap_sys), round);
	}
	ck_assert_int_eq(pthread_join(a, NULL), 0);
	ck_assert_int_eq(pthread_join(b, NULL), 0);
	assert_heap_works();
}
END_TEST

/* A thread allocates and exits (unregistering); another frees its
 * objects afterwards. */
enum { EXIT_N = 20000 };
static void *exit_objs[EXIT_N];

static void *alloc_and_exit(void *arg)
{
	(void)arg;
	for (int i = 0; i < EXIT_N; i++) {
		size_t n = 1 + (size_t)(i * 37) % 3000;
		exit_objs[i] = tri_malloc(n);
		if (exit_objs[i])
			stamp(exit_objs[i], n, (uint64_t)i);
	}
	return NULL;
}

START_TEST(free_after_thread_exit)
{
	tri_stats_t s0, s1;
	tri_read_stats(&s0);
	for (int round = 0; round < 5; round++) {
		pthread_t t;
		ck_assert_int_eq(pthread_create(&t, NULL, alloc_and_exit, NULL), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		for (int i = 0; i < EXIT_N; i++) {
			size_t n = 1 + (size_t)(i * 37) % 3000;
			ck_assert_msg(exit_objs[i] != NULL, "allocation %d failed", i);
			size_t off = stamp_check(exit_objs[i], n, n, (uint64_t)i);
			ck_assert_msg(off == n,
			              "object %d (%zu bytes at %p) of an exited thread "
			              "corrupted at byte %zu",
			              i, n, exit_objs[i], off);
			tri_free(exit_objs[i]);
		}
	}
	tri_read_stats(&s1);
	ck_assert_msg(s1.heap_alloc <= s0.heap_alloc + 1 * MiB,
	              "heap_alloc %llu -> %llu", U(s0.heap_alloc),
	              U(s1.heap_alloc));
	ck_assert_uint_eq(s1.mallocs - s0.mallocs, 5 * EXIT_N);
	ck_assert_uint_eq(s1.frees - s0.frees, 5 * EXIT_N);
}
END_TEST

/* Many threads, random sizes from 1 byte to 64 MiB. */
enum { MT_THREADS = 8, MT_SLOTS = 128, MT_OPS = 6000 };

struct mt_slot {
	void *p;
	size_t n;
};

struct mt_arg {
	int id;
	char err[512];
	unsigned long ops;
};

static uint64_t addr_tag(const void *p, size_t n)
{
	return mix64((uint64_t)(uintptr_t)p ^ ((uint64_t)n << 17) ^ 0xabcdefull);
}

static size_t mt_size(uint64_t *seed)
{
	uint64_t r = rng_below(seed, 1000);
	if (r < 900)
		return 1 + rng_below(seed, 512);
	if (r < 980)
		return 513 + rng_below(seed, 32768 - 512);
	if (r < 998)
		return 32769 + rng_below(seed, MiB - 32768);
	/* log-uniform in [1 MiB, 64 MiB] */
	unsigned bits = 20 + (unsigned)rng_below(seed, 7);
	size_t lo = (size_t)1 << bits;
	size_t n = lo + rng_below(seed, lo);
	return n > 64 * MiB ? 64 * MiB : n;
}

static int mt_verify_free(struct mt_arg *a, struct mt_slot *s)
{
	size_t off = stamp_check(s->p, s->n, s->n, addr_tag(s->p, s->n));
	if (off != s->n) {
		snprintf(a->err, sizeof a->err,
		         "thread %d: object %p (%zu bytes): byte %zu corrupted", a->id,
		         s->p, s->n, off);
		return -1;
	}
	tri_free(s->p);
	s->p = NULL;
	return 0;
}

static void *mt_thread(void *arg)
{
	struct mt_arg *a = arg;
	struct mt_slot slot[MT_SLOTS];
	uint64_t seed = mix64(0x5eed0000u + (unsigned)a->id);
	memset(slot, 0, sizeof slot);
	for (int op = 0; op < MT_OPS && !a->err[0]; op++) {
		struct mt_slot *s = &slot[rng_below(&seed, MT_SLOTS)];
		if (s->p) {
			if (mt_verify_free(a, s))
				break;
			continue;
		}
		size_t n = (a->id == 0 && op == 0) ? 64 * MiB : mt_size(&seed);
		int kind = (int)rng_below(&seed, 4);
		void *p = kind == 0   ? tri_malloc(n)
		          : kind == 1 ? tri_malloc_noscan(n)
		          : kind == 2 ? tri_calloc(n, 1)
		                      : tri_realloc(NULL, n);
		if (!p) {
			snprintf(a->err, sizeof a->err,
			         "thread %d: allocation of %zu bytes (kind %d) failed, "
			         "errno %d",
			         a->id, n, kind, errno);
			break;
		}
		size_t z = first_nonzero(p, n);
		if (z != n) {
			snprintf(a->err, sizeof a->err,
			         "thread %d: new object %p (%zu bytes, kind %d): byte %zu "
			         "not zero",
			         a->id, p, n, kind, z);
			break;
		}
		s->p = p;
		s->n = n;
		stamp(p, n, addr_tag(p, n));
		a->ops++;
	}
	for (int i = 0; i < MT_SLOTS && !a->err[0]; i++)
		if (slot[i].p && mt_verify_free(a, &slot[i]))
			break;
	return NULL;
}

START_TEST(many_threads)
{
	pthread_t t[MT_THREADS];
	static struct mt_arg a[MT_THREADS];
	memset(a, 0, sizeof a);
	for (int i = 0; i < MT_THREADS; i++) {
		a[i].id = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, mt_thread, &a[i]), 0);
	}
	for (int i = 0; i < MT_THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < MT_THREADS; i++) {
		ck_assert_msg(!a[i].err[0], "%s", a[i].err);
		ck_assert_msg(a[i].ops > MT_OPS / 4, "thread %d did only %lu ops", i,
		              a[i].ops);
	}
	tri_stats_t s;
	tri_read_stats(&s);
	ck_assert_msg(s.heap_objects == 0,
	              "heap_objects %llu after every object was freed",
	              U(s.heap_objects));
	ck_assert_msg(s.mallocs == s.frees,
	              "every object was freed but mallocs %llu != frees %llu",
	              U(s.mallocs), U(s.frees));
	assert_heap_works();
}
END_TEST

/* ------------------------------------------------------------------------ */
/* suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *api_suite(void)
{
	Suite *s = suite_create("tricolor-api");
	TCase *tc;

	tc = tcase(s, "zero", 240);
	tcase_add_test(tc, zero_malloc_small);
	tcase_add_test(tc, zero_noscan_small);
	tcase_add_test(tc, zero_malloc_large);
	tcase_add_test(tc, zero_noscan_large);
	tcase_add_test(tc, zero_beyond_arena);
	tcase_add_test(tc, zero_after_span_reuse);

	tc = tcase(s, "align", 120);
	tcase_add_test(tc, align_malloc);
	tcase_add_test(tc, align_noscan);
	tcase_add_test(tc, align_calloc);
	tcase_add_test(tc, align_realloc);

	tc = tcase(s, "zero_size", 60);
	tcase_add_test(tc, zero_size_objects);

	tc = tcase(s, "usable", 240);
	tcase_add_test(tc, usable_null);
	tcase_add_test(tc, usable_small);
	tcase_add_test(tc, usable_noscan);
	tcase_add_test(tc, usable_large);

	tc = tcase(s, "realloc", 120);
	tcase_add_test(tc, realloc_null);
	tcase_add_test(tc, realloc_content);
	tcase_add_test(tc, realloc_content_noscan);
	tcase_add_test(tc, realloc_steps);
	tcase_add_test(tc, realloc_shrink_then_grow);
	tcase_add_test(tc, realloc_to_zero);
	tcase_add_test(tc, realloc_failure_keeps_p);

	tc = tcase(s, "calloc", 60);
	tcase_add_test(tc, calloc_zeroed);
	tcase_add_test(tc, calloc_overflow);

	tc = tcase(s, "huge", 60);
	tcase_add_test(tc, huge_requests);

	tc = tcase(s, "abort", 30);
	tcase_add_test_raise_signal(tc, abort_free_stack, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_stack_uninit, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_global, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_glibc, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_wild, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_interior_small, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_interior_large, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_double_free_small, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_double_free_small_busy_span,
	                            SIGABRT);
	tcase_add_test_raise_signal(tc, abort_double_free_large, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_free_after_realloc_moved, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_double_free_zero_size, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_double_free_tiny, SIGABRT);
	tcase_add_test_raise_signal(tc, abort_usable_size_interior, SIGABRT);

	tc = tcase(s, "diag", 30);
	tcase_add_test(tc, diag_double_free_small);
	tcase_add_test(tc, diag_free_stack);
	tcase_add_test(tc, diag_free_interior_large);
	tcase_add_test(tc, diag_free_glibc);

	tc = tcase(s, "misc", 30);
	tcase_add_test(tc, init_and_version);
	tcase_add_test(tc, free_null);
	tcase_add_test(tc, register_main_thread);
	tcase_add_test(tc, register_other_thread);

	tc = tcase(s, "stats", 60);
	tcase_add_test(tc, stats_truthful);
	tcase_add_test(tc, stats_consistent);

	tc = tcase(s, "threads", 600);
	tcase_add_test(tc, cross_thread_free);
	tcase_add_test(tc, free_after_thread_exit);
	tcase_add_test(tc, many_threads);

	return s;
}

int main(void)
{
	return run_suite(api_suite());
}

/*
 * test/testlib.h -- owned by the tests (not by the library).
 *
 * Helpers shared by the API tests (test/api) and the stress programs
 * (test/stress): libc only, static functions (all inline but clear_stack),
 * no state. Include it as "../testlib.h".
 *
 *   mix64            a 64-bit finaliser (splitmix64's): a good hash of a word
 *   rng_next/below   splitmix64, one uint64_t of state, seeded by the caller
 *   first_nonzero    offset of the first non-zero byte of a range
 *   stamp...         fill an object with a pattern derived from a tag and
 *                    check it: the byte at an offset depends only on (tag,
 *                    offset, length stamped), so a prefix can be checked
 *   hide_ptr/unhide  keep an address in a form that is not a pointer for a
 *                    conservative collector
 *   clear_stack      overwrite the stack below the caller
 *   KiB, MiB, NELEMS, U (a value as unsigned long long, for %llu), NOINLINE
 *   TESTLIB_REAL_STACKS  defined before the include by a program whose
 *                    locals must stay on the real stack under ASan (its
 *                    fake stacks would hide them from the collector)
 *
 * Conservative-collector tests: to show that an object is collected, the
 * test must not keep its address anywhere the collector scans. The pattern
 * is: allocate in a noinline helper that stores only hide_ptr(p) (or stores
 * p only in memory the collector does not scan), return, call clear_stack()
 * so the helper's dead frame is overwritten, then collect. A stale copy can
 * still survive in a callee-saved register, so such tests count: most of
 * many objects must go, not every one.
 */
#ifndef TRICOLOR_TESTLIB_H
#define TRICOLOR_TESTLIB_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define KiB       ((size_t)1 << 10)
#define MiB       ((size_t)1 << 20)
#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define U(x)      ((unsigned long long)(x))
#define NOINLINE  __attribute__((noinline))

#if defined(TESTLIB_REAL_STACKS) && defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_stack_use_after_return=0";
}
#endif

/* ------------------------------------------------------------------------ */
/* hashing and random numbers                                                */
/* ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* splitmix64: one generator per thread, seeded deterministically. */
static inline uint64_t rng_next(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull;
	return mix64(*s);
}

/* Uniform-ish in [0, n); 0 when n == 0. */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

/* ------------------------------------------------------------------------ */
/* contents                                                                  */
/* ------------------------------------------------------------------------ */

/* Offset of the first non-zero byte of p[0..n), or n if all are zero. */
static inline size_t first_nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;
	while (i < n && ((uintptr_t)(b + i) & 7) != 0) {
		if (b[i])
			return i;
		i++;
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w)
			break;
	}
	for (; i < n; i++)
		if (b[i])
			return i;
	return n;
}

/* Pattern word at (8-aligned) offset i, and byte at offset i of the tail
 * that does not fill a word, of an object stamped with tag. */
static inline uint64_t stamp_word(uint64_t tag, size_t i)
{
	return tag ^ ((uint64_t)i * 0x9e3779b97f4a7c15ull);
}

static inline unsigned char stamp_byte(uint64_t tag, size_t i)
{
	return (unsigned char)(mix64(tag ^ i) | 1); /* never 0 */
}

/* Fill p[0..n) with tag's pattern. */
static inline void stamp(void *p, size_t n, uint64_t tag)
{
	unsigned char *b = p;
	size_t i;
	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t w = stamp_word(tag, i);
		memcpy(b + i, &w, 8);
	}
	for (; i < n; i++)
		b[i] = stamp_byte(tag, i);
}

/* Byte i of a range of `full` bytes stamped with tag. */
static inline unsigned char expected_byte(uint64_t tag, size_t full, size_t i)
{
	size_t words = full & ~(size_t)7;
	if (i < words) {
		uint64_t w = stamp_word(tag, i & ~(size_t)7);
		unsigned char b[8];
		memcpy(b, &w, 8);
		return b[i & 7];
	}
	return stamp_byte(tag, i);
}

/* First offset in p[0..n) not matching stamp(p, full, tag) where full >= n
 * is the length originally stamped; n if all match. */
static inline size_t stamp_check(const void *p, size_t n, size_t full,
                                 uint64_t tag)
{
	const unsigned char *b = p;
	size_t words = full & ~(size_t)7;
	size_t i;
	for (i = 0; i + 8 <= n && i + 8 <= words; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w != stamp_word(tag, i))
			break;
	}
	for (; i < n; i++)
		if (b[i] != expected_byte(tag, full, i))
			return i;
	return n;
}

/* ------------------------------------------------------------------------ */
/* hiding pointers from a conservative collector                             */
/* ------------------------------------------------------------------------ */

/* On 64-bit Linux user addresses are below 2^47; xor with this mask gives
 * a non-canonical value that no heap can contain, and unhide_ptr(hide_ptr(p))
 * == p. (On a 32-bit target a hidden value could alias the heap.) */
#define TESTLIB_HIDE_MASK ((uintptr_t)0xa5a5a5a5a5a5a5a5ull)

static inline uintptr_t hide_ptr(const void *p)
{
	return (uintptr_t)p ^ TESTLIB_HIDE_MASK;
}

static inline void *unhide_ptr(uintptr_t h)
{
	return (void *)(h ^ TESTLIB_HIDE_MASK);
}

/* Bytes of stack clear_stack overwrites below its caller's frame: more than
 * the allocator's and the test helpers' frames use. */
#define TESTLIB_CLEAR_STACK_BYTES (64 * 1024)

/* Overwrite the stack below the caller (dead frames of functions it called)
 * with zeroes; calling it also clobbers the caller-saved registers. Not
 * inline on purpose (an inlined copy would clear nothing below the caller). */
static __attribute__((noinline, unused)) void clear_stack(void)
{
	volatile uint64_t buf[TESTLIB_CLEAR_STACK_BYTES / 8];
	for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++)
		buf[i] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* Parse a whole unsigned decimal (or 0x) number; 0 on success. */
static inline int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

#ifdef CHECK_H /* the Check suites (check.h included first) */
/* A test case with its timeout, added to s. */
/* The process's resident set size, from /proc/self/statm. */
static inline size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Seconds on the monotonic clock. */
static inline double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline TCase *tcase(Suite *s, const char *name, double timeout)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout);
	suite_add_tcase(s, tc);
	return tc;
}

/* Run the suite (forked, CK_ENV verbosity) with the collector's
 * environment cleared, so every test starts from the defaults; the exit
 * status says whether all passed. */
static inline int run_suite(Suite *s)
{
	unsetenv("GOGC");
	unsetenv("GODEBUG");
	unsetenv("GOMEMLIMIT");
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
#endif

#endif /* TRICOLOR_TESTLIB_H */

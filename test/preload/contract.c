/*
 * contract.c -- owned by test/preload/run.sh. The malloc family against
 * its contracts (C11, POSIX, glibc), built without tricolor and run with
 * and without the preload: it must pass under both.
 *
 *   contract          every check; prints "N passed, N failed"
 *   contract foreign  frees memory malloc never returned (must abort)
 *
 * Checks: alignment of malloc (16 for every size), posix_memalign /
 * aligned_alloc / memalign / valloc / pvalloc for alignments 1 B .. 64 KiB
 * and sizes 0 .. 256 KiB (aligned, usable size covers the request, the
 * whole request writable, freeable), realloc keeping contents across size
 * classes, realloc(p, 0), calloc zeroing and overflow, huge requests
 * (NULL, ENOMEM), EINVAL for bad alignments; allocation from a
 * constructor and from a thread started in a constructor, before main;
 * malloc reached through dlsym.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int passed, failed;
/* Sizes the compiler must not see through (it rejects them at build). */
static volatile size_t half_max = SIZE_MAX / 2, near_max = SIZE_MAX - 100;
static volatile size_t foreign_offset = 64;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (cond) {                                                  \
			passed++;                                            \
		} else {                                                     \
			failed++;                                            \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

static void *early_obj;
static void *early_thread_obj;

static void *early_thread(void *arg)
{
	(void)arg;
	char *p = malloc(1000);
	if (p)
		memset(p, 7, 1000);
	return p;
}

__attribute__((constructor)) static void early(void)
{
	early_obj = strdup("allocated in a constructor");
	pthread_t t;
	if (pthread_create(&t, NULL, early_thread, NULL) == 0)
		pthread_join(t, &early_thread_obj);
}

static void fill_check(unsigned char *p, size_t n, const char *what,
                       size_t a)
{
	memset(p, 0xa5, n);
	size_t bad = n;
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xa5) {
			bad = i;
			break;
		}
	CHECK(bad == n, "%s(align %zu, %zu): byte %zu", what, a, n, bad);
}

static void check_aligned(void)
{
	static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 24, 100, 1000,
	                               4095, 4096, 4097, 8192, 10000, 32768,
	                               32769, 100000, 262144};
	for (size_t a = 1; a <= 65536; a *= 2)
		for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
			size_t n = sizes[i];
			void *p = NULL;
			int err = posix_memalign(&p, a, n);
			if (a < sizeof(void *)) {
				CHECK(err == EINVAL, "posix_memalign(%zu): %d",
				      a, err);
				continue;
			}
			CHECK(err == 0 && p, "posix_memalign(%zu, %zu)", a, n);
			if (!p)
				continue;
			CHECK((uintptr_t)p % a == 0, "posix_memalign(%zu, %zu)"
			      " = %p misaligned", a, n, p);
			CHECK(malloc_usable_size(p) >= n, "usable %zu < %zu",
			      malloc_usable_size(p), n);
			fill_check(p, n, "posix_memalign", a);
			free(p);
			p = aligned_alloc(a, n);
			CHECK(p && (uintptr_t)p % a == 0,
			      "aligned_alloc(%zu, %zu) = %p", a, n, p);
			if (p)
				fill_check(p, n, "aligned_alloc", a);
			free(p);
			p = memalign(a, n);
			CHECK(p && (uintptr_t)p % a == 0,
			      "memalign(%zu, %zu) = %p", a, n, p);
			if (p) {
				fill_check(p, n, "memalign", a);
				p = realloc(p, n + 5000); /* may move */
				CHECK(p != NULL, "realloc of memalign'ed");
			}
			free(p);
		}
	void *p = valloc(100);
	CHECK(p && (uintptr_t)p % 4096 == 0, "valloc = %p", p);
	free(p);
	p = pvalloc(5000);
	CHECK(p && (uintptr_t)p % 4096 == 0 && malloc_usable_size(p) >= 8192,
	      "pvalloc(5000) = %p usable %zu", p, p ? malloc_usable_size(p) : 0);
	free(p);
	void *q = NULL;
	CHECK(posix_memalign(&q, 24, 10) == EINVAL, "posix_memalign(24)");
	CHECK(posix_memalign(&q, 0, 10) == EINVAL, "posix_memalign(0)");
}

static void check_malloc(void)
{
	for (size_t n = 0; n <= 70000; n = n < 64 ? n + 1 : n * 5 / 4) {
		unsigned char *p = malloc(n);
		CHECK(p && (uintptr_t)p % 16 == 0, "malloc(%zu) = %p", n, p);
		CHECK(!p || malloc_usable_size(p) >= n, "usable(%zu)", n);
		if (p)
			memset(p, 1, n);
		free(p);
	}
	/* realloc keeps contents while growing and shrinking */
	size_t n = 1;
	unsigned char *p = malloc(n);
	p[0] = 0;
	for (; n < 300000; n = n * 3 / 2 + 1) {
		unsigned char *q = realloc(p, n);
		CHECK(q != NULL, "realloc(%zu)", n);
		if (!q)
			break;
		p = q;
		size_t old = n * 2 / 3;
		int ok = 1;
		for (size_t i = 0; i < old && i < n; i++)
			ok &= p[i] == (unsigned char)(i * 31);
		CHECK(ok, "realloc(%zu) lost contents", n);
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)(i * 31);
	}
	p = realloc(p, 10);
	CHECK(p && p[9] == (unsigned char)(9 * 31), "shrinking realloc");
	errno = 0;
	CHECK(realloc(p, 0) == NULL, "realloc(p, 0) frees and returns NULL");
	unsigned char *z = calloc(1000, 7);
	int zero = 1;
	for (int i = 0; z && i < 7000; i++)
		zero &= z[i] == 0;
	CHECK(z && zero, "calloc zeroes");
	free(z);
	errno = 0;
	CHECK(calloc(half_max, 3) == NULL && errno == ENOMEM,
	      "calloc overflow");
	errno = 0;
	CHECK(malloc(near_max) == NULL && errno == ENOMEM, "huge malloc");
	errno = 0;
	CHECK(malloc((size_t)1 << 50) == NULL && errno == ENOMEM,
	      "1 PiB malloc");
	errno = 0;
	CHECK(reallocarray(NULL, half_max, 4) == NULL && errno == ENOMEM,
	      "reallocarray overflow");
	free(NULL);
	CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL)");
}

static void check_early(void)
{
	CHECK(early_obj && strcmp(early_obj, "allocated in a constructor") == 0,
	      "constructor allocation");
	free(early_obj);
	CHECK(early_thread_obj && ((char *)early_thread_obj)[999] == 7,
	      "allocation in a thread started by a constructor");
	free(early_thread_obj);
	void *(*m)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
	void (*f)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "free");
	CHECK(m && f, "dlsym malloc/free");
	if (m && f) {
		void *p = m(123);
		CHECK(p != NULL, "malloc through dlsym");
		f(p);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "foreign") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		free((char *)p + foreign_offset); /* never returned by malloc */
		puts("foreign free returned");
		return 0;
	}
	check_early();
	check_malloc();
	check_aligned();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

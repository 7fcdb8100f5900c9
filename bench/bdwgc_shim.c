/*
 * bdwgc_shim.c -- owned by bench/malloc.sh. The malloc family over bdwgc
 * for LD_PRELOAD, as bdwgc's users redirect malloc: malloc is GC_malloc
 * (scanned, collected), free is GC_free (honoured at once), realloc
 * GC_realloc, the aligned calls GC_memalign. A thread registers with the
 * collector on its first allocation (GC_register_my_thread) and leaves at
 * exit through a key destructor. A benchmark peer only: never installed.
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct GC_stack_base {
	void *mem_base;
};
void GC_init(void);
void GC_allow_register_threads(void);
int GC_get_stack_base(struct GC_stack_base *);
int GC_register_my_thread(const struct GC_stack_base *);
int GC_unregister_my_thread(void);
void *GC_malloc(size_t);
void *GC_realloc(void *, size_t);
void *GC_memalign(size_t, size_t);
void GC_free(void *);
size_t GC_size(const void *);
void *GC_base(void *);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static __thread int registered;

/* Past this, the C library still frees its thread state: such frees
 * are dropped (the collector reclaims the objects). */
static __thread int gone;

static void leave(void *arg)
{
	(void)arg;
	GC_unregister_my_thread();
	gone = 1;
}

/* GC_init calls malloc (pthread_getattr_np's fopen): while it runs, the
 * initialising thread allocates from a static arena, never freed. */
static __thread int in_init;
static char boot[1 << 16] __attribute__((aligned(16)));
static size_t boot_top;

static int is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (boot_top + n > sizeof boot)
		return NULL;
	void *p = boot + boot_top;
	boot_top += n;
	return p;
}

static void init(void)
{
	in_init = 1;
	GC_init(); /* starts the marker threads too */
	GC_allow_register_threads();
	pthread_key_create(&key, leave);
	in_init = 0;
	registered = 1; /* GC_init registered the calling thread */
}

static void enter(void)
{
	if (registered)
		return;
	pthread_once(&once, init);
	if (registered)
		return;
	struct GC_stack_base sb;
	registered = 1;
	if (GC_get_stack_base(&sb) == 0) {
		GC_register_my_thread(&sb);
		pthread_setspecific(key, (void *)1);
	}
}

void *malloc(size_t n)
{
	if (in_init)
		return boot_alloc(n);
	enter();
	void *p = GC_malloc(n);
	if (!p)
		errno = ENOMEM;
	return p;
}

void *calloc(size_t c, size_t n)
{
	if (n && c > SIZE_MAX / n) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(c * n); /* GC_malloc clears */
}

void *realloc(void *p, size_t n)
{
	if (in_init || is_boot(p)) {
		void *q = malloc(n);
		if (q && p)
			memcpy(q, p, n); /* boot blocks are small, in bounds */
		return q;
	}
	enter();
	return GC_realloc(p, n);
}

void free(void *p)
{
	if (in_init || is_boot(p) || gone)
		return;
	enter();
	if (p && GC_base(p) == p)
		GC_free(p);
}

void *memalign(size_t a, size_t n)
{
	enter();
	return GC_memalign(a, n);
}

void *aligned_alloc(size_t a, size_t n)
{
	return memalign(a, n);
}

int posix_memalign(void **out, size_t a, size_t n)
{
	void *p = memalign(a, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

size_t malloc_usable_size(void *p)
{
	return p ? GC_size(p) : 0;
}

/*
 * base.c -- the fatal-error path, the allocation-free formatter and the
 * ranked mutex.
 *
 * Invariants:
 *   I1. Nothing here allocates: base_fatal and base_format use only the
 *       caller's stack and the write system call, so they work with the
 *       heap corrupt. It is made directly (syscall), never through the
 *       blocking-call wrappers (gc/blocking.c): a wrapper that cannot find
 *       the C library's function reports it here.
 *   I2. At TRI_DEBUG >= 2 a thread only acquires a lock whose rank is higher
 *       than every lock it holds (the order is listed in base.h).
 *   I3. Every base_mutex ever initialised is in the fork registry exactly
 *       once (locks are never destroyed: they live in static or persistent
 *       memory). The registry is a fixed array under registry_mu, which
 *       base_fork_prepare holds until the parent or child handler, so no
 *       lock is registered while fork holds them.
 */
#include "base.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- formatter ---- */

struct fmtbuf {
	char *p;
	size_t len, cap;
};

static void put_char(struct fmtbuf *b, char c)
{
	if (b->len + 1 < b->cap)
		b->p[b->len++] = c;
}

static void put_str(struct fmtbuf *b, const char *s)
{
	for (s = s ? s : "(null)"; *s; s++)
		put_char(b, *s);
}

static void put_uint(struct fmtbuf *b, unsigned long long v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		put_char(b, tmp[--n]);
}

/* Consume the length modifiers l, ll and z; return the conversion char. */
static const char *skip_length(const char *f, int *is_long)
{
	*is_long = 0;
	while (*f == 'l' || *f == 'z') {
		*is_long = 1;
		f++;
	}
	return f;
}

static void vformat(struct fmtbuf *b, const char *f, va_list ap)
{
	for (; *f; f++) {
		if (*f != '%') {
			put_char(b, *f);
			continue;
		}
		int is_long;
		f = skip_length(f + 1, &is_long);
		switch (*f) {
		case 's': put_str(b, va_arg(ap, const char *)); break;
		case 'c': put_char(b, (char)va_arg(ap, int)); break;
		case '%': put_char(b, '%'); break;
		case 'p':
			put_str(b, "0x");
			put_uint(b, (uintptr_t)va_arg(ap, void *), 16);
			break;
		case 'd': {
			long long v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			if (v < 0) {
				put_char(b, '-');
				v = -v;
			}
			put_uint(b, (unsigned long long)v, 10);
			break;
		}
		case 'u':
		case 'x':
			put_uint(b, is_long ? va_arg(ap, unsigned long)
			                    : va_arg(ap, unsigned),
			         *f == 'x' ? 16 : 10);
			break;
		default: put_char(b, '?'); break;
		}
		if (!*f)
			break;
	}
	b->p[b->len] = '\0';
}

size_t base_format(char *buf, size_t cap, const char *fmt, ...)
{
	struct fmtbuf b = {buf, 0, cap};
	va_list ap;
	va_start(ap, fmt);
	vformat(&b, fmt, ap);
	va_end(ap);
	return b.len;
}

static void write_line(const char *fmt, va_list ap)
{
	char line[512];
	struct fmtbuf b = {line, 0, sizeof line - 1};
	put_str(&b, "tricolor: ");
	vformat(&b, fmt, ap);
	line[b.len++] = '\n';
	for (size_t off = 0; off < b.len;) {
		long n = syscall(SYS_write, 2, line + off, b.len - off); /* I1 */
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void base_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(fmt, ap);
	va_end(ap);
	abort();
}

void base_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_line(fmt, ap);
	va_end(ap);
}

void base_assert_fail(const char *expr, const char *file, int line)
{
	base_fatal("assertion failed: %s (%s:%d)", expr, file, line);
}

/* ---- ranked mutex ---- */

/* Highest rank held by this thread, per nesting depth (I2). */
static __thread enum lock_rank held_ranks[8];
static __thread int held_depth;

/* ---- the heap-critical region (base.h) ---- */

__thread m_state tri_m __attribute__((tls_model("initial-exec")));

/* ---- the fork registry (I3) ---- */

#define MAX_LOCKS 512
static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static base_mutex *registry[MAX_LOCKS];
static int nregistered;

static void register_lock(base_mutex *l)
{
	pthread_mutex_lock(&registry_mu);
	int i = 0;
	while (i < nregistered && registry[i] != l)
		i++;
	if (i == nregistered) {
		if (nregistered == MAX_LOCKS)
			base_fatal("more than %d locks", MAX_LOCKS);
		registry[nregistered++] = l;
	}
	pthread_mutex_unlock(&registry_mu);
}

void base_fork_prepare(void)
{
	pthread_mutex_lock(&registry_mu);
	for (int rank = 1; rank < LOCK_RANK_COUNT; rank++)
		for (int i = 0; i < nregistered; i++)
			if ((int)registry[i]->rank == rank)
				pthread_mutex_lock(&registry[i]->m);
}

void base_fork_parent(void)
{
	for (int rank = LOCK_RANK_COUNT - 1; rank > 0; rank--)
		for (int i = nregistered - 1; i >= 0; i--)
			if ((int)registry[i]->rank == rank)
				pthread_mutex_unlock(&registry[i]->m);
	pthread_mutex_unlock(&registry_mu);
}

static void mutex_make(base_mutex *l)
{
	/* Adaptive: critical sections are short (list moves, one span), so
	 * spinning briefly beats sleeping in the kernel when contended. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	pthread_mutex_init(&l->m, &attr);
	pthread_mutexattr_destroy(&attr);
}

void base_mutex_init(base_mutex *l, enum lock_rank rank)
{
	TRI_ASSERT(rank > LOCK_RANK_NONE && rank < LOCK_RANK_COUNT);
	mutex_make(l);
	l->rank = rank;
	register_lock(l);
}

void base_fork_child(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	registry_mu = m;
	for (int i = 0; i < nregistered; i++)
		mutex_make(registry[i]);
	held_depth = 0; /* the forking thread held them all in prepare */
}

void base_mutex_lock(base_mutex *l)
{
	if (TRI_DEBUG >= 2) {
		TRI_ASSERT2(held_depth < 8);
		/* I2: ranks increase along a chain of acquisitions. */
		TRI_ASSERT2(held_depth == 0 ||
		            held_ranks[held_depth - 1] < l->rank);
	}
	pthread_mutex_lock(&l->m);
	if (TRI_DEBUG >= 2)
		held_ranks[held_depth++] = l->rank;
}

void base_mutex_unlock(base_mutex *l)
{
	if (TRI_DEBUG >= 2) {
		TRI_ASSERT2(held_depth > 0 &&
		            held_ranks[held_depth - 1] == l->rank);
		held_depth--;
	}
	pthread_mutex_unlock(&l->m);
}

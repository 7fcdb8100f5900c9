/*
 * stacks.c -- registered coroutine stacks and the root scanner; see
 * stacks.h.
 */
#include "stacks.h"

#include <errno.h>

#include "../alloc/fixalloc.h"
#include "../include/tricolor.h"

#define STACK_LIVE ((uintptr_t)0x57ac4a11e5u)
#define STACK_DEAD ((uintptr_t)0xdeadde57u)

struct tri_stack {
	uintptr_t magic;          /* STACK_LIVE while registered */
	uintptr_t lo, hi;         /* 8-byte aligned */
	atomic_word sp;           /* I2: lo until the first switch-out */
	uint64_t running_scan;    /* the scan that found a thread on it */
	struct tri_stack *next, *prev; /* stacks_lock */
};

static base_mutex stacks_lock;
static struct tri_stack *all_stacks; /* I1 */
static fixalloc stack_alloc;
static uint64_t scan_gen;           /* stacks_begin_scan */

static void (*scanner_fn)(void *);  /* stacks_lock */
static void *scanner_arg;
static __thread root_range_fn scan_to; /* I3: set while the scanner runs */
static __thread void *scan_to_arg;

bool stacks_init(void)
{
	base_mutex_init(&stacks_lock, LOCK_RANK_STACKS);
	fixalloc_init(&stack_alloc, sizeof(struct tri_stack));
	return true;
}

TRI_API tri_stack_t *tri_stack_register(void *lo, void *hi)
{
	uintptr_t l = align_up((uintptr_t)lo, sizeof(void *));
	uintptr_t h = align_down((uintptr_t)hi, sizeof(void *));
	if ((uintptr_t)hi <= (uintptr_t)lo || h <= l) {
		base_warn("tri_stack_register(%p, %p): empty or inverted range",
		         lo, hi);
		errno = EINVAL;
		return NULL;
	}
	if (tri_init() != 0)
		return NULL;
	m_acquire();
	struct tri_stack *s = fixalloc_alloc(&stack_alloc);
	if (s) {
		*s = (struct tri_stack){.magic = STACK_LIVE, .lo = l, .hi = h,
		                        .sp = l};
		base_mutex_lock(&stacks_lock);
		s->next = all_stacks;
		if (all_stacks)
			all_stacks->prev = s;
		all_stacks = s;
		base_mutex_unlock(&stacks_lock);
	}
	m_release();
	if (!s)
		errno = ENOMEM;
	return s;
}

TRI_API void tri_stack_unregister(tri_stack_t *s)
{
	if (!s)
		return;
	m_acquire();
	base_mutex_lock(&stacks_lock);
	bool live = s->magic == STACK_LIVE;
	if (live) {
		s->magic = STACK_DEAD;
		if (s->prev)
			s->prev->next = s->next;
		else
			all_stacks = s->next;
		if (s->next)
			s->next->prev = s->prev;
	}
	base_mutex_unlock(&stacks_lock);
	if (live)
		fixalloc_free(&stack_alloc, s);
	m_release();
	if (!live)
		base_warn("tri_stack_unregister(%p): not a registered stack "
		         "(unregistered twice?)", (void *)s);
}

/* The switch path: two compares and a store (I2). */
TRI_API void tri_stack_set_sp(tri_stack_t *s, void *sp)
{
	uintptr_t p = (uintptr_t)sp;
	if (TRI_UNLIKELY(!s || p < s->lo || p > s->hi)) {
		base_warn("tri_stack_set_sp(%p, %p): not inside the stack",
		         (void *)s, sp);
		return;
	}
	atomic_store_release(&s->sp, p & ~(uintptr_t)7);
}

void stacks_begin_scan(void)
{
	scan_gen++;
}

bool stacks_find(uintptr_t sp, uintptr_t *hi)
{
	bool found = false;
	if (!all_stacks)
		return false;
	base_mutex_lock(&stacks_lock);
	for (struct tri_stack *s = all_stacks; s; s = s->next)
		if (sp >= s->lo && sp < s->hi) {
			s->running_scan = scan_gen;
			*hi = s->hi;
			found = true;
			break;
		}
	base_mutex_unlock(&stacks_lock);
	return found;
}

bool stacks_covers(uintptr_t top)
{
	bool found = false;
	if (!all_stacks) /* a hint: most programs register none */
		return false;
	base_mutex_lock(&stacks_lock);
	for (struct tri_stack *s = all_stacks; s && !found; s = s->next)
		found = top > s->lo && top <= s->hi;
	base_mutex_unlock(&stacks_lock);
	return found;
}

void stacks_for_each_suspended(root_range_fn fn, void *arg)
{
	base_mutex_lock(&stacks_lock); /* I1: held while the memory is read */
	for (struct tri_stack *s = all_stacks; s; s = s->next) {
		if (s->running_scan == scan_gen)
			continue;
		uintptr_t sp = atomic_load_acquire(&s->sp); /* pairs: set_sp */
		if (sp < s->hi)
			fn(sp, s->hi, ROOT_STACK, arg);
	}
	base_mutex_unlock(&stacks_lock);
}

TRI_API void tri_set_root_scanner(void (*fn)(void *arg), void *arg)
{
	if (tri_init() != 0)
		return;
	m_acquire();
	base_mutex_lock(&stacks_lock);
	scanner_fn = fn;
	scanner_arg = arg;
	base_mutex_unlock(&stacks_lock);
	m_release();
}

void stacks_run_scanner(root_range_fn fn, void *arg)
{
	base_mutex_lock(&stacks_lock);
	void (*f)(void *) = scanner_fn;
	void *a = scanner_arg;
	base_mutex_unlock(&stacks_lock);
	if (!f)
		return;
	scan_to = fn;
	scan_to_arg = arg;
	f(a);
	scan_to = NULL;
}

TRI_API void tri_scan_range(const void *lo, const void *hi)
{
	if (!scan_to) {
		base_warn("tri_scan_range(%p, %p): called outside the root "
		         "scanner (ignored)", lo, hi);
		return;
	}
	uintptr_t l = align_up((uintptr_t)lo, sizeof(void *));
	uintptr_t h = align_down((uintptr_t)hi, sizeof(void *));
	if (h > l)
		scan_to(l, h, ROOT_USER, scan_to_arg);
}

void stacks_fork_prepare(void)
{
	base_mutex_fork_lock(&stacks_lock);
}

void stacks_fork_parent(void)
{
	base_mutex_fork_unlock(&stacks_lock);
}

void stacks_fork_child(void)
{
	base_mutex_reinit(&stacks_lock);
}

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

tri_stack_t *stacks_register(void *lo, void *hi)
{
	uintptr_t l = align_up((uintptr_t)lo, sizeof(void *));
	uintptr_t h = align_down((uintptr_t)hi, sizeof(void *));
	if ((uintptr_t)hi <= (uintptr_t)lo || h <= l) {
		base_warn("tri_stack_register(%p, %p): empty or inverted range",
		         lo, hi);
		errno = EINVAL;
		return NULL;
	}
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

void stacks_unregister(tri_stack_t *s)
{
	if (!s)
		return;
	m_acquire();
	base_mutex_lock(&stacks_lock);
	bool live = s->magic == STACK_LIVE;
	if (live) {
		/* I1: a live stack is linked where it says */
		TRI_ASSERT(s->prev ? s->prev->next == s : all_stacks == s);
		TRI_ASSERT(!s->next || s->next->prev == s);
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
void stacks_set_sp(tri_stack_t *s, void *sp)
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
			TRI_ASSERT2(s->magic == STACK_LIVE); /* I1 */
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
		/* I1: live while listed; I2: sp inside the stack, aligned */
		TRI_ASSERT(s->magic == STACK_LIVE);
		TRI_ASSERT(sp >= s->lo && sp <= s->hi && sp % 8 == 0);
		if (sp < s->hi)
			fn(sp, s->hi, ROOT_STACK, arg);
	}
	base_mutex_unlock(&stacks_lock);
}

void stacks_set_scanner(void (*fn)(void *arg), void *arg)
{
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
	TRI_ASSERT(!scan_to); /* I3: one scanner at a time on a thread */
	scan_to = fn;
	scan_to_arg = arg;
	f(a);
	scan_to = NULL;
}

void stacks_scan_range(const void *lo, const void *hi)
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

/* ---- the walker ---- */

/* What is wrong with stack s, or NULL (stacks_lock held). */
static const char *stack_fault(const struct tri_stack *s,
                               const struct tri_stack *prev)
{
	uintptr_t sp = atomic_load_acquire(&s->sp);
	if (s->magic != STACK_LIVE)
		return "listed but not live (I1)";
	if (s->prev != prev)
		return "list links (I1)";
	if (s->lo >= s->hi || s->lo % 8 || s->hi % 8)
		return "bounds";
	if (sp < s->lo || sp > s->hi || sp % 8)
		return "sp outside the stack (I2)";
	if (s->running_scan > scan_gen)
		return "found running by a scan not yet begun";
	return NULL;
}

bool stacks_check(void)
{
	const char *why = NULL;
	const struct tri_stack *prev = NULL, *s;
	uintptr_t n = 0;
	base_mutex_lock(&stacks_lock);
	uintptr_t inuse = atomic_load_relaxed(&stack_alloc.inuse);
	for (s = all_stacks; s && !why; prev = s, s = s->next)
		why = ++n > inuse ? "more stacks listed than allocated (I1)"
		                  : stack_fault(s, prev);
	base_mutex_unlock(&stacks_lock);
	if (why)
		base_warn("stacks_check: stack %p: %s", (const void *)prev,
		          why);
	return why == NULL;
}

/*
 * roots.c -- root ranges and root jobs; see roots.h.
 *
 * Range lists are growable arrays mapped with os_map (I3), doubled when
 * full and never shrunk.
 */
#include "roots.h"

#include "stacks.h"

#include <link.h>
#include <string.h>

#include "../alloc/arena.h"
#include "../alloc/os.h"
#include "../include/tricolor.h"

typedef struct range_vec {
	root_job *v;
	size_t n, cap;
} range_vec;

static base_mutex roots_lock;
static range_vec user_roots; /* I2; roots_lock */
static range_vec globals;    /* world lock (gc.c) */
static range_vec jobs;       /* world lock, built with the world stopped */
static uint64_t kind_bytes[ROOT_NUM_KINDS];
/* Replaces the data/bss snapshot when set (roots.h); set once at init. */
static void (*mappings_source)(void (*push)(uintptr_t lo, uintptr_t hi));

bool roots_init(void)
{
	base_mutex_init(&roots_lock, LOCK_RANK_ROOTS);
	return true;
}

static bool vec_reserve(range_vec *r, size_t want)
{
	void *v = r->v;
	bool ok = os_vec_reserve(&v, &r->cap, r->n, want, sizeof *r->v, 256);
	r->v = v;
	TRI_ASSERT(!v || !arena_span_of((uintptr_t)v)); /* I3: not heap */
	return ok;
}

static bool vec_push(range_vec *r, uintptr_t lo, uintptr_t hi,
                     enum root_kind kind)
{
	if (!vec_reserve(r, r->n + 1))
		return false;
	r->v[r->n++] = (root_job){lo, hi, kind};
	return true;
}

/* ---- data and bss of loaded objects ---- */

static int globals_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (!vec_push(&globals, lo, lo + ph->p_memsz, ROOT_DATA))
			base_fatal("out of memory for the list of globals: "
			          "cannot collect safely");
	}
	return 0;
}

void roots_snapshot_globals(void)
{
	/* the loader's lock: a stopped thread could hold it */
	TRI_ASSERT(!threads_world_stopped());
	globals.n = 0;
	if (!mappings_source)
		dl_iterate_phdr(globals_cb, NULL);
}

void roots_set_mappings_source(void (*source)(void (*push)(uintptr_t lo,
                                                           uintptr_t hi)))
{
	mappings_source = source;
}

/* ---- jobs ---- */

/* Cut [lo, hi) into aligned jobs of at most ROOT_JOB_BYTES (I1). */
static void add_jobs(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                     void *unused)
{
	(void)unused;
	TRI_ASSERT((unsigned)kind < ROOT_NUM_KINDS);
	lo = align_up(lo, sizeof(void *));
	hi = align_down(hi, sizeof(void *));
	if (hi <= lo)
		return;
	kind_bytes[kind] += hi - lo;
	for (uintptr_t p = lo; p < hi; p += ROOT_JOB_BYTES) {
		uintptr_t end = hi - p > ROOT_JOB_BYTES ? p + ROOT_JOB_BYTES : hi;
		if (!vec_push(&jobs, p, end, kind))
			base_fatal("out of memory for the root list: cannot "
			          "collect safely");
	}
}

static void push_mapping(uintptr_t lo, uintptr_t hi)
{
	add_jobs(lo, hi, ROOT_DATA, NULL);
}

void roots_prepare(bool with_threads)
{
	TRI_ASSERT(threads_world_stopped()); /* I1: readable while stopped */
	jobs.n = 0;
	memset(kind_bytes, 0, sizeof kind_bytes);
	for (size_t i = 0; i < globals.n; i++)
		add_jobs(globals.v[i].lo, globals.v[i].hi, ROOT_DATA, NULL);
	if (mappings_source)
		mappings_source(push_mapping);
	base_mutex_lock(&roots_lock);
	for (size_t i = 0; i < user_roots.n; i++)
		add_jobs(user_roots.v[i].lo, user_roots.v[i].hi, ROOT_USER, NULL);
	base_mutex_unlock(&roots_lock);
	if (!with_threads)
		return; /* concurrent: stacks and the scanner come later */
	stacks_begin_scan();
	threads_for_each_root(add_jobs, NULL);
	stacks_for_each_suspended(add_jobs, NULL);
	stacks_run_scanner(add_jobs, NULL);
	if (TRI_DEBUG >= 3)
		TRI_ASSERT(roots_check()); /* I1 for every job built */
}

size_t roots_njobs(void)
{
	return jobs.n;
}

const root_job *roots_job(size_t i)
{
	TRI_ASSERT2(i < jobs.n);
	return &jobs.v[i];
}

uint64_t roots_bytes(enum root_kind kind)
{
	TRI_ASSERT((unsigned)kind < ROOT_NUM_KINDS);
	return kind_bytes[kind];
}

/* ---- tri_add_roots / tri_remove_roots ---- */

void roots_add_user(void *lo, void *hi)
{
	if ((uintptr_t)hi <= (uintptr_t)lo) {
		base_warn("tri_add_roots(%p, %p): empty or inverted range", lo,
		         hi);
		return;
	}
	m_acquire();
	base_mutex_lock(&roots_lock);
	bool ok = vec_push(&user_roots, (uintptr_t)lo, (uintptr_t)hi,
	                   ROOT_USER);
	base_mutex_unlock(&roots_lock);
	m_release();
	if (!ok)
		base_fatal("tri_add_roots(%p, %p): out of memory", lo, hi);
}

/* Remove or trim the parts of range i inside [lo, hi); may split it. */
static bool trim_range(size_t i, uintptr_t lo, uintptr_t hi)
{
	root_job r = user_roots.v[i];
	if (r.hi <= lo || r.lo >= hi)
		return true;
	if (r.lo < lo && r.hi > hi) { /* a hole in the middle: split */
		user_roots.v[i].hi = lo;
		return vec_push(&user_roots, hi, r.hi, ROOT_USER);
	}
	if (r.lo < lo)
		user_roots.v[i].hi = lo;
	else if (r.hi > hi)
		user_roots.v[i].lo = hi;
	else
		user_roots.v[i].hi = user_roots.v[i].lo; /* empty */
	/* a trim never inverts a range; empty ones are dropped */
	TRI_ASSERT2(user_roots.v[i].lo <= user_roots.v[i].hi);
	return true;
}

void roots_remove_user(void *lo, void *hi)
{
	m_acquire();
	base_mutex_lock(&roots_lock);
	bool ok = true;
	for (size_t i = 0; i < user_roots.n; i++)
		ok &= trim_range(i, (uintptr_t)lo, (uintptr_t)hi);
	size_t kept = 0; /* drop the empty ones */
	for (size_t i = 0; i < user_roots.n; i++)
		if (user_roots.v[i].hi > user_roots.v[i].lo)
			user_roots.v[kept++] = user_roots.v[i];
	user_roots.n = kept;
	base_mutex_unlock(&roots_lock);
	m_release();
	if (!ok)
		base_fatal("tri_remove_roots(%p, %p): out of memory", lo, hi);
}

/* ---- for heap dumps ---- */

struct segment_walk {
	roots_segment_fn fn;
	void *arg;
};

static int segments_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct segment_walk *w = arg;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		w->fn(info->dlpi_name ? info->dlpi_name : "", lo,
		      lo + ph->p_filesz, lo + ph->p_memsz, w->arg);
	}
	return 0;
}

void roots_for_each_segment(roots_segment_fn fn, void *arg)
{
	TRI_ASSERT(!threads_world_stopped()); /* the loader's lock */
	struct segment_walk w = {fn, arg};
	dl_iterate_phdr(segments_cb, &w);
}

void roots_for_each_user(root_range_fn fn, void *arg)
{
	base_mutex_lock(&roots_lock);
	for (size_t i = 0; i < user_roots.n; i++)
		fn(user_roots.v[i].lo, user_roots.v[i].hi, ROOT_USER, arg);
	base_mutex_unlock(&roots_lock);
}

/* ---- the walker ---- */

/* What is wrong with vector r, or NULL: its storage (I3) and each range,
 * non-empty unless empty_ok, and word-aligned and at most ROOT_JOB_BYTES
 * if it is a job (I1); sum[kind] grows by the bytes of each range. */
static const char *vec_fault(const range_vec *r, bool empty_ok, bool job,
                             uint64_t sum[ROOT_NUM_KINDS])
{
	if (r->n > r->cap || (r->n && !r->v))
		return "size past its storage";
	if (r->v && arena_span_of((uintptr_t)r->v))
		return "storage in the heap (I3)";
	for (size_t i = 0; i < r->n; i++) {
		const root_job *j = &r->v[i];
		if ((unsigned)j->kind >= ROOT_NUM_KINDS)
			return "kind";
		if (j->hi < j->lo || (!empty_ok && j->hi == j->lo))
			return "an empty or inverted range";
		if (job && (j->lo % sizeof(uintptr_t) ||
		            j->hi % sizeof(uintptr_t) ||
		            j->hi - j->lo > ROOT_JOB_BYTES))
			return "a job unaligned or too long (I1)";
		sum[j->kind] += j->hi - j->lo;
	}
	return NULL;
}

bool roots_check(void)
{
	uint64_t sum[ROOT_NUM_KINDS] = {0}, unused[ROOT_NUM_KINDS] = {0};
	const char *what = "jobs";
	const char *why = vec_fault(&jobs, false, true, sum);
	for (unsigned k = 0; !why && k < ROOT_NUM_KINDS; k++)
		if (sum[k] != kind_bytes[k])
			why = "the bytes of a kind differ from its jobs'";
	if (!why) {
		what = "globals"; /* a segment may have no bytes */
		why = vec_fault(&globals, true, false, unused);
	}
	if (!why) {
		what = "user ranges";
		base_mutex_lock(&roots_lock);
		why = vec_fault(&user_roots, false, false, unused);
		base_mutex_unlock(&roots_lock);
	}
	if (why)
		base_warn("roots_check: %s: %s", what, why);
	return why == NULL;
}

/*
 * profile.c -- the sampled heap profile: the sampling decision's slow
 * half, the bucket table, Go's cycle-lagged records, the profile specials
 * on spans, tri_set_profile_rate, and the at-exit / on-signal writer of
 * GODEBUG=memprofile. See profile.h; Go: mprof.go, malloc.go
 * (profilealloc, nextSample, fastexprand), mheap.go (specials).
 *
 * A sample (profile_alloc, in the allocating thread's heap-critical
 * region, owning the span):
 *   1. Draw the next gap (Go's fastexprand; no libm: ln by a series).
 *   2. Capture the stack above the public allocation function.
 *   3. Take a special from its fixalloc (no special, no sample: I2).
 *   4. Under prof_lock: find or make the (stack, size) bucket and book the
 *      allocation in future[(C + 2) % 3].
 *   5. Insert the special into the span's sorted list (the span's holder
 *      alone touches the list: span.h).
 * A free (special_free_slots / special_free_all, by whoever holds the
 * span): unlink the slot's special and book the free, to future[(C+1)%3]
 * when the sweep found the object garbage and to future[(C+2)%3] when it
 * was an explicit tri_free (Go's rule for sweep and explicit frees).
 *
 * Cycles (Go's mProfCycle): profile_next_cycle advances C at mark
 * termination; profile_flush then folds future[C % 3] into active (every
 * allocation booked two cycles ago and every sweep free of the last
 * sweep), profile_post_sweep folds future[(C + 1) % 3] once a forced
 * cycle has swept everything, so active is the heap as of the last mark
 * termination, not biased toward allocations (frees arrive late).
 *
 * Memory: buckets come from chunks mapped with os_map (never freed, I1);
 * the hash table (Go's buckHashSize entries) is mapped at the first
 * sample; specials from a fixalloc. None of it is heap memory.
 *
 * At exit (GODEBUG=memprofile=PATH): profile_publish_all stops the world
 * between cycles (gc_run_stopped: any cycle under way completes, caches
 * are flushed, its sweep finishes), books the explicit frees still
 * pending in sampled slots and folds every future[] into active (I4);
 * then the file is written. No collection runs there: after main has
 * returned, what main's locals held is unreachable, and a cycle would
 * drop it from the profile in some runs and not others (stack residue),
 * leaving the program's biggest holder out of its own profile; in the
 * off and leakcheck modes of the malloc preload no cycle may run at all.
 *
 * Signals: GODEBUG=memprofilesignal=N installs a handler that only posts
 * a semaphore (async-signal-safe); a helper thread (never registered,
 * every signal blocked) waits on it and writes the profile. This file
 * includes <signal.h> for that alone (the collector's signals are
 * gc/threads.c's).
 */
#include "profile.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../alloc/arena.h"
#include "../alloc/fixalloc.h"
#include "../alloc/mcache.h"
#include "../alloc/os.h"
#include "../alloc/span.h"
#include "../include/tricolor.h"
#include "callstack.h"
#include "../gc/debug.h"
#include "../gc/gc.h"
#include "../gc/threads.h"

#define BUCK_HASH_SIZE 179999      /* Go's buckHashSize */
#define CHUNK_BYTES (256 * TRI_KiB) /* Go's persistentChunkSize */
#define RATE_MAX_MEAN 0x7000000    /* Go caps fastexprand's mean */

static atomic_word prof_rate = PROFILE_DEFAULT_RATE; /* long; relaxed */
static base_mutex prof_lock;
static uint32_t prof_cycle;           /* Go's mProfCycle; prof_lock */
static mprof_bucket **buckhash;       /* prof_lock */
static mprof_bucket *allbuckets;      /* prof_lock */
static uint64_t nbuckets;             /* prof_lock */
static char *chunk;                   /* bump allocator; prof_lock */
static size_t chunk_left;             /* prof_lock */
static fixalloc special_alloc;

bool profile_init(void)
{
	base_mutex_init(&prof_lock, LOCK_RANK_PROF);
	fixalloc_init(&special_alloc, sizeof(special));
	if (debug.memprofilerate >= 0)
		atomic_store_relaxed(&prof_rate, (uintptr_t)debug.memprofilerate);
	callstack_init();
	return true;
}

long profile_rate(void)
{
	return (long)atomic_load_relaxed(&prof_rate);
}

TRI_API int tri_set_profile_rate(long bytes)
{
	if (bytes < 0) {
		errno = EINVAL;
		return -1;
	}
	if (tri_init() != 0)
		return -1;
	atomic_store_relaxed(&prof_rate, (uintptr_t)bytes);
	mcache *c = mcache_tls; /* the caller's own cache at once; the others
	                           when their current gap runs out */
	if (c)
		c->next_sample = (intptr_t)profile_next_gap();
	return 0;
}

/* ---- the gap (Go's nextSample / fastexprand) ---- */

static __thread uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (!rng_state) { /* per thread: address and time */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng_state = ((uint64_t)(uintptr_t)&rng_state * 0x9e3779b97f4a7c15u) ^
		            (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		rng_state |= 1;
	}
	uint64_t x = rng_state; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1du;
}

/* ln(x) for x > 0 without libm: x = m * 2^e with m in [1, 2), then
 * ln m = 2 atanh((m - 1) / (m + 1)) by its series (|t| <= 1/3: the terms
 * kept give about 1e-7, plenty for a sampling gap). */
static double ln(double x)
{
	int e = 0;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	double t = (x - 1) / (x + 1), t2 = t * t;
	double s = t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 +
	           t2 * (1.0 / 9 + t2 * (1.0 / 11))))));
	return 2 * s + e * 0.6931471805599453;
}

/* Go's fastexprand: q uniform in [1, 2^26], x = -ln(q / 2^26) * mean. */
static uintptr_t exp_rand(long mean)
{
	if (mean > RATE_MAX_MEAN)
		mean = RATE_MAX_MEAN;
	uint64_t q = (rng_next() >> 38) + 1; /* 26 random bits, + 1 */
	double x = -ln((double)q / (double)(1u << 26)) * (double)mean;
	if (x < 0)
		x = 0;
	return (uintptr_t)x + 1;
}

/* Rate 0: the counter still runs out now and then, so a later
 * tri_set_profile_rate reaches threads whose reset store was lost. */
#define RATE0_GAP ((uintptr_t)64 << 20)

uintptr_t profile_next_gap(void)
{
	long rate = profile_rate();
	if (rate <= 0)
		return RATE0_GAP;
	if (rate == 1)
		return 0; /* every allocation */
	return exp_rand(rate);
}

/* ---- buckets ---- */

static void *persistent_alloc(size_t n) /* prof_lock */
{
	n = align_up(n, 16);
	if (n > chunk_left) {
		char *c = os_map(CHUNK_BYTES);
		if (!c)
			return NULL;
		chunk = c;
		chunk_left = CHUNK_BYTES;
	}
	void *p = chunk;
	chunk += n;
	chunk_left -= n;
	return p;
}

static uint64_t stack_hash(const uintptr_t *stk, unsigned n, uint64_t size)
{
	uint64_t h = 0; /* Go's stkbucket mix */
	for (unsigned i = 0; i < n; i++) {
		h += stk[i];
		h += h << 10;
		h ^= h >> 6;
	}
	h += size;
	h += h << 10;
	h ^= h >> 6;
	h += h << 3;
	h ^= h >> 11;
	return h;
}

/* Go's stkbucket(memProfile, size, stk, alloc=true). prof_lock. */
static mprof_bucket *stkbucket(uint64_t size, const uintptr_t *stk,
                               unsigned n)
{
	if (!buckhash) {
		buckhash = os_map(BUCK_HASH_SIZE * sizeof *buckhash);
		if (!buckhash)
			return NULL;
	}
	uint64_t h = stack_hash(stk, n, size);
	size_t i = h % BUCK_HASH_SIZE;
	for (mprof_bucket *b = buckhash[i]; b; b = b->next)
		if (b->hash == h && b->size == size && b->nstk == n &&
		    memcmp(b->stk, stk, n * sizeof *stk) == 0)
			return b;
	mprof_bucket *b = persistent_alloc(sizeof *b + n * sizeof *stk);
	if (!b)
		return NULL;
	memset(b, 0, sizeof *b);
	b->hash = h;
	b->size = size;
	b->nstk = n;
	b->id = ++nbuckets;
	memcpy(b->stk, stk, n * sizeof *stk);
	b->next = buckhash[i];
	buckhash[i] = b;
	b->allnext = allbuckets;
	allbuckets = b;
	return b;
}

/* ---- sampling ---- */

static void special_insert(mspan *s, special *sp)
{
	special **pp = &s->specials;
	while (*pp && (*pp)->idx < sp->idx)
		pp = &(*pp)->next;
	TRI_ASSERT(!*pp || (*pp)->idx != sp->idx); /* one per live slot */
	sp->next = *pp;
	*pp = sp;
	AO_char_store(&s->has_specials, 1);
}

TRI_NOINLINE void profile_alloc(struct mcache *c, struct mspan *s,
                                uintptr_t p)
{
	long rate = profile_rate();
	c->next_sample = (intptr_t)profile_next_gap();
	if (rate <= 0)
		return;
	const uintptr_t entries[] = {
		(uintptr_t)tri_malloc, (uintptr_t)tri_malloc_noscan,
		(uintptr_t)tri_calloc, (uintptr_t)tri_realloc};
	uintptr_t stk[CALLSTACK_MAX];
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	int n = callstack_capture_above(stk, CALLSTACK_MAX, entries,
	                                (int)(sizeof entries / sizeof *entries),
	                                threads_self_stack_hi(here));
	special *sp = fixalloc_alloc(&special_alloc);
	if (!sp)
		return; /* I2: no special, no sample */
	sp->idx = s->divmul ? (uint32_t)span_obj_index(s, p - s->base) : 0;
	uint64_t size = s->elemsize;
	base_mutex_lock(&prof_lock);
	mprof_bucket *b = stkbucket(size, stk, (unsigned)n);
	if (b) {
		mprof_record *r = &b->future[(prof_cycle + 2) % 3];
		r->allocs++;
		r->alloc_bytes += size;
	}
	base_mutex_unlock(&prof_lock);
	if (!b) {
		fixalloc_free(&special_alloc, sp);
		return;
	}
	sp->bucket = b;
	special_insert(s, sp);
}

/* Book one free of b (prof_lock held). */
static void mprof_free(mprof_bucket *b, bool explicit_free)
{
	mprof_record *r = &b->future[(prof_cycle + (explicit_free ? 2 : 1)) % 3];
	r->frees++;
	r->free_bytes += b->size;
}

void special_free_slots(mspan *s, unsigned w, uint64_t explicit_freed,
                        uint64_t gc_freed)
{
	uint64_t any = explicit_freed | gc_freed;
	special *dead = NULL;
	base_mutex_lock(&prof_lock);
	for (special **pp = &s->specials; *pp;) {
		special *sp = *pp;
		if (sp->idx / 64 > w)
			break; /* sorted */
		uint64_t bit = (uint64_t)1 << (sp->idx % 64);
		if (sp->idx / 64 < w || !(any & bit)) {
			pp = &sp->next;
			continue;
		}
		mprof_free(sp->bucket, (explicit_freed & bit) != 0);
		*pp = sp->next;
		sp->next = dead;
		dead = sp;
	}
	base_mutex_unlock(&prof_lock);
	AO_char_store(&s->has_specials, s->specials != NULL);
	while (dead) {
		special *next = dead->next;
		fixalloc_free(&special_alloc, dead);
		dead = next;
	}
}

void special_free_all(mspan *s, bool explicit_free)
{
	special *dead = s->specials;
	s->specials = NULL;
	AO_char_store(&s->has_specials, 0);
	base_mutex_lock(&prof_lock);
	for (special *sp = dead; sp; sp = sp->next)
		mprof_free(sp->bucket, explicit_free);
	base_mutex_unlock(&prof_lock);
	while (dead) {
		special *next = dead->next;
		fixalloc_free(&special_alloc, dead);
		dead = next;
	}
}

/* ---- cycles ---- */

void profile_next_cycle(void)
{
	base_mutex_lock(&prof_lock);
	prof_cycle++;
	base_mutex_unlock(&prof_lock);
}

static void flush_index(unsigned idx) /* prof_lock */
{
	for (mprof_bucket *b = allbuckets; b; b = b->allnext) {
		mprof_record *f = &b->future[idx];
		b->active.allocs += f->allocs;
		b->active.frees += f->frees;
		b->active.alloc_bytes += f->alloc_bytes;
		b->active.free_bytes += f->free_bytes;
		memset(f, 0, sizeof *f);
	}
}

void profile_flush(void)
{
	base_mutex_lock(&prof_lock);
	flush_index(prof_cycle % 3);
	base_mutex_unlock(&prof_lock);
}

void profile_post_sweep(void)
{
	base_mutex_lock(&prof_lock);
	flush_index((prof_cycle + 1) % 3);
	base_mutex_unlock(&prof_lock);
}

size_t profile_for_each_bucket(profile_bucket_fn fn, void *arg)
{
	size_t n = 0;
	base_mutex_lock(&prof_lock);
	for (mprof_bucket *b = allbuckets; b; b = b->allnext, n++)
		fn(b, arg);
	base_mutex_unlock(&prof_lock);
	return n;
}

void profile_fork_prepare(void)
{
	base_mutex_fork_lock(&prof_lock);
}

void profile_fork_parent(void)
{
	base_mutex_fork_unlock(&prof_lock);
}

void profile_fork_child(void)
{
	base_mutex_reinit(&prof_lock);
}

/* ---- GODEBUG=memprofile=PATH, memprofilesignal=N ---- */

static char out_path[4096];
static sem_t signal_sem;

static void write_profile_file(void)
{
	int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		base_warn("GODEBUG=memprofile: cannot create %s", out_path);
		return;
	}
	if (tri_write_heap_profile(fd) != 0)
		base_warn("GODEBUG=memprofile: writing %s failed", out_path);
	close(fd);
}

/* ---- at exit: the heap as the program left it (I4) ---- */

/* Book the pending explicit frees of s's sampled slots (free bits not
 * yet folded into the span by a reclaim or a sweep). World stopped. */
static void settle_span(mspan *s)
{
	if (!s->specials || !s->free_bits)
		return;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t pending = atomic_load_relaxed(&s->free_bits[w]);
		if (pending)
			special_free_slots(s, w, pending, 0);
	}
}

/* Every in-use span (arena.h: page_in_use marks each one's first page). */
static void settle_heap(void)
{
	uintptr_t lo = arena_lo(), hi = arena_hi();
	for (uintptr_t i = arena_index_of(lo); hi > lo &&
	     i <= arena_index_of(hi - 1); i++) {
		heap_arena *ha = arena_index[i];
		for (uintptr_t pg = 0; ha && pg < PAGES_PER_ARENA; pg++) {
			if (!((ha->page_in_use[pg / 8] >> (pg % 8)) & 1))
				continue;
			mspan *s = ha->spans[pg];
			if (s && span_state(s) == SPAN_IN_USE &&
			    s->base == ha->base + pg * PAGE_SIZE)
				settle_span(s);
		}
	}
}

/* gc_run_stopped: caches flushed, the last cycle's sweep finished. */
static void publish_all_stopped(void *arg)
{
	(void)arg;
	settle_heap();
	base_mutex_lock(&prof_lock);
	for (unsigned i = 0; i < 3; i++)
		flush_index(i);
	base_mutex_unlock(&prof_lock);
}

void profile_publish_all(void)
{
	if (mcache_attach() != 0) {
		base_warn("GODEBUG=memprofile: cannot register the exiting "
		          "thread; the profile is as of the last cycle");
		return;
	}
	gc_run_stopped(publish_all_stopped, NULL);
}

static void at_exit(void)
{
	profile_publish_all(); /* I4: no collection after main returned */
	write_profile_file();
}

TRI_SIGNAL_SAFE static void on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	sem_post(&signal_sem);
	errno = saved;
}

static void *signal_writer(void *arg)
{
	(void)arg;
	for (;;) {
		if (sem_wait(&signal_sem) != 0)
			continue; /* EINTR */
		write_profile_file(); /* no collection: not registered */
	}
	return NULL;
}

void profile_start_writer(void)
{
	const char *p = debug.memprofile;
	if (!p)
		return;
	size_t n = strcspn(p, ",");
	if (n == 0 || n >= sizeof out_path) {
		base_warn("GODEBUG=memprofile: empty or too long path (ignored)");
		return;
	}
	memcpy(out_path, p, n);
	out_path[n] = '\0';
	if (atexit(at_exit) != 0)
		base_warn("GODEBUG=memprofile: cannot register the exit writer");
	int sig = debug.memprofilesignal;
	if (!sig)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sem_init(&signal_sem, 0, 0) != 0 ||
	    !threads_start_internal(signal_writer, NULL) ||
	    sigaction(sig, &sa, NULL) != 0)
		base_warn("GODEBUG=memprofilesignal=%d: cannot install (ignored)",
		          sig);
}

/*
 * profile.c -- the sampled heap profile: the sampling decision's slow
 * half, the bucket table, Go's cycle-lagged records (advanced by the
 * collector's observer hook), the profile specials on spans, the rate,
 * and the at-exit / on-signal writer of GODEBUG=memprofile. See
 * profile.h; Go: mprof.go, malloc.go (profilealloc), mheap.go
 * (specials). The gap between samples is alloc/sample.c's.
 *
 * A sample (profile_alloc, in the allocating thread's heap-critical
 * region, owning the span):
 *   1. Draw the next gap (Go's fastexprand; no libm: ln by a series).
 *   2. Capture the stack above the public allocation function.
 *   3. Under prof_lock: find or make the (stack, size) bucket, add a
 *      special for the object to its span (alloc/span.h; no special, no
 *      sample: I2) and book the allocation in future[(C + 2) % 3].
 * A free: the span lets the slot's special go to the freed stack (span.h
 * SP2, by whoever frees or sweeps the slot); the profile takes the stack
 * under prof_lock before it moves C, folds or reads a record, and books
 * each free to future[(C+1)%3] when the sweep found the object garbage and
 * to future[(C+2)%3] when it was an explicit tri_free (Go's rule for sweep
 * and explicit frees): C has not moved since the free.
 *
 * Cycles (Go's mProfCycle), heard through the collector's observer hook
 * (profile_observe): GC_EVENT_MARK_DONE advances C at mark termination;
 * GC_EVENT_CYCLE_END then folds future[C % 3] into active (every
 * allocation booked two cycles ago and every sweep free of the last
 * sweep), GC_EVENT_SWEPT folds future[(C + 1) % 3] once a forced
 * cycle has swept everything, so active is the heap as of the last mark
 * termination, not biased toward allocations (frees arrive late).
 *
 * Memory: buckets come from chunks mapped with os_map (never freed, I1);
 * the hash table (Go's buckHashSize entries) is mapped at the first
 * sample; specials from alloc/span.c's fixalloc. None of it is heap
 * memory.
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
#include "../alloc/mheap.h"
#include "../alloc/os.h"
#include "../alloc/sample.h"
#include "../alloc/span.h"
#include "../include/tricolor.h"
#include "callstack.h"
#include "../gc/debug.h"
#include "../gc/gc.h"
#include "../gc/threads.h"

#define BUCK_HASH_SIZE 179999      /* Go's buckHashSize */
#define CHUNK_BYTES (256 * TRI_KiB) /* Go's persistentChunkSize */

static base_mutex prof_lock;
static uint32_t prof_cycle;           /* Go's mProfCycle; prof_lock */
static mprof_bucket **buckhash;       /* prof_lock */
static mprof_bucket *allbuckets;      /* prof_lock */
static uint64_t nbuckets;             /* prof_lock */
static os_bump chunk;                 /* bucket memory; prof_lock */

bool profile_init(void)
{
	base_mutex_init(&prof_lock, LOCK_RANK_PROF);
	if (debug.memprofilerate >= 0)
		sample_set_rate(debug.memprofilerate);
	callstack_init();
	return true;
}

int profile_set_rate(long bytes)
{
	if (bytes < 0) {
		errno = EINVAL;
		return -1;
	}
	sample_set_rate(bytes);
	mcache *c = mcache_tls; /* the caller's own cache at once; the others
	                           when their current gap runs out */
	if (c)
		c->next_sample = (intptr_t)sample_next_gap();
	return 0;
}

/* ---- buckets ---- */

static void *persistent_alloc(size_t n) /* prof_lock */
{
	return os_bump_alloc(&chunk, n, CHUNK_BYTES, NULL);
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

/* The public allocation functions, where a sample's stack starts: set
 * once at init by the top floor (profile_set_entries). */
static uintptr_t entries[PROFILE_MAX_ENTRIES];
static int nentries;

void profile_set_entries(const uintptr_t *fns, int n)
{
	TRI_ASSERT(n >= 0 && n <= PROFILE_MAX_ENTRIES);
	for (int i = 0; i < n; i++)
		entries[i] = fns[i];
	nentries = n;
}

TRI_NOINLINE void profile_alloc(struct mcache *c, struct mspan *s,
                                uintptr_t p)
{
	long rate = sample_rate();
	c->next_sample = (intptr_t)sample_next_gap();
	if (rate <= 0)
		return;
	uintptr_t stk[CALLSTACK_MAX];
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	int n = callstack_capture_above(stk, CALLSTACK_MAX, entries, nentries,
	                                threads_self_stack_hi(here));
	uint64_t size = s->elemsize;
	base_mutex_lock(&prof_lock);
	mprof_bucket *b = stkbucket(size, stk, (unsigned)n);
	if (b && span_add_special(s, p, b)) { /* I2: no special, no sample */
		mprof_record *r = &b->future[(prof_cycle + 2) % 3];
		r->allocs++;
		r->alloc_bytes += size;
	}
	base_mutex_unlock(&prof_lock);
}

/* Book one free of b (prof_lock held). */
static void mprof_free(mprof_bucket *b, bool explicit_free)
{
	mprof_record *r = &b->future[(prof_cycle + (explicit_free ? 2 : 1)) % 3];
	r->frees++;
	r->free_bytes += b->size;
}

/* Book the frees of the specials their spans have let go (span.h SP2),
 * in the cycle they happened in: taken before the cycle advances or a
 * record is published or read. prof_lock held. */
static void book_freed_locked(void)
{
	special *sp = span_take_freed_specials();
	while (sp) {
		special *next = sp->next;
		mprof_free(sp->owner, sp->explicit_free);
		special_release(sp);
		sp = next;
	}
}

/* ---- cycles ---- */

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

void profile_observe(enum gc_event ev)
{
	base_mutex_lock(&prof_lock);
	book_freed_locked();
	switch (ev) {
	case GC_EVENT_MARK_DONE:
		prof_cycle++;
		break;
	case GC_EVENT_CYCLE_END:
		flush_index(prof_cycle % 3);
		break;
	case GC_EVENT_SWEPT:
		flush_index((prof_cycle + 1) % 3);
		break;
	}
	base_mutex_unlock(&prof_lock);
}

size_t profile_for_each_bucket(profile_bucket_fn fn, void *arg)
{
	size_t n = 0;
	base_mutex_lock(&prof_lock);
	book_freed_locked();
	for (mprof_bucket *b = allbuckets; b; b = b->allnext, n++)
		fn(b, arg);
	base_mutex_unlock(&prof_lock);
	return n;
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
	if (pprof_write(fd) != 0)
		base_warn("GODEBUG=memprofile: writing %s failed", out_path);
	close(fd);
}

/* ---- at exit: the heap as the program left it (I4) ---- */

/* Book the pending explicit frees of s's sampled slots (free bits not
 * yet folded into the span by a reclaim or a sweep). World stopped. */
static void settle_span(mspan *s, void *arg)
{
	(void)arg;
	if (!s->specials || !s->free_bits)
		return;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++) {
		uint64_t pending = atomic_load_relaxed(&s->free_bits[w]);
		if (pending)
			special_free_slots(s, w, pending, 0);
	}
}

/* gc_run_stopped: caches flushed, the last cycle's sweep finished. */
static void publish_all_stopped(void *arg)
{
	(void)arg;
	mheap_for_each_span(settle_span, NULL);
	base_mutex_lock(&prof_lock);
	book_freed_locked();
	for (unsigned i = 0; i < 3; i++)
		flush_index(i);
	base_mutex_unlock(&prof_lock);
}

void profile_publish_all(void)
{
	if (threads_attach() != 0) {
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

/*
 * mark.c -- greying, scanning and the parallel drain; see mark.h.
 *
 * A cycle's mark (mark_run, the collecting thread):
 *   1. Publish the job: reset nwait and the root cursor, bump mark_epoch
 *      and wake the helpers (mark_mu / mark_cv).
 *   2. Every marker claims root jobs by fetch-and-add on root_next and
 *      scans them, then drains grey objects (Go's gcDrain), sharing work
 *      through the full list when others wait (gcw_balance).
 *   3. A marker out of work waits as Go's getfull does: it counts itself
 *      in nwait and leaves when work appears, or ends when all are idle
 *      with nothing left (I2).
 *   4. Helpers add their bytes marked and report done; the collecting
 *      thread waits for all of them.
 * Lock: mark_mu (not ranked: markers take no other lock while holding it)
 * protects mark_epoch, helpers_done and the helper count.
 */
#include "mark.h"

#include <sched.h>
#include <unistd.h>

#include "../alloc/arena.h"
#include "../alloc/mcache.h"
#include "../alloc/mheap.h"
#include "../alloc/span.h"
#include "checkmark.h"
#include "roots.h"
#include "stacks.h"
#include "sweep.h"
#include "threads.h"
#include "work.h"

static unsigned ncpu = 1;        /* CPUs this process may run on */
static unsigned nmarkers = 1;    /* markers in the current mark (I2) */
static unsigned nhelpers;        /* helper threads started; mark_mu */
static unsigned nready;          /* helpers waiting for work; mark_mu */
static pthread_mutex_t mark_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t mark_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static uint64_t mark_epoch;      /* mark_mu */
static unsigned helpers_done;    /* mark_mu */

static atomic_word root_next;    /* next root job to claim */
static atomic_word nwait;        /* idle markers (I2) */
static atomic_word total_marked, total_scanned, stack_scanned;
static bool with_thread_job;     /* concurrent: job njobs = thread roots */

static unsigned online_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

bool mark_init(void)
{
	ncpu = online_cpus();
	return true;
}

unsigned mark_nprocs(void)
{
	return ncpu;
}

/* ---- greying and scanning ---- */

/* No concurrent mark runs (gc.h I4: black allocation is on exactly
 * during one): the world is stopped for the whole mark, or a test marks
 * by hand, so no span changes under a marker and the asserts that read a
 * span's geometry are exact. A concurrent marker may meet a span that an
 * explicit free is giving back, or has reused (mark_scan_object). */
static bool mark_exact(void)
{
	return !atomic_load_relaxed(&span_alloc_black);
}

bool mark_grey_ok(uintptr_t v)
{
	if (!mark_exact())
		return true;
	uintptr_t obj = grey_obj(v);
	mspan *s = arena_span_of(obj);
	if (!s || span_state(s) != SPAN_IN_USE || obj < s->base ||
	    obj >= s->limit || spanclass_noscan(s->spanclass))
		return false;
	if (grey_class(v) &&
	    grey_class(v) != spanclass_sizeclass(s->spanclass))
		return false;
	if (s->divmul == 0) /* large: an oblet boundary */
		return (obj - s->base) % OBLET_BYTES == 0 &&
		       span_is_marked(s, 0);
	uintptr_t idx = span_obj_index(s, obj - s->base);
	return obj == s->base + idx * s->elemsize && span_is_marked(s, idx);
}

/* Slot idx of s holds address p (span.h I1, I6): the index is in the
 * span and p lies in that slot; a large span is its one object. */
static bool slot_holds(const mspan *s, uintptr_t idx, uintptr_t p)
{
	if (s->divmul == 0)
		return idx == 0 && s->nelems == 1;
	return idx < s->nelems && p - s->base - idx * s->elemsize <
	                              s->elemsize;
}

/* Set the mark bit of slot idx; true if this call set it (I1). */
static bool set_mark(mspan *s, atomic_word *marks, uintptr_t idx)
{
	/* The conservative rule (mark.h): only an allocated slot is marked,
	 * and its index is inside the span (span.h I6). */
	TRI_ASSERT2(!mark_exact() || (idx < s->nelems &&
	                              span_is_allocated(s, idx)));
	atomic_word *w = &marks[idx / 64];
	uintptr_t bit = (uintptr_t)1 << (idx % 64);
	uintptr_t old = atomic_load_relaxed(w);
	for (;;) {
		if (old & bit)
			return false;
		uintptr_t seen = atomic_cas_full(w, old, old | bit);
		if (seen == old)
			return true;
		old = seen;
	}
}

/* Go's greyobject, from any word p and the span s the span table gives
 * for p's page (NULL, or any span: validated here). */
static void grey_in_span(uintptr_t p, mspan *s, gcwork *w)
{
	if (!s || span_state(s) != SPAN_IN_USE || p < s->base ||
	    p >= s->limit)
		return;
	uintptr_t idx = s->divmul ? span_obj_index(s, p - s->base) : 0;
	TRI_ASSERT2(!mark_exact() || slot_holds(s, idx, p)); /* span.h I6 */
	if (TRI_UNLIKELY(checkmark_active)) {
		checkmark_grey(s, idx, w);
		return;
	}
	atomic_word *marks = span_marks(s);
	if (bit_test(marks, idx)) /* the common case: seen already */
		return;
	if (!span_is_allocated_fast(s, idx) || span_allocated_black(s, idx) ||
	    !set_mark(s, marks, idx))
		return;
	w->bytes_marked += s->elemsize;
	w->nput++;
	if (spanclass_noscan(s->spanclass))
		return;
	uintptr_t v = grey_pack(s->base + idx * s->elemsize,
	                        spanclass_sizeclass(s->spanclass));
	TRI_ASSERT2(mark_grey_ok(v)); /* work.h I1: what is put is marked */
	gcw_put(w, v);
}

/* ---- the pipeline ----
 *
 * Resolving a word is a chain of dependent loads -- the span-table entry,
 * the span's first line, its bitmap block -- each a likely cache miss on
 * a large heap, and one word at a time a marker waits for each in turn.
 * So a scan does not grey a candidate word at once: it sends it down
 * three delay lines of MARK_PIPE slots (work.h), and as the word enters
 * each line the marker prefetches what the word's next step will read:
 *   line 0: the span-table entry          (ref = the entry)
 *   line 1: the span's first cache line   (ref = the span)
 *   line 2: the span's mark-bitmap word   (ref = the span)
 *   out:    grey_in_span, which validates everything again.
 * A marker has up to 3 * MARK_PIPE lookups in flight instead of one.
 * Prefetches never fault, so a stale or wrong ref only wastes one.
 *   P1. A word in the pipeline is not yet grey. Every path on which a
 *       marker may look idle, or hands its gcwork back, first flushes
 *       the pipeline (pipe_flush): drain and mark_drain_n before they
 *       stop, mark_gcw_flush, and the public mark_scan_range /
 *       mark_scan_object, whose callers expect the greying done.
 */

/* Put (p, ref) in the line; the word it displaces, if any, comes back in
 * *p / *ref. */
TRI_INLINE bool stage_swap(mark_stage *st, uintptr_t *p, const void **ref)
{
	unsigned i = st->pos;
	st->pos = (i + 1) % MARK_PIPE;
	uintptr_t op = st->slot[i].p;
	const void *oref = st->slot[i].ref;
	st->slot[i].p = *p;
	st->slot[i].ref = *ref;
	*p = op;
	*ref = oref;
	return op != 0;
}

/* Line 2: the span's first line has arrived; fetch the bitmap word. The
 * span is not validated yet (it may be free, or changing hands): its
 * fields only shape a prefetch, and a span without bitmaps is skipped
 * (no arithmetic on a null pointer). */
static void stage_bits(gcwork *w, uintptr_t p, const void *ref)
{
	const mspan *s = ref;
	uintptr_t off = p - s->base;
	if (s->free_bits && off < s->limit - s->base && s->divmul)
		__builtin_prefetch(&span_marks(s)[span_obj_index(s, off) / 64],
		                   1); /* for the CAS: write */
	if (stage_swap(&w->pipe[2], &p, &ref))
		grey_in_span(p, (mspan *)ref, w);
}

/* Line 1: the table entry has arrived; fetch the span. */
static void stage_span(gcwork *w, uintptr_t p, const void *ref)
{
	mspan *s = *(mspan *const *)ref;
	if (!s)
		return;
	__builtin_prefetch(s);
	ref = s;
	if (stage_swap(&w->pipe[1], &p, &ref))
		stage_bits(w, p, ref);
}

/* Line 0: a candidate word (inside the arena range) enters. */
TRI_INLINE void pipe_push(gcwork *w, uintptr_t p)
{
	heap_arena *ha = arena_of(p);
	if (!ha)
		return;
	const void *ref = &ha->spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)];
	__builtin_prefetch(ref);
	if (stage_swap(&w->pipe[0], &p, &ref))
		stage_span(w, p, ref);
}

/* Grey every word in the pipeline (P1), oldest first. */
static void pipe_flush(gcwork *w)
{
	for (unsigned k = 0; k < 3; k++) {
		mark_stage *st = &w->pipe[k];
		for (unsigned n = 0; n < MARK_PIPE; n++) {
			unsigned i = st->pos;
			st->pos = (i + 1) % MARK_PIPE;
			uintptr_t p = st->slot[i].p;
			const void *ref = st->slot[i].ref;
			if (!p)
				continue;
			st->slot[i].p = 0;
			if (k == 0)
				stage_span(w, p, ref);
			else if (k == 1)
				stage_bits(w, p, ref);
			else
				grey_in_span(p, (mspan *)ref, w);
		}
	}
}

/* Prefetch the grey object v: every line of a small one up to
 * PREFETCH_LINES (the hardware streams the rest), the first of others. */
#define PREFETCH_LINES 4
static void prefetch_grey(uintptr_t v)
{
	uintptr_t obj = grey_obj(v);
	uintptr_t size = grey_class(v) ? class_to_size[grey_class(v)] : 1;
	uintptr_t end = obj + (size < PREFETCH_LINES * TRI_CACHELINE
	                               ? size : PREFETCH_LINES * TRI_CACHELINE);
	for (uintptr_t a = obj & ~(uintptr_t)(TRI_CACHELINE - 1); a < end;
	     a += TRI_CACHELINE)
		__builtin_prefetch((const void *)a);
}

/* The next grey object to scan: objects are taken from the buffers
 * MARK_AHEAD at a time ahead of their scan and prefetched, so each
 * arrives while the ones before it are scanned. 0 when w holds none. */
static uintptr_t next_grey(gcwork *w)
{
	while (w->ahead_n < MARK_AHEAD) {
		uintptr_t v = gcw_get(w);
		if (!v)
			break;
		prefetch_grey(v);
		w->ahead[(w->ahead_head + w->ahead_n++) % MARK_AHEAD] = v;
	}
	if (!w->ahead_n)
		return 0;
	uintptr_t obj = w->ahead[w->ahead_head];
	w->ahead_head = (w->ahead_head + 1) % MARK_AHEAD;
	w->ahead_n--;
	return obj;
}

/* Give the objects taken ahead back to the buffers (P1's hand-back). */
static void ahead_put_back(gcwork *w)
{
	while (w->ahead_n) {
		gcw_put(w, w->ahead[w->ahead_head]);
		w->ahead_head = (w->ahead_head + 1) % MARK_AHEAD;
		w->ahead_n--;
	}
}

/* Scan [lo, hi) word by word, into the pipeline. Reads memory tricolor
 * does not own (stacks, data, other threads' TLS), so AddressSanitizer
 * must not check it. */
__attribute__((no_sanitize_address)) static void
scan_block(uintptr_t lo, uintptr_t hi, gcwork *w)
{
	/* word-aligned ranges (roots.h I1; objects, stacks and TLS alike) */
	TRI_ASSERT2(lo % sizeof(uintptr_t) == 0 && lo <= hi);
	uintptr_t min = arena_lo(); /* arena.h I4 */
	uintptr_t span = arena_hi() - min;
	for (const uintptr_t *p = (const uintptr_t *)lo;
	     (uintptr_t)p < hi; p++) {
		uintptr_t v = *p;
		if (v - min < span)
			pipe_push(w, v);
	}
}

void mark_shade(uintptr_t p, gcwork *w)
{
	if (arena_contains(p))
		grey_in_span(p, arena_span_of(p), w);
}

/* Scan a grey object, or one oblet of a large one (mark.h), into the
 * pipeline. A small object's grey value carries its size class (work.h
 * grey_pack), so its scan reads only the object: no span lookup. In
 * concurrent mode the object may have been freed explicitly since it was
 * greyed and its span reused; its old extent is scanned all the same (a
 * span's pages stay mapped: the words are garbage, read conservatively,
 * never trusted). Other values look the span up. */
static void scan_object(uintptr_t v, gcwork *w)
{
	/* work.h I1: greyed before it is scanned (exact marks only) */
	TRI_ASSERT2(mark_grey_ok(v));
	uintptr_t obj = grey_obj(v);
	if (TRI_LIKELY(grey_class(v))) {
		uintptr_t size = class_to_size[grey_class(v)];
		w->scan_work += size;
		scan_block(obj, obj + size, w);
		return;
	}
	mspan *s = arena_span_of(obj);
	if (TRI_UNLIKELY(!s || span_state(s) != SPAN_IN_USE ||
	                 obj < s->base || obj >= s->limit))
		return;
	uintptr_t end;
	if (s->divmul == 0) { /* large: this oblet; queue the rest first */
		if (obj == s->base)
			for (uintptr_t o = obj + OBLET_BYTES; o < s->limit;
			     o += OBLET_BYTES)
				gcw_put(w, o);
		end = s->limit - obj > OBLET_BYTES ? obj + OBLET_BYTES
		                                   : s->limit;
	} else {
		obj = s->base + span_obj_index(s, obj - s->base) * s->elemsize;
		end = obj + s->elemsize;
	}
	w->scan_work += end - obj;
	scan_block(obj, end, w);
}

void mark_scan_object(uintptr_t v, gcwork *w)
{
	scan_object(v, w);
	pipe_flush(w); /* P1 */
}

void mark_scan_range(uintptr_t lo, uintptr_t hi, gcwork *w)
{
	scan_block(lo, hi, w);
	pipe_flush(w); /* P1 */
}

typedef struct guarded_scan {
	uintptr_t lo, hi;
	gcwork *w;
} guarded_scan;

static void scan_guarded_fn(void *arg)
{
	guarded_scan *g = arg;
	scan_block(g->lo, g->hi, g->w);
}

/* A fault lands between two loads of scan_block: w is left whole. */
void mark_scan_guarded(uintptr_t lo, uintptr_t hi, gcwork *w)
{
	guarded_scan g = {lo, hi, w};
	threads_run_guarded(scan_guarded_fn, &g);
	pipe_flush(w); /* P1 */
}

/* ---- the tracked mode's rescans ---- */

/* Scan the words in [lo, hi), a part of s, of s's marked objects,
 * allocated-black ones included (I4); for a large object, the part. The
 * program may free s meanwhile (mheap_free_span: state DEAD, then its
 * bitmaps dropped), so the bitmap block is read once: NULL means freed,
 * and a stale block is never unmapped (fixalloc), its bits at worst a
 * needless scan. Explicitly freed slots that are still marked are
 * scanned too: conservative, never wrong. */
static void rescan_span(mspan *s, uintptr_t lo, uintptr_t hi, gcwork *w)
{
	const atomic_word *fb = (const atomic_word *)atomic_load_acquire(
	    (atomic_word *)&s->free_bits);
	if (!fb)
		return;
	uintptr_t nelems = s->nelems, nw = span_nwords(nelems);
	const atomic_word *alloc = fb + nw, *marks = fb + 2 * nw; /* span.c */
	if (s->divmul == 0) {
		if (bit_test(marks, 0)) {
			w->scan_work += hi - lo;
			scan_block(lo, hi, w);
		}
		return;
	}
	uint32_t g = (uint32_t)atomic_load_relaxed(&span_black_gen);
	bool black = g && AO_int_load((const unsigned *)&s->black_gen) == g;
	uintptr_t fi = atomic_load_relaxed(&s->freeindex);
	uintptr_t idx = span_obj_index(s, lo - s->base);
	uintptr_t obj = s->base + idx * s->elemsize;
	for (; obj < hi && idx < nelems; idx++, obj += s->elemsize) {
		if (!bit_test(marks, idx) && /* span.h span_allocated_black: */
		    !(black && idx < fi && !bit_test(alloc, idx)))
			continue;
		uintptr_t a = obj > lo ? obj : lo;
		uintptr_t b = obj + s->elemsize < hi ? obj + s->elemsize : hi;
		w->scan_work += b - a;
		scan_block(a, b, w);
	}
}

void mark_rescan(uintptr_t lo, uintptr_t hi, gcwork *w)
{
	while (lo < hi) {
		mspan *s = arena_span_of(lo);
		uintptr_t next = (lo | (PAGE_SIZE - 1)) + 1;
		if (s && span_state(s) == SPAN_IN_USE && lo >= s->base &&
		    lo < s->limit && !spanclass_noscan(s->spanclass)) {
			uintptr_t end = hi < s->limit ? hi : s->limit;
			rescan_span(s, lo, end, w);
			next = align_up(end, PAGE_SIZE);
		}
		lo = next;
	}
	pipe_flush(w); /* P1 */
}

/* ---- the parallel drain ---- */

/* Go's getfull: wait for work or for the end of marking (I2). */
static bool wait_for_work(gcwork *w)
{
	uintptr_t idle = atomic_add_full(&nwait, 1);
	TRI_ASSERT(idle < nmarkers); /* I2: only the markers wait */
	for (unsigned spins = 0;; spins++) {
		if (atomic_load_relaxed(&work_nfull)) {
			idle = atomic_add_full(&nwait, (uintptr_t)-1);
			TRI_ASSERT(idle > 0 && idle <= nmarkers); /* I2 */
			if (gcw_take_full(w))
				return true;
			idle = atomic_add_full(&nwait, 1);
			TRI_ASSERT(idle < nmarkers); /* I2 */
		}
		if (atomic_load_acquire(&nwait) == nmarkers &&
		    !atomic_load_relaxed(&work_nfull))
			return false;
		if (spins > 64)
			sched_yield();
	}
}

#define BALANCE_EVERY (TRI_SMALL_BUF ? 4 : 64)
static void drain(gcwork *w)
{
	for (unsigned n = 0;; n++) {
		uintptr_t obj = next_grey(w);
		if (!obj) {
			pipe_flush(w); /* P1: maybe more grey objects */
			if ((obj = next_grey(w)) != 0)
				goto scan;
			if (wait_for_work(w))
				continue;
			/* I2: a marker ends holding no grey object */
			TRI_ASSERT(!w->wbuf1 || (w->wbuf1->nobj == 0 &&
			                         w->wbuf2->nobj == 0));
			return;
		}
	scan:
		scan_object(obj, w);
		if (n % BALANCE_EVERY == 0 && atomic_load_relaxed(&nwait) &&
		    !atomic_load_relaxed(&work_nfull))
			gcw_balance(w);
	}
}

static void add_thread_root(uintptr_t lo, uintptr_t hi, enum root_kind k,
                            void *arg)
{
	scan_block(lo, hi, arg);
	if (k == ROOT_STACK)
		atomic_add_full(&stack_scanned, hi - lo);
}

/* The concurrent cycle's thread job: each registered thread is stopped
 * alone while its stack, registers and TLS are scanned and its barrier
 * buffer flushed (Go's per-goroutine suspendG / scanstack). */
static void scan_threads(gcwork *w)
{
	threads_lock();
	/* threads.h I4: one thread suspended at a time, never while the
	 * world is stopped (both under threads_lock) */
	TRI_ASSERT(!threads_world_stopped());
	stacks_begin_scan();
	for (gthread *t = threads_first(); t; t = threads_next(t)) {
		threads_suspend(t);
		threads_roots_of(t, add_thread_root, w);
		threads_note_scanned(t); /* threads.h I9 */
		wbbuf_flush(threads_wbbuf(t));
		threads_resume(t);
	}
	/* Coroutine stacks may be resumed meanwhile: this scan only gets
	 * ahead of mark termination's, which is the one that counts. */
	stacks_for_each_suspended(add_thread_root, w);
	threads_unlock();
}

/* Root jobs: the prepared ranges, then (concurrent) the thread job. */
static size_t total_jobs(void)
{
	return roots_njobs() + (with_thread_job ? 1 : 0);
}

/* Claim and scan one root job; the thread job only if threads_ok (the
 * caller holds no heap state: a background worker). Adds the bytes of a
 * prepared range it scans to *bytes (the thread job counts nothing: its
 * size is not known ahead). False if none is left. */
static bool claim_root_job(gcwork *w, bool threads_ok, uint64_t *bytes)
{
	size_t njobs = roots_njobs();
	if (atomic_load_relaxed(&root_next) >= total_jobs())
		return false;
	size_t i = atomic_add_full(&root_next, 1);
	if (i < njobs) {
		const root_job *j = roots_job(i);
		TRI_ASSERT(j->lo < j->hi && j->hi - j->lo <= ROOT_JOB_BYTES &&
		           j->lo % sizeof(uintptr_t) == 0); /* roots.h I1 */
		if (with_thread_job) /* concurrent: it may be unmapped */
			mark_scan_guarded(j->lo, j->hi, w);
		else
			scan_block(j->lo, j->hi, w);
		*bytes += j->hi - j->lo;
		return true;
	}
	if (i == njobs && with_thread_job) {
		if (threads_ok) {
			scan_threads(w);
		} else { /* put it back for a background worker */
			atomic_store_relaxed(&root_next, njobs);
			return false;
		}
		return true;
	}
	return false;
}

bool mark_roots_done(void)
{
	return atomic_load_relaxed(&root_next) >= total_jobs();
}

/* Must the drain stop early: the clock past the deadline, or *stop set?
 * Looked at on every DRAIN_CLOCK_EVERY-th item only (the clock is a vDSO
 * call). */
TRI_INLINE bool drain_must_stop(uint64_t deadline, const atomic_word *stop,
                                unsigned n)
{
	if (n % DRAIN_CLOCK_EVERY != DRAIN_CLOCK_EVERY - 1)
		return false;
	return (stop && atomic_load_relaxed(stop)) ||
	       (deadline && clock_ns(CLOCK_MONOTONIC) >= deadline);
}

int64_t mark_drain_n(gcwork *w, int64_t budget, bool threads_ok,
                     uint64_t deadline, const atomic_word *stop)
{
	TRI_ASSERT(budget > 0); /* scan work is the unit: at least a word */
	uint64_t start = w->scan_work, roots = 0; /* roots: Go's markroot
	                                             work, in the budget */
	for (unsigned n = 0;
	     (int64_t)(w->scan_work - start + roots) < budget &&
	     !drain_must_stop(deadline, stop, n);
	     n++) {
		if (claim_root_job(w, threads_ok, &roots))
			continue;
		uintptr_t obj = next_grey(w);
		if (!obj) {
			pipe_flush(w); /* P1: maybe more grey objects */
			if (!(obj = next_grey(w)))
				break;
		}
		scan_object(obj, w);
		/* Go's gcDrain: keep the global list fed, so assists and
		 * other workers find work while this one holds plenty. */
		if (n % BALANCE_EVERY == 0 && !atomic_load_relaxed(&work_nfull))
			gcw_balance(w);
	}
	pipe_flush(w); /* P1: what is left is in the buffers */
	ahead_put_back(w);
	return (int64_t)(w->scan_work - start + roots);
}

unsigned mark_gcw_flush(gcwork *w)
{
	pipe_flush(w); /* P1 */
	ahead_put_back(w);
	unsigned n = w->nput;
	gcw_dispose(w);
	atomic_add_full(&total_marked, w->bytes_marked);
	atomic_add_full(&total_scanned, w->scan_work);
	w->bytes_marked = w->scan_work = 0;
	w->nput = 0;
	return n;
}

void mark_begin(bool concurrent)
{
	/* sweep.h I1: every span swept before a mark begins (mheap.h I3) */
	if (TRI_DEBUG >= 2)
		TRI_ASSERT2(sweep_none_unswept());
	/* the last mark left no grey object and no buffer held (I2) */
	if (TRI_DEBUG >= 3)
		TRI_ASSERT(work_check_idle());
	TRI_ASSERT(!checkmark_active); /* checkmark.h I1 */
	atomic_store_relaxed(&root_next, 0);
	atomic_store_relaxed(&total_marked, 0);
	atomic_store_relaxed(&total_scanned, 0);
	atomic_store_relaxed(&stack_scanned, 0);
	with_thread_job = concurrent;
}

uint64_t mark_totals(uint64_t *scan_work, uint64_t *stack_bytes)
{
	*scan_work = atomic_load_relaxed(&total_scanned);
	*stack_bytes = atomic_load_relaxed(&stack_scanned);
	return atomic_load_relaxed(&total_marked);
}

static void mark_worker(void)
{
	gcwork w = {0};
	uint64_t roots = 0; /* unused: a helper drains without a budget */
	/* no thread job: mark_begin(false) */
	while (claim_root_job(&w, false, &roots))
		;
	drain(&w);
	mark_gcw_flush(&w);
}

static void *helper_main(void *arg)
{
	(void)arg;
	TRI_ASSERT(!mcache_tls); /* I3: never allocates from the heap */
	pthread_mutex_lock(&mark_mu);
	uint64_t seen = mark_epoch; /* join from the next mark on */
	nready++;
	for (;;) {
		while (mark_epoch == seen)
			pthread_cond_wait(&mark_cv, &mark_mu);
		seen = mark_epoch;
		pthread_mutex_unlock(&mark_mu);
		mark_worker();
		pthread_mutex_lock(&mark_mu);
		helpers_done++;
		pthread_cond_signal(&done_cv);
	}
	return NULL;
}

void mark_start_helpers(void)
{
	pthread_mutex_lock(&mark_mu);
	while (nhelpers + 1 < ncpu && /* helpers take no signals (I3) */
	       threads_start_internal(helper_main, NULL))
		nhelpers++;
	pthread_mutex_unlock(&mark_mu);
}

void mark_run(void)
{
	TRI_ASSERT(threads_world_stopped()); /* the stop-the-world mark */
	TRI_ASSERT(!with_thread_job);        /* mark_begin(false) */
	pthread_mutex_lock(&mark_mu);
	unsigned helpers = nready;
	atomic_store_relaxed(&root_next, 0);
	atomic_store_relaxed(&nwait, 0);
	nmarkers = helpers + 1; /* the markers that will take part (I2) */
	helpers_done = 0;
	mark_epoch++;
	pthread_cond_broadcast(&mark_cv);
	pthread_mutex_unlock(&mark_mu);

	mark_worker();

	pthread_mutex_lock(&mark_mu);
	while (helpers_done < helpers)
		pthread_cond_wait(&done_cv, &mark_mu);
	pthread_mutex_unlock(&mark_mu);
	/* I2: every marker idle, every root job claimed, nothing grey */
	TRI_ASSERT(atomic_load_relaxed(&nwait) == nmarkers);
	TRI_ASSERT(atomic_load_relaxed(&root_next) >= roots_njobs());
	TRI_ASSERT(atomic_load_relaxed(&work_nfull) == 0);
}

/* ---- the walker ---- */

static void add_marked_bytes(mspan *s, void *arg)
{
	uint64_t *sum = arg, n = 0;
	for (unsigned w = 0; w < span_nwords(s->nelems); w++)
		n += popcount64(atomic_load_relaxed(&span_marks(s)[w]));
	*sum += n * s->elemsize;
}

bool mark_check(void)
{
	if (!work_check_idle())
		return false;
	uint64_t sum = 0;
	mheap_for_each_span(add_marked_bytes, &sum);
	uint64_t marked = atomic_load_relaxed(&total_marked);
	uint64_t black = atomic_load_relaxed(&span_black_bytes);
	bool exact = mark_exact();
	if (exact ? sum == marked : sum <= marked + black)
		return true;
	base_warn("mark_check: the marked slots hold %lu bytes; the markers "
	          "counted %lu (+%lu allocated black) (I1)",
	          (unsigned long)sum, (unsigned long)marked,
	          exact ? 0ul : (unsigned long)black);
	return false;
}

void mark_fork_child(void)
{
	/* The helpers did not survive the fork; the lock may be held. */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t c = PTHREAD_COND_INITIALIZER;
	mark_mu = m;
	mark_cv = c;
	done_cv = c;
	nhelpers = nready = 0;
}

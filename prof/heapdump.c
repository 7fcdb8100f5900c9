/*
 * heapdump.c -- the heap dump of tri_heap_dump: every allocated object,
 * the roots that point into the heap, the statistics and the heap
 * profile, written with the world stopped in the versioned format of
 * docs/heapdump.md (Go's runtime/debug.WriteHeapDump, heapdump.go, in
 * tricolor's own format).
 *
 * Steps:
 *   1. World running: map the scratch (output buffer, segment list), read
 *      the statistics, the loaded objects' writable segments (names from
 *      the loader, which must not be asked with the world stopped) and the
 *      executable mappings (/proc/self/maps, for the tool's symbols).
 *   2. gc_run_stopped: every cache flushed, every span swept. Then write
 *      PARAMS, STATS, MAPPING records; an OBJECT record per allocated slot
 *      of every in-use span (arena by arena, page by page); a SAMPLE per
 *      profile special; a BUCKET per profile bucket; a ROOT record per
 *      root range holding heap pointers (data, bss, thread stacks and TLS,
 *      tri_add_roots ranges, coroutine stacks, root-scanner ranges); END.
 *   3. Unmap the scratch.
 * A record's length is written before its payload: an object or root
 * range is scanned twice, once to count its heap pointers.
 *
 * Invariants:
 *   H1. Nothing here allocates from the heap: output goes through a fixed
 *       buffer mapped with os_map (flushed with write), and nothing of the
 *       heap changes while the world is stopped (gc.h I2).
 *   H2. A "heap pointer" is an 8-byte-aligned word whose value lies in an
 *       allocated object of an in-use span (the marker's rule, mark.h);
 *       it is recorded with that object's start (a tiny object's: its
 *       16-byte block's).
 *   H3. After the first failed write nothing more is written; the call
 *       returns -1 with write's errno.
 */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../alloc/arena.h"
#include "../alloc/mcache.h"
#include "../alloc/mheap.h"
#include "../alloc/os.h"
#include "../alloc/sample.h"
#include "../alloc/span.h"
#include "../include/tricolor.h"
#include "../gc/gc.h"
#include "heapdump.h"
#include "profile.h"
#include "../gc/roots.h"
#include "../gc/stacks.h"
#include "../gc/stats.h"
#include "../gc/threads.h"

#define OUT_BYTES (256 * TRI_KiB)
#define MAX_SEGMENTS 1024

typedef struct segment {
	uintptr_t lo, data_end, hi;
	char name[256];
} segment;

typedef struct dump {
	int fd;
	int err;                 /* H3: errno of the failed write, or 0 */
	uint8_t *buf;            /* OUT_BYTES */
	size_t len;
	uint64_t records, objects;
	tri_stats_t stats;
	segment *segs;           /* MAX_SEGMENTS */
	size_t nsegs;
	maps_scratch *maps;
	char exe[256];
	unsigned thread_index;   /* of the thread whose roots are written */
	unsigned root_kind;      /* DUMP_ROOT_* of ranges being written */
} dump;

/* ---- output ---- */

static void flush_out(dump *d)
{
	size_t done = 0;
	while (!d->err && done < d->len) {
		/* Not write(): its wrapper would enter a blocking call and
		 * publish a new stack pointer for this thread, the one that
		 * stopped the world, moving its stack root under the dump. */
		ssize_t w = syscall(SYS_write, d->fd, d->buf + done,
		                    d->len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			d->err = w < 0 ? errno : EIO;
		else
			done += (size_t)w;
	}
	d->len = 0;
}

static void put(dump *d, const void *p, size_t n)
{
	const uint8_t *s = p;
	while (n) {
		if (d->len == OUT_BYTES)
			flush_out(d);
		size_t k = OUT_BYTES - d->len < n ? OUT_BYTES - d->len : n;
		memcpy(d->buf + d->len, s, k);
		d->len += k;
		s += k;
		n -= k;
	}
}

/* Little-endian fixed-width integers (amd64 is little-endian). */
static void put8(dump *d, uint8_t v) { put(d, &v, 1); }
static void put16(dump *d, uint16_t v) { put(d, &v, 2); }
static void put32(dump *d, uint32_t v) { put(d, &v, 4); }
static void put64(dump *d, uint64_t v) { put(d, &v, 8); }

static void record(dump *d, unsigned tag, uint32_t len)
{
	put8(d, (uint8_t)tag);
	put32(d, len);
	d->records++;
}

static uint16_t name_len(const char *s)
{
	size_t n = strlen(s);
	return (uint16_t)(n > 255 ? 255 : n);
}

/* ---- heap pointers (H2) ---- */

/* The dump's objects are slots (a tiny span's are its blocks). */
static uintptr_t find_object(uintptr_t a)
{
	mspan *s;
	return span_find_slot(a, &s);
}

static uint32_t count_pointers(uintptr_t lo, uintptr_t hi)
{
	uint32_t n = 0;
	for (uintptr_t p = align_up(lo, 8); p + 8 <= hi; p += 8)
		n += find_object(*(const uintptr_t *)p) != 0;
	return n;
}

/* n (offset or address, target) pairs, n from count_pointers; `rel`
 * subtracts lo (objects). Exactly n, so the record's length holds even
 * if the range changed since it was counted (it cannot with the world
 * stopped, but a wrong dump must still parse): extra pointers are
 * dropped, missing ones repeat the last pair. */
static void put_pointers(dump *d, uintptr_t lo, uintptr_t hi, bool rel,
                         uint32_t n)
{
	uintptr_t at = rel ? 0 : lo, t = 0;
	for (uintptr_t p = align_up(lo, 8); n && p + 8 <= hi; p += 8) {
		uintptr_t o = find_object(*(const uintptr_t *)p);
		if (!o)
			continue;
		at = rel ? p - lo : p;
		t = o;
		put64(d, at);
		put64(d, t);
		n--;
	}
	for (; n; n--) {
		put64(d, at);
		put64(d, t);
	}
}

/* ---- records ---- */

static void put_params(dump *d)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	record(d, DUMP_PARAMS, 5 * 8);
	put64(d, PAGE_SIZE);
	put64(d, sizeof(void *));
	put64(d, (uint64_t)getpid());
	put64(d, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	put64(d, (uint64_t)sample_rate());
}

static void put_stats(dump *d)
{
	const tri_stats_t *st = &d->stats;
	record(d, DUMP_STATS, 4 + DUMP_NSTATS * 8);
	put32(d, DUMP_NSTATS);
#define PUT_STAT(f) put64(d, st->f);
	DUMP_STATS_FIELDS(PUT_STAT)
#undef PUT_STAT
}

static void put_mappings(dump *d)
{
	for (size_t i = 0; i < d->maps->n; i++) {
		const pp_mapping *m = &d->maps->m[i];
		uint16_t n = name_len(m->name);
		record(d, DUMP_MAPPING, 3 * 8 + 2 + n);
		put64(d, m->lo);
		put64(d, m->hi);
		put64(d, m->off);
		put16(d, n);
		put(d, m->name, n);
	}
}

static void put_object(dump *d, const mspan *s, uintptr_t idx)
{
	uintptr_t base = s->base + idx * s->elemsize;
	bool noscan = spanclass_noscan(s->spanclass);
	uint32_t n = noscan ? 0 : count_pointers(base, base + s->elemsize);
	uint16_t tiny = 0;
	if (s->is_tiny)
		tiny = (uint16_t)(s->tiny[idx].starts & ~s->tiny[idx].freed);
	record(d, DUMP_OBJECT, 8 + 8 + 1 + 1 + 2 + 4 + n * 16);
	put64(d, base);
	put64(d, s->elemsize);
	put8(d, (uint8_t)spanclass_sizeclass(s->spanclass));
	put8(d, (uint8_t)((noscan ? DUMP_OBJ_NOSCAN : 0) |
	                  (s->is_tiny ? DUMP_OBJ_TINY : 0)));
	put16(d, tiny);
	put32(d, n);
	if (n)
		put_pointers(d, base, base + s->elemsize, true, n);
	d->objects++;
}

static void put_span(dump *d, const mspan *s)
{
	uint32_t live = 0;
	for (uintptr_t i = 0; i < s->nelems; i++)
		live += span_is_allocated(s, i);
	record(d, DUMP_SPAN, 8 + 8 + 1 + 1 + 4 + 4);
	put64(d, s->base);
	put64(d, s->npages);
	put8(d, (uint8_t)spanclass_sizeclass(s->spanclass));
	put8(d, (uint8_t)((spanclass_noscan(s->spanclass) ? DUMP_OBJ_NOSCAN : 0) |
	                  (s->is_tiny ? DUMP_OBJ_TINY : 0)));
	put32(d, s->nelems);
	put32(d, live);
	for (uintptr_t i = 0; i < s->nelems; i++)
		if (span_is_allocated(s, i))
			put_object(d, s, i);
	for (const special *sp = s->specials; sp; sp = sp->next) {
		record(d, DUMP_SAMPLE, 16);
		put64(d, s->base + (uintptr_t)sp->idx * s->elemsize);
		put64(d, ((const mprof_bucket *)sp->owner)->id);
	}
}

static void put_span_cb(mspan *s, void *d)
{
	put_span(d, s);
}

static void bucket_cb(const mprof_bucket *b, void *arg)
{
	dump *d = arg;
	record(d, DUMP_BUCKET, 6 * 8 + 4 + b->nstk * 8);
	put64(d, b->id);
	put64(d, b->size);
	put64(d, b->active.allocs);
	put64(d, b->active.alloc_bytes);
	put64(d, b->active.frees);
	put64(d, b->active.free_bytes);
	put32(d, b->nstk);
	for (unsigned i = 0; i < b->nstk; i++)
		put64(d, b->stk[i]);
}

/* A ROOT record for [lo, hi) if it holds heap pointers. */
static void put_root(dump *d, unsigned kind, uint32_t index, uintptr_t lo,
                     uintptr_t hi, const char *name)
{
	if (hi <= lo)
		return;
	uint32_t n = count_pointers(lo, hi);
	if (!n)
		return;
	uint16_t nl = name_len(name);
	record(d, DUMP_ROOT, 1 + 4 + 8 + 8 + 2 + nl + 4 + n * 16);
	put8(d, (uint8_t)kind);
	put32(d, index);
	put64(d, lo);
	put64(d, hi);
	put16(d, nl);
	put(d, name, nl);
	put32(d, n);
	put_pointers(d, lo, hi, false, n);
}

static void thread_root(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                        void *arg)
{
	dump *d = arg;
	unsigned k = kind == ROOT_TLS ? DUMP_ROOT_TLS : DUMP_ROOT_STACK;
	put_root(d, k, d->thread_index, lo, hi, "");
}

static void other_root(uintptr_t lo, uintptr_t hi, enum root_kind kind,
                       void *arg)
{
	(void)kind;
	dump *d = arg;
	put_root(d, d->root_kind, 0, lo, hi, "");
}

static void put_roots(dump *d)
{
	for (size_t i = 0; i < d->nsegs; i++) {
		const segment *g = &d->segs[i];
		const char *name = g->name[0] ? g->name : d->exe;
		put_root(d, DUMP_ROOT_DATA, (uint32_t)i, g->lo, g->data_end, name);
		put_root(d, DUMP_ROOT_BSS, (uint32_t)i, g->data_end, g->hi, name);
	}
	d->root_kind = DUMP_ROOT_USER;
	roots_for_each_user(other_root, d);
	stacks_begin_scan();
	d->thread_index = 0;
	for (gthread *t = threads_first(); t; t = threads_next(t)) {
		threads_roots_of(t, thread_root, d);
		d->thread_index++;
	}
	d->root_kind = DUMP_ROOT_CORO;
	stacks_for_each_suspended(other_root, d);
	d->root_kind = DUMP_ROOT_SCANNER;
	stacks_run_scanner(other_root, d);
}

static void dump_stopped(void *arg)
{
	dump *d = arg;
	put(d, DUMP_MAGIC, 8);
	put32(d, DUMP_VERSION);
	put32(d, 0); /* flags: little-endian, 8-byte words */
	put_params(d);
	put_stats(d);
	put_mappings(d);
	mheap_for_each_span(put_span_cb, d);
	profile_for_each_bucket(bucket_cb, d); /* prof_lock: profile.h I3 */
	put_roots(d);
	uint64_t records = d->records;
	record(d, DUMP_END, 16);
	put64(d, records);
	put64(d, d->objects);
	flush_out(d);
}

static void segment_cb(const char *name, uintptr_t lo, uintptr_t data_end,
                       uintptr_t hi, void *arg)
{
	dump *d = arg;
	if (d->nsegs == MAX_SEGMENTS)
		return;
	segment *g = &d->segs[d->nsegs++];
	g->lo = lo;
	g->data_end = data_end;
	g->hi = hi;
	size_t n = strlen(name);
	if (n >= sizeof g->name)
		n = sizeof g->name - 1;
	memcpy(g->name, name, n);
	g->name[n] = '\0';
}

int heapdump_write(int fd)
{
	dump d = {.fd = fd};
	d.buf = os_map(OUT_BYTES);
	d.segs = os_map(MAX_SEGMENTS * sizeof *d.segs);
	d.maps = os_map(sizeof *d.maps);
	if (!d.buf || !d.segs || !d.maps) {
		d.err = ENOMEM;
	} else {
		ssize_t e = readlink("/proc/self/exe", d.exe, sizeof d.exe - 1);
		d.exe[e > 0 ? e : 0] = '\0';
		stats_read(&d.stats);
		roots_for_each_segment(segment_cb, &d);
		profile_read_maps(d.maps);
		gc_run_stopped(dump_stopped, &d);
	}
	if (d.buf)
		os_unmap_mapped(d.buf, OUT_BYTES);
	if (d.segs)
		os_unmap_mapped(d.segs, MAX_SEGMENTS * sizeof *d.segs);
	if (d.maps)
		os_unmap_mapped(d.maps, sizeof *d.maps);
	if (d.err) {
		errno = d.err;
		return -1;
	}
	return 0;
}

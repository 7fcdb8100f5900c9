/*
 * leakcheck.c -- allocation records and the leak report; see leakcheck.h.
 *
 * Algorithm:
 *   1. Recording: each live object has a record {addr, size, stack id} in
 *      one of LEAK_SHARDS hash tables chosen by address (open addressing,
 *      linear probing, backward-shift deletion, doubled at half load). The
 *      stack -- return addresses with the recording library's own frames
 *      dropped -- is interned in one stack table (hashed, deduplicated),
 *      so a record holds a 32-bit id.
 *   2. Report, world stopped (gc_with_world_stopped): the root jobs of a
 *      stop-the-world cycle (roots_prepare: for the preload, every writable
 *      mapping that is not tricolor's, and every registered thread's stack
 *      and registers), less the thread stacks (L4) and the exit path's
 *      frames (L7), are scanned word by word, after the loader's blocks
 *      (L5); a word inside a recorded object (tri_base finds its start)
 *      marks it REACHED and pushes it; pushed objects are scanned whole.
 *      Then every record left unreached is scanned in turn, and what it
 *      reaches (and was not reached from the roots) is marked INDIRECT:
 *      LeakSanitizer's direct / indirect. The leaks are copied to a list
 *      and the marks cleared.
 *   3. World running again: the list is grouped by (stack, kind), sorted
 *      by bytes and printed; the frames are named from the objects' ELF
 *      symbol tables (callstack_symbolize: dladdr takes the loader's lock,
 *      so never with the world stopped).
 *
 * Invariants:
 *   L1. Every table lives in os_map memory (tricolor's metadata): the
 *       collector never scans it (os.c I3), so a record never keeps its
 *       object alive, and nothing here allocates from the heap.
 *   L2. A record exists iff the object is live: noted after the allocator
 *       returned it, forgotten before it is freed.
 *   L3. Records and stacks change only inside the heap-critical region
 *       (base.h), so while the world is stopped no thread is half-way
 *       through a change and no stopped thread holds a leak lock.
 *   L4. No part of a noted thread stack mapping is a root as a mapping:
 *       every thread that records notes its stack's top (tops), and a
 *       writable mapping ending there (or, for the main thread, the
 *       [stack] mapping holding it) is skipped in the mapping roots. A
 *       live thread's stack is still scanned from its stack pointer up to
 *       its top, TLS and thread descriptor included (its ROOT_STACK job);
 *       an exited thread's stack, which glibc keeps mapped for reuse, is
 *       not scanned at all (LeakSanitizer scans live threads only).
 *   L5. Blocks whose allocating frame is in the dynamic loader (PT_INTERP)
 *       are roots, as in LeakSanitizer: a thread's dynamic TLS vector is
 *       referenced only from its descriptor, in its stack mapping (L4).
 *   L6. A TRICOLOR_LEAK_* value that is not a whole number in range gets
 *       one warning line; the default or the nearest bound is used.
 *   L7. When the report runs inside exit() (the preload's at-exit
 *       report), the reporting thread's stack is scanned from exit's
 *       caller's frame up: the frames below (exit's, the handler's, the
 *       report's own) hold stale words from main's frames.

 * Locks: each shard's mutex, stacks_mu and tops_mu, rank LEAK (base.h): taken
 * inside the heap-critical region with no other heap lock held, never
 * nested with each other; os_map (rank OS) may be called under them.
 */
#include "leakcheck.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../alloc/mcache.h"
#include "../alloc/os.h"
#include "../include/tricolor.h"
#include "callstack.h"
#include "../gc/gc.h"
#include "../gc/roots.h"
#include "../gc/threads.h"

#define LEAK_SHARDS 64
#define LEAK_STACKS_MAX 4096 /* thread stack mappings excluded (L4) */
#define REACHED 1u
#define INDIRECT 2u

typedef struct leak_rec {
	uintptr_t addr; /* 0: empty slot */
	size_t size;
	uint32_t stack;
	uint32_t flags; /* REACHED, INDIRECT: world stopped only */
} leak_rec;

typedef struct shard {
	base_mutex mu;
	leak_rec *v; /* cap slots, a power of two (L1) */
	size_t n, cap;
} TRI_ALIGNED(TRI_CACHELINE) shard;

typedef struct leak_stack {
	uint64_t hash;
	uint32_t depth;
	uintptr_t pcs[LEAK_FRAMES];
} leak_stack;

static shard shards[LEAK_SHARDS];
static bool enabled; /* written once, before any thread records */
static int max_frames = LEAK_FRAMES_DEFAULT;

/* L4: the top of every thread stack that recorded an allocation (a
 * glibc thread stack is one mapping ending there, its TLS and thread
 * descriptor at the top). tops_mu; os_map memory (L1). */
static base_mutex tops_mu;
static uintptr_t *tops;
static size_t ntops, tops_cap;
static __thread uintptr_t noted_top __attribute__((tls_model("initial-exec")));

/* L5: the dynamic loader's code (PT_INTERP's object), found at enable. */
static uintptr_t loader_lo, loader_hi;

static base_mutex stacks_mu;
static leak_stack *stacks;     /* stacks_mu; index = id - 1 */
static size_t nstacks, stacks_cap;
static uint32_t *stack_index;  /* stacks_mu; hash -> id, 0 empty */
static size_t index_cap;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static shard *shard_of(uintptr_t a)
{
	return &shards[mix(a >> 4) % LEAK_SHARDS];
}

bool leakcheck_enabled(void)
{
	return enabled;
}

struct loader_find {
	const char *interp;
	bool first;
};

static int loader_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct loader_find *f = arg;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (f->first && ph->p_type == PT_INTERP)
			f->interp = (const char *)(info->dlpi_addr + ph->p_vaddr);
		if (f->first || !f->interp || !info->dlpi_name ||
		    strcmp(info->dlpi_name, f->interp) != 0 ||
		    ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (!loader_lo || lo < loader_lo)
			loader_lo = lo;
		if (lo + ph->p_memsz > loader_hi)
			loader_hi = lo + ph->p_memsz;
	}
	f->first = false;
	return 0;
}

int leakcheck_env(const char *name, int lo, int hi, int dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (end == v || *end || errno == ERANGE) { /* L6 */
		base_warn("%s=%s: not a whole number; using %d", name, v, dflt);
		return dflt;
	}
	if (n < lo || n > hi) {
		int use = n < lo ? lo : hi;
		base_warn("%s=%s: not from %d to %d; using %d", name, v, lo, hi,
		          use);
		return use;
	}
	return (int)n;
}

bool leakcheck_enable(uintptr_t lo, uintptr_t hi, int frames)
{
	if (frames > 0)
		max_frames = frames < LEAK_FRAMES ? frames : LEAK_FRAMES;
	for (int i = 0; i < LEAK_SHARDS; i++)
		base_mutex_init(&shards[i].mu, LOCK_RANK_LEAK);
	base_mutex_init(&stacks_mu, LOCK_RANK_LEAK);
	base_mutex_init(&tops_mu, LOCK_RANK_LEAK);
	callstack_init();
	if (hi > lo)
		callstack_set_library(lo, hi);
	struct loader_find f = {NULL, true};
	dl_iterate_phdr(loader_cb, &f); /* L5 */
	enabled = true;
	return true;
}

/* ---- the stack table ---- */

static bool stacks_grow_locked(void)
{
	size_t cap = stacks_cap ? stacks_cap * 2 : 1024;
	leak_stack *v = os_map(cap * sizeof *v);
	uint32_t *ix = os_map(cap * 2 * sizeof *ix);
	if (!v || !ix) {
		if (v)
			os_unmap_mapped(v, cap * sizeof *v);
		if (ix)
			os_unmap_mapped(ix, cap * 2 * sizeof *ix);
		return false;
	}
	if (nstacks)
		memcpy(v, stacks, nstacks * sizeof *v);
	for (size_t i = 0; i < nstacks; i++) { /* rehash */
		size_t j = v[i].hash & (cap * 2 - 1);
		while (ix[j])
			j = (j + 1) & (cap * 2 - 1);
		ix[j] = (uint32_t)(i + 1);
	}
	if (stacks) {
		os_unmap_mapped(stacks, stacks_cap * sizeof *stacks);
		os_unmap_mapped(stack_index, index_cap * sizeof *stack_index);
	}
	stacks = v;
	stacks_cap = cap;
	stack_index = ix;
	index_cap = cap * 2;
	return true;
}

/* The id of the stack pcs[0..n), interned (0 if out of memory). */
static uint32_t stack_intern(const uintptr_t *pcs, int n)
{
	uint64_t h = (uint64_t)n;
	for (int i = 0; i < n; i++)
		h = mix(h ^ pcs[i]);
	base_mutex_lock(&stacks_mu);
	uint32_t id = 0;
	if (nstacks == stacks_cap && !stacks_grow_locked())
		goto out;
	size_t j = h & (index_cap - 1);
	for (; stack_index[j]; j = (j + 1) & (index_cap - 1)) {
		leak_stack *s = &stacks[stack_index[j] - 1];
		if (s->hash == h && s->depth == (uint32_t)n &&
		    memcmp(s->pcs, pcs, (size_t)n * sizeof *pcs) == 0) {
			id = stack_index[j];
			goto out;
		}
	}
	leak_stack *s = &stacks[nstacks++];
	s->hash = h;
	s->depth = (uint32_t)n;
	memcpy(s->pcs, pcs, (size_t)n * sizeof *pcs);
	id = (uint32_t)nstacks;
	stack_index[j] = id;
out:
	base_mutex_unlock(&stacks_mu);
	return id;
}

/* ---- thread stacks (L4) ---- */

static void note_top_locked(uintptr_t top)
{
	for (size_t i = 0; i < ntops; i++)
		if (tops[i] == top)
			return;
	void *v = tops;
	bool ok = os_vec_reserve(&v, &tops_cap, ntops, ntops + 1, sizeof *tops,
	                         512);
	tops = v;
	if (ok) /* else that stack stays a root: conservative */
		tops[ntops++] = top;
}

/* Remember the calling thread's stack, once per thread (and again if it
 * moved to another stack). Inside the heap-critical region (L3). */
static void note_stack(void)
{
	uintptr_t top = threads_self_stack_hi((uintptr_t)&top);
	if (!top || top == noted_top)
		return;
	noted_top = top;
	base_mutex_lock(&tops_mu);
	note_top_locked(top);
	base_mutex_unlock(&tops_mu);
}

/* ---- the record tables ---- */

static void insert_locked(shard *sh, leak_rec r)
{
	size_t m = sh->cap - 1;
	size_t j = mix(r.addr >> 4) & m;
	while (sh->v[j].addr)
		j = (j + 1) & m;
	sh->v[j] = r;
	sh->n++;
}

static bool shard_grow_locked(shard *sh)
{
	size_t cap = sh->cap ? sh->cap * 2 : 4096;
	leak_rec *old = sh->v;
	size_t old_cap = sh->cap;
	leak_rec *v = os_map(cap * sizeof *v);
	if (!v)
		return false;
	sh->v = v;
	sh->cap = cap;
	sh->n = 0;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].addr)
			insert_locked(sh, old[i]);
	if (old)
		os_unmap_mapped(old, old_cap * sizeof *old);
	return true;
}

void leakcheck_note(void *p, size_t n)
{
	if (!enabled || !p)
		return;
	/* the recording library's own leading frames (malloc, its slow
	 * paths, this function) are dropped: callstack.h C4 */
	uintptr_t pcs[LEAK_FRAMES];
	int k = callstack_capture_program(pcs, max_frames);
	m_acquire(); /* L3 */
	note_stack();
	uint32_t id = stack_intern(pcs, k);
	shard *sh = shard_of((uintptr_t)p);
	base_mutex_lock(&sh->mu);
	if ((sh->n + 1) * 2 <= sh->cap || shard_grow_locked(sh))
		insert_locked(sh, (leak_rec){(uintptr_t)p, n, id, 0});
	base_mutex_unlock(&sh->mu);
	m_release();
}

/* The slot of a in sh, or NULL. */
static leak_rec *find_locked(shard *sh, uintptr_t a)
{
	if (!sh->cap)
		return NULL;
	size_t m = sh->cap - 1;
	for (size_t j = mix(a >> 4) & m; sh->v[j].addr; j = (j + 1) & m)
		if (sh->v[j].addr == a)
			return &sh->v[j];
	return NULL;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void delete_locked(shard *sh, leak_rec *r)
{
	size_t m = sh->cap - 1;
	size_t i = (size_t)(r - sh->v);
	for (size_t j = (i + 1) & m; sh->v[j].addr; j = (j + 1) & m) {
		size_t home = mix(sh->v[j].addr >> 4) & m;
		/* move j back to i if its home is not in (i, j] */
		if (((j - home) & m) >= ((j - i) & m)) {
			sh->v[i] = sh->v[j];
			i = j;
		}
	}
	sh->v[i].addr = 0;
	sh->n--;
}

void leakcheck_forget(void *p)
{
	if (!enabled || !p)
		return;
	shard *sh = shard_of((uintptr_t)p);
	m_acquire(); /* L3 */
	base_mutex_lock(&sh->mu);
	leak_rec *r = find_locked(sh, (uintptr_t)p);
	if (r)
		delete_locked(sh, r);
	base_mutex_unlock(&sh->mu);
	m_release();
}

/* ---- fork: every leak lock, so the child never inherits a held one ---- */

/* ---- marking, world stopped ---- */

typedef struct mark_state {
	leak_rec **stack; /* grey records (os_map) */
	size_t n, cap;
	uint32_t flag;    /* REACHED or INDIRECT */
	bool oom;
	struct leak_item *items; /* the leaks found (os_map) */
	size_t nitems, items_cap;
	struct stack_ranges *stacks; /* L4 (os_map) */
	uintptr_t exit_cfa; /* L7: exit()'s caller's frame, or 0 */
} mark_state;

typedef struct leak_item {
	uint32_t stack;
	uint32_t indirect;
	size_t size;
} leak_item;

static bool push(mark_state *ms, leak_rec *r)
{
	void *v = ms->stack;
	bool ok = os_vec_reserve(&v, &ms->cap, ms->n, ms->n + 1,
	                         sizeof *ms->stack, 65536);
	ms->stack = v;
	if (!ok) {
		ms->oom = true;
		return false;
	}
	ms->stack[ms->n++] = r;
	return true;
}

/* Mark the recorded object word w points into, if any and not yet. */
static void mark_word(mark_state *ms, uintptr_t w)
{
	void *b = (void *)span_find_object(w);
	if (!b)
		return;
	shard *sh = shard_of((uintptr_t)b);
	leak_rec *r = find_locked(sh, (uintptr_t)b);
	if (!r || (r->flags & (REACHED | ms->flag)))
		return;
	r->flags |= ms->flag;
	push(ms, r);
}

static void scan(mark_state *ms, uintptr_t lo, uintptr_t hi)
{
	lo = align_up(lo, sizeof(void *));
	for (uintptr_t p = lo; p + sizeof(void *) <= hi; p += sizeof(void *))
		mark_word(ms, *(const uintptr_t *)p);
}

static void drain(mark_state *ms)
{
	while (ms->n > 0) {
		leak_rec *r = ms->stack[--ms->n];
		scan(ms, r->addr, r->addr + r->size);
	}
}

static void add_item(mark_state *ms, const leak_rec *r)
{
	void *v = ms->items;
	bool ok = os_vec_reserve(&v, &ms->items_cap, ms->nitems,
	                         ms->nitems + 1, sizeof *ms->items, 4096);
	ms->items = v;
	if (!ok) {
		ms->oom = true;
		return;
	}
	ms->items[ms->nitems++] = (leak_item){
		r->stack, (r->flags & INDIRECT) != 0, r->size};
}

/* ---- which mapped ranges are thread stacks (L4), world stopped ---- */

typedef struct stack_ranges {
	uintptr_t lo[LEAK_STACKS_MAX], hi[LEAK_STACKS_MAX];
	size_t n;
} stack_ranges;

static void stack_line(const os_mapping *mp, void *arg)
{
	stack_ranges *sr = arg;
	os_mapping m = *mp;
	if (m.perms[1] != 'w' || sr->n == LEAK_STACKS_MAX)
		return;
	/* a thread's stack mapping ends at its top; the main thread's top is
	 * inside [stack], below the environment strings */
	bool main_stack = strcmp(m.path, "[stack]") == 0;
	for (size_t i = 0; i < ntops; i++)
		if (tops[i] == m.hi ||
		    (main_stack && tops[i] > m.lo && tops[i] < m.hi)) {
			sr->lo[sr->n] = m.lo;
			sr->hi[sr->n++] = m.hi;
			return;
		}
}

/* The writable mappings that end at a noted stack top, from
 * /proc/self/maps read in pieces (no allocation). */
static void find_stack_ranges(stack_ranges *sr)
{
	sr->n = 0;
	(void)os_read_maps(stack_line, sr); /* unreadable: every stack stays
	                                       a root (conservative) */
}

/* L4: a job of the mapping roots inside a thread stack is skipped: a live
 * thread's stack is scanned from its stack pointer (a ROOT_STACK job), a
 * dead thread's (glibc caches exited threads' stacks) not at all. L7: of
 * the reporting thread's own stack, only [exit_cfa, top) when it is
 * inside exit(). Returns where the job's scan starts (its hi: skipped). */
static uintptr_t root_from(const mark_state *ms, const root_job *j)
{
	/* stacks are disjoint: only the reporting thread's job holds its
	 * exit_cfa (the report's own frames, a few KiB, are in that job) */
	if (j->kind == ROOT_STACK && j->lo < ms->exit_cfa &&
	    ms->exit_cfa <= j->hi)
		return ms->exit_cfa; /* L7 */
	if (j->kind != ROOT_DATA)
		return j->lo;
	for (size_t i = 0; i < ms->stacks->n; i++)
		if (j->lo >= ms->stacks->lo[i] && j->lo < ms->stacks->hi[i])
			return j->hi;
	return j->lo;
}

/* L5: whether r was allocated by the dynamic loader itself. */
static bool from_loader(const leak_rec *r)
{
	if (!r->stack || !loader_hi)
		return false;
	const leak_stack *st = &stacks[r->stack - 1];
	return st->depth > 0 && st->pcs[0] - 1 - loader_lo <
	                        loader_hi - loader_lo;
}

/* L5: the loader's blocks are roots (LeakSanitizer's rule): each thread's
 * dynamic TLS vector lives in the thread descriptor, which for an exited
 * thread is in a cached stack that is not scanned (L4). */
static void mark_loader_blocks(mark_state *ms)
{
	for (int s = 0; s < LEAK_SHARDS; s++)
		for (size_t i = 0; i < shards[s].cap; i++) {
			leak_rec *r = &shards[s].v[i];
			if (r->addr && !(r->flags & REACHED) && from_loader(r)) {
				r->flags |= REACHED;
				push(ms, r);
				drain(ms);
			}
		}
}

static void find_leaks_stopped(void *arg)
{
	mark_state *ms = arg;
	roots_prepare(true); /* world lock held: gc_with_world_stopped */
	find_stack_ranges(ms->stacks);
	ms->flag = REACHED;
	mark_loader_blocks(ms);
	for (size_t i = 0; i < roots_njobs(); i++) {
		scan(ms, root_from(ms, roots_job(i)), roots_job(i)->hi);
		drain(ms);
	}
	ms->flag = INDIRECT; /* what leaked objects reach */
	for (int s = 0; s < LEAK_SHARDS; s++)
		for (size_t i = 0; i < shards[s].cap; i++) {
			leak_rec *r = &shards[s].v[i];
			if (r->addr && !(r->flags & REACHED)) {
				scan(ms, r->addr, r->addr + r->size);
				drain(ms);
			}
		}
	for (int s = 0; s < LEAK_SHARDS; s++)
		for (size_t i = 0; i < shards[s].cap; i++) {
			leak_rec *r = &shards[s].v[i];
			if (r->addr && !(r->flags & REACHED))
				add_item(ms, r);
			r->flags = 0;
		}
}

/* ---- printing ---- */

typedef struct out {
	int fd;
	size_t n;
	char buf[4096];
} out;

static void flush(out *o)
{
	size_t off = 0;
	while (off < o->n) {
		ssize_t w = write(o->fd, o->buf + off, o->n - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	o->n = 0;
}

static void emit(out *o, const char *line)
{
	size_t len = strlen(line);
	if (o->n + len > sizeof o->buf)
		flush(o);
	if (len > sizeof o->buf)
		len = sizeof o->buf;
	memcpy(o->buf + o->n, line, len);
	o->n += len;
}

/* "#i pc in name+off (object+offset)": the name from the object's
 * symbol tables (callstack.h C5), so static functions are named too. */
static void print_frame(out *o, int i, uintptr_t pc)
{
	char line[512], name[256];
	Dl_info di;
	uintptr_t q = pc - 1, off; /* inside the call instruction */
	bool named = callstack_symbolize(pc, name, sizeof name, &off);
	if (dladdr((void *)q, &di) && di.dli_fname) {
		if (named)
			base_format(line, sizeof line,
			            "    #%d 0x%lx in %s+0x%lx (%s+0x%lx)\n", i,
			            (unsigned long)pc, name, (unsigned long)off,
			            di.dli_fname,
			            (unsigned long)(q - (uintptr_t)di.dli_fbase));
		else
			base_format(line, sizeof line,
			            "    #%d 0x%lx in (%s+0x%lx)\n", i,
			            (unsigned long)pc, di.dli_fname,
			            (unsigned long)(q - (uintptr_t)di.dli_fbase));
	} else {
		base_format(line, sizeof line, "    #%d 0x%lx\n", i,
		            (unsigned long)pc);
	}
	emit(o, line);
}

/* Sort items by (indirect, stack) so groups are runs (shell sort: no
 * allocation, and n is at most the leaks found). */
static bool item_less(const leak_item *a, const leak_item *b)
{
	if (a->indirect != b->indirect)
		return a->indirect < b->indirect;
	return a->stack < b->stack;
}

static void sort_items(leak_item *v, size_t n)
{
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++) {
			leak_item t = v[i];
			size_t j = i;
			for (; j >= gap && item_less(&t, &v[j - gap]); j -= gap)
				v[j] = v[j - gap];
			v[j] = t;
		}
}

typedef struct group {
	uint32_t stack, indirect;
	uint64_t bytes, count;
	bool printed;
} group;

static void print_group(out *o, const group *g)
{
	char line[256];
	base_format(line, sizeof line,
	            "\n%s leak of %llu byte(s) in %llu object(s) allocated "
	            "from:\n", g->indirect ? "Indirect" : "Direct",
	            (unsigned long long)g->bytes,
	            (unsigned long long)g->count);
	emit(o, line);
	const leak_stack *s = g->stack ? &stacks[g->stack - 1] : NULL;
	if (!s || s->depth == 0)
		emit(o, "    (no stack recorded)\n");
	for (uint32_t i = 0; s && i < s->depth; i++)
		print_frame(o, (int)i, s->pcs[i]);
}

/* Group the sorted items (in place, into the items' own memory: groups
 * are never more than items) and print them, largest first. */
static void print_leaks(out *o, mark_state *ms)
{
	sort_items(ms->items, ms->nitems);
	size_t ng = 0;
	uint64_t bytes = 0;
	group *gs = os_map((ms->nitems + 1) * sizeof *gs);
	for (size_t i = 0; gs && i < ms->nitems; i++) {
		const leak_item *it = &ms->items[i];
		if (!ng || gs[ng - 1].stack != it->stack ||
		    gs[ng - 1].indirect != it->indirect)
			gs[ng++] = (group){it->stack, it->indirect, 0, 0, false};
		gs[ng - 1].bytes += it->size;
		gs[ng - 1].count++;
		bytes += it->size;
	}
	for (size_t k = 0; k < ng; k++) { /* selection by bytes: few groups */
		group *best = NULL;
		for (size_t i = 0; i < ng; i++)
			if (!gs[i].printed &&
			    (!best || gs[i].indirect < best->indirect ||
			     (gs[i].indirect == best->indirect &&
			      gs[i].bytes > best->bytes)))
				best = &gs[i];
		best->printed = true;
		print_group(o, best);
	}
	char line[200];
	base_format(line, sizeof line,
	            "\nSUMMARY: tricolor leakcheck: %llu byte(s) leaked in "
	            "%llu allocation(s).\n", (unsigned long long)bytes,
	            (unsigned long long)ms->nitems);
	emit(o, line);
	if (gs)
		os_unmap_mapped(gs, (ms->nitems + 1) * sizeof *gs);
}

uint64_t leakcheck_report(int fd, bool quiet_if_none)
{
	static out o; /* one report at a time: report_mu */
	static pthread_mutex_t report_mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&report_mu);
	o.fd = fd;
	o.n = 0;
	char line[200];
	if (!enabled) {
		emit(&o, "tricolor leakcheck: no allocation sites recorded "
		         "(only libtricolor-malloc.so with "
		         "TRICOLOR_MALLOC=leakcheck records them)\n");
		flush(&o);
		pthread_mutex_unlock(&report_mu);
		return 0;
	}
	mark_state ms = {0};
	if (threads_attach() == 0) { /* the reporter's stack too (L4) */
		m_acquire(); /* L3 */
		note_stack();
		m_release();
	}
	ms.stacks = os_map(sizeof *ms.stacks);
	ms.exit_cfa = callstack_frame_of((uintptr_t)exit); /* L7 */
	if (ms.stacks && threads_attach() == 0)
		gc_with_world_stopped(find_leaks_stopped, &ms);
	if (!ms.stacks)
		ms.oom = true;
	if (ms.oom)
		emit(&o, "tricolor leakcheck: out of memory while marking: "
		         "the report may be incomplete\n");
	uint64_t n = ms.nitems;
	if (n || !quiet_if_none) {
		base_format(line, sizeof line,
		            "=================================================="
		            "===============\n==%d==ERROR: tricolor leakcheck: "
		            "detected memory leaks\n", (int)getpid());
		if (n)
			emit(&o, line);
		print_leaks(&o, &ms);
	}
	flush(&o);
	if (ms.stack)
		os_unmap_mapped(ms.stack, ms.cap * sizeof *ms.stack);
	if (ms.items)
		os_unmap_mapped(ms.items, ms.items_cap * sizeof *ms.items);
	if (ms.stacks)
		os_unmap_mapped(ms.stacks, sizeof *ms.stacks);
	pthread_mutex_unlock(&report_mu);
	return n;
}


/*
 * test/stress/torture.c -- owned by the stress tests (not the library).
 *
 * The concurrent-mode torture run (DESIGN.md, "Testing"): threads build and
 * rewire one shared random object graph through the write barrier while
 * cycles run back to back, through tricolor's public API only:
 *
 *   torture SEED THREADS MAX_SIZE SECONDS
 *
 * MAX_SIZE bounds one object (0: 256 KiB); the heap goal (next_gc, about
 * the live heap * 1.1) is kept near HEAP_BUDGET, 32 MiB, whatever the
 * arguments: above it threads stop growing the graph and cut more. A
 * thread whose root table is mostly empty grows anyway: a stale copy of
 * one pointer on a stack can keep a whole old graph alive for a while (the
 * collector is conservative), so the live heap may reach about twice the
 * budget, never more.
 *
 * Setup, before the first allocation (the collector reads its environment
 * when the heap is initialised): GOGC=10 and GODEBUG=clobberfree=1,
 * gccheckmark=1 unless the variable is already set, then
 * tri_set_mode(TRI_MODE_CONCURRENT). So cycles run every few MiB of
 * allocation, freed memory is poisoned (a visit to an object freed while
 * reachable sees the poison), and every concurrent mark is checked by a
 * stop-the-world re-mark.
 *
 * The graph. A node is a tri_malloc object: a header (check word, stamp,
 * size, edge count, owner, a spin lock), NPTR edges, then a filler stamped
 * from the node's stamp. Sizes vary: mostly small, some 1..4 KiB of filler
 * or 64 / 512 edges, 1 in 200 large (32 KiB .. MAX_SIZE). An edge is a
 * pointer and the stamp of the node it points to (so a node freed by
 * mistake and handed out again is caught even once restamped). Stamps have
 * the top bit set: they never look like heap pointers.
 *   check word = mix64(address ^ mix64(stamp ^ size, nptr, owner))
 * Every visit of a node checks tri_base, the check word, the stamp the
 * edge expects, and the filler's first and last bytes; a mismatch prints
 * the node (header and first words), the path it was reached by
 * (root[i].e[j]...) and exits 1.
 *
 * Each thread's roots are a node (ROOTS edges) referenced from the global
 * g_root_tbl[thread] through TRI_STORE; only the owner touches it. Every
 * edge of every node is read and written under that node's lock (two locks
 * are taken in address order; nothing allocates while holding one), so an
 * edge's pointer and stamp always agree. Every pointer store into a node,
 * a tri_malloc buffer or a global goes through TRI_STORE or tri_memmove:
 * the program keeps the concurrent-mode contract.
 *
 * Each operation walks from a random root down random edges (verifying
 * every node it passes) and then one of:
 *   grow     a fresh node (edges to other reachable nodes) into an edge
 *   link     an edge to another reachable node (a second walk)
 *   cut      an edge (or a root) set to NULL: a subgraph may die
 *   move     an edge's target moved to another node's edge, the old edge
 *            cleared (the classic lost-object pattern without barriers)
 *   copy     tri_memmove of an edge range between two nodes, or within one
 *   stage    tri_memmove of edges into a tri_malloc buffer held only on the
 *            stack, garbage allocated, the buffer's targets verified, the
 *            edges moved on with tri_memmove, the buffer tri_free'd
 *   hand     take a node out of the graph into a local array (a stack
 *            root) or put one back; a chain of fresh nodes built only
 *            on the stack, garbage allocated, then verified and published
 *   mail     post a node to the next thread's slot in a global mailbox
 *            (a mutex, TRI_STORE), or adopt one posted to this thread
 *   scratch  a fresh node that never leaves this thread, verified and
 *            tri_free'd (the only tri_free of a node: nothing else can hold
 *            it)
 *   verify   a bounded breadth-first check of everything reachable from a
 *            root, with the path to each node
 * The main thread reads the statistics every 20 ms (folding pause_ns into
 * the maximum pause) and calls tri_collect every quarter second. At the end
 * it verifies everything reachable from every root table in full, collects,
 * and verifies again; cycles must have run.
 *
 * TORTURE_FORGET_BARRIER=1 (a debugging aid, never run by make check):
 * one link store in 4 and every store of the move operation become plain
 * stores, breaking the contract on purpose. Under a concurrent collector a
 * moved edge's target can then be missed by the mark; gccheckmark=1 must
 * name it (and if it is freed, the next visit here fails). It shows the
 * tool finds a forgotten TRI_STORE. In stop-the-world mode (or while the
 * barrier is a plain store) the run still passes.
 *
 * torture_plain.c builds this file with TORTURE_PLAIN: every TRI_STORE a
 * plain store, every tri_memmove a memmove, and no tri_set_mode call --
 * ordinary C in the default mode (concurrent marking with the kernel
 * tracking the writes, or stop-the-world where it cannot).
 *
 * Prints one summary line and "torture: ok ..." and exits 0; prints the
 * first mismatch and exits 1 (2 for bad arguments). Deterministic for a
 * seed except for the interleaving of threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <tricolor.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

#ifdef TORTURE_PLAIN /* torture_plain.c: ordinary C, the default mode */
#undef TRI_STORE
#define TRI_STORE(lvalue, value) ((lvalue) = (value))
#define tri_memmove memmove
#endif

enum {
	MAX_THREADS = 64,
	ROOTS = 128,       /* root edges per thread */
	MAX_WALK = 12,     /* edges followed by one walk */
	MAX_PATH = 24,     /* path steps kept for reports */
	HAND = 4,          /* nodes held only in a local array */
	MAIL_SLOTS = 16,   /* mailbox slots per receiver */
	CHAIN = 32,        /* nodes in a stack-only chain */
	PEEK = 32,         /* filler bytes checked at each end on a visit */
	VERIFY_NODES = 512 /* nodes per bounded verification */
};

#define HEAP_BUDGET ((uint64_t)32 << 20) /* next_gc kept near this */
#define STAMP_BIT   ((uint64_t)1 << 63)  /* stamps are never pointers */

struct node;

struct edge {
	struct node *p;
	uint64_t tag; /* p's stamp, 0 when p is NULL */
};

struct node {
	uint64_t check; /* node_check(): address, stamp, size, nptr, owner */
	uint64_t stamp;
	uint32_t size;  /* bytes requested */
	uint32_t nptr;  /* edges */
	uint32_t owner; /* allocating thread, for reports */
	uint32_t lock;  /* guards e[] (spin lock, atomic acq/rel) */
	struct edge e[]; /* nptr edges, then the stamped filler */
};

/* A way to a node, for reports: root[root].e[idx[0]].e[idx[1]]... */
struct path {
	int thread, root, n;
	uint32_t idx[MAX_PATH];
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng, gen;
	int over; /* heap_alloc above HEAP_BUDGET at the last look */
	/* counters */
	uint64_t ops, allocs, alloc_bytes, visits, frees, links, cuts, moves,
	    copies, stages, sent, adopted, chains, verifies;
};

/* Globals are roots. Pointer stores into them go through TRI_STORE. */
static struct node *g_root_tbl[MAX_THREADS];
static struct edge g_mail[MAX_THREADS][MAIL_SLOTS]; /* g_mail_lock */
static pthread_mutex_t g_mail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct worker g_w[MAX_THREADS];
static int g_threads;
static size_t g_max_size;
static int g_forget; /* TORTURE_FORGET_BARRIER */

/* ------------------------------------------------------------------------ */
/* nodes                                                                     */
/* ------------------------------------------------------------------------ */

static size_t filler_off(uint32_t nptr)
{
	return sizeof(struct node) + (size_t)nptr * sizeof(struct edge);
}

static uint64_t node_check(const struct node *n)
{
	return mix64((uint64_t)(uintptr_t)n ^
	             mix64(n->stamp ^ ((uint64_t)n->size << 32) ^ n->nptr ^
	                   ((uint64_t)n->owner << 20)));
}

static uint64_t filler_tag(uint64_t stamp)
{
	return stamp ^ 0xf111e4f111e4ull;
}

static void path_str(const struct path *pa, char *buf, size_t sz)
{
	int k = pa->root < 0
	            ? snprintf(buf, sz, "a local of thread %d", pa->thread)
	            : snprintf(buf, sz, "thread %d's root[%d]", pa->thread,
	                       pa->root);
	for (int i = 0; i < pa->n && i < MAX_PATH && k > 0 && (size_t)k < sz;
	     i++)
		k += snprintf(buf + k, sz - (size_t)k, ".e[%u]", pa->idx[i]);
	if (pa->n > MAX_PATH && k > 0 && (size_t)k < sz)
		snprintf(buf + k, sz - (size_t)k, "... (%d steps)", pa->n);
}

static void path_push(struct path *pa, uint32_t i)
{
	if (pa->n < MAX_PATH)
		pa->idx[pa->n] = i;
	pa->n++;
}

/* Report a bad node: what, where it was reached, its header and first
 * words (read as bytes: it may be anything now), then exit 1. */
static void bad_node(const struct worker *w, const struct node *n,
                     const struct path *pa, const char *fmt, ...)
    __attribute__((format(printf, 4, 5), noreturn));

static void bad_node(const struct worker *w, const struct node *n,
                     const struct path *pa, const char *fmt, ...)
{
	char what[512], where[512], dump[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (pa)
		path_str(pa, where, sizeof where);
	else
		snprintf(where, sizeof where, "a local reference");
	int k = 0;
	if (tri_base(n)) { /* readable: it is inside the heap */
		for (int i = 0; i < 8; i++) {
			uint64_t v;
			memcpy(&v, (const char *)n + 8 * i, 8);
			k += snprintf(dump + k, sizeof dump - (size_t)k,
			              " %016" PRIx64, v);
		}
	} else {
		snprintf(dump, sizeof dump, " (not a heap object now)");
	}
	fail("thread %d: node %p reached by %s: %s; words:%s", w->id,
	     (const void *)n, where, what, dump);
}

/* What is wrong with n, which the edge we came by says has stamp tag (0:
 * any), written to msg; false when nothing is. The filler is checked at
 * both ends, or in full. */
static int node_problem(const struct node *n, uint64_t tag, int full,
                        char *msg, size_t sz)
{
	void *b = tri_base(n);
	if (b != n)
		return snprintf(msg, sz, "tri_base = %p (freed while reachable)",
		                b);
	if (n->check != node_check(n))
		return snprintf(msg, sz,
		                "check word %016" PRIx64 ", expected %016" PRIx64
		                " (stamp %016" PRIx64 ", %u bytes, %u edges)",
		                n->check, node_check(n), n->stamp, n->size,
		                n->nptr);
	if (tag && n->stamp != tag)
		return snprintf(msg, sz,
		                "stamp %016" PRIx64 ", the edge expects %016" PRIx64
		                " (freed and handed out again?)",
		                n->stamp, tag);
	size_t fo = filler_off(n->nptr);
	if (fo > n->size || (full && tri_usable_size(n) < n->size))
		return snprintf(msg, sz, "%u edges, %u bytes, usable %zu",
		                n->nptr, n->size, tri_usable_size(n));
	const unsigned char *f = (const unsigned char *)n + fo;
	size_t fl = n->size - fo, off;
	uint64_t ft = filler_tag(n->stamp);
	if (full || fl <= 2 * PEEK) {
		off = stamp_check(f, fl, fl, ft);
	} else {
		off = stamp_check(f, PEEK, fl, ft);
		for (size_t i = fl - PEEK; off == PEEK && i < fl; i++)
			if (f[i] != expected_byte(ft, fl, i))
				off = i;
		if (off == PEEK)
			off = fl;
	}
	if (off != fl)
		return snprintf(msg, sz,
		                "filler byte %zu (object byte %zu of %u) is 0x%02x"
		                ", expected 0x%02x",
		                off, fo + off, n->size, f[off],
		                expected_byte(ft, fl, off));
	return 0;
}

/* Verify a node on a visit; exit 1 with the report on a mismatch. */
static void check_node(struct worker *w, const struct node *n, uint64_t tag,
                       const struct path *pa, int full)
{
	char msg[256];
	w->visits++;
	if (node_problem(n, tag, full, msg, sizeof msg))
		bad_node(w, n, pa, "%s", msg);
}

static void node_lock(struct worker *w, struct node *n)
{
	unsigned spins = 0;
	time_t t0 = 0;
	while (__atomic_exchange_n(&n->lock, 1, __ATOMIC_ACQUIRE)) {
		if (++spins % 64)
			continue;
		sched_yield();
		if (spins % 65536 == 0) { /* a poisoned lock must not hang */
			time_t now = time(NULL);
			if (!t0)
				t0 = now;
			else if (now - t0 > 30)
				bad_node(w, n, NULL, "lock held for 30 s");
		}
	}
}

static void node_unlock(struct node *n)
{
	__atomic_store_n(&n->lock, 0, __ATOMIC_RELEASE); /* pairs: lock */
}

static void lock2(struct worker *w, struct node *a, struct node *b)
{
	if (a == b) {
		node_lock(w, a);
	} else if ((uintptr_t)a < (uintptr_t)b) {
		node_lock(w, a);
		node_lock(w, b);
	} else {
		node_lock(w, b);
		node_lock(w, a);
	}
}

static void unlock2(struct node *a, struct node *b)
{
	node_unlock(a);
	if (a != b)
		node_unlock(b);
}

/* Store a pointer into the heap or a global: TRI_STORE, unless the
 * forget-barrier aid chose this store (plain) on purpose. */
static void store_ptr(struct worker *w, struct node **slot, struct node *v,
                      int forget)
{
	if (forget && g_forget) {
		*(struct node *volatile *)slot = v;
		return;
	}
	TRI_STORE(*slot, v);
	(void)w;
}

/* e[i] of n = v; n may be shared (takes its lock). */
static void set_edge(struct worker *w, struct node *n, uint32_t i,
                     struct node *v, int forget)
{
	node_lock(w, n);
	store_ptr(w, &n->e[i].p, v, forget);
	n->e[i].tag = v ? v->stamp : 0;
	node_unlock(n);
}

static struct edge get_edge(struct worker *w, struct node *n, uint32_t i)
{
	node_lock(w, n);
	struct edge e = n->e[i];
	node_unlock(n);
	return e;
}

static uint64_t new_stamp(struct worker *w)
{
	return mix64(g_seed ^ mix64(((uint64_t)(unsigned)w->id << 48) ^
	                            w->gen++)) |
	       STAMP_BIT;
}

/* A fresh node of nptr edges (all NULL) and size bytes; private until
 * stored somewhere. */
static struct node *alloc_node(struct worker *w, uint32_t nptr, size_t size)
{
	struct node *n = tri_malloc(size);
	if (!n)
		fail("thread %d: tri_malloc(%zu) = NULL, errno %d", w->id, size,
		     errno);
	size_t z = first_nonzero(n, size);
	if (z != size)
		fail("thread %d: new object %p (%zu bytes): byte %zu not zero",
		     w->id, (void *)n, size, z);
	w->allocs++;
	w->alloc_bytes += size;
	n->stamp = new_stamp(w);
	n->size = (uint32_t)size;
	n->nptr = nptr;
	n->owner = (uint32_t)w->id;
	size_t fo = filler_off(nptr);
	stamp((unsigned char *)n + fo, size - fo, filler_tag(n->stamp));
	n->check = node_check(n);
	return n;
}

/* A node of random shape: mostly small, some wide, 1 in 200 large. */
static struct node *new_node(struct worker *w)
{
	uint64_t r = rng_below(&w->rng, 1000);
	uint32_t nptr;
	if (r < 550)
		nptr = 1 + (uint32_t)rng_below(&w->rng, 4);
	else if (r < 650)
		nptr = 0;
	else if (r < 950)
		nptr = 5 + (uint32_t)rng_below(&w->rng, 12);
	else if (r < 995)
		nptr = 64;
	else
		nptr = 512;
	size_t size = filler_off(nptr);
	uint64_t s = rng_below(&w->rng, 200);
	if (s == 0 && g_max_size > 32768)
		size += 32768 + (size_t)rng_below(&w->rng, g_max_size - 32768);
	else if (s < 20)
		size += 1024 + (size_t)rng_below(&w->rng, 3072);
	else
		size += (size_t)rng_below(&w->rng, 200);
	return alloc_node(w, nptr, size);
}

/* ------------------------------------------------------------------------ */
/* walks                                                                     */
/* ------------------------------------------------------------------------ */

struct pick {
	struct node *n;      /* the node reached (NULL: an empty root) */
	struct node *parent; /* the node whose edge led to n */
	uint32_t idx;        /* that edge */
	struct path path;
};

static struct node *root_table(struct worker *w)
{
	return g_root_tbl[w->id]; /* written once, before the threads */
}

/* Walk from a random root down up to `steps` random edges, verifying each
 * node; stops early at a node with no edges or a NULL edge. */
static void walk(struct worker *w, struct pick *pk, int steps)
{
	struct node *tbl = root_table(w);
	uint32_t r = (uint32_t)rng_below(&w->rng, ROOTS);
	struct edge e = get_edge(w, tbl, r);
	memset(pk, 0, sizeof *pk);
	pk->path.thread = w->id;
	pk->path.root = (int)r;
	pk->parent = tbl;
	pk->idx = r;
	pk->n = e.p;
	if (!e.p)
		return;
	check_node(w, e.p, e.tag, &pk->path, 0);
	for (int d = 0; d < steps && pk->n->nptr; d++) {
		uint32_t i = (uint32_t)rng_below(&w->rng, pk->n->nptr);
		e = get_edge(w, pk->n, i);
		if (!e.p)
			break;
		path_push(&pk->path, i);
		check_node(w, e.p, e.tag, &pk->path, 0);
		pk->parent = pk->n;
		pk->idx = i;
		pk->n = e.p;
	}
}

/* A reachable node other than the root table, or NULL (a few tries). */
static struct node *some_node(struct worker *w, struct pick *pk)
{
	for (int t = 0; t < 4; t++) {
		walk(w, pk, (int)rng_below(&w->rng, MAX_WALK + 1));
		if (pk->n)
			return pk->n;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* bounded breadth-first verification                                        */
/* ------------------------------------------------------------------------ */

struct seen {
	uintptr_t key;    /* node address; 0: empty */
	uintptr_t parent; /* node it was reached from (0: a root) */
	uint32_t idx;     /* edge index in the parent; for a root,
	                     thread * ROOTS + root index */
};

struct bfs {
	struct seen *map;
	size_t cap, used; /* cap a power of two */
	struct edge *queue;
	size_t qcap, head, tail;
	uint64_t bytes, nodes;
	int thread; /* whose root table bfs_run reads */
	int grow;   /* map and queue are malloc'ed and may grow */
};

static struct seen *bfs_find(struct bfs *v, uintptr_t key)
{
	size_t i = (size_t)mix64(key) & (v->cap - 1);
	while (v->map[i].key && v->map[i].key != key)
		i = (i + 1) & (v->cap - 1);
	return &v->map[i];
}

static void bfs_rehash(struct bfs *v)
{
	struct seen *old = v->map;
	size_t ocap = v->cap;
	v->cap *= 2;
	v->map = calloc(v->cap, sizeof *v->map);
	if (!v->map)
		fail("out of memory for the verification map");
	for (size_t i = 0; i < ocap; i++)
		if (old[i].key)
			*bfs_find(v, old[i].key) = old[i];
	free(old);
}

/* The path to a seen node, rebuilt from the parents. */
static void bfs_path(struct bfs *v, uintptr_t key, struct path *pa)
{
	uint32_t rev[256];
	int n = 0;
	memset(pa, 0, sizeof *pa);
	pa->root = -1;
	for (;;) {
		struct seen *s = bfs_find(v, key);
		if (!s->key)
			break;
		if (!s->parent) {
			pa->thread = (int)(s->idx / ROOTS);
			pa->root = (int)(s->idx % ROOTS);
			break;
		}
		if (n < 256)
			rev[n] = s->idx;
		n++;
		key = s->parent;
	}
	for (int i = (n < 256 ? n : 256) - 1; i >= 0; i--)
		path_push(pa, rev[i]);
}

/* Note e (reached from parent's edge idx) unless seen; false when full. */
static int bfs_add(struct worker *w, struct bfs *v, struct edge e,
                   uintptr_t parent, uint32_t idx, int full)
{
	if (!e.p)
		return 1;
	if (v->grow && 2 * (v->used + 1) > v->cap)
		bfs_rehash(v);
	if (!v->grow && (2 * (v->used + 1) > v->cap || v->tail == v->qcap))
		return 0;
	struct seen *s = bfs_find(v, (uintptr_t)e.p);
	if (s->key)
		return 1;
	s->key = (uintptr_t)e.p;
	s->parent = parent;
	s->idx = idx;
	v->used++;
	char msg[256];
	w->visits++;
	if (node_problem(e.p, e.tag, full, msg, sizeof msg)) {
		struct path pa;
		bfs_path(v, s->key, &pa);
		bad_node(w, e.p, &pa, "%s", msg);
	}
	v->nodes++;
	v->bytes += e.p->size;
	if (v->tail == v->qcap) {
		v->qcap *= 2;
		v->queue = realloc(v->queue, v->qcap * sizeof *v->queue);
		if (!v->queue)
			fail("out of memory for the verification queue");
	}
	v->queue[v->tail++] = e;
	return 1;
}

/* Everything reachable from root edges [lo, hi) of tbl, up to the
 * capacity of v when it cannot grow. Edges are read under each node's
 * lock into buf, a copy on this stack (a root while it is checked). */
static void bfs_fill(struct worker *w, struct bfs *v, struct node *tbl,
                     uint32_t lo, uint32_t hi, int full, struct edge *buf)
{
	for (uint32_t r = lo; r < hi; r++)
		if (!bfs_add(w, v, get_edge(w, tbl, r), 0,
		             (uint32_t)v->thread * ROOTS + r, full))
			return;
	while (v->head < v->tail) {
		struct node *n = v->queue[v->head++].p;
		uint32_t k = n->nptr;
		node_lock(w, n);
		memcpy(buf, n->e, k * sizeof buf[0]);
		node_unlock(n);
		for (uint32_t i = 0; i < k; i++)
			if (!bfs_add(w, v, buf[i], (uintptr_t)n, i, full))
				return;
	}
}

/* Stale copies of pointers left on a live stack frame keep whole old
 * subgraphs alive (the collector is conservative), so every buffer that
 * held nodes is cleared after use and the functions owning them are not
 * inlined into the long-lived worker_main frame. */
static NOINLINE void bfs_run(struct worker *w, struct bfs *v,
                             struct node *tbl, uint32_t lo, uint32_t hi,
                             int full)
{
	struct edge buf[512];
	bfs_fill(w, v, tbl, lo, hi, full, buf);
	memset(buf, 0, sizeof buf);
}

/* A bounded check from one root; the map and queue live on this stack, so
 * every node queued stays a root until it is checked. */
static NOINLINE void op_verify(struct worker *w)
{
	struct seen map[2 * VERIFY_NODES];
	struct edge queue[VERIFY_NODES];
	memset(map, 0, sizeof map);
	struct bfs v = {.map = map,
	                .cap = 2 * VERIFY_NODES,
	                .queue = queue,
	                .qcap = VERIFY_NODES,
	                .thread = w->id};
	uint32_t r = (uint32_t)rng_below(&w->rng, ROOTS);
	bfs_run(w, &v, root_table(w), r, r + 1, 0);
	memset(map, 0, sizeof map);
	memset(queue, 0, sizeof queue);
	w->verifies++;
}

/* ------------------------------------------------------------------------ */
/* operations                                                                */
/* ------------------------------------------------------------------------ */

/* A fresh node with edges to nodes reached by walks, into pk's edge. */
static void op_grow(struct worker *w, struct pick *pk)
{
	struct node *n = new_node(w);
	uint32_t k = n->nptr < 4 ? n->nptr : 4;
	for (uint32_t i = 0; i < k; i++) {
		struct pick other;
		struct node *o = rng_below(&w->rng, 2) ? some_node(w, &other)
		                                        : NULL;
		uint32_t at = (uint32_t)rng_below(&w->rng, n->nptr);
		/* n is private: no lock, but still TRI_STORE. */
		store_ptr(w, &n->e[at].p, o, 0);
		n->e[at].tag = o ? o->stamp : 0;
	}
	if (pk->n && pk->n->nptr && rng_below(&w->rng, 4))
		set_edge(w, pk->n, (uint32_t)rng_below(&w->rng, pk->n->nptr),
		         n, 0);
	else
		set_edge(w, pk->parent, pk->idx, n, 0);
}

static void op_link(struct worker *w, struct pick *pk)
{
	struct pick other;
	struct node *o = some_node(w, &other);
	if (!pk->n || !pk->n->nptr || !o)
		return;
	set_edge(w, pk->n, (uint32_t)rng_below(&w->rng, pk->n->nptr), o,
	         rng_below(&w->rng, 4) == 0);
	w->links++;
}

static void op_cut(struct worker *w, struct pick *pk)
{
	set_edge(w, pk->parent, pk->idx, NULL, 0);
	w->cuts++;
}

/* Move the target of pk's edge to a random edge of another node and clear
 * the old edge: without barriers, a mark that scanned the destination but
 * not yet the source misses the target. */
static void op_move(struct worker *w, struct pick *pk)
{
	struct pick other;
	struct node *dst = some_node(w, &other);
	if (!dst || !dst->nptr || !pk->n)
		return;
	struct node *src = pk->parent;
	uint32_t si = pk->idx, di = (uint32_t)rng_below(&w->rng, dst->nptr);
	lock2(w, src, dst);
	struct edge e = src->e[si];
	if (src != dst || si != di) {
		store_ptr(w, &dst->e[di].p, e.p, 1);
		dst->e[di].tag = e.tag;
		store_ptr(w, &src->e[si].p, NULL, 1);
		src->e[si].tag = 0;
	}
	unlock2(src, dst);
	w->moves++;
}

/* tri_memmove of up to 8 edges between two nodes or inside one. */
static void op_copy(struct worker *w, struct pick *pk)
{
	struct pick other;
	struct node *a = pk->n, *b = some_node(w, &other);
	if (!a || !b || !a->nptr || !b->nptr)
		return;
	uint32_t k = 1 + (uint32_t)rng_below(&w->rng, 8);
	k = k < a->nptr ? k : a->nptr;
	k = k < b->nptr ? k : b->nptr;
	uint32_t ai = (uint32_t)rng_below(&w->rng, a->nptr - k + 1);
	uint32_t bi = (uint32_t)rng_below(&w->rng, b->nptr - k + 1);
	lock2(w, a, b);
	tri_memmove(&b->e[bi], &a->e[ai], k * sizeof(struct edge));
	unlock2(a, b);
	w->copies++;
}

/* Garbage of random sizes, dropped at once (kept only in a local). */
static void garbage(struct worker *w, int n)
{
	void *volatile sink = NULL;
	for (int i = 0; i < n; i++) {
		size_t sz = 16 + (size_t)rng_below(&w->rng, 2000);
		sink = tri_malloc(sz);
		if (!sink)
			fail("thread %d: tri_malloc(%zu) = NULL", w->id, sz);
		w->allocs++;
		w->alloc_bytes += sz;
	}
	(void)sink;
}

/* Edges staged in a tri_malloc buffer held only on the stack while other
 * allocation runs, then moved on and the buffer freed. */
static void op_stage(struct worker *w, struct pick *pk)
{
	struct node *a = pk->n;
	if (!a || !a->nptr)
		return;
	uint32_t k = 1 + (uint32_t)rng_below(&w->rng, a->nptr < 16 ? a->nptr
	                                                           : 16);
	uint32_t ai = (uint32_t)rng_below(&w->rng, a->nptr - k + 1);
	struct edge *buf = tri_malloc(k * sizeof *buf);
	if (!buf)
		fail("thread %d: tri_malloc(%u edges) = NULL", w->id, k);
	node_lock(w, a);
	tri_memmove(buf, &a->e[ai], k * sizeof *buf);
	node_unlock(a);
	if (rng_below(&w->rng, 2)) /* the originals may go meanwhile */
		for (uint32_t i = 0; i < k; i++)
			set_edge(w, a, ai + i, NULL, 0);
	garbage(w, 32);
	struct path pa = pk->path;
	pa.n = pa.n < MAX_PATH ? pa.n : MAX_PATH;
	for (uint32_t i = 0; i < k; i++)
		if (buf[i].p) {
			struct path q = pa;
			path_push(&q, ai + i);
			check_node(w, buf[i].p, buf[i].tag, &q, 0);
		}
	struct pick other;
	struct node *b = some_node(w, &other);
	if (b && b->nptr >= k) {
		uint32_t bi = (uint32_t)rng_below(&w->rng, b->nptr - k + 1);
		node_lock(w, b);
		tri_memmove(&b->e[bi], buf, k * sizeof *buf);
		node_unlock(b);
	}
	tri_free(buf); /* only this frame ever held it */
	w->stages++;
	w->frees++;
}

/* Take pk's node out of the graph into hand[] (a stack root), or (twice
 * as often) put a held node back into pk's node. */
static void op_hand(struct worker *w, struct pick *pk, struct edge *hand)
{
	uint32_t h = (uint32_t)rng_below(&w->rng, HAND);
	if (!hand[h].p && pk->n && rng_below(&w->rng, 3) == 0) {
		hand[h].p = pk->n;
		hand[h].tag = pk->n->stamp;
		set_edge(w, pk->parent, pk->idx, NULL, 0);
		return;
	}
	for (int k = 0; k < HAND && !hand[h].p; k++)
		h = (h + 1) % HAND;
	if (!hand[h].p)
		return;
	check_node(w, hand[h].p, hand[h].tag, NULL, 0);
	if (pk->n && pk->n->nptr)
		set_edge(w, pk->n, (uint32_t)rng_below(&w->rng, pk->n->nptr),
		         hand[h].p, 0);
	else
		set_edge(w, pk->parent, pk->idx, hand[h].p, 0);
	memset(&hand[h], 0, sizeof hand[h]);
}

/* A chain of fresh nodes whose head is only in a local, garbage
 * allocated meanwhile, the chain verified, then published or dropped. */
static void op_chain(struct worker *w, struct pick *pk)
{
	struct node *head = NULL;
	for (int i = 0; i < CHAIN; i++) {
		struct node *n = alloc_node(
		    w, 1 + (uint32_t)rng_below(&w->rng, 3),
		    filler_off(3) + (size_t)rng_below(&w->rng, 300));
		store_ptr(w, &n->e[0].p, head, 0);
		n->e[0].tag = head ? head->stamp : 0;
		head = n;
		if (i % 8 == 7)
			garbage(w, 16);
	}
	struct path pa = {.thread = w->id, .root = -1};
	int len = 0;
	uint64_t tag = head->stamp;
	for (struct node *n = head; n; len++) {
		check_node(w, n, tag, &pa, 1);
		tag = n->e[0].tag;
		n = n->e[0].p;
		path_push(&pa, 0);
	}
	if (len != CHAIN)
		fail("thread %d: a chain of %d nodes held on the stack has %d",
		     w->id, CHAIN, len);
	if (!w->over && rng_below(&w->rng, 2))
		set_edge(w, pk->parent, pk->idx, head, 0);
	w->chains++;
}

static void op_send(struct worker *w, struct pick *pk)
{
	int to = (w->id + 1) % g_threads;
	if (!pk->n)
		return;
	pthread_mutex_lock(&g_mail_lock);
	for (int k = 0; k < MAIL_SLOTS; k++)
		if (!g_mail[to][k].p) {
			TRI_STORE(g_mail[to][k].p, pk->n);
			g_mail[to][k].tag = pk->n->stamp;
			w->sent++;
			break;
		}
	pthread_mutex_unlock(&g_mail_lock);
	if (rng_below(&w->rng, 2))
		set_edge(w, pk->parent, pk->idx, NULL, 0);
}

/* Adopt what was posted to this thread into random roots; each arrival is
 * only in this frame between the mailbox and the root table. */
static NOINLINE void op_adopt(struct worker *w)
{
	struct edge got[MAIL_SLOTS];
	int n = 0;
	pthread_mutex_lock(&g_mail_lock);
	for (int k = 0; k < MAIL_SLOTS; k++)
		if (g_mail[w->id][k].p) {
			got[n++] = g_mail[w->id][k];
			TRI_STORE(g_mail[w->id][k].p, NULL);
			g_mail[w->id][k].tag = 0;
		}
	pthread_mutex_unlock(&g_mail_lock);
	if (n)
		garbage(w, 8);
	for (int i = 0; i < n; i++) {
		struct path pa = {.thread = w->id, .root = -1};
		check_node(w, got[i].p, got[i].tag, &pa, 1);
		set_edge(w, root_table(w),
		         (uint32_t)rng_below(&w->rng, ROOTS), got[i].p, 0);
		w->adopted++;
	}
	memset(got, 0, sizeof got);
}

/* A node nobody else can reach: verified and freed at once. */
static void op_scratch(struct worker *w, struct pick *pk)
{
	struct node *n = new_node(w);
	if (n->nptr && pk->n) {
		store_ptr(w, &n->e[0].p, pk->n, 0);
		n->e[0].tag = pk->n->stamp;
	}
	garbage(w, 4);
	check_node(w, n, n->stamp, NULL, 1);
	tri_free(n);
	w->frees++;
}

static NOINLINE void one_op(struct worker *w, struct edge *hand)
{
	struct pick pk;
	walk(w, &pk, (int)rng_below(&w->rng, MAX_WALK + 1));
	uint64_t r = rng_below(&w->rng, 1000);
	if (w->over && r < 150) {
		op_cut(w, &pk); /* shrink: more cuts, no growth */
	} else if (w->over && r < 200) {
		/* held subgraphs count too */
		memset(&hand[rng_below(&w->rng, HAND)], 0, sizeof *hand);
	} else if (r < 300 || !pk.n) {
		if (!w->over)
			op_grow(w, &pk);
	} else if (r < 420) {
		op_link(w, &pk);
	} else if (r < 520) {
		op_cut(w, &pk);
	} else if (r < 620) {
		op_move(w, &pk);
	} else if (r < 700) {
		op_copy(w, &pk);
	} else if (r < 740) {
		op_stage(w, &pk);
	} else if (r < 840) {
		op_hand(w, &pk, hand);
	} else if (r < 850) {
		op_chain(w, &pk);
	} else if (r < 880) {
		op_send(w, &pk);
	} else if (r < 900) {
		op_scratch(w, &pk);
	} else {
		check_node(w, pk.n, pk.n->stamp, &pk.path, 1);
	}
}

/* Roots in use (only the owner writes its table: no lock needed). */
static int used_roots(struct worker *w)
{
	const struct node *tbl = root_table(w);
	int n = 0;
	for (int i = 0; i < ROOTS; i++)
		n += tbl->e[i].p != NULL;
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct edge hand[HAND]; /* nodes held only on this stack */
	memset(hand, 0, sizeof hand);
	for (;;) {
		if ((w->ops & 15) == 0 && past_deadline())
			break;
		w->ops++;
		if ((w->ops & 31) == 0) {
			tri_stats_t st;
			tri_read_stats(&st);
			w->over = st.next_gc > HEAP_BUDGET &&
			          used_roots(w) >= ROOTS / 4;
		}
		if ((w->ops & 63) == 0)
			op_adopt(w);
		if ((w->ops & 255) == 0)
			op_verify(w);
		one_op(w, hand);
	}
	for (int h = 0; h < HAND; h++)
		if (hand[h].p)
			check_node(w, hand[h].p, hand[h].tag, NULL, 1);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

/* Everything reachable from every root table, in full (shared nodes once);
 * returns the bytes of the nodes reached. */
static uint64_t verify_all(uint64_t *nodes)
{
	struct bfs v = {.cap = 1024, .qcap = 1024, .grow = 1};
	v.map = calloc(v.cap, sizeof *v.map);
	v.queue = malloc(v.qcap * sizeof *v.queue);
	if (!v.map || !v.queue)
		fail("out of memory for the final verification");
	for (int t = 0; t < g_threads; t++) {
		struct worker *w = &g_w[t];
		struct node *tbl = root_table(w);
		struct path pa = {.thread = t, .root = -1};
		check_node(w, tbl, 0, &pa, 1);
		v.thread = t;
		bfs_run(w, &v, tbl, 0, ROOTS, 1);
	}
	free(v.map);
	free(v.queue);
	*nodes = v.nodes;
	return v.bytes;
}

/* Fold the pauses of cycles (*seen, num_gc] into *max. */
static void fold_pauses(uint64_t *seen, uint64_t *max)
{
	tri_stats_t st;
	tri_read_stats(&st);
	uint64_t from = *seen;
	if (st.num_gc > 256 && from < st.num_gc - 256)
		from = st.num_gc - 256;
	for (uint64_t c = from; c < st.num_gc; c++) /* cycle c + 1 */
		if (st.pause_ns[c % 256] > *max)
			*max = st.pause_ns[c % 256];
	*seen = st.num_gc;
}

static void nap_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	uint64_t threads, max_size;
	double seconds;
	if (!stress_parse_args(argc, argv, "torture", MAX_THREADS,
	                       (uint64_t)1 << 30, "<= 2^30; 0 for 256 KiB",
	                       &threads, &max_size, &seconds))
		return 2;
	g_threads = (int)threads;
	g_max_size = max_size ? (size_t)max_size : 256 << 10;
	const char *fb = getenv("TORTURE_FORGET_BARRIER");
	g_forget = fb && *fb && strcmp(fb, "0") != 0;

	/* Read when the heap is initialised: before any tri_ call. */
	setenv("GOGC", "10", 0);
	setenv("GODEBUG", "clobberfree=1,gccheckmark=1", 0);
#ifndef TORTURE_PLAIN
	if (tri_set_mode(TRI_MODE_CONCURRENT) != 0)
		fail("tri_set_mode(TRI_MODE_CONCURRENT): errno %d", errno);
#endif
	if (g_forget)
		fprintf(stderr, "torture: TORTURE_FORGET_BARRIER set: some "
		                "stores skip the write barrier on purpose\n");

	tri_stats_t before, after;
	tri_read_stats(&before);
	set_deadline(seconds);
	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_w[i];
		w->id = i;
		w->rng = mix64(g_seed * 0x100000001b3ull + (uint64_t)i);
		struct node *tbl = alloc_node(w, ROOTS, filler_off(ROOTS) + 64);
		TRI_STORE(g_root_tbl[i], tbl);
	}
	for (int i = 0; i < g_threads; i++) {
		int e =
		    tri_pthread_create(&g_w[i].th, NULL, worker_main, &g_w[i]);
		if (e)
			fail("tri_pthread_create: %s", strerror(e));
	}
	uint64_t seen = before.num_gc, max_pause = 0, forced = 0;
	for (int tick = 1; !past_deadline(); tick++) {
		nap_ms(20);
		if (tick % 12 == 0) {
			tri_collect();
			forced++;
		}
		fold_pauses(&seen, &max_pause);
	}
	for (int i = 0; i < g_threads; i++)
		pthread_join(g_w[i].th, NULL);

	/* Everything still reachable, in full, before and after a cycle. */
	uint64_t nodes, live = verify_all(&nodes);
	clear_stack();
	tri_collect();
	forced++;
	if (verify_all(&nodes) != live)
		fail("reachable bytes changed across a cycle with every "
		     "thread stopped");
	fold_pauses(&seen, &max_pause);
	tri_read_stats(&after);

	struct worker sum = {0};
	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_w[i];
		sum.ops += w->ops;
		sum.allocs += w->allocs;
		sum.alloc_bytes += w->alloc_bytes;
		sum.visits += w->visits;
		sum.frees += w->frees;
		sum.links += w->links;
		sum.cuts += w->cuts;
		sum.moves += w->moves;
		sum.copies += w->copies;
		sum.stages += w->stages;
		sum.sent += w->sent;
		sum.adopted += w->adopted;
		sum.chains += w->chains;
		sum.verifies += w->verifies;
	}
	uint64_t cycles = after.num_gc - before.num_gc;
	uint64_t automatic = cycles - (after.num_forced_gc -
	                               before.num_forced_gc);
	if (after.num_forced_gc - before.num_forced_gc < forced)
		fail("num_forced_gc %" PRIu64 " -> %" PRIu64 " after %" PRIu64
		     " tri_collect calls",
		     before.num_forced_gc, after.num_forced_gc, forced);
	if (strcmp(getenv("GOGC"), "off") != 0 && automatic == 0)
		fail("no automatic cycle with GOGC=%s after %" PRIu64
		     " allocations (%" PRIu64 " bytes)",
		     getenv("GOGC"), sum.allocs, sum.alloc_bytes);
	if (after.heap_alloc < live)
		fail("heap_alloc %" PRIu64 " < %" PRIu64 " bytes reachable",
		     after.heap_alloc, live);

	printf("torture: seed=%" PRIu64 " threads=%d max_size=%zu seconds=%g "
	       "GOGC=%s GODEBUG=%s forget_barrier=%d allocs=%" PRIu64
	       " alloc_mb=%" PRIu64 " visits=%" PRIu64 " frees=%" PRIu64
	       " links=%" PRIu64 " cuts=%" PRIu64 " moves=%" PRIu64
	       " memmoves=%" PRIu64 " stages=%" PRIu64 " sent=%" PRIu64
	       " adopted=%" PRIu64 " chains=%" PRIu64 " verifies=%" PRIu64
	       " cycles=%" PRIu64 " forced=%" PRIu64 " max_pause_us=%" PRIu64
	       " live_nodes=%" PRIu64 " live_kb=%" PRIu64
	       " heap_alloc_kb=%" PRIu64 "\n",
	       g_seed, g_threads, g_max_size, seconds, getenv("GOGC"),
	       getenv("GODEBUG"), g_forget, sum.allocs, sum.alloc_bytes >> 20,
	       sum.visits, sum.frees, sum.links, sum.cuts, sum.moves,
	       sum.copies, sum.stages, sum.sent, sum.adopted, sum.chains,
	       sum.verifies, cycles, after.num_forced_gc - before.num_forced_gc,
	       max_pause / 1000, nodes, live >> 10, after.heap_alloc >> 10);
	printf("torture: ok ops=%" PRIu64 "\n", sum.ops);
	return 0;
}

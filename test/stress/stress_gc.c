/*
 * test/stress/stress_gc.c -- owned by the stress tests (not the library).
 *
 * A bounded multi-threaded stress run of the collector through tricolor's
 * public API (only <tricolor.h>):
 *
 *   stress_gc SEED THREADS MAX_SIZE SECONDS
 *
 * GOGC is 10 (tri_set_gc_percent, unless GOGC is set in the environment),
 * so cycles run back to back. THREADS workers, started with
 * tri_pthread_create, each own a forest: 64 root links (in a global array,
 * so the data segment is their root) to trees of nodes. A node is a
 * tri_malloc object: a header (a check word over its fields, its tag, its
 * size), an array of 0..512 child links, a stamped filler, and optionally
 * a tri_malloc_noscan payload (1 byte .. MAX_SIZE / 2, tiny ones
 * included) holding only a stamp. Sizes are mixed: mostly small, some
 * pointer arrays of 1 or 8 KiB, 1 in 300 nodes large (32 KiB .. MAX_SIZE).
 * Every link records the tag of the node it points to, so a node freed by
 * mistake and handed out again is caught even when its new owner stamped
 * it correctly.
 *
 * Each operation walks from a random root down random children (checking
 * every node it passes: tri_base, tag, check word, the first and last
 * bytes of its filler and payload) and then, at the end of the walk: adds
 * a node in an empty slot, replaces or drops a subtree (a dropped subtree
 * is verified in full first), replaces a payload, sends a subtree to the
 * next worker's mailbox (a mutex-protected global array), or hands it to a
 * short-lived helper thread (tri_pthread_create; the subtree's only
 * reference is the thread's argument) that verifies it, gives its root a
 * new payload and posts it back to the mailbox. Workers drain their
 * mailbox every 64 operations, verify each arrival in full and adopt it
 * into an empty root slot. Each worker keeps about 8 MiB live, verifies its
 * whole forest every 4096 operations and calls tri_collect now and then.
 * At the end the main thread verifies every forest in full, collects,
 * verifies again, and requires that cycles ran.
 *
 * Prints "stress_gc: ok ..." and exits 0; prints the first mismatch and
 * exits 1 (2 for bad arguments). Ends within SECONDS plus the time of the
 * final verification and one cycle.
 */
#define _POSIX_C_SOURCE 200809L

#include <tricolor.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stress.h"

enum {
	MAX_THREADS = 64,
	ROOTS = 64,     /* root links per worker */
	MAX_DEPTH = 10, /* nodes at depth MAX_DEPTH have no children */
	MAILBOX_CAP = 256,
	FULL_VERIFY_EVERY = 4096,
	LIVE_BUDGET = 8 << 20, /* bytes each worker keeps reachable */
	PEEK = 32,             /* bytes checked at each end on a walk */
};

struct node;

struct link {
	struct node *p;
	uint64_t tag; /* the tag p must carry */
};

struct node {
	uint64_t check;         /* node_check() of the fields below */
	uint64_t tag;           /* identity; the filler's stamp */
	uint64_t payload_tag;   /* the payload's stamp */
	unsigned char *payload; /* tri_malloc_noscan object, or NULL */
	uint32_t size;          /* bytes requested for this node */
	uint32_t nkids;
	uint32_t payload_n; /* payload bytes (0 when no payload) */
	uint32_t pad;
	struct link kid[]; /* nkids links, then the stamped filler */
};

struct mailbox {
	pthread_mutex_t lock;
	size_t n;
	struct link item[MAILBOX_CAP];
};

struct worker {
	int id;
	pthread_t th;
	uint64_t rng, gen;
	uint64_t live; /* bytes in this worker's forest (nodes + payloads) */
	struct link root[ROOTS];
	struct mailbox mb;
	pthread_t helper;
	int helper_running;
	/* counters */
	uint64_t ops, allocs, visits, drops, sent, received, helpers, collects;
};

struct helper_arg {
	struct link sub; /* the subtree's only reference */
	int owner;
	uint64_t tag;
};

/* Globals are roots: the forests and mailboxes are reachable from here. */
static struct worker g_w[MAX_THREADS];
static int g_threads;
static size_t g_max_size;

/* ------------------------------------------------------------------------ */

static size_t filler_off(uint32_t nkids)
{
	return sizeof(struct node) + (size_t)nkids * sizeof(struct link);
}

static uint64_t node_check(const struct node *n)
{
	return mix64(n->tag ^ mix64(((uint64_t)n->size << 32) | n->nkids) ^
	             mix64(n->payload_tag + n->payload_n));
}

static uint64_t filler_tag(uint64_t tag)
{
	return tag ^ 0xf111e4f111e4ull;
}

/* First offset in [from, n) of p not matching stamp(p, n, tag), or n. */
static size_t stamp_check_tail(const unsigned char *p, size_t from, size_t n,
                               uint64_t tag)
{
	for (size_t i = from; i < n; i++)
		if (p[i] != expected_byte(tag, n, i))
			return i;
	return n;
}

/* Both ends (PEEK bytes) or, when full, all of a stamped range. */
static size_t check_range(const unsigned char *p, size_t n, uint64_t tag,
                          int full)
{
	if (full || n <= 2 * PEEK)
		return stamp_check(p, n, n, tag);
	size_t off = stamp_check(p, PEEK, n, tag);
	if (off != PEEK)
		return off;
	return stamp_check_tail(p, n - PEEK, n, tag);
}

/* Check the node behind l (tri_base, tag, check word, stamps). */
static void verify_node(const struct worker *w, const struct link *l, int full,
                        const char *why)
{
	const struct node *n = l->p;
	void *b = tri_base(n);
	if (b != n)
		fail("thread %d, %s: node %p: tri_base = %p (freed while "
		     "reachable)",
		     w->id, why, (const void *)n, b);
	if (n->tag != l->tag)
		fail("thread %d, %s: node %p has tag %016" PRIx64 ", its link "
		     "expects %016" PRIx64 " (freed and handed out again?)",
		     w->id, why, (const void *)n, n->tag, l->tag);
	if (n->check != node_check(n))
		fail("thread %d, %s: node %p (tag %016" PRIx64 "): check word "
		     "%016" PRIx64 ", expected %016" PRIx64,
		     w->id, why, (const void *)n, n->tag, n->check,
		     node_check(n));
	size_t fo = filler_off(n->nkids);
	if (fo > n->size)
		fail("thread %d, %s: node %p: %u children do not fit in %u "
		     "bytes",
		     w->id, why, (const void *)n, n->nkids, n->size);
	const unsigned char *f = (const unsigned char *)n + fo;
	size_t fl = n->size - fo;
	size_t off = check_range(f, fl, filler_tag(n->tag), full);
	if (off != fl)
		fail("thread %d, %s: node %p (%u bytes, tag %016" PRIx64 "): "
		     "filler byte %zu is 0x%02x, expected 0x%02x",
		     w->id, why, (const void *)n, n->size, n->tag, fo + off,
		     f[off], expected_byte(filler_tag(n->tag), fl, off));
	if (full && tri_usable_size(n) < n->size)
		fail("thread %d, %s: node %p: tri_usable_size %zu < %u", w->id,
		     why, (const void *)n, tri_usable_size(n), n->size);
	if (!n->payload) {
		if (n->payload_n)
			fail("thread %d, %s: node %p: payload NULL with %u "
			     "bytes",
			     w->id, why, (const void *)n, n->payload_n);
		return;
	}
	b = tri_base(n->payload);
	if (b != n->payload)
		fail("thread %d, %s: payload %p (%u bytes, noscan) of node %p: "
		     "tri_base = %p (freed while reachable)",
		     w->id, why, (void *)n->payload, n->payload_n,
		     (const void *)n, b);
	off = check_range(n->payload, n->payload_n, n->payload_tag, full);
	if (off != n->payload_n)
		fail(
		    "thread %d, %s: payload %p (%u bytes) of node %p: byte %zu "
		    "is 0x%02x, expected 0x%02x",
		    w->id, why, (void *)n->payload, n->payload_n,
		    (const void *)n, off, n->payload[off],
		    expected_byte(n->payload_tag, n->payload_n, off));
}

/* Full check of the subtree behind l; returns its bytes (nodes and
 * payloads). Depth is bounded by MAX_DEPTH, so recursion is shallow. */
static uint64_t verify_tree(struct worker *w, const struct link *l,
                            const char *why)
{
	if (!l->p)
		return 0;
	verify_node(w, l, 1, why);
	w->visits++;
	const struct node *n = l->p;
	uint64_t bytes = n->size + n->payload_n;
	for (uint32_t i = 0; i < n->nkids; i++)
		bytes += verify_tree(w, &n->kid[i], why);
	return bytes;
}

/* ------------------------------------------------------------------------ */
/* allocation                                                                */
/* ------------------------------------------------------------------------ */

static uint64_t new_tag(struct worker *w)
{
	return mix64(g_seed ^
	             mix64(((uint64_t)(unsigned)w->id << 48) ^ w->gen++));
}

static size_t pick_payload(uint64_t *rng)
{
	uint64_t r = rng_below(rng, 100);
	if (r < 40)
		return 0;
	if (r < 60)
		return 1 + (size_t)rng_below(rng, 15); /* tiny */
	if (r < 95)
		return 16 + (size_t)rng_below(rng, 1009);
	if (r < 99 || g_max_size < 16384)
		return 1024 + (size_t)rng_below(rng, 7169);
	return 8192 + (size_t)rng_below(rng, g_max_size / 2 - 8192 + 1);
}

/* A noscan payload of n bytes with a fresh stamp into node n. */
static void set_payload(struct worker *w, struct node *n, size_t bytes)
{
	unsigned char *p = NULL;
	uint64_t ptag = 0;
	if (bytes) {
		p = tri_malloc_noscan(bytes);
		if (!p)
			fail("thread %d: tri_malloc_noscan(%zu) = NULL, errno "
			     "%d",
			     w->id, bytes, errno);
		size_t z = first_nonzero(p, bytes);
		if (z != bytes)
			fail("thread %d: new noscan object %p (%zu bytes): "
			     "byte %zu "
			     "not zero",
			     w->id, (void *)p, bytes, z);
		ptag = new_tag(w);
		stamp(p, bytes, ptag);
		w->allocs++;
	}
	n->payload = p;
	n->payload_n = (uint32_t)bytes;
	n->payload_tag = ptag;
	n->check = node_check(n);
}

/* A new node for a slot at depth d; returns its bytes. */
static uint64_t new_node(struct worker *w, struct link *slot, int d)
{
	uint64_t r = rng_below(&w->rng, 1000);
	uint32_t nkids;
	if (d >= MAX_DEPTH)
		nkids = 0;
	else if (r < 600)
		nkids = (uint32_t)rng_below(&w->rng, 5);
	else if (r < 900)
		nkids = 5 + (uint32_t)rng_below(&w->rng, 12);
	else if (r < 990)
		nkids = 64; /* 1 KiB of links */
	else
		nkids = 512; /* 8 KiB of links */
	size_t size = filler_off(nkids);
	uint64_t s = rng_below(&w->rng, 300);
	if (s == 0 && g_max_size > 32768)
		size += 32768 + (size_t)rng_below(&w->rng, g_max_size - 32768);
	else if (s < 30)
		size += (size_t)rng_below(&w->rng, 4000);
	else
		size += (size_t)rng_below(&w->rng, 200);
	struct node *n = tri_malloc(size);
	if (!n)
		fail("thread %d: tri_malloc(%zu) = NULL, errno %d", w->id, size,
		     errno);
	size_t z = first_nonzero(n, size);
	if (z != size)
		fail("thread %d: new object %p (%zu bytes): byte %zu not zero",
		     w->id, (void *)n, size, z);
	w->allocs++;
	n->tag = new_tag(w);
	n->size = (uint32_t)size;
	n->nkids = nkids;
	size_t fo = filler_off(nkids);
	stamp((unsigned char *)n + fo, size - fo, filler_tag(n->tag));
	set_payload(w, n, pick_payload(&w->rng));
	slot->tag = n->tag;
	slot->p = n;
	return size + n->payload_n;
}

/* ------------------------------------------------------------------------ */
/* moving subtrees: mailboxes and helper threads                             */
/* ------------------------------------------------------------------------ */

static int post(int to, const struct link *l)
{
	struct mailbox *mb = &g_w[to].mb;
	int ok = 0;
	pthread_mutex_lock(&mb->lock);
	if (mb->n < MAILBOX_CAP) {
		mb->item[mb->n++] = *l;
		ok = 1;
	}
	pthread_mutex_unlock(&mb->lock);
	return ok;
}

/* Adopt every arrival into an empty root slot (or drop it). */
static void drain(struct worker *w)
{
	struct link got[MAILBOX_CAP];
	size_t k;
	pthread_mutex_lock(&w->mb.lock);
	k = w->mb.n;
	memcpy(got, w->mb.item, k * sizeof got[0]);
	w->mb.n = 0;
	pthread_mutex_unlock(&w->mb.lock);
	for (size_t i = 0; i < k; i++) {
		uint64_t bytes = verify_tree(w, &got[i], "arrived by mailbox");
		w->received++;
		size_t slot = (size_t)rng_below(&w->rng, ROOTS);
		if (!w->root[slot].p && w->live + bytes <= LIVE_BUDGET) {
			w->root[slot] = got[i];
			w->live += bytes;
		}
	}
	memset(got, 0, sizeof got);
}

static void *helper_main(void *arg)
{
	struct helper_arg *h = arg;
	struct worker *w = &g_w[h->owner];
	/* Verification from this thread; counters stay the owner's, which
	 * is joined before it reads them. */
	struct worker me = {.id = 1000 + h->owner, .rng = h->tag};
	if (tri_base(h) != h)
		fail("helper of thread %d: its argument %p was freed", w->id,
		     (void *)h);
	verify_tree(&me, &h->sub, "in a helper thread");
	struct node *root = h->sub.p;
	me.gen = h->tag;
	set_payload(&me, root, 1 + (size_t)rng_below(&me.rng, 2000));
	verify_tree(&me, &h->sub, "in a helper thread, new payload");
	post(h->owner, &h->sub); /* dropped when the mailbox is full */
	return NULL;
}

/* Hand the subtree in slot to a new thread; the thread argument is its
 * only reference until the thread posts it back. */
static void spawn_helper(struct worker *w, struct link *slot)
{
	struct helper_arg *h = tri_malloc(sizeof *h);
	if (!h)
		fail("thread %d: tri_malloc(helper_arg) = NULL", w->id);
	h->sub = *slot;
	h->owner = w->id;
	h->tag = new_tag(w);
	memset(slot, 0, sizeof *slot);
	int e = tri_pthread_create(&w->helper, NULL, helper_main, h);
	if (e)
		fail("thread %d: tri_pthread_create: %s", w->id, strerror(e));
	w->helper_running = 1;
	w->helpers++;
}

static void join_helper(struct worker *w)
{
	if (w->helper_running) {
		pthread_join(w->helper, NULL);
		w->helper_running = 0;
	}
}

/* ------------------------------------------------------------------------ */
/* the workers                                                               */
/* ------------------------------------------------------------------------ */

static void drop(struct worker *w, struct link *slot, const char *why)
{
	uint64_t bytes = verify_tree(w, slot, why);
	w->live = w->live > bytes ? w->live - bytes : 0;
	memset(slot, 0, sizeof *slot);
	w->drops++;
}

static void one_op(struct worker *w)
{
	struct link *slot = &w->root[rng_below(&w->rng, ROOTS)];
	int target = (int)rng_below(&w->rng, MAX_DEPTH + 1), d = 0;
	while (slot->p && d < target) {
		verify_node(w, slot, 0, "on a walk");
		w->visits++;
		struct node *n = slot->p;
		if (!n->nkids)
			break;
		slot = &n->kid[rng_below(&w->rng, n->nkids)];
		d++;
	}
	int over = w->live > LIVE_BUDGET;
	if (!slot->p) {
		if (!over)
			w->live += new_node(w, slot, d);
		return;
	}
	verify_node(w, slot, 0, "at the end of a walk");
	uint64_t r = rng_below(&w->rng, 1000);
	if (over && r < 700) {
		drop(w, slot, "dropping a subtree");
	} else if (r < 300) {
		drop(w, slot, "replacing a subtree");
		w->live += new_node(w, slot, d);
	} else if (r < 500) {
		drop(w, slot, "dropping a subtree");
	} else if (r < 700) {
		struct node *n = slot->p;
		w->live = w->live > n->payload_n ? w->live - n->payload_n : 0;
		set_payload(w, n, pick_payload(&w->rng));
		w->live += n->payload_n;
	} else if (r < 760) {
		uint64_t bytes = verify_tree(w, slot, "sending a subtree");
		if (post((w->id + 1) % g_threads, slot)) {
			w->live = w->live > bytes ? w->live - bytes : 0;
			memset(slot, 0, sizeof *slot);
			w->sent++;
		}
	} else if (r < 763 && !w->helper_running) {
		uint64_t bytes = verify_tree(w, slot, "handing to a helper");
		w->live = w->live > bytes ? w->live - bytes : 0;
		spawn_helper(w, slot);
	} else {
		verify_tree(w, slot, "visiting a subtree");
	}
}

static void verify_forest(struct worker *w, const char *why)
{
	uint64_t live = 0;
	for (size_t i = 0; i < ROOTS; i++)
		live += verify_tree(w, &w->root[i], why);
	w->live = live;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		if ((w->ops & 15) == 0 && past_deadline())
			break;
		w->ops++;
		if ((w->ops & 63) == 0)
			drain(w);
		if ((w->ops & 255) == 0)
			join_helper(w);
		if (w->ops % FULL_VERIFY_EVERY == 0)
			verify_forest(w, "full check");
		if (rng_below(&w->rng, 20000) == 0) {
			tri_collect();
			w->collects++;
		}
		one_op(w);
	}
	join_helper(w);
	return NULL;
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	uint64_t threads, max_size;
	double seconds;
	if (!stress_parse_args(argc, argv, "stress_gc", MAX_THREADS,
	                       (uint64_t)1 << 30, "<= 2^30; 0 for 256 KiB",
	                       &threads, &max_size, &seconds))
		return 2;
	g_threads = (int)threads;
	g_max_size = max_size ? (size_t)max_size : 256 << 10;
	if (g_max_size < 4096)
		g_max_size = 4096;

	int gogc = getenv("GOGC") ? tri_set_gc_percent(100) : 10;
	tri_set_gc_percent(gogc);
	tri_stats_t before;
	tri_read_stats(&before);

	set_deadline(seconds);
	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_w[i];
		w->id = i;
		w->rng = mix64(g_seed * 0x100000001b3ull + (uint64_t)i);
		pthread_mutex_init(&w->mb.lock, NULL);
	}
	for (int i = 0; i < g_threads; i++) {
		int e =
		    tri_pthread_create(&g_w[i].th, NULL, worker_main, &g_w[i]);
		if (e)
			fail("tri_pthread_create: %s", strerror(e));
	}
	for (int i = 0; i < g_threads; i++)
		pthread_join(g_w[i].th, NULL);

	/* Everything still reachable, checked in full, before and after one
	 * more cycle. */
	uint64_t ops = 0, allocs = 0, visits = 0, drops = 0, sent = 0,
	         received = 0, helpers = 0, collects = 0, live = 0;
	for (int i = 0; i < g_threads; i++) {
		drain(&g_w[i]);
		verify_forest(&g_w[i], "final check");
	}
	clear_stack();
	tri_collect();
	for (int i = 0; i < g_threads; i++) {
		struct worker *w = &g_w[i];
		verify_forest(w, "final check after a cycle");
		ops += w->ops;
		allocs += w->allocs;
		visits += w->visits;
		drops += w->drops;
		sent += w->sent;
		received += w->received;
		helpers += w->helpers;
		collects += w->collects;
		live += w->live;
	}
	tri_stats_t after;
	tri_read_stats(&after);
	uint64_t automatic = (after.num_gc - after.num_forced_gc) -
	                     (before.num_gc - before.num_forced_gc);
	if (gogc >= 0 && automatic == 0)
		fail("no automatic cycle ran with GOGC=%d: num_gc %" PRIu64
		     " -> %" PRIu64 " (forced %" PRIu64 " -> %" PRIu64
		     ") after %" PRIu64 " allocations",
		     gogc, before.num_gc, after.num_gc, before.num_forced_gc,
		     after.num_forced_gc, allocs);
	if (after.heap_alloc < live)
		fail("heap_alloc %" PRIu64 " < %" PRIu64 " bytes reachable",
		     after.heap_alloc, live);

	printf(
	    "stress_gc: seed=%" PRIu64 " threads=%d max_size=%zu "
	    "seconds=%g gogc=%d allocs=%" PRIu64 " visits=%" PRIu64
	    " drops=%" PRIu64 " sent=%" PRIu64 " received=%" PRIu64
	    " helpers=%" PRIu64 " tri_collect=%" PRIu64 " num_gc=%" PRIu64
	    " num_forced_gc=%" PRIu64 " live=%" PRIu64 " heap_alloc=%" PRIu64
	    "\n",
	    g_seed, g_threads, g_max_size, seconds, gogc, allocs, visits, drops,
	    sent, received, helpers, collects, after.num_gc - before.num_gc,
	    after.num_forced_gc - before.num_forced_gc, live, after.heap_alloc);
	printf("stress_gc: ok ops=%" PRIu64 "\n", ops);
	return 0;
}

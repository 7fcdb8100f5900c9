/*
 * shim.c -- libtricolor-malloc.so: the C library's allocation functions
 * (malloc, free, calloc, realloc, reallocarray, posix_memalign,
 * aligned_alloc, memalign, valloc, pvalloc, malloc_usable_size, the
 * __libc_ aliases and the malloc_trim / mallopt / mallinfo family) over
 * tricolor's heap, for LD_PRELOAD or linking. docs/malloc.md is the
 * user's guide.
 *
 * Modes, from TRICOLOR_MALLOC, read once at the first call:
 *   gc (default)  unreachable objects that were never freed are
 *                 collected; roots are every writable mapping that is not
 *                 tricolor's (maps.c) and every thread's stack and
 *                 registers.
 *   leakcheck     never collects; records each object's allocation stack
 *                 (prof/leakcheck.c) and reports the unreachable ones at exit
 *                 (TRICOLOR_LEAK_EXITCODE=N: exit with N if any leaked;
 *                 TRICOLOR_LEAK_FRAMES=N: frames per stack, default 12).
 *   off           a pure allocator: no cycle ever runs.
 *
 * Algorithm:
 *   1. Fast paths: a thread with an allocation cache (mcache_tls) in gc or
 *      off mode calls tricolor straight away: no lock, no atomic beyond
 *      tricolor's own fast path. malloc and realloc do not zero reused
 *      memory (malloc_uninit, realloc_uninit: glibc's semantics); calloc
 *      does (tri_malloc). Sizes are rounded up to a
 *      multiple of 16 so every object is 16-byte aligned (glibc's
 *      MALLOC_ALIGNMENT), as its size class then is.
 *   2. Slow paths: first call (init), a thread without a cache (it
 *      registers), leakcheck recording, over-aligned objects, pointers
 *      from the bootstrap arena.
 *   3. Bootstrap: while tricolor initialises itself or registers a thread
 *      (pthread_getattr_np, dlsym, the first pthread_create all call
 *      malloc), the calling thread's boot_depth is non-zero and its
 *      allocations come from a static arena (boot_alloc): tricolor never
 *      recurses into itself. Every thread's registration passes through
 *      it (pthread_getattr_np reallocs and frees its CPU set), so a freed
 *      bootstrap block is kept on a free list of its size class and
 *      handed out again (P6).
 *   4. Threads: pthread_create is interposed so that each new thread
 *      registers before its start routine runs (so the collector stops it
 *      and scans its registers even if it never allocates) and marks itself
 *      exiting when it returns; past its exit destructors a thread that
 *      still allocates or frees (the C library frees its thread state last)
 *      registers for that one call only (transient). pthread_sigmask and
 *      sigprocmask are interposed in gc mode so that no program thread
 *      blocks the collector's suspend signal (as bdwgc does). Calls from
 *      tricolor's own code (its collector threads) are passed through.
 *   5. Alignment above 16: a size class whose size is a multiple of the
 *      alignment (objects of a class are at multiples of its size from a
 *      page-aligned span), large objects (8 KiB aligned), and above 8 KiB
 *      an over-allocation whose aligned interior pointer is kept in a side
 *      table (big_aligned) so free and realloc find the object.
 *
 * Invariants:
 *   P1. Every pointer handed out is 16-byte aligned, from tricolor's heap
 *       or from boot_arena; free / realloc / malloc_usable_size of anything
 *       else is reported in one line and aborts (tri_free's message).
 *   P2. mcache_tls != NULL implies init finished (the mode is set).
 *   P3. In leakcheck mode an object is noted after it is allocated and
 *       forgotten before it is freed (leakcheck.h L2).
 *   P4. An interior pointer is in big_aligned iff it was handed out by an
 *       aligned allocation above PAGE_SIZE and not freed yet.
 *   P5. The heap profile samples only when GODEBUG asks for it
 *       (memprofilerate or memprofile): a program that preloads a malloc
 *       did not ask for a profile, and each sample costs an unwind (about
 *       1.4 us, and libgcc's unwinder and every library's unwind tables
 *       paged in: a third of the server workload's RSS over glibc).
 *   P6. boot_arena holds at most the blocks that were ever live at once,
 *       per class, never an amount per thread or per call: a block of
 *       class c has room for MALLOC_ALIGN << c bytes and is aligned to
 *       that, or to OS_PAGE if less (boot_natural_align); once carved
 *       (boot_top only grows) it is either handed out (size = bytes
 *       asked) or on boot_lists[c] (size = BOOT_FREED), and a free puts
 *       it back on that list, where the next request of the class takes
 *       it. The lists are lock-free stacks whose head packs a tag
 *       counting its changes with the top block's index, so a pop that
 *       read a block's link before another thread took the block fails
 *       its CAS (no ABA); no lock means that a thread stopped by the
 *       collector, or gone in a fork child, never blocks a bootstrap
 *       allocation (at worst the child loses the block it was moving).
 *   P7. Thread churn leaves nothing behind: a thread registers at its
 *       start (trampoline) and unregisters in its exit destructor
 *       (gc/threads.c), which gives back its cache (mcache_release) and
 *       record (fixalloc: reused by the next thread, after it left the
 *       thread list under threads_lock, which every walker of the list
 *       holds); past its exit handlers a thread registers for one call
 *       only (thread_leave); and what registration allocates on the way
 *       comes from boot_arena and goes back to it (P6). So RSS stays flat
 *       over any number of short-lived threads (test/preload/churn.c).
 *
 * Locks: big_mu (a plain mutex, taken with no heap lock held; os_map may
 * be called under it) protects big_aligned. init_once is pthread_once.
 * The bootstrap arena takes no lock: boot_top and boot_lists change by
 * CAS only (P6).
 * fork(): the preload's atfork handlers take the leak locks and big_mu
 * before tricolor's own handlers take the heap's, and release them after.
 * This file is the preload's OS boundary: it includes <signal.h> and
 * <dlfcn.h> for the interposed thread and signal-mask calls.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gc/debug.h"
#include "../prof/leakcheck.h"
#include "../gc/roots.h"
#include "../gc/threads.h"
#include "../include/tricolor.h"
#include "../base/base.h"
#include "../runtime/malloc.h"
#include "../alloc/mcache.h"
#include "../alloc/os.h"
#include "../alloc/sizeclass.h"
#include "maps.h"

#define PRELOAD_API __attribute__((visibility("default")))
#define MALLOC_ALIGN 16
#define OS_PAGE 4096

enum mode { MODE_GC, MODE_LEAKCHECK, MODE_OFF };
static const char *const mode_names[] = {"gc", "leakcheck", "off"};

static enum mode mode = MODE_GC;  /* written once by init (P2) */
static bool slow_frees;           /* leakcheck or big_aligned used */
static int leak_exitcode;         /* TRICOLOR_LEAK_EXITCODE */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static uintptr_t self_lo, self_hi; /* this library's mapped code */

static __thread unsigned boot_depth
	__attribute__((tls_model("initial-exec")));
static __thread bool exiting __attribute__((tls_model("initial-exec")));

/* ---- the bootstrap arena (step 3, P6) ---- */

#define BOOT_BYTES (1024 * 1024)
#define BOOT_CLASSES 16 /* block capacities 16 B << class: 16 B .. 512 KiB */
#define BOOT_MAX ((size_t)MALLOC_ALIGN << (BOOT_CLASSES - 1))
#define BOOT_FREED UINT32_MAX /* boot_hdr.size of a listed block */
#define BOOT_INDEX_BITS 16    /* a list head: tag << 16 | block index */
#define BOOT_INDEX_MASK (((uintptr_t)1 << BOOT_INDEX_BITS) - 1)

typedef struct boot_hdr {
	atomic_word link; /* listed: the next block's index (0: none) */
	uint32_t cls;     /* capacity MALLOC_ALIGN << cls; set once */
	uint32_t size;    /* bytes asked for; BOOT_FREED while listed */
} boot_hdr;

_Static_assert(sizeof(boot_hdr) == MALLOC_ALIGN, "blocks stay 16-aligned");
_Static_assert(BOOT_BYTES / MALLOC_ALIGN <= BOOT_INDEX_MASK + 1,
               "a block index fits a list head's index bits");

static char boot_arena[BOOT_BYTES] TRI_ALIGNED(OS_PAGE);
static atomic_word boot_top; /* offset of the first byte never carved */
static atomic_word boot_lists[BOOT_CLASSES]; /* freed blocks (P6) */

static bool is_boot(const void *p)
{
	return (uintptr_t)p - (uintptr_t)boot_arena < BOOT_BYTES;
}

/* A block is named by its payload's offset / MALLOC_ALIGN (never 0: the
 * header comes first). */
static uintptr_t boot_index(const boot_hdr *h)
{
	return ((uintptr_t)(h + 1) - (uintptr_t)boot_arena) / MALLOC_ALIGN;
}

static boot_hdr *boot_block(uintptr_t index)
{
	return (boot_hdr *)(boot_arena + index * MALLOC_ALIGN) - 1;
}

static unsigned boot_class(size_t n)
{
	unsigned c = 0;
	while ((size_t)MALLOC_ALIGN << c < n)
		c++;
	return c;
}

/* Every block of class c is aligned at least this much (P6). */
static size_t boot_natural_align(unsigned c)
{
	size_t cap = (size_t)MALLOC_ALIGN << c;
	return cap < OS_PAGE ? cap : OS_PAGE;
}

/* The next head of a list: the tag counts every change (P6). */
static uintptr_t boot_head(uintptr_t old, uintptr_t index)
{
	return ((old >> BOOT_INDEX_BITS) + 1) << BOOT_INDEX_BITS | index;
}

static boot_hdr *boot_pop(unsigned c)
{
	for (;;) {
		uintptr_t old = atomic_load_acquire(&boot_lists[c]); /* pairs:
		                                        boot_push's CAS */
		uintptr_t index = old & BOOT_INDEX_MASK;
		if (!index)
			return NULL;
		boot_hdr *h = boot_block(index);
		/* h may be popped and reused meanwhile: then the tag moved
		 * on and the CAS fails (P6), whatever link held. */
		uintptr_t next = atomic_load_relaxed(&h->link) & BOOT_INDEX_MASK;
		if (atomic_cas_full(&boot_lists[c], old, boot_head(old, next)) ==
		    old)
			return h;
	}
}

static void boot_push(boot_hdr *h)
{
	volatile atomic_word *list = &boot_lists[h->cls];
	for (;;) {
		uintptr_t old = atomic_load_relaxed(list);
		atomic_store_relaxed(&h->link, old & BOOT_INDEX_MASK);
		if (atomic_cas_full(list, old, boot_head(old, boot_index(h))) ==
		    old)
			return;
	}
}

/* A new block of class c whose payload is aligned to align (>= the
 * class's natural alignment), from the never-carved rest of the arena. */
static boot_hdr *boot_carve(unsigned c, size_t align)
{
	for (;;) {
		uintptr_t top = atomic_load_relaxed(&boot_top);
		uintptr_t p = align_up((uintptr_t)boot_arena + top +
		                       sizeof(boot_hdr), align);
		uintptr_t end = p + ((size_t)MALLOC_ALIGN << c) -
		                (uintptr_t)boot_arena;
		if (end > BOOT_BYTES)
			return NULL;
		if (atomic_cas_full(&boot_top, top, end) != top)
			continue;
		boot_hdr *h = (boot_hdr *)p - 1;
		h->cls = c;
		return h;
	}
}

static void *boot_alloc(size_t n, size_t align)
{
	if (align < MALLOC_ALIGN)
		align = MALLOC_ALIGN;
	size_t want = n > align ? n : align;
	if (want > BOOT_MAX)
		goto full;
	unsigned c = boot_class(want);
	size_t natural = boot_natural_align(c);
	boot_hdr *h = align <= natural ? boot_pop(c) : NULL;
	if (!h)
		h = boot_carve(c, align > natural ? align : natural);
	if (!h)
		goto full;
	TRI_ASSERT(h->cls == c && (uintptr_t)(h + 1) % align == 0); /* P6 */
	h->size = (uint32_t)n;
	memset(h + 1, 0, n); /* a reused block holds its old contents */
	return h + 1;
full:
	base_fatal("malloc preload: bootstrap arena exhausted (%zu bytes "
	          "asked while tricolor initialises)", n);
}

static void boot_free(void *p)
{
	boot_hdr *h = (boot_hdr *)p - 1;
	if ((uintptr_t)p % MALLOC_ALIGN || h->cls >= BOOT_CLASSES ||
	    h->size == BOOT_FREED)
		base_fatal("free(%p): not a bootstrap block, or freed twice", p);
	h->size = BOOT_FREED;
	boot_push(h);
}

static size_t boot_size(const void *p)
{
	return ((const boot_hdr *)p - 1)->size;
}

/* ---- init ---- */

static enum mode read_mode(void)
{
	const char *s = getenv("TRICOLOR_MALLOC");
	if (!s || !*s)
		return MODE_GC;
	for (int m = 0; m < 3; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return (enum mode)m;
	base_warn("TRICOLOR_MALLOC=%s: not gc, leakcheck or off; using gc", s);
	return MODE_GC;
}

static int self_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_addr != (uintptr_t)arg)
		return 0;
	for (unsigned i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		self_lo = info->dlpi_addr + ph->p_vaddr;
		self_hi = self_lo + ph->p_memsz;
	}
	return 1;
}

static void leak_report_at_exit(void);

/* fork(): registered after tricolor's own handlers, so this prepares
 * first (big_mu is never taken under a heap lock) and releases last;
 * tricolor's handlers take every lock of its own, the leak checker's
 * included (base.h). */
static pthread_mutex_t big_mu = PTHREAD_MUTEX_INITIALIZER;

static void preload_fork_prepare(void)
{
	pthread_mutex_lock(&big_mu);
}

static void preload_fork_parent(void)
{
	pthread_mutex_unlock(&big_mu);
}

static void preload_fork_child(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	big_mu = m;
}

static void init(void)
{
	boot_depth++;
	mode = read_mode();
	Dl_info di;
	if (dladdr((void *)init, &di))
		dl_iterate_phdr(self_cb, di.dli_fbase);
	if (mode == MODE_LEAKCHECK) /* before tri_init's exit writer of the
	                               heap profile: the report runs after it */
		atexit(leak_report_at_exit);
	roots_set_mappings_source(maps_roots);
	if (tri_init() != 0)
		base_fatal("malloc preload: tricolor could not initialise");
	if (debug.memprofilerate < 0 && !debug.memprofile)
		tri_set_profile_rate(0); /* sampling only when asked (P5) */
	/* Stop-the-world cycles, not the library's default tracked mode:
	 * under this preload a tracked cycle running while python3 exited
	 * killed it with the stop signal in about 1 run in 6 (not yet
	 * understood; docs/malloc.md) */
	tri_set_mode(TRI_MODE_STW);
	if (mode != MODE_GC) { /* no cycle may ever run (the roots are fine,
	                          but these modes promise none) */
		tri_set_gc_percent(-1);
		tri_set_memory_limit(INT64_MAX);
	}
	if (pthread_atfork(preload_fork_prepare, preload_fork_parent,
	                   preload_fork_child) != 0)
		base_fatal("malloc preload: pthread_atfork failed");
	if (mode == MODE_LEAKCHECK) {
		leak_exitcode = leakcheck_env("TRICOLOR_LEAK_EXITCODE", 0, 255, 0);
		leakcheck_enable(self_lo, self_hi, leakcheck_env(
			"TRICOLOR_LEAK_FRAMES", 1, LEAK_FRAMES, LEAK_FRAMES_DEFAULT));
		slow_frees = true;
	}
	boot_depth--;
}

static void leak_report_at_exit(void)
{
	if (leakcheck_report(2, true) && leak_exitcode) {
		fflush(NULL);
		_exit(leak_exitcode);
	}
}

static bool from_self(const void *ra)
{
	return (uintptr_t)ra - self_lo < self_hi - self_lo;
}

/* ---- threads (step 4) ---- */

/* Give the calling thread a cache. *transient: it is past its exit
 * destructors and must give the cache back after this call. */
static TRI_NOINLINE bool thread_enter(bool *transient)
{
	pthread_once(&init_once, init);
	*transient = false;
	if (mcache_tls)
		return true;
	*transient = exiting;
	boot_depth++;
	int err = tri_thread_register();
	boot_depth--;
	return err == 0;
}

static void thread_leave(bool transient)
{
	if (!transient)
		return;
	boot_depth++;
	tri_thread_unregister();
	boot_depth--;
}

/* ---- allocation ---- */

TRI_INLINE size_t round16(size_t n)
{
	if (n <= MALLOC_ALIGN)
		return MALLOC_ALIGN;
	return n > SIZE_MAX - MALLOC_ALIGN ? n : align_up(n, MALLOC_ALIGN);
}

/* tri_malloc(n) on a thread that may have no cache yet (step 2). */
static void *alloc_slow(size_t n, size_t asked)
{
	bool transient;
	if (!thread_enter(&transient)) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = tri_malloc(n);
	if (p && mode == MODE_LEAKCHECK)
		leakcheck_note(p, asked);
	thread_leave(transient);
	return p;
}

static TRI_NOINLINE void *malloc_slow(size_t n)
{
	/* a registration under way, also one a tri_ call began (the
	 * program's first contact through dlsym'ed tri_collect) */
	if (boot_depth || threads_registering())
		return boot_alloc(n, MALLOC_ALIGN);
	return alloc_slow(round16(n), n);
}

PRELOAD_API void *malloc(size_t n)
{
	if (TRI_LIKELY(mcache_tls && !boot_depth &&
	               mode != MODE_LEAKCHECK)) /* P2 */
		return malloc_uninit(round16(n));
	return malloc_slow(n);
}

PRELOAD_API void *calloc(size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	size_t n = count * size;
	if (TRI_LIKELY(mcache_tls && !boot_depth && mode != MODE_LEAKCHECK))
		return tri_malloc(round16(n)); /* zeroed (malloc.c I1) */
	return malloc_slow(n); /* slow paths zero too (alloc_slow, boot) */
}

/* ---- aligned allocation (step 5) ---- */

typedef struct big_entry {
	uintptr_t ptr, base;
} big_entry;
#define BIG_MAX 4096
static big_entry *big_aligned; /* BIG_MAX slots (os_map); big_mu */
static size_t nbig;

static bool big_add(uintptr_t ptr, uintptr_t base)
{
	pthread_mutex_lock(&big_mu);
	if (!big_aligned)
		big_aligned = os_map(BIG_MAX * sizeof *big_aligned);
	bool ok = big_aligned && nbig < BIG_MAX;
	if (ok)
		big_aligned[nbig++] = (big_entry){ptr, base};
	slow_frees = true;
	pthread_mutex_unlock(&big_mu);
	return ok;
}

/* The object base of an over-aligned pointer, or p itself. */
static void *big_base(void *p, bool remove)
{
	if (!big_aligned)
		return p;
	pthread_mutex_lock(&big_mu);
	for (size_t i = 0; i < nbig; i++)
		if (big_aligned[i].ptr == (uintptr_t)p) {
			p = (void *)big_aligned[i].base;
			if (remove)
				big_aligned[i] = big_aligned[--nbig];
			break;
		}
	pthread_mutex_unlock(&big_mu);
	return p;
}

/* The request size whose size class is a multiple of align (<= a page),
 * or 0 when the object will be large (page aligned anyway). */
static size_t class_size_for(size_t align, size_t n)
{
	size_t s = align_up(n > align ? n : align, align);
	while (s <= MAX_SMALL_SIZE) {
		size_t cs = class_to_size[sizeclass_of(s)];
		if (cs % align == 0)
			return cs;
		s = align_up(cs + 1, align);
	}
	return 0;
}

static void *aligned_impl(size_t align, size_t n)
{
	if (boot_depth || threads_registering())
		return boot_alloc(n, align);
	if (align <= MALLOC_ALIGN)
		return malloc(n);
	if (align <= PAGE_SIZE) {
		size_t s = class_size_for(align, n);
		return alloc_slow(s ? s : n, n);
	}
	if (n > SIZE_MAX - align) {
		errno = ENOMEM;
		return NULL;
	}
	void *b = alloc_slow(n + align, n); /* large: PAGE_SIZE aligned */
	if (!b)
		return NULL;
	uintptr_t q = align_up((uintptr_t)b, align);
	if (q != (uintptr_t)b && !big_add(q, (uintptr_t)b)) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	return (void *)q;
}

static bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

PRELOAD_API int posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = aligned_impl(align, n);
	errno = saved;
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

PRELOAD_API void *aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned_impl(align, n);
}

PRELOAD_API void *memalign(size_t align, size_t n)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (!pow2(align)) /* glibc rounds up to a power of two */
		align = (align | (align - 1)) + 1;
	return aligned_impl(align, n);
}

PRELOAD_API void *valloc(size_t n)
{
	return aligned_impl(OS_PAGE, n);
}

PRELOAD_API void *pvalloc(size_t n)
{
	if (n > SIZE_MAX - OS_PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_impl(OS_PAGE, n ? align_up(n, OS_PAGE) : OS_PAGE);
}

/* ---- free, realloc, usable size ---- */

static TRI_NOINLINE void free_slow(void *p)
{
	if (!p)
		return;
	if (is_boot(p)) {
		boot_free(p);
		return;
	}
	p = big_base(p, true);
	bool transient;
	if (!thread_enter(&transient))
		base_fatal("free(%p): cannot register the calling thread", p);
	if (mode == MODE_LEAKCHECK)
		leakcheck_forget(p); /* P3 */
	tri_free(p);
	thread_leave(transient);
}

PRELOAD_API void free(void *p)
{
	if (TRI_LIKELY(mcache_tls && !slow_frees && !is_boot(p))) {
		tri_free(p); /* NULL included */
		return;
	}
	free_slow(p);
}

PRELOAD_API size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (is_boot(p))
		return boot_size(p);
	void *b = big_base(p, false);
	return tri_usable_size(b) - (size_t)((char *)p - (char *)b);
}

static TRI_NOINLINE void *realloc_slow(void *p, size_t n)
{
	size_t old = malloc_usable_size(p);
	void *q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	free(p);
	return q;
}

PRELOAD_API void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (n == 0) { /* glibc: frees, returns NULL */
		free(p);
		return NULL;
	}
	if (TRI_LIKELY(mcache_tls && !boot_depth && !slow_frees &&
	               !is_boot(p)))
		return realloc_uninit(p, round16(n));
	return realloc_slow(p, n);
}

PRELOAD_API void *reallocarray(void *p, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, count * size);
}

/* glibc's own names, which some programs and libraries call directly. */
PRELOAD_API void *__libc_malloc(size_t n)
{
	return malloc(n);
}
PRELOAD_API void __libc_free(void *p)
{
	free(p);
}
PRELOAD_API void *__libc_calloc(size_t c, size_t n)
{
	return calloc(c, n);
}
PRELOAD_API void *__libc_realloc(void *p, size_t n)
{
	return realloc(p, n);
}
PRELOAD_API void *__libc_memalign(size_t align, size_t n)
{
	return memalign(align, n);
}

/* ---- glibc's malloc tuning calls: accepted, mostly no-ops ---- */

PRELOAD_API int malloc_trim(size_t pad)
{
	(void)pad;
	return 0;
}

PRELOAD_API int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1;
}

static size_t clamp_int(uint64_t v)
{
	return v > (uint64_t)INT32_MAX ? (size_t)INT32_MAX : (size_t)v;
}

PRELOAD_API struct mallinfo2 mallinfo2(void)
{
	tri_stats_t st;
	tri_read_stats(&st);
	struct mallinfo2 mi;
	memset(&mi, 0, sizeof mi);
	mi.arena = st.heap_sys;
	mi.uordblks = st.heap_alloc;
	mi.fordblks = st.heap_sys - st.heap_alloc;
	mi.keepcost = st.heap_released;
	return mi;
}

PRELOAD_API struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;
	memset(&mi, 0, sizeof mi);
	mi.arena = (int)clamp_int(m2.arena);
	mi.uordblks = (int)clamp_int(m2.uordblks);
	mi.fordblks = (int)clamp_int(m2.fordblks);
	mi.keepcost = (int)clamp_int(m2.keepcost);
	return mi;
}

PRELOAD_API void malloc_stats(void)
{
	tri_stats_t st;
	tri_read_stats(&st);
	char line[256];
	size_t len = base_format(line, sizeof line,
	                         "tricolor (%s): heap_sys %llu heap_alloc %llu "
	                         "objects %llu gc %llu\n", mode_names[mode],
	                         (unsigned long long)st.heap_sys,
	                         (unsigned long long)st.heap_alloc,
	                         (unsigned long long)st.heap_objects,
	                         (unsigned long long)st.num_gc);
	(void)!write(2, line, len);
}

PRELOAD_API int malloc_info(int options, FILE *fp)
{
	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	tri_stats_t st;
	tri_read_stats(&st);
	fprintf(fp, "<malloc version=\"tricolor\"><system type=\"current\" "
	            "size=\"%llu\"/></malloc>\n",
	        (unsigned long long)st.heap_sys);
	return 0;
}

/* ---- interposed thread and signal-mask calls (step 4) ---- */

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
                         void *(*)(void *), void *);
typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);

static void *next_symbol(const char *name)
{
	boot_depth++; /* dlsym may calloc */
	void *f = dlsym(RTLD_NEXT, name);
	boot_depth--;
	if (!f)
		base_fatal("malloc preload: no %s after this library", name);
	return f;
}

typedef struct tramp {
	void *(*start)(void *);
	void *arg;
} tramp;

static void mark_exiting(void *unused)
{
	(void)unused;
	exiting = true;
}

static void unblock_suspend(void)
{
	static mask_fn real;
	if (!real)
		real = (mask_fn)next_symbol("pthread_sigmask");
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, threads_suspend_signal());
	real(SIG_UNBLOCK, &s, NULL);
}

static void *trampoline(void *p)
{
	tramp t = *(tramp *)p;
	if (mode == MODE_GC)
		unblock_suspend();
	bool transient;
	(void)thread_enter(&transient); /* registered from the start */
	free(p);
	void *ret;
	pthread_cleanup_push(mark_exiting, NULL);
	ret = t.start(t.arg);
	pthread_cleanup_pop(1);
	return ret;
}

PRELOAD_API int pthread_create(pthread_t *th, const pthread_attr_t *attr,
                               void *(*start)(void *), void *arg)
{
	static create_fn real;
	if (!real)
		real = (create_fn)next_symbol("pthread_create");
	pthread_once(&init_once, init);
	if (from_self(__builtin_return_address(0)) || boot_depth) {
		/* tricolor's own threads, started inside a cycle: the C
		 * library's allocations for them (the TLS vector) come from
		 * the bootstrap arena, never from the heap being collected */
		boot_depth++;
		int err = real(th, attr, start, arg);
		boot_depth--;
		return err;
	}
	bool transient;
	if (!thread_enter(&transient))
		return EAGAIN;
	tramp *t = tri_malloc(sizeof *t); /* reachable from the new thread */
	thread_leave(transient);
	if (!t)
		return EAGAIN;
	t->start = start;
	t->arg = arg;
	int err = real(th, attr, trampoline, t);
	if (err)
		free(t);
	return err;
}

/* Drop the suspend signal from a set a program thread is about to block. */
static const sigset_t *keep_suspend(int how, const sigset_t *set,
                                    sigset_t *copy, const void *ra)
{
	if (!set || how == SIG_UNBLOCK || mode != MODE_GC || from_self(ra))
		return set;
	int sig = threads_suspend_signal();
	if (!sigismember(set, sig))
		return set;
	*copy = *set;
	sigdelset(copy, sig);
	return copy;
}

/* The C library's `name` (looked up once into *real) with the suspend
 * signal kept out of set; ra is the interposed call's return address. */
static int masked(mask_fn *real, const char *name, int how,
                  const sigset_t *set, sigset_t *old, const void *ra)
{
	if (!*real)
		*real = (mask_fn)next_symbol(name);
	sigset_t copy;
	return (*real)(how, keep_suspend(how, set, &copy, ra), old);
}

PRELOAD_API int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	static mask_fn real;
	return masked(&real, "pthread_sigmask", how, set, old,
	              __builtin_return_address(0));
}

PRELOAD_API int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	static mask_fn real;
	return masked(&real, "sigprocmask", how, set, old,
	              __builtin_return_address(0));
}

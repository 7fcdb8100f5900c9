/*
 * maps.c -- the malloc preload's roots: every writable mapping of the
 * process that is not tricolor's own memory, read from /proc/self/maps at
 * each cycle (roots.h: roots_set_mappings_source).
 *
 * A C program's pointers to malloc'ed memory can be anywhere: data and bss
 * of any loaded object, stacks of threads however created, memory it or a
 * library mapped itself (the loader's early allocations, a custom arena).
 * So the preload scans all of it, except tricolor's arenas and metadata
 * (os.c I3), which would otherwise keep every object alive.
 *
 * Algorithm (called by roots_prepare with the world stopped, on the
 * collecting thread):
 *   1. Snapshot tricolor's own ranges (os_for_each_owned) into a buffer
 *      mapped with os_map, growing it and retrying if it was too small.
 *   2. Read the whole of /proc/self/maps with open/read into an os_map
 *      buffer (no heap, no stdio), doubled and read again until it fits.
 *      Whole, and before any push: a push may map memory (the job list
 *      grows) and unmap the old list, which must not show up in the text.
 *   3. Keep a line when it is writable and either private, or shared but
 *      anonymous (no path, /dev/zero, SYSV shm, [anon...]); take it minus
 *      every owned range that overlaps it.
 *   4. Push only the pages that are resident or swapped out
 *      (/proc/self/pagemap, read 512 entries at a time): the untouched
 *      rest of each 8 MiB thread stack, and large reservations mapped
 *      read/write, hold no pointer and are never read, so they are never
 *      faulted in either. If pagemap cannot be read, everything is pushed.
 *
 * Invariants:
 *   M1. Nothing here allocates from the heap or takes a heap lock: it runs
 *       with the world stopped. Its buffers are tricolor metadata (never
 *       roots themselves).
 *   M2. A pushed range is readable: it is part of a writable mapping seen
 *       while the world is stopped, so no registered thread can unmap it
 *       before the mark ends. (A private file mapping that extends past
 *       its file's end would fault: docs/malloc.md lists it as a limit.)
 *   M3. Whatever tricolor unmaps between the snapshot (step 1) and the end
 *       of the mark was in the snapshot, so it is never pushed: the
 *       snapshot's own buffer is replaced before the text is read, the
 *       text buffer before it is filled, the job list after it.
 * Concurrency: only the collecting thread, under the world lock.
 */
#include "maps.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../alloc/os.h"

#define MAPS_BUF (64 * TRI_KiB)

typedef struct range {
	uintptr_t lo, hi;
} range;

static char *buf;              /* buf_cap bytes (M1) */
static size_t buf_cap = MAPS_BUF;
static range *owned;           /* snapshot of os.c's list */
static size_t nowned, owned_cap;

typedef struct snap {
	range *v;
	size_t n, cap;
} snap;

static void snap_one(uintptr_t lo, uintptr_t hi, void *arg)
{
	snap *s = arg;
	if (s->n < s->cap)
		s->v[s->n] = (range){lo, hi};
	s->n++;
}

static bool snapshot_owned(void)
{
	for (;;) {
		snap s = {owned, 0, owned_cap};
		os_for_each_owned(snap_one, &s);
		if (s.n <= owned_cap) {
			nowned = s.n;
			return true;
		}
		size_t cap = s.n * 2;
		range *v = os_map(cap * sizeof *v);
		if (!v)
			return false;
		if (owned)
			os_unmap_mapped(owned, owned_cap * sizeof *owned);
		owned = v;
		owned_cap = cap;
	}
}

/* ---- resident pages only (step 4) ---- */

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)
#define PM_BATCH 512 /* entries read at a time: 2 MiB of address space */

static int pagemap_fd = -1; /* open during one maps_roots call */
static void (*push_out)(uintptr_t lo, uintptr_t hi);

/* Push the runs of [lo, hi) (page aligned) whose pages are in memory or
 * in swap: a page never touched holds no pointer, and reading it would
 * only map the zero page. Without /proc/self/pagemap, push it all. */
static void push_resident(uintptr_t lo, uintptr_t hi)
{
	uint64_t e[PM_BATCH];
	uintptr_t run = 0; /* start of the current resident run, 0: none */
	for (uintptr_t p = lo; p < hi;) {
		size_t n = (hi - p) / OS_PAGE_SIZE;
		n = n > PM_BATCH ? PM_BATCH : n;
		off_t off = (off_t)(p / OS_PAGE_SIZE * sizeof e[0]);
		if (pagemap_fd < 0 || n == 0 ||
		    pread(pagemap_fd, e, n * sizeof e[0], off) !=
		            (ssize_t)(n * sizeof e[0])) {
			push_out(run ? run : p, hi); /* unknown: all of it */
			return;
		}
		for (size_t i = 0; i < n; i++, p += OS_PAGE_SIZE) {
			bool in = (e[i] & (PM_PRESENT | PM_SWAPPED)) != 0;
			if (in && !run)
				run = p;
			if (!in && run) {
				push_out(run, p);
				run = 0;
			}
		}
	}
	if (run)
		push_out(run, hi);
}

/* Push [lo, hi) minus the owned ranges (sorted, disjoint). */
static void push_unowned(uintptr_t lo, uintptr_t hi,
                         void (*push)(uintptr_t, uintptr_t))
{
	uintptr_t cur = lo;
	for (size_t i = 0; i < nowned && cur < hi; i++) {
		range r = owned[i];
		if (r.hi <= cur || r.lo >= hi)
			continue;
		if (r.lo > cur)
			push(cur, r.lo);
		cur = r.hi;
	}
	if (cur < hi)
		push(cur, hi);
}

static bool shared_anonymous(const char *path)
{
	return path[0] == 0 || strncmp(path, "/dev/zero", 9) == 0 ||
	       strncmp(path, "/SYSV", 5) == 0 ||
	       strncmp(path, "[anon", 5) == 0;
}

/* One line of /proc/self/maps: its writable private (or anonymous
 * shared) memory, less tricolor's own. */
static void take_line(const char *l, void (*push)(uintptr_t, uintptr_t))
{
	os_mapping m;
	if (!os_maps_line(l, &m) || m.perms[1] != 'w')
		return;
	if (m.perms[3] == 's' && !shared_anonymous(m.path))
		return;
	if (strncmp(m.path, "[vsyscall]", 10) == 0)
		return;
	push_unowned(m.lo, m.hi, push);
}

/* The whole of /proc/self/maps into buf (grown until it fits), so that
 * mappings made while ranges are pushed (the job list growing) cannot
 * appear in the text: only what existed at the snapshot is scanned. */
static size_t read_maps(void)
{
	for (;;) {
		if (!buf && !(buf = os_map(buf_cap)))
			base_fatal("malloc preload: out of memory reading the "
			          "mappings: cannot collect safely");
		int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			base_fatal("malloc preload: cannot open /proc/self/maps: "
			          "cannot collect safely");
		size_t have = 0;
		ssize_t got;
		while (have < buf_cap - 1 &&
		       (got = read(fd, buf + have, buf_cap - 1 - have)) > 0)
			have += (size_t)got;
		close(fd);
		if (have < buf_cap - 1) {
			buf[have] = 0;
			return have;
		}
		os_unmap_mapped(buf, buf_cap); /* too small: twice as big, again */
		buf = NULL;
		buf_cap *= 2;
	}
}

void maps_roots(void (*push)(uintptr_t lo, uintptr_t hi))
{
	if (!snapshot_owned()) /* before the read: it may unmap (M3) */
		base_fatal("malloc preload: out of memory for the list of "
		          "tricolor's mappings: cannot collect safely");
	size_t have = read_maps();
	push_out = push;
	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	char *line = buf, *nl;
	while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
		*nl = 0;
		take_line(line, push_resident);
		line = nl + 1;
	}
	if (*line) /* a last line without a newline */
		take_line(line, push_resident);
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	pagemap_fd = -1;
}

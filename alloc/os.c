/*
 * os.c -- the only file that talks to the kernel about memory.
 *
 * Reservations are read/write anonymous private mappings with
 * MAP_NORESERVE: address space whose pages cost nothing until touched.
 * Commit is then bookkeeping only -- no system call on the heap's growth
 * path. An mprotect there would take the process's mmap lock for writing,
 * and every thread that page-faults meanwhile waits behind it; on a busy
 * machine (a kernel thread walking the address space, a preempted vCPU)
 * that wait was measured at over 100 ms. Where the kernel refuses a
 * read/write reservation (strict overcommit accounting, vm.overcommit_memory
 * = 2, charges it in full), reservations fall back to PROT_NONE for good
 * and commit turns ranges read/write with mprotect (I4). Release is
 * madvise(MADV_DONTNEED), after which the kernel supplies zero pages, or
 * MADV_FREE when asked. madvise never splits a mapping, so releasing any
 * pattern of ranges leaves the number of mappings unchanged.
 *
 * Invariants:
 *   I1. committed_bytes counts bytes committed by os_commit or mapped by
 *       os_map (atomic, relaxed: a statistic). os_unmap is only used on
 *       ranges that were never committed, so it does not subtract;
 *       os_unmap_mapped gives back an os_map'd scratch buffer and
 *       subtracts it.
 *   I2. A failing call leaves no partial mapping behind.
 *   I3. owned[] lists every range os.c has mapped or reserved and not yet
 *       unmapped (arenas, metadata, the list itself), sorted by address and
 *       disjoint; owned_mu (rank OS, the last: os calls are made under
 *       MHEAP, FIXALLOC, WORK...) protects it. The malloc preload reads it
 *       to leave tricolor's own memory out of the roots it takes from
 *       /proc/self/maps (os_for_each_owned).
 *   I4. Once reserve_prot_none is set it stays set, and every commit
 *       from then on calls mprotect (a no-op on a range reserved read/
 *       write before), so a committed range is always read/write.
 */
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static atomic_word committed_bytes; /* I1 */
static atomic_word reserve_prot_none; /* I4 */

typedef struct owned_range {
	uintptr_t lo, hi;
} owned_range;
static base_mutex owned_mu; /* I3 */
static atomic_word owned_mu_ready;
static owned_range *owned;  /* owned_mu */
static size_t nowned, owned_cap;

/* os.c is used before any init runs: the lock initialises itself on
 * first use (the first call is single-threaded: tri_init's). */
static void owned_lock_init(void)
{
	if (TRI_UNLIKELY(!atomic_load_acquire(&owned_mu_ready))) {
		base_mutex_init(&owned_mu, LOCK_RANK_OS);
		atomic_store_release(&owned_mu_ready, 1); /* pairs: above */
	}
}

static void owned_lock(void)
{
	owned_lock_init();
	base_mutex_lock(&owned_mu);
}

/* Double the list (its own mapping is listed by the caller). */
static bool owned_grow(void)
{
	size_t cap = owned_cap ? owned_cap * 2 : 512;
	owned_range *v = mmap(NULL, cap * sizeof *v, PROT_READ | PROT_WRITE,
	                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return false;
	if (nowned)
		memcpy(v, owned, nowned * sizeof *v);
	owned = v;
	owned_cap = cap;
	return true;
}

static void owned_insert_locked(uintptr_t lo, uintptr_t hi)
{
	size_t i = nowned;
	while (i > 0 && owned[i - 1].lo > lo)
		i--;
	memmove(&owned[i + 1], &owned[i], (nowned - i) * sizeof *owned);
	owned[i] = (owned_range){lo, hi};
	nowned++;
}

/* Remove [lo, hi) from the list: entries are trimmed or split. */
static void owned_remove_locked(uintptr_t lo, uintptr_t hi)
{
	for (size_t i = 0; i < nowned; i++) {
		owned_range r = owned[i];
		if (r.hi <= lo || r.lo >= hi)
			continue;
		if (r.lo < lo && r.hi > hi) { /* a hole: split (room is kept) */
			owned[i].hi = lo;
			owned_insert_locked(hi, r.hi);
			return;
		}
		if (r.lo < lo) {
			owned[i].hi = lo;
		} else if (r.hi > hi) {
			owned[i].lo = hi;
		} else { /* inside: drop it */
			memmove(&owned[i], &owned[i + 1],
			        (nowned - i - 1) * sizeof *owned);
			nowned--;
			i--;
		}
	}
}

/* Sizes are rounded up to whole pages: the kernel maps and unmaps whole
 * pages, so the tail of a partial last page is tricolor's too. */
static void owned_add(void *p, size_t size)
{
	size = align_up(size, OS_PAGE_SIZE);
	owned_lock();
	if (nowned + 2 >= owned_cap) { /* +2: a later split, the list */
		owned_range *old = owned;
		size_t old_bytes = owned_cap * sizeof *owned;
		if (!owned_grow()) /* the range goes unlisted: scanned */
			base_fatal("os: out of memory for the list of "
			          "tricolor's mappings");
		owned_insert_locked((uintptr_t)owned,
		                    (uintptr_t)owned + owned_cap * sizeof *owned);
		if (old) {
			owned_remove_locked((uintptr_t)old,
			                    (uintptr_t)old + old_bytes);
			munmap(old, old_bytes);
		}
	}
	owned_insert_locked((uintptr_t)p, (uintptr_t)p + size);
	base_mutex_unlock(&owned_mu);
}

static void owned_del(void *p, size_t size)
{
	size = align_up(size, OS_PAGE_SIZE);
	owned_lock();
	owned_remove_locked((uintptr_t)p, (uintptr_t)p + size);
	base_mutex_unlock(&owned_mu);
}

void os_for_each_owned(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg),
                       void *arg)
{
	owned_lock();
	for (size_t i = 0; i < nowned; i++)
		fn(owned[i].lo, owned[i].hi, arg);
	base_mutex_unlock(&owned_mu);
}
static atomic_word fail_countdown;  /* test hook; 0 = off */
static atomic_word release_fail_countdown; /* test hook; 0 = off */
static atomic_word madv_free;       /* os_set_madv_free */

void os_fail_after(long n)
{
	atomic_store_release(&fail_countdown, (uintptr_t)(n < 0 ? 0 : n));
}

void os_fail_release_after(long n)
{
	atomic_store_release(&release_fail_countdown,
	                     (uintptr_t)(n < 0 ? 0 : n));
}

/* True when the countdown says this call must fail. */
static bool countdown_hit(atomic_word *countdown)
{
	uintptr_t n = atomic_load_acquire(countdown);
	while (n != 0) {
		uintptr_t seen = atomic_cas_full(countdown, n, n - 1);
		if (seen == n)
			return n == 1;
		n = seen;
	}
	return false;
}

static bool injected_failure(void)
{
	return countdown_hit(&fail_countdown);
}

void *os_reserve(void *hint, size_t size)
{
	if (injected_failure())
		return NULL;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	if (hint)
		flags |= MAP_FIXED_NOREPLACE;
	void *p = MAP_FAILED;
	if (!atomic_load_relaxed(&reserve_prot_none)) {
		p = mmap(hint, size, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (p == MAP_FAILED && errno == ENOMEM) /* I4 */
			atomic_store_relaxed(&reserve_prot_none, 1);
	}
	if (p == MAP_FAILED && atomic_load_relaxed(&reserve_prot_none))
		p = mmap(hint, size, PROT_NONE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (hint && p != hint) { /* old kernel ignored NOREPLACE */
		munmap(p, size);
		return NULL;
	}
	owned_add(p, size); /* I3 */
	return p;
}

void *os_reserve_aligned(size_t size, size_t align)
{
	if (size + align < size)
		return NULL;
	char *p = os_reserve(NULL, size + align);
	if (!p)
		return NULL;
	char *q = (char *)align_up((uintptr_t)p, align);
	if (q > p)
		os_unmap(p, (size_t)(q - p));
	size_t tail = (size_t)((p + size + align) - (q + size));
	if (tail)
		os_unmap(q + size, tail);
	return q;
}

bool os_commit(void *p, size_t size)
{
	if (injected_failure())
		return false;
	if (atomic_load_relaxed(&reserve_prot_none) && /* I4 */
	    mprotect(p, size, PROT_READ | PROT_WRITE) != 0)
		return false;
	atomic_add_full(&committed_bytes, size);
	return true;
}

void os_reserve_force_prot_none(void)
{
	atomic_store_relaxed(&reserve_prot_none, 1);
}

void os_set_madv_free(bool on)
{
	atomic_store_relaxed(&madv_free, on);
}

bool os_release(void *p, size_t size)
{
	if (countdown_hit(&release_fail_countdown))
		return false;
#ifdef MADV_FREE
	if (atomic_load_relaxed(&madv_free)) {
		if (madvise(p, size, MADV_FREE) == 0)
			return true;
		if (errno != EINVAL)
			return false;
		atomic_store_relaxed(&madv_free, 0); /* kernel < 4.5 */
	}
#endif
	return madvise(p, size, MADV_DONTNEED) == 0;
}

void os_unmap(void *p, size_t size)
{
	munmap(p, size);
	owned_del(p, size); /* I3 */
}

void *os_map(size_t size)
{
	if (injected_failure())
		return NULL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	owned_add(p, size); /* I3 */
	atomic_add_full(&committed_bytes, size);
	return p;
}

bool os_vec_reserve(void **v, size_t *cap, size_t used, size_t want,
                    size_t elem, size_t first)
{
	TRI_ASSERT(used <= *cap && first > 0);
	if (want <= *cap)
		return true;
	size_t n = *cap ? *cap : first;
	while (n < want)
		n *= 2;
	void *nv = os_map(n * elem);
	if (!nv)
		return false;
	if (used)
		memcpy(nv, *v, used * elem);
	if (*v)
		os_unmap_mapped(*v, *cap * elem);
	*v = nv;
	*cap = n;
	return true;
}

void *os_bump_alloc(os_bump *b, size_t n, size_t chunk, size_t *mapped)
{
	n = align_up(n, 16);
	if (n > b->left) {
		size_t size = n > chunk ? n : chunk;
		char *c = os_map(size);
		if (!c)
			return NULL;
		if (mapped)
			*mapped += size;
		b->next = c;
		b->left = size;
	}
	void *p = b->next;
	b->next += n;
	b->left -= n;
	TRI_ASSERT(((uintptr_t)p & 15) == 0);
	return p; /* fresh from the OS: already zero */
}

uint64_t os_memory_limit(void)
{
	struct sysinfo si;
	if (sysinfo(&si) != 0)
		return UINT64_MAX;
	return ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
}

void os_unmap_mapped(void *p, size_t size)
{
	os_unmap(p, size); /* off the list of tricolor's mappings too (I3) */
	atomic_add_full(&committed_bytes, (uintptr_t)-size);
}

static uintptr_t maps_hex(const char **p)
{
	uintptr_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		if (c >= '0' && c <= '9')
			v = v * 16 + (uintptr_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (uintptr_t)(c - 'a' + 10);
		else
			return v;
	}
}

bool os_maps_line(const char *l, os_mapping *m)
{
	m->lo = maps_hex(&l);
	if (*l++ != '-')
		return false;
	m->hi = maps_hex(&l);
	if (*l++ != ' ' || strlen(l) < 5 || l[4] != ' ')
		return false;
	memcpy(m->perms, l, 4);
	m->perms[4] = '\0';
	l += 5;
	m->offset = maps_hex(&l);
	for (int field = 0; field < 3 && *l; field++) { /* offset, dev, inode */
		while (*l && *l != ' ')
			l++;
		while (*l == ' ')
			l++;
	}
	m->path = l;
	return true;
}

bool os_read_maps(void (*fn)(const os_mapping *m, void *arg), void *arg)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps",
	                      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[4096], line[1024];
	size_t ll = 0;
	long r;
	while ((r = syscall(SYS_read, fd, buf, sizeof buf)) > 0 ||
	       (r < 0 && errno == EINTR)) {
		for (long i = 0; i < r; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof line - 1)
					line[ll++] = buf[i];
				continue;
			}
			line[ll] = '\0';
			ll = 0;
			os_mapping m;
			if (os_maps_line(line, &m))
				fn(&m, arg);
		}
	}
	syscall(SYS_close, fd);
	return true;
}

uint64_t os_committed_bytes(void)
{
	return atomic_load_relaxed(&committed_bytes);
}

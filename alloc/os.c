/*
 * os.c -- the only file that talks to the kernel about memory.
 *
 * Reservations are PROT_NONE anonymous private mappings with MAP_NORESERVE;
 * commit turns a range read/write in place with mprotect (the range stays one
 * mapping per reservation as far as the kernel allows); release is
 * madvise(MADV_DONTNEED), after which the kernel supplies zero pages, or
 * MADV_FREE when asked. madvise never splits a mapping, so releasing any
 * pattern of ranges leaves the number of mappings unchanged.
 *
 * Invariants:
 *   I1. committed_bytes counts bytes made read/write by os_commit/os_map
 *       (atomic, relaxed: a statistic). os_unmap is only used on ranges that
 *       were never committed, so it does not subtract; os_unmap_mapped
 *       gives back an os_map'd scratch buffer and subtracts it.
 *   I2. A failing call leaves no partial mapping behind.
 */
#include "os.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static atomic_word committed_bytes; /* I1 */
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
	void *p = mmap(hint, size, PROT_NONE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (hint && p != hint) { /* old kernel ignored NOREPLACE */
		munmap(p, size);
		return NULL;
	}
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
		munmap(p, (size_t)(q - p));
	size_t tail = (size_t)((p + size + align) - (q + size));
	if (tail)
		munmap(q + size, tail);
	return q;
}

bool os_commit(void *p, size_t size)
{
	if (injected_failure())
		return false;
	if (mprotect(p, size, PROT_READ | PROT_WRITE) != 0)
		return false;
	atomic_add_full(&committed_bytes, size);
	return true;
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
}

void *os_map(size_t size)
{
	if (injected_failure())
		return NULL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	atomic_add_full(&committed_bytes, size);
	return p;
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
	munmap(p, size);
	atomic_add_full(&committed_bytes, (uintptr_t)-size);
}

uint64_t os_committed_bytes(void)
{
	return atomic_load_relaxed(&committed_bytes);
}

/*
 * os.h -- address space from the OS: reserve, commit, release, map.
 *
 * A region moves reserved (address space, no memory) -> committed (counted
 * in the statistics, zero-filled on first touch) -> released (committed,
 * contents dropped with madvise) -> committed again on reuse. Reservations
 * are read/write from the start, so committing needs no system call,
 * except where the kernel refuses that (os.c I4). Only os.c includes
 * <sys/mman.h>.
 *
 * Test hooks: os_fail_after(n) makes the n-th following reserve/commit/map
 * call fail as if the OS refused (n = 0 turns the hook off), so tests can
 * walk every failure point and check for a clean ENOMEM;
 * os_fail_release_after(n) does the same for os_release.
 */
#ifndef TRI_OS_H
#define TRI_OS_H

#include "../base/base.h"

#define OS_PAGE_SIZE ((size_t)4096)

/* Reserve size bytes of address space at exactly hint (NULL = anywhere).
 * Returns NULL if the OS refuses or, with a hint, if the range is taken. */
void *os_reserve(void *hint, size_t size);
/* Reserve size bytes aligned to align (a power of two), anywhere. */
void *os_reserve_aligned(size_t size, size_t align);
/* Make [p, p+size) of a reservation readable and writable (it already is,
 * unless reservations fell back to PROT_NONE: os.c I4) and count it. */
bool os_commit(void *p, size_t size);
/* Make every later reservation PROT_NONE, committed with mprotect, as on a
 * kernel with strict overcommit accounting (tests). */
void os_reserve_force_prot_none(void);
/* Give the memory of [p, p+size) back to the OS; the range stays mapped
 * read/write. With MADV_DONTNEED (the default) the next touch sees zeroes;
 * with MADV_FREE (os_set_madv_free, GODEBUG=madvdontneed=0) the kernel
 * takes the pages only under memory pressure and the next touch sees
 * zeroes or the old contents. Returns false if the OS refused (the memory
 * stays valid, its contents unchanged). */
bool os_release(void *p, size_t size);
/* Use MADV_FREE instead of MADV_DONTNEED for os_release; a kernel without
 * it (before 4.5) makes os_release fall back to DONTNEED for good. */
void os_set_madv_free(bool on);
/* Return [p, p+size), never committed, to the OS entirely. */
void os_unmap(void *p, size_t size);
/* Map size bytes of zeroed read/write memory for metadata; NULL on failure. */
void *os_map(size_t size);

/* Growable arrays in os_map memory (metadata that must not come from the
 * heap: root lists, leak tables, profile buffers). Make *v, of *cap
 * elements of elem bytes of which the first used are live, hold at least
 * want: the capacity doubles from first until it does, the live elements
 * move to the new mapping and the old one is unmapped. False (nothing
 * changed) when the OS refuses. */
bool os_vec_reserve(void **v, size_t *cap, size_t used, size_t want,
                    size_t elem, size_t first);

/* A persistent bump allocator (Go's persistentalloc) over os_map chunks
 * of at least chunk bytes: blocks are zeroed, aligned to 16 and never
 * freed. The caller serialises its calls on one os_bump. */
typedef struct os_bump {
	char *next;
	size_t left;
} os_bump;
/* n bytes from b (a chunk of its own if n > chunk); NULL when the OS
 * refuses. *mapped, if not NULL, grows by the bytes newly mapped. */
void *os_bump_alloc(os_bump *b, size_t n, size_t chunk, size_t *mapped);

/* RAM plus swap: no single request larger than this can ever be met
 * (Linux's heuristic overcommit refuses it too), so callers reject it
 * before touching any metadata. */
uint64_t os_memory_limit(void);

/* One line of /proc/self/maps, "lo-hi perms offset dev inode   path"
 * (without its newline), as os_maps_line reads it. */
typedef struct os_mapping {
	uintptr_t lo, hi, offset;
	char perms[5];    /* "rwxp" as the kernel prints them */
	const char *path; /* into the line; "" for anonymous memory */
} os_mapping;
/* Parse line into *m; false if it is not a mapping line. */
bool os_maps_line(const char *line, os_mapping *m);
/* Call fn for each mapping of /proc/self/maps, read in pieces with raw
 * system calls (no allocation, no blocking-call wrapper: callable with
 * the world stopped). Lines longer than 1 KiB are cut there. False if
 * the file cannot be opened. */
bool os_read_maps(void (*fn)(const os_mapping *m, void *arg), void *arg);

/* Bytes tricolor has committed or mapped (all kinds; os.c I1). */
uint64_t os_committed_bytes(void);
/* Unmap [p, p + size) obtained from os_map, and stop counting it (I1):
 * scratch buffers (heap profiles and dumps). */
void os_unmap_mapped(void *p, size_t size);

/* Call fn for each range tricolor has mapped or reserved (os.c I3), in
 * address order, under os.c's lock (rank OS): fn must not call os.c. */
void os_for_each_owned(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg),
                       void *arg);

/* Test hook: fail the n-th following reserve/commit/map (0 = never). */
void os_fail_after(long n);
/* Test hook: fail the n-th following os_release (0 = never); separate so
 * a background scavenger cannot use up a countdown meant for the others. */
void os_fail_release_after(long n);

#endif /* TRI_OS_H */

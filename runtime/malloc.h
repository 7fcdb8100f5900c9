/*
 * malloc.h -- malloc.c's entry points for the C library's semantics (the
 * preload, preload/shim.c): memory that is not zeroed where a freed
 * object was, as glibc's malloc and realloc give. tricolor.h's tri_malloc
 * and tri_realloc always zero (malloc.c I1).
 *
 * In gc mode the collector scans such memory as it is, so old words that
 * the new owner never overwrites still look like pointers (docs/malloc.md,
 * "Limits"). Freshly mapped memory is zero either way, and a free list's
 * words (mcache.h I4) are always cleared.
 */
#ifndef TRI_MALLOC_H
#define TRI_MALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* The init step of runtime/init.c: the largest request the machine can
 * meet (RAM + swap). */
bool malloc_init(void);

/* tri_malloc without the zeroing of reused memory. */
void *malloc_uninit(size_t n);
/* tri_realloc without the zeroing of the new tail or of a shrunk tail. */
void *realloc_uninit(void *p, size_t n);

#endif /* TRI_MALLOC_H */

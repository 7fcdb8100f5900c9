/*
 * fixalloc.h -- fixed-size metadata allocator (Go's fixalloc).
 *
 * Metadata (span structs, bitmaps, thread caches) never lives in the
 * collected heap: it is carved from chunks mapped straight from the OS and
 * recycled through a free list. Returned blocks are zeroed.
 *
 * Invariants:
 *   I1. Every block is size bytes, 16-byte aligned, and zeroed when handed
 *       out.
 *   I2. inuse counts blocks handed out and not returned.
 * Concurrency: each fixalloc has its own lock (rank LOCK_RANK_FIXALLOC).
 */
#ifndef TRI_FIXALLOC_H
#define TRI_FIXALLOC_H

#include "../base/base.h"
#include "os.h"

typedef struct fixalloc {
	base_mutex lock;
	size_t size;          /* block size, a multiple of 16 */
	void *free_list;      /* returned blocks; lock */
	os_bump chunk;        /* the current chunk; lock */
	atomic_word inuse;    /* I2 (atomic for readers) */
	atomic_word sys;      /* bytes mapped */
} fixalloc;

void fixalloc_init(fixalloc *f, size_t size);
/* A zeroed block, or NULL if the OS refused memory. */
void *fixalloc_alloc(fixalloc *f);
void fixalloc_free(fixalloc *f, void *p);

#endif /* TRI_FIXALLOC_H */

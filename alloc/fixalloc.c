/*
 * fixalloc.c -- see fixalloc.h. Chunks of FIXALLOC_CHUNK bytes come from
 * os_map and are never returned; freed blocks go on an intrusive free list
 * and are zeroed again when handed out (I1).
 */
#include "fixalloc.h"

#include <string.h>

#include "os.h"

#define FIXALLOC_CHUNK (256 * TRI_KiB)

void fixalloc_init(fixalloc *f, size_t size)
{
	memset(f, 0, sizeof *f);
	base_mutex_init(&f->lock, LOCK_RANK_FIXALLOC);
	f->size = align_up(size < 16 ? 16 : size, 16);
}

/* Take a block from the current chunk, mapping a new one if needed. */
static void *carve(fixalloc *f)
{
	size_t mapped = 0;
	void *p = os_bump_alloc(&f->chunk, f->size, FIXALLOC_CHUNK, &mapped);
	if (mapped)
		atomic_add_full(&f->sys, mapped);
	return p;
}

void *fixalloc_alloc(fixalloc *f)
{
	base_mutex_lock(&f->lock);
	void *p = f->free_list;
	if (p) {
		f->free_list = *(void **)p;
		memset(p, 0, f->size); /* I1 */
	} else {
		p = carve(f);
	}
	if (p)
		atomic_add_full(&f->inuse, 1);
	base_mutex_unlock(&f->lock);
	return p;
}

void fixalloc_free(fixalloc *f, void *p)
{
	base_mutex_lock(&f->lock);
	*(void **)p = f->free_list;
	f->free_list = p;
	atomic_add_full(&f->inuse, (uintptr_t)-1);
	base_mutex_unlock(&f->lock);
}

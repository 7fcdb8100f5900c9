/*
 * fixalloc.c -- see fixalloc.h. Chunks of FIXALLOC_CHUNK bytes come from
 * os_map and are never returned; freed blocks go on an intrusive free list
 * and are zeroed again when handed out (I1).
 */
#include "fixalloc.h"

#include <string.h>

#include "os.h"

#define FIXALLOC_CHUNK (256 * TRI_KiB)

/* Every fixalloc, for the fork handlers; written at init only. */
#define MAX_FIXALLOCS 16
static fixalloc *all_fixallocs[MAX_FIXALLOCS];
static int num_fixallocs;

static void remember(fixalloc *f)
{
	for (int i = 0; i < num_fixallocs; i++)
		if (all_fixallocs[i] == f)
			return;
	if (num_fixallocs == MAX_FIXALLOCS)
		base_fatal("fixalloc: more than %d allocators", MAX_FIXALLOCS);
	all_fixallocs[num_fixallocs++] = f;
}

void fixalloc_fork_prepare(void)
{
	for (int i = 0; i < num_fixallocs; i++)
		base_mutex_fork_lock(&all_fixallocs[i]->lock);
}

void fixalloc_fork_parent(void)
{
	for (int i = num_fixallocs - 1; i >= 0; i--)
		base_mutex_fork_unlock(&all_fixallocs[i]->lock);
}

void fixalloc_fork_child(void)
{
	for (int i = 0; i < num_fixallocs; i++)
		base_mutex_reinit(&all_fixallocs[i]->lock);
}

void fixalloc_init(fixalloc *f, size_t size)
{
	remember(f);
	memset(f, 0, sizeof *f);
	base_mutex_init(&f->lock, LOCK_RANK_FIXALLOC);
	f->size = align_up(size < 16 ? 16 : size, 16);
}

/* Take a block from the current chunk, mapping a new one if needed. */
static void *carve(fixalloc *f)
{
	if (f->chunk_left < f->size) {
		size_t n = f->size > FIXALLOC_CHUNK ? f->size : FIXALLOC_CHUNK;
		char *c = os_map(n);
		if (!c)
			return NULL;
		atomic_add_full(&f->sys, n);
		f->chunk = c;
		f->chunk_left = n;
	}
	void *p = f->chunk;
	f->chunk += f->size;
	f->chunk_left -= f->size;
	return p; /* fresh from the OS: already zero */
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

/*
 * wbbuf.c -- the write barrier (placeholder while concurrent mode is built:
 * the flag is never set, so every store is a plain store).
 */
#include <string.h>

#include "../alloc/base.h"
#include "../include/tricolor.h"

TRI_API volatile int tri_wb_enabled;

TRI_API void tri_write_barrier(void **slot, void *value)
{
	*slot = value;
}

TRI_API void tri_shade(const void *p)
{
	(void)p;
}

TRI_API void *tri_memmove(void *dst, const void *src, size_t n)
{
	return memmove(dst, src, n);
}

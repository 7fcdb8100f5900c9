/*
 * threads.c -- tri_thread_register / tri_thread_unregister.
 *
 * Invariants:
 *   I1. A thread is registered iff it has an mcache (alloc/mcache.c keeps
 *       the registry and returns the cache's spans when the thread exits).
 */
#include "threads.h"

#include <errno.h>

#include "../alloc/mcache.h"
#include "../include/tricolor.h"

TRI_API int tri_thread_register(void)
{
	if (!mcache_get_slow()) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

TRI_API int tri_thread_unregister(void)
{
	if (!mcache_release()) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/*
 * stats.h -- the MemStats-like snapshot behind tri_read_stats.
 */
#ifndef TRI_STATS_H
#define TRI_STATS_H

#include "../base/base.h"
#include "../include/tricolor.h"

/* Fill *st (tricolor.h), the heap initialised. */
void stats_read(tri_stats_t *st);

#endif /* TRI_STATS_H */

/*
 * stats.h -- tri_read_stats: the MemStats-like snapshot. The collector's
 * pause history and cycle counts will live here too.
 */
#ifndef TRI_STATS_H
#define TRI_STATS_H

#include "../base/base.h"

#endif /* TRI_STATS_H */

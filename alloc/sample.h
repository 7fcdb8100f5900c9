/*
 * sample.h -- the allocation sampler (sample.c): the rate, and the gap
 * each thread's cache counts down on the allocation fast path
 * (mcache.h's next_sample) before its next sampled allocation.
 */
#ifndef TRI_SAMPLE_H
#define TRI_SAMPLE_H

#include "../base/base.h"

#define SAMPLE_DEFAULT_RATE (512 * 1024) /* Go's MemProfileRate */

long sample_rate(void);
void sample_set_rate(long bytes); /* bytes >= 0 (S1) */
/* Bytes to allocate before the next sample (S2). */
uintptr_t sample_next_gap(void);

#endif /* TRI_SAMPLE_H */

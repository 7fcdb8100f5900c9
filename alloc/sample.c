/*
 * sample.c -- the allocation sampler's gap (Go's nextSample and
 * fastexprand): how many bytes a thread allocates before its next sampled
 * allocation, exponentially distributed around the sampling rate, so the
 * heap profile (prof/profile.c) sees on average one sample per `rate`
 * bytes whatever the allocation sizes.
 *
 * Invariants:
 *   S1. rate >= 0; 0 samples nothing, 1 samples every allocation.
 *   S2. A gap is >= 1 byte for rate > 1, 0 for rate 1 and RATE0_GAP for
 *       rate 0.
 * Concurrency: rate is one word, read and written relaxed; the random
 * state is per thread.
 */
#include "sample.h"

#include <time.h>

#define RATE_MAX_MEAN 0x7000000 /* Go caps fastexprand's mean */

static atomic_word rate = SAMPLE_DEFAULT_RATE; /* long (S1) */

long sample_rate(void)
{
	return (long)atomic_load_relaxed(&rate);
}

void sample_set_rate(long bytes)
{
	TRI_ASSERT(bytes >= 0); /* S1 */
	atomic_store_relaxed(&rate, (uintptr_t)bytes);
}


static __thread uint64_t rng_state;

static uint64_t rng_next(void)
{
	if (!rng_state) { /* per thread: address and time */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		rng_state = ((uint64_t)(uintptr_t)&rng_state * 0x9e3779b97f4a7c15u) ^
		            (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		rng_state |= 1;
	}
	uint64_t x = rng_state; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1du;
}

/* ln(x) for x > 0 without libm: x = m * 2^e with m in [1, 2), then
 * ln m = 2 atanh((m - 1) / (m + 1)) by its series (|t| <= 1/3: the terms
 * kept give about 1e-7, plenty for a sampling gap). */
static double ln(double x)
{
	int e = 0;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	double t = (x - 1) / (x + 1), t2 = t * t;
	double s = t * (1 + t2 * (1.0 / 3 + t2 * (1.0 / 5 + t2 * (1.0 / 7 +
	           t2 * (1.0 / 9 + t2 * (1.0 / 11))))));
	return 2 * s + e * 0.6931471805599453;
}

/* Go's fastexprand: q uniform in [1, 2^26], x = -ln(q / 2^26) * mean. */
static uintptr_t exp_rand(long mean)
{
	if (mean > RATE_MAX_MEAN)
		mean = RATE_MAX_MEAN;
	uint64_t q = (rng_next() >> 38) + 1; /* 26 random bits, + 1 */
	double x = -ln((double)q / (double)(1u << 26)) * (double)mean;
	if (x < 0)
		x = 0;
	return (uintptr_t)x + 1;
}

/* Rate 0: the counter still runs out now and then, so a later
 * tri_set_profile_rate reaches threads whose reset store was lost. */
#define RATE0_GAP ((uintptr_t)64 << 20)

uintptr_t sample_next_gap(void)
{
	long rate = sample_rate();
	if (rate <= 0)
		return RATE0_GAP;
	if (rate == 1)
		return 0; /* every allocation */
	return exp_rand(rate);
}

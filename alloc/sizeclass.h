/*
 * sizeclass.h -- Go 1.19's size classes and the size -> class lookup.
 *
 * Class 0 means "large": the object gets its own span. Classes 1..67 hold
 * objects of class_to_size[c] bytes in spans of class_to_allocnpages[c]
 * pages. A span class is (size class << 1 | noscan).
 *
 * Invariants (checked for every size 0..32768 by test_sizeclass):
 *   I1. class_to_size is strictly increasing; class_to_size[67] = 32768.
 *   I2. sizeclass_of(n) is the smallest class whose size is >= n.
 *   I3. For every class, objects * size <= span bytes, and for every offset
 *       in the span (off * class_to_divmul[c]) >> 32 == off / size.
 */
#ifndef TRI_SIZECLASS_H
#define TRI_SIZECLASS_H

#include "../base/base.h"

#define PAGE_SHIFT 13
#define PAGE_SIZE ((size_t)1 << PAGE_SHIFT) /* Go's _PageSize: 8 KiB */
#define MAX_SMALL_SIZE 32768                /* Go's _MaxSmallSize */
#define NUM_SIZE_CLASSES 68                 /* Go's _NumSizeClasses */
#define NUM_SPAN_CLASSES (NUM_SIZE_CLASSES << 1)
#define SMALL_SIZE_DIV 8
#define SMALL_SIZE_MAX 1024
#define LARGE_SIZE_DIV 128
#define TINY_SIZE 16        /* Go's maxTinySize */
#define TINY_SIZE_CLASS 2   /* the 16-byte class */

typedef uint8_t spanclass_t;

extern const uint16_t class_to_size[NUM_SIZE_CLASSES];
extern const uint8_t class_to_allocnpages[NUM_SIZE_CLASSES];
extern const uint32_t class_to_divmul[NUM_SIZE_CLASSES];
extern const uint8_t size_to_class8[SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1];
extern const uint8_t
	size_to_class128[(MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1];

/* The size class for a small request n (n <= MAX_SMALL_SIZE). */
TRI_INLINE unsigned sizeclass_of(size_t n)
{
	if (n <= SMALL_SIZE_MAX - 8)
		return size_to_class8[(n + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV];
	return size_to_class128[(n - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) /
	                        LARGE_SIZE_DIV];
}

TRI_INLINE spanclass_t spanclass_make(unsigned sizeclass, bool noscan)
{
	return (spanclass_t)(sizeclass << 1 | (noscan ? 1u : 0u));
}
TRI_INLINE unsigned spanclass_sizeclass(spanclass_t sc) { return sc >> 1; }
TRI_INLINE bool spanclass_noscan(spanclass_t sc) { return sc & 1; }

/* Objects per span of a class. */
TRI_INLINE unsigned class_nelems(unsigned c)
{
	return (unsigned)(class_to_allocnpages[c] * PAGE_SIZE /
	                  class_to_size[c]);
}

/* Verify I1-I3; returns false (with a warning line) on the first failure. */
bool sizeclass_check(void);

#endif /* TRI_SIZECLASS_H */

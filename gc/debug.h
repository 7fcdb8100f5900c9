/*
 * debug.h -- the environment knobs: GODEBUG (a table of Go's keys), GOGC
 * and GOMEMLIMIT, parsed once at init with Go's syntax and meanings.
 *
 * Invariants:
 *   I1. Parsing never fails and never allocates: a bad value or an unknown
 *       GODEBUG key prints one "tricolor: ..." warning line on stderr
 *       (base_warn) and leaves the default in place.
 *   I2. gc_debug holds only values the table accepts (each key's range).
 * Concurrency: debug_init runs once under tri_init's lock; afterwards the
 * values are read-only (tri_set_gc_percent owns the live GOGC, gc/gc.c).
 */
#ifndef TRI_DEBUG_H
#define TRI_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

/* GODEBUG keys (Go's names; see docs/tuning.md). */
typedef struct gc_debug {
	int gctrace;        /* 0, 1 (one line per cycle), 2 (also repeat) */
	int gccheckmark;    /* 0 or 1 */
	int gcstoptheworld; /* 0, 1 or 2 */
	int scavtrace;      /* 0 or 1 */
	int madvdontneed;   /* 0 or 1 (default 1) */
	int clobberfree;    /* 0 or 1 */
	int gcdirty;        /* 0 best, 1 uffd, 2 soft-dirty, 3 none */
	long memprofilerate; /* -1 = unset, else bytes (>= 0) */
	const char *memprofile; /* NULL, or the value in the environment
	                           string: a path, up to ',' or the end */
	int memprofilesignal; /* 0, or a signal that writes memprofile */
} gc_debug;

extern gc_debug debug; /* Go's runtime.debug */

#define GOGC_DEFAULT 100
#define GOGC_OFF (-1)
#define GOGC_MAX 1000000 /* keeps goal arithmetic far from overflow */
#define MEMLIMIT_NONE INT64_MAX

/* Defaults, then the key=value pairs of s (comma separated; NULL or "" is
 * no change). An unknown key, a bad or out-of-range value, or an item
 * without '=' warns once per item and changes nothing; empty items are
 * skipped silently. No trimming: " gctrace=1" names the key " gctrace". */
void debug_parse_godebug(gc_debug *d, const char *s);

/* I2: every field of d holds its default or a value in its key's range. */
bool debug_check(const gc_debug *d);

/* GOGC: a decimal integer (percent; any negative = GOGC_OFF) or "off".
 * NULL or "" gives GOGC_DEFAULT; anything else, or a value outside int32
 * (as in Go), warns and gives the default. Values above GOGC_MAX are
 * clamped (warning). */
int debug_parse_gogc(const char *s);

/* GOMEMLIMIT: bytes, with an optional suffix B, KiB, MiB, GiB, TiB (Go's
 * syntax), or "off". NULL or "" gives MEMLIMIT_NONE; a bad value or one
 * past INT64_MAX bytes warns and gives MEMLIMIT_NONE (Go would throw). */
int64_t debug_parse_memlimit(const char *s);

/* Read GODEBUG into `debug`, and GOGC / GOMEMLIMIT into *gogc / *memlimit. */
void debug_init(int *gogc, int64_t *memlimit);

#endif /* TRI_DEBUG_H */

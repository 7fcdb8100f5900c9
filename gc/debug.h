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

#include <stdint.h>

/* GODEBUG keys (Go's names; see docs/tuning.md). */
typedef struct gc_debug {
	int gctrace;        /* 0, 1 (one line per cycle), 2 (also repeat) */
	int gccheckmark;    /* 0 or 1 */
	int gcstoptheworld; /* 0, 1 or 2 */
	int scavtrace;      /* 0 or 1 */
	int madvdontneed;   /* 0 or 1 (default 1) */
	int clobberfree;    /* 0 or 1 */
	long memprofilerate; /* -1 = unset, else bytes (>= 0) */
} gc_debug;

extern gc_debug debug; /* Go's runtime.debug */

#define GOGC_DEFAULT 100
#define GOGC_OFF (-1)
#define MEMLIMIT_NONE INT64_MAX

/* Defaults, then the key=value pairs of s (comma separated; NULL or "" is
 * no change). An unknown key or a bad value warns once per pair. */
void debug_parse_godebug(gc_debug *d, const char *s);

/* GOGC: a decimal integer (percent, may be negative = off) or "off".
 * NULL or "" gives GOGC_DEFAULT; anything else warns and gives the
 * default. Values above 1000000 are clamped (warning). */
int debug_parse_gogc(const char *s);

/* GOMEMLIMIT: bytes, with an optional suffix B, KiB, MiB, GiB, TiB (Go's
 * syntax), or "off". NULL or "" gives MEMLIMIT_NONE; a bad value warns and
 * gives MEMLIMIT_NONE. */
int64_t debug_parse_memlimit(const char *s);

/* Read GODEBUG into `debug`, and GOGC / GOMEMLIMIT into *gogc / *memlimit. */
void debug_init(int *gogc, int64_t *memlimit);

#endif /* TRI_DEBUG_H */

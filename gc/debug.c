/*
 * debug.c -- the environment knobs: one table of GODEBUG keys, and the GOGC
 * and GOMEMLIMIT parsers, with Go 1.19's syntax (runtime1.go:
 * parsedebugvars; mgcpacer.go: readGOGC, readGOMEMLIMIT; string.go: atoi64,
 * parseByteCount).
 *
 * GODEBUG is a comma-separated list of key=value items:
 *   1. Every field is reset to its table default.
 *   2. The string is cut at each ','. Nothing is trimmed: " gctrace=1"
 *      has the key " gctrace" and "gctrace=1 " the value "1 ", as in Go.
 *      An empty item (",," or a trailing ',') is skipped silently.
 *   3. An item is cut at its first '='. The key must equal a table row's
 *      name (case-sensitive) and the value must be a decimal integer in
 *      that row's range; then the field is set. Later items win.
 *      A string key (memprofile) takes the rest of the item as it is: the
 *      field points into the caller's string, so the value ends at the
 *      next ',' or the end (a path cannot contain ',').
 *   4. Anything else -- no '=', an unknown key, a bad number, a number out
 *      of range -- prints one warning line and changes nothing. (Go ignores
 *      all four silently and has no ranges.)
 * Numbers are Go's atoi64: an optional '-', then decimal digits and nothing
 * else (no '+', no spaces, no hex). Unlike Go, at least one digit is needed:
 * Go reads "-" alone as 0.
 *
 * Invariants:
 *   I1. (debug.h I1) Nothing here allocates: items are (pointer, length)
 *       views into the caller's string; a warning copies at most
 *       SHOW_MAX bytes of it into a stack buffer.
 *   I2. (debug.h I2) A field is written only with its default or a value
 *       inside its row's [min, max]; debug_check verifies it.
 *   I3. The GODEBUG key of a field is the field's own name: the table and
 *       the defaults of `debug` come from one list, DEBUG_KEYS.
 * Concurrency: debug_init runs once under tri_init's lock; `debug` is
 * read-only afterwards (debug.h).
 */
#include "debug.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../base/base.h"
#include "../alloc/os.h"
#include "../alloc/span.h"

/*
 * The GODEBUG keys, X(field, min, max, default); the key is the field's
 * name (I3). memprofilerate's default -1 means "not set": MemProfileRate
 * keeps its own default then.
 */
#define DEBUG_KEYS(X)                                                        \
	X(gctrace, 0, 2, 0)        /* 1: a line per cycle, 2: also repeat */ \
	X(gccheckmark, 0, 1, 0)    /* re-mark with the world stopped */      \
	X(gcstoptheworld, 0, 2, 0) /* 1: STW mark, 2: also STW sweep */      \
	X(scavtrace, 0, 1, 0)      /* a scavenger line per cycle */          \
	X(madvdontneed, 0, 1, 1)   /* 0: release with MADV_FREE */           \
	X(clobberfree, 0, 1, 0)    /* poison freed objects */                \
	X(gcdirty, 0, 3, 0)        /* write tracking: remark.h */           \
	X(memprofilerate, 0, LONG_MAX, -1) /* sampling rate in bytes */    \
	X(memprofile, 0, 0, 0)     /* a path: heap profile at exit */       \
	X(memprofilesignal, 0, 64, 0) /* and on this signal */

#define DEBUG_INIT(field, lo, hi, dflt) .field = (dflt),
gc_debug debug = {DEBUG_KEYS(DEBUG_INIT)};

enum key_type { KEY_INT, KEY_LONG, KEY_STR };

typedef struct debug_key {
	const char *name;   /* GODEBUG key == field name (I3) */
	size_t off;         /* offsetof(gc_debug, field) */
	enum key_type type; /* the field's C type */
	long min, max, dflt;
} debug_key;

/* The field's type picked at compile time: any other type fails to build. */
#define FIELD_TYPE(field)                                                    \
	_Generic(((gc_debug *)0)->field, int: KEY_INT, long: KEY_LONG,       \
	         const char *: KEY_STR)
#define DEBUG_ROW(field, lo, hi, d)                                          \
	{#field, offsetof(gc_debug, field), FIELD_TYPE(field), lo, hi, d},
static const debug_key debug_keys[] = {DEBUG_KEYS(DEBUG_ROW)};
#define NUM_KEYS (sizeof debug_keys / sizeof debug_keys[0])

/* ---- fields through the table ---- */

static void key_store(gc_debug *d, const debug_key *k, long v)
{
	/* I2: only the default or a value in the row's range */
	TRI_ASSERT(k->type == KEY_STR || v == k->dflt ||
	           (v >= k->min && v <= k->max));
	char *field = (char *)d + k->off;
	if (k->type == KEY_STR) {
		const char *none = NULL; /* the only default a string has */
		memcpy(field, &none, sizeof none);
	} else if (k->type == KEY_LONG) {
		memcpy(field, &v, sizeof v);
	} else {
		int i = (int)v; /* I2: v is in [min, max], which fits an int */
		memcpy(field, &i, sizeof i);
	}
}

static long key_load(const gc_debug *d, const debug_key *k)
{
	const char *field = (const char *)d + k->off;
	if (k->type == KEY_STR)
		return 0; /* any string (or none) is in range */
	if (k->type == KEY_LONG) {
		long v;
		memcpy(&v, field, sizeof v);
		return v;
	}
	int i;
	memcpy(&i, field, sizeof i);
	return i;
}

static const debug_key *key_lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < NUM_KEYS; i++) {
		const char *k = debug_keys[i].name;
		if (strlen(k) == n && memcmp(k, name, n) == 0)
			return &debug_keys[i];
	}
	return NULL;
}

bool debug_check(const gc_debug *d)
{
	for (size_t i = 0; i < NUM_KEYS; i++) {
		const debug_key *k = &debug_keys[i];
		long v = key_load(d, k); /* KEY_STR: always 0, its default */
		if (v != k->dflt && (v < k->min || v > k->max))
			return false;
	}
	return true;
}

/* ---- numbers ---- */

enum num_status { NUM_OK, NUM_BAD, NUM_RANGE };

/* Go's atoi64 on s[0..n): optional '-', then digits only, at least one.
 * NUM_RANGE if the digits are well formed but do not fit an int64. */
static enum num_status parse_int(const char *s, size_t n, int64_t *out)
{
	bool neg = n > 0 && s[0] == '-';
	size_t i = neg ? 1 : 0;
	if (i == n)
		return NUM_BAD; /* "" or "-" */
	uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t mag = 0;
	bool over = false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NUM_BAD; /* even after an overflow */
		unsigned digit = (unsigned)(s[i] - '0');
		if (mag > (lim - digit) / 10)
			over = true;
		else
			mag = mag * 10 + digit;
	}
	if (over)
		return NUM_RANGE;
	*out = neg && mag ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return NUM_OK;
}

/* ---- warnings ---- */

#define SHOW_MAX 64

/* s[0..n) as a C string in buf for a warning: control bytes become '?'
 * and the text is cut to SHOW_MAX bytes with "...", so one pathological
 * item still makes one short line (I1). */
static const char *show(char buf[SHOW_MAX], const char *s, size_t n)
{
	size_t keep = n < SHOW_MAX ? n : SHOW_MAX - 4;
	for (size_t i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (keep < n)
		memcpy(buf + keep, "...", 4);
	else
		buf[keep] = '\0';
	return buf;
}

/* ---- GODEBUG ---- */

static void godebug_item(gc_debug *d, const char *item, size_t n)
{
	char buf[SHOW_MAX];
	const char *eq = memchr(item, '=', n);
	if (!eq) {
		base_warn("GODEBUG: \"%s\" has no '=' (ignored)",
		          show(buf, item, n));
		return;
	}
	size_t klen = (size_t)(eq - item);
	const debug_key *k = key_lookup(item, klen);
	if (!k) {
		base_warn("GODEBUG: unknown key in \"%s\" (ignored)",
		          show(buf, item, n));
		return;
	}
	if (k->type == KEY_STR) { /* a view into the caller's string (I1) */
		const char *v = eq + 1;
		memcpy((char *)d + k->off, &v, sizeof v);
		return;
	}
	int64_t v;
	if (parse_int(eq + 1, n - klen - 1, &v) != NUM_OK || v < k->min ||
	    v > k->max) {
		base_warn("GODEBUG: \"%s\": %s wants an integer in %ld..%ld "
		          "(ignored)",
		          show(buf, item, n), k->name, k->min, k->max);
		return;
	}
	key_store(d, k, (long)v);
}

void debug_parse_godebug(gc_debug *d, const char *s)
{
	for (size_t i = 0; i < NUM_KEYS; i++)
		key_store(d, &debug_keys[i], debug_keys[i].dflt);
	if (!s)
		return;
	for (;;) {
		size_t n = strcspn(s, ",");
		if (n > 0)
			godebug_item(d, s, n);
		if (s[n] == '\0')
			return;
		s += n + 1;
	}
}

/* ---- GOGC and GOMEMLIMIT ---- */

int debug_parse_gogc(const char *s)
{
	char buf[SHOW_MAX];
	if (!s || !*s)
		return GOGC_DEFAULT;
	if (strcmp(s, "off") == 0)
		return GOGC_OFF;
	int64_t v;
	size_t n = strlen(s);
	if (parse_int(s, n, &v) != NUM_OK || v < INT32_MIN || v > INT32_MAX) {
		base_warn("GOGC=%s: want \"off\" or an integer percent "
		          "(using %d)",
		          show(buf, s, n), GOGC_DEFAULT);
		return GOGC_DEFAULT;
	}
	if (v < 0)
		return GOGC_OFF;
	if (v > GOGC_MAX) {
		base_warn("GOGC=%s: above %d (using %d)", show(buf, s, n),
		          GOGC_MAX, GOGC_MAX);
		return GOGC_MAX;
	}
	return (int)v;
}

/* Strip Go's byte-count suffix from s[0..n): "B", or "KiB" .. "TiB".
 * Returns the length of the number before it and sets *shift, or returns
 * SIZE_MAX for a suffix Go rejects (e.g. "XiB"). */
static size_t byte_suffix(const char *s, size_t n, unsigned *shift)
{
	static const char units[] = "KMGT"; /* 2^10, 2^20, 2^30, 2^40 */
	*shift = 0;
	if (n == 0 || s[n - 1] != 'B')
		return n;
	if (n < 3 || s[n - 2] != 'i')
		return n - 1;
	const char *u = memchr(units, s[n - 3], sizeof units - 1);
	if (!u)
		return SIZE_MAX;
	*shift = 10 * (unsigned)(u - units + 1);
	return n - 3;
}

/* Go's parseByteCount: digits with an optional suffix, never negative
 * ("-0" is 0, as in Go); NUM_RANGE past INT64_MAX bytes. */
static enum num_status parse_byte_count(const char *s, size_t n, int64_t *out)
{
	unsigned shift;
	size_t digits = byte_suffix(s, n, &shift);
	if (digits == SIZE_MAX)
		return NUM_BAD;
	int64_t v;
	enum num_status st = parse_int(s, digits, &v);
	if (st == NUM_RANGE && s[0] == '-')
		return NUM_BAD; /* negative, however large */
	if (st != NUM_OK)
		return st;
	if (v < 0)
		return NUM_BAD;
	if (v > INT64_MAX >> shift)
		return NUM_RANGE;
	*out = v << shift;
	TRI_ASSERT(*out >= 0 && *out >> shift == v); /* no overflow */
	return NUM_OK;
}

int64_t debug_parse_memlimit(const char *s)
{
	char buf[SHOW_MAX];
	if (!s || !*s || strcmp(s, "off") == 0)
		return MEMLIMIT_NONE;
	int64_t v;
	size_t n = strlen(s);
	switch (parse_byte_count(s, n, &v)) {
	case NUM_OK: return v;
	case NUM_RANGE:
		base_warn("GOMEMLIMIT=%s: more than 2^63-1 bytes (no limit)",
		          show(buf, s, n));
		break;
	case NUM_BAD:
		base_warn("GOMEMLIMIT=%s: want bytes with an optional B, KiB, "
		          "MiB, GiB or TiB suffix, or \"off\" (no limit)",
		          show(buf, s, n));
		break;
	}
	return MEMLIMIT_NONE;
}

void debug_init(int *gogc, int64_t *memlimit)
{
	debug_parse_godebug(&debug, getenv("GODEBUG"));
	TRI_ASSERT(debug_check(&debug)); /* I2 */
	span_clobber = debug.clobberfree != 0; /* before any allocation */
	os_set_madv_free(debug.madvdontneed == 0);
	*gogc = debug_parse_gogc(getenv("GOGC"));
	*memlimit = debug_parse_memlimit(getenv("GOMEMLIMIT"));
	/* what gc.c and the pacer take as given (debug.h) */
	TRI_ASSERT(*gogc == GOGC_OFF || (*gogc >= 0 && *gogc <= GOGC_MAX));
	TRI_ASSERT(*memlimit >= 0);
}

/*
 * pprof_enc.h -- a heap profile in pprof's format (profile.proto, protocol
 * buffers), written by hand: shared by the library (prof/pprof.c) and
 * tools/tricolor-dump, so both write the same profile. Header-only, libc
 * only, no allocation of its own: the caller's buffers grow through the
 * caller's function (os_map in the library, realloc in the tool).
 *
 * What is written (Go's runtime/pprof/protomem.go shape):
 *   sample_type  alloc_objects/count, alloc_space/bytes,
 *                inuse_objects/count, inuse_space/bytes
 *   period_type  space/bytes, period = the sampling rate
 *   sample       location ids (innermost first), the four values, and a
 *                numeric label bytes = the object size
 *   location     one per distinct address (the return address - 1, so the
 *                line is the call's), with the mapping that holds it
 *   mapping      one per executable file mapping of the process, main
 *                executable first (pprof takes mapping 1 as the program)
 *   string_table "" first, then the names above and the file names
 * Field numbers are profile.proto's.
 *
 * Invariants:
 *   P1. A buffer that failed to grow stays failed; every later write is a
 *       no-op and the caller reports the failure once at the end.
 *   P2. String index i is the i-th string appended (pp_str).
 */
#ifndef TRI_PPROF_ENC_H
#define TRI_PPROF_ENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pb {
	uint8_t *p;
	size_t len, cap;
	bool failed;                               /* P1 */
	bool (*grow)(struct pb *b, size_t need);  /* cap >= len + need */
} pb;

static inline bool pb_room(pb *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	if (!b->grow(b, n)) {
		b->failed = true;
		return false;
	}
	return true;
}

static inline void pb_raw(pb *b, const void *p, size_t n)
{
	if (n && pb_room(b, n)) {
		memcpy(b->p + b->len, p, n);
		b->len += n;
	}
}

static inline void pb_varint(pb *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(b, t, n);
}

static inline void pb_uint(pb *b, unsigned field, uint64_t v)
{
	pb_varint(b, (uint64_t)field << 3); /* wire type 0 */
	pb_varint(b, v);
}

static inline void pb_bytes(pb *b, unsigned field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	pb_raw(b, p, n);
}

/* profile.proto field numbers. */
enum {
	PP_SAMPLE_TYPE = 1, PP_SAMPLE = 2, PP_MAPPING = 3, PP_LOCATION = 4,
	PP_STRING_TABLE = 6, PP_TIME_NANOS = 9, PP_PERIOD_TYPE = 11,
	PP_PERIOD = 12,
};

/* Fixed strings (P2): pp_begin appends them in this order. */
enum {
	PS_EMPTY, PS_ALLOC_OBJECTS, PS_COUNT, PS_ALLOC_SPACE, PS_BYTES,
	PS_INUSE_OBJECTS, PS_INUSE_SPACE, PS_SPACE, PS_FIXED
};
static const char *const pp_fixed_strings[PS_FIXED] = {
	"", "alloc_objects", "count", "alloc_space", "bytes",
	"inuse_objects", "inuse_space", "space"};

typedef struct pp_mapping {
	uint64_t lo, hi, off;
	const char *name;
} pp_mapping;

/* The builder: out is the profile, tmp scratch for one sub-message,
 * strs the string table's encoding (appended at the end), locs an
 * open-addressing table of nlocs (a power of two) addresses. */
typedef struct pp_builder {
	pb *out, *tmp, *strs;
	uint64_t *locs;
	size_t nlocs, used;
	uint64_t nstrings;
	const pp_mapping *maps;
	size_t nmaps;
} pp_builder;

static inline uint64_t pp_str(pp_builder *pp, const char *s)
{
	pb_bytes(pp->strs, PP_STRING_TABLE, s, strlen(s));
	return pp->nstrings++;
}

static inline void pp_value_type(pp_builder *pp, unsigned field,
                                 uint64_t type, uint64_t unit)
{
	pp->tmp->len = 0;
	pb_uint(pp->tmp, 1, type);
	pb_uint(pp->tmp, 2, unit);
	pb_bytes(pp->out, field, pp->tmp->p, pp->tmp->len);
}

/* Header, sample types and mappings (ids 1..nmaps). */
static inline void pp_begin(pp_builder *pp, int64_t rate, int64_t time_ns)
{
	for (unsigned i = 0; i < PS_FIXED; i++)
		pp_str(pp, pp_fixed_strings[i]);
	pp_value_type(pp, PP_SAMPLE_TYPE, PS_ALLOC_OBJECTS, PS_COUNT);
	pp_value_type(pp, PP_SAMPLE_TYPE, PS_ALLOC_SPACE, PS_BYTES);
	pp_value_type(pp, PP_SAMPLE_TYPE, PS_INUSE_OBJECTS, PS_COUNT);
	pp_value_type(pp, PP_SAMPLE_TYPE, PS_INUSE_SPACE, PS_BYTES);
	pp_value_type(pp, PP_PERIOD_TYPE, PS_SPACE, PS_BYTES);
	pb_uint(pp->out, PP_PERIOD, (uint64_t)rate);
	pb_uint(pp->out, PP_TIME_NANOS, (uint64_t)time_ns);
	for (size_t i = 0; i < pp->nmaps; i++) {
		const pp_mapping *m = &pp->maps[i];
		uint64_t name = pp_str(pp, m->name);
		pp->tmp->len = 0;
		pb_uint(pp->tmp, 1, i + 1);
		pb_uint(pp->tmp, 2, m->lo);
		pb_uint(pp->tmp, 3, m->hi);
		pb_uint(pp->tmp, 4, m->off);
		pb_uint(pp->tmp, 5, name);
		pb_bytes(pp->out, PP_MAPPING, pp->tmp->p, pp->tmp->len);
	}
}

static inline uint64_t pp_mapping_of(const pp_builder *pp, uint64_t addr)
{
	for (size_t i = 0; i < pp->nmaps; i++)
		if (addr >= pp->maps[i].lo && addr < pp->maps[i].hi)
			return i + 1;
	return 0;
}

/* The location id of addr (its slot index + 1), writing the location
 * the first time; 0 when the table is full (the frame is dropped). */
static inline uint64_t pp_location(pp_builder *pp, uint64_t addr)
{
	size_t mask = pp->nlocs - 1;
	size_t i = (size_t)((addr * 0x9e3779b97f4a7c15u) >> 20) & mask;
	for (size_t probes = 0; probes < pp->nlocs; probes++, i = (i + 1) & mask) {
		if (pp->locs[i] == addr)
			return i + 1;
		if (pp->locs[i] != 0)
			continue;
		if (pp->used * 4 >= pp->nlocs * 3)
			return 0;
		pp->locs[i] = addr;
		pp->used++;
		pp->tmp->len = 0;
		pb_uint(pp->tmp, 1, i + 1);
		uint64_t m = pp_mapping_of(pp, addr);
		if (m)
			pb_uint(pp->tmp, 2, m);
		pb_uint(pp->tmp, 3, addr);
		pb_bytes(pp->out, PP_LOCATION, pp->tmp->p, pp->tmp->len);
		return i + 1;
	}
	return 0;
}

/* One sample: return addresses pcs[0..n) innermost first, values in
 * sample-type order, the object size for the bytes label. */
static inline void pp_sample(pp_builder *pp, const uint64_t *pcs, unsigned n,
                             const int64_t v[4], int64_t size)
{
	uint64_t ids[64];
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < 64; i++) {
		if (pcs[i] == 0)
			continue;
		uint64_t id = pp_location(pp, pcs[i] - 1);
		if (id)
			ids[k++] = id;
	}
	/* packed fields, measured first: location ids, then values */
	pb ids_b = {0}, vals_b = {0};
	uint8_t ibuf[64 * 10], vbuf[4 * 10], lbuf[32];
	ids_b.p = ibuf, ids_b.cap = sizeof ibuf;
	vals_b.p = vbuf, vals_b.cap = sizeof vbuf;
	for (unsigned i = 0; i < k; i++)
		pb_varint(&ids_b, ids[i]);
	for (unsigned i = 0; i < 4; i++)
		pb_varint(&vals_b, (uint64_t)v[i]);
	pb label = {.p = lbuf, .cap = sizeof lbuf};
	pb_uint(&label, 1, PS_BYTES);
	pb_uint(&label, 3, (uint64_t)size);
	pp->tmp->len = 0;
	pb_bytes(pp->tmp, 1, ids_b.p, ids_b.len);
	pb_bytes(pp->tmp, 2, vals_b.p, vals_b.len);
	pb_bytes(pp->tmp, 3, label.p, label.len);
	pb_bytes(pp->out, PP_SAMPLE, pp->tmp->p, pp->tmp->len);
}

/* The string table goes last (any order of fields is valid). */
static inline void pp_end(pp_builder *pp)
{
	pb_raw(pp->out, pp->strs->p, pp->strs->len);
	if (pp->strs->failed)
		pp->out->failed = true;
}

/* Go's scaleHeapSample needs exp(); both users have it as pp_exp_neg. */
static inline double pp_exp_neg(double x)
{
	if (x > 700)
		return 0;
	int k = 0;
	while (x > 0.5) {
		x /= 2;
		k++;
	}
	double y = 1 - x * (1 - x / 2 * (1 - x / 3 * (1 - x / 4 * (1 - x / 5 *
	           (1 - x / 6 * (1 - x / 7))))));
	while (k-- > 0)
		y *= y;
	return y;
}

/* x rounded toward zero, saturated (a corrupted dump may hold anything). */
static inline int64_t pp_to_int64(double x)
{
	if (!(x < 9.2e18))
		return INT64_MAX;
	return x < 0 ? 0 : (int64_t)x;
}

/* Go's scaleHeapSample: (count, bytes) sampled at rate, unsampled. */
static inline void pp_scale(uint64_t count, uint64_t bytes, int64_t rate,
                            int64_t *oc, int64_t *ob)
{
	if (count == 0 || bytes == 0) {
		*oc = *ob = 0;
		return;
	}
	if (rate <= 1) {
		*oc = (int64_t)count;
		*ob = (int64_t)bytes;
		return;
	}
	double avg = (double)bytes / (double)count;
	double scale = 1 / (1 - pp_exp_neg(avg / (double)rate));
	*oc = pp_to_int64((double)count * scale);
	*ob = pp_to_int64((double)bytes * scale);
}

#endif /* TRI_PPROF_ENC_H */

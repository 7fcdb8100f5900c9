/*
 * tricolor-dump -- read heap dumps written by tri_heap_dump
 * (docs/heapdump.md) and answer: what is in the heap (summary), who
 * allocated it (top), why is this object alive (path), what grew (diff);
 * or convert the dump's profile for pprof (pprof).
 *
 *   tricolor-dump [--json] summary FILE
 *   tricolor-dump [--json] top FILE
 *   tricolor-dump [--json] path FILE ADDRESS  (hex, 0x optional)
 *   tricolor-dump [--json] diff OLD NEW
 *   tricolor-dump pprof FILE [OUT]        (OUT defaults to stdout)
 *
 * Reading (dump_load): the whole file is read into memory, then every
 * record is checked against its layout before anything is used: a record
 * header or payload running past the end, a payload whose length does not
 * match its fields (heapdump.h F1), an unknown root kind, objects that
 * overlap, a pointer whose target is not an object (F2), a missing END or
 * data after it, a wrong magic or version. Any of these prints one line,
 *   tricolor-dump: FILE: offset N: what is wrong
 * and exits with status 2. Nothing is trusted before it is checked, so a
 * corrupted dump never crashes the reader (test/fuzz runs it on mutated
 * dumps).
 *
 * Symbols: return addresses and root slots are named from the ELF symbol
 * tables (.symtab, else .dynsym) of the files the dump's mappings name, if
 * those files are still there; otherwise as file+0xoffset.
 *
 * Invariants:
 *   T1. After dump_load returns, every index and count in the dump is
 *       within the arrays it names, and objs is sorted by address without
 *       overlaps.
 *   T2. Exit status: 0 success, 1 a question with no answer (path found
 *       no chain), 2 bad input or usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../prof/heapdump.h"
#include "../prof/pprof_enc.h"

/* ---- small things ---- */

static bool json;
static bool no_symbols;     /* fuzzing: never open the files a dump names */
static jmp_buf *bad_jump;   /* fuzzing: bad() returns here, not exit(2) */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("tricolor-dump: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

#define GROW(arr, n, cap)                                                    \
	do {                                                                 \
		if ((n) == (cap)) {                                          \
			(cap) = (cap) ? 2 * (cap) : 64;                      \
			(arr) = xrealloc((arr), (cap) * sizeof *(arr));      \
		}                                                            \
	} while (0)

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Saturating int64 arithmetic: a corrupted dump may hold any count. */
static int64_t sadd(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t ssub(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* "12.3 MiB" */
static const char *human(uint64_t b, char *buf, size_t n)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	unsigned i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)b);
	else
		snprintf(buf, n, "%.1f %s", v, u[i]);
	return buf;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* ---- the dump in memory ---- */

typedef struct obj {
	uint64_t addr, size;
	uint8_t cls, flags;
	uint16_t tiny;
	uint32_t nptr;
	const uint8_t *ptrs; /* nptr x (u64 offset, u64 target) in data */
	size_t rec_off;
} obj;

typedef struct root {
	uint8_t kind;
	uint32_t index;
	uint64_t lo, hi;
	char name[256];
	uint32_t nptr;
	const uint8_t *ptrs; /* nptr x (u64 slot, u64 target) */
	size_t rec_off;
} root;

typedef struct bucket {
	uint64_t id, size, alloc_n, alloc_b, free_n, free_b;
	uint32_t nstk;
	const uint8_t *stk; /* nstk x u64 */
} bucket;

typedef struct mapping {
	uint64_t lo, hi, off;
	char name[256];
} mapping;

typedef struct span {
	uint64_t base, pages;
	uint8_t cls, flags;
	uint32_t slots, live;
} span;

typedef struct dump {
	const char *file;
	bool owns_data;
	uint8_t *data;
	size_t size;
	uint64_t page_size, pid, time_ns, rate;
	uint64_t stats[DUMP_NSTATS];
	bool have_stats;
	obj *objs;
	size_t nobjs, cobjs;
	root *roots;
	size_t nroots, croots;
	bucket *buckets;
	size_t nbuckets, cbuckets;
	mapping *maps;
	size_t nmaps, cmaps;
	span *spans;
	size_t nspans, cspans;
	uint64_t (*samples)[2];
	size_t nsamples, csamples;
} dump;

static void bad(const dump *d, size_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (bad_jump) { /* fuzzing: quiet */
		va_end(ap);
		longjmp(*bad_jump, 1);
	}
	fprintf(stderr, "tricolor-dump: %s: offset %zu: ", d->file, off);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (bad_jump)
		longjmp(*bad_jump, 1);
	exit(2);
}

/* A record of `head` bytes and then the 32-bit count at `count` items of
 * `width` bytes each: its length must be exactly that, or the record is
 * bad (what: the record's name, and what is counted). */
static void check_counted(const dump *d, size_t off, size_t len, size_t head,
                          const uint8_t *count, size_t width,
                          const char *what)
{
	if (len < head || (len - head) % width ||
	    rd32(count) != (len - head) / width)
		bad(d, off, "%s record length %zu does not match its count",
		    what, len);
}

static int cmp_obj(const void *a, const void *b)
{
	const obj *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The object containing address a, or NULL (T1: objs sorted). */
static const obj *obj_containing(const dump *d, uint64_t a)
{
	size_t lo = 0, hi = d->nobjs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->objs[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const obj *o = &d->objs[lo - 1];
	return a - o->addr < o->size ? o : NULL;
}

static const obj *obj_at(const dump *d, uint64_t a)
{
	const obj *o = obj_containing(d, a);
	return o && o->addr == a ? o : NULL;
}

/* Check one record's payload p[0..len) at offset off (F1). */
static void parse_record(dump *d, unsigned tag, const uint8_t *p, size_t len,
                         size_t off)
{
	switch (tag) {
	case DUMP_PARAMS:
		if (len != 40)
			bad(d, off, "PARAMS record of %zu bytes (want 40)", len);
		d->page_size = rd64(p);
		if (rd64(p + 8) != 8)
			bad(d, off, "word size %llu (only 8 is supported)",
			    (unsigned long long)rd64(p + 8));
		d->pid = rd64(p + 16);
		d->time_ns = rd64(p + 24);
		d->rate = rd64(p + 32);
		break;
	case DUMP_STATS: {
		check_counted(d, off, len, 4, p, 8, "STATS");
		uint32_t n = rd32(p);
		for (uint32_t i = 0; i < n && i < DUMP_NSTATS; i++)
			d->stats[i] = rd64(p + 4 + 8 * i);
		d->have_stats = true;
		break;
	}
	case DUMP_OBJECT: {
		check_counted(d, off, len, 24, p + 20, 16, "OBJECT pointer");
		GROW(d->objs, d->nobjs, d->cobjs);
		obj *o = &d->objs[d->nobjs++];
		o->addr = rd64(p);
		o->size = rd64(p + 8);
		o->cls = p[16];
		o->flags = p[17];
		o->tiny = rd16(p + 18);
		o->nptr = rd32(p + 20);
		o->ptrs = p + 24;
		o->rec_off = off;
		if (o->size == 0 || o->addr + o->size < o->addr)
			bad(d, off, "object 0x%llx has a bad size %llu",
			    (unsigned long long)o->addr,
			    (unsigned long long)o->size);
		for (uint32_t i = 0; i < o->nptr; i++)
			if (rd64(o->ptrs + 16 * i) > o->size - 8 ||
			    o->size < 8)
				bad(d, off, "pointer offset %llu outside object "
				    "0x%llx", (unsigned long long)rd64(o->ptrs +
				    16 * i), (unsigned long long)o->addr);
		break;
	}
	case DUMP_ROOT: {
		if (len < 27)
			bad(d, off, "ROOT record too short (%zu bytes)", len);
		uint16_t nl = rd16(p + 21);
		if (len < 27u + nl) /* the count follows the name */
			bad(d, off, "ROOT record length %zu shorter than its "
			    "name", len);
		check_counted(d, off, len, 27u + nl, p + 23 + nl, 16,
		              "ROOT pointer");
		if (p[0] < 1 || p[0] >= DUMP_ROOT_NKINDS)
			bad(d, off, "unknown root kind %u", p[0]);
		GROW(d->roots, d->nroots, d->croots);
		root *r = &d->roots[d->nroots++];
		r->kind = p[0];
		r->index = rd32(p + 1);
		r->lo = rd64(p + 5);
		r->hi = rd64(p + 13);
		size_t k = nl < sizeof r->name ? nl : sizeof r->name - 1;
		memcpy(r->name, p + 23, k);
		r->name[k] = '\0';
		r->nptr = rd32(p + 23 + nl);
		r->ptrs = p + 27 + nl;
		r->rec_off = off;
		if (r->hi < r->lo)
			bad(d, off, "root range inverted");
		for (uint32_t i = 0; i < r->nptr; i++) {
			uint64_t s = rd64(r->ptrs + 16 * i);
			if (s < r->lo || s >= r->hi)
				bad(d, off, "root slot 0x%llx outside its range",
				    (unsigned long long)s);
		}
		break;
	}
	case DUMP_BUCKET: {
		check_counted(d, off, len, 52, p + 48, 8, "BUCKET stack");
		GROW(d->buckets, d->nbuckets, d->cbuckets);
		bucket *b = &d->buckets[d->nbuckets++];
		b->id = rd64(p);
		b->size = rd64(p + 8);
		b->alloc_n = rd64(p + 16);
		b->alloc_b = rd64(p + 24);
		b->free_n = rd64(p + 32);
		b->free_b = rd64(p + 40);
		b->nstk = rd32(p + 48);
		b->stk = p + 52;
		break;
	}
	case DUMP_SAMPLE:
		if (len != 16)
			bad(d, off, "SAMPLE record of %zu bytes (want 16)", len);
		GROW(d->samples, d->nsamples, d->csamples);
		d->samples[d->nsamples][0] = rd64(p);
		d->samples[d->nsamples++][1] = rd64(p + 8);
		break;
	case DUMP_MAPPING: {
		if (len < 26 || len != 26u + rd16(p + 24))
			bad(d, off, "MAPPING record length %zu does not match its "
			    "name", len);
		GROW(d->maps, d->nmaps, d->cmaps);
		mapping *m = &d->maps[d->nmaps++];
		m->lo = rd64(p);
		m->hi = rd64(p + 8);
		m->off = rd64(p + 16);
		size_t nl = rd16(p + 24);
		size_t k = nl < sizeof m->name ? nl : sizeof m->name - 1;
		memcpy(m->name, p + 26, k);
		m->name[k] = '\0';
		break;
	}
	case DUMP_SPAN: {
		if (len != 26)
			bad(d, off, "SPAN record of %zu bytes (want 26)", len);
		GROW(d->spans, d->nspans, d->cspans);
		span *s = &d->spans[d->nspans++];
		s->base = rd64(p);
		s->pages = rd64(p + 8);
		s->cls = p[16];
		s->flags = p[17];
		s->slots = rd32(p + 18);
		s->live = rd32(p + 22);
		if (s->live > s->slots)
			bad(d, off, "span has %u live of %u slots", s->live,
			    s->slots);
		break;
	}
	default:
		break; /* a newer writer's record: skipped by its length */
	}
}

/* After all records: sort, check overlaps and every target (T1, F2). */
static void check_graph(dump *d)
{
	if (d->nobjs > 1)
		qsort(d->objs, d->nobjs, sizeof *d->objs, cmp_obj);
	for (size_t i = 1; i < d->nobjs; i++)
		if (d->objs[i - 1].addr + d->objs[i - 1].size > d->objs[i].addr)
			bad(d, d->objs[i].rec_off, "object 0x%llx overlaps "
			    "object 0x%llx", (unsigned long long)d->objs[i].addr,
			    (unsigned long long)d->objs[i - 1].addr);
	for (size_t i = 0; i < d->nobjs; i++)
		for (uint32_t k = 0; k < d->objs[i].nptr; k++) {
			uint64_t t = rd64(d->objs[i].ptrs + 16 * k + 8);
			if (!obj_at(d, t))
				bad(d, d->objs[i].rec_off, "pointer target "
				    "0x%llx is not an object",
				    (unsigned long long)t);
		}
	for (size_t i = 0; i < d->nroots; i++)
		for (uint32_t k = 0; k < d->roots[i].nptr; k++) {
			uint64_t t = rd64(d->roots[i].ptrs + 16 * k + 8);
			if (!obj_at(d, t))
				bad(d, d->roots[i].rec_off, "root pointer "
				    "target 0x%llx is not an object",
				    (unsigned long long)t);
		}
}

/* Check and index d->data[0..size) (T1). */
static void dump_parse(dump *d)
{
	if (d->size < 16 || memcmp(d->data, DUMP_MAGIC, 8) != 0)
		bad(d, 0, "not a tricolor heap dump (bad magic)");
	if (rd32(d->data + 8) != DUMP_VERSION)
		bad(d, 8, "unsupported version %u (this reader knows %u)",
		    rd32(d->data + 8), DUMP_VERSION);
	size_t off = 16;
	uint64_t records = 0;
	bool end = false;
	while (off < d->size) {
		if (d->size - off < 5)
			bad(d, off, "truncated record header");
		unsigned tag = d->data[off];
		size_t len = rd32(d->data + off + 1);
		if (len > d->size - off - 5)
			bad(d, off, "truncated record (tag %u, %zu bytes, %zu "
			    "left)", tag, len, d->size - off - 5);
		const uint8_t *p = d->data + off + 5;
		if (tag == DUMP_END) {
			if (len != 16)
				bad(d, off, "END record of %zu bytes (want 16)",
				    len);
			if (rd64(p) != records)
				bad(d, off, "END counts %llu records, the dump "
				    "has %llu", (unsigned long long)rd64(p),
				    (unsigned long long)records);
			if (rd64(p + 8) != d->nobjs)
				bad(d, off, "END counts %llu objects, the dump "
				    "has %zu", (unsigned long long)rd64(p + 8),
				    d->nobjs);
			off += 5 + len;
			if (off != d->size)
				bad(d, off, "data after the END record");
			end = true;
			break;
		}
		parse_record(d, tag, p, len, off);
		records++;
		off += 5 + len;
	}
	if (!end)
		bad(d, d->size, "truncated: no END record");
	check_graph(d);
}

#ifndef TRICOLOR_DUMP_FUZZ
static void read_file(dump *d)
{
	FILE *f = fopen(d->file, "rb");
	if (!f)
		die("%s: %s", d->file, strerror(errno));
	size_t cap = 1 << 16;
	d->data = xrealloc(NULL, cap);
	d->owns_data = true;
	d->size = 0;
	for (;;) {
		if (d->size == cap)
			d->data = xrealloc(d->data, cap *= 2);
		size_t r = fread(d->data + d->size, 1, cap - d->size, f);
		d->size += r;
		if (r == 0)
			break;
	}
	bool err = ferror(f);
	fclose(f);
	if (err)
		die("%s: read error", d->file);
}

static void dump_load(dump *d, const char *file)
{
	memset(d, 0, sizeof *d);
	d->file = file;
	read_file(d);
	dump_parse(d);
}
#endif

/* ---- symbols from the ELF files of the mappings ---- */

typedef struct elf_file {
	char name[256];
	uint8_t *data;
	size_t size;
	bool ok;
} elf_file;

static elf_file elf_cache[64];
static size_t nelf;

static const elf_file *elf_open(const char *name)
{
	for (size_t i = 0; i < nelf; i++)
		if (strcmp(elf_cache[i].name, name) == 0)
			return &elf_cache[i];
	if (nelf == sizeof elf_cache / sizeof *elf_cache)
		return NULL;
	elf_file *e = &elf_cache[nelf++];
	snprintf(e->name, sizeof e->name, "%s", name);
	if (no_symbols)
		return e;
	/* Only a regular file: a dump may name anything (a FIFO would
	 * block). */
	int fd = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return e;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= (off_t)sizeof(Elf64_Ehdr) || st.st_size >= (1L << 30)) {
		close(fd);
		return e;
	}
	size_t n = (size_t)st.st_size;
	e->data = xrealloc(NULL, n);
	for (e->size = 0; e->size < n;) {
		ssize_t r = read(fd, e->data + e->size, n - e->size);
		if (r <= 0)
			break;
		e->size += (size_t)r;
	}
	close(fd);
	const Elf64_Ehdr *h = (const Elf64_Ehdr *)e->data;
	e->ok = e->size == n && memcmp(h->e_ident, ELFMAG, SELFMAG) == 0 &&
	        h->e_ident[EI_CLASS] == ELFCLASS64 &&
	        h->e_shoff < e->size && h->e_phoff < e->size &&
	        h->e_shentsize == sizeof(Elf64_Shdr) &&
	        h->e_phentsize == sizeof(Elf64_Phdr) &&
	        (uint64_t)h->e_shnum * sizeof(Elf64_Shdr) <=
	                e->size - h->e_shoff &&
	        (uint64_t)h->e_phnum * sizeof(Elf64_Phdr) <=
	                e->size - h->e_phoff;
	return e;
}

/* The symbol of type `type` containing virtual address v, or NULL. */
static const char *elf_symbol(const elf_file *e, uint64_t v, unsigned type,
                              uint64_t *start)
{
	const Elf64_Ehdr *h = (const Elf64_Ehdr *)e->data;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(e->data + h->e_shoff);
	for (int pass = 0; pass < 2; pass++) {
		unsigned want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
		for (unsigned i = 0; i < h->e_shnum; i++) {
			if (sh[i].sh_type != want || sh[i].sh_link >= h->e_shnum)
				continue;
			const Elf64_Shdr *st = &sh[sh[i].sh_link];
			if (sh[i].sh_offset > e->size ||
			    sh[i].sh_size > e->size - sh[i].sh_offset ||
			    st->sh_offset > e->size ||
			    st->sh_size > e->size - st->sh_offset)
				continue;
			const Elf64_Sym *sym = (const Elf64_Sym *)(e->data +
			                                          sh[i].sh_offset);
			size_t n = sh[i].sh_size / sizeof *sym;
			const char *strs = (const char *)e->data + st->sh_offset;
			for (size_t k = 0; k < n; k++) {
				if (ELF64_ST_TYPE(sym[k].st_info) != type ||
				    sym[k].st_name >= st->sh_size)
					continue;
				uint64_t lo = sym[k].st_value;
				if (v < lo || v - lo >= (sym[k].st_size ?
				                          sym[k].st_size : 1))
					continue;
				const char *nm = strs + sym[k].st_name;
				if (!memchr(nm, 0, st->sh_size - sym[k].st_name))
					continue;
				*start = lo;
				return nm;
			}
		}
	}
	return NULL;
}

/* The file's virtual address for file offset foff (its PT_LOADs). */
static bool elf_vaddr(const elf_file *e, uint64_t foff, uint64_t *v)
{
	const Elf64_Ehdr *h = (const Elf64_Ehdr *)e->data;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(e->data + h->e_phoff);
	for (unsigned i = 0; i < h->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && foff >= ph[i].p_offset &&
		    foff - ph[i].p_offset < ph[i].p_memsz) {
			*v = foff - ph[i].p_offset + ph[i].p_vaddr;
			return true;
		}
	return false;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Name a code address: "function", or "file+0xoff", or "0xaddr". */
static void name_pc(const dump *d, uint64_t pc, char *out, size_t n)
{
	for (size_t i = 0; i < d->nmaps; i++) {
		const mapping *m = &d->maps[i];
		if (pc < m->lo || pc >= m->hi)
			continue;
		uint64_t foff = pc - 1 - m->lo + m->off, v, start;
		const elf_file *e = elf_open(m->name);
		const char *s = NULL;
		if (e && e->ok && elf_vaddr(e, foff, &v))
			s = elf_symbol(e, v, STT_FUNC, &start);
		if (s)
			snprintf(out, n, "%.200s", s);
		else
			snprintf(out, n, "%.200s+0x%llx", base_name(m->name),
			         (unsigned long long)foff + 1);
		return;
	}
	snprintf(out, n, "0x%llx", (unsigned long long)pc);
}

/* Name a data address in file `file` (a root slot): "symbol+off" or "". */
static void name_data(const dump *d, const char *file, uint64_t a, char *out,
                      size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < d->nmaps; i++) {
		const mapping *m = &d->maps[i];
		if (strcmp(m->name, file) != 0)
			continue;
		const elf_file *e = elf_open(m->name);
		uint64_t v0, start;
		if (!e || !e->ok || !elf_vaddr(e, m->off, &v0))
			return;
		uint64_t bias = m->lo - v0; /* load address - vaddr */
		if (a < bias)
			return;
		const char *s = elf_symbol(e, a - bias, STT_OBJECT, &start);
		if (s && a - bias == start)
			snprintf(out, n, "%.200s", s);
		else if (s)
			snprintf(out, n, "%.200s+%llu", s,
			         (unsigned long long)(a - bias - start));
		return;
	}
}

/* ---- summary ---- */

static const char *const stat_names[DUMP_NSTATS] = DUMP_STAT_NAMES;
static const char *const root_kinds[DUMP_ROOT_NKINDS] = {
	"?", "data", "bss", "stack", "tls", "user", "coroutine", "scanner"};

typedef struct class_row {
	uint64_t objs, bytes, spans, span_bytes, noscan_bytes;
} class_row;

static int cmp_size_desc(const void *a, const void *b)
{
	const obj *const *x = a, *const *y = b;
	return (*x)->size < (*y)->size ? 1 : (*x)->size > (*y)->size ? -1 : 0;
}

static void cmd_summary(dump *d)
{
	class_row rows[256];
	memset(rows, 0, sizeof rows);
	uint64_t total = 0, noscan = 0, roots_ptrs = 0;
	for (size_t i = 0; i < d->nobjs; i++) {
		class_row *r = &rows[d->objs[i].cls];
		r->objs++;
		r->bytes += d->objs[i].size;
		total += d->objs[i].size;
		if (d->objs[i].flags & DUMP_OBJ_NOSCAN)
			noscan += d->objs[i].size, r->noscan_bytes += d->objs[i].size;
	}
	for (size_t i = 0; i < d->nspans; i++) {
		rows[d->spans[i].cls].spans++;
		rows[d->spans[i].cls].span_bytes += d->spans[i].pages *
		                                    d->page_size;
	}
	for (size_t i = 0; i < d->nroots; i++)
		roots_ptrs += d->roots[i].nptr;
	size_t nl = d->nobjs < 10 ? d->nobjs : 10;
	const obj **largest = xrealloc(NULL, (d->nobjs + 1) * sizeof *largest);
	for (size_t i = 0; i < d->nobjs; i++)
		largest[i] = &d->objs[i];
	qsort(largest, d->nobjs, sizeof *largest, cmp_size_desc);
	char h1[32], h2[32];
	if (json) {
		printf("{\"file\":");
		json_str(d->file);
		printf(",\"pid\":%llu,\"time_ns\":%llu,\"objects\":%zu,"
		       "\"bytes\":%llu,\"noscan_bytes\":%llu,\"roots\":%zu,"
		       "\"root_pointers\":%llu,\"stats\":{",
		       (unsigned long long)d->pid, (unsigned long long)d->time_ns,
		       d->nobjs, (unsigned long long)total,
		       (unsigned long long)noscan, d->nroots,
		       (unsigned long long)roots_ptrs);
		for (unsigned i = 0; i < DUMP_NSTATS && d->have_stats; i++)
			printf("%s\"%s\":%llu", i ? "," : "", stat_names[i],
			       (unsigned long long)d->stats[i]);
		printf("},\"classes\":[");
		bool first = true;
		for (unsigned c = 0; c < 256; c++) {
			if (!rows[c].objs && !rows[c].spans)
				continue;
			printf("%s{\"class\":%u,\"objects\":%llu,\"bytes\":%llu,"
			       "\"spans\":%llu,\"span_bytes\":%llu}",
			       first ? "" : ",", c,
			       (unsigned long long)rows[c].objs,
			       (unsigned long long)rows[c].bytes,
			       (unsigned long long)rows[c].spans,
			       (unsigned long long)rows[c].span_bytes);
			first = false;
		}
		printf("],\"largest\":[");
		for (size_t i = 0; i < nl; i++)
			printf("%s{\"address\":\"0x%llx\",\"size\":%llu}",
			       i ? "," : "", (unsigned long long)largest[i]->addr,
			       (unsigned long long)largest[i]->size);
		printf("]}\n");
		free(largest);
		return;
	}
	time_t t = (time_t)(d->time_ns / 1000000000u);
	char when[64];
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	printf("dump %s: pid %llu, %s\n", d->file, (unsigned long long)d->pid,
	       when);
	printf("objects %zu, %s; noscan %s (%.1f%%); roots %zu ranges, "
	       "%llu pointers\n\n", d->nobjs, human(total, h1, sizeof h1),
	       human(noscan, h2, sizeof h2),
	       total ? 100.0 * (double)noscan / (double)total : 0.0,
	       d->nroots, (unsigned long long)roots_ptrs);
	printf("%5s %9s %10s %12s %7s %12s %7s\n", "class", "obj size",
	       "objects", "bytes", "spans", "span bytes", "frag");
	for (unsigned c = 0; c < 256; c++) {
		const class_row *r = &rows[c];
		if (!r->objs && !r->spans)
			continue;
		char sz[32];
		if (c == 0)
			snprintf(sz, sizeof sz, "large");
		else
			snprintf(sz, sizeof sz, "%llu",
			         (unsigned long long)(r->objs ? r->bytes / r->objs
			                                      : 0));
		double frag = r->span_bytes ? 100.0 * (1 - (double)r->bytes /
		                                       (double)r->span_bytes) : 0;
		printf("%5u %9s %10llu %12llu %7llu %12llu %6.1f%%\n", c, sz,
		       (unsigned long long)r->objs, (unsigned long long)r->bytes,
		       (unsigned long long)r->spans,
		       (unsigned long long)r->span_bytes, frag);
	}
	printf("\nlargest objects:\n%18s %12s %5s %7s\n", "address", "bytes",
	       "class", "noscan");
	for (size_t i = 0; i < nl; i++)
		printf("%18llx %12llu %5u %7s\n",
		       (unsigned long long)largest[i]->addr,
		       (unsigned long long)largest[i]->size, largest[i]->cls,
		       largest[i]->flags & DUMP_OBJ_NOSCAN ? "yes" : "no");
	if (d->have_stats) {
		printf("\nstatistics:\n");
		for (unsigned i = 0; i < DUMP_NSTATS; i++)
			printf("  %-15s %20llu\n", stat_names[i],
			       (unsigned long long)d->stats[i]);
	}
	free(largest);
}

/* ---- top: allocation sites by in-use bytes ---- */

typedef struct site {
	char name[256];
	int64_t in_n, in_b, al_n, al_b;
} site;

static int cmp_site(const void *a, const void *b)
{
	const site *x = a, *y = b;
	if (x->in_b != y->in_b)
		return x->in_b < y->in_b ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Sites of the dump's buckets, merged by innermost function, sorted by
 * in-use bytes (unsampled at the dump's rate). *n gets the count. */
static site *collect_sites(const dump *d, size_t *n)
{
	site *s = xrealloc(NULL, (d->nbuckets + 1) * sizeof *s);
	size_t k = 0;
	for (size_t i = 0; i < d->nbuckets; i++) {
		const bucket *b = &d->buckets[i];
		if (!b->alloc_n)
			continue;
		char name[256];
		if (b->nstk)
			name_pc(d, rd64(b->stk), name, sizeof name);
		else
			snprintf(name, sizeof name, "(no stack)");
		uint64_t in_n = b->alloc_n > b->free_n ? b->alloc_n - b->free_n : 0;
		uint64_t in_b = b->alloc_b > b->free_b ? b->alloc_b - b->free_b : 0;
		int64_t v[4];
		pp_scale(b->alloc_n, b->alloc_b, (int64_t)d->rate, &v[0], &v[1]);
		pp_scale(in_n, in_b, (int64_t)d->rate, &v[2], &v[3]);
		size_t j = 0;
		while (j < k && strcmp(s[j].name, name) != 0)
			j++;
		if (j == k) {
			memset(&s[k], 0, sizeof s[k]);
			snprintf(s[k].name, sizeof s[k].name, "%s", name);
			k++;
		}
		s[j].al_n = sadd(s[j].al_n, v[0]);
		s[j].al_b = sadd(s[j].al_b, v[1]);
		s[j].in_n = sadd(s[j].in_n, v[2]);
		s[j].in_b = sadd(s[j].in_b, v[3]);
	}
	qsort(s, k, sizeof *s, cmp_site);
	*n = k;
	return s;
}

static void cmd_top(dump *d)
{
	size_t n;
	site *s = collect_sites(d, &n);
	if (json) {
		printf("{\"rate\":%llu,\"sites\":[", (unsigned long long)d->rate);
		for (size_t i = 0; i < n; i++) {
			printf("%s{\"site\":", i ? "," : "");
			json_str(s[i].name);
			printf(",\"inuse_bytes\":%lld,\"inuse_objects\":%lld,"
			       "\"alloc_bytes\":%lld,\"alloc_objects\":%lld}",
			       (long long)s[i].in_b, (long long)s[i].in_n,
			       (long long)s[i].al_b, (long long)s[i].al_n);
		}
		printf("]}\n");
	} else if (!n) {
		printf("no profile samples in %s (sampling rate %llu)\n",
		       d->file, (unsigned long long)d->rate);
	} else {
		printf("allocation sites by in-use bytes (sampled every %llu "
		       "bytes on average, unsampled)\n",
		       (unsigned long long)d->rate);
		printf("%14s %12s %14s %12s  %s\n", "inuse bytes", "inuse objs",
		       "alloc bytes", "alloc objs", "site");
		for (size_t i = 0; i < n; i++)
			printf("%14lld %12lld %14lld %12lld  %s\n",
			       (long long)s[i].in_b, (long long)s[i].in_n,
			       (long long)s[i].al_b, (long long)s[i].al_n,
			       s[i].name);
	}
	free(s);
}

/* ---- path: the shortest chain from a root ---- */

static void describe_root(const dump *d, const root *r, uint64_t slot,
                          char *out, size_t n)
{
	char sym[256] = "";
	if (r->kind == DUMP_ROOT_DATA || r->kind == DUMP_ROOT_BSS)
		name_data(d, r->name, slot, sym, sizeof sym);
	if (r->kind == DUMP_ROOT_DATA || r->kind == DUMP_ROOT_BSS)
		snprintf(out, n, "%s of %s%s%s%s, slot 0x%llx", root_kinds[r->kind],
		         r->name, sym[0] ? " (" : "", sym, sym[0] ? ")" : "",
		         (unsigned long long)slot);
	else if (r->kind == DUMP_ROOT_STACK || r->kind == DUMP_ROOT_TLS)
		snprintf(out, n, "%s of thread %u, slot 0x%llx",
		         root_kinds[r->kind], r->index, (unsigned long long)slot);
	else
		snprintf(out, n, "%s range [0x%llx, 0x%llx), slot 0x%llx",
		         root_kinds[r->kind], (unsigned long long)r->lo,
		         (unsigned long long)r->hi, (unsigned long long)slot);
}

/* An address as this tool prints it: hexadecimal, with or without 0x
 * (path prints 0xc000..., summary c000...). Nothing else: no sign, no
 * space, no decimal. */
static bool parse_addr(const char *s, unsigned long long *out)
{
	const char *p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	size_t n = strspn(p, "0123456789abcdefABCDEF");
	if (n == 0 || p[n])
		return false;
	errno = 0;
	*out = strtoull(p, NULL, 16);
	return !errno;
}

static int cmd_path(dump *d, const char *addr_s)
{
	unsigned long long a;
	if (!parse_addr(addr_s, &a))
		die("path: bad address '%s'", addr_s);
	const obj *target = obj_containing(d, a);
	if (!target) {
		fprintf(stderr, "tricolor-dump: %s: no object contains 0x%llx\n",
		        d->file, a);
		return 1;
	}
	size_t n = d->nobjs, t = (size_t)(target - d->objs);
	/* BFS over objects; from[i] = parent object index + 1, or 0 for a
	 * root (root_of/slot_of say which), or -1 unvisited. */
	long long *from = xrealloc(NULL, n * sizeof *from);
	size_t *root_of = xrealloc(NULL, n * sizeof *root_of);
	uint64_t *via = xrealloc(NULL, n * sizeof *via); /* slot or offset */
	size_t *queue = xrealloc(NULL, n * sizeof *queue);
	for (size_t i = 0; i < n; i++)
		from[i] = -1;
	size_t qh = 0, qt = 0;
	for (size_t r = 0; r < d->nroots; r++)
		for (uint32_t k = 0; k < d->roots[r].nptr; k++) {
			size_t o = (size_t)(obj_at(d, rd64(d->roots[r].ptrs +
			                                   16 * k + 8)) - d->objs);
			if (from[o] != -1)
				continue;
			from[o] = 0;
			root_of[o] = r;
			via[o] = rd64(d->roots[r].ptrs + 16 * k);
			queue[qt++] = o;
		}
	while (qh < qt && from[t] == -1) {
		size_t o = queue[qh++];
		for (uint32_t k = 0; k < d->objs[o].nptr; k++) {
			size_t c = (size_t)(obj_at(d, rd64(d->objs[o].ptrs +
			                                   16 * k + 8)) - d->objs);
			if (from[c] != -1)
				continue;
			from[c] = (long long)o + 1;
			via[c] = rd64(d->objs[o].ptrs + 16 * k);
			queue[qt++] = c;
		}
	}
	int ret = 0;
	if (from[t] == -1) {
		if (json)
			printf("{\"address\":\"0x%llx\",\"object\":\"0x%llx\","
			       "\"reachable\":false}\n", a,
			       (unsigned long long)target->addr);
		else
			printf("object 0x%llx (%llu bytes) is not reachable from "
			       "any root\n", (unsigned long long)target->addr,
			       (unsigned long long)target->size);
		ret = 1;
	} else {
		size_t *chain = xrealloc(NULL, n * sizeof *chain), len = 0;
		for (size_t o = t; len < n; o = (size_t)(from[o] - 1)) {
			chain[len++] = o;
			if (from[o] == 0)
				break;
		}
		size_t r0 = chain[len - 1];
		char rd[600];
		describe_root(d, &d->roots[root_of[r0]], via[r0], rd, sizeof rd);
		if (json) {
			printf("{\"address\":\"0x%llx\",\"reachable\":true,"
			       "\"root\":{\"kind\":\"%s\",\"name\":", a,
			       root_kinds[d->roots[root_of[r0]].kind]);
			json_str(d->roots[root_of[r0]].name);
			printf(",\"index\":%u,\"slot\":\"0x%llx\",\"text\":",
			       d->roots[root_of[r0]].index,
			       (unsigned long long)via[r0]);
			json_str(rd);
			printf("},\"chain\":[");
			for (size_t i = len; i-- > 0;) {
				const obj *o = &d->objs[chain[i]];
				printf("%s{\"object\":\"0x%llx\",\"size\":%llu,"
				       "\"class\":%u,\"from_offset\":%lld}",
				       i + 1 == len ? "" : ",",
				       (unsigned long long)o->addr,
				       (unsigned long long)o->size, o->cls,
				       i + 1 == len ? -1LL : (long long)via[chain[i]]);
			}
			printf("]}\n");
		} else {
			printf("root: %s\n", rd);
			for (size_t i = len; i-- > 0;) {
				const obj *o = &d->objs[chain[i]];
				if (i + 1 == len)
					printf("  -> 0x%llx  %llu bytes, class %u\n",
					       (unsigned long long)o->addr,
					       (unsigned long long)o->size, o->cls);
				else
					printf("  -> 0x%llx  %llu bytes, class %u "
					       "(from offset %llu)\n",
					       (unsigned long long)o->addr,
					       (unsigned long long)o->size, o->cls,
					       (unsigned long long)via[chain[i]]);
			}
		}
		free(chain);
	}
	free(from);
	free(root_of);
	free(via);
	free(queue);
	return ret;
}

/* ---- diff ---- */

typedef struct diff_row {
	char name[256];
	int64_t old_n, new_n, old_b, new_b;
} diff_row;

static int cmp_diff(const void *a, const void *b)
{
	const diff_row *x = a, *y = b;
	int64_t dx = ssub(x->new_b, x->old_b), dy = ssub(y->new_b, y->old_b);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void print_diff(const char *title, diff_row *r, size_t n, bool last)
{
	if (n > 1)
		qsort(r, n, sizeof *r, cmp_diff);
	if (json) {
		printf("\"%s\":[", title);
		bool first = true;
		for (size_t i = 0; i < n; i++) {
			if (r[i].new_b == r[i].old_b && r[i].new_n == r[i].old_n)
				continue;
			printf("%s{\"name\":", first ? "" : ",");
			json_str(r[i].name);
			printf(",\"old_objects\":%lld,\"new_objects\":%lld,"
			       "\"old_bytes\":%lld,\"new_bytes\":%lld}",
			       (long long)r[i].old_n, (long long)r[i].new_n,
			       (long long)r[i].old_b, (long long)r[i].new_b);
			first = false;
		}
		printf("]%s", last ? "" : ",");
		return;
	}
	printf("%s:\n%12s %12s %12s %14s %14s %14s  %s\n", title, "old objs",
	       "new objs", "delta", "old bytes", "new bytes", "delta", "name");
	for (size_t i = 0; i < n; i++) {
		if (r[i].new_b == r[i].old_b && r[i].new_n == r[i].old_n)
			continue;
		printf("%12lld %12lld %+12lld %14lld %14lld %+14lld  %s\n",
		       (long long)r[i].old_n, (long long)r[i].new_n,
		       (long long)ssub(r[i].new_n, r[i].old_n), (long long)r[i].old_b,
		       (long long)r[i].new_b, (long long)ssub(r[i].new_b, r[i].old_b),
		       r[i].name);
	}
	printf("\n");
}

static size_t diff_add(diff_row **rows, size_t *n, size_t *cap,
                       const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*rows)[i].name, name) == 0)
			return i;
	GROW(*rows, *n, *cap);
	memset(&(*rows)[*n], 0, sizeof **rows);
	snprintf((*rows)[*n].name, sizeof (*rows)[*n].name, "%s", name);
	return (*n)++;
}

static void cmd_diff(dump *a, dump *b)
{
	diff_row *cls = NULL, *sites = NULL;
	size_t ncls = 0, ccls = 0, nsites = 0, csites = 0;
	for (int w = 0; w < 2; w++) {
		dump *d = w ? b : a;
		for (size_t i = 0; i < d->nobjs; i++) {
			char name[64];
			if (d->objs[i].cls)
				snprintf(name, sizeof name, "class %3u (%llu B)",
				         d->objs[i].cls,
				         (unsigned long long)d->objs[i].size);
			else
				snprintf(name, sizeof name, "large objects");
			size_t k = diff_add(&cls, &ncls, &ccls, name);
			int64_t *on = w ? &cls[k].new_n : &cls[k].old_n;
			int64_t *ob = w ? &cls[k].new_b : &cls[k].old_b;
			*on = sadd(*on, 1);
			*ob = sadd(*ob, d->objs[i].size > INT64_MAX ? INT64_MAX :
			                (int64_t)d->objs[i].size);
		}
		size_t n;
		site *s = collect_sites(d, &n);
		for (size_t i = 0; i < n; i++) {
			size_t k = diff_add(&sites, &nsites, &csites, s[i].name);
			int64_t *sn = w ? &sites[k].new_n : &sites[k].old_n;
			int64_t *sb = w ? &sites[k].new_b : &sites[k].old_b;
			*sn = sadd(*sn, s[i].in_n);
			*sb = sadd(*sb, s[i].in_b);
		}
		free(s);
	}
	if (json)
		printf("{");
	print_diff("by size class", cls, ncls, false);
	print_diff("by allocation site (in use, unsampled)", sites, nsites,
	           true);
	if (json)
		printf("}\n");
	free(cls);
	free(sites);
}

/* ---- pprof ---- */

static bool heap_grow(pb *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + need)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
	return true;
}

static void cmd_pprof(dump *d, const char *out_name)
{
	pp_mapping *maps = xrealloc(NULL, (d->nmaps + 1) * sizeof *maps);
	for (size_t i = 0; i < d->nmaps; i++)
		maps[i] = (pp_mapping){d->maps[i].lo, d->maps[i].hi,
		                       d->maps[i].off, d->maps[i].name};
	size_t frames = 0;
	for (size_t i = 0; i < d->nbuckets; i++)
		frames += d->buckets[i].nstk;
	size_t nlocs = 1024;
	while (nlocs < 2 * frames + 64)
		nlocs *= 2;
	uint64_t *locs = calloc(nlocs, sizeof *locs);
	if (!locs)
		die("out of memory");
	pb out = {.grow = heap_grow}, tmp = {.grow = heap_grow},
	   strs = {.grow = heap_grow};
	pp_builder pp = {.out = &out, .tmp = &tmp, .strs = &strs, .locs = locs,
	                 .nlocs = nlocs, .maps = maps, .nmaps = d->nmaps};
	pp_begin(&pp, (int64_t)d->rate, (int64_t)d->time_ns);
	for (size_t i = 0; i < d->nbuckets; i++) {
		const bucket *b = &d->buckets[i];
		if (!b->alloc_n)
			continue;
		uint64_t pcs[64];
		unsigned n = b->nstk < 64 ? b->nstk : 64;
		for (unsigned k = 0; k < n; k++)
			pcs[k] = rd64(b->stk + 8 * k);
		uint64_t in_n = b->alloc_n > b->free_n ? b->alloc_n - b->free_n : 0;
		uint64_t in_b = b->alloc_b > b->free_b ? b->alloc_b - b->free_b : 0;
		int64_t v[4];
		pp_scale(b->alloc_n, b->alloc_b, (int64_t)d->rate, &v[0], &v[1]);
		pp_scale(in_n, in_b, (int64_t)d->rate, &v[2], &v[3]);
		pp_sample(&pp, pcs, n, v, (int64_t)b->size);
	}
	pp_end(&pp);
	FILE *f = out_name ? fopen(out_name, "wb") : stdout;
	if (!f)
		die("%s: %s", out_name, strerror(errno));
	if (fwrite(out.p, 1, out.len, f) != out.len ||
	    (out_name ? fclose(f) : fflush(f)) != 0)
		die("%s: write error", out_name ? out_name : "stdout");
	free(out.p);
	free(tmp.p);
	free(strs.p);
	free(locs);
	free(maps);
}

static void dump_free(dump *d)
{
	if (d->owns_data)
		free(d->data);
	free(d->objs);
	free(d->roots);
	free(d->buckets);
	free(d->maps);
	free(d->spans);
	free(d->samples);
}

#ifdef TRICOLOR_DUMP_FUZZ
/* The fuzzers' entry (test/fuzz): parse data as a dump and, if it is
 * one, run every command on it (output to stdout, which the harness
 * points at /dev/null). Returns 0 if it parsed, 1 if it was refused. */
int dump_fuzz_one(const uint8_t *data, size_t size);
int dump_fuzz_one(const uint8_t *data, size_t size)
{
	static dump d; /* static: longjmp must not lose the arrays */
	jmp_buf jb;
	no_symbols = true;
	memset(&d, 0, sizeof d);
	d.file = "(fuzz)";
	d.data = (uint8_t *)data;
	d.size = size;
	bad_jump = &jb;
	if (setjmp(jb)) {
		bad_jump = NULL;
		dump_free(&d);
		return 1;
	}
	dump_parse(&d);
	bad_jump = NULL;
	cmd_summary(&d);
	cmd_top(&d);
	if (d.nobjs) {
		char a[32];
		snprintf(a, sizeof a, "0x%llx",
		         (unsigned long long)d.objs[d.nobjs / 2].addr);
		cmd_path(&d, a);
	}
	cmd_diff(&d, &d);
	cmd_pprof(&d, NULL);
	json = !json;
	dump_free(&d);
	return 0;
}
#else
static void usage(void)
{
	fprintf(stderr,
	        "usage: tricolor-dump [--json] summary FILE\n"
	        "       tricolor-dump [--json] top FILE\n"
	        "       tricolor-dump [--json] path FILE ADDRESS\n"
	        "       tricolor-dump [--json] diff OLD NEW\n"
	        "       tricolor-dump pprof FILE [OUT]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char *args[8];
	int n = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "-h") == 0 ||
		         strcmp(argv[i], "--help") == 0)
			usage();
		else if (n < 8)
			args[n++] = argv[i];
		else
			usage();
	}
	if (n < 2)
		usage();
	const char *cmd = args[0];
	dump d, d2;
	int ret = 0;
	if (strcmp(cmd, "summary") == 0 && n == 2) {
		dump_load(&d, args[1]);
		cmd_summary(&d);
	} else if (strcmp(cmd, "top") == 0 && n == 2) {
		dump_load(&d, args[1]);
		cmd_top(&d);
	} else if (strcmp(cmd, "path") == 0 && n == 3) {
		dump_load(&d, args[1]);
		ret = cmd_path(&d, args[2]);
	} else if (strcmp(cmd, "diff") == 0 && n == 3) {
		dump_load(&d, args[1]);
		dump_load(&d2, args[2]);
		cmd_diff(&d, &d2);
		dump_free(&d2);
	} else if (strcmp(cmd, "pprof") == 0 && (n == 2 || n == 3)) {
		dump_load(&d, args[1]);
		cmd_pprof(&d, n == 3 ? args[2] : NULL);
	} else if (strcmp(cmd, "check") == 0 && n == 2) {
		dump_load(&d, args[1]); /* validate only (tests, fuzzing) */
	} else {
		usage();
	}
	dump_free(&d);
	return ret;
}
#endif /* TRICOLOR_DUMP_FUZZ */

/*
 * heapdump.h -- the heap dump format's constants (docs/heapdump.md), shared
 * by the writer (prof/heapdump.c, tri_heap_dump) and the reader
 * (tools/tricolor-dump). libc only.
 *
 * A dump is a 16-byte header -- the magic "TRIDUMP\n", a u32 version and
 * a u32 flags word (0) -- then records: a u8 tag, a u32 payload length,
 * the payload. Integers are little-endian and fixed-width. The last record
 * is END. A reader skips records with tags it does not know (their length
 * says how far); a new field is only ever appended to a payload, and a
 * change a reader cannot skip bumps the version.
 *
 * Invariants:
 *   F1. Every payload's length is exactly what its tag's layout below
 *       adds up to (the reader checks it and names the offset if not).
 *   F2. Every OBJECT appears once; its pointer targets and every ROOT
 *       pointer's target are OBJECT addresses of the same dump.
 */
#ifndef TRI_HEAPDUMP_H
#define TRI_HEAPDUMP_H

#define DUMP_MAGIC "TRIDUMP\n"
#define DUMP_VERSION 1u

enum dump_tag {
	DUMP_END = 0,     /* u64 records before it, u64 objects */
	DUMP_PARAMS = 1,  /* u64 page size, u64 word size, u64 pid,
	                     u64 time (ns since the epoch), u64 sample rate */
	DUMP_STATS = 2,   /* u32 n, n x u64 (DUMP_STAT_NAMES order) */
	DUMP_OBJECT = 3,  /* u64 address, u64 size, u8 size class (0 =
	                     large), u8 flags (DUMP_OBJ_*), u16 tiny starts
	                     (tiny blocks: bit o = a live object at offset
	                     o), u32 n, n x (u64 offset, u64 target) */
	DUMP_ROOT = 4,    /* u8 kind (DUMP_ROOT_*), u32 index (segment or
	                     thread number), u64 lo, u64 hi, u16 name length,
	                     name, u32 n, n x (u64 slot address, u64 target) */
	DUMP_BUCKET = 5,  /* u64 id, u64 object size, u64 alloc objects,
	                     u64 alloc bytes, u64 free objects, u64 free
	                     bytes (sampled, not scaled), u32 n, n x u64
	                     return address (innermost first) */
	DUMP_SAMPLE = 6,  /* u64 object address, u64 bucket id */
	DUMP_MAPPING = 7, /* u64 lo, u64 hi, u64 file offset, u16 name
	                     length, name: an executable file mapping */
	DUMP_SPAN = 8,    /* u64 base, u64 pages, u8 size class, u8 flags
	                     (DUMP_OBJ_*), u32 slots, u32 allocated: written
	                     before the span's OBJECT records */
	DUMP_NTAGS
};

#define DUMP_OBJ_NOSCAN 1 /* never scanned: holds no heap pointers */
#define DUMP_OBJ_TINY 2   /* a 16-byte block of tiny noscan objects */

enum dump_root_kind {
	DUMP_ROOT_DATA = 1,    /* .data of a loaded object (name) */
	DUMP_ROOT_BSS = 2,     /* .bss of a loaded object (name) */
	DUMP_ROOT_STACK = 3,   /* a registered thread's stack (index) */
	DUMP_ROOT_TLS = 4,     /* a registered thread's static TLS (index) */
	DUMP_ROOT_USER = 5,    /* a tri_add_roots range */
	DUMP_ROOT_CORO = 6,    /* a suspended registered coroutine stack */
	DUMP_ROOT_SCANNER = 7, /* a range reported by the root scanner */
	DUMP_ROOT_NKINDS
};

/* The STATS record: these tri_stats_t fields (tricolor.h), in this
 * order -- the one list the writer, the names and the count come from.
 * Append only: readers know a field by its position. */
#define DUMP_STATS_FIELDS(X)                                                 \
	X(heap_alloc) X(heap_sys) X(heap_idle) X(heap_inuse)                 \
	X(heap_released) X(heap_objects) X(total_alloc) X(mallocs) X(frees)  \
	X(sys) X(meta_sys) X(num_gc) X(num_forced_gc) X(pause_total_ns)      \
	X(next_gc) X(last_gc_ns)

#define DUMP_STAT_COUNT_(f) +1
#define DUMP_NSTATS (0 DUMP_STATS_FIELDS(DUMP_STAT_COUNT_))
#define DUMP_STAT_NAME_(f) #f,
#define DUMP_STAT_NAMES {DUMP_STATS_FIELDS(DUMP_STAT_NAME_)}

/* tri_heap_dump (tricolor.h), from an attached thread. */
int heapdump_write(int fd);

#endif /* TRI_HEAPDUMP_H */

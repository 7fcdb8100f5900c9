/*
 * trace.h -- the gctrace line: Go 1.19's format, byte for byte
 * (mgc.go: gcMarkTermination), from the numbers gc.c records per cycle;
 * and the scavtrace line (below).
 *
 *   gc N @T.TTTs U%: C1+C2+C3 ms clock, P1+P2/P3/P4+P5 ms cpu,
 *   H0->H1->H2 MB, G MB goal, S MB stacks, GL MB globals, NP P[ (forced)]
 *
 * Times use Go's fmtNSAsMS (whole ms from 10 ms up; below, microseconds
 * with three decimals, dropping a decimal while the value is >= 100, so
 * about two significant digits); @T is milliseconds since program start
 * printed with three decimals of seconds; every MB is bytes >> 20.
 *
 * Invariants:
 *   I1. Formatting never allocates and is async-signal-safe (stack
 *       buffers, base_format-style digits, one write(2)).
 */
#ifndef TRI_TRACE_H
#define TRI_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gc_trace_cycle {
	uint64_t num;          /* cycle number, 1-based */
	uint64_t since_start_ns; /* cycle start, ns since program start */
	int cpu_percent;       /* int(gc_cpu_fraction * 100) */
	uint64_t clock_ns[3];  /* wall: sweep term, mark, mark term */
	uint64_t cpu_ns[5];    /* CPU: sweep term, assist, background mark,
	                          idle mark, mark term */
	uint64_t heap0;        /* heap live at cycle start (bytes) */
	uint64_t heap1;        /* heap live at mark termination */
	uint64_t heap2;        /* bytes marked */
	uint64_t goal;         /* heap goal of this cycle */
	uint64_t stacks;       /* stack bytes (Go 1.19: maxStackScan) */
	uint64_t globals;      /* global (data/bss) bytes scanned */
	int nprocs;            /* P */
	bool forced;           /* tri_collect */
} gc_trace_cycle;

/* Go's fmtNSAsMS into buf (NUL-terminated, at most 14 digits and a
 * point: cap 16 always suffices); returns the length. */
size_t trace_format_ns_as_ms(char *buf, size_t cap, uint64_t ns);

/* Enough for any line, every field at its largest (345 bytes + NUL; the
 * tracked line, 8 rounds of 19-digit counts: 435). */
#define TRACE_LINE_MAX 512

/* The whole line, with its trailing newline, into buf, NUL-terminated;
 * returns the length. Real lines are about 150 bytes; a cap below
 * TRACE_LINE_MAX may cut an extreme one (then without its newline). */
size_t trace_format_gc(char *buf, size_t cap, const gc_trace_cycle *t);

/* Format and write the line to stderr with one write(2). */
void trace_print_gc(const gc_trace_cycle *t);

/* The tracked mode's second line, after a tracked cycle's gc line (Go
 * has no such mode; the fields follow its style):
 *   gc N tracked: A+B ms protect+unprotect, R rounds P1+P2+... pages
 *   in C ms, final F pages, D1+D2+D3+D4 ms stop+pages+roots+drain,
 *   W write faults
 * A, B: the epoch's protection set and lifted (world running); the
 * rounds' pages, their collects and rescans taking C ms (world running);
 * the last stop's pages and its four parts; W the pages reported in all
 * (each took one write fault). A count the kernel could not give prints
 * "all" (every page was rescanned). */
#define TRACE_TRACKED_ROUNDS 8
typedef struct gc_trace_tracked {
	uint64_t num;
	uint64_t protect_ns, unprotect_ns;
	unsigned rounds;       /* at most TRACE_TRACKED_ROUNDS */
	long round_pages[TRACE_TRACKED_ROUNDS]; /* -1: all */
	uint64_t round_ns;
	long final_pages;      /* -1: all */
	uint64_t stop_ns, pages_ns, roots_ns, drain_ns;
} gc_trace_tracked;
size_t trace_format_tracked(char *buf, size_t cap, const gc_trace_tracked *t);
void trace_print_tracked(const gc_trace_tracked *t);
/* "gc tracking: M[ (why not better)][, stop-the-world]\n", once before
 * the first cycle's line under gctrace: the method the tracked mode uses
 * (desc, from remark_describe) and whether tracked cycles can run. */
void trace_print_tracking(const char *desc, bool available);

/* Go 1.19's scavtrace line (mgcscavenge.go printScavTrace):
 *   scav W KiB work, R KiB total, U% util[ (forced)]
 * W = bytes released by the background and eager scavenger since the
 * last line (or, forced, by tri_free_os_memory), R = heap_released,
 * U = heap_inuse * 100 / retained (0 if nothing is retained). */
size_t trace_format_scav(char *buf, size_t cap, uint64_t work,
                         uint64_t released, uint64_t inuse,
                         uint64_t retained, bool forced);
void trace_print_scav(uint64_t work, uint64_t released, uint64_t inuse,
                      uint64_t retained, bool forced);

#endif /* TRI_TRACE_H */

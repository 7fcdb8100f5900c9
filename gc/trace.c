/*
 * trace.c -- the gctrace line (GODEBUG=gctrace=1) in Go 1.19's format,
 * byte for byte (mgc.go: gcMarkTermination, fmtNSAsMS, itoaDiv), from the
 * gc_trace_cycle that the collector fills at mark termination.
 *
 * The line, in order (trace_format_gc):
 *   1. "gc N @T.TTTs U%: ": T is whole milliseconds since program start
 *      shown as seconds with exactly three decimals ("0.000", "0.012",
 *      "3723.456"); U is the int cpu_percent, as given.
 *   2. The three wall-clock phases joined by '+', then " ms clock, ".
 *   3. The five CPU times as P1+P2/P3/P4+P5, then " ms cpu, ".
 *   4. "H0->H1->H2 MB, G MB goal, S MB stacks, GL MB globals, NP P", each
 *      MB being bytes >> 20 (truncated); " (forced)" for tri_collect; '\n'.
 * Durations are Go's fmtNSAsMS: from 10 ms up, whole milliseconds; below,
 * whole microseconds x: "0" if x is 0, else x/1000 with three decimals,
 * dropping one decimal (and x's last digit) while x >= 100 -- two
 * significant digits, a trailing zero kept: 15 us "0.015", 100 us "0.10",
 * 123 us "0.12", 1234 us "1.2", 9999 us "9.9", 10 ms "10". (Below 100 ms
 * both paths print the same whole milliseconds, so only from 100 ms up does
 * the switch matter; the tests pin it there.)
 *
 * Invariants:
 *   I1. (trace.h I1) No allocation, no stdio, no locks: digits are built in
 *       stack buffers and the line leaves in one write(2), so this runs in
 *       a signal handler or with the heap in any state.
 *   I2. Nothing is written past the caller's cap, and the result is always
 *       NUL-terminated (when cap > 0).
 *   I3. Numbers print as Go's print does: decimal, unpadded, '-' only for
 *       a negative int.
 * Concurrency: pure functions of their arguments. Whole lines from several
 * threads do not interleave: each is one write of < PIPE_BUF bytes.
 */
#include "trace.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../base/base.h"

/* A bounded output buffer; one byte always stays free for the NUL (I2). */
typedef struct line {
	char *p;
	size_t len, cap;
} line;

static void put_mem(line *l, const char *s, size_t n)
{
	for (size_t i = 0; i < n && l->len + 1 < l->cap; i++)
		l->p[l->len++] = s[i];
}

static void put_str(line *l, const char *s)
{
	put_mem(l, s, strlen(s));
}

static size_t line_end(line *l)
{
	TRI_ASSERT(l->cap == 0 || l->len < l->cap); /* I2: room for NUL */
	if (l->cap > 0)
		l->p[l->len] = '\0';
	return l->len;
}

/* v in decimal with a point `dec` digits from the right and at least one
 * digit before it (Go's itoaDiv; dec 0 is a plain integer). Built
 * backwards from the end of tmp; returns its first byte. */
#define DIGITS_MAX 24 /* 20 digits of a uint64, '.', and slack */
static const char *fmt_decimal(char tmp[DIGITS_MAX], uint64_t v, unsigned dec)
{
	TRI_ASSERT(dec <= 3);
	char *p = tmp + DIGITS_MAX;
	unsigned i = 0;
	do {
		if (dec > 0 && i == dec)
			*--p = '.';
		*--p = (char)('0' + v % 10);
		v /= 10;
		i++;
	} while (v > 0 || i <= dec);
	TRI_ASSERT(p >= tmp); /* I2: DIGITS_MAX holds any uint64 */
	return p;
}

static void put_decimal(line *l, uint64_t v, unsigned dec)
{
	char tmp[DIGITS_MAX];
	const char *s = fmt_decimal(tmp, v, dec);
	put_mem(l, s, (size_t)(tmp + DIGITS_MAX - s));
}

static void put_int(line *l, int v)
{
	if (v < 0)
		put_str(l, "-");
	put_decimal(l, v < 0 ? -(uint64_t)v : (uint64_t)v, 0);
}

/* fmtNSAsMS: see the header comment for the rule. */
static void put_ms(line *l, uint64_t ns)
{
	if (ns >= 10 * 1000 * 1000) {
		put_decimal(l, ns / (1000 * 1000), 0);
		return;
	}
	uint64_t us = ns / 1000;
	unsigned dec = us == 0 ? 0 : 3;
	while (us >= 100) {
		us /= 10;
		dec--;
	}
	put_decimal(l, us, dec);
}

static void put_mb(line *l, uint64_t bytes, const char *after)
{
	put_decimal(l, bytes >> 20, 0);
	put_str(l, after);
}

TRI_SIGNAL_SAFE size_t trace_format_ns_as_ms(char *buf, size_t cap,
                                             uint64_t ns)
{
	line l = {buf, 0, cap};
	put_ms(&l, ns);
	return line_end(&l);
}

/* Steps 2 and 3: "C1+C2+C3 ms clock, P1+P2/P3/P4+P5 ms cpu, ". */
static void put_times(line *l, const gc_trace_cycle *t)
{
	for (int i = 0; i < 3; i++) {
		if (i > 0)
			put_str(l, "+");
		put_ms(l, t->clock_ns[i]);
	}
	put_str(l, " ms clock, ");
	for (int i = 0; i < 5; i++) {
		if (i == 2 || i == 3)
			put_str(l, "/"); /* the mark times: assist/bg/idle */
		else if (i > 0)
			put_str(l, "+");
		put_ms(l, t->cpu_ns[i]);
	}
	put_str(l, " ms cpu, ");
}

TRI_SIGNAL_SAFE size_t trace_format_gc(char *buf, size_t cap,
                                       const gc_trace_cycle *t)
{
	line l = {buf, 0, cap};
	put_str(&l, "gc ");
	put_decimal(&l, t->num, 0);
	put_str(&l, " @");
	put_decimal(&l, t->since_start_ns / (1000 * 1000), 3);
	put_str(&l, "s ");
	put_int(&l, t->cpu_percent);
	put_str(&l, "%: ");
	put_times(&l, t);
	put_mb(&l, t->heap0, "->");
	put_mb(&l, t->heap1, "->");
	put_mb(&l, t->heap2, " MB, ");
	put_mb(&l, t->goal, " MB goal, ");
	put_mb(&l, t->stacks, " MB stacks, ");
	put_mb(&l, t->globals, " MB globals, ");
	put_int(&l, t->nprocs);
	put_str(&l, t->forced ? " P (forced)\n" : " P\n");
	return line_end(&l);
}

static void write_line(const char *buf, size_t n)
{
	int saved = errno; /* a signal handler must not change errno */
	while (write(2, buf, n) < 0 && errno == EINTR)
		continue;
	errno = saved;
}

TRI_SIGNAL_SAFE void trace_print_gc(const gc_trace_cycle *t)
{
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format_gc(buf, sizeof buf, t);
	TRI_ASSERT(n > 0 && buf[n - 1] == '\n'); /* never cut at the max */
	write_line(buf, n);
}

TRI_SIGNAL_SAFE size_t trace_format_scav(char *buf, size_t cap,
                                         uint64_t work, uint64_t released,
                                         uint64_t inuse, uint64_t retained,
                                         bool forced)
{
	line l = {buf, 0, cap};
	put_str(&l, "scav ");
	put_decimal(&l, work >> 10, 0);
	put_str(&l, " KiB work, ");
	put_decimal(&l, released >> 10, 0);
	put_str(&l, " KiB total, ");
	put_decimal(&l, retained ? inuse * 100 / retained : 0, 0);
	put_str(&l, forced ? "% util (forced)\n" : "% util\n");
	return line_end(&l);
}

TRI_SIGNAL_SAFE void trace_print_scav(uint64_t work, uint64_t released,
                                      uint64_t inuse, uint64_t retained,
                                      bool forced)
{
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format_scav(buf, sizeof buf, work, released, inuse,
	                             retained, forced);
	TRI_ASSERT(n > 0 && buf[n - 1] == '\n'); /* never cut at the max */
	write_line(buf, n);
}

static void put_pages(line *l, long pages)
{
	if (pages < 0)
		put_str(l, "all");
	else
		put_decimal(l, (uint64_t)pages, 0);
}

TRI_SIGNAL_SAFE size_t trace_format_tracked(char *buf, size_t cap,
                                            const gc_trace_tracked *t)
{
	line l = {buf, 0, cap};
	put_str(&l, "gc ");
	put_decimal(&l, t->num, 0);
	put_str(&l, " tracked: ");
	put_ms(&l, t->protect_ns);
	put_str(&l, "+");
	put_ms(&l, t->unprotect_ns);
	put_str(&l, " ms protect+unprotect, ");
	put_decimal(&l, t->rounds, 0);
	put_str(&l, t->rounds == 1 ? " round " : " rounds ");
	uint64_t faults = 0;
	bool all = t->final_pages < 0;
	unsigned rounds = t->rounds < TRACE_TRACKED_ROUNDS
	                          ? t->rounds : TRACE_TRACKED_ROUNDS;
	for (unsigned i = 0; i < rounds; i++) {
		if (i > 0)
			put_str(&l, "+");
		put_pages(&l, t->round_pages[i]);
		all |= t->round_pages[i] < 0;
		faults += t->round_pages[i] > 0 ? (uint64_t)t->round_pages[i] : 0;
	}
	put_str(&l, rounds ? " pages in " : "0 pages in ");
	put_ms(&l, t->round_ns);
	put_str(&l, " ms, final ");
	put_pages(&l, t->final_pages);
	put_str(&l, " pages, ");
	uint64_t parts[4] = {t->stop_ns, t->pages_ns, t->roots_ns, t->drain_ns};
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			put_str(&l, "+");
		put_ms(&l, parts[i]);
	}
	put_str(&l, " ms stop+pages+roots+drain, ");
	faults += t->final_pages > 0 ? (uint64_t)t->final_pages : 0;
	if (all)
		put_str(&l, "all");
	else
		put_decimal(&l, faults, 0);
	put_str(&l, " write faults\n");
	return line_end(&l);
}

TRI_SIGNAL_SAFE void trace_print_tracked(const gc_trace_tracked *t)
{
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format_tracked(buf, sizeof buf, t);
	TRI_ASSERT(n > 0 && buf[n - 1] == '\n'); /* never cut at the max */
	write_line(buf, n);
}

void trace_print_tracking(const char *desc, bool available)
{
	char buf[TRACE_LINE_MAX];
	line l = {buf, 0, sizeof buf};
	put_str(&l, "gc tracking: ");
	put_str(&l, desc);
	put_str(&l, available ? "\n" : ", stop-the-world\n");
	size_t n = line_end(&l);
	if (n > 0 && buf[n - 1] != '\n') /* a long reason, cut: end it */
		buf[n - 1] = '\n';
	write_line(buf, n);
}

/*
 * test_trace.c -- gc/trace.h: Go's fmtNSAsMS (the fact sheet's examples,
 * edges at 0 / 1 us / 100 us / 1 ms / 10 ms and the largest value, every
 * microsecond below 10 ms against an snprintf oracle), whole gctrace lines
 * as exact strings worked out by hand from Go 1.19's rules, random lines
 * against the oracle and the fact sheet's regex (POSIX ERE), " (forced)",
 * the longest possible line, truncation at the caller's cap (trace.h I2),
 * and trace_print_gc writing the line to fd 2.
 */
#include "trace.h"
#include "unit.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MS ((uint64_t)1000 * 1000)
#define US ((uint64_t)1000)
#define MB ((uint64_t)1 << 20)

/* ---- fmtNSAsMS ---- */

static const struct ms_case {
	uint64_t ns;
	const char *want;
} ms_cases[] = {
	/* the fact sheet's examples */
	{500, "0"},
	{15 * US, "0.015"},
	{123456, "0.12"},
	{1234567, "1.2"},
	{9999 * US, "9.9"},
	{10 * MS, "10"},
	{123400 * US, "123"},
	/* edges, derived from the rule */
	{0, "0"},
	{999, "0"},          /* under 1 us */
	{1 * US, "0.001"},
	{1999, "0.001"},     /* truncated, not rounded */
	{99999, "0.099"},    /* 99.999 us */
	{100 * US, "0.10"},  /* third decimal dropped, the zero stays */
	{999999, "0.99"},
	{1 * MS, "1.0"},
	{1 * MS + 99999, "1.0"},
	{9999999, "9.9"},    /* the last value below 10 ms */
	{10 * MS + 999999, "10"},
	{100 * MS, "100"},
	{1000 * MS, "1000"},
	{UINT64_MAX, "18446744073709"}, /* the longest: 14 digits */
};

START_TEST(ns_as_ms_cases)
{
	const struct ms_case *c = &ms_cases[_i];
	char buf[32];
	size_t n = trace_format_ns_as_ms(buf, sizeof buf, c->ns);
	ck_assert_msg(strcmp(buf, c->want) == 0, "%" PRIu64 " ns: \"%s\", "
	              "want \"%s\"", c->ns, buf, c->want);
	ck_assert_uint_eq(n, strlen(c->want));
}
END_TEST

/* The rule again, written with snprintf from the fact sheet's prose. */
static void oracle_ms(char *out, size_t cap, uint64_t ns)
{
	uint64_t us = ns / US;
	if (ns >= 10 * MS)
		snprintf(out, cap, "%" PRIu64, ns / MS);
	else if (us == 0)
		snprintf(out, cap, "0");
	else if (us < 100)
		snprintf(out, cap, "0.%03" PRIu64, us);
	else if (us < 1000)
		snprintf(out, cap, "0.%02" PRIu64, us / 10);
	else
		snprintf(out, cap, "%" PRIu64 ".%" PRIu64, us / 1000,
		         us / 100 % 10);
}

static void check_ms_against_oracle(uint64_t ns)
{
	char got[32], want[32];
	trace_format_ns_as_ms(got, sizeof got, ns);
	oracle_ms(want, sizeof want, ns);
	ck_assert_msg(strcmp(got, want) == 0, "%" PRIu64 " ns: \"%s\", "
	              "want \"%s\"", ns, got, want);
}

START_TEST(ns_as_ms_every_microsecond)
{
	for (uint64_t us = 0; us <= 10100; us++) {
		check_ms_against_oracle(us * US);
		check_ms_against_oracle(us * US + 999);
	}
	unsigned long seed = 0x9e3779b97f4a7c15ul;
	for (int i = 0; i < 100000; i++) {
		uint64_t r = unit_rand(&seed);
		check_ms_against_oracle(r >> (r % 64));
	}
}
END_TEST

START_TEST(ns_as_ms_small_cap)
{
	char buf[8];
	memset(buf, 'x', sizeof buf);
	ck_assert_uint_eq(trace_format_ns_as_ms(buf, 0, 15 * US), 0);
	ck_assert_int_eq(buf[0], 'x'); /* cap 0: nothing written */
	ck_assert_uint_eq(trace_format_ns_as_ms(buf, 1, 15 * US), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(trace_format_ns_as_ms(buf, 3, 15 * US), 2);
	ck_assert_str_eq(buf, "0.");
	ck_assert_int_eq(buf[3], 'x');
	char big[16];
	ck_assert_uint_eq(trace_format_ns_as_ms(big, 16, UINT64_MAX), 14);
}
END_TEST

/* ---- whole lines ---- */

/* The fact sheet's regex for a Go 1.19 line, in POSIX ERE. */
#define NUM "[0-9]+(\\.[0-9]+)?"
static const char line_re[] =
	"^gc ([0-9]+) @([0-9]+\\.[0-9]{3})s ([0-9]+)%: " NUM "\\+" NUM
	"\\+" NUM " ms clock, " NUM "\\+" NUM "/" NUM "/" NUM "\\+" NUM
	" ms cpu, ([0-9]+)->([0-9]+)->([0-9]+) MB, ([0-9]+) MB goal, "
	"([0-9]+) MB stacks, ([0-9]+) MB globals, ([0-9]+) P( \\(forced\\))?$";

/* Whether line (ending in '\n', which is cut off first) matches. */
static bool matches_go_regex(const char *line)
{
	regex_t re;
	ck_assert_int_eq(regcomp(&re, line_re, REG_EXTENDED | REG_NOSUB), 0);
	char copy[TRACE_LINE_MAX];
	size_t n = strlen(line);
	ck_assert(n > 0 && n < sizeof copy && line[n - 1] == '\n');
	memcpy(copy, line, n - 1);
	copy[n - 1] = '\0';
	bool ok = regexec(&re, copy, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

static void check_line(const gc_trace_cycle *t, const char *want)
{
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format_gc(buf, sizeof buf, t);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, strlen(want));
	ck_assert_msg(matches_go_regex(buf), "regex rejects: %s", buf);
}

/* The example in trace.h's brief, every field worked out by hand. */
static gc_trace_cycle brief_example(void)
{
	return (gc_trace_cycle){
		.num = 3,
		.since_start_ns = 12345678,             /* 12 ms: "0.012" */
		.cpu_percent = 4,
		.clock_ns = {11500, 1234567, 9999},    /* 0.011 1.2 0.009 */
		.cpu_ns = {22000, 300999, 1100000, 999, 18000},
		.heap0 = 4 * MB + 1000,                /* 4 */
		.heap1 = 6 * MB - 1,                   /* 5: truncated */
		.heap2 = 2 * MB,
		.goal = 5 * MB + 5,
		.stacks = 512 * 1024,                  /* 0 */
		.globals = MB / 2,
		.nprocs = 2,
	};
}

START_TEST(line_exact_strings)
{
	gc_trace_cycle t = brief_example();
	check_line(&t, "gc 3 @0.012s 4%: 0.011+1.2+0.009 ms clock, "
	               "0.022+0.30/1.1/0+0.018 ms cpu, 4->5->2 MB, 5 MB goal, "
	               "0 MB stacks, 0 MB globals, 2 P\n");
	t.forced = true;
	check_line(&t, "gc 3 @0.012s 4%: 0.011+1.2+0.009 ms clock, "
	               "0.022+0.30/1.1/0+0.018 ms cpu, 4->5->2 MB, 5 MB goal, "
	               "0 MB stacks, 0 MB globals, 2 P (forced)\n");

	/* The fact sheet's example line. */
	gc_trace_cycle f = {
		.num = 1, .since_start_ns = 19 * MS + 999999, .cpu_percent = 0,
		.clock_ns = {15 * US, 540 * US + 999, 2 * US},
		.cpu_ns = {120 * US, 110 * US, 400 * US, 200 * US, 16 * US},
		.heap0 = 4 * MB, .heap1 = 4 * MB + 7, .heap2 = MB - 1,
		.goal = 4 * MB, .stacks = 0, .globals = 100, .nprocs = 8,
	};
	check_line(&f, "gc 1 @0.019s 0%: 0.015+0.54+0.002 ms clock, "
	               "0.12+0.11/0.40/0.20+0.016 ms cpu, 4->4->0 MB, "
	               "4 MB goal, 0 MB stacks, 0 MB globals, 8 P\n");
}
END_TEST

START_TEST(line_start_time)
{
	gc_trace_cycle t = {.num = 0};
	check_line(&t, "gc 0 @0.000s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
	               "0->0->0 MB, 0 MB goal, 0 MB stacks, 0 MB globals, "
	               "0 P\n");
	t.since_start_ns = MS - 1; /* still 0 ms */
	t.num = 12;
	t.cpu_percent = 100;
	t.nprocs = 64;
	t.clock_ns[1] = 12 * MS;
	t.cpu_ns[2] = 3 * MS;
	check_line(&t, "gc 12 @0.000s 100%: 0+12+0 ms clock, 0+0/3.0/0+0 ms "
	               "cpu, 0->0->0 MB, 0 MB goal, 0 MB stacks, 0 MB globals, "
	               "64 P\n");
	/* 1 h 2 min 3.456 s: seconds keep growing, no minutes. */
	t.since_start_ns = 3723456 * MS + 999999;
	t.num = 4294967296u; /* past 32 bits: printed in full */
	t.heap0 = 3 * ((uint64_t)1 << 30);
	t.heap1 = t.heap0 + 5 * MB;
	t.heap2 = 100 * MB;
	t.goal = 200 * MB;
	t.stacks = 2 * MB;
	t.globals = 1 * MB;
	t.forced = true;
	check_line(&t, "gc 4294967296 @3723.456s 100%: 0+12+0 ms clock, "
	               "0+0/3.0/0+0 ms cpu, 3072->3077->100 MB, 200 MB goal, "
	               "2 MB stacks, 1 MB globals, 64 P (forced)\n");
}
END_TEST

START_TEST(line_negative_ints)
{
	/* Not produced by the collector, but printed as Go prints an int. */
	gc_trace_cycle t = {.num = 1, .cpu_percent = -1, .nprocs = INT_MIN};
	char buf[TRACE_LINE_MAX];
	trace_format_gc(buf, sizeof buf, &t);
	ck_assert_str_eq(buf, "gc 1 @0.000s -1%: 0+0+0 ms clock, 0+0/0/0+0 "
	                      "ms cpu, 0->0->0 MB, 0 MB goal, 0 MB stacks, "
	                      "0 MB globals, -2147483648 P\n");
	ck_assert(!matches_go_regex(buf)); /* the regex wants \d+% */
}
END_TEST

/* The whole line again with snprintf, for random cycles. */
static void oracle_line(char *out, size_t cap, const gc_trace_cycle *t)
{
	char c[3][32], p[5][32];
	for (int i = 0; i < 3; i++)
		oracle_ms(c[i], sizeof c[i], t->clock_ns[i]);
	for (int i = 0; i < 5; i++)
		oracle_ms(p[i], sizeof p[i], t->cpu_ns[i]);
	uint64_t ms = t->since_start_ns / MS;
	snprintf(out, cap,
	         "gc %" PRIu64 " @%" PRIu64 ".%03" PRIu64 "s %d%%: %s+%s+%s ms "
	         "clock, %s+%s/%s/%s+%s ms cpu, %" PRIu64 "->%" PRIu64
	         "->%" PRIu64 " MB, %" PRIu64 " MB goal, %" PRIu64
	         " MB stacks, %" PRIu64 " MB globals, %d P%s\n",
	         t->num, ms / 1000, ms % 1000, t->cpu_percent, c[0], c[1],
	         c[2], p[0], p[1], p[2], p[3], p[4], t->heap0 >> 20,
	         t->heap1 >> 20, t->heap2 >> 20, t->goal >> 20,
	         t->stacks >> 20, t->globals >> 20, t->nprocs,
	         t->forced ? " (forced)" : "");
}

/* A random value of random magnitude. */
static uint64_t rand_mag(unsigned long *seed)
{
	uint64_t r = unit_rand(seed);
	return r >> (unit_rand(seed) % 64);
}

START_TEST(line_random_against_oracle_and_regex)
{
	unsigned long seed = 12345;
	for (int i = 0; i < 5000; i++) {
		gc_trace_cycle t = {
			.num = rand_mag(&seed),
			.since_start_ns = rand_mag(&seed),
			.cpu_percent = (int)(unit_rand(&seed) % 101),
			.heap0 = rand_mag(&seed),
			.heap1 = rand_mag(&seed),
			.heap2 = rand_mag(&seed),
			.goal = rand_mag(&seed),
			.stacks = rand_mag(&seed),
			.globals = rand_mag(&seed),
			.nprocs = (int)(unit_rand(&seed) % 1024),
			.forced = unit_rand(&seed) & 1,
		};
		for (int j = 0; j < 3; j++)
			t.clock_ns[j] = rand_mag(&seed);
		for (int j = 0; j < 5; j++)
			t.cpu_ns[j] = rand_mag(&seed);
		char want[512];
		oracle_line(want, sizeof want, &t);
		check_line(&t, want);
	}
}
END_TEST

START_TEST(regex_is_not_vacuous)
{
	/* Near misses the regex must reject, so a match means something. */
	static const char *const bad[] = {
		"gc 1 @0.01s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, 0->0->0 MB, "
		"0 MB goal, 0 MB stacks, 0 MB globals, 1 P\n",
		"gc 1 @0.010s 0%: 0+0+0 ms clock, 0+0+0+0+0 ms cpu, 0->0->0 MB, "
		"0 MB goal, 0 MB stacks, 0 MB globals, 1 P\n",
		"gc 1 @0.010s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, 0->0->0 MB, "
		"0 MB goal, 0 MB globals, 1 P\n",
		"gc 1 @0.010s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, 0->0->0 MB, "
		"0 MB goal, 0 MB stacks, 0 MB globals, 1 P(forced)\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!matches_go_regex(bad[i]), "accepted: %s", bad[i]);
}
END_TEST

/* Every field at its largest: the longest line there can be. */
static gc_trace_cycle largest(void)
{
	gc_trace_cycle t = {
		.num = UINT64_MAX, .since_start_ns = UINT64_MAX,
		.cpu_percent = INT_MIN, .heap0 = UINT64_MAX,
		.heap1 = UINT64_MAX, .heap2 = UINT64_MAX, .goal = UINT64_MAX,
		.stacks = UINT64_MAX, .globals = UINT64_MAX, .nprocs = INT_MIN,
		.forced = true,
	};
	for (int j = 0; j < 3; j++)
		t.clock_ns[j] = UINT64_MAX;
	for (int j = 0; j < 5; j++)
		t.cpu_ns[j] = UINT64_MAX;
	return t;
}

START_TEST(longest_line_fits)
{
	gc_trace_cycle t = largest();
	char buf[TRACE_LINE_MAX], want[512];
	size_t n = trace_format_gc(buf, sizeof buf, &t);
	oracle_line(want, sizeof want, &t);
	ck_assert_str_eq(buf, want);
	ck_assert_uint_eq(n, 345); /* trace.h's figure */
	ck_assert_uint_lt(n, TRACE_LINE_MAX);
}
END_TEST

START_TEST(truncates_at_cap)
{
	gc_trace_cycle t = brief_example();
	char full[TRACE_LINE_MAX], buf[64];
	size_t len = trace_format_gc(full, sizeof full, &t);
	memset(buf, 'x', sizeof buf);
	ck_assert_uint_eq(trace_format_gc(buf, 40, &t), 39);
	ck_assert_int_eq(buf[39], '\0');
	ck_assert_int_eq(buf[40], 'x'); /* I2: nothing past cap */
	ck_assert(memcmp(buf, full, 39) == 0);
	ck_assert_uint_gt(len, 39);
	ck_assert_uint_eq(trace_format_gc(buf, 0, &t), 0);
}
END_TEST

START_TEST(print_writes_the_line_to_stderr)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	int saved = dup(2);
	ck_assert_int_eq(dup2(fds[1], 2), 2);
	gc_trace_cycle t = brief_example();
	t.forced = true;
	errno = ENOTTY;
	trace_print_gc(&t);
	ck_assert_int_eq(errno, ENOTTY); /* errno survives */
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	close(fds[1]);
	char got[TRACE_LINE_MAX + 1] = {0}, want[TRACE_LINE_MAX];
	ssize_t n = read(fds[0], got, sizeof got - 1);
	close(fds[0]);
	size_t len = trace_format_gc(want, sizeof want, &t);
	ck_assert_int_eq(n, (ssize_t)len);
	ck_assert_str_eq(got, want);
}
END_TEST

#define NELEMS(a) (int)(sizeof(a) / sizeof((a)[0]))

/* Go 1.19's printScavTrace, for hand-computed values. */
START_TEST(scav_line_exact_strings)
{
	char buf[TRACE_LINE_MAX];
	size_t n = trace_format_scav(buf, sizeof buf, 5 * 1024 * 1024 + 1023,
	                             480ull << 20, 30ull << 20, 40ull << 20,
	                             false);
	ck_assert_str_eq(buf, "scav 5120 KiB work, 491520 KiB total, "
	                      "75% util\n");
	ck_assert_uint_eq(n, strlen(buf));
	trace_format_scav(buf, sizeof buf, 0, 0, 1, 3, true);
	ck_assert_str_eq(buf, "scav 0 KiB work, 0 KiB total, 33% util "
	                      "(forced)\n");
	trace_format_scav(buf, sizeof buf, 1024, 2048, 0, 0, false);
	ck_assert_str_eq(buf, "scav 1 KiB work, 2 KiB total, 0% util\n");
	trace_format_scav(buf, 12, 1024, 2048, 5, 10, false);
	ck_assert_str_eq(buf, "scav 1 KiB ");
}
END_TEST

/* The tracked mode's line (trace.h), for hand-computed values. */
START_TEST(tracked_line_exact_strings)
{
	char buf[TRACE_LINE_MAX];
	gc_trace_tracked t = {
		.num = 7, .protect_ns = 2100000, .unprotect_ns = 38000000,
		.rounds = 3, .round_pages = {4120, 512, 63}, .round_ns = 14200000,
		.final_pages = 21, .stop_ns = 120000, .pages_ns = 100000,
		.roots_ns = 16000, .drain_ns = 8000,
	};
	size_t n = trace_format_tracked(buf, sizeof buf, &t);
	ck_assert_str_eq(buf, "gc 7 tracked: 2.1+38 ms protect+unprotect, "
	                      "3 rounds 4120+512+63 pages in 14 ms, final 21 "
	                      "pages, 0.12+0.10+0.016+0.008 ms "
	                      "stop+pages+roots+drain, 4716 write faults\n");
	ck_assert_uint_eq(n, strlen(buf));
	/* one round; a count the kernel could not give */
	t.rounds = 1;
	t.round_pages[0] = 5;
	t.final_pages = -1;
	trace_format_tracked(buf, sizeof buf, &t);
	ck_assert(strstr(buf, " 1 round 5 pages in 14 ms, final all pages, "));
	ck_assert(strstr(buf, ", all write faults\n"));
	t.rounds = 0;
	t.final_pages = 3;
	trace_format_tracked(buf, sizeof buf, &t);
	ck_assert(strstr(buf, " 0 rounds 0 pages in 14 ms, final 3 pages, "));
	ck_assert(strstr(buf, ", 3 write faults\n"));
	/* every field at its largest still fits */
	gc_trace_tracked big = {.num = UINT64_MAX, .protect_ns = UINT64_MAX,
	                        .unprotect_ns = UINT64_MAX,
	                        .rounds = TRACE_TRACKED_ROUNDS,
	                        .round_ns = UINT64_MAX,
	                        .final_pages = LONG_MAX, .stop_ns = UINT64_MAX,
	                        .pages_ns = UINT64_MAX, .roots_ns = UINT64_MAX,
	                        .drain_ns = UINT64_MAX};
	for (int i = 0; i < TRACE_TRACKED_ROUNDS; i++)
		big.round_pages[i] = LONG_MAX;
	n = trace_format_tracked(buf, sizeof buf, &big);
	ck_assert_uint_eq(n, 435); /* trace.h's figure */
	ck_assert_int_eq(buf[n - 1], '\n');
}
END_TEST

int main(void)
{
	Suite *s = suite_create("trace");
	TCase *ms = tcase_create("fmtNSAsMS");
	tcase_set_timeout(ms, 60);
	tcase_add_loop_test(ms, ns_as_ms_cases, 0, NELEMS(ms_cases));
	tcase_add_test(ms, ns_as_ms_every_microsecond);
	tcase_add_test(ms, ns_as_ms_small_cap);
	suite_add_tcase(s, ms);

	TCase *gc = tcase_create("line");
	tcase_set_timeout(gc, 60);
	tcase_add_test(gc, line_exact_strings);
	tcase_add_test(gc, line_start_time);
	tcase_add_test(gc, line_negative_ints);
	tcase_add_test(gc, line_random_against_oracle_and_regex);
	tcase_add_test(gc, regex_is_not_vacuous);
	tcase_add_test(gc, longest_line_fits);
	tcase_add_test(gc, truncates_at_cap);
	tcase_add_test(gc, print_writes_the_line_to_stderr);
	tcase_add_test(gc, scav_line_exact_strings);
	tcase_add_test(gc, tracked_line_exact_strings);
	suite_add_tcase(s, gc);
	return unit_run(s);
}

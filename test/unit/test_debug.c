/*
 * test_debug.c -- gc/debug.h: the GODEBUG table (every key at and past its
 * bounds, unknown keys, bad numbers, missing '=', empty items, no trimming,
 * later items winning), GOGC and GOMEMLIMIT with Go's syntax, debug_init
 * from the environment, and debug.h I1: each bad item prints exactly one
 * "tricolor: " line on stderr (fd 2 is redirected to a temp file).
 */
#include "debug.h"
#include "unit.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The defaults, written out independently of debug.c's table. */
static const gc_debug defaults = {.madvdontneed = 1, .memprofilerate = -1};

/* ---- capturing fd 2 ---- */

static char warned[16384]; /* what the last captured call wrote */
static int capture_fd = -1, saved_fd = -1;

static void capture_begin(void)
{
	char path[] = "/tmp/test_debug.XXXXXX";
	capture_fd = mkstemp(path);
	ck_assert_int_ge(capture_fd, 0);
	unlink(path);
	saved_fd = dup(2);
	ck_assert_int_ge(saved_fd, 0);
	ck_assert_int_eq(dup2(capture_fd, 2), 2);
}

/* Restore fd 2 and return the number of lines written; each must be one
 * whole "tricolor: ..." line. */
static int capture_end(void)
{
	ck_assert_int_eq(dup2(saved_fd, 2), 2);
	close(saved_fd);
	off_t len = lseek(capture_fd, 0, SEEK_END);
	ck_assert(len >= 0 && (size_t)len < sizeof warned);
	ck_assert_int_eq(pread(capture_fd, warned, (size_t)len, 0), len);
	warned[len] = '\0';
	close(capture_fd);
	int lines = 0;
	for (char *p = warned; *p; lines++) {
		ck_assert_msg(strncmp(p, "tricolor: ", 10) == 0,
		              "stray output: %s", p);
		char *nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "unterminated line: %s", p);
		p = nl + 1;
	}
	return lines;
}

/* Parse s into *d; return the number of warning lines. */
static int godebug(gc_debug *d, const char *s)
{
	capture_begin();
	debug_parse_godebug(d, s);
	int n = capture_end();
	ck_assert_msg(debug_check(d), "I2 broken by \"%s\"", s);
	return n;
}

static void assert_debug_eq(const gc_debug *got, const gc_debug *want,
                            const char *input)
{
#define FIELD_EQ(f)                                                          \
	ck_assert_msg(got->f == want->f, "\"%s\": " #f " = %ld, want %ld",   \
	              input, (long)got->f, (long)want->f)
	FIELD_EQ(gctrace);
	FIELD_EQ(gccheckmark);
	FIELD_EQ(gcstoptheworld);
	FIELD_EQ(scavtrace);
	FIELD_EQ(madvdontneed);
	FIELD_EQ(clobberfree);
	FIELD_EQ(gcdirty);
	FIELD_EQ(memprofilerate);
	FIELD_EQ(memprofilesignal);
	ck_assert_msg(got->memprofile == want->memprofile,
	              "\"%s\": memprofile = %p, want %p", input,
	              (const void *)got->memprofile,
	              (const void *)want->memprofile);
#undef FIELD_EQ
}

/* s must warn `warns` times and leave every field at its default. */
static void assert_ignored(const char *s, int warns)
{
	gc_debug d;
	int n = godebug(&d, s);
	ck_assert_msg(n == warns, "\"%s\": %d warnings, want %d", s, n, warns);
	assert_debug_eq(&d, &defaults, s);
}

/* ---- GODEBUG ---- */

START_TEST(defaults_and_reset)
{
	assert_debug_eq(&debug, &defaults, "(static)");
	assert_ignored(NULL, 0);
	assert_ignored("", 0);
	gc_debug d;
	memset(&d, 0x7f, sizeof d); /* garbage: parsing resets first */
	ck_assert(!debug_check(&d));
	ck_assert_int_eq(godebug(&d, ""), 0);
	assert_debug_eq(&d, &defaults, "(reset)");
}
END_TEST

static const struct key_case {
	const char *key;
	size_t off;
	bool is_long;
	long min, max;
} key_cases[] = {
	{"gctrace", offsetof(gc_debug, gctrace), false, 0, 2},
	{"gccheckmark", offsetof(gc_debug, gccheckmark), false, 0, 1},
	{"gcstoptheworld", offsetof(gc_debug, gcstoptheworld), false, 0, 2},
	{"scavtrace", offsetof(gc_debug, scavtrace), false, 0, 1},
	{"madvdontneed", offsetof(gc_debug, madvdontneed), false, 0, 1},
	{"clobberfree", offsetof(gc_debug, clobberfree), false, 0, 1},
	{"gcdirty", offsetof(gc_debug, gcdirty), false, 0, 3},
	{"memprofilerate", offsetof(gc_debug, memprofilerate), true, 0,
	 LONG_MAX},
	{"memprofilesignal", offsetof(gc_debug, memprofilesignal), false, 0,
	 64},
};

/* Set key_cases[_i] to v: a value in range sets that field alone. */
static void check_key_value(const struct key_case *k, const char *v,
                            bool in_range, long want)
{
	char s[128];
	snprintf(s, sizeof s, "%s=%s", k->key, v);
	gc_debug d, exp = defaults;
	ck_assert_int_eq(godebug(&d, s), in_range ? 0 : 1);
	if (in_range) {
		char *f = (char *)&exp + k->off;
		if (k->is_long)
			*(long *)f = want;
		else
			*(int *)f = (int)want;
	}
	assert_debug_eq(&d, &exp, s);
}

START_TEST(every_key_at_and_past_its_bounds)
{
	const struct key_case *k = &key_cases[_i];
	char v[32];
	snprintf(v, sizeof v, "%ld", k->min);
	check_key_value(k, v, true, k->min);
	snprintf(v, sizeof v, "%ld", k->max);
	check_key_value(k, v, true, k->max);
	snprintf(v, sizeof v, "%ld", k->min - 1);
	check_key_value(k, v, false, 0);
	if (k->max == LONG_MAX)
		snprintf(v, sizeof v, "%lu", (unsigned long)LONG_MAX + 1);
	else
		snprintf(v, sizeof v, "%ld", k->max + 1);
	check_key_value(k, v, false, 0);
}
END_TEST

START_TEST(memprofilerate_values)
{
	gc_debug d, want = defaults;
	ck_assert_int_eq(godebug(&d, "memprofilerate=524288"), 0);
	want.memprofilerate = 524288;
	assert_debug_eq(&d, &want, "memprofilerate=524288");
	assert_ignored("memprofilerate=-1", 1); /* "unset" is not settable */
	assert_ignored("memprofilerate=99999999999999999999", 1);
}
END_TEST

/* memprofile is a string key: the field points into the GODEBUG string,
 * at the value, which ends at the next ',' (or the end). */
START_TEST(memprofile_values)
{
	gc_debug d;
	const char *s = "gctrace=1,memprofile=/tmp/x.pb,memprofilesignal=10";
	ck_assert_int_eq(godebug(&d, s), 0);
	ck_assert_ptr_eq(d.memprofile, s + strlen("gctrace=1,memprofile="));
	ck_assert_uint_eq(strcspn(d.memprofile, ","), strlen("/tmp/x.pb"));
	ck_assert_int_eq(d.memprofilesignal, 10);
	ck_assert_int_eq(godebug(&d, "memprofile="), 0); /* empty: kept */
	ck_assert_str_eq(d.memprofile, "");
	ck_assert_int_eq(godebug(&d, ""), 0); /* reset: no path */
	ck_assert_ptr_null(d.memprofile);
	assert_ignored("memprofilesignal=65", 1);
}
END_TEST

START_TEST(unknown_keys)
{
	assert_ignored("foo=1", 1);
	ck_assert_str_eq(warned,
	                 "tricolor: GODEBUG: unknown key in \"foo=1\" "
	                 "(ignored)\n");
	assert_ignored("GCTRACE=1", 1);   /* keys are case-sensitive */
	assert_ignored("gctrace2=1", 1);  /* whole-key match only */
	assert_ignored("gctrac=1", 1);    /* no prefix match */
	assert_ignored("=1", 1);          /* empty key */
	assert_ignored("gcpacertrace=1", 1); /* a Go key we do not have */
	assert_ignored("=", 1);
}
END_TEST

START_TEST(bad_values)
{
	static const char *const bad[] = {
		"gctrace=",      "gctrace=abc",  "gctrace=1x",
		"gctrace=+1",    "gctrace=0x1",  "gctrace=1.0",
		"gctrace=-",     "gctrace=1=2",  "gctrace=--1",
		"gctrace=99999999999999999999",  "gctrace=1e0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_ignored(bad[i], 1);
	assert_ignored("gctrace=3", 1);
	ck_assert_str_eq(warned, "tricolor: GODEBUG: \"gctrace=3\": gctrace "
	                         "wants an integer in 0..2 (ignored)\n");
	gc_debug d, want = defaults;
	ck_assert_int_eq(godebug(&d, "gctrace=-0"), 0); /* Go's atoi: 0 */
	ck_assert_int_eq(godebug(&d, "gctrace=002"), 0);
	want.gctrace = 2;
	assert_debug_eq(&d, &want, "gctrace=002");
}
END_TEST

START_TEST(missing_equals)
{
	assert_ignored("gctrace", 1);
	ck_assert_str_eq(warned,
	                 "tricolor: GODEBUG: \"gctrace\" has no '=' "
	                 "(ignored)\n");
	gc_debug d, want = defaults;
	ck_assert_int_eq(godebug(&d, "gctrace,scavtrace=1,x"), 2);
	want.scavtrace = 1;
	assert_debug_eq(&d, &want, "gctrace,scavtrace=1,x");
}
END_TEST

START_TEST(multiple_pairs)
{
	const char *all = "gctrace=1,gccheckmark=1,gcstoptheworld=2,"
	                  "scavtrace=1,madvdontneed=0,clobberfree=1,"
	                  "gcdirty=2,memprofilerate=4096";
	gc_debug d;
	ck_assert_int_eq(godebug(&d, all), 0);
	gc_debug want = {1, 1, 2, 1, 0, 1, 2, 4096, NULL, 0};
	assert_debug_eq(&d, &want, all);

	/* Bad items are skipped, one warning each; the good ones apply. */
	const char *mixed = "gctrace=1,foo=2,scavtrace=x,clobberfree=1,nokey";
	ck_assert_int_eq(godebug(&d, mixed), 3);
	want = defaults;
	want.gctrace = 1;
	want.clobberfree = 1;
	assert_debug_eq(&d, &want, mixed);
}
END_TEST

START_TEST(later_items_win)
{
	gc_debug d, want = defaults;
	ck_assert_int_eq(godebug(&d, "gctrace=1,gctrace=2"), 0);
	want.gctrace = 2;
	assert_debug_eq(&d, &want, "gctrace=1,gctrace=2");
	/* A bad later item keeps the earlier good value (as Go does). */
	ck_assert_int_eq(godebug(&d, "gctrace=2,gctrace=9"), 1);
	assert_debug_eq(&d, &want, "gctrace=2,gctrace=9");
	ck_assert_int_eq(godebug(&d, "gctrace=2,gctrace="), 1);
	assert_debug_eq(&d, &want, "gctrace=2,gctrace=");
	ck_assert_int_eq(godebug(&d, "gctrace=2,gctrace=0"), 0);
	assert_debug_eq(&d, &defaults, "gctrace=2,gctrace=0");
}
END_TEST

START_TEST(empty_items_are_silent)
{
	assert_ignored(",", 0);
	assert_ignored(",,,", 0);
	static const char *const ok[] = {",gctrace=1", "gctrace=1,",
	                                 "gctrace=1,,", ",,gctrace=1,,"};
	gc_debug d, want = defaults;
	want.gctrace = 1;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		ck_assert_int_eq(godebug(&d, ok[i]), 0);
		assert_debug_eq(&d, &want, ok[i]);
	}
	ck_assert_int_eq(godebug(&d, "gctrace=1,,scavtrace=1"), 0);
	want.scavtrace = 1;
	assert_debug_eq(&d, &want, "gctrace=1,,scavtrace=1");
}
END_TEST

START_TEST(whitespace_is_not_trimmed)
{
	assert_ignored(" gctrace=1", 1);  /* key " gctrace" */
	assert_ignored("gctrace =1", 1);  /* key "gctrace " */
	assert_ignored("\tgctrace=1", 1);
	assert_ignored("gctrace= 1", 1);  /* value " 1" */
	assert_ignored("gctrace=1 ", 1);  /* value "1 " */
	assert_ignored("gctrace=1\n", 1); /* still one line: '\n' shown as '?' */
	ck_assert_ptr_nonnull(strstr(warned, "\"gctrace=1?\""));
	assert_ignored(" ", 1);           /* not empty: a key without '=' */
	gc_debug d, want = defaults;
	ck_assert_int_eq(godebug(&d, "gctrace=1, scavtrace=1"), 1);
	want.gctrace = 1;
	assert_debug_eq(&d, &want, "gctrace=1, scavtrace=1");
}
END_TEST

START_TEST(long_item_gives_one_short_line)
{
	static char s[20000];
	memset(s, 'k', sizeof s - 3);
	memcpy(s + sizeof s - 3, "=1", 3);
	assert_ignored(s, 1);
	ck_assert_uint_lt(strlen(warned), 200);
	ck_assert_ptr_nonnull(strstr(warned, "...\""));
	/* and a long bad value for a real key */
	memcpy(s, "gctrace=", 8);
	assert_ignored(s, 1);
	ck_assert_uint_lt(strlen(warned), 200);
}
END_TEST

START_TEST(check_catches_out_of_range_fields)
{
	gc_debug d = defaults;
	ck_assert(debug_check(&d));
	d.gctrace = 3;
	ck_assert(!debug_check(&d));
	d = defaults;
	d.memprofilerate = -2;
	ck_assert(!debug_check(&d));
	d.memprofilerate = -1; /* the default is always allowed */
	ck_assert(debug_check(&d));
	d.madvdontneed = -1;
	ck_assert(!debug_check(&d));
}
END_TEST

/* ---- GOGC and GOMEMLIMIT ---- */

static const struct gogc_case {
	const char *in;
	int want, warns;
} gogc_cases[] = {
	{NULL, 100, 0},        {"", 100, 0},
	{"off", -1, 0},        {"50", 50, 0},
	{"0", 0, 0},           {"-1", -1, 0},
	{"-50", -1, 0},        {"-2147483648", -1, 0},
	{"abc", 100, 1},       {"100x", 100, 1},
	{"OFF", 100, 1},       {"off ", 100, 1},
	{" 50", 100, 1},       {"+50", 100, 1},
	{"-", 100, 1},         {"5.0", 100, 1},
	{"1000000", 1000000, 0}, {"1000001", 1000000, 1},
	{"2147483647", 1000000, 1}, /* the largest int32: clamped */
	{"2147483648", 100, 1},  /* past int32: bad, as in Go */
	{"-2147483649", 100, 1},
};

START_TEST(gogc_values)
{
	const struct gogc_case *c = &gogc_cases[_i];
	capture_begin();
	int got = debug_parse_gogc(c->in);
	int warns = capture_end();
	ck_assert_msg(got == c->want, "GOGC=\"%s\": %d, want %d",
	              c->in ? c->in : "(unset)", got, c->want);
	ck_assert_msg(warns == c->warns, "GOGC=\"%s\": %d warnings, want %d",
	              c->in ? c->in : "(unset)", warns, c->warns);
}
END_TEST

#define NONE MEMLIMIT_NONE
static const struct memlimit_case {
	const char *in;
	int64_t want;
	int warns;
} memlimit_cases[] = {
	{NULL, NONE, 0},
	{"", NONE, 0},
	{"off", NONE, 0},
	{"1GiB", (int64_t)1 << 30, 0},
	{"512MiB", (int64_t)512 << 20, 0},
	{"4KiB", 4096, 0},
	{"3TiB", (int64_t)3 << 40, 0},
	{"10", 10, 0},
	{"10B", 10, 0},
	{"0", 0, 0},
	{"0B", 0, 0},
	{"-0", 0, 0},    /* Go accepts it: "-0" is 0, not negative */
	{"-0MiB", 0, 0},
	{"0064MiB", (int64_t)64 << 20, 0},
	{"9223372036854775807", INT64_MAX, 0},
	{"9223372036854775807B", INT64_MAX, 0},
	{"8388607TiB", (int64_t)8388607 << 40, 0}, /* 2^63 - 2^40 */
	{"1.5GiB", NONE, 1},
	{"99999999999TiB", NONE, 1},
	{"8388608TiB", NONE, 1}, /* exactly 2^63 */
	{"9223372036854775808", NONE, 1},
	{"99999999999999999999", NONE, 1},
	{"1GB", NONE, 1},
	{"1G", NONE, 1},
	{"1kiB", NONE, 1},
	{"1XiB", NONE, 1},
	{"1iB", NONE, 1},
	{"KiB", NONE, 1},
	{"B", NONE, 1},
	{"iB", NONE, 1},
	{"-", NONE, 1},
	{"-1", NONE, 1},
	{"-1KiB", NONE, 1},
	{"-99999999999999999999", NONE, 1},
	{" 1GiB", NONE, 1},
	{"1GiB ", NONE, 1},
	{"1 GiB", NONE, 1},
	{"OFF", NONE, 1},
	{"0x10", NONE, 1},
};
#undef NONE

START_TEST(memlimit_values)
{
	const struct memlimit_case *c = &memlimit_cases[_i];
	capture_begin();
	int64_t got = debug_parse_memlimit(c->in);
	int warns = capture_end();
	ck_assert_msg(got == c->want, "GOMEMLIMIT=\"%s\": %lld, want %lld",
	              c->in ? c->in : "(unset)", (long long)got,
	              (long long)c->want);
	ck_assert_msg(warns == c->warns,
	              "GOMEMLIMIT=\"%s\": %d warnings, want %d",
	              c->in ? c->in : "(unset)", warns, c->warns);
}
END_TEST

START_TEST(memlimit_messages)
{
	capture_begin();
	debug_parse_memlimit("99999999999TiB");
	ck_assert_int_eq(capture_end(), 1);
	ck_assert_str_eq(warned, "tricolor: GOMEMLIMIT=99999999999TiB: more "
	                         "than 2^63-1 bytes (no limit)\n");
	capture_begin();
	debug_parse_memlimit("1.5GiB");
	ck_assert_int_eq(capture_end(), 1);
	ck_assert_str_eq(warned, "tricolor: GOMEMLIMIT=1.5GiB: want bytes "
	                         "with an optional B, KiB, MiB, GiB or TiB "
	                         "suffix, or \"off\" (no limit)\n");
	capture_begin();
	debug_parse_gogc("abc");
	ck_assert_int_eq(capture_end(), 1);
	ck_assert_str_eq(warned, "tricolor: GOGC=abc: want \"off\" or an "
	                         "integer percent (using 100)\n");
}
END_TEST

/* ---- debug_init ---- */

START_TEST(init_reads_the_environment)
{
	ck_assert_int_eq(setenv("GODEBUG", "gctrace=1,madvdontneed=0", 1), 0);
	ck_assert_int_eq(setenv("GOGC", "off", 1), 0);
	ck_assert_int_eq(setenv("GOMEMLIMIT", "64MiB", 1), 0);
	int gogc = 0;
	int64_t limit = 0;
	capture_begin();
	debug_init(&gogc, &limit);
	ck_assert_int_eq(capture_end(), 0);
	gc_debug want = defaults;
	want.gctrace = 1;
	want.madvdontneed = 0;
	assert_debug_eq(&debug, &want, "GODEBUG");
	ck_assert_int_eq(gogc, GOGC_OFF);
	ck_assert(limit == (int64_t)64 << 20);

	unsetenv("GODEBUG");
	unsetenv("GOGC");
	unsetenv("GOMEMLIMIT");
	capture_begin();
	debug_init(&gogc, &limit);
	ck_assert_int_eq(capture_end(), 0);
	assert_debug_eq(&debug, &defaults, "(unset)");
	ck_assert_int_eq(gogc, GOGC_DEFAULT);
	ck_assert(limit == MEMLIMIT_NONE);
}
END_TEST

START_TEST(init_warns_once_per_bad_variable)
{
	setenv("GODEBUG", "foo=1,gctrace=2,gctrace", 1);
	setenv("GOGC", "lots", 1);
	setenv("GOMEMLIMIT", "1PiB", 1);
	int gogc = 0;
	int64_t limit = 0;
	capture_begin();
	debug_init(&gogc, &limit);
	ck_assert_int_eq(capture_end(), 4);
	ck_assert_int_eq(debug.gctrace, 2);
	ck_assert_int_eq(gogc, GOGC_DEFAULT);
	ck_assert(limit == MEMLIMIT_NONE);
	ck_assert_ptr_nonnull(strstr(warned, "\"foo=1\""));
	ck_assert_ptr_nonnull(strstr(warned, "GOGC=lots"));
	ck_assert_ptr_nonnull(strstr(warned, "GOMEMLIMIT=1PiB"));
}
END_TEST

#define NELEMS(a) (int)(sizeof(a) / sizeof((a)[0]))

int main(void)
{
	Suite *s = suite_create("debug");
	TCase *tc = tcase_create("godebug");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, defaults_and_reset);
	tcase_add_loop_test(tc, every_key_at_and_past_its_bounds, 0,
	                    NELEMS(key_cases));
	tcase_add_test(tc, memprofilerate_values);
	tcase_add_test(tc, memprofile_values);
	tcase_add_test(tc, unknown_keys);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, missing_equals);
	tcase_add_test(tc, multiple_pairs);
	tcase_add_test(tc, later_items_win);
	tcase_add_test(tc, empty_items_are_silent);
	tcase_add_test(tc, whitespace_is_not_trimmed);
	tcase_add_test(tc, long_item_gives_one_short_line);
	tcase_add_test(tc, check_catches_out_of_range_fields);
	suite_add_tcase(s, tc);

	TCase *env = tcase_create("environment");
	tcase_set_timeout(env, 30);
	tcase_add_loop_test(env, gogc_values, 0, NELEMS(gogc_cases));
	tcase_add_loop_test(env, memlimit_values, 0, NELEMS(memlimit_cases));
	tcase_add_test(env, memlimit_messages);
	tcase_add_test(env, init_reads_the_environment);
	tcase_add_test(env, init_warns_once_per_bad_variable);
	suite_add_tcase(s, env);
	return unit_run(s);
}

/*
 * test/stress/stress.h -- the harness both stress programs share: the
 * command line (PROG SEED THREADS MAX_SIZE SECONDS), the deadline, and the
 * one-line failure report. Header-only (static), included once per
 * program after testlib.h.
 */
#ifndef TRICOLOR_STRESS_H
#define TRICOLOR_STRESS_H

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../testlib.h"

static const char *g_prog;         /* the program's name, for reports */
static uint64_t g_seed;
static struct timespec g_deadline; /* CLOCK_MONOTONIC */

static void fail(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

/* Print the first failure (one line on stdout, with the seed) and exit 1. */
static void fail(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&fail_lock); /* one report; never unlocked */
	fprintf(stdout, "%s: FAILED (seed %" PRIu64 "): ", g_prog, g_seed);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	_Exit(1);
}

static int past_deadline(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > g_deadline.tv_sec ||
	       (now.tv_sec == g_deadline.tv_sec &&
	        now.tv_nsec >= g_deadline.tv_nsec);
}

static void set_deadline(double seconds)
{
	clock_gettime(CLOCK_MONOTONIC, &g_deadline);
	g_deadline.tv_sec += (time_t)seconds;
	g_deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (g_deadline.tv_nsec >= 1000000000L) {
		g_deadline.tv_sec++;
		g_deadline.tv_nsec -= 1000000000L;
	}
}

/* Parse SEED THREADS MAX_SIZE SECONDS into the outputs and g_seed, with
 * THREADS in 1..max_threads, MAX_SIZE <= max_size_limit and 0 < SECONDS
 * <= 86400; otherwise print the usage (size_help describes MAX_SIZE) on
 * stderr and return false. */
static bool stress_parse_args(int argc, char **argv, const char *prog,
                              uint64_t max_threads, uint64_t max_size_limit,
                              const char *size_help, uint64_t *threads,
                              uint64_t *max_size, double *seconds)
{
	char *end;
	g_prog = prog;
	if (argc != 5 || parse_u64(argv[1], &g_seed) ||
	    parse_u64(argv[2], threads) || parse_u64(argv[3], max_size) ||
	    (*seconds = strtod(argv[4], &end), end == argv[4] || *end) ||
	    *threads < 1 || *threads > max_threads || !(*seconds > 0) ||
	    *seconds > 86400 || *max_size > max_size_limit) {
		fprintf(stderr,
		        "usage: %s SEED THREADS MAX_SIZE SECONDS\n"
		        "  THREADS 1..%" PRIu64 ", MAX_SIZE bytes (%s), "
		        "SECONDS > 0\n",
		        prog, max_threads, size_help);
		return false;
	}
	return true;
}

#endif /* TRICOLOR_STRESS_H */

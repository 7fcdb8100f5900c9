/*
 * test/api/test_gcenv.c -- owned by the API test suite (not by the library).
 *
 * Collector behaviour fixed when a process starts, written against
 * <tricolor.h> only: GOGC and GODEBUG read from the environment at init
 * (Go 1.19's meanings; a bad value gets one "tricolor: " warning line on
 * stderr and the default), the GODEBUG=gctrace=1 line (Go's format), and
 * tri_set_stop_signals (only before the heap is initialised).
 *
 * Each test runs this program again -- execve("/proc/self/exe") with
 * "--child MODE ARGS" and an environment it controls (GOGC, GODEBUG and
 * GOMEMLIMIT removed, then the test's own added) -- and checks the child's
 * exit status, stdout and stderr. A fresh exec is the only way to get a
 * process whose heap is certainly not initialised and whose environment is
 * read for the first time. Child modes:
 *   gc MIB N        allocate MIB MiB of 4 KiB garbage, then tri_collect N
 *                   times; check 64 objects kept in a global; print
 *                   "num_gc=A num_forced_gc=B gc_percent=C" (C is what
 *                   tri_set_gc_percent reported before anything was
 *                   allocated) and exit 0.
 *   stop-signals    tri_set_stop_signals: bad arguments -> EINVAL; then
 *                   SIGUSR1 / SIGUSR2 -> 0, the old defaults blocked, and a
 *                   cycle with a second registered thread must still work;
 *                   after init -> EBUSY. Prints "ok".
 *   stop-signals-busy  tri_init, then tri_set_stop_signals -> EBUSY.
 *   clobber EXPECT  GODEBUG=clobberfree: small, tiny and large objects made
 *                   unreachable (addresses kept XOR-hidden) and objects
 *                   freed with tri_free, beside live neighbours; after
 *                   tri_collect each must read 0xdeadbeef in every 32-bit
 *                   word (EXPECT 1; a stale register may keep one of the
 *                   unreachable ones) or none may (EXPECT 0: the stamps
 *                   are still there); then new objects of those sizes,
 *                   some of them in the clobbered slots, must read zero.
 *                   Prints "ok clobbered=N".
 *
 * gctrace lines are matched with POSIX extended regular expressions (the
 * PCRE of the spec with \d as [0-9] and (?: as plain groups); the cycle
 * numbers must run 1, 2, 3...; cycles started by tri_collect end in
 * " (forced)" and no others do.
 *
 * Run: ./build/api/test_gcenv (fork mode, the default, is required).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define TESTLIB_REAL_STACKS
#include "../testlib.h"

/* ------------------------------------------------------------------------ */
/* the child                                                                 */
/* ------------------------------------------------------------------------ */

enum { KEEP = 64, KEEP_SIZE = 200 };
static void *g_keep[KEEP];
static void *volatile g_sink;

static uint64_t keep_tag(size_t i)
{
	return mix64(0x6e760000u + i);
}

static NOINLINE int fill_keep(void)
{
	for (size_t i = 0; i < KEEP; i++) {
		g_keep[i] = tri_malloc(KEEP_SIZE);
		if (!g_keep[i])
			return -1;
		stamp(g_keep[i], KEEP_SIZE, keep_tag(i));
	}
	return 0;
}

/* 0 if every kept object is live and intact; else prints why. */
static int keep_ok(void **keep, size_t n, size_t size, uint64_t (*tag)(size_t))
{
	for (size_t i = 0; i < n; i++) {
		if (tri_base(keep[i]) != keep[i]) {
			printf("FAIL: kept object %zu at %p: tri_base = %p\n",
			       i, keep[i], tri_base(keep[i]));
			return -1;
		}
		size_t off = stamp_check(keep[i], size, size, tag(i));
		if (off != size) {
			printf("FAIL: kept object %zu at %p: byte %zu "
			       "overwritten\n",
			       i, keep[i], off);
			return -1;
		}
	}
	return 0;
}

static int child_gc(size_t mib, int ncollect)
{
	/* Before anything is allocated, so no cycle can start here. */
	int pct = tri_set_gc_percent(100);
	tri_set_gc_percent(pct);
	if (fill_keep()) {
		printf("FAIL: allocation failed\n");
		return 1;
	}
	for (size_t done = 0; done < mib * MiB; done += 4096) {
		g_sink = tri_malloc(4096);
		if (!g_sink) {
			printf("FAIL: allocation failed\n");
			return 1;
		}
	}
	for (int i = 0; i < ncollect; i++)
		tri_collect();
	if (keep_ok(g_keep, KEEP, KEEP_SIZE, keep_tag))
		return 1;
	tri_stats_t s;
	tri_read_stats(&s);
	printf("num_gc=%llu num_forced_gc=%llu gc_percent=%d\n",
	       (unsigned long long)s.num_gc,
	       (unsigned long long)s.num_forced_gc, pct);
	return 0;
}

/* A registered thread keeps objects on its stack and blocks in read(). */
enum { SIG_OBJS = 100 };
static int g_ready[2], g_go[2];
static char g_thread_err[256];

static uint64_t sig_tag(size_t i)
{
	return mix64(0x5167000u + i);
}

static void *sig_thread(void *arg)
{
	(void)arg;
	void *volatile keep[SIG_OBJS];
	char c = 1;
	for (size_t i = 0; i < SIG_OBJS; i++) {
		keep[i] = tri_malloc(KEEP_SIZE);
		if (!keep[i]) {
			snprintf(g_thread_err, sizeof g_thread_err,
			         "allocation failed in the thread");
			break;
		}
		stamp(keep[i], KEEP_SIZE, sig_tag(i));
	}
	clear_stack();
	while (write(g_ready[1], &c, 1) < 0 && errno == EINTR)
		;
	ssize_t r;
	do
		r = read(g_go[0], &c, 1);
	while (r < 0 && errno == EINTR);
	for (size_t i = 0; i < SIG_OBJS && !g_thread_err[0]; i++) {
		if (tri_base(keep[i]) != keep[i] ||
		    stamp_check(keep[i], KEEP_SIZE, KEEP_SIZE, sig_tag(i)) !=
		        KEEP_SIZE)
			snprintf(g_thread_err, sizeof g_thread_err,
			         "object %zu on the thread's stack lost", i);
	}
	return NULL;
}

static int expect_errno(int r, int want, int s, int t, const char *why)
{
	int e = errno;
	if (r == -1 && e == want)
		return 0;
	printf("FAIL: tri_set_stop_signals(%d, %d) (%s) = %d, errno %d; "
	       "expected -1, errno %d\n",
	       s, t, why, r, e, want);
	return -1;
}

static int child_stop_signals(void)
{
	static const struct {
		int s, t;
		const char *why;
	} bad[] = {
	    {SIGUSR1, SIGUSR1, "equal signals"},
	    {0, SIGUSR2, "signal 0"},
	    {SIGUSR1, 0, "signal 0"},
	    {-1, SIGUSR2, "negative"},
	    {SIGUSR1, -5, "negative"},
	    {SIGUSR1, NSIG, "NSIG"},
	    {1000, SIGUSR2, "beyond NSIG"},
	    {SIGKILL, SIGUSR2, "SIGKILL cannot be caught"},
	    {SIGUSR1, SIGSTOP, "SIGSTOP cannot be caught"},
	};
	alarm(120); /* a cycle waiting for a stopped thread dies of SIGALRM */
	for (size_t i = 0; i < NELEMS(bad); i++) {
		errno = 0;
		int r = tri_set_stop_signals(bad[i].s, bad[i].t);
		if (expect_errno(r, EINVAL, bad[i].s, bad[i].t, bad[i].why))
			return 1;
	}
	errno = 0;
	int r = tri_set_stop_signals(SIGUSR1, SIGUSR2);
	if (r != 0) {
		printf(
		    "FAIL: tri_set_stop_signals(SIGUSR1, SIGUSR2) before init "
		    "= %d, errno %d\n",
		    r, errno);
		return 1;
	}
	/* The defaults are the program's now: block them in this thread and
	 * (inherited) in the next. A collector still using them would wait
	 * for the other thread forever. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGPWR);
	sigaddset(&set, SIGXCPU);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(g_ready) || pipe(g_go)) {
		printf("FAIL: pipe\n");
		return 1;
	}
	pthread_t t;
	if (tri_pthread_create(&t, NULL, sig_thread, NULL) != 0) {
		printf("FAIL: tri_pthread_create\n");
		return 1;
	}
	char c;
	while (read(g_ready[0], &c, 1) < 0 && errno == EINTR)
		;
	tri_collect();
	for (int i = 0; i < 2 * SIG_OBJS; i++)
		g_sink = tri_malloc(KEEP_SIZE);
	tri_collect();
	errno = 0;
	r = tri_set_stop_signals(SIGUSR1, SIGUSR2);
	if (expect_errno(r, EBUSY, SIGUSR1, SIGUSR2, "after init"))
		return 1;
	errno = 0;
	r = tri_set_stop_signals(SIGRTMIN + 2, SIGRTMIN + 3);
	if (expect_errno(r, EBUSY, SIGRTMIN + 2, SIGRTMIN + 3, "after init"))
		return 1;
	c = 1;
	while (write(g_go[1], &c, 1) < 0 && errno == EINTR)
		;
	pthread_join(t, NULL);
	if (g_thread_err[0]) {
		printf("FAIL: %s\n", g_thread_err);
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int child_stop_signals_busy(void)
{
	if (tri_init() != 0) {
		printf("FAIL: tri_init\n");
		return 1;
	}
	errno = 0;
	int r = tri_set_stop_signals(SIGUSR1, SIGUSR2);
	if (expect_errno(r, EBUSY, SIGUSR1, SIGUSR2, "after tri_init"))
		return 1;
	printf("ok\n");
	return 0;
}

/* clobberfree: objects in pairs of slots, one kept in a global, one
 * unreachable (hidden) or freed with tri_free, so spans stay in use. */
enum { CLOB_N = 256, CLOB_SIZE = 96, CLOB_NLARGE = 8, CLOB_LARGE = 100000 };
static void *g_clob_keep[CLOB_N];
static uintptr_t g_clob_dead[CLOB_N];  /* hidden: unreachable or freed */
static void *g_tiny_keep[CLOB_N];
static uintptr_t g_tiny_dead[CLOB_N];  /* hidden 16-byte blocks */
static uintptr_t g_tiny_ab[CLOB_N][2]; /* hidden tiny objects */
static uintptr_t g_large_dead[CLOB_NLARGE];

static int all_clobbered(uintptr_t h, size_t n)
{
	const unsigned char *p = unhide_ptr(h);
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		if (w != 0xdeadbeefu)
			return 0;
	}
	return 1;
}

/* i even: unreachable; i odd: freed with tri_free. Tiny: two 8-byte
 * noscan objects fill a block; the pairs whose block starts with the
 * first are dropped (both unreachable) on even i, freed on odd i. */
static NOINLINE int clob_fill(void)
{
	for (size_t i = 0; i < CLOB_N; i++) {
		g_clob_keep[i] = tri_malloc(CLOB_SIZE);
		char *d = tri_malloc(CLOB_SIZE);
		char *a = tri_malloc_noscan(8), *b = tri_malloc_noscan(8);
		g_tiny_keep[i] = tri_malloc_noscan(16); /* a block of its own */
		if (!g_clob_keep[i] || !d || !a || !b || !g_tiny_keep[i])
			return -1;
		stamp(d, CLOB_SIZE, 0xc10b + i);
		stamp(a, 8, 0xa + i);
		stamp(b, 8, 0xb + i);
		g_clob_dead[i] = hide_ptr(d);
		g_tiny_dead[i] = b == a + 8 && (uintptr_t)a % 16 == 0
		                         ? hide_ptr(a) : 0;
		g_tiny_ab[i][0] = hide_ptr(a);
		g_tiny_ab[i][1] = hide_ptr(b);
	}
	/* Free after allocating: a slot freed earlier could be reused. */
	for (size_t i = 1; i < CLOB_N; i += 2) {
		tri_free(unhide_ptr(g_clob_dead[i]));
		tri_free(unhide_ptr(g_tiny_ab[i][0]));
		tri_free(unhide_ptr(g_tiny_ab[i][1]));
	}
	for (size_t i = 0; i < CLOB_NLARGE; i++) {
		char *p = tri_malloc(CLOB_LARGE);
		if (!p)
			return -1;
		stamp(p, CLOB_LARGE, 0x1a + i);
		g_large_dead[i] = hide_ptr(p);
		if (i % 2)
			tri_free(p);
	}
	return 0;
}

/* New objects read zero; returns how many landed on a clobbered slot. */
static NOINLINE long clob_reuse(void)
{
	long reused = 0;
	for (size_t i = 0; i < 4 * CLOB_N; i++) {
		char *p = tri_malloc(CLOB_SIZE);
		char *t = tri_malloc_noscan(16);
		if (!p || !t || first_nonzero(p, CLOB_SIZE) != CLOB_SIZE ||
		    first_nonzero(t, 16) != 16) {
			printf("FAIL: new object %zu: %s\n", i,
			       p && t ? "not zeroed" : "allocation failed");
			return -1;
		}
		for (size_t j = 0; j < CLOB_N; j++)
			reused += hide_ptr(p) == g_clob_dead[j] ||
			          hide_ptr(t) == g_tiny_dead[j];
	}
	return reused;
}

static int child_clobber(int expect)
{
	if (clob_fill()) {
		printf("FAIL: allocation failed\n");
		return 1;
	}
	clear_stack();
	tri_collect(); /* sweeps everything: explicit frees folded in too */
	size_t hits[2] = {0, 0}, tries[2] = {0, 0}; /* [0] unreachable */
	for (size_t i = 0; i < CLOB_N; i++) {
		hits[i % 2] += all_clobbered(g_clob_dead[i], CLOB_SIZE);
		tries[i % 2]++;
		if (g_tiny_dead[i]) {
			hits[i % 2] += all_clobbered(g_tiny_dead[i], 16);
			tries[i % 2]++;
		}
	}
	for (size_t i = 0; i < CLOB_NLARGE; i++) {
		hits[i % 2] += all_clobbered(g_large_dead[i], CLOB_LARGE);
		tries[i % 2]++;
	}
	size_t want0 = expect ? tries[0] - 2 : 0, want1 = expect ? tries[1] : 0;
	if (expect ? hits[0] < want0 || hits[1] < want1
	           : hits[0] || hits[1]) {
		printf("FAIL: %zu of %zu unreachable and %zu of %zu freed "
		       "objects read 0xdeadbeef (clobberfree=%d)\n",
		       hits[0], tries[0], hits[1], tries[1], expect);
		return 1;
	}
	for (size_t i = 0; i < CLOB_N; i++)
		if (tri_base(g_clob_keep[i]) != g_clob_keep[i] ||
		    first_nonzero(g_clob_keep[i], CLOB_SIZE) != CLOB_SIZE) {
			printf("FAIL: kept object %zu lost or changed\n", i);
			return 1;
		}
	long reused = clob_reuse();
	if (reused < 0)
		return 1;
	if (reused == 0) {
		printf("FAIL: no new object reused a freed slot\n");
		return 1;
	}
	printf("ok clobbered=%zu reused=%ld\n", hits[0] + hits[1], reused);
	return 0;
}

static int child_main(int argc, char **argv)
{
	int code = 2;
	if (argc == 3 && strcmp(argv[0], "gc") == 0)
		code = child_gc(strtoul(argv[1], NULL, 10), atoi(argv[2]));
	else if (argc == 1 && strcmp(argv[0], "stop-signals") == 0)
		code = child_stop_signals();
	else if (argc == 1 && strcmp(argv[0], "stop-signals-busy") == 0)
		code = child_stop_signals_busy();
	else if (argc == 2 && strcmp(argv[0], "clobber") == 0)
		code = child_clobber(atoi(argv[1]));
	else
		printf("FAIL: bad child arguments\n");
	fflush(stdout);
	return code;
}

/* ------------------------------------------------------------------------ */
/* running a child                                                           */
/* ------------------------------------------------------------------------ */

struct child {
	char out[8192];
	char err[65536];
	size_t out_len, err_len;
	int status;
};

/* The last 1500 bytes of s: Check refuses failure messages over a few
 * KiB (and exits), so captured output is clipped before it is quoted. */
static const char *clip(const char *s)
{
	size_t n = strlen(s);
	return n > 1500 ? s + n - 1500 : s;
}

static int env_is_ours(const char *e)
{
	return strncmp(e, "GOGC=", 5) == 0 || strncmp(e, "GODEBUG=", 8) == 0 ||
	       strncmp(e, "GOMEMLIMIT=", 11) == 0;
}

/* Run "--child" + args (NULL-terminated) with env_add (NULL-terminated)
 * added to this environment less GOGC, GODEBUG and GOMEMLIMIT. */
static void run_child(struct child *c, const char *const *env_add,
                      const char *const *args)
{
	static char *envp[1024];
	static char *argv[16];
	size_t ne = 0, na = 0;
	for (char **e = environ; *e && ne < NELEMS(envp) - 16; e++)
		if (!env_is_ours(*e))
			envp[ne++] = *e;
	for (; env_add && *env_add && ne < NELEMS(envp) - 1; env_add++)
		envp[ne++] = (char *)*env_add;
	envp[ne] = NULL;
	argv[na++] = "test_gcenv";
	argv[na++] = "--child";
	for (; *args && na < NELEMS(argv) - 1; args++)
		argv[na++] = (char *)*args;
	argv[na] = NULL;

	int po[2], pe[2];
	ck_assert_int_eq(pipe(po), 0);
	ck_assert_int_eq(pipe(pe), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		execve("/proc/self/exe", argv, envp);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	memset(c, 0, sizeof *c);
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	char *buf[2] = {c->out, c->err};
	size_t cap[2] = {sizeof c->out - 1, sizeof c->err - 1};
	size_t *len[2] = {&c->out_len, &c->err_len};
	int open_fds = 2;
	while (open_fds > 0) {
		if (poll(fds, 2, -1) < 0) {
			ck_assert_msg(errno == EINTR, "poll: %s",
			              strerror(errno));
			continue;
		}
		for (int k = 0; k < 2; k++) {
			if (fds[k].fd < 0 || !fds[k].revents)
				continue;
			char tmp[4096];
			ssize_t r = read(fds[k].fd, tmp, sizeof tmp);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				close(fds[k].fd);
				fds[k].fd = -1;
				open_fds--;
				continue;
			}
			size_t room = cap[k] - *len[k];
			size_t n = (size_t)r < room ? (size_t)r : room;
			memcpy(buf[k] + *len[k], tmp, n);
			*len[k] += n;
		}
	}
	ck_assert_int_eq(waitpid(pid, &c->status, 0), pid);
}

static void assert_exit0(const struct child *c)
{
	ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
	              "child: status 0x%x (%s %d)\nstdout: %s\nstderr: %s",
	              c->status,
	              WIFSIGNALED(c->status) ? "signal" : "exit code",
	              WIFSIGNALED(c->status) ? WTERMSIG(c->status)
	                                     : WEXITSTATUS(c->status),
	              clip(c->out), clip(c->err));
}

struct gc_out {
	unsigned long long num_gc, num_forced_gc;
	int gc_percent;
};

static struct gc_out run_gc(const char *const *env_add, const char *mib,
                            const char *ncollect, struct child *c)
{
	const char *args[] = {"gc", mib, ncollect, NULL};
	struct gc_out g;
	run_child(c, env_add, args);
	assert_exit0(c);
	const char *line = strstr(c->out, "num_gc=");
	ck_assert_msg(line != NULL && sscanf(line,
	                                     "num_gc=%llu num_forced_gc=%llu "
	                                     "gc_percent=%d",
	                                     &g.num_gc, &g.num_forced_gc,
	                                     &g.gc_percent) == 3,
	              "child printed no statistics: \"%s\"", clip(c->out));
	return g;
}

/* ------------------------------------------------------------------------ */
/* stderr: gctrace lines and warnings                                        */
/* ------------------------------------------------------------------------ */

#define NUM "[0-9]+"
#define DEC "[0-9]+(\\.[0-9]+)?"
static const char gctrace_ere[] =
    "^gc (" NUM ") @(" NUM "\\.[0-9]{3})s (" NUM ")%: "
    "(" DEC ")\\+(" DEC ")\\+(" DEC ") ms clock, "
    "(" DEC ")\\+(" DEC ")/(" DEC ")/(" DEC ")\\+(" DEC ") ms cpu, "
    "(" NUM ")->(" NUM ")->(" NUM ") MB, (" NUM ") MB goal, "
    "(" NUM ") MB stacks, (" NUM ") MB globals, (" NUM ") P"
    "( \\(forced\\))?$";
/* The tracked mode's lines (docs/gctrace.md): the method, once at start,
 * and a second line after each tracked cycle's. */
static const char tracking_ere[] = "^gc tracking: [a-z-]+( \\(.*\\))?"
                                   "(, stop-the-world)?$";
static const char tracked_ere[] =
    "^gc (" NUM ") tracked: (" DEC ")\\+(" DEC ") ms protect\\+unprotect, "
    "(" NUM ") rounds? ((" NUM "|all)(\\+(" NUM "|all))*) pages in (" DEC
    ") ms, "
    "final (" NUM "|all) pages, (" DEC ")\\+(" DEC ")\\+(" DEC ")\\+(" DEC
    ") ms stop\\+pages\\+roots\\+drain, (" NUM "|all) write faults$";

struct trace {
	int gc_lines;           /* lines starting "gc " (all well formed) */
	int forced;             /* of which end in " (forced)" */
	int last_forced;        /* the last gc line is forced */
	int warn_lines;         /* lines starting "tricolor: " */
	int tracking_lines;     /* "gc tracking: ..." */
	int tracked_lines;      /* "gc N tracked: ..." */
	unsigned long min_goal; /* smallest "N MB goal" */
};

/* Check every line of the child's stderr: a gctrace line in Go's format
 * (numbered from 1 without gaps, @T never decreasing) or a "tricolor: "
 * warning; nothing else. */
static struct trace parse_stderr(const struct child *c)
{
	struct trace t = {0, 0, 0, 0, 0, 0, (unsigned long)-1};
	regex_t re, re_tracking, re_tracked;
	int rc = regcomp(&re, gctrace_ere, REG_EXTENDED | REG_NOSUB);
	ck_assert_msg(rc == 0, "regcomp failed (%d)", rc);
	rc = regcomp(&re_tracking, tracking_ere, REG_EXTENDED | REG_NOSUB);
	ck_assert_msg(rc == 0, "regcomp failed (%d)", rc);
	rc = regcomp(&re_tracked, tracked_ere, REG_EXTENDED | REG_NOSUB);
	ck_assert_msg(rc == 0, "regcomp failed (%d)", rc);
	ck_assert_msg(c->err_len == 0 || c->err[c->err_len - 1] == '\n',
	              "stderr does not end with a newline: \"%s\"",
	              clip(c->err));
	unsigned long long want_n = 1;
	double last_t = 0;
	const char *p = c->err;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p);
		char line[1024];
		ck_assert_msg(n < sizeof line, "stderr line too long: \"%s\"",
		              clip(c->err));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (strncmp(line, "tricolor: ", 10) == 0) {
			t.warn_lines++;
			continue;
		}
		if (regexec(&re_tracking, line, 0, NULL, 0) == 0) {
			ck_assert_msg(t.gc_lines == 0 && !t.tracking_lines,
			              "\"%s\" not first, or twice", line);
			t.tracking_lines++;
			continue;
		}
		if (regexec(&re_tracked, line, 0, NULL, 0) == 0) {
			unsigned long long num;
			ck_assert(sscanf(line, "gc %llu", &num) == 1);
			ck_assert_msg(num + 1 == want_n, "\"%s\" does not "
			              "follow gc line %llu", line, num);
			t.tracked_lines++;
			continue;
		}
		ck_assert_msg(strncmp(line, "gc ", 3) == 0,
		              "unexpected line on stderr: \"%s\"\nstderr: %s",
		              line, clip(c->err));
		ck_assert_msg(regexec(&re, line, 0, NULL, 0) == 0,
		              "gctrace line not in Go's format: \"%s\"", line);
		unsigned long long num;
		double at;
		ck_assert(sscanf(line, "gc %llu @%lfs", &num, &at) == 2);
		ck_assert_msg(
		    num == want_n,
		    "gctrace line numbered %llu, expected %llu: \"%s\"", num,
		    want_n, line);
		ck_assert_msg(at >= last_t,
		              "gctrace @%.3fs after @%.3fs: \"%s\"", at, last_t,
		              line);
		want_n++;
		last_t = at;
		t.gc_lines++;
		const char *fs = " (forced)";
		t.last_forced =
		    n >= strlen(fs) && strcmp(line + n - strlen(fs), fs) == 0;
		t.forced += t.last_forced;
		const char *g = strstr(line, " MB goal");
		ck_assert_ptr_nonnull(g);
		while (g > line && g[-1] >= '0' && g[-1] <= '9')
			g--;
		unsigned long goal = strtoul(g, NULL, 10);
		if (goal < t.min_goal)
			t.min_goal = goal;
	}
	regfree(&re);
	regfree(&re_tracking);
	regfree(&re_tracked);
	return t;
}

/* ------------------------------------------------------------------------ */
/* tests                                                                     */
/* ------------------------------------------------------------------------ */

/* The ERE itself accepts real Go 1.19 lines and rejects near misses. */
START_TEST(gctrace_regex_self_check)
{
	static const char *good[] = {
	    ("gc 1 @0.012s 2%: 0.018+1.3+0.005 ms clock, 0.073+0.35/1.1/2.5+"
	     "0.020 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, "
	     "4 P"),
	    ("gc 12 @3.500s 0%: 10+125+0.12 ms clock, 20+1/2/3+0.5 ms cpu, "
	     "100->120->60 MB, 121 MB goal, 1 MB stacks, 2 MB globals, 2 P "
	     "(forced)"),
	};
	static const char *bad[] = {
	    ("gc 1 @0.01s 2%: 0.018+1.3+0.005 ms clock, 0.073+0.35/1.1/2.5+"
	     "0.020 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, "
	     "4 P"),
	    ("gc 1 @0.012s 2%: 0.018+1.3+0.005 ms clock, 0.073+0.35/1.1/2.5+"
	     "0.020 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, "
	     "4 P (forced) "),
	    ("gc 1 @0.012s 2%: 0.018+1.3 ms clock, 0.073+0.35/1.1/2.5+"
	     "0.020 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, "
	     "4 P"),
	    ("gc 1 @0.012s 2%: 0.018+1.3+0.005 ms clock, 0.073+0.35/1.1/2.5+"
	     "0.020 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 4 P"),
	};
	regex_t re;
	ck_assert_int_eq(regcomp(&re, gctrace_ere, REG_EXTENDED | REG_NOSUB),
	                 0);
	for (size_t i = 0; i < NELEMS(good); i++)
		ck_assert_msg(regexec(&re, good[i], 0, NULL, 0) == 0,
		              "rejects \"%s\"", good[i]);
	for (size_t i = 0; i < NELEMS(bad); i++)
		ck_assert_msg(regexec(&re, bad[i], 0, NULL, 0) != 0,
		              "accepts \"%s\"", bad[i]);
	regfree(&re);
	static const char *tracked[] = {
	    ("gc 7 tracked: 2.1+38 ms protect+unprotect, 3 rounds 4120+512+63 "
	     "pages in 14 ms, final 21 pages, 0.12+0.10+0.016+0.008 ms "
	     "stop+pages+roots+drain, 4716 write faults"),
	    ("gc 1 tracked: 0.40+3.7 ms protect+unprotect, 0 rounds 0 pages in "
	     "0 ms, final all pages, 0.058+0.9+0.011+0.005 ms "
	     "stop+pages+roots+drain, all write faults"),
	};
	ck_assert_int_eq(
	    regcomp(&re, tracked_ere, REG_EXTENDED | REG_NOSUB), 0);
	for (size_t i = 0; i < NELEMS(tracked); i++)
		ck_assert_msg(regexec(&re, tracked[i], 0, NULL, 0) == 0,
		              "rejects \"%s\"", tracked[i]);
	regfree(&re);
}
END_TEST

START_TEST(gctrace_forced_only)
{
	static const char *env[] = {"GODEBUG=gctrace=1", "GOGC=off", NULL};
	struct child c;
	struct gc_out g = run_gc(env, "0", "3", &c);
	struct trace t = parse_stderr(&c);
	ck_assert_msg(t.warn_lines == 0, "warnings: %s", clip(c.err));
	ck_assert_msg(t.gc_lines == 3 && t.forced == 3,
	              "3 tri_collect with GOGC=off: %d gctrace lines, %d "
	              "forced\nstderr: %s",
	              t.gc_lines, t.forced, clip(c.err));
	/* the method, once; then a tracked line per cycle, or none where
	 * the default mode stops the world */
	ck_assert_msg(t.tracking_lines == 1 &&
	                  (t.tracked_lines == 0 ||
	                   t.tracked_lines == t.gc_lines) &&
	                  (t.tracked_lines == 0) ==
	                      (strstr(c.err, ", stop-the-world\n") != NULL),
	              "tracking lines %d, tracked lines %d\nstderr: %s",
	              t.tracking_lines, t.tracked_lines, clip(c.err));
	ck_assert_msg(g.num_gc == 3 && g.num_forced_gc == 3 &&
	                  g.gc_percent == -1,
	              "num_gc %llu num_forced_gc %llu gc_percent %d", g.num_gc,
	              g.num_forced_gc, g.gc_percent);
}
END_TEST

START_TEST(gctrace_automatic)
{
	static const char *env[] = {"GODEBUG=gctrace=1", NULL};
	struct child c;
	struct gc_out g = run_gc(env, "64", "1", &c);
	struct trace t = parse_stderr(&c);
	ck_assert_msg(t.warn_lines == 0, "warnings: %s", clip(c.err));
	ck_assert_msg(g.gc_percent == 100, "gc_percent %d", g.gc_percent);
	ck_assert_msg(g.num_gc >= 2 && g.num_forced_gc == 1,
	              "64 MiB of garbage with GOGC=100, then tri_collect: "
	              "num_gc %llu, num_forced_gc %llu",
	              g.num_gc, g.num_forced_gc);
	ck_assert_msg((unsigned long long)t.gc_lines == g.num_gc,
	              "%d gctrace lines for %llu cycles\nstderr: %s",
	              t.gc_lines, g.num_gc, clip(c.err));
	ck_assert_msg(t.forced == 1 && t.last_forced,
	              "only the last line (tri_collect) must be forced: %d "
	              "forced, last %s\nstderr: %s",
	              t.forced, t.last_forced ? "forced" : "not forced",
	              clip(c.err));
	ck_assert_msg(t.min_goal >= 4,
	              "a goal below Go's 4 MB minimum with GOGC=100: %lu MB",
	              t.min_goal);
}
END_TEST

START_TEST(gctrace_off_by_default)
{
	struct child c;
	struct gc_out g = run_gc(NULL, "16", "2", &c);
	ck_assert_msg(c.err_len == 0, "stderr without GODEBUG: \"%s\"",
	              clip(c.err));
	ck_assert_msg(g.num_forced_gc == 2, "num_forced_gc %llu",
	              g.num_forced_gc);
}
END_TEST

START_TEST(gogc_off_env)
{
	static const char *env[] = {"GOGC=off", "GODEBUG=gctrace=1", NULL};
	struct child c;
	struct gc_out g = run_gc(env, "64", "0", &c);
	struct trace t = parse_stderr(&c); /* the tracking line at most */
	ck_assert_msg(t.gc_lines == 0 && t.tracked_lines == 0 &&
	              t.warn_lines == 0,
	              "GOGC=off and 64 MiB of garbage: stderr \"%s\"",
	              clip(c.err));
	ck_assert_msg(g.num_gc == 0 && g.gc_percent == -1,
	              "GOGC=off: num_gc %llu, gc_percent %d", g.num_gc,
	              g.gc_percent);
}
END_TEST

START_TEST(gogc_number_env)
{
	static const struct {
		const char *env;
		int pct;
	} cases[] = {{"GOGC=50", 50}, {"GOGC=250", 250}, {"GOGC=", 100}};
	for (size_t i = 0; i < NELEMS(cases); i++) {
		const char *env[] = {cases[i].env, NULL};
		struct child c;
		struct gc_out g = run_gc(env, "0", "1", &c);
		ck_assert_msg(g.gc_percent == cases[i].pct,
		              "%s: tri_set_gc_percent reported %d, expected %d",
		              cases[i].env, g.gc_percent, cases[i].pct);
		ck_assert_msg(c.err_len == 0, "%s: stderr \"%s\"", cases[i].env,
		              clip(c.err));
	}
}
END_TEST

/* One warning line, the default, and a working collector; with gctrace on
 * (trace), one line per cycle, the tri_collect ones forced. */
static struct gc_out assert_one_warning(const char *env_var,
                                        const char *ncollect, int trace)
{
	const char *env[] = {env_var, NULL};
	struct child c;
	struct gc_out g = run_gc(env, "8", ncollect, &c);
	struct trace t = parse_stderr(&c);
	unsigned long long want_forced = strtoull(ncollect, NULL, 10);
	ck_assert_msg(t.warn_lines == 1,
	              "%s: %d \"tricolor: \" warning lines, expected 1\n"
	              "stderr: %s",
	              env_var, t.warn_lines, clip(c.err));
	ck_assert_msg(g.num_forced_gc == want_forced, "%s: num_forced_gc %llu",
	              env_var, g.num_forced_gc);
	if (trace)
		ck_assert_msg(
		    (unsigned long long)t.gc_lines == g.num_gc &&
		        (unsigned long long)t.forced == want_forced,
		    "%s: %d gctrace lines (%d forced) for %llu cycles "
		    "(%llu forced)\nstderr: %s",
		    env_var, t.gc_lines, t.forced, g.num_gc, g.num_forced_gc,
		    clip(c.err));
	else
		ck_assert_msg(t.gc_lines == 0,
		              "%s: %d gctrace lines without gctrace=1\n"
		              "stderr: %s",
		              env_var, t.gc_lines, clip(c.err));
	return g;
}

START_TEST(gogc_bad_env)
{
	static const char *vals[] = {"GOGC=abc", "GOGC=12abc", "GOGC=of"};
	for (size_t i = 0; i < NELEMS(vals); i++) {
		struct gc_out g = assert_one_warning(vals[i], "1", 0);
		ck_assert_msg(g.gc_percent == 100,
		              "%s: gc_percent %d, expected the default 100",
		              vals[i], g.gc_percent);
	}
}
END_TEST

START_TEST(godebug_bad_value)
{
	/* gctrace stays at its default, 0: no gc lines. */
	assert_one_warning("GODEBUG=gctrace=x", "2", 0);
}
END_TEST

START_TEST(godebug_unknown_key)
{
	assert_one_warning("GODEBUG=nosuchkey=1", "2", 0);
	/* The other keys are still read. */
	assert_one_warning("GODEBUG=nosuchkey=1,gctrace=1", "2", 1);
}
END_TEST

START_TEST(stop_signals)
{
	static const char *args[] = {"stop-signals", NULL};
	struct child c;
	run_child(&c, NULL, args);
	ck_assert_msg(!(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGALRM),
	              "the child hung in a cycle after tri_set_stop_signals("
	              "SIGUSR1, SIGUSR2) with SIGPWR and SIGXCPU blocked\n"
	              "stdout: %s",
	              clip(c.out));
	assert_exit0(&c);
	ck_assert_msg(strstr(c.out, "ok\n") != NULL, "stdout: %s", clip(c.out));
}
END_TEST

START_TEST(stop_signals_busy)
{
	static const char *args[] = {"stop-signals-busy", NULL};
	struct child c;
	run_child(&c, NULL, args);
	assert_exit0(&c);
	ck_assert_msg(strstr(c.out, "ok\n") != NULL, "stdout: %s", clip(c.out));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* GODEBUG=clobberfree                                                       */
/* ------------------------------------------------------------------------ */

START_TEST(clobberfree_on)
{
	/* GOGC=off: no scavenger goal, so no freed page is given back to
	 * the OS (reading zero) before the child reads it. */
	static const char *env[] = {"GODEBUG=clobberfree=1", "GOGC=off",
	                            NULL};
	static const char *args[] = {"clobber", "1", NULL};
	struct child c;
	run_child(&c, env, args);
	assert_exit0(&c);
	ck_assert_msg(strstr(c.out, "ok clobbered=") != NULL, "stdout: %s",
	              clip(c.out));
}
END_TEST

START_TEST(clobberfree_off)
{
	static const char *args[] = {"clobber", "0", NULL};
	struct child c;
	run_child(&c, NULL, args);
	assert_exit0(&c);
	ck_assert_msg(strstr(c.out, "ok clobbered=0 ") != NULL, "stdout: %s",
	              clip(c.out));
}
END_TEST

/* ------------------------------------------------------------------------ */
/* suite                                                                     */
/* ------------------------------------------------------------------------ */

static Suite *gcenv_suite(void)
{
	Suite *s = suite_create("tricolor-gcenv");
	TCase *tc;

	tc = tcase(s, "gctrace", 300);
	tcase_add_test(tc, gctrace_regex_self_check);
	tcase_add_test(tc, gctrace_forced_only);
	tcase_add_test(tc, gctrace_automatic);
	tcase_add_test(tc, gctrace_off_by_default);

	tc = tcase(s, "gogc", 300);
	tcase_add_test(tc, gogc_off_env);
	tcase_add_test(tc, gogc_number_env);
	tcase_add_test(tc, gogc_bad_env);

	tc = tcase(s, "godebug", 300);
	tcase_add_test(tc, godebug_bad_value);
	tcase_add_test(tc, godebug_unknown_key);
	tcase_add_test(tc, clobberfree_on);
	tcase_add_test(tc, clobberfree_off);

	tc = tcase(s, "signals", 300);
	tcase_add_test(tc, stop_signals);
	tcase_add_test(tc, stop_signals_busy);

	return s;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--child") == 0)
		return child_main(argc - 2, argv + 2);
	return run_suite(gcenv_suite());
}

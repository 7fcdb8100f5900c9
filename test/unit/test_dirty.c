/*
 * test_dirty.c -- kernel dirty-page tracking (barrier/dirty.h), on
 * mappings of the test's own: each method reports exactly the pages
 * written since the epoch began or the last collect, in runs; untouched
 * and released pages count once written; writes by the kernel count; a
 * scan larger than its buffer takes several calls; a writer running
 * beside the collects loses no write (I3, userfaultfd); a fork child
 * tracks again; userfaultfd refused by a seccomp filter falls back to
 * soft-dirty with a reason; a range starts tracked protected (I7); a peek
 * leaves the pages written, an unprotect makes them all written; and no
 * reported address stays in the clear in the program's data or bss. A
 * method this kernel lacks skips its tests with a message.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../barrier/dirty.h"
#include "os.h"

#define PG OS_PAGE_SIZE
#define MAXPAGES 256

/* What a collect reported: pages of the region, runs in order. */
typedef struct seen {
	uintptr_t base;
	unsigned npages;
	unsigned char page[MAXPAGES];
	unsigned runs;
	uintptr_t last_hi;
} seen;

static void record(uintptr_t lo, uintptr_t hi, void *arg)
{
	seen *s = arg;
	ck_assert_uint_eq(lo % PG, 0);
	ck_assert_uint_eq(hi % PG, 0);
	ck_assert_uint_lt(lo, hi);
	ck_assert_uint_ge(lo, s->last_hi); /* in address order */
	s->last_hi = hi;
	s->runs++;
	for (uintptr_t a = lo; a < hi; a += PG) {
		ck_assert_uint_ge(a, s->base);
		ck_assert_uint_lt((a - s->base) / PG, s->npages);
		s->page[(a - s->base) / PG]++;
	}
}

static char *region(unsigned npages, bool populate)
{
	char *p = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	if (populate)
		memset(p, 0, npages * PG);
	return p;
}

/* The test's own probe, so that dirty.c cannot skip its own tests by
 * failing: does this kernel give asynchronous write-protect? */
static bool kernel_has_uffd_async(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* user only */);
	if (fd < 0)
		return false;
	struct uffdio_api api = {.api = UFFD_API, .features = 1u << 15};
	bool ok = ioctl(fd, UFFDIO_API, &api) == 0;
	close(fd);
	return ok;
}

/* Choose m, or skip (false) where this kernel lacks it. */
static bool use(dirty_method m)
{
	if (dirty_init(m) == m)
		return true;
	ck_assert_msg(m != DIRTY_UFFD || !kernel_has_uffd_async(),
	              "the kernel has async write-protect, dirty.c says: %s",
	              dirty_reason());
	fprintf(stderr, "test_dirty: %s not available here (%s): skipped\n",
	        dirty_method_name(m), dirty_reason());
	return false;
}

/* With method m (or NULL: skipped), a region of npages, tracked and
 * protected. */
static char *watched(dirty_method m, unsigned npages, bool populate)
{
	if (m != DIRTY_NONE && !use(m))
		return NULL;
	char *p = region(npages, populate);
	ck_assert(dirty_track((uintptr_t)p, (uintptr_t)p + npages * PG));
	ck_assert(dirty_protect_all());
	return p;
}

/* Collect into a fresh record of p's npages; returns it. */
static seen collect(char *p, unsigned npages, long *pages)
{
	seen s = {.base = (uintptr_t)p, .npages = npages};
	*pages = dirty_collect(record, &s);
	return s;
}

static void expect_pages(const seen *s, const unsigned *want, unsigned n)
{
	unsigned k = 0;
	for (unsigned i = 0; i < s->npages; i++) {
		bool w = k < n && want[k] == i;
		ck_assert_msg(s->page[i] == (w ? 1 : 0),
		              "page %u reported %u times, want %u", i,
		              s->page[i], w ? 1 : 0);
		k += w;
	}
}

static void exact_pages(dirty_method m)
{
	char *p = watched(m, 64, true);
	if (!p)
		return;
	long n;
	seen s = collect(p, 64, &n);
	ck_assert_int_eq(n, 0);
	p[3 * PG] = 1;
	p[10 * PG + 5] = 1;
	p[11 * PG] = 1;
	p[12 * PG + PG - 1] = 1;
	p[63 * PG] = 1;
	s = collect(p, 64, &n);
	ck_assert_int_eq(n, 5);
	ck_assert_uint_eq(s.runs, 3); /* [3], [10, 13), [63] */
	expect_pages(&s, (unsigned[]){3, 10, 11, 12, 63}, 5);
	s = collect(p, 64, &n); /* clean again */
	ck_assert_int_eq(n, 0);
	p[3 * PG + 8] = 2;
	s = collect(p, 64, &n);
	ck_assert_int_eq(n, 1);
	expect_pages(&s, (unsigned[]){3}, 1);
	dirty_stats st;
	dirty_read_stats(&st);
	ck_assert_uint_eq(st.collects, 4);
	ck_assert_uint_eq(st.pages, 6);
	ck_assert_uint_eq(st.protects, 1);
}

START_TEST(uffd_reports_exactly_the_written_pages)
{
	exact_pages(DIRTY_UFFD);
}
END_TEST

START_TEST(soft_reports_exactly_the_written_pages)
{
	exact_pages(DIRTY_SOFT);
}
END_TEST

/* I5: a page never populated, or given back with MADV_DONTNEED, is
 * reported once it is written. */
static void fresh_pages(dirty_method m)
{
	char *p = watched(m, 16, false);
	if (!p)
		return;
	long n;
	seen s = collect(p, 16, &n);
	ck_assert_int_eq(n, 0);
	p[5 * PG] = 1; /* first touch */
	s = collect(p, 16, &n);
	ck_assert_uint_eq(s.page[5], 1);
	ck_assert_int_ge(n, 1);
	ck_assert_int_eq(madvise(p + 5 * PG, PG, MADV_DONTNEED), 0);
	(void)collect(p, 16, &n); /* a release may read as written */
	p[5 * PG] = 2;
	s = collect(p, 16, &n);
	ck_assert_uint_eq(s.page[5], 1);
}

START_TEST(uffd_fresh_and_released_pages)
{
	fresh_pages(DIRTY_UFFD);
}
END_TEST

START_TEST(soft_fresh_and_released_pages)
{
	fresh_pages(DIRTY_SOFT);
}
END_TEST

/* A write the kernel makes (read(2) into a protected page) counts. */
START_TEST(kernel_writes_count)
{
	char *p = watched(DIRTY_UFFD, 8, true);
	if (!p)
		return;
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], "pointer!", 8), 8);
	ck_assert_int_eq(read(fd[0], p + 7 * PG, 8), 8);
	ck_assert_int_eq(memcmp(p + 7 * PG, "pointer!", 8), 0);
	long n;
	seen s = collect(p, 8, &n);
	ck_assert_int_eq(n, 1);
	expect_pages(&s, (unsigned[]){7}, 1);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/* More runs than the scan buffer holds: the walk resumes where the
 * kernel stopped, and reports every run once. */
START_TEST(many_runs_take_many_calls)
{
	char *p = watched(DIRTY_UFFD, 64, true);
	if (!p)
		return;
	dirty_set_scan_regions(2);
	for (unsigned i = 0; i < 64; i += 2)
		p[i * PG] = 1;
	long n;
	seen s = collect(p, 64, &n);
	ck_assert_int_eq(n, 32);
	ck_assert_uint_eq(s.runs, 32);
	for (unsigned i = 0; i < 64; i++)
		ck_assert_uint_eq(s.page[i], i % 2 == 0);
	dirty_set_scan_regions(0);
}
END_TEST

/* Two tracked ranges, the second contiguous with the first (merged,
 * I2) and a third elsewhere: all are collected. */
START_TEST(ranges_merge_and_add_up)
{
	if (!use(DIRTY_UFFD))
		return;
	char *p = region(48, true);
	ck_assert(dirty_track((uintptr_t)p, (uintptr_t)p + 16 * PG));
	ck_assert(dirty_track((uintptr_t)p + 16 * PG,
	                      (uintptr_t)p + 32 * PG));
	ck_assert(dirty_track((uintptr_t)p + 40 * PG,
	                      (uintptr_t)p + 48 * PG));
	ck_assert(dirty_protect_all());
	p[15 * PG] = p[16 * PG] = p[35 * PG] = p[47 * PG] = 1;
	long n;
	seen s = collect(p, 48, &n);
	ck_assert_int_eq(n, 3); /* page 35 is not tracked */
	expect_pages(&s, (unsigned[]){15, 16, 47}, 3);
}
END_TEST

/* I3: a writer runs while the collects run. Each write to page k is
 * made after collect number e has ended (e = collects_done when the
 * write starts), so a collect numbered e or later must report k. */
#define RACE_PAGES 4096
static atomic_word collects_done, writer_stop, writes;
static uintptr_t must_be_seen_from[RACE_PAGES]; /* writer's; +1, 0: never */

static void *writer(void *arg)
{
	volatile char *p = arg;
	unsigned long r = 88172645463325252ul;
	while (!atomic_load_acquire(&writer_stop)) {
		unsigned k = (unsigned)(unit_rand(&r) % RACE_PAGES);
		uintptr_t e = atomic_load_acquire(&collects_done);
		p[k * PG + unit_rand(&r) % PG] = 1;
		must_be_seen_from[k] = e + 1;
		counter_add_local(&writes, 1);
	}
	return NULL;
}

typedef struct last_seen {
	uintptr_t base, number;          /* this collect's number */
	uintptr_t last[RACE_PAGES];      /* number + 1 of the last report */
} last_seen;

static void note_last(uintptr_t lo, uintptr_t hi, void *arg)
{
	last_seen *ls = arg;
	for (uintptr_t a = lo; a < hi; a += PG)
		ls->last[(a - ls->base) / PG] = ls->number + 1;
}

START_TEST(a_concurrent_writer_loses_nothing)
{
	char *p = watched(DIRTY_UFFD, RACE_PAGES, true);
	if (!p)
		return;
	static last_seen ls;
	ls.base = (uintptr_t)p;
	pthread_t t;
	ck_assert_int_eq(pthread_create(&t, NULL, writer, p), 0);
	/* Collect until the writer has made 40,000 writes (10 s at most),
	 * letting it make a few between two collects: on a machine where
	 * each re-protection interrupts the writer's CPU, back-to-back
	 * collects would starve it. */
	uint64_t end = clock_ns(CLOCK_MONOTONIC) + 10000000000u;
	unsigned i = 0;
	uintptr_t w;
	while ((w = atomic_load_relaxed(&writes)) < 40000 &&
	       clock_ns(CLOCK_MONOTONIC) < end) {
		ls.number = i;
		ck_assert_int_ge(dirty_collect(note_last, &ls), 0);
		atomic_store_release(&collects_done, ++i);
		uint64_t pace = clock_ns(CLOCK_MONOTONIC) + 1000000u;
		while (atomic_load_relaxed(&writes) < w + 16 &&
		       clock_ns(CLOCK_MONOTONIC) < pace)
			;
	}
	atomic_store_release(&writer_stop, 1);
	pthread_join(t, NULL);
	ls.number = i; /* the last writes: one collect after the writer */
	ck_assert_int_ge(dirty_collect(note_last, &ls), 0);
	unsigned written = 0;
	for (unsigned k = 0; k < RACE_PAGES; k++) {
		if (!must_be_seen_from[k])
			continue;
		written++;
		ck_assert_msg(ls.last[k] >= must_be_seen_from[k],
		              "page %u: written after collect %lu ended, "
		              "last reported by collect %ld", k,
		              (unsigned long)must_be_seen_from[k] - 1,
		              (long)ls.last[k] - 1);
	}
	ck_assert_uint_gt(written, RACE_PAGES / 2); /* 40,000 random writes */
}
END_TEST

/* A fork child inherits none of the kernel's tracking; after
 * dirty_fork_child it tracks its own copy. */
START_TEST(fork_child_tracks_again)
{
	char *p = watched(DIRTY_UFFD, 8, true);
	if (!p)
		return;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dirty_fork_child();
		int bad = dirty_method_in_use() != DIRTY_UFFD ||
		          !dirty_protect_all();
		long n = 0;
		seen s = {.base = (uintptr_t)p, .npages = 8};
		p[2 * PG] = 1;
		n = dirty_collect(record, &s);
		bad |= n != 1 || s.page[2] != 1;
		p[2 * PG] = 2;
		s.last_hi = 0;
		n = dirty_collect(record, &s);
		bad |= n != 1 || s.page[2] != 2;
		_exit(bad);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	long n; /* the parent is untouched: nothing written here */
	(void)collect(p, 8, &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* userfaultfd refused (a seccomp filter, as in a container): auto
 * falls back to soft-dirty and says why. */
START_TEST(refused_userfaultfd_falls_back)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		         offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_userfaultfd, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = 4, .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
		fprintf(stderr, "test_dirty: no seccomp filter here (%s): "
		        "skipped\n", strerror(errno));
		return;
	}
	dirty_method m = dirty_init(DIRTY_AUTO);
	ck_assert_int_ne(m, DIRTY_UFFD);
	ck_assert_msg(strstr(dirty_reason(), "userfaultfd: Operation not "
	                                     "permitted") != NULL,
	              "reason: %s", dirty_reason());
	ck_assert_int_eq(dirty_init(DIRTY_UFFD), DIRTY_NONE);
}
END_TEST

START_TEST(none_tracks_nothing)
{
	ck_assert_int_eq(dirty_init(DIRTY_NONE), DIRTY_NONE);
	ck_assert_str_eq(dirty_method_name(DIRTY_NONE), "none");
	char *p = watched(DIRTY_NONE, 4, true);
	long n;
	(void)collect(p, 4, &n);
	ck_assert_int_eq(n, -1); /* every page must count as written */
}
END_TEST

START_TEST(a_range_starts_tracked_protected)
{
	if (!use(DIRTY_UFFD))
		return;
	char *p = region(8, true); /* populated before it is tracked */
	ck_assert(dirty_track((uintptr_t)p, (uintptr_t)p + 8 * PG));
	long n;
	seen s = collect(p, 8, &n);
	ck_assert_int_eq(n, 0); /* I7: without dirty_protect_all */
	p[3 * PG] = 1;
	s = collect(p, 8, &n);
	ck_assert_int_eq(n, 1);
	expect_pages(&s, (unsigned[]){3}, 1);
}
END_TEST

START_TEST(peek_leaves_written_and_unprotect_opens_all)
{
	if (!use(DIRTY_UFFD))
		return;
	char *p = watched(DIRTY_UFFD, 8, true);
	p[PG] = 1;
	p[5 * PG] = 1;
	for (int i = 0; i < 2; i++) { /* a peek twice: the same pages */
		seen s = {.base = (uintptr_t)p, .npages = 8};
		ck_assert_int_eq(dirty_peek(record, &s), 2);
		expect_pages(&s, (unsigned[]){1, 5}, 2);
	}
	long n;
	seen s = collect(p, 8, &n); /* then a collect takes them */
	expect_pages(&s, (unsigned[]){1, 5}, 2);
	s = collect(p, 8, &n);
	ck_assert_int_eq(n, 0);
	ck_assert(dirty_unprotect_all(NULL)); /* every page reads written */
	s = collect(p, 8, &n);
	ck_assert_int_eq(n, 8);
	s = collect(p, 8, &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* Does a writable segment of the program (data, bss: tricolor's own
 * globals, linked in) hold a word in [lo, hi)? */
typedef struct holds_arg {
	uintptr_t lo, hi;
	bool found;
} holds_arg;

/* Reads the globals' ASan redzones too: not checked. */
__attribute__((no_sanitize_address)) static int
segment_holds(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	holds_arg *h = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr + 7) & ~7ul;
		uintptr_t hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		for (const uintptr_t *w = (const uintptr_t *)lo;
		     (uintptr_t)w + sizeof *w <= hi; w++)
			if (*w >= h->lo && *w < h->hi)
				h->found = true;
	}
	return 1; /* the program only: the first object listed */
}

START_TEST(reported_addresses_stay_out_of_globals)
{
	if (!use(DIRTY_UFFD))
		return;
	char *p = watched(DIRTY_UFFD, 8, true);
	for (unsigned i = 0; i < 8; i += 2)
		p[i * PG] = 1;
	long n;
	(void)collect(p, 8, &n);
	ck_assert_int_eq(n, 4);
	/* the collector scans data and bss: a page address kept there in
	 * the clear would keep the object at it alive (arena.h I5) */
	holds_arg h = {(uintptr_t)p, (uintptr_t)p + 8 * PG, false};
	dl_iterate_phdr(segment_holds, &h);
	ck_assert_msg(!h.found, "a reported address is left in a global");
}
END_TEST

static Suite *dirty_suite(void)
{
	Suite *s = suite_create("dirty");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, uffd_reports_exactly_the_written_pages);
	tcase_add_test(tc, soft_reports_exactly_the_written_pages);
	tcase_add_test(tc, uffd_fresh_and_released_pages);
	tcase_add_test(tc, soft_fresh_and_released_pages);
	tcase_add_test(tc, kernel_writes_count);
	tcase_add_test(tc, many_runs_take_many_calls);
	tcase_add_test(tc, ranges_merge_and_add_up);
	tcase_add_test(tc, a_concurrent_writer_loses_nothing);
	tcase_add_test(tc, fork_child_tracks_again);
	tcase_add_test(tc, refused_userfaultfd_falls_back);
	tcase_add_test(tc, none_tracks_nothing);
	tcase_add_test(tc, a_range_starts_tracked_protected);
	tcase_add_test(tc, peek_leaves_written_and_unprotect_opens_all);
	tcase_add_test(tc, reported_addresses_stay_out_of_globals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(dirty_suite());
}

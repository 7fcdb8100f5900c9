/*
 * dirty.c -- kernel dirty-page tracking: userfaultfd's asynchronous
 * write-protect read back with PAGEMAP_SCAN, or the soft-dirty bits; see
 * dirty.h for the methods and the invariants.
 *
 * Debian 12's kernel headers (6.1) predate WP_ASYNC and PAGEMAP_SCAN, so
 * the few constants and the two structures of that ABI are defined here
 * under names of our own (the kernel's values and layouts), and the
 * running kernel is probed: a feature it lacks fails UFFDIO_API, an
 * ioctl it lacks fails with ENOTTY or EINVAL.
 */
#include "dirty.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../alloc/os.h"

/* ---- the kernel's ABI (include/uapi/linux/userfaultfd.h, fs.h) ---- */

#define DIRTY_UFFD_USER_MODE_ONLY 1
#define DIRTY_FEATURE_WP_UNPOPULATED (1ull << 13)
#define DIRTY_FEATURE_WP_ASYNC (1ull << 15)

typedef struct dirty_region { /* struct page_region */
	uint64_t start, end, categories;
} dirty_region;

typedef struct dirty_scan_arg { /* struct pm_scan_arg */
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
} dirty_scan_arg;

#define DIRTY_PAGEMAP_SCAN _IOWR('f', 16, dirty_scan_arg)
#define DIRTY_SCAN_WP_MATCHING (1ull << 0)
#define DIRTY_SCAN_CHECK_WPASYNC (1ull << 1)
#define DIRTY_PAGE_IS_WRITTEN (1ull << 1)
#define DIRTY_SOFT_BIT (1ull << 55) /* pagemap entry: soft-dirty */

/* ---- state ---- */

typedef struct dirty_range {
	uintptr_t lo, hi;
} dirty_range;

static atomic_word method = DIRTY_NONE; /* I1 */
static int uffd = -1, pagemap_fd = -1, clear_refs_fd = -1;
static char reason[160];
static base_mutex dirty_mu;             /* I2 */
static dirty_range *tracked;            /* dirty_mu */
static size_t ntracked, tracked_cap;    /* dirty_mu */
static atomic_word busy;                /* I6, asserted */
static dirty_stats stats;               /* the collector's (I6) */
static unsigned scan_regions;           /* test hook; 0 = default */
static bool fail_next;                  /* test hook */

#define SCAN_REGIONS 256
/* I6. Mapped from the OS, not in bss: the regions it holds are heap
 * addresses, and tricolor's globals never hold one in the clear (the
 * collector scans bss; arena.h I5). */
static dirty_region *scan_buf;

const char *dirty_method_name(dirty_method m)
{
	switch (m) {
	case DIRTY_UFFD: return "uffd";
	case DIRTY_SOFT: return "soft-dirty";
	case DIRTY_AUTO: return "auto";
	default: return "none";
	}
}

dirty_method dirty_method_in_use(void)
{
	return (dirty_method)atomic_load_relaxed(&method);
}

const char *dirty_reason(void)
{
	return reason;
}

/* Append "what: strerror(err)" to the reason line. */
static void note_failure(const char *what, int err)
{
	size_t n = strlen(reason);
	char msg[96];
	const char *e = strerror_r(err, msg, sizeof msg);
	base_format(reason + n, sizeof reason - n, "%s%s: %s",
	            n ? "; " : "", what, e);
}

/* Open path into *fd (close-on-exec); a failure goes in the reason. */
static bool open_noting(int *fd, const char *path, int flags)
{
	*fd = open(path, flags | O_CLOEXEC);
	if (*fd < 0)
		note_failure(path, errno);
	return *fd >= 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_all(void)
{
	close_fd(&uffd);
	close_fd(&pagemap_fd);
	close_fd(&clear_refs_fd);
}

/* A failure where the kernel worked before: no tracking from now on. */
static void give_up(const char *what, int err)
{
	note_failure(what, err);
	atomic_store_relaxed(&method, DIRTY_NONE);
}

/* I6: one collect or protect at a time (asserted). */
static void busy_enter(void)
{
	uintptr_t was = atomic_add_full(&busy, 1);
	TRI_ASSERT(was == 0);
	(void)was;
}

static void busy_leave(void)
{
	atomic_add_full(&busy, (uintptr_t)-1);
}

/* ---- userfaultfd ---- */

static bool uffd_register(uintptr_t lo, uintptr_t hi)
{
	struct uffdio_register r = {
		.range = {.start = lo, .len = hi - lo},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	return ioctl(uffd, UFFDIO_REGISTER, &r) == 0;
}

/* One PAGEMAP_SCAN over [lo, hi): with vec NULL the fast path protects
 * the whole range; else the written pages go to vec, and are protected
 * again if `protect`. Returns the regions written (>= 0) and *walk_end,
 * or -errno. */
static long pm_scan(uintptr_t lo, uintptr_t hi, dirty_region *vec,
                    size_t nvec, bool protect, uintptr_t *walk_end)
{
	dirty_scan_arg a = {
		.size = sizeof a,
		.flags = (protect ? DIRTY_SCAN_WP_MATCHING : 0) |
		         DIRTY_SCAN_CHECK_WPASYNC,
		.start = lo, .end = hi,
		.vec = (uintptr_t)vec, .vec_len = vec ? nvec : 0,
		.category_mask = vec ? DIRTY_PAGE_IS_WRITTEN : 0,
		.return_mask = vec ? DIRTY_PAGE_IS_WRITTEN : 0,
	};
	long n = ioctl(pagemap_fd, DIRTY_PAGEMAP_SCAN, &a);
	if (n < 0)
		return -errno;
	*walk_end = (uintptr_t)a.walk_end;
	return n;
}

/* Open the descriptor and ask for asynchronous write-protect: a user
 * without CAP_SYS_PTRACE may only trap user-mode faults, which is all
 * async mode needs (it resolves kernel-mode writes without a fault). */
static bool uffd_open(void)
{
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
	                                     DIRTY_UFFD_USER_MODE_ONLY);
	if (uffd < 0 && errno == EINVAL) /* before 5.11: no user-mode flag */
		uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0) {
		note_failure("userfaultfd", errno);
		return false;
	}
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = DIRTY_FEATURE_WP_ASYNC | DIRTY_FEATURE_WP_UNPOPULATED,
	};
	if (ioctl(uffd, UFFDIO_API, &api) != 0) {
		note_failure("userfaultfd write-protect (async)", errno);
		return false;
	}
	return open_noting(&pagemap_fd, "/proc/self/pagemap", O_RDONLY);
}

/* Protect a scratch page, write it, and expect PAGEMAP_SCAN to report
 * it once: the whole round trip the collector depends on. */
static bool uffd_selftest(void)
{
	size_t pg = OS_PAGE_SIZE;
	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		note_failure("userfaultfd self-test: mmap", errno);
		return false;
	}
	bool ok = false;
	uintptr_t lo = (uintptr_t)p, end = 0;
	dirty_region r[2];
	long n;
	if (!uffd_register(lo, lo + pg)) {
		note_failure("userfaultfd register", errno);
	} else if ((n = pm_scan(lo, lo + pg, NULL, 0, true, &end)) < 0) {
		note_failure("PAGEMAP_SCAN", (int)-n);
	} else {
		p[0] = 1;
		n = pm_scan(lo, lo + pg, r, 2, true, &end);
		long again = pm_scan(lo, lo + pg, r + 1, 1, true, &end);
		ok = n == 1 && r[0].start == lo && again == 0;
		if (!ok)
			note_failure("PAGEMAP_SCAN self-test",
			             n < 0 ? (int)-n : EPROTO);
	}
	munmap(p, pg); /* unregisters it too */
	return ok;
}

/* ---- soft-dirty ---- */

static bool soft_clear(void)
{
	return pwrite(clear_refs_fd, "4", 1, 0) == 1;
}

static int soft_read(uintptr_t page, uint64_t *e)
{
	off_t off = (off_t)(page / OS_PAGE_SIZE * sizeof *e);
	return pread(pagemap_fd, e, sizeof *e, off) == sizeof *e ? 0 : errno;
}

static bool soft_open(void)
{
	return open_noting(&clear_refs_fd, "/proc/self/clear_refs",
	                   O_WRONLY) &&
	       open_noting(&pagemap_fd, "/proc/self/pagemap", O_RDONLY);
}

/* Write, clear, expect clean; write, expect dirty (a kernel without
 * CONFIG_MEM_SOFT_DIRTY never sets the bit). */
static bool soft_selftest(void)
{
	volatile char *p = mmap(NULL, OS_PAGE_SIZE, PROT_READ | PROT_WRITE,
	                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		note_failure("soft-dirty self-test: mmap", errno);
		return false;
	}
	uint64_t clean = 0, dirty = 0;
	p[0] = 1;
	bool ok = soft_clear() && soft_read((uintptr_t)p, &clean) == 0;
	p[0] = 2;
	ok = ok && soft_read((uintptr_t)p, &dirty) == 0 &&
	     !(clean & DIRTY_SOFT_BIT) && (dirty & DIRTY_SOFT_BIT);
	if (!ok)
		note_failure("soft-dirty self-test", EPROTO);
	munmap((void *)p, OS_PAGE_SIZE);
	return ok;
}

/* ---- choosing ---- */

static bool try_method(dirty_method m)
{
	close_all();
	if (m == DIRTY_UFFD && uffd_open() && uffd_selftest())
		return true;
	if (m == DIRTY_SOFT && soft_open() && soft_selftest())
		return true;
	close_all();
	return false;
}

dirty_method dirty_init(dirty_method want)
{
	base_mutex_init(&dirty_mu, LOCK_RANK_DIRTY);
	if (!scan_buf) /* never unmapped: a fork child keeps it */
		scan_buf = os_map(SCAN_REGIONS * sizeof *scan_buf);
	base_mutex_lock(&dirty_mu);
	ntracked = 0;
	reason[0] = '\0';
	dirty_method got = DIRTY_NONE;
	if (!scan_buf)
		note_failure("scan buffer", ENOMEM);
	else if (want == DIRTY_AUTO || want == DIRTY_UFFD)
		if (try_method(DIRTY_UFFD))
			got = DIRTY_UFFD;
	if (got == DIRTY_NONE && (want == DIRTY_AUTO || want == DIRTY_SOFT))
		if (try_method(DIRTY_SOFT))
			got = DIRTY_SOFT;
	if (got == DIRTY_UFFD || (got != DIRTY_NONE && want != DIRTY_AUTO))
		reason[0] = '\0'; /* else it says why not the better ones */
	atomic_store_relaxed(&method, got);
	base_mutex_unlock(&dirty_mu);
	return got;
}

/* ---- tracking ---- */

/* Record [lo, hi) in tracked[] (I2). */
static bool track_append(uintptr_t lo, uintptr_t hi)
{
	base_mutex_lock(&dirty_mu);
	bool ok = true;
	if (ntracked && tracked[ntracked - 1].hi == lo) {
		tracked[ntracked - 1].hi = hi; /* I2: contiguous, merged */
	} else if (os_vec_reserve((void **)&tracked, &tracked_cap, ntracked,
	                          ntracked + 1, sizeof *tracked, 64)) {
		tracked[ntracked++] = (dirty_range){lo, hi};
	} else {
		ok = false;
	}
	base_mutex_unlock(&dirty_mu);
	return ok;
}

static long uffd_walk(uintptr_t lo, uintptr_t hi, dirty_fn fn, void *arg,
                      bool protect);

/* With uffd the range is registered and protected before it is recorded
 * (a collect never walks a range the kernel does not track), and recorded
 * even if the kernel refuses (dirty_for_each_tracked still lists it). */
bool dirty_track(uintptr_t lo, uintptr_t hi)
{
	TRI_ASSERT(lo % OS_PAGE_SIZE == 0 && hi % OS_PAGE_SIZE == 0 && lo < hi);
	bool ok = true;
	if (dirty_method_in_use() == DIRTY_UFFD) {
		if (!uffd_register(lo, hi)) {
			give_up("userfaultfd register", errno);
			ok = false;
		} else {
			ok = uffd_walk(lo, hi, NULL, NULL, true) >= 0; /* I7 */
		}
	}
	if (!track_append(lo, hi)) {
		give_up("dirty tracking: out of memory", ENOMEM);
		ok = false;
	}
	return ok;
}

/* Entry i of tracked[] (I2: read under the lock, used without it). */
static bool tracked_at(size_t i, dirty_range *r)
{
	base_mutex_lock(&dirty_mu);
	bool ok = i < ntracked;
	if (ok)
		*r = tracked[i];
	base_mutex_unlock(&dirty_mu);
	return ok;
}

/* Walk [lo, hi) with PAGEMAP_SCAN, resuming where each call stopped:
 * with fn, report the written pages to fn (the buffer may take several
 * calls), protecting them again if `protect`; without fn, protect every
 * page (the kernel's fast path, no output). Returns the pages reported,
 * or -1 on failure. */
static long uffd_walk(uintptr_t lo, uintptr_t hi, dirty_fn fn, void *arg,
                      bool protect)
{
	size_t nvec = scan_regions ? scan_regions : SCAN_REGIONS;
	dirty_region *vec = fn ? scan_buf : NULL;
	TRI_ASSERT(!fn || scan_buf); /* dirty_init mapped it for uffd */
	long pages = 0;
	while (lo < hi) {
		uintptr_t end = 0;
		long n = pm_scan(lo, hi, vec, nvec, protect, &end);
		if (n < 0 || end <= lo) {
			give_up("PAGEMAP_SCAN", n < 0 ? (int)-n : EPROTO);
			return -1;
		}
		for (long k = 0; fn && k < n; k++) {
			fn(vec[k].start, vec[k].end, arg);
			pages += (vec[k].end - vec[k].start) / OS_PAGE_SIZE;
		}
		lo = end;
	}
	return pages;
}

bool dirty_protect_all(void)
{
	busy_enter();
	bool ok = true;
	dirty_method m = dirty_method_in_use();
	if (m == DIRTY_SOFT && !soft_clear()) {
		give_up("clear_refs", errno);
		ok = false;
	}
	dirty_range r;
	for (size_t i = 0; ok && m == DIRTY_UFFD && tracked_at(i, &r); i++)
		ok = uffd_walk(r.lo, r.hi, NULL, NULL, true) >= 0;
	stats.protects++;
	busy_leave();
	return ok;
}

/* The soft-dirty pages of [lo, hi), read 512 entries at a time; runs
 * are reported whole. -1 on failure. */
static long soft_collect(uintptr_t lo, uintptr_t hi, dirty_fn fn,
                         void *arg)
{
	uint64_t e[512];
	long pages = 0;
	uintptr_t run = 0; /* start of the current run, 0: none */
	for (uintptr_t at = lo; at < hi;) {
		size_t n = (hi - at) / OS_PAGE_SIZE;
		n = n < 512 ? n : 512;
		off_t off = (off_t)(at / OS_PAGE_SIZE * sizeof *e);
		if (pread(pagemap_fd, e, n * sizeof *e, off) !=
		    (ssize_t)(n * sizeof *e)) {
			give_up("pagemap read", errno ? errno : EIO);
			return -1;
		}
		for (size_t k = 0; k < n; k++, at += OS_PAGE_SIZE) {
			bool d = e[k] & DIRTY_SOFT_BIT;
			if (d && !run)
				run = at;
			if (!d && run) {
				fn(run, at, arg);
				pages += (at - run) / OS_PAGE_SIZE;
				run = 0;
			}
		}
	}
	if (run) {
		fn(run, hi, arg);
		pages += (hi - run) / OS_PAGE_SIZE;
	}
	return pages;
}

/* dirty_collect and dirty_peek: every tracked range, cleaned again if
 * `clean`. */
static long collect(dirty_fn fn, void *arg, bool clean)
{
	busy_enter();
	if (fail_next) { /* test hook: as a kernel failing part-way */
		fail_next = false;
		give_up("PAGEMAP_SCAN", EIO);
	}
	dirty_method m = dirty_method_in_use();
	long pages = 0;
	dirty_range r;
	for (size_t i = 0; m != DIRTY_NONE && tracked_at(i, &r); i++) {
		long n = m == DIRTY_UFFD ? uffd_walk(r.lo, r.hi, fn, arg, clean)
		                         : soft_collect(r.lo, r.hi, fn, arg);
		if (n < 0) {
			pages = -1;
			break;
		}
		pages += n;
	}
	if (m == DIRTY_SOFT && clean && pages >= 0 && !soft_clear()) { /* I4 */
		give_up("clear_refs", errno);
		pages = -1;
	}
	if (m == DIRTY_NONE)
		pages = -1;
	stats.collects++;
	stats.pages += pages > 0 ? (uint64_t)pages : 0;
	busy_leave();
	return pages;
}

long dirty_collect(dirty_fn fn, void *arg)
{
	return collect(fn, arg, true);
}

long dirty_peek(dirty_fn fn, void *arg)
{
	return collect(fn, arg, false);
}

/* UFFDIO_WRITEPROTECT with mode 0 lifts the protection of a range. */
static bool uffd_unprotect(uintptr_t lo, uintptr_t hi)
{
	struct uffdio_writeprotect wp = {
		.range = {.start = lo, .len = hi - lo},
		.mode = 0,
	};
	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

/* dirty_unprotect_all's step: how much is lifted between two looks at
 * `stop` (one TLB shootdown each, about 60 us on the build machine). */
#define UNPROTECT_STEP (64 * TRI_MiB)

bool dirty_unprotect_all(bool (*stop)(void))
{
	busy_enter();
	bool ok = true;
	dirty_range r;
	for (size_t i = 0; ok && dirty_method_in_use() == DIRTY_UFFD &&
	                   tracked_at(i, &r); i++)
		for (uintptr_t lo = r.lo; ok && lo < r.hi; lo += UNPROTECT_STEP) {
			if (stop && stop())
				goto out; /* what is left stays protected */
			uintptr_t hi = r.hi - lo > UNPROTECT_STEP
			                       ? lo + UNPROTECT_STEP : r.hi;
			if (!uffd_unprotect(lo, hi)) {
				give_up("userfaultfd unprotect", errno);
				ok = false;
			}
		}
out:
	busy_leave();
	return ok;
}

void dirty_for_each_tracked(dirty_fn fn, void *arg)
{
	dirty_range r;
	for (size_t i = 0; tracked_at(i, &r); i++)
		fn(r.lo, r.hi, arg);
}

/* ---- fork, statistics, tests ---- */

void dirty_fork_child(void)
{
	dirty_method m = dirty_method_in_use();
	if (m == DIRTY_NONE)
		return;
	if (!try_method(m)) {
		atomic_store_relaxed(&method, DIRTY_NONE);
		return;
	}
	/* the child has one thread: tracked[] is read without the lock */
	for (size_t i = 0; m == DIRTY_UFFD && i < ntracked; i++)
		if (!uffd_register(tracked[i].lo, tracked[i].hi)) {
			give_up("userfaultfd register (fork child)", errno);
			return;
		}
}

void dirty_read_stats(dirty_stats *s)
{
	*s = stats;
}

void dirty_fail_next_collect(void)
{
	fail_next = true;
}

void dirty_set_scan_regions(unsigned n)
{
	scan_regions = n < SCAN_REGIONS ? n : SCAN_REGIONS;
}

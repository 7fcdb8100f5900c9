/*
 * test_os.c -- the OS layer (alloc/os.h) and what the heap does when the OS
 * refuses: the n-th reserve/commit/map is made to fail for n = 1, 2, ...
 * and every allocation must either succeed or return NULL with ENOMEM,
 * leaving the heap's invariants intact and the heap usable.
 */
#include "os.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

START_TEST(reserve_commit_release)
{
	char *p = os_reserve(NULL, 1 << 20);
	ck_assert_ptr_nonnull(p);
	ck_assert(os_commit(p, 1 << 20));
	memset(p, 0x33, 1 << 20);
	ck_assert(os_release(p, 1 << 20));
	for (int i = 0; i < 1 << 20; i += 4096)
		ck_assert_int_eq(p[i], 0); /* released pages read as zero */
	char *q = os_reserve_aligned(3 << 20, 1 << 22);
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq((uintptr_t)q % (1 << 22), 0);
}
END_TEST

struct perms_probe {
	uintptr_t addr;
	char perms[5];
};

static void perms_at(const os_mapping *m, void *arg)
{
	struct perms_probe *pr = arg;
	if (m->lo <= pr->addr && pr->addr < m->hi)
		memcpy(pr->perms, m->perms, sizeof pr->perms);
}

/* The permissions /proc/self/maps shows for the page at p. */
static struct perms_probe perms_of(const void *p)
{
	struct perms_probe pr = {(uintptr_t)p, ""};
	ck_assert(os_read_maps(perms_at, &pr));
	return pr;
}

/* The heap grows with no mprotect (os.c I4): a reservation is read/write
 * from the start and commit only counts it -- unless reservations fell
 * back to PROT_NONE, when commit makes the range read/write itself. */
START_TEST(reservations_need_no_mprotect)
{
	char *p = os_reserve(NULL, 1 << 20);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(perms_of(p).perms, "rw-p");
	uint64_t before = os_committed_bytes();
	ck_assert(os_commit(p, 1 << 20));
	ck_assert_uint_eq(os_committed_bytes(), before + (1 << 20));
	p[(1 << 20) - 1] = 1;

	os_reserve_force_prot_none();
	char *q = os_reserve(NULL, 1 << 20);
	ck_assert_ptr_nonnull(q);
	ck_assert_str_eq(perms_of(q).perms, "---p");
	ck_assert(os_commit(q, 1 << 20));
	ck_assert_str_eq(perms_of(q).perms, "rw-p");
	q[(1 << 20) - 1] = 1;
}
END_TEST

START_TEST(injected_failure_fails_once)
{
	os_fail_after(2);
	ck_assert_ptr_nonnull(os_map(4096));
	ck_assert_ptr_null(os_map(4096));
	ck_assert_ptr_nonnull(os_map(4096)); /* hook is spent */
}
END_TEST

START_TEST(release_failure_and_madv_free)
{
	char *p = os_reserve(NULL, 1 << 20);
	ck_assert_ptr_nonnull(p);
	ck_assert(os_commit(p, 1 << 20));
	memset(p, 0x44, 1 << 20);
	os_fail_release_after(1);
	ck_assert(!os_release(p, 1 << 20)); /* refused: contents stay */
	ck_assert_int_eq(p[4096], 0x44);
	os_set_madv_free(true);
	ck_assert(os_release(p, 1 << 20)); /* hook spent; MADV_FREE */
	for (int i = 0; i < 1 << 20; i += 4096) /* zero or the old bytes */
		ck_assert(p[i] == 0 || p[i] == 0x44);
	p[0] = 1; /* and writable */
	os_set_madv_free(false);
	ck_assert(os_release(p, 1 << 20));
	ck_assert_int_eq(p[0], 0);
}
END_TEST

struct owned_hit {
	uintptr_t lo, hi;
	int hits;
};

static void count_overlap(uintptr_t lo, uintptr_t hi, void *arg)
{
	struct owned_hit *h = arg;
	h->hits += lo < h->hi && h->lo < hi;
}

static int owned_overlaps(void *p, size_t size)
{
	struct owned_hit h = {(uintptr_t)p, (uintptr_t)p + size, 0};
	os_for_each_owned(count_overlap, &h);
	return h.hits;
}

/* Every way back to the OS takes the range off the list of tricolor's
 * mappings (I3): a later mapping of the program's at that address must
 * be scanned as a root by the malloc preload. */
START_TEST(unmapped_ranges_leave_the_owned_list)
{
	void *p = os_map(1 << 20), *q = os_map(1 << 20);
	void *r = os_reserve(NULL, 1 << 20);
	ck_assert(p && q && r);
	ck_assert_int_eq(owned_overlaps(p, 1 << 20), 1);
	ck_assert_int_eq(owned_overlaps(r, 1 << 20), 1);
	os_unmap_mapped(p, 1 << 20);
	os_unmap(r, 1 << 20);
	ck_assert_int_eq(owned_overlaps(p, 1 << 20), 0);
	ck_assert_int_eq(owned_overlaps(r, 1 << 20), 0);
	ck_assert_int_eq(owned_overlaps(q, 1 << 20), 1);
}
END_TEST

START_TEST(maps_lines_parse)
{
	os_mapping m;
	ck_assert(os_maps_line("7f12a000-7f12c000 r-xp 0001f000 fd:01 1234   "
	                       "/usr/lib/libc.so.6", &m));
	ck_assert_uint_eq(m.lo, 0x7f12a000);
	ck_assert_uint_eq(m.hi, 0x7f12c000);
	ck_assert_uint_eq(m.offset, 0x1f000);
	ck_assert_str_eq(m.perms, "r-xp");
	ck_assert_str_eq(m.path, "/usr/lib/libc.so.6");
	ck_assert(os_maps_line("c000000000-c004000000 rw-p 00000000 00:00 0 ",
	                       &m));
	ck_assert_str_eq(m.perms, "rw-p");
	ck_assert_str_eq(m.path, "");
	ck_assert(os_maps_line("1000-2000 rw-s 0 00:05 7 [anon_shmem]", &m));
	ck_assert_str_eq(m.path, "[anon_shmem]");
	ck_assert(!os_maps_line("1000 2000 rw-p", &m));
	ck_assert(!os_maps_line("1000-2000 rw", &m));
	ck_assert(!os_maps_line("", &m));
}
END_TEST

/* One round: fail the n-th OS call during a mix of allocations. */
static int allocate_with_failure(long n)
{
	os_fail_after(n);
	size_t sizes[] = {24, 100, 4000, 40000, 3 << 20, 70 << 20, 8};
	int failures = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		errno = 0;
		char *p = i % 2 ? tri_malloc(sizes[i])
		                : tri_malloc_noscan(sizes[i]);
		if (!p) {
			ck_assert_int_eq(errno, ENOMEM);
			failures++;
			continue;
		}
		ck_assert_int_eq(p[0], 0);
		p[sizes[i] - 1] = 1;
		tri_free(p);
	}
	os_fail_after(0);
	return failures;
}

START_TEST(walk_every_failure_point)
{
	/* Cycles on this thread, between two allocations: the default mode
	 * runs them on the controller thread, beside the allocations, where
	 * an injected failure would hit the collector's own lists (a real
	 * out-of-memory there is fatal in every mode). */
	ck_assert_int_eq(tri_set_mode(TRI_MODE_STW), 0);
	int total = 0;
	for (long n = 1; n <= 40; n++) {
		total += allocate_with_failure(n);
		ck_assert(mheap_check());
		ck_assert(mcentral_check());
		void *p = tri_malloc(1000); /* still usable */
		ck_assert_ptr_nonnull(p);
		tri_free(p);
	}
	ck_assert_int_gt(total, 0); /* the hook really bit somewhere */
}
END_TEST

START_TEST(init_failure_is_enomem_then_retried)
{
	os_fail_after(1); /* the arena index reservation */
	errno = 0;
	ck_assert_int_eq(tri_init(), -1);
	ck_assert_int_eq(errno, ENOMEM);
	void *p = tri_malloc(10); /* the OS agrees now: init retries */
	ck_assert_ptr_nonnull(p);
	tri_free(p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("os");
	TCase *tc = tcase_create("os");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, reserve_commit_release);
	tcase_add_test(tc, reservations_need_no_mprotect);
	tcase_add_test(tc, injected_failure_fails_once);
	tcase_add_test(tc, release_failure_and_madv_free);
	tcase_add_test(tc, unmapped_ranges_leave_the_owned_list);
	tcase_add_test(tc, maps_lines_parse);
	tcase_add_test(tc, walk_every_failure_point);
	tcase_add_test(tc, init_failure_is_enomem_then_retried);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

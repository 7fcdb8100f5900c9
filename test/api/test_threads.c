/*
 * test/api/test_threads.c -- owned by the API test suite (not by the
 * library).
 *
 * Thread churn against <tricolor.h> only: many short-lived threads, each
 * registered one of the three ways (tri_pthread_create, a plain
 * pthread_create whose first tri_malloc registers it, an explicit
 * tri_thread_register / tri_thread_unregister pair), some detached, some
 * allocating again in a thread-specific destructor after tricolor's own
 * exit handler unregistered them, while collections run. What a thread
 * registers (its record, cache, barrier buffer) must be given back and
 * reused: the metadata tricolor maps (tri_stats_t.meta_sys) and all it
 * maps (sys) must not grow with the number of threads once the first
 * few hundred warmed up. Counts are kept small enough for make check;
 * docs/malloc.md ("Threads") gives the 100,000-thread figures.
 *
 *   make build/api/test_threads && ./build/api/test_threads
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <tricolor.h>

#include <check.h>

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../testlib.h"

#define WARMUP 500     /* threads before the baseline is read */
#define CHURN 3000     /* threads after it */
#define BATCH 4        /* alive at a time */
#define META_SLACK (2 * MiB) /* a thread's cache alone is 4 KiB */
#define SYS_SLACK (8 * MiB)

enum how { VIA_TRI, VIA_FIRST_ALLOC, VIA_REGISTER };

static pthread_key_t late_key;
static atomic_int detached_alive;
static void *volatile sink; /* garbage: overwritten by the next thread */

/* A few allocations and frees, and a dropped block for the collector;
 * one thread in four leaves a block for its thread-specific destructor. */
static void work(unsigned long n)
{
	unsigned long k = n % WARMUP; /* the warm-up takes every size */
	char *a = tri_malloc(16 + k);
	char *b = tri_malloc(1000 + 6 * k);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	memset(a, 1, 16);
	tri_free(b);
	sink = tri_malloc(1000 + 14 * k);
	if (n % 4 == 1)
		pthread_setspecific(late_key, a); /* late_free frees it */
	else
		tri_free(a);
}

/* Thread exit: the first round sets the key again, so the second round
 * runs after tricolor's own exit handler and registers the thread anew
 * to free (tricolor's handler then runs once more). */
static void late_free(void *p)
{
	char *s = p;
	if (s[0] == 1) {
		s[0] = 2;
		pthread_setspecific(late_key, s);
		return;
	}
	void *q = tri_malloc(24);
	ck_assert_ptr_nonnull(q);
	tri_free(q);
	tri_free(s);
}

static void *plain_start(void *arg)
{
	enum how how = (enum how)((uintptr_t)arg & 3);
	unsigned long n = (unsigned long)((uintptr_t)arg >> 2);
	if (how == VIA_REGISTER)
		ck_assert_int_eq(tri_thread_register(), 0);
	work(n);
	if (how == VIA_REGISTER && n % 4 != 1)
		ck_assert_int_eq(tri_thread_unregister(), 0);
	return NULL;
}

static void *detached_start(void *arg)
{
	plain_start(arg);
	atomic_fetch_sub(&detached_alive, 1);
	return NULL;
}

static void start(enum how how, unsigned long n, pthread_t *slot)
{
	bool detach = n % 4 == 3;
	void *(*fn)(void *) = detach ? detached_start : plain_start;
	void *arg = (void *)(uintptr_t)(n << 2 | how);
	int err;
	if (detach)
		atomic_fetch_add(&detached_alive, 1);
	if (how == VIA_TRI)
		err = tri_pthread_create(slot, NULL, fn, arg);
	else
		err = pthread_create(slot, NULL, fn, arg);
	ck_assert_int_eq(err, 0);
	if (detach) {
		ck_assert_int_eq(pthread_detach(*slot), 0);
		*slot = 0;
	}
}

/* Threads first..first+count-1, BATCH at a time, all gone on return. */
static void churn(enum how how, unsigned long first, unsigned long count)
{
	for (unsigned long i = first; i < first + count; i += BATCH) {
		pthread_t slots[BATCH];
		unsigned k = 0;
		for (; k < BATCH && i + k < first + count; k++)
			start(how, i + k, &slots[k]);
		for (unsigned j = 0; j < k; j++)
			if (slots[j])
				ck_assert_int_eq(pthread_join(slots[j], NULL), 0);
		while (atomic_load(&detached_alive) > BATCH)
			usleep(100);
	}
	while (atomic_load(&detached_alive) > 0)
		usleep(200);
	usleep(2000); /* the last detached threads finish exiting */
}

static void setup(void)
{
	ck_assert_int_eq(pthread_key_create(&late_key, late_free), 0);
	tri_set_gc_percent(10); /* cycles run while threads come and go */
}

/* WARMUP threads and a cycle, a baseline, CHURN threads, then the same
 * memory. */
static void flat_over_churn(enum how how)
{
	setup();
	churn(how, 0, WARMUP);
	tri_collect(); /* the collector's own metadata is there too */
	tri_stats_t before, after;
	tri_read_stats(&before);
	churn(how, WARMUP, CHURN);
	tri_read_stats(&after);
	ck_assert_msg(after.meta_sys <= before.meta_sys + META_SLACK,
	              "metadata grew from %llu to %llu bytes over %d threads",
	              U(before.meta_sys), U(after.meta_sys), CHURN);
	ck_assert_msg(after.sys <= before.sys + SYS_SLACK,
	              "memory grew from %llu to %llu bytes over %d threads",
	              U(before.sys), U(after.sys), CHURN);
	ck_assert_msg(after.num_gc > before.num_gc, "no cycle ran");
	tri_collect(); /* every thread that registered has gone */
}

START_TEST(churn_tri_pthread_create)
{
	flat_over_churn(VIA_TRI);
}
END_TEST

START_TEST(churn_first_alloc)
{
	flat_over_churn(VIA_FIRST_ALLOC);
}
END_TEST

START_TEST(churn_register_unregister)
{
	flat_over_churn(VIA_REGISTER);
}
END_TEST

/* One thread registering and unregistering over and over. */
START_TEST(register_unregister_loop)
{
	ck_assert_int_eq(tri_thread_register(), 0);
	tri_stats_t before, after;
	for (int i = 0; i < 12000; i++) {
		if (i == 2000) { /* warmed up: every size was taken */
			tri_collect();
			tri_read_stats(&before);
		}
		ck_assert_int_eq(tri_thread_unregister(), 0);
		ck_assert_int_eq(tri_thread_register(), 0);
		void *p = tri_malloc(32 + i % 1000);
		ck_assert_ptr_nonnull(p);
		tri_free(p);
	}
	tri_read_stats(&after);
	ck_assert_msg(after.meta_sys <= before.meta_sys + META_SLACK,
	              "metadata grew from %llu to %llu bytes",
	              U(before.meta_sys), U(after.meta_sys));
}
END_TEST

/* A block held only in a thread-specific value that the key's destructor
 * puts back in the first round of thread exit (threads.h I10): the
 * thread must still be scanned while another thread collects between
 * the two rounds, so the block is intact and still allocated in the
 * second. */
#define HELD_SIZE 3000
static pthread_key_t held_key;
static sem_t collect_now, collected;
static atomic_int held_intact;

static void held_destructor(void *p)
{
	unsigned char *s = p;
	if (s[0] == 'Q') { /* round one */
		s[0] = 'R';
		pthread_setspecific(held_key, s);
		s = NULL;
		sem_post(&collect_now);
		while (sem_wait(&collected) != 0)
			;
		return;
	}
	bool intact = true;
	for (int i = 1; i < HELD_SIZE; i++)
		intact = intact && s[i] == (unsigned char)(i * 7);
	atomic_store(&held_intact, intact ? 1 : -1);
	tri_free(s);
}

static void *held_start(void *arg)
{
	(void)arg;
	unsigned char *s = tri_malloc(HELD_SIZE);
	ck_assert_ptr_nonnull(s);
	for (int i = 1; i < HELD_SIZE; i++)
		s[i] = (unsigned char)(i * 7);
	s[0] = 'Q';
	pthread_setspecific(held_key, s);
	return NULL;
}

START_TEST(value_put_back_at_exit_stays_alive)
{
	/* tricolor's key first: its destructor runs first in each round */
	ck_assert_int_eq(tri_init(), 0);
	ck_assert_int_eq(pthread_key_create(&held_key, held_destructor), 0);
	ck_assert_int_eq(sem_init(&collect_now, 0, 0), 0);
	ck_assert_int_eq(sem_init(&collected, 0, 0), 0);
	for (int round = 0; round < 20; round++) {
		atomic_store(&held_intact, 0);
		pthread_t t;
		ck_assert_int_eq(tri_pthread_create(&t, NULL, held_start, NULL),
		                 0);
		while (sem_wait(&collect_now) != 0)
			;
		tri_collect();
		tri_collect(); /* the first cycle's sweep is finished */
		for (int i = 0; i < 2000; i++) /* reuse what was freed */
			memset(tri_malloc(HELD_SIZE), 0xAA, HELD_SIZE);
		sem_post(&collected);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_msg(atomic_load(&held_intact) == 1,
		              "round %d: the block was collected while its "
		              "thread ran its destructors", round);
	}
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("tricolor-threads");
	TCase *tc = tcase(s, "churn", 240);
	tcase_add_test(tc, churn_tri_pthread_create);
	tcase_add_test(tc, churn_first_alloc);
	tcase_add_test(tc, churn_register_unregister);
	tcase_add_test(tc, register_unregister_loop);
	tcase_add_test(tc, value_put_back_at_exit_stays_alive);
	return s;
}

int main(void)
{
	return run_suite(threads_suite());
}

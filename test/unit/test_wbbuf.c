/*
 * test_wbbuf.c -- the write barrier (barrier/wbbuf.h): with the barrier
 * off a store is a plain store; on, both the overwritten and the stored
 * value are recorded in the thread's buffer and shaded when it is
 * flushed; values outside the heap are never recorded; a full buffer
 * flushes itself; tri_memmove shades the words it overwrites and copies.
 */
#include "unit.h"

#include "../../alloc/span.h"
#include "../../barrier/wbbuf.h"
#include "arena.h"
#include "threads.h"

typedef struct holder {
	void *f;
	void *more[7];
} holder;

static wbbuf *my_wbbuf(void)
{
	gthread *t = threads_first(); /* only this thread is registered */
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(threads_next(t));
	return threads_wbbuf(t);
}

static bool marked(const void *p)
{
	mspan *s = arena_span_of((uintptr_t)p);
	ck_assert_ptr_nonnull(s);
	uintptr_t idx = s->divmul ?
		span_obj_index(s, (uintptr_t)p - s->base) : 0;
	return span_is_marked(s, idx);
}

static void setup(void)
{
	ck_assert_int_eq(tri_init(), 0);
	ck_assert_int_eq(tri_thread_register(), 0);
}

static void teardown(void)
{
	wbbuf_enable(false);
	unit_teardown();
}

START_TEST(off_is_a_plain_store)
{
	holder *h = tri_malloc(sizeof *h);
	void *a = tri_malloc(32), *b = tri_malloc(32);
	h->f = a;
	tri_write_barrier(&h->f, b);
	ck_assert_ptr_eq(h->f, b);
	TRI_STORE(h->f, a);
	ck_assert_ptr_eq(h->f, a);
	ck_assert_uint_eq(my_wbbuf()->n, 0);
	ck_assert(!marked(a) && !marked(b));
}
END_TEST

START_TEST(both_values_shaded)
{
	holder *h = tri_malloc(sizeof *h);
	void *old = tri_malloc(32), *new = tri_malloc(48);
	h->f = old;
	wbbuf_enable(true);
	tri_write_barrier(&h->f, new);
	ck_assert_ptr_eq(h->f, new);
	wbbuf *b = my_wbbuf();
	ck_assert_uint_eq(b->n, 2);
	ck_assert_uint_eq(b->buf[0], (uintptr_t)old); /* Yuasa */
	ck_assert_uint_eq(b->buf[1], (uintptr_t)new); /* Dijkstra */
	ck_assert(!marked(old) && !marked(new)); /* not until the flush */
	ck_assert_uint_eq(wbbuf_flush(b), 2);
	ck_assert_uint_eq(b->n, 0);
	ck_assert(marked(old) && marked(new));
	ck_assert(!marked(h)); /* the slot's object is not shaded */
}
END_TEST

START_TEST(macro_goes_through_the_barrier)
{
	holder *h = tri_malloc(sizeof *h);
	void *old = tri_malloc(32), *new = tri_malloc(32);
	h->more[3] = old;
	wbbuf_enable(true);
	TRI_STORE(h->more[3], new);
	ck_assert_ptr_eq(h->more[3], new);
	ck_assert_uint_eq(my_wbbuf()->n, 2);
	wbbuf_flush(my_wbbuf());
	ck_assert(marked(old) && marked(new));
}
END_TEST

START_TEST(non_heap_values_ignored)
{
	static void *global_slot;
	void *local = NULL;
	wbbuf_enable(true);
	tri_write_barrier(&global_slot, &local);  /* a stack address */
	tri_write_barrier(&global_slot, (void *)0x1234);
	tri_write_barrier(&local, NULL);
	tri_shade(&global_slot);
	ck_assert_uint_eq(my_wbbuf()->n, 0);
	ck_assert_ptr_null(local);
	ck_assert_ptr_eq(global_slot, (void *)0x1234);
	/* A heap value stored into a slot outside the heap is recorded. */
	void *obj = tri_malloc(16);
	tri_write_barrier(&local, obj);
	ck_assert_uint_eq(my_wbbuf()->n, 1);
	ck_assert_ptr_eq(local, obj);
}
END_TEST

START_TEST(full_buffer_flushes_itself)
{
	enum { N = WBBUF_ENTRIES + 100 };
	static void *objs[N];
	for (int i = 0; i < N; i++)
		objs[i] = tri_malloc(64);
	wbbuf_enable(true);
	for (int i = 0; i < N; i++)
		tri_shade(objs[i]);
	ck_assert_uint_eq(my_wbbuf()->n, N - WBBUF_ENTRIES);
	for (int i = 0; i < WBBUF_ENTRIES; i++)
		ck_assert(marked(objs[i]));
	for (int i = WBBUF_ENTRIES; i < N; i++)
		ck_assert(!marked(objs[i]));
}
END_TEST

START_TEST(memmove_shades_overwritten_and_copied)
{
	void **dst = tri_malloc(4 * sizeof(void *));
	void **src = tri_malloc(4 * sizeof(void *));
	void *old[4], *new[4];
	for (int i = 0; i < 4; i++) {
		old[i] = dst[i] = tri_malloc(24);
		new[i] = src[i] = tri_malloc(24);
	}
	wbbuf_enable(true);
	ck_assert_ptr_eq(tri_memmove(dst, src, 4 * sizeof(void *)), dst);
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_eq(dst[i], new[i]);
	ck_assert_uint_eq(my_wbbuf()->n, 8);
	wbbuf_flush(my_wbbuf());
	for (int i = 0; i < 4; i++)
		ck_assert(marked(old[i]) && marked(new[i]));
	/* Overlapping copies keep memmove's meaning. */
	char *bytes = tri_malloc_noscan(64);
	for (int i = 0; i < 64; i++)
		bytes[i] = (char)i;
	tri_memmove(bytes + 1, bytes, 63);
	for (int i = 1; i < 64; i++)
		ck_assert_int_eq(bytes[i], i - 1);
}
END_TEST

START_TEST(flush_with_barrier_off_discards)
{
	void *a = tri_malloc(32);
	wbbuf_enable(true);
	tri_shade(a);
	wbbuf_enable(false);
	ck_assert_uint_eq(wbbuf_flush(my_wbbuf()), 0);
	ck_assert_uint_eq(my_wbbuf()->n, 0);
	ck_assert(!marked(a));
}
END_TEST

/* wbbuf_check (wbbuf.h): entries are fine while the barrier is on, a
 * buffer left with entries once it is off is reported (I4), and flushing
 * empties it. One thread: its own buffer, threads_lock held. */
static bool wbbuf_ok(void)
{
	threads_lock();
	bool ok = wbbuf_check();
	threads_unlock();
	return ok;
}

START_TEST(wbbuf_check_with_the_barrier)
{
	void *a = tri_malloc(32), *b = tri_malloc(32);
	ck_assert(wbbuf_ok());
	wbbuf_enable(true);
	tri_shade(a);
	tri_shade(b);
	ck_assert_uint_eq(my_wbbuf()->n, 2);
	ck_assert(wbbuf_ok());
	wbbuf_enable(false);
	ck_assert(!wbbuf_ok());
	wbbuf_flush(my_wbbuf());
	ck_assert(wbbuf_ok());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wbbuf");
	TCase *tc = tcase_create("wbbuf");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, off_is_a_plain_store);
	tcase_add_test(tc, both_values_shaded);
	tcase_add_test(tc, macro_goes_through_the_barrier);
	tcase_add_test(tc, non_heap_values_ignored);
	tcase_add_test(tc, full_buffer_flushes_itself);
	tcase_add_test(tc, memmove_shades_overwritten_and_copied);
	tcase_add_test(tc, flush_with_barrier_off_discards);
	tcase_add_test(tc, wbbuf_check_with_the_barrier);
	suite_add_tcase(s, tc);
	return unit_run(s);
}

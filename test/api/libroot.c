/*
 * test/api/libroot.c -- owned by the API tests (not by the library).
 *
 * A shared object that test_gc loads with dlopen after the heap is running:
 * the only references to the test's objects are kept in its writable data
 * (slots 0..LIBROOT_DATA_SLOTS-1, an initialised array, so in .data) and
 * its bss (the other slots). The collector must scan both: roots include
 * the data and bss of every loaded object, including ones loaded later.
 * libc only; knows nothing of tricolor.
 */
#include <stddef.h>

#define LIBROOT_API __attribute__((visibility("default")))

enum { LIBROOT_DATA_SLOTS = 64, LIBROOT_BSS_SLOTS = 2048 };

/* A non-zero initialiser puts the array in .data (slot 0 is overwritten by
 * the first libroot_set(0, p)). */
static void *data_slots[LIBROOT_DATA_SLOTS] = {(void *)1};
static void *bss_slots[LIBROOT_BSS_SLOTS];

LIBROOT_API size_t libroot_capacity(void);
LIBROOT_API void libroot_set(size_t i, void *p);
LIBROOT_API void *libroot_get(size_t i);

/* Number of slots: indices 0..capacity-1 are valid. */
LIBROOT_API size_t libroot_capacity(void)
{
	return LIBROOT_DATA_SLOTS + LIBROOT_BSS_SLOTS;
}

LIBROOT_API void libroot_set(size_t i, void *p)
{
	if (i < LIBROOT_DATA_SLOTS)
		data_slots[i] = p;
	else if (i - LIBROOT_DATA_SLOTS < LIBROOT_BSS_SLOTS)
		bss_slots[i - LIBROOT_DATA_SLOTS] = p;
}

LIBROOT_API void *libroot_get(size_t i)
{
	if (i < LIBROOT_DATA_SLOTS)
		return data_slots[i];
	if (i - LIBROOT_DATA_SLOTS < LIBROOT_BSS_SLOTS)
		return bss_slots[i - LIBROOT_DATA_SLOTS];
	return NULL;
}

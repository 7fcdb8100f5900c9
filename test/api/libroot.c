/*
 * test/api/libroot.c -- owned by the API tests (not by the library).
 *
 * A shared object that test_gc loads with dlopen after the heap is running:
 * the only references to the test's objects are kept in its writable data
 * (slots 0..LIBROOT_DATA_SLOTS-1, an initialised array, so in .data) and
 * its bss (the other slots). The collector must scan both: roots include
 * the data and bss of every loaded object, including ones loaded later.
 *
 * With LIBROOT_CTOR_FDS="R W" in the environment its constructor, which
 * dlopen runs holding the dynamic loader's lock, writes a byte to W and
 * then waits for one on R, with raw system calls (no wrapper of
 * tricolor's): a thread kept inside the loader for as long as the test
 * wants.
 *
 * libc only; knows nothing of tricolor.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

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

__attribute__((constructor)) static void hold_the_loader(void)
{
	const char *e = getenv("LIBROOT_CTOR_FDS");
	int r, w;
	if (!e || sscanf(e, "%d %d", &r, &w) != 2)
		return;
	char c = 1;
	while (syscall(SYS_write, w, &c, 1) != 1)
		;
	while (syscall(SYS_read, r, &c, 1) != 1)
		;
}

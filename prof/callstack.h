/*
 * callstack.h -- the calling thread's return addresses, for heap profile
 * samples (prof/profile.c) and leak reports (prof/leakcheck.c).
 *
 * Method: libgcc's unwinder (_Unwind_Backtrace), which reads the .eh_frame
 * tables every gcc/clang-built object carries, so it works in programs built
 * without frame pointers (gcc's default at -O2). It never allocates from the
 * C heap once its tables are warm, and callstack_init warms them before any
 * caller needs them. Cost: roughly 0.1-0.3 us per frame; callers must keep
 * it off hot paths (profiling samples once per 512 KiB by default).
 *
 * Locks: with glibc >= 2.35 and gcc >= 12 (Debian 12 here) libgcc finds
 * each frame's FDE through _dl_find_object, which takes no lock, so a
 * capture cannot wait on the loader lock of a thread the collector
 * stopped; with an older libgcc the unwinder uses dl_iterate_phdr (C1).
 *
 * Invariants:
 *   C1. callstack_capture never calls malloc and takes no tricolor lock; it
 *       may take the dynamic loader's lock (dl_iterate_phdr), so it must not
 *       be called while the caller holds a lock the loader could wait on.
 *   C3. callstack_capture_above never reports a frame whose stack pointer
 *       is outside (previous frame's, stack_hi), and stops there; and it
 *       runs the unwinder under threads_run_guarded, so a fault the
 *       unwinder takes reading where wrong unwind information points
 *       (assembly moving the stack pointer without CFI) ends the walk
 *       instead of the process. The first sample installs that SIGSEGV /
 *       SIGBUS handler, chained to the program's (threads.c).
 *   C2. pcs[0] is the caller of the function `skip` frames above
 *       callstack_capture's own caller; entries are return addresses (the
 *       instruction after the call), as pprof expects for non-leaf frames.
 *   C4. When tricolor is a shared object of its own (libtricolor.so, the
 *       malloc preload), callstack_capture_above and
 *       callstack_capture_program never store a leading frame whose call
 *       (pc - 1) lies in that object's code: pcs[0] is the program's call
 *       site however many of tricolor's frames (the preload's malloc, its
 *       slow paths, the sampler, the unwinder linked in) lie between. In
 *       a static link (tricolor inside the program) there is no such
 *       range, and entry points are compared instead.
 *   C5. callstack_symbolize never allocates and takes the loader's lock
 *       (dladdr1): call it with the world running. It names the function
 *       whose symbol's [value, value + size) holds the call, from the
 *       mapped file's .symtab (static functions included), else its
 *       .dynsym, else dladdr's nearest exported symbol.
 */
#ifndef TRI_CALLSTACK_H
#define TRI_CALLSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CALLSTACK_MAX 32 /* frames kept per stack (Go's maxStack) */

/* As callstack_capture, but the frames kept start above the outermost of
 * the innermost CALLSTACK_TRIM frames that lies in one of the functions
 * starting at entries[0..n) (compared with the unwinder's region start),
 * so a sample names the allocation's caller however the library's own
 * frames were inlined (Go trims its leading runtime.* frames by name). If
 * none of them is found, only callstack_capture's own frame is dropped.
 * The walk stops at the first frame whose stack pointer is not above the
 * previous one and below stack_hi (the top of the stack it runs on; 0:
 * unknown, stop after the first frames): code that moves the stack
 * pointer without telling the unwinder (assembly without CFI) yields
 * garbage frames, and stopping there keeps most of them from sending the
 * unwinder to unmapped memory (C2). */
#define CALLSTACK_TRIM 16
int callstack_capture_above(uintptr_t *pcs, int max, const uintptr_t *entries,
                            int n, uintptr_t stack_hi);

/* The name of the function that made the call returning to pc, and the
 * call's offset in it (C5): false if no table names it. */
bool callstack_symbolize(uintptr_t pc, char *name, size_t cap,
                         uintptr_t *off);

/* The canonical frame address (the caller's stack pointer at the call:
 * the caller's frame is at and above it) of the innermost of the calling
 * thread's first CALLSTACK_MAX frames that runs the function starting at
 * fn; 0 if none does. */
uintptr_t callstack_frame_of(uintptr_t fn);

/* Warm the unwinder (first use may dlopen/allocate inside libgcc), and
 * find the code range of the object tricolor runs in when that object is
 * not the main program (C4). Takes the loader's lock: at init only. */
void callstack_init(void);
/* Set the library's code range [lo, hi) by hand (0, 0: none); tests, and
 * a caller that knows better. */
void callstack_set_library(uintptr_t lo, uintptr_t hi);
/* Whether return address pc is a call from the library's code (C4). */
bool callstack_in_library(uintptr_t pc);
/* The calling program's return addresses, innermost first: this
 * function's own frame and every leading frame in the library's code
 * are dropped (C4); at most max stored. Unguarded (callstack_capture). */
int callstack_capture_program(uintptr_t *pcs, int max);

/* Up to max return addresses of the calling thread, skipping the innermost
 * `skip` frames above the caller; returns how many were stored. */
int callstack_capture(uintptr_t *pcs, int max, int skip);

#endif

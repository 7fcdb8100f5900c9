/*
 * leakcheck.h -- allocation sites of live objects and the leak report
 * behind tri_report_leaks (libtricolor-malloc.so's
 * TRICOLOR_MALLOC=leakcheck mode).
 *
 * The malloc preload turns recording on at init, then notes every object
 * it hands out (leakcheck_note, after the allocation) and forgets every
 * object before it frees it (leakcheck_forget). tri_report_leaks stops the
 * world, marks from the roots with its own conservative marker over the
 * recorded objects, and prints the recorded objects left unmarked, grouped
 * by allocation stack, as LeakSanitizer does. Without recording (the plain
 * library) the report says that nothing was recorded.
 *
 * Invariants: see leakcheck.c (L1-L6).
 */
#ifndef TRI_LEAKCHECK_H
#define TRI_LEAKCHECK_H

#include "../base/base.h"

#define LEAK_FRAMES 32 /* most frames kept per allocation stack */
#define LEAK_FRAMES_DEFAULT 12

/* Turn recording on (once, at init, before any thread allocates).
 * [self_lo, self_hi) is the code of the recording library: its frames are
 * left out of the stacks. frames: how many to keep (1..LEAK_FRAMES; 0 for
 * the default); unwinding is most of the cost of recording. */
bool leakcheck_enable(uintptr_t self_lo, uintptr_t self_hi, int frames);
bool leakcheck_enabled(void);
/* The integer environment variable `name` (TRICOLOR_LEAK_FRAMES,
 * TRICOLOR_LEAK_EXITCODE): dflt when unset or empty; a value that is not
 * a whole number gets one warning line and dflt, one outside [lo, hi] one
 * warning line and the nearest bound (L6). No heap: at init. */
int leakcheck_env(const char *name, int lo, int hi, int dflt);
/* Record object p of n bytes with the calling thread's stack. */
void leakcheck_note(void *p, size_t n);
/* Drop p's record, if any (before p is freed). */
void leakcheck_forget(void *p);
/* Print the leaks on fd. Returns the number of leaked objects (direct and
 * indirect); when quiet_if_none and none leaked, prints nothing. */
uint64_t leakcheck_report(int fd, bool quiet_if_none);

#endif /* TRI_LEAKCHECK_H */

/*
 * test/stress/torture_plain.c -- owned by the stress tests (not the
 * library): torture.c as ordinary C -- plain pointer stores and memmove,
 * no tri_set_mode -- so its cycles run in the default mode, concurrent
 * marking with the kernel tracking the program's writes (docs/
 * concurrency.md). Same arguments, checks and output as torture.c.
 */
#define TORTURE_PLAIN 1
#include "torture.c"

/*
 * maps.h -- the malloc preload's roots: every writable mapping of the
 * process minus tricolor's own (maps.c).
 */
#ifndef TRI_PRELOAD_MAPS_H
#define TRI_PRELOAD_MAPS_H

#include "../base/base.h"

/* The roots source for roots_set_mappings_source: world stopped. */
void maps_roots(void (*push)(uintptr_t lo, uintptr_t hi));

#endif /* TRI_PRELOAD_MAPS_H */

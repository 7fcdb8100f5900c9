/*
 * init.c -- the composition root: tri_init brings the floors up in one
 * ordered table, and fork() is handled from the same table.
 *
 * Each step names a module, its init (true on success) and its fork
 * child step (the state a fork child must reset: threads that did not
 * survive, caches of vanished threads). Locks are not the steps'
 * business: every lock is registered with its rank when it is made, and
 * base_fork_prepare / base_fork_parent / base_fork_child take, release
 * and renew them all in rank order (base.h).
 *
 * Invariants:
 *   I1. tri_init runs the init steps in table order, each at most once
 *       successfully: a failed step stops the run, and a later tri_init
 *       resumes at that step (the OS may refuse memory once and not
 *       later). init_done is stored with release after the last step.
 *   I2. In a fork child base_fork_child runs first (every lock usable),
 *       then every fork step of the steps that succeeded, in table order.
 *   I3. The atfork handlers are installed after the last step succeeds,
 *       once.
 */
#include <errno.h>
#include <pthread.h>

#include "../alloc/mcache.h"
#include "../alloc/mcentral.h"
#include "../alloc/mheap.h"
#include "../alloc/sizeclass.h"
#include "../gc/gc.h"
#include "../include/tricolor.h"
#include "../prof/profile.h"
#include "malloc.h"

static bool sizeclass_init(void)
{
	if (TRI_DEBUG >= 3 && !sizeclass_check())
		base_fatal("size class tables are inconsistent");
	return true;
}

static bool central_init(void)
{
	mcentral_init();
	return true;
}

static bool observers_init(void)
{
	const uintptr_t entries[] = {
		(uintptr_t)tri_malloc, (uintptr_t)tri_malloc_noscan,
		(uintptr_t)tri_calloc, (uintptr_t)tri_realloc};
	profile_set_entries(entries, (int)(sizeof entries / sizeof *entries));
	gc_set_observer(profile_observe);
	profile_start_writer();
	return true;
}

typedef struct init_step {
	const char *name;
	bool (*init)(void);
	void (*fork_child)(void);
} init_step;

static const init_step steps[] = {
	{"size classes", sizeclass_init, NULL},
	{"central lists", central_init, NULL},
	{"allocation limits", malloc_init, NULL},
	{"heap", mheap_init, NULL},
	{"thread caches", mcache_init, mcache_fork_child},
	{"collector", gc_init, gc_fork_child},
	{"heap profile", profile_init, NULL},
	{"observers", observers_init, NULL},
};
#define NSTEPS (sizeof steps / sizeof steps[0])

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned steps_done;   /* I1; init_lock */
static atomic_word init_done; /* I1 */

static void fork_child(void)
{
	base_fork_child(); /* I2 */
	for (unsigned i = 0; i < steps_done; i++)
		if (steps[i].fork_child)
			steps[i].fork_child();
}

static bool run_steps(void)
{
	while (steps_done < NSTEPS) {
		if (!steps[steps_done].init())
			return false;
		steps_done++;
	}
	static bool atfork_done; /* I3 */
	if (!atfork_done)
		atfork_done = pthread_atfork(base_fork_prepare, base_fork_parent,
		                             fork_child) == 0;
	return atfork_done;
}

TRI_API int tri_init(void)
{
	if (TRI_LIKELY(atomic_load_acquire(&init_done))) /* pairs below */
		return 0;
	pthread_mutex_lock(&init_lock);
	if (!atomic_load_relaxed(&init_done) && run_steps())
		atomic_store_release(&init_done, 1);
	pthread_mutex_unlock(&init_lock);
	if (!atomic_load_relaxed(&init_done)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

TRI_API int tri_version(void)
{
	return TRI_VERSION;
}

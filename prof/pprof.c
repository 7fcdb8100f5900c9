/*
 * pprof.c -- the sampled heap profile of tri_write_heap_profile in pprof's
 * format (prof/pprof_enc.h), Go's runtime/pprof writeHeapProto.
 *
 * Steps:
 *   1. Read the executable file mappings of the process from
 *      /proc/self/maps (as Go's pprof does), main executable first.
 *   2. Count the buckets' frames (profile_for_each_bucket) and map a
 *      location table twice that size.
 *   3. In the heap-critical region (so prof_lock is never held by a
 *      stopped thread, profile.h I3), encode every published bucket as a
 *      sample, unsampled with Go's scaleHeapSample.
 *   4. Write the buffer to fd, then unmap every scratch buffer.
 *
 * Invariants:
 *   W1. Nothing here allocates from the heap: buffers are mapped with
 *       os_map and unmapped before returning (they are never scanned).
 *   W2. A bucket with no published allocation (active.allocs == 0) is
 *       not written; in-use values never go below zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "../alloc/os.h"
#include "../alloc/sample.h"
#include "../include/tricolor.h"
#include "callstack.h"
#include "pprof_enc.h"
#include "profile.h"


static bool map_grow(pb *b, size_t need)
{
	void *p = b->p;
	bool ok = os_vec_reserve(&p, &b->cap, b->len, b->len + need, 1,
	                         64 * TRI_KiB);
	b->p = p;
	return ok;
}

static void pb_release(pb *b)
{
	if (b->p)
		os_unmap_mapped(b->p, b->cap);
	b->p = NULL;
	b->cap = b->len = 0;
}

/* ---- mappings from /proc/self/maps (os_maps_line) ---- */

/* "lo-hi perms off dev inode   path": keep executable file mappings. */
typedef struct maps_arg {
	maps_scratch *ms;
	const char *exe;
} maps_arg;

static void maps_line(const os_mapping *mp, void *arg)
{
	maps_scratch *ms = ((maps_arg *)arg)->ms;
	const char *exe = ((maps_arg *)arg)->exe;
	os_mapping m = *mp;
	if (m.perms[2] != 'x' || m.path[0] != '/' || ms->n == MAX_MAPPINGS)
		return;
	const char *path = m.path;
	size_t i = ms->n++;
	size_t n = strlen(path);
	if (n >= sizeof ms->names[i])
		n = sizeof ms->names[i] - 1;
	memcpy(ms->names[i], path, n);
	ms->names[i][n] = '\0';
	ms->m[i] = (pp_mapping){m.lo, m.hi, m.offset, ms->names[i]};
	/* pprof takes the first mapping as the program: move the main
	 * executable's first mapping to the front. */
	if (exe[0] && strcmp(ms->names[i], exe) == 0 &&
	    (ms->n == 1 || strcmp(ms->m[0].name, exe) != 0)) {
		pp_mapping t = ms->m[i];
		memmove(&ms->m[1], &ms->m[0], i * sizeof ms->m[0]);
		ms->m[0] = t;
	}
}

void profile_read_maps(maps_scratch *ms)
{
	char exe[256] = "";
	ssize_t e = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[e > 0 ? e : 0] = '\0';
	ms->n = 0;
	(void)os_read_maps(maps_line, &(maps_arg){ms, exe});
}

/* ---- samples ---- */

static void count_frames(const mprof_bucket *b, void *arg)
{
	*(size_t *)arg += b->nstk;
}

typedef struct emit_arg {
	pp_builder *pp;
	long rate;
} emit_arg;

static void emit_bucket(const mprof_bucket *b, void *arg)
{
	emit_arg *ea = arg;
	const mprof_record *r = &b->active;
	if (r->allocs == 0)
		return; /* W2 */
	uint64_t in_n = r->allocs > r->frees ? r->allocs - r->frees : 0;
	uint64_t in_b = r->alloc_bytes > r->free_bytes
	                ? r->alloc_bytes - r->free_bytes : 0;
	int64_t v[4];
	pp_scale(r->allocs, r->alloc_bytes, ea->rate, &v[0], &v[1]);
	pp_scale(in_n, in_b, ea->rate, &v[2], &v[3]);
	uint64_t pcs[CALLSTACK_MAX];
	unsigned n = b->nstk < CALLSTACK_MAX ? b->nstk : CALLSTACK_MAX;
	for (unsigned i = 0; i < n; i++)
		pcs[i] = b->stk[i];
	pp_sample(ea->pp, pcs, n, v, (int64_t)b->size);
}

int pprof_write(int fd)
{
	maps_scratch *ms = os_map(sizeof *ms);
	if (!ms) {
		errno = ENOMEM;
		return -1;
	}
	profile_read_maps(ms);
	size_t frames = 0;
	m_acquire(); /* profile.h I3 */
	profile_for_each_bucket(count_frames, &frames);
	m_release();
	size_t nlocs = 1024;
	while (nlocs < 2 * frames + 64)
		nlocs *= 2;
	uint64_t *locs = os_map(nlocs * sizeof *locs);
	pb out = {.grow = map_grow}, tmp = {.grow = map_grow},
	   strs = {.grow = map_grow};
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pp_builder pp = {.out = &out, .tmp = &tmp, .strs = &strs,
	                 .locs = locs, .nlocs = nlocs, .maps = ms->m,
	                 .nmaps = ms->n};
	long rate = sample_rate();
	int ret = -1;
	if (locs) {
		pp_begin(&pp, rate, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
		emit_arg ea = {&pp, rate};
		m_acquire(); /* profile.h I3 */
		profile_for_each_bucket(emit_bucket, &ea);
		m_release();
		pp_end(&pp);
		if (!out.failed && !tmp.failed) {
			ret = 0;
			for (size_t done = 0; done < out.len;) {
				ssize_t w = write(fd, out.p + done, out.len - done);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0) {
					ret = -1;
					break;
				}
				done += (size_t)w;
			}
		} else {
			errno = ENOMEM;
		}
		os_unmap_mapped(locs, nlocs * sizeof *locs);
	} else {
		errno = ENOMEM;
	}
	int saved = errno;
	pb_release(&out);
	pb_release(&tmp);
	pb_release(&strs);
	os_unmap_mapped(ms, sizeof *ms);
	errno = saved;
	return ret;
}

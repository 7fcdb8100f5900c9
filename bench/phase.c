/*
 * phase.c -- owns the phase-change benchmark: how much memory an allocator
 * gives back to the OS when a program's live heap shrinks and stays small.
 * One source built per allocator through gc_alloc.h (tricolor in its
 * default stop-the-world mode, bdwgc, glibc, jemalloc).
 *
 * Usage:  phase [LIVE_MB [IDLE_S [SHRINK_S [CSV]]]]   (default 1024 15 5 -)
 *
 * The run, one mutator thread:
 *   1. grow: build GROUPS groups one after another, each LIVE_MB / GROUPS
 *      MiB: a scanned group object holding LISTS list heads, and nodes of
 *      32 to 512 bytes (random, scanned: a next pointer, a buffer pointer,
 *      sizes and a check word, the rest written with a pattern) pushed
 *      round-robin on its lists; one node in 256 also owns a pointer-free
 *      buffer of 4 to 64 KiB, one in 4096 a buffer of 256 KiB to 1 MiB,
 *      every byte written (so every page is resident). About half the
 *      bytes are nodes, a quarter medium and a quarter large buffers.
 *   2. shrink (t = 0 of the chart): drop every group but the middle one
 *      (KEEP_GROUP; 95 % of the live heap, with live data left in the
 *      middle of the address range so neither a trim of the top nor of
 *      the bottom gets it all back). malloc peers free() each node and
 *      buffer of the dropped groups; the collectors only lose the
 *      references. Then allocate 2 * LIVE_MB MiB of short-lived garbage as
 *      fast as possible (nodes and buffers of the same kinds through a ring
 *      of RING slots: each new object replaces, and for malloc peers frees,
 *      the one RING allocations older), enough for a collector with Go's
 *      heap goal (twice the live heap) to run cycles after the drop; then
 *      the idle churn until SHRINK_S seconds have passed since the drop.
 *   3. idle: IDLE_S seconds of churn through the same ring at IDLE_RATE
 *      MiB/s (one burst every TICK_MS), so the live heap stays near
 *      LIVE_MB / GROUPS MiB and allocators that return memory from their
 *      allocation paths (jemalloc's decay) or a background thread have
 *      the time to do it.
 *   4. check the kept group (node count, check words, buffer bytes):
 *      "Failed" and exit 1 if it was damaged.
 *
 * RSS: a sampler thread (plain pthread_create: registered with no
 * collector; it allocates nothing) reads the resident set from
 * /proc/self/statm every SAMPLE_MS into a preallocated array, with the
 * current phase; the main thread adds one sample at each phase change and
 * one at the end (the first "shrink" sample is the RSS at the end of grow,
 * taken before the drop).
 *
 * Output: the RESULT line (gc_alloc.h) with params "live_mb=M idle_s=I
 * shrink_s=S"; wall_ms is the whole run (grow to the end of idle); after
 * cpu_ms:
 *   grow_rss_mib       RSS at the end of grow (just before the drop)
 *   shrink1s_rss_mib   RSS 1 s after the end of shrink (first sample at or
 *                      after idle start + 1000 ms)
 *   idle_end_rss_mib   RSS at the end of idle
 *   sampled_peak_mib   the largest sample (maxrss_kb is the exact peak)
 *   grow_ms shrink_ms idle_ms   the phases' durations
 *   garbage_mib        what the shrink phase allocated as fast as it could
 *   samples samples_lost
 * and, if CSV is given ("-": stdout), the samples as rows
 * "allocator,ms,phase,rss_mib" (ms since the start of grow; no header).
 */
#define _POSIX_C_SOURCE 200809L

#include "gc_alloc.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <unistd.h>

enum {
	GROUPS = 20,     /* the live heap is built in this many groups */
	KEEP_GROUP = 10, /* the one kept at the drop: 1/20 = 5 % */
	LISTS = 256,     /* list heads per group */
	RING = 4096,     /* short-lived objects in flight */
	SAMPLE_MS = 100,
	TICK_MS = 10,
	IDLE_RATE = 4, /* MiB/s of churn while idle */
	MAX_SAMPLES = 1 << 16,
	CHECK_WORD = 0x0b5e55ed,
};

enum phase { PHASE_GROW, PHASE_SHRINK, PHASE_IDLE };
static const char *const phase_names[] = {"grow", "shrink", "idle"};

typedef struct node {
	struct node *next;
	unsigned char *buf; /* pointer-free buffer, or NULL */
	uint32_t size;      /* bytes of this node */
	uint32_t buf_size;
	uint64_t check; /* CHECK_WORD ^ size ^ buf_size */
	/* the rest of size is written with (unsigned char)size */
} node_t;

typedef struct group {
	node_t *head[LISTS];
	uint64_t nodes;
	uint64_t bytes; /* nodes and buffers */
} group_t;

/* Roots: globals, so the collectors scan them and stores are barriered. */
static group_t *groups[GROUPS];
static node_t *ring[RING];
static size_t ring_pos;
static uint64_t rng = 0x9e3779b97f4a7c15u;

typedef struct sample {
	uint32_t ms; /* since the start of grow */
	uint32_t phase;
	uint64_t rss_kib;
} sample_t;

/* The samples, appended under sample_lock by the sampler and the main
 * thread; read by the main thread after the sampler stopped. */
static pthread_mutex_t sample_lock = PTHREAD_MUTEX_INITIALIZER;
static sample_t *samples;
static size_t nsamples, samples_lost;
static atomic_int phase_now; /* main writes, sampler reads */
static atomic_int sampler_stop;
static uint64_t start_ns;
static long page_kib;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- RSS sampling: no allocation, no stdio ---- */

/* The resident set in KiB (field 2 of /proc/self/statm), 0 if unreadable. */
static uint64_t rss_kib(void)
{
	char buf[128], *p, *end;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	strtoul(buf, &p, 10); /* size */
	unsigned long pages = strtoul(p, &end, 10);
	return end == p ? 0 : (uint64_t)pages * (uint64_t)page_kib;
}

static uint64_t record(int phase) /* returns the RSS it recorded */
{
	uint64_t kib = rss_kib();
	uint32_t ms = (uint32_t)((bench_clock_ns() - start_ns) / 1000000u);

	pthread_mutex_lock(&sample_lock);
	if (nsamples < MAX_SAMPLES)
		samples[nsamples++] = (sample_t){ms, (uint32_t)phase, kib};
	else
		samples_lost++;
	pthread_mutex_unlock(&sample_lock);
	return kib;
}

static void *sampler(void *arg)
{
	struct timespec next;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &next); /* main took the sample at 0 */
	for (;;) {
		next.tv_nsec += SAMPLE_MS * 1000000L;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
		                       NULL) != 0)
			; /* EINTR: sleep again */
		if (atomic_load(&sampler_stop))
			return NULL;
		record(atomic_load(&phase_now));
	}
}

static uint64_t set_phase(int phase) /* returns the RSS at the change */
{
	atomic_store(&phase_now, phase);
	return record(phase);
}

/* ---- the heap ---- */

/* Fill n's fields and payload; a buffer of buf_size bytes if not 0. */
static node_t *new_node(uint32_t size, uint32_t buf_size)
{
	node_t *n = bench_check(BENCH_ALLOC(size));

	BENCH_STORE(n->next, NULL);
	BENCH_STORE(n->buf, NULL);
	n->size = size;
	n->buf_size = buf_size;
	n->check = CHECK_WORD ^ size ^ buf_size;
	memset(n + 1, (unsigned char)size, size - sizeof(node_t));
	if (buf_size > 0) {
		unsigned char *b = bench_check(BENCH_ALLOC_NOSCAN(buf_size));

		memset(b, (unsigned char)buf_size, buf_size);
		BENCH_STORE(n->buf, b);
	}
	return n;
}

/* A node of the size mix: 32..512 bytes, one in 256 with a 4..64 KiB
 * buffer, one in 4096 (if large) with a 256 KiB..1 MiB buffer. */
static node_t *mix_node(int large)
{
	uint64_t r = xorshift();
	uint32_t size = (uint32_t)(sizeof(node_t) + 8 * (r % 61));
	uint32_t buf = 0;

	r >>= 8;
	if (large && r % 4096 == 0)
		buf = (uint32_t)(256 * 1024 + (r >> 12) % (768 * 1024 + 1));
	else if (r % 256 == 0)
		buf = (uint32_t)(4096 + (r >> 12) % (60 * 1024 + 1));
	return new_node(size, buf);
}

static void free_node(node_t *n)
{
	if (n != NULL && BENCH_FREES) {
		BENCH_FREE(n->buf);
		BENCH_FREE(n);
	}
}

static void build_group(int g, uint64_t bytes)
{
	group_t *gp = bench_check(BENCH_ALLOC(sizeof(group_t)));

	for (int k = 0; k < LISTS; k++)
		BENCH_STORE(gp->head[k], NULL);
	gp->nodes = gp->bytes = 0;
	BENCH_STORE(groups[g], gp);
	while (gp->bytes < bytes) {
		node_t *n = mix_node(1);
		int k = (int)(gp->nodes % LISTS);

		BENCH_STORE(n->next, gp->head[k]);
		BENCH_STORE(gp->head[k], n);
		gp->nodes++;
		gp->bytes += n->size + n->buf_size;
	}
}

static void drop_group(int g)
{
	group_t *gp = groups[g];

	if (BENCH_FREES) {
		for (int k = 0; k < LISTS; k++) {
			node_t *n = gp->head[k];

			while (n != NULL) {
				node_t *next = n->next;

				free_node(n);
				n = next;
			}
		}
		BENCH_FREE(gp);
	}
	BENCH_STORE(groups[g], NULL);
}

/* Overwrite the stack below the caller, so no stale copy of a dropped
 * pointer keeps a group alive for a conservative collector. */
static __attribute__((noinline)) void scrub_stack(void)
{
	volatile char pad[64 * 1024];

	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = 0;
}

/* One short-lived object through the ring; returns its bytes. */
static uint64_t churn_one(void)
{
	node_t *n = mix_node(0);
	size_t i = ring_pos++ % RING;

	free_node(ring[i]);
	BENCH_STORE(ring[i], n);
	return n->size + n->buf_size;
}

/* Churn at IDLE_RATE MiB/s until deadline_ns. */
static void churn_idle(uint64_t deadline_ns)
{
	const uint64_t per_tick = (uint64_t)IDLE_RATE * 1024 * 1024 * TICK_MS / 1000;
	uint64_t tick = bench_clock_ns();

	while (tick < deadline_ns) {
		for (uint64_t b = 0; b < per_tick;)
			b += churn_one();
		tick += (uint64_t)TICK_MS * 1000000u;
		bench_sleep_until(tick < deadline_ns ? tick : deadline_ns);
	}
}

/* Nodes of the kept group that are intact, or -1 if one is damaged. */
static long check_group(const group_t *gp)
{
	long count = 0;

	for (int k = 0; k < LISTS; k++) {
		for (const node_t *n = gp->head[k]; n != NULL; n = n->next) {
			const unsigned char *p = (const unsigned char *)(n + 1);
			size_t pay = n->size - sizeof(node_t);

			if (n->check != (CHECK_WORD ^ n->size ^ n->buf_size) ||
			    (pay > 0 && (p[0] != (unsigned char)n->size ||
			                 p[pay - 1] != (unsigned char)n->size)))
				return -1;
			if (n->buf_size > 0 &&
			    (n->buf == NULL ||
			     n->buf[0] != (unsigned char)n->buf_size ||
			     n->buf[n->buf_size - 1] != (unsigned char)n->buf_size))
				return -1;
			count++;
		}
	}
	return count;
}

/* ---- results ---- */

static double mib(uint64_t kib)
{
	return (double)kib / 1024.0;
}

/* RSS of the first sample at or after ms (the last one if none). */
static uint64_t rss_at(uint32_t ms)
{
	for (size_t i = 0; i < nsamples; i++)
		if (samples[i].ms >= ms)
			return samples[i].rss_kib;
	return nsamples ? samples[nsamples - 1].rss_kib : 0;
}

static void write_csv(const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (f == NULL)
		bench_die("cannot open the CSV file");
	for (size_t i = 0; i < nsamples; i++)
		fprintf(f, "%s,%u,%s,%.1f\n", BENCH_ALLOC_NAME, samples[i].ms,
		        phase_names[samples[i].phase], mib(samples[i].rss_kib));
	if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
		bench_die("cannot write the CSV file");
}

int main(int argc, char **argv)
{
	int live_mb = 1024, idle_s = 15, shrink_s = 5;
	const char *csv = NULL;
	char params[80], extra[400];
	uint64_t grow_kib, end_kib, peak_kib = 0, garbage = 0, t_drop, t_idle, t_end;
	double t0, t1;
	pthread_t sampler_thread;
	long kept;

	if (argc > 5) {
		fprintf(stderr,
		        "usage: phase [LIVE_MB [IDLE_S [SHRINK_S [CSV]]]]\n");
		return 2;
	}
	if (argc >= 2)
		live_mb = bench_parse(argv[1], "LIVE_MB", GROUPS, 1 << 20);
	if (argc >= 3)
		idle_s = bench_parse(argv[2], "IDLE_S", 1, 3600);
	if (argc >= 4)
		shrink_s = bench_parse(argv[3], "SHRINK_S", 1, 3600);
	if (argc == 5)
		csv = argv[4];
	page_kib = sysconf(_SC_PAGESIZE) / 1024;
	samples = bench_check(malloc(MAX_SAMPLES * sizeof(sample_t)));

	bench_gc_start();
	printf("phases: grow to %d MiB live in %d groups, drop all but one, "
	       "shrink %d s, idle %d s at %d MiB/s\n",
	       live_mb, GROUPS, shrink_s, idle_s, IDLE_RATE);
	fflush(stdout);
	start_ns = bench_clock_ns();
	t0 = bench_now_ms();
	set_phase(PHASE_GROW);
	if (pthread_create(&sampler_thread, NULL, sampler, NULL) != 0)
		bench_die("cannot start the RSS sampler");

	for (int g = 0; g < GROUPS; g++)
		build_group(g, (uint64_t)live_mb * 1024 * 1024 / GROUPS);

	t_drop = bench_clock_ns();
	grow_kib = set_phase(PHASE_SHRINK); /* taken before the drop */
	for (int g = 0; g < GROUPS; g++)
		if (g != KEEP_GROUP)
			drop_group(g);
	scrub_stack();
	while (garbage < 2 * (uint64_t)live_mb * 1024 * 1024)
		garbage += churn_one();
	churn_idle(t_drop + (uint64_t)shrink_s * 1000000000u);

	t_idle = bench_clock_ns();
	set_phase(PHASE_IDLE);
	churn_idle(t_idle + (uint64_t)idle_s * 1000000000u);
	t_end = bench_clock_ns();
	t1 = bench_now_ms();
	atomic_store(&sampler_stop, 1);
	pthread_join(sampler_thread, NULL);
	end_kib = record(PHASE_IDLE); /* the last sample */

	kept = check_group(groups[KEEP_GROUP]);
	if (kept != (long)groups[KEEP_GROUP]->nodes) {
		printf("Failed: the kept group has %ld intact nodes of %llu\n",
		       kept, (unsigned long long)groups[KEEP_GROUP]->nodes);
		return 1;
	}
	for (size_t i = 0; i < nsamples; i++)
		if (samples[i].rss_kib > peak_kib)
			peak_kib = samples[i].rss_kib;
	snprintf(params, sizeof params, "live_mb=%d idle_s=%d shrink_s=%d",
	         live_mb, idle_s, shrink_s);
	snprintf(extra, sizeof extra,
	         "grow_rss_mib=%.1f shrink1s_rss_mib=%.1f "
	         "idle_end_rss_mib=%.1f sampled_peak_mib=%.1f grow_ms=%.0f "
	         "shrink_ms=%.0f idle_ms=%.0f garbage_mib=%.0f samples=%zu "
	         "samples_lost=%zu",
	         mib(grow_kib),
	         mib(rss_at((uint32_t)((t_idle - start_ns) / 1000000u) + 1000)),
	         mib(end_kib), mib(peak_kib),
	         (double)(t_drop - start_ns) / 1e6,
	         (double)(t_idle - t_drop) / 1e6, (double)(t_end - t_idle) / 1e6,
	         (double)garbage / (1024.0 * 1024.0), nsamples, samples_lost);
	bench_result("phase", params, extra, t0, t1);
	if (csv != NULL)
		write_csv(csv);
	return 0;
}

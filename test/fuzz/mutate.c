/*
 * mutate.c -- owned by the tests: a deterministic mutation fuzzer for
 * tools/tricolor-dump's reader, run by make check (no clang needed; the
 * libFuzzer harness beside it is for long runs: make fuzz).
 *
 *   fuzz_mutate SECONDS SEED FILE...
 * Every FILE (a valid dump: test/fuzz/corpus) must parse as it is. Then,
 * until SECONDS have passed (at most 200000 inputs), a corpus file is
 * mutated 1 to 4 times -- a bit flipped, a byte set to 0/0xff/0x7f/0x80 or
 * a random value, a 32-bit field (record lengths, counts) set to an
 * interesting value, a chunk deleted or duplicated, the file truncated --
 * and handed to dump_fuzz_one, which must return (accept or refuse),
 * never crash; the build runs it under ASan and UBSan. The same SEED
 * gives the same inputs. Exit status 0, or 1 if a seed file is refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int dump_fuzz_one(const uint8_t *data, size_t size);

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15u); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(next() % n) : 0;
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)len + 1);
	if (!p || fread(p, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "%s: read error\n", path);
		exit(2);
	}
	fclose(f);
	*n = (size_t)len;
	return p;
}

/* One mutation of buf[0..*n) (capacity cap). */
static void mutate(uint8_t *buf, size_t *n, size_t cap)
{
	static const uint8_t bytes[] = {0, 0xff, 0x7f, 0x80, 1};
	static const uint32_t words[] = {0, 1, 0xffffffffu, 0x7fffffffu,
	                                 0x80000000u, 16, 24, 5};
	size_t len = *n;
	switch (below(7)) {
	case 0:
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1:
		if (len)
			buf[below(len)] = bytes[below(sizeof bytes)];
		break;
	case 2:
		if (len)
			buf[below(len)] = (uint8_t)next();
		break;
	case 3:
		if (len >= 4) {
			uint32_t w = words[below(sizeof words / sizeof *words)];
			memcpy(buf + below(len - 3), &w, 4);
		}
		break;
	case 4: { /* delete a chunk */
		size_t at = below(len), k = below(len - at + 1) % 64;
		memmove(buf + at, buf + at + k, len - at - k);
		*n = len - k;
		break;
	}
	case 5: { /* duplicate a chunk */
		size_t at = below(len), k = below(len - at + 1) % 64;
		if (len + k <= cap) {
			memmove(buf + at + k, buf + at, len - at);
			*n = len + k;
		}
		break;
	}
	default:
		*n = below(len + 1); /* truncate */
		break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: fuzz_mutate SECONDS SEED FILE...\n");
		return 2;
	}
	if (!freopen("/dev/null", "w", stdout))
		return 2;
	double seconds = atof(argv[1]);
	rng = strtoull(argv[2], NULL, 0);
	int nfiles = argc - 3;
	uint8_t **files = calloc((size_t)nfiles, sizeof *files);
	size_t *sizes = calloc((size_t)nfiles, sizeof *sizes), max = 0;
	for (int i = 0; i < nfiles; i++) {
		files[i] = slurp(argv[3 + i], &sizes[i]);
		if (sizes[i] > max)
			max = sizes[i];
		if (dump_fuzz_one(files[i], sizes[i]) != 0) {
			fprintf(stderr, "fuzz_mutate: seed %s is refused\n",
			        argv[3 + i]);
			return 1;
		}
	}
	size_t cap = max + 4096;
	uint8_t *buf = malloc(cap);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned long runs = 0, accepted = 0;
	for (; runs < 200000; runs++) {
		if (runs % 64 == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) +
			    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
				break;
		}
		int f = (int)below((size_t)nfiles);
		size_t n = sizes[f];
		memcpy(buf, files[f], n);
		for (size_t k = 1 + below(4); k > 0; k--)
			mutate(buf, &n, cap);
		/* an exact-size copy, so ASan sees any read past the end */
		uint8_t *in = malloc(n ? n : 1);
		memcpy(in, buf, n);
		accepted += dump_fuzz_one(in, n) == 0;
		free(in);
	}
	fprintf(stderr, "fuzz_mutate: %lu inputs, %lu accepted, %lu refused, "
	        "no crash\n", runs, accepted, runs - accepted);
	for (int i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(sizes);
	free(buf);
	return 0;
}

/*
 * libfuzzer.c -- owned by the tests: the libFuzzer entry for
 * tools/tricolor-dump's reader (make fuzz; clang only). Seeds:
 * test/fuzz/corpus. See mutate.c for the bounded run make check does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int dump_fuzz_one(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return freopen("/dev/null", "w", stdout) ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dump_fuzz_one(data, size);
	return 0;
}

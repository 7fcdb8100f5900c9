// exceptions.cc -- owned by test/preload/run.sh. C++ exceptions under the
// preload, which links its own copy of libgcc's unwinder with hidden names
// (Makefile: -static-libgcc): the program's throws must keep unwinding
// through libgcc_s, and the exception objects and strings come from the
// preload's malloc.
//
//   exceptions THREADS N
// THREADS threads each throw and catch N exceptions carrying a string,
// through a few frames holding std::string and std::vector locals, and
// check what they caught. Prints "ok T*N" or names the failure, exit 1.
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

static void deep(int depth, int i)
{
	std::vector<std::string> locals(4, std::string(40 + depth, 'x'));
	if (depth == 0)
		throw std::runtime_error("boom " + std::to_string(i));
	deep(depth - 1, i);
}

static long run(int n)
{
	long caught = 0;
	for (int i = 0; i < n; i++) {
		try {
			deep(i % 6, i);
		} catch (const std::runtime_error &e) {
			caught += std::string(e.what()) == "boom " + std::to_string(i);
		}
	}
	return caught;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? std::atoi(argv[1]) : 2;
	int n = argc > 2 ? std::atoi(argv[2]) : 10000;
	std::vector<long> got(threads);
	std::vector<std::thread> ts;
	for (int t = 0; t < threads; t++)
		ts.emplace_back([&got, t, n] { got[t] = run(n); });
	long total = 0;
	for (int t = 0; t < threads; t++) {
		ts[t].join();
		total += got[t];
	}
	if (total != (long)threads * n) {
		std::printf("FAILED: caught %ld of %ld\n", total, (long)threads * n);
		return 1;
	}
	std::printf("ok %ld\n", total);
	return 0;
}

/*
 * blocking.c -- the C library's blocking calls, each run in a blocking
 * section (threads.h I5-I8, Go's entersyscall / exitsyscall). They are
 * exported under the C library's names from libtricolor.so,
 * libtricolor.a and libtricolor-malloc.so, so that a program linked with
 * tricolor, or running under the preload, has its threads that wait in
 * them scanned in place: never signalled (no EINTR), never waited for by
 * a stop. The list is in blocking.h; docs/api.md is the user's guide.
 *
 * Algorithm, per call:
 *   1. The C library's function is looked up once (dlsym RTLD_NEXT) and
 *      kept in a word of its own.
 *   2. A section is entered in the wrapper's frame, the call made, the
 *      section left. Leaving is a cleanup of the wrapper's scope, so it
 *      also runs when the thread is cancelled inside the call (the
 *      cancellation unwinds through this frame: this file is built with
 *      -fexceptions).
 *   3. A call that fails with EINTR although the collector stopped the
 *      thread during it is retried, with the time left for timed calls.
 *      That can happen only when the section ended early (a signal
 *      handler that ran inside the call touched the heap, I8): inside a
 *      section no stop signal is sent.
 *
 * Invariants:
 *   B1. A wrapper returns what the C library's call returns, with its
 *       errno, except that step 3's EINTR is retried; pause and
 *       sigsuspend return as they are (a retry could hide a program
 *       signal that came at the same time).
 *   B2. The section begins in the wrapper's own frame, which stays live
 *       until the call returns (threads.h: threads_entersyscall).
 *   B3. The lookup of step 1 happens before the section begins (dlsym
 *       may allocate).
 *
 * This file is part of gc/threads.c's OS boundary: it includes the
 * system headers of the calls it wraps.
 */
#include "blocking.h"

#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"

#define BLOCKING_API __attribute__((visibility("default")))

/* The fortified forms (_FORTIFY_SOURCE), declared here: the headers
 * declare them only to fortified programs. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
                       int flags, __SOCKADDR_ARG addr, socklen_t *alen);
int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                const sigset_t *mask, size_t fdslen);

/* ---- step 1: the C library's function ---- */

static uintptr_t lookup(atomic_word *slot, const char *name)
{
	uintptr_t f = atomic_load_acquire(slot); /* pairs: the store below */
	if (TRI_LIKELY(f))
		return f;
	f = (uintptr_t)dlsym(RTLD_NEXT, name);
	if (!f)
		base_fatal("%s: no definition after tricolor's (is the "
		          "program linked statically?)", name);
	atomic_store_release(slot, f);
	return f;
}

/* Every wrapped call. Their definitions are looked up once, at init
 * (blocking_init), and never later: dlsym takes the dynamic loader's
 * lock, and a lookup made while the collector stops the world could wait
 * for a thread stopped inside dlsym, holding it (the collector's own
 * waits -- sem_wait, pthread_cond_wait -- come through these wrappers).
 * A call made before init looks its definition up on the spot. */
#define BLOCKING_CALLS(X) \
	X(__poll_chk) \
	X(__ppoll_chk) \
	X(__read_chk) \
	X(__recv_chk) \
	X(__recvfrom_chk) \
	X(accept) \
	X(accept4) \
	X(clock_nanosleep) \
	X(connect) \
	X(epoll_pwait) \
	X(epoll_wait) \
	X(nanosleep) \
	X(pause) \
	X(poll) \
	X(ppoll) \
	X(pselect) \
	X(pthread_cond_timedwait) \
	X(pthread_cond_wait) \
	X(pthread_join) \
	X(read) \
	X(readv) \
	X(recv) \
	X(recvfrom) \
	X(recvmsg) \
	X(select) \
	X(sem_timedwait) \
	X(sem_wait) \
	X(send) \
	X(sendmsg) \
	X(sendto) \
	X(sigsuspend) \
	X(sigtimedwait) \
	X(sigwait) \
	X(sigwaitinfo) \
	X(wait) \
	X(waitid) \
	X(waitpid) \
	X(write) \
	X(writev)

#define SLOT(name) static atomic_word real_##name;
BLOCKING_CALLS(SLOT)
#undef SLOT

void blocking_init(void)
{
#define LOOKUP(name) (void)lookup(&real_##name, #name);
	BLOCKING_CALLS(LOOKUP)
#undef LOOKUP
}

/* The next definition of name, typed as ours (B3). */
#define REAL(name) \
	__typeof__(&name) const next_##name = \
		(__typeof__(&name))lookup(&real_##name, #name)

/* ---- step 2: the section, a scope ---- */

static void section_end(char *unused)
{
	(void)unused;
	threads_exitsyscall();
}

static char section_begin(void)
{
	threads_entersyscall();
	return 0;
}

/* A scope that is a blocking section until its end (B2). */
#define SECTION \
	char section_ __attribute__((cleanup(section_end), unused)) = \
		section_begin()

/* ---- step 3: EINTR from a stop, and the time left ---- */

static bool stopped_eintr(long r)
{
	return r == -1 && errno == EINTR && threads_take_stopped();
}

static uint64_t deadline_ms(int ms)
{
	return ms > 0 ? clock_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000 : 0;
}

static uint64_t deadline_ts(const struct timespec *ts)
{
	if (!ts)
		return 0;
	return clock_ns(CLOCK_MONOTONIC) + (uint64_t)ts->tv_sec * 1000000000 +
	       (uint64_t)ts->tv_nsec;
}

static uint64_t ns_left(uint64_t deadline)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	return deadline > now ? deadline - now : 0;
}

/* A timeout in ms for a retry: infinite and zero stay as they were. */
static int ms_left(int ms, uint64_t deadline)
{
	if (ms <= 0)
		return ms;
	return (int)((ns_left(deadline) + 999999) / 1000000);
}

/* A relative timespec for a retry (NULL stays NULL). */
static const struct timespec *ts_left(const struct timespec *ts,
                                      uint64_t deadline,
                                      struct timespec *buf)
{
	if (!ts)
		return NULL;
	uint64_t left = ns_left(deadline);
	buf->tv_sec = (time_t)(left / 1000000000);
	buf->tv_nsec = (long)(left % 1000000000);
	return buf;
}

/* ---- sleeping ---- */

BLOCKING_API int nanosleep(const struct timespec *req, struct timespec *rem)
{
	REAL(nanosleep);
	struct timespec left, again;
	struct timespec *out = rem ? rem : &left;
	int r;
	for (;;) {
		{
			SECTION;
			r = next_nanosleep(req, out);
		}
		if (!stopped_eintr(r))
			return r;
		again = *out;
		req = &again;
	}
}

BLOCKING_API int clock_nanosleep(clockid_t clk, int flags,
                                 const struct timespec *req,
                                 struct timespec *rem)
{
	REAL(clock_nanosleep);
	struct timespec left, again;
	struct timespec *out = rem ? rem : &left;
	int r; /* an error number, not -1 */
	for (;;) {
		{
			SECTION;
			r = next_clock_nanosleep(clk, flags, req, out);
		}
		if (r != EINTR || !threads_take_stopped())
			return r;
		if (!(flags & TIMER_ABSTIME)) {
			again = *out;
			req = &again;
		}
	}
}

BLOCKING_API unsigned int sleep(unsigned int seconds)
{
	struct timespec ts = {.tv_sec = (time_t)seconds}, rem = {0};
	if (nanosleep(&ts, &rem) == 0)
		return 0;
	return (unsigned)rem.tv_sec + (rem.tv_nsec > 0); /* as glibc's */
}

BLOCKING_API int usleep(useconds_t us)
{
	struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
	                      .tv_nsec = (long)(us % 1000000) * 1000};
	return nanosleep(&ts, NULL);
}

BLOCKING_API int pause(void)
{
	REAL(pause);
	SECTION;
	return next_pause(); /* B1: returned as it is */
}

/* ---- waiting for descriptors ---- */

BLOCKING_API int poll(struct pollfd *fds, nfds_t n, int ms)
{
	REAL(poll);
	uint64_t end = deadline_ms(ms);
	int r;
	for (;;) {
		{
			SECTION;
			r = next_poll(fds, n, ms);
		}
		if (!stopped_eintr(r))
			return r;
		ms = ms_left(ms, end);
	}
}

BLOCKING_API int __poll_chk(struct pollfd *fds, nfds_t n, int ms,
                            size_t fdslen)
{
	REAL(__poll_chk);
	uint64_t end = deadline_ms(ms);
	int r;
	for (;;) {
		{
			SECTION;
			r = next___poll_chk(fds, n, ms, fdslen);
		}
		if (!stopped_eintr(r))
			return r;
		ms = ms_left(ms, end);
	}
}

BLOCKING_API int ppoll(struct pollfd *fds, nfds_t n,
                       const struct timespec *ts, const sigset_t *mask)
{
	REAL(ppoll);
	uint64_t end = deadline_ts(ts);
	struct timespec buf;
	int r;
	for (;;) {
		{
			SECTION;
			r = next_ppoll(fds, n, ts, mask);
		}
		if (!stopped_eintr(r))
			return r;
		ts = ts_left(ts, end, &buf);
	}
}

BLOCKING_API int __ppoll_chk(struct pollfd *fds, nfds_t n,
                             const struct timespec *ts, const sigset_t *mask,
                             size_t fdslen)
{
	REAL(__ppoll_chk);
	uint64_t end = deadline_ts(ts);
	struct timespec buf;
	int r;
	for (;;) {
		{
			SECTION;
			r = next___ppoll_chk(fds, n, ts, mask, fdslen);
		}
		if (!stopped_eintr(r))
			return r;
		ts = ts_left(ts, end, &buf);
	}
}

/* select: Linux leaves the time left in tv, and the sets as they were
 * after a failure, so a retry passes them again. */
BLOCKING_API int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
                        struct timeval *tv)
{
	REAL(select);
	int r;
	do {
		SECTION;
		r = next_select(nfds, rd, wr, ex, tv);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
                         const struct timespec *ts, const sigset_t *mask)
{
	REAL(pselect);
	uint64_t end = deadline_ts(ts);
	struct timespec buf;
	int r;
	for (;;) {
		{
			SECTION;
			r = next_pselect(nfds, rd, wr, ex, ts, mask);
		}
		if (!stopped_eintr(r))
			return r;
		ts = ts_left(ts, end, &buf);
	}
}

BLOCKING_API int epoll_wait(int epfd, struct epoll_event *ev, int max,
                            int ms)
{
	REAL(epoll_wait);
	uint64_t end = deadline_ms(ms);
	int r;
	for (;;) {
		{
			SECTION;
			r = next_epoll_wait(epfd, ev, max, ms);
		}
		if (!stopped_eintr(r))
			return r;
		ms = ms_left(ms, end);
	}
}

BLOCKING_API int epoll_pwait(int epfd, struct epoll_event *ev, int max,
                             int ms, const sigset_t *mask)
{
	REAL(epoll_pwait);
	uint64_t end = deadline_ms(ms);
	int r;
	for (;;) {
		{
			SECTION;
			r = next_epoll_pwait(epfd, ev, max, ms, mask);
		}
		if (!stopped_eintr(r))
			return r;
		ms = ms_left(ms, end);
	}
}

/* ---- reading and writing: retried as SA_RESTART would ---- */

BLOCKING_API ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);
	ssize_t r;
	do {
		SECTION;
		r = next_read(fd, buf, n);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	REAL(__read_chk);
	ssize_t r;
	do {
		SECTION;
		r = next___read_chk(fd, buf, n, buflen);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write);
	ssize_t r;
	do {
		SECTION;
		r = next_write(fd, buf, n);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t readv(int fd, const struct iovec *iov, int n)
{
	REAL(readv);
	ssize_t r;
	do {
		SECTION;
		r = next_readv(fd, iov, n);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t writev(int fd, const struct iovec *iov, int n)
{
	REAL(writev);
	ssize_t r;
	do {
		SECTION;
		r = next_writev(fd, iov, n);
	} while (stopped_eintr(r));
	return r;
}

/* ---- sockets ---- */

BLOCKING_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	REAL(recv);
	ssize_t r;
	do {
		SECTION;
		r = next_recv(fd, buf, n, flags);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
                                int flags)
{
	REAL(__recv_chk);
	ssize_t r;
	do {
		SECTION;
		r = next___recv_chk(fd, buf, n, buflen, flags);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
                              __SOCKADDR_ARG addr, socklen_t *alen)
{
	REAL(recvfrom);
	ssize_t r;
	do {
		SECTION;
		r = next_recvfrom(fd, buf, n, flags, addr, alen);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n,
                                    size_t buflen, int flags,
                                    __SOCKADDR_ARG addr, socklen_t *alen)
{
	REAL(__recvfrom_chk);
	ssize_t r;
	do {
		SECTION;
		r = next___recvfrom_chk(fd, buf, n, buflen, flags, addr, alen);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	REAL(recvmsg);
	ssize_t r;
	do {
		SECTION;
		r = next_recvmsg(fd, msg, flags);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	REAL(send);
	ssize_t r;
	do {
		SECTION;
		r = next_send(fd, buf, n, flags);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t sendto(int fd, const void *buf, size_t n, int flags,
                            __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	REAL(sendto);
	ssize_t r;
	do {
		SECTION;
		r = next_sendto(fd, buf, n, flags, addr, alen);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	REAL(sendmsg);
	ssize_t r;
	do {
		SECTION;
		r = next_sendmsg(fd, msg, flags);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int accept(int fd, __SOCKADDR_ARG addr, socklen_t *alen)
{
	REAL(accept);
	int r;
	do {
		SECTION;
		r = next_accept(fd, addr, alen);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *alen,
                         int flags)
{
	REAL(accept4);
	int r;
	do {
		SECTION;
		r = next_accept4(fd, addr, alen, flags);
	} while (stopped_eintr(r));
	return r;
}

/* An interrupted connect goes on asynchronously (connect(2)): a retry
 * would fail with EALREADY, so wait for it and take its outcome. */
static int connect_finish(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, -1) < 0)
		return -1;
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

BLOCKING_API int connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	REAL(connect);
	int r;
	{
		SECTION;
		r = next_connect(fd, addr, alen);
	}
	return stopped_eintr(r) ? connect_finish(fd) : r;
}

/* ---- processes and signals ---- */

BLOCKING_API pid_t wait(int *status)
{
	REAL(wait);
	pid_t r;
	do {
		SECTION;
		r = next_wait(status);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API pid_t waitpid(pid_t pid, int *status, int options)
{
	REAL(waitpid);
	pid_t r;
	do {
		SECTION;
		r = next_waitpid(pid, status, options);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int waitid(idtype_t type, id_t id, siginfo_t *info,
                        int options)
{
	REAL(waitid);
	int r;
	do {
		SECTION;
		r = next_waitid(type, id, info, options);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int sigsuspend(const sigset_t *mask)
{
	REAL(sigsuspend);
	SECTION;
	return next_sigsuspend(mask); /* B1: returned as it is */
}

BLOCKING_API int sigwait(const sigset_t *set, int *sig)
{
	REAL(sigwait);
	SECTION;
	return next_sigwait(set, sig); /* never EINTR */
}

BLOCKING_API int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	REAL(sigwaitinfo);
	int r;
	do {
		SECTION;
		r = next_sigwaitinfo(set, info);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int sigtimedwait(const sigset_t *set, siginfo_t *info,
                              const struct timespec *ts)
{
	REAL(sigtimedwait);
	uint64_t end = deadline_ts(ts);
	struct timespec buf;
	int r;
	for (;;) {
		{
			SECTION;
			r = next_sigtimedwait(set, info, ts);
		}
		if (!stopped_eintr(r))
			return r;
		ts = ts_left(ts, end, &buf);
	}
}

/* ---- threads ---- */

BLOCKING_API int pthread_join(pthread_t th, void **ret)
{
	REAL(pthread_join);
	SECTION;
	return next_pthread_join(th, ret); /* never EINTR */
}

BLOCKING_API int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu)
{
	REAL(pthread_cond_wait);
	SECTION;
	return next_pthread_cond_wait(cv, mu); /* never EINTR */
}

BLOCKING_API int pthread_cond_timedwait(pthread_cond_t *cv,
                                        pthread_mutex_t *mu,
                                        const struct timespec *abstime)
{
	REAL(pthread_cond_timedwait);
	SECTION;
	return next_pthread_cond_timedwait(cv, mu, abstime);
}

BLOCKING_API int sem_wait(sem_t *sem)
{
	REAL(sem_wait);
	int r;
	do {
		SECTION;
		r = next_sem_wait(sem);
	} while (stopped_eintr(r));
	return r;
}

BLOCKING_API int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
	REAL(sem_timedwait);
	int r; /* an absolute deadline: retried as it is */
	do {
		SECTION;
		r = next_sem_timedwait(sem, abstime);
	} while (stopped_eintr(r));
	return r;
}

/*
 * blocking.h -- the C library's blocking calls that tricolor wraps in
 * blocking sections (blocking.c; threads.h I5-I8). Nothing is declared
 * here for other modules: the wrappers are called by the program under
 * the C library's names. BLOCKING_WRAPPED lists them, one per line, for
 * the export checks (test/api/check_symbols.sh, test/preload/run.sh).
 *
 * BLOCKING_WRAPPED:
 *   nanosleep clock_nanosleep sleep usleep pause
 *   poll __poll_chk ppoll __ppoll_chk select pselect epoll_wait
 *   epoll_pwait
 *   read __read_chk write readv writev
 *   recv __recv_chk recvfrom __recvfrom_chk recvmsg send sendto sendmsg
 *   accept accept4 connect
 *   wait waitpid waitid sigsuspend sigwait sigwaitinfo sigtimedwait
 *   pthread_join pthread_cond_wait pthread_cond_timedwait sem_wait
 *   sem_timedwait
 */
#ifndef TRI_BLOCKING_H
#define TRI_BLOCKING_H

#include "../base/base.h"

#endif /* TRI_BLOCKING_H */

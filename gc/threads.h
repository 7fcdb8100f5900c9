/*
 * threads.h -- registered threads. Today a registered thread is one with an
 * allocation cache; the collector will add its stack, registers and the
 * stop-the-world handshake here.
 */
#ifndef TRI_THREADS_H
#define TRI_THREADS_H

#include "../alloc/base.h"

#endif /* TRI_THREADS_H */

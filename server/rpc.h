/* rpc.h: the RPC listener: nng rep0 with several contexts, as in nng's
 * async demo.  nng's callbacks never block: they hand each request to the
 * libuv loop, which runs it in its thread pool and sends the answer. */
#ifndef TM_RPC_H
#define TM_RPC_H

#include <uv.h>

#include "server.h"

typedef struct tm_listener tm_listener;

typedef struct tm_listener_opts {
    const char *url;        /* tcp://, ipc://, tls+tcp:// */
    const char *tls_cert;   /* PEM files, for tls+tcp:// */
    const char *tls_key;
    int contexts;           /* requests served at once */
} tm_listener_opts;

int tm_listener_start(uv_loop_t *loop, tm_server *srv, const tm_listener_opts *o, tm_listener **out, tm_error *err);

/* Stops taking requests, lets the ones in flight finish and answer, then
 * calls done(arg) on the loop thread.  The listener is freed after that. */
void tm_listener_stop(tm_listener *r, void (*done)(void *), void *arg);

#endif

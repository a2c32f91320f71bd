/* http.h: the web page and its JSON endpoints, on libmicrohttpd.
 *
 * The page's files (web/) are compiled into the binary and served from
 * memory.  Every /api/ request runs an API method through tm_api_invoke with
 * the request's bearer token, so tokens, roles and limits are the RPC's.
 * The endpoints and the rules every request goes through are in
 * http_route.h; this module is the listener: libmicrohttpd's thread reads
 * and writes, API requests are suspended and run in the libuv pool.
 *
 * Limits: TM_HTTP_MAX_TARGET bytes of request target (414), request line
 * and headers within 64 KiB per connection (414/431), at most 256 API
 * requests queued or running (503), at most max_connections connections
 * (more wait in the kernel's backlog; off loopback a quarter of them per
 * client address), and timeout_s seconds of inactivity before a connection
 * is closed (slow or idle clients). */
#ifndef TM_HTTP_H
#define TM_HTTP_H

#include <uv.h>

#include "server.h"

#define TM_HTTP_DEFAULT_URL "http://127.0.0.1:7471"
#define TM_HTTP_DEFAULT_TIMEOUT 15
#define TM_HTTP_DEFAULT_MAX_CONNECTIONS 256

typedef struct tm_http tm_http;

typedef struct tm_http_opts {
    const char *url;      /* http://HOST:PORT or https://HOST:PORT (port 0: any free port) */
    const char *tls_cert; /* PEM files, for https:// */
    const char *tls_key;
    unsigned timeout_s;       /* inactivity timeout per connection; 0: TM_HTTP_DEFAULT_TIMEOUT */
    unsigned max_connections; /* 0: TM_HTTP_DEFAULT_MAX_CONNECTIONS */
} tm_http_opts;

int tm_http_start(uv_loop_t *loop, tm_server *srv, const tm_http_opts *o, tm_http **out, tm_error *err);

/* Stops taking requests (new ones are answered 503), lets the ones in
 * flight finish and answer, closes the server, then calls done(arg) on the
 * loop thread.  The server is freed after that. */
void tm_http_stop(tm_http *h, void (*done)(void *), void *arg);

#endif

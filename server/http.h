/* http.h: the web page and its JSON endpoints, on nng's HTTP server.
 *
 * The page's files (web/) are compiled into the binary and served from
 * memory.  Every /api/ request runs an API method through tm_api_invoke with
 * the request's bearer token, so tokens, roles and limits are the RPC's.
 * nng's callbacks never block: they parse the request and hand it to the
 * libuv loop, which runs it in its thread pool and answers from there.
 *
 *   GET /api/health                               Health
 *   GET /api/sessions?principal=&from=&to=&page_size=&page_token=
 *                                                 ListSessions
 *   GET /api/sessions/KEY                         GetSession (signals)
 *   GET /api/sessions/KEY/events?signal=ID|unmapped=1&page_size=&page_token=
 *                                                 GetEvents (raw records)
 *   GET /api/sessions/KEY/cartographer.json       = trailmap signals --format cartographer
 *   GET /api/sessions/KEY/events.jsonl            = trailmap events --format jsonl
 *
 * KEY is percent-encoded.  Errors are {"error": message} with the gRPC
 * status mapped to HTTP (400, 401, 403, 404, 413, else 500). */
#ifndef TM_HTTP_H
#define TM_HTTP_H

#include <uv.h>

#include "server.h"

#define TM_HTTP_DEFAULT_URL "http://127.0.0.1:7471"

typedef struct tm_http tm_http;

typedef struct tm_http_opts {
    const char *url;      /* http://HOST:PORT or https://HOST:PORT (port 0: any free port) */
    const char *tls_cert; /* PEM files, for https:// */
    const char *tls_key;
} tm_http_opts;

int tm_http_start(uv_loop_t *loop, tm_server *srv, const tm_http_opts *o, tm_http **out, tm_error *err);

/* Stops taking requests (new ones are answered 503), lets the ones in
 * flight finish and answer, closes the server, then calls done(arg) on the
 * loop thread.  The server is freed after that. */
void tm_http_stop(tm_http *h, void (*done)(void *), void *arg);

#endif

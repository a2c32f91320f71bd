/* http_route.h: one HTTP request of the web page in, its response out.
 *
 * This is the whole meaning of trailmapd's web listener, without any
 * socket: http.c (libmicrohttpd plumbing) calls it for every request, and
 * so do the unit test and the fuzzing harness.  It knows no HTTP library
 * and no event loop; it calls tm_api_invoke for the /api/ endpoints, so
 * tokens, roles and limits are the RPC's.
 *
 *   GET /  and  GET /index.html, /app.js, /style.css, /favicon.svg
 *                                                 the page's files (web_assets.h)
 *   GET /api/health                               Health
 *   GET /api/sessions?principal=&from=&to=&page_size=&page_token=
 *                                                 ListSessions
 *   GET /api/sessions/KEY                         GetSession (signals)
 *   GET /api/sessions/KEY/events?signal=ID|unmapped=1&page_size=&page_token=
 *                                                 GetEvents (raw records)
 *   GET /api/sessions/KEY/cartographer.json       = trailmap signals --format cartographer
 *   GET /api/sessions/KEY/events.jsonl            = trailmap events --format jsonl
 *
 * The rules, in the order they are applied:
 *   - methods other than GET and HEAD: 405 (with Allow: GET, HEAD); HEAD is
 *     answered like GET (the plumbing drops the body);
 *   - a target longer than TM_HTTP_MAX_TARGET bytes: 414; a target with a
 *     NUL, a control character or a space, or one that is neither
 *     origin-form (/path) nor absolute-form (http[s]://authority/path): 400;
 *   - a request with a body (body_len > 0): 413;
 *   - on a loopback listener the Host header, and the authority of an
 *     absolute-form target, must name a loopback host or the listener's own
 *     host, or the answer is 403 (a web site cannot reach the API through a
 *     DNS name it points at 127.0.0.1: DNS rebinding);
 *   - the path, still percent-encoded, is compared byte for byte with the
 *     assets' paths: "/index.html%00.js" or "/app.js/x" are 404, never an
 *     asset;
 *   - /api/...: KEY is percent-decoded (a broken escape or %00 is 400), the
 *     query is parsed (bad values are 400), the bearer token is taken from
 *     Authorization (anything but "Bearer TOKEN" is 401) and the method
 *     runs; its gRPC status becomes HTTP (400, 401 with WWW-Authenticate,
 *     403, 404, 413, else 500).
 * Every error body is JSON: {"error": "message"}. */
#ifndef TM_HTTP_ROUTE_H
#define TM_HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

#define TM_HTTP_MAX_TARGET 4096 /* longer request targets get 414 */
#define TM_HTTP_MAX_HEADERS 8

/* The listener's settings. */
typedef struct tm_http_route_cfg {
    int loopback;     /* the listener's address is loopback: check Host */
    const char *host; /* its host as written in the URL ("127.0.0.1", "[::1]", "localhost") */
} tm_http_route_cfg;

/* One request, as received.  Strings need not be NUL-free: target is
 * target_len bytes; host and authorization are NUL-terminated or NULL when
 * the header is absent. */
typedef struct tm_http_request {
    const char *method;        /* "GET", "HEAD", ... */
    const char *target;        /* the raw request target, still percent-encoded */
    size_t target_len;
    const char *host;          /* the Host header */
    const char *authorization; /* the Authorization header */
    uint64_t body_len;         /* Content-Length, or 1 for a chunked body; 0: none */
} tm_http_request;

typedef struct tm_http_header {
    const char *name;
    const char *value;
} tm_http_header;

/* The answer.  body points either into static memory (an asset) or into
 * owned memory; tm_http_response_clear frees what is owned. */
typedef struct tm_http_response {
    int status;
    tm_http_header headers[TM_HTTP_MAX_HEADERS]; /* Content-Type first */
    size_t nheaders;
    const unsigned char *body;
    size_t len;
    char *owned_body;   /* freed by clear */
    char *owned_header; /* freed by clear (Content-Disposition) */
} tm_http_response;

/* tm_http_route's results besides 0. */
#define TM_HTTP_ROUTE_DEFER 1

/* Answers req into *res (which it initializes) and returns 0.  With
 * api_allowed 0 it answers only what needs no API call (assets, every
 * refusal) and returns TM_HTTP_ROUTE_DEFER for an API request, leaving
 * *res empty: the plumbing calls it again, with api_allowed 1, on a thread
 * where blocking is fine.  With api_allowed 1 it always answers; a
 * response it cannot build for lack of memory is a 500 with a static body.
 * srv may be NULL when api_allowed is 0.  Thread-safe. */
int tm_http_route(tm_server *srv, const tm_http_route_cfg *cfg, const tm_http_request *req, int api_allowed,
                  tm_http_response *res);

/* Frees what res owns and empties it. */
void tm_http_response_clear(tm_http_response *res);

/* Makes res (emptied first) the error answer {"error": msg} with status. */
void tm_http_response_error(tm_http_response *res, int status, const char *msg);

/* The value of header `name` in res, or NULL (case-insensitive). */
const char *tm_http_response_header(const tm_http_response *res, const char *name);

/* The reason phrase of an HTTP status ("Not Found"). */
const char *tm_http_reason(int status);

#endif

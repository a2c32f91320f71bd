/* http.c: the web page and its JSON endpoints (see http.h).
 *
 * Threads: nng calls the handlers on its own threads.  The asset handler
 * answers at once from memory.  The API handler parses the request into a
 * job, puts it on a mutex-guarded queue and wakes the loop with
 * uv_async_send; the loop queues the job on its thread pool (uv_queue_work),
 * where tm_api_invoke runs the method and the response is built; the
 * after-work callback, on the loop again, hands the response to nng
 * (nng_aio_set_output + nng_aio_finish).  nng keeps the request's aio alive
 * until it is finished, so a job never outlives what it answers; stopping
 * waits for the jobs in flight before it closes nng's server. */
#include "http.h"

#include <jansson.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "tls.h"
#include "log.h"
#include "output.h"
#include "rpc.h"
#include "trailmap.pb-c.h"
#include "view_proto.h"
#include "web_assets.h"

#define MAX_URI 4096        /* longer request targets get 414 */
#define MAX_INFLIGHT 256    /* API requests queued or running at once; more get 503 */
#define JSONL_PAGE 5000

enum { EP_HEALTH, EP_SESSIONS, EP_SESSION, EP_EVENTS, EP_CARTOGRAPHER, EP_JSONL };

typedef struct job {
    struct tm_http *h;
    nng_aio *aio;             /* nng's; valid until finished */
    int ep;
    char *token, *key, *principal, *signal, *page_token;
    int unmapped;
    int64_t from_ms, to_ms;
    uint32_t page_size;
    nng_http_res *res;        /* the answer, made in the pool */
    uv_work_t work;
    struct job *next;
} job;

struct tm_http {
    uv_loop_t *loop;
    tm_server *srv;
    nng_http_server *server;
    char *url;
    char *host;               /* the URL's host, for the Host header check */
    int loopback;             /* the URL is a loopback address */
    uv_async_t async;
    pthread_mutex_t mu;
    job *queue;               /* under mu: parsed, waiting for the loop */
    int inflight;             /* under mu: queued or running */
    int stopping;             /* under mu */
    int closing;              /* loop thread: the server is being closed */
    uv_work_t stop_work;
    void (*done)(void *);
    void *done_arg;
};

/* ------------------------------------------------------------ responses */

static const char *reason_of(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

static int http_of_grpc(int status) {
    switch (status) {
    case TRAILMAP__STATUS__OK: return 200;
    case TRAILMAP__STATUS__INVALID_ARGUMENT: return 400;
    case TRAILMAP__STATUS__UNAUTHENTICATED: return 401;
    case TRAILMAP__STATUS__PERMISSION_DENIED: return 403;
    case TRAILMAP__STATUS__NOT_FOUND: return 404;
    case TRAILMAP__STATUS__RESOURCE_EXHAUSTED: return 413;
    default: return 500;
    }
}

/* A response with a copy of body; NULL when memory runs out. */
static nng_http_res *make_res(int status, const char *ctype, const void *body, size_t len, const char *filename) {
    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) return NULL;
    int rv = nng_http_res_set_status(res, (uint16_t)status);
    if (!rv) rv = nng_http_res_set_reason(res, reason_of(status));
    if (!rv) rv = nng_http_res_set_header(res, "Content-Type", ctype);
    if (!rv) rv = nng_http_res_set_header(res, "Cache-Control", "no-store");
    if (!rv) rv = nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
    if (!rv && status == 401) rv = nng_http_res_set_header(res, "WWW-Authenticate", "Bearer realm=\"trailmap\"");
    if (!rv && filename) {
        char cd[256];
        snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", filename);
        rv = nng_http_res_set_header(res, "Content-Disposition", cd);
    }
    if (!rv) rv = nng_http_res_copy_data(res, len ? body : "", len);
    if (rv) {
        nng_http_res_free(res);
        return NULL;
    }
    return res;
}

static nng_http_res *error_res(int status, const char *msg);

/* Takes doc; NULL doc (jansson refuses text that is not UTF-8, or memory
 * ran out) becomes a 500. */
static nng_http_res *json_res(int status, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text)
        return status == 200 ? error_res(500, "the answer cannot be written as JSON (text that is not UTF-8, or "
                                              "out of memory)")
                             : NULL;
    nng_http_res *res = make_res(status, "application/json; charset=utf-8", text, strlen(text), NULL);
    free(text);
    return res;
}

static nng_http_res *error_res(int status, const char *msg) {
    nng_http_res *res = json_res(status, json_pack("{s:s}", "error", msg && *msg ? msg : reason_of(status)));
    if (!res) {
        static const char oom[] = "{\"error\":\"out of memory\"}";
        res = make_res(status, "application/json; charset=utf-8", oom, sizeof(oom) - 1, NULL);
    }
    return res;
}

/* Finishes a request now, from an nng callback. */
static void reply_now(nng_aio *aio, int status, const char *msg) {
    nng_http_res *res = error_res(status, msg);
    if (!res) {
        nng_aio_finish(aio, NNG_ENOMEM); /* nng drops the connection */
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

/* ---------------------------------------------------------------- assets */

static const char *CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                         "frame-ancestors 'none'";

static void asset_cb(nng_aio *aio) {
    nng_http_handler *hd = nng_aio_get_input(aio, 1);
    const tm_web_asset *a = nng_http_handler_get_data(hd);
    nng_http_res *res;
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    int rv = nng_http_res_set_header(res, "Content-Type", a->content_type);
    if (!rv) rv = nng_http_res_set_header(res, "Cache-Control", "no-cache");
    if (!rv) rv = nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
    if (!rv) rv = nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
    if (!rv && strstr(a->content_type, "html")) {
        rv = nng_http_res_set_header(res, "Content-Security-Policy", CSP);
        if (!rv) rv = nng_http_res_set_header(res, "X-Frame-Options", "DENY");
    }
    /* the arrays are static: no copy */
    if (!rv) rv = nng_http_res_set_data(res, a->data, a->len);
    if (rv) {
        nng_http_res_free(res);
        nng_aio_finish(aio, rv);
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

/* ------------------------------------------------------- request parsing */

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string; '+' is a space when plus is
 * set (query strings).  NULL when memory runs out, *bad set when the text
 * has a broken escape or an encoded NUL. */
static char *pct_decode(const char *s, size_t n, int plus, int *bad) {
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) { /* fewer than two characters left */
                *bad = 1;
                break;
            }
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                *bad = 1;
                break;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = plus && c == '+' ? ' ' : c;
        }
    }
    *o = 0;
    return out;
}

static void job_free(job *j) {
    if (!j) return;
    free(j->token);
    free(j->key);
    free(j->principal);
    free(j->signal);
    free(j->page_token);
    if (j->res) nng_http_res_free(j->res);
    free(j);
}

/* An ISO-8601 time or milliseconds since the epoch. */
static int parse_time(const char *v, int64_t *ms) {
    if (!*v) {
        *ms = 0;
        return 0;
    }
    char *end;
    long long x = strtoll(v, &end, 10);
    if (!*end && x >= 0) {
        *ms = x;
        return 0;
    }
    return tm_time_parse(v, ms);
}

/* Reads the query string into j.  Returns 0 or an HTTP status with msg. */
static int parse_query(const char *q, job *j, char *msg, size_t msglen) {
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq ? (size_t)(eq - q) : len;
        int bad = 0;
        char *name = pct_decode(q, nlen, 1, &bad);
        char *val = eq ? pct_decode(eq + 1, len - nlen - 1, 1, &bad) : strdup("");
        int status = 0;
        if (!name || !val) {
            snprintf(msg, msglen, "out of memory");
            status = 500;
        } else if (bad) {
            snprintf(msg, msglen, "the query string has a broken %%-escape");
            status = 400;
        } else if (!strcmp(name, "principal") || !strcmp(name, "signal") || !strcmp(name, "page_token")) {
            char **slot = !strcmp(name, "principal") ? &j->principal : !strcmp(name, "signal") ? &j->signal
                                                                                                  : &j->page_token;
            free(*slot);
            *slot = val;
            val = NULL;
        } else if (!strcmp(name, "from") || !strcmp(name, "to")) {
            if (parse_time(val, !strcmp(name, "from") ? &j->from_ms : &j->to_ms) != 0) {
                snprintf(msg, msglen, "%s wants a time like 2024-05-01T12:00:00Z or milliseconds since 1970, not \"%.200s\"",
                         name, val);
                status = 400;
            }
        } else if (!strcmp(name, "page_size")) {
            char *end;
            unsigned long v = strtoul(val, &end, 10);
            if (!*val || *end || v > 100000) {
                snprintf(msg, msglen, "page_size wants a number up to 100000, not \"%.200s\"", val);
                status = 400;
            } else {
                j->page_size = (uint32_t)v;
            }
        } else if (!strcmp(name, "unmapped")) {
            j->unmapped = !strcmp(val, "1") || !strcasecmp(val, "true") || !*val;
        } /* other parameters are ignored, like a cache-buster */
        free(name);
        free(val);
        if (status) return status;
        q = amp ? amp + 1 : NULL;
    }
    if (j->signal && j->unmapped) {
        snprintf(msg, msglen, "signal and unmapped exclude each other");
        return 400;
    }
    return 0;
}

/* Routes the request target (raw, still percent-encoded) to an endpoint.
 * Returns 0 or an HTTP status with msg. */
static int parse_target(const char *uri, job *j, char *msg, size_t msglen) {
    if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
        uri = strchr(uri, ':') + 3; /* absolute form: skip the authority */
        uri += strcspn(uri, "/?");
    }
    size_t plen = strcspn(uri, "?");
    const char *query = uri[plen] == '?' ? uri + plen + 1 : NULL;
    /* the path's segments after /api/ */
    const char *seg[5];
    size_t seglen[5], nseg = 0;
    if (plen < 4 || strncmp(uri, "/api", 4) != 0 || (plen > 4 && uri[4] != '/')) goto not_found;
    for (const char *p = uri + 4; p < uri + plen && *p == '/';) {
        p++;
        size_t l = strcspn(p, "/?");
        if (nseg == 5) goto not_found;
        seg[nseg] = p;
        seglen[nseg++] = l;
        p += l;
    }
#define SEG_IS(i, s) (seglen[i] == strlen(s) && strncmp(seg[i], s, seglen[i]) == 0)
    if (nseg == 1 && SEG_IS(0, "health")) j->ep = EP_HEALTH;
    else if (nseg == 1 && SEG_IS(0, "sessions")) j->ep = EP_SESSIONS;
    else if (nseg == 2 && SEG_IS(0, "sessions") && seglen[1] == 0) j->ep = EP_SESSIONS; /* trailing slash */
    else if (nseg >= 2 && nseg <= 3 && SEG_IS(0, "sessions")) {
        if (seglen[1] == 0) goto not_found;
        if (nseg == 2) j->ep = EP_SESSION;
        else if (SEG_IS(2, "events")) j->ep = EP_EVENTS;
        else if (SEG_IS(2, "cartographer.json")) j->ep = EP_CARTOGRAPHER;
        else if (SEG_IS(2, "events.jsonl")) j->ep = EP_JSONL;
        else goto not_found;
        int bad = 0;
        j->key = pct_decode(seg[1], seglen[1], 0, &bad);
        if (!j->key) {
            snprintf(msg, msglen, "out of memory");
            return 500;
        }
        if (bad) {
            snprintf(msg, msglen, "the session key has a broken %%-escape");
            return 400;
        }
    } else {
        goto not_found;
    }
#undef SEG_IS
    return parse_query(query, j, msg, msglen);
not_found:
    snprintf(msg, msglen, "no such endpoint: %.*s", (int)(plen > 300 ? 300 : plen), uri);
    return 404;
}

/* On a loopback listener, the Host header must name a loopback host (or
 * the URL's): a web page elsewhere cannot reach the API through a DNS name
 * that it points at 127.0.0.1 (DNS rebinding). */
static int host_ok(const tm_http *h, const char *host) {
    if (!h->loopback || !host) return 1;
    size_t n = strlen(host);
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        n = end ? (size_t)(end - host) + 1 : n;
    } else {
        const char *colon = strchr(host, ':');
        if (colon) n = (size_t)(colon - host);
    }
    if (n == strlen(h->host) && strncasecmp(host, h->host, n) == 0) return 1;
    if (n == 9 && strncasecmp(host, "localhost", 9) == 0) return 1;
    if (n == 5 && strncmp(host, "[::1]", 5) == 0) return 1;
    if (n >= 4 && n <= 15 && strncmp(host, "127.", 4) == 0) {
        for (size_t i = 4; i < n; i++)
            if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.')) return 0;
        return 1;
    }
    return 0;
}

static void api_cb(nng_aio *aio) {
    nng_http_req *req = nng_aio_get_input(aio, 0);
    nng_http_handler *hd = nng_aio_get_input(aio, 1);
    tm_http *h = nng_http_handler_get_data(hd);
    const char *uri = nng_http_req_get_uri(req);
    char msg[512];
    if (strlen(uri) > MAX_URI) {
        snprintf(msg, sizeof(msg), "the request target is longer than %d bytes", MAX_URI);
        reply_now(aio, 414, msg);
        return;
    }
    if (!host_ok(h, nng_http_req_get_header(req, "Host"))) {
        reply_now(aio, 403, "this server answers requests for its loopback address only (Host header)");
        return;
    }
    job *j = calloc(1, sizeof(*j));
    if (!j) {
        reply_now(aio, 500, "out of memory");
        return;
    }
    int status = parse_target(uri, j, msg, sizeof(msg));
    if (status) {
        job_free(j);
        reply_now(aio, status, msg);
        return;
    }
    const char *auth = nng_http_req_get_header(req, "Authorization");
    if (auth && *auth) {
        while (*auth == ' ') auth++;
        if (strncasecmp(auth, "Bearer ", 7) != 0) {
            job_free(j);
            reply_now(aio, 401, "the Authorization header must be \"Bearer TOKEN\"");
            return;
        }
        auth += 7;
        while (*auth == ' ') auth++;
        size_t n = strlen(auth);
        while (n > 0 && auth[n - 1] == ' ') n--;
        j->token = strndup(auth, n);
    } else {
        j->token = strdup("");
    }
    if (!j->token) {
        job_free(j);
        reply_now(aio, 500, "out of memory");
        return;
    }
    j->h = h;
    j->aio = aio;
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->inflight >= MAX_INFLIGHT) {
        int stopping = h->stopping;
        pthread_mutex_unlock(&h->mu);
        job_free(j);
        reply_now(aio, 503, stopping ? "the server is stopping" : "the server is busy; try again");
        return;
    }
    h->inflight++;
    j->next = h->queue;
    h->queue = j;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->async);
}

/* ------------------------------------------------------- the work itself */

static json_t *time_json(int64_t ms) {
    if (!ms) return json_null();
    char t[32];
    tm_time_format(ms, t);
    return json_string(t);
}

static json_t *strs_json(char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(v[i] ? v[i] : ""));
    return a;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    size_t len;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return len;
}

/* A JSON string of text that a client sent and nobody checked (a session
 * key, a principal): bytes that are not UTF-8 become U+FFFD, so one odd
 * session cannot break the whole list. */
static json_t *text_json(const char *s) {
    if (!s) s = "";
    json_t *v = json_string(s);
    if (v) return v;
    size_t n = strlen(s), o = 0;
    char *buf = malloc(3 * n + 1);
    if (!buf) return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(buf + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    buf[o] = 0;
    v = json_string(buf);
    free(buf);
    return v;
}

static json_t *texts_json(char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, text_json(v[i]));
    return a;
}

/* A session as `trailmap sessions --format json` names its fields, with
 * the times also in milliseconds. */
static json_t *session_json(const Trailmap__SessionInfo *s) {
    if (!s) return json_null();
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:f}", "key", text_json(s->key),
                     "principalArn", text_json(s->principal_arn), "userName", text_json(s->user_name), "sourceIps",
                     texts_json(s->source_ips, s->n_source_ips), "userAgentFamily", text_json(s->user_agent_family),
                     "firstEventTime", time_json(s->first_event_ms), "lastEventTime", time_json(s->last_event_ms),
                     "firstEventMs", (json_int_t)s->first_event_ms, "lastEventMs", (json_int_t)s->last_event_ms,
                     "events", (json_int_t)s->events, "signals", (json_int_t)s->signals, "mappedShare",
                     s->mapped_share);
}

/* A signal with the fields of `trailmap signals --format json`, plus the
 * times in milliseconds for the chart. */
static json_t *signal_json(const tm_sigview *s) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:o, s:o, s:o, s:i, s:I, s:o, s:o, s:s, s:b, s:o, "
                          "s:I, s:I, s:I}",
                          "correlationId", s->correlation_id, "label", s->label, "service", s->service, "name",
                          s->name, "summary", s->summary, "url", s->url, "additionalData",
                          s->data ? s->data : json_null(), "eventTime", time_json(s->event_time_ms),
                          "firstEventTime", time_json(s->first_ms), "lastEventTime", time_json(s->last_ms),
                          "eventCount", s->event_count, "durationSeconds", (json_int_t)((s->last_ms - s->first_ms) / 1000),
                          "eventNames", strs_json(s->event_names, s->nevent_names), "eventIds",
                          strs_json(s->event_ids, s->nevent_ids), "anchorEventId", s->anchor_event_id, "suppressed",
                          s->suppressed, "labelsTried", strs_json(s->labels_tried, s->nlabels_tried), "eventTimeMs",
                          (json_int_t)s->event_time_ms, "firstEventMs", (json_int_t)s->first_ms, "lastEventMs",
                          (json_int_t)s->last_ms);
    if (o && s->source_label) json_object_set_new(o, "sourceLabel", json_string(s->source_label));
    if (o && s->reference_event_count != s->event_count)
        json_object_set_new(o, "referenceEventCount", json_integer(s->reference_event_count));
    return o;
}

/* Runs method; on failure sets j->res to the error answer and returns -1. */
static int invoke(job *j, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp) {
    int status = 0;
    char *message = NULL;
    *resp = NULL;
    if (tm_api_invoke(j->h->srv, method, j->token, req, resp, &status, &message) != 0) {
        tm_log_error("http", "%s: out of memory", method);
        j->res = error_res(500, "the server ran out of memory");
        return -1;
    }
    if (status != TRAILMAP__STATUS__OK) {
        int hs = http_of_grpc(status);
        if (hs == 500) tm_log_error("http", "%s: %s", method, message);
        j->res = error_res(hs, message);
        free(message);
        return -1;
    }
    free(message);
    return 0;
}

/* A file name for a download: the key's safe characters. */
static void download_name(const char *key, const char *suffix, char *buf, size_t n) {
    size_t o = (size_t)snprintf(buf, n, "trailmap-");
    for (const char *p = key; *p && o + strlen(suffix) + 1 < n && o < 100; p++) {
        char c = *p;
        int safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        buf[o++] = safe ? c : '_';
    }
    snprintf(buf + o, n - o, "%s", suffix);
}

static void do_health(job *j) {
    Trailmap__HealthRequest req = TRAILMAP__HEALTH_REQUEST__INIT;
    ProtobufCMessage *resp;
    if (invoke(j, "Health", &req.base, &resp)) return;
    const Trailmap__HealthResponse *r = (const Trailmap__HealthResponse *)resp;
    j->res = json_res(200, json_pack("{s:b, s:s, s:s}", "serving", r->serving, "version", r->version, "rulesVersion",
                                     r->rules_version));
    protobuf_c_message_free_unpacked(resp, NULL);
}

static void do_sessions(job *j) {
    Trailmap__ListSessionsRequest req = TRAILMAP__LIST_SESSIONS_REQUEST__INIT;
    req.principal = j->principal ? j->principal : (char *)"";
    req.from_ms = j->from_ms;
    req.to_ms = j->to_ms;
    req.page_size = j->page_size;
    req.page_token = j->page_token ? j->page_token : (char *)"";
    ProtobufCMessage *resp;
    if (invoke(j, "ListSessions", &req.base, &resp)) return;
    const Trailmap__ListSessionsResponse *r = (const Trailmap__ListSessionsResponse *)resp;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->n_sessions; i++)
        if (json_array_append_new(arr, session_json(r->sessions[i]))) {
            json_decref(arr);
            arr = NULL;
        }
    j->res = json_res(200, arr ? json_pack("{s:o, s:s}", "sessions", arr, "nextPageToken", r->next_page_token) : NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* GetSession and its view; 0, or -1 with j->res set. */
static int get_view(job *j, ProtobufCMessage **resp, tm_sessview *v) {
    Trailmap__GetSessionRequest req = TRAILMAP__GET_SESSION_REQUEST__INIT;
    req.key = j->key;
    memset(v, 0, sizeof(*v));
    if (invoke(j, "GetSession", &req.base, resp)) return -1;
    tm_error err;
    if (tm_view_from_session_proto((const Trailmap__GetSessionResponse *)*resp, j->key, v, &err) != 0) {
        tm_log_error("http", "GetSession %s: %s", j->key, err.msg);
        j->res = error_res(500, err.msg);
        return -1;
    }
    return 0;
}

static void do_session(job *j) {
    ProtobufCMessage *resp = NULL;
    tm_sessview v;
    if (get_view(j, &resp, &v) == 0) {
        const Trailmap__GetSessionResponse *r = (const Trailmap__GetSessionResponse *)resp;
        json_t *sigs = json_array();
        for (size_t i = 0; sigs && i < v.nsigs; i++)
            if (json_array_append_new(sigs, signal_json(&v.sigs[i]))) {
                json_decref(sigs);
                sigs = NULL;
            }
        j->res = json_res(200, sigs ? json_pack("{s:o, s:s, s:I, s:o}", "session", session_json(r->session),
                                                "rulesVersion", r->rules_version, "unmappedEvents",
                                                (json_int_t)r->unmapped_events, "signals", sigs)
                                    : NULL);
    }
    tm_view_clear(&v);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
}

static void fill_events_request(const job *j, Trailmap__GetEventsRequest *req) {
    req->key = j->key;
    if (j->signal) {
        req->which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_SIGNAL;
        req->signal = j->signal;
    } else if (j->unmapped) {
        req->which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_UNMAPPED;
        req->unmapped = 1;
    } else {
        req->which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_ALL;
        req->all = 1;
    }
}

static void do_events(job *j) {
    Trailmap__GetEventsRequest req = TRAILMAP__GET_EVENTS_REQUEST__INIT;
    fill_events_request(j, &req);
    req.page_size = j->page_size;
    req.page_token = j->page_token ? j->page_token : (char *)"";
    ProtobufCMessage *resp;
    if (invoke(j, "GetEvents", &req.base, &resp)) return;
    const Trailmap__GetEventsResponse *r = (const Trailmap__GetEventsResponse *)resp;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < r->n_events; i++) {
        const Trailmap__Event *e = r->events[i];
        json_t *o = json_pack("{s:s, s:o, s:I, s:s, s:o, s:o, s:s}", "eventId", e->event_id, "eventTime",
                              time_json(e->event_time_ms), "eventTimeMs", (json_int_t)e->event_time_ms, "name",
                              e->name, "signal", *e->signal ? json_string(e->signal) : json_null(), "labels",
                              strs_json(e->labels, e->n_labels), "raw", e->raw_json);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            arr = NULL;
        }
    }
    j->res = json_res(200, arr ? json_pack("{s:o, s:s, s:s}", "events", arr, "nextPageToken", r->next_page_token,
                                           "rulesVersion", r->rules_version)
                               : NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* A text answer written to a memory stream by fn. */
static void text_download(job *j, const char *ctype, const char *suffix, char *buf, size_t len, int failed) {
    char name[160];
    download_name(j->key, suffix, name, sizeof(name));
    if (failed) {
        if (!j->res) j->res = error_res(500, "out of memory writing the answer");
    } else {
        j->res = make_res(200, ctype, buf, len, name);
    }
    free(buf);
}

static void do_cartographer(job *j) {
    ProtobufCMessage *resp = NULL;
    tm_sessview v;
    if (get_view(j, &resp, &v) == 0) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        int failed = !m || tm_output_cartographer(m, &v, 1) != 0;
        if (m && fclose(m) != 0) failed = 1;
        text_download(j, "application/json; charset=utf-8", ".cartographer.json", buf, len, failed);
    }
    tm_view_clear(&v);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
}

static void do_jsonl(job *j) {
    char *buf = NULL, *token = strdup("");
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int failed = !m || !token;
    while (!failed && token) {
        Trailmap__GetEventsRequest req = TRAILMAP__GET_EVENTS_REQUEST__INIT;
        fill_events_request(j, &req);
        req.page_size = JSONL_PAGE;
        req.page_token = token;
        ProtobufCMessage *resp;
        if (invoke(j, "GetEvents", &req.base, &resp)) {
            failed = 1;
            break;
        }
        const Trailmap__GetEventsResponse *r = (const Trailmap__GetEventsResponse *)resp;
        for (size_t i = 0; i < r->n_events && !failed; i++)
            if (tm_view_event_jsonl(m, j->key, r->events[i]) != 0) failed = 1;
        const char *next = r->next_page_token ? r->next_page_token : "";
        if (!failed && *next && strcmp(next, token) == 0) {
            j->res = error_res(500, "GetEvents gave the same page token twice");
            failed = 1;
        }
        free(token);
        token = !failed && *next ? strdup(next) : NULL;
        if (!failed && *next && !token) failed = 1;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(token);
    if (m && fclose(m) != 0) failed = 1;
    text_download(j, "application/x-ndjson; charset=utf-8", ".events.jsonl", buf, len, failed);
}

static void work_cb(uv_work_t *w) {
    job *j = w->data;
    switch (j->ep) {
    case EP_HEALTH: do_health(j); break;
    case EP_SESSIONS: do_sessions(j); break;
    case EP_SESSION: do_session(j); break;
    case EP_EVENTS: do_events(j); break;
    case EP_CARTOGRAPHER: do_cartographer(j); break;
    case EP_JSONL: do_jsonl(j); break;
    default: break;
    }
    if (!j->res) j->res = error_res(500, "out of memory");
}

static void server_closed(uv_handle_t *hd) {
    tm_http *h = hd->data;
    void (*done)(void *) = h->done;
    void *arg = h->done_arg;
    tm_log_info("http", "%s closed, all requests answered", h->url);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h);
    if (done) done(arg);
}

/* In the pool: nng's stop waits for its connections to close. */
static void stop_work_cb(uv_work_t *w) {
    tm_http *h = w->data;
    nng_http_server_stop(h->server);
    nng_http_server_release(h->server);
    h->server = NULL;
}

static void stop_after_cb(uv_work_t *w, int status) {
    tm_http *h = w->data;
    (void)status;
    uv_close((uv_handle_t *)&h->async, server_closed);
}

/* On the loop, once stopping and nothing is in flight. */
static void maybe_close(tm_http *h) {
    pthread_mutex_lock(&h->mu);
    int go = h->stopping && h->inflight == 0 && !h->closing;
    if (go) h->closing = 1;
    pthread_mutex_unlock(&h->mu);
    if (!go) return;
    h->stop_work.data = h;
    if (uv_queue_work(h->loop, &h->stop_work, stop_work_cb, stop_after_cb) != 0) {
        stop_work_cb(&h->stop_work);
        stop_after_cb(&h->stop_work, 0);
    }
}

static void answer(job *j) {
    nng_aio *aio = j->aio;
    tm_http *h = j->h;
    if (j->res) {
        nng_aio_set_output(aio, 0, j->res);
        j->res = NULL; /* nng's now */
        nng_aio_finish(aio, 0);
    } else {
        nng_aio_finish(aio, NNG_ENOMEM);
    }
    job_free(j);
    pthread_mutex_lock(&h->mu);
    h->inflight--;
    pthread_mutex_unlock(&h->mu);
    maybe_close(h);
}

static void after_work_cb(uv_work_t *w, int status) {
    (void)status;
    answer(w->data);
}

static void async_cb(uv_async_t *a) {
    tm_http *h = a->data;
    pthread_mutex_lock(&h->mu);
    job *q = h->queue;
    h->queue = NULL;
    pthread_mutex_unlock(&h->mu);
    /* the queue is newest first: serve in arrival order */
    job *rev = NULL;
    while (q) {
        job *next = q->next;
        q->next = rev;
        rev = q;
        q = next;
    }
    while (rev) {
        job *j = rev;
        rev = rev->next;
        j->work.data = j;
        if (uv_queue_work(h->loop, &j->work, work_cb, after_work_cb) != 0) {
            tm_log_error("http", "cannot queue a request");
            j->res = error_res(500, "the server could not queue the request");
            answer(j);
        }
    }
    maybe_close(h);
}

/* ----------------------------------------------------------- start, stop */

static int setup_tls(tm_http *h, const tm_http_opts *o, tm_error *err) {
    nng_tls_config *cfg = NULL;
    int rv = nng_http_server_get_tls(h->server, &cfg);
    if (rv) return tm_error_set(err, TM_EINVAL, "TLS setup for %s failed: %s", o->url, nng_strerror(rv));
    int rc = tm_tls_own_cert(cfg, o->url, o->tls_cert, o->tls_key, err);
    nng_tls_config_free(cfg); /* get_tls gave us a reference */
    return rc;
}

static int add_handler(tm_http *h, const char *path, void (*cb)(nng_aio *), void *data, int tree, tm_error *err) {
    nng_http_handler *hd;
    int rv = nng_http_handler_alloc(&hd, path, cb);
    if (rv) return tm_error_set(err, TM_ENOMEM, "cannot serve %s: %s", path, nng_strerror(rv));
    if (!rv) rv = nng_http_handler_set_method(hd, "GET"); /* and HEAD */
    if (!rv && tree) rv = nng_http_handler_set_tree(hd);
    /* GET requests have no body: one with a Content-Length above 0 is refused */
    if (!rv) rv = nng_http_handler_collect_body(hd, true, 0);
    if (!rv) rv = nng_http_handler_set_data(hd, data, NULL);
    if (!rv) rv = nng_http_server_add_handler(h->server, hd);
    if (rv) {
        nng_http_handler_free(hd);
        return tm_error_set(err, TM_EIO, "cannot serve %s: %s", path, nng_strerror(rv));
    }
    return 0;
}

static void free_on_close(uv_handle_t *hd) {
    tm_http *h = hd->data;
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h);
}

/* nng before 1.6.0 (Debian 12 has 1.5.2) mishandles a request path that
 * ends in a %-escape before any handler runs: it reads, and may write, past
 * its copy of the path (fixed upstream by commit 41ce9fbf, #1595).  Nothing
 * a handler does can prevent it, so say so where the operator looks. */
static void warn_old_nng(const char *url) {
    unsigned major = 0, minor = 0;
    if (sscanf(nng_version(), "%u.%u", &major, &minor) != 2) return;
    if (major > 1 || (major == 1 && minor >= 6)) return;
    tm_log_warn("http", "libnng %s's HTTP server corrupts memory on a request path that ends in a %%-escape (fixed "
                "in nng 1.6.0): whatever can reach %s, a web page in a local browser included, can crash "
                "trailmapd; --http none turns the page off", nng_version(), url);
}

int tm_http_start(uv_loop_t *loop, tm_server *srv, const tm_http_opts *o, tm_http **out, tm_error *err) {
    int https = strncmp(o->url, "https://", 8) == 0;
    if (!https && strncmp(o->url, "http://", 7) != 0)
        return tm_error_set(err, TM_EINVAL, "--http wants http://HOST:PORT or https://HOST:PORT, not \"%s\"", o->url);
    tm_http *h = calloc(1, sizeof(*h));
    if (!h) return tm_error_set(err, TM_ENOMEM, "out of memory");
    h->loop = loop;
    h->srv = srv;
    h->loopback = tm_url_is_local(o->url);
    nng_url *u = NULL;
    int rv = nng_url_parse(&u, o->url);
    if (rv) {
        free(h);
        return tm_error_set(err, TM_EINVAL, "--http %s: %s", o->url, nng_strerror(rv));
    }
    h->url = strdup(o->url);
    h->host = strdup(u->u_hostname ? u->u_hostname : "");
    if (!h->url || !h->host || pthread_mutex_init(&h->mu, NULL) != 0) {
        nng_url_free(u);
        free(h->url);
        free(h->host);
        free(h);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    /* nng's URL keeps IPv6 hosts without brackets; the Host header has them */
    if (strchr(h->host, ':')) {
        char *b = NULL;
        if (asprintf(&b, "[%s]", h->host) >= 0) {
            free(h->host);
            h->host = b;
        }
    }
    rv = nng_http_server_hold(&h->server, u);
    nng_url_free(u);
    if (rv) {
        tm_error_set(err, TM_EIO, "cannot serve %s: %s", o->url, nng_strerror(rv));
        h->server = NULL;
        goto fail;
    }
    if (https && setup_tls(h, o, err) != 0) goto fail;
    for (size_t i = 0; i < tm_web_nassets; i++) {
        const tm_web_asset *a = &tm_web_assets[i];
        if (add_handler(h, a->path, asset_cb, (void *)a, 0, err) != 0) goto fail;
        if (strcmp(a->path, "/index.html") == 0 && add_handler(h, "/", asset_cb, (void *)a, 0, err) != 0) goto fail;
    }
    if (add_handler(h, "/api", api_cb, h, 1, err) != 0) goto fail;
    if (uv_async_init(loop, &h->async, async_cb) != 0) {
        tm_error_set(err, TM_EIO, "cannot set up the loop hand-off");
        goto fail;
    }
    h->async.data = h;
    if ((rv = nng_http_server_start(h->server)) != 0) {
        tm_error_set(err, TM_EIO, "cannot serve the web page on %s: %s (choose another with --http URL, or --http none)",
                     o->url, nng_strerror(rv));
        nng_http_server_release(h->server);
        h->server = NULL;
        uv_close((uv_handle_t *)&h->async, free_on_close); /* h goes with the handle */
        return err->code;
    }
    /* the address actually bound (port 0 picks one) */
    nng_sockaddr sa;
    char where[300];
    snprintf(where, sizeof(where), "%s", o->url);
    if (nng_http_server_get_addr(h->server, &sa) == 0) {
        char ip[64] = "";
        unsigned port = 0;
        if (sa.s_family == NNG_AF_INET) {
            const uint8_t *b = (const uint8_t *)&sa.s_in.sa_addr;
            snprintf(ip, sizeof(ip), "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
            port = ((const uint8_t *)&sa.s_in.sa_port)[0] << 8 | ((const uint8_t *)&sa.s_in.sa_port)[1];
        } else if (sa.s_family == NNG_AF_INET6) {
            snprintf(ip, sizeof(ip), "%s", h->host);
            port = ((const uint8_t *)&sa.s_in6.sa_port)[0] << 8 | ((const uint8_t *)&sa.s_in6.sa_port)[1];
        }
        if (*ip && port) snprintf(where, sizeof(where), "%s://%s:%u/", https ? "https" : "http", ip, port);
    }
    tm_log_info("http", "serving the web page on %s", where);
    warn_old_nng(where);
    *out = h;
    return 0;
fail:
    if (h->server) nng_http_server_release(h->server);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h);
    return err->code ? err->code : TM_EIO;
}

void tm_http_stop(tm_http *h, void (*done)(void *), void *arg) {
    h->done = done;
    h->done_arg = arg;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    /* the loop runs maybe_close, after any queue hand-off in progress */
    uv_async_send(&h->async);
}

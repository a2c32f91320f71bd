/* http_route.c: one web request in, its response out (see http_route.h).
 *
 * Everything here is synchronous and free of sockets: the request has been
 * read completely by the caller, and the API methods run inline through
 * tm_api_invoke.  Parsing works on a NUL-terminated copy of the raw target
 * (at most TM_HTTP_MAX_TARGET bytes), so no step can read past it. */
#include "http_route.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "event.h"
#include "log.h"
#include "output.h"
#include "trailmap.pb-c.h"
#include "view_proto.h"
#include "web_assets.h"

#define JSONL_PAGE 5000

enum { EP_HEALTH, EP_SESSIONS, EP_SESSION, EP_EVENTS, EP_CARTOGRAPHER, EP_JSONL };

/* One parsed API request. */
typedef struct rq {
    tm_server *srv;
    tm_http_response *res;
    int ep;
    char *token, *key, *principal, *signal, *page_token;
    int unmapped;
    int64_t from_ms, to_ms;
    uint32_t page_size;
} rq;

static const char JSON_TYPE[] = "application/json; charset=utf-8";
static const char OOM_BODY[] = "{\"error\":\"out of memory\"}";
static const char *CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                         "frame-ancestors 'none'";

/* ------------------------------------------------------------ responses */

const char *tm_http_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
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

void tm_http_response_clear(tm_http_response *res) {
    free(res->owned_body);
    free(res->owned_header);
    memset(res, 0, sizeof(*res));
}

const char *tm_http_response_header(const tm_http_response *res, const char *name) {
    for (size_t i = 0; i < res->nheaders; i++)
        if (strcasecmp(res->headers[i].name, name) == 0) return res->headers[i].value;
    return NULL;
}

/* The array has room for every combination made below. */
static void add_header(tm_http_response *res, const char *name, const char *value) {
    if (res->nheaders < TM_HTTP_MAX_HEADERS) res->headers[res->nheaders++] = (tm_http_header){name, value};
}

/* Starts an API answer: the status and the headers every one has.  What
 * res held before is dropped (a later error replaces an earlier answer). */
static void res_start(tm_http_response *res, int status, const char *ctype) {
    tm_http_response_clear(res);
    res->status = status;
    add_header(res, "Content-Type", ctype);
    add_header(res, "Cache-Control", "no-store");
    add_header(res, "X-Content-Type-Options", "nosniff");
    if (status == 401) add_header(res, "WWW-Authenticate", "Bearer realm=\"trailmap\"");
    if (status == 405) add_header(res, "Allow", "GET, HEAD");
}

/* Takes text (malloc'd) as the body. */
static void res_own(tm_http_response *res, char *text, size_t len) {
    res->owned_body = text;
    res->body = (const unsigned char *)text;
    res->len = len;
}

static void res_error(tm_http_response *res, int status, const char *msg);

/* Takes doc; a NULL doc (jansson refuses text that is not UTF-8, or memory
 * ran out) becomes a 500. */
static void res_json(tm_http_response *res, int status, json_t *doc) {
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    if (!text) {
        if (status == 200)
            res_error(res, 500, "the answer cannot be written as JSON (text that is not UTF-8, or out of memory)");
        else { /* an error message that cannot be written: say so without allocating */
            res_start(res, status, JSON_TYPE);
            res->body = (const unsigned char *)OOM_BODY;
            res->len = sizeof(OOM_BODY) - 1;
        }
        return;
    }
    res_start(res, status, JSON_TYPE);
    res_own(res, text, strlen(text));
}

static void res_error(tm_http_response *res, int status, const char *msg) {
    res_json(res, status, json_pack("{s:s}", "error", msg && *msg ? msg : tm_http_reason(status)));
}

void tm_http_response_error(tm_http_response *res, int status, const char *msg) { res_error(res, status, msg); }

/* A download: body (malloc'd, taken) and a file name. */
static void res_download(tm_http_response *res, const char *ctype, char *body, size_t len, const char *filename) {
    res_start(res, 200, ctype);
    res_own(res, body, len);
    if (asprintf(&res->owned_header, "attachment; filename=\"%s\"", filename) < 0) {
        res->owned_header = NULL;
        res_error(res, 500, "out of memory");
        return;
    }
    add_header(res, "Content-Disposition", res->owned_header);
}

static void res_asset(tm_http_response *res, const tm_web_asset *a) {
    tm_http_response_clear(res);
    res->status = 200;
    add_header(res, "Content-Type", a->content_type);
    add_header(res, "Cache-Control", "no-cache");
    add_header(res, "X-Content-Type-Options", "nosniff");
    add_header(res, "Referrer-Policy", "no-referrer");
    if (strstr(a->content_type, "html")) {
        add_header(res, "Content-Security-Policy", CSP);
        add_header(res, "X-Frame-Options", "DENY");
    }
    res->body = a->data; /* static: no copy */
    res->len = a->len;
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

static void rq_clear(rq *j) {
    free(j->token);
    free(j->key);
    free(j->principal);
    free(j->signal);
    free(j->page_token);
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
static int parse_query(const char *q, rq *j, char *msg, size_t msglen) {
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
            if (!*val || *end || *val == '-' || v > 100000) {
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

/* Routes an /api path (raw, without its query) to an endpoint and reads
 * the query.  Returns 0 or an HTTP status with msg. */
static int parse_api(const char *path, size_t plen, const char *query, rq *j, char *msg, size_t msglen) {
    const char *seg[5];
    size_t seglen[5], nseg = 0;
    if (plen < 4 || strncmp(path, "/api", 4) != 0 || (plen > 4 && path[4] != '/')) goto not_found;
    for (const char *p = path + 4; p < path + plen && *p == '/';) {
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
    snprintf(msg, msglen, "no such endpoint: %.*s", (int)(plen > 300 ? 300 : plen), path);
    return 404;
}

/* Whether host[0..n) (a Host header or an absolute-form authority) names
 * this loopback listener: a loopback name or address, or the URL's own
 * host, with an optional :PORT of digits. */
static int host_ok(const tm_http_route_cfg *cfg, const char *host, size_t n) {
    size_t hn = n; /* the host part, without :PORT */
    if (n > 0 && host[0] == '[') {
        const char *end = memchr(host, ']', n);
        if (!end) return 0;
        hn = (size_t)(end - host) + 1;
    } else {
        const char *colon = memchr(host, ':', n);
        if (colon) hn = (size_t)(colon - host);
    }
    if (hn < n) { /* :PORT */
        if (host[hn] != ':') return 0;
        for (size_t i = hn + 1; i < n; i++)
            if (host[i] < '0' || host[i] > '9') return 0;
    }
    if (hn == 0) return 0;
    if (cfg->host && hn == strlen(cfg->host) && strncasecmp(host, cfg->host, hn) == 0) return 1;
    if (hn == 9 && strncasecmp(host, "localhost", 9) == 0) return 1;
    if (hn == 5 && strncmp(host, "[::1]", 5) == 0) return 1;
    if (hn >= 7 && hn <= 15 && strncmp(host, "127.", 4) == 0) {
        int dots = 0;
        for (size_t i = 4; i < hn; i++) {
            if (host[i] == '.') dots++;
            else if (host[i] < '0' || host[i] > '9') return 0;
        }
        return dots == 2;
    }
    return 0;
}

/* The token of an Authorization header: "" when there is none; NULL with
 * *bad when the header is not "Bearer TOKEN", or when memory runs out. */
static char *bearer_token(const char *auth, int *bad) {
    *bad = 0;
    if (!auth) return strdup("");
    while (*auth == ' ') auth++;
    if (!*auth) return strdup("");
    if (strncasecmp(auth, "Bearer ", 7) != 0) {
        *bad = 1;
        return NULL;
    }
    auth += 7;
    while (*auth == ' ') auth++;
    size_t n = strlen(auth);
    while (n > 0 && auth[n - 1] == ' ') n--;
    return strndup(auth, n);
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


/* Runs method; on failure fills j->res with the error answer and returns -1. */
static int invoke(rq *j, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp) {
    int status = 0;
    char *message = NULL;
    *resp = NULL;
    if (tm_api_invoke(j->srv, method, j->token, req, resp, &status, &message) != 0) {
        tm_log_error("http", "%s: out of memory", method);
        res_error(j->res, 500, "the server ran out of memory");
        return -1;
    }
    if (status != TRAILMAP__STATUS__OK) {
        int hs = http_of_grpc(status);
        if (hs == 500) tm_log_error("http", "%s: %s", method, message);
        res_error(j->res, hs, message);
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

static void do_health(rq *j) {
    Trailmap__HealthRequest req = TRAILMAP__HEALTH_REQUEST__INIT;
    ProtobufCMessage *resp;
    if (invoke(j, "Health", &req.base, &resp)) return;
    const Trailmap__HealthResponse *r = (const Trailmap__HealthResponse *)resp;
    res_json(j->res, 200, json_pack("{s:b, s:s, s:s}", "serving", r->serving, "version", r->version, "rulesVersion",
                                     r->rules_version));
    protobuf_c_message_free_unpacked(resp, NULL);
}

static void do_sessions(rq *j) {
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
        if (json_array_append_new(arr, tm_view_session_info_json(r->sessions[i], 1))) {
            json_decref(arr);
            arr = NULL;
        }
    res_json(j->res, 200, arr ? json_pack("{s:o, s:s}", "sessions", arr, "nextPageToken", r->next_page_token) : NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* GetSession and its view; 0, or -1 with j->res filled. */
static int get_view(rq *j, ProtobufCMessage **resp, tm_sessview *v) {
    Trailmap__GetSessionRequest req = TRAILMAP__GET_SESSION_REQUEST__INIT;
    req.key = j->key;
    memset(v, 0, sizeof(*v));
    if (invoke(j, "GetSession", &req.base, resp)) return -1;
    tm_error err;
    if (tm_view_from_session_proto((const Trailmap__GetSessionResponse *)*resp, j->key, v, &err) != 0) {
        tm_log_error("http", "GetSession %s: %s", j->key, err.msg);
        res_error(j->res, 500, err.msg);
        return -1;
    }
    return 0;
}

static void do_session(rq *j) {
    ProtobufCMessage *resp = NULL;
    tm_sessview v;
    if (get_view(j, &resp, &v) == 0) {
        const Trailmap__GetSessionResponse *r = (const Trailmap__GetSessionResponse *)resp;
        json_t *sigs = json_array();
        for (size_t i = 0; sigs && i < v.nsigs; i++)
            if (json_array_append_new(sigs, tm_output_signal_json(&v.sigs[i], 1))) {
                json_decref(sigs);
                sigs = NULL;
            }
        res_json(j->res, 200, sigs ? json_pack("{s:o, s:s, s:I, s:o}", "session", tm_view_session_info_json(r->session, 1),
                                                "rulesVersion", r->rules_version, "unmappedEvents",
                                                (json_int_t)r->unmapped_events, "signals", sigs)
                                    : NULL);
    }
    tm_view_clear(&v);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
}

static void fill_events_request(const rq *j, Trailmap__GetEventsRequest *req) {
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

static void do_events(rq *j) {
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
    res_json(j->res, 200, arr ? json_pack("{s:o, s:s, s:s}", "events", arr, "nextPageToken", r->next_page_token,
                                           "rulesVersion", r->rules_version)
                               : NULL);
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* A text answer written to a memory stream by fn. */
static void text_download(rq *j, const char *ctype, const char *suffix, char *buf, size_t len, int failed) {
    char name[160];
    download_name(j->key, suffix, name, sizeof(name));
    if (failed) {
        if (!j->res->status) res_error(j->res, 500, "out of memory writing the answer");
    } else {
        res_download(j->res, ctype, buf, len, name);
        buf = NULL; /* the response owns it */
    }
    free(buf);
}

static void do_cartographer(rq *j) {
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

static void do_jsonl(rq *j) {
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
            res_error(j->res, 500, "GetEvents gave the same page token twice");
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


static void run_api(rq *j) {
    switch (j->ep) {
    case EP_HEALTH: do_health(j); break;
    case EP_SESSIONS: do_sessions(j); break;
    case EP_SESSION: do_session(j); break;
    case EP_EVENTS: do_events(j); break;
    case EP_CARTOGRAPHER: do_cartographer(j); break;
    case EP_JSONL: do_jsonl(j); break;
    default: break;
    }
    if (!j->res->status) res_error(j->res, 500, "out of memory");
}

/* ------------------------------------------------------------- routing */

/* A refusal with its message; returns 0 for tm_http_route. */
static int refuse(tm_http_response *res, int status, const char *msg) {
    res_error(res, status, msg);
    return 0;
}

static int is_method(const char *m, const char *want) { return m && strcmp(m, want) == 0; }

/* The checks every request goes through before its path means anything
 * (see http_route.h for the order).  Returns 0 when it passes, else the
 * status with msg. */
static int check_request(const tm_http_route_cfg *cfg, const tm_http_request *req, char *msg, size_t msglen) {
    if (!is_method(req->method, "GET") && !is_method(req->method, "HEAD")) {
        snprintf(msg, msglen, "only GET and HEAD are served here");
        return 405;
    }
    if (req->target_len > TM_HTTP_MAX_TARGET) {
        snprintf(msg, msglen, "the request target is longer than %d bytes", TM_HTTP_MAX_TARGET);
        return 414;
    }
    for (size_t i = 0; i < req->target_len; i++) {
        unsigned char c = (unsigned char)req->target[i];
        if (c <= 0x20 || c == 0x7f) {
            snprintf(msg, msglen, "the request target has a control character or a space");
            return 400;
        }
    }
    if (req->body_len > 0) {
        snprintf(msg, msglen, "a GET request carries no body");
        return 413;
    }
    if (cfg->loopback && req->host && !host_ok(cfg, req->host, strlen(req->host))) {
        snprintf(msg, msglen, "this server answers requests for its loopback address only (Host header)");
        return 403;
    }
    return 0;
}

/* The path and query of target (NUL-terminated): origin-form as is;
 * absolute-form (http://authority/path?query) once its authority has
 * passed the Host check.  Sets *path, *plen and *query (NULL: none), or
 * returns a status with msg. */
static int split_target(const tm_http_route_cfg *cfg, const char *target, const char **path, size_t *plen,
                        const char **query, char *msg, size_t msglen) {
    const char *rest = target;
    if (target[0] != '/') {
        size_t skip = strncasecmp(target, "http://", 7) == 0 ? 7 : strncasecmp(target, "https://", 8) == 0 ? 8 : 0;
        if (!skip) {
            snprintf(msg, msglen, "the request target must be a path (/...) or an absolute URL");
            return 400;
        }
        const char *auth = target + skip;
        size_t alen = strcspn(auth, "/?#");
        if (alen == 0 || memchr(auth, '@', alen)) {
            snprintf(msg, msglen, "the request target's authority must be a host, with no user name");
            return 400;
        }
        if (cfg->loopback && !host_ok(cfg, auth, alen)) {
            snprintf(msg, msglen, "this server answers requests for its loopback address only (request target)");
            return 403;
        }
        rest = auth + alen;
    }
    if (*rest == '#') {
        snprintf(msg, msglen, "the request target must not have a fragment");
        return 400;
    }
    const char *q = strchr(rest, '?');
    *query = q ? q + 1 : NULL;
    *plen = q ? (size_t)(q - rest) : strlen(rest);
    *path = rest;
    if (*plen == 0) { /* "http://host" and "http://host?q" mean "/" */
        *path = "/";
        *plen = 1;
    }
    return 0;
}

/* The asset whose path is exactly path[0..plen), "/" being index.html. */
static const tm_web_asset *find_asset(const char *path, size_t plen) {
    if (plen == 1 && path[0] == '/') {
        path = "/index.html";
        plen = 11;
    }
    for (size_t i = 0; i < tm_web_nassets; i++)
        if (strlen(tm_web_assets[i].path) == plen && memcmp(tm_web_assets[i].path, path, plen) == 0)
            return &tm_web_assets[i];
    return NULL;
}

int tm_http_route(tm_server *srv, const tm_http_route_cfg *cfg, const tm_http_request *req, int api_allowed,
                  tm_http_response *res) {
    char msg[512];
    memset(res, 0, sizeof(*res));
    int status = check_request(cfg, req, msg, sizeof(msg));
    if (status) return refuse(res, status, msg);
    /* a copy with a NUL at its end: every step below stays inside it */
    char *target = malloc(req->target_len + 1);
    if (!target) return refuse(res, 500, "out of memory");
    memcpy(target, req->target, req->target_len);
    target[req->target_len] = 0;
    const char *path, *query;
    size_t plen;
    status = split_target(cfg, target, &path, &plen, &query, msg, sizeof(msg));
    if (status) {
        free(target);
        return refuse(res, status, msg);
    }
    const tm_web_asset *a = find_asset(path, plen);
    if (a) {
        free(target);
        res_asset(res, a);
        return 0;
    }
    if (!(plen >= 4 && strncmp(path, "/api", 4) == 0 && (plen == 4 || path[4] == '/'))) {
        snprintf(msg, sizeof(msg), "not found: %.*s", (int)(plen > 300 ? 300 : plen), path);
        free(target);
        return refuse(res, 404, msg);
    }
    if (!api_allowed) {
        free(target);
        return TM_HTTP_ROUTE_DEFER;
    }
    rq j;
    memset(&j, 0, sizeof(j));
    j.srv = srv;
    j.res = res;
    status = parse_api(path, plen, query, &j, msg, sizeof(msg));
    free(target);
    int bad = 0;
    if (!status) {
        j.token = bearer_token(req->authorization, &bad);
        if (bad) {
            snprintf(msg, sizeof(msg), "the Authorization header must be \"Bearer TOKEN\"");
            status = 401;
        } else if (!j.token) {
            snprintf(msg, sizeof(msg), "out of memory");
            status = 500;
        }
    }
    if (status) refuse(res, status, msg);
    else run_api(&j);
    rq_clear(&j);
    return 0;
}

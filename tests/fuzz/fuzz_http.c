/* fuzz_http.c: one web request through the web listener's request handling
 * (http_route.h tm_http_route), as server/http.c hands it over from
 * libmicrohttpd, without sockets.
 *
 * Input: fields separated by '\n', in this order:
 *   method, raw request target (any bytes but '\n', NULs included: it is
 *   passed with its length), Host, Authorization, body length (decimal),
 *   listener flags (first byte: bit 0 set = a non-loopback listener, bit 1
 *   set = the listener's host is "localhost" instead of "127.0.0.1").
 * A field that is missing (fewer lines) is an absent header, or 0 / a
 * loopback listener on 127.0.0.1.  Method, Host and Authorization are C
 * strings (cut at a NUL) as MHD gives them.  The seeds (make_seeds.py)
 * cover every endpoint, the assets, the Host check and broken escapes.
 *
 * The server is set up as in fuzz_rpc.c: the real rules, a store in a
 * temporary directory (under /dev/shm when it exists) holding the events
 * of tests/data/three_users_1.json in session "s1" and those of
 * three_users_2.json in their derived sessions, and a token file:
 * readtoken123 (read), submittoken1 (submit), admintoken99 (admin).
 * Requests only read, so the store does not grow.
 *
 * As the plumbing does, the route runs first with api_allowed 0 and, when
 * it defers, again with api_allowed 1.  Checked besides the sanitizers
 * (what http_route.h promises): a deferred request leaves the response
 * empty; every answer has a status in 100..599 and a Content-Type first;
 * every error (>= 400) has a JSON body {"error": "..."}; a non-GET/HEAD
 * method is 405; a request with a body is refused. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "api.h"
#include "http_route.h"
#include "input.h"

/* Silences the log when log.c has hooks (see fuzz_rpc.c). */
void tm_log_set_hooks(void (*sink)(const char *line, void *arg), void *arg, int64_t (*now_ms)(void))
    __attribute__((weak));

static tm_server srv;
static char dir[64];
static int debug; /* TM_FUZZ_DEBUG=1: print each request's status and the log */

static void quiet(const char *line, void *arg) {
    (void)line;
    (void)arg;
}

static void cleanup(void) {
    tm_cache_free(srv.cache);
    tm_store_close(srv.store);
    tm_auth_free(srv.auth);
    tm_rules_unref(srv.rules);
    free(srv.rules_dir);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_http: could not remove %s\n", dir);
}

static void die(const char *what, const char *msg) {
    fprintf(stderr, "fuzz_http: %s: %s\n", what, msg);
    exit(1);
}

/* Stores the events of a file of tests/data (forced: their session). */
static void store_file(const char *src, const char *name, const char *forced) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/data/%s", src, name);
    tm_eventvec vec = {0};
    tm_input_report rep = {0};
    tm_store_result res = {0};
    tm_error err;
    if (tm_input_read_file(path, &vec, &rep, &err) != 0) die(path, err.msg);
    if (tm_store_add(srv.store, &vec, forced, &res, &err) != 0) die(path, err.msg);
    tm_store_result_free(&res);
    tm_input_report_free(&rep);
    tm_eventvec_free(&vec);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/tm_fuzz_http_XXXXXX", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) die("mkdtemp", dir);
    debug = getenv("TM_FUZZ_DEBUG") != NULL;
    if (tm_log_set_hooks && !debug) tm_log_set_hooks(quiet, NULL, NULL);

    const char *src = getenv("TM_SOURCE_DIR");
    if (!src) src = TM_SOURCE_DIR;
    char path[4096];
    snprintf(path, sizeof(path), "%s/rules", src);
    srv.rules_dir = strdup(path);
    tm_errlist errs = {0};
    pthread_mutex_init(&srv.rules_mu, NULL);
    srv.max_message_bytes = 1 << 20;
    srv.started_ms = tm_now_ms();
    if (!srv.rules_dir || tm_rules_load(path, &srv.rules, &errs) != 0) die(path, errs.n ? errs.v[0] : "?");
    tm_errlist_free(&errs);

    char tokens[128];
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    FILE *f = fopen(tokens, "w");
    if (!f || fprintf(f, "# fuzz_http\nreadtoken123 read\nsubmittoken1 submit\nadmintoken99 admin\n") < 0 ||
        fclose(f) != 0)
        die("cannot write", tokens);
    tm_error err;
    if (tm_auth_load(tokens, &srv.auth, &err) != 0) die("auth", err.msg);

    char store[128];
    snprintf(store, sizeof(store), "%s/store", dir);
    if (tm_store_open(store, &srv.store, &err) != 0) die("store", err.msg);
    srv.cache = tm_cache_new(20000);
    if (!srv.cache) die("cache", "out of memory");
    store_file(src, "three_users_1.json", "s1");
    store_file(src, "three_users_2.json", NULL);
    atexit(cleanup);
    return 0;
}

/* The next '\n'-separated field of data[*pos, size): its start and length,
 * or NULL when the input has no more fields (*pos > size). */
static const uint8_t *next_field(const uint8_t *data, size_t size, size_t *pos, size_t *len) {
    if (*pos > size) return NULL;
    const uint8_t *s = data + *pos, *nl = memchr(s, '\n', size - *pos);
    *len = nl ? (size_t)(nl - s) : size - *pos;
    *pos += *len + 1;
    return s;
}

/* A NUL-terminated copy (cut at the first NUL, as a C string header). */
static char *cstr(const uint8_t *s, size_t n) {
    char *c = malloc(n + 1);
    if (!c) abort();
    if (n) memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static int is_json_error(const tm_http_response *res) {
    json_error_t e;
    json_t *doc = json_loadb((const char *)res->body, res->len, 0, &e);
    int ok = doc && json_is_string(json_object_get(doc, "error"));
    json_decref(doc);
    return ok;
}

static void check(const tm_http_request *rq, const tm_http_response *res) {
    if (res->status < 100 || res->status > 599) abort();
    if (res->nheaders == 0 || res->nheaders > TM_HTTP_MAX_HEADERS) abort();
    if (strcasecmp(res->headers[0].name, "Content-Type") != 0) abort();
    for (size_t i = 0; i < res->nheaders; i++)
        if (!res->headers[i].name || !res->headers[i].value) abort();
    if (res->len && !res->body) abort();
    if (res->status >= 400 && !is_json_error(res)) {
        fprintf(stderr, "fuzz_http: status %d without a JSON error body\n", res->status);
        abort();
    }
    int get_or_head = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
    if (!get_or_head && res->status != 405) abort();
    if (get_or_head && rq->body_len > 0 && res->status < 400) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *f[6];
    size_t n[6] = {0}, pos = 0;
    for (int i = 0; i < 6; i++) f[i] = next_field(data, size, &pos, &n[i]);
    char *method = cstr(f[0], n[0]); /* field 0 always exists */
    char *host = f[2] ? cstr(f[2], n[2]) : NULL;
    char *auth = f[3] ? cstr(f[3], n[3]) : NULL;
    uint64_t body = 0;
    if (f[4]) {
        char *b = cstr(f[4], n[4] < 24 ? n[4] : 24);
        body = strtoull(b, NULL, 10);
        free(b);
    }
    unsigned flags = f[5] && n[5] ? f[5][0] : 0;
    tm_http_route_cfg cfg = {!(flags & 1), (flags & 2) ? "localhost" : "127.0.0.1"};
    /* the target keeps every byte; an empty buffer stands for a missing one */
    char *target = cstr(f[1] ? f[1] : (const uint8_t *)"", f[1] ? n[1] : 0);
    tm_http_request rq = {method, target, f[1] ? n[1] : 0, host, auth, body};

    tm_http_response res;
    memset(&res, 0, sizeof(res));
    int rc = tm_http_route(NULL, &cfg, &rq, 0, &res);
    if (rc == TM_HTTP_ROUTE_DEFER) {
        if (res.status != 0 || res.nheaders != 0 || res.len != 0) abort();
        tm_http_response_clear(&res);
        rc = tm_http_route(&srv, &cfg, &rq, 1, &res);
        if (rc != 0) abort(); /* with the API allowed it always answers */
    } else if (rc != 0) {
        abort();
    }
    if (debug) fprintf(stderr, "fuzz_http: %d %zu bytes: %s %.*s\n", res.status, res.len, method, (int)rq.target_len, target);
    check(&rq, &res);
    tm_http_response_clear(&res);
    free(method);
    free(host);
    free(auth);
    free(target);
    return 0;
}

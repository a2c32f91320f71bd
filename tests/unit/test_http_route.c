/* test_http_route.c: the web listener's request handling without sockets.
 *
 * tm_http_route gets requests as libmicrohttpd would hand them over (raw
 * target, Host, Authorization, body length) and must answer each as
 * http_route.h says: exact asset paths, the Host check on loopback (with
 * ports, IPv6 and absolute-form targets), percent-decoding of keys and
 * queries, bearer tokens, and a JSON error for every refusal.  The API runs
 * against a real store in a temporary directory, as in test_api.c. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "http_route.h"
#include "test.h"
#include "trailmap.pb-c.h"
#include "web_assets.h"

static tm_server srv;
static tm_http_route_cfg lo = {1, "127.0.0.1"};
static tm_http_response res;

/* Routes one request into res (cleared first) and returns its status, or
 * -1 when the route deferred it. */
static int route_full(const tm_http_route_cfg *cfg, const char *method, const char *target, size_t tlen,
                      const char *host, const char *auth, uint64_t body, int api) {
    tm_http_response_clear(&res);
    tm_http_request rq = {method, target, tlen, host, auth, body};
    int rc = tm_http_route(api ? &srv : NULL, cfg, &rq, api, &res);
    if (rc == TM_HTTP_ROUTE_DEFER) return -1;
    return rc == 0 ? res.status : -2;
}

/* A plain GET with a loopback Host. */
static int get(const char *target) { return route_full(&lo, "GET", target, strlen(target), "127.0.0.1:7471", NULL, 0, 1); }

static int get_host(const char *target, const char *host) {
    return route_full(&lo, "GET", target, strlen(target), host, NULL, 0, 1);
}

static int get_auth(const char *target, const char *auth) {
    return route_full(&lo, "GET", target, strlen(target), "127.0.0.1", auth, 0, 1);
}

/* The body as a NUL-terminated copy (for strstr), in a static buffer. */
static const char *body(void) {
    static char buf[1 << 16];
    size_t n = res.len < sizeof(buf) - 1 ? res.len : sizeof(buf) - 1;
    if (n) memcpy(buf, res.body, n);
    buf[n] = 0;
    return buf;
}

/* The answer is {"error": "..."} as JSON. */
static int is_json_error(void) {
    json_error_t e;
    json_t *doc = json_loadb((const char *)res.body, res.len, 0, &e);
    int ok = doc && json_is_string(json_object_get(doc, "error"));
    json_decref(doc);
    const char *ct = tm_http_response_header(&res, "Content-Type");
    return ok && ct && strncmp(ct, "application/json", 16) == 0;
}

static const tm_web_asset *asset(const char *path) {
    for (size_t i = 0; i < tm_web_nassets; i++)
        if (strcmp(tm_web_assets[i].path, path) == 0) return &tm_web_assets[i];
    return NULL;
}

static void test_assets(void) {
    const tm_web_asset *index = asset("/index.html"), *js = asset("/app.js");
    CHECK(index && js);
    if (!index || !js) return;
    CHECK_INT(get("/"), 200);
    CHECK(res.len == index->len && memcmp(res.body, index->data, res.len) == 0);
    CHECK(tm_http_response_header(&res, "Content-Security-Policy") != NULL);
    CHECK_STR(tm_http_response_header(&res, "X-Frame-Options"), "DENY");
    CHECK_STR(tm_http_response_header(&res, "X-Content-Type-Options"), "nosniff");
    CHECK_STR(tm_http_response_header(&res, "Referrer-Policy"), "no-referrer");
    CHECK_INT(get("/index.html"), 200);
    CHECK(res.len == index->len);
    CHECK_INT(get("/app.js"), 200);
    CHECK(res.len == js->len && memcmp(res.body, js->data, res.len) == 0);
    CHECK(tm_http_response_header(&res, "Content-Security-Policy") == NULL);
    CHECK_INT(get("/app.js?v=2"), 200); /* a query is ignored on files */
    CHECK_INT(get("/style.css"), 200);
    CHECK_INT(get("/favicon.svg"), 200);
    /* HEAD is GET (the plumbing drops the body) */
    CHECK_INT(route_full(&lo, "HEAD", "/", 1, "127.0.0.1", NULL, 0, 0), 200);
    /* only the exact, still-encoded path is an asset */
    static const char *const not_assets[] = {
        "/index.html%00.js", "/index.html%00", "/index.html/", "/index.html.js", "/INDEX.HTML", "/%69ndex.html",
        "//index.html", "/./index.html", "/x/../index.html", "/index.html%2f", "/app.js%41", "/app.js;x",
        "/index", "/web/index.html", "/index.html#x",
    };
    for (size_t i = 0; i < sizeof(not_assets) / sizeof(not_assets[0]); i++) {
        int st = get(not_assets[i]);
        if (st != 404) fprintf(stderr, "  %s: %d\n", not_assets[i], st);
        CHECK_INT(st, 404);
        CHECK(is_json_error());
    }
    /* a raw NUL inside the target (MHD would cut the string there) */
    CHECK_INT(route_full(&lo, "GET", "/index.html\0.js", 15, "127.0.0.1", NULL, 0, 0), 400);
    CHECK_INT(route_full(&lo, "GET", "/index.html\0", 12, "127.0.0.1", NULL, 0, 0), 400);
    CHECK_INT(get("/index.html x"), 400);
    CHECK_INT(get("/index.html\t"), 400);
    CHECK_INT(get("/\x7f"), 400);
    CHECK_INT(get("/\r\n"), 400);
}

static void test_refusals(void) {
    CHECK_INT(route_full(&lo, "POST", "/", 1, "127.0.0.1", NULL, 0, 0), 405);
    CHECK_STR(tm_http_response_header(&res, "Allow"), "GET, HEAD");
    CHECK(is_json_error());
    CHECK_INT(route_full(&lo, "get", "/", 1, "127.0.0.1", NULL, 0, 0), 405);
    CHECK_INT(route_full(&lo, "DELETE", "/api/health", 11, "127.0.0.1", NULL, 0, 0), 405);
    CHECK_INT(route_full(&lo, "", "/", 1, "127.0.0.1", NULL, 0, 0), 405);
    /* a body */
    CHECK_INT(route_full(&lo, "GET", "/api/health", 11, "127.0.0.1", NULL, 5, 0), 413);
    CHECK(is_json_error());
    CHECK_INT(route_full(&lo, "GET", "/", 1, "127.0.0.1", NULL, 1, 0), 413);
    /* target lengths: 4096 is routed, 4097 is not */
    char *t = malloc(TM_HTTP_MAX_TARGET + 2);
    memset(t, 'a', TM_HTTP_MAX_TARGET + 1);
    t[0] = '/';
    t[TM_HTTP_MAX_TARGET] = 0;
    CHECK_INT(get(t), 404);
    t[TM_HTTP_MAX_TARGET] = 'a';
    t[TM_HTTP_MAX_TARGET + 1] = 0;
    CHECK_INT(get(t), 414);
    CHECK(is_json_error() && strstr(body(), "4096"));
    free(t);
    /* targets that are neither a path nor an absolute URL */
    CHECK_INT(get("*"), 400);
    CHECK_INT(get("index.html"), 400);
    CHECK_INT(get(""), 400);
    CHECK_INT(get("ftp://127.0.0.1/"), 400);
}

static void test_host(void) {
    static const char *const good[] = {"127.0.0.1", "127.0.0.1:7471", "127.1.2.3:80", "localhost", "LocalHost:9",
                                       "[::1]", "[::1]:7471", "127.0.0.1:"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int st = get_host("/", good[i]);
        if (st != 200) fprintf(stderr, "  Host %s: %d\n", good[i], st);
        CHECK_INT(st, 200);
    }
    static const char *const evil[] = {"evil.example", "evil.example:7471", "127.0.0.1.evil.example",
                                       "localhost.evil", "127.0.0.1:abc", "127.0.0.1:80:80", "", "[::1",
                                       "[::1]x", "[::2]", "127.0.0", "127.0.0.1.", "0.0.0.0", "127.0.0.256x",
                                       "[::ffff:127.0.0.1]", "localhost:7471@evil"};
    for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
        int st = get_host("/api/health", evil[i]);
        if (st != 403) fprintf(stderr, "  Host %s: %d\n", evil[i], st);
        CHECK_INT(st, 403);
        CHECK(is_json_error());
    }
    /* assets too */
    CHECK_INT(get_host("/", "evil.example"), 403);
    /* no Host at all (HTTP/1.0): served */
    CHECK_INT(get_host("/", NULL), 200);
    /* the listener's own host name counts */
    tm_http_route_cfg named = {1, "[::1]"};
    CHECK_INT(route_full(&named, "GET", "/", 1, "[::1]:80", NULL, 0, 0), 200);
    tm_http_route_cfg lh = {1, "localhost"};
    CHECK_INT(route_full(&lh, "GET", "/", 1, "localhost:1", NULL, 0, 0), 200);
    CHECK_INT(route_full(&lh, "GET", "/", 1, "evil.example", NULL, 0, 0), 403);
    /* a listener that is not loopback (it has --auth) takes any Host */
    tm_http_route_cfg any = {0, "0.0.0.0"};
    CHECK_INT(route_full(&any, "GET", "/", 1, "trailmap.example.com", NULL, 0, 0), 200);
    CHECK_INT(route_full(&any, "GET", "http://trailmap.example.com/", 28, "x", NULL, 0, 0), 200);
}

static void test_absolute_form(void) {
    /* the authority is checked like Host */
    CHECK_INT(get("http://evil.example/api/health"), 403);
    CHECK(is_json_error());
    CHECK_INT(get("http://evil.example/"), 403);
    CHECK_INT(get("https://evil.example:443/index.html"), 403);
    CHECK_INT(get("http://127.0.0.1.evil.example/"), 403);
    CHECK_INT(get("http://127.0.0.1:7471/"), 200);
    CHECK_INT(get("HTTP://localhost/app.js"), 200);
    CHECK_INT(get("http://[::1]:7471/style.css"), 200);
    CHECK_INT(get("http://127.0.0.1"), 200);         /* no path: "/" */
    CHECK_INT(get("http://127.0.0.1?x=1"), 200);
    CHECK_INT(get("http://127.0.0.1/index.html%00.js"), 404);
    CHECK_INT(get("http://user@127.0.0.1/"), 400);
    CHECK_INT(get("http://evil.example@127.0.0.1/"), 400);
    CHECK_INT(get("http:///index.html"), 400);
    CHECK_INT(get("http://127.0.0.1#frag"), 400);
    /* the API through an absolute-form target */
    CHECK_INT(route_full(&lo, "GET", "http://127.0.0.1/api/health", 27, "127.0.0.1", NULL, 0, 0), -1);
    CHECK_INT(get("http://127.0.0.1/api/health"), 200);
    CHECK(strstr(body(), "\"serving\":true") != NULL);
}

/* tm_api_invoke a SubmitEvents of one record into session key. */
static int submit(const char *key, const char *record) {
    Trailmap__SubmitEventsRequest req = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    char *recs[] = {(char *)record};
    req.records = recs;
    req.n_records = 1;
    req.session_key = (char *)key;
    ProtobufCMessage *resp = NULL;
    int status = -1;
    char *msg = NULL;
    if (tm_api_invoke(&srv, "SubmitEvents", "submittoken1", &req.base, &resp, &status, &msg) != 0) return -1;
    free(msg);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    return status;
}

static void test_api(void) {
    /* deferred without the API, answered with it */
    CHECK_INT(route_full(&lo, "GET", "/api/health", 11, "127.0.0.1", NULL, 0, 0), -1);
    CHECK_INT(res.status, 0);
    CHECK_INT(get("/api/health"), 200);
    CHECK(strstr(body(), "\"serving\":true") != NULL);
    CHECK_STR(tm_http_response_header(&res, "Cache-Control"), "no-store");
    CHECK_INT(get("/api/sessions"), 200);
    CHECK(strstr(body(), "\"sessions\":[]") != NULL);
    CHECK_INT(get("/api/sessions/"), 200);
    /* endpoints that do not exist */
    static const char *const none[] = {"/api", "/api/", "/api/nothing", "/api/health/x", "/api/sessions/k/x",
                                       "/api/sessions/k/events/x", "/api/sessions//events", "/apix", "/api%2fhealth"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        int st = get(none[i]);
        if (st != 404) fprintf(stderr, "  %s: %d\n", none[i], st);
        CHECK_INT(st, 404);
        CHECK(is_json_error());
    }
    /* broken escapes in the key: 400, wherever they are */
    static const char *const broken[] = {"/api/sessions/%zz", "/api/sessions/a%00b", "/api/sessions/abc%",
                                         "/api/sessions/abc%4", "/api/sessions/%%", "/api/sessions/abc%4/events",
                                         "/api/sessions/%g1/cartographer.json"};
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        int st = get(broken[i]);
        if (st != 400) fprintf(stderr, "  %s: %d\n", broken[i], st);
        CHECK_INT(st, 400);
        CHECK(is_json_error() && strstr(body(), "escape"));
    }
    /* bad query values */
    static const char *const bad_query[] = {
        "/api/sessions?page_size=abc", "/api/sessions?page_size=-1", "/api/sessions?page_size=100001",
        "/api/sessions?page_size=", "/api/sessions?from=yesterday", "/api/sessions?to=2024-13-45",
        "/api/sessions?principal=%zz", "/api/sessions?principal=%", "/api/sessions/k/events?signal=a&unmapped=1",
    };
    for (size_t i = 0; i < sizeof(bad_query) / sizeof(bad_query[0]); i++) {
        int st = get(bad_query[i]);
        if (st != 400) fprintf(stderr, "  %s: %d\n", bad_query[i], st);
        CHECK_INT(st, 400);
        CHECK(is_json_error());
    }
    CHECK_INT(get("/api/sessions?from=2024-05-01T12:00:00Z&to=1714564800000&page_size=5&x=ignored"), 200);

    /* a session whose key needs percent-encoding */
    static const char rec[] = "{\"eventTime\": \"2024-05-01T10:00:00Z\", \"eventID\": "
                              "\"bbbbbbbb-0000-4000-8000-000000000001\", \"eventSource\": \"madeup.amazonaws.com\", "
                              "\"eventName\": \"ListGadgets\", \"userAgent\": \"Mozilla/5.0\", \"awsRegion\": "
                              "\"us-east-1\"}";
    static const char rec2[] = "{\"eventTime\": \"2024-05-01T10:00:05Z\", \"eventID\": "
                               "\"bbbbbbbb-0000-4000-8000-000000000002\", \"eventSource\": \"madeup.amazonaws.com\", "
                               "\"eventName\": \"ListWidgets\", \"userAgent\": \"Mozilla/5.0\", \"awsRegion\": "
                               "\"us-east-1\"}";
    CHECK_INT(submit("k y/1:", rec), TRAILMAP__STATUS__OK);
    CHECK_INT(submit("k y/1:", rec2), TRAILMAP__STATUS__OK);
    CHECK_INT(get("/api/sessions/k%20y%2F1%3A"), 200);
    CHECK(strstr(body(), "\"key\":\"k y/1:\"") != NULL);
    CHECK(strstr(body(), "\"signals\":[") != NULL);
    CHECK_INT(get("/api/sessions/k%20y%2f1%3a"), 200); /* lower-case hex */
    CHECK_INT(get("/api/sessions/k+y%2F1%3A"), 404);   /* '+' is a plus in a path */
    CHECK_INT(get("/api/sessions/k%20y/1:"), 404);     /* an unencoded '/' splits the key */
    CHECK_INT(get("/api/sessions?principal=nobody+at+all"), 200);
    CHECK(strstr(body(), "\"sessions\":[]") != NULL);
    /* events, paged */
    CHECK_INT(get("/api/sessions/k%20y%2F1%3A/events?page_size=1"), 200);
    json_error_t je;
    json_t *doc = json_loadb((const char *)res.body, res.len, 0, &je);
    const char *next = json_string_value(json_object_get(doc, "nextPageToken"));
    CHECK(json_array_size(json_object_get(doc, "events")) == 1);
    CHECK(next && *next);
    if (next && *next) {
        char url[512];
        snprintf(url, sizeof(url), "/api/sessions/k%%20y%%2F1%%3A/events?page_size=1&page_token=%s", next);
        CHECK_INT(get(url), 200);
        CHECK(strstr(body(), "ListWidgets") != NULL);
        CHECK(strstr(body(), "ListGadgets") == NULL);
    }
    json_decref(doc);
    CHECK_INT(get("/api/sessions/k%20y%2F1%3A/events?unmapped=1"), 200);
    CHECK_INT(get("/api/sessions/nokey/events"), 404);
    /* downloads */
    CHECK_INT(get("/api/sessions/k%20y%2F1%3A/cartographer.json"), 200);
    CHECK_STR(tm_http_response_header(&res, "Content-Disposition"),
              "attachment; filename=\"trailmap-k_y_1_.cartographer.json\"");
    CHECK_INT(get("/api/sessions/k%20y%2F1%3A/events.jsonl"), 200);
    CHECK(strncmp(tm_http_response_header(&res, "Content-Type"), "application/x-ndjson", 20) == 0);
    CHECK(strstr(body(), "\"trailmap\":{\"session\":\"k y/1:\"") != NULL);
    CHECK_INT(get("/api/sessions/nokey"), 404);
    CHECK(is_json_error());
    CHECK_INT(get("/api/sessions/nokey/cartographer.json"), 404);
}

static void test_bearer(const char *dir) {
    char tokens[1200];
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    FILE *f = fopen(tokens, "w");
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "readtoken123 read\nsubmittoken1 submit\n");
    fclose(f);
    tm_error err;
    CHECK_INT(tm_auth_load(tokens, &srv.auth, &err), 0);
    CHECK_INT(get_auth("/api/sessions", NULL), 401);
    CHECK_STR(tm_http_response_header(&res, "WWW-Authenticate"), "Bearer realm=\"trailmap\"");
    CHECK(is_json_error());
    CHECK_INT(get_auth("/api/sessions", ""), 401);
    CHECK_INT(get_auth("/api/sessions", "Basic cmVhZDp4"), 401);
    CHECK(is_json_error() && strstr(body(), "Bearer TOKEN"));
    CHECK_INT(get_auth("/api/sessions", "Bearer"), 401);
    CHECK_INT(get_auth("/api/sessions", "Bearer wrongtoken99"), 401);
    CHECK_INT(get_auth("/api/sessions", "Bearer readtoken123"), 200);
    CHECK_INT(get_auth("/api/sessions", "  bearer   readtoken123  "), 200);
    CHECK_INT(get_auth("/api/sessions", "Bearer readtoken1234"), 401);
    /* the page's files need no token */
    CHECK_INT(get_auth("/", NULL), 200);
    tm_auth_free(srv.auth);
    srv.auth = NULL;
}

int main(void) {
    char dir[] = "/tmp/tm_http_route_test_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    const char *srcdir = getenv("TM_SOURCE_DIR");
    char rules[1024];
    snprintf(rules, sizeof(rules), "%s/rules", srcdir ? srcdir : ".");
    tm_errlist errs = {0};
    tm_error err;
    pthread_mutex_init(&srv.rules_mu, NULL);
    srv.max_message_bytes = 1 << 20;
    CHECK_INT(tm_rules_load(rules, &srv.rules, &errs), 0);
    tm_errlist_free(&errs);
    CHECK_INT(tm_store_open(dir, &srv.store, &err), 0);
    srv.cache = tm_cache_new(100000);
    if (!srv.rules || !srv.store || !srv.cache) return tm_test_done();

    test_assets();
    test_refusals();
    test_host();
    test_absolute_form();
    test_api();
    test_bearer(dir);

    tm_http_response_clear(&res);
    tm_cache_free(srv.cache);
    tm_store_close(srv.store);
    tm_rules_unref(srv.rules);
    pthread_mutex_destroy(&srv.rules_mu);
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return tm_test_done();
}

/* test_api.c: bad input never stops the server and gets its status code:
 * malformed protobuf, unknown method, oversize message, invalid JSON
 * records, wrong tokens; good requests get their answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <zlib.h>

#include "api.h"
#include "test.h"
#include "trailmap.pb-c.h"

static tm_server srv;

/* Sends method+payload, returns the unpacked response (caller frees). */
static Trailmap__RpcResponse *rpc(const char *method, const char *token, const ProtobufCMessage *msg, uint64_t id) {
    Trailmap__RpcRequest rq = TRAILMAP__RPC_REQUEST__INIT;
    rq.method = (char *)method;
    rq.request_id = id;
    rq.auth_token = (char *)(token ? token : "");
    uint8_t *pl = NULL;
    if (msg) {
        pl = malloc(protobuf_c_message_get_packed_size(msg) + 1);
        rq.payload.len = protobuf_c_message_pack(msg, pl);
        rq.payload.data = pl;
    }
    size_t n = trailmap__rpc_request__get_packed_size(&rq);
    uint8_t *buf = malloc(n + 1);
    trailmap__rpc_request__pack(&rq, buf);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = tm_api_handle(&srv, buf, n, &out, &out_len);
    free(buf);
    free(pl);
    if (rc != 0) return NULL;
    Trailmap__RpcResponse *r = trailmap__rpc_response__unpack(NULL, out_len, out);
    free(out);
    return r;
}

/* An RpcRequest with method and token given with their lengths (so they
 * may hold NUL bytes) and payload msg. */
static Trailmap__RpcResponse *rpc_n(const char *method, size_t mlen, const char *token, size_t tlen,
                                   const ProtobufCMessage *msg);

static Trailmap__RpcResponse *raw(const uint8_t *bytes, size_t n) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (tm_api_handle(&srv, bytes, n, &out, &out_len) != 0) return NULL;
    Trailmap__RpcResponse *r = trailmap__rpc_response__unpack(NULL, out_len, out);
    free(out);
    return r;
}

static Trailmap__RpcResponse *rpc_n(const char *method, size_t mlen, const char *token, size_t tlen,
                                   const ProtobufCMessage *msg) {
    size_t pl = msg ? protobuf_c_message_get_packed_size(msg) : 0;
    uint8_t *buf = malloc(mlen + tlen + pl + 64), *p = buf;
    /* method (1), auth_token (3), payload (4); lengths under 128 here except the payload */
    *p++ = 0x0a;
    *p++ = (uint8_t)mlen;
    memcpy(p, method, mlen);
    p += mlen;
    *p++ = 0x1a;
    *p++ = (uint8_t)tlen;
    memcpy(p, token, tlen);
    p += tlen;
    *p++ = 0x22;
    size_t l = pl;
    do {
        *p++ = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
        l >>= 7;
    } while (l);
    if (msg) p += protobuf_c_message_pack(msg, p);
    Trailmap__RpcResponse *r = raw(buf, (size_t)(p - buf));
    free(buf);
    return r;
}

static int status_of(Trailmap__RpcResponse *r) {
    int s = r ? (int)r->status : -1;
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    return s;
}

/* gzip of n spaces: a small document that inflates to n bytes */
static uint8_t *gzip_spaces(size_t n, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = n / 500 + 1024;
    uint8_t *out = malloc(cap), in[65536];
    memset(in, ' ', sizeof(in));
    z.next_out = out;
    z.avail_out = (uInt)cap;
    for (size_t left = n; left > 0 || z.avail_in > 0;) {
        if (z.avail_in == 0) {
            size_t k = left < sizeof(in) ? left : sizeof(in);
            z.next_in = in;
            z.avail_in = (uInt)k;
            left -= k;
        }
        deflate(&z, Z_NO_FLUSH);
    }
    while (deflate(&z, Z_FINISH) != Z_STREAM_END) {}
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

/* The limits of api.c: padding, NUL bytes, caps, bombs, paths. */
static void test_limits(const char *dir) {
    Trailmap__HealthRequest hr = TRAILMAP__HEALTH_REQUEST__INIT;
    /* "Health\0X" is no method */
    Trailmap__RpcResponse *r = rpc_n("Health\0X", 8, "", 0, &hr.base);
    CHECK(r && r->status == TRAILMAP__STATUS__UNIMPLEMENTED);
    CHECK_INT(status_of(r), TRAILMAP__STATUS__UNIMPLEMENTED);
    CHECK_INT(status_of(rpc_n("Health", 6, "", 0, &hr.base)), TRAILMAP__STATUS__OK);

    /* an RpcRequest with a field it does not have, or a field twice */
    static const uint8_t unknown[] = {0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h', 0x2a, 0x01, 'x'};
    r = raw(unknown, sizeof(unknown));
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT && strstr(r->error_message, "no field 5"));
    status_of(r);
    static const uint8_t twice[] = {0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h', 0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h'};
    CHECK_INT(status_of(raw(twice, sizeof(twice))), TRAILMAP__STATUS__INVALID_ARGUMENT);
    /* a payload padded with unknown fields */
    static const uint8_t padded[] = {0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h', 0x22, 0x04, 0x7a, 0x02, 'x', 'y'};
    r = raw(padded, sizeof(padded));
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT && strstr(r->error_message, "HealthRequest"));
    status_of(r);

    size_t saved_max = srv.max_message_bytes;
    srv.max_message_bytes = 1 << 20;
    /* many empty records: the estimate passes 4x the request */
    enum { MANY = 30000 };
    char **empty = calloc(MANY, sizeof(*empty));
    for (size_t i = 0; i < MANY; i++) empty[i] = "";
    Trailmap__SubmitEventsRequest sub = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    sub.records = empty;
    sub.n_records = MANY;
    r = rpc_n("SubmitEvents", 12, "", 0, &sub.base);
    CHECK(r && r->status == TRAILMAP__STATUS__RESOURCE_EXHAUSTED && strstr(r->error_message, "allocate"));
    status_of(r);
    /* and the element cap, with records long enough to pass the estimate */
    char junk100[101];
    memset(junk100, 'x', 100);
    junk100[100] = 0;
    for (size_t i = 0; i < MANY; i++) empty[i] = junk100;
    srv.max_batch_records = 1000;
    sub.n_records = 1001;
    r = rpc_n("SubmitEvents", 12, "", 0, &sub.base);
    CHECK(r && r->status == TRAILMAP__STATUS__RESOURCE_EXHAUSTED && strstr(r->error_message, "records"));
    status_of(r);
    /* under both: every record rejected, the first 100 listed */
    sub.n_records = 1000;
    r = rpc_n("SubmitEvents", 12, "", 0, &sub.base);
    CHECK(r && r->status == TRAILMAP__STATUS__OK);
    if (r && r->status == TRAILMAP__STATUS__OK) {
        Trailmap__SubmitEventsResponse *sr = trailmap__submit_events_response__unpack(NULL, r->payload.len, r->payload.data);
        CHECK(sr && sr->rejected == 1000 && sr->n_rejections == 100 && sr->rejections[99]->index == 99);
        if (sr) trailmap__submit_events_response__free_unpacked(sr, NULL);
    }
    status_of(r);
    srv.max_batch_records = 0;
    free(empty);

    /* a gzip bomb: RESOURCE_EXHAUSTED naming the document and the limit */
    size_t gl;
    uint8_t *gz = gzip_spaces((size_t)64 << 20, &gl);
    CHECK(gz && gl < 200000);
    Trailmap__Document doc = TRAILMAP__DOCUMENT__INIT, *docs[] = {&doc};
    doc.name = "bomb.json.gz";
    doc.content.data = gz;
    doc.content.len = gl;
    Trailmap__SubmitEventsRequest bomb = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    bomb.documents = docs;
    bomb.n_documents = 1;
    srv.max_decoded_bytes = 1 << 20;
    r = rpc_n("SubmitEvents", 12, "", 0, &bomb.base);
    CHECK(r && r->status == TRAILMAP__STATUS__RESOURCE_EXHAUSTED && strstr(r->error_message, "bomb.json.gz") &&
          strstr(r->error_message, "more than 1048576 bytes"));
    status_of(r);
    /* the budget is per batch: two documents of 600 KB each do not fit 1 MiB */
    free(gz);
    gz = gzip_spaces(600000, &gl);
    doc.content.data = gz;
    doc.content.len = gl;
    Trailmap__Document *two[] = {&doc, &doc};
    bomb.documents = two;
    bomb.n_documents = 2;
    CHECK_INT(status_of(rpc_n("SubmitEvents", 12, "", 0, &bomb.base)), TRAILMAP__STATUS__RESOURCE_EXHAUSTED);
    bomb.n_documents = 1; /* one fits: only blanks, no events, and nothing rejected */
    CHECK_INT(status_of(rpc_n("SubmitEvents", 12, "", 0, &bomb.base)), TRAILMAP__STATUS__OK);
    srv.max_decoded_bytes = 0;
    free(gz);
    srv.max_message_bytes = saved_max;

    /* a session larger than --max-session-events: refused, not mapped */
    Trailmap__GetSessionRequest gs = TRAILMAP__GET_SESSION_REQUEST__INIT;
    gs.key = "s1";
    srv.max_session_events = 1;
    CHECK_INT(status_of(rpc_n("GetSession", 10, "", 0, &gs.base)), TRAILMAP__STATUS__OK); /* 1 event */
    char *more[] = {"{\"eventTime\":\"2023-01-01T00:00:05Z\",\"eventID\":\"e3\",\"eventSource\":\"iam.amazonaws.com\","
                    "\"eventName\":\"ListRoles\",\"awsRegion\":\"us-east-1\"}"};
    Trailmap__SubmitEventsRequest add = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    add.records = more;
    add.n_records = 1;
    add.session_key = "s1";
    CHECK_INT(status_of(rpc_n("SubmitEvents", 12, "", 0, &add.base)), TRAILMAP__STATUS__OK);
    r = rpc_n("GetSession", 10, "", 0, &gs.base);
    CHECK(r && r->status == TRAILMAP__STATUS__RESOURCE_EXHAUSTED && strstr(r->error_message, "2 events"));
    status_of(r);
    Trailmap__GetEventsRequest ge = TRAILMAP__GET_EVENTS_REQUEST__INIT;
    ge.key = "s1";
    CHECK_INT(status_of(rpc_n("GetEvents", 9, "", 0, &ge.base)), TRAILMAP__STATUS__RESOURCE_EXHAUSTED);
    srv.max_session_events = 0;
    CHECK_INT(status_of(rpc_n("GetSession", 10, "", 0, &gs.base)), TRAILMAP__STATUS__OK);

    /* ReloadRules errors name files relative to the rules directory */
    char bad[1100], file[1200];
    snprintf(bad, sizeof(bad), "%s/badrules", dir);
    mkdir(bad, 0700);
    snprintf(file, sizeof(file), "%s/overrides.json", bad);
    FILE *f = fopen(file, "w");
    fputs("{\n  \"x\": [\n", f);
    fclose(f);
    char *saved_dir = srv.rules_dir;
    srv.rules_dir = bad;
    Trailmap__ReloadRulesRequest rr = TRAILMAP__RELOAD_RULES_REQUEST__INIT;
    r = rpc_n("ReloadRules", 11, "", 0, &rr.base);
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT);
    CHECK(r && strstr(r->error_message, "overrides.json") && !strstr(r->error_message, dir));
    if (r && strstr(r->error_message, dir)) fprintf(stderr, "ReloadRules said: %s\n", r->error_message);
    status_of(r);
    srv.rules_dir = saved_dir;
}

int main(void) {
    char dir[] = "/tmp/tm_api_test_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    const char *srcdir = getenv("TM_SOURCE_DIR");
    char rules[1024], tokens[1200];
    snprintf(rules, sizeof(rules), "%s/rules", srcdir ? srcdir : ".");
    tm_errlist errs = {0};
    tm_error err;
    pthread_mutex_init(&srv.rules_mu, NULL);
    srv.max_message_bytes = 4096;
    CHECK_INT(tm_rules_load(rules, &srv.rules, &errs), 0);
    tm_errlist_free(&errs);
    CHECK_INT(tm_store_open(dir, &srv.store, &err), 0);
    srv.cache = tm_cache_new(100000);
    if (!srv.rules || !srv.store || !srv.cache) return tm_test_done();

    /* garbage bytes: INVALID_ARGUMENT, and the server answers the next call */
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    Trailmap__RpcResponse *r = raw(junk, sizeof(junk));
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT);
    CHECK(r && strstr(r->error_message, "malformed"));
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    /* oversize: RESOURCE_EXHAUSTED, naming the limit */
    uint8_t *big = calloc(1, 5000);
    r = raw(big, 5000);
    CHECK(r && r->status == TRAILMAP__STATUS__RESOURCE_EXHAUSTED);
    CHECK(r && strstr(r->error_message, "4096"));
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    free(big);

    /* unknown method */
    r = rpc("DropAllTables", NULL, NULL, 7);
    CHECK(r && r->status == TRAILMAP__STATUS__UNIMPLEMENTED && r->request_id == 7);
    CHECK(r && strstr(r->error_message, "DropAllTables"));
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    /* a payload that is not the method's message */
    Trailmap__RpcRequest rq = TRAILMAP__RPC_REQUEST__INIT;
    rq.method = "GetSession";
    rq.payload.data = (uint8_t *)junk;
    rq.payload.len = sizeof(junk);
    uint8_t buf[256];
    size_t n = trailmap__rpc_request__pack(&rq, buf);
    r = raw(buf, n);
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    /* records: one good, one not JSON, one without eventTime */
    Trailmap__SubmitEventsRequest sub = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    char *recs[] = {
        "{\"eventTime\":\"2023-01-01T00:00:00Z\",\"eventID\":\"e1\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"ListUsers\",\"awsRegion\":\"us-east-1\"}",
        "{not json",
        "{\"eventID\":\"e2\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"ListUsers\"}",
    };
    sub.n_records = 3;
    sub.records = recs;
    sub.session_key = "s1";
    r = rpc("SubmitEvents", NULL, &sub.base, 9);
    CHECK(r && r->status == TRAILMAP__STATUS__OK);
    if (r && r->status == TRAILMAP__STATUS__OK) {
        Trailmap__SubmitEventsResponse *sr = trailmap__submit_events_response__unpack(NULL, r->payload.len, r->payload.data);
        CHECK(sr && sr->accepted == 1 && sr->rejected == 2 && sr->n_rejections == 2);
        CHECK(sr && sr->n_rejections == 2 && sr->rejections[0]->index == 1 && sr->rejections[1]->index == 2);
        CHECK(sr && sr->n_rejections == 2 && strstr(sr->rejections[1]->reason, "eventTime"));
        if (sr) trailmap__submit_events_response__free_unpacked(sr, NULL);
    }
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    /* the same again: a duplicate */
    sub.n_records = 1;
    r = rpc("SubmitEvents", NULL, &sub.base, 10);
    if (r && r->status == TRAILMAP__STATUS__OK) {
        Trailmap__SubmitEventsResponse *sr = trailmap__submit_events_response__unpack(NULL, r->payload.len, r->payload.data);
        CHECK(sr && sr->accepted == 0 && sr->duplicates == 1);
        if (sr) trailmap__submit_events_response__free_unpacked(sr, NULL);
    } else {
        CHECK(0);
    }
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    /* an empty submission */
    Trailmap__SubmitEventsRequest empty = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    r = rpc("SubmitEvents", NULL, &empty.base, 11);
    CHECK(r && r->status == TRAILMAP__STATUS__INVALID_ARGUMENT);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    /* GetSession: found and not found */
    Trailmap__GetSessionRequest gs = TRAILMAP__GET_SESSION_REQUEST__INIT;
    gs.key = "s1";
    r = rpc("GetSession", NULL, &gs.base, 12);
    CHECK(r && r->status == TRAILMAP__STATUS__OK);
    if (r && r->status == TRAILMAP__STATUS__OK) {
        Trailmap__GetSessionResponse *g = trailmap__get_session_response__unpack(NULL, r->payload.len, r->payload.data);
        CHECK(g && g->session && g->session->events == 1);
        CHECK(g && strcmp(g->rules_version, srv.rules->version) == 0);
        if (g) trailmap__get_session_response__free_unpacked(g, NULL);
    }
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    gs.key = "nope";
    r = rpc("GetSession", NULL, &gs.base, 13);
    CHECK(r && r->status == TRAILMAP__STATUS__NOT_FOUND);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);

    test_limits(dir);

    /* tokens and roles */
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    FILE *f = fopen(tokens, "w");
    fprintf(f, "# test tokens\nreadtoken123 read\nsubmittoken1 submit\n");
    fclose(f);
    CHECK_INT(tm_auth_load(tokens, &srv.auth, &err), 0);
    r = rpc("GetSession", NULL, &gs.base, 14);
    CHECK(r && r->status == TRAILMAP__STATUS__UNAUTHENTICATED);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    r = rpc("GetSession", "guessing", &gs.base, 15);
    CHECK(r && r->status == TRAILMAP__STATUS__UNAUTHENTICATED);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    r = rpc("SubmitEvents", "readtoken123", &sub.base, 16);
    CHECK(r && r->status == TRAILMAP__STATUS__PERMISSION_DENIED);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    r = rpc("SubmitEvents", "submittoken1", &sub.base, 17);
    CHECK(r && r->status == TRAILMAP__STATUS__OK);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    Trailmap__HealthRequest hr = TRAILMAP__HEALTH_REQUEST__INIT;
    r = rpc("Health", "readtoken123", &hr.base, 18);
    CHECK(r && r->status == TRAILMAP__STATUS__OK);
    if (r) trailmap__rpc_response__free_unpacked(r, NULL);
    /* a token is compared over its whole length: "readtoken123\0junk" is unknown */
    r = rpc_n("Health", 6, "readtoken123\0junk", 17, &hr.base);
    CHECK(r && r->status == TRAILMAP__STATUS__UNAUTHENTICATED && strstr(r->error_message, "unknown token"));
    status_of(r);
    CHECK_INT(status_of(rpc_n("Health", 6, "readtoken123", 12, &hr.base)), TRAILMAP__STATUS__OK);
    /* the token is checked before the payload is looked at */
    static const uint8_t padded_noauth[] = {0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h', 0x22, 0x02, 0x7a, 0x00};
    CHECK_INT(status_of(raw(padded_noauth, sizeof(padded_noauth))), TRAILMAP__STATUS__UNAUTHENTICATED);

    tm_auth_free(srv.auth);
    tm_cache_free(srv.cache);
    tm_store_close(srv.store);
    tm_rules_unref(srv.rules);
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return tm_test_done();
}

/* test_api.c: bad input never stops the server and gets its status code:
 * malformed protobuf, unknown method, oversize message, invalid JSON
 * records, wrong tokens; good requests get their answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Trailmap__RpcResponse *raw(const uint8_t *bytes, size_t n) {
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (tm_api_handle(&srv, bytes, n, &out, &out_len) != 0) return NULL;
    Trailmap__RpcResponse *r = trailmap__rpc_response__unpack(NULL, out_len, out);
    free(out);
    return r;
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

    tm_auth_free(srv.auth);
    tm_cache_free(srv.cache);
    tm_store_close(srv.store);
    tm_rules_unref(srv.rules);
    char cmd[1100];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return tm_test_done();
}

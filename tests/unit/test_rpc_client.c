/* test_rpc_client.c: the RPC client and the server commands of `trailmap`
 * against a fake trailmapd: a rep0 socket on an ipc:// path, answered by a
 * thread with canned RpcResponses.
 *
 * The fake's GetSession answer is made from a real mapping of a corpus
 * session (FAKE_INPUT), so the test can require that `trailmap
 * signals` prints what `trailmap map` prints for the same events.  The
 * command-line part runs the built `trailmap` (TM_BUILD_DIR) and is skipped
 * when it is not there; the TLS part needs the openssl command. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "output.h"
#include "rpc_client.h"
#include "test.h"
#include "trailmap.pb-c.h"

/* ------------------------------------------------------------ fake server */

enum { M_NORMAL, M_STATUS, M_WRONG_ID, M_GARBAGE, M_BAD_PAYLOAD, M_SILENT };

#define FAKE_KEY "s-alice"
/* a corpus session with unmapped events, mapped as one session */
#define FAKE_INPUT "tests/corpus/sessions/078ddd9d58c4691c16b0af6b1bd3a0873a93dde865bac129a90836e3f631ca85/InputEvents.json"
#define EVENTS_PAGE_FAKE 7 /* small pages: the client must follow them */

typedef struct fake_event {
    char *id, *name, *raw, *signal;
    int64_t time_ms;
} fake_event;

static struct fake {
    nng_socket sock;
    pthread_t th;
    atomic_int mode;
    pthread_mutex_t mu;
    /* what the last request was */
    char method[64], token[64], session_key[128];
    uint64_t last_id;
    int requests;
    /* SubmitEvents */
    int submit_calls;
    size_t docs, records, max_request;
    /* the canned session */
    uint8_t *session_pb;
    size_t session_len;
    fake_event *ev;
    size_t nev;
} F;

static void fake_reply(nng_socket s, uint64_t id, int status, const char *msg, const ProtobufCMessage *payload) {
    Trailmap__RpcResponse r = TRAILMAP__RPC_RESPONSE__INIT;
    r.request_id = id;
    r.status = (Trailmap__Status)status;
    r.error_message = (char *)(msg ? msg : "");
    uint8_t *buf = NULL;
    if (payload) {
        r.payload.len = protobuf_c_message_get_packed_size(payload);
        buf = malloc(r.payload.len + 1);
        protobuf_c_message_pack(payload, buf);
        r.payload.data = buf;
    }
    size_t n = trailmap__rpc_response__get_packed_size(&r);
    uint8_t *out = malloc(n + 1);
    trailmap__rpc_response__pack(&r, out);
    nng_send(s, out, n, 0);
    free(out);
    free(buf);
}

static void fake_reply_bytes(nng_socket s, uint64_t id, int status, const uint8_t *p, size_t len) {
    Trailmap__RpcResponse r = TRAILMAP__RPC_RESPONSE__INIT;
    r.request_id = id;
    r.status = (Trailmap__Status)status;
    r.payload.data = (uint8_t *)p;
    r.payload.len = len;
    size_t n = trailmap__rpc_response__get_packed_size(&r);
    uint8_t *out = malloc(n + 1);
    trailmap__rpc_response__pack(&r, out);
    nng_send(s, out, n, 0);
    free(out);
}

static Trailmap__SessionInfo *session_info(const char *key, const char *arn, const char *user, int64_t first,
                                           uint64_t events) {
    Trailmap__SessionInfo *s = malloc(sizeof(*s));
    trailmap__session_info__init(s);
    s->key = (char *)key;
    s->principal_arn = (char *)arn;
    s->user_name = (char *)user;
    s->first_event_ms = first;
    s->last_event_ms = first + 3600000;
    s->events = events;
    s->signals = events / 3;
    s->mapped_share = 0.75;
    return s;
}

static void fake_list_sessions(nng_socket s, uint64_t id, const Trailmap__ListSessionsRequest *q) {
    Trailmap__ListSessionsResponse r = TRAILMAP__LIST_SESSIONS_RESPONSE__INIT;
    Trailmap__SessionInfo *v[2];
    if (!*q->page_token) {
        v[0] = session_info(FAKE_KEY, "arn:aws:iam::111122223333:user/alice", "alice", 1700000000000LL, 120);
        v[1] = session_info("s-bob", "arn:aws:sts::111122223333:assumed-role/Admin/bob", "bob", 1690000000000LL, 30);
        r.n_sessions = 2;
        r.next_page_token = "page2";
    } else {
        v[0] = session_info("s-carol", "arn:aws:iam::111122223333:root", "", 1680000000000LL, 5);
        r.n_sessions = 1;
        r.next_page_token = "";
    }
    r.sessions = v;
    fake_reply(s, id, 0, NULL, &r.base);
    for (size_t i = 0; i < r.n_sessions; i++) free(v[i]);
}

static void fake_get_events(nng_socket s, uint64_t id, const Trailmap__GetEventsRequest *q) {
    if (strcmp(q->key, FAKE_KEY) != 0) {
        char msg[256];
        snprintf(msg, sizeof(msg), "no session \"%s\"", q->key);
        fake_reply(s, id, TRAILMAP__STATUS__NOT_FOUND, msg, NULL);
        return;
    }
    size_t start = (size_t)atol(q->page_token), seen = 0;
    Trailmap__Event *evs = calloc(EVENTS_PAGE_FAKE, sizeof(*evs));
    Trailmap__Event *ptr[EVENTS_PAGE_FAKE];
    Trailmap__GetEventsResponse r = TRAILMAP__GET_EVENTS_RESPONSE__INIT;
    r.events = ptr;
    char next[32] = "";
    for (size_t i = 0; i < F.nev; i++) {
        const fake_event *e = &F.ev[i];
        int keep = q->which_case == TRAILMAP__GET_EVENTS_REQUEST__WHICH_UNMAPPED  ? !*e->signal
                   : q->which_case == TRAILMAP__GET_EVENTS_REQUEST__WHICH_SIGNAL ? !strcmp(e->signal, q->signal)
                                                                                 : 1;
        if (!keep) continue;
        if (seen++ < start) continue;
        if (r.n_events == EVENTS_PAGE_FAKE) {
            snprintf(next, sizeof(next), "%zu", start + EVENTS_PAGE_FAKE);
            break;
        }
        Trailmap__Event *x = &evs[r.n_events];
        trailmap__event__init(x);
        x->event_id = e->id;
        x->event_time_ms = e->time_ms;
        x->name = e->name;
        x->raw_json = e->raw;
        x->signal = e->signal;
        ptr[r.n_events++] = x;
    }
    r.next_page_token = next;
    r.rules_version = "fake";
    fake_reply(s, id, 0, NULL, &r.base);
    free(evs);
}

static void fake_submit(nng_socket s, uint64_t id, const Trailmap__SubmitEventsRequest *q, size_t request_len) {
    pthread_mutex_lock(&F.mu);
    F.submit_calls++;
    F.docs += q->n_documents;
    F.records += q->n_records;
    if (request_len > F.max_request) F.max_request = request_len;
    snprintf(F.session_key, sizeof(F.session_key), "%s", q->session_key);
    pthread_mutex_unlock(&F.mu);
    Trailmap__SubmitEventsResponse r = TRAILMAP__SUBMIT_EVENTS_RESPONSE__INIT;
    Trailmap__Rejection rej[4], *rp[4];
    size_t nrej = 0;
    uint64_t accepted = 0;
    for (size_t i = 0; i < q->n_records; i++) {
        if (strstr(q->records[i], "BADRECORD") && nrej < 4) {
            trailmap__rejection__init(&rej[nrej]);
            rej[nrej].source = "records";
            rej[nrej].index = i;
            rej[nrej].reason = "record 0: no eventTime";
            rp[nrej] = &rej[nrej];
            nrej++;
        } else {
            accepted++;
        }
    }
    for (size_t d = 0; d < q->n_documents; d++) {
        tm_eventvec ev = {0};
        tm_input_report rep = {0};
        tm_error err;
        if (tm_input_decode(q->documents[d]->name, q->documents[d]->content.data, q->documents[d]->content.len, &ev,
                            &rep, &err) == 0) {
            accepted += ev.n;
            for (size_t k = 0; k < rep.n && nrej < 4; k++) {
                trailmap__rejection__init(&rej[nrej]);
                rej[nrej].source = q->documents[d]->name;
                rej[nrej].index = rep.v[k].index;
                rej[nrej].reason = "no eventTime";
                rp[nrej] = &rej[nrej];
                nrej++;
            }
        }
        tm_eventvec_free(&ev);
        tm_input_report_free(&rep);
    }
    r.accepted = accepted;
    r.rejected = nrej;
    r.rejections = rp;
    r.n_rejections = nrej;
    char *sessions[1] = {(char *)(*q->session_key ? q->session_key : "s-derived")};
    r.sessions = sessions;
    r.n_sessions = 1;
    fake_reply(s, id, 0, NULL, &r.base);
}

static void *fake_main(void *arg) {
    nng_socket s = *(nng_socket *)arg;
    for (;;) {
        nng_msg *m;
        if (nng_recvmsg(s, &m, 0) != 0) break;
        size_t len = nng_msg_len(m);
        Trailmap__RpcRequest *q = trailmap__rpc_request__unpack(NULL, len, nng_msg_body(m));
        nng_msg_free(m);
        if (!q) continue;
        pthread_mutex_lock(&F.mu);
        snprintf(F.method, sizeof(F.method), "%s", q->method);
        snprintf(F.token, sizeof(F.token), "%s", q->auth_token);
        F.last_id = q->request_id;
        F.requests++;
        pthread_mutex_unlock(&F.mu);
        int mode = atomic_load(&F.mode);
        uint64_t id = q->request_id;
        const ProtobufCMethodDescriptor *md =
            protobuf_c_service_descriptor_get_method_by_name(&trailmap__trailmap__descriptor, q->method);
        ProtobufCMessage *in = md ? protobuf_c_message_unpack(md->input, NULL, q->payload.len, q->payload.data) : NULL;
        if (mode == M_SILENT) {
            /* no answer */
        } else if (!md || !in) {
            fake_reply(s, id, TRAILMAP__STATUS__UNIMPLEMENTED, "no such method", NULL);
        } else if (mode == M_STATUS) {
            fake_reply(s, id, TRAILMAP__STATUS__PERMISSION_DENIED, "the token's role may not call this", NULL);
        } else if (mode == M_WRONG_ID) {
            Trailmap__HealthResponse h = TRAILMAP__HEALTH_RESPONSE__INIT;
            fake_reply(s, id + 1, 0, NULL, &h.base);
        } else if (mode == M_GARBAGE) {
            uint8_t junk[] = {0xff, 0xff, 0xff, 0x07};
            nng_send(s, junk, sizeof(junk), 0);
        } else if (mode == M_BAD_PAYLOAD) {
            uint8_t junk[] = {0x0a, 0x50, 0x01};
            fake_reply_bytes(s, id, 0, junk, sizeof(junk));
        } else if (!strcmp(q->method, "Health")) {
            Trailmap__HealthResponse h = TRAILMAP__HEALTH_RESPONSE__INIT;
            h.serving = 1;
            h.version = "fake-1";
            h.rules_version = "r1";
            fake_reply(s, id, 0, NULL, &h.base);
        } else if (!strcmp(q->method, "ListSessions")) {
            fake_list_sessions(s, id, (Trailmap__ListSessionsRequest *)in);
        } else if (!strcmp(q->method, "GetSession")) {
            const Trailmap__GetSessionRequest *g = (Trailmap__GetSessionRequest *)in;
            if (F.session_pb && !strcmp(g->key, FAKE_KEY)) {
                fake_reply_bytes(s, id, 0, F.session_pb, F.session_len);
            } else {
                char msg[256];
                snprintf(msg, sizeof(msg), "no session \"%s\"", g->key);
                fake_reply(s, id, TRAILMAP__STATUS__NOT_FOUND, msg, NULL);
            }
        } else if (!strcmp(q->method, "GetEvents")) {
            fake_get_events(s, id, (Trailmap__GetEventsRequest *)in);
        } else if (!strcmp(q->method, "SubmitEvents")) {
            fake_submit(s, id, (Trailmap__SubmitEventsRequest *)in, len);
        } else {
            fake_reply(s, id, TRAILMAP__STATUS__UNIMPLEMENTED, "not in the fake", NULL);
        }
        if (in) protobuf_c_message_free_unpacked(in, NULL);
        trailmap__rpc_request__free_unpacked(q, NULL);
    }
    return NULL;
}

static nng_socket fake_sock;

static int fake_start(const char *url, nng_tls_config *tls) {
    if (nng_rep0_open(&fake_sock) != 0) return -1;
    nng_listener l;
    if (nng_listener_create(&l, fake_sock, url) != 0) return -1;
    nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, (size_t)64 << 20);
    if (tls && nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls) != 0) return -1;
    if (nng_listener_start(l, 0) != 0) return -1;
    return pthread_create(&F.th, NULL, fake_main, &fake_sock);
}

static void fake_stop(void) {
    nng_close(fake_sock);
    pthread_join(F.th, NULL);
}

/* The canned session: FAKE_INPUT mapped as `trailmap map` maps it. */
static int fake_load_session(const char *src, tm_cli_sessions *ms, tm_ruleset **rs) {
    char rules[4096], file[4096];
    snprintf(rules, sizeof(rules), "%s/rules", src);
    snprintf(file, sizeof(file), "%s/" FAKE_INPUT, src);
    if (!(*rs = tm_cli_load_rules(rules))) return -1;
    char *files[1] = {file};
    if (tm_cli_map_files(*rs, files, 1, NULL, NULL, ms) != 0 || ms->n != 1) return -1;
    const tm_sessview *v = &ms->out[0];
    const tm_mapping *m = ms->maps[0];

    Trailmap__GetSessionResponse r = TRAILMAP__GET_SESSION_RESPONSE__INIT;
    Trailmap__SessionInfo info = TRAILMAP__SESSION_INFO__INIT;
    info.key = FAKE_KEY;
    info.principal_arn = "arn:aws:iam::111122223333:user/alice";
    info.user_name = "alice";
    info.first_event_ms = v->first_ms;
    info.last_event_ms = v->last_ms;
    info.events = v->nevents;
    info.signals = v->nsigs;
    r.session = &info;
    r.rules_version = v->rules_version;
    r.unmapped_events = v->nunmapped;
    Trailmap__Signal *sg = calloc(v->nsigs + 1, sizeof(*sg));
    Trailmap__Signal **sp = calloc(v->nsigs + 1, sizeof(*sp));
    char **data = calloc(v->nsigs + 1, sizeof(*data));
    for (size_t i = 0; i < v->nsigs; i++) {
        const tm_sigview *s = &v->sigs[i];
        Trailmap__Signal *p = &sg[i];
        trailmap__signal__init(p);
        p->correlation_id = s->correlation_id;
        p->label = s->label;
        p->service = s->service;
        p->name = s->name;
        p->summary = s->summary;
        p->url = s->url;
        data[i] = json_dumps(s->data ? s->data : json_null(), JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        p->additional_data_json = data[i];
        p->event_time_ms = s->event_time_ms;
        p->first_event_ms = s->first_ms;
        p->last_event_ms = s->last_ms;
        p->event_count = (uint32_t)s->event_count;
        p->reference_event_count = (uint32_t)s->reference_event_count;
        p->event_ids = s->event_ids;
        p->n_event_ids = s->nevent_ids;
        p->event_names = s->event_names;
        p->n_event_names = s->nevent_names;
        p->suppressed = s->suppressed;
        p->anchor_event_id = s->anchor_event_id;
        sp[i] = p;
    }
    r.signals = sp;
    r.n_signals = v->nsigs;
    F.session_len = trailmap__get_session_response__get_packed_size(&r);
    F.session_pb = malloc(F.session_len + 1);
    trailmap__get_session_response__pack(&r, F.session_pb);
    for (size_t i = 0; i < v->nsigs; i++) free(data[i]);
    free(data);
    free(sg);
    free(sp);

    /* every event, with the signal that took it */
    F.nev = m->nevents;
    F.ev = calloc(m->nevents + 1, sizeof(*F.ev));
    for (size_t j = 0; j < m->nevents; j++) {
        const tm_event *e = m->events[j];
        fake_event *f = &F.ev[j];
        f->id = strdup(e->id);
        f->name = strdup(e->name_full);
        f->raw = strndup(e->raw, e->raw_len);
        f->time_ms = e->time_ms;
        f->signal = strdup("");
        for (size_t i = 0; i < v->nsigs; i++)
            for (size_t k = 0; k < v->sigs[i].nevent_ids; k++)
                if (!strcmp(v->sigs[i].event_ids[k], e->id)) {
                    free(f->signal);
                    f->signal = strdup(v->sigs[i].correlation_id);
                }
    }
    return 0;
}

/* ------------------------------------------------------------- helpers */

static char ipc_url[512], tmpdir[128];

static int call_health(tm_rpc *c, Trailmap__HealthResponse **out, tm_error *err) {
    Trailmap__HealthRequest h = TRAILMAP__HEALTH_REQUEST__INIT;
    return tm_rpc_call(c, "Health", &h.base, (ProtobufCMessage **)out, err);
}

static int open_client(const char *url, const char *token, const char *ca, int timeout_ms, tm_rpc **c,
                       tm_error *err) {
    tm_rpc_opts o = {url, token, ca, timeout_ms, 0};
    return tm_rpc_open(&o, c, err);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) fwrite(chunk, 1, n, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* Runs a shell command; returns its exit status (-1 when it did not exit). */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t count_lines(const char *s) {
    size_t n = 0;
    for (; s && *s; s++) n += *s == '\n';
    return n;
}

/* --------------------------------------------------------------- tests */

static void test_calls(void) {
    tm_error err;
    tm_rpc *c;
    Trailmap__HealthResponse *h;
    CHECK_INT(open_client(ipc_url, "tok-1", NULL, 2000, &c, &err), 0);
    if (!c) return;
    CHECK_INT(call_health(c, &h, &err), 0);
    if (h) {
        CHECK(h->serving);
        CHECK_STR(h->version, "fake-1");
        protobuf_c_message_free_unpacked(&h->base, NULL);
    }
    CHECK_STR(F.method, "Health");
    CHECK_STR(F.token, "tok-1");
    uint64_t first = F.last_id;
    CHECK_INT(call_health(c, &h, &err), 0);
    if (h) protobuf_c_message_free_unpacked(&h->base, NULL);
    CHECK(F.last_id != first);
    CHECK_INT(tm_rpc_status(c), 0);

    /* a status other than OK: the server's message, the status kept */
    Trailmap__GetSessionRequest g = TRAILMAP__GET_SESSION_REQUEST__INIT;
    g.key = "missing";
    ProtobufCMessage *resp = NULL;
    CHECK_INT(tm_rpc_call(c, "GetSession", &g.base, &resp, &err), TM_RPC_ESTATUS);
    CHECK(resp == NULL);
    CHECK_INT(tm_rpc_status(c), TRAILMAP__STATUS__NOT_FOUND);
    CHECK_STR(err.msg, "no session \"missing\"");
    CHECK_STR(tm_rpc_status_name(tm_rpc_status(c)), "NOT_FOUND");
    CHECK_STR(tm_rpc_status_name(16), "UNAUTHENTICATED");

    atomic_store(&F.mode, M_STATUS);
    CHECK_INT(call_health(c, &h, &err), TM_RPC_ESTATUS);
    CHECK_INT(tm_rpc_status(c), TRAILMAP__STATUS__PERMISSION_DENIED);
    CHECK_STR(err.msg, "the token's role may not call this");

    /* answers that do not fit the request */
    atomic_store(&F.mode, M_WRONG_ID);
    CHECK_INT(call_health(c, &h, &err), TM_RPC_EPROTO);
    CHECK(strstr(err.msg, "response to request") != NULL);
    atomic_store(&F.mode, M_GARBAGE);
    CHECK_INT(call_health(c, &h, &err), TM_RPC_EPROTO);
    CHECK(strstr(err.msg, "not an RpcResponse") != NULL);
    atomic_store(&F.mode, M_BAD_PAYLOAD);
    CHECK_INT(call_health(c, &h, &err), TM_RPC_EPROTO);
    CHECK(strstr(err.msg, "trailmap.HealthResponse") != NULL);
    atomic_store(&F.mode, M_NORMAL);

    /* the method and its input type come from the service descriptor */
    Trailmap__HealthRequest hq = TRAILMAP__HEALTH_REQUEST__INIT;
    CHECK_INT(tm_rpc_call(c, "Frobnicate", &hq.base, &resp, &err), TM_EINVAL);
    CHECK_INT(tm_rpc_call(c, "GetSession", &hq.base, &resp, &err), TM_EINVAL);
    CHECK(strstr(err.msg, "GetSessionRequest") != NULL);
    tm_rpc_close(c);

    /* no answer within the timeout: unreachable */
    CHECK_INT(open_client(ipc_url, NULL, NULL, 300, &c, &err), 0);
    if (c) {
        atomic_store(&F.mode, M_SILENT);
        double t0 = now_s();
        CHECK_INT(call_health(c, &h, &err), TM_RPC_EUNREACHABLE);
        double dt = now_s() - t0;
        CHECK(dt >= 0.25 && dt < 5);
        CHECK(strstr(err.msg, "no answer within 0.3 s") != NULL);
        atomic_store(&F.mode, M_NORMAL);
        tm_rpc_close(c);
    }
}

static void test_unreachable(void) {
    tm_error err;
    tm_rpc *c = NULL;
    char url[512];
    /* a port nobody listens on: refused at once */
    nng_socket tmp;
    nng_listener l;
    nng_sockaddr sa;
    nng_rep0_open(&tmp);
    nng_listen(tmp, "tcp://127.0.0.1:0", &l, 0);
    nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa);
    nng_close(tmp);
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
    double t0 = now_s();
    CHECK_INT(open_client(url, NULL, NULL, 60000, &c, &err), TM_RPC_EUNREACHABLE);
    CHECK(now_s() - t0 < 2);
    CHECK(c == NULL);
    char want[600];
    snprintf(want, sizeof(want), "cannot reach %s: connection refused", url);
    CHECK_STR(err.msg, want);

    snprintf(url, sizeof(url), "ipc://%s/nobody.sock", tmpdir);
    CHECK_INT(open_client(url, NULL, NULL, 60000, &c, &err), TM_RPC_EUNREACHABLE);
    CHECK(strncmp(err.msg, "cannot reach ipc://", 19) == 0);

    CHECK_INT(open_client("nonsense://x", NULL, NULL, 0, &c, &err), TM_RPC_EURL);
    CHECK(strstr(err.msg, "nonsense://x") != NULL);
    CHECK_INT(open_client("tls+tcp://127.0.0.1:1", NULL, "/nonexistent/ca.pem", 0, &c, &err), TM_RPC_EURL);
    CHECK(strstr(err.msg, "/nonexistent/ca.pem") != NULL);
    /* an IP address is only checked against a CA the user names */
    CHECK_INT(open_client("tls+tcp://127.0.0.1:1", NULL, NULL, 0, &c, &err), TM_RPC_EURL);
    CHECK(strstr(err.msg, "--ca") != NULL);
}

/* TLS: a self-signed certificate made with openssl, used as the CA. */
static void test_tls(void) {
    char cert[512], key[512], other[512], okey[512], both[512];
    snprintf(both, sizeof(both), "%s/both.pem", tmpdir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
    snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
    snprintf(other, sizeof(other), "%s/other.pem", tmpdir);
    snprintf(okey, sizeof(okey), "%s/okey.pem", tmpdir);
/* a literal, so that -Wformat=2 checks run()'s arguments against it */
#define GEN                                                                                                  \
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout %s -out %s "          \
    "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1"
    if (run(GEN, key, cert) != 0 || run(GEN, okey, other) != 0) {
        printf("test_tls: skipped (no openssl)\n");
        return;
    }
    nng_socket s;
    nng_listener l;
    nng_tls_config *cfg;
    nng_sockaddr sa;
    if (nng_rep0_open(&s) || nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER) ||
        run("cat %s %s >%s/both.pem", cert, key, tmpdir) != 0 || nng_tls_config_cert_key_file(cfg, both, NULL) || nng_listener_create(&l, s, "tls+tcp://127.0.0.1:0") ||
        nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg) || nng_listener_start(l, 0)) {
        CHECK(!"TLS listener");
        return;
    }
    nng_tls_config_free(cfg);
    nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa);
    pthread_t th;
    pthread_create(&th, NULL, fake_main, &s);
    char url[256];
    snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));

    tm_error err;
    tm_rpc *c = NULL;
    Trailmap__HealthResponse *h = NULL;
    CHECK_INT(open_client(url, NULL, cert, 2000, &c, &err), 0);
    if (c) {
        CHECK_INT(call_health(c, &h, &err), 0);
        if (h) CHECK_STR(h->version, "fake-1");
        if (h) protobuf_c_message_free_unpacked(&h->base, NULL);
        tm_rpc_close(c);
    } else {
        fprintf(stderr, "TLS: %s\n", err.msg);
    }
    snprintf(url, sizeof(url), "tls+tcp://localhost:%u", (unsigned)ntohs(sa.s_in.sa_port));
    c = NULL;
    if (open_client(url, NULL, cert, 2000, &c, &err) == 0) { /* localhost may resolve to ::1 first */
        CHECK_INT(call_health(c, &h, &err), 0);
        if (h) protobuf_c_message_free_unpacked(&h->base, NULL);
        tm_rpc_close(c);
    }
    /* a CA that did not sign the server's certificate */
    snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
    c = NULL;
    CHECK_INT(open_client(url, NULL, other, 2000, &c, &err), TM_RPC_EUNREACHABLE);
    CHECK(strstr(err.msg, "cannot reach tls+tcp://") != NULL);
    if (c) tm_rpc_close(c);
    nng_close(s);
    pthread_join(th, NULL);
}

/* ---------------------------------------------------- the command line */

static void test_cli(const char *build, const char *src) {
    char tm[1024], in[1024], small[1024], o1[512], o2[512], er[512];
    snprintf(tm, sizeof(tm), "%s/trailmap", build);
    if (access(tm, X_OK) != 0) {
        printf("test_cli: skipped (no %s)\n", tm);
        return;
    }
    snprintf(in, sizeof(in), "%s/" FAKE_INPUT, src);
    snprintf(small, sizeof(small), "%s/tests/data/three_users_1.json", src);
    snprintf(o1, sizeof(o1), "%s/out1", tmpdir);
    snprintf(o2, sizeof(o2), "%s/out2", tmpdir);
    snprintf(er, sizeof(er), "%s/err", tmpdir);
    setenv("TRAILMAP_SERVER", ipc_url, 1);
    unsetenv("TRAILMAP_TOKEN");
    char rules[1024];
    snprintf(rules, sizeof(rules), "%s/rules", src);

    /* signals: the same bytes as trailmap map, in every format it shares */
    CHECK_INT(run("%s map --rules %s --format cartographer %s >%s", tm, rules, in, o1), 0);
    CHECK_INT(run("%s signals %s --format cartographer >%s 2>%s", tm, FAKE_KEY, o2, er), 0);
    char *a = slurp(o1), *b = slurp(o2);
    CHECK(a && b && strlen(a) > 100 && strcmp(a, b) == 0);
    free(a);
    free(b);
    CHECK_INT(run("%s map --rules %s --format table --no-color --all %s >%s", tm, rules, in, o1), 0);
    CHECK_INT(run("%s signals %s --format table --no-color --all >%s", tm, FAKE_KEY, o2), 0);
    a = slurp(o1), b = slurp(o2);
    /* map names the session by its derived key; the fake calls it FAKE_KEY */
    if (a && b) {
        const char *ta = strchr(a, '('), *tb = strchr(b, '(');
        CHECK(ta && tb && strcmp(ta, tb) == 0);
        CHECK(strstr(b, "Unmapped:") != NULL || strstr(a, "Unmapped:") == NULL);
    }
    free(a);
    free(b);
    /* json: equal but for what the API does not carry (labels tried) */
    CHECK_INT(run("%s map --rules %s --format json %s >%s", tm, rules, in, o1), 0);
    CHECK_INT(run("%s signals %s --format json >%s", tm, FAKE_KEY, o2), 0);
    json_t *ja = json_load_file(o1, 0, NULL), *jb = json_load_file(o2, 0, NULL);
    CHECK(ja && jb);
    if (ja && jb) {
        json_t *sa = json_array_get(json_object_get(ja, "sessions"), 0);
        json_object_set_new(sa, "session", json_string(FAKE_KEY));
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(sa, "signals"), i, x) {
            json_object_set_new(x, "labelsTried", json_array());
            json_object_del(x, "sourceLabel");
        }
        json_array_foreach(json_object_get(sa, "unmappedEvents"), i, x) json_object_set_new(x, "labels", json_array());
        CHECK(json_equal(ja, jb));
        CHECK(json_array_size(json_object_get(sa, "unmappedEvents")) > 0);
    }
    json_decref(ja);
    json_decref(jb);

    /* events: all (over several pages), one signal's, the unmapped */
    CHECK_INT(run("%s events %s --format jsonl >%s", tm, FAKE_KEY, o1), 0);
    a = slurp(o1);
    CHECK_INT(count_lines(a), F.nev);
    size_t nsig = 0, nun = 0;
    const char *sig = NULL;
    for (size_t j = 0; j < F.nev; j++) {
        if (*F.ev[j].signal) {
            if (!sig) sig = F.ev[j].signal;
            nsig += !strcmp(F.ev[j].signal, sig);
        } else {
            nun++;
        }
    }
    if (a) {
        /* each line: the raw record plus "trailmap":{"session":..,"signal":..} */
        char *line = a, *nl = strchr(a, '\n');
        *nl = 0;
        json_t *l0 = json_loads(line, 0, NULL);
        CHECK(l0 != NULL);
        json_t *t = json_object_get(l0, "trailmap");
        CHECK_STR(json_string_value(json_object_get(t, "session")), FAKE_KEY);
        CHECK(json_object_get(t, "signal") != NULL);
        CHECK_STR(json_string_value(json_object_get(l0, "eventID")), F.ev[0].id);
        CHECK(strncmp(line, F.ev[0].raw, strlen(F.ev[0].raw) - 1) == 0 || strchr(F.ev[0].raw, '\n'));
        json_decref(l0);
    }
    free(a);
    if (sig) {
        CHECK_INT(run("%s events %s --signal %s --format jsonl >%s", tm, FAKE_KEY, sig, o1), 0);
        a = slurp(o1);
        CHECK_INT(count_lines(a), nsig);
        char want[256];
        snprintf(want, sizeof(want), "\"trailmap\":{\"session\":\"%s\",\"signal\":\"%s\"}}\n", FAKE_KEY, sig);
        CHECK(a && strstr(a, want) != NULL);
        free(a);
    }
    CHECK_INT(run("%s events %s --unmapped --format jsonl >%s", tm, FAKE_KEY, o1), 0);
    a = slurp(o1);
    CHECK_INT(count_lines(a), nun);
    CHECK(nun == 0 || (a && strstr(a, "\"signal\":null}}") != NULL));
    free(a);
    CHECK_INT(run("%s events %s --format table >%s", tm, FAKE_KEY, o1), 0);
    a = slurp(o1);
    CHECK_INT(count_lines(a), F.nev + 1);
    CHECK(a && strncmp(a, "TIME", 4) == 0 && strstr(a, F.ev[0].id) != NULL);
    free(a);

    /* sessions: both pages */
    CHECK_INT(run("%s sessions >%s", tm, o1), 0);
    a = slurp(o1);
    CHECK_INT(count_lines(a), 4);
    CHECK(a && strstr(a, "s-carol") && strstr(a, "assumed-role/Admin/bob") && strstr(a, "75.0%"));
    free(a);
    CHECK_INT(run("%s sessions --format json >%s", tm, o1), 0);
    ja = json_load_file(o1, 0, NULL);
    json_t *ss = json_object_get(ja, "sessions");
    CHECK_INT(json_array_size(ss), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(ss, 0), "userName")), "alice");
    CHECK_STR(json_string_value(json_object_get(json_array_get(ss, 2), "key")), "s-carol");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(ss, 0), "events")), 120);
    json_decref(ja);

    /* submit: small files go whole, as documents, in one request */
    F.submit_calls = 0, F.docs = F.records = F.max_request = 0;
    CHECK_INT(run("%s submit --token T0 --session forced %s %s/tests/data/three_users.json.gz >%s 2>%s", tm, small, src,
                  o1, er),
              0);
    CHECK_INT(F.submit_calls, 1);
    CHECK_INT(F.docs, 2);
    CHECK_INT(F.records, 0);
    CHECK_STR(F.session_key, "forced");
    CHECK_STR(F.token, "T0");
    a = slurp(o1);
    CHECK(a && strncmp(a, "accepted ", 9) == 0 && strstr(a, ", duplicates 0, rejected 0\n") && strstr(a, "session forced\n"));
    free(a);

    /* a file over 8 MiB: decoded here, sent as records in chunks; local
     * rejections are reported with the file's positions */
    char big[512];
    snprintf(big, sizeof(big), "%s/big.json", tmpdir);
    {
        json_t *recs = json_load_file(small, 0, NULL);
        json_t *arr = json_object_get(recs, "Records");
        if (!arr) arr = recs;
        FILE *f = fopen(big, "w");
        fputs("{\"Records\": [\n", f);
        size_t total = 0, i;
        json_t *r;
        for (int rep = 0; rep < 60; rep++)
            json_array_foreach(arr, i, r) {
                char *t = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
                fprintf(f, "%s%s", total ? ",\n" : "", t);
                free(t);
                total++;
            }
        fputs(",\n{\"eventSource\": \"s3.amazonaws.com\", \"eventName\": \"GetObject\"}\n]}\n", f);
        fclose(f);
        json_decref(recs);
        F.submit_calls = 0, F.docs = F.records = F.max_request = 0;
        CHECK_INT(run("%s submit %s >%s 2>%s", tm, big, o1, er), 0);
        CHECK_INT(F.records, total);
        CHECK_INT(F.docs, 0);
        CHECK(F.submit_calls >= 2);
        CHECK(F.max_request <= ((size_t)8 << 20) + 4096);
        a = slurp(o1);
        char want[1024];
        snprintf(want, sizeof(want), "accepted %zu, duplicates 0, rejected 1\n", total);
        CHECK(a && strncmp(a, want, strlen(want)) == 0);
        snprintf(want, sizeof(want), "rejected %s: record %zu: ", big, total);
        CHECK(a && strstr(a, want) && strstr(a, "eventTime"));
        CHECK(a && strstr(a, "session s-derived\n"));
        free(a);
    }
    /* standard input, JSON lines, a record the server rejects */
    CHECK_INT(run("(echo '{\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventSource\":\"s3.amazonaws.com\","
                  "\"eventName\":\"ListBuckets\",\"eventID\":\"e1\"}') | %s submit - >%s 2>%s",
                  tm, o1, er),
              0);
    a = slurp(o1);
    CHECK(a && strncmp(a, "accepted 1, duplicates 0, rejected 0\n", 37) == 0);
    free(a);

    /* exit statuses */
    CHECK_INT(run("%s signals nope >/dev/null 2>%s", tm, er), 1);
    a = slurp(er);
    CHECK_STR(a, "trailmap: no session \"nope\" (NOT_FOUND)\n");
    free(a);
    CHECK_INT(run("%s events nope >/dev/null 2>%s", tm, er), 1);
    atomic_store(&F.mode, M_STATUS);
    CHECK_INT(run("%s sessions >/dev/null 2>%s", tm, er), 1);
    a = slurp(er);
    CHECK(a && strstr(a, "may not call this (PERMISSION_DENIED)"));
    free(a);
    CHECK_INT(run("%s submit %s >%s 2>%s", tm, in, o1, er), 1);
    atomic_store(&F.mode, M_NORMAL);
    CHECK_INT(run("%s sessions --server ipc://%s/none.sock >/dev/null 2>%s", tm, tmpdir, er), 3);
    a = slurp(er);
    CHECK(a && strstr(a, "trailmap: cannot reach ipc://"));
    free(a);
    CHECK_INT(run("%s submit --server ipc://%s/none.sock %s >/dev/null 2>&1", tm, tmpdir, in), 3);
    CHECK_INT(run("%s sessions --format xml >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s signals >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s events a b >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s submit >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s sessions --timeout x >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s sessions --server bogus://x >/dev/null 2>&1", tm), 2);
    CHECK_INT(run("%s submit %s/does-not-exist.json >/dev/null 2>&1", tm, tmpdir), 1);
    CHECK_INT(run("%s submit --help >%s", tm, o1), 0);
    a = slurp(o1);
    CHECK(a && strstr(a, "--server URL") && strstr(a, "Exit status"));
    free(a);
    CHECK_INT(run("%s sessions --help >/dev/null && %s signals --help >/dev/null && %s events --help >/dev/null", tm,
                  tm, tm),
              0);
    CHECK_INT(run("%s --help | grep -q submit", tm), 0);
    atomic_store(&F.mode, M_SILENT);
    CHECK_INT(run("%s sessions --timeout 0.3 >/dev/null 2>%s", tm, er), 3);
    atomic_store(&F.mode, M_NORMAL);
    a = slurp(er);
    CHECK(a && strstr(a, "no answer within 0.3 s"));
    free(a);
}

int main(void) {
    const char *src = getenv("TM_SOURCE_DIR"), *build = getenv("TM_BUILD_DIR");
    if (!src) src = ".";
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/tm_rpc_test.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(ipc_url, sizeof(ipc_url), "ipc://%s/fake.sock", tmpdir);
    pthread_mutex_init(&F.mu, NULL);

    tm_cli_sessions ms;
    tm_ruleset *rs = NULL;
    int have_session = fake_load_session(src, &ms, &rs) == 0;
    CHECK(have_session);
    if (fake_start(ipc_url, NULL) != 0) {
        fprintf(stderr, "cannot start the fake server on %s\n", ipc_url);
        return 1;
    }
    test_calls();
    test_unreachable();
    test_tls();
    if (have_session && build) test_cli(build, src);
    else printf("test_cli: skipped (TM_BUILD_DIR not set)\n");
    fake_stop();

    tm_cli_sessions_free(&ms);
    tm_rules_unref(rs);
    for (size_t j = 0; j < F.nev; j++) {
        free(F.ev[j].id);
        free(F.ev[j].name);
        free(F.ev[j].raw);
        free(F.ev[j].signal);
    }
    free(F.ev);
    free(F.session_pb);
    run("rm -rf %s", tmpdir);
    return tm_test_done();
}

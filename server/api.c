/* api.c: framing, authorization and the handlers of service Trailmap. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "input.h"
#include "label.h"
#include "log.h"
#include "mapper.h"
#include "trailmap.pb-c.h"

/* One call in progress: what the handler answered. */
typedef struct call {
    tm_server *srv;
    int status;
    char *message;
    uint8_t *payload;
    size_t payload_len;
} call;

int64_t tm_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

tm_ruleset *tm_server_rules(tm_server *s) {
    pthread_mutex_lock(&s->rules_mu);
    tm_ruleset *rs = tm_rules_ref(s->rules);
    pthread_mutex_unlock(&s->rules_mu);
    return rs;
}

static void fail(call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(call *c, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    free(c->message);
    if (vasprintf(&c->message, fmt, ap) < 0) c->message = NULL;
    va_end(ap);
    c->status = status;
}

/* The closure every handler answers through: packs the response. */
static void answer(const ProtobufCMessage *msg, void *data) {
    call *c = data;
    if (!msg) {
        if (c->status == TRAILMAP__STATUS__OK) fail(c, TRAILMAP__STATUS__INTERNAL, "the handler gave no answer");
        return;
    }
    size_t n = protobuf_c_message_get_packed_size(msg);
    c->payload = malloc(n ? n : 1);
    if (!c->payload) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory packing the answer");
        return;
    }
    c->payload_len = protobuf_c_message_pack(msg, c->payload);
}

/* ---- SubmitEvents ---- */

typedef struct rejections {
    Trailmap__Rejection *v;
    Trailmap__Rejection **p;
    char **owned;
    size_t n, cap;
} rejections;

static int reject(rejections *r, const char *source, size_t index, const char *reason) {
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        Trailmap__Rejection *nv = realloc(r->v, ncap * sizeof(*nv));
        if (!nv) return -1;
        r->v = nv;
        char **no = realloc(r->owned, ncap * 2 * sizeof(*no));
        if (!no) return -1;
        r->owned = no;
        r->cap = ncap;
    }
    Trailmap__Rejection *x = &r->v[r->n];
    trailmap__rejection__init(x);
    char *s = strdup(source), *why = strdup(reason);
    r->owned[2 * r->n] = s;
    r->owned[2 * r->n + 1] = why;
    x->source = s ? s : (char *)"";
    x->index = index;
    x->reason = why ? why : (char *)"";
    r->n++;
    return 0;
}

static void rejections_free(rejections *r) {
    for (size_t i = 0; i < 2 * r->n; i++) free(r->owned[i]);
    free(r->owned);
    free(r->v);
    free(r->p);
}

static void api_submit_events(Trailmap__Trailmap_Service *svc, const Trailmap__SubmitEventsRequest *in,
                              Trailmap__SubmitEventsResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    if (in->n_records == 0 && in->n_documents == 0) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "SubmitEvents needs records or documents");
        done(NULL, data);
        return;
    }
    tm_eventvec vec = {0};
    rejections rej = {0};
    tm_error err;
    int oom = 0;
    for (size_t i = 0; i < in->n_records && !oom; i++) {
        tm_event *e = NULL;
        if (tm_event_from_text(in->records[i], strlen(in->records[i]), &e, &err) != 0) {
            if (err.code == TM_ENOMEM) oom = 1;
            else if (reject(&rej, "records", i, err.msg)) oom = 1;
        } else if (tm_eventvec_push(&vec, e)) {
            tm_event_free(e);
            oom = 1;
        }
    }
    for (size_t d = 0; d < in->n_documents && !oom; d++) {
        const Trailmap__Document *doc = in->documents[d];
        const char *name = doc->name && *doc->name ? doc->name : "document";
        tm_input_report rep = {0};
        if (tm_input_decode(name, doc->content.data, doc->content.len, &vec, &rep, &err) != 0) {
            if (err.code == TM_ENOMEM || reject(&rej, name, 0, err.msg)) oom = 1;
        }
        for (size_t k = 0; k < rep.n && !oom; k++)
            if (reject(&rej, name, rep.v[k].index, rep.v[k].reason)) oom = 1;
        tm_input_report_free(&rep);
    }
    if (oom) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory reading the batch");
        goto out;
    }
    size_t dup_in_batch = tm_eventvec_sort_dedupe(&vec);
    tm_store_result res = {0};
    if (vec.n > 0) {
        if (tm_store_add(c->srv->store, &vec, in->session_key && *in->session_key ? in->session_key : NULL, &res,
                         &err) != 0) {
            tm_log_error("api", "SubmitEvents: %s", err.msg);
            fail(c, TRAILMAP__STATUS__UNAVAILABLE, "could not store the batch: %s", err.msg);
            goto out;
        }
    }
    Trailmap__SubmitEventsResponse r = TRAILMAP__SUBMIT_EVENTS_RESPONSE__INIT;
    r.accepted = res.accepted;
    r.duplicates = res.duplicates + dup_in_batch;
    r.rejected = rej.n;
    r.n_rejections = rej.n;
    rej.p = calloc(rej.n + 1, sizeof(*rej.p));
    if (!rej.p) {
        tm_store_result_free(&res);
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < rej.n; i++) rej.p[i] = &rej.v[i];
    r.rejections = rej.p;
    r.n_sessions = res.nsessions;
    r.sessions = res.sessions;
    done(&r, data);
    tm_store_result_free(&res);
out:
    rejections_free(&rej);
    tm_eventvec_free(&vec);
}

/* ---- sessions ---- */

static void fill_info(Trailmap__SessionInfo *info, const tm_session_row *row, const tm_ruleset *rs) {
    trailmap__session_info__init(info);
    info->key = row->key;
    info->principal_arn = row->principal_arn ? row->principal_arn : (char *)"";
    info->user_name = row->user_name ? row->user_name : (char *)"";
    info->n_source_ips = row->nsource_ips;
    info->source_ips = row->source_ips;
    info->user_agent_family = (char *)tm_label_ua_family(rs, row->user_agent && *row->user_agent ? row->user_agent : NULL);
    info->first_event_ms = row->first_ms;
    info->last_event_ms = row->last_ms;
    info->events = row->events;
    info->signals = row->signals;
    info->mapped_share = row->mapped_share;
}

static size_t page_offset(const char *token) {
    if (!token || !*token) return 0;
    char *end;
    unsigned long long v = strtoull(token, &end, 10);
    return *end ? (size_t)-1 : (size_t)v;
}

static void api_list_sessions(Trailmap__Trailmap_Service *svc, const Trailmap__ListSessionsRequest *in,
                              Trailmap__ListSessionsResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    size_t limit = in->page_size ? in->page_size : 100, offset = page_offset(in->page_token);
    if (limit > 1000) limit = 1000;
    if (offset == (size_t)-1) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "bad page_token \"%s\"", in->page_token);
        done(NULL, data);
        return;
    }
    tm_session_row *rows = NULL;
    size_t n = 0;
    int more = 0;
    tm_error err;
    if (tm_store_list_sessions(c->srv->store, in->principal && *in->principal ? in->principal : NULL, in->from_ms,
                               in->to_ms, offset, limit, &rows, &n, &more, &err) != 0) {
        fail(c, TRAILMAP__STATUS__INTERNAL, "%s", err.msg);
        done(NULL, data);
        return;
    }
    tm_ruleset *rs = tm_server_rules(c->srv);
    Trailmap__SessionInfo *infos = calloc(n + 1, sizeof(*infos));
    Trailmap__SessionInfo **ptrs = calloc(n + 1, sizeof(*ptrs));
    char next[32] = "";
    if (!infos || !ptrs) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        done(NULL, data);
    } else {
        for (size_t i = 0; i < n; i++) {
            fill_info(&infos[i], &rows[i], rs);
            ptrs[i] = &infos[i];
        }
        if (more) snprintf(next, sizeof(next), "%zu", offset + n);
        Trailmap__ListSessionsResponse r = TRAILMAP__LIST_SESSIONS_RESPONSE__INIT;
        r.n_sessions = n;
        r.sessions = ptrs;
        r.next_page_token = next;
        done(&r, data);
    }
    free(infos);
    free(ptrs);
    tm_rules_unref(rs);
    tm_session_rows_free(rows, n);
}

/* The mapped session at its current version: from the cache, or mapped now. */
static tm_mapped *mapped_session(call *c, const char *key, tm_session_row *row) {
    tm_error err;
    if (!key || !*key) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "a session key is required");
        return NULL;
    }
    int rc = tm_store_get_session(c->srv->store, key, row, &err);
    if (rc == TM_ENOTFOUND) {
        fail(c, TRAILMAP__STATUS__NOT_FOUND, "no session \"%s\"", key);
        return NULL;
    }
    if (rc) {
        fail(c, TRAILMAP__STATUS__INTERNAL, "%s", err.msg);
        return NULL;
    }
    tm_ruleset *rs = tm_server_rules(c->srv);
    tm_mapped *m = tm_cache_get(c->srv->cache, key, row->version, rs);
    if (m) {
        tm_rules_unref(rs);
        return m;
    }
    m = calloc(1, sizeof(*m));
    if (!m || !(m->key = strdup(key))) {
        free(m);
        tm_rules_unref(rs);
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    m->refs = 1;
    m->rs = rs;
    if (tm_store_load_events(c->srv->store, key, &m->events, &m->version, &err) != 0) {
        fail(c, err.code == TM_ENOTFOUND ? TRAILMAP__STATUS__NOT_FOUND : TRAILMAP__STATUS__INTERNAL, "%s", err.msg);
        tm_mapped_unref(m);
        return NULL;
    }
    if (tm_map(rs, m->events.v, m->events.n, &m->m, &err) != 0 || tm_view_from_mapping(m->m, key, &m->view) != 0) {
        fail(c, TRAILMAP__STATUS__INTERNAL, "mapping session \"%s\" failed: %s", key, err.msg);
        tm_mapped_unref(m);
        return NULL;
    }
    tm_store_set_mapped(c->srv->store, key, m->version, m->view.nsigs,
                        m->view.nevents ? (double)m->view.nmapped / (double)m->view.nevents : 1.0, &err);
    row->signals = m->view.nsigs;
    row->mapped_share = m->view.nevents ? (double)m->view.nmapped / (double)m->view.nevents : 1.0;
    tm_cache_put(c->srv->cache, m);
    return m;
}

static void api_get_session(Trailmap__Trailmap_Service *svc, const Trailmap__GetSessionRequest *in,
                            Trailmap__GetSessionResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    tm_session_row row = {0};
    tm_mapped *m = mapped_session(c, in->key, &row);
    if (!m) {
        tm_session_row_clear(&row);
        done(NULL, data);
        return;
    }
    const tm_sessview *v = &m->view;
    Trailmap__Signal *sigs = calloc(v->nsigs + 1, sizeof(*sigs));
    Trailmap__Signal **ptrs = calloc(v->nsigs + 1, sizeof(*ptrs));
    char **datas = calloc(v->nsigs + 1, sizeof(*datas));
    if (!sigs || !ptrs || !datas) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        done(NULL, data);
        goto out;
    }
    for (size_t i = 0; i < v->nsigs; i++) {
        const tm_sigview *s = &v->sigs[i];
        Trailmap__Signal *p = &sigs[i];
        trailmap__signal__init(p);
        p->correlation_id = s->correlation_id;
        p->label = s->label;
        p->service = s->service;
        p->name = s->name;
        p->summary = s->summary;
        p->url = s->url;
        datas[i] = s->data ? json_dumps(s->data, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        p->additional_data_json = datas[i] ? datas[i] : (char *)"null";
        p->event_time_ms = s->event_time_ms;
        p->first_event_ms = s->first_ms;
        p->last_event_ms = s->last_ms;
        p->event_count = (uint32_t)s->event_count;
        p->reference_event_count = (uint32_t)s->reference_event_count;
        p->n_event_ids = s->nevent_ids;
        p->event_ids = s->event_ids;
        p->n_event_names = s->nevent_names;
        p->event_names = s->event_names;
        p->suppressed = s->suppressed;
        p->anchor_event_id = s->anchor_event_id;
        p->n_labels_tried = s->nlabels_tried;
        p->labels_tried = s->labels_tried;
        p->source_label = s->source_label ? s->source_label : (char *)"";
        ptrs[i] = p;
    }
    Trailmap__SessionInfo info;
    fill_info(&info, &row, m->rs);
    Trailmap__GetSessionResponse r = TRAILMAP__GET_SESSION_RESPONSE__INIT;
    r.session = &info;
    r.n_signals = v->nsigs;
    r.signals = ptrs;
    r.rules_version = m->rs->version;
    r.unmapped_events = v->nunmapped;
    done(&r, data);
out:
    for (size_t i = 0; datas && i < v->nsigs; i++) free(datas[i]);
    free(datas);
    free(sigs);
    free(ptrs);
    tm_mapped_unref(m);
    tm_session_row_clear(&row);
}

static void api_get_events(Trailmap__Trailmap_Service *svc, const Trailmap__GetEventsRequest *in,
                           Trailmap__GetEventsResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    size_t limit = in->page_size ? in->page_size : 500, offset = page_offset(in->page_token);
    if (limit > 5000) limit = 5000;
    if (offset == (size_t)-1) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "bad page_token \"%s\"", in->page_token);
        done(NULL, data);
        return;
    }
    tm_session_row row = {0};
    tm_mapped *m = mapped_session(c, in->key, &row);
    tm_session_row_clear(&row);
    if (!m) {
        done(NULL, data);
        return;
    }
    const tm_mapping *mp = m->m;
    int want_sig = -2; /* -2 all, -1 unmapped, >= 0 one signal */
    if (in->which_case == TRAILMAP__GET_EVENTS_REQUEST__WHICH_UNMAPPED && in->unmapped) want_sig = -1;
    if (in->which_case == TRAILMAP__GET_EVENTS_REQUEST__WHICH_SIGNAL) {
        for (size_t i = 0; i < mp->nsignals && want_sig < 0; i++)
            if (mp->signals[i].merged_into < 0 && strcmp(mp->events[mp->signals[i].first]->id, in->signal) == 0)
                want_sig = (int)i;
        if (want_sig < 0) {
            fail(c, TRAILMAP__STATUS__NOT_FOUND, "session \"%s\" has no signal \"%s\"", in->key, in->signal);
            done(NULL, data);
            tm_mapped_unref(m);
            return;
        }
    }
    Trailmap__Event *evs = calloc(limit + 1, sizeof(*evs));
    Trailmap__Event **ptrs = calloc(limit + 1, sizeof(*ptrs));
    char **raws = calloc(limit + 1, sizeof(*raws));
    char ***labels = calloc(limit + 1, sizeof(*labels));
    size_t n = 0, seen = 0;
    int more = 0;
    if (!evs || !ptrs || !raws || !labels) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        done(NULL, data);
        goto out;
    }
    for (size_t j = 0; j < mp->nevents; j++) {
        int s = mp->signal_of[j];
        if (want_sig == -1 && s >= 0) continue;
        if (want_sig >= 0 && s != want_sig) continue;
        if (seen++ < offset) continue;
        if (n == limit) {
            more = 1;
            break;
        }
        const tm_event *e = mp->events[j];
        Trailmap__Event *p = &evs[n];
        trailmap__event__init(p);
        p->event_id = (char *)e->id;
        p->event_time_ms = e->time_ms;
        p->name = e->name_full;
        raws[n] = strndup(e->raw, e->raw_len);
        p->raw_json = raws[n] ? raws[n] : (char *)"";
        p->signal = s >= 0 ? (char *)mp->events[mp->signals[s].first]->id : (char *)"";
        labels[n] = calloc(mp->labels[j].n + 1, sizeof(**labels));
        if (labels[n]) {
            for (size_t k = 0; k < mp->labels[j].n; k++) labels[n][k] = mp->rs->labels[mp->labels[j].v[k]].name;
            p->n_labels = mp->labels[j].n;
            p->labels = labels[n];
        }
        ptrs[n] = p;
        n++;
    }
    char next[32] = "";
    if (more) snprintf(next, sizeof(next), "%zu", offset + n);
    Trailmap__GetEventsResponse r = TRAILMAP__GET_EVENTS_RESPONSE__INIT;
    r.n_events = n;
    r.events = ptrs;
    r.next_page_token = next;
    r.rules_version = m->rs->version;
    done(&r, data);
out:
    for (size_t i = 0; raws && i < n; i++) free(raws[i]);
    for (size_t i = 0; labels && i < n; i++) free(labels[i]);
    free(raws);
    free(labels);
    free(evs);
    free(ptrs);
    tm_mapped_unref(m);
}

/* ---- stats and health ---- */

static void api_get_stats(Trailmap__Trailmap_Service *svc, const Trailmap__GetStatsRequest *in,
                          Trailmap__GetStatsResponse_Closure done, void *data) {
    (void)svc;
    (void)in;
    call *c = data;
    tm_server *s = c->srv;
    Trailmap__GetStatsResponse r = TRAILMAP__GET_STATS_RESPONSE__INIT;
    tm_error err;
    uint64_t sessions = 0, events = 0;
    if (tm_store_counts(s->store, &sessions, &events, &err) != 0) {
        fail(c, TRAILMAP__STATUS__INTERNAL, "%s", err.msg);
        done(NULL, data);
        return;
    }
    pthread_mutex_lock(&s->rules_mu);
    tm_ruleset *rs = tm_rules_ref(s->rules);
    r.rules_loaded_ms = s->rules_loaded_ms;
    r.reloads = s->reloads;
    r.reloads_refused = s->reloads_refused;
    pthread_mutex_unlock(&s->rules_mu);
    const ProtobufCServiceDescriptor *d = &trailmap__trailmap__descriptor;
    Trailmap__MethodCount mc[TM_MAX_METHODS], *mp[TM_MAX_METHODS];
    size_t n = 0;
    for (unsigned i = 0; i < d->n_methods && i < TM_MAX_METHODS; i++) {
        trailmap__method_count__init(&mc[n]);
        mc[n].method = (char *)d->methods[i].name;
        mc[n].count = __atomic_load_n(&s->requests[i], __ATOMIC_RELAXED);
        mp[n] = &mc[n];
        n++;
    }
    r.sessions = sessions;
    r.events = events;
    r.rules_version = rs->version;
    r.n_requests = n;
    r.requests = mp;
    r.uptime_ms = tm_now_ms() - s->started_ms;
    r.labels = rs->nlabels;
    done(&r, data);
    tm_rules_unref(rs);
}

static void api_health(Trailmap__Trailmap_Service *svc, const Trailmap__HealthRequest *in,
                       Trailmap__HealthResponse_Closure done, void *data) {
    (void)svc;
    (void)in;
    call *c = data;
    tm_ruleset *rs = tm_server_rules(c->srv);
    Trailmap__HealthResponse r = TRAILMAP__HEALTH_RESPONSE__INIT;
    r.serving = 1;
    r.version = (char *)TM_VERSION;
    r.rules_version = rs->version;
    done(&r, data);
    tm_rules_unref(rs);
}

static Trailmap__Trailmap_Service service = TRAILMAP__TRAILMAP__INIT(api_);

/* ---- framing and authorization ---- */

/* The role a method needs: changing data needs submit, everything else read. */
static int role_needed(const char *method) {
    if (strncmp(method, "Submit", 6) == 0) return TM_ROLE_SUBMIT;
    return TM_ROLE_READ;
}

static int frame(uint64_t id, call *c, uint8_t **out, size_t *out_len) {
    Trailmap__RpcResponse r = TRAILMAP__RPC_RESPONSE__INIT;
    r.request_id = id;
    r.status = c->status;
    r.error_message = c->message ? c->message : (char *)"";
    if (c->status == TRAILMAP__STATUS__OK && c->payload) {
        r.payload.data = c->payload;
        r.payload.len = c->payload_len;
    }
    size_t n = trailmap__rpc_response__get_packed_size(&r);
    *out = malloc(n ? n : 1);
    if (!*out) return -1;
    *out_len = trailmap__rpc_response__pack(&r, *out);
    return 0;
}

int tm_api_handle(tm_server *s, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len) {
    call c = {s, TRAILMAP__STATUS__OK, NULL, NULL, 0};
    uint64_t id = 0;
    Trailmap__RpcRequest *rq = NULL;
    if (len > s->max_message_bytes) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "message of %zu bytes is larger than the server accepts (%zu)",
             len, s->max_message_bytes);
        goto reply;
    }
    rq = trailmap__rpc_request__unpack(NULL, len, req);
    if (!rq) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__INVALID_ARGUMENT, "malformed request: not an RpcRequest message");
        goto reply;
    }
    id = rq->request_id;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(&trailmap__trailmap__descriptor, rq->method);
    if (!md) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__UNIMPLEMENTED, "unknown method \"%s\"", rq->method);
        goto reply;
    }
    unsigned idx = (unsigned)(md - trailmap__trailmap__descriptor.methods);
    if (idx < TM_MAX_METHODS) __atomic_add_fetch(&s->requests[idx], 1, __ATOMIC_RELAXED);
    if (s->auth) {
        int role = tm_auth_role(s->auth, rq->auth_token);
        if (role == TM_ROLE_NONE) {
            fail(&c, TRAILMAP__STATUS__UNAUTHENTICATED, "%s", rq->auth_token && *rq->auth_token ? "unknown token" : "a token is required");
            goto reply;
        }
        if (role < role_needed(md->name)) {
            fail(&c, TRAILMAP__STATUS__PERMISSION_DENIED, "%s needs the %s role; this token has %s", md->name,
                 tm_auth_role_name(role_needed(md->name)), tm_auth_role_name(role));
            goto reply;
        }
    }
    ProtobufCMessage *input = protobuf_c_message_unpack(md->input, NULL, rq->payload.len, rq->payload.data);
    if (!input) {
        fail(&c, TRAILMAP__STATUS__INVALID_ARGUMENT, "malformed payload: not a %s message", md->input->name);
        goto reply;
    }
    service.base.invoke(&service.base, idx, input, answer, &c);
    protobuf_c_message_free_unpacked(input, NULL);
reply:
    if (rq) trailmap__rpc_request__free_unpacked(rq, NULL);
    int rc = frame(id, &c, out, out_len);
    free(c.message);
    free(c.payload);
    return rc;
}

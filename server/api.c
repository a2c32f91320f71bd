/* api.c: framing, authorization and the handlers of service Trailmap. */
#include "api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "input.h"
#include "label.h"
#include "log.h"
#include "mapper.h"
#include "reload.h"
#include "rulesInt.h"
#include "trailmap.pb-c.h"
#include "wire.h"

/* A limit of the server, or its default when the field was left 0. */
static size_t limit_of(size_t v, size_t def) {
    return v ? v : def;
}

/* One call in progress: what the handler answered. */
typedef struct call {
    tm_server *srv;
    int status;
    char *message;
    uint8_t *payload;
    size_t payload_len;
} call;

static void fail(call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(call *c, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    free(c->message);
    if (vasprintf(&c->message, fmt, ap) < 0) c->message = NULL;
    va_end(ap);
    c->status = status;
}

/* The reason at the end of a store message ("...: database or disk is
 * full"), or NULL when it could name a file.  Clients get this much; the
 * whole message, with the data directory's paths, goes to the log. */
static const char *store_reason(const char *msg) {
    const char *r = msg, *p;
    while ((p = strstr(r, ": "))) r = p + 2;
    for (p = r; (p = strchr(p, '/')); p++)
        if (!(p >= r + 1 && p[-1] == 'I' && p[1] == 'O')) return NULL; /* "I/O" is no path */
    return *r ? r : NULL;
}

/* A failure of the store: logged in full, said to the client without
 * server paths. */
static void fail_store(call *c, int status, const char *what, const char *msg) {
    tm_log_error("api", "%s: %s", what, msg);
    const char *why = store_reason(msg);
    if (why) fail(c, status, "%s: %s", what, why);
    else fail(c, status, "%s (the server's log says why)", what);
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

/* Takes up to `want` bytes of the server's in-flight budget (request bytes
 * being handled and documents being inflated): as much as is free. */
static size_t reserve(tm_server *s, size_t want) {
    size_t max = limit_of(s->max_inflight_bytes, TM_API_MAX_INFLIGHT_BYTES);
    size_t cur = __atomic_load_n(&s->inflight_bytes, __ATOMIC_RELAXED), take;
    do {
        size_t avail = max > cur ? max - cur : 0;
        take = want < avail ? want : avail;
    } while (!__atomic_compare_exchange_n(&s->inflight_bytes, &cur, cur + take, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    return take;
}

static void release(tm_server *s, size_t n) {
    if (n) __atomic_sub_fetch(&s->inflight_bytes, n, __ATOMIC_RELAXED);
}

/* What a document says it inflates to: 0 for text that is not gzip'd (its
 * bytes are counted with the request already), else the size in the gzip
 * trailer (modulo 4 GiB, and only the last member's), at most `budget`.
 * Reserving the whole budget for every document instead would let two
 * small concurrent batches make the server "busy" for everyone. */
static size_t inflate_hint(const ProtobufCBinaryData *b, size_t budget) {
    if (b->len < 18 || b->data[0] != 0x1f || b->data[1] != 0x8b) return 0;
    const uint8_t *t = b->data + b->len - 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    if (isize < b->len) isize = b->len;
    return isize < budget ? isize : budget;
}

/* Decodes one document within `budget` inflated bytes, holding what it
 * inflates to in the in-flight budget (*got, reserved).  The trailer's
 * size is tried first; when the data inflates past it (a multi-member file,
 * or a trailer that lies) the whole budget is tried once more.  Nothing
 * reaches `vec` from a document that does not inflate. */
static int decode_document(tm_server *s, const char *name, const ProtobufCBinaryData *doc, size_t budget,
                           size_t *got, size_t *decoded, tm_eventvec *vec, tm_input_report *rep, tm_error *err) {
    size_t hint = inflate_hint(doc, budget);
    *got = reserve(s, hint);
    int rc = tm_input_decode_max(name, doc->data, doc->len, *got, decoded, vec, rep, err);
    if (rc == 0 || hint == 0 || *got >= budget || !strstr(err->msg, " inflates to more than ")) return rc;
    release(s, *got);
    *got = reserve(s, budget);
    return tm_input_decode_max(name, doc->data, doc->len, *got, decoded, vec, rep, err);
}

/* Rejections sent back in full; past these only the count grows. */
#define MAX_REJECTIONS 100

typedef struct rejections {
    Trailmap__Rejection *v;
    Trailmap__Rejection **p;
    char **owned;
    size_t n, cap;
    size_t total;     /* every rejected record, listed or not */
} rejections;

static int reject(rejections *r, const char *source, size_t index, const char *reason) {
    r->total++;
    if (r->n >= MAX_REJECTIONS) return 0;
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
    /* gzip'd documents may inflate to this much in all, and take it from
     * the server's in-flight budget while the batch lives */
    size_t budget = limit_of(c->srv->max_decoded_bytes, TM_API_MAX_DECODED_BYTES), held = 0;
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
        rep.max_problems = MAX_REJECTIONS;
        size_t decoded = 0, got = 0;
        if (decode_document(c->srv, name, &doc->content, budget, &got, &decoded, &vec, &rep, &err) != 0) {
            release(c->srv, got);
            if (err.code == TM_ENOMEM) {
                /* over the decompression budget (err says which document
                 * and the limit), or over what the server has free now,
                 * or out of memory: the batch is refused */
                if (got < budget && strstr(err.msg, " inflates to more than "))
                    fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED,
                         "the server is busy: document %zu needs more memory than is free now; try again", d);
                else
                    fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "document %zu: %s", d, err.msg);
                tm_input_report_free(&rep);
                goto out;
            } else if (reject(&rej, name, 0, err.msg)) {
                oom = 1;
            }
        } else {
            release(c->srv, got - decoded); /* keep what the events now hold */
            held += decoded;
            budget -= decoded;
        }
        for (size_t k = 0; k < rep.n && !oom; k++)
            if (reject(&rej, name, rep.v[k].index, rep.v[k].reason)) oom = 1;
        rej.total += rep.omitted;
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
            fail_store(c, TRAILMAP__STATUS__UNAVAILABLE, "the store could not write the batch", err.msg);
            goto out;
        }
    }
    Trailmap__SubmitEventsResponse r = TRAILMAP__SUBMIT_EVENTS_RESPONSE__INIT;
    r.accepted = res.accepted;
    r.duplicates = res.duplicates + dup_in_batch;
    r.rejected = rej.total;
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
    release(c->srv, held);
}

/* ---- sessions ---- */

#define MAX_SOURCE_IPS 100            /* per SessionInfo */
#define PAGE_BYTES ((size_t)16 << 20) /* raw JSON per GetEvents page */

static void fill_info(Trailmap__SessionInfo *info, const tm_session_row *row, const tm_ruleset *rs) {
    trailmap__session_info__init(info);
    info->key = row->key;
    info->principal_arn = row->principal_arn ? row->principal_arn : (char *)"";
    info->user_name = row->user_name ? row->user_name : (char *)"";
    /* a session's distinct source IPs are as many as its events; a list
     * of sessions shows the first few */
    info->n_source_ips = row->nsource_ips < MAX_SOURCE_IPS ? row->nsource_ips : MAX_SOURCE_IPS;
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
        fail_store(c, TRAILMAP__STATUS__INTERNAL, "the store could not list sessions", err.msg);
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
        fail_store(c, TRAILMAP__STATUS__INTERNAL, "the store could not read the session", err.msg);
        return NULL;
    }
    /* mapping holds every event of the session in memory at once */
    size_t max_events = limit_of(c->srv->max_session_events, TM_API_MAX_SESSION_EVENTS);
    if (row->events > max_events) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED,
             "session \"%s\" has %llu events, more than the %zu this server maps at once (--max-session-events)", key,
             (unsigned long long)row->events, max_events);
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
        if (err.code == TM_ENOTFOUND) fail(c, TRAILMAP__STATUS__NOT_FOUND, "no session \"%s\"", key);
        else fail_store(c, TRAILMAP__STATUS__INTERNAL, "the store could not read the session's events", err.msg);
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
        p->kind = s->kind ? s->kind : (char *)"";
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
    size_t n = 0, seen = 0, page_bytes = 0;
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
        const tm_event *e = mp->events[j];
        /* a page ends at page_size events or PAGE_BYTES of raw JSON,
         * whichever comes first (but holds at least one event) */
        if (n == limit || (n > 0 && page_bytes + e->raw_len > PAGE_BYTES)) {
            more = 1;
            break;
        }
        page_bytes += e->raw_len;
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
        fail_store(c, TRAILMAP__STATUS__INTERNAL, "the store could not count events", err.msg);
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


/* ---- rules (admin) ---- */

static void ruleset_info(Trailmap__RulesetInfo *info, const tm_ruleset *rs, int64_t loaded_ms) {
    trailmap__ruleset_info__init(info);
    info->version = rs->version;
    info->labels = (uint32_t)rs->nlabels;
    info->event_rules = (uint32_t)rs->nevents;
    info->overrides = (uint32_t)rs->noverrides;
    info->loaded_ms = loaded_ms;
}

/* A loader message with directory `dir` taken out wherever it is named
 * ("first defined at DIR/signals/x.json:2:13" too): files are named
 * relative to it, the directory itself as ".".  Only whole path names
 * match: "rules" in "3 rules" is left alone. */
static char *strip_dir(const char *msg, const char *dir) {
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    char *out = malloc(strlen(msg) + 1), *p = out;
    if (!out) return NULL;
    for (const char *q = msg; *q;) {
        int starts = q == msg || strchr(" \t\"'(", q[-1]);
        if (dl && starts && strncmp(q, dir, dl) == 0 && strchr("/: \"'", q[dl])) {
            q += dl;
            if (*q == '/') q++;
            else *p++ = '.';
            continue;
        }
        *p++ = *q++;
    }
    *p = 0;
    return out;
}

/* All errors, one per line, with `strip` (a directory, or NULL) taken out
 * of them as strip_dir does. */
static char *join_errors(const tm_errlist *errs, const char *strip) {
    size_t len = 1;
    for (size_t i = 0; i < errs->n; i++) len += strlen(errs->v[i]) + 1;
    char *out = malloc(len), *p = out;
    if (!out) return NULL;
    for (size_t i = 0; i < errs->n; i++) {
        char *e = strip ? strip_dir(errs->v[i], strip) : NULL;
        if (strip && !e) {
            free(out);
            return NULL;
        }
        const char *t = e ? e : errs->v[i];
        size_t l = strlen(t); /* never longer than the original */
        memcpy(p, t, l);
        p += l;
        *p++ = '\n';
        free(e);
    }
    if (p > out) p--;
    *p = 0;
    return out;
}

static void api_reload_rules(Trailmap__Trailmap_Service *svc, const Trailmap__ReloadRulesRequest *in,
                             Trailmap__ReloadRulesResponse_Closure done, void *data) {
    (void)svc;
    (void)in;
    call *c = data;
    tm_server *s = c->srv;
    tm_errlist errs = {0};
    tm_ruleset *before = tm_server_rules(s);
    int changed = 0;
    if (tm_reload_rules(s, "ReloadRules", &errs, &changed) != 0) {
        /* files named relative to the rules directory: the client does
         * not learn the server's paths */
        char *all = join_errors(&errs, s->rules_dir);
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "%zu error%s; still using rules %s\n%s", errs.n,
             errs.n == 1 ? "" : "s", before->version, all ? all : "");
        free(all);
        tm_errlist_free(&errs);
        tm_rules_unref(before);
        done(NULL, data);
        return;
    }
    tm_errlist_free(&errs);
    pthread_mutex_lock(&s->rules_mu);
    tm_ruleset *rs = tm_rules_ref(s->rules);
    int64_t loaded = s->rules_loaded_ms;
    pthread_mutex_unlock(&s->rules_mu);
    Trailmap__RulesetInfo info;
    ruleset_info(&info, rs, loaded);
    Trailmap__ReloadRulesResponse r = TRAILMAP__RELOAD_RULES_RESPONSE__INIT;
    r.ruleset = &info;
    r.previous_version = before->version;
    r.changed = changed;
    done(&r, data);
    tm_rules_unref(rs);
    tm_rules_unref(before);
}

/* A path a client may write into the scratch directory: relative, no "..". */
static int safe_rule_path(const char *p) {
    if (!*p || *p == '/' || strstr(p, "..") || strstr(p, "//")) return 0;
    for (const char *q = p; *q; q++)
        if (!(('a' <= *q && *q <= 'z') || ('A' <= *q && *q <= 'Z') || ('0' <= *q && *q <= '9') || strchr("._-/", *q)))
            return 0;
    return 1;
}

static int write_rule_file(const char *dir, const char *rel, const ProtobufCBinaryData *content) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path)) return -1;
    for (char *q = path + strlen(dir) + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (mkdir(path, 0700) != 0 && errno != EEXIST) return -1;
        *q = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = content->len ? fwrite(content->data, 1, content->len, f) : 0;
    return (fclose(f) != 0 || w != content->len) ? -1 : 0;
}

static void remove_tree(const char *dir) {
    char cmd[4200];
    /* the directory is one mkdtemp made; its name holds no shell metacharacters */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) tm_log_warn("api", "could not remove %s", dir);
}

static void api_validate_rules(Trailmap__Trailmap_Service *svc, const Trailmap__ValidateRulesRequest *in,
                               Trailmap__ValidateRulesResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    char dir[] = "/tmp/trailmap-validate-XXXXXX";
    if (in->n_files == 0) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "ValidateRules needs the files of a rules directory");
        done(NULL, data);
        return;
    }
    if (!mkdtemp(dir)) {
        fail(c, TRAILMAP__STATUS__INTERNAL, "cannot make a scratch directory: %s", strerror(errno));
        done(NULL, data);
        return;
    }
    for (size_t i = 0; i < in->n_files; i++) {
        const char *p = in->files[i]->path;
        if (!safe_rule_path(p)) {
            fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "file %zu: \"%s\" is not a relative path inside a rules directory", i, p);
            break;
        }
        if (write_rule_file(dir, p, &in->files[i]->content) != 0) {
            fail(c, TRAILMAP__STATUS__INTERNAL, "cannot write %s: %s", p, strerror(errno));
            break;
        }
    }
    if (c->status != TRAILMAP__STATUS__OK) {
        remove_tree(dir);
        done(NULL, data);
        return;
    }
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    int rc = tm_rules_load(dir, &rs, &errs);
    char **msgs = calloc(errs.n + 1, sizeof(*msgs));
    for (size_t i = 0; msgs && i < errs.n; i++) {
        if (!(msgs[i] = strip_dir(errs.v[i], dir))) {
            for (size_t k = 0; k < i; k++) free(msgs[k]);
            free(msgs);
            msgs = NULL;
        }
    }
    Trailmap__ValidateRulesResponse r = TRAILMAP__VALIDATE_RULES_RESPONSE__INIT;
    Trailmap__RulesetInfo info;
    r.valid = rc == 0;
    if (rs) {
        ruleset_info(&info, rs, 0);
        r.ruleset = &info;
    }
    r.n_errors = msgs ? errs.n : 0;
    r.errors = msgs;
    done(&r, data);
    for (size_t i = 0; msgs && i < errs.n; i++) free(msgs[i]);
    free(msgs);
    tm_errlist_free(&errs);
    if (rs) tm_rules_unref(rs);
    remove_tree(dir);
}

static char **strs_list(const tm_strs *s, size_t *n) {
    static char *star[] = {"*"};
    if (s->star) {
        *n = 1;
        return star;
    }
    *n = s->n;
    return s->v;
}

static void api_list_rules(Trailmap__Trailmap_Service *svc, const Trailmap__ListRulesRequest *in,
                           Trailmap__ListRulesResponse_Closure done, void *data) {
    (void)svc;
    call *c = data;
    pthread_mutex_lock(&c->srv->rules_mu);
    tm_ruleset *rs = tm_rules_ref(c->srv->rules);
    int64_t loaded = c->srv->rules_loaded_ms;
    pthread_mutex_unlock(&c->srv->rules_mu);
    Trailmap__RuleInfo *infos = calloc(rs->nlabels + 1, sizeof(*infos));
    Trailmap__RuleInfo **ptrs = calloc(rs->nlabels + 1, sizeof(*ptrs));
    char *(*flags)[4] = calloc(rs->nlabels + 1, sizeof(*flags));
    size_t n = 0, dl = strlen(rs->dir);
    if (!infos || !ptrs || !flags) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "out of memory");
        done(NULL, data);
        goto out;
    }
    for (size_t i = 0; i < rs->nlabels; i++) {
        const tm_label *l = &rs->labels[i];
        if (in->service && *in->service && strcasecmp(in->service, l->service) != 0) continue;
        Trailmap__RuleInfo *p = &infos[n];
        trailmap__rule_info__init(p);
        p->label = l->name;
        p->service = l->service;
        p->name = l->title;
        p->url = l->url_text;
        p->summary = l->summary_text;
        p->anchor = strs_list(&l->anchor, &p->n_anchor);
        p->required = strs_list(&l->required, &p->n_required);
        p->optional = strs_list(&l->optional, &p->n_optional);
        p->lookback_s = l->back;
        p->lookahead_s = l->ahead;
        size_t nf = 0;
        if (l->flags & TM_FLAG_SUPPRESSED) flags[n][nf++] = "suppressed";
        if (l->flags & TM_FLAG_NO_HISTORY) flags[n][nf++] = "no_history";
        if (l->flags & TM_FLAG_ONE_PER_EVENT) flags[n][nf++] = "one_per_event";
        if (l->flags & TM_FLAG_GENERIC) flags[n][nf++] = "generic";
        p->n_flags = nf;
        p->flags = flags[n];
        p->additional_data = l->has_data;
        p->file = strncmp(l->file, rs->dir, dl) == 0 && l->file[dl] == '/' ? l->file + dl + 1 : l->file;
        p->line = (uint32_t)l->line;
        ptrs[n] = p;
        n++;
    }
    Trailmap__RulesetInfo info;
    ruleset_info(&info, rs, loaded);
    Trailmap__ListRulesResponse r = TRAILMAP__LIST_RULES_RESPONSE__INIT;
    r.ruleset = &info;
    r.n_rules = n;
    r.rules = ptrs;
    done(&r, data);
out:
    free(infos);
    free(ptrs);
    free(flags);
    tm_rules_unref(rs);
}

static Trailmap__Trailmap_Service service = TRAILMAP__TRAILMAP__INIT(api_);

/* ---- framing and authorization ---- */

/* The role a method needs: the rules need admin, changing data needs
 * submit, everything else read. */
static int role_needed(const char *method) {
    if (strstr(method, "Rules")) return TM_ROLE_ADMIN;
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

/* The method named by a request, or NULL.  Compared over its whole length:
 * "Health\0X" is no method. */
static const ProtobufCMethodDescriptor *find_method(tm_wire_bytes m) {
    char name[64];
    if (m.len == 0 || m.len >= sizeof(name) || memchr(m.p, 0, m.len)) return NULL;
    memcpy(name, m.p, m.len);
    name[m.len] = 0;
    return protobuf_c_service_descriptor_get_method_by_name(&trailmap__trailmap__descriptor, name);
}

/* The role of the request's token; a token with a NUL byte is unknown
 * (tm_auth_role compares C strings: "TOKEN\0junk" must not pass as
 * "TOKEN"). */
static int token_role(const tm_auth *a, tm_wire_bytes t, const char **name) {
    *name = NULL;
    if (t.len == 0 || memchr(t.p, 0, t.len)) return TM_ROLE_NONE;
    /* the token's name, never the token, is what the log may show */
    return tm_auth_check(a, (const char *)t.p, t.len, name);
}

/* Checks the token of request rq for method md.  0, or fills c. */
static int authorize(tm_server *s, const tm_wire_request *rq, const ProtobufCMethodDescriptor *md, call *c) {
    if (!s->auth) return 0;
    const char *who = NULL;
    int role = token_role(s->auth, rq->token, &who);
    if (role == TM_ROLE_NONE) {
        fail(c, TRAILMAP__STATUS__UNAUTHENTICATED, "%s", rq->token.len ? "unknown token" : "a token is required");
        return -1;
    }
    if (role < role_needed(md->name)) {
        fail(c, TRAILMAP__STATUS__PERMISSION_DENIED, "%s needs the %s role; this token has %s", md->name,
             tm_auth_role_name(role_needed(md->name)), tm_auth_role_name(role));
        return -1;
    }
    /* admin actions (the rules calls) say who did them */
    if (role_needed(md->name) == TM_ROLE_ADMIN) tm_log_info("api", "%s by token '%s'", md->name, who ? who : "?");
    return 0;
}

/* Checks the payload against its message type and the server's limits
 * before protobuf-c unpacks it: unpacking may allocate a few times the
 * request's size (4x + 64 KiB), never more.  0, or fills c. */
static int check_payload(tm_server *s, const ProtobufCMethodDescriptor *md, tm_wire_bytes pl, size_t req_len,
                         call *c) {
    tm_wire_limits lim;
    lim.max_alloc = (req_len > SIZE_MAX / 8 ? SIZE_MAX / 2 : req_len * 4) + (64u << 10);
    lim.max_repeated = limit_of(s->max_batch_records, TM_API_MAX_BATCH_RECORDS);
    size_t estimate = 0;
    tm_error err;
    int rc = tm_wire_check(md->input, pl.p, pl.len, &lim, &estimate, &err);
    if (rc == TM_ENOMEM) {
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "%s: %s", md->name, err.msg);
        return -1;
    }
    if (rc) {
        fail(c, TRAILMAP__STATUS__INVALID_ARGUMENT, "malformed payload: not a %s message: %s", md->input->name,
             err.msg);
        return -1;
    }
    return 0;
}

/* Takes len bytes of the in-flight budget, or says the server is busy.
 * A request alone is always let in, so a message as large as the server
 * accepts can pass whatever the budget. */
static int admit(tm_server *s, size_t len, call *c) {
    size_t max = limit_of(s->max_inflight_bytes, TM_API_MAX_INFLIGHT_BYTES);
    size_t now = __atomic_add_fetch(&s->inflight_bytes, len, __ATOMIC_RELAXED);
    if (now > max && now != len) {
        __atomic_sub_fetch(&s->inflight_bytes, len, __ATOMIC_RELAXED);
        fail(c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED,
             "the server is busy: %zu bytes of requests in progress (limit %zu); try again", now - len, max);
        return -1;
    }
    return 0;
}

/* Order matters: the framing is read without allocating, the token is
 * checked, and only then is the payload checked and unpacked, so an
 * unauthenticated client cannot make the server allocate. */
int tm_api_handle(tm_server *s, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len) {
    call c = {s, TRAILMAP__STATUS__OK, NULL, NULL, 0};
    tm_wire_request rq;
    tm_error err;
    memset(&rq, 0, sizeof(rq));
    int admitted = 0;
    if (len > s->max_message_bytes) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__RESOURCE_EXHAUSTED, "message of %zu bytes is larger than the server accepts (%zu)",
             len, s->max_message_bytes);
        goto reply;
    }
    if (tm_wire_read_request(req, len, &rq, &err) != 0) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__INVALID_ARGUMENT, "malformed request: not an RpcRequest message: %s", err.msg);
        goto reply;
    }
    const ProtobufCMethodDescriptor *md = find_method(rq.method);
    if (!md) {
        __atomic_add_fetch(&s->requests_bad, 1, __ATOMIC_RELAXED);
        fail(&c, TRAILMAP__STATUS__UNIMPLEMENTED, "unknown method \"%.*s\"",
             (int)(rq.method.len > 64 ? 64 : rq.method.len), rq.method.len ? (const char *)rq.method.p : "");
        goto reply;
    }
    unsigned idx = (unsigned)(md - trailmap__trailmap__descriptor.methods);
    if (idx < TM_MAX_METHODS) __atomic_add_fetch(&s->requests[idx], 1, __ATOMIC_RELAXED);
    if (authorize(s, &rq, md, &c) != 0) goto reply;
    if (admit(s, len, &c) != 0) goto reply;
    admitted = 1;
    if (check_payload(s, md, rq.payload, len, &c) != 0) goto reply;
    ProtobufCMessage *input = protobuf_c_message_unpack(md->input, NULL, rq.payload.len, rq.payload.p);
    if (!input) {
        fail(&c, TRAILMAP__STATUS__INVALID_ARGUMENT, "malformed payload: not a %s message", md->input->name);
        goto reply;
    }
    service.base.invoke(&service.base, idx, input, answer, &c);
    protobuf_c_message_free_unpacked(input, NULL);
reply:
    if (admitted) __atomic_sub_fetch(&s->inflight_bytes, len, __ATOMIC_RELAXED);
    int rc = frame(rq.request_id, &c, out, out_len);
    free(c.message);
    free(c.payload);
    return rc;
}

int tm_api_invoke(tm_server *s, const char *method, const char *token, const ProtobufCMessage *req,
                  ProtobufCMessage **resp, int *status, char **message) {
    *resp = NULL;
    *message = NULL;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(&trailmap__trailmap__descriptor, method);
    if (!md) return -1;
    Trailmap__RpcRequest rq = TRAILMAP__RPC_REQUEST__INIT;
    rq.method = (char *)method;
    rq.auth_token = (char *)(token ? token : "");
    size_t pl = protobuf_c_message_get_packed_size(req);
    rq.payload.data = malloc(pl ? pl : 1);
    if (!rq.payload.data) return -1;
    rq.payload.len = protobuf_c_message_pack(req, rq.payload.data);
    size_t n = trailmap__rpc_request__get_packed_size(&rq);
    uint8_t *buf = malloc(n ? n : 1), *out = NULL;
    size_t out_len = 0;
    int rc = -1;
    if (buf) {
        trailmap__rpc_request__pack(&rq, buf);
        rc = tm_api_handle(s, buf, n, &out, &out_len);
    }
    free(buf);
    free(rq.payload.data);
    if (rc) return -1;
    Trailmap__RpcResponse *r = trailmap__rpc_response__unpack(NULL, out_len, out);
    free(out);
    if (!r) return -1;
    *status = r->status;
    *message = strdup(r->error_message ? r->error_message : "");
    if (r->status == TRAILMAP__STATUS__OK)
        *resp = protobuf_c_message_unpack(md->output, NULL, r->payload.len, r->payload.data);
    trailmap__rpc_response__free_unpacked(r, NULL);
    if (!*message || (*status == TRAILMAP__STATUS__OK && !*resp)) {
        free(*message);
        *message = NULL;
        if (*resp) protobuf_c_message_free_unpacked(*resp, NULL);
        *resp = NULL;
        return -1;
    }
    return 0;
}

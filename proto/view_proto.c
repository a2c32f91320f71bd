/* view_proto.c: protobuf answers as output.h views (see view_proto.h). */
#include "view_proto.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "printable.h"
#include "rpc_error.h"

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

static int strv_copy(char **src, size_t n, char ***out, size_t *nout) {
    *nout = 0;
    *out = calloc(n + 1, sizeof(**out));
    if (!*out) return -1;
    for (size_t i = 0; i < n; i++)
        if (!((*out)[(*nout)++] = dup_str(src[i]))) return -1;
    return 0;
}

int tm_view_signal_from_proto(const Trailmap__Signal *p, tm_sigview *s, tm_error *err) {
    s->correlation_id = dup_str(p->correlation_id);
    s->label = dup_str(p->label);
    s->service = dup_str(p->service);
    s->name = dup_str(p->name);
    s->summary = dup_str(p->summary);
    s->url = dup_str(p->url);
    s->event_time_ms = p->event_time_ms;
    s->first_ms = p->first_event_ms;
    s->last_ms = p->last_event_ms;
    s->event_count = (int)p->event_count;
    s->reference_event_count = (int)p->reference_event_count;
    s->suppressed = p->suppressed != 0;
    s->anchor_event_id = dup_str(p->anchor_event_id);
    if (!s->correlation_id || !s->label || !s->service || !s->name || !s->summary || !s->url || !s->anchor_event_id ||
        strv_copy(p->event_ids, p->n_event_ids, &s->event_ids, &s->nevent_ids) ||
        strv_copy(p->event_names, p->n_event_names, &s->event_names, &s->nevent_names) ||
        strv_copy(p->labels_tried, p->n_labels_tried, &s->labels_tried, &s->nlabels_tried))
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (p->source_label && *p->source_label && !(s->source_label = dup_str(p->source_label)))
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (p->kind && *p->kind && !(s->kind = dup_str(p->kind))) return tm_error_set(err, TM_ENOMEM, "out of memory");
    const char *d = p->additional_data_json ? p->additional_data_json : "";
    if (*d) {
        json_error_t je;
        json_t *v = json_loads(d, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!v)
            return tm_error_set(err, TM_RPC_EPROTO, "signal %s: the AdditionalData the server sent is not JSON: %s",
                                s->correlation_id, je.text);
        if (json_is_null(v)) json_decref(v);
        else s->data = v;
    }
    return 0;
}

int tm_view_from_session_proto(const Trailmap__GetSessionResponse *r, const char *key, tm_sessview *v,
                               tm_error *err) {
    memset(v, 0, sizeof(*v));
    const Trailmap__SessionInfo *si = r->session;
    v->key = dup_str(si && si->key && *si->key ? si->key : key);
    v->rules_version = dup_str(r->rules_version);
    v->sigs = calloc(r->n_signals + 1, sizeof(*v->sigs));
    if (!v->key || !v->rules_version || !v->sigs) return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (si) {
        v->nevents = (size_t)si->events;
        v->first_ms = si->first_event_ms;
        v->last_ms = si->last_event_ms;
    }
    v->nmapped = r->unmapped_events <= v->nevents ? v->nevents - (size_t)r->unmapped_events : 0;
    for (size_t i = 0; i < r->n_signals; i++) {
        int rc = tm_view_signal_from_proto(r->signals[i], &v->sigs[v->nsigs++], err);
        if (rc) return rc;
    }
    return 0;
}

static json_t *time_or_null(int64_t ms) {
    if (!ms) return json_null();
    char t[32];
    tm_time_format(ms, t);
    return json_string(t);
}

json_t *tm_view_session_info_json(const Trailmap__SessionInfo *s, int with_ms) {
    if (!s) return json_null();
    json_t *ips = json_array();
    for (size_t k = 0; ips && k < s->n_source_ips; k++)
        if (json_array_append_new(ips, tm_json_text(s->source_ips[k]))) {
            json_decref(ips);
            ips = NULL;
        }
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "key", tm_json_text(s->key), "principalArn",
                          tm_json_text(s->principal_arn), "userName", tm_json_text(s->user_name), "sourceIps", ips,
                          "userAgentFamily", tm_json_text(s->user_agent_family), "firstEventTime",
                          time_or_null(s->first_event_ms), "lastEventTime", time_or_null(s->last_event_ms));
    if (o && with_ms &&
        (json_object_set_new(o, "firstEventMs", json_integer(s->first_event_ms)) ||
         json_object_set_new(o, "lastEventMs", json_integer(s->last_event_ms)))) {
        json_decref(o);
        return NULL;
    }
    if (o && (json_object_set_new(o, "events", json_integer((json_int_t)s->events)) ||
              json_object_set_new(o, "signals", json_integer((json_int_t)s->signals)) ||
              json_object_set_new(o, "mappedShare", json_real(s->mapped_share)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int tm_view_event_jsonl(FILE *f, const char *key, const Trailmap__Event *e) {
    const char *sig = e->signal ? e->signal : "";
    json_t *add = json_pack("{s:s, s:o}", "session", key, "signal", *sig ? json_string(sig) : json_null());
    char *txt = add ? json_dumps(add, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(add);
    if (!txt) return TM_ENOMEM;
    const char *raw = e->raw_json ? e->raw_json : "";
    int rc = tm_output_jsonl_line(f, raw, strlen(raw), txt);
    free(txt);
    return rc;
}

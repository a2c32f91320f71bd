/* additions.c: signals for what the reference's rules leave unexplained
 * (see additions.h). */
#include "additions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"
#include "pred.h"
#include "rulesInt.h"
#include "tmpl.h"

/* ------------------------------------------------------------- mapping */

static const char *str_at(const tm_event *e, const char *path) {
    return json_string_value(tm_event_get(e, path));
}

/* Who made the call, as briefly as the record allows. */
static const char *user_of(const tm_event *e) {
    const char *s = str_at(e, "userIdentity.userName");
    if (!s) s = str_at(e, "userIdentity.sessionContext.sessionIssuer.userName");
    if (!s) s = str_at(e, "additionalEventData.UserName");
    if (!s) s = str_at(e, "userIdentity.arn");
    if (!s) s = str_at(e, "userIdentity.principalId");
    if (!s) s = str_at(e, "userIdentity.invokedBy");
    return s ? s : "";
}

static const char *outcome_of(const tm_event *e) {
    const char *s = str_at(e, "responseElements.ConsoleLogin");
    if (!s) s = str_at(e, "responseElements.CheckMfa");
    if (!s) s = str_at(e, "serviceEventDetails.CredentialChallenge");
    if (!s) s = str_at(e, "serviceEventDetails.UserAuthentication");
    if (!s && tm_event_get(e, "errorCode")) s = "Failure";
    return s ? s : "";
}

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

#define MAX_TARGETS 3
#define TARGET_DEPTH 4

/* Appends the string values under v whose member names end as key_params
 * says (EC2 nests them: instancesSet.items[].instanceId), depth first in
 * the record's order, until MAX_TARGETS. */
static void collect_targets(const tm_label *l, json_t *v, int depth, json_t *out) {
    if (depth > TARGET_DEPTH || json_array_size(out) >= MAX_TARGETS) return;
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) collect_targets(l, x, depth + 1, out);
        return;
    }
    if (!json_is_object(v)) return;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if (json_array_size(out) >= MAX_TARGETS) return;
        if (!json_is_string(x)) {
            collect_targets(l, x, depth + 1, out);
            continue;
        }
        if (json_string_length(x) == 0) continue;
        for (size_t i = 0; i < l->key_params.n; i++)
            if (ends_with_ci(k, l->key_params.v[i])) {
                json_array_append(out, x);
                break;
            }
    }
}

/* The resources a call names in its request parameters. */
static json_t *targets_of(const tm_label *l, const tm_event *e) {
    json_t *out = json_array();
    if (out && e->rp) collect_targets(l, e->rp, 0, out);
    return out;
}

static json_t *join(json_t *arr) {
    size_t len = 1, i;
    json_t *v;
    json_array_foreach(arr, i, v) len += json_string_length(v) + 2;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    json_array_foreach(arr, i, v) {
        if (i) p = stpcpy(p, ", ");
        p = stpcpy(p, json_string_value(v));
    }
    *p = '\0';
    json_t *r = json_string(s);
    free(s);
    return r;
}

/* The values of TM_ADDITION_VARS for a signal of events[from..] (count of them). */
static json_t *vars_of(const tm_mapping *m, const tm_label *l, size_t anchor, size_t count, const char *client) {
    const tm_event *e = m->events[anchor];
    json_t *targets = targets_of(l, e);
    json_t *v = json_object();
    if (!v || !targets) {
        json_decref(v);
        json_decref(targets);
        return NULL;
    }
    const char *err = str_at(e, "errorCode");
    int bad = 0;
    bad |= json_object_set_new(v, "awsRegion", json_string(e->region ? e->region : ""));
    bad |= json_object_set_new(v, "eventNameFull", json_string(e->name_full));
    bad |= json_object_set_new(v, "eventSource", json_string(e->source));
    bad |= json_object_set_new(v, "eventName", json_string(e->name));
    bad |= json_object_set_new(v, "svc", json_stringn(e->name_full, strcspn(e->name_full, ":")));
    bad |= json_object_set_new(v, "count", json_integer((json_int_t)count));
    char times[32];
    snprintf(times, sizeof(times), count == 1 ? "once" : count == 2 ? "twice" : "%zu times", count);
    bad |= json_object_set_new(v, "times", json_string(times));
    bad |= json_object_set_new(v, "client", client ? json_string(client) : json_null());
    bad |= json_object_set_new(v, "target", json_array_size(targets) ? join(targets) : json_null());
    bad |= json_object_set_new(v, "targets", targets);
    bad |= json_object_set_new(v, "outcome", json_string(outcome_of(e)));
    bad |= json_object_set_new(v, "errorCode", err ? json_string(err) : json_null());
    bad |= json_object_set_new(v, "user", json_string(user_of(e)));
    bad |= json_object_set_new(v, "origin", json_string(tm_origin_name(m->origin[anchor])));
    if (bad) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* AdditionalData: who, with what, how many times, on what, and how it
 * ended; the values that say nothing are left out. */
static json_t *data_of(json_t *vars) {
    static const char *const keys[] = {"user", "client", "count", "targets", "outcome", "errorCode", NULL};
    int single = json_integer_value(json_object_get(vars, "count")) == 1;
    json_t *d = json_object();
    for (size_t i = 0; d && keys[i]; i++) {
        json_t *v = json_object_get(vars, keys[i]);
        if (!v || json_is_null(v) || (single && !strcmp(keys[i], "count")) ||
            (json_is_string(v) && json_string_length(v) == 0) ||
            (json_is_array(v) && json_array_size(v) == 0))
            continue;
        if (json_object_set(d, keys[i], v)) {
            json_decref(d);
            return NULL;
        }
    }
    return d;
}

static int render(const tm_label *l, json_t *vars, tm_rendered *r) {
    r->name = tm_tmpl_render(l->name_tmpl, vars);
    r->service = tm_tmpl_render(l->service_tmpl, vars);
    r->url = tm_tmpl_render(l->url, vars);
    r->summary = tm_tmpl_render(l->summary, vars);
    r->data = data_of(vars);
    return r->name && r->service && r->url && r->summary && r->data ? 0 : TM_ENOMEM;
}

/* A signal of label L over the events at idx[0, n) (time order). */
static int add_signal(tm_mapping *m, int L, const size_t *idx, size_t n, const char *client) {
    const tm_label *l = &m->rs->labels[L];
    json_t *vars = vars_of(m, l, idx[0], n, client);
    tm_signal *s = vars ? tm_mapping_new_signal(m) : NULL;
    if (!s) {
        json_decref(vars);
        return TM_ENOMEM;
    }
    size_t sig = (size_t)(s - m->signals);
    s->label = s->source_label = L;
    s->anchor = s->first = idx[0];
    s->event_count = (int)n;
    s->first_ms = m->events[idx[0]]->time_ms;
    s->last_ms = m->events[idx[n - 1]]->time_ms;
    for (size_t k = 0; k < n; k++) m->signal_of[idx[k]] = (int)sig;
    int rc = render(l, vars, &s->r);
    json_decref(vars);
    return rc;
}

static int takes(const tm_mapping *m, const tm_label *l, size_t j) {
    if (m->signal_of[j] >= 0) return 0;
    int origin = m->origin[j];
    if (l->kind == TM_KIND_API && origin != TM_ORIGIN_API) return 0;
    if (l->kind == TM_KIND_ACTION && origin == TM_ORIGIN_API) return 0;
    if (!l->when) return 1;
    tm_predctx pc = {m->events[j], m->events[j]->json, NULL};
    return tm_pred_eval(l->when, &pc) == TM_TRUE;
}

/* One signal per event. */
static int map_each(tm_mapping *m, int L) {
    for (size_t j = 0; j < m->nevents; j++) {
        if (!takes(m, &m->rs->labels[L], j)) continue;
        int rc = add_signal(m, L, &j, 1, NULL);
        if (rc) return rc;
    }
    return 0;
}

/* Calls of one name by one client, each within gap of the one before: the
 * earliest open group of that (name, client) takes the next call. */
static int map_groups(tm_mapping *m, int L) {
    const tm_label *l = &m->rs->labels[L];
    size_t n = m->nevents, *idx = calloc(n + 1, sizeof(*idx));
    char **client = calloc(n + 1, sizeof(*client));
    unsigned char *done = calloc(n + 1, 1);
    int rc = idx && client && done ? 0 : TM_ENOMEM;
    for (size_t j = 0; !rc && j < n; j++)
        if (takes(m, l, j) && !(client[j] = tm_origin_client(m->rs, m->events[j]))) rc = TM_ENOMEM;
    for (size_t j = 0; !rc && j < n; j++) {
        if (!client[j] || done[j]) continue;
        size_t cnt = 0;
        int64_t last = m->events[j]->time_ms;
        for (size_t k = j; k < n; k++) {
            if (!client[k] || done[k]) continue;
            if (m->events[k]->time_ms - last > (int64_t)(l->gap * 1000.0)) break;
            if (strcmp(m->events[k]->name_full, m->events[j]->name_full) || strcmp(client[k], client[j])) continue;
            idx[cnt++] = k;
            done[k] = 1;
            last = m->events[k]->time_ms;
        }
        rc = add_signal(m, L, idx, cnt, client[j]);
    }
    for (size_t j = 0; client && j < n; j++) free(client[j]);
    free(client);
    free(idx);
    free(done);
    return rc;
}

int tm_additions_map(tm_mapping *m, tm_error *err) {
    const tm_ruleset *rs = m->rs;
    for (int kind = TM_KIND_SIGNIN; kind <= TM_KIND_ACTION; kind++)
        for (size_t L = 0; L < rs->nlabels; L++) {
            if (rs->labels[L].kind != kind) continue;
            int rc = kind == TM_KIND_API ? map_groups(m, (int)L) : map_each(m, (int)L);
            if (rc) return tm_error_set(err, rc, "out of memory");
        }
    return 0;
}

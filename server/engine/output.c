/* output.c: write mapped sessions. */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "additions.h"
#include "printable.h"
#include "rulesInt.h"
#include "value.h"

/* ---- views ---- */

static char *sdup(const char *s) { return strdup(s ? s : ""); }

static void strv_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

static void sigview_clear(tm_sigview *s) {
    free(s->correlation_id);
    free(s->label);
    free(s->service);
    free(s->name);
    free(s->summary);
    free(s->url);
    json_decref(s->data);
    strv_free(s->event_ids, s->nevent_ids);
    strv_free(s->event_names, s->nevent_names);
    free(s->anchor_event_id);
    free(s->source_label);
    free(s->kind);
    strv_free(s->labels_tried, s->nlabels_tried);
}

void tm_view_clear(tm_sessview *v) {
    free(v->key);
    free(v->rules_version);
    for (size_t i = 0; i < v->nsigs; i++) sigview_clear(&v->sigs[i]);
    free(v->sigs);
    for (size_t i = 0; i < v->nunmapped; i++) {
        free(v->unmapped[i].id);
        free(v->unmapped[i].name);
        strv_free(v->unmapped[i].labels, v->unmapped[i].nlabels);
    }
    free(v->unmapped);
    memset(v, 0, sizeof(*v));
}

static int labels_of(const tm_mapping *m, size_t j, char ***out, size_t *n) {
    *n = 0;
    *out = calloc(m->labels[j].n + 1, sizeof(**out));
    if (!*out) return -1;
    for (size_t k = 0; k < m->labels[j].n; k++)
        if (!((*out)[(*n)++] = strdup(m->rs->labels[m->labels[j].v[k]].name))) return -1;
    return 0;
}

static int fill_signal(const tm_mapping *m, size_t sig, tm_sigview *s) {
    const tm_signal *sg = &m->signals[sig];
    const tm_label *l = &m->rs->labels[sg->label];
    s->correlation_id = sdup(m->events[sg->first]->id);
    s->label = sdup(l->name);
    s->service = sdup(sg->r.service ? sg->r.service : l->service);
    s->name = sdup(sg->r.name ? sg->r.name : l->title);
    if (tm_additions_kind_name(l->kind) && !(s->kind = strdup(tm_additions_kind_name(l->kind)))) return -1;
    s->summary = sdup(sg->r.summary);
    s->url = sdup(sg->r.url);
    s->data = sg->r.data ? json_deep_copy(sg->r.data) : NULL;
    s->event_time_ms = m->events[sg->anchor]->time_ms;
    s->first_ms = sg->first_ms;
    s->last_ms = sg->last_ms;
    s->reference_event_count = sg->event_count;
    s->suppressed = (l->flags & TM_FLAG_SUPPRESSED) != 0;
    s->anchor_event_id = sdup(m->events[sg->anchor]->id);
    if (sg->label != sg->source_label) s->source_label = sdup(m->rs->labels[sg->source_label].name);
    size_t n = 0;
    for (size_t j = 0; j < m->nevents; j++) n += m->signal_of[j] == (int)sig;
    s->event_ids = calloc(n + 1, sizeof(*s->event_ids));
    s->event_names = calloc(n + 1, sizeof(*s->event_names));
    if (!s->event_ids || !s->event_names) return -1;
    for (size_t j = 0; j < m->nevents; j++) {
        if (m->signal_of[j] != (int)sig) continue;
        const tm_event *e = m->events[j];
        if (!(s->event_ids[s->nevent_ids++] = sdup(e->id))) return -1;
        size_t k;
        for (k = 0; k < s->nevent_names; k++)
            if (strcmp(s->event_names[k], e->name_full) == 0) break;
        if (k == s->nevent_names && !(s->event_names[s->nevent_names++] = sdup(e->name_full))) return -1;
    }
    s->event_count = (int)n;
    if (labels_of(m, sg->anchor, &s->labels_tried, &s->nlabels_tried)) return -1;
    if (!s->correlation_id || !s->label || !s->service || !s->name || !s->summary || !s->url || !s->anchor_event_id)
        return -1;
    return 0;
}

int tm_view_from_mapping(const tm_mapping *m, const char *key, tm_sessview *v) {
    memset(v, 0, sizeof(*v));
    size_t *order;
    size_t cnt = tm_mapping_timeline(m, &order);
    v->key = sdup(key);
    v->rules_version = sdup(m->rs->version);
    v->nevents = m->nevents;
    if (m->nevents) {
        v->first_ms = m->events[0]->time_ms;
        v->last_ms = m->events[m->nevents - 1]->time_ms;
    }
    v->sigs = calloc(cnt + 1, sizeof(*v->sigs));
    v->unmapped = calloc(m->nevents + 1, sizeof(*v->unmapped));
    if (!order || !v->key || !v->rules_version || !v->sigs || !v->unmapped) goto oom;
    for (size_t i = 0; i < cnt; i++)
        if (fill_signal(m, order[i], &v->sigs[v->nsigs++])) goto oom;
    for (size_t j = 0; j < m->nevents; j++) {
        if (m->signal_of[j] >= 0) {
            v->nmapped++;
            continue;
        }
        tm_evview *u = &v->unmapped[v->nunmapped++];
        const tm_event *e = m->events[j];
        u->id = sdup(e->id);
        u->name = sdup(e->name_full);
        u->time_ms = e->time_ms;
        u->write = json_is_false(json_object_get(e->json, "readOnly"));
        if (!u->id || !u->name || labels_of(m, j, &u->labels, &u->nlabels)) goto oom;
    }
    free(order);
    return 0;
oom:
    free(order);
    tm_view_clear(v);
    return TM_ENOMEM;
}

/* ---- shared pieces ---- */

static json_t *time_json(int64_t ms) {
    char t[32];
    tm_time_format(ms, t);
    return json_string(t);
}

static json_t *strv_json(char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_string(v[i]));
    return a;
}

static char *strv_join(char *const *v, size_t n) {
    size_t len = 1;
    for (size_t i = 0; i < n; i++) len += strlen(v[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    *p = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) *p++ = ',';
        size_t l = strlen(v[i]);
        memcpy(p, v[i], l + 1);
        p += l;
    }
    return s;
}

json_t *tm_output_signal_cartographer(const tm_sigview *s) {
    char *ids = strv_join(s->event_ids, s->nevent_ids), *names = strv_join(s->event_names, s->nevent_names);
    json_t *o = ids && names ? json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:i, s:o, s:o, s:s, s:s}",
                                         "CorrelationId", s->correlation_id, "Label", s->label, "Name", s->name,
                                         "Summary", s->summary, "Url", s->url, "AdditionalData",
                                         s->data ? s->data : json_null(), "EventCount", s->reference_event_count,
                                         "FirstEventTime", time_json(s->first_ms), "LastEventTime",
                                         time_json(s->last_ms), "AllEventArr", names, "AllEventIdArr", ids)
                             : NULL;
    free(ids);
    free(names);
    return o;
}

static int dump(FILE *f, json_t *doc) {
    if (!doc) return TM_ENOMEM;
    int rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? TM_EIO : 0;
    json_decref(doc);
    if (!rc && fputc('\n', f) == EOF) rc = TM_EIO;
    return rc;
}

static int cartographer(FILE *f, const tm_sessview *s, size_t n, int additions) {
    json_t *doc = json_object();
    for (size_t k = 0; doc && k < n; k++) {
        for (size_t i = 0; i < s[k].nsigs; i++) {
            if (s[k].sigs[i].kind && !additions) continue;
            json_t *sig = tm_output_signal_cartographer(&s[k].sigs[i]);
            if (!sig || json_object_set_new(doc, s[k].sigs[i].correlation_id, sig)) {
                json_decref(doc);
                return TM_ENOMEM;
            }
        }
    }
    return dump(f, doc);
}

int tm_output_cartographer(FILE *f, const tm_sessview *s, size_t n) { return cartographer(f, s, n, 0); }

int tm_output_cartographer_all(FILE *f, const tm_sessview *s, size_t n) { return cartographer(f, s, n, 1); }

/* ---- trailmap json ---- */

json_t *tm_output_signal_json(const tm_sigview *s, int with_ms) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:o, s:o, s:o, s:i, s:I, s:o, s:o, s:s, s:b, s:o}",
                          "correlationId", s->correlation_id, "label", s->label, "service", s->service,
                          "name", s->name, "summary", s->summary, "url", s->url,
                          "additionalData", s->data ? s->data : json_null(),
                          "eventTime", time_json(s->event_time_ms), "firstEventTime", time_json(s->first_ms),
                          "lastEventTime", time_json(s->last_ms), "eventCount", s->event_count,
                          "durationSeconds", (json_int_t)((s->last_ms - s->first_ms) / 1000),
                          "eventNames", strv_json(s->event_names, s->nevent_names),
                          "eventIds", strv_json(s->event_ids, s->nevent_ids), "anchorEventId", s->anchor_event_id,
                          "suppressed", s->suppressed, "labelsTried", strv_json(s->labels_tried, s->nlabels_tried));
    if (o && with_ms &&
        (json_object_set_new(o, "eventTimeMs", json_integer(s->event_time_ms)) ||
         json_object_set_new(o, "firstEventMs", json_integer(s->first_ms)) ||
         json_object_set_new(o, "lastEventMs", json_integer(s->last_ms)))) {
        json_decref(o);
        return NULL;
    }
    if (o && s->source_label) json_object_set_new(o, "sourceLabel", json_string(s->source_label));
    if (o && s->kind) json_object_set_new(o, "kind", json_string(s->kind));
    if (o && s->reference_event_count != s->event_count)
        json_object_set_new(o, "referenceEventCount", json_integer(s->reference_event_count));
    return o;
}

int tm_output_json(FILE *f, const tm_sessview *s, size_t n) {
    json_t *sessions = json_array();
    for (size_t k = 0; sessions && k < n; k++) {
        const tm_sessview *v = &s[k];
        json_t *sigs = json_array(), *unmapped = json_array();
        for (size_t i = 0; sigs && i < v->nsigs; i++) json_array_append_new(sigs, tm_output_signal_json(&v->sigs[i], 0));
        for (size_t j = 0; unmapped && j < v->nunmapped; j++) {
            const tm_evview *u = &v->unmapped[j];
            json_t *ev = json_pack("{s:s, s:o, s:s, s:o}", "eventId", u->id, "eventTime", time_json(u->time_ms),
                                   "eventName", u->name, "labels", strv_json(u->labels, u->nlabels));
            if (ev && u->write) json_object_set_new(ev, "write", json_true());
            json_array_append_new(unmapped, ev);
        }
        json_t *sess = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:o}", "session", v->key,
                                 "rulesVersion", v->rules_version, "events", (json_int_t)v->nevents,
                                 "mappedEvents", (json_int_t)v->nmapped, "signalCount", (json_int_t)v->nsigs,
                                 "mappedShare", v->nevents ? (double)v->nmapped / (double)v->nevents : 1.0,
                                 "firstEventTime", v->nevents ? time_json(v->first_ms) : json_null(),
                                 "lastEventTime", v->nevents ? time_json(v->last_ms) : json_null(),
                                 "signals", sigs, "unmappedEvents", unmapped);
        if (!sess || json_array_append_new(sessions, sess)) {
            json_decref(sessions);
            return TM_ENOMEM;
        }
    }
    return dump(f, json_pack("{s:s, s:o}", "rulesVersion", n ? s[0].rules_version : "", "sessions", sessions));
}

/* ---- enriched JSON lines ---- */

int tm_output_jsonl_line(FILE *f, const char *raw, size_t raw_len, const char *add) {
    size_t len = raw_len;
    while (len > 0 && strchr(" \t\r\n", raw[len - 1])) len--;
    if (len > 0 && raw[len - 1] == '}') len--;
    size_t body = len;
    while (body > 0 && strchr(" \t\r\n", raw[body - 1])) body--;
    int empty = body > 0 && raw[body - 1] == '{';
    /* a record spread over lines is written on one line: a newline between
     * tokens becomes a space (JSON strings cannot hold a raw newline), so
     * the text still parses to the same value */
    for (size_t c = 0; c < len; c++) {
        char ch = raw[c];
        if (fputc(ch == '\n' || ch == '\r' ? ' ' : ch, f) == EOF) return TM_EIO;
    }
    return fprintf(f, "%s\"trailmap\":%s}\n", empty ? "" : ",", add) < 0 ? TM_EIO : 0;
}

int tm_output_jsonl(FILE *f, const tm_mapping *const *maps, char *const *keys, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const tm_mapping *m = maps[k];
        for (size_t j = 0; j < m->nevents; j++) {
            const tm_event *e = m->events[j];
            json_t *sig = json_null(), *labels = json_array();
            for (size_t i = 0; labels && i < m->labels[j].n; i++)
                json_array_append_new(labels, json_string(m->rs->labels[m->labels[j].v[i]].name));
            if (m->signal_of[j] >= 0) {
                const tm_signal *sg = &m->signals[m->signal_of[j]];
                const tm_label *l = &m->rs->labels[sg->label];
                sig = json_pack("{s:s, s:s, s:s}", "label", l->name, "name", sg->r.name ? sg->r.name : l->title,
                                "correlationId", m->events[sg->first]->id);
                if (sig && tm_additions_kind_name(l->kind))
                    json_object_set_new(sig, "kind", json_string(tm_additions_kind_name(l->kind)));
            }
            json_t *tm = json_pack("{s:s, s:o, s:o}", "session", keys[k], "labels", labels, "signal", sig);
            char *add = tm ? json_dumps(tm, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(tm);
            if (!add) return TM_ENOMEM;
            int rc = tm_output_jsonl_line(f, e->raw, e->raw_len, add);
            free(add);
            if (rc) return rc;
        }
    }
    return ferror(f) ? TM_EIO : 0;
}

/* ---- table ---- */

/* s as a terminal may show it (printable.h): s itself when it is safe,
 * else an escaped copy left in *hold for the caller to free. */
static const char *safe(const char *s, char **hold) {
    *hold = NULL;
    if (!s || tm_is_printable(s)) return s ? s : "";
    *hold = tm_printable(s);
    return *hold ? *hold : "(out of memory)";
}

/* The unmapped events that are writes (or not), by name, most frequent
 * first, on one line; nothing when there are none. */
static void unmapped_line(FILE *f, const tm_sessview *v, int writes, const char *title, const char *Y,
                          const char *R) {
    json_t *counts = json_object();
    for (size_t j = 0; counts && j < v->nunmapped; j++) {
        if (!v->unmapped[j].write != !writes) continue;
        json_t *c = json_object_get(counts, v->unmapped[j].name);
        json_object_set_new(counts, v->unmapped[j].name, json_integer(c ? json_integer_value(c) + 1 : 1));
    }
    if (!counts || json_object_size(counts) == 0) {
        json_decref(counts);
        return;
    }
    fprintf(f, "%s%s%s", Y, title, R);
    for (size_t left = json_object_size(counts); left > 0; left--) {
        const char *nm, *best = NULL;
        json_t *c;
        json_int_t bc = 0;
        json_object_foreach(counts, nm, c) if (json_integer_value(c) > bc) {
            bc = json_integer_value(c);
            best = nm;
        }
        if (!best) break;
        char *h;
        fprintf(f, " %s%s%s x%lld", Y, safe(best, &h), R, (long long)bc);
        free(h);
        json_object_set_new(counts, best, json_integer(0));
    }
    fputc('\n', f);
    json_decref(counts);
}

static void fmt_duration(int64_t ms, char *buf, size_t n) {
    int64_t s = ms / 1000;
    if (s < 60) snprintf(buf, n, "%llds", (long long)s);
    else if (s < 3600) snprintf(buf, n, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else snprintf(buf, n, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

/* The key values of AdditionalData, short: "userNameArr=alice,bob". */
static char *key_values(const json_t *data) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) return NULL;
    const char *k;
    json_t *v;
    int first = 1;
    json_object_foreach((json_t *)data, k, v) {
        if (json_is_null(v) || json_is_object(v)) continue;
        char *t;
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            fprintf(f, "%s%s=", first ? "" : " ", k);
            /* a table row shows the first few; json and the web page have all */
            json_array_foreach(v, i, e) {
                if (i == 5) {
                    fprintf(f, ",...(%zu more)", json_array_size(v) - 5);
                    break;
                }
                t = json_is_object(e) ? json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER) : tm_value_text(e);
                fprintf(f, "%s%s", i ? "," : "", t ? t : "");
                free(t);
            }
        } else {
            t = tm_value_text(v);
            fprintf(f, "%s%s=%s", first ? "" : " ", k, t ? t : "");
            free(t);
        }
        first = 0;
    }
    fclose(f);
    return out;
}

int tm_output_table(FILE *f, const tm_sessview *s, size_t n, const tm_table_opts *o) {
    const char *G = o->color ? "\033[32m" : "", *Y = o->color ? "\033[33m" : "", *B = o->color ? "\033[1m" : "",
               *D = o->color ? "\033[2m" : "", *R = o->color ? "\033[0m" : "";
    for (size_t k = 0; k < n; k++) {
        const tm_sessview *v = &s[k];
        char *h[4];
        fprintf(f, "%sSession %s%s  (%zu events, rules %s)\n", B, safe(v->key, &h[0]), R, v->nevents, v->rules_version);
        free(h[0]);
        fprintf(f, "%s%-20s %8s %6s  %-15s %s%s\n", D, "TIME", "DURATION", "EVENTS", "SERVICE", "SIGNAL", R);
        size_t suppressed = 0, suppressed_events = 0;
        for (size_t i = 0; i < v->nsigs; i++) {
            const tm_sigview *sg = &v->sigs[i];
            if (sg->suppressed && !o->show_suppressed) {
                suppressed++;
                suppressed_events += (size_t)sg->event_count;
                continue;
            }
            char t[32], dur[32];
            tm_time_format(sg->event_time_ms, t);
            fmt_duration(sg->last_ms - sg->first_ms, dur, sizeof(dur));
            fprintf(f, "%-20s %8s %6d  %-15s %s%s%s\n", t, dur, sg->event_count, safe(sg->service, &h[0]), G,
                    safe(sg->name, &h[1]), R);
            fprintf(f, "%-47s %s\n", "", safe(sg->summary, &h[2]));
            for (int x = 0; x < 3; x++) free(h[x]);
            if (sg->data) {
                char *kv = key_values(sg->data);
                if (kv && *kv) {
                    fprintf(f, "%-47s %s%s%s\n", "", D, safe(kv, &h[3]), R);
                    free(h[3]);
                }
                free(kv);
            }
        }
        if (suppressed)
            fprintf(f, "%s(%zu background signals of %zu events hidden; --all shows them)%s\n", D, suppressed,
                    suppressed_events, R);
        fprintf(f, "%s%zu events, %zu signals, %.1f%% of events mapped%s\n", B, v->nevents, v->nsigs,
                v->nevents ? 100.0 * (double)v->nmapped / (double)v->nevents : 100.0, R);
        /* changes first, on a line of their own: they must not hide among reads */
        unmapped_line(f, v, 1, "Unmapped writes:", Y, R);
        unmapped_line(f, v, 0, "Unmapped:", Y, R);
        if (k + 1 < n) fputc('\n', f);
    }
    return ferror(f) ? TM_EIO : 0;
}

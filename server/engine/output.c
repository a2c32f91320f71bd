/* output.c: write mapped sessions. */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "value.h"

/* ---- shared pieces ---- */

static json_t *time_json(int64_t ms) {
    char t[32];
    tm_time_format(ms, t);
    return json_string(t);
}

/* Event ids and distinct names of a signal's events, in time order. */
static void signal_events(const tm_mapping *m, size_t sig, json_t **ids, json_t **names, size_t *count) {
    char *idv = NULL, *nmv = NULL;
    size_t idl = 0, nml = 0;
    FILE *fi = open_memstream(&idv, &idl), *fn = open_memstream(&nmv, &nml);
    json_t *seen = json_object();
    size_t n = 0;
    for (size_t j = 0; j < m->nevents; j++) {
        if (m->signal_of[j] != (int)sig) continue;
        const tm_event *e = m->events[j];
        if (fi) fprintf(fi, "%s%s", n ? "," : "", e->id);
        if (fn && seen && !json_object_get(seen, e->name_full)) {
            fprintf(fn, "%s%s", json_object_size(seen) ? "," : "", e->name_full);
            json_object_set_new(seen, e->name_full, json_true());
        }
        n++;
    }
    if (fi) fclose(fi);
    if (fn) fclose(fn);
    *ids = json_string(idv ? idv : "");
    *names = json_string(nmv ? nmv : "");
    if (count) *count = n;
    free(idv);
    free(nmv);
    json_decref(seen);
}

json_t *tm_output_signal_cartographer(const tm_mapping *m, size_t sig) {
    const tm_signal *s = &m->signals[sig];
    const tm_label *l = &m->rs->labels[s->label];
    json_t *ids, *names;
    signal_events(m, sig, &ids, &names, NULL);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:i, s:o, s:o, s:o, s:o}",
                     "CorrelationId", m->events[s->first]->id, "Label", l->name, "Name", l->title,
                     "Summary", s->r.summary ? s->r.summary : "", "Url", s->r.url ? s->r.url : "",
                     "AdditionalData", s->r.data ? s->r.data : json_null(), "EventCount", s->event_count,
                     "FirstEventTime", time_json(s->first_ms), "LastEventTime", time_json(s->last_ms),
                     "AllEventArr", names, "AllEventIdArr", ids);
}

static int dump(FILE *f, json_t *doc) {
    if (!doc) return TM_ENOMEM;
    int rc = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? TM_EIO : 0;
    json_decref(doc);
    if (!rc && fputc('\n', f) == EOF) rc = TM_EIO;
    return rc;
}

int tm_output_cartographer(FILE *f, const tm_session_out *s, size_t n) {
    json_t *doc = json_object();
    for (size_t k = 0; doc && k < n; k++) {
        size_t *order;
        size_t cnt = tm_mapping_timeline(s[k].m, &order);
        for (size_t i = 0; i < cnt; i++) {
            json_t *sig = tm_output_signal_cartographer(s[k].m, order[i]);
            if (!sig) continue;
            json_object_set_new(doc, json_string_value(json_object_get(sig, "CorrelationId")), sig);
        }
        free(order);
    }
    return dump(f, doc);
}

/* ---- trailmap json ---- */

static json_t *labels_json(const tm_mapping *m, size_t j) {
    json_t *a = json_array();
    for (size_t k = 0; a && k < m->labels[j].n; k++)
        json_array_append_new(a, json_string(m->rs->labels[m->labels[j].v[k]].name));
    return a;
}

static size_t mapped_count(const tm_mapping *m) {
    size_t n = 0;
    for (size_t j = 0; j < m->nevents; j++) n += m->signal_of[j] >= 0;
    return n;
}

int tm_output_json(FILE *f, const tm_session_out *s, size_t n) {
    json_t *sessions = json_array();
    const char *version = n ? s[0].m->rs->version : "";
    for (size_t k = 0; sessions && k < n; k++) {
        const tm_mapping *m = s[k].m;
        json_t *sigs = json_array(), *unmapped = json_array();
        size_t *order;
        size_t cnt = tm_mapping_timeline(m, &order);
        for (size_t i = 0; sigs && i < cnt; i++) {
            const tm_signal *sg = &m->signals[order[i]];
            const tm_label *l = &m->rs->labels[sg->label];
            json_t *ids, *names;
            size_t nev;
            signal_events(m, order[i], &ids, &names, &nev);
            json_t *idarr = json_array();
            for (size_t j = 0; idarr && j < m->nevents; j++)
                if (m->signal_of[j] == (int)order[i]) json_array_append_new(idarr, json_string(m->events[j]->id));
            json_decref(ids);
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:s, s:b, s:o}",
                                  "correlationId", m->events[sg->first]->id, "label", l->name, "service", l->service,
                                  "name", l->title, "summary", sg->r.summary ? sg->r.summary : "",
                                  "url", sg->r.url ? sg->r.url : "", "additionalData", sg->r.data ? sg->r.data : json_null(),
                                  "eventTime", time_json(m->events[sg->anchor]->time_ms),
                                  "firstEventTime", time_json(sg->first_ms), "lastEventTime", time_json(sg->last_ms),
                                  "eventCount", (json_int_t)nev, "durationSeconds", (json_int_t)((sg->last_ms - sg->first_ms) / 1000),
                                  "eventNames", names, "eventIds", idarr,
                                  "anchorEventId", m->events[sg->anchor]->id,
                                  "suppressed", (l->flags & TM_FLAG_SUPPRESSED) != 0,
                                  "labelsTried", labels_json(m, sg->anchor));
            if (o && sg->label != sg->source_label)
                json_object_set_new(o, "sourceLabel", json_string(m->rs->labels[sg->source_label].name));
            if (o && (int)nev != sg->event_count)
                json_object_set_new(o, "referenceEventCount", json_integer(sg->event_count));
            if (o) json_array_append_new(sigs, o);
        }
        free(order);
        for (size_t j = 0; unmapped && j < m->nevents; j++) {
            if (m->signal_of[j] >= 0) continue;
            const tm_event *e = m->events[j];
            json_array_append_new(unmapped, json_pack("{s:s, s:o, s:s, s:o}", "eventId", e->id, "eventTime",
                                                      time_json(e->time_ms), "eventName", e->name_full, "labels", labels_json(m, j)));
        }
        size_t mapped = mapped_count(m);
        json_t *sess = json_pack("{s:s, s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:o}", "session", s[k].key,
                                 "events", (json_int_t)m->nevents, "mappedEvents", (json_int_t)mapped,
                                 "signalCount", (json_int_t)cnt, "mappedShare", m->nevents ? (double)mapped / (double)m->nevents : 1.0,
                                 "firstEventTime", m->nevents ? time_json(m->events[0]->time_ms) : json_null(),
                                 "lastEventTime", m->nevents ? time_json(m->events[m->nevents - 1]->time_ms) : json_null(),
                                 "signals", sigs, "unmappedEvents", unmapped);
        if (sess) json_array_append_new(sessions, sess);
    }
    return dump(f, json_pack("{s:s, s:o}", "rulesVersion", version, "sessions", sessions));
}

/* ---- enriched JSON lines ---- */

int tm_output_jsonl(FILE *f, const tm_session_out *s, size_t n) {
    for (size_t k = 0; k < n; k++) {
        const tm_mapping *m = s[k].m;
        for (size_t j = 0; j < m->nevents; j++) {
            const tm_event *e = m->events[j];
            json_t *sig = json_null();
            if (m->signal_of[j] >= 0) {
                const tm_signal *sg = &m->signals[m->signal_of[j]];
                sig = json_pack("{s:s, s:s, s:s}", "label", m->rs->labels[sg->label].name, "name",
                                m->rs->labels[sg->label].title, "correlationId", m->events[sg->first]->id);
            }
            json_t *tm = json_pack("{s:s, s:o, s:o}", "session", s[k].key, "labels", labels_json(m, j), "signal", sig);
            char *add = tm ? json_dumps(tm, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(tm);
            if (!add) return TM_ENOMEM;
            /* The raw record, unchanged, with one member added before its closing brace. */
            size_t len = e->raw_len;
            while (len > 0 && strchr(" \t\r\n", e->raw[len - 1])) len--;
            if (len > 0 && e->raw[len - 1] == '}') len--;
            size_t body = len;
            while (body > 0 && strchr(" \t\r\n", e->raw[body - 1])) body--;
            int empty = body > 0 && e->raw[body - 1] == '{';
            /* a record spread over lines is written on one line: newlines
             * between tokens become spaces, so the JSON text stays the same value */
            for (size_t c = 0; c < len; c++) {
                char ch = e->raw[c];
                if (fputc(ch == '\n' || ch == '\r' ? ' ' : ch, f) == EOF) {
                    free(add);
                    return TM_EIO;
                }
            }
            fprintf(f, "%s\"trailmap\":%s}\n", empty ? "" : ",", add);
            free(add);
        }
    }
    return ferror(f) ? TM_EIO : 0;
}

/* ---- table ---- */

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
            json_array_foreach(v, i, e) {
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

int tm_output_table(FILE *f, const tm_session_out *s, size_t n, const tm_table_opts *o) {
    const char *G = o->color ? "\033[32m" : "", *Y = o->color ? "\033[33m" : "", *B = o->color ? "\033[1m" : "",
               *D = o->color ? "\033[2m" : "", *R = o->color ? "\033[0m" : "";
    for (size_t k = 0; k < n; k++) {
        const tm_mapping *m = s[k].m;
        size_t *order;
        size_t cnt = tm_mapping_timeline(m, &order);
        fprintf(f, "%sSession %s%s  (%zu events, rules %s)\n", B, s[k].key, R, m->nevents, m->rs->version);
        fprintf(f, "%s%-20s %8s %6s  %-15s %s%s\n", D, "TIME", "DURATION", "EVENTS", "SERVICE", "SIGNAL", R);
        size_t suppressed = 0, suppressed_events = 0;
        for (size_t i = 0; i < cnt; i++) {
            const tm_signal *sg = &m->signals[order[i]];
            const tm_label *l = &m->rs->labels[sg->label];
            size_t nev = 0;
            for (size_t j = 0; j < m->nevents; j++) nev += m->signal_of[j] == (int)order[i];
            if ((l->flags & TM_FLAG_SUPPRESSED) && !o->show_suppressed) {
                suppressed++;
                suppressed_events += nev;
                continue;
            }
            char t[32], dur[32];
            tm_time_format(m->events[sg->anchor]->time_ms, t);
            fmt_duration(sg->last_ms - sg->first_ms, dur, sizeof(dur));
            fprintf(f, "%-20s %8s %6zu  %-15s %s%s%s\n", t, dur, nev, l->service, G, l->title, R);
            fprintf(f, "%-47s %s\n", "", sg->r.summary ? sg->r.summary : "");
            if (sg->r.data) {
                char *kv = key_values(sg->r.data);
                if (kv && *kv) fprintf(f, "%-47s %s%s%s\n", "", D, kv, R);
                free(kv);
            }
        }
        free(order);
        if (suppressed)
            fprintf(f, "%s(%zu background signals of %zu events hidden; --all shows them)%s\n", D, suppressed,
                    suppressed_events, R);
        size_t mapped = mapped_count(m);
        fprintf(f, "%s%zu events, %zu signals, %.1f%% of events mapped%s\n", B, m->nevents, cnt,
                m->nevents ? 100.0 * (double)mapped / (double)m->nevents : 100.0, R);
        if (mapped < m->nevents) {
            json_t *counts = json_object();
            for (size_t j = 0; counts && j < m->nevents; j++) {
                if (m->signal_of[j] >= 0) continue;
                const char *nm = m->events[j]->name_full;
                json_t *c = json_object_get(counts, nm);
                json_object_set_new(counts, nm, json_integer(c ? json_integer_value(c) + 1 : 1));
            }
            fprintf(f, "%sUnmapped:%s", Y, R);
            const char *nm;
            json_t *c;
            json_object_foreach(counts, nm, c) fprintf(f, " %s%s%s x%lld", Y, nm, R, (long long)json_integer_value(c));
            fputc('\n', f);
            json_decref(counts);
        }
        if (k + 1 < n) fputc('\n', f);
    }
    return ferror(f) ? TM_EIO : 0;
}

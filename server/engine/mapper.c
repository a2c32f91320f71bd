/* mapper.c: the signal loop (window gathering, required sets, overrides,
 * rewrites of the previous signal, merges). */
#include "mapper.h"

#include <stdlib.h>
#include <string.h>

#include "additions.h"
#include "origin.h"
#include "overrides.h"
#include "rulesInt.h"

typedef struct state {
    tm_mapping *m;
    int *contrib;     /* per event: taken by a signal */
    int *is_anchor;
    size_t *hist;     /* signal indices, oldest first */
    size_t nhist;
    json_t *hist_json; /* the same, as pipelines see them */
    tm_error *err;
} state;

static int has_label(const tm_labels *l, int id) {
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == id) return 1;
    return 0;
}

static int in_strs(const tm_strs *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], name) == 0) return 1;
    return 0;
}

static json_t *hist_entry(const state *st, size_t sig) {
    const tm_signal *s = &st->m->signals[sig];
    const tm_event *a = st->m->events[s->anchor];
    char t[32];
    tm_time_format(a->time_ms, t);
    return json_pack("{s:s, s:O, s:s, s:s}", "label", st->m->rs->labels[s->label].name, "data",
                     s->r.data ? s->r.data : json_null(), "awsRegion", a->region ? a->region : "", "eventTime", t);
}

/* The history as override conditions see it. */
static tm_histent *hist_view(const state *st, size_t n) {
    tm_histent *h = calloc(n + 1, sizeof(*h));
    if (!h) return NULL;
    for (size_t k = 0; k < n; k++) {
        const tm_signal *s = &st->m->signals[st->hist[k]];
        h[k].label = s->label;
        h[k].anchor = st->m->events[s->anchor];
        h[k].first_ms = s->first_ms;
        h[k].last_ms = s->last_ms;
        h[k].event_count = s->event_count;
    }
    return h;
}

/* New-Signal: marks the events and renders.  hist_n: how much of the
 * history existed for this signal. */
static int make_signal(state *st, size_t sig, int label, size_t anchor, const size_t *rel, size_t nrel,
                       size_t hist_n) {
    tm_mapping *m = st->m;
    tm_event **evs = calloc(nrel + 1, sizeof(*evs));
    if (!evs) return tm_error_set(st->err, TM_ENOMEM, "out of memory");
    for (size_t k = 0; k < nrel; k++) {
        st->contrib[rel[k]] = 1;
        m->signal_of[rel[k]] = (int)sig;
        evs[k] = m->events[rel[k]];
    }
    json_t *hist = json_array();
    for (size_t k = 0; hist && k < hist_n; k++) json_array_append(hist, json_array_get(st->hist_json, k));
    tm_signal *s = &m->signals[sig];
    tm_rendered_clear(&s->r);
    s->label = label;
    s->anchor = anchor;
    s->first = rel[0];
    s->event_count = (int)nrel;
    s->first_ms = m->events[rel[0]]->time_ms;
    s->last_ms = m->events[rel[nrel - 1]]->time_ms;
    int rc = hist ? tm_render_signal(&m->rs->labels[label], m->events[anchor], evs, nrel, hist, &s->r, st->err)
                  : tm_error_set(st->err, TM_ENOMEM, "out of memory");
    json_decref(hist);
    free(evs);
    return rc;
}

/* Update-Signal: re-makes history entry hk under a new label, from the
 * events before index i that carry its correlation. */
static int update_signal(state *st, size_t hk, int label, size_t i) {
    tm_mapping *m = st->m;
    size_t sig = st->hist[hk];
    tm_signal *s = &m->signals[sig];
    size_t *rel = calloc(i + 1, sizeof(*rel)), n = 0;
    if (!rel) return tm_error_set(st->err, TM_ENOMEM, "out of memory");
    for (size_t j = i; j-- > 0;) {
        if (m->events[j]->time_ms < s->first_ms) break;
        if (m->signal_of[j] == (int)sig) rel[n++] = j;
    }
    int rc = 0;
    if (n) {
        for (size_t a = 0, b = n - 1; a < b; a++, b--) {
            size_t t = rel[a];
            rel[a] = rel[b];
            rel[b] = t;
        }
        rc = make_signal(st, sig, label, s->anchor, rel, n, hk);
        if (!rc) {
            json_t *e = hist_entry(st, sig);
            if (!e || json_array_set_new(st->hist_json, hk, e)) rc = tm_error_set(st->err, TM_ENOMEM, "out of memory");
        }
    }
    free(rel);
    return rc;
}

static void merge(state *st, size_t into_hk, size_t from_hk) {
    tm_mapping *m = st->m;
    size_t a = st->hist[into_hk], b = st->hist[from_hk];
    tm_signal *A = &m->signals[a], *B = &m->signals[b];
    if (B->first_ms < A->first_ms) A->first_ms = B->first_ms;
    if (B->last_ms > A->last_ms) A->last_ms = B->last_ms;
    for (size_t j = 0; j < m->nevents; j++)
        if (m->signal_of[j] == (int)b) m->signal_of[j] = (int)a;
    B->merged_into = (int)a;
    memmove(&st->hist[from_hk], &st->hist[from_hk + 1], (st->nhist - from_hk - 1) * sizeof(*st->hist));
    st->nhist--;
    json_array_remove(st->hist_json, from_hk);
}

static int run_overrides_after(state *st, size_t sig, size_t i) {
    tm_mapping *m = st->m;
    const tm_ruleset *rs = m->rs;
    int label = m->signals[sig].label;
    /* rewrite of the previous signal (first match) */
    if (st->nhist > 0) {
        int prev = m->signals[st->hist[st->nhist - 1]].label;
        for (size_t k = 0; k < rs->noverrides; k++) {
            const tm_override *o = &rs->overrides[k];
            if (o->stage != TM_OV_REWRITE_PREV || o->prev_label != prev) continue;
            int cur = 0;
            for (size_t c = 0; c < o->ncurrent_in; c++)
                if (o->current_in[c] == label) cur = 1;
            if (!cur) continue;
            int rc = update_signal(st, st->nhist - 1, o->to, i);
            if (rc) return rc;
            break;
        }
    }
    if (!(rs->labels[label].flags & TM_FLAG_NO_HISTORY)) {
        json_t *e = hist_entry(st, sig);
        if (!e || json_array_append_new(st->hist_json, e)) return tm_error_set(st->err, TM_ENOMEM, "out of memory");
        st->hist[st->nhist++] = sig;
        /* merges (first match) */
        tm_histent *h = hist_view(st, st->nhist);
        if (!h) return tm_error_set(st->err, TM_ENOMEM, "out of memory");
        tm_ctxenv env = {rs, h, st->nhist, NULL};
        for (size_t k = 0; k < rs->noverrides; k++) {
            const tm_override *o = &rs->overrides[k];
            if (o->stage != TM_OV_MERGE) continue;
            if ((size_t)(-o->from) > st->nhist || (size_t)(-o->into) > st->nhist) continue;
            if (o->cond && !tm_ctx_eval(o->cond, &env)) continue;
            merge(st, st->nhist - (size_t)(-o->into), st->nhist - (size_t)(-o->from));
            break;
        }
        free(h);
    }
    return 0;
}

/* Tries label L on anchor event i.  *done is set when L's required set was
 * satisfied: the label search of this event ends there, signal or not. */
static int try_label(state *st, size_t i, int L, int *done) {
    tm_mapping *m = st->m;
    const tm_ruleset *rs = m->rs;
    const tm_label *lab = &rs->labels[L];
    const tm_event *e = m->events[i];
    *done = 0;
    if (!lab->anchor.star && !in_strs(&lab->anchor, e->name_full)) return 0;

    int64_t lo = e->time_ms - (int64_t)(lab->back * 1000.0), hi = e->time_ms + (int64_t)(lab->ahead * 1000.0);
    size_t first = i, last = i;
    while (first > 0 && m->events[first - 1]->time_ms >= lo) first--;
    while (last + 1 < m->nevents && m->events[last + 1]->time_ms <= hi) last++;
    size_t *rel = calloc(last - first + 2, sizeof(*rel)), n = 0;
    if (!rel) return tm_error_set(st->err, TM_ENOMEM, "out of memory");
    for (size_t j = first; j <= last; j++) {
        if (j != i && (st->contrib[j] || !has_label(&m->labels[j], L))) continue;
        const char *nm = m->events[j]->name_full;
        /* events of names the label does not handle are dropped */
        if (!lab->required.star && !in_strs(&lab->anchor, nm) && !in_strs(&lab->required, nm) &&
            !in_strs(&lab->optional, nm))
            continue;
        rel[n++] = j;
    }
    int ok = 1;
    if (!lab->required.star) {
        for (size_t r = 0; r < lab->required.n && ok; r++) {
            int found = 0;
            for (size_t k = 0; k < n && !found; k++)
                if (strcmp(m->events[rel[k]]->name_full, lab->required.v[r]) == 0) found = 1;
            ok = found;
        }
    }
    if (!ok) {
        free(rel);
        return 0;
    }
    *done = 1;

    size_t anchor = i;
    if (lab->flags & TM_FLAG_ONE_PER_EVENT) {
        n = 1;
    } else {
        size_t w = 0;
        for (size_t k = 0; k < n; k++) {
            const char *nm = m->events[rel[k]]->name_full;
            if (in_strs(&lab->required, nm) || in_strs(&lab->optional, nm)) rel[w++] = rel[k];
        }
        n = w;
        int found = 0;
        for (size_t k = 0; k < n && !found; k++)
            if (lab->anchor.star || in_strs(&lab->anchor, m->events[rel[k]]->name_full)) {
                anchor = rel[k];
                found = 1;
            }
        if (!found) {
            free(rel);
            return 0;
        }
    }

    /* pre-creation rewrites (first match), then drops */
    tm_histent *h = hist_view(st, st->nhist);
    tm_event **evs = calloc(n + 1, sizeof(*evs));
    if (!h || !evs) {
        free(h);
        free(evs);
        free(rel);
        return tm_error_set(st->err, TM_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++) evs[k] = m->events[rel[k]];
    tm_pipectx pc = {m->events[anchor], evs, n, st->hist_json, NULL, NULL};
    tm_ctxenv env = {rs, h, st->nhist, &pc};
    int label = L;
    for (size_t k = 0; k < rs->noverrides; k++) {
        const tm_override *o = &rs->overrides[k];
        if (o->stage != TM_OV_REWRITE || o->label != label) continue;
        if (o->cond && !tm_ctx_eval(o->cond, &env)) continue;
        label = o->to;
        break;
    }
    int dropped = 0;
    for (size_t k = 0; k < rs->noverrides && !dropped; k++) {
        const tm_override *o = &rs->overrides[k];
        if (o->stage == TM_OV_DROP && o->label == label && (!o->cond || tm_ctx_eval(o->cond, &env))) dropped = 1;
    }
    free(h);
    free(evs);
    int rc = 0;
    if (!dropped) {
        tm_signal *s = tm_mapping_new_signal(m);
        if (!s) rc = tm_error_set(st->err, TM_ENOMEM, "out of memory");
        else {
            size_t sig = (size_t)(s - m->signals);
            s->source_label = L;
            rc = make_signal(st, sig, label, anchor, rel, n, st->nhist);
            if (!rc) rc = run_overrides_after(st, sig, i);
        }
    }
    free(rel);
    return rc;
}

int tm_map(tm_ruleset *rs, tm_event **events, size_t n, tm_mapping **out, tm_error *err) {
    tm_mapping *m = calloc(1, sizeof(*m));
    state st = {0};
    if (!m) return tm_error_set(err, TM_ENOMEM, "out of memory");
    m->rs = tm_rules_ref(rs);
    m->events = events;
    m->nevents = n;
    m->labels = calloc(n + 1, sizeof(*m->labels));
    m->origin = calloc(n + 1, sizeof(*m->origin));
    m->signal_of = calloc(n + 1, sizeof(*m->signal_of));
    st.m = m;
    st.err = err;
    st.contrib = calloc(n + 1, sizeof(*st.contrib));
    st.is_anchor = calloc(n + 1, sizeof(*st.is_anchor));
    st.hist = calloc(n + 1, sizeof(*st.hist));
    st.hist_json = json_array();
    int rc = 0;
    if (!m->labels || !m->origin || !m->signal_of || !st.contrib || !st.is_anchor || !st.hist || !st.hist_json) {
        rc = tm_error_set(err, TM_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        m->signal_of[i] = -1;
        m->origin[i] = (unsigned char)tm_origin_of(rs, events[i]);
        /* console labels never apply to what an API client did */
        if (m->origin[i] == TM_ORIGIN_API) continue;
        if ((rc = tm_label_event(rs, events[i], &m->labels[i]))) {
            tm_error_set(err, rc, "out of memory");
            goto done;
        }
        for (size_t k = 0; k < m->labels[i].n && !st.is_anchor[i]; k++) {
            const tm_label *l = &rs->labels[m->labels[i].v[k]];
            if (l->anchor.star || in_strs(&l->anchor, events[i]->name_full)) st.is_anchor[i] = 1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!st.is_anchor[i] || st.contrib[i]) continue;
        for (size_t k = 0; k < m->labels[i].n; k++) {
            int done = 0;
            if ((rc = try_label(&st, i, m->labels[i].v[k], &done))) goto done;
            if (done) break;
        }
    }
    rc = tm_additions_map(m, err);
done:
    free(st.contrib);
    free(st.is_anchor);
    free(st.hist);
    json_decref(st.hist_json);
    if (rc) {
        tm_mapping_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* overrides.c: compile and evaluate override conditions. */
#include "overrides.h"

#include <stdlib.h>
#include <string.h>

#include "label.h"
#include "rulesInt.h"
#include "value.h"

typedef enum { C_ALL, C_ANY, C_NOT, C_SIG, C_GAP, C_SCAN, C_COUNT } ctx_kind;
typedef enum { L_ANY, L_EQ, L_IN, L_PREFIX, L_SUFFIX } label_test;

struct tm_ctx {
    ctx_kind kind;
    tm_ctx **kids;
    size_t nkids;
    /* C_SIG (also the atoms of scan's stop/match, with sig 0) */
    int sig;
    label_test lt;
    char **labels; /* names (prefix/suffix) */
    size_t nlabels;
    char *suffix;  /* label_prefix + label_suffix together */
    json_t *event_count_in;
    tm_pred *anchor;
    /* C_GAP */
    int a, b, anchor_measure;
    double le;
    /* C_SCAN */
    double max_age_s;
    int always_last;
    tm_ctx *stop, *match;
    /* C_COUNT */
    tm_pipeline *count;
    long gt;
};

void tm_ctx_free(tm_ctx *c) {
    if (!c) return;
    for (size_t i = 0; i < c->nkids; i++) tm_ctx_free(c->kids[i]);
    free(c->kids);
    for (size_t i = 0; i < c->nlabels; i++) free(c->labels[i]);
    free(c->labels);
    free(c->suffix);
    json_decref(c->event_count_in);
    tm_pred_free(c->anchor);
    tm_ctx_free(c->stop);
    tm_ctx_free(c->match);
    tm_pipeline_free(c->count);
    free(c);
}

static int add_label_name(tm_ctx *c, const tm_jdoc *doc, json_t *v, const tm_ruleset *rs, int must_exist,
                          tm_errlist *errs) {
    if (!json_is_string(v)) {
        tm_errlist_add(errs, doc, v, 0, "a label name must be a string");
        return -1;
    }
    if (must_exist && tm_rules_label(rs, json_string_value(v)) < 0) {
        tm_errlist_add(errs, doc, v, 0, "unknown label \"%s\"", json_string_value(v));
        return -1;
    }
    char **nl = realloc(c->labels, (c->nlabels + 1) * sizeof(*nl));
    if (!nl) return tm_errlist_nomem(errs);
    c->labels = nl;
    if (!(c->labels[c->nlabels] = strdup(json_string_value(v)))) return tm_errlist_nomem(errs);
    c->nlabels++;
    return 0;
}

static tm_ctx *compile(const tm_jdoc *doc, json_t *spec, const tm_ruleset *rs, int in_scan, tm_errlist *errs);

static int compile_kids(tm_ctx *c, const tm_jdoc *doc, json_t *list, const tm_ruleset *rs, int in_scan,
                        tm_errlist *errs) {
    if (!json_is_array(list) || json_array_size(list) == 0) {
        tm_errlist_add(errs, doc, list, 0, "all/any need a non-empty list of conditions");
        return -1;
    }
    c->kids = calloc(json_array_size(list), sizeof(*c->kids));
    if (!c->kids) return tm_errlist_nomem(errs);
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(list, i, e) {
        tm_ctx *k = compile(doc, e, rs, in_scan, errs);
        if (!k) bad = 1;
        else c->kids[c->nkids++] = k;
    }
    return bad ? -1 : 0;
}

static tm_ctx *compile(const tm_jdoc *doc, json_t *spec, const tm_ruleset *rs, int in_scan, tm_errlist *errs) {
    if (!json_is_object(spec)) {
        tm_errlist_add(errs, doc, spec, 0, "a condition must be an object");
        return NULL;
    }
    tm_ctx *c = calloc(1, sizeof(*c));
    if (!c) return tm_errlist_nomem(errs), NULL;
    json_t *x;
    const char *key;
    json_t *v;
    if ((x = json_object_get(spec, "all")) || (x = json_object_get(spec, "any"))) {
        c->kind = json_object_get(spec, "all") ? C_ALL : C_ANY;
        if (compile_kids(c, doc, x, rs, in_scan, errs)) goto fail;
        return c;
    }
    if ((x = json_object_get(spec, "not"))) {
        c->kind = C_NOT;
        c->kids = calloc(1, sizeof(*c->kids));
        if (!c->kids) goto oom;
        if (!(c->kids[0] = compile(doc, x, rs, in_scan, errs))) goto fail;
        c->nkids = 1;
        return c;
    }
    if ((x = json_object_get(spec, "gap_s"))) {
        c->kind = C_GAP;
        json_t *m = json_object_get(spec, "measure"), *le = json_object_get(spec, "le");
        if (!json_is_array(x) || json_array_size(x) != 2 || !json_is_integer(json_array_get(x, 0)) ||
            !json_is_integer(json_array_get(x, 1))) {
            tm_errlist_add(errs, doc, x, 0, "\"gap_s\" takes [A, B], two history indices");
            goto fail;
        }
        if (!json_is_string(m) || (strcmp(json_string_value(m), "anchor") && strcmp(json_string_value(m), "last_to_first"))) {
            tm_errlist_add(errs, doc, m ? m : spec, 0, "\"measure\" is \"anchor\" or \"last_to_first\"");
            goto fail;
        }
        if (!json_is_number(le)) {
            tm_errlist_add(errs, doc, spec, 0, "\"gap_s\" needs \"le\": SECONDS");
            goto fail;
        }
        c->a = (int)json_integer_value(json_array_get(x, 0));
        c->b = (int)json_integer_value(json_array_get(x, 1));
        c->anchor_measure = strcmp(json_string_value(m), "anchor") == 0;
        c->le = json_number_value(le);
        return c;
    }
    if ((x = json_object_get(spec, "scan_prev"))) {
        c->kind = C_SCAN;
        json_t *age = json_object_get(x, "max_age_s"), *last = json_object_get(x, "always_last");
        json_t *stop = json_object_get(x, "stop"), *match = json_object_get(x, "match");
        if (!json_is_number(age) || !json_is_integer(last) || !match) {
            tm_errlist_add(errs, doc, x, 0, "\"scan_prev\" needs max_age_s, always_last, match (and optionally stop)");
            goto fail;
        }
        c->max_age_s = json_number_value(age);
        c->always_last = (int)json_integer_value(last);
        if (stop && !(c->stop = compile(doc, stop, rs, 1, errs))) goto fail;
        if (!(c->match = compile(doc, match, rs, 1, errs))) goto fail;
        return c;
    }
    if ((x = json_object_get(spec, "count"))) {
        c->kind = C_COUNT;
        json_t *gt = json_object_get(spec, "gt");
        if (!json_is_integer(gt)) {
            tm_errlist_add(errs, doc, spec, 0, "\"count\" needs \"gt\": N");
            goto fail;
        }
        c->gt = (long)json_integer_value(gt);
        json_t *known = json_object();
        if (!known) goto oom;
        c->count = tm_pipeline_compile(doc, x, known, errs);
        json_decref(known);
        if (!c->count) goto fail;
        return c;
    }
    /* a signal atom */
    c->kind = C_SIG;
    json_t *sig = json_object_get(spec, "sig");
    if (!in_scan) {
        if (!json_is_integer(sig) || json_integer_value(sig) >= 0) {
            tm_errlist_add(errs, doc, spec, 0, "a signal condition needs \"sig\": -1, -2 or -3 (the history, newest first)");
            goto fail;
        }
        c->sig = (int)json_integer_value(sig);
    } else if (sig) {
        tm_errlist_add(errs, doc, sig, 1, "conditions inside scan_prev name no \"sig\"");
        goto fail;
    }
    json_object_foreach(spec, key, v) {
        if (!strcmp(key, "sig") || !strcmp(key, "note")) continue;
        if (!strcmp(key, "label")) {
            c->lt = L_EQ;
            if (add_label_name(c, doc, v, rs, 0, errs)) goto fail;
        } else if (!strcmp(key, "label_in")) {
            c->lt = L_IN;
            size_t i;
            json_t *e;
            if (!json_is_array(v)) {
                tm_errlist_add(errs, doc, v, 0, "\"label_in\" takes a list of labels");
                goto fail;
            }
            json_array_foreach(v, i, e) if (add_label_name(c, doc, e, rs, 1, errs)) goto fail;
        } else if (!strcmp(key, "label_prefix")) {
            if (c->lt != L_ANY && c->lt != L_SUFFIX) goto dup;
            if (c->lt == L_SUFFIX) { /* prefix + suffix: keep the suffix aside */
                c->suffix = c->labels[0];
                c->nlabels = 0;
            }
            c->lt = L_PREFIX;
            if (add_label_name(c, doc, v, rs, 0, errs)) goto fail;
        } else if (!strcmp(key, "label_suffix")) {
            if (c->lt == L_PREFIX) {
                if (!json_is_string(v)) {
                    tm_errlist_add(errs, doc, v, 0, "a label name must be a string");
                    goto fail;
                }
                if (!(c->suffix = strdup(json_string_value(v)))) goto oom;
            } else {
                c->lt = L_SUFFIX;
                if (add_label_name(c, doc, v, rs, 0, errs)) goto fail;
            }
        } else if (!strcmp(key, "event_count_in")) {
            if (!json_is_array(v)) {
                tm_errlist_add(errs, doc, v, 0, "\"event_count_in\" takes a list of numbers");
                goto fail;
            }
            c->event_count_in = json_incref(v);
        } else if (!strcmp(key, "anchor")) {
            if (!(c->anchor = tm_pred_compile(doc, v, errs))) goto fail;
        } else {
            tm_errlist_add(errs, doc, v, 1, "unknown member \"%s\" in an override condition", key);
            goto fail;
        }
    }
    if (c->lt == L_EQ && tm_rules_label(rs, c->labels[0]) < 0 && c->labels[0][0]) {
        tm_errlist_add(errs, doc, json_object_get(spec, "label"), 0, "unknown label \"%s\"", c->labels[0]);
        goto fail;
    }
    return c;
dup:
    tm_errlist_add(errs, doc, spec, 0, "one label test per condition");
    goto fail;
oom:
    tm_errlist_nomem(errs);
fail:
    tm_ctx_free(c);
    return NULL;
}

tm_ctx *tm_ctx_compile(const tm_jdoc *doc, json_t *spec, const tm_ruleset *rs, tm_errlist *errs) {
    return compile(doc, spec, rs, 0, errs);
}

/* ---- evaluation ---- */

static const tm_histent *hist_at(const tm_ctxenv *env, int idx) {
    if (idx >= 0 || (size_t)(-idx) > env->nhist) return NULL;
    return &env->hist[env->nhist - (size_t)(-idx)];
}

static int label_matches(const tm_ctx *c, const tm_ruleset *rs, const tm_histent *h) {
    const char *name = h ? rs->labels[h->label].name : "";
    switch (c->lt) {
    case L_ANY: return 1;
    case L_EQ: return strcmp(name, c->labels[0]) == 0;
    case L_IN:
        for (size_t i = 0; i < c->nlabels; i++)
            if (strcmp(name, c->labels[i]) == 0) return 1;
        return 0;
    case L_PREFIX: {
        if (strncmp(name, c->labels[0], strlen(c->labels[0])) != 0) return 0;
        if (c->suffix) {
            size_t nl = strlen(name), sl = strlen(c->suffix);
            return nl >= sl && strcmp(name + nl - sl, c->suffix) == 0;
        }
        return 1;
    }
    case L_SUFFIX: {
        size_t nl = strlen(name), sl = strlen(c->labels[0]);
        return nl >= sl && strcmp(name + nl - sl, c->labels[0]) == 0;
    }
    }
    return 0;
}

static int sig_matches(const tm_ctx *c, const tm_ctxenv *env, const tm_histent *h) {
    if (!label_matches(c, env->rs, h)) return 0;
    if (c->event_count_in) {
        if (!h) return 0;
        size_t i;
        json_t *e;
        int ok = 0;
        json_array_foreach(c->event_count_in, i, e) if (json_integer_value(e) == h->event_count) ok = 1;
        if (!ok) return 0;
    }
    if (c->anchor) {
        if (!h || !h->anchor) return 0;
        tm_predctx pc = {h->anchor, h->anchor->json, tm_label_ua_family(env->rs, h->anchor->ua)};
        if (tm_pred_eval(c->anchor, &pc) != TM_TRUE) return 0;
    }
    return 1;
}

/* Evaluates a condition inside scan_prev against one history entry. */
static int eval_on(const tm_ctx *c, const tm_ctxenv *env, const tm_histent *h) {
    switch (c->kind) {
    case C_ALL:
        for (size_t i = 0; i < c->nkids; i++)
            if (!eval_on(c->kids[i], env, h)) return 0;
        return 1;
    case C_ANY:
        for (size_t i = 0; i < c->nkids; i++)
            if (eval_on(c->kids[i], env, h)) return 1;
        return 0;
    case C_NOT: return !eval_on(c->kids[0], env, h);
    case C_SIG: return sig_matches(c, env, h);
    default: return 0;
    }
}

int tm_ctx_eval(const tm_ctx *c, const tm_ctxenv *env) {
    switch (c->kind) {
    case C_ALL:
        for (size_t i = 0; i < c->nkids; i++)
            if (!tm_ctx_eval(c->kids[i], env)) return 0;
        return 1;
    case C_ANY:
        for (size_t i = 0; i < c->nkids; i++)
            if (tm_ctx_eval(c->kids[i], env)) return 1;
        return 0;
    case C_NOT: return !tm_ctx_eval(c->kids[0], env);
    case C_SIG: return sig_matches(c, env, hist_at(env, c->sig));
    case C_GAP: {
        const tm_histent *a = hist_at(env, c->a), *b = hist_at(env, c->b);
        if (!a || !b) return 0;
        int64_t gap = c->anchor_measure ? b->anchor->time_ms - a->anchor->time_ms : b->first_ms - a->last_ms;
        return (double)gap <= c->le * 1000.0;
    }
    case C_SCAN: {
        /* Newest first; an entry older than max_age before the newest signal's
         * anchor ends the walk, except within the last always_last entries. */
        if (env->nhist == 0 || !env->signal || !env->signal->anchor) return 0;
        int64_t now = env->signal->anchor->time_ms;
        for (size_t k = 0; k < env->nhist; k++) {
            const tm_histent *h = &env->hist[env->nhist - 1 - k];
            if ((int)k >= c->always_last && (double)(now - h->anchor->time_ms) > c->max_age_s * 1000.0) return 0;
            if (c->stop && eval_on(c->stop, env, h)) return 0;
            if (eval_on(c->match, env, h)) return 1;
        }
        return 0;
    }
    case C_COUNT: {
        if (!env->signal) return 0;
        json_t *items = NULL;
        tm_error err;
        if (tm_pipeline_run(c->count, env->signal, &items, &err)) return 0;
        tm_vals vals = {0};
        size_t i;
        json_t *e;
        json_array_foreach(items, i, e) tm_vals_push(&vals, e);
        tm_vals_sort_unique(&vals);
        long n = (long)vals.n;
        tm_vals_clear(&vals);
        json_decref(items);
        return n > c->gt;
    }
    }
    return 0;
}

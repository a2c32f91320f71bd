/* additions_rules.c: compiles the signal definitions that have a "kind"
 * (trailmap's own signals, additions.h); rules.c calls it for them. */
#include "additions.h"

#include <stdlib.h>
#include <string.h>

#include "pred.h"
#include "rulesInt.h"
#include "tmpl.h"

static const char *const kind_names[] = {NULL, "signin", "api", "action"};

const char *tm_additions_kind_name(int kind) {
    return kind > TM_KIND_RULE && kind <= TM_KIND_ACTION ? kind_names[kind] : NULL;
}

void tm_additions_free(tm_label *l) {
    tm_pred_free(l->when);
    tm_tmpl_free(l->name_tmpl);
    tm_tmpl_free(l->service_tmpl);
    for (size_t i = 0; i < l->key_params.n; i++) free(l->key_params.v[i]);
    free(l->key_params.v);
}

static int compile_tmpl(const char *what, json_t *def, json_t *known, const tm_jdoc *doc, tm_tmpl **out,
                        char **text, tm_errlist *errs) {
    json_t *v = json_object_get(def, what);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        tm_errlist_add(errs, doc, v ? v : def, 0, "\"%s\" (a template) is required", what);
        return -1;
    }
    if (!(*out = tm_tmpl_compile(json_string_value(v), known, doc, v, errs))) return -1;
    if (text && !(*text = strdup(json_string_value(v)))) return tm_errlist_nomem(errs);
    return 0;
}

static int compile_key_params(tm_label *l, const tm_jdoc *doc, json_t *v, tm_errlist *errs) {
    if (!v) return 0;
    if (!json_is_array(v)) {
        tm_errlist_add(errs, doc, v, 0, "\"key_params\" is a list of parameter-name endings");
        return -1;
    }
    l->key_params.v = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!l->key_params.v) return tm_errlist_nomem(errs);
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s) {
        if (!json_is_string(s) || json_string_length(s) == 0) {
            tm_errlist_add(errs, doc, s, 0, "a key parameter ending is a non-empty string");
            return -1;
        }
        if (!(l->key_params.v[l->key_params.n++] = strdup(json_string_value(s)))) return tm_errlist_nomem(errs);
    }
    return 0;
}

int tm_additions_compile(tm_label *l, const tm_jdoc *doc, json_t *def, tm_errlist *errs) {
    static const char *const members[] = {"label", "kind", "service", "name", "url", "summary", "when",
                                          "gap", "key_params", "description", "references", NULL};
    static const char *const vars[] = {TM_ADDITION_VARS, NULL};
    int bad = tm_errlist_only_members(doc, def, members, errs) ? 1 : 0;
    const char *kind = json_string_value(json_object_get(def, "kind"));
    for (int k = TM_KIND_SIGNIN; kind && k <= TM_KIND_ACTION; k++)
        if (!strcmp(kind, kind_names[k])) l->kind = k;
    if (l->kind == TM_KIND_RULE) {
        tm_errlist_add(errs, doc, json_object_get(def, "kind"), 0, "signal %s: \"kind\" is signin, api or action",
                       l->name);
        return -1;
    }
    json_t *known = json_object();
    if (!known) return tm_errlist_nomem(errs);
    for (size_t i = 0; vars[i]; i++)
        if (json_object_set_new(known, vars[i], json_true())) {
            json_decref(known);
            return tm_errlist_nomem(errs);
        }
    if (compile_tmpl("name", def, known, doc, &l->name_tmpl, &l->title, errs)) bad = 1;
    if (compile_tmpl("service", def, known, doc, &l->service_tmpl, &l->service, errs)) bad = 1;
    if (compile_tmpl("url", def, known, doc, &l->url, &l->url_text, errs)) bad = 1;
    if (compile_tmpl("summary", def, known, doc, &l->summary, &l->summary_text, errs)) bad = 1;
    json_decref(known);
    json_t *when = json_object_get(def, "when");
    if (when && !(l->when = tm_pred_compile(doc, when, errs))) bad = 1;
    json_t *gap = json_object_get(def, "gap");
    l->gap = 300;
    if (gap && (!json_is_number(gap) || json_number_value(gap) < 0)) {
        tm_errlist_add(errs, doc, gap, 0, "\"gap\" is a number of seconds");
        bad = 1;
    } else if (gap) {
        l->gap = json_number_value(gap);
    }
    if (compile_key_params(l, doc, json_object_get(def, "key_params"), errs)) bad = 1;
    /* never emitted by an event rule, so never a candidate of the reference's pass */
    l->anchor.star = l->required.star = 1;
    return bad ? -1 : 0;
}


/* vars.c: compile and run var pipelines (the rule language's variable steps). */
#include "vars.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builtins.h"
#include "pred.h"
#include "bounded_re.h"
#include "value.h"

typedef enum {
    S_ANCHOR, S_RELATED, S_VAR, S_CONST, S_HISTORY, S_GET, S_FILTER, S_STARTS, S_NONEMPTY,
    S_SPLIT_LAST, S_REPLACE, S_MAP, S_OBJ, S_EACH, S_FN, S_FIRST, S_LAST, S_INDEX,
    S_SORT_UNIQUE, S_UNIQUE, S_COUNT, S_EXISTS, S_JOIN, S_ELSE_VAR, S_TEST
} step_kind;

static const struct {
    const char *name;
    step_kind kind;
} step_names[] = {
    {"anchor", S_ANCHOR}, {"related", S_RELATED}, {"var", S_VAR}, {"const", S_CONST},
    {"history", S_HISTORY}, {"get", S_GET}, {"filter", S_FILTER}, {"starts_with", S_STARTS},
    {"nonempty", S_NONEMPTY}, {"split_last", S_SPLIT_LAST}, {"replace", S_REPLACE},
    {"map", S_MAP}, {"obj", S_OBJ}, {"each", S_EACH}, {"fn", S_FN}, {"first", S_FIRST},
    {"last", S_LAST}, {"index", S_INDEX}, {"sort_unique", S_SORT_UNIQUE}, {"unique", S_UNIQUE},
    {"count", S_COUNT}, {"exists", S_EXISTS}, {"join", S_JOIN}, {"else_var", S_ELSE_VAR},
    {"test", S_TEST},
};

typedef struct step {
    step_kind kind;
    json_t *arg;     /* the step's main argument (owned reference) */
    json_t *spec;    /* the whole step object (owned reference), for built-ins */
    tm_path path;    /* get */
    int raw;         /* get */
    tm_pred *pred;   /* filter, test */
    regex_t re;      /* replace */
    int has_re;
    tm_pipeline *sub; /* each */
    const tm_builtin *fn;
    json_t *objpaths; /* obj: key -> path string; paths compiled in objp */
    tm_path *objp;
    size_t nobjp;
} step;

struct tm_pipeline {
    step *s;
    size_t n;
};

void tm_pipeline_free(tm_pipeline *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        step *s = &p->s[i];
        json_decref(s->arg);
        json_decref(s->spec);
        tm_path_free(&s->path);
        tm_pred_free(s->pred);
        if (s->has_re) regfree(&s->re);
        tm_pipeline_free(s->sub);
        for (size_t k = 0; k < s->nobjp; k++) tm_path_free(&s->objp[k]);
        free(s->objp);
    }
    free(p->s);
    free(p);
}

/* Members a step may carry besides its own name. */
static int allowed_extra(step_kind k, const char *key) {
    if (strcmp(key, "note") == 0) return 1;
    if (k == S_GET) return strcmp(key, "raw") == 0;
    if (k == S_MAP) return strcmp(key, "default") == 0;
    return 0;
}

static int compile_step(const tm_jdoc *doc, json_t *spec, json_t *known, step *s, tm_errlist *errs) {
    if (!json_is_object(spec)) {
        tm_errlist_add(errs, doc, spec, 0, "a pipeline step must be an object");
        return -1;
    }
    const char *key;
    json_t *v;
    int found = 0;
    json_object_foreach(spec, key, v) {
        size_t k;
        for (k = 0; k < sizeof(step_names) / sizeof(step_names[0]); k++)
            if (strcmp(step_names[k].name, key) == 0) break;
        if (k < sizeof(step_names) / sizeof(step_names[0])) {
            if (found++) {
                tm_errlist_add(errs, doc, v, 1, "one step per object (\"%s\" is a second one)", key);
                return -1;
            }
            s->kind = step_names[k].kind;
            s->arg = json_incref(v);
        }
    }
    if (!found) {
        tm_errlist_add(errs, doc, spec, 0, "unknown pipeline step (expected one of anchor, related, var, get, filter, ...)");
        return -1;
    }
    s->spec = json_incref(spec);
    if (s->kind != S_FN) {
        json_object_foreach(spec, key, v) {
            size_t k;
            for (k = 0; k < sizeof(step_names) / sizeof(step_names[0]); k++)
                if (strcmp(step_names[k].name, key) == 0) break;
            if (k < sizeof(step_names) / sizeof(step_names[0])) continue;
            if (!allowed_extra(s->kind, key)) {
                tm_errlist_add(errs, doc, v, 1, "unknown member \"%s\" in a pipeline step", key);
                return -1;
            }
        }
    }
    v = s->arg;
    switch (s->kind) {
    case S_RELATED:
        if (json_is_string(v) && strcmp(json_string_value(v), "*") == 0) break;
        if (!json_is_array(v)) goto need_list;
        {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) if (!json_is_string(e)) goto need_list;
        }
        break;
    case S_VAR: case S_ELSE_VAR:
        if (!json_is_string(v)) goto need_string;
        if (!json_object_get(known, json_string_value(v))) {
            tm_errlist_add(errs, doc, v, 0, "unknown value \"%s\" (vars may use only earlier vars)", json_string_value(v));
            return -1;
        }
        break;
    case S_GET:
        if (!json_is_string(v)) goto need_string;
        int rc = tm_path_parse(json_string_value(v), &s->path);
        if (rc == TM_ENOMEM) return tm_errlist_nomem(errs);
        if (rc) {
            tm_errlist_add(errs, doc, v, 0, "malformed path \"%s\"", json_string_value(v));
            return -1;
        }
        s->raw = json_is_true(json_object_get(spec, "raw"));
        break;
    case S_FILTER: case S_TEST:
        s->pred = tm_pred_compile(doc, v, errs);
        if (!s->pred) return -1;
        if (s->kind == S_TEST) {
            /* every field a test names is a var */
            json_t *stack = json_array();
            if (!stack || json_array_append(stack, v)) {
                json_decref(stack);
                return tm_errlist_nomem(errs);
            }
            while (json_array_size(stack)) {
                json_t *cur = json_incref(json_array_get(stack, json_array_size(stack) - 1));
                json_array_remove(stack, json_array_size(stack) - 1);
                json_t *f = json_object_get(cur, "f");
                if (json_is_string(f) && !json_object_get(known, json_string_value(f))) {
                    tm_errlist_add(errs, doc, f, 0, "unknown value \"%s\" in a test", json_string_value(f));
                    json_decref(cur);
                    json_decref(stack);
                    return -1;
                }
                const char *kk;
                json_t *vv;
                int oom = 0;
                json_object_foreach(cur, kk, vv) {
                    if (strcmp(kk, "all") == 0 || strcmp(kk, "any") == 0) {
                        size_t i;
                        json_t *e;
                        json_array_foreach(vv, i, e) if (json_array_append(stack, e)) oom = 1;
                    } else if (strcmp(kk, "not") == 0) {
                        if (json_array_append(stack, vv)) oom = 1;
                    }
                }
                json_decref(cur);
                if (oom) {
                    json_decref(stack);
                    return tm_errlist_nomem(errs);
                }
            }
            json_decref(stack);
        }
        break;
    case S_STARTS: case S_SPLIT_LAST: case S_JOIN:
        if (!json_is_string(v)) goto need_string;
        break;
    case S_REPLACE: {
        json_t *re = json_array_get(v, 0), *with = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(re) || !json_is_string(with)) {
            tm_errlist_add(errs, doc, v, 0, "\"replace\" takes [REGEX, REPLACEMENT]");
            return -1;
        }
        char buf[256];
        int rrc = tm_regex_compile(&s->re, json_string_value(re), REG_EXTENDED, buf, sizeof(buf));
        if (rrc == REG_ESPACE) return tm_errlist_nomem(errs);
        if (rrc) {
            tm_errlist_add(errs, doc, re, 0, "bad regex \"%s\": %s", json_string_value(re), buf);
            return -1;
        }
        s->has_re = 1;
        break;
    }
    case S_MAP:
        if (!json_is_object(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"map\" takes an object FROM -> TO");
            return -1;
        }
        break;
    case S_OBJ: {
        if (!json_is_object(v) || json_object_size(v) == 0) {
            tm_errlist_add(errs, doc, v, 0, "\"obj\" takes an object KEY -> PATH");
            return -1;
        }
        s->objp = calloc(json_object_size(v), sizeof(*s->objp));
        if (!s->objp) return tm_errlist_nomem(errs);
        const char *k2;
        json_t *p2;
        json_object_foreach(v, k2, p2) {
            int prc = json_is_string(p2) ? tm_path_parse(json_string_value(p2), &s->objp[s->nobjp]) : TM_EPARSE;
            if (prc == TM_ENOMEM) return tm_errlist_nomem(errs);
            if (prc) {
                tm_errlist_add(errs, doc, p2, 0, "\"obj\" member \"%s\" needs a path", k2);
                return -1;
            }
            s->nobjp++;
        }
        break;
    }
    case S_EACH:
        s->sub = tm_pipeline_compile(doc, v, known, errs);
        if (!s->sub) return -1;
        break;
    case S_FN: {
        if (!json_is_string(v)) goto need_string;
        s->fn = tm_builtin_find(json_string_value(v));
        if (!s->fn) {
            tm_errlist_add(errs, doc, v, 0, "unknown built-in \"%s\"", json_string_value(v));
            return -1;
        }
        json_object_foreach(spec, key, v) {
            if (strcmp(key, "fn") == 0 || strcmp(key, "note") == 0) continue;
            int ok = 0;
            for (const char *const *a = s->fn->args; a && *a; a++)
                if (strcmp(*a, key) == 0) ok = 1;
            if (!ok) {
                tm_errlist_add(errs, doc, v, 1, "built-in \"%s\" takes no argument \"%s\"", s->fn->name, key);
                return -1;
            }
        }
        break;
    }
    case S_INDEX:
        if (!json_is_integer(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"index\" takes an integer");
            return -1;
        }
        break;
    default:
        break;
    }
    return 0;
need_string:
    tm_errlist_add(errs, doc, v, 0, "this step takes a string");
    return -1;
need_list:
    tm_errlist_add(errs, doc, v, 0, "\"related\" takes a list of event names or \"*\"");
    return -1;
}

tm_pipeline *tm_pipeline_compile(const tm_jdoc *doc, json_t *spec, json_t *known, tm_errlist *errs) {
    if (!json_is_array(spec) || json_array_size(spec) == 0) {
        tm_errlist_add(errs, doc, spec, 0, "a pipeline is a non-empty list of steps");
        return NULL;
    }
    tm_pipeline *p = calloc(1, sizeof(*p));
    if (!p) return tm_errlist_nomem(errs), NULL;
    p->s = calloc(json_array_size(spec), sizeof(*p->s));
    if (!p->s) {
        free(p);
        return tm_errlist_nomem(errs), NULL;
    }
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(spec, i, e) {
        if (compile_step(doc, e, known, &p->s[p->n++], errs)) bad = 1;
    }
    if (bad) {
        tm_pipeline_free(p);
        return NULL;
    }
    return p;
}

/* ---- running ---- */

static json_t *name_full_of(json_t *rec) {
    const char *src = json_string_value(json_object_get(rec, "eventSource"));
    const char *name = json_string_value(json_object_get(rec, "eventName"));
    if (!src || !name) return NULL;
    size_t sl = strcspn(src, ".");
    size_t nl = strlen(name);
    char *s = malloc(sl + nl + 2);
    if (!s) return NULL;
    memcpy(s, src, sl);
    s[sl] = ':';
    memcpy(s + sl + 1, name, nl + 1);
    json_t *r = json_string(s);
    free(s);
    return r;
}

static int push_new(json_t *arr, json_t *v) {
    if (!v) return -1;
    return json_array_append_new(arr, v);
}

static int is_empty(const json_t *v) {
    if (!v || json_is_null(v) || json_is_false(v)) return 1;
    if (json_is_string(v)) return json_string_length(v) == 0;
    if (json_is_integer(v)) return json_integer_value(v) == 0;
    if (json_is_real(v)) return json_real_value(v) == 0;
    if (json_is_array(v)) return json_array_size(v) == 0;
    if (json_is_object(v)) return json_object_size(v) == 0;
    return 0;
}

static char *regex_replace_all(const regex_t *re, const char *s, const char *with) {
    size_t cap = strlen(s) + 1, n = 0, wl = strlen(with);
    char *out = malloc(cap);
    if (!out) return NULL;
    const char *p = s;
    regmatch_t m;
    int notbol = 0;
    /* the end of the string is tried too: an empty match there counts, as in .NET */
    while (regexec(re, p, 1, &m, notbol ? REG_NOTBOL : 0) == 0) {
        size_t need = n + (size_t)m.rm_so + wl + strlen(p) + 1;
        if (need > cap) {
            char *no = realloc(out, need);
            if (!no) {
                free(out);
                return NULL;
            }
            out = no;
            cap = need;
        }
        memcpy(out + n, p, (size_t)m.rm_so);
        n += (size_t)m.rm_so;
        memcpy(out + n, with, wl);
        n += wl;
        if (m.rm_eo == m.rm_so) { /* empty match: keep one char and go on */
            if (!p[m.rm_eo]) {
                p += m.rm_eo;
                break;
            }
            out[n++] = p[m.rm_eo];
            p += m.rm_eo + 1;
        } else {
            p += m.rm_eo;
        }
        notbol = 1;
    }
    size_t rest = strlen(p);
    if (n + rest + 1 > cap) {
        char *no = realloc(out, n + rest + 1);
        if (!no) {
            free(out);
            return NULL;
        }
        out = no;
    }
    memcpy(out + n, p, rest + 1);
    return out;
}

static json_t *items_of(json_t *v) {
    json_t *a = json_array();
    if (!a || !v || json_is_null(v)) return a;
    if (json_is_array(v)) json_array_extend(a, v);
    else json_array_append(a, v);
    return a;
}

static int run_step(const step *s, const tm_pipectx *c, json_t *in, json_t **out, tm_error *err) {
    json_t *o = NULL;
    size_t i;
    json_t *e;
    switch (s->kind) {
    case S_ANCHOR:
        o = json_array();
        if (o && c->anchor) json_array_append(o, c->anchor->json);
        break;
    case S_RELATED: {
        o = json_array();
        if (!o) break;
        int all = json_is_string(s->arg);
        for (size_t k = 0; k < c->nrelated; k++) {
            const tm_event *ev = c->related[k];
            int take = all;
            json_array_foreach(s->arg, i, e) if (!take && strcmp(json_string_value(e), ev->name_full) == 0) take = 1;
            if (take && json_array_append(o, ev->json)) {
                json_decref(o);
                o = NULL;
                break;
            }
        }
        break;
    }
    case S_VAR: case S_ELSE_VAR: {
        if (s->kind == S_ELSE_VAR && json_array_size(in) > 0) {
            o = json_incref(in);
            break;
        }
        json_t *items = json_object_get(c->var_items, json_string_value(s->arg));
        o = items ? json_copy(items) : json_array();
        break;
    }
    case S_CONST: o = items_of(s->arg); break;
    case S_HISTORY: o = c->history ? json_copy(c->history) : json_array(); break;
    case S_GET: {
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) {
            if (s->path.n == 1 && s->path.seg[0] && strcmp(s->path.seg[0], "$eventNameFull") == 0) {
                json_t *nf = name_full_of(e);
                if (nf && json_array_append_new(o, nf)) goto oom;
                continue;
            }
            tm_vals vals = {0};
            if (s->path.n == 0) {
                if (tm_vals_push(&vals, e)) goto oom;
            } else if (tm_path_get(&s->path, e, s->raw, &vals)) {
                tm_vals_clear(&vals);
                goto oom;
            }
            for (size_t k = 0; k < vals.n; k++)
                if (json_array_append(o, vals.v[k])) {
                    tm_vals_clear(&vals);
                    goto oom;
                }
            tm_vals_clear(&vals);
        }
        break;
    }
    case S_FILTER:
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) {
            tm_predctx pc = {NULL, e, NULL};
            if (tm_pred_eval(s->pred, &pc) == TM_TRUE && json_array_append(o, e)) goto oom;
        }
        break;
    case S_STARTS: {
        o = json_array();
        if (!o) break;
        const char *pre = json_string_value(s->arg);
        size_t pl = strlen(pre);
        json_array_foreach(in, i, e) {
            if (json_is_string(e) && strncmp(json_string_value(e), pre, pl) == 0 && json_array_append(o, e))
                goto oom;
        }
        break;
    }
    case S_NONEMPTY:
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) if (!is_empty(e) && json_array_append(o, e)) goto oom;
        break;
    case S_SPLIT_LAST: {
        o = json_array();
        if (!o) break;
        const char *sep = json_string_value(s->arg);
        json_array_foreach(in, i, e) {
            if (!json_is_string(e)) {
                if (json_array_append(o, e)) goto oom;
                continue;
            }
            const char *str = json_string_value(e), *last = NULL, *q = str;
            size_t sl = strlen(sep);
            while (sl && (q = strstr(q, sep))) {
                last = q;
                q += sl;
            }
            if (push_new(o, json_string(last ? last + sl : str))) goto oom;
        }
        break;
    }
    case S_REPLACE: {
        o = json_array();
        if (!o) break;
        const char *with = json_string_value(json_array_get(s->arg, 1));
        json_array_foreach(in, i, e) {
            if (!json_is_string(e)) {
                if (json_array_append(o, e)) goto oom;
                continue;
            }
            char *r = regex_replace_all(&s->re, json_string_value(e), with);
            if (!r) goto oom;
            int rc = push_new(o, json_string(r));
            free(r);
            if (rc) goto oom;
        }
        break;
    }
    case S_MAP: {
        o = json_array();
        if (!o) break;
        json_t *def = json_object_get(s->spec, "default");
        json_array_foreach(in, i, e) {
            char *t = tm_value_text(e);
            json_t *to = t ? json_object_get(s->arg, t) : NULL;
            free(t);
            if (json_array_append(o, to ? to : def ? def : e)) goto oom;
        }
        break;
    }
    case S_OBJ: {
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) {
            json_t *obj = json_object();
            if (!obj) goto oom;
            const char *k2;
            json_t *p2;
            size_t idx = 0;
            json_object_foreach(s->arg, k2, p2) {
                tm_vals vals = {0};
                if (tm_path_get(&s->objp[idx++], e, 1, &vals)) {
                    json_decref(obj);
                    goto oom;
                }
                json_object_set(obj, k2, vals.n ? vals.v[0] : json_null());
                tm_vals_clear(&vals);
            }
            if (json_array_append_new(o, obj)) goto oom;
        }
        break;
    }
    case S_EACH: {
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) {
            json_t *one = json_array(), *res = NULL;
            if (!one || json_array_append(one, e)) {
                json_decref(one);
                goto oom;
            }
            /* the sub-pipeline starts from this one item */
            json_t *cur = one;
            for (size_t k = 0; k < s->sub->n; k++) {
                int rc = run_step(&s->sub->s[k], c, cur, &res, err);
                json_decref(cur);
                if (rc) {
                    json_decref(o);
                    return rc;
                }
                cur = res;
            }
            json_array_extend(o, cur);
            json_decref(cur);
        }
        break;
    }
    case S_FN: {
        tm_fnctx fc = {c->vars, c->history, c->anchor ? c->anchor->json : NULL, NULL};
        json_t *rel = json_array();
        if (!rel) goto oom;
        for (size_t k = 0; k < c->nrelated; k++) json_array_append(rel, c->related[k]->json);
        fc.related = rel;
        int rc = s->fn->fn(s->spec, in, &fc, &o, err);
        json_decref(rel);
        if (rc) return rc;
        break;
    }
    case S_FIRST: case S_LAST: case S_INDEX: {
        o = json_array();
        if (!o) break;
        size_t n = json_array_size(in);
        long idx = s->kind == S_FIRST ? 0 : s->kind == S_LAST ? (long)n - 1 : (long)json_integer_value(s->arg);
        if (idx < 0) idx += (long)n;
        if (idx >= 0 && (size_t)idx < n) json_array_append(o, json_array_get(in, (size_t)idx));
        break;
    }
    case S_SORT_UNIQUE: {
        tm_vals vals = {0};
        json_array_foreach(in, i, e) if (tm_vals_push(&vals, e)) {
            tm_vals_clear(&vals);
            goto oom;
        }
        tm_vals_sort_unique(&vals);
        o = json_array();
        for (size_t k = 0; o && k < vals.n; k++) json_array_append(o, vals.v[k]);
        tm_vals_clear(&vals);
        break;
    }
    case S_UNIQUE: {
        o = json_array();
        if (!o) break;
        json_array_foreach(in, i, e) {
            int seen = 0;
            size_t k;
            json_t *x;
            json_array_foreach(o, k, x) if (json_equal(x, e)) seen = 1;
            if (!seen && json_array_append(o, e)) goto oom;
        }
        break;
    }
    case S_COUNT:
        o = json_array();
        if (o && push_new(o, json_integer((json_int_t)json_array_size(in)))) goto oom;
        break;
    case S_EXISTS:
        o = json_array();
        if (o && push_new(o, json_boolean(json_array_size(in) > 0))) goto oom;
        break;
    case S_JOIN: {
        size_t len = 1;
        const char *sep = json_string_value(s->arg);
        char **txt = calloc(json_array_size(in) + 1, sizeof(*txt));
        if (!txt) goto oom;
        json_array_foreach(in, i, e) {
            txt[i] = tm_value_text(e);
            len += (txt[i] ? strlen(txt[i]) : 0) + strlen(sep);
        }
        char *j = calloc(len, 1);
        if (j) {
            for (size_t k = 0; k < json_array_size(in); k++) {
                if (k) strcat(j, sep);
                if (txt[k]) strcat(j, txt[k]);
            }
        }
        for (size_t k = 0; k < json_array_size(in); k++) free(txt[k]);
        free(txt);
        if (!j) goto oom;
        o = json_array();
        int rc = o ? push_new(o, json_string(j)) : -1;
        free(j);
        if (rc) goto oom;
        break;
    }
    case S_TEST: {
        tm_predctx pc = {NULL, c->vars, NULL};
        o = json_array();
        if (o && push_new(o, json_boolean(tm_pred_eval(s->pred, &pc) == TM_TRUE))) goto oom;
        break;
    }
    }
    if (!o) return tm_error_set(err, TM_ENOMEM, "out of memory");
    *out = o;
    return 0;
oom:
    json_decref(o);
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

int tm_pipeline_run(const tm_pipeline *p, const tm_pipectx *c, json_t **out, tm_error *err) {
    json_t *cur = json_array();
    if (!cur) return tm_error_set(err, TM_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->n; i++) {
        json_t *next = NULL;
        int rc = run_step(&p->s[i], c, cur, &next, err);
        json_decref(cur);
        if (rc) return rc;
        cur = next;
    }
    *out = cur;
    return 0;
}

json_t *tm_shape_collapse(json_t *items, int shape) {
    size_t n = json_array_size(items);
    switch (shape) {
    case TM_SHAPE_ARRAY: return json_copy(items);
    case TM_SHAPE_SCALAR: return n ? json_incref(json_array_get(items, 0)) : json_null();
    default:
        if (n == 0) return json_null();
        if (n == 1) return json_incref(json_array_get(items, 0));
        return json_copy(items);
    }
}

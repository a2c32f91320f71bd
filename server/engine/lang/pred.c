/* pred.c: compile and evaluate predicates. */
#include "pred.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounded_re.h"
#include "value.h"

typedef enum { K_ALL, K_ANY, K_NOT, K_ATOM } pred_kind;
typedef enum { F_PATH, F_KEYS, F_EMPTY_KEYS, F_JSON, F_UA, F_RP } field_kind;
typedef enum {
    OP_EQ, OP_EQ_CI, OP_NE, OP_IN, OP_STARTS, OP_ENDS, OP_CONTAINS, OP_REGEX, OP_NULL,
    OP_COUNT_GT, OP_COUNT_EQ, OP_HAS_KEYS, OP_SORTED_JOIN, OP_SPACE_JOIN
} op_kind;

static const struct {
    const char *name;
    op_kind op;
} ops[] = {
    {"eq", OP_EQ}, {"eq_ci", OP_EQ_CI}, {"ne", OP_NE}, {"in", OP_IN},
    {"starts_with", OP_STARTS}, {"ends_with", OP_ENDS}, {"contains", OP_CONTAINS},
    {"regex", OP_REGEX}, {"null", OP_NULL}, {"count_gt", OP_COUNT_GT}, {"count_eq", OP_COUNT_EQ},
    {"has_keys", OP_HAS_KEYS}, {"sorted_join", OP_SORTED_JOIN}, {"space_join", OP_SPACE_JOIN},
};

struct tm_pred {
    pred_kind kind;
    tm_pred **kids;
    size_t nkids;
    /* atom */
    field_kind field;
    tm_path path;
    op_kind op;
    json_t *value;      /* the literal (owned reference) */
    char *tmpl;         /* value given as {"tmpl": "...{{awsRegion}}..."} */
    char *where_prefix; /* "where": {"starts_with": S} */
    regex_t re;
    int has_re;
};

void tm_pred_free(tm_pred *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nkids; i++) tm_pred_free(p->kids[i]);
    free(p->kids);
    tm_path_free(&p->path);
    json_decref(p->value);
    free(p->tmpl);
    free(p->where_prefix);
    if (p->has_re) regfree(&p->re);
    free(p);
}

static tm_pred *compile_list(const tm_jdoc *doc, json_t *spec, json_t *list, pred_kind k,
                             tm_errlist *errs) {
    if (!json_is_array(list) || json_array_size(list) == 0) {
        tm_errlist_add(errs, doc, list ? list : spec, 0, "\"%s\" needs a non-empty list of predicates",
                       k == K_ALL ? "all" : "any");
        return NULL;
    }
    tm_pred *p = calloc(1, sizeof(*p));
    if (!p) return tm_errlist_nomem(errs), NULL;
    p->kind = k;
    p->kids = calloc(json_array_size(list), sizeof(*p->kids));
    if (!p->kids) {
        free(p);
        return tm_errlist_nomem(errs), NULL;
    }
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(list, i, e) {
        tm_pred *kid = tm_pred_compile(doc, e, errs);
        if (!kid) bad = 1;
        else p->kids[p->nkids++] = kid;
    }
    if (bad) {
        tm_pred_free(p);
        return NULL;
    }
    return p;
}

static int check_value(const tm_jdoc *doc, tm_pred *p, json_t *v, const char *opname,
                       tm_errlist *errs) {
    switch (p->op) {
    case OP_STARTS: case OP_ENDS: case OP_CONTAINS: case OP_REGEX:
        if (!json_is_string(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"%s\" needs a string", opname);
            return -1;
        }
        break;
    case OP_NULL:
        if (!json_is_boolean(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"null\" needs true or false");
            return -1;
        }
        break;
    case OP_COUNT_GT: case OP_COUNT_EQ:
        if (!json_is_integer(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"%s\" needs an integer", opname);
            return -1;
        }
        break;
    case OP_IN: case OP_HAS_KEYS:
        if (!json_is_array(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"%s\" needs a list", opname);
            return -1;
        }
        break;
    case OP_SORTED_JOIN: case OP_SPACE_JOIN:
        if (!json_is_string(v) && !json_is_array(v)) {
            tm_errlist_add(errs, doc, v, 0, "\"%s\" needs a string or a list of strings", opname);
            return -1;
        }
        break;
    default:
        break;
    }
    if ((p->field == F_KEYS || p->field == F_EMPTY_KEYS) && p->op != OP_NULL) {
        if (p->op == OP_EQ || p->op == OP_EQ_CI || p->op == OP_NE) {
            if (!json_is_array(v)) {
                tm_errlist_add(errs, doc, v, 0, "a key set is compared with a list of key names");
                return -1;
            }
        } else if (p->op == OP_IN) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (!json_is_array(e)) {
                    tm_errlist_add(errs, doc, e, 0, "\"in\" on a key set needs a list of lists");
                    return -1;
                }
            }
        }
    }
    return 0;
}

static tm_pred *compile_atom(const tm_jdoc *doc, json_t *spec, tm_errlist *errs) {
    json_t *f = json_object_get(spec, "f");
    if (!json_is_string(f)) {
        tm_errlist_add(errs, doc, spec, 0, "a predicate needs \"f\" (the field), or all/any/not");
        return NULL;
    }
    tm_pred *p = calloc(1, sizeof(*p));
    if (!p) return tm_errlist_nomem(errs), NULL;
    p->kind = K_ATOM;
    const char *fs = json_string_value(f);
    if (strcmp(fs, "$keys") == 0) p->field = F_KEYS;
    else if (strcmp(fs, "$empty_keys") == 0) p->field = F_EMPTY_KEYS;
    else if (strcmp(fs, "$json") == 0) p->field = F_JSON;
    else if (strcmp(fs, "$ua") == 0) p->field = F_UA;
    else if (strcmp(fs, "$rp") == 0) p->field = F_RP;
    else if (fs[0] == '$' && strcmp(fs, "$eventNameFull") != 0) {
        tm_errlist_add(errs, doc, f, 0, "unknown special field \"%s\"", fs);
        goto fail;
    } else {
        p->field = F_PATH;
        int rc = tm_path_parse(fs, &p->path);
        if (rc == TM_ENOMEM) goto oom;
        if (rc) {
            tm_errlist_add(errs, doc, f, 0, "malformed field path \"%s\"", fs);
            goto fail;
        }
    }
    int nops = 0;
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v) {
        if (strcmp(key, "f") == 0 || strcmp(key, "note") == 0) continue;
        if (strcmp(key, "where") == 0) {
            json_t *sw = json_object_get(v, "starts_with");
            if (!json_is_object(v) || json_object_size(v) != 1 || !json_is_string(sw)) {
                tm_errlist_add(errs, doc, v, 0, "\"where\" takes {\"starts_with\": STRING}");
                goto fail;
            }
            p->where_prefix = strdup(json_string_value(sw));
            if (!p->where_prefix) goto oom;
            continue;
        }
        size_t k;
        for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
            if (strcmp(ops[k].name, key) == 0) break;
        if (k == sizeof(ops) / sizeof(ops[0])) {
            tm_errlist_add(errs, doc, v, 1, "unknown operator \"%s\"", key);
            goto fail;
        }
        if (nops++) {
            tm_errlist_add(errs, doc, v, 1, "one operator per predicate (\"%s\" is a second one)", key);
            goto fail;
        }
        p->op = ops[k].op;
        json_t *tm = json_is_object(v) ? json_object_get(v, "tmpl") : NULL;
        if (tm) {
            if (!json_is_string(tm) || json_object_size(v) != 1) {
                tm_errlist_add(errs, doc, v, 0, "a template value is {\"tmpl\": STRING}");
                goto fail;
            }
            const char *t = json_string_value(tm);
            const char *o = strstr(t, "{{");
            while (o) { /* only event fields may be named here */
                if (strncmp(o, "{{awsRegion}}", 13) != 0) {
                    tm_errlist_add(errs, doc, tm, 0, "a predicate template may name only {{awsRegion}}");
                    goto fail;
                }
                o = strstr(o + 2, "{{");
            }
            p->tmpl = strdup(t);
            if (!p->tmpl || !(p->value = json_string(t))) goto oom;
        } else {
            if (check_value(doc, p, v, key, errs)) goto fail;
            p->value = json_incref(v);
        }
        if (p->op == OP_REGEX) {
            char buf[256];
            int rrc = tm_regex_compile(&p->re, json_string_value(v), REG_EXTENDED | REG_NOSUB, buf, sizeof(buf));
            if (rrc == REG_ESPACE) goto oom;
            if (rrc) {
                tm_errlist_add(errs, doc, v, 0, "bad regex \"%s\": %s", json_string_value(v), buf);
                goto fail;
            }
            p->has_re = 1;
        }
    }
    if (nops == 0) {
        tm_errlist_add(errs, doc, spec, 0, "a predicate on \"%s\" needs an operator (eq, in, starts_with, ...)", fs);
        goto fail;
    }
    return p;
oom:
    tm_errlist_nomem(errs);
fail:
    tm_pred_free(p);
    return NULL;
}

tm_pred *tm_pred_compile(const tm_jdoc *doc, json_t *spec, tm_errlist *errs) {
    if (!json_is_object(spec)) {
        tm_errlist_add(errs, doc, spec, 0, "a predicate must be an object");
        return NULL;
    }
    json_t *x;
    if ((x = json_object_get(spec, "all"))) return compile_list(doc, spec, x, K_ALL, errs);
    if ((x = json_object_get(spec, "any"))) return compile_list(doc, spec, x, K_ANY, errs);
    if ((x = json_object_get(spec, "not"))) {
        tm_pred *kid = tm_pred_compile(doc, x, errs);
        if (!kid) return NULL;
        tm_pred *p = calloc(1, sizeof(*p));
        tm_pred **kids = calloc(1, sizeof(*kids));
        if (!p || !kids) {
            free(p);
            free(kids);
            tm_pred_free(kid);
            return tm_errlist_nomem(errs), NULL;
        }
        p->kind = K_NOT;
        p->kids = kids;
        p->kids[0] = kid;
        p->nkids = 1;
        return p;
    }
    return compile_atom(doc, spec, errs);
}

/* ---- evaluation ---- */

static int set_eq_ci(const char **keys, size_t n, json_t *list, int ic) {
    /* Set equality, both ways (duplicates in either side do not matter). */
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *s = json_string_value(e);
        size_t k;
        for (k = 0; k < n; k++)
            if (s && (ic ? strcasecmp(keys[k], s) : strcmp(keys[k], s)) == 0) break;
        if (k == n) return 0;
    }
    for (size_t k = 0; k < n; k++) {
        int found = 0;
        json_array_foreach(list, i, e) {
            const char *s = json_string_value(e);
            if (s && (ic ? strcasecmp(keys[k], s) : strcmp(keys[k], s)) == 0) found = 1;
        }
        if (!found) return 0;
    }
    return 1;
}

static int eval_keys(const tm_pred *p, const tm_event *ev) {
    const char **keys = p->field == F_KEYS ? ev->keys : ev->empty_keys;
    size_t n = p->field == F_KEYS ? ev->nkeys : ev->nempty_keys;
    switch (p->op) {
    case OP_EQ: return set_eq_ci(keys, n, p->value, 0);
    case OP_EQ_CI: return set_eq_ci(keys, n, p->value, 1);
    case OP_NE: return !set_eq_ci(keys, n, p->value, 0);
    case OP_IN: {
        size_t i;
        json_t *e;
        json_array_foreach(p->value, i, e) if (set_eq_ci(keys, n, e, 0)) return TM_TRUE;
        return TM_FALSE;
    }
    case OP_NULL: return (n == 0) == json_is_true(p->value);
    case OP_CONTAINS: {
        /* The reference tested the comma-joined key string. */
        const char *s = json_string_value(p->value);
        for (size_t k = 0; k < n; k++)
            if (strstr(keys[k], s)) return TM_TRUE;
        return TM_FALSE;
    }
    case OP_COUNT_GT: return (long long)n > json_integer_value(p->value);
    case OP_COUNT_EQ: return (long long)n == json_integer_value(p->value);
    default: return TM_FALSE;
    }
}

static char *expand_tmpl(const char *t, const tm_event *ev) {
    /* Only {{awsRegion}} is allowed (checked at compile time). */
    const char *region = ev && ev->region ? ev->region : "";
    size_t n = strlen(t) + 1, rl = strlen(region), count = 0;
    for (const char *q = strstr(t, "{{awsRegion}}"); q; q = strstr(q + 13, "{{awsRegion}}")) count++;
    char *out = malloc(n + rl * count), *o = out;
    if (!out) return NULL;
    while (*t) {
        if (strncmp(t, "{{awsRegion}}", 13) == 0) {
            memcpy(o, region, rl);
            o += rl;
            t += 13;
        } else {
            *o++ = *t++;
        }
    }
    *o = 0;
    return out;
}

static int str_test(op_kind op, const char *s, const char *lit, const regex_t *re) {
    size_t ls = strlen(s), ll = strlen(lit);
    switch (op) {
    case OP_STARTS: return ls >= ll && memcmp(s, lit, ll) == 0;
    case OP_ENDS: return ls >= ll && memcmp(s + ls - ll, lit, ll) == 0;
    case OP_CONTAINS: return strstr(s, lit) != NULL;
    case OP_REGEX: return regexec(re, s, 0, NULL, 0) == 0;
    default: return 0;
    }
}

static int join_matches(tm_vals *vals, const json_t *want, int sorted) {
    if (sorted) tm_vals_sort(vals);
    size_t len = 1;
    char **txt = calloc(vals->n ? vals->n : 1, sizeof(*txt));
    if (!txt) return TM_FALSE;
    for (size_t i = 0; i < vals->n; i++) {
        txt[i] = tm_value_text(vals->v[i]);
        len += (txt[i] ? strlen(txt[i]) : 0) + 1;
    }
    char *joined = calloc(len, 1);
    int r = TM_FALSE;
    if (joined) {
        for (size_t i = 0; i < vals->n; i++) {
            if (i) strcat(joined, sorted ? "," : " ");
            if (txt[i]) strcat(joined, txt[i]);
        }
        if (json_is_string(want)) r = strcmp(joined, json_string_value(want)) == 0;
        else {
            size_t i;
            json_t *e;
            json_array_foreach(want, i, e) if (json_is_string(e) && strcmp(joined, json_string_value(e)) == 0) r = TM_TRUE;
        }
    }
    for (size_t i = 0; i < vals->n; i++) free(txt[i]);
    free(txt);
    free(joined);
    return r;
}

static int eval_atom(const tm_pred *p, const tm_predctx *c) {
    const tm_event *ev = c->ev;
    if (p->field == F_KEYS || p->field == F_EMPTY_KEYS) {
        if (!ev) return TM_FALSE;
        return eval_keys(p, ev);
    }
    tm_vals vals = {0};
    json_t *tmp = NULL;
    int r = TM_FALSE;
    switch (p->field) {
    case F_JSON:
        if (ev && ev->rp_json) {
            tmp = json_string(ev->rp_json);
            if (tmp) tm_vals_push(&vals, tmp);
        }
        break;
    case F_UA:
        if (c->ua_family) {
            tmp = json_string(c->ua_family);
            if (tmp) tm_vals_push(&vals, tmp);
        }
        break;
    case F_RP:
        if (ev && ev->rp_json) {
            tmp = json_string(ev->rp_json);
            if (tmp) tm_vals_push(&vals, tmp);
        }
        break;
    default:
        if (p->path.n == 1 && p->path.seg[0] && strcmp(p->path.seg[0], "$eventNameFull") == 0) {
            if (ev) {
                tmp = json_string(ev->name_full);
                if (tmp) tm_vals_push(&vals, tmp);
            }
        } else if (tm_path_get(&p->path, c->root, p->op == OP_HAS_KEYS, &vals)) {
            goto done;
        }
        break;
    }
    if (p->where_prefix) {
        size_t w = 0, pl = strlen(p->where_prefix);
        for (size_t i = 0; i < vals.n; i++)
            if (json_is_string(vals.v[i]) && strncmp(json_string_value(vals.v[i]), p->where_prefix, pl) == 0)
                vals.v[w++] = vals.v[i];
        vals.n = w;
    }
    json_t *lit = p->value;
    json_t *expanded = NULL;
    if (p->tmpl) {
        char *s = expand_tmpl(p->tmpl, ev);
        if (!s) goto done;
        expanded = json_string(s);
        free(s);
        if (!expanded) goto done;
        lit = expanded;
    }
    switch (p->op) {
    case OP_NULL: {
        int isnull = 1;
        for (size_t i = 0; i < vals.n; i++) {
            json_t *v = vals.v[i];
            if (!json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0)) isnull = 0;
        }
        r = isnull == json_is_true(lit);
        break;
    }
    case OP_EQ: case OP_EQ_CI:
        for (size_t i = 0; i < vals.n && !r; i++) r = tm_value_loose_eq(vals.v[i], lit, p->op == OP_EQ_CI);
        break;
    case OP_NE:
        r = TM_TRUE;
        for (size_t i = 0; i < vals.n && r; i++) r = !tm_value_loose_eq(vals.v[i], lit, 0);
        break;
    case OP_IN:
        for (size_t i = 0; i < vals.n && !r; i++) {
            size_t k;
            json_t *e;
            json_array_foreach(lit, k, e) if (tm_value_loose_eq(vals.v[i], e, 0)) r = TM_TRUE;
        }
        break;
    case OP_STARTS: case OP_ENDS: case OP_CONTAINS: case OP_REGEX: {
        int any_string = 0;
        for (size_t i = 0; i < vals.n && !r; i++) {
            char *s = tm_value_text(vals.v[i]);
            if (!s) continue;
            any_string = 1;
            r = str_test(p->op, s, json_string_value(lit), &p->re);
            free(s);
        }
        if (!r && !any_string && p->op != OP_REGEX) r = TM_ERR; /* method call on null */
        break;
    }
    case OP_COUNT_GT: r = (long long)vals.n > json_integer_value(lit); break;
    case OP_COUNT_EQ: r = (long long)vals.n == json_integer_value(lit); break;
    case OP_HAS_KEYS:
        for (size_t i = 0; i < vals.n && !r; i++) {
            if (!json_is_object(vals.v[i])) continue;
            size_t k;
            json_t *e;
            r = TM_TRUE;
            json_array_foreach(lit, k, e) {
                if (!json_is_string(e) || !json_object_get(vals.v[i], json_string_value(e))) r = TM_FALSE;
            }
        }
        break;
    case OP_SORTED_JOIN: r = join_matches(&vals, lit, 1); break;
    case OP_SPACE_JOIN: r = join_matches(&vals, lit, 0); break;
    }
    json_decref(expanded);
done:
    tm_vals_clear(&vals);
    json_decref(tmp);
    return r;
}

int tm_pred_eval(const tm_pred *p, const tm_predctx *c) {
    switch (p->kind) {
    case K_ALL:
        for (size_t i = 0; i < p->nkids; i++) {
            int r = tm_pred_eval(p->kids[i], c);
            if (r != TM_TRUE) return r;
        }
        return TM_TRUE;
    case K_ANY:
        for (size_t i = 0; i < p->nkids; i++) {
            int r = tm_pred_eval(p->kids[i], c);
            if (r != TM_FALSE) return r;
        }
        return TM_FALSE;
    case K_NOT: {
        int r = tm_pred_eval(p->kids[0], c);
        return r == TM_ERR ? r : !r;
    }
    case K_ATOM:
        return eval_atom(p, c);
    }
    return TM_FALSE;
}

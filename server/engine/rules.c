/* rules.c: load, validate and compile a rules directory.
 *
 * Loading runs in two passes: first every signal file, so that label names
 * are known and get their ids (their index in name order); then the label
 * rules, the user-agent families and the overrides, which refer to labels.
 * Every problem is collected; a ruleset with any problem is not returned. */
#include "rules.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "additions.h"
#include "fileio.h"
#include "hash.h"
#include "origin.h"
#include "overrides.h"
#include "rulesInt.h"

/* ---- small helpers ---- */


/* A copy of obj's string member key in *out, NULL when it is absent or not
 * a string (the caller says what it needs); -1 only when out of memory. */
static int dup_member(json_t *obj, const char *key, char **out, tm_errlist *errs) {
    json_t *v = json_object_get(obj, key);
    *out = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    return json_is_string(v) && !*out ? tm_errlist_nomem(errs) : 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists *.json in dir, sorted, as full paths.  Missing dir: zero files.
 * Returns -1 only when out of memory. */
static int list_json(const char *dir, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOMEM ? -1 : 0;
    struct dirent *de;
    size_t cap = 0;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0 || de->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = realloc(*out, cap * sizeof(*nv));
            if (!nv) goto oom;
            *out = nv;
        }
        if (asprintf(&(*out)[*n], "%s/%s", dir, de->d_name) < 0) goto oom;
        (*n)++;
    }
    closedir(d);
    if (*n > 1) qsort(*out, *n, sizeof(**out), cmp_str); /* *out is NULL when the directory has no .json */
    return 0;
oom:
    closedir(d);
    for (size_t i = 0; i < *n; i++) free((*out)[i]);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

/* FNV-1a 64 over every file's name and bytes, in load order. */
typedef struct {
    uint64_t h;
} hasher;

static void hash_bytes(hasher *hs, const void *p, size_t n) { hs->h = tm_fnv_bytes(hs->h, p, n); }

/* ---- freeing ---- */

static void strs_free(tm_strs *s) {
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
}

static void chain_free(tm_chain *c) {
    for (size_t i = 0; i < c->n; i++) {
        tm_branch *b = &c->b[i];
        tm_pred_free(b->when);
        free(b->emit);
        for (size_t k = 0; k < b->nthen; k++) chain_free(&b->then[k]);
        free(b->then);
    }
    free(c->b);
}

static void label_free(tm_label *l) {
    free(l->name);
    free(l->service);
    free(l->title);
    tm_tmpl_free(l->url);
    free(l->url_text);
    free(l->summary_text);
    tm_tmpl_free(l->summary);
    strs_free(&l->anchor);
    strs_free(&l->required);
    strs_free(&l->optional);
    for (size_t i = 0; i < l->nvars; i++) {
        free(l->vars[i].name);
        tm_pipeline_free(l->vars[i].steps);
    }
    free(l->vars);
    for (size_t i = 0; i < l->ndata; i++) free(l->data[i].key);
    free(l->data);
    free(l->file);
    tm_additions_free(l);
}

static void ruleset_free(tm_ruleset *rs) {
    if (!rs) return;
    free(rs->version);
    free(rs->dir);
    for (size_t i = 0; i < rs->nfamilies; i++) {
        tm_ua_family *f = &rs->families[i];
        free(f->name);
        for (size_t k = 0; k < f->ntests; k++) free(f->tests[k].s);
        free(f->tests);
        free(f->prepend);
    }
    free(rs->families);
    free(rs->default_family);
    for (size_t i = 0; i < rs->nevents; i++) {
        free(rs->events[i].key);
        free(rs->events[i].emit);
        chain_free(&rs->events[i].chain);
    }
    free(rs->events);
    for (size_t i = 0; i < rs->nlabels; i++) label_free(&rs->labels[i]);
    free(rs->labels);
    for (size_t i = 0; i < rs->noverrides; i++) {
        free(rs->overrides[i].current_in);
        tm_ctx_free(rs->overrides[i].cond);
    }
    free(rs->overrides);
    tm_origin_free(rs->origin);
    free(rs);
}

tm_ruleset *tm_rules_ref(tm_ruleset *rs) {
    __atomic_add_fetch(&rs->refs, 1, __ATOMIC_RELAXED);
    return rs;
}

void tm_rules_unref(tm_ruleset *rs) {
    if (rs && __atomic_sub_fetch(&rs->refs, 1, __ATOMIC_ACQ_REL) == 0) ruleset_free(rs);
}

/* ---- signals ---- */

/* A definition kept with its document until the second pass compiles it. */
typedef struct pending {
    const tm_jdoc *doc;
    json_t *def;
} pending;

static int parse_strs(const tm_jdoc *doc, json_t *v, tm_strs *out, int allow_star, const char *what,
                      tm_errlist *errs) {
    memset(out, 0, sizeof(*out));
    if (!v) return 0;
    if (json_is_string(v) && allow_star && strcmp(json_string_value(v), "*") == 0) {
        out->star = 1;
        return 0;
    }
    if (!json_is_array(v)) {
        tm_errlist_add(errs, doc, v, 0, "\"%s\" must be a list of event names%s", what, allow_star ? " or \"*\"" : "");
        return -1;
    }
    out->v = calloc(json_array_size(v) + 1, sizeof(*out->v));
    if (!out->v) return tm_errlist_nomem(errs);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        const char *s = json_string_value(e);
        if (!s || !strchr(s, ':')) {
            tm_errlist_add(errs, doc, e, 0, "\"%s\": an event name is written svc:Name", what);
            return -1;
        }
        if (!(out->v[out->n++] = strdup(s))) return tm_errlist_nomem(errs);
    }
    return 0;
}

static const char *const signal_members[] = {"label", "service", "name", "url", "summary", "anchor",
                                             "required", "optional", "window", "extends", "flags",
                                             "vars", "data", NULL};

static int compile_label(tm_ruleset *rs, tm_label *l, const tm_jdoc *doc, json_t *def, json_t *base,
                         tm_errlist *errs) {
    if (json_object_get(def, "kind")) return tm_additions_compile(l, doc, def, errs);
    int bad = 0;
    if (tm_errlist_only_members(doc, def, signal_members, errs)) bad = 1;
    if (dup_member(def, "service", &l->service, errs) || dup_member(def, "name", &l->title, errs)) return -1;
    if (!l->service) tm_errlist_add(errs, doc, def, 0, "signal %s: \"service\" (a string) is required", l->name), bad = 1;
    if (!l->title) tm_errlist_add(errs, doc, def, 0, "signal %s: \"name\" (a string) is required", l->name), bad = 1;

    /* events and window: own members, else the extended label's */
    json_t *src;
#define FROM(key) ((src = json_object_get(def, key)) ? src : (base ? json_object_get(base, key) : NULL))
    if (parse_strs(doc, FROM("anchor"), &l->anchor, 1, "anchor", errs)) bad = 1;
    if (parse_strs(doc, FROM("required"), &l->required, 1, "required", errs)) bad = 1;
    if (parse_strs(doc, FROM("optional"), &l->optional, 0, "optional", errs)) bad = 1;
    if (errs->oom) return -1;
    json_t *win = FROM("window");
#undef FROM
    l->back = l->ahead = 3;
    if (win) {
        if (!json_is_array(win) || json_array_size(win) != 2 || !json_is_number(json_array_get(win, 0)) ||
            !json_is_number(json_array_get(win, 1)) || json_number_value(json_array_get(win, 0)) < 0 ||
            json_number_value(json_array_get(win, 1)) < 0) {
            tm_errlist_add(errs, doc, win, 0, "\"window\" is [lookback, lookahead] in seconds");
            bad = 1;
        } else {
            l->back = json_number_value(json_array_get(win, 0));
            l->ahead = json_number_value(json_array_get(win, 1));
        }
    }
    if (!l->anchor.star && l->anchor.n == 0)
        tm_errlist_add(errs, doc, def, 0, "signal %s: \"anchor\" lists no event", l->name), bad = 1;
    if (!l->required.star && l->required.n == 0)
        tm_errlist_add(errs, doc, def, 0, "signal %s: \"required\" lists no event", l->name), bad = 1;

    json_t *flags = json_object_get(def, "flags");
    if (flags) {
        size_t i;
        json_t *f;
        if (!json_is_array(flags)) tm_errlist_add(errs, doc, flags, 0, "\"flags\" is a list"), bad = 1;
        json_array_foreach(flags, i, f) {
            const char *s = json_string_value(f);
            if (s && !strcmp(s, "suppressed")) l->flags |= TM_FLAG_SUPPRESSED;
            else if (s && !strcmp(s, "no_history")) l->flags |= TM_FLAG_NO_HISTORY;
            else if (s && !strcmp(s, "one_per_event")) l->flags |= TM_FLAG_ONE_PER_EVENT;
            else if (s && !strcmp(s, "generic")) l->flags |= TM_FLAG_GENERIC;
            else tm_errlist_add(errs, doc, f, 0, "unknown flag (suppressed, no_history, one_per_event, generic)"), bad = 1;
        }
    }

    /* vars, in order; each may use the ones before it */
    json_t *known = json_object();
    if (!known || json_object_set_new(known, "awsRegion", json_true()) ||
        json_object_set_new(known, "eventNameFull", json_true()))
        goto oom;
    json_t *vars = json_object_get(def, "vars");
    if (vars && !json_is_object(vars)) tm_errlist_add(errs, doc, vars, 0, "\"vars\" is an object NAME -> pipeline"), bad = 1;
    if (json_is_object(vars) && json_object_size(vars)) {
        l->vars = calloc(json_object_size(vars), sizeof(*l->vars));
        if (!l->vars) goto oom;
        const char *name;
        json_t *spec;
        json_object_foreach(vars, name, spec) {
            tm_var *var = &l->vars[l->nvars];
            json_t *steps = spec;
            var->shape = TM_SHAPE_PIPELINE;
            if (json_is_object(spec)) {
                static const char *const var_members[] = {"steps", "shape", NULL};
                if (tm_errlist_only_members(doc, spec, var_members, errs)) bad = 1;
                steps = json_object_get(spec, "steps");
                const char *shape = json_string_value(json_object_get(spec, "shape"));
                if (shape && !strcmp(shape, "array")) var->shape = TM_SHAPE_ARRAY;
                else if (shape && !strcmp(shape, "scalar")) var->shape = TM_SHAPE_SCALAR;
                else if (shape && strcmp(shape, "pipeline"))
                    tm_errlist_add(errs, doc, json_object_get(spec, "shape"), 0, "unknown shape \"%s\" (pipeline, array, scalar)", shape), bad = 1;
            }
            if (!strcmp(name, "awsRegion") || !strcmp(name, "eventNameFull"))
                tm_errlist_add(errs, doc, spec, 1, "\"%s\" is built in and cannot be redefined", name), bad = 1;
            var->steps = steps ? tm_pipeline_compile(doc, steps, known, errs) : NULL;
            if (!steps) tm_errlist_add(errs, doc, spec, 0, "var \"%s\" needs steps", name);
            if (!var->steps) bad = 1;
            l->nvars++;
            if (errs->oom || !(var->name = strdup(name)) || json_object_set_new(known, name, json_true()))
                goto oom;
        }
    }

    json_t *data = json_object_get(def, "data");
    if (data) {
        l->has_data = 1;
        if (!json_is_object(data)) {
            tm_errlist_add(errs, doc, data, 0, "\"data\" is an object KEY -> var");
            bad = 1;
        } else {
            l->data = calloc(json_object_size(data) + 1, sizeof(*l->data));
            if (!l->data) goto oom;
            const char *key;
            json_t *v;
            json_object_foreach(data, key, v) {
                tm_datakey *dk = &l->data[l->ndata];
                json_t *vn = json_is_object(v) ? json_object_get(v, "var") : v;
                const char *shape = json_is_object(v) ? json_string_value(json_object_get(v, "shape")) : NULL;
                dk->var = -1;
                for (size_t i = 0; json_is_string(vn) && i < l->nvars; i++)
                    if (!strcmp(l->vars[i].name, json_string_value(vn))) dk->var = (int)i;
                if (dk->var < 0 && json_is_string(vn) && strcmp(json_string_value(vn), "awsRegion") == 0) dk->var = -2;
                if (dk->var == -1) {
                    tm_errlist_add(errs, doc, v, 0, "data \"%s\" names an unknown value \"%s\"", key,
                                   json_is_string(vn) ? json_string_value(vn) : "?");
                    bad = 1;
                }
                dk->shape = dk->var >= 0 ? l->vars[dk->var].shape : TM_SHAPE_SCALAR;
                if (shape) {
                    if (!strcmp(shape, "array")) dk->shape = TM_SHAPE_ARRAY;
                    else if (!strcmp(shape, "scalar")) dk->shape = TM_SHAPE_SCALAR;
                    else if (!strcmp(shape, "pipeline")) dk->shape = TM_SHAPE_PIPELINE;
                    else tm_errlist_add(errs, doc, v, 0, "unknown shape \"%s\"", shape), bad = 1;
                }
                l->ndata++;
                if (!(dk->key = strdup(key))) goto oom;
            }
        }
    }

    json_t *url = json_object_get(def, "url"), *summary = json_object_get(def, "summary");
    if (!json_is_string(url)) tm_errlist_add(errs, doc, url ? url : def, 0, "signal %s: \"url\" (a template) is required", l->name), bad = 1;
    else if (!(l->url = tm_tmpl_compile(json_string_value(url), known, doc, url, errs)))
        bad = 1;
    else if (!(l->url_text = strdup(json_string_value(url))))
        goto oom;
    if (!json_is_string(summary) || json_string_length(summary) == 0)
        tm_errlist_add(errs, doc, summary ? summary : def, 0, "signal %s: \"summary\" (a template) is required", l->name), bad = 1;
    else if (!(l->summary = tm_tmpl_compile(json_string_value(summary), known, doc, summary, errs)))
        bad = 1;
    else if (!(l->summary_text = strdup(json_string_value(summary))))
        goto oom;
    json_decref(known);
    (void)rs;
    return bad || errs->oom ? -1 : 0;
oom:
    json_decref(known);
    return tm_errlist_nomem(errs);
}

static int cmp_pending(const void *a, const void *b) {
    const pending *x = a, *y = b;
    return strcmp(json_string_value(json_object_get(x->def, "label")),
                  json_string_value(json_object_get(y->def, "label")));
}

/* ---- label rules ---- */

static int parse_emit(tm_ruleset *rs, const tm_jdoc *doc, json_t *v, int **out, size_t *n, tm_errlist *errs) {
    *out = NULL;
    *n = 0;
    if (!v) return 0;
    if (!json_is_array(v)) {
        tm_errlist_add(errs, doc, v, 0, "\"emit\" is a list of labels");
        return -1;
    }
    *out = calloc(json_array_size(v) + 1, sizeof(**out));
    if (!*out) return tm_errlist_nomem(errs);
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(v, i, e) {
        int id = json_is_string(e) ? tm_rules_label(rs, json_string_value(e)) : -1;
        if (id < 0) {
            tm_errlist_add(errs, doc, e, 0, "unknown label \"%s\" (no signal defines it)",
                           json_is_string(e) ? json_string_value(e) : "?");
            bad = 1;
        } else {
            (*out)[(*n)++] = id;
        }
    }
    return bad ? -1 : 0;
}

static int parse_chain(tm_ruleset *rs, const tm_jdoc *doc, json_t *v, tm_chain *c, tm_errlist *errs) {
    static const char *const branch_members[] = {"when", "emit", "then", NULL};
    memset(c, 0, sizeof(*c));
    if (!json_is_array(v) || json_array_size(v) == 0) {
        tm_errlist_add(errs, doc, v, 0, "\"chain\" is a non-empty list of branches");
        return -1;
    }
    c->b = calloc(json_array_size(v), sizeof(*c->b));
    if (!c->b) return tm_errlist_nomem(errs);
    size_t i;
    json_t *e;
    int bad = 0;
    json_array_foreach(v, i, e) {
        tm_branch *b = &c->b[c->n++];
        if (!json_is_object(e)) {
            tm_errlist_add(errs, doc, e, 0, "a branch is an object {when, emit, then}");
            bad = 1;
            continue;
        }
        if (tm_errlist_only_members(doc, e, branch_members, errs)) bad = 1;
        json_t *when = json_object_get(e, "when");
        if (when && !(b->when = tm_pred_compile(doc, when, errs))) bad = 1;
        if (!when && i + 1 < json_array_size(v)) {
            tm_errlist_add(errs, doc, e, 0, "only the last branch of a chain may omit \"when\" (the else)");
            bad = 1;
        }
        if (parse_emit(rs, doc, json_object_get(e, "emit"), &b->emit, &b->nemit, errs)) bad = 1;
        json_t *then = json_object_get(e, "then");
        if (then) {
            if (!json_is_array(then)) {
                tm_errlist_add(errs, doc, then, 0, "\"then\" is a list of {\"chain\": [...]}");
                bad = 1;
                continue;
            }
            b->then = calloc(json_array_size(then) + 1, sizeof(*b->then));
            if (!b->then) return tm_errlist_nomem(errs);
            size_t k;
            json_t *t;
            json_array_foreach(then, k, t) {
                json_t *ch = json_object_get(t, "chain");
                if (!ch) {
                    tm_errlist_add(errs, doc, t, 0, "\"then\" holds objects {\"chain\": [...]}");
                    bad = 1;
                    continue;
                }
                if (parse_chain(rs, doc, ch, &b->then[b->nthen++], errs)) bad = 1;
                if (errs->oom) return -1;
            }
        }
    }
    return bad ? -1 : 0;
}

static int load_label_file(tm_ruleset *rs, const tm_jdoc *doc, tm_errlist *errs, json_t *seen) {
    static const char *const file_members[] = {"events", NULL};
    static const char *const event_members[] = {"event", "emit", "chain", NULL};
    json_t *root = tm_jdoc_root(doc);
    if (!json_is_object(root) || !json_is_array(json_object_get(root, "events"))) {
        tm_errlist_add(errs, doc, root, 0, "a label file is {\"events\": [...]}");
        return -1;
    }
    int bad = tm_errlist_only_members(doc, root, file_members, errs) ? 1 : 0;
    json_t *events = json_object_get(root, "events");
    tm_eventrule *nv = realloc(rs->events, (rs->nevents + json_array_size(events)) * sizeof(*nv));
    if (!nv) return tm_errlist_nomem(errs);
    rs->events = nv;
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        if (!json_is_object(e)) {
            tm_errlist_add(errs, doc, e, 0, "an event rule is an object {event, emit, chain}");
            bad = 1;
            continue;
        }
        if (tm_errlist_only_members(doc, e, event_members, errs)) bad = 1;
        json_t *name = json_object_get(e, "event");
        const char *ns = json_string_value(name);
        if (!ns || !strchr(ns, ':')) {
            tm_errlist_add(errs, doc, name ? name : e, 0, "\"event\" is an event name svc:Name");
            bad = 1;
            continue;
        }
        char *key = strdup(ns);
        if (!key) return tm_errlist_nomem(errs);
        for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
        if (json_object_get(seen, key)) {
            tm_errlist_add(errs, doc, name, 0, "event \"%s\" has a rule already (%s)", ns,
                           json_string_value(json_object_get(seen, key)));
            free(key);
            bad = 1;
            continue;
        }
        int line, col;
        tm_jdoc_pos(doc, name, 0, &line, &col);
        char *where = NULL;
        if (asprintf(&where, "%s:%d:%d", tm_jdoc_name(doc), line, col) < 0) {
            free(key);
            return tm_errlist_nomem(errs);
        }
        int set = json_object_set_new(seen, key, json_string(where));
        free(where);
        if (set) {
            free(key);
            return tm_errlist_nomem(errs);
        }
        tm_eventrule *r = &rs->events[rs->nevents++];
        memset(r, 0, sizeof(*r));
        r->key = key;
        if (parse_emit(rs, doc, json_object_get(e, "emit"), &r->emit, &r->nemit, errs)) bad = 1;
        json_t *chain = json_object_get(e, "chain");
        if (chain && parse_chain(rs, doc, chain, &r->chain, errs)) bad = 1;
        if (errs->oom) return -1;
        if (!chain && !json_object_get(e, "emit")) {
            tm_errlist_add(errs, doc, e, 0, "event \"%s\" has neither \"emit\" nor \"chain\"", ns);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

static int cmp_event(const void *a, const void *b) {
    return strcasecmp(((const tm_eventrule *)a)->key, ((const tm_eventrule *)b)->key);
}

/* ---- user agents ---- */

static int load_useragent(tm_ruleset *rs, const tm_jdoc *doc, tm_errlist *errs) {
    static const char *const members[] = {"strip_brackets", "families", "default", "prepend", NULL};
    static const char *const fam_members[] = {"family", "all", "any", NULL};
    static const char *const ops[] = {"equals", "starts_with", "ends_with", "contains", NULL};
    json_t *root = tm_jdoc_root(doc);
    int bad = 0;
    if (!json_is_object(root)) {
        tm_errlist_add(errs, doc, root, 0, "useragent.json is an object");
        return -1;
    }
    if (tm_errlist_only_members(doc, root, members, errs)) bad = 1;
    rs->strip_brackets = json_is_true(json_object_get(root, "strip_brackets"));
    if (dup_member(root, "default", &rs->default_family, errs)) return -1;
    if (!rs->default_family && !(rs->default_family = strdup("Undefined"))) return tm_errlist_nomem(errs);
    json_t *fams = json_object_get(root, "families");
    if (!json_is_array(fams)) {
        tm_errlist_add(errs, doc, root, 0, "\"families\" is a list");
        return -1;
    }
    rs->families = calloc(json_array_size(fams) + 1, sizeof(*rs->families));
    if (!rs->families) return tm_errlist_nomem(errs);
    size_t i;
    json_t *f;
    json_array_foreach(fams, i, f) {
        tm_ua_family *fam = &rs->families[rs->nfamilies++];
        if (!json_is_object(f) || tm_errlist_only_members(doc, f, fam_members, errs)) {
            bad = 1;
            continue;
        }
        if (dup_member(f, "family", &fam->name, errs)) return -1;
        if (!fam->name) tm_errlist_add(errs, doc, f, 0, "a family needs \"family\": NAME"), bad = 1;
        json_t *tests = json_object_get(f, "all");
        if (!tests) {
            tests = json_object_get(f, "any");
            fam->any = 1;
        }
        if (!json_is_array(tests)) {
            tm_errlist_add(errs, doc, f, 0, "a family needs \"all\" or \"any\": a list of tests");
            bad = 1;
            continue;
        }
        fam->tests = calloc(json_array_size(tests) + 1, sizeof(*fam->tests));
        if (!fam->tests) return tm_errlist_nomem(errs);
        size_t k;
        json_t *t;
        json_array_foreach(tests, k, t) {
            const char *key = NULL;
            json_t *v = NULL;
            if (json_is_object(t) && json_object_size(t) == 1) {
                void *it = json_object_iter(t);
                key = json_object_iter_key(it);
                v = json_object_iter_value(it);
            }
            int op = -1;
            for (int o = 0; key && ops[o]; o++)
                if (!strcmp(ops[o], key)) op = o;
            if (op < 0 || !json_is_string(v)) {
                tm_errlist_add(errs, doc, t, 0, "a user-agent test is {equals|starts_with|ends_with|contains: STRING}");
                bad = 1;
                continue;
            }
            fam->tests[fam->ntests].op = op;
            if (!(fam->tests[fam->ntests++].s = strdup(json_string_value(v)))) return tm_errlist_nomem(errs);
        }
    }
    json_t *prepend = json_object_get(root, "prepend");
    if (prepend) {
        const char *fname;
        json_t *labels;
        json_object_foreach(prepend, fname, labels) {
            tm_ua_family *fam = NULL;
            for (size_t k = 0; k < rs->nfamilies; k++)
                if (rs->families[k].name && !strcmp(rs->families[k].name, fname)) fam = &rs->families[k];
            if (!fam) {
                tm_errlist_add(errs, doc, labels, 1, "prepend names unknown family \"%s\"", fname);
                bad = 1;
                continue;
            }
            if (parse_emit(rs, doc, labels, &fam->prepend, &fam->nprepend, errs)) bad = 1;
        }
    }
    return bad ? -1 : 0;
}

/* ---- overrides ---- */

static int load_overrides(tm_ruleset *rs, const tm_jdoc *doc, tm_errlist *errs) {
    static const char *const members[] = {"stage", "label", "to", "if", "current_in", "prev_label", "from", "into", NULL};
    json_t *root = tm_jdoc_root(doc);
    json_t *list = json_object_get(root, "overrides");
    if (!json_is_object(root) || !json_is_array(list)) {
        tm_errlist_add(errs, doc, root, 0, "overrides.json is {\"overrides\": [...]}");
        return -1;
    }
    rs->overrides = calloc(json_array_size(list) + 1, sizeof(*rs->overrides));
    if (!rs->overrides) return tm_errlist_nomem(errs);
    int bad = 0;
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o) {
        tm_override *ov = &rs->overrides[rs->noverrides++];
        ov->label = ov->to = ov->prev_label = -1;
        if (!json_is_object(o) || tm_errlist_only_members(doc, o, members, errs)) {
            bad = 1;
            continue;
        }
        const char *stage = json_string_value(json_object_get(o, "stage"));
        if (!stage) {
            tm_errlist_add(errs, doc, o, 0, "an override needs \"stage\"");
            bad = 1;
            continue;
        }
#define LABEL(key, dst, req)                                                                        \
    do {                                                                                            \
        json_t *lv = json_object_get(o, key);                                                       \
        if (!lv) {                                                                                  \
            if (req) tm_errlist_add(errs, doc, o, 0, "stage %s needs \"%s\"", stage, key), bad = 1; \
        } else if ((dst = json_is_string(lv) ? tm_rules_label(rs, json_string_value(lv)) : -1) < 0) { \
            tm_errlist_add(errs, doc, lv, 0, "unknown label \"%s\"", json_is_string(lv) ? json_string_value(lv) : "?"); \
            bad = 1;                                                                                \
        }                                                                                           \
    } while (0)
        if (!strcmp(stage, "rewrite")) {
            ov->stage = TM_OV_REWRITE;
            LABEL("label", ov->label, 1);
            LABEL("to", ov->to, 1);
        } else if (!strcmp(stage, "drop")) {
            ov->stage = TM_OV_DROP;
            LABEL("label", ov->label, 1);
        } else if (!strcmp(stage, "rewrite_prev")) {
            ov->stage = TM_OV_REWRITE_PREV;
            LABEL("prev_label", ov->prev_label, 1);
            LABEL("to", ov->to, 1);
            if (parse_emit(rs, doc, json_object_get(o, "current_in"), &ov->current_in, &ov->ncurrent_in, errs)) bad = 1;
            if (!ov->ncurrent_in) tm_errlist_add(errs, doc, o, 0, "rewrite_prev needs \"current_in\": [labels]"), bad = 1;
        } else if (!strcmp(stage, "merge")) {
            ov->stage = TM_OV_MERGE;
            json_t *from = json_object_get(o, "from"), *into = json_object_get(o, "into");
            if (!json_is_integer(from) || !json_is_integer(into) || json_integer_value(from) >= 0 ||
                json_integer_value(into) >= 0 || json_integer_value(from) == json_integer_value(into)) {
                tm_errlist_add(errs, doc, o, 0, "merge needs \"from\" and \"into\": two different history indices (-1 newest)");
                bad = 1;
            } else {
                ov->from = (int)json_integer_value(from);
                ov->into = (int)json_integer_value(into);
            }
        } else {
            tm_errlist_add(errs, doc, json_object_get(o, "stage"), 0, "unknown stage \"%s\" (rewrite, drop, rewrite_prev, merge)", stage);
            bad = 1;
        }
#undef LABEL
        json_t *cond = json_object_get(o, "if");
        if (cond && !(ov->cond = tm_ctx_compile(doc, cond, rs, errs))) bad = 1;
        if (errs->oom) return -1;
    }
    return bad ? -1 : 0;
}

/* ---- the whole directory ---- */

/* Reads and parses one rules file, hashing its name (relative to the
 * rules directory) and the bytes read into the version; NULL, with the
 * problem in errs, when it cannot. */
static tm_jdoc *load_doc(hasher *hs, const char *root, const char *path, tm_errlist *errs) {
    const char *rel = strncmp(path, root, strlen(root)) == 0 ? path + strlen(root) : path;
    hash_bytes(hs, rel, strlen(rel) + 1);
    tm_jdoc *doc = NULL;
    tm_error err;
    char *buf;
    size_t len;
    int rc = tm_file_read(path, &buf, &len, &err);
    if (rc == 0) {
        hash_bytes(hs, buf, len);
        rc = tm_jdoc_loadb(path, buf, len, &doc, &err);
        free(buf);
    }
    if (rc) {
        if (err.code == TM_ENOMEM) tm_errlist_nomem(errs);
        tm_errlist_addf(errs, "%s", err.msg);
        return NULL;
    }
    return doc;
}

int tm_rules_load(const char *dir, tm_ruleset **out, tm_errlist *errs) {
    *out = NULL;
    size_t errs_before = errs->n;
    tm_ruleset *rs = calloc(1, sizeof(*rs));
    if (!rs) {
        tm_errlist_addf(errs, "%s: out of memory while loading rules", dir);
        tm_errlist_nomem(errs);
        return TM_ENOMEM;
    }
    rs->refs = 1;
    rs->dir = strdup(dir);
    char *sigdir = NULL, *labdir = NULL, *uapath = NULL, *ovpath = NULL, *orpath = NULL;
    char **sigfiles = NULL, **labfiles = NULL;
    size_t nsig = 0, nlab = 0;
    tm_jdoc **docs = NULL;
    size_t ndocs = 0;
    pending *pend = NULL;
    size_t npend = 0;
    json_t *seen = json_object();
    hasher hs = {TM_FNV_OFFSET};
    int rc = TM_ENOMEM;

    if (!rs->dir || !seen || asprintf(&sigdir, "%s/signals", dir) < 0 || asprintf(&labdir, "%s/labels", dir) < 0 ||
        asprintf(&uapath, "%s/useragent.json", dir) < 0 || asprintf(&ovpath, "%s/overrides.json", dir) < 0 ||
        asprintf(&orpath, "%s/origin.json", dir) < 0)
        goto done;
    if (access(dir, R_OK) != 0) {
        tm_errlist_addf(errs, "%s: cannot read the rules directory", dir);
        rc = TM_EINVAL;
        goto done;
    }
    if (list_json(sigdir, &sigfiles, &nsig) || list_json(labdir, &labfiles, &nlab)) goto done;
    if (nsig == 0) tm_errlist_addf(errs, "%s: no signal files (signals/*.json)", dir);
    docs = calloc(nsig + nlab + 3, sizeof(*docs));
    if (!docs) goto done;

    /* pass 1: signal definitions */
    for (size_t i = 0; i < nsig; i++) {
        tm_jdoc *doc = load_doc(&hs, dir, sigfiles[i], errs);
        if (doc) docs[ndocs++] = doc;
        if (errs->oom) goto done;
        if (!doc) continue;
        json_t *root = tm_jdoc_root(doc), *list = json_object_get(root, "signals");
        static const char *const file_members[] = {"signals", NULL};
        if (!json_is_object(root) || !json_is_array(list)) {
            tm_errlist_add(errs, doc, root, 0, "a signal file is {\"signals\": [...]}");
            continue;
        }
        tm_errlist_only_members(doc, root, file_members, errs);
        pending *np = realloc(pend, (npend + json_array_size(list)) * sizeof(*np));
        if (!np) goto done;
        pend = np;
        size_t k;
        json_t *def;
        json_array_foreach(list, k, def) {
            json_t *label = json_object_get(def, "label");
            if (!json_is_object(def) || !json_is_string(label) || json_string_length(label) == 0) {
                tm_errlist_add(errs, doc, def, 0, "a signal needs \"label\": NAME");
                continue;
            }
            pend[npend].doc = doc;
            pend[npend++].def = def;
        }
    }
    if (npend) qsort(pend, npend, sizeof(*pend), cmp_pending);
    rs->labels = calloc(npend + 1, sizeof(*rs->labels));
    if (!rs->labels) goto done;
    for (size_t i = 0; i < npend; i++) {
        const char *name = json_string_value(json_object_get(pend[i].def, "label"));
        if (i > 0 && !strcmp(name, rs->labels[rs->nlabels - 1].name)) {
            int line, col;
            tm_jdoc_pos(pend[i - 1].doc, json_object_get(pend[i - 1].def, "label"), 0, &line, &col);
            tm_errlist_add(errs, pend[i].doc, json_object_get(pend[i].def, "label"), 0,
                           "duplicate label \"%s\" (first defined at %s:%d:%d)", name, tm_jdoc_name(pend[i - 1].doc), line, col);
            continue;
        }
        tm_label *l = &rs->labels[rs->nlabels++];
        l->name = strdup(name);
        l->file = strdup(tm_jdoc_name(pend[i].doc));
        int col;
        tm_jdoc_pos(pend[i].doc, pend[i].def, 0, &l->line, &col);
        if (!l->name || !l->file) goto done;
    }
    /* pending entries of duplicates are skipped above; match labels to definitions by name */
    for (size_t i = 0, li = 0; i < npend && li < rs->nlabels; i++) {
        const char *name = json_string_value(json_object_get(pend[i].def, "label"));
        if (strcmp(name, rs->labels[li].name)) continue;
        json_t *ext = json_object_get(pend[i].def, "extends"), *base = NULL;
        if (ext) {
            int bid = json_is_string(ext) ? tm_rules_label(rs, json_string_value(ext)) : -1;
            if (bid < 0) {
                tm_errlist_add(errs, pend[i].doc, ext, 0, "\"extends\" names unknown label \"%s\"",
                               json_is_string(ext) ? json_string_value(ext) : "?");
            } else {
                for (size_t k = 0; k < npend; k++)
                    if (!strcmp(json_string_value(json_object_get(pend[k].def, "label")), rs->labels[bid].name)) base = pend[k].def;
                if (base && json_object_get(base, "extends"))
                    tm_errlist_add(errs, pend[i].doc, ext, 0, "\"extends\" names \"%s\", which extends another label itself", json_string_value(ext));
            }
        }
        compile_label(rs, &rs->labels[li], pend[i].doc, pend[i].def, base, errs);
        li++;
        if (errs->oom) goto done;
    }

    /* pass 2: label rules, user agents, overrides */
    for (size_t i = 0; i < nlab; i++) {
        tm_jdoc *doc = load_doc(&hs, dir, labfiles[i], errs);
        if (doc) docs[ndocs++] = doc;
        if (errs->oom) goto done;
        if (!doc) continue;
        load_label_file(rs, doc, errs, seen);
        if (errs->oom) goto done;
    }
    if (rs->nevents) qsort(rs->events, rs->nevents, sizeof(*rs->events), cmp_event);
    tm_jdoc *ua = load_doc(&hs, dir, uapath, errs);
    if (ua) {
        docs[ndocs++] = ua;
        load_useragent(rs, ua, errs);
        if (errs->oom) goto done;
    }
    if (access(ovpath, F_OK) == 0) {
        tm_jdoc *ov = load_doc(&hs, dir, ovpath, errs);
        if (ov) {
            docs[ndocs++] = ov;
            load_overrides(rs, ov, errs);
            if (errs->oom) goto done;
        }
    }
    /* trailmap's own: without it every record's origin is unknown */
    if (access(orpath, F_OK) == 0) {
        tm_jdoc *od = load_doc(&hs, dir, orpath, errs);
        if (od) {
            docs[ndocs++] = od;
            if (tm_origin_compile(rs, od, errs) == TM_ENOMEM) goto done;
        }
    }
    if (asprintf(&rs->version, "%016llx", (unsigned long long)hs.h) < 0) {
        rs->version = NULL;
        goto done;
    }
    rc = (errs->n > errs_before || errs->oom) ? TM_EINVAL : 0;

done:
    /* whatever failed to allocate, the ruleset is not whole */
    if (errs->oom) rc = TM_ENOMEM;
    if (rc == TM_ENOMEM) tm_errlist_addf(errs, "%s: out of memory while loading rules", dir);
    for (size_t i = 0; i < ndocs; i++) tm_jdoc_free(docs[i]);
    free(docs);
    free(pend);
    for (size_t i = 0; i < nsig; i++) free(sigfiles[i]);
    for (size_t i = 0; i < nlab; i++) free(labfiles[i]);
    free(sigfiles);
    free(labfiles);
    free(sigdir);
    free(labdir);
    free(uapath);
    free(ovpath);
    free(orpath);
    json_decref(seen);
    if (rc) ruleset_free(rs);
    else *out = rs;
    return rc;
}

const char *tm_rules_default_dir(void) {
    const char *env = getenv("TRAILMAP_RULES");
    if (env && *env) return env;
#ifdef TM_RULES_DIR
    if (access(TM_RULES_DIR, R_OK) == 0) return TM_RULES_DIR;
#endif
    return "rules";
}

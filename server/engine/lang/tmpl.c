/* tmpl.c: compile and render templates. */
#include "tmpl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

typedef enum { N_TEXT, N_VAR, N_SECTION } node_kind;
typedef enum { FL_URL, FL_COUNT, FL_PLURAL, FL_QLIST, FL_LIST, FL_JSON } filter_kind;

typedef struct {
    filter_kind kind;
    char *a, *b; /* url: extra kept chars; plural: singular and plural endings */
} filter;

typedef struct node {
    node_kind kind;
    char *text; /* N_TEXT: the text; otherwise the var name */
    filter *filters;
    size_t nfilters;
    int inverted;
    struct node *kids;
    size_t nkids;
} node;

struct tm_tmpl {
    node root;
};

static void node_clear(node *n) {
    free(n->text);
    for (size_t i = 0; i < n->nfilters; i++) {
        free(n->filters[i].a);
        free(n->filters[i].b);
    }
    free(n->filters);
    for (size_t i = 0; i < n->nkids; i++) node_clear(&n->kids[i]);
    free(n->kids);
}

void tm_tmpl_free(tm_tmpl *t) {
    if (!t) return;
    node_clear(&t->root);
    free(t);
}

static node *add_kid(node *parent) {
    node *nk = realloc(parent->kids, (parent->nkids + 1) * sizeof(*nk));
    if (!nk) return NULL;
    parent->kids = nk;
    memset(&nk[parent->nkids], 0, sizeof(node));
    return &nk[parent->nkids++];
}

typedef struct {
    const tm_jdoc *doc;
    const json_t *where;
    tm_errlist *errs;
    json_t *known;
    const char *src;
    int bad;
} cctx;

static void cerr(cctx *c, const char *msg, const char *detail) {
    tm_errlist_add(c->errs, c->doc, c->where, 0, "template: %s%s%s%s", msg, detail ? " \"" : "",
                   detail ? detail : "", detail ? "\"" : "");
    c->bad = 1;
}

static int parse_filters(cctx *c, node *n, char *spec) {
    char *save = NULL;
    for (char *f = strtok_r(spec, "|", &save); f; f = strtok_r(NULL, "|", &save)) {
        filter fl = {0};
        char *arg = strchr(f, ':');
        if (arg) *arg++ = 0;
        if (strcmp(f, "url") == 0) {
            fl.kind = FL_URL;
            if (arg && !(fl.a = strdup(arg))) return -1;
        } else if (strcmp(f, "count") == 0) fl.kind = FL_COUNT;
        else if (strcmp(f, "plural") == 0) {
            fl.kind = FL_PLURAL;
            char *p2 = arg ? strchr(arg, ':') : NULL;
            if (arg && !p2) {
                cerr(c, "plural takes two endings, plural:SINGULAR:PLURAL, in", f);
                return 0;
            }
            if (p2) *p2++ = 0;
            fl.a = strdup(arg ? arg : "");
            fl.b = strdup(p2 ? p2 : "s");
            if (!fl.a || !fl.b) {
                free(fl.a);
                free(fl.b);
                return -1;
            }
        } else if (strcmp(f, "qlist") == 0) fl.kind = FL_QLIST;
        else if (strcmp(f, "list") == 0) fl.kind = FL_LIST;
        else if (strcmp(f, "json") == 0) fl.kind = FL_JSON;
        else {
            cerr(c, "unknown filter", f);
            return 0;
        }
        filter *nf = realloc(n->filters, (n->nfilters + 1) * sizeof(*nf));
        if (!nf) {
            free(fl.a);
            free(fl.b);
            return -1;
        }
        n->filters = nf;
        n->filters[n->nfilters++] = fl;
    }
    return 0;
}

/* Parses until "{{/name}}" (when close is set) or the end. */
static const char *parse(cctx *c, node *parent, const char *p, const char *close) {
    while (*p) {
        const char *o = strstr(p, "{{");
        if (!o) o = p + strlen(p);
        if (o > p) {
            node *t = add_kid(parent);
            if (!t || !(t->text = strndup(p, (size_t)(o - p)))) return NULL;
            t->kind = N_TEXT;
        }
        if (!*o) break;
        const char *e = strstr(o + 2, "}}");
        if (!e) {
            cerr(c, "unclosed {{ in", c->src);
            return o + strlen(o);
        }
        char *tag = strndup(o + 2, (size_t)(e - o - 2));
        if (!tag) return NULL;
        p = e + 2;
        if (tag[0] == '/') {
            if (!close || strcmp(tag + 1, close) != 0) cerr(c, "unexpected section end", tag);
            free(tag);
            return p;
        }
        if (tag[0] == '#' || tag[0] == '^') {
            node *s = add_kid(parent);
            if (!s) {
                free(tag);
                return NULL;
            }
            s->kind = N_SECTION;
            s->inverted = tag[0] == '^';
            s->text = strdup(tag + 1);
            free(tag);
            if (!s->text) return NULL;
            if (!json_object_get(c->known, s->text)) cerr(c, "unknown value", s->text);
            size_t before = parent->nkids;
            char *name = strdup(s->text);
            if (!name) return NULL;
            /* parse into a temporary node: parent->kids may move while we add */
            node tmp = {0};
            p = parse(c, &tmp, p, name);
            free(name);
            if (!p) {
                node_clear(&tmp);
                return NULL;
            }
            parent->kids[before - 1].kids = tmp.kids;
            parent->kids[before - 1].nkids = tmp.nkids;
            continue;
        }
        node *v = add_kid(parent);
        if (!v) {
            free(tag);
            return NULL;
        }
        v->kind = N_VAR;
        char *bar = strchr(tag, '|');
        if (bar) *bar++ = 0;
        v->text = strdup(tag);
        if (!v->text) {
            free(tag);
            return NULL;
        }
        if (!json_object_get(c->known, v->text)) cerr(c, "unknown value", v->text);
        if (bar && parse_filters(c, v, bar) < 0) {
            free(tag);
            return NULL;
        }
        free(tag);
    }
    if (close) cerr(c, "section not closed:", close);
    return p;
}

tm_tmpl *tm_tmpl_compile(const char *text, json_t *known, const tm_jdoc *doc, const json_t *where,
                         tm_errlist *errs) {
    tm_tmpl *t = calloc(1, sizeof(*t));
    if (!t) return tm_errlist_nomem(errs), NULL;
    cctx c = {doc, where, errs, known, text, 0};
    int oom = !parse(&c, &t->root, text, NULL); /* parse fails only so */
    if (oom || c.bad) {
        if (oom) tm_errlist_nomem(errs);
        tm_tmpl_free(t);
        return NULL;
    }
    return t;
}

/* ---- rendering ---- */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t ncap = (b->cap ? b->cap : 64);
        while (ncap < b->n + n + 1) ncap *= 2;
        char *ns = realloc(b->s, ncap);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) {
    if (s) sb_add(b, s, strlen(s));
}

static size_t count_of(const json_t *v) {
    if (!v || json_is_null(v)) return 0;
    if (json_is_array(v)) return json_array_size(v);
    return 1;
}

static void render_list(sbuf *b, const json_t *v, const char *sep, const char *q) {
    if (!v || json_is_null(v)) return;
    if (!json_is_array(v)) {
        char *t = tm_value_text(v);
        sb_str(b, q);
        sb_str(b, t);
        sb_str(b, q);
        free(t);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        char *t = tm_value_text(e);
        if (i) sb_str(b, sep);
        sb_str(b, q);
        sb_str(b, t);
        sb_str(b, q);
        free(t);
    }
}

static void render_var(sbuf *b, const node *n, json_t *vars) {
    json_t *v = json_object_get(vars, n->text);
    char *cur = NULL; /* text after the last string-producing filter */
    int have_text = 0;
    for (size_t i = 0; i < n->nfilters; i++) {
        const filter *f = &n->filters[i];
        sbuf t = {0};
        switch (f->kind) {
        case FL_COUNT: {
            char num[32];
            snprintf(num, sizeof(num), "%zu", count_of(v));
            sb_str(&t, num);
            break;
        }
        case FL_PLURAL: sb_str(&t, count_of(v) == 1 ? f->a : f->b); break;
        case FL_QLIST: render_list(&t, v, ",", "'"); break;
        case FL_LIST: render_list(&t, v, ", ", ""); break;
        case FL_JSON: {
            char *j = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
            sb_str(&t, j ? j : "null");
            free(j);
            break;
        }
        case FL_URL: {
            char *src = have_text ? cur : tm_value_text(v);
            if (!have_text && !src) break;
            char *enc = tm_url_min_encode(src ? src : "", f->a);
            sb_str(&t, enc);
            free(enc);
            if (!have_text) free(src);
            break;
        }
        }
        if (t.oom) b->oom = 1;
        free(cur);
        cur = t.s ? t.s : strdup("");
        if (!cur) b->oom = 1;
        have_text = 1;
    }
    if (have_text) sb_str(b, cur);
    else {
        char *t = tm_value_text(v);
        sb_str(b, t);
        free(t);
    }
    free(cur);
}

static void render_node(sbuf *b, const node *n, json_t *vars) {
    for (size_t i = 0; i < n->nkids; i++) {
        const node *k = &n->kids[i];
        switch (k->kind) {
        case N_TEXT: sb_str(b, k->text); break;
        case N_VAR: render_var(b, k, vars); break;
        case N_SECTION: {
            int truthy = tm_value_truthy(json_object_get(vars, k->text));
            if (truthy != k->inverted) render_node(b, k, vars);
            break;
        }
        }
    }
}

char *tm_tmpl_render(const tm_tmpl *t, json_t *vars) {
    sbuf b = {0};
    sb_add(&b, "", 0);
    render_node(&b, &t->root, vars);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

static int uses(const node *n, const char *name) {
    if (n->kind != N_TEXT && n->text && strcmp(n->text, name) == 0) return 1;
    for (size_t i = 0; i < n->nkids; i++)
        if (uses(&n->kids[i], name)) return 1;
    return 0;
}

int tm_tmpl_uses(const tm_tmpl *t, const char *name) { return uses(&t->root, name); }

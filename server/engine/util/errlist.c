#include "errlist.h"

#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>

static void push(tm_errlist *l, char *s) {
    if (!s) {
        l->oom = 1;
        return;
    }
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv) {
            free(s);
            l->oom = 1;
            return;
        }
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = s;
}

static char *vformat(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) return NULL;
    return s;
}

void tm_errlist_add(tm_errlist *l, const tm_jdoc *doc, const json_t *v, int key,
                    const char *fmt, ...) {
    int line = 0, col = 0;
    if (doc && v) tm_jdoc_pos(doc, v, key, &line, &col);
    if (line == 0) line = col = 1;
    va_list ap;
    va_start(ap, fmt);
    char *msg = vformat(fmt, ap);
    va_end(ap);
    if (!msg) {
        l->oom = 1;
        return;
    }
    char *s = NULL;
    if (asprintf(&s, "%s:%d:%d: %s", doc ? tm_jdoc_name(doc) : "?", line, col, msg) < 0) s = NULL;
    free(msg);
    push(l, s);
}

void tm_errlist_addf(tm_errlist *l, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = vformat(fmt, ap);
    va_end(ap);
    push(l, s);
}

void tm_errlist_free(tm_errlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

int tm_errlist_only_members(const tm_jdoc *doc, json_t *obj, const char *const *allowed, tm_errlist *errs) {
    const char *key;
    json_t *v;
    int bad = 0;
    json_object_foreach(obj, key, v) {
        const char *const *a;
        for (a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) break;
        if (!*a && strcmp(key, "note") != 0) {
            tm_errlist_add(errs, doc, v, 1, "unknown member \"%s\"", key);
            bad = 1;
        }
    }
    return bad ? -1 : 0;
}

int tm_errlist_nomem(tm_errlist *l) {
    l->oom = 1;
    return -1;
}

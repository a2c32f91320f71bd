/* jsonpos.c: positions of the values of a parsed JSON document.
 *
 * The text is valid JSON (jansson parsed it) and jansson keeps object
 * members in text order, so one recursive walk can move through the text
 * and the tree together. */
#include "jsonpos.h"

#include "jsonmem.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const json_t *v;
    int line, col, kline, kcol;
} pos_slot;

struct tm_jdoc {
    char *name;
    json_t *root;
    pos_slot *slots; /* open addressing, keyed by value pointer */
    size_t cap, used;
};

typedef struct {
    const char *s;
    size_t i, n;
    int line, col;
} cursor;

static size_t slot_hash(const json_t *v, size_t cap) {
    uintptr_t x = (uintptr_t)v;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 7) & (cap - 1);
}

static int slots_grow(tm_jdoc *d) {
    size_t ncap = d->cap ? d->cap * 2 : 256;
    pos_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns) return TM_ENOMEM;
    for (size_t i = 0; i < d->cap; i++) {
        if (!d->slots[i].v) continue;
        size_t h = slot_hash(d->slots[i].v, ncap);
        while (ns[h].v) h = (h + 1) & (ncap - 1);
        ns[h] = d->slots[i];
    }
    free(d->slots);
    d->slots = ns;
    d->cap = ncap;
    return 0;
}

static pos_slot *slot_get(tm_jdoc *d, const json_t *v, int create) {
    if (d->cap == 0 || (create && (d->used + 1) * 2 > d->cap)) {
        if (!create) return NULL;
        if (slots_grow(d) != 0) return NULL;
    }
    size_t h = slot_hash(v, d->cap);
    while (d->slots[h].v) {
        if (d->slots[h].v == v) return &d->slots[h];
        h = (h + 1) & (d->cap - 1);
    }
    if (!create) return NULL;
    d->slots[h].v = v;
    d->used++;
    return &d->slots[h];
}

static void adv(cursor *c) {
    if (c->i >= c->n) return;
    if (c->s[c->i] == '\n') {
        c->line++;
        c->col = 1;
    } else if (((unsigned char)c->s[c->i] & 0xC0) != 0x80) {
        c->col++; /* count characters, not UTF-8 continuation bytes */
    }
    c->i++;
}

static void skip_ws(cursor *c) {
    while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]) && c->s[c->i]) adv(c);
}

static void skip_string(cursor *c) {
    adv(c); /* opening quote */
    while (c->i < c->n && c->s[c->i] != '"') {
        if (c->s[c->i] == '\\') adv(c);
        adv(c);
    }
    adv(c);
}

static void skip_scalar(cursor *c) {
    while (c->i < c->n && !strchr(",]} \t\r\n", c->s[c->i])) adv(c);
}

static int walk(tm_jdoc *d, cursor *c, json_t *v, int kline, int kcol) {
    skip_ws(c);
    pos_slot *p = slot_get(d, v, 1);
    if (!p) return TM_ENOMEM;
    p->line = c->line;
    p->col = c->col;
    p->kline = kline ? kline : c->line;
    p->kcol = kline ? kcol : c->col;
    if (json_is_object(v)) {
        adv(c); /* { */
        void *it = json_object_iter(v);
        while (it) {
            skip_ws(c);
            int kl = c->line, kc = c->col;
            skip_string(c);
            skip_ws(c);
            adv(c); /* : */
            int rc = walk(d, c, json_object_iter_value(it), kl, kc);
            if (rc) return rc;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ',') adv(c);
            it = json_object_iter_next(v, it);
        }
        skip_ws(c);
        adv(c); /* } */
    } else if (json_is_array(v)) {
        adv(c); /* [ */
        for (size_t k = 0; k < json_array_size(v); k++) {
            int rc = walk(d, c, json_array_get(v, k), 0, 0);
            if (rc) return rc;
            skip_ws(c);
            if (c->i < c->n && c->s[c->i] == ',') adv(c);
        }
        skip_ws(c);
        adv(c); /* ] */
    } else if (json_is_string(v)) {
        skip_string(c);
    } else {
        skip_scalar(c);
    }
    return 0;
}

int tm_jdoc_loadb(const char *name, const char *buf, size_t len, tm_jdoc **out, tm_error *err) {
    json_error_t je;
    tm_jsonmem_begin();
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (tm_jsonmem_failed() || (!root && json_error_code(&je) == json_error_out_of_memory)) {
        json_decref(root); /* a string of it may have lost characters */
        return tm_error_set(err, TM_ENOMEM, "%s: out of memory", name);
    }
    if (!root)
        return tm_error_set(err, TM_EPARSE, "%s:%d:%d: %s", name, je.line, je.column, je.text);
    tm_jdoc *d = calloc(1, sizeof(*d));
    if (!d || !(d->name = strdup(name))) {
        free(d);
        json_decref(root);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    d->root = root;
    cursor c = {buf, 0, len, 1, 1};
    if (walk(d, &c, root, 0, 0) != 0) {
        tm_jdoc_free(d);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    *out = d;
    return 0;
}

void tm_jdoc_free(tm_jdoc *d) {
    if (!d) return;
    json_decref(d->root);
    free(d->slots);
    free(d->name);
    free(d);
}

json_t *tm_jdoc_root(const tm_jdoc *d) { return d->root; }
const char *tm_jdoc_name(const tm_jdoc *d) { return d->name; }

void tm_jdoc_pos(const tm_jdoc *d, const json_t *v, int key, int *line, int *col) {
    *line = *col = 0;
    if (!v || json_is_true(v) || json_is_false(v) || json_is_null(v)) return;
    pos_slot *p = slot_get((tm_jdoc *)d, v, 0);
    if (!p) return;
    *line = key ? p->kline : p->line;
    *col = key ? p->kcol : p->col;
}

/* strmap.c: string → size_t (see strmap.h). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

static size_t slot(const tm_strmap *m, const char *k) {
    size_t h = (size_t)tm_fnv_str(k) & (m->cap - 1);
    while (m->keys[h] && strcmp(m->keys[h], k) != 0) h = (h + 1) & (m->cap - 1);
    return h;
}

size_t tm_strmap_get(const tm_strmap *m, const char *k) {
    if (!m->cap) return TM_STRMAP_NONE;
    size_t h = slot(m, k);
    return m->keys[h] ? m->vals[h] : TM_STRMAP_NONE;
}

static int grow(tm_strmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    if (ncap > SIZE_MAX / sizeof(char *)) return -1;
    tm_strmap n = {calloc(ncap, sizeof(char *)), calloc(ncap, sizeof(size_t)), ncap, m->n};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t h = slot(&n, m->keys[i]);
        n.keys[h] = m->keys[i];
        n.vals[h] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int tm_strmap_set(tm_strmap *m, const char *k, size_t v) {
    if ((m->n + 1) * 2 > m->cap && grow(m) != 0) return -1;
    size_t h = slot(m, k);
    if (!m->keys[h]) {
        if (!(m->keys[h] = strdup(k))) return -1;
        m->n++;
    }
    m->vals[h] = v;
    return 0;
}

void tm_strmap_free(tm_strmap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

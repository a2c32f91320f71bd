/* cache.c: a small LRU of mapped sessions, guarded by one mutex (lookups
 * are short; the mapping itself happens outside the lock). */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
    tm_mapped *m;
    uint64_t used; /* tick of the last use */
} slot;

struct tm_cache {
    pthread_mutex_t mu;
    slot *v;
    size_t n, cap;
    size_t max_events, events;
    uint64_t tick, hits, misses;
};

void tm_mapped_unref(tm_mapped *m) {
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0) return;
    tm_view_clear(&m->view);
    tm_mapping_free(m->m);
    tm_eventvec_free(&m->events);
    tm_rules_unref(m->rs);
    free(m->key);
    free(m);
}

tm_cache *tm_cache_new(size_t max_events) {
    tm_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    c->max_events = max_events;
    return c;
}

void tm_cache_free(tm_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) tm_mapped_unref(c->v[i].m);
    free(c->v);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

tm_mapped *tm_cache_get(tm_cache *c, const char *key, uint64_t version, const tm_ruleset *rs) {
    tm_mapped *found = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        tm_mapped *m = c->v[i].m;
        if (m->version == version && m->rs == rs && strcmp(m->key, key) == 0) {
            __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
            c->v[i].used = ++c->tick;
            found = m;
            break;
        }
    }
    if (found) c->hits++;
    else c->misses++;
    pthread_mutex_unlock(&c->mu);
    return found;
}

static void drop_at(tm_cache *c, size_t i) {
    c->events -= c->v[i].m->events.n;
    tm_mapped_unref(c->v[i].m);
    c->v[i] = c->v[--c->n];
}

void tm_cache_put(tm_cache *c, tm_mapped *m) {
    pthread_mutex_lock(&c->mu);
    /* an older version of the same session is useless now */
    for (size_t i = 0; i < c->n;) {
        if (strcmp(c->v[i].m->key, m->key) == 0) drop_at(c, i);
        else i++;
    }
    while (c->n > 0 && c->events + m->events.n > c->max_events) {
        size_t oldest = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[oldest].used) oldest = i;
        drop_at(c, oldest);
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        slot *nv = realloc(c->v, ncap * sizeof(*nv));
        if (!nv) {
            pthread_mutex_unlock(&c->mu);
            return; /* not cached; the caller still has its reference */
        }
        c->v = nv;
        c->cap = ncap;
    }
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    c->v[c->n].m = m;
    c->v[c->n++].used = ++c->tick;
    c->events += m->events.n;
    pthread_mutex_unlock(&c->mu);
}

void tm_cache_stats_get(tm_cache *c, tm_cache_stats *st) {
    pthread_mutex_lock(&c->mu);
    st->hits = c->hits;
    st->misses = c->misses;
    st->entries = c->n;
    st->events = c->events;
    pthread_mutex_unlock(&c->mu);
}

/* cache.c: a small LRU of mapped sessions, guarded by one mutex (lookups
 * are short; the mapping itself happens outside the lock).
 *
 * What an entry costs, measured with glibc's mallinfo2 around reading,
 * mapping and viewing every session of tests/corpus (7,273 minimized
 * events, 640 bytes of raw JSON each on average) and tests/data/three_users
 * (242 full CloudTrail records, 1,182 bytes each):
 *   parsed events: 6.5 x the raw bytes on the corpus (4.2 KB per event),
 *                  8.2 x on full records (9.7 KB per event): the jansson
 *                  tree dominates, so the cost follows the raw size;
 *   mapping + view: 200 to 1,400 bytes per event (542 on average), most
 *                  of it per signal (about 2.5 KB each).
 * The estimate below, 8 x raw + 512 per event + 2.5 KB per signal, is a
 * little above both measurements, so the bound errs on the safe side:
 * about 10.5 KB per full record, so 512 MiB holds about 50,000 of them
 * (the old bound of 2,000,000 events allowed some 20 GB). */
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PARSED_PER_RAW_BYTE 8
#define PER_EVENT 512
#define PER_SIGNAL 2560

typedef struct slot {
    tm_mapped *m;
    uint64_t used; /* tick of the last use */
} slot;

struct tm_cache {
    pthread_mutex_t mu;
    slot *v;
    size_t n, cap;
    size_t max_events, events;
    size_t max_bytes, bytes;
    uint64_t tick, hits, misses, evictions, too_big;
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

size_t tm_mapped_bytes(const tm_mapped *m) {
    size_t b = sizeof(*m) + (m->key ? strlen(m->key) + 1 : 0) + m->events.cap * sizeof(m->events.v[0]);
    for (size_t i = 0; i < m->events.n; i++) b += m->events.v[i]->raw_len * PARSED_PER_RAW_BYTE + PER_EVENT;
    b += m->view.nsigs * PER_SIGNAL;
    return b;
}

tm_cache *tm_cache_new_bounded(size_t max_bytes, size_t max_events) {
    tm_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    if (pthread_mutex_init(&c->mu, NULL)) {
        free(c);
        return NULL;
    }
    c->max_bytes = max_bytes ? max_bytes : TM_CACHE_DEFAULT_BYTES;
    c->max_events = max_events ? max_events : SIZE_MAX;
    return c;
}

tm_cache *tm_cache_new(size_t max_events) { return tm_cache_new_bounded(0, max_events); }

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
    c->bytes -= c->v[i].m->bytes;
    tm_mapped_unref(c->v[i].m);
    c->v[i] = c->v[--c->n];
}

/* Whether adding m would break a bound. */
static int over(const tm_cache *c, const tm_mapped *m) {
    return c->bytes + m->bytes > c->max_bytes || c->events + m->events.n > c->max_events;
}

void tm_cache_put(tm_cache *c, tm_mapped *m) {
    /* computed outside the lock: it walks every event */
    size_t bytes = tm_mapped_bytes(m);
    pthread_mutex_lock(&c->mu);
    m->bytes = bytes;
    /* an older version of the same session is useless now */
    for (size_t i = 0; i < c->n;) {
        if (strcmp(c->v[i].m->key, m->key) == 0) drop_at(c, i);
        else i++;
    }
    if (m->bytes > c->max_bytes || m->events.n > c->max_events) {
        c->too_big++; /* would push out everything and still not fit */
        pthread_mutex_unlock(&c->mu);
        return;
    }
    while (c->n > 0 && over(c, m)) {
        size_t oldest = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[oldest].used) oldest = i;
        drop_at(c, oldest);
        c->evictions++;
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
    c->bytes += m->bytes;
    pthread_mutex_unlock(&c->mu);
}

void tm_cache_stats_get(tm_cache *c, tm_cache_stats *st) {
    pthread_mutex_lock(&c->mu);
    st->hits = c->hits;
    st->misses = c->misses;
    st->entries = c->n;
    st->events = c->events;
    st->bytes = c->bytes;
    st->max_bytes = c->max_bytes;
    st->evictions = c->evictions;
    st->too_big = c->too_big;
    pthread_mutex_unlock(&c->mu);
}

/* test_cache.c: the cache of mapped sessions is bounded in bytes: entries
 * are charged by the size of their events, the least recently used go
 * first, an entry larger than the bound is not kept, and the event bound
 * still holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "test.h"

/* An entry for key with n events of about raw_len bytes of JSON each. */
static tm_mapped *entry(const char *key, size_t n, size_t raw_len) {
    tm_mapped *m = calloc(1, sizeof(*m));
    if (!m || !(m->key = strdup(key))) exit(1);
    m->refs = 1;
    m->version = 1;
    for (size_t i = 0; i < n; i++) {
        char head[200];
        int h = snprintf(head, sizeof(head),
                         "{\"eventTime\":\"2024-01-01T00:00:%02zuZ\",\"eventSource\":\"s3.amazonaws.com\","
                         "\"eventName\":\"ListBuckets\",\"eventID\":\"%s-%zu\",\"pad\":\"",
                         i % 60, key, i);
        size_t len = raw_len > (size_t)h + 2 ? raw_len : (size_t)h + 2;
        char *text = malloc(len + 1);
        if (!text) exit(1);
        memcpy(text, head, (size_t)h);
        memset(text + h, 'x', len - (size_t)h - 2);
        memcpy(text + len - 2, "\"}", 3);
        tm_event *e = NULL;
        tm_error err;
        if (tm_event_from_text(text, len, &e, &err) != 0) {
            fprintf(stderr, "event: %s\n", err.msg);
            exit(1);
        }
        free(text);
        if (tm_eventvec_push(&m->events, e) != 0) exit(1);
    }
    return m;
}

/* Puts a fresh entry and drops the test's own reference. */
static size_t put(tm_cache *c, const char *key, size_t n, size_t raw_len) {
    tm_mapped *m = entry(key, n, raw_len);
    size_t bytes = tm_mapped_bytes(m);
    tm_cache_put(c, m);
    tm_mapped_unref(m);
    return bytes;
}

static int cached(tm_cache *c, const char *key) {
    tm_mapped *m = tm_cache_get(c, key, 1, NULL);
    tm_mapped_unref(m);
    return m != NULL;
}

static void test_estimate(void) {
    /* the estimate follows the raw size: 8 x raw + 512 per event */
    tm_mapped *small = entry("s", 10, 500), *big = entry("b", 10, 5000);
    size_t bs = tm_mapped_bytes(small), bb = tm_mapped_bytes(big);
    CHECK(bs >= 10 * (500 * 8 + 512));
    CHECK(bb >= 10 * (5000 * 8 + 512));
    CHECK(bb > 8 * bs);
    tm_mapped_unref(small);
    tm_mapped_unref(big);
}

static void test_evicts_by_bytes(void) {
    /* an entry of 20 events of 1000 bytes is about 20 x 8.5 KB = 170 KB; a
     * bound of 5.5 such entries keeps five, far fewer than its event bound */
    tm_mapped *probe = entry("kp", 20, 1000); /* same key length as k0..k5 */
    size_t one = tm_mapped_bytes(probe);
    tm_mapped_unref(probe);
    tm_cache *c = tm_cache_new_bounded(one * 11 / 2, 1000000);
    CHECK(c != NULL);
    if (!c) return;
    char key[32];
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        put(c, key, 20, 1000);
    }
    tm_cache_stats st;
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.entries, 5);
    CHECK_INT(st.events, 100);
    CHECK_INT(st.bytes, 5 * one);
    CHECK_INT(st.evictions, 0);
    /* k0 is used: k1 is now the least recently used */
    CHECK(cached(c, "k0"));
    put(c, "k5", 20, 1000);
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.entries, 5);
    CHECK(st.bytes <= st.max_bytes);
    CHECK_INT(st.evictions, 1);
    CHECK(!cached(c, "k1"));
    CHECK(cached(c, "k0"));
    CHECK(cached(c, "k5"));
    /* one entry of big events pushes out several of small ones */
    put(c, "big", 20, 3000); /* about 3 entries' worth */
    tm_cache_stats_get(c, &st);
    CHECK(st.bytes <= st.max_bytes);
    CHECK(cached(c, "big"));
    CHECK(st.entries <= 3);
    CHECK(st.evictions >= 3);
    /* a new version of a session replaces the old one, not adds to it */
    size_t before = st.bytes;
    tm_mapped *m = entry("big", 20, 3000);
    m->version = 2;
    tm_cache_put(c, m);
    tm_mapped_unref(m);
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.bytes, before);
    tm_cache_free(c);
}

static void test_too_big(void) {
    tm_cache *c = tm_cache_new_bounded(100000, 0);
    CHECK(c != NULL);
    if (!c) return;
    put(c, "small", 2, 1000);
    CHECK(cached(c, "small"));
    /* larger than the whole bound: not kept, and nothing pushed out for it */
    tm_mapped *m = entry("huge", 50, 1000);
    tm_cache_put(c, m);
    CHECK_INT(m->refs, 1); /* the caller's reference only */
    tm_mapped_unref(m);
    CHECK(!cached(c, "huge"));
    CHECK(cached(c, "small"));
    tm_cache_stats st;
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.too_big, 1);
    CHECK_INT(st.entries, 1);
    tm_cache_free(c);
}

static void test_event_bound(void) {
    /* the byte bound is generous; the event bound (30) decides */
    tm_cache *c = tm_cache_new_bounded((size_t)1 << 30, 30);
    CHECK(c != NULL);
    if (!c) return;
    put(c, "a", 10, 500);
    put(c, "b", 10, 500);
    put(c, "c", 10, 500);
    put(c, "d", 10, 500);
    tm_cache_stats st;
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.events, 30);
    CHECK(!cached(c, "a"));
    CHECK(cached(c, "d"));
    tm_cache_free(c);
    /* the old constructor: the default byte bound */
    c = tm_cache_new(1000);
    CHECK(c != NULL);
    if (!c) return;
    tm_cache_stats_get(c, &st);
    CHECK_INT(st.max_bytes, TM_CACHE_DEFAULT_BYTES);
    tm_cache_free(c);
}

int main(void) {
    test_estimate();
    test_evicts_by_bytes();
    test_too_big();
    test_event_bound();
    return tm_test_done();
}

/* cache.h: mapped sessions, kept per (session version, ruleset).
 *
 * Mapping always runs over a session's full sorted event set, so a result
 * is valid exactly as long as the session's version and the ruleset are
 * the same.  A repeated query does no mapping work.  Entries are shared by
 * reference count, so eviction never frees one a request still reads. */
#ifndef TM_CACHE_H
#define TM_CACHE_H

#include <stdint.h>

#include "output.h"
#include "rules.h"

typedef struct tm_mapped {
    int refs;
    char *key;
    uint64_t version;
    tm_ruleset *rs;       /* one reference */
    tm_eventvec events;   /* owns the events */
    tm_mapping *m;
    tm_sessview view;
} tm_mapped;

void tm_mapped_unref(tm_mapped *m);

typedef struct tm_cache tm_cache;

/* Keeps at most max_events events in all entries together (at least one entry). */
tm_cache *tm_cache_new(size_t max_events);
void tm_cache_free(tm_cache *c);

/* A new reference to the entry for key at that version and ruleset, or NULL. */
tm_mapped *tm_cache_get(tm_cache *c, const char *key, uint64_t version, const tm_ruleset *rs);
/* Stores m (takes a new reference), evicting the least recently used. */
void tm_cache_put(tm_cache *c, tm_mapped *m);

typedef struct tm_cache_stats {
    uint64_t hits, misses, entries, events;
} tm_cache_stats;
void tm_cache_stats_get(tm_cache *c, tm_cache_stats *st);

#endif

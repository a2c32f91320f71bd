/* cache.h: mapped sessions, kept per (session version, ruleset).
 *
 * Mapping always runs over a session's full sorted event set, so a result
 * is valid exactly as long as the session's version and the ruleset are
 * the same.  A repeated query does no mapping work.  Entries are shared by
 * reference count, so eviction never frees one a request still reads.
 *
 * The cache is bounded in bytes: each entry is charged an estimate of the
 * memory it holds (see tm_mapped_bytes), the least recently used entries
 * go first, and an entry larger than the whole bound is not kept at all
 * (its request still gets it; the next request maps it again).  A bound on
 * the number of events may be set as well. */
#ifndef TM_CACHE_H
#define TM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "output.h"
#include "rules.h"

/* 512 MiB: about 50,000 full CloudTrail records mapped, or 110,000 of the
 * corpus's minimized ones; fits a small machine beside SQLite's cache. */
#define TM_CACHE_DEFAULT_BYTES ((size_t)512 << 20)

typedef struct tm_mapped {
    int refs;
    char *key;
    uint64_t version;
    tm_ruleset *rs;       /* one reference */
    tm_eventvec events;   /* owns the events */
    tm_mapping *m;
    tm_sessview view;
    size_t bytes;         /* tm_mapped_bytes, set by tm_cache_put */
} tm_mapped;

void tm_mapped_unref(tm_mapped *m);

/* The estimated memory an entry holds: its events parsed (8 bytes per byte
 * of raw JSON plus 512 per event) and its signals (2.5 KB each), from a
 * measurement described in cache.c. */
size_t tm_mapped_bytes(const tm_mapped *m);

typedef struct tm_cache tm_cache;

/* Keeps at most max_bytes (estimated) and max_events events in all entries
 * together; 0 means no bound of that kind (max_bytes 0: the default). */
tm_cache *tm_cache_new_bounded(size_t max_bytes, size_t max_events);
/* The same with the default byte bound. */
tm_cache *tm_cache_new(size_t max_events);
void tm_cache_free(tm_cache *c);

/* A new reference to the entry for key at that version and ruleset, or NULL. */
tm_mapped *tm_cache_get(tm_cache *c, const char *key, uint64_t version, const tm_ruleset *rs);
/* Stores m (takes a new reference), evicting the least recently used. */
void tm_cache_put(tm_cache *c, tm_mapped *m);

typedef struct tm_cache_stats {
    uint64_t hits, misses, entries, events;
    uint64_t bytes, max_bytes, evictions, too_big;
} tm_cache_stats;
void tm_cache_stats_get(tm_cache *c, tm_cache_stats *st);

#endif

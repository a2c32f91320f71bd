/* store.h: trailmapd's durable store of events and sessions (SQLite).
 *
 * Everything lives in one data directory; the server recovers by reopening
 * it.  A batch is acknowledged only after its transaction committed with
 * synchronous=FULL in WAL mode, so an acknowledged event survives kill -9
 * and power loss.  One writer at a time; readers run beside it.  Every
 * function is safe to call from several threads. */
#ifndef TM_STORE_H
#define TM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"

typedef struct tm_store tm_store;

/* Opens (creating DIR, mode 0700, and DIR/trailmap.db when needed).  Fails
 * with a message naming the file when it cannot be opened, is not a
 * trailmap store, or was written by a newer trailmapd (schema version). */
int tm_store_open(const char *dir, tm_store **out, tm_error *err);
/* No call may be in flight. */
void tm_store_close(tm_store *s);

typedef struct tm_store_result {
    size_t accepted;    /* new events stored */
    size_t duplicates;  /* events whose eventID was stored already (or repeated in the batch) */
    char **sessions;    /* sessions that gained events or changed, sorted; a session
                           whose events all moved elsewhere is listed and no longer exists */
    size_t nsessions;
} tm_store_result;

/* Stores a batch.  With `forced` every event goes to that session; else
 * sessions are derived (session.h) over the batch together with the stored
 * events of the same principals, so the result never depends on how the
 * events were batched or in which order they came; events already stored
 * may move to another session when a later batch explains them (a
 * GetSigninToken arriving after the events of its key), and every session
 * that changes gets a new version.  Durable on return.  The events stay
 * owned by the caller. */
int tm_store_add(tm_store *s, tm_eventvec *events, const char *forced, tm_store_result *res, tm_error *err);
void tm_store_result_free(tm_store_result *r);

typedef struct tm_session_row {
    char *key;
    char *principal_arn;   /* "" when unknown */
    char *user_name;       /* "" when unknown */
    char *ua_family;       /* "" from the store: the API names the family of user_agent */
    char *user_agent;      /* the most frequent userAgent (ties: byte order), or "" */
    char **source_ips;     /* distinct, sorted */
    size_t nsource_ips;
    int64_t first_ms, last_ms;
    uint64_t events;
    uint64_t version;      /* grows whenever the session's events change (store-wide counter:
                              never reused, even by a session that disappears and returns) */
    uint64_t signals;      /* from tm_store_set_mapped; 0 until then */
    double mapped_share;   /* likewise */
    uint64_t mapped_version; /* the version those two figures belong to */
} tm_session_row;

/* principal_arn and user_name are the most frequent userIdentity.arn and
 * userName (else the arn after its last '/') among the session's events
 * (ties: byte order); source_ips are the distinct sourceIPAddress values. */

/* Sessions whose principal ARN or user name contains `principal` (NULL: any)
 * and that have events in [from_ms, to_ms] (0: no bound), newest last event
 * first, from `offset`, at most `limit`.  *more says whether more follow. */
int tm_store_list_sessions(tm_store *s, const char *principal, int64_t from_ms, int64_t to_ms, size_t offset,
                           size_t limit, tm_session_row **rows, size_t *n, int *more, tm_error *err);
/* TM_ENOTFOUND when there is no such session. */
int tm_store_get_session(tm_store *s, const char *key, tm_session_row *row, tm_error *err);
void tm_session_row_clear(tm_session_row *r);
void tm_session_rows_free(tm_session_row *rows, size_t n);

/* All events of a session, sorted by (time, eventID), rebuilt from their
 * raw text (e->session set), with the version they make up (one consistent
 * snapshot).  TM_ENOTFOUND when there is no such session. */
int tm_store_load_events(tm_store *s, const char *key, tm_eventvec *out, uint64_t *version, tm_error *err);

/* Records the mapping figures of a session version (for ListSessions); does
 * nothing (and returns 0) when the session has moved on to another version. */
int tm_store_set_mapped(tm_store *s, const char *key, uint64_t version, uint64_t signals, double mapped_share,
                        tm_error *err);

/* How many sessions and events are stored. */
int tm_store_counts(tm_store *s, uint64_t *sessions, uint64_t *events, tm_error *err);

#endif

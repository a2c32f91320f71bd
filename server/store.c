/* store.c: trailmapd's durable store of events and sessions (see store.h).
 *
 * FILES AND SETTINGS
 *
 * DIR/trailmap.db (DIR created with mode 0700), journal_mode=WAL,
 * synchronous=FULL (the WAL is synced at every commit, so a batch is durable
 * when tm_store_add returns), busy_timeout 5 s, foreign_keys off (the store
 * keeps its own references; enforcing them would cost a lookup per row).
 * The writer keeps a 64 MB page cache and checkpoints every 10,000 WAL pages
 * (about 40 MB): eventIDs are random UUIDs, so each batch of 1,000 touches
 * about as many pages of their unique index, and checkpointing less often
 * writes a page once for several batches.
 * PRAGMA application_id marks the file as trailmap's and user_version holds
 * the schema version: a file from a newer trailmapd is refused by name.
 *
 * SCHEMA (version 1)
 *
 *   events    seq, event_id (unique; "synthetic:<hash of the raw text>" when
 *             the record has no eventID, so it is stored once;
 *             "<eventID>#<hash of time, source, name, principal>" for a
 *             record whose eventID an other event holds already: sanitized
 *             exports write one placeholder id for many events, and a copy
 *             is only a copy when it says the same, see tm_event_same),
 *             session,
 *             principal (session.c's), time_ms, name, kind (0: its session
 *             is fixed: forced by the client, "default" or "service:...";
 *             1: placed through a link; 2: loose, placed by time), link_id,
 *             token_key (loose GetSigninToken), raw (byte for byte).
 *             Indexes: (session, time_ms) for loading and bounds,
 *             and small partial ones for the derivation (link_id; loose
 *             events by (principal, time_ms); token_key).
 *   links     one row per distinct session fact of kind NODE or LONGTERM
 *             (session.h): (principal, access key, creation, token key),
 *             its session and the raw text of one event carrying it.
 *             Every event of a link is in the link's session.
 *   sessions  key, principal_arn, user_name, user_agent, source_ips (JSON),
 *             first_ms, last_ms, events, version, signals, mapped_share,
 *             mapped_version.
 *   session_attrs  (session, kind, value) → number of events: the counts
 *             behind principal_arn, user_name, user_agent (most frequent)
 *             and source_ips (all), kept up to date by deltas so a batch
 *             never rescans a large session.
 *   meta      'version' (the last session version handed out: versions are
 *             one store-wide counter, never reused) and 'events'.
 *
 * SESSIONS ACROSS BATCHES
 *
 * tm_session_assign decides a NODE or LONGTERM event's session from its
 * facts alone, given the other events: two events with equal facts always
 * share a session, and a second one changes nothing.  So a batch event
 * whose facts are stored already (one indexed lookup in links) simply
 * joins that link's session: the common case, free of any loading.  The
 * other events (new facts, and loose events) are placed by running
 * tm_session_assign over them together with the stored events they can
 * interact with, found by a closure over indexed queries:
 *
 *   - a link's access key or token key: every link and loose
 *     GetSigninToken naming that key (keys join nodes, rules 3-6);
 *   - a link's creation: every link of that principal and creation;
 *   - a loose event at t: every link of its principal created within
 *     [t - 12 h, t + 5 min] (session.h's reach: rules 7-8);
 *   - a link with a creation time that may change (phase 1, below): the
 *     loose events of its principal within [creation - 5 min,
 *     creation + 12 h], whose placement may change with it.
 *
 * Phase 1 holds what the batch can change: the new facts, the whole group
 * of links they join, the loose events near their creation times, and for
 * a loose GetSigninToken (which joins a key to the session it matched) the
 * links near it.  Phase 2 holds context only: the sessions a loose event
 * may join, with their groups, but not the loose events near those
 * (they cannot change), so the closure does not creep along a principal's
 * whole history.  Links stand for all their events (one representative
 * each), so the cost of a batch is the number of distinct facts and loose
 * events in the sessions it touches, not their event count; a console
 * session has a few dozen links.  The result equals tm_session_assign over
 * everything stored, whatever the batching and order (test_store checks).
 * Events that change session are moved (links: all their events) and the
 * sessions they leave and join get new versions.  Forced and FIXED events
 * take no part.  tm_session_facts_of (session.c) is the contract: should
 * the rule ever read another field, it belongs in the facts, in the links
 * key and in a new schema version that derives the stored sessions again.
 *
 * THREADS
 *
 * SQLite is opened with SQLITE_OPEN_NOMUTEX (multi-thread mode: a
 * connection is never used by two threads at once, which the store
 * guarantees itself).  One write connection, guarded by a mutex, serves
 * tm_store_add and tm_store_set_mapped; reads take a read-only connection
 * from a pool (opened on demand, kept for reuse), so readers run beside the
 * writer as WAL allows, each on its own snapshot. */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hash.h"
#include "session.h"
#include "strmap.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x546d4170 /* "TmAp" */
#define BUSY_TIMEOUT_MS 5000
#define NONE SIZE_MAX

enum { A_IP, A_UA, A_ARN, A_USER, A_N };

static const char SCHEMA[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES ('version', 0), ('events', 0);"
    "CREATE TABLE events("
    " seq INTEGER PRIMARY KEY,"
    " event_id TEXT NOT NULL UNIQUE,"
    " session TEXT NOT NULL,"
    " principal TEXT NOT NULL,"
    " time_ms INTEGER NOT NULL,"
    " name TEXT NOT NULL,"
    " kind INTEGER NOT NULL,"
    " link_id INTEGER,"
    " token_key TEXT,"
    " raw TEXT NOT NULL);"
    "CREATE INDEX events_session ON events(session, time_ms);"
    "CREATE INDEX events_link ON events(link_id) WHERE link_id IS NOT NULL;"
    "CREATE INDEX events_loose ON events(principal, time_ms) WHERE kind = 2;"
    "CREATE INDEX events_token ON events(token_key) WHERE token_key IS NOT NULL;"
    "CREATE TABLE links("
    " id INTEGER PRIMARY KEY,"
    " principal TEXT NOT NULL,"
    " akid TEXT NOT NULL,"
    " cnode TEXT NOT NULL,"
    " cdate_ms INTEGER,"
    " token_key TEXT NOT NULL,"
    " session TEXT NOT NULL,"
    " rep TEXT NOT NULL,"
    " UNIQUE(principal, akid, cnode, token_key));"
    "CREATE INDEX links_akid ON links(akid) WHERE akid != '';"
    "CREATE INDEX links_token ON links(token_key) WHERE token_key != '';"
    "CREATE INDEX links_cnode ON links(principal, cnode) WHERE cnode != '';"
    "CREATE INDEX links_cdate ON links(principal, cdate_ms) WHERE cdate_ms IS NOT NULL;"
    "CREATE TABLE sessions("
    " key TEXT PRIMARY KEY,"
    " principal_arn TEXT NOT NULL,"
    " user_name TEXT NOT NULL,"
    " user_agent TEXT NOT NULL,"
    " source_ips TEXT NOT NULL,"
    " first_ms INTEGER NOT NULL,"
    " last_ms INTEGER NOT NULL,"
    " events INTEGER NOT NULL,"
    " version INTEGER NOT NULL,"
    " signals INTEGER NOT NULL DEFAULT 0,"
    " mapped_share REAL NOT NULL DEFAULT 0,"
    " mapped_version INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX sessions_last ON sessions(last_ms DESC, key);"
    "CREATE TABLE session_attrs("
    " session TEXT NOT NULL, kind INTEGER NOT NULL, value TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(session, kind, value)) WITHOUT ROWID;";

/* ------------------------------------------------------------ statements */

#define LINK_COLS "SELECT id, principal, akid, cnode, cdate_ms, token_key, session, rep FROM links"
#define LOOSE_COLS "SELECT seq, principal, token_key, session, raw FROM events"
#define SESSION_COLS                                                                                   \
    "SELECT key, principal_arn, user_name, user_agent, source_ips, first_ms, last_ms, events, version," \
    " signals, mapped_share, mapped_version FROM sessions"

enum {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_DUP,
    W_LINK_FIND,
    W_LINKS_AKID,
    W_LINKS_TOKEN,
    W_LINKS_CNODE,
    W_LINKS_CR,
    W_LOOSE_TOKEN,
    W_LOOSE_TIME,
    W_LINK_INSERT,
    W_LINK_SET,
    W_LINK_EVENTS,
    W_MOVE_LINK,
    W_MOVE_ONE,
    W_INSERT,
    W_ATTR_ADD,
    W_ATTR_PRUNE,
    W_ATTR_DROP,
    W_ATTR_TOP,
    W_ATTR_ALL,
    W_SESS_COUNT,
    W_SESS_FIRST,
    W_SESS_LAST,
    W_SESS_PUT,
    W_SESS_DEL,
    W_META_GET,
    W_META_SET,
    W_SET_MAPPED,
    W_N
};

static const char *const WSQL[W_N] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_DUP] = "SELECT raw FROM events WHERE event_id = ?1",
    [W_LINK_FIND] = "SELECT id, session FROM links WHERE principal = ?1 AND akid = ?2 AND cnode = ?3"
                    " AND token_key = ?4",
    [W_LINKS_AKID] = LINK_COLS " WHERE akid = ?1 AND akid != ''",
    [W_LINKS_TOKEN] = LINK_COLS " WHERE token_key = ?1 AND token_key != ''",
    [W_LINKS_CNODE] = LINK_COLS " WHERE principal = ?1 AND cnode = ?2 AND cnode != ''",
    [W_LINKS_CR] = LINK_COLS " WHERE principal = ?1 AND cdate_ms IS NOT NULL AND cdate_ms BETWEEN ?2 AND ?3",
    [W_LOOSE_TOKEN] = LOOSE_COLS " WHERE token_key = ?1 AND token_key IS NOT NULL AND kind = 2",
    [W_LOOSE_TIME] = LOOSE_COLS " WHERE kind = 2 AND principal = ?1 AND time_ms BETWEEN ?2 AND ?3",
    [W_LINK_INSERT] = "INSERT INTO links(principal, akid, cnode, cdate_ms, token_key, session, rep)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [W_LINK_SET] = "UPDATE links SET session = ?2 WHERE id = ?1",
    [W_LINK_EVENTS] = "SELECT raw FROM events WHERE link_id = ?1",
    [W_MOVE_LINK] = "UPDATE events SET session = ?2 WHERE link_id = ?1",
    [W_MOVE_ONE] = "UPDATE events SET session = ?2 WHERE seq = ?1",
    [W_INSERT] = "INSERT INTO events(event_id, session, principal, time_ms, name, kind, link_id, token_key, raw)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [W_ATTR_ADD] = "INSERT INTO session_attrs(session, kind, value, n) VALUES (?1, ?2, ?3, ?4)"
                   " ON CONFLICT(session, kind, value) DO UPDATE SET n = n + excluded.n",
    [W_ATTR_PRUNE] = "DELETE FROM session_attrs WHERE session = ?1 AND kind = ?2 AND value = ?3 AND n <= 0",
    [W_ATTR_DROP] = "DELETE FROM session_attrs WHERE session = ?1",
    [W_ATTR_TOP] = "SELECT value FROM session_attrs WHERE session = ?1 AND kind = ?2 AND n > 0"
                   " ORDER BY n DESC, value LIMIT 1",
    [W_ATTR_ALL] = "SELECT value FROM session_attrs WHERE session = ?1 AND kind = ?2 AND n > 0 ORDER BY value",
    [W_SESS_COUNT] = "SELECT events FROM sessions WHERE key = ?1",
    [W_SESS_FIRST] = "SELECT time_ms FROM events WHERE session = ?1 ORDER BY time_ms LIMIT 1",
    [W_SESS_LAST] = "SELECT time_ms FROM events WHERE session = ?1 ORDER BY time_ms DESC LIMIT 1",
    [W_SESS_PUT] = "INSERT INTO sessions(key, principal_arn, user_name, user_agent, source_ips, first_ms, last_ms,"
                   " events, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                   " ON CONFLICT(key) DO UPDATE SET principal_arn = excluded.principal_arn,"
                   " user_name = excluded.user_name, user_agent = excluded.user_agent,"
                   " source_ips = excluded.source_ips, first_ms = excluded.first_ms, last_ms = excluded.last_ms,"
                   " events = excluded.events, version = excluded.version",
    [W_SESS_DEL] = "DELETE FROM sessions WHERE key = ?1",
    [W_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [W_META_SET] = "INSERT INTO meta(key, value) VALUES (?1, ?2)"
                   " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [W_SET_MAPPED] = "UPDATE sessions SET signals = ?3, mapped_share = ?4, mapped_version = ?2"
                     " WHERE key = ?1 AND version = ?2",
};

enum { R_BEGIN, R_COMMIT, R_ROLLBACK, R_SESSION, R_LIST, R_VERSION, R_EVENTS, R_COUNTS, R_N };

static const char *const RSQL[R_N] = {
    [R_BEGIN] = "BEGIN",
    [R_COMMIT] = "COMMIT",
    [R_ROLLBACK] = "ROLLBACK",
    [R_SESSION] = SESSION_COLS " WHERE key = ?1",
    [R_LIST] = SESSION_COLS
    " WHERE (?1 IS NULL OR instr(principal_arn, ?1) > 0 OR instr(user_name, ?1) > 0)"
    " AND last_ms >= ?2 AND first_ms <= ?3"
    " AND (?4 OR EXISTS (SELECT 1 FROM events WHERE events.session = sessions.key"
    " AND events.time_ms BETWEEN ?2 AND ?3))"
    " ORDER BY last_ms DESC, key LIMIT ?5 OFFSET ?6",
    [R_VERSION] = "SELECT version FROM sessions WHERE key = ?1",
    [R_EVENTS] = "SELECT raw FROM events WHERE session = ?1 ORDER BY time_ms", /* ties: sorted after */
    [R_COUNTS] = "SELECT (SELECT count(*) FROM sessions), (SELECT value FROM meta WHERE key = 'events')",
};

typedef struct rconn {
    sqlite3 *db;
    sqlite3_stmt *st[R_N];
    struct rconn *next;
} rconn;

struct tm_store {
    char *path;
    pthread_mutex_t wlock; /* the write connection and its statements */
    sqlite3 *w;
    sqlite3_stmt *ws[W_N];
    pthread_mutex_t plock; /* the pool of read connections */
    rconn *pool;
};

/* ------------------------------------------------------------- helpers */

static int b_text(sqlite3_stmt *st, int i, const char *v) {
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int b_textn(sqlite3_stmt *st, int i, const char *v, size_t n) {
    return sqlite3_bind_text64(st, i, v, (sqlite3_uint64)n, SQLITE_STATIC, SQLITE_UTF8) == SQLITE_OK ? 0 : -1;
}

static int b_int(sqlite3_stmt *st, int i, int64_t v) {
    return sqlite3_bind_int64(st, i, (sqlite3_int64)v) == SQLITE_OK ? 0 : -1;
}

static int b_null(sqlite3_stmt *st, int i) { return sqlite3_bind_null(st, i) == SQLITE_OK ? 0 : -1; }

/* 1: a row, 0: done, -1: an error (sqlite3_errmsg says which). */
static int step(sqlite3_stmt *st) {
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Ends a use of st: resets it, keeping r (the last step's outcome) as the
 * result; a reset that fails after good steps is an error too. */
static int st_end(sqlite3_stmt *st, int r) {
    int rc = sqlite3_reset(st);
    if (r < 0) return -1;
    return rc == SQLITE_OK ? 0 : -1;
}

/* A column's text copied (""), or NULL when out of memory. */
static char *col_dup(sqlite3_stmt *st, int i, size_t *len) {
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (!t && sqlite3_column_type(st, i) != SQLITE_NULL) return NULL; /* out of memory */
    char *c = malloc(n + 1);
    if (!c) return NULL;
    if (n) memcpy(c, t, n);
    c[n] = '\0';
    if (len) *len = n;
    return c;
}

static int db_fail(const tm_store *s, sqlite3 *db, tm_error *err, const char *what) {
    int code = sqlite3_errcode(db) == SQLITE_NOMEM ? TM_ENOMEM : TM_EIO;
    return tm_error_set(err, code, "store: %s: %s: %s", s->path, what, sqlite3_errmsg(db));
}

static int oom(tm_error *err) { return tm_error_set(err, TM_ENOMEM, "store: out of memory"); }

/* printf into a malloc'd string, or NULL */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* grows *v (of *cap elements of size sz) to hold n+1 */
static int grow(void **v, size_t *cap, size_t n, size_t sz) {
    if (n < *cap) return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    if (ncap > SIZE_MAX / sz) return -1;
    void *nv = realloc(*v, ncap * sz);
    if (!nv) return -1;
    *v = nv;
    *cap = ncap;
    return 0;
}

/* ------------------------------------------------ synthetic event ids */

static char *synthetic_id(const tm_event *e) {
    uint64_t h[2];
    tm_murmur3_128(e->raw, e->raw_len, h);
    return fmt("synthetic:%016" PRIx64 "%016" PRIx64, h[0], h[1]);
}

/* The key of an event whose eventID another event holds: the id and a
 * hash of what tm_event_same compares. */
static char *clash_id(const tm_event *e) {
    char *ident = fmt("%" PRId64 "\x1f%s\x1f%s\x1f%s", e->time_ms, e->source, e->name, tm_event_principal(e));
    if (!ident) return NULL;
    uint64_t h[2];
    tm_murmur3_128(ident, strlen(ident), h);
    free(ident);
    return fmt("%s#%016" PRIx64, e->id, h[0]);
}

/* --------------------------------------------------------- attributes */

static const char *json_str(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
}

/* The values a record adds to its session's summary (borrowed from rec). */
static void attrs_of(json_t *rec, const char *a[A_N]) {
    json_t *ui = json_object_get(rec, "userIdentity");
    a[A_IP] = json_str(rec, "sourceIPAddress");
    a[A_UA] = json_str(rec, "userAgent");
    a[A_ARN] = json_is_object(ui) ? json_str(ui, "arn") : NULL;
    a[A_USER] = json_is_object(ui) ? json_str(ui, "userName") : NULL;
    if (!a[A_USER] && a[A_ARN]) {
        const char *slash = strrchr(a[A_ARN], '/');
        if (slash && slash[1]) a[A_USER] = slash + 1;
    }
}

/* ----------------------------------------------------------- open/close */

static int mkdirs(const char *dir, tm_error *err) {
    char *p = strdup(dir);
    if (!p) return oom(err);
    for (char *q = p + 1;; q++) {
        if (*q != '/' && *q != '\0') continue;
        char c = *q;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            int e = errno;
            tm_error_set(err, TM_EIO, "store: cannot create %s: %s", p, strerror(e));
            free(p);
            return TM_EIO;
        }
        *q = c;
        if (c == '\0') break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tm_error_set(err, TM_EIO, "store: %s is not a directory", dir);
        free(p);
        return TM_EIO;
    }
    free(p);
    return 0;
}

static int cannot_open(const tm_store *s, sqlite3 *db, tm_error *err) {
    return tm_error_set(err, TM_EIO, "store: cannot open %s: %s", s->path, sqlite3_errmsg(db));
}

/* Runs SQL text on db (setup only). */
static int exec(tm_store *s, sqlite3 *db, const char *sql, tm_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    tm_error_set(err, TM_EIO, "store: cannot open %s: %s", s->path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return TM_EIO;
}

/* The integer a PRAGMA returns. */
static int pragma_int(tm_store *s, sqlite3 *db, const char *sql, int64_t *v, tm_error *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return cannot_open(s, db, err);
    int r = step(st);
    if (r == 1) *v = sqlite3_column_int64(st, 0);
    if (r < 0) cannot_open(s, db, err);
    else if (r == 0) tm_error_set(err, TM_EIO, "store: cannot open %s: %s returned nothing", s->path, sql);
    if (sqlite3_finalize(st) != SQLITE_OK && r == 1) return cannot_open(s, db, err);
    return r == 1 ? 0 : TM_EIO;
}

static int set_wal(tm_store *s, sqlite3 *db, tm_error *err) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK) return cannot_open(s, db, err);
    int r = step(st), ok = 0;
    if (r == 1) {
        const unsigned char *m = sqlite3_column_text(st, 0);
        ok = m && strcmp((const char *)m, "wal") == 0;
    }
    int rc = r < 0 ? cannot_open(s, db, err) : 0;
    if (rc == 0 && !ok)
        rc = tm_error_set(err, TM_EIO, "store: cannot open %s: WAL journal mode is not available", s->path);
    if (sqlite3_finalize(st) != SQLITE_OK && rc == 0) rc = cannot_open(s, db, err);
    return rc;
}

/* Creates the schema in an empty file; checks an existing one. */
static int schema(tm_store *s, tm_error *err) {
    int rc = exec(s, s->w, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    int64_t version = 0, app = 0, tables = 0;
    if ((rc = pragma_int(s, s->w, "PRAGMA user_version", &version, err)) ||
        (rc = pragma_int(s, s->w, "PRAGMA application_id", &app, err)) ||
        (rc = pragma_int(s, s->w, "SELECT count(*) FROM sqlite_schema", &tables, err)))
        goto out;
    if (version == 0 && app == 0 && tables == 0) {
        char pragmas[128];
        snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id=%d; PRAGMA user_version=%d;", APPLICATION_ID,
                 SCHEMA_VERSION);
        if ((rc = exec(s, s->w, SCHEMA, err)) || (rc = exec(s, s->w, pragmas, err))) goto out;
    } else if (app != APPLICATION_ID) {
        rc = tm_error_set(err, TM_EINVAL, "store: %s is not a trailmap store (application_id %" PRId64 ")",
                          s->path, app);
        goto out;
    } else if (version > SCHEMA_VERSION) {
        rc = tm_error_set(err, TM_EINVAL,
                          "store: %s has schema version %" PRId64 ", written by a newer trailmapd; this one "
                          "reads versions up to %d",
                          s->path, version, SCHEMA_VERSION);
        goto out;
    } else if (version < 1) {
        rc = tm_error_set(err, TM_EINVAL, "store: %s has no schema version", s->path);
        goto out;
    }
    rc = exec(s, s->w, "COMMIT", err);
out:
    if (rc && !sqlite3_get_autocommit(s->w)) {
        tm_error dummy;
        if (exec(s, s->w, "ROLLBACK", &dummy) != 0) { /* the connection is closed next anyway */
        }
    }
    return rc;
}

static int open_conn(tm_store *s, int flags, sqlite3 **out, tm_error *err) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(s->path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        tm_error_set(err, rc == SQLITE_NOMEM ? TM_ENOMEM : TM_EIO, "store: cannot open %s: %s", s->path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        if (sqlite3_close(db) != SQLITE_OK) { /* nothing was prepared: cannot fail */
        }
        return TM_EIO;
    }
    if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK || sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) != SQLITE_OK) {
        tm_error_set(err, TM_EIO, "store: cannot open %s: %s", s->path, sqlite3_errmsg(db));
        if (sqlite3_close(db) != SQLITE_OK) {
        }
        return TM_EIO;
    }
    *out = db;
    return 0;
}

static void close_db(sqlite3 *db, sqlite3_stmt **st, size_t n, const char *path) {
    for (size_t i = 0; i < n; i++)
        if (st[i] && sqlite3_finalize(st[i]) != SQLITE_OK) {
            /* finalize reports the statement's last error again; nothing to do */
        }
    if (db && sqlite3_close(db) != SQLITE_OK)
        fprintf(stderr, "error store: closing %s: %s\n", path, sqlite3_errmsg(db));
}

int tm_store_open(const char *dir, tm_store **out, tm_error *err) {
    *out = NULL;
    if (!dir || !*dir) return tm_error_set(err, TM_EINVAL, "store: no data directory given");
    if (!sqlite3_threadsafe())
        return tm_error_set(err, TM_EINVAL, "store: this SQLite was built without thread support");
    int rc = mkdirs(dir, err);
    if (rc) return rc;
    tm_store *s = calloc(1, sizeof(*s));
    if (!s) return oom(err);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dl--;
    if (dl > 65536) {
        free(s);
        return tm_error_set(err, TM_EINVAL, "store: data directory name too long");
    }
    s->path = fmt("%.*s/trailmap.db", (int)dl, dir);
    if (!s->path) {
        free(s);
        return oom(err);
    }
    if (pthread_mutex_init(&s->wlock, NULL) != 0) {
        free(s->path);
        free(s);
        return tm_error_set(err, TM_EIO, "store: cannot create a mutex");
    }
    if (pthread_mutex_init(&s->plock, NULL) != 0) {
        pthread_mutex_destroy(&s->wlock);
        free(s->path);
        free(s);
        return tm_error_set(err, TM_EIO, "store: cannot create a mutex");
    }
    rc = open_conn(s, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s->w, err);
    if (rc == 0) rc = set_wal(s, s->w, err);
    if (rc == 0) rc = exec(s, s->w,
                            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF; PRAGMA cache_size=-65536;"
                            " PRAGMA wal_autocheckpoint=10000",
                            err);
    if (rc == 0) rc = schema(s, err);
    if (rc) {
        tm_store_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tm_store_close(tm_store *s) {
    if (!s) return;
    for (rconn *c = s->pool, *next; c; c = next) {
        next = c->next;
        close_db(c->db, c->st, R_N, s->path);
        free(c);
    }
    close_db(s->w, s->ws, W_N, s->path);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->plock);
    free(s->path);
    free(s);
}

/* The write statement `which`, reset and unbound; NULL on failure (err set).
 * The write lock must be held. */
static sqlite3_stmt *wst(tm_store *s, int which, tm_error *err) {
    sqlite3_stmt **st = &s->ws[which];
    if (!*st) {
        if (sqlite3_prepare_v3(s->w, WSQL[which], -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
            db_fail(s, s->w, err, "preparing a statement");
            *st = NULL;
            return NULL;
        }
        return *st;
    }
    /* every use ends with a reset (st_end), so this one only clears bindings */
    if (sqlite3_clear_bindings(*st) != SQLITE_OK) {
        db_fail(s, s->w, err, "clearing bindings");
        return NULL;
    }
    return *st;
}

static sqlite3_stmt *rst(tm_store *s, rconn *c, int which, tm_error *err) {
    sqlite3_stmt **st = &c->st[which];
    if (!*st) {
        if (sqlite3_prepare_v3(c->db, RSQL[which], -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
            db_fail(s, c->db, err, "preparing a statement");
            *st = NULL;
        }
        return *st;
    }
    if (sqlite3_clear_bindings(*st) != SQLITE_OK) {
        db_fail(s, c->db, err, "clearing bindings");
        return NULL;
    }
    return *st;
}

/* Runs a statement that returns no rows. */
static int run(sqlite3_stmt *st) { return st_end(st, step(st)); }

static int racquire(tm_store *s, rconn **out, tm_error *err) {
    *out = NULL;
    if (pthread_mutex_lock(&s->plock) != 0) return tm_error_set(err, TM_EIO, "store: cannot lock the pool");
    rconn *c = s->pool;
    if (c) s->pool = c->next;
    if (pthread_mutex_unlock(&s->plock) != 0) {
        if (c) { /* put it back is impossible without the lock: close it */
            close_db(c->db, c->st, R_N, s->path);
            free(c);
        }
        return tm_error_set(err, TM_EIO, "store: cannot unlock the pool");
    }
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) return oom(err);
        int rc = open_conn(s, SQLITE_OPEN_READONLY, &c->db, err);
        if (rc) {
            free(c);
            return rc;
        }
    }
    c->next = NULL;
    *out = c;
    return 0;
}

/* Returns c to the pool, or closes it when it is left inside a transaction
 * or the pool cannot be locked. */
static void rrelease(tm_store *s, rconn *c) {
    if (!c) return;
    if (sqlite3_get_autocommit(c->db) && pthread_mutex_lock(&s->plock) == 0) {
        c->next = s->pool;
        s->pool = c;
        if (pthread_mutex_unlock(&s->plock) != 0)
            fprintf(stderr, "error store: cannot unlock the connection pool\n");
        return;
    }
    close_db(c->db, c->st, R_N, s->path);
    free(c);
}

/* ================================================================ adding */

/* A link (see the notes at the top) as the derivation sees it. */
typedef struct {
    int64_t id;        /* links.id; 0 for a new one until inserted */
    char *principal, *akid, *cnode, *token; /* "" when absent */
    int has_ms;
    int64_t cdate_ms;
    char *session;     /* stored session; NULL for a new link */
    char *fresh;       /* the session derived now */
    tm_event *rep;     /* an event carrying these facts */
    int rep_owned;     /* rep rebuilt from the store (else a batch event) */
    char *saved;       /* the batch event's own e->session while derived */
    int phase;         /* 0: looked up only; 1: may change; 2: context */
    int done;          /* the phase it was expanded at (0: not yet) */
} wlink;

/* A loose event (placed by time), stored or new. */
typedef struct {
    int64_t seq;       /* events.seq; 0 for a batch event */
    char *principal;
    char *token;       /* GetSigninToken's key, or NULL */
    char *session;     /* stored session; NULL for a batch event */
    char *fresh;
    tm_event *e;
    int owned;
    char *saved;
    int phase, done;
} wloose;

typedef struct {
    tm_event *e;
    const char *id;
    char *id_owned;
    int dup;
    tm_session_facts f;
    const char *attrs[A_N];
    int kind;          /* stored kind: 0 fixed, 1 link, 2 loose */
    size_t link, loose;
    const char *session;
} item;

typedef struct {
    char *session;
    int64_t events;    /* delta */
} sdelta;

typedef struct {
    size_t sess;
    int kind;
    char *value;
    int64_t n;
} adelta;

typedef struct {
    tm_store *s;
    tm_error *err;
    const char *forced;
    item *items;
    size_t nitems;
    size_t accepted, duplicates;

    wlink *links;
    size_t nlinks, caplinks;
    wloose *loose;
    size_t nloose, caploose;
    tm_strmap index;        /* "t:<facts>", "i:<link id>", "l:<seq>", "k:<key>", "c:<principal>\x1f<creation>" */
    size_t *queue;     /* (index << 1) | is_loose */
    size_t nqueue, capqueue;

    sdelta *sd;
    size_t nsd, capsd;
    adelta *ad;
    size_t nad, capad;
    tm_strmap dindex;       /* session → sd index; "<sd>:<kind>:<value>" → ad index */
} adder;

static int adder_nomem(adder *a) { return oom(a->err); }

static int wfail(adder *a, const char *what) { return db_fail(a->s, a->s->w, a->err, what); }

static int enqueue(adder *a, size_t idx, int is_loose) {
    if (grow((void **)&a->queue, &a->capqueue, a->nqueue, sizeof(*a->queue))) return adder_nomem(a);
    a->queue[a->nqueue++] = (idx << 1) | (size_t)is_loose;
    return 0;
}

static char *facts_key(const char *p, const char *akid, const char *cnode, const char *token) {
    return fmt("t:%zu:%s%zu:%s%zu:%s%zu:%s", strlen(p), p, strlen(akid), akid, strlen(cnode), cnode, strlen(token),
               token);
}

static int rebuild(adder *a, const char *raw, size_t len, tm_event **out) {
    tm_error e2 = {0};
    int rc = tm_event_from_text(raw, len, out, &e2);
    if (rc == TM_ENOMEM) return adder_nomem(a);
    if (rc) return tm_error_set(a->err, TM_EIO, "store: %s: a stored event cannot be rebuilt: %s", a->s->path, e2.msg);
    return 0;
}

/* Raises the phase of link i (lower is stronger) and queues it. */
static int link_reach(adder *a, size_t i, int ph) {
    wlink *L = &a->links[i];
    if (L->phase != 0 && L->phase <= ph) return 0;
    L->phase = ph;
    return enqueue(a, i, 0);
}

static int loose_reach(adder *a, size_t i, int ph) {
    wloose *X = &a->loose[i];
    if (X->phase != 0 && X->phase <= ph) return 0;
    X->phase = ph;
    return enqueue(a, i, 1);
}

static int new_link(adder *a, size_t *out) {
    if (grow((void **)&a->links, &a->caplinks, a->nlinks, sizeof(*a->links))) return adder_nomem(a);
    memset(&a->links[a->nlinks], 0, sizeof(wlink));
    *out = a->nlinks++;
    return 0;
}

static int new_loose(adder *a, size_t *out) {
    if (grow((void **)&a->loose, &a->caploose, a->nloose, sizeof(*a->loose))) return adder_nomem(a);
    memset(&a->loose[a->nloose], 0, sizeof(wloose));
    *out = a->nloose++;
    return 0;
}

/* A row of LINK_COLS: known already, or a new member of the closure. */
static int link_row(adder *a, sqlite3_stmt *st, int ph) {
    int64_t id = sqlite3_column_int64(st, 0);
    char ik[32];
    snprintf(ik, sizeof(ik), "i:%" PRId64, id);
    size_t i = tm_strmap_get(&a->index, ik);
    if (i == NONE) {
        if (new_link(a, &i)) return TM_ENOMEM;
        wlink *L = &a->links[i];
        L->id = id;
        if (!(L->principal = col_dup(st, 1, NULL)) || !(L->akid = col_dup(st, 2, NULL)) ||
            !(L->cnode = col_dup(st, 3, NULL)) || !(L->token = col_dup(st, 5, NULL)) ||
            !(L->session = col_dup(st, 6, NULL)))
            return adder_nomem(a);
        L->has_ms = sqlite3_column_type(st, 4) != SQLITE_NULL;
        L->cdate_ms = L->has_ms ? sqlite3_column_int64(st, 4) : 0;
        char *tk = facts_key(L->principal, L->akid, L->cnode, L->token);
        int bad = !tk || tm_strmap_set(&a->index, tk, i) || tm_strmap_set(&a->index, ik, i);
        free(tk);
        if (bad) return adder_nomem(a);
    }
    wlink *L = &a->links[i];
    if (!L->rep) {
        const char *raw = (const char *)sqlite3_column_text(st, 7);
        if (!raw) return adder_nomem(a);
        int rc = rebuild(a, raw, (size_t)sqlite3_column_bytes(st, 7), &L->rep);
        if (rc) return rc;
        L->rep_owned = 1;
    }
    return link_reach(a, i, ph);
}

/* A row of LOOSE_COLS. */
static int loose_row(adder *a, sqlite3_stmt *st, int ph) {
    int64_t seq = sqlite3_column_int64(st, 0);
    char lk[32];
    snprintf(lk, sizeof(lk), "l:%" PRId64, seq);
    size_t i = tm_strmap_get(&a->index, lk);
    if (i == NONE) {
        if (new_loose(a, &i)) return TM_ENOMEM;
        wloose *X = &a->loose[i];
        X->seq = seq;
        if (!(X->principal = col_dup(st, 1, NULL)) || !(X->session = col_dup(st, 3, NULL))) return adder_nomem(a);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL && !(X->token = col_dup(st, 2, NULL))) return adder_nomem(a);
        const char *raw = (const char *)sqlite3_column_text(st, 4);
        if (!raw) return adder_nomem(a);
        int rc = rebuild(a, raw, (size_t)sqlite3_column_bytes(st, 4), &X->e);
        if (rc) return rc;
        X->owned = 1;
        if (tm_strmap_set(&a->index, lk, i)) return adder_nomem(a);
    }
    return loose_reach(a, i, ph);
}

/* Runs query `which` (bound by the caller) and takes its rows in. */
static int take_rows(adder *a, sqlite3_stmt *st, int is_loose, int ph) {
    int r = 0, rc = 0;
    while (rc == 0 && (r = step(st)) == 1) rc = is_loose ? loose_row(a, st, ph) : link_row(a, st, ph);
    if (rc) {
        if (sqlite3_reset(st) != SQLITE_OK) { /* the error is rc's */
        }
        return rc;
    }
    return st_end(st, r) ? wfail(a, "reading sessions") : 0;
}

/* Was this query (by name) run at an equal or stronger phase already?
 * Records it otherwise.  Returns 1 when it must run, 0 when not, <0 error. */
static int first_time(adder *a, const char *name, int ph) {
    size_t v = tm_strmap_get(&a->index, name);
    if (v != NONE) {
        if (v <= (size_t)ph) return 0;
        /* a stronger phase: record it in place */
    }
    return tm_strmap_set(&a->index, name, (size_t)ph) ? adder_nomem(a) : 1;
}

/* Every link and loose GetSigninToken naming key k. */
static int q_key(adder *a, const char *k, int ph) {
    char *name = fmt("k:%s", k);
    if (!name) return adder_nomem(a);
    int rc = first_time(a, name, ph);
    free(name);
    if (rc <= 0) return rc;
    static const int which[3] = {W_LINKS_AKID, W_LINKS_TOKEN, W_LOOSE_TOKEN};
    for (int q = 0; q < 3; q++) {
        sqlite3_stmt *st = wst(a->s, which[q], a->err);
        if (!st) return TM_EIO;
        if (b_text(st, 1, k)) return wfail(a, "binding");
        if ((rc = take_rows(a, st, which[q] == W_LOOSE_TOKEN, ph))) return rc;
    }
    return 0;
}

/* Every link of principal p created at c. */
static int q_cnode(adder *a, const char *p, const char *c, int ph) {
    char *name = fmt("c:%zu:%s%s", strlen(p), p, c);
    if (!name) return adder_nomem(a);
    int rc = first_time(a, name, ph);
    free(name);
    if (rc <= 0) return rc;
    sqlite3_stmt *st = wst(a->s, W_LINKS_CNODE, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, p) || b_text(st, 2, c)) return wfail(a, "binding");
    return take_rows(a, st, 0, ph);
}

/* Links of p created within [lo, hi], or loose events of p within [lo, hi]. */
static int q_range(adder *a, int which, const char *p, int64_t lo, int64_t hi, int ph) {
    sqlite3_stmt *st = wst(a->s, which, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, p) || b_int(st, 2, lo) || b_int(st, 3, hi)) return wfail(a, "binding");
    return take_rows(a, st, which == W_LOOSE_TIME, ph);
}

static int64_t sat_add(int64_t x, int64_t d) {
    if (d > 0 && x > INT64_MAX - d) return INT64_MAX;
    if (d < 0 && x < INT64_MIN - d) return INT64_MIN;
    return x + d;
}

static int expand_link(adder *a, size_t i) {
    int ph = a->links[i].phase;
    if (a->links[i].done && a->links[i].done <= ph) return 0;
    a->links[i].done = ph;
    /* strings are copied: the array may move while querying */
    char *p = strdup(a->links[i].principal), *akid = strdup(a->links[i].akid);
    char *cnode = strdup(a->links[i].cnode), *token = strdup(a->links[i].token);
    int has_ms = a->links[i].has_ms;
    int64_t ms = a->links[i].cdate_ms;
    int rc = 0;
    if (!p || !akid || !cnode || !token) rc = adder_nomem(a);
    if (rc == 0 && *akid) rc = q_key(a, akid, ph);
    if (rc == 0 && *token) rc = q_key(a, token, ph);
    if (rc == 0 && *cnode) rc = q_cnode(a, p, cnode, ph);
    if (rc == 0 && ph == 1 && has_ms)
        rc = q_range(a, W_LOOSE_TIME, p, sat_add(ms, -TM_SESSION_REACH_AFTER_MS),
                     sat_add(ms, TM_SESSION_REACH_BEFORE_MS), 1);
    free(p);
    free(akid);
    free(cnode);
    free(token);
    return rc;
}

static int expand_loose(adder *a, size_t i) {
    int ph = a->loose[i].phase;
    if (a->loose[i].done && a->loose[i].done <= ph) return 0;
    a->loose[i].done = ph;
    char *p = strdup(a->loose[i].principal), *token = a->loose[i].token ? strdup(a->loose[i].token) : NULL;
    int64_t t = a->loose[i].e->time_ms;
    int rc = 0;
    if (!p || (a->loose[i].token && !token)) rc = adder_nomem(a);
    /* a GetSigninToken joins its key to the session it matches: what it
     * may match can change with it; other loose events only look */
    if (rc == 0)
        rc = q_range(a, W_LINKS_CR, p, sat_add(t, -TM_SESSION_REACH_BEFORE_MS), sat_add(t, TM_SESSION_REACH_AFTER_MS),
                     token ? ph : 2);
    if (rc == 0 && token) rc = q_key(a, token, ph);
    free(p);
    free(token);
    return rc;
}

/* Finds (or looks up, or creates) the link of a batch event of kind NODE or LONGTERM. */
static int item_link(adder *a, item *it) {
    const tm_session_facts *f = &it->f;
    const char *akid = f->access_key ? f->access_key : "", *cnode = f->creation ? f->creation : "";
    const char *token = f->token_key ? f->token_key : "";
    char *tk = facts_key(f->principal, akid, cnode, token);
    if (!tk) return adder_nomem(a);
    size_t i = tm_strmap_get(&a->index, tk);
    int rc = 0;
    if (i != NONE) goto found;
    sqlite3_stmt *st = wst(a->s, W_LINK_FIND, a->err);
    if (!st) {
        rc = TM_EIO;
        goto out;
    }
    if (b_text(st, 1, f->principal) || b_text(st, 2, akid) || b_text(st, 3, cnode) || b_text(st, 4, token)) {
        rc = wfail(a, "binding");
        goto out;
    }
    int r = step(st);
    int64_t id = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    char *session = r == 1 ? col_dup(st, 1, NULL) : NULL;
    if (st_end(st, r)) {
        free(session);
        rc = wfail(a, "looking up a session fact");
        goto out;
    }
    if (r == 1 && !session) {
        rc = adder_nomem(a);
        goto out;
    }
    if (new_link(a, &i)) {
        free(session);
        rc = TM_ENOMEM;
        goto out;
    }
    wlink *L = &a->links[i];
    L->id = id;
    L->session = session;
    L->principal = strdup(f->principal);
    L->akid = strdup(akid);
    L->cnode = strdup(cnode);
    L->token = strdup(token);
    L->has_ms = f->creation && f->has_creation_ms;
    L->cdate_ms = L->has_ms ? f->creation_ms : 0;
    if (!L->principal || !L->akid || !L->cnode || !L->token || tm_strmap_set(&a->index, tk, i)) {
        rc = adder_nomem(a);
        goto out;
    }
    if (r == 1) {
        char ik[32];
        snprintf(ik, sizeof(ik), "i:%" PRId64, id);
        if (tm_strmap_set(&a->index, ik, i)) {
            rc = adder_nomem(a);
            goto out;
        }
    } else {
        /* new facts: this event stands for the link and may change others */
        L->rep = it->e;
        rc = link_reach(a, i, 1);
    }
found:
    it->link = i;
out:
    free(tk);
    return rc;
}

/* Places the batch's events (derived sessions). */
static int derive(adder *a) {
    int rc = 0;
    for (size_t n = 0; n < a->nitems && rc == 0; n++) {
        item *it = &a->items[n];
        if (it->dup) continue;
        switch (it->f.kind) {
        case TM_SESSION_FIXED:
            it->kind = 0;
            it->session = it->f.fixed;
            break;
        case TM_SESSION_NODE:
        case TM_SESSION_LONGTERM:
            it->kind = 1;
            rc = item_link(a, it);
            break;
        case TM_SESSION_LOOSE: {
            it->kind = 2;
            size_t i = 0;
            if (new_loose(a, &i)) return TM_ENOMEM;
            wloose *X = &a->loose[i];
            X->e = it->e;
            X->principal = strdup(it->f.principal);
            X->token = it->f.token_key ? strdup(it->f.token_key) : NULL;
            if (!X->principal || (it->f.token_key && !X->token)) return adder_nomem(a);
            it->loose = i;
            rc = loose_reach(a, i, 1);
            break;
        }
        }
    }
    /* the closure */
    while (rc == 0 && a->nqueue > 0) {
        size_t q = a->queue[--a->nqueue];
        rc = (q & 1) ? expand_loose(a, q >> 1) : expand_link(a, q >> 1);
    }
    if (rc) return rc;

    /* every event the batch can change, with its context, assigned at once */
    tm_eventvec v = {0};
    for (size_t i = 0; i < a->nlinks && rc == 0; i++)
        if (a->links[i].phase) rc = tm_eventvec_push(&v, a->links[i].rep);
    for (size_t i = 0; i < a->nloose && rc == 0; i++)
        if (a->loose[i].phase) rc = tm_eventvec_push(&v, a->loose[i].e);
    if (rc) {
        free(v.v);
        return adder_nomem(a);
    }
    /* batch events may carry a session from elsewhere: set aside while deriving */
    for (size_t i = 0; i < a->nlinks; i++)
        if (a->links[i].phase && !a->links[i].rep_owned) {
            a->links[i].saved = a->links[i].rep->session;
            a->links[i].rep->session = NULL;
        }
    for (size_t i = 0; i < a->nloose; i++)
        if (a->loose[i].phase && !a->loose[i].owned) {
            a->loose[i].saved = a->loose[i].e->session;
            a->loose[i].e->session = NULL;
        }
    rc = tm_session_assign(&v, NULL, a->err);
    free(v.v);
    for (size_t i = 0; i < a->nlinks; i++) {
        wlink *L = &a->links[i];
        if (!L->phase) continue;
        L->fresh = L->rep->session;
        L->rep->session = L->rep_owned ? NULL : L->saved;
        L->saved = NULL;
        if (!L->fresh && rc == 0) rc = tm_error_set(a->err, TM_EIO, "store: a session was not assigned");
    }
    for (size_t i = 0; i < a->nloose; i++) {
        wloose *X = &a->loose[i];
        if (!X->phase) continue;
        X->fresh = X->e->session;
        X->e->session = X->owned ? NULL : X->saved;
        X->saved = NULL;
        if (!X->fresh && rc == 0) rc = tm_error_set(a->err, TM_EIO, "store: a session was not assigned");
    }
    if (rc) return rc;
    for (size_t n = 0; n < a->nitems; n++) {
        item *it = &a->items[n];
        if (it->dup) continue;
        if (it->kind == 1) {
            wlink *L = &a->links[it->link];
            it->session = L->phase ? L->fresh : L->session;
        } else if (it->kind == 2) {
            it->session = a->loose[it->loose].fresh;
        }
    }
    return 0;
}

/* ---- deltas of the session summaries */

static int sess_index(adder *a, const char *session, size_t *out) {
    size_t i = tm_strmap_get(&a->dindex, session);
    if (i == NONE) {
        if (grow((void **)&a->sd, &a->capsd, a->nsd, sizeof(*a->sd))) return adder_nomem(a);
        i = a->nsd;
        a->sd[i].session = strdup(session);
        a->sd[i].events = 0;
        if (!a->sd[i].session) return adder_nomem(a);
        a->nsd++;
        if (tm_strmap_set(&a->dindex, session, i)) return adder_nomem(a);
    }
    *out = i;
    return 0;
}

/* One event with attributes `attrs` enters (+1) or leaves (-1) a session. */
static int delta(adder *a, const char *session, const char *const attrs[A_N], int sign) {
    size_t si = 0;
    int rc = sess_index(a, session, &si);
    if (rc) return rc;
    a->sd[si].events += sign;
    for (int k = 0; k < A_N; k++) {
        if (!attrs[k]) continue;
        char *key = fmt("%zu:%d:%s", si, k, attrs[k]);
        if (!key) return adder_nomem(a);
        size_t ai = tm_strmap_get(&a->dindex, key);
        if (ai == NONE) {
            if (grow((void **)&a->ad, &a->capad, a->nad, sizeof(*a->ad))) {
                free(key);
                return adder_nomem(a);
            }
            ai = a->nad;
            a->ad[ai].sess = si;
            a->ad[ai].kind = k;
            a->ad[ai].n = 0;
            a->ad[ai].value = strdup(attrs[k]);
            if (!a->ad[ai].value) {
                free(key);
                return adder_nomem(a);
            }
            a->nad++;
            if (tm_strmap_set(&a->dindex, key, ai)) {
                free(key);
                return adder_nomem(a);
            }
        }
        free(key);
        a->ad[ai].n += sign;
    }
    return 0;
}

/* Moves every event of link L to its fresh session. */
static int move_link(adder *a, wlink *L) {
    sqlite3_stmt *st = wst(a->s, W_LINK_EVENTS, a->err);
    if (!st) return TM_EIO;
    if (b_int(st, 1, L->id)) return wfail(a, "binding");
    int r = 0, rc = 0;
    while (rc == 0 && (r = step(st)) == 1) {
        const char *raw = (const char *)sqlite3_column_text(st, 0);
        if (!raw) {
            rc = adder_nomem(a);
            break;
        }
        json_error_t je;
        json_t *rec = json_loadb(raw, (size_t)sqlite3_column_bytes(st, 0), JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!rec) {
            rc = tm_error_set(a->err, TM_EIO, "store: %s: a stored event is not JSON: %s", a->s->path, je.text);
            break;
        }
        const char *attrs[A_N];
        attrs_of(rec, attrs);
        rc = delta(a, L->session, attrs, -1);
        if (rc == 0) rc = delta(a, L->fresh, attrs, +1);
        json_decref(rec);
    }
    if (rc) {
        if (sqlite3_reset(st) != SQLITE_OK) { /* the error is rc's */
        }
        return rc;
    }
    if (st_end(st, r)) return wfail(a, "reading the events of a session fact");
    if (!(st = wst(a->s, W_MOVE_LINK, a->err))) return TM_EIO;
    if (b_int(st, 1, L->id) || b_text(st, 2, L->fresh)) return wfail(a, "binding");
    if (run(st)) return wfail(a, "moving events to another session");
    if (!(st = wst(a->s, W_LINK_SET, a->err))) return TM_EIO;
    if (b_int(st, 1, L->id) || b_text(st, 2, L->fresh)) return wfail(a, "binding");
    if (run(st)) return wfail(a, "moving a session fact");
    return 0;
}

static int insert_link(adder *a, wlink *L) {
    sqlite3_stmt *st = wst(a->s, W_LINK_INSERT, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, L->principal) || b_text(st, 2, L->akid) || b_text(st, 3, L->cnode) ||
        (L->has_ms ? b_int(st, 4, L->cdate_ms) : b_null(st, 4)) || b_text(st, 5, L->token) ||
        b_text(st, 6, L->fresh) || b_textn(st, 7, L->rep->raw, L->rep->raw_len))
        return wfail(a, "binding");
    if (run(st)) return wfail(a, "storing a session fact");
    L->id = sqlite3_last_insert_rowid(a->s->w);
    return 0;
}

static int insert_event(adder *a, item *it) {
    sqlite3_stmt *st = wst(a->s, W_INSERT, a->err);
    if (!st) return TM_EIO;
    const char *token = it->kind == 2 ? it->f.token_key : NULL;
    if (b_text(st, 1, it->id) || b_text(st, 2, it->session) || b_text(st, 3, it->f.principal ? it->f.principal : "") ||
        b_int(st, 4, it->e->time_ms) || b_text(st, 5, it->e->name) || b_int(st, 6, it->kind) ||
        (it->kind == 1 ? b_int(st, 7, a->links[it->link].id) : b_null(st, 7)) || b_text(st, 8, token) ||
        b_textn(st, 9, it->e->raw, it->e->raw_len))
        return wfail(a, "binding");
    if (run(st)) return wfail(a, "storing an event");
    return delta(a, it->session, it->attrs, +1);
}

static int meta_get(adder *a, const char *key, int64_t *v) {
    sqlite3_stmt *st = wst(a->s, W_META_GET, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, key)) return wfail(a, "binding");
    int r = step(st);
    *v = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    return st_end(st, r) ? wfail(a, "reading the store's counters") : 0;
}

static int meta_set(adder *a, const char *key, int64_t v) {
    sqlite3_stmt *st = wst(a->s, W_META_SET, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, key) || b_int(st, 2, v)) return wfail(a, "binding");
    return run(st) ? wfail(a, "writing the store's counters") : 0;
}

/* The first value of a one-column query on session key (text or int). */
static int sess_scalar(adder *a, int which, const char *key, int kind, char **text, int64_t *num) {
    sqlite3_stmt *st = wst(a->s, which, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, key) || (kind >= 0 && b_int(st, 2, kind))) return wfail(a, "binding");
    int r = step(st);
    if (text) {
        *text = r == 1 ? col_dup(st, 0, NULL) : strdup("");
        if (!*text) {
            if (sqlite3_reset(st) != SQLITE_OK) {
            }
            return adder_nomem(a);
        }
    }
    if (num) *num = r == 1 ? sqlite3_column_int64(st, 0) : 0;
    return st_end(st, r) ? wfail(a, "summarizing a session") : 0;
}

/* The JSON array of a session's distinct source IPs, sorted. */
static int sess_ips(adder *a, const char *key, char **out) {
    *out = NULL;
    sqlite3_stmt *st = wst(a->s, W_ATTR_ALL, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, key) || b_int(st, 2, A_IP)) return wfail(a, "binding");
    json_t *arr = json_array();
    int r = 0, rc = arr ? 0 : TM_ENOMEM;
    while (rc == 0 && (r = step(st)) == 1) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        if (!v || json_array_append_new(arr, json_stringn(v, (size_t)sqlite3_column_bytes(st, 0))) != 0)
            rc = TM_ENOMEM;
    }
    if (rc) {
        if (sqlite3_reset(st) != SQLITE_OK) {
        }
        json_decref(arr);
        return adder_nomem(a);
    }
    if (st_end(st, r)) {
        json_decref(arr);
        return wfail(a, "summarizing a session");
    }
    *out = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return *out ? 0 : adder_nomem(a);
}

/* Writes the summary rows of every session the batch touched. */
static int summarize(adder *a, int64_t version) {
    int rc = 0;
    /* attribute counts first */
    for (size_t i = 0; i < a->nad && rc == 0; i++) {
        adelta *d = &a->ad[i];
        if (d->n == 0) continue;
        const char *sess = a->sd[d->sess].session;
        sqlite3_stmt *st = wst(a->s, W_ATTR_ADD, a->err);
        if (!st) return TM_EIO;
        if (b_text(st, 1, sess) || b_int(st, 2, d->kind) || b_text(st, 3, d->value) || b_int(st, 4, d->n))
            return wfail(a, "binding");
        if (run(st)) return wfail(a, "counting a session's attributes");
        if (d->n > 0) continue;
        if (!(st = wst(a->s, W_ATTR_PRUNE, a->err))) return TM_EIO;
        if (b_text(st, 1, sess) || b_int(st, 2, d->kind) || b_text(st, 3, d->value)) return wfail(a, "binding");
        if (run(st)) return wfail(a, "counting a session's attributes");
    }
    for (size_t i = 0; i < a->nsd && rc == 0; i++) {
        const char *key = a->sd[i].session;
        int64_t old = 0;
        if ((rc = sess_scalar(a, W_SESS_COUNT, key, -1, NULL, &old))) break;
        int64_t total = old + a->sd[i].events;
        sqlite3_stmt *st;
        if (total <= 0) { /* every event moved away */
            if (!(st = wst(a->s, W_SESS_DEL, a->err))) return TM_EIO;
            if (b_text(st, 1, key)) return wfail(a, "binding");
            if (run(st)) return wfail(a, "removing an empty session");
            if (!(st = wst(a->s, W_ATTR_DROP, a->err))) return TM_EIO;
            if (b_text(st, 1, key)) return wfail(a, "binding");
            if (run(st)) return wfail(a, "removing an empty session");
            continue;
        }
        int64_t first = 0, last = 0;
        char *arn = NULL, *user = NULL, *ua = NULL, *ips = NULL;
        if (!(rc = sess_scalar(a, W_SESS_FIRST, key, -1, NULL, &first)) &&
            !(rc = sess_scalar(a, W_SESS_LAST, key, -1, NULL, &last)) &&
            !(rc = sess_scalar(a, W_ATTR_TOP, key, A_ARN, &arn, NULL)) &&
            !(rc = sess_scalar(a, W_ATTR_TOP, key, A_USER, &user, NULL)) &&
            !(rc = sess_scalar(a, W_ATTR_TOP, key, A_UA, &ua, NULL)) && !(rc = sess_ips(a, key, &ips))) {
            if (!(st = wst(a->s, W_SESS_PUT, a->err))) rc = TM_EIO;
            else if (b_text(st, 1, key) || b_text(st, 2, arn) || b_text(st, 3, user) || b_text(st, 4, ua) ||
                     b_text(st, 5, ips) || b_int(st, 6, first) || b_int(st, 7, last) || b_int(st, 8, total) ||
                     b_int(st, 9, version))
                rc = wfail(a, "binding");
            else if (run(st))
                rc = wfail(a, "writing a session");
        }
        free(arn);
        free(user);
        free(ua);
        free(ips);
    }
    return rc;
}

/* Everything after the batch's sessions are known. */
static int apply(adder *a) {
    int rc = 0;
    for (size_t i = 0; i < a->nlinks && rc == 0; i++) {
        wlink *L = &a->links[i];
        if (L->phase && L->id && strcmp(L->fresh, L->session) != 0) rc = move_link(a, L);
    }
    for (size_t i = 0; i < a->nloose && rc == 0; i++) {
        wloose *X = &a->loose[i];
        if (!X->phase || !X->seq || strcmp(X->fresh, X->session) == 0) continue;
        sqlite3_stmt *st = wst(a->s, W_MOVE_ONE, a->err);
        if (!st) return TM_EIO;
        if (b_int(st, 1, X->seq) || b_text(st, 2, X->fresh)) return wfail(a, "binding");
        if (run(st)) return wfail(a, "moving an event to another session");
        const char *attrs[A_N];
        attrs_of(X->e->json, attrs);
        rc = delta(a, X->session, attrs, -1);
        if (rc == 0) rc = delta(a, X->fresh, attrs, +1);
    }
    for (size_t i = 0; i < a->nlinks && rc == 0; i++)
        if (a->links[i].phase && !a->links[i].id) rc = insert_link(a, &a->links[i]);
    for (size_t n = 0; n < a->nitems && rc == 0; n++) {
        if (a->items[n].dup) continue;
        rc = insert_event(a, &a->items[n]);
        if (rc == 0) a->accepted++;
    }
    if (rc) return rc;
    if (a->nsd == 0) return 0;
    int64_t version = 0, events = 0;
    if ((rc = meta_get(a, "version", &version)) || (rc = meta_get(a, "events", &events))) return rc;
    version++;
    if ((rc = summarize(a, version))) return rc;
    if ((rc = meta_set(a, "version", version)) || (rc = meta_set(a, "events", events + (int64_t)a->accepted)))
        return rc;
    return 0;
}

/* Ids, facts and attributes of the batch, and its own repeats (no lock held). */
static int prepare(adder *a, tm_eventvec *events) {
    a->items = calloc(events->n ? events->n : 1, sizeof(*a->items));
    if (!a->items) return adder_nomem(a);
    a->nitems = events->n;
    tm_strmap ids = {0};
    int rc = 0;
    for (size_t n = 0; n < events->n && rc == 0; n++) {
        item *it = &a->items[n];
        tm_event *e = events->v[n];
        it->e = e;
        if (!e || !e->raw || !e->json || !e->name) {
            rc = tm_error_set(a->err, TM_EINVAL, "store: event %zu of the batch is incomplete", n);
            break;
        }
        if (e->id && e->id[0]) {
            it->id = e->id;
        } else {
            it->id = it->id_owned = synthetic_id(e);
            if (!it->id_owned) {
                rc = adder_nomem(a);
                break;
            }
        }
        size_t prev = tm_strmap_get(&ids, it->id);
        if (prev != NONE && e->id[0] && !tm_event_same(a->items[prev].e, e)) {
            /* an event of the batch holds this id and says something else */
            it->id = it->id_owned = clash_id(e);
            if (!it->id_owned) {
                rc = adder_nomem(a);
                break;
            }
        }
        if (tm_strmap_get(&ids, it->id) != NONE) {
            it->dup = 1;
            a->duplicates++;
            continue;
        }
        if (tm_strmap_set(&ids, it->id, n)) {
            rc = adder_nomem(a);
            break;
        }
        if ((rc = tm_session_facts_of(e, &it->f, a->err))) break;
        attrs_of(e->json, it->attrs);
    }
    tm_strmap_free(&ids);
    return rc;
}

/* Whether an event is stored under key: 0 no, 1 yes and it is a copy of
 * e, 2 yes and it is another event; or a negative TM_E* code. */
static int stored_as(adder *a, const char *key, const tm_event *e) {
    sqlite3_stmt *st = wst(a->s, W_DUP, a->err);
    if (!st) return TM_EIO;
    if (b_text(st, 1, key)) return wfail(a, "binding");
    int r = step(st), found = 0;
    if (r == 1) {
        tm_event *old = NULL;
        tm_error e2;
        const char *raw = (const char *)sqlite3_column_text(st, 0);
        /* a stored record was accepted once: if it no longer parses, it
         * cannot be compared, and the new one is kept beside it */
        int prc = raw ? tm_event_from_text(raw, (size_t)sqlite3_column_bytes(st, 0), &old, &e2) : TM_EPARSE;
        if (prc == TM_ENOMEM) r = -1;
        found = old && tm_event_same(old, e) ? 1 : 2;
        tm_event_free(old);
    }
    if (st_end(st, r)) return wfail(a, "looking up an event");
    return found;
}

/* Marks the batch events stored already as duplicates; an event whose id
 * a different stored event holds is given its clash key. */
static int stored_dups(adder *a) {
    for (size_t n = 0; n < a->nitems; n++) {
        item *it = &a->items[n];
        if (it->dup) continue;
        int r = stored_as(a, it->id, it->e);
        if (r == 2 && !it->id_owned) {
            if (!(it->id = it->id_owned = clash_id(it->e))) return adder_nomem(a);
            r = stored_as(a, it->id, it->e);
        }
        if (r < 0) return r;
        if (r == 1 || (r == 2 && it->id_owned)) { /* r == 2 here: a hash collision, kept out as before */
            it->dup = 1;
            a->duplicates++;
        }
    }
    return 0;
}

static void adder_free(adder *a) {
    for (size_t n = 0; n < a->nitems; n++) {
        free(a->items[n].id_owned);
        tm_session_facts_clear(&a->items[n].f);
    }
    free(a->items);
    for (size_t i = 0; i < a->nlinks; i++) {
        wlink *L = &a->links[i];
        if (L->saved) { /* derivation failed before giving it back */
            free(L->rep->session);
            L->rep->session = L->saved;
        }
        free(L->principal);
        free(L->akid);
        free(L->cnode);
        free(L->token);
        free(L->session);
        free(L->fresh);
        if (L->rep_owned) tm_event_free(L->rep);
    }
    free(a->links);
    for (size_t i = 0; i < a->nloose; i++) {
        wloose *X = &a->loose[i];
        if (X->saved) {
            free(X->e->session);
            X->e->session = X->saved;
        }
        free(X->principal);
        free(X->token);
        free(X->session);
        free(X->fresh);
        if (X->owned) tm_event_free(X->e);
    }
    free(a->loose);
    free(a->queue);
    tm_strmap_free(&a->index);
    for (size_t i = 0; i < a->nsd; i++) free(a->sd[i].session);
    free(a->sd);
    for (size_t i = 0; i < a->nad; i++) free(a->ad[i].value);
    free(a->ad);
    tm_strmap_free(&a->dindex);
}

static int str_qcmp(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

static int result_sessions(adder *a, tm_store_result *res) {
    if (a->nsd == 0) return 0;
    res->sessions = calloc(a->nsd, sizeof(*res->sessions));
    if (!res->sessions) return adder_nomem(a);
    for (size_t i = 0; i < a->nsd; i++) {
        res->sessions[i] = strdup(a->sd[i].session);
        if (!res->sessions[i]) {
            tm_store_result_free(res);
            return adder_nomem(a);
        }
        res->nsessions++;
    }
    qsort(res->sessions, res->nsessions, sizeof(*res->sessions), str_qcmp);
    return 0;
}

int tm_store_add(tm_store *s, tm_eventvec *events, const char *forced, tm_store_result *res, tm_error *err) {
    if (res) memset(res, 0, sizeof(*res));
    if (!s || !events || !res) return tm_error_set(err, TM_EINVAL, "store: bad arguments");
    if (forced && !*forced) return tm_error_set(err, TM_EINVAL, "store: an empty session key");
    if (events->n == 0) return 0;
    adder a;
    memset(&a, 0, sizeof(a));
    a.s = s;
    a.err = err;
    a.forced = forced;
    int rc = prepare(&a, events);
    if (rc) {
        adder_free(&a);
        return rc;
    }
    if (pthread_mutex_lock(&s->wlock) != 0) {
        adder_free(&a);
        return tm_error_set(err, TM_EIO, "store: cannot lock the writer");
    }
    sqlite3_stmt *st = wst(s, W_BEGIN, err);
    if (!st) rc = TM_EIO;
    else if (run(st)) rc = db_fail(s, s->w, err, "starting a transaction");
    if (rc == 0) rc = stored_dups(&a);
    if (rc == 0) {
        if (forced) {
            for (size_t n = 0; n < a.nitems; n++) {
                a.items[n].kind = 0;
                a.items[n].session = forced;
            }
        } else {
            rc = derive(&a);
        }
    }
    if (rc == 0) rc = apply(&a);
    if (rc == 0) {
        if (!(st = wst(s, W_COMMIT, err))) rc = TM_EIO;
        else if (run(st)) rc = db_fail(s, s->w, err, "committing a batch");
    }
    if (rc && !sqlite3_get_autocommit(s->w)) {
        tm_error e2;
        st = wst(s, W_ROLLBACK, &e2);
        if (!st || run(st))
            fprintf(stderr, "error store: %s: rolling back a failed batch: %s\n", s->path, sqlite3_errmsg(s->w));
    }
    if (pthread_mutex_unlock(&s->wlock) != 0 && rc == 0)
        rc = tm_error_set(err, TM_EIO, "store: cannot unlock the writer");
    if (rc == 0) {
        res->accepted = a.accepted;
        res->duplicates = a.duplicates;
        rc = result_sessions(&a, res);
    }
    adder_free(&a);
    return rc;
}

void tm_store_result_free(tm_store_result *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nsessions; i++) free(r->sessions[i]);
    free(r->sessions);
    r->sessions = NULL;
    r->nsessions = 0;
}

/* ================================================================ reading */

static int read_row(tm_store *s, sqlite3_stmt *st, tm_session_row *row, tm_error *err) {
    memset(row, 0, sizeof(*row));
    char *ips = NULL;
    if (!(row->key = col_dup(st, 0, NULL)) || !(row->principal_arn = col_dup(st, 1, NULL)) ||
        !(row->user_name = col_dup(st, 2, NULL)) || !(row->user_agent = col_dup(st, 3, NULL)) ||
        !(row->ua_family = strdup("")) || !(ips = col_dup(st, 4, NULL))) {
        free(ips);
        tm_session_row_clear(row);
        return oom(err);
    }
    row->first_ms = sqlite3_column_int64(st, 5);
    row->last_ms = sqlite3_column_int64(st, 6);
    row->events = (uint64_t)sqlite3_column_int64(st, 7);
    row->version = (uint64_t)sqlite3_column_int64(st, 8);
    row->signals = (uint64_t)sqlite3_column_int64(st, 9);
    row->mapped_share = sqlite3_column_double(st, 10);
    row->mapped_version = (uint64_t)sqlite3_column_int64(st, 11);
    json_error_t je;
    json_t *arr = json_loads(ips, 0, &je);
    free(ips);
    if (!json_is_array(arr)) {
        json_decref(arr);
        tm_session_row_clear(row);
        return tm_error_set(err, TM_EIO, "store: %s: the source IPs of a session are not a JSON list", s->path);
    }
    size_t n = json_array_size(arr);
    row->source_ips = calloc(n ? n : 1, sizeof(*row->source_ips));
    int bad = !row->source_ips;
    for (size_t i = 0; i < n && !bad; i++) {
        const char *v = json_string_value(json_array_get(arr, i));
        if (!(row->source_ips[i] = strdup(v ? v : ""))) bad = 1;
        else row->nsource_ips++;
    }
    json_decref(arr);
    if (bad) {
        tm_session_row_clear(row);
        return oom(err);
    }
    return 0;
}

void tm_session_row_clear(tm_session_row *r) {
    if (!r) return;
    free(r->key);
    free(r->principal_arn);
    free(r->user_name);
    free(r->ua_family);
    free(r->user_agent);
    for (size_t i = 0; i < r->nsource_ips; i++) free(r->source_ips[i]);
    free(r->source_ips);
    memset(r, 0, sizeof(*r));
}

void tm_session_rows_free(tm_session_row *rows, size_t n) {
    if (!rows) return;
    for (size_t i = 0; i < n; i++) tm_session_row_clear(&rows[i]);
    free(rows);
}

int tm_store_list_sessions(tm_store *s, const char *principal, int64_t from_ms, int64_t to_ms, size_t offset,
                           size_t limit, tm_session_row **rows, size_t *n, int *more, tm_error *err) {
    *rows = NULL;
    *n = 0;
    *more = 0;
    rconn *c;
    int rc = racquire(s, &c, err);
    if (rc) return rc;
    sqlite3_stmt *st = rst(s, c, R_LIST, err);
    if (!st) {
        rrelease(s, c);
        return TM_EIO;
    }
    int64_t lo = from_ms ? from_ms : INT64_MIN, hi = to_ms ? to_ms : INT64_MAX;
    int64_t lim = limit >= (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit + 1; /* one more: are there more? */
    int64_t off = offset > (size_t)INT64_MAX ? INT64_MAX : (int64_t)offset;
    if (b_text(st, 1, principal) || b_int(st, 2, lo) || b_int(st, 3, hi) || b_int(st, 4, !from_ms && !to_ms) ||
        b_int(st, 5, lim) || b_int(st, 6, off)) {
        rc = db_fail(s, c->db, err, "binding");
        if (sqlite3_reset(st) != SQLITE_OK) {
        }
        rrelease(s, c);
        return rc;
    }
    tm_session_row *v = NULL;
    size_t nv = 0, cap = 0;
    int r = 0;
    while ((r = step(st)) == 1) {
        if (nv == limit) {
            *more = 1;
            continue; /* the extra row: steps to the end */
        }
        if (grow((void **)&v, &cap, nv, sizeof(*v))) {
            rc = oom(err);
            break;
        }
        if ((rc = read_row(s, st, &v[nv], err))) break;
        nv++;
    }
    if (rc == 0 && st_end(st, r)) rc = db_fail(s, c->db, err, "listing sessions");
    else if (rc && sqlite3_reset(st) != SQLITE_OK) { /* rc says what failed */
    }
    rrelease(s, c);
    if (rc) {
        tm_session_rows_free(v, nv);
        *more = 0;
        return rc;
    }
    *rows = v;
    *n = nv;
    return 0;
}

int tm_store_get_session(tm_store *s, const char *key, tm_session_row *row, tm_error *err) {
    memset(row, 0, sizeof(*row));
    if (!key) return tm_error_set(err, TM_EINVAL, "store: no session key");
    rconn *c;
    int rc = racquire(s, &c, err);
    if (rc) return rc;
    sqlite3_stmt *st = rst(s, c, R_SESSION, err);
    if (!st) {
        rrelease(s, c);
        return TM_EIO;
    }
    if (b_text(st, 1, key)) {
        rc = db_fail(s, c->db, err, "binding");
    } else {
        int r = step(st);
        if (r == 1) rc = read_row(s, st, row, err);
        else if (r == 0) rc = tm_error_set(err, TM_ENOTFOUND, "store: no session \"%s\"", key);
        else rc = db_fail(s, c->db, err, "reading a session");
    }
    if (sqlite3_reset(st) != SQLITE_OK && rc == 0) rc = db_fail(s, c->db, err, "reading a session");
    if (rc && rc != TM_ENOTFOUND) tm_session_row_clear(row);
    rrelease(s, c);
    return rc;
}

int tm_store_load_events(tm_store *s, const char *key, tm_eventvec *out, uint64_t *version, tm_error *err) {
    memset(out, 0, sizeof(*out));
    *version = 0;
    if (!key) return tm_error_set(err, TM_EINVAL, "store: no session key");
    rconn *c;
    int rc = racquire(s, &c, err);
    if (rc) return rc;
    sqlite3_stmt *st = rst(s, c, R_BEGIN, err);
    if (!st) rc = TM_EIO;
    else if (run(st)) rc = db_fail(s, c->db, err, "starting a read");
    /* the version and the events come from one snapshot */
    if (rc == 0 && !(st = rst(s, c, R_VERSION, err))) rc = TM_EIO;
    if (rc == 0) {
        if (b_text(st, 1, key)) {
            rc = db_fail(s, c->db, err, "binding");
        } else {
            int r = step(st);
            if (r == 1) *version = (uint64_t)sqlite3_column_int64(st, 0);
            else if (r == 0) rc = tm_error_set(err, TM_ENOTFOUND, "store: no session \"%s\"", key);
            if (st_end(st, r) && rc == 0) rc = db_fail(s, c->db, err, "reading a session");
        }
    }
    if (rc == 0 && !(st = rst(s, c, R_EVENTS, err))) rc = TM_EIO;
    if (rc == 0) {
        if (b_text(st, 1, key)) {
            rc = db_fail(s, c->db, err, "binding");
        } else {
            int r = 0;
            while (rc == 0 && (r = step(st)) == 1) {
                const char *raw = (const char *)sqlite3_column_text(st, 0);
                tm_event *e = NULL;
                tm_error e2 = {0};
                if (!raw) {
                    rc = oom(err);
                    break;
                }
                int erc = tm_event_from_text(raw, (size_t)sqlite3_column_bytes(st, 0), &e, &e2);
                if (erc == TM_ENOMEM) rc = oom(err);
                else if (erc) rc = tm_error_set(err, TM_EIO, "store: %s: an event of session \"%s\" cannot be rebuilt: %s",
                                                s->path, key, e2.msg);
                else if (!(e->session = strdup(key)) || tm_eventvec_push(out, e)) {
                    tm_event_free(e);
                    rc = oom(err);
                }
            }
            if (rc) {
                if (sqlite3_reset(st) != SQLITE_OK) {
                }
            } else if (st_end(st, r)) {
                rc = db_fail(s, c->db, err, "reading the events of a session");
            }
        }
    }
    if (!sqlite3_get_autocommit(c->db)) {
        tm_error e3;
        st = rst(s, c, rc ? R_ROLLBACK : R_COMMIT, rc ? &e3 : err);
        if ((!st || run(st)) && rc == 0) rc = db_fail(s, c->db, err, "ending a read");
    }
    rrelease(s, c);
    if (rc) {
        tm_eventvec_free(out);
        *version = 0;
        return rc;
    }
    tm_eventvec_sort_dedupe(out); /* the reference's order; ids are unique already */
    return 0;
}

int tm_store_set_mapped(tm_store *s, const char *key, uint64_t version, uint64_t signals, double mapped_share,
                        tm_error *err) {
    if (!s || !key) return tm_error_set(err, TM_EINVAL, "store: bad arguments");
    if (pthread_mutex_lock(&s->wlock) != 0) return tm_error_set(err, TM_EIO, "store: cannot lock the writer");
    int rc = 0;
    sqlite3_stmt *st = wst(s, W_SET_MAPPED, err);
    if (!st) rc = TM_EIO;
    else if (b_text(st, 1, key) || b_int(st, 2, (int64_t)version) || b_int(st, 3, (int64_t)signals) ||
             sqlite3_bind_double(st, 4, mapped_share) != SQLITE_OK)
        rc = db_fail(s, s->w, err, "binding");
    else if (run(st))
        rc = db_fail(s, s->w, err, "recording the mapping of a session");
    if (pthread_mutex_unlock(&s->wlock) != 0 && rc == 0)
        rc = tm_error_set(err, TM_EIO, "store: cannot unlock the writer");
    return rc;
}

int tm_store_counts(tm_store *s, uint64_t *sessions, uint64_t *events, tm_error *err) {
    *sessions = *events = 0;
    rconn *c;
    int rc = racquire(s, &c, err);
    if (rc) return rc;
    sqlite3_stmt *st = rst(s, c, R_COUNTS, err);
    if (!st) {
        rrelease(s, c);
        return TM_EIO;
    }
    int r = step(st);
    if (r == 1) {
        *sessions = (uint64_t)sqlite3_column_int64(st, 0);
        *events = (uint64_t)sqlite3_column_int64(st, 1);
    }
    if (st_end(st, r) || r != 1) rc = db_fail(s, c->db, err, "counting");
    rrelease(s, c);
    return rc;
}

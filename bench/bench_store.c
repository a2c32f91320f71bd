/* bench_store.c: ingest through the durable store, beside the raw insert
 * rate of a bare SQLite table with the same settings (WAL,
 * synchronous=FULL, one transaction per batch) measured in the same run on
 * the same rows, so the ratio survives a noisy machine.
 *
 * The events are the corpus sessions (tests/corpus/sessions/STAR/InputEvents.json)
 * replicated with fresh eventIDs and times.  By default every batch goes
 * to a session the client names (a forced key per batch); with --derive the replicas
 * get a userIdentity instead (50 IAM users, a temporary key and creation
 * date per replica, sign-in events without a key) and the store derives the
 * sessions, with the stored events of each principal in reach.
 *
 * usage: bench_store [--events N] [--batch B] [--derive] [--dir DIR] [CORPUS_DIR]
 * Only tm_store_add and the baseline's inserts are timed, not building the
 * events.  DIR (default: a new directory under /tmp) is removed afterwards
 * unless given. */
#include <dirent.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "event.h"
#include "input.h"
#include "store.h"

#define USERS 50

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    json_t **ev;     /* the session's records, parsed */
    int64_t *off_ms; /* each one's time after the session's first */
    size_t n;
} corpus_session;

static int load_corpus(const char *dir, corpus_session **out, size_t *nout) {
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    corpus_session *v = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char *p;
        if (asprintf(&p, "%s/%s/InputEvents.json", dir, de->d_name) < 0) return -1;
        tm_eventvec ev = {0};
        tm_input_report rep = {0};
        tm_error err = {0};
        int rc = tm_input_read_file(p, &ev, &rep, &err);
        free(p);
        tm_input_report_free(&rep);
        if (rc != 0 || ev.n == 0) {
            tm_eventvec_free(&ev);
            continue;
        }
        corpus_session *nv = realloc(v, (n + 1) * sizeof(*v));
        if (!nv) return -1;
        v = nv;
        corpus_session *cs = &v[n++];
        cs->n = ev.n;
        cs->ev = calloc(ev.n, sizeof(*cs->ev));
        cs->off_ms = calloc(ev.n, sizeof(*cs->off_ms));
        if (!cs->ev || !cs->off_ms) return -1;
        int64_t t0 = ev.v[0]->time_ms;
        for (size_t i = 0; i < ev.n; i++)
            if (ev.v[i]->time_ms < t0) t0 = ev.v[i]->time_ms;
        for (size_t i = 0; i < ev.n; i++) {
            cs->ev[i] = json_incref(ev.v[i]->json);
            cs->off_ms[i] = ev.v[i]->time_ms - t0;
        }
        tm_eventvec_free(&ev);
    }
    closedir(d);
    *out = v;
    *nout = n;
    return n ? 0 : -1;
}

static void set_str(json_t *o, const char *k, const char *v) {
    if (json_object_set_new(o, k, json_string(v)) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
}

/* The replica's record k of corpus session cs as JSON text. */
static char *replica_text(const corpus_session *cs, size_t k, uint64_t replica, uint64_t serial, int derive,
                          int64_t start_ms) {
    json_t *rec = cs->ev[k];
    char id[64], t[32];
    /* a random UUID, as CloudTrail's are (the store indexes them) */
    uint64_t x = serial * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull, y;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    y = (x ^ replica) * 0xd6e8feb86659fd93ull;
    y ^= y >> 32;
    snprintf(id, sizeof(id), "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-a%03" PRIx64 "-%012" PRIx64, x >> 32,
             (x >> 16) & 0xffff, x & 0xfff, y >> 52, (uint64_t)(y & 0xffffffffffffull));
    tm_time_format(start_ms + cs->off_ms[k], t);
    set_str(rec, "eventID", id);
    set_str(rec, "eventTime", t);
    if (derive) {
        char arn[128], user[32], akid[32], cdate[32];
        snprintf(user, sizeof(user), "user%02" PRIu64, replica % USERS);
        snprintf(arn, sizeof(arn), "arn:aws:iam::111122223333:user/%s", user);
        snprintf(akid, sizeof(akid), "ASIABENCH%011" PRIu64, replica);
        tm_time_format(start_ms, cdate);
        json_t *src = json_object_get(rec, "eventSource");
        int signin = json_is_string(src) && strcmp(json_string_value(src), "signin.amazonaws.com") == 0;
        json_t *ui = signin ? json_pack("{s:s, s:s, s:s, s:s}", "type", "IAMUser", "arn", arn, "accountId",
                                        "111122223333", "userName", user)
                            : json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s}}}", "type", "IAMUser", "arn", arn,
                                        "accountId", "111122223333", "userName", user, "accessKeyId", akid,
                                        "sessionContext", "attributes", "creationDate", cdate);
        if (!ui || json_object_set_new(rec, "userIdentity", ui) != 0) exit(1);
        /* a GetSigninToken hands out the replica's own console key */
        json_t *cred = json_object_get(json_object_get(rec, "responseElements"), "credentials");
        if (json_is_object(cred) && json_object_get(cred, "accessKeyId")) set_str(cred, "accessKeyId", akid);
        set_str(rec, "sourceIPAddress", "198.51.100.7");
    }
    char *s = json_dumps(rec, JSON_COMPACT);
    if (!s) exit(1);
    return s;
}

static int raw_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "baseline: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int baseline_batch(sqlite3 *db, sqlite3_stmt *ins, tm_eventvec *v, const char *session) {
    if (raw_exec(db, "BEGIN")) return -1;
    for (size_t i = 0; i < v->n; i++) {
        tm_event *e = v->v[i];
        if (sqlite3_bind_text(ins, 1, e->id, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(ins, 2, session ? session : "derived", -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(ins, 3, e->time_ms) != SQLITE_OK ||
            sqlite3_bind_text64(ins, 4, e->raw, e->raw_len, SQLITE_STATIC, SQLITE_UTF8) != SQLITE_OK ||
            sqlite3_step(ins) != SQLITE_DONE) {
            fprintf(stderr, "baseline: insert: %s\n", sqlite3_errmsg(db));
            return -1;
        }
        if (sqlite3_reset(ins) != SQLITE_OK) return -1;
    }
    return raw_exec(db, "COMMIT");
}

static void remove_tree(const char *dir) {
    static const char *const names[] = {"store/trailmap.db", "store/trailmap.db-wal", "store/trailmap.db-shm",
                                        "raw.db",            "raw.db-wal",            "raw.db-shm"};
    char p[4200];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    snprintf(p, sizeof(p), "%s/store", dir);
    rmdir(p);
    rmdir(dir);
}

static long long file_size(const char *dir, const char *name) {
    char p[4200];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (long long)st.st_size : 0;
}

int main(int argc, char **argv) {
    size_t total = 200000, batch = 1000;
    int derive = 0;
    const char *corpus = NULL, *dir_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--events") == 0 && i + 1 < argc) total = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) batch = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--derive") == 0) derive = 1;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir_arg = argv[++i];
        else if (argv[i][0] != '-' && !corpus) corpus = argv[i];
        else {
            fprintf(stderr, "usage: bench_store [--events N] [--batch B] [--derive] [--dir DIR] [CORPUS_DIR]\n");
            return 2;
        }
    }
    if (batch == 0 || total == 0) return 2;
    char cbuf[4096];
    if (!corpus) {
        const char *src = getenv("TM_SOURCE_DIR");
        snprintf(cbuf, sizeof(cbuf), "%s/tests/corpus/sessions", src ? src : ".");
        corpus = cbuf;
    }
    corpus_session *cs;
    size_t ncs;
    if (load_corpus(corpus, &cs, &ncs) != 0) {
        fprintf(stderr, "bench_store: no corpus sessions in %s\n", corpus);
        return 1;
    }
    char dbuf[64] = "/tmp/bench_store.XXXXXX";
    const char *dir = dir_arg;
    if (!dir) {
        if (!mkdtemp(dbuf)) {
            perror("mkdtemp");
            return 1;
        }
        dir = dbuf;
    } else if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0) {
        perror(dir);
        return 1;
    }
    char sdir[4200];
    snprintf(sdir, sizeof(sdir), "%s/store", dir);

    tm_store *s = NULL;
    tm_error err = {0};
    if (tm_store_open(sdir, &s, &err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err.msg);
        return 1;
    }
    char rawpath[4200];
    snprintf(rawpath, sizeof(rawpath), "%s/raw.db", dir);
    sqlite3 *raw = NULL;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_open(rawpath, &raw) != SQLITE_OK || raw_exec(raw, "PRAGMA journal_mode=WAL") ||
        raw_exec(raw, "PRAGMA synchronous=FULL") ||
        raw_exec(raw, "CREATE TABLE events(seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL, session TEXT NOT NULL,"
                      " time_ms INTEGER NOT NULL, raw TEXT NOT NULL)") ||
        sqlite3_prepare_v2(raw, "INSERT INTO events(event_id, session, time_ms, raw) VALUES (?1, ?2, ?3, ?4)", -1,
                           &ins, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_store: baseline %s: %s\n", rawpath, sqlite3_errmsg(raw));
        return 1;
    }

    int64_t base_ms = 0;
    tm_time_parse("2024-01-01T00:00:00Z", &base_ms);
    uint64_t replica = 0, serial = 0;
    size_t k = 0, done = 0, accepted = 0, batches = 0, bytes = 0;
    double t_store = 0, t_raw = 0;
    char key[64];
    while (done < total) {
        tm_eventvec v = {0};
        const char *forced = NULL;
        /* one batch: the rest of the current replica and the next ones */
        while (v.n < batch && done + v.n < total) {
            const corpus_session *c = &cs[replica % ncs];
            int64_t start = base_ms + (int64_t)replica * 10 * 60 * 1000;
            char *text = replica_text(c, k, replica, serial++, derive, start);
            tm_event *e = NULL;
            if (tm_event_from_text(text, strlen(text), &e, &err) != 0 || tm_eventvec_push(&v, e) != 0) {
                fprintf(stderr, "bench_store: %s\n", err.msg);
                return 1;
            }
            bytes += strlen(text);
            free(text);
            if (++k == c->n) {
                k = 0;
                replica++;
            }
        }
        if (!derive) { /* forced: each batch names its own session */
            snprintf(key, sizeof(key), "bench-%06zu", batches);
            forced = key;
        }
        tm_store_result res;
        double t0 = now();
        if (tm_store_add(s, &v, forced, &res, &err) != 0) {
            fprintf(stderr, "bench_store: %s\n", err.msg);
            return 1;
        }
        double t1 = now();
        if (baseline_batch(raw, ins, &v, forced) != 0) return 1;
        double t2 = now();
        t_store += t1 - t0;
        t_raw += t2 - t1;
        accepted += res.accepted;
        tm_store_result_free(&res);
        done += v.n;
        batches++;
        tm_eventvec_free(&v);
    }
    uint64_t nsess = 0, nev = 0;
    if (tm_store_counts(s, &nsess, &nev, &err) != 0) fprintf(stderr, "bench_store: %s\n", err.msg);
    long long store_bytes = file_size(sdir, "trailmap.db") + file_size(sdir, "trailmap.db-wal");
    long long raw_bytes = file_size(dir, "raw.db") + file_size(dir, "raw.db-wal");
    tm_store_close(s);
    if (sqlite3_finalize(ins) != SQLITE_OK || sqlite3_close(raw) != SQLITE_OK)
        fprintf(stderr, "bench_store: closing the baseline: %s\n", sqlite3_errmsg(raw));

    double store_rate = (double)done / t_store, raw_rate = (double)done / t_raw;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("bench_store: %zu events (%zu accepted, %.1f MB of JSON) in %zu batches of %zu, %s sessions\n", done,
           accepted, (double)bytes / 1e6, batches, batch, derive ? "derived" : "forced");
    printf("  store:    %10.0f events/s  (%.2f s; %" PRIu64 " sessions, %" PRIu64 " events; %.1f MB on disk)\n",
           store_rate, t_store, nsess, nev, (double)store_bytes / 1e6);
    printf("  raw insert:%9.0f events/s  (%.2f s; bare table, WAL, synchronous=FULL, a transaction per batch;"
           " %.1f MB)\n",
           raw_rate, t_raw, (double)raw_bytes / 1e6);
    printf("  ratio:    %10.2f  (store / raw)\n", store_rate / raw_rate);
    printf("  peak RSS: %ld MB\n", ru.ru_maxrss / 1024);
    if (!dir_arg) remove_tree(dir);
    for (size_t i = 0; i < ncs; i++) {
        for (size_t j = 0; j < cs[i].n; j++) json_decref(cs[i].ev[j]);
        free(cs[i].ev);
        free(cs[i].off_ms);
    }
    free(cs);
    return 0;
}

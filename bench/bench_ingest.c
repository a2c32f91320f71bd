/* bench_ingest.c: ingest over RPC and query latency of a real trailmapd.
 *
 * Starts trailmapd on a scratch data directory, replicates the corpus
 * sessions with fresh event ids, times and session keys until N events,
 * submits them in batches from several client processes, and prints:
 *   - ingest events/s, beside the raw insert rate of a bare SQLite table with
 *     the same settings (WAL, synchronous=FULL, one transaction per batch)
 *     measured in the same run: the ratio survives a noisy machine;
 *   - GetSession latency of a 1,000-event session, p50 and p99, cached and
 *     after new events (each query then maps the session again);
 *   - the server's peak memory (VmHWM).
 * Figures only: it never fails on time. */
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rpc_client.h"
#include "trailmap.pb-c.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    json_t **sessions; /* arrays of records */
    char **names;
    size_t n;
} corpus;

static int load_corpus(const char *dir, corpus *c) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s/InputEvents.json", dir, de->d_name);
        json_error_t je;
        json_t *a = json_load_file(path, 0, &je);
        if (!json_is_array(a)) {
            json_decref(a);
            continue;
        }
        c->sessions = realloc(c->sessions, (c->n + 1) * sizeof(*c->sessions));
        c->names = realloc(c->names, (c->n + 1) * sizeof(*c->names));
        c->sessions[c->n] = a;
        c->names[c->n++] = strdup(de->d_name);
    }
    closedir(d);
    return c->n ? 0 : -1;
}

/* The records of replica r of session s: fresh ids, times shifted by r days. */
static char **replica(json_t *sess, long r, int client, size_t *n) {
    *n = json_array_size(sess);
    char **out = calloc(*n, sizeof(*out));
    size_t i;
    json_t *e;
    json_array_foreach(sess, i, e) {
        json_t *c = json_deep_copy(e);
        char id[64];
        snprintf(id, sizeof(id), "%08x-%04x-4000-8000-%012lx", (unsigned)client, (unsigned)(i & 0xffff), (unsigned long)r);
        const char *old = json_string_value(json_object_get(e, "eventID"));
        /* keep the old id's first characters, so the tie order of the copy is as the original's */
        char nid[128];
        snprintf(nid, sizeof(nid), "%.8s-%s", old ? old : "x", id);
        json_object_set_new(c, "eventID", json_string(nid));
        const char *t = json_string_value(json_object_get(e, "eventTime"));
        if (t && strlen(t) >= 19) {
            struct tm tm = {0};
            if (strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)) {
                time_t ts = timegm(&tm) + (time_t)(r % 3650) * 86400;
                char buf[32];
                strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&ts, &tm));
                json_object_set_new(c, "eventTime", json_string(buf));
            }
        }
        out[i] = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(c);
    }
    return out;
}

static int submit(tm_rpc *rpc, char **recs, size_t n, const char *key) {
    Trailmap__SubmitEventsRequest rq = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    rq.records = recs;
    rq.n_records = n;
    rq.session_key = (char *)key;
    ProtobufCMessage *resp = NULL;
    tm_error err;
    int rc = tm_rpc_call(rpc, "SubmitEvents", &rq.base, &resp, &err);
    if (rc) fprintf(stderr, "bench_ingest: submit: %s\n", err.msg);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

static void client_main(const char *url, corpus *c, int client, int clients, long quota, size_t batch) {
    tm_rpc_opts o = {url, NULL, NULL, 120000, 0};
    tm_rpc *rpc;
    tm_error err;
    if (tm_rpc_open(&o, &rpc, &err)) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        _exit(1);
    }
    long sent = 0;
    for (long r = client; sent < quota; r += clients) {
        size_t s = (size_t)r % c->n, n;
        char **recs = replica(c->sessions[s], r, client, &n);
        char key[128];
        snprintf(key, sizeof(key), "bench-%ld-%.12s", r, c->names[s]);
        for (size_t i = 0; i < n && sent < quota; i += batch) {
            size_t k = n - i < batch ? n - i : batch;
            if ((long)k > quota - sent) k = (size_t)(quota - sent);
            if (submit(rpc, recs + i, k, key)) _exit(1);
            sent += (long)k;
        }
        for (size_t i = 0; i < n; i++) free(recs[i]);
        free(recs);
    }
    tm_rpc_close(rpc);
    _exit(0);
}

static double raw_sqlite_rate(const char *dir, long rows, size_t batch, const char *sample) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/raw.db", dir);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return 0;
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE t(id TEXT PRIMARY KEY, session TEXT, time_ms INTEGER, raw TEXT)", NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?,?,?,?)", -1, &st, NULL);
    double t0 = now();
    for (long i = 0; i < rows;) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (size_t k = 0; k < batch && i < rows; k++, i++) {
            char id[32];
            snprintf(id, sizeof(id), "id-%ld", i);
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, "session", -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, i);
            sqlite3_bind_text(st, 4, sample, -1, SQLITE_STATIC);
            sqlite3_step(st);
            sqlite3_reset(st);
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    double dt = now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return (double)rows / dt;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double get_session_ms(tm_rpc *rpc, const char *key) {
    Trailmap__GetSessionRequest rq = TRAILMAP__GET_SESSION_REQUEST__INIT;
    rq.key = (char *)key;
    ProtobufCMessage *resp = NULL;
    tm_error err;
    double t0 = now();
    if (tm_rpc_call(rpc, "GetSession", &rq.base, &resp, &err)) fprintf(stderr, "bench_ingest: %s\n", err.msg);
    double dt = (now() - t0) * 1000;
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    return dt;
}

static void percentiles(const char *what, double *v, int n) {
    qsort(v, (size_t)n, sizeof(*v), cmp_d);
    printf("%-34s p50 %8.2f ms   p99 %8.2f ms   (%d queries)\n", what, v[n / 2], v[(n * 99) / 100], n);
}


typedef int (*child_fn)(const char *url, corpus *c, size_t batch);

static int run_child(child_fn fn, const char *url, corpus *c, size_t batch) {
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) _exit(fn(url, c, batch));
    int st;
    waitpid(p, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int probe_main(const char *url, corpus *c, size_t batch) {
    (void)c;
    (void)batch;
    tm_rpc_opts o = {url, NULL, NULL, 120000, 0};
    tm_rpc *rpc = NULL;
    tm_error err;
    for (int i = 0; i < 100; i++) {
        if (tm_rpc_open(&o, &rpc, &err) == 0) {
            Trailmap__HealthRequest rq = TRAILMAP__HEALTH_REQUEST__INIT;
            ProtobufCMessage *resp = NULL;
            int rc = tm_rpc_call(rpc, "Health", &rq.base, &resp, &err);
            if (resp) protobuf_c_message_free_unpacked(resp, NULL);
            tm_rpc_close(rpc);
            if (rc == 0) return 0;
        }
        usleep(100000);
    }
    return 1;
}

/* GetSession latency of a 1,000-event session (the corpus's demo session when present). */
static int query_main(const char *url, corpus *c, size_t batch) {
    tm_rpc_opts o = {url, NULL, NULL, 120000, 0};
    tm_rpc *rpc = NULL;
    tm_error err;
    if (tm_rpc_open(&o, &rpc, &err)) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        return 1;
    }
    size_t qs = 0;
    for (size_t i = 0; i < c->n; i++)
        if (json_array_size(c->sessions[i]) == 1000) qs = i;
    size_t qn;
    char **q = replica(c->sessions[qs], 9999, 98, &qn);
    for (size_t i = 0; i < qn; i += batch) submit(rpc, q + i, qn - i < batch ? qn - i : batch, "bench-query");
    double lat[400];
    get_session_ms(rpc, "bench-query");
    for (int i = 0; i < 400; i++) lat[i] = get_session_ms(rpc, "bench-query");
    printf("query (GetSession, %zu events)\n", qn);
    percentiles("  cached", lat, 400);
    size_t nn;
    char **extra = replica(c->sessions[qs], 20000, 97, &nn);
    int m = 0;
    for (; m < 50 && (size_t)m < nn; m++) {
        submit(rpc, &extra[m], 1, "bench-query");
        lat[m] = get_session_ms(rpc, "bench-query");
    }
    percentiles("  after new events (re-mapped)", lat, m);
    for (size_t i = 0; i < qn; i++) free(q[i]);
    for (size_t i = 0; i < nn; i++) free(extra[i]);
    free(q);
    free(extra);
    fflush(stdout);
    tm_rpc_close(rpc);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bench_ingest TRAILMAPD RULES_DIR CORPUS_DIR [EVENTS] [CLIENTS] [BATCH]\n");
        return 2;
    }
    long total = argc > 4 ? atol(argv[4]) : 1000000;
    int clients = argc > 5 ? atoi(argv[5]) : 4;
    size_t batch = argc > 6 ? (size_t)atol(argv[6]) : 1000;
    corpus c = {0};
    if (load_corpus(argv[3], &c)) {
        fprintf(stderr, "bench_ingest: no sessions in %s\n", argv[3]);
        return 1;
    }
    char dir[] = "/tmp/tm_bench_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char url[64];
    snprintf(url, sizeof(url), "ipc://%s/rpc.sock", dir);
    char data[4200];
    snprintf(data, sizeof(data), "%s/data", dir);
    pid_t srv = fork();
    if (srv == 0) {
        freopen("/dev/null", "w", stderr);
        execl(argv[1], argv[1], "--listen", url, "--http", "none", "--data", data, "--rules", argv[2], (char *)NULL);
        _exit(127);
    }
    /* nng is not fork-safe: the parent never opens a socket; every RPC runs
     * in a child process */
    if (run_child(probe_main, url, &c, batch) != 0) {
        fprintf(stderr, "bench_ingest: the server did not start\n");
        kill(srv, SIGKILL);
        return 1;
    }
    printf("ingest: %ld events, %d client processes, batches of %zu, over %s\n", total, clients, batch, url);
    fflush(stdout);
    double t0 = now();
    pid_t *kids = calloc((size_t)clients, sizeof(*kids));
    for (int k = 0; k < clients; k++) {
        long quota = total / clients + (k < total % clients);
        if ((kids[k] = fork()) == 0) client_main(url, &c, k, clients, quota, batch);
    }
    int failed = 0;
    for (int k = 0; k < clients; k++) {
        int st;
        waitpid(kids[k], &st, 0);
        failed |= !WIFEXITED(st) || WEXITSTATUS(st);
    }
    double dt = now() - t0;
    printf("ingest:   %.0f events/s (%.1f s)%s\n", total / dt, dt, failed ? "  (a client failed)" : "");
    size_t n0;
    char **sample = replica(c.sessions[0], 0, 99, &n0);
    double raw = raw_sqlite_rate(dir, total < 200000 ? total : 200000, batch, sample[0]);
    for (size_t i = 0; i < n0; i++) free(sample[i]);
    free(sample);
    printf("baseline: %.0f rows/s bare SQLite inserts (WAL, synchronous=FULL, %zu rows a transaction)\n", raw, batch);
    printf("ratio:    ingest at %.1f%% of the bare insert rate\n", 100.0 * (total / dt) / raw);

    fflush(stdout);
    run_child(query_main, url, &c, batch);


    char status[64];
    snprintf(status, sizeof(status), "/proc/%d/status", (int)srv);
    FILE *f = fopen(status, "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0) printf("server peak memory (VmHWM): %s", line + 6);
    if (f) fclose(f);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}

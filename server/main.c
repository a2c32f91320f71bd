/* main.c: trailmapd.  Opens the store, loads the rules, starts the
 * listeners and runs the libuv loop until SIGTERM, which lets the requests
 * in flight finish before it exits.  SIGHUP reloads the rules. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "log.h"
#include "netaddr.h"
#include "reload.h"
#include "watch.h"
#include "rpc.h"
#include "server.h"

#define MAX_LISTEN 8

static void usage(FILE *f) {
    fprintf(f,
            "usage: trailmapd [--listen URL]... [--http URL|none] [--data DIR] [--rules DIR]\n"
            "                 [--auth FILE] [--tls-cert FILE --tls-key FILE] [--max-message-bytes N]\n"
            "\n"
            "The trailmap server: takes CloudTrail event batches from any client over its\n"
            "protobuf API, stores them durably, groups them into console sessions and\n"
            "answers queries with the sessions' signals.\n"
            "\n"
            "  --listen URL           tcp://HOST:PORT, ipc:///path or tls+tcp://HOST:PORT\n"
            "                         (default tcp://127.0.0.1:7470; may be repeated)\n"
            "  --http URL             the web page and its JSON API: http://HOST:PORT or\n"
            "                         https://HOST:PORT (default " TM_HTTP_DEFAULT_URL "); none: off\n"
            "  --http-timeout S       close web connections idle or stalled for S seconds\n"
            "                         (default 15)\n"
            "  --http-max-connections N  web connections open at once (default 256)\n"
            "  --data DIR             where events are stored (default ./trailmap-data)\n"
            "  --rules DIR            the rules directory (default ./rules)\n"
            "  --auth FILE            token file, lines \"TOKEN ROLE [NAME]\" or\n"
            "                         \"sha256:HEX ROLE [NAME]\" (ROLE read, submit or admin);\n"
            "                         without it only loopback and ipc listeners are allowed\n"
            "  --tls-cert FILE        PEM certificate for tls+tcp:// listeners and https://\n"
            "  --tls-key FILE         PEM private key for tls+tcp:// listeners and https://\n"
            "  --max-message-bytes N  largest request accepted (default 67108864)\n"
            "  --cache-bytes N        memory for mapped sessions kept for the next query, an\n"
            "                         estimate (suffixes K, M, G; default 512M)\n"
            "  --cache-events N       and at most this many events in them (default 2000000)\n"
            "  --max-batch-records N  records, documents or other elements of any one list\n"
            "                         in a request (default 100000)\n"
            "  --max-decoded-bytes N  gzip'd documents of one SubmitEvents inflate to at most\n"
            "                         this much in all (default 268435456)\n"
            "  --max-session-events N GetSession and GetEvents refuse larger sessions\n"
            "                         (default 1000000)\n"
            "  --max-inflight-bytes N request bytes and inflated documents handled at once;\n"
            "                         beyond, RESOURCE_EXHAUSTED (default 536870912; a\n"
            "                         request alone always passes)\n"
            "  --max-connections N    connections to each RPC listener (default 256); nng\n"
            "                         may hold one message per connection\n"
            "  --no-watch             do not reload when files in the rules directory change\n"
            "\n"
            "Signals: SIGTERM or SIGINT finish the requests in flight and exit;\n"
            "SIGHUP reloads the rules, as does any change in the rules directory and the\n"
            "ReloadRules call; a ruleset with errors never replaces the running one.\n");
}

typedef struct app {
    uv_loop_t *loop;
    tm_server srv;
    tm_listener *rpc[MAX_LISTEN];
    int nrpc, stopped;
    tm_watch *watch;
    tm_http *http;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t logtimer; /* reports collapsed log repeats */
} app;

static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void rpc_stopped(void *arg) {
    app *a = arg;
    if (--a->nrpc > 0) return;
    tm_log_info("trailmapd", "all listeners closed; stopping");
    uv_walk(a->loop, close_handle, NULL);
}

static void on_stop_signal(uv_signal_t *h, int sig) {
    app *a = h->data;
    if (a->stopped) return;
    a->stopped = 1;
    tm_log_info("trailmapd", "%s: finishing requests in flight", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    tm_watch_stop(a->watch);
    a->watch = NULL;
    int n = a->nrpc;
    if (a->http) { /* counted as one more listener */
        a->nrpc++;
        tm_http_stop(a->http, rpc_stopped, a);
        a->http = NULL;
    }
    for (int i = 0; i < n; i++) tm_listener_stop(a->rpc[i], rpc_stopped, a);
}

static void on_log_timer(uv_timer_t *t) {
    (void)t;
    tm_log_flush(0);
}

/* A byte count with an optional K, M or G (powers of 1024): 0 or -1. */
static int parse_bytes(const char *s, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10), mul = 1;
    if (end == s || errno || *s == '-') return -1;
    if (*end == 'K' || *end == 'k') mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm') mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g') mul = 1ull << 30, end++;
    if (*end || v > SIZE_MAX / mul) return -1;
    *out = (size_t)(v * mul);
    return 0;
}

/* Whether the data directory takes writes: a probe file created, written,
 * fsync'd and removed.  A read-only or full file system is said at start,
 * not discovered at the first submit. */
static void check_data_dir(const char *dir) {
    char *path = NULL;
    if (access(dir, F_OK) != 0) return; /* the store creates it, or says why not */
    if (asprintf(&path, "%s/.trailmapd-probe-%ld", dir, (long)getpid()) < 0) return;
    int e = 0, fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
    } else {
        if (write(fd, "x", 1) != 1 || fsync(fd) != 0) e = errno ? errno : EIO;
        if (close(fd) != 0 && !e) e = errno;
        if (unlink(path) != 0 && !e) e = errno;
    }
    if (e)
        tm_log_warn("store", "data directory %s is not writable (%s): submits will be refused (UNAVAILABLE) "
                    "until it is", dir, strerror(e));
    free(path);
}

static void on_sighup(uv_signal_t *h, int sig) {
    (void)sig;
    app *a = h->data;
    tm_errlist errs = {0};
    tm_reload_rules(&a->srv, "SIGHUP", &errs, NULL);
    tm_errlist_free(&errs);
}

int main(int argc, char **argv) {
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},    {"data", required_argument, NULL, 'd'},
        {"rules", required_argument, NULL, 'r'},     {"auth", required_argument, NULL, 'a'},
        {"tls-cert", required_argument, NULL, 'c'},  {"tls-key", required_argument, NULL, 'k'},
        {"max-message-bytes", required_argument, NULL, 'm'}, {"cache-events", required_argument, NULL, 'e'},
        {"no-watch", no_argument, NULL, 'W'},        {"help", no_argument, NULL, 'h'},
        {"cache-bytes", required_argument, NULL, 'b'},
        {"http", required_argument, NULL, 'H'},
        {"http-timeout", required_argument, NULL, 'T'}, {"http-max-connections", required_argument, NULL, 'C'},
        {"max-batch-records", required_argument, NULL, 'B'}, {"max-decoded-bytes", required_argument, NULL, 'D'},
        {"max-session-events", required_argument, NULL, 'S'}, {"max-inflight-bytes", required_argument, NULL, 'I'},
        {"max-connections", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0}};
    const char *listen[MAX_LISTEN];
    int nlisten = 0, c, watch = 1;
    const char *data = "./trailmap-data", *rules = "./rules", *auth = NULL, *cert = NULL, *key = NULL;
    const char *http = TM_HTTP_DEFAULT_URL;
    unsigned http_timeout = 0, http_maxconn = 0; /* 0: http.h's defaults */
    long long maxmsg = 64ll << 20, cache_events = 2000000;
    size_t cache_bytes = TM_CACHE_DEFAULT_BYTES;
    size_t max_batch = 0, max_decoded = 0, max_session = 0, max_inflight = 0; /* 0: api.h's defaults */
    size_t max_conns = 0;                                                     /* 0: rpc.c's default */
    while ((c = getopt_long(argc, argv, "l:d:r:a:c:k:m:e:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'l':
            if (nlisten == MAX_LISTEN) {
                fprintf(stderr, "trailmapd: at most %d --listen\n", MAX_LISTEN);
                return 2;
            }
            listen[nlisten++] = optarg;
            break;
        case 'd': data = optarg; break;
        case 'r': rules = optarg; break;
        case 'a': auth = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case 'm':
        case 'e': {
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1024) {
                fprintf(stderr, "trailmapd: --%s takes a number of at least 1024\n", c == 'm' ? "max-message-bytes" : "cache-events");
                return 2;
            }
            if (c == 'm') maxmsg = v;
            else cache_events = v;
            break;
        }
        case 'B':
        case 'D':
        case 'S':
        case 'N':
        case 'I': { /* the limits of api.c and rpc.c */
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1) {
                fprintf(stderr, "trailmapd: --%s takes a positive number\n", c == 'B' ? "max-batch-records"
                        : c == 'D' ? "max-decoded-bytes" : c == 'S' ? "max-session-events"
                        : c == 'N' ? "max-connections" : "max-inflight-bytes");
                return 2;
            }
            if (c == 'B') max_batch = (size_t)v;
            else if (c == 'D') max_decoded = (size_t)v;
            else if (c == 'S') max_session = (size_t)v;
            else if (c == 'N') max_conns = (size_t)v;
            else max_inflight = (size_t)v;
            break;
        }
        case 'b':
            if (parse_bytes(optarg, &cache_bytes) != 0 || cache_bytes < 1024) {
                fprintf(stderr, "trailmapd: --cache-bytes takes a size of at least 1024 (suffixes K, M, G)\n");
                return 2;
            }
            break;
        case 'W': watch = 0; break;
        case 'H': http = strcmp(optarg, "none") == 0 ? NULL : optarg; break;
        case 'T':
        case 'C': {
            long long v = strtoll(optarg, &end, 10);
            if (*end || v < 1 || v > 100000) {
                fprintf(stderr, "trailmapd: --%s takes a number from 1 to 100000\n",
                        c == 'T' ? "http-timeout" : "http-max-connections");
                return 2;
            }
            if (c == 'T') http_timeout = (unsigned)v;
            else http_maxconn = (unsigned)v;
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "trailmapd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (http && strncmp(http, "http://", 7) != 0 && strncmp(http, "https://", 8) != 0) {
        fprintf(stderr, "trailmapd: --http wants http://HOST:PORT, https://HOST:PORT or none, not \"%s\"\n", http);
        return 2;
    }
    if (nlisten == 0) listen[nlisten++] = "tcp://127.0.0.1:7470";
    /* mapping and SQLite work run in libuv's pool: give it a few threads */
    if (!getenv("UV_THREADPOOL_SIZE")) setenv("UV_THREADPOOL_SIZE", "8", 1);
    signal(SIGPIPE, SIG_IGN);

    app a;
    memset(&a, 0, sizeof(a));
    tm_server *s = &a.srv;
    tm_error err = {0};
    int rc = 1;
    pthread_mutex_init(&s->rules_mu, NULL);
    s->started_ms = tm_now_ms();
    s->max_message_bytes = (size_t)maxmsg;
    s->max_batch_records = max_batch;
    s->max_decoded_bytes = max_decoded;
    s->max_session_events = max_session;
    s->max_inflight_bytes = max_inflight;
    s->max_connections = max_conns;
    s->rules_dir = (char *)rules;
    tm_log_info("trailmapd", "starting (version %s, data %s, rules %s)", TM_VERSION, data, rules);

    if (auth) {
        if (tm_auth_load(auth, &s->auth, &err) != 0) {
            tm_log_error("auth", "%s", err.msg);
            goto out;
        }
        tm_log_info("auth", "%zu tokens from %s", tm_auth_count(s->auth), auth);
    } else {
        for (int i = 0; i < nlisten; i++)
            if (!tm_url_is_local(listen[i])) {
                tm_log_error("auth", "%s is not a loopback or ipc address; without --auth trailmapd listens on loopback or ipc only", listen[i]);
                goto out;
            }
        if (http && !tm_url_is_local(http)) {
            tm_log_error("auth", "--http %s is not a loopback address; without --auth trailmapd listens on loopback or ipc only", http);
            goto out;
        }
        tm_log_warn("auth", "running without auth (no --auth): loopback and ipc listeners only, every client may read and submit");
    }
    tm_errlist errs = {0};
    if (tm_reload_rules(s, "start", &errs, NULL) != 0) {
        tm_errlist_free(&errs);
        tm_log_error("trailmapd", "cannot start without valid rules");
        goto out;
    }
    tm_errlist_free(&errs);
    check_data_dir(data);
    if (tm_store_open(data, &s->store, &err) != 0) {
        tm_log_error("store", "%s", err.msg);
        goto out;
    }
    uint64_t nsess = 0, nev = 0;
    if (tm_store_counts(s->store, &nsess, &nev, &err) == 0)
        tm_log_info("store", "%s: %llu sessions, %llu events", data, (unsigned long long)nsess, (unsigned long long)nev);
    s->cache = tm_cache_new_bounded(cache_bytes, (size_t)cache_events);
    tm_log_info("trailmapd", "cache: up to %zu bytes (%.1f MiB) and %lld events of mapped sessions", cache_bytes,
                (double)cache_bytes / (1 << 20), cache_events);
    if (!s->cache) {
        tm_log_error("trailmapd", "out of memory");
        goto out;
    }
    a.loop = uv_default_loop();
    for (int i = 0; i < nlisten; i++) {
        tm_listener_opts o = {listen[i], cert, key, 16};
        if (tm_listener_start(a.loop, s, &o, &a.rpc[a.nrpc], &err) != 0) {
            tm_log_error("rpc", "%s", err.msg);
            for (int k = 0; k < a.nrpc; k++) tm_listener_stop(a.rpc[k], NULL, NULL);
            uv_run(a.loop, UV_RUN_DEFAULT);
            goto out;
        }
        a.nrpc++;
    }
    if (http) {
        tm_http_opts ho = {http, cert, key, http_timeout, http_maxconn};
        if (tm_http_start(a.loop, s, &ho, &a.http, &err) != 0) {
            tm_log_error("http", "%s", err.msg);
            for (int k = 0; k < a.nrpc; k++) tm_listener_stop(a.rpc[k], NULL, NULL);
            uv_run(a.loop, UV_RUN_DEFAULT);
            goto out;
        }
    }
    if (watch && tm_watch_start(a.loop, s, 300, &a.watch, &err) != 0)
        tm_log_warn("rules", "%s; reload with SIGHUP or trailmap-admin reload", err.msg);
    uv_signal_init(a.loop, &a.sigterm);
    uv_signal_init(a.loop, &a.sigint);
    uv_signal_init(a.loop, &a.sighup);
    a.sigterm.data = a.sigint.data = a.sighup.data = &a;
    uv_signal_start(&a.sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&a.sigint, on_stop_signal, SIGINT);
    uv_signal_start(&a.sighup, on_sighup, SIGHUP);
    uv_timer_init(a.loop, &a.logtimer);
    uv_timer_start(&a.logtimer, on_log_timer, 1000, 1000);
    uv_unref((uv_handle_t *)&a.logtimer); /* never what keeps the loop running */
    tm_log_info("trailmapd", "ready");
    uv_run(a.loop, UV_RUN_DEFAULT);
    rc = 0;
    tm_log_info("trailmapd", "stopped");
out:
    if (a.loop) uv_loop_close(a.loop);
    tm_cache_free(s->cache);
    if (s->store) tm_store_close(s->store);
    if (s->rules) tm_rules_unref(s->rules);
    tm_auth_free(s->auth);
    pthread_mutex_destroy(&s->rules_mu);
    tm_log_flush(1);
    return rc;
}

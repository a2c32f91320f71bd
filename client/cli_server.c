/* cli_server.c: `trailmap submit|sessions|signals|events`, the commands
 * that talk to trailmapd.
 *
 * The signals of a session are rendered by output.h from a view built out
 * of the server's answer, with the very functions `trailmap map` uses, so
 * `trailmap signals S --format cartographer` prints what `trailmap map
 * --format cartographer` prints for the same events, byte for byte. */
#include "cli_server.h"
#include "conn.h"
#include "fileio.h"
#include "printable.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "input.h"
#include "output.h"
#include "rpc_client.h"
#include "trailmap.pb-c.h"
#include "view_proto.h"

/* A request of SubmitEvents carries at most this many bytes of documents
 * or records; a larger file is decoded here and sent as records in chunks. */
#define SUBMIT_MAX_BYTES ((size_t)8 << 20)
#define SUBMIT_CHUNK_RECORDS 5000
#define LIST_PAGE 1000
#define EVENTS_PAGE 5000

/* ------------------------------------------------------------ connection */

enum {
    O_SERVER = TM_OPT_SERVER, O_TOKEN = TM_OPT_TOKEN, O_CA = TM_OPT_CA, O_TIMEOUT = TM_OPT_TIMEOUT,
    O_FORMAT = TM_OPT_FIRST_FREE, O_SESSION, O_SIGNAL, O_UNMAPPED, O_ALL, O_ADDITIONS, O_NOCOLOR,
    O_PRINCIPAL, O_FROM, O_TO
};

#define CONN_OPTIONS                                                                                              \
    {"server", required_argument, NULL, O_SERVER}, {"token", required_argument, NULL, O_TOKEN},                   \
        {"ca", required_argument, NULL, O_CA}, {"timeout", required_argument, NULL, O_TIMEOUT},                   \
        {"help", no_argument, NULL, 'h'}

#define CONN_HELP                                                                                                 \
    "connection:\n"                                                                                               \
    "  --server URL    trailmapd's address: tcp://HOST:PORT, ipc:///PATH or\n"                                    \
    "                  tls+tcp://HOST:PORT (default: $TRAILMAP_SERVER, else\n"                                    \
    "                  " TM_RPC_DEFAULT_URL ")\n"                                                                 \
    "  --token TOKEN   access token, when the server checks them (default:\n"                                     \
    "                  $TRAILMAP_TOKEN)\n"                                                                        \
    "  --ca FILE       tls+tcp: PEM file of the CA that signed the server's\n"                                    \
    "                  certificate (default: $TRAILMAP_CA, else the system's CAs)\n"                              \
    "  --timeout SEC   how long to wait for each answer (default 60)\n"                                           \
    "\n"                                                                                                          \
    "Exit status: 0 done, 1 the server said no (its message is printed) or the\n"                                 \
    "input is unreadable, 2 usage, 3 the server cannot be reached.\n"

typedef tm_conn conn;

static void conn_init(conn *cn) { tm_conn_init(cn, "trailmap"); }
static int conn_opt(conn *cn, const char *cmd, int opt, const char *arg) { return tm_conn_opt(cn, cmd, opt, arg); }
static int report(const tm_rpc *c, const tm_error *err) { return tm_conn_report("trailmap", NULL, c, err); }
static int connect_to(const conn *cn, tm_rpc **c) { return tm_conn_open(cn, c); }
static int finish_output(const char *cmd, int rc) { return tm_conn_finish("trailmap", cmd, rc); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void time_text(int64_t ms, char *buf) {
    if (ms) tm_time_format(ms, buf);
    else strcpy(buf, "-");
}

/* ---------------------------------------------------------------- submit */

typedef struct submit_ctx {
    tm_rpc *c;
    const char *session;
    size_t nfiles, files_done;
    uint64_t accepted, duplicates, rejected;
    json_t *lines;          /* rejections, as printed */
    json_t *sessions;       /* set: the sessions the events went to */
    double t0, shown;
    int progress, progressed;
    /* documents waiting to be sent together */
    Trailmap__Document *docs;
    Trailmap__Document **docp;
    size_t ndocs, capdocs, doc_bytes;
} submit_ctx;

static void submit_progress(submit_ctx *s, int final) {
    if (!s->progress) return;
    double t = now_s();
    if (!final && t - s->shown < 0.1) return;
    s->shown = t;
    uint64_t ev = s->accepted + s->duplicates + s->rejected;
    double rate = t > s->t0 ? (double)ev / (t - s->t0) : 0;
    fprintf(stderr, "\rsubmit: %zu/%zu files, %llu events, %.0f events/s\033[K", s->files_done, s->nfiles,
            (unsigned long long)ev, rate);
    s->progressed = 1;
}

static int starts_with_position(const char *reason) {
    return strncmp(reason, "record ", 7) == 0 || strncmp(reason, "line ", 5) == 0;
}

static void add_line(submit_ctx *s, const char *source, unsigned long long index, const char *reason) {
    char *line = NULL;
    int n = starts_with_position(reason) ? asprintf(&line, "%s: %s", source, reason)
                                         : asprintf(&line, "%s: record %llu: %s", source, index, reason);
    if (n >= 0) {
        json_array_append_new(s->lines, json_string(line));
        free(line);
    }
}

/* Adds a response to the totals.  For records taken from file `file`,
 * `chunk` maps a rejected record's index back to its place in the file. */
static void submit_merge(submit_ctx *s, const Trailmap__SubmitEventsResponse *r, const char *file,
                         tm_event *const *chunk, size_t nchunk) {
    s->accepted += r->accepted;
    s->duplicates += r->duplicates;
    s->rejected += r->rejected;
    for (size_t i = 0; i < r->n_rejections; i++) {
        const Trailmap__Rejection *x = r->rejections[i];
        const char *reason = x->reason ? x->reason : "";
        if (file && chunk && x->index < nchunk) {
            /* the server counts records of the request; say where the
             * record stands in the file instead */
            if (starts_with_position(reason)) {
                const char *colon = strstr(reason, ": ");
                if (colon) reason = colon + 2;
            }
            char *line = NULL;
            if (asprintf(&line, "%s: #%zu: %s", file, chunk[x->index]->input_index, reason) >= 0) {
                json_array_append_new(s->lines, json_string(line));
                free(line);
            }
        } else {
            add_line(s, x->source && *x->source ? x->source : (file ? file : "records"),
                     (unsigned long long)x->index, reason);
        }
    }
    for (size_t i = 0; i < r->n_sessions; i++)
        if (r->sessions[i] && *r->sessions[i]) json_object_set_new(s->sessions, r->sessions[i], json_true());
}

static int submit_call(submit_ctx *s, Trailmap__SubmitEventsRequest *req, const char *file, tm_event *const *chunk,
                       size_t nchunk, tm_error *err) {
    ProtobufCMessage *resp;
    req->session_key = (char *)(s->session ? s->session : "");
    if (tm_rpc_call(s->c, "SubmitEvents", &req->base, &resp, err) != 0) return err->code;
    submit_merge(s, (const Trailmap__SubmitEventsResponse *)resp, file, chunk, nchunk);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

static void docs_clear(submit_ctx *s) {
    for (size_t i = 0; i < s->ndocs; i++) {
        free(s->docs[i].name);
        free(s->docs[i].content.data);
    }
    s->ndocs = 0;
    s->doc_bytes = 0;
}

static int docs_flush(submit_ctx *s, tm_error *err) {
    if (!s->ndocs) return 0;
    Trailmap__SubmitEventsRequest req = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    for (size_t i = 0; i < s->ndocs; i++) s->docp[i] = &s->docs[i];
    req.documents = s->docp;
    req.n_documents = s->ndocs;
    int rc = submit_call(s, &req, NULL, NULL, 0, err);
    if (rc == 0) s->files_done += s->ndocs;
    docs_clear(s);
    submit_progress(s, 0);
    return rc;
}

/* Takes buf. */
static int docs_add(submit_ctx *s, const char *name, unsigned char *buf, size_t len, tm_error *err) {
    if (s->ndocs && s->doc_bytes + len > SUBMIT_MAX_BYTES) {
        int rc = docs_flush(s, err);
        if (rc) {
            free(buf);
            return rc;
        }
    }
    if (s->ndocs == s->capdocs) {
        size_t ncap = s->capdocs ? s->capdocs * 2 : 16;
        Trailmap__Document *nd = realloc(s->docs, ncap * sizeof(*nd));
        if (nd) s->docs = nd;
        Trailmap__Document **np = nd ? realloc(s->docp, ncap * sizeof(*np)) : NULL;
        if (np) s->docp = np;
        if (!nd || !np) {
            free(buf);
            return tm_error_set(err, TM_ENOMEM, "out of memory");
        }
        s->capdocs = ncap;
    }
    Trailmap__Document *d = &s->docs[s->ndocs];
    trailmap__document__init(d);
    d->name = strdup(name);
    if (!d->name) {
        free(buf);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    d->content.data = buf;
    d->content.len = len;
    s->ndocs++;
    s->doc_bytes += len;
    return 0;
}

/* A file too large for one request: decoded here, its records sent in
 * chunks.  Returns 0, a TM_RPC_E* code (stop), or TM_EPARSE (this file is
 * unreadable; go on with the others). */
static int submit_big(submit_ctx *s, const char *name, const unsigned char *buf, size_t len, tm_error *err) {
    tm_eventvec ev = {0};
    tm_input_report rep = {0};
    int rc = tm_input_decode(name, buf, len, &ev, &rep, err);
    if (rc != 0) {
        tm_input_report_free(&rep);
        tm_eventvec_free(&ev);
        return rc;
    }
    for (size_t k = 0; k < rep.n; k++) add_line(s, rep.v[k].file, rep.v[k].index, rep.v[k].reason);
    s->rejected += rep.n;
    tm_input_report_free(&rep);
    char **records = malloc((SUBMIT_CHUNK_RECORDS + 1) * sizeof(*records));
    if (!records) {
        tm_eventvec_free(&ev);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ev.n && rc == 0;) {
        size_t n = 0, bytes = 0;
        while (i + n < ev.n && n < SUBMIT_CHUNK_RECORDS &&
               (n == 0 || bytes + ev.v[i + n]->raw_len + 16 <= SUBMIT_MAX_BYTES)) {
            records[n] = ev.v[i + n]->raw;
            bytes += ev.v[i + n]->raw_len + 16;
            n++;
        }
        Trailmap__SubmitEventsRequest req = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
        req.records = records;
        req.n_records = n;
        rc = submit_call(s, &req, name, ev.v + i, n, err);
        i += n;
        submit_progress(s, 0);
    }
    free(records);
    tm_eventvec_free(&ev);
    return rc;
}

static int read_all(const char *path, unsigned char **out, size_t *len, tm_error *err) {
    char *buf;
    int rc = tm_file_read(path, &buf, len, err);
    if (rc == 0) *out = (unsigned char *)buf;
    return rc;
}

static void submit_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap submit [--session KEY] [OPTIONS] FILE...\n"
            "\n"
            "Sends CloudTrail events to trailmapd, which stores them (durably, before it\n"
            "answers) and maps them by console session.  FILE is any format `trailmap\n"
            "map` reads ({\"Records\":[...]}, lookup-events output, a JSON array, one\n"
            "record, JSON lines), gzip'd or not; \"-\" reads standard input.  Files are\n"
            "sent as they are; one larger than 8 MiB is decoded here and sent in chunks\n"
            "of records.  Sending the same events again is harmless: they are counted\n"
            "as duplicates.\n"
            "\n"
            "Prints \"accepted N, duplicates N, rejected N\", then each rejected record\n"
            "(file, position, reason) and the sessions the events went to.  On a\n"
            "terminal a progress line (files, events, events/s) is kept on stderr.\n"
            "\n"
            "  --session KEY   put every event of this submission in session KEY\n"
            "                  (default: sessions are derived from the events)\n"
            "\n" CONN_HELP);
}

int tm_cmd_submit(int argc, char **argv) {
    static const struct option opts[] = {{"session", required_argument, NULL, O_SESSION}, CONN_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    conn cn;
    conn_init(&cn);
    const char *session = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_opt(&cn, "submit", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_SESSION: session = optarg; break;
        case 'h': submit_usage(stdout); return TM_EXIT_OK;
        default: submit_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "trailmap submit: no input file (use - for standard input)\n");
        submit_usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (session && !*session) {
        fprintf(stderr, "trailmap submit: --session wants a non-empty key\n");
        return TM_EXIT_USAGE;
    }
    /* a misspelt file name is found before anything is sent */
    int nstdin = 0;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") == 0) {
            if (++nstdin > 1) {
                fprintf(stderr, "trailmap submit: standard input (-) named twice\n");
                return TM_EXIT_USAGE;
            }
        } else if (access(argv[i], R_OK) != 0) {
            fprintf(stderr, "trailmap: cannot read %s: %s\n", argv[i], strerror(errno));
            return TM_EXIT_NO;
        }
    }

    submit_ctx s = {0};
    s.session = session;
    s.nfiles = (size_t)(argc - optind);
    s.lines = json_array();
    s.sessions = json_object();
    s.progress = isatty(STDERR_FILENO);
    s.t0 = now_s();
    if (!s.lines || !s.sessions) {
        fprintf(stderr, "trailmap: out of memory\n");
        return TM_EXIT_NO;
    }
    int rc = connect_to(&cn, &s.c);
    if (rc) {
        json_decref(s.lines);
        json_decref(s.sessions);
        return rc;
    }
    tm_error err;
    int stop = 0, failed = 0;
    for (int i = optind; i < argc && !stop; i++) {
        const char *name = strcmp(argv[i], "-") == 0 ? "stdin" : argv[i];
        unsigned char *buf = NULL;
        size_t len = 0;
        if (read_all(argv[i], &buf, &len, &err) != 0) {
            fprintf(stderr, "%strailmap: %s\n", s.progressed ? "\n" : "", err.msg);
            s.progressed = 0;
            failed = 1;
            continue;
        }
        if (len <= SUBMIT_MAX_BYTES) {
            if (docs_add(&s, name, buf, len, &err) != 0) {
                rc = report(s.c, &err);
                stop = 1;
            }
            continue;
        }
        int r = docs_flush(&s, &err);
        if (r == 0) r = submit_big(&s, name, buf, len, &err);
        free(buf);
        if (r == TM_EPARSE) {
            /* this file is not a document trailmap reads; the others may be */
            fprintf(stderr, "%strailmap: %s\n", s.progressed ? "\n" : "", err.msg);
            s.progressed = 0;
            failed = 1;
            s.files_done++;
        } else if (r != 0) {
            rc = report(s.c, &err);
            stop = 1;
        } else {
            s.files_done++;
        }
    }
    if (!stop && docs_flush(&s, &err) != 0) {
        if (s.progressed) fputc('\n', stderr);
        s.progressed = 0;
        rc = report(s.c, &err);
    }
    docs_clear(&s);
    free(s.docs);
    free(s.docp);
    if (s.progressed) {
        submit_progress(&s, 1);
        fputc('\n', stderr);
    }
    printf("accepted %llu, duplicates %llu, rejected %llu\n", (unsigned long long)s.accepted,
           (unsigned long long)s.duplicates, (unsigned long long)s.rejected);
    size_t i;
    json_t *v;
    json_array_foreach(s.lines, i, v) printf("rejected %s\n", json_string_value(v));
    const char *key;
    json_object_foreach(s.sessions, key, v) printf("session %s\n", key);
    json_decref(s.lines);
    json_decref(s.sessions);
    tm_rpc_close(s.c);
    if (!rc && failed) rc = TM_EXIT_NO;
    return finish_output("submit", rc);
}

/* -------------------------------------------------------------- sessions */

static void sessions_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap sessions [--format table|json] [--principal TEXT]\n"
            "                         [--from TIME] [--to TIME] [OPTIONS]\n"
            "\n"
            "Lists the sessions trailmapd holds, newest first: key, principal, user,\n"
            "first and last event, events, signals and the share of events mapped.\n"
            "\n"
            "  --format F        table (default) or json\n"
            "  --principal TEXT  only sessions whose principal ARN or user name contains TEXT\n"
            "  --from TIME       only sessions with events at or after TIME (ISO 8601, UTC)\n"
            "  --to TIME         only sessions with events at or before TIME\n"
            "\n" CONN_HELP);
}

static int sessions_json(Trailmap__SessionInfo **v, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *o = tm_view_session_info_json(v[i], 0);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return TM_ENOMEM;
        }
    }
    json_t *doc = arr ? json_pack("{s:o}", "sessions", arr) : NULL;
    if (!doc) return TM_ENOMEM;
    int rc = json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ? TM_EIO : 0;
    json_decref(doc);
    if (!rc) fputc('\n', stdout);
    return rc;
}

static size_t width_of(const char *s, size_t w) {
    size_t l = strlen(s ? s : "");
    return l > w ? l : w;
}

/* An event-made string as a terminal may show it (printable.h); "-" for
 * none.  malloc'd, NULL when out of memory. */
static char *shown(const char *s) { return tm_printable(s && *s ? s : "-"); }

static void sessions_table(Trailmap__SessionInfo **v, size_t n) {
    size_t wk = 3, wp = 9, wu = 4;
    char **txt = calloc(3 * n + 1, sizeof(*txt));
    if (!txt) {
        fprintf(stderr, "trailmap sessions: out of memory\n");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        txt[3 * i] = shown(v[i]->key);
        txt[3 * i + 1] = shown(v[i]->principal_arn);
        txt[3 * i + 2] = shown(v[i]->user_name);
        wk = width_of(txt[3 * i], wk);
        wp = width_of(txt[3 * i + 1], wp);
        wu = width_of(txt[3 * i + 2], wu);
    }
    printf("%-*s  %-*s  %-*s  %-24s  %-24s  %7s  %7s  %6s\n", (int)wk, "KEY", (int)wp, "PRINCIPAL", (int)wu, "USER",
           "FIRST", "LAST", "EVENTS", "SIGNALS", "MAPPED");
    for (size_t i = 0; i < n; i++) {
        const Trailmap__SessionInfo *s = v[i];
        char first[32], last[32], mapped[16];
        time_text(s->first_event_ms, first);
        time_text(s->last_event_ms, last);
        if (s->signals || s->events == 0) snprintf(mapped, sizeof(mapped), "%.1f%%", 100.0 * s->mapped_share);
        else strcpy(mapped, "-");
        printf("%-*s  %-*s  %-*s  %-24s  %-24s  %7llu  %7llu  %6s\n", (int)wk, txt[3 * i] ? txt[3 * i] : "?",
               (int)wp, txt[3 * i + 1] ? txt[3 * i + 1] : "?", (int)wu, txt[3 * i + 2] ? txt[3 * i + 2] : "?", first,
               last, (unsigned long long)s->events, (unsigned long long)s->signals, mapped);
    }
    if (n == 0) printf("(no sessions)\n");
    for (size_t i = 0; i < 3 * n; i++) free(txt[i]);
    free(txt);
}

int tm_cmd_sessions(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, O_FORMAT},
                                         {"principal", required_argument, NULL, O_PRINCIPAL},
                                         {"from", required_argument, NULL, O_FROM},
                                         {"to", required_argument, NULL, O_TO},
                                         CONN_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    conn cn;
    conn_init(&cn);
    const char *format = "table", *principal = NULL;
    int64_t from = 0, to = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_opt(&cn, "sessions", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case O_PRINCIPAL: principal = optarg; break;
        case O_FROM:
        case O_TO:
            if (tm_time_parse(optarg, c == O_FROM ? &from : &to) != 0) {
                fprintf(stderr, "trailmap sessions: --%s wants a time like 2024-05-01T12:00:00Z, not \"%s\"\n",
                        c == O_FROM ? "from" : "to", optarg);
                return TM_EXIT_USAGE;
            }
            break;
        case 'h': sessions_usage(stdout); return TM_EXIT_OK;
        default: sessions_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "trailmap sessions: unknown format \"%s\" (table, json)\n", format);
        return TM_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "trailmap sessions: unexpected argument \"%s\"\n", argv[optind]);
        return TM_EXIT_USAGE;
    }
    tm_rpc *rpc;
    int rc = connect_to(&cn, &rpc);
    if (rc) return rc;

    /* every page, kept until all are in (the table's widths need them all) */
    Trailmap__ListSessionsResponse **pages = NULL;
    size_t npages = 0, total = 0;
    char *token = strdup("");
    tm_error err;
    while (token) {
        Trailmap__ListSessionsRequest req = TRAILMAP__LIST_SESSIONS_REQUEST__INIT;
        req.principal = (char *)(principal ? principal : "");
        req.from_ms = from;
        req.to_ms = to;
        req.page_size = LIST_PAGE;
        req.page_token = token;
        ProtobufCMessage *resp;
        if (tm_rpc_call(rpc, "ListSessions", &req.base, &resp, &err) != 0) {
            rc = report(rpc, &err);
            break;
        }
        Trailmap__ListSessionsResponse *r = (Trailmap__ListSessionsResponse *)resp;
        Trailmap__ListSessionsResponse **np = realloc(pages, (npages + 1) * sizeof(*np));
        if (!np) {
            protobuf_c_message_free_unpacked(resp, NULL);
            fprintf(stderr, "trailmap: out of memory\n");
            rc = TM_EXIT_NO;
            break;
        }
        pages = np;
        pages[npages++] = r;
        total += r->n_sessions;
        const char *next = r->next_page_token ? r->next_page_token : "";
        if (!*next) break;
        if (strcmp(next, token) == 0) {
            fprintf(stderr, "trailmap: %s sent the same page token twice\n", tm_rpc_url(rpc));
            rc = TM_EXIT_NO;
            break;
        }
        free(token);
        token = strdup(next);
    }
    free(token);
    if (rc == 0) {
        Trailmap__SessionInfo **all = calloc(total + 1, sizeof(*all));
        size_t n = 0;
        for (size_t p = 0; all && p < npages; p++)
            for (size_t i = 0; i < pages[p]->n_sessions; i++) all[n++] = pages[p]->sessions[i];
        if (!all) rc = TM_EXIT_NO;
        else if (!strcmp(format, "json")) rc = sessions_json(all, n) ? TM_EXIT_NO : 0;
        else sessions_table(all, n);
        free(all);
        rc = finish_output("sessions", rc);
    }
    for (size_t p = 0; p < npages; p++) protobuf_c_message_free_unpacked(&pages[p]->base, NULL);
    free(pages);
    tm_rpc_close(rpc);
    return rc;
}

/* ---------------------------------------------------------------- events */

typedef int (*event_fn)(void *arg, const Trailmap__Event *e);

enum { WHICH_ALL, WHICH_SIGNAL, WHICH_UNMAPPED };

/* Calls fn for every event of a session (all, one signal's or the
 * unmapped ones), page after page.  Returns 0, a TM_RPC_E* code with err
 * set, or fn's non-zero result. */
static int fetch_events(tm_rpc *rpc, const char *key, int which, const char *signal, event_fn fn, void *arg,
                        tm_error *err) {
    char *token = strdup("");
    int rc = 0;
    while (token && rc == 0) {
        Trailmap__GetEventsRequest req = TRAILMAP__GET_EVENTS_REQUEST__INIT;
        req.key = (char *)key;
        if (which == WHICH_SIGNAL) {
            req.which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_SIGNAL;
            req.signal = (char *)signal;
        } else if (which == WHICH_UNMAPPED) {
            req.which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_UNMAPPED;
            req.unmapped = 1;
        } else {
            req.which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_ALL;
            req.all = 1;
        }
        req.page_size = EVENTS_PAGE;
        req.page_token = token;
        ProtobufCMessage *resp;
        if ((rc = tm_rpc_call(rpc, "GetEvents", &req.base, &resp, err)) != 0) break;
        const Trailmap__GetEventsResponse *r = (const Trailmap__GetEventsResponse *)resp;
        for (size_t i = 0; i < r->n_events && rc == 0; i++) rc = fn(arg, r->events[i]);
        const char *next = r->next_page_token ? r->next_page_token : "";
        if (rc == 0 && *next && strcmp(next, token) == 0)
            rc = tm_error_set(err, TM_RPC_EPROTO, "%s sent the same page token twice", tm_rpc_url(rpc));
        free(token);
        token = rc == 0 && *next ? strdup(next) : NULL;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(token);
    return rc;
}

typedef struct events_out {
    const char *key;
    int table;
    int header;
} events_out;

static int print_event(void *arg, const Trailmap__Event *e) {
    events_out *o = arg;
    if (o->table) {
        if (!o->header) {
            printf("%-24s  %-44s  %-36s  %s\n", "TIME", "NAME", "SIGNAL", "EVENT ID");
            o->header = 1;
        }
        char t[32];
        time_text(e->event_time_ms, t);
        char *name = shown(e->name), *sig = shown(e->signal), *id = shown(e->event_id);
        if (name && sig && id) printf("%-24s  %-44s  %-36s  %s\n", t, name, sig, id);
        free(name);
        free(sig);
        free(id);
        if (!name || !sig || !id) return TM_ENOMEM;
        return ferror(stdout) ? TM_EIO : 0;
    }
    return tm_view_event_jsonl(stdout, o->key, e);
}

static void events_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap events SESSION [--signal ID | --unmapped] [--format jsonl|table]\n"
            "                       [OPTIONS]\n"
            "\n"
            "Prints the raw CloudTrail events of a session as the server stored them: all\n"
            "of them, those of one signal, or those no signal took.\n"
            "\n"
            "  --signal ID     only the events of the signal whose correlation id is ID\n"
            "  --unmapped      only the events no signal took\n"
            "  --format F      jsonl (default when not on a terminal): each event's JSON as\n"
            "                  received, one per line, with a \"trailmap\" member\n"
            "                  {\"session\":KEY,\"signal\":ID or null};\n"
            "                  table (default on a terminal): time, name, signal, event id\n"
            "\n" CONN_HELP);
}

int tm_cmd_events(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, O_FORMAT},
                                         {"signal", required_argument, NULL, O_SIGNAL},
                                         {"unmapped", no_argument, NULL, O_UNMAPPED},
                                         CONN_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    conn cn;
    conn_init(&cn);
    const char *format = NULL, *signal = NULL;
    int unmapped = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_opt(&cn, "events", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case O_SIGNAL: signal = optarg; break;
        case O_UNMAPPED: unmapped = 1; break;
        case 'h': events_usage(stdout); return TM_EXIT_OK;
        default: events_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (!format) format = isatty(STDOUT_FILENO) ? "table" : "jsonl";
    if (strcmp(format, "table") && strcmp(format, "jsonl")) {
        fprintf(stderr, "trailmap events: unknown format \"%s\" (jsonl, table)\n", format);
        return TM_EXIT_USAGE;
    }
    if (signal && unmapped) {
        fprintf(stderr, "trailmap events: --signal and --unmapped exclude each other\n");
        return TM_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "trailmap events: no session (trailmap sessions lists them)\n");
        events_usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "trailmap events: one session at a time (unexpected \"%s\")\n", argv[optind + 1]);
        return TM_EXIT_USAGE;
    }
    const char *key = argv[optind];
    tm_rpc *rpc;
    int rc = connect_to(&cn, &rpc);
    if (rc) return rc;
    events_out o = {key, !strcmp(format, "table"), 0};
    tm_error err;
    int r = fetch_events(rpc, key, signal ? WHICH_SIGNAL : unmapped ? WHICH_UNMAPPED : WHICH_ALL, signal,
                         print_event, &o, &err);
    if (r == TM_RPC_EURL || r == TM_RPC_EUNREACHABLE || r == TM_RPC_ESTATUS || r == TM_RPC_EPROTO)
        rc = report(rpc, &err);
    else if (r == TM_ENOMEM) {
        fprintf(stderr, "trailmap: out of memory\n");
        rc = TM_EXIT_NO;
    } else if (r) {
        rc = TM_EXIT_NO; /* writing failed: said below */
    }
    if (rc == 0 && o.table && !o.header) printf("(no events)\n");
    tm_rpc_close(rpc);
    return finish_output("events", rc);
}

/* --------------------------------------------------------------- signals */

static char *dup_str(const char *s) { return strdup(s ? s : ""); }

static int strv_copy(char **src, size_t n, char ***out, size_t *nout) {
    *nout = 0;
    *out = calloc(n + 1, sizeof(**out));
    if (!*out) return -1;
    for (size_t i = 0; i < n; i++)
        if (!((*out)[(*nout)++] = dup_str(src[i]))) return -1;
    return 0;
}

typedef struct unmapped_acc {
    tm_sessview *v;
    size_t cap;
} unmapped_acc;

/* The record says readOnly: false (the table lists such events first). */
static int record_is_write(const char *raw) {
    json_t *j = raw && *raw ? json_loads(raw, JSON_DECODE_ANY, NULL) : NULL;
    int w = json_is_false(json_object_get(j, "readOnly"));
    json_decref(j);
    return w;
}

static int add_unmapped(void *arg, const Trailmap__Event *e) {
    unmapped_acc *a = arg;
    tm_sessview *v = a->v;
    if (v->nunmapped == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 64;
        tm_evview *nu = realloc(v->unmapped, ncap * sizeof(*nu));
        if (!nu) return TM_ENOMEM;
        v->unmapped = nu;
        a->cap = ncap;
    }
    tm_evview *u = &v->unmapped[v->nunmapped];
    memset(u, 0, sizeof(*u));
    u->id = dup_str(e->event_id);
    u->name = dup_str(e->name);
    u->time_ms = e->event_time_ms;
    u->write = record_is_write(e->raw_json);
    v->nunmapped++;
    if (strv_copy(e->labels, e->n_labels, &u->labels, &u->nlabels)) return TM_ENOMEM;
    return u->id && u->name ? 0 : TM_ENOMEM;
}

static void signals_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap signals SESSION [--format table|cartographer|json] [--all]\n"
            "                        [--additions] [--no-color] [OPTIONS]\n"
            "\n"
            "Prints the signals (console actions) of a session that trailmapd holds,\n"
            "made by the server's current rules, in the formats of `trailmap map`: the\n"
            "same events give the same output.\n"
            "\n"
            "  --format F    table (default on a terminal), cartographer (default\n"
            "                otherwise: the reference tool's JSON), json (trailmap's\n"
            "                document; the labels each event tried are not sent by the\n"
            "                server and stay empty)\n"
            "  --all         table: also show suppressed background signals\n"
            "  --additions   cartographer: also write trailmap's own signals (sign-ins,\n"
            "                API calls, console changes no rule recognises), which the\n"
            "                reference never makes; table and json always show them\n"
            "  --no-color    table: no colours\n"
            "\n" CONN_HELP);
}

int tm_cmd_signals(int argc, char **argv) {
    static const struct option opts[] = {{"format", required_argument, NULL, O_FORMAT},
                                         {"all", no_argument, NULL, O_ALL},
                                         {"additions", no_argument, NULL, O_ADDITIONS},
                                         {"no-color", no_argument, NULL, O_NOCOLOR},
                                         CONN_OPTIONS,
                                         {NULL, 0, NULL, 0}};
    conn cn;
    conn_init(&cn);
    const char *format = NULL;
    int all = 0, additions = 0, color = isatty(STDOUT_FILENO), c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = conn_opt(&cn, "signals", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_FORMAT: format = optarg; break;
        case O_ALL: all = 1; break;
        case O_ADDITIONS: additions = 1; break;
        case O_NOCOLOR: color = 0; break;
        case 'h': signals_usage(stdout); return TM_EXIT_OK;
        default: signals_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (!format) format = isatty(STDOUT_FILENO) ? "table" : "cartographer";
    if (strcmp(format, "table") && strcmp(format, "cartographer") && strcmp(format, "json")) {
        fprintf(stderr, "trailmap signals: unknown format \"%s\" (table, cartographer, json)\n", format);
        return TM_EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "trailmap signals: no session (trailmap sessions lists them)\n");
        signals_usage(stderr);
        return TM_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "trailmap signals: one session at a time (unexpected \"%s\")\n", argv[optind + 1]);
        return TM_EXIT_USAGE;
    }
    const char *key = argv[optind];
    tm_rpc *rpc;
    int rc = connect_to(&cn, &rpc);
    if (rc) return rc;

    tm_error err;
    ProtobufCMessage *resp = NULL;
    tm_sessview v;
    memset(&v, 0, sizeof(v));
    Trailmap__GetSessionRequest req = TRAILMAP__GET_SESSION_REQUEST__INIT;
    req.key = (char *)key;
    int r = tm_rpc_call(rpc, "GetSession", &req.base, &resp, &err);
    if (r == 0) r = tm_view_from_session_proto((const Trailmap__GetSessionResponse *)resp, key, &v, &err);
    /* the table and json name the unmapped events; GetSession only counts them */
    if (r == 0 && strcmp(format, "cartographer") != 0 && ((Trailmap__GetSessionResponse *)resp)->unmapped_events) {
        unmapped_acc acc = {&v, 0};
        r = fetch_events(rpc, key, WHICH_UNMAPPED, NULL, add_unmapped, &acc, &err);
        if (r == TM_ENOMEM) tm_error_set(&err, TM_ENOMEM, "out of memory");
    }
    if (r != 0) {
        rc = report(rpc, &err);
    } else {
        int w;
        if (!strcmp(format, "cartographer"))
            w = additions ? tm_output_cartographer_all(stdout, &v, 1) : tm_output_cartographer(stdout, &v, 1);
        else if (!strcmp(format, "json")) w = tm_output_json(stdout, &v, 1);
        else {
            tm_table_opts o = {color, all};
            w = tm_output_table(stdout, &v, 1, &o);
        }
        rc = finish_output("signals", w ? TM_EXIT_NO : 0);
    }
    tm_view_clear(&v);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    tm_rpc_close(rpc);
    return rc;
}

/* admin_coverage.c: `trailmap-admin coverage`, the events of a session
 * that no rule mapped, grouped by eventSource:eventName, most frequent
 * first, each with an example: where a rule author starts. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "printable.h"
#include "rulesInt.h"
#include "trailmap.pb-c.h"

enum { O_RULES = A_FIRST_FREE, O_SESSION, O_FORMAT };

#define EVENTS_PAGE 5000
#define EXAMPLE_CHARS 100

static void coverage_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin coverage [--rules DIR] [--session KEY] [--format table|json]\n"
            "                               [CONNECTION] SESSION|FILE\n"
            "\n"
            "The events no rule mapped to a signal, grouped by eventSource:eventName,\n"
            "most frequent first, with their count and an example of each (the first\n"
            "one's event id and requestParameters).\n"
            "\n"
            "A FILE that exists (any format `trailmap map` reads; \"-\" is standard input)\n"
            "is mapped here, offline, with the rules directory DIR; anything else names a\n"
            "SESSION stored by trailmapd, mapped with the server's rules (GetEvents).\n"
            "\n"
            "  --rules DIR     FILE: the rules directory (default: $TRAILMAP_RULES or the\n"
            "                  built-in rules)\n"
            "  --session KEY   FILE: only this session of the file (default: all of them)\n"
            "  --format F      table (default) or json: {\"source\", \"rulesVersion\",\n"
            "                  \"events\", \"unmapped\", \"kinds\": [{\"event\", \"name\",\n"
            "                  \"count\", \"example\": {\"eventId\", \"eventTime\",\n"
            "                  \"requestParameters\", \"labels\"}}]}\n"
            "\n" ADMIN_CONN_HELP "\n" ADMIN_EXIT_HELP);
}

/* kinds: {"src:name": {"event", "name", "count", "example"}} in order of
 * first appearance; the example is the first event of the kind. */
typedef struct acc {
    json_t *kinds;
    size_t unmapped;
} acc;

static int add_event(acc *a, json_t *rec, const char *id, int64_t time_ms, const char *name_full, char **labels,
                     size_t nlabels) {
    const char *src = json_string_value(json_object_get(rec, "eventSource"));
    const char *en = json_string_value(json_object_get(rec, "eventName"));
    char *key = NULL;
    if (asprintf(&key, "%s:%s", src ? src : "?", en ? en : "?") < 0) return -1;
    json_t *k = json_object_get(a->kinds, key);
    a->unmapped++;
    if (k) {
        json_object_set_new(k, "count", json_integer(json_integer_value(json_object_get(k, "count")) + 1));
        free(key);
        return 0;
    }
    char when[32];
    admin_time_text(time_ms, when);
    json_t *lab = json_array();
    for (size_t i = 0; lab && i < nlabels; i++) json_array_append_new(lab, json_string(labels[i]));
    json_t *rp = json_object_get(rec, "requestParameters");
    json_t *ex = json_pack("{s:s, s:s, s:O, s:o}", "eventId", id ? id : "", "eventTime", when, "requestParameters",
                           rp ? rp : json_null(), "labels", lab ? lab : json_array());
    json_t *o = ex ? json_pack("{s:s, s:s, s:i, s:o}", "event", key, "name", name_full ? name_full : "", "count", 1,
                               "example", ex)
                   : NULL;
    int rc = o ? json_object_set_new(a->kinds, key, o) : -1;
    free(key);
    return rc;
}

static int cmp_kind(const void *x, const void *y) {
    json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
    json_int_t ca = json_integer_value(json_object_get(a, "count")), cb = json_integer_value(json_object_get(b, "count"));
    if (ca != cb) return ca > cb ? -1 : 1;
    return strcmp(json_string_value(json_object_get(a, "event")), json_string_value(json_object_get(b, "event")));
}

static int print(const char *source, const char *version, long long events, const acc *a, const char *format) {
    size_t n = json_object_size(a->kinds), i = 0;
    json_t **v = calloc(n + 1, sizeof(*v));
    if (!v) return TM_EXIT_NO;
    const char *k;
    json_t *o;
    json_object_foreach(a->kinds, k, o) v[i++] = o;
    if (n) qsort(v, n, sizeof(*v), cmp_kind);
    if (!strcmp(format, "json")) {
        json_t *list = json_array();
        for (i = 0; list && i < n; i++) json_array_append(list, v[i]);
        json_t *doc = json_pack("{s:s, s:s, s:o, s:I, s:o}", "source", source, "rulesVersion", version, "events",
                                events >= 0 ? json_integer(events) : json_null(), "unmapped", (json_int_t)a->unmapped,
                                "kinds", list ? list : json_array());
        if (doc) json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(doc);
    } else {
        if (events >= 0)
            printf("%s: %zu of %lld events unmapped (%.1f%%), %zu kind%s; rules version %s\n", source, a->unmapped,
                   events, events ? 100.0 * (double)a->unmapped / (double)events : 0.0, n, n == 1 ? "" : "s", version);
        else
            printf("%s: %zu events unmapped, %zu kind%s; rules version %s\n", source, a->unmapped, n, n == 1 ? "" : "s",
                   version);
        int w = 5;
        for (i = 0; i < n; i++) {
            int l = (int)strlen(json_string_value(json_object_get(v[i], "event")));
            if (l > w) w = l;
        }
        if (w > 60) w = 60;
        if (n) printf("%5s  %-*s  %s\n", "COUNT", w, "EVENT", "EXAMPLE (event id, requestParameters)");
        for (i = 0; i < n; i++) {
            json_t *ex = json_object_get(v[i], "example");
            char *rp = json_dumps(json_object_get(ex, "requestParameters"), JSON_COMPACT | JSON_ENCODE_ANY);
            if (rp && strlen(rp) > EXAMPLE_CHARS) strcpy(rp + EXAMPLE_CHARS - 3, "...");
            /* names, ids and parameters are the callers': escaped for the terminal */
            char *ev = tm_printable(json_string_value(json_object_get(v[i], "event")) ?: "");
            char *id = tm_printable(json_string_value(json_object_get(ex, "eventId")) ?: "");
            char *rps = tm_printable(rp ? rp : "null");
            printf("%5lld  %-*s  %s %s\n", (long long)json_integer_value(json_object_get(v[i], "count")), w,
                   ev ? ev : "?", id ? id : "?", rps ? rps : "?");
            free(ev);
            free(id);
            free(rps);
            free(rp);
        }
    }
    free(v);
    return admin_finish("coverage", TM_EXIT_OK);
}

static int coverage_file(const char *file, const char *rules, const char *session, const char *format) {
    char *dir = admin_dir_name(rules ? rules : tm_rules_default_dir());
    tm_ruleset *rs = dir ? tm_cli_load_rules(dir) : NULL;
    free(dir);
    if (!rs) return TM_EXIT_NO;
    tm_cli_sessions s;
    char *files[1] = {(char *)file};
    int rc = tm_cli_map_files(rs, files, 1, NULL, session, &s);
    acc a = {json_object(), 0};
    long long events = 0;
    for (size_t k = 0; rc == 0 && k < s.n; k++) {
        const tm_mapping *mp = s.maps[k];
        events += (long long)mp->nevents;
        for (size_t j = 0; j < mp->nevents && rc == 0; j++) {
            if (mp->signal_of[j] >= 0) continue;
            const tm_event *e = mp->events[j];
            char **labels = calloc(mp->labels[j].n + 1, sizeof(*labels));
            for (size_t i = 0; labels && i < mp->labels[j].n; i++) labels[i] = rs->labels[mp->labels[j].v[i]].name;
            if (!labels || add_event(&a, e->json, e->id, e->time_ms, e->name_full, labels, mp->labels[j].n) != 0) {
                fprintf(stderr, "trailmap-admin coverage: out of memory\n");
                rc = TM_EXIT_NO;
            }
            free(labels);
        }
    }
    if (rc == 0) rc = print(file, rs->version, events, &a, format);
    json_decref(a.kinds);
    tm_cli_sessions_free(&s);
    tm_rules_unref(rs);
    return rc;
}

static int coverage_server(const admin_conn *cn, const char *key, const char *format) {
    tm_rpc *rpc;
    int rc = admin_connect(cn, &rpc);
    if (rc) return rc;
    tm_error err;
    ProtobufCMessage *resp;
    long long events = -1;
    char *version = NULL;
    acc a = {json_object(), 0};
    /* the session's size (and that it exists) */
    Trailmap__GetSessionRequest sreq = TRAILMAP__GET_SESSION_REQUEST__INIT;
    sreq.key = (char *)key;
    if (tm_rpc_call(rpc, "GetSession", &sreq.base, &resp, &err) != 0) {
        rc = admin_report("coverage", rpc, &err);
        goto out;
    }
    const Trailmap__GetSessionResponse *sr = (const Trailmap__GetSessionResponse *)resp;
    if (sr->session) events = (long long)sr->session->events;
    version = strdup(sr->rules_version ? sr->rules_version : "");
    protobuf_c_message_free_unpacked(resp, NULL);

    char *token = strdup("");
    while (token && rc == 0) {
        Trailmap__GetEventsRequest req = TRAILMAP__GET_EVENTS_REQUEST__INIT;
        req.key = (char *)key;
        req.which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_UNMAPPED;
        req.unmapped = 1;
        req.page_size = EVENTS_PAGE;
        req.page_token = token;
        if (tm_rpc_call(rpc, "GetEvents", &req.base, &resp, &err) != 0) {
            rc = admin_report("coverage", rpc, &err);
            break;
        }
        const Trailmap__GetEventsResponse *r = (const Trailmap__GetEventsResponse *)resp;
        if (r->rules_version && *r->rules_version && version && strcmp(version, r->rules_version) != 0) {
            /* the rules changed between the calls: say the one the events were mapped with */
            free(version);
            version = strdup(r->rules_version);
        }
        for (size_t i = 0; i < r->n_events && rc == 0; i++) {
            const Trailmap__Event *e = r->events[i];
            json_error_t je;
            json_t *rec = json_loads(e->raw_json ? e->raw_json : "", 0, &je);
            if (!rec) rec = json_object();
            if (add_event(&a, rec, e->event_id, e->event_time_ms, e->name, e->labels, e->n_labels) != 0) {
                fprintf(stderr, "trailmap-admin coverage: out of memory\n");
                rc = TM_EXIT_NO;
            }
            json_decref(rec);
        }
        const char *next = r->next_page_token ? r->next_page_token : "";
        if (rc == 0 && *next && strcmp(next, token) == 0) {
            fprintf(stderr, "trailmap-admin coverage: %s sent the same page token twice\n", tm_rpc_url(rpc));
            rc = TM_EXIT_NO;
        }
        free(token);
        token = rc == 0 && *next ? strdup(next) : NULL;
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    free(token);
    if (rc == 0) {
        char *source = NULL;
        if (asprintf(&source, "session %s", key) < 0) source = NULL;
        rc = print(source ? source : key, version ? version : "", events, &a, format);
        free(source);
    }
out:
    free(version);
    json_decref(a.kinds);
    tm_rpc_close(rpc);
    return rc;
}

int admin_cmd_coverage(int argc, char **argv) {
    static const struct option opts[] = {{"rules", required_argument, NULL, O_RULES},
                                         {"session", required_argument, NULL, O_SESSION},
                                         {"format", required_argument, NULL, O_FORMAT},
                                         ADMIN_CONN_OPTIONS,
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    admin_conn cn;
    admin_conn_init(&cn);
    const char *rules = NULL, *session = NULL, *format = "table";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int k = admin_conn_opt(&cn, "coverage", c, optarg);
        if (k < 0) return TM_EXIT_USAGE;
        if (k) continue;
        switch (c) {
        case O_RULES: rules = optarg; break;
        case O_SESSION: session = optarg; break;
        case O_FORMAT: format = optarg; break;
        case 'h': coverage_usage(stdout); return TM_EXIT_OK;
        default: coverage_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (strcmp(format, "table") && strcmp(format, "json")) {
        fprintf(stderr, "trailmap-admin coverage: unknown format \"%s\" (table, json)\n", format);
        return TM_EXIT_USAGE;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "trailmap-admin coverage: %s\n",
                optind >= argc ? "no session or file" : "one session or file at a time");
        coverage_usage(stderr);
        return TM_EXIT_USAGE;
    }
    const char *what = argv[optind];
    struct stat st;
    if (!strcmp(what, "-") || stat(what, &st) == 0) return coverage_file(what, rules, session, format);
    if (rules || session) {
        fprintf(stderr, "trailmap-admin coverage: no file \"%s\"; --rules and --session apply to files (a session on "
                        "the server is mapped with the server's rules)\n", what);
        return TM_EXIT_USAGE;
    }
    return coverage_server(&cn, what, format);
}

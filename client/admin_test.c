/* admin_test.c: `trailmap-admin test`, a ruleset against a corpus of
 * fixture sessions, and `test --record`, which makes a new fixture.
 *
 * A fixture is a folder holding InputEvents.json (the events) and
 * ExpectedSignals.json (the signals they should give, in the format of
 * `trailmap map --format cartographer`), like tests/corpus/sessions/<id>.
 * Signals are compared as tests/tools/score-signals compares them: by
 * CorrelationId, on the fields Label Name Url CorrelationId EventCount
 * FirstEventTime LastEventTime AllEventArr AllEventIdArr AdditionalData
 * (plus a non-empty Summary), after removing repeated event ids from
 * AllEventIdArr (and as many from EventCount) on both sides. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"

enum { O_CORPUS = A_FIRST_FREE, O_RECORD, O_OUT, O_SESSION, O_FORCE, O_RULES };

static const char *const FIELDS[] = {"Label",          "Name",          "Url",         "CorrelationId",
                                     "EventCount",     "FirstEventTime", "LastEventTime", "AllEventArr",
                                     "AllEventIdArr",  "AdditionalData", NULL};

static void test_usage(FILE *f) {
    fprintf(f,
            "usage: trailmap-admin test [DIR] [--corpus CORPUS]\n"
            "       trailmap-admin test [DIR] --record FILE --out FIXTURE [--session KEY]\n"
            "                           [--force]\n"
            "\n"
            "Maps every fixture session of CORPUS with the rules directory DIR (default:\n"
            "$TRAILMAP_RULES or the built-in rules) and reports, per session and in total,\n"
            "what differs from the session's ExpectedSignals.json, field by field, and\n"
            "the signals missing or extra.  No server is needed.\n"
            "\n"
            "A fixture is a folder with InputEvents.json (the events, any format `trailmap\n"
            "map` reads) and ExpectedSignals.json (the signals they must give: the output\n"
            "of `trailmap map --format cartographer`).  The fields compared are those of\n"
            "tests/tools/score-signals: Label Name Url CorrelationId EventCount\n"
            "FirstEventTime LastEventTime AllEventArr AllEventIdArr AdditionalData, and\n"
            "Summary must not be empty; an event id repeated in AllEventIdArr counts once.\n"
            "\n"
            "  --rules DIR      the rules directory, as DIR\n"
            "  --corpus CORPUS  a folder of fixtures, or one fixture (default:\n"
            "                   tests/corpus/sessions next to DIR, when it exists)\n"
            "  --record FILE    make a fixture instead: FIXTURE/InputEvents.json gets the\n"
            "                   events of the one session in FILE, FIXTURE/ExpectedSignals.json\n"
            "                   what DIR maps them to now, to freeze what a rule should do\n"
            "  --out FIXTURE    the folder --record writes (made when missing)\n"
            "  --session KEY    --record: the session to take when FILE holds several\n"
            "  --force          --record: replace the files of an existing fixture\n"
            "\n"
            "Exit status: 0 every session identical (or the fixture was written), 1 any\n"
            "difference or a session that could not be mapped, 2 usage.\n");
}

/* ------------------------------------------------------------ comparing */

/* A signal with repeated ids removed from AllEventIdArr, and EventCount
 * lowered by as many (a new reference). */
static json_t *dedupe(json_t *s) {
    json_t *v = json_object_get(s, "AllEventIdArr");
    if (!json_is_string(v)) return json_incref(s);
    const char *str = json_string_value(v);
    json_t *seen = json_object();
    size_t total = 0, kept = 0, cap = strlen(str) + 1;
    char *out = malloc(cap), *p = out;
    if (!seen || !out) {
        json_decref(seen);
        free(out);
        return json_incref(s);
    }
    *p = 0;
    const char *q = str;
    while (*q) {
        size_t l = strcspn(q, ",");
        if (l) {
            char *id = strndup(q, l);
            total++;
            if (id && !json_object_get(seen, id)) {
                json_object_set_new(seen, id, json_true());
                if (kept++) *p++ = ',';
                memcpy(p, q, l);
                p += l;
                *p = 0;
            }
            free(id);
        }
        q += l;
        if (*q == ',') q++;
    }
    json_decref(seen);
    if (kept == total) {
        free(out);
        return json_incref(s);
    }
    json_t *c = json_copy(s);
    if (c) {
        json_object_set_new(c, "AllEventIdArr", json_string(out));
        json_t *n = json_object_get(c, "EventCount");
        if (json_is_integer(n) && kept != total)
            json_object_set_new(c, "EventCount", json_integer(json_integer_value(n) - (json_int_t)(total - kept)));
    }
    free(out);
    return c ? c : json_incref(s);
}

/* {CorrelationId: signal} from an object of signals or a list of them. */
static json_t *signals_by_id(json_t *doc, char *why, size_t whylen) {
    json_t *out = json_object();
    if (!out) return NULL;
    if (json_is_object(doc)) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v) {
            if (!json_is_object(v)) {
                snprintf(why, whylen, "member \"%s\" is not a signal object", k);
                json_decref(out);
                return NULL;
            }
            json_t *cid = json_object_get(v, "CorrelationId");
            char *key = json_is_string(cid) ? strdup(json_string_value(cid)) : cid ? json_dumps(cid, JSON_ENCODE_ANY) : strdup(k);
            if (key) json_object_set_new(out, key, dedupe(v));
            free(key);
        }
    } else if (json_is_array(doc)) {
        size_t i;
        json_t *v;
        json_array_foreach(doc, i, v) {
            json_t *cid = json_is_object(v) ? json_object_get(v, "CorrelationId") : NULL;
            char *key = json_is_string(cid) ? strdup(json_string_value(cid)) : cid ? json_dumps(cid, JSON_ENCODE_ANY) : strdup("None");
            if (key && json_is_object(v)) json_object_set_new(out, key, dedupe(v));
            free(key);
        }
    } else {
        snprintf(why, whylen, "not a JSON object of signals");
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Canonical compact JSON (sorted keys), cut to fit a line. */
static char *canon(json_t *v, size_t max) {
    char *s = json_dumps(v ? v : json_null(), JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (s && strlen(s) > max) strcpy(s + max - 3, "...");
    return s;
}

static int same(json_t *a, json_t *b) {
    json_t *na = json_null();
    return json_equal(a ? a : na, b ? b : na);
}

typedef struct totals {
    size_t sessions, identical_sessions, failed_sessions;
    size_t expected, identical, differ, missing, extra;
} totals;

/* Compares one session; prints its line and details.  Returns the number
 * of differences (signals differing, missing, extra). */
static size_t compare_session(const char *name, json_t *expected, json_t *actual, totals *t) {
    size_t differ = 0, missing = 0, extra = 0, ok = 0;
    char *lines = NULL;
    size_t lines_len = 0;
    FILE *d = open_memstream(&lines, &lines_len);
    const char *cid;
    json_t *e;
    json_object_foreach(expected, cid, e) {
        json_t *a = json_object_get(actual, cid);
        const char *label = json_string_value(json_object_get(e, "Label"));
        if (!a) {
            missing++;
            if (d) fprintf(d, "  missing %s %s\n", cid, label ? label : "?");
            continue;
        }
        int n = 0;
        for (int f = 0; FIELDS[f]; f++) {
            json_t *ev = json_object_get(e, FIELDS[f]), *av = json_object_get(a, FIELDS[f]);
            if (same(ev, av)) continue;
            if (n++ == 0 && d) fprintf(d, "  differs %s %s\n", cid, label ? label : "?");
            char *es = canon(ev, 200), *as = canon(av, 200);
            if (d) fprintf(d, "    %s: expected %s got %s\n", FIELDS[f], es ? es : "?", as ? as : "?");
            free(es);
            free(as);
        }
        json_t *sum = json_object_get(a, "Summary");
        if (!json_is_string(sum) || json_string_length(sum) == 0) {
            if (n++ == 0 && d) fprintf(d, "  differs %s %s\n", cid, label ? label : "?");
            if (d) fprintf(d, "    Summary: empty\n");
        }
        if (n) differ++;
        else ok++;
    }
    json_t *a;
    json_object_foreach(actual, cid, a) {
        if (json_object_get(expected, cid)) continue;
        extra++;
        const char *label = json_string_value(json_object_get(a, "Label"));
        if (d) fprintf(d, "  extra %s %s\n", cid, label ? label : "?");
    }
    if (d) fclose(d);
    size_t nexp = json_object_size(expected), bad = differ + missing + extra;
    if (bad == 0) {
        printf("%s  identical (%zu signal%s)\n", name, nexp, nexp == 1 ? "" : "s");
    } else {
        printf("%s  %zu difference%s: %zu differ, %zu missing, %zu extra (%zu of %zu signals identical)\n", name, bad,
               bad == 1 ? "" : "s", differ, missing, extra, ok, nexp);
        if (lines) fputs(lines, stdout);
    }
    free(lines);
    t->sessions++;
    t->expected += nexp;
    t->identical += ok;
    t->differ += differ;
    t->missing += missing;
    t->extra += extra;
    if (bad == 0) t->identical_sessions++;
    return bad;
}

/* The cartographer signals of a file mapped with rs, as `trailmap map
 * --format cartographer` gives them: {CorrelationId: signal}. */
static json_t *map_file(tm_ruleset *rs, const char *path) {
    tm_cli_sessions s;
    char *files[1] = {(char *)path};
    if (tm_cli_map_files(rs, files, 1, NULL, NULL, &s) != 0) {
        tm_cli_sessions_free(&s);
        return NULL;
    }
    json_t *doc = json_object();
    for (size_t k = 0; doc && k < s.n; k++)
        for (size_t i = 0; doc && i < s.out[k].nsigs; i++) {
            json_t *sig = tm_output_signal_cartographer(&s.out[k].sigs[i]);
            if (!sig || json_object_set_new(doc, s.out[k].sigs[i].correlation_id, sig)) {
                json_decref(doc);
                doc = NULL;
            }
        }
    tm_cli_sessions_free(&s);
    return doc;
}

static int is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *join(const char *a, const char *b) {
    char *p = NULL;
    return asprintf(&p, "%s/%s", a, b) < 0 ? NULL : p;
}

static void test_fixture(tm_ruleset *rs, const char *dir, const char *name, totals *t) {
    char *in = join(dir, "InputEvents.json"), *exp = join(dir, "ExpectedSignals.json");
    char why[1024] = "";
    json_t *expected = NULL, *actual = NULL, *edoc = NULL;
    if (!in || !exp) {
        snprintf(why, sizeof(why), "out of memory");
    } else if (!is_file(exp)) {
        snprintf(why, sizeof(why), "no ExpectedSignals.json");
    } else {
        json_error_t je;
        edoc = json_load_file(exp, 0, &je);
        if (!edoc) snprintf(why, sizeof(why), "%s:%d:%d: %s", exp, je.line, je.column, je.text);
        else {
            char inner[200] = "";
            if (!(expected = signals_by_id(edoc, inner, sizeof(inner))))
                snprintf(why, sizeof(why), "%s: %s", exp, inner);
        }
        if (!*why && !(actual = map_file(rs, in)))
            snprintf(why, sizeof(why), "InputEvents.json could not be mapped (see above)");
    }
    if (*why) {
        printf("%s  error: %s\n", name, why);
        t->sessions++;
        t->failed_sessions++;
    } else {
        json_t *act = signals_by_id(actual, why, sizeof(why));
        if (act) compare_session(name, expected, act, t);
        else {
            printf("%s  error: %s\n", name, why);
            t->sessions++;
            t->failed_sessions++;
        }
        json_decref(act);
    }
    json_decref(edoc);
    json_decref(expected);
    json_decref(actual);
    free(in);
    free(exp);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_corpus(tm_ruleset *rs, const char *corpus) {
    totals t = {0};
    char *own = join(corpus, "InputEvents.json");
    if (own && is_file(own)) {
        /* one fixture */
        test_fixture(rs, corpus, corpus, &t);
    } else {
        DIR *d = opendir(corpus);
        if (!d) {
            free(own);
            fprintf(stderr, "trailmap-admin test: cannot read the corpus %s: %s\n", corpus, strerror(errno));
            return TM_EXIT_NO;
        }
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char *sub = join(corpus, de->d_name), *in = sub ? join(sub, "InputEvents.json") : NULL;
            int fixture = in && is_dir(sub) && is_file(in);
            free(in);
            free(sub);
            if (!fixture) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                char **nn = realloc(names, cap * sizeof(*nn));
                if (!nn) break;
                names = nn;
            }
            if ((names[n] = strdup(de->d_name))) n++;
        }
        closedir(d);
        if (n) qsort(names, n, sizeof(*names), cmp_str);
        for (size_t i = 0; i < n; i++) {
            char *sub = join(corpus, names[i]);
            if (sub) test_fixture(rs, sub, names[i], &t);
            free(sub);
            free(names[i]);
        }
        free(names);
        if (n == 0) {
            free(own);
            fprintf(stderr, "trailmap-admin test: no fixture in %s (folders with InputEvents.json and "
                            "ExpectedSignals.json)\n", corpus);
            return TM_EXIT_NO;
        }
    }
    free(own);
    printf("total: %zu session%s, %zu identical, %zu differ, %zu failed; %zu signals expected: %zu identical, %zu "
           "differ, %zu missing, %zu extra; rules version %s\n",
           t.sessions, t.sessions == 1 ? "" : "s", t.identical_sessions,
           t.sessions - t.identical_sessions - t.failed_sessions, t.failed_sessions, t.expected, t.identical, t.differ,
           t.missing, t.extra, rs->version);
    return t.identical_sessions == t.sessions ? TM_EXIT_OK : TM_EXIT_NO;
}

/* ------------------------------------------------------------- recording */

static int cmp_input(const void *a, const void *b) {
    const tm_event *x = *(tm_event *const *)a, *y = *(tm_event *const *)b;
    return x->input_index < y->input_index ? -1 : x->input_index > y->input_index;
}

static int write_json(const char *path, json_t *doc) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int bad = json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', f) == EOF;
    return (fclose(f) != 0 || bad) ? -1 : 0;
}

static int mkdirs(const char *dir) {
    char *p = strdup(dir);
    if (!p) return -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/') continue;
        *q = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static int record(tm_ruleset *rs, const char *file, const char *out, const char *session, int force) {
    char *in = join(out, "InputEvents.json"), *exp = join(out, "ExpectedSignals.json");
    int rc = TM_EXIT_NO;
    tm_cli_sessions s;
    memset(&s, 0, sizeof(s));
    json_t *arr = NULL;
    if (!in || !exp) goto done;
    if (!force && (is_file(in) || is_file(exp))) {
        fprintf(stderr, "trailmap-admin test: %s holds a fixture already (--force replaces it)\n", out);
        goto done;
    }
    char *files[1] = {(char *)file};
    if (tm_cli_map_files(rs, files, 1, NULL, session, &s) != 0) goto done;
    if (s.n == 0) {
        fprintf(stderr, "trailmap-admin test: %s holds no events\n", file);
        goto done;
    }
    if (s.n > 1) {
        fprintf(stderr, "trailmap-admin test: %s holds %zu sessions; choose one with --session KEY:\n", file, s.n);
        for (size_t i = 0; i < s.n; i++) fprintf(stderr, "  %s (%zu events)\n", s.keys[i], s.groups[i].n);
        rc = TM_EXIT_USAGE;
        goto done;
    }
    /* the session's events, each once, in the order of the input; a
     * "trailmap" member (from `trailmap events --format jsonl` or `map
     * --format jsonl`) is not part of the record */
    size_t n = s.groups[0].n;
    tm_event **ev = malloc((n + 1) * sizeof(*ev));
    arr = json_array();
    if (!ev || !arr) {
        free(ev);
        fprintf(stderr, "trailmap-admin test: out of memory\n");
        goto done;
    }
    memcpy(ev, s.groups[0].v, n * sizeof(*ev));
    qsort(ev, n, sizeof(*ev), cmp_input);
    for (size_t i = 0; i < n; i++) {
        json_t *rec = ev[i]->json;
        if (json_object_get(rec, "trailmap")) {
            rec = json_copy(rec);
            json_object_del(rec, "trailmap");
        } else {
            json_incref(rec);
        }
        json_array_append_new(arr, rec);
    }
    free(ev);
    if (mkdirs(out) != 0) {
        fprintf(stderr, "trailmap-admin test: cannot make %s: %s\n", out, strerror(errno));
        goto done;
    }
    if (write_json(in, arr) != 0) {
        fprintf(stderr, "trailmap-admin test: cannot write %s: %s\n", in, strerror(errno));
        goto done;
    }
    /* the expected signals: the fixture's own events mapped, exactly as
     * `trailmap map --format cartographer InputEvents.json` prints them */
    tm_cli_sessions_free(&s);
    char *again[1] = {in};
    if (tm_cli_map_files(rs, again, 1, NULL, NULL, &s) != 0) goto done;
    FILE *f = fopen(exp, "w");
    if (!f || tm_output_cartographer(f, s.out, s.n) != 0 || fclose(f) != 0) {
        fprintf(stderr, "trailmap-admin test: cannot write %s: %s\n", exp, strerror(errno));
        goto done;
    }
    size_t nsigs = 0;
    for (size_t k = 0; k < s.n; k++) nsigs += s.out[k].nsigs;
    printf("%s: %zu events, %zu signals (rules version %s)\n  %s\n  %s\n", out, json_array_size(arr), nsigs,
           rs->version, in, exp);
    rc = TM_EXIT_OK;
done:
    json_decref(arr);
    tm_cli_sessions_free(&s);
    free(in);
    free(exp);
    return rc;
}

/* tests/corpus/sessions next to the rules directory, or NULL. */
static char *default_corpus(const char *rules) {
    char real[PATH_MAX];
    if (!realpath(rules, real)) return NULL;
    char *parent = dirname(real);
    char *c = NULL;
    if (asprintf(&c, "%s/tests/corpus/sessions", parent) < 0) return NULL;
    if (!is_dir(c)) {
        free(c);
        return NULL;
    }
    return c;
}

int admin_cmd_test(int argc, char **argv) {
    static const struct option opts[] = {{"corpus", required_argument, NULL, O_CORPUS},
                                         {"record", required_argument, NULL, O_RECORD},
                                         {"out", required_argument, NULL, O_OUT},
                                         {"session", required_argument, NULL, O_SESSION},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {"rules", required_argument, NULL, O_RULES},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *corpus = NULL, *rec = NULL, *out = NULL, *session = NULL, *rules = NULL;
    int force = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_CORPUS: corpus = optarg; break;
        case O_RECORD: rec = optarg; break;
        case O_OUT: out = optarg; break;
        case O_SESSION: session = optarg; break;
        case O_FORCE: force = 1; break;
        case O_RULES: rules = optarg; break;
        case 'h': test_usage(stdout); return TM_EXIT_OK;
        default: test_usage(stderr); return TM_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (rules || optind + 1 < argc) {
            fprintf(stderr, "trailmap-admin test: one rules directory (unexpected \"%s\")\n", argv[argc - 1]);
            return TM_EXIT_USAGE;
        }
        rules = argv[optind];
    }
    if (rec && !out) {
        fprintf(stderr, "trailmap-admin test: --record needs --out FIXTURE (the folder to write)\n");
        return TM_EXIT_USAGE;
    }
    if (!rec && (out || session || force)) {
        fprintf(stderr, "trailmap-admin test: --out, --session and --force go with --record\n");
        return TM_EXIT_USAGE;
    }
    if (rec && corpus) {
        fprintf(stderr, "trailmap-admin test: --record and --corpus exclude each other\n");
        return TM_EXIT_USAGE;
    }
    char *dir = admin_dir_name(rules ? rules : tm_rules_default_dir());
    if (!dir) return TM_EXIT_NO;
    char *found = NULL;
    if (!rec && !corpus) {
        corpus = found = default_corpus(dir);
        if (!corpus) {
            fprintf(stderr, "trailmap-admin test: no tests/corpus/sessions next to %s; name a corpus with --corpus DIR\n",
                    dir);
            free(dir);
            return TM_EXIT_USAGE;
        }
    }
    if (rec && strcmp(rec, "-") != 0 && !is_file(rec)) {
        fprintf(stderr, "trailmap-admin test: cannot read %s\n", rec);
        free(dir);
        return TM_EXIT_NO;
    }
    tm_ruleset *rs = tm_cli_load_rules(dir);
    int rc = TM_EXIT_NO;
    if (rs) {
        rc = rec ? record(rs, rec, out, session, force) : run_corpus(rs, corpus);
        tm_rules_unref(rs);
    }
    free(found);
    free(dir);
    return admin_finish("test", rc);
}

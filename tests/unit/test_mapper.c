/* test_mapper.c: the signal loop over a tiny made-up ruleset: windows,
 * gathering, required sets, anchor re-selection, correlation ids, the end
 * of the label search, one_per_event, no_history, unmapped events, and
 * independence from input order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mapper.h"
#include "rulesInt.h"
#include "helpers.h"
#include "test.h"

static char dir[128];

static void put(const char *rel, const char *text) { tm_test_put(dir, rel, text); }

static const char *SIGNALS =
    "{\"signals\": [\n"
    " {\"label\": \"A_Page\", \"service\": \"Alpha\", \"name\": \"Opened A page\",\n"
    "  \"url\": \"https://{{awsRegion}}.example/a?first={{firstName|url}}\",\n"
    "  \"anchor\": [\"a:Open\"], \"required\": [\"a:Open\", \"a:Load\"], \"optional\": [\"a:Extra\"],\n"
    "  \"window\": [2, 3],\n"
    "  \"vars\": {\"ids\": {\"steps\": [{\"related\": \"*\"}, {\"get\": \"eventID\"}], \"shape\": \"array\"},\n"
    "           \"firstName\": [{\"anchor\": true}, {\"get\": \"requestParameters.name\"}]},\n"
    "  \"data\": {\"ids\": \"ids\", \"region\": \"awsRegion\"},\n"
    "  \"summary\": \"Opened page with {{ids|count}} event{{ids|plural}}.\"},\n"
    " {\"label\": \"C_First\", \"service\": \"C\", \"name\": \"c1\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Multi\"], \"required\": [\"a:Multi\"], \"summary\": \"first\"},\n"
    " {\"label\": \"C_Second\", \"service\": \"C\", \"name\": \"c2\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Multi\"], \"required\": [\"a:Multi\"], \"summary\": \"second\"},\n"
    " {\"label\": \"D_Needs\", \"service\": \"D\", \"name\": \"d1\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Pick\"], \"required\": [\"a:Partner\", \"a:Pick\"], \"summary\": \"needs\"},\n"
    " {\"label\": \"D_Single\", \"service\": \"D\", \"name\": \"d2\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Pick\"], \"required\": [\"a:Pick\"], \"summary\": \"single\"},\n"
    " {\"label\": \"E_Cmd\", \"service\": \"E\", \"name\": \"cmd\", \"url\": \"N/A\",\n"
    "  \"anchor\": \"*\", \"required\": \"*\", \"flags\": [\"one_per_event\"],\n"
    "  \"vars\": {\"name\": [{\"anchor\": true}, {\"get\": \"$eventNameFull\"}]},\n"
    "  \"data\": {\"name\": \"name\"}, \"summary\": \"ran {{name}}\"},\n"
    " {\"label\": \"S_Bg\", \"service\": \"N/A\", \"name\": \"bg\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Bg1\", \"a:Bg2\"], \"required\": \"*\", \"optional\": [\"a:Bg1\", \"a:Bg2\"],\n"
    "  \"flags\": [\"suppressed\", \"no_history\"], \"summary\": \"background\"},\n"
    " {\"label\": \"F_Quiet\", \"service\": \"F\", \"name\": \"quiet\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Quiet\"], \"required\": [\"a:Quiet\"], \"flags\": [\"no_history\"], \"summary\": \"quiet\"},\n"
    " {\"label\": \"G_Hist\", \"service\": \"G\", \"name\": \"hist\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Hist\"], \"required\": [\"a:Hist\"],\n"
    "  \"vars\": {\"hist\": [{\"history\": true}, {\"get\": \"label\"}],\n"
    "           \"times\": [{\"history\": true}, {\"get\": \"eventTime\"}],\n"
    "           \"regions\": [{\"history\": true}, {\"get\": \"awsRegion\"}],\n"
    "           \"prevIds\": [{\"history\": true}, {\"last\": true}, {\"get\": \"data.ids\"}],\n"
    "           \"histCount\": [{\"var\": \"hist\"}, {\"count\": true}]},\n"
    "  \"data\": {\"hist\": \"hist\", \"times\": \"times\", \"regions\": \"regions\", \"prevIds\": \"prevIds\",\n"
    "           \"histArr\": {\"var\": \"hist\", \"shape\": \"array\"}, \"histOne\": {\"var\": \"hist\", \"shape\": \"scalar\"},\n"
    "           \"histCount\": \"histCount\"},\n"
    "  \"summary\": \"after {{hist|list}}\"},\n"
    " {\"label\": \"H_Late\", \"service\": \"H\", \"name\": \"late\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Trigger\", \"a:Real\"], \"required\": [\"a:Real\"], \"window\": [0, 5], \"summary\": \"late\"},\n"
    " {\"label\": \"N_Null\", \"service\": \"N\", \"name\": \"null\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Nx\"], \"required\": [\"a:Ny\"], \"summary\": \"never made: no anchor among its events\"},\n"
    " {\"label\": \"N_After\", \"service\": \"N\", \"name\": \"after\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"a:Nx\"], \"required\": [\"a:Nx\"], \"summary\": \"after\"}\n"
    "]}\n";

static const char *LABELS =
    "{\"events\": [\n"
    " {\"event\": \"a:Open\", \"emit\": [\"A_Page\"]},\n"
    " {\"event\": \"a:Load\", \"chain\": [{\"when\": {\"f\": \"requestParameters.tag\", \"ne\": \"off\"}, \"emit\": [\"A_Page\"]}]},\n"
    " {\"event\": \"a:Extra\", \"emit\": [\"A_Page\"]},\n"
    " {\"event\": \"a:Noise\", \"emit\": [\"A_Page\"]},\n"
    " {\"event\": \"a:Multi\", \"emit\": [\"C_First\", \"C_Second\"]},\n"
    " {\"event\": \"a:Pick\", \"emit\": [\"D_Needs\", \"D_Single\"]},\n"
    " {\"event\": \"a:Partner\", \"emit\": [\"D_Needs\"]},\n"
    " {\"event\": \"a:Cmd\", \"emit\": [\"E_Cmd\"]},\n"
    " {\"event\": \"a:Bg1\", \"emit\": [\"S_Bg\"]},\n"
    " {\"event\": \"a:Bg2\", \"emit\": [\"S_Bg\"]},\n"
    " {\"event\": \"a:Bg3\", \"emit\": [\"S_Bg\"]},\n"
    " {\"event\": \"a:Quiet\", \"emit\": [\"F_Quiet\"]},\n"
    " {\"event\": \"a:Hist\", \"emit\": [\"G_Hist\"]},\n"
    " {\"event\": \"a:Trigger\", \"emit\": [\"H_Late\"]},\n"
    " {\"event\": \"a:Real\", \"emit\": [\"H_Late\"]},\n"
    " {\"event\": \"a:Nx\", \"emit\": [\"N_Null\", \"N_After\"]},\n"
    " {\"event\": \"a:Ny\", \"emit\": [\"N_Null\"]}\n"
    "]}\n";

static tm_ruleset *load_rules(void) {
    snprintf(dir, sizeof(dir), "/tmp/tm_mapper_test_%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/labels %s/signals", dir, dir, dir);
    if (system(cmd) != 0) exit(1);
    put("signals/t.json", SIGNALS);
    put("labels/a.json", LABELS);
    put("useragent.json", "{\"families\": [], \"default\": \"Undefined\"}\n");
    put("overrides.json", "{\"overrides\": [{\"stage\": \"drop\", \"label\": \"C_First\"}]}\n");
    return tm_test_load_rules(dir);
}

/* ------------------------------------------------------------ sessions */

typedef struct {
    const char *id;
    double t;          /* seconds after 2024-01-01T00:00:00Z */
    const char *name;  /* eventName (source a.amazonaws.com) */
    const char *region;
    const char *rp;    /* requestParameters JSON, or NULL */
} evspec;

typedef tm_test_run run;

static unsigned long rng;
static unsigned rnd(void) {
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return (unsigned)(rng >> 33);
}

/* Builds the events, shuffles them (seed 0: input order), sorts and maps. */
static run map_events(tm_ruleset *rs, const evspec *s, size_t n, unsigned long seed) {
    run r = {{0}, NULL};
    for (size_t i = 0; i < n; i++) {
        char t[32], buf[2048];
        tm_time_format(1704067200000LL + (int64_t)(s[i].t * 1000.0), t);
        snprintf(buf, sizeof(buf),
                 "{\"eventTime\":\"%s\",\"eventID\":\"%s\",\"eventSource\":\"a.amazonaws.com\",\"eventName\":\"%s\","
                 "\"awsRegion\":\"%s\",\"userAgent\":\"test\"%s%s}",
                 t, s[i].id, s[i].name, s[i].region ? s[i].region : "us-east-1", s[i].rp ? ",\"requestParameters\":" : "",
                 s[i].rp ? s[i].rp : "");
        tm_event *e = NULL;
        tm_error err;
        if (tm_event_from_text(buf, strlen(buf), &e, &err)) {
            fprintf(stderr, "bad event: %s\n%s\n", err.msg, buf);
            exit(2);
        }
        tm_eventvec_push(&r.vec, e);
    }
    if (seed) {
        rng = seed;
        for (size_t i = r.vec.n; i > 1; i--) {
            size_t j = rnd() % i;
            tm_event *x = r.vec.v[i - 1];
            r.vec.v[i - 1] = r.vec.v[j];
            r.vec.v[j] = x;
        }
    }
    tm_test_map(rs, &r);
    return r;
}



static size_t live(const run *r) {
    size_t *order = NULL, n = tm_mapping_timeline(r->m, &order);
    free(order);
    return n;
}

/* Everything a mapping says, as one string (for order independence). */
static char *digest(const run *r) {
    size_t cap = 1 << 16, len = 0;
    char *d = calloc(1, cap);
    for (size_t i = 0; i < r->m->nsignals; i++) {
        const tm_signal *s = &r->m->signals[i];
        char *data = tm_test_data_of(s);
        len += (size_t)snprintf(d + len, cap - len, "[%s anchor=%s first=%s n=%d %lld-%lld url=%s sum=%s data=%s m=%d]\n",
                                tm_test_label_of(r, s), tm_test_anchor_id(r, s), tm_test_corr_id(r, s), s->event_count,
                                (long long)s->first_ms, (long long)s->last_ms, s->r.url, s->r.summary, data,
                                s->merged_into);
        free(data);
    }
    for (size_t i = 0; i < r->m->nevents; i++)
        len += (size_t)snprintf(d + len, cap - len, "%s:%d ", r->m->events[i]->id, r->m->signal_of[i]);
    return d;
}

/* ---------------------------------------------------------------- tests */

static void test_window(tm_ruleset *rs) {
    evspec s[] = {
        {"a1", 10, "Open", NULL, "{\"name\":\"n/1\"}"},
        {"a2", 13, "Load", NULL, "{}"},          /* exactly +3: inside */
        {"b1", 100, "Open", NULL, "{\"name\":\"b\"}"},
        {"b2", 98, "Load", NULL, "{}"},          /* exactly -2: inside */
        {"c1", 200, "Open", NULL, NULL},
        {"c2", 203.001, "Load", NULL, NULL},     /* just past +3 */
        {"d1", 300, "Open", NULL, NULL},
        {"d2", 297.999, "Load", NULL, NULL},     /* just before -2 */
    };
    run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), 7);
    CHECK_INT(r.m->nsignals, 2);
    const tm_signal *a = tm_test_signal_of(&r, "a1"), *b = tm_test_signal_of(&r, "b1");
    CHECK(a != NULL && a == tm_test_signal_of(&r, "a2"));
    CHECK(b != NULL && b == tm_test_signal_of(&r, "b2"));
    CHECK(a != b);
    CHECK(tm_test_signal_of(&r, "c1") == NULL);
    CHECK(tm_test_signal_of(&r, "c2") == NULL);
    CHECK(tm_test_signal_of(&r, "d1") == NULL);
    CHECK(tm_test_signal_of(&r, "d2") == NULL);
    if (a) {
        CHECK_STR(tm_test_label_of(&r, a), "A_Page");
        CHECK_INT(a->event_count, 2);
        CHECK_INT(a->first_ms, 1704067210000LL);
        CHECK_INT(a->last_ms, 1704067213000LL);
        CHECK_STR(a->r.url, "https://us-east-1.example/a?first=n%2f1");
        CHECK_STR(a->r.summary, "Opened page with 2 events.");
        CHECK_DATA(a, "{\"ids\":[\"a1\",\"a2\"],\"region\":\"us-east-1\"}");
        CHECK_INT(a->source_label, a->label);
        CHECK_INT(a->merged_into, -1);
    }
    if (b) {
        CHECK_STR(tm_test_corr_id(&r, b), "b2"); /* the earliest event, not the anchor */
        CHECK_STR(tm_test_anchor_id(&r, b), "b1");
        CHECK_INT(b->first_ms, 1704067298000LL);
    }
    tm_test_run_free(&r);
}

static void test_gathering(tm_ruleset *rs) {
    evspec s[] = {
        /* a Load without the label (its chain does not emit) does not count */
        {"a1", 10, "Open", NULL, NULL},
        {"a2", 11, "Load", NULL, "{\"tag\":\"off\"}"},
        /* a Load already taken does not count for a later anchor */
        {"b1", 20, "Open", NULL, NULL},
        {"b2", 23, "Load", NULL, NULL},
        {"b3", 25, "Open", NULL, NULL},
        /* events of names the label does not handle are dropped, and stay unmapped */
        {"c1", 40, "Open", NULL, NULL},
        {"c2", 41, "Noise", NULL, NULL},
        {"c3", 41, "Load", NULL, NULL},
        {"c4", 42, "Stray", NULL, NULL},
        /* optional events join when inside the window */
        {"d1", 60, "Open", NULL, NULL},
        {"d2", 61, "Load", NULL, NULL},
        {"d3", 62, "Extra", NULL, NULL},
        {"d4", 63.5, "Extra", NULL, NULL},
        /* required set must be complete: optional events alone do not make it */
        {"e1", 80, "Open", NULL, NULL},
        {"e2", 81, "Extra", NULL, NULL},
    };
    run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), 3);
    CHECK(tm_test_signal_of(&r, "a1") == NULL);
    CHECK(tm_test_signal_of(&r, "a2") == NULL);
    CHECK_IDS(&r, tm_test_signal_of(&r, "b1"), "b1,b2");
    CHECK(tm_test_signal_of(&r, "b3") == NULL);
    CHECK_IDS(&r, tm_test_signal_of(&r, "c1"), "c1,c3");
    CHECK(tm_test_signal_of(&r, "c2") == NULL);
    CHECK(tm_test_signal_of(&r, "c4") == NULL);
    CHECK_INT(r.m->labels[tm_test_event(&r, "c4")].n, 0);
    if (tm_test_signal_of(&r, "c1")) CHECK_INT(tm_test_signal_of(&r, "c1")->event_count, 2);
    CHECK_IDS(&r, tm_test_signal_of(&r, "d1"), "d1,d2,d3");
    CHECK(tm_test_signal_of(&r, "d4") == NULL);
    if (tm_test_signal_of(&r, "d1")) CHECK_STR(tm_test_signal_of(&r, "d1")->r.summary, "Opened page with 3 events.");
    CHECK(tm_test_signal_of(&r, "e1") == NULL);
    CHECK(tm_test_signal_of(&r, "e2") == NULL);
    CHECK_INT(r.m->nsignals, 3);
    tm_test_run_free(&r);
}

static void test_anchor_and_correlation(tm_ruleset *rs) {
    evspec s[] = {
        /* a1's own window misses the Load; a2's window gathers a1, which becomes the anchor */
        {"a1", 10, "Open", "eu-west-1", "{\"name\":\"first\"}"},
        {"a2", 12, "Open", "us-east-1", "{\"name\":\"second\"}"},
        {"a3", 15, "Load", "us-east-1", NULL},
        /* an anchor name outside required/optional: the anchor is a later event */
        {"t1", 100, "Trigger", NULL, NULL},
        {"t2", 103, "Real", NULL, NULL},
        /* CorrelationId is the first event's id, not the anchor's */
        {"z-load", 199, "Load", NULL, NULL},
        {"a-open", 200, "Open", NULL, NULL},
        /* within one second, events sort by eventID */
        {"b-open", 300, "Open", NULL, NULL},
        {"a-load", 300, "Load", NULL, NULL},
    };
    for (unsigned long seed = 0; seed < 4; seed++) {
        run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), seed);
        const tm_signal *a = tm_test_signal_of(&r, "a3");
        CHECK_IDS(&r, a, "a1,a2,a3");
        CHECK_STR(tm_test_anchor_id(&r, a), "a1");
        CHECK_STR(tm_test_corr_id(&r, a), "a1");
        if (a) {
            CHECK_STR(a->r.url, "https://eu-west-1.example/a?first=first");
            CHECK_DATA(a, "{\"ids\":[\"a1\",\"a2\",\"a3\"],\"region\":\"eu-west-1\"}");
        }
        const tm_signal *t = tm_test_signal_of(&r, "t2");
        CHECK_IDS(&r, t, "t2");
        CHECK_STR(tm_test_anchor_id(&r, t), "t2");
        CHECK(tm_test_signal_of(&r, "t1") == NULL);
        const tm_signal *z = tm_test_signal_of(&r, "a-open");
        CHECK_IDS(&r, z, "z-load,a-open");
        CHECK_STR(tm_test_anchor_id(&r, z), "a-open");
        CHECK_STR(tm_test_corr_id(&r, z), "z-load");
        const tm_signal *b = tm_test_signal_of(&r, "b-open");
        CHECK_IDS(&r, b, "a-load,b-open");
        CHECK_STR(tm_test_anchor_id(&r, b), "b-open");
        CHECK_STR(tm_test_corr_id(&r, b), "a-load");
        CHECK_INT(r.m->nsignals, 4);
        /* the timeline lists signals in anchor order */
        size_t *order = NULL, n = tm_mapping_timeline(r.m, &order);
        CHECK_INT(n, 4);
        if (n == 4) {
            CHECK_STR(tm_test_anchor_id(&r, &r.m->signals[order[0]]), "a1");
            CHECK_STR(tm_test_anchor_id(&r, &r.m->signals[order[1]]), "t2");
            CHECK_STR(tm_test_anchor_id(&r, &r.m->signals[order[2]]), "a-open");
            CHECK_STR(tm_test_anchor_id(&r, &r.m->signals[order[3]]), "b-open");
        }
        free(order);
        tm_test_run_free(&r);
    }
}

static void test_label_search(tm_ruleset *rs) {
    evspec s[] = {
        /* C_First is satisfied and dropped: the search ends, C_Second is never tried */
        {"m1", 10, "Multi", NULL, NULL},
        /* D_Needs unsatisfied: D_Single is tried next */
        {"p1", 20, "Pick", NULL, NULL},
        /* D_Needs satisfied: it wins, D_Single is not tried */
        {"q1", 40, "Pick", NULL, NULL},
        {"q2", 41, "Partner", NULL, NULL},
    };
    run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), 5);
    CHECK(tm_test_signal_of(&r, "m1") == NULL);
    CHECK_STR(tm_test_label_of(&r, tm_test_signal_of(&r, "p1")), "D_Single");
    CHECK_IDS(&r, tm_test_signal_of(&r, "p1"), "p1");
    CHECK_STR(tm_test_label_of(&r, tm_test_signal_of(&r, "q1")), "D_Needs");
    CHECK_IDS(&r, tm_test_signal_of(&r, "q1"), "q1,q2");
    CHECK_INT(r.m->nsignals, 2);
    tm_test_run_free(&r);

    /* N_Null's required set is there but no event of it is an anchor name: no
     * signal, and the search still ends (N_After is not tried) */
    evspec t[] = {
        {"n1", 10, "Nx", NULL, NULL},
        {"n2", 11, "Ny", NULL, NULL},
        {"o1", 30, "Nx", NULL, NULL}, /* without a:Ny N_Null fails, so N_After is tried */
    };
    r = map_events(rs, t, sizeof(t) / sizeof(t[0]), 9);
    CHECK(tm_test_signal_of(&r, "n1") == NULL);
    CHECK(tm_test_signal_of(&r, "n2") == NULL);
    CHECK_STR(tm_test_label_of(&r, tm_test_signal_of(&r, "o1")), "N_After");
    CHECK_INT(r.m->nsignals, 1);
    tm_test_run_free(&r);

    /* no events, no signals */
    r = map_events(rs, t, 0, 0);
    CHECK_INT(r.m->nsignals, 0);
    CHECK_INT(live(&r), 0);
    tm_test_run_free(&r);
}

static void test_one_per_event_and_star(tm_ruleset *rs) {
    evspec s[] = {
        {"c1", 10, "Cmd", NULL, NULL},
        {"c2", 10, "Cmd", NULL, NULL},
        {"c3", 11, "Cmd", NULL, NULL},
        /* required "*": only optional names join; a:Bg3 carries the label but is not one */
        {"g1", 50, "Bg1", NULL, NULL},
        {"g3", 51, "Bg3", NULL, NULL},
        {"g2", 52, "Bg2", NULL, NULL},
    };
    run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), 11);
    const char *ids[] = {"c1", "c2", "c3"};
    for (int k = 0; k < 3; k++) {
        const tm_signal *c = tm_test_signal_of(&r, ids[k]);
        CHECK_IDS(&r, c, ids[k]);
        CHECK_STR(tm_test_label_of(&r, c), "E_Cmd");
        CHECK_STR(tm_test_anchor_id(&r, c), ids[k]);
        if (c) {
            CHECK_INT(c->event_count, 1);
            CHECK_DATA(c, "{\"name\":\"a:Cmd\"}");
            CHECK_STR(c->r.summary, "ran a:Cmd");
        }
    }
    const tm_signal *g = tm_test_signal_of(&r, "g1");
    CHECK_STR(tm_test_label_of(&r, g), "S_Bg");
    CHECK_IDS(&r, g, "g1,g2");
    CHECK(tm_test_signal_of(&r, "g3") == NULL);
    if (g) CHECK_DATA(g, "null"); /* no data member: AdditionalData null */
    CHECK_INT(r.m->nsignals, 4);
    tm_test_run_free(&r);
}

static void test_history(tm_ruleset *rs) {
    evspec s[] = {
        {"a1", 10, "Open", "eu-west-1", NULL},
        {"a2", 11, "Load", "eu-west-1", NULL},
        {"q1", 20, "Quiet", NULL, NULL},  /* no_history */
        {"g1", 25, "Bg1", NULL, NULL},    /* no_history */
        {"h1", 30, "Hist", NULL, NULL},
        {"h2", 40, "Hist", NULL, NULL},
    };
    run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), 13);
    CHECK_INT(r.m->nsignals, 5);
    CHECK_STR(tm_test_label_of(&r, tm_test_signal_of(&r, "q1")), "F_Quiet");
    const tm_signal *h1 = tm_test_signal_of(&r, "h1"), *h2 = tm_test_signal_of(&r, "h2");
    CHECK_DATA(h1, "{\"hist\":\"A_Page\",\"times\":\"2024-01-01T00:00:10Z\",\"regions\":\"eu-west-1\","
                   "\"prevIds\":[\"a1\",\"a2\"],\"histArr\":[\"A_Page\"],\"histOne\":\"A_Page\",\"histCount\":1}");
    CHECK_DATA(h2, "{\"hist\":[\"A_Page\",\"G_Hist\"],\"times\":[\"2024-01-01T00:00:10Z\",\"2024-01-01T00:00:30Z\"],"
                   "\"regions\":[\"eu-west-1\",\"us-east-1\"],\"prevIds\":null,\"histArr\":[\"A_Page\",\"G_Hist\"],"
                   "\"histOne\":\"A_Page\",\"histCount\":2}");
    if (h2) CHECK_STR(h2->r.summary, "after A_Page, G_Hist");
    tm_test_run_free(&r);
}

static void test_order_independence(tm_ruleset *rs) {
    evspec s[] = {
        {"a1", 10, "Open", "eu-west-1", "{\"name\":\"x y\"}"},
        {"a2", 12, "Open", NULL, NULL},
        {"a3", 15, "Load", NULL, NULL},
        {"a4", 15, "Extra", NULL, NULL},
        {"a5", 15, "Noise", NULL, NULL},
        {"c1", 30, "Cmd", NULL, NULL},
        {"c2", 30, "Cmd", NULL, NULL},
        {"m1", 30, "Multi", NULL, NULL},
        {"p1", 31, "Pick", NULL, NULL},
        {"p2", 31, "Partner", NULL, NULL},
        {"p3", 33, "Pick", NULL, NULL},
        {"t1", 50, "Trigger", NULL, NULL},
        {"t2", 52, "Real", NULL, NULL},
        {"t3", 52, "Real", NULL, NULL},
        {"g1", 60, "Bg2", NULL, NULL},
        {"g2", 60, "Bg3", NULL, NULL},
        {"g3", 61, "Bg1", NULL, NULL},
        {"h1", 70, "Hist", NULL, NULL},
        {"q1", 71, "Quiet", NULL, NULL},
        {"h2", 80, "Hist", NULL, NULL},
        {"x1", 80, "Stray", NULL, NULL},
        {"a1", 10, "Open", "eu-west-1", "{\"name\":\"x y\"}"}, /* a repeated record counts once */
    };
    run base = map_events(rs, s, sizeof(s) / sizeof(s[0]), 0);
    char *want = digest(&base);
    CHECK_INT(base.m->nevents, 21);
    CHECK(live(&base) >= 8);
    for (unsigned long seed = 1; seed <= 8; seed++) {
        run r = map_events(rs, s, sizeof(s) / sizeof(s[0]), seed * 7919);
        char *got = digest(&r);
        if (strcmp(got, want) != 0) fprintf(stderr, "seed %lu:\n%s\nvs\n%s\n", seed, got, want);
        CHECK_STR(got, want);
        free(got);
        tm_test_run_free(&r);
    }
    free(want);
    tm_test_run_free(&base);
}

int main(void) {
    tm_ruleset *rs = load_rules();
    test_window(rs);
    test_gathering(rs);
    test_anchor_and_correlation(rs);
    test_label_search(rs);
    test_one_per_event_and_star(rs);
    test_history(rs);
    test_order_independence(rs);
    tm_rules_unref(rs);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tm_test_done();
}

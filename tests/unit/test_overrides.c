/* test_overrides.c: the override stages over a tiny made-up ruleset:
 * rewrites (with every kind of condition, first match), drops, rewrites of
 * the previous signal, merges, gaps, event counts, anchor predicates, the
 * look-back scan and distinct counts. */
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

/* Labels whose signal is made of their own event "o:LABEL" only. */
static const char *const SIMPLE[] = {
    "P_One", "P_Two", "P_X_Refresh", "P_Set", "P_SetConsole", "P_Conn", "P_Other", "Z_Refresh",
    "R_Alias", "R_Target", "R_IfPrev", "R_Yes", "R_No", "R_Never", "R_In", "R_Pre", "R_PS", "R_Not",
    "R_All", "R_Any", "R_Empty", "R_Suf", "R_SP", "R_Ua", "R_Count", "R_ToDrop", "D_Gone", "D_Else",
    "Q_Step2", "Q_Step3", "S_Console", "S_Connect", "C_Many", NULL};

static const char *CUSTOM =
    /* a label with a var, to see that a rewrite renders under the new label */
    ",{\"label\": \"R_Target\", \"service\": \"R\", \"name\": \"target\", \"url\": \"https://t/{{n}}\",\n"
    "  \"anchor\": [\"o:R_Target\"], \"required\": [\"o:R_Target\"],\n"
    "  \"vars\": {\"n\": [{\"related\": \"*\"}, {\"count\": true}]}, \"summary\": \"target of {{n}}\"}\n"
    ",{\"label\": \"D_Else\", \"service\": \"D\", \"name\": \"else\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:D_Gone\"], \"required\": [\"o:D_Gone\"], \"summary\": \"else\"}\n"
    ",{\"label\": \"Q_List\", \"service\": \"Q\", \"name\": \"list\", \"url\": \"https://q/list\",\n"
    "  \"anchor\": [\"o:Q_List\"], \"required\": [\"o:Q_List\"], \"optional\": [\"o:Q_Extra\"],\n"
    "  \"vars\": {\"ids\": {\"steps\": [{\"related\": \"*\"}, {\"get\": \"eventID\"}], \"shape\": \"array\"}},\n"
    "  \"data\": {\"ids\": \"ids\"}, \"summary\": \"list\"}\n"
    ",{\"label\": \"Q_Step1\", \"service\": \"Q\", \"name\": \"step1\", \"url\": \"https://q/step1/{{who|url}}\",\n"
    "  \"anchor\": [\"o:Q_Step1\"], \"required\": [\"o:Q_Step1\"],\n"
    "  \"vars\": {\"who\": [{\"related\": \"*\"}, {\"get\": \"requestParameters.who\"}, {\"first\": true}],\n"
    "           \"hist\": [{\"history\": true}, {\"get\": \"label\"}],\n"
    "           \"n\": [{\"related\": \"*\"}, {\"count\": true}]},\n"
    "  \"data\": {\"who\": \"who\", \"hist\": \"hist\", \"n\": \"n\"}, \"summary\": \"step1 by {{who}}\"}\n"
    ",{\"label\": \"G_Hist\", \"service\": \"G\", \"name\": \"hist\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:G_Hist\"], \"required\": [\"o:G_Hist\"],\n"
    "  \"vars\": {\"hist\": {\"steps\": [{\"history\": true}, {\"get\": \"label\"}], \"shape\": \"array\"}},\n"
    "  \"data\": {\"hist\": \"hist\"}, \"summary\": \"hist\"}\n"
    ",{\"label\": \"M_Detail\", \"service\": \"M\", \"name\": \"detail\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:M_Detail\"], \"required\": [\"o:M_Detail\"], \"optional\": [\"o:M_DetailX\"], \"summary\": \"d\"}\n"
    ",{\"label\": \"M_Mon\", \"service\": \"M\", \"name\": \"mon\", \"url\": \"N/A\", \"window\": [5, 3],\n"
    "  \"anchor\": [\"o:M_Mon\"], \"required\": [\"o:M_Mon\"], \"optional\": [\"o:M_MonX\"], \"summary\": \"m\"}\n"
    ",{\"label\": \"M_State\", \"service\": \"M\", \"name\": \"state\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:M_State\"], \"required\": [\"o:M_State\"], \"optional\": [\"o:M_StateX\"], \"summary\": \"s\"}\n"
    ",{\"label\": \"M_Poll\", \"service\": \"M\", \"name\": \"poll\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:M_Poll\"], \"required\": [\"o:M_Poll\"], \"optional\": [\"o:M_PollX\"], \"summary\": \"p\"}\n"
    ",{\"label\": \"C_One\", \"service\": \"C\", \"name\": \"one\", \"url\": \"N/A\",\n"
    "  \"anchor\": [\"o:C_One\"], \"required\": [\"o:C_One\"], \"summary\": \"c\"}\n";

static const char *EXTRA_EVENTS =
    ",{\"event\": \"o:D_Gone\", \"emit\": [\"D_Gone\", \"D_Else\"]}\n"
    ",{\"event\": \"o:Q_List\", \"emit\": [\"Q_List\"]}\n"
    ",{\"event\": \"o:Q_Extra\", \"emit\": [\"Q_List\"]}\n"
    ",{\"event\": \"o:G_Hist\", \"emit\": [\"G_Hist\"]}\n"
    ",{\"event\": \"o:M_Detail\", \"emit\": [\"M_Detail\"]}\n"
    ",{\"event\": \"o:M_DetailX\", \"emit\": [\"M_Detail\"]}\n"
    ",{\"event\": \"o:M_Mon\", \"emit\": [\"M_Mon\"]}\n"
    ",{\"event\": \"o:M_MonX\", \"emit\": [\"M_Mon\"]}\n"
    ",{\"event\": \"o:M_State\", \"emit\": [\"M_State\"]}\n"
    ",{\"event\": \"o:M_StateX\", \"emit\": [\"M_State\"]}\n"
    ",{\"event\": \"o:M_Poll\", \"emit\": [\"M_Poll\"]}\n"
    ",{\"event\": \"o:M_PollX\", \"emit\": [\"M_Poll\"]}\n"
    ",{\"event\": \"o:C_One\", \"emit\": [\"C_One\"]}\n";

static const char *OVERRIDES =
    "{\"overrides\": [\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Alias\", \"to\": \"R_Target\"},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Target\", \"to\": \"R_Never\"},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_IfPrev\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"label\": \"P_One\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_IfPrev\", \"to\": \"R_No\"},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_IfPrev\", \"to\": \"R_Never\"},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_In\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"label_in\": [\"P_One\", \"P_Two\"]}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Pre\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"label_prefix\": \"P_\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_PS\", \"to\": \"R_Yes\",\n"
    "  \"if\": {\"sig\": -1, \"label_prefix\": \"P_\", \"label_suffix\": \"_Refresh\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Suf\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"label_suffix\": \"_Refresh\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_SP\", \"to\": \"R_Yes\",\n"
    "  \"if\": {\"label_suffix\": \"_Refresh\", \"sig\": -1, \"label_prefix\": \"P_\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Not\", \"to\": \"R_Yes\", \"if\": {\"not\": {\"sig\": -1, \"label_prefix\": \"P_\"}}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_All\", \"to\": \"R_Yes\",\n"
    "  \"if\": {\"all\": [{\"sig\": -1, \"label\": \"P_Two\"}, {\"sig\": -2, \"label\": \"P_One\"}]}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Any\", \"to\": \"R_Yes\",\n"
    "  \"if\": {\"any\": [{\"sig\": -1, \"label\": \"P_One\"}, {\"sig\": -2, \"label\": \"P_One\"}]}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Empty\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"label\": \"\"}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Ua\", \"to\": \"R_Yes\",\n"
    "  \"if\": {\"sig\": -1, \"anchor\": {\"all\": [{\"f\": \"$ua\", \"eq\": \"Fam\"}, {\"f\": \"$eventNameFull\", \"eq\": \"o:P_One\"}]}}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_Count\", \"to\": \"R_Yes\", \"if\": {\"sig\": -1, \"event_count_in\": [2, 3]}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"R_ToDrop\", \"to\": \"D_Gone\"},\n"
    " {\"stage\": \"rewrite\", \"label\": \"S_Console\", \"to\": \"S_Connect\",\n"
    "  \"if\": {\"scan_prev\": {\"max_age_s\": 300, \"always_last\": 3,\n"
    "          \"stop\": {\"all\": [{\"label_prefix\": \"P_Set\"}, {\"not\": {\"label_prefix\": \"P_SetConsole\"}}]},\n"
    "          \"match\": {\"label_prefix\": \"P_Conn\"}}}},\n"
    " {\"stage\": \"rewrite\", \"label\": \"C_One\", \"to\": \"C_Many\",\n"
    "  \"if\": {\"count\": [{\"related\": [\"o:C_One\"]}, {\"get\": \"requestParameters.ids\"}, {\"starts_with\": \"i-\"}], \"gt\": 1}},\n"
    " {\"stage\": \"drop\", \"label\": \"D_Gone\", \"if\": {\"not\": {\"sig\": -1, \"label_prefix\": \"P_\"}}},\n"
    " {\"stage\": \"rewrite_prev\", \"current_in\": [\"Q_Step2\"], \"prev_label\": \"Q_List\", \"to\": \"Q_Step1\"},\n"
    " {\"stage\": \"rewrite_prev\", \"current_in\": [\"Q_Step2\"], \"prev_label\": \"Q_List\", \"to\": \"Q_Step3\"},\n"
    " {\"stage\": \"merge\", \"from\": -2, \"into\": -1,\n"
    "  \"if\": {\"all\": [{\"sig\": -2, \"label\": \"M_Detail\"}, {\"sig\": -1, \"label\": \"M_Mon\"},\n"
    "                  {\"gap_s\": [-2, -1], \"measure\": \"anchor\", \"le\": 5}]}},\n"
    " {\"stage\": \"merge\", \"from\": -1, \"into\": -2,\n"
    "  \"if\": {\"all\": [{\"sig\": -1, \"label\": \"M_Poll\", \"event_count_in\": [1, 2],\n"
    "                   \"anchor\": {\"f\": \"requestParameters.id\", \"starts_with\": \"i-\"}},\n"
    "                  {\"sig\": -2, \"label_prefix\": \"M_State\"},\n"
    "                  {\"gap_s\": [-2, -1], \"measure\": \"last_to_first\", \"le\": 15}]}},\n"
    " {\"stage\": \"merge\", \"from\": -1, \"into\": -3,\n"
    "  \"if\": {\"all\": [{\"sig\": -1, \"label\": \"M_Poll\", \"event_count_in\": [1, 2]}, {\"sig\": -2, \"label\": \"M_Poll\"},\n"
    "                  {\"sig\": -3, \"label_prefix\": \"M_State\"},\n"
    "                  {\"gap_s\": [-3, -1], \"measure\": \"last_to_first\", \"le\": 30}]}}\n"
    "]}\n";

static tm_ruleset *load_rules(void) {
    snprintf(dir, sizeof(dir), "/tmp/tm_overrides_test_%d", (int)getpid());
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/labels %s/signals", dir, dir, dir);
    if (system(cmd) != 0) exit(1);
    static char sig[32768], lab[16384];
    strcpy(sig, "{\"signals\": [\n");
    strcpy(lab, "{\"events\": [\n");
    int first = 1;
    for (int i = 0; SIMPLE[i]; i++) {
        char one[512];
        if (strcmp(SIMPLE[i], "R_Target") && strcmp(SIMPLE[i], "D_Else")) {
            snprintf(one, sizeof(one),
                     "%s{\"label\": \"%s\", \"service\": \"T\", \"name\": \"Name of %s\", \"url\": \"https://x/%s\", "
                     "\"anchor\": [\"o:%s\"], \"required\": [\"o:%s\"], \"summary\": \"%s seen\"}\n",
                     first ? "" : ",", SIMPLE[i], SIMPLE[i], SIMPLE[i], SIMPLE[i], SIMPLE[i], SIMPLE[i]);
            strcat(sig, one);
            first = 0;
        }
        if (strcmp(SIMPLE[i], "D_Gone") && strcmp(SIMPLE[i], "D_Else")) {
            snprintf(one, sizeof(one), "%s{\"event\": \"o:%s\", \"emit\": [\"%s\"]}\n", i ? "," : "", SIMPLE[i], SIMPLE[i]);
            strcat(lab, one);
        }
    }
    strcat(sig, CUSTOM);
    strcat(sig, "]}\n");
    strcat(lab, EXTRA_EVENTS);
    strcat(lab, "]}\n");
    put("signals/t.json", sig);
    put("labels/o.json", lab);
    put("useragent.json", "{\"families\": [{\"family\": \"Fam\", \"all\": [{\"equals\": \"famous\"}]}], \"default\": \"Undefined\"}\n");
    put("overrides.json", OVERRIDES);
    return tm_test_load_rules(dir);
}

/* ------------------------------------------------------------ sessions */

typedef struct {
    const char *id;
    double t;          /* seconds after 2024-01-01T00:00:00Z */
    const char *name;  /* eventName (source o.amazonaws.com) */
    const char *rp;    /* requestParameters JSON, or NULL */
    const char *ua;    /* NULL: "test" */
} evspec;

typedef tm_test_run run;

static tm_ruleset *RS;

static run map_events(const evspec *s, size_t n) {
    run r = {{0}, NULL};
    for (size_t i = 0; i < n; i++) {
        char t[32], buf[2048];
        tm_time_format(1704067200000LL + (int64_t)(s[i].t * 1000.0), t);
        snprintf(buf, sizeof(buf),
                 "{\"eventTime\":\"%s\",\"eventID\":\"%s\",\"eventSource\":\"o.amazonaws.com\",\"eventName\":\"%s\","
                 "\"awsRegion\":\"us-east-1\",\"userAgent\":\"%s\"%s%s}",
                 t, s[i].id, s[i].name, s[i].ua ? s[i].ua : "test", s[i].rp ? ",\"requestParameters\":" : "",
                 s[i].rp ? s[i].rp : "");
        tm_event *e = NULL;
        tm_error err;
        if (tm_event_from_text(buf, strlen(buf), &e, &err)) {
            fprintf(stderr, "bad event: %s\n%s\n", err.msg, buf);
            exit(2);
        }
        tm_eventvec_push(&r.vec, e);
    }
    /* reverse the input: the engine sorts */
    for (size_t i = 0; i < r.vec.n / 2; i++) {
        tm_event *x = r.vec.v[i];
        r.vec.v[i] = r.vec.v[r.vec.n - 1 - i];
        r.vec.v[r.vec.n - 1 - i] = x;
    }
    tm_test_map(RS, &r);
    return r;
}


/* The labels of the live signals, in timeline order, comma-joined. */
static char *timeline(const run *r) {
    size_t *order = NULL, n = tm_mapping_timeline(r->m, &order);
    char *out = calloc(1, 4096);
    for (size_t i = 0; i < n; i++) {
        if (i) strcat(out, ",");
        strcat(out, tm_test_label_of(r, &r->m->signals[order[i]]));
    }
    free(order);
    return out;
}

/* Maps the events and compares the timeline's labels. */
static void expect_labels(const char *what, const evspec *s, size_t n, const char *want) {
    run r = map_events(s, n);
    char *got = timeline(&r);
    if (strcmp(got, want) != 0) fprintf(stderr, "%s:\n", what);
    CHECK_STR(got, want);
    free(got);
    tm_test_run_free(&r);
}

#define EXPECT(what, want, ...) do { \
    evspec s_[] = {__VA_ARGS__}; \
    expect_labels(what, s_, sizeof(s_) / sizeof(s_[0]), want); \
} while (0)


#define SEC(x) (1704067200000LL + (int64_t)(x) * 1000)

/* ---------------------------------------------------------------- tests */

static void test_rewrites(void) {
    /* unconditional: rendered under the new label; one first-match chain, not applied twice */
    {
        evspec s[] = {{"a", 10, "R_Alias", NULL, NULL}};
        run r = map_events(s, 1);
        const tm_signal *x = tm_test_signal_of(&r, "a");
        CHECK_STR(tm_test_label_of(&r, x), "R_Target");
        if (x) {
            CHECK_STR(x->r.url, "https://t/1");
            CHECK_STR(x->r.summary, "target of 1");
            CHECK_STR(r.m->rs->labels[x->source_label].name, "R_Alias");
        }
        tm_test_run_free(&r);
    }
    EXPECT("R_Target itself is rewritten", "R_Never", {"a", 10, "R_Target", NULL, NULL});
    /* sig label, first match among rewrites */
    EXPECT("label: match", "P_One,R_Yes", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_IfPrev", NULL, NULL});
    EXPECT("label: fallback", "P_Two,R_No", {"a", 10, "P_Two", NULL, NULL}, {"b", 20, "R_IfPrev", NULL, NULL});
    EXPECT("label: empty history", "R_No", {"b", 20, "R_IfPrev", NULL, NULL});
    EXPECT("label: only the newest counts", "P_One,P_Two,R_No",
           {"a", 10, "P_One", NULL, NULL}, {"b", 20, "P_Two", NULL, NULL}, {"c", 30, "R_IfPrev", NULL, NULL});
    /* label_in */
    EXPECT("label_in 1", "P_One,R_Yes", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_In", NULL, NULL});
    EXPECT("label_in 2", "P_Two,R_Yes", {"a", 10, "P_Two", NULL, NULL}, {"b", 20, "R_In", NULL, NULL});
    EXPECT("label_in no", "P_Other,R_In", {"a", 10, "P_Other", NULL, NULL}, {"b", 20, "R_In", NULL, NULL});
    /* label_prefix */
    EXPECT("prefix", "P_Other,R_Yes", {"a", 10, "P_Other", NULL, NULL}, {"b", 20, "R_Pre", NULL, NULL});
    EXPECT("prefix no", "R_No,R_Pre", {"a", 10, "R_IfPrev", NULL, NULL}, {"b", 20, "R_Pre", NULL, NULL});
    EXPECT("prefix, empty history", "R_Pre", {"b", 20, "R_Pre", NULL, NULL});
    /* label_prefix + label_suffix */
    EXPECT("prefix+suffix", "P_X_Refresh,R_Yes", {"a", 10, "P_X_Refresh", NULL, NULL}, {"b", 20, "R_PS", NULL, NULL});
    EXPECT("prefix+suffix: suffix fails", "P_One,R_PS", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_PS", NULL, NULL});
    /* label_suffix alone, and written before label_prefix */
    EXPECT("suffix", "P_X_Refresh,R_Yes", {"a", 10, "P_X_Refresh", NULL, NULL}, {"b", 20, "R_Suf", NULL, NULL});
    EXPECT("suffix no", "P_One,R_Suf", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_Suf", NULL, NULL});
    EXPECT("suffix+prefix", "P_X_Refresh,R_Yes", {"a", 10, "P_X_Refresh", NULL, NULL}, {"b", 20, "R_SP", NULL, NULL});
    EXPECT("suffix alone, any prefix", "Z_Refresh,R_Yes", {"a", 10, "Z_Refresh", NULL, NULL}, {"b", 20, "R_Suf", NULL, NULL});
    EXPECT("suffix+prefix: prefix fails", "Z_Refresh,R_SP", {"a", 10, "Z_Refresh", NULL, NULL}, {"b", 20, "R_SP", NULL, NULL});
    EXPECT("prefix+suffix: prefix fails", "Z_Refresh,R_PS", {"a", 10, "Z_Refresh", NULL, NULL}, {"b", 20, "R_PS", NULL, NULL});
    EXPECT("suffix+prefix: suffix fails", "P_One,R_SP", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_SP", NULL, NULL});
    /* not (an empty history is label "", which has no prefix) */
    EXPECT("not: empty history", "R_Yes", {"b", 20, "R_Not", NULL, NULL});
    EXPECT("not: other prev", "R_No,R_Yes", {"a", 10, "R_IfPrev", NULL, NULL}, {"b", 20, "R_Not", NULL, NULL});
    EXPECT("not: P_ prev", "P_One,R_Not", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_Not", NULL, NULL});
    /* all / any over -1 and -2 */
    EXPECT("all", "P_One,P_Two,R_Yes",
           {"a", 10, "P_One", NULL, NULL}, {"b", 20, "P_Two", NULL, NULL}, {"c", 30, "R_All", NULL, NULL});
    EXPECT("all: order matters", "P_Two,P_One,R_All",
           {"a", 10, "P_Two", NULL, NULL}, {"b", 20, "P_One", NULL, NULL}, {"c", 30, "R_All", NULL, NULL});
    EXPECT("all: -2 missing", "P_Two,R_All", {"b", 20, "P_Two", NULL, NULL}, {"c", 30, "R_All", NULL, NULL});
    EXPECT("any -1", "P_One,R_Yes", {"a", 10, "P_One", NULL, NULL}, {"c", 30, "R_Any", NULL, NULL});
    EXPECT("any -2", "P_One,P_Two,R_Yes",
           {"a", 10, "P_One", NULL, NULL}, {"b", 20, "P_Two", NULL, NULL}, {"c", 30, "R_Any", NULL, NULL});
    EXPECT("any: none", "P_Two,R_Any", {"b", 20, "P_Two", NULL, NULL}, {"c", 30, "R_Any", NULL, NULL});
    /* an empty history counts as label "" */
    EXPECT("label \"\": empty", "R_Yes", {"c", 30, "R_Empty", NULL, NULL});
    EXPECT("label \"\": not empty", "P_One,R_Empty", {"a", 10, "P_One", NULL, NULL}, {"c", 30, "R_Empty", NULL, NULL});
    /* anchor predicate on a history entry, with the user-agent family and the event name */
    EXPECT("anchor $ua", "P_One,R_Yes", {"a", 10, "P_One", NULL, "famous"}, {"b", 20, "R_Ua", NULL, NULL});
    EXPECT("anchor $ua no", "P_One,R_Ua", {"a", 10, "P_One", NULL, "infamous"}, {"b", 20, "R_Ua", NULL, NULL});
    EXPECT("anchor name no", "P_Two,R_Ua", {"a", 10, "P_Two", NULL, "famous"}, {"b", 20, "R_Ua", NULL, NULL});
    /* event_count_in */
    EXPECT("event_count 2", "Q_List,R_Yes",
           {"a", 10, "Q_List", NULL, NULL}, {"b", 11, "Q_Extra", NULL, NULL}, {"c", 20, "R_Count", NULL, NULL});
    EXPECT("event_count 1", "Q_List,R_Count", {"a", 10, "Q_List", NULL, NULL}, {"c", 20, "R_Count", NULL, NULL});
    EXPECT("event_count: empty history", "R_Count", {"c", 20, "R_Count", NULL, NULL});
}

static void test_drop(void) {
    /* dropped: no signal, and the next label (D_Else) is not tried */
    {
        evspec s[] = {{"a", 10, "D_Gone", NULL, NULL}};
        run r = map_events(s, 1);
        CHECK_INT(r.m->nsignals, 0);
        CHECK(tm_test_signal_of(&r, "a") == NULL);
        tm_test_run_free(&r);
    }
    EXPECT("drop: kept after P_", "P_One,D_Gone", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "D_Gone", NULL, NULL});
    EXPECT("drop: after other", "R_No", {"a", 10, "R_IfPrev", NULL, NULL}, {"b", 20, "D_Gone", NULL, NULL});
    /* the drop sees the rewritten label */
    EXPECT("drop after rewrite", "", {"a", 10, "R_ToDrop", NULL, NULL});
    EXPECT("drop after rewrite, kept", "P_One,D_Gone", {"a", 10, "P_One", NULL, NULL}, {"b", 20, "R_ToDrop", NULL, NULL});
    /* a dropped signal is not in the history */
    EXPECT("drop: no history", "R_Yes", {"a", 10, "D_Gone", NULL, NULL}, {"b", 20, "R_Empty", NULL, NULL});
}

static void test_rewrite_prev(void) {
    evspec s[] = {
        {"p", 5, "P_One", NULL, NULL},
        {"q1", 10, "Q_List", "{\"who\":\"ann/x\"}", NULL},
        {"q2", 11, "Q_Extra", "{\"who\":\"bob\"}", NULL},
        {"q3", 20, "Q_Step2", NULL, NULL},
        {"h", 30, "G_Hist", NULL, NULL},
    };
    run r = map_events(s, sizeof(s) / sizeof(s[0]));
    const tm_signal *q = tm_test_signal_of(&r, "q1");
    CHECK_STR(tm_test_label_of(&r, q), "Q_Step1"); /* the first matching rule; Q_Step3 never */
    CHECK_IDS(&r, q, "q1,q2");
    if (q) {
        CHECK_STR(r.m->rs->labels[q->source_label].name, "Q_List");
        CHECK_STR(q->r.url, "https://q/step1/ann%2fx");
        CHECK_STR(q->r.summary, "step1 by ann/x");
        /* re-rendered with the history that existed before it */
        CHECK_DATA(q, "{\"who\":\"ann/x\",\"hist\":\"P_One\",\"n\":2}");
        CHECK_INT(q->event_count, 2);
        CHECK_STR(tm_test_corr_id(&r, q), "q1");
        CHECK_INT(q->first_ms, SEC(10));
        CHECK_INT(q->last_ms, SEC(11));
    }
    CHECK_STR(tm_test_label_of(&r, tm_test_signal_of(&r, "q3")), "Q_Step2");
    /* the history now holds the new label */
    CHECK_DATA(tm_test_signal_of(&r, "h"), "{\"hist\":[\"P_One\",\"Q_Step1\",\"Q_Step2\"]}");
    tm_test_run_free(&r);
    /* only when the previous signal has prev_label */
    EXPECT("rewrite_prev: not the newest", "Q_List,P_One,Q_Step2",
           {"q1", 10, "Q_List", NULL, NULL}, {"p", 15, "P_One", NULL, NULL}, {"q3", 20, "Q_Step2", NULL, NULL});
    /* only for a current label in current_in */
    EXPECT("rewrite_prev: other current", "Q_List,Q_Step3",
           {"q1", 10, "Q_List", NULL, NULL}, {"q3", 20, "Q_Step3", NULL, NULL});
    /* without a previous signal nothing happens */
    EXPECT("rewrite_prev: empty", "Q_Step2", {"q3", 20, "Q_Step2", NULL, NULL});
}

static void test_merges(void) {
    /* from -2 into -1, anchor gap 5 <= 5 */
    {
        evspec s[] = {
            {"d1", 10, "M_Detail", NULL, NULL},
            {"d2", 11, "M_DetailX", NULL, NULL},
            {"m1", 15, "M_Mon", NULL, NULL},
            {"h", 30, "G_Hist", NULL, NULL},
        };
        run r = map_events(s, sizeof(s) / sizeof(s[0]));
        const tm_signal *m = tm_test_signal_of(&r, "m1");
        CHECK_STR(tm_test_label_of(&r, m), "M_Mon");
        CHECK_IDS(&r, m, "d1,d2,m1");               /* the merged events carry the target's correlation */
        CHECK(tm_test_signal_of(&r, "d1") == m && tm_test_signal_of(&r, "d2") == m);
        if (m) {
            CHECK_INT(m->event_count, 1);            /* reference quirk: not increased */
            CHECK_INT(m->first_ms, SEC(10));         /* widened */
            CHECK_INT(m->last_ms, SEC(15));
            CHECK_STR(tm_test_corr_id(&r, m), "m1");         /* the target keeps its correlation id */
            CHECK_INT(m->merged_into, -1);
        }
        CHECK_INT(r.m->nsignals, 3);
        CHECK_INT(r.m->signals[0].merged_into, 1);   /* the detail signal, folded into the monitor */
        char *tl = timeline(&r);
        CHECK_STR(tl, "M_Mon,G_Hist");
        free(tl);
        CHECK_DATA(tm_test_signal_of(&r, "h"), "{\"hist\":[\"M_Mon\"]}"); /* gone from the history too */
        tm_test_run_free(&r);
    }
    EXPECT("merge -2 into -1: gap 6", "M_Detail,M_Mon", {"d1", 10, "M_Detail", NULL, NULL}, {"m1", 16, "M_Mon", NULL, NULL});
    /* the anchor measure ignores the target's earlier events (first-to-last would be 3 s) */
    EXPECT("merge -2 into -1: anchor measure", "M_Detail,M_Mon",
           {"d1", 10, "M_Detail", NULL, NULL}, {"mx", 13, "M_MonX", NULL, NULL}, {"m1", 16, "M_Mon", NULL, NULL});
    EXPECT("merge -2 into -1: order", "M_Mon,M_Detail", {"m1", 10, "M_Mon", NULL, NULL}, {"d1", 14, "M_Detail", NULL, NULL});

    /* from -1 into -2: last-to-first gap 27-13 = 14 <= 15 (the anchor gap would be 17) */
    {
        evspec s[] = {
            {"s1", 10, "M_State", NULL, NULL},
            {"s2", 13, "M_StateX", NULL, NULL},
            {"p1", 27, "M_Poll", "{\"id\":\"i-1\"}", NULL},
            {"h", 40, "G_Hist", NULL, NULL},
        };
        run r = map_events(s, sizeof(s) / sizeof(s[0]));
        const tm_signal *st = tm_test_signal_of(&r, "s1");
        CHECK_STR(tm_test_label_of(&r, st), "M_State");
        CHECK_IDS(&r, st, "s1,s2,p1");
        if (st) {
            CHECK_INT(st->event_count, 2);
            CHECK_INT(st->first_ms, SEC(10));
            CHECK_INT(st->last_ms, SEC(27));
            CHECK_STR(tm_test_corr_id(&r, st), "s1");
        }
        char *tl = timeline(&r);
        CHECK_STR(tl, "M_State,G_Hist");
        free(tl);
        CHECK_DATA(tm_test_signal_of(&r, "h"), "{\"hist\":[\"M_State\"]}");
        tm_test_run_free(&r);
    }
    EXPECT("merge -1 into -2: gap 16", "M_State,M_Poll",
           {"s1", 10, "M_State", NULL, NULL}, {"s2", 13, "M_StateX", NULL, NULL}, {"p1", 29, "M_Poll", "{\"id\":\"i-1\"}", NULL});
    EXPECT("merge -1 into -2: anchor predicate", "M_State,M_Poll",
           {"s1", 10, "M_State", NULL, NULL}, {"p1", 20, "M_Poll", "{\"id\":\"x-1\"}", NULL});
    EXPECT("merge -1 into -2: anchor predicate erring", "M_State,M_Poll",
           {"s1", 10, "M_State", NULL, NULL}, {"p1", 20, "M_Poll", NULL, NULL});
    EXPECT("merge -1 into -2: event count 2", "M_State",
           {"s1", 10, "M_State", NULL, NULL}, {"p1", 20, "M_Poll", "{\"id\":\"i-1\"}", NULL}, {"p2", 21, "M_PollX", NULL, NULL});
    EXPECT("merge -1 into -2: event count 3", "M_State,M_Poll",
           {"s1", 10, "M_State", NULL, NULL}, {"p1", 20, "M_Poll", "{\"id\":\"i-1\"}", NULL},
           {"p2", 21, "M_PollX", NULL, NULL}, {"p3", 22, "M_PollX", NULL, NULL});

    /* from -1 into -3: state, a poll too late for -2, a second poll within 30 s of the state */
    {
        evspec s[] = {
            {"s1", 10, "M_State", NULL, NULL},
            {"p1", 30, "M_Poll", "{\"id\":\"i-1\"}", NULL},
            {"p2", 38, "M_Poll", "{\"id\":\"i-2\"}", NULL},
            {"h", 50, "G_Hist", NULL, NULL},
        };
        run r = map_events(s, sizeof(s) / sizeof(s[0]));
        const tm_signal *st = tm_test_signal_of(&r, "s1");
        CHECK_IDS(&r, st, "s1,p2");
        CHECK_IDS(&r, tm_test_signal_of(&r, "p1"), "p1");
        if (st) {
            CHECK_INT(st->event_count, 1);
            CHECK_INT(st->last_ms, SEC(38));
        }
        char *tl = timeline(&r);
        CHECK_STR(tl, "M_State,M_Poll,G_Hist");
        free(tl);
        CHECK_DATA(tm_test_signal_of(&r, "h"), "{\"hist\":[\"M_State\",\"M_Poll\"]}");
        tm_test_run_free(&r);
    }
    EXPECT("merge -1 into -3: gap 31", "M_State,M_Poll,M_Poll",
           {"s1", 10, "M_State", NULL, NULL}, {"p1", 30, "M_Poll", "{\"id\":\"i-1\"}", NULL},
           {"p2", 41, "M_Poll", "{\"id\":\"i-2\"}", NULL});
}

static void test_scan_prev(void) {
    EXPECT("scan: match", "P_Conn,S_Connect", {"a", 0, "P_Conn", NULL, NULL}, {"b", 10, "S_Console", NULL, NULL});
    EXPECT("scan: empty", "S_Console", {"b", 10, "S_Console", NULL, NULL});
    EXPECT("scan: stop", "P_Conn,P_Set,S_Console",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 10, "P_Set", NULL, NULL}, {"c", 20, "S_Console", NULL, NULL});
    EXPECT("scan: not a stop", "P_Conn,P_SetConsole,S_Connect",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 10, "P_SetConsole", NULL, NULL}, {"c", 20, "S_Console", NULL, NULL});
    EXPECT("scan: a match before a stop", "P_Set,P_Conn,S_Connect",
           {"a", 0, "P_Set", NULL, NULL}, {"b", 10, "P_Conn", NULL, NULL}, {"c", 20, "S_Console", NULL, NULL});
    EXPECT("scan: aged out past the last 3", "P_Conn,P_One,P_Two,P_Other,S_Console",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 400, "P_One", NULL, NULL}, {"c", 410, "P_Two", NULL, NULL},
           {"d", 420, "P_Other", NULL, NULL}, {"e", 430, "S_Console", NULL, NULL});
    EXPECT("scan: old but among the last 3", "P_Conn,P_One,P_Two,S_Connect",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 400, "P_One", NULL, NULL}, {"c", 410, "P_Two", NULL, NULL},
           {"e", 430, "S_Console", NULL, NULL});
    EXPECT("scan: past the last 3 but recent", "P_Conn,P_One,P_Two,P_Other,S_Connect",
           {"a", 200, "P_Conn", NULL, NULL}, {"b", 400, "P_One", NULL, NULL}, {"c", 410, "P_Two", NULL, NULL},
           {"d", 420, "P_Other", NULL, NULL}, {"e", 430, "S_Console", NULL, NULL});
    EXPECT("scan: exactly max_age", "P_Conn,P_One,P_Two,P_Other,S_Connect",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 290, "P_One", NULL, NULL}, {"c", 294, "P_Two", NULL, NULL},
           {"d", 297, "P_Other", NULL, NULL}, {"e", 300, "S_Console", NULL, NULL});
    EXPECT("scan: just past max_age", "P_Conn,P_One,P_Two,P_Other,S_Console",
           {"a", 0, "P_Conn", NULL, NULL}, {"b", 290, "P_One", NULL, NULL}, {"c", 294, "P_Two", NULL, NULL},
           {"d", 297, "P_Other", NULL, NULL}, {"e", 300.5, "S_Console", NULL, NULL});
}

static void test_count(void) {
    EXPECT("count: one distinct", "C_One", {"a", 10, "C_One", "{\"ids\":[\"i-1\",\"i-1\",\"x-2\"]}", NULL});
    EXPECT("count: two distinct", "C_Many", {"a", 10, "C_One", "{\"ids\":[\"i-1\",\"i-2\"]}", NULL});
    EXPECT("count: over two events", "C_Many",
           {"a", 10, "C_One", "{\"ids\":[\"i-1\"]}", NULL}, {"b", 11, "C_One", "{\"ids\":[\"i-2\"]}", NULL});
    EXPECT("count: same value twice", "C_One",
           {"a", 10, "C_One", "{\"ids\":[\"i-1\"]}", NULL}, {"b", 11, "C_One", "{\"ids\":[\"i-1\"]}", NULL});
    EXPECT("count: none", "C_One", {"a", 10, "C_One", NULL, NULL});
    /* the two events above are one signal */
    evspec s[] = {{"a", 10, "C_One", "{\"ids\":[\"i-1\"]}", NULL}, {"b", 11, "C_One", "{\"ids\":[\"i-2\"]}", NULL}};
    run r = map_events(s, 2);
    CHECK_IDS(&r, tm_test_signal_of(&r, "a"), "a,b");
    CHECK_STR(r.m->rs->labels[r.m->signals[0].source_label].name, "C_One");
    tm_test_run_free(&r);
}

int main(void) {
    RS = load_rules();
    test_rewrites();
    test_drop();
    test_rewrite_prev();
    test_merges();
    test_scan_prev();
    test_count();
    tm_rules_unref(RS);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tm_test_done();
}

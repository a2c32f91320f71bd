/* fuzz_lang.c: the three small languages of the rules: templates
 * (tmpl.h), predicates (pred.h) and pipelines (vars.h).
 *
 * Input: byte 0 picks the language (modulo 3: 0 template, 1 predicate,
 * 2 pipeline), the rest is its text: a template string, or the JSON of a
 * predicate or of a pipeline's steps.  What compiles is evaluated:
 *   template   rendered with a value for every var name of the real rules
 *              (values of every JSON type, in rotation)
 *   predicate  on a real event (tests/data, one with requestParameters),
 *              on a minimized event, and on a plain item (as pipelines use)
 *   pipeline   with that event as anchor, ten real events as the related
 *              ones, a history of two signals and the vars above
 * LLVMFuzzerInitialize loads the rules and the events once.  Seeds: the
 * templates, predicates and pipelines of rules/ (make_seeds.py).
 *
 * Checked besides the sanitizers: compile either gives a program and no
 * error or no program and an error; a render gives a string (NULL is out
 * of memory only); a run gives an array or an error message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "label.h"
#include "pred.h"
#include "rules.h"
#include "rulesInt.h"
#include "tmpl.h"
#include "vars.h"

static tm_ruleset *rules;
static tm_eventvec events;  /* the related events, time order */
static const tm_event *ev;  /* the anchor: a real event with requestParameters */
static tm_event *mini;      /* a minimized event: no userIdentity, null requestParameters */
static json_t *known;       /* name -> true, every var name */
static json_t *vars;        /* name -> a value */
static json_t *var_items;   /* name -> its items */
static json_t *history;     /* two previous signals */
static int debug;           /* TM_FUZZ_DEBUG=1: print why an input did not compile */

static void cleanup(void) {
    tm_eventvec_free(&events);
    tm_event_free(mini);
    json_decref(known);
    json_decref(vars);
    json_decref(var_items);
    json_decref(history);
    tm_rules_unref(rules);
}

/* The i-th value of the rotation: every JSON type, empty and not. */
static json_t *sample(size_t i) {
    static const char *const texts[] = {
        "\"us-east-1\"", "[\"alice\",\"bob o'hara\",\"x/y z\"]", "3", "null", "true", "\"\"", "[]",
        "{\"a\":1,\"b\":[1,2]}", "\"i-0abc & <b>%41\"", "[1,\"two\",null,{\"k\":false}]", "0", "false",
        "[\"single\"]", "-1.5e3"};
    return json_loads(texts[i % (sizeof(texts) / sizeof(texts[0]))], JSON_DECODE_ANY, NULL);
}

static void add_var(const char *name) {
    if (json_object_get(known, name)) return;
    size_t i = json_object_size(known);
    json_t *v = sample(i);
    json_t *items = json_is_array(v) ? json_deep_copy(v) : json_pack("[O]", v);
    if (!v || !items || json_object_set_new(known, name, json_true()) || json_object_set_new(vars, name, v) ||
        json_object_set_new(var_items, name, items))
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *src = getenv("TM_SOURCE_DIR");
    char path[4096];
    tm_errlist errs = {0};
    snprintf(path, sizeof(path), "%s/rules", src ? src : TM_SOURCE_DIR);
    if (tm_rules_load(path, &rules, &errs) != 0) {
        fprintf(stderr, "fuzz_lang: cannot load %s: %s\n", path, errs.n ? errs.v[0] : "?");
        exit(1);
    }
    tm_errlist_free(&errs);
    snprintf(path, sizeof(path), "%s/tests/data/three_users_1.json", src ? src : TM_SOURCE_DIR);
    tm_input_report rep = {0};
    tm_error err;
    if (tm_input_read_file(path, &events, &rep, &err) != 0 || events.n < 10) {
        fprintf(stderr, "fuzz_lang: cannot read %s\n", path);
        exit(1);
    }
    tm_input_report_free(&rep);
    while (events.n > 10) tm_event_free(events.v[--events.n]);
    tm_eventvec_sort_dedupe(&events);
    for (size_t i = 0; i < events.n && !ev; i++)
        if (events.v[i]->nkeys >= 2) ev = events.v[i];
    if (!ev) ev = events.v[events.n - 1];
    static const char mini_text[] = "{\"eventTime\":\"2023-12-04T20:27:09Z\",\"eventID\":\"m1\","
                                    "\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"ListUsers\","
                                    "\"requestParameters\":null,\"awsRegion\":\"us-east-1\"}";
    if (tm_event_from_text(mini_text, strlen(mini_text), &mini, &err) != 0) abort();

    known = json_object();
    vars = json_object();
    var_items = json_object();
    if (!known || !vars || !var_items) abort();
    add_var("awsRegion");
    add_var("eventNameFull");
    for (size_t i = 0; i < rules->nlabels; i++)
        for (size_t j = 0; j < rules->labels[i].nvars; j++) add_var(rules->labels[i].vars[j].name);
    history = json_loads("[{\"label\":\"IAM_Users\",\"data\":{\"userNameArr\":[\"alice\"]},"
                         "\"awsRegion\":\"us-east-1\",\"eventTime\":\"2023-12-04T20:27:07Z\"},"
                         "{\"label\":\"EC2_Instances_Instances\",\"data\":null,"
                         "\"awsRegion\":\"eu-west-1\",\"eventTime\":\"2023-12-04T20:27:09Z\"}]",
                         0, NULL);
    if (!history) abort();
    debug = getenv("TM_FUZZ_DEBUG") != NULL;
    atexit(cleanup);
    return 0;
}

static void show(const char *what, const tm_errlist *errs) {
    if (!debug) return;
    for (size_t i = 0; i < errs->n; i++) fprintf(stderr, "%s: %s\n", what, errs->v[i]);
}

static void run_tmpl(const char *text) {
    tm_errlist errs = {0};
    tm_tmpl *t = tm_tmpl_compile(text, known, NULL, NULL, &errs);
    if (!t != (errs.n > 0 || errs.oom)) abort();
    show("template", &errs);
    if (t) {
        char *out = tm_tmpl_render(t, vars);
        if (!out) abort();
        free(out);
        tm_tmpl_free(t);
    }
    tm_errlist_free(&errs);
}

static void run_pred(const tm_jdoc *doc) {
    tm_errlist errs = {0};
    tm_pred *p = tm_pred_compile(doc, tm_jdoc_root(doc), &errs);
    if (!p != (errs.n > 0 || errs.oom)) abort();
    show("predicate", &errs);
    if (p) {
        const char *fam = tm_label_ua_family(rules, ev->ua);
        tm_predctx on_event = {ev, ev->json, fam};
        tm_predctx on_mini = {mini, mini->json, tm_label_ua_family(rules, NULL)};
        tm_predctx on_item = {NULL, json_array_get(history, 0), NULL};
        int r[3] = {tm_pred_eval(p, &on_event), tm_pred_eval(p, &on_mini), tm_pred_eval(p, &on_item)};
        for (int i = 0; i < 3; i++)
            if (r[i] != TM_FALSE && r[i] != TM_TRUE && r[i] != TM_ERR) abort();
        tm_pred_free(p);
    }
    tm_errlist_free(&errs);
}

static void run_pipe(const tm_jdoc *doc) {
    tm_errlist errs = {0};
    tm_pipeline *p = tm_pipeline_compile(doc, tm_jdoc_root(doc), known, &errs);
    if (!p != (errs.n > 0 || errs.oom)) abort();
    show("pipeline", &errs);
    if (p) {
        tm_pipectx ctx = {ev, events.v, events.n, history, vars, var_items};
        json_t *out = NULL;
        tm_error err = {0};
        int rc = tm_pipeline_run(p, &ctx, &out, &err);
        if (rc == 0 && !json_is_array(out)) abort();
        if (rc != 0 && err.msg[0] == '\0') abort();
        if (rc == 0) {
            for (int shape = TM_SHAPE_PIPELINE; shape <= TM_SHAPE_SCALAR; shape++) {
                json_t *v = tm_shape_collapse(out, shape);
                if (!v) abort();
                json_decref(v);
            }
        }
        json_decref(out);
        tm_pipeline_free(p);
    }
    tm_errlist_free(&errs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int lang = data[0] % 3;
    /* templates are C strings: the text up to a NUL */
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if (lang == 0) {
        run_tmpl(text);
    } else {
        tm_jdoc *doc = NULL;
        tm_error err;
        if (tm_jdoc_loadb("fuzz.json", text, size - 1, &doc, &err) == 0) {
            if (lang == 1) run_pred(doc);
            else run_pipe(doc);
            tm_jdoc_free(doc);
        }
    }
    free(text);
    return 0;
}

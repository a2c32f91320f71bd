/* fuzz_event.c: one record's normalization (tm_event_from_text), its
 * session facts and session key (session.h), and its labels against the
 * real ruleset (label.h).
 *
 * The input is the JSON text of one record.  LLVMFuzzerInitialize loads
 * rules/ once, and three real records of one console session (alice's
 * ConsoleLogin, GetSigninToken and a later call, from tests/data).  Per
 * input the record is placed among those three twice, in opposite orders:
 * session.h promises that placement never depends on the order of the
 * input, so both runs must give every event the same session key.
 *
 * Checked besides the sanitizers: a refused record says why; the facts of
 * each kind carry what session.h says they carry; the event's time
 * formats into the documented 32 bytes and parses back to itself; label
 * ids are valid; the session keys do not depend on the order. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "input.h"
#include "label.h"
#include "rules.h"
#include "session.h"

#define NFIXED 3

static tm_ruleset *rules;
static char *fixed_raw[NFIXED]; /* the three real records' text */
static size_t fixed_len[NFIXED];

static void cleanup(void) {
    tm_rules_unref(rules);
    for (int i = 0; i < NFIXED; i++) free(fixed_raw[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *src = getenv("TM_SOURCE_DIR");
    char path[4096];
    tm_errlist errs = {0};
    snprintf(path, sizeof(path), "%s/rules", src ? src : TM_SOURCE_DIR);
    if (tm_rules_load(path, &rules, &errs) != 0) {
        fprintf(stderr, "fuzz_event: cannot load %s: %s\n", path, errs.n ? errs.v[0] : "?");
        exit(1);
    }
    tm_errlist_free(&errs);
    /* alice's ConsoleLogin, GetSigninToken and first console call */
    snprintf(path, sizeof(path), "%s/tests/data/three_users_1.json", src ? src : TM_SOURCE_DIR);
    tm_eventvec vec = {0};
    tm_input_report rep = {0};
    tm_error err;
    if (tm_input_read_file(path, &vec, &rep, &err) != 0 || vec.n < NFIXED) {
        fprintf(stderr, "fuzz_event: cannot read %s\n", path);
        exit(1);
    }
    for (int i = 0; i < NFIXED; i++) {
        fixed_raw[i] = malloc(vec.v[i]->raw_len + 1);
        if (!fixed_raw[i]) exit(1);
        memcpy(fixed_raw[i], vec.v[i]->raw, vec.v[i]->raw_len + 1);
        fixed_len[i] = vec.v[i]->raw_len;
    }
    tm_eventvec_free(&vec);
    tm_input_report_free(&rep);
    atexit(cleanup);
    return 0;
}

static void check_facts(const tm_event *e) {
    tm_session_facts f;
    tm_error err;
    if (tm_session_facts_of(e, &f, &err) != 0) return; /* out of memory only */
    switch (f.kind) {
    case TM_SESSION_FIXED:
        if (!f.fixed) abort();
        break;
    case TM_SESSION_LONGTERM:
        if (!f.principal || !f.fixed || !f.access_key) abort();
        break;
    case TM_SESSION_NODE:
        if (!f.principal || (!f.creation && !f.access_key)) abort();
        break;
    case TM_SESSION_LOOSE:
        if (!f.principal || f.access_key || f.creation) abort();
        break;
    default:
        abort();
    }
    tm_session_facts_clear(&f);
}

static void check_time(const tm_event *e) {
    char buf[64];
    memset(buf, 0, sizeof(buf));
    tm_time_format(e->time_ms, buf);
    if (strlen(buf) >= 32) abort();
    int64_t back;
    if (tm_time_parse(buf, &back) != 0 || back != e->time_ms) abort();
}

static void check_labels(const tm_event *e) {
    tm_labels l = {0};
    if (tm_label_event(rules, e, &l) != 0) abort(); /* only out of memory may fail */
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i] < 0 || (size_t)l.v[i] >= rules->nlabels) abort();
    if (!tm_label_ua_family(rules, e->ua)) abort();
    tm_labels_free(&l);
}

/* The fuzz event among the fixed ones, in one order or the other; the
 * session key of each event in *keys (in fixed order, the fuzz one last). */
static int place(const uint8_t *data, size_t size, int reverse, char *keys[NFIXED + 1]) {
    tm_eventvec vec = {0};
    tm_event *evs[NFIXED + 1] = {0};
    tm_error err;
    if (tm_event_from_text((const char *)data, size, &evs[NFIXED], &err) != 0) return -1;
    for (int i = 0; i < NFIXED; i++)
        if (tm_event_from_text(fixed_raw[i], fixed_len[i], &evs[i], &err) != 0) abort();
    for (int i = 0; i <= NFIXED; i++)
        if (tm_eventvec_push(&vec, evs[reverse ? NFIXED - i : i]) != 0) abort();
    if (tm_session_assign(&vec, NULL, &err) != 0) abort();
    for (int i = 0; i <= NFIXED; i++) {
        if (!evs[i]->session) abort();
        keys[i] = strdup(evs[i]->session);
        if (!keys[i]) abort();
    }
    tm_eventvec_free(&vec);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tm_event *e = NULL;
    tm_error err = {0};
    int rc = tm_event_from_text((const char *)data, size, &e, &err);
    if (rc != 0) {
        if (e || err.msg[0] == '\0') abort();
        return 0;
    }
    if (!e->raw || e->raw_len != size || memcmp(e->raw, data, size) != 0) abort(); /* evidence kept */
    check_facts(e);
    check_time(e);
    check_labels(e);
    tm_event_free(e);

    char *a[NFIXED + 1], *b[NFIXED + 1];
    if (place(data, size, 0, a) != 0) abort(); /* it parsed above */
    if (place(data, size, 1, b) != 0) abort();
    for (int i = 0; i <= NFIXED; i++) {
        if (strcmp(a[i], b[i]) != 0) {
            fprintf(stderr, "fuzz_event: event %d: session \"%s\" in one order, \"%s\" in the other\n", i, a[i],
                    b[i]);
            abort();
        }
        free(a[i]);
        free(b[i]);
    }
    return 0;
}

/* helpers.c: shared unit-test helpers (see helpers.h). */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rulesInt.h"

void tm_test_put(const char *dir, const char *rel, const char *text) {
    char path[4096];
    if (rel) snprintf(path, sizeof(path), "%s/%s", dir, rel);
    else snprintf(path, sizeof(path), "%s", dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

tm_ruleset *tm_test_load_rules(const char *dir) {
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    if (tm_rules_load(dir, &rs, &errs)) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.v[i]);
        exit(1);
    }
    tm_errlist_free(&errs);
    return rs;
}

void tm_test_map(tm_ruleset *rs, tm_test_run *r) {
    tm_eventvec_sort_dedupe(&r->vec);
    tm_error err;
    if (tm_map(rs, r->vec.v, r->vec.n, &r->m, &err)) {
        fprintf(stderr, "tm_map failed: %s\n", err.msg);
        exit(2);
    }
}

void tm_test_run_free(tm_test_run *r) {
    tm_mapping_free(r->m);
    tm_eventvec_free(&r->vec);
}

int tm_test_event(const tm_test_run *r, const char *id) {
    for (size_t i = 0; i < r->m->nevents; i++)
        if (strcmp(r->m->events[i]->id, id) == 0) return (int)i;
    fprintf(stderr, "no event %s\n", id);
    return -1;
}

const tm_signal *tm_test_signal_of(const tm_test_run *r, const char *id) {
    int i = tm_test_event(r, id);
    if (i < 0 || r->m->signal_of[i] < 0) return NULL;
    return &r->m->signals[r->m->signal_of[i]];
}

const char *tm_test_label_of(const tm_test_run *r, const tm_signal *s) {
    return s ? r->m->rs->labels[s->label].name : "(none)";
}

const char *tm_test_anchor_id(const tm_test_run *r, const tm_signal *s) {
    return s ? r->m->events[s->anchor]->id : "(none)";
}

const char *tm_test_corr_id(const tm_test_run *r, const tm_signal *s) {
    return s ? r->m->events[s->first]->id : "(none)";
}

char *tm_test_ids_of(const tm_test_run *r, const tm_signal *s) {
    if (!s) return strdup("(none)");
    int k = (int)(s - r->m->signals);
    size_t len = 1;
    for (size_t i = 0; i < r->m->nevents; i++)
        if (r->m->signal_of[i] == k) len += strlen(r->m->events[i]->id) + 1;
    char *out = calloc(1, len);
    if (!out) exit(2);
    for (size_t i = 0; i < r->m->nevents; i++)
        if (r->m->signal_of[i] == k) {
            if (*out) strcat(out, ",");
            strcat(out, r->m->events[i]->id);
        }
    return out;
}

char *tm_test_data_of(const tm_signal *s) {
    if (!s || !s->r.data) return strdup("null");
    return json_dumps(s->r.data, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

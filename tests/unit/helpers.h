/* helpers.h: what several unit tests need besides test.h's checks.
 * Linked into every unit test (tests/CMakeLists.txt). */
#ifndef TM_TEST_HELPERS_H
#define TM_TEST_HELPERS_H

#include "event.h"
#include "mapper.h"

/* Writes text to dir/rel (rel NULL: to dir itself); exits on failure. */
void tm_test_put(const char *dir, const char *rel, const char *text);

/* The ruleset of directory dir; prints its errors and exits when it has any. */
tm_ruleset *tm_test_load_rules(const char *dir);

/* A mapped set of events, for the mapper's tests. */
typedef struct tm_test_run {
    tm_eventvec vec;
    tm_mapping *m;
} tm_test_run;

/* Sorts r->vec, maps it with rs into r->m; exits on failure. */
void tm_test_map(tm_ruleset *rs, tm_test_run *r);
void tm_test_run_free(tm_test_run *r);

/* The index of the event with eventID id, or -1 (and says so). */
int tm_test_event(const tm_test_run *r, const char *id);

/* The signal event id belongs to, or NULL; and its label, anchor's and
 * first event's ids ("(none)" for NULL). */
const tm_signal *tm_test_signal_of(const tm_test_run *r, const char *id);
const char *tm_test_label_of(const tm_test_run *r, const tm_signal *s);
const char *tm_test_anchor_id(const tm_test_run *r, const tm_signal *s);
const char *tm_test_corr_id(const tm_test_run *r, const tm_signal *s);

/* The ids of the events of signal s, comma-joined in time order ("(none)"
 * for NULL), and its AdditionalData as compact JSON ("null" for none);
 * malloc'd. */
char *tm_test_ids_of(const tm_test_run *r, const tm_signal *s);
char *tm_test_data_of(const tm_signal *s);

#define CHECK_IDS(r, s, want) do { \
    char *got_ = tm_test_ids_of(r, s); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

#define CHECK_DATA(s, want) do { \
    char *got_ = tm_test_data_of(s); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

#endif

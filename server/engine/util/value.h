/* value.h: JSON values the way the reference's PowerShell saw them.
 *
 * The reference compares with PowerShell's loose rules and sorts with a
 * culture-aware, case-insensitive order.  Its outputs are scored exactly,
 * so those rules live here once, for labels, pipelines and templates. */
#ifndef TM_VALUE_H
#define TM_VALUE_H

#include <jansson.h>
#include <stddef.h>

/* A growable list of borrowed or owned json_t pointers. */
typedef struct tm_vals {
    json_t **v;
    size_t n, cap;
    int owned; /* non-zero: the list holds one reference to each item */
} tm_vals;

int tm_vals_push(tm_vals *l, json_t *v); /* takes a reference when owned */
void tm_vals_clear(tm_vals *l);

/* Appends the values at `path` (segments "a", "b[0]") below root: arrays
 * along the way are crossed (every element), and an array at the end yields
 * its elements unless raw.  Borrowed pointers. */
typedef struct tm_path {
    char **seg;   /* member names; NULL for a pure index step */
    long *idx;    /* index after the member, or -1 */
    size_t n;
} tm_path;

/* 0, TM_EPARSE on a malformed path, or TM_ENOMEM. */
int tm_path_parse(const char *s, tm_path *p);
void tm_path_free(tm_path *p);
int tm_path_get(const tm_path *p, json_t *root, int raw, tm_vals *out);

/* PowerShell -eq / -ceq: the literal is converted to the value's type. */
int tm_value_loose_eq(const json_t *value, const json_t *literal, int ignore_case);

/* Truthiness as PowerShell's: null, false, 0, "", empty array are false. */
int tm_value_truthy(const json_t *v);

/* Text of a scalar as PowerShell prints it (True/False, integers plain);
 * arrays joined by a space.  Caller frees.  NULL for null. */
char *tm_value_text(const json_t *v);

/* Culture-aware order: case folded first, punctuation < digits < letters,
 * lowercase before uppercase on a tie. */
int tm_culture_cmp(const char *a, const char *b);
int tm_value_cmp(const json_t *a, const json_t *b);

/* Sorts in that order (stable for small lists). */
void tm_vals_sort(tm_vals *l);
/* Sorts in that order and removes case-insensitive duplicates. */
void tm_vals_sort_unique(tm_vals *l);

/* Minimal URL encoding: A-Za-z0-9 and -+=,._ kept (plus `keep`), space as
 * '+', everything else %xx in lowercase hex of its UTF-8 bytes.  Caller frees. */
char *tm_url_min_encode(const char *s, const char *keep);

/* "an object", "a string", ... for messages about a value of the wrong type. */
const char *tm_value_type_phrase(const json_t *v);

#endif

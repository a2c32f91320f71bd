/* errlist.h: every error found while validating a ruleset.
 *
 * A rule author wants all mistakes at once, each as "file:line:column:
 * message", not the first one only. */
#ifndef TM_ERRLIST_H
#define TM_ERRLIST_H

#include <jansson.h>
#include <stddef.h>

#include "jsonpos.h"

typedef struct tm_errlist {
    char **v;
    size_t n, cap;
    int oom; /* set when a message could not be stored */
} tm_errlist;

/* Adds "file:line:column: message" with the position of v in doc (of its
 * key when key is non-zero).  v may be NULL (position 1:1 of the file). */
void tm_errlist_add(tm_errlist *l, const tm_jdoc *doc, const json_t *v, int key,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Adds a message as it is. */
void tm_errlist_addf(tm_errlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tm_errlist_free(tm_errlist *l);
/* Records that an allocation failed (sets oom): a compiler that cannot
 * allocate says so here, and the loader then fails with "out of memory"
 * rather than load a ruleset with a piece missing.  Returns -1. */
int tm_errlist_nomem(tm_errlist *l);

/* Adds "unknown member" (at the key) for every member of obj that is not
 * in the NULL-ended `allowed` ("note" is allowed everywhere: a comment).
 * Returns 0, or -1 when there was one. */
int tm_errlist_only_members(const tm_jdoc *doc, json_t *obj, const char *const *allowed, tm_errlist *errs);

#endif

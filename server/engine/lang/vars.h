/* vars.h: the steps that compute a signal's named values ("vars").
 *
 * A pipeline turns a list of items into a list of items: events, values
 * read from them, previous signals.  See rules/README.md "Pipelines". */
#ifndef TM_VARS_H
#define TM_VARS_H

#include <jansson.h>

#include "errlist.h"
#include "event.h"
#include "jsonpos.h"

/* How a list becomes one value, as the reference's PowerShell built it. */
enum { TM_SHAPE_PIPELINE = 0, TM_SHAPE_ARRAY = 1, TM_SHAPE_SCALAR = 2 };

typedef struct tm_pipeline tm_pipeline;

typedef struct tm_pipectx {
    const tm_event *anchor;
    tm_event *const *related; /* the signal's events, time order */
    size_t nrelated;
    json_t *history;   /* previous signals, oldest first (array of objects) */
    json_t *vars;      /* collapsed values computed so far: name -> value */
    json_t *var_items; /* the item lists of those vars: name -> array */
} tm_pipectx;

/* spec: an array of steps.  known: object whose keys are the var names an
 * earlier var defines (for "var", "else_var", "test").  NULL on error. */
tm_pipeline *tm_pipeline_compile(const tm_jdoc *doc, json_t *spec, json_t *known, tm_errlist *errs);
void tm_pipeline_free(tm_pipeline *p);

/* Runs; *out is a new array of items.  Returns 0 or a TM_E* code. */
int tm_pipeline_run(const tm_pipeline *p, const tm_pipectx *ctx, json_t **out, tm_error *err);

/* The value of a list under a shape (new reference; json null for none). */
json_t *tm_shape_collapse(json_t *items, int shape);

#endif

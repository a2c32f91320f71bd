/* builtins.h: named pipeline steps for what plain steps cannot say.
 *
 * A rule calls one with {"fn": "NAME", ...args}.  A built-in is generic
 * (date arithmetic, URL building, list algorithms): it never names a label.
 * Each takes the list of items so far (a JSON array, borrowed) and the step
 * object with its arguments, and returns a new array in *out. */
#ifndef TM_BUILTINS_H
#define TM_BUILTINS_H

#include <jansson.h>

#include "error.h"

typedef struct tm_fnctx {
    json_t *vars;     /* vars computed so far: name -> collapsed value (borrowed) */
    json_t *history;  /* previous signals, oldest first: {label,data,awsRegion,eventTime} */
    json_t *anchor;   /* the anchor record */
    json_t *related;  /* the signal's records, time order */
} tm_fnctx;

typedef int (*tm_builtin_fn)(const json_t *step, json_t *items, const tm_fnctx *ctx,
                             json_t **out, tm_error *err);

typedef struct tm_builtin {
    const char *name;
    tm_builtin_fn fn;
    const char *const *args; /* argument names the step may carry besides "fn" (NULL-terminated) */
} tm_builtin;

/* NULL when no built-in has that name. */
const tm_builtin *tm_builtin_find(const char *name);

/* Registry, for listing. */
extern const tm_builtin tm_builtins[];

#endif

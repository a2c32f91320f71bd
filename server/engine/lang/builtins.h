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

/* The built-ins, one tm_builtin_fn each (builtin_*.c define them), declared
 * here so the compiler checks every definition against its type. */
#define TM_BUILTIN_DECL(f) int f(const json_t *, json_t *, const tm_fnctx *, json_t **, tm_error *)
TM_BUILTIN_DECL(tm_fn_parse_time); /* builtin_time.c */
TM_BUILTIN_DECL(tm_fn_timespan);
TM_BUILTIN_DECL(tm_fn_span_ms);
TM_BUILTIN_DECL(tm_fn_format_time);
TM_BUILTIN_DECL(tm_fn_exclude_seen_in_previous); /* builtin_lists.c */
TM_BUILTIN_DECL(tm_fn_secrets_search_url);
TM_BUILTIN_DECL(tm_fn_as_array);
TM_BUILTIN_DECL(tm_fn_map_member);
TM_BUILTIN_DECL(tm_fn_pairs); /* builtin_ec2.c */
TM_BUILTIN_DECL(tm_fn_ec2_filter_url);
TM_BUILTIN_DECL(tm_fn_kv_text);
TM_BUILTIN_DECL(tm_fn_append_vars);
TM_BUILTIN_DECL(tm_fn_json_text);

#endif

/* builtins.c: the registry of built-in pipeline steps.  The functions live
 * in builtin_*.c, one file per concern; add a line here for each. */
#include "builtins.h"

#include <string.h>

const tm_builtin tm_builtins[] = {
    /* {"name", function, (const char *const[]){"arg", NULL}}, */
    {"pairs", tm_fn_pairs, (const char *const[]){"key", "values", "camel_keys", "names", NULL}},
    {"ec2_filter_url", tm_fn_ec2_filter_url, (const char *const[]){"visibility", "version", "camel_keys", NULL}},
    {"kv_text", tm_fn_kv_text, (const char *const[]){"key", "value", "sep", NULL}},
    {"append_vars", tm_fn_append_vars, (const char *const[]){"vars", NULL}},
    {"json_text", tm_fn_json_text, (const char *const[]){"path", NULL}},
    {"parse_time", tm_fn_parse_time, (const char *const[]){"zone", "ms", NULL}},
    {"timespan", tm_fn_timespan, (const char *const[]){"exclude", "start", "end", NULL}},
    {"span_ms", tm_fn_span_ms, (const char *const[]){"start", "end", NULL}},
    {"format_time", tm_fn_format_time, (const char *const[]){"format", NULL}},
    {"exclude_seen_in_previous", tm_fn_exclude_seen_in_previous, (const char *const[]){"label", "fields", NULL}},
    {"secrets_search_url", tm_fn_secrets_search_url, (const char *const[]){"keys", NULL}},
    {"as_array", tm_fn_as_array, (const char *const[]){NULL}},
    {"map_member", tm_fn_map_member, (const char *const[]){"member", "table", "ignore_case", NULL}},
    {NULL, NULL, NULL},
};

const tm_builtin *tm_builtin_find(const char *name) {
    for (const tm_builtin *b = tm_builtins; b->name; b++)
        if (strcmp(b->name, name) == 0) return b;
    return NULL;
}

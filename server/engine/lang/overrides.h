/* overrides.h: conditions of the override rules (rules/overrides.json),
 * evaluated by the mapper against the history of signals made so far. */
#ifndef TM_OVERRIDES_H
#define TM_OVERRIDES_H

#include <stdint.h>

#include "rules.h"
#include "rulesInt.h"

/* One signal of the history, as an override condition sees it. */
typedef struct tm_histent {
    int label;
    const tm_event *anchor;
    int64_t first_ms, last_ms;
    int event_count;
} tm_histent;

struct tm_ctxenv {
    const tm_ruleset *rs;
    const tm_histent *hist; /* oldest first */
    size_t nhist;
    const tm_pipectx *signal; /* the new signal's events, for "count" */
};

tm_ctx *tm_ctx_compile(const tm_jdoc *doc, json_t *spec, const tm_ruleset *rs, tm_errlist *errs);
void tm_ctx_free(tm_ctx *c);

#endif

/* render.h: Name, Summary, Url and AdditionalData of a signal.
 *
 * Runs the label's var pipelines over the signal's events (and the signals
 * made before it), then fills the templates and the data object. */
#ifndef TM_RENDER_H
#define TM_RENDER_H

#include <jansson.h>

#include "event.h"
#include "rules.h"

typedef struct tm_rendered {
    char *name, *service; /* trailmap's own kinds only (additions.h); else NULL: the label's */
    char *url;
    char *summary;
    json_t *data; /* AdditionalData; NULL when the label defines none */
} tm_rendered;

/* history: previous signals, oldest first ({label, data, awsRegion, eventTime}). */
int tm_render_signal(const tm_label *l, const tm_event *anchor, tm_event *const *related, size_t nrelated,
                     json_t *history, tm_rendered *out, tm_error *err);
void tm_rendered_clear(tm_rendered *r);

#endif

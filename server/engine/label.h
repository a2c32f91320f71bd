/* label.h: the labels of one event.
 *
 * Stateless: an event's labels depend on the event and the ruleset only.
 * The user-agent family comes first (it may prepend labels), then the
 * event's rule: its unconditional labels and its chains. */
#ifndef TM_LABEL_H
#define TM_LABEL_H

#include "event.h"
#include "rules.h"

typedef struct tm_labels {
    int *v; /* label ids, in priority order (duplicates kept) */
    size_t n, cap;
} tm_labels;

/* The family name of a user agent (never NULL). */
const char *tm_label_ua_family(const tm_ruleset *rs, const char *ua);

/* Appends the labels of e to out.  Returns 0 or TM_ENOMEM. */
int tm_label_event(const tm_ruleset *rs, const tm_event *e, tm_labels *out);

void tm_labels_free(tm_labels *l);

#endif

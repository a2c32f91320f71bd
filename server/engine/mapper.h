/* mapper.h: signals over the time-sorted events of one session.
 *
 * One deterministic pass in time order, as the reference's Add-Signal:
 * each anchor event tries its labels in order; the first whose required
 * events are all in its window becomes a signal (after the override
 * rules), and its events are taken.  Events no signal takes stay unmapped:
 * they are evidence too. */
#ifndef TM_MAPPER_H
#define TM_MAPPER_H

#include <jansson.h>
#include <stdint.h>

#include "event.h"
#include "label.h"
#include "render.h"
#include "rules.h"

typedef struct tm_signal {
    int label;            /* final label id */
    size_t anchor;        /* index of the anchor event */
    size_t first;         /* index of the first event (its eventID is the CorrelationId) */
    int event_count;      /* as the reference counts it (a merge does not add) */
    int64_t first_ms, last_ms;
    tm_rendered r;
    int merged_into;      /* -1, or the signal this one was folded into */
    int source_label;     /* the label before overrides renamed it */
} tm_signal;

typedef struct tm_mapping {
    tm_ruleset *rs;       /* one reference held */
    tm_event **events;    /* borrowed, sorted by (time, eventID) */
    size_t nevents;
    unsigned char *origin; /* per event: TM_ORIGIN_* (origin.h) */
    tm_labels *labels;    /* per event; none for API calls */
    int *signal_of;       /* per event: the signal it belongs to, or -1 */
    tm_signal *signals;   /* creation order; merged-away ones have merged_into >= 0 */
    size_t nsignals, cap;
} tm_mapping;

/* Maps events (sorted and deduplicated by tm_eventvec_sort_dedupe). */
int tm_map(tm_ruleset *rs, tm_event **events, size_t n, tm_mapping **out, tm_error *err);
void tm_mapping_free(tm_mapping *m);

/* A new zeroed signal at the end of m->signals (for additions.c); NULL
 * when out of memory. */
tm_signal *tm_mapping_new_signal(tm_mapping *m);

/* The live signals (not merged away) in the order of their anchors, as
 * a timeline shows them.  Caller frees the array. */
size_t tm_mapping_timeline(const tm_mapping *m, size_t **order);

#endif

/* event.h: the normalized CloudTrail event.
 *
 * An event is normalized once, on input: its time parsed, its name built,
 * the derived strings the label rules test computed.  The raw JSON text of
 * the record is kept byte for byte, because it is evidence and every output
 * and the store give it back unchanged. */
#ifndef TM_EVENT_H
#define TM_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct tm_event {
    char *raw;            /* the record's JSON text, exactly as received */
    size_t raw_len;
    json_t *json;         /* the parsed record (one reference owned) */

    int64_t time_ms;      /* eventTime, milliseconds since the epoch, UTC */
    const char *id;       /* eventID; "" when absent (points into json) */
    const char *source;   /* eventSource (points into json) */
    const char *name;     /* eventName (points into json) */
    const char *region;   /* awsRegion, or "" */
    const char *ua;       /* userAgent, or NULL */
    char *name_full;      /* "svc:Name": eventSource up to its first '.', ':', eventName */

    /* Derived for the label rules when the event is built. */
    json_t *rp;           /* requestParameters when an object (even {}), else NULL (borrowed) */
    char *rp_json;        /* tm_json_compact(requestParameters); NULL when null/absent/"" */
    const char **keys;    /* top-level keys of requestParameters (borrowed from json) */
    size_t nkeys;
    const char **empty_keys; /* keys whose value is {} or "" */
    size_t nempty_keys;
    int ua_family;        /* index into the ruleset's families; set by the labeller */

    char *session;        /* session key (see session.h); NULL until assigned */
    size_t input_index;   /* position in the input, for messages */
} tm_event;

typedef struct tm_eventvec {
    tm_event **v;
    size_t n, cap;
} tm_eventvec;

/* Builds an event from one record's JSON text.  Takes a copy of the text.
 * On a bad record returns TM_EPARSE with the reason in err (no eventTime,
 * eventTime not a time, no eventSource/eventName, not an object). */
int tm_event_from_text(const char *text, size_t len, tm_event **out, tm_error *err);

/* Same, from an already-parsed record and its text (steals one reference to rec). */
int tm_event_from_json(json_t *rec, const char *text, size_t len, tm_event **out, tm_error *err);

void tm_event_free(tm_event *e);

int tm_eventvec_push(tm_eventvec *vec, tm_event *e);
void tm_eventvec_free(tm_eventvec *vec); /* frees the events too */

/* Sorts by (time, eventID) as the reference does, and removes the copies
 * of an event (an event counts once).  Two records are one event when they
 * agree on eventID, time, eventSource, eventName and principal
 * (tm_event_principal): sanitized exports write one placeholder id for
 * many events ("redacted"), and those are all kept.  Records without an
 * eventID are all kept.  Returns the number of copies removed (freed). */
size_t tm_eventvec_sort_dedupe(tm_eventvec *vec);

/* The same, and counts in rep the kept events that share an eventID with
 * an earlier, different one, naming the first TM_DEDUPE_IDS of them (the
 * ids are borrowed from the kept events). */
#define TM_DEDUPE_IDS 5
typedef struct tm_dedupe_report {
    size_t clashes;
    const char *ids[TM_DEDUPE_IDS];
    size_t nids;
} tm_dedupe_report;
size_t tm_eventvec_sort_dedupe_report(tm_eventvec *vec, tm_dedupe_report *rep);

/* Whether a and b are copies of one event (see above). */
int tm_event_same(const tm_event *a, const tm_event *b);

/* userIdentity.arn, else principalId, else accessKeyId, else "" (borrowed). */
const char *tm_event_principal(const tm_event *e);

/* Parses an ISO-8601 time: YYYY-MM-DDTHH:MM:SS[.fff...][Z|+hh:mm|+hhmm],
 * the T possibly a space, no zone meaning UTC, or the basic form
 * YYYYMMDDTHHMMSS[Z] ("2025-01-21 17:49:47.000000000" and
 * "20230710T122745Z" are written so by real exporters).  Fractions past
 * milliseconds are dropped.  Returns 0 and sets *ms, or -1. */
int tm_time_parse(const char *s, int64_t *ms);

/* Formats ms as "YYYY-MM-DDTHH:MM:SSZ" (a fraction only when non-zero).
 * buf must hold 32 bytes. */
void tm_time_format(int64_t ms, char *buf);

/* The value at a dotted path of the record, or NULL (borrowed).  A path
 * segment of digits indexes an array ("items.0.name"). */
json_t *tm_event_get(const tm_event *e, const char *path);

/* The compact JSON of v as PowerShell's ConvertTo-Json -Compress writes it
 * after ConvertFrom-Json read it (the form rp_json has; see event.c).
 * malloc'd; NULL when out of memory. */
char *tm_json_compact(const json_t *v);

#endif

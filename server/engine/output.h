/* output.h: the formats a mapped session is written in.
 *
 *   cartographer  the reference's unit-test format, keyed by CorrelationId
 *                 (plus Summary), for users of the reference and for tests
 *   json          trailmap's own document: sessions, signals with every
 *                 field, the labels tried, the rules version, unmapped events
 *   jsonl         every input event's raw JSON, with a "trailmap" member
 *   table         the timeline an investigator reads
 *
 * The writers read a *view* of a session, not the mapper's state, so the
 * client renders a server's answer with exactly the code `trailmap map` uses. */
#ifndef TM_OUTPUT_H
#define TM_OUTPUT_H

#include <stdio.h>

#include "mapper.h"

typedef struct tm_sigview {
    char *correlation_id, *label, *service, *name, *summary, *url;
    json_t *data;               /* AdditionalData (owned); NULL means null */
    int64_t event_time_ms;      /* the anchor's time */
    int64_t first_ms, last_ms;
    int event_count;            /* events in the signal */
    int reference_event_count;  /* the reference's EventCount (merges do not add) */
    char **event_ids;           /* time order */
    size_t nevent_ids;
    char **event_names;         /* distinct svc:Name, first appearance */
    size_t nevent_names;
    int suppressed;
    char *anchor_event_id;
    char *source_label;         /* the label before overrides, when different; else NULL */
    char *kind;                 /* trailmap's own kinds: "signin", "api", "action"; NULL: a rule's */
    char **labels_tried;        /* the anchor's labels, in order */
    size_t nlabels_tried;
} tm_sigview;

typedef struct tm_evview {
    char *id, *name;
    int64_t time_ms;
    int write;                  /* the record says readOnly: false */
    char **labels;
    size_t nlabels;
} tm_evview;

typedef struct tm_sessview {
    char *key;
    char *rules_version;
    size_t nevents, nmapped;
    int64_t first_ms, last_ms;  /* 0 when there are no events */
    tm_sigview *sigs;           /* timeline order */
    size_t nsigs;
    tm_evview *unmapped;
    size_t nunmapped;
} tm_sessview;

/* Fills a view from a mapping. Returns 0 or TM_ENOMEM. */
int tm_view_from_mapping(const tm_mapping *m, const char *key, tm_sessview *v);
void tm_view_clear(tm_sessview *v);

/* One signal in the reference's key set (plus Summary); new reference. */
json_t *tm_output_signal_cartographer(const tm_sigview *s);

/* The reference's signals only: trailmap's own kinds (additions.h) are
 * left out, as the reference never made them; _all keeps them. */
/* A signal as the json format writes it; with_ms adds eventTimeMs,
 * firstEventMs and lastEventMs (the web page's chart).  The one builder of
 * this document: `map`, the client and the HTTP API all call it.  A new
 * reference, or NULL when out of memory. */
json_t *tm_output_signal_json(const tm_sigview *s, int with_ms);

int tm_output_cartographer(FILE *f, const tm_sessview *s, size_t n);
int tm_output_cartographer_all(FILE *f, const tm_sessview *s, size_t n);
int tm_output_json(FILE *f, const tm_sessview *s, size_t n);

typedef struct tm_table_opts {
    int color;
    int show_suppressed;
} tm_table_opts;
int tm_output_table(FILE *f, const tm_sessview *s, size_t n, const tm_table_opts *o);

/* Every event of the mapping: its raw JSON with a "trailmap" member. */
int tm_output_jsonl(FILE *f, const tm_mapping *const *m, char *const *keys, size_t n);

/* One raw record with the "trailmap" member `add` (compact JSON) added
 * before its closing brace, on one line. */
int tm_output_jsonl_line(FILE *f, const char *raw, size_t raw_len, const char *add);

#endif

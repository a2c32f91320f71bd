/* output.h: the formats a mapped session is written in.
 *
 *   cartographer  the reference's unit-test format, keyed by CorrelationId
 *                 (plus Summary), for users of the reference and for tests
 *   json          trailmap's own document: sessions, signals with every
 *                 field, the labels tried, the rules version, unmapped events
 *   jsonl         every input event's raw JSON, with a "trailmap" member
 *   table         the timeline an investigator reads */
#ifndef TM_OUTPUT_H
#define TM_OUTPUT_H

#include <stdio.h>

#include "mapper.h"

typedef struct tm_session_out {
    const char *key;        /* session key */
    const tm_mapping *m;
} tm_session_out;

/* Signal fields as JSON, in the reference's key set (plus Summary). */
json_t *tm_output_signal_cartographer(const tm_mapping *m, size_t sig);

int tm_output_cartographer(FILE *f, const tm_session_out *s, size_t n);
int tm_output_json(FILE *f, const tm_session_out *s, size_t n);
int tm_output_jsonl(FILE *f, const tm_session_out *s, size_t n);

typedef struct tm_table_opts {
    int color;
    int show_suppressed;
} tm_table_opts;
int tm_output_table(FILE *f, const tm_session_out *s, size_t n, const tm_table_opts *o);

#endif

/* input.h: decode documents into events.
 *
 * Accepted, detected from the content (gzip detected by its magic bytes):
 *   {"Records":[...]}                       a CloudTrail log file
 *   {"Events":[{"CloudTrailEvent":"..."}]}  aws cloudtrail lookup-events output
 *   [ {...}, ... ]                          a JSON array of records
 *   {...}                                   a single record
 *   one record per line                     JSON lines
 * A document that is not JSON is an error naming the file, line and column.
 * One bad record in a good document is reported with its index and reason,
 * and skipped; the rest is kept. */
#ifndef TM_INPUT_H
#define TM_INPUT_H

#include <stddef.h>

#include "error.h"
#include "event.h"

typedef struct tm_input_problem {
    char *file;
    size_t index;     /* record index in the document (0-based), or line for JSON lines */
    char *reason;
} tm_input_problem;

typedef struct tm_input_report {
    tm_input_problem *v;   /* bad records, skipped */
    size_t n, cap;
    size_t accepted;       /* records turned into events */
} tm_input_report;

/* Decodes buf (which may be gzip) and appends its events to out.
 * `name` is used in messages ("-" for standard input).
 * Returns 0, or TM_EPARSE when the document itself is unreadable (err says
 * "name:line:column: reason"); bad records go to report and do not fail. */
int tm_input_decode(const char *name, const unsigned char *buf, size_t len,
                    tm_eventvec *out, tm_input_report *report, tm_error *err);

/* Reads a whole file ("-" = stdin) and decodes it as above. */
int tm_input_read_file(const char *path, tm_eventvec *out,
                       tm_input_report *report, tm_error *err);

void tm_input_report_free(tm_input_report *r);

#endif

/* input.h: decode documents into events.
 *
 * Accepted, detected from the content (gzip detected by its magic bytes):
 *   {"Records":[...]}                       a CloudTrail log file
 *   {"Events":[{"CloudTrailEvent":"..."}]}  aws cloudtrail lookup-events output
 *   [ {...}, ... ]                          a JSON array of records
 *   {...}                                   a single record
 *   one record per line                     JSON lines
 * and mixed: a lookup-events element stands for its record anywhere
 * (jq '.Events', jq -c '.Events[]'), an array may hold whole documents
 * (jq -s), a record may carry @timestamp instead of eventTime (Logstash).
 * A document that is not JSON is an error naming the file, line and column.
 * One bad record in a good document is reported with its index and reason,
 * and skipped; the rest is kept, also when the record is one jansson cannot
 * read at all (a byte that is not UTF-8, a lone surrogate, too deep). */
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
    size_t max_problems;   /* set by the caller: keep at most this many in v (0: all) */
    size_t omitted;        /* bad records past max_problems: counted, not kept */
} tm_input_report;

/* The default bound of tm_input_decode and tm_input_read_file on the
 * decompressed size of one document (1 GiB): a gzip bomb ends in an error
 * instead of eating the machine's memory. */
#define TM_INPUT_MAX_DECODED ((size_t)1 << 30)

/* Decodes buf (which may be gzip) and appends its events to out.
 * `name` is used in messages ("-" for standard input).
 * Returns 0, or TM_EPARSE when the document itself is unreadable (err says
 * "name:line:column: reason"); bad records go to report and do not fail. */
int tm_input_decode(const char *name, const unsigned char *buf, size_t len,
                    tm_eventvec *out, tm_input_report *report, tm_error *err);

/* Reads a whole file ("-" = stdin) and decodes it as above. */
int tm_input_read_file(const char *path, tm_eventvec *out,
                       tm_input_report *report, tm_error *err);

/* The same, with a bound on the decoded text of the document: gzip data
 * that inflates to more than max_decoded bytes stops there with TM_ENOMEM
 * and "NAME inflates to more than N bytes" (text that is not gzip'd is its
 * own decoded size and is not checked).  When `decoded` is not NULL it gets
 * the size the gzip data inflated to, 0 when the document is not gzip'd. */
int tm_input_decode_max(const char *name, const unsigned char *buf, size_t len, size_t max_decoded,
                        size_t *decoded, tm_eventvec *out, tm_input_report *report, tm_error *err);
int tm_input_read_file_max(const char *path, size_t max_decoded, tm_eventvec *out,
                           tm_input_report *report, tm_error *err);

void tm_input_report_free(tm_input_report *r);

#endif

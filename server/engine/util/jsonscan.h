/* jsonscan.h: byte spans of JSON values inside a text.
 *
 * jansson parses values but forgets where they were written.  The input
 * module must give every record back byte for byte, so it needs the span
 * of each element of an array (or of each value of a JSON lines text).
 * This scanner only follows the structure (strings, brackets, scalars);
 * it does not validate: the spans it finds are then parsed by jansson.
 * It is iterative (no recursion), so deep nesting cannot exhaust the stack. */
#ifndef TM_JSONSCAN_H
#define TM_JSONSCAN_H

#include <stddef.h>

#include "error.h"

typedef struct tm_jspan {
    size_t start, end; /* [start, end) in the text */
} tm_jspan;

/* Index of the first byte at or after pos that is not JSON whitespace
 * (space, tab, CR, LF), or len. */
size_t tm_jscan_ws(const char *buf, size_t len, size_t pos);

/* Finds the end of the value that starts at buf[pos] (pos must point at its
 * first byte).  Returns 0 and sets *end to the index just after it, or -1
 * when the text ends first, a string holds a raw line break, or a closing
 * bracket comes with nothing open. */
int tm_jscan_value(const char *buf, size_t len, size_t pos, size_t *end);

/* Spans of the elements of the array that starts at buf[pos] ('[').
 * *spans is malloc'd (NULL when the array is empty).  Returns 0, -1 when
 * the text is not an array of values, or TM_ENOMEM. */
int tm_jscan_array(const char *buf, size_t len, size_t pos, tm_jspan **spans, size_t *n);

/* Span of the value of the member `key` of the object at buf[pos] ('{').
 * The key is compared as written between its quotes (no unescaping); when
 * it occurs several times the last one wins, as in jansson.  Returns 0,
 * or -1 when the member is absent or the text is not an object. */
int tm_jscan_member(const char *buf, size_t len, size_t pos, const char *key, tm_jspan *out);

#endif

/* printable.h: text from events made safe for a terminal.
 *
 * Bucket names, search strings and user agents are chosen by whoever made
 * the call, and CloudTrail logs them as given.  Written raw to a terminal,
 * an escape sequence can rewrite the screen, a carriage return can hide
 * what precedes it and a bidi override can reverse what follows.  Every
 * table view passes such text through tm_printable first. */
#ifndef TM_PRINTABLE_H
#define TM_PRINTABLE_H

#include <jansson.h>

/* A copy of s in which C0 and C1 control characters (tab included), DEL,
 * bytes that are not UTF-8, the Unicode bidi controls (U+061C, U+200E-F,
 * U+202A-E, U+2066-9), zero-width and separator characters (U+200B-D,
 * U+2028-9, U+FEFF) and the backslash are written as escapes: \x1b,
 * \u202e, \\.  malloc'd; NULL when out of memory. */
char *tm_printable(const char *s);

/* Whether s needs no escaping (then it may be written as it is). */
int tm_is_printable(const char *s);

/* A JSON string of text nobody checked (a session key, a principal a
 * client sent): bytes that are not UTF-8 become U+FFFD, so one odd value
 * cannot fail a whole document.  NULL reads as "".  A new reference, or
 * NULL when out of memory. */
json_t *tm_json_text(const char *s);

#endif

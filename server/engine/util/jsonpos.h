/* jsonpos.h: JSON documents whose values remember where they were written.
 *
 * jansson reports positions only for syntax errors; a rule loader must also
 * say where a *semantically* wrong value stands.  tm_jdoc parses with
 * jansson and then walks the text beside the tree, recording the line and
 * column of every value and of every object member's key. */
#ifndef TM_JSONPOS_H
#define TM_JSONPOS_H

#include <jansson.h>

#include "error.h"

typedef struct tm_jdoc tm_jdoc;

/* Parses buf, the text of the file `name`.  Duplicate keys are rejected
 * (they would hide a rule).  On failure err says "name:line:column:
 * reason", or TM_ENOMEM "name: out of memory". */
int tm_jdoc_loadb(const char *name, const char *buf, size_t len, tm_jdoc **out, tm_error *err);
void tm_jdoc_free(tm_jdoc *d);

json_t *tm_jdoc_root(const tm_jdoc *d);
const char *tm_jdoc_name(const tm_jdoc *d);

/* Position of a value (1-based line and column), or of the key naming it
 * when it is an object member and key is non-zero.  0/0 when unknown
 * (true/false/null are shared singletons in jansson: their parent is a
 * better place to point at). */
void tm_jdoc_pos(const tm_jdoc *d, const json_t *v, int key, int *line, int *col);

#endif

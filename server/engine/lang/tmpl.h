/* tmpl.h: the templates of signal urls and summaries.
 *
 *   {{name}}  {{name|filter|filter:arg}}  {{#name}}...{{/name}}  {{^name}}...{{/name}}
 *
 * Values come from a JSON object of vars (name -> collapsed value). */
#ifndef TM_TMPL_H
#define TM_TMPL_H

#include <jansson.h>

#include "errlist.h"
#include "jsonpos.h"

typedef struct tm_tmpl tm_tmpl;

/* Compiles text.  Every name must be in `known` (an object whose keys are
 * the names allowed); unknown names, bad filters and unbalanced sections go
 * to errs with the position of `where` in doc.  NULL on error. */
tm_tmpl *tm_tmpl_compile(const char *text, json_t *known, const tm_jdoc *doc, const json_t *where,
                         tm_errlist *errs);
/* Renders with vars; returns a new string or NULL when out of memory. */
char *tm_tmpl_render(const tm_tmpl *t, json_t *vars);
void tm_tmpl_free(tm_tmpl *t);

/* Names the template uses (for "is this var used" checks); borrowed. */
int tm_tmpl_uses(const tm_tmpl *t, const char *name);

#endif

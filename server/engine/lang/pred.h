/* pred.h: predicates of the rule language (labels' "when", pipeline
 * "filter" and "test", overrides' anchor tests).
 *
 * Evaluation is three-valued: a string test on a missing value is an
 * error, which makes the whole chain it belongs to emit nothing (the
 * reference called a method on null there and PowerShell abandoned the
 * statement). */
#ifndef TM_PRED_H
#define TM_PRED_H

#include <jansson.h>

#include "errlist.h"
#include "event.h"
#include "jsonpos.h"

enum { TM_FALSE = 0, TM_TRUE = 1, TM_ERR = 2 };

typedef struct tm_pred tm_pred;

/* What a predicate looks at.  For events, `ev` gives the special fields
 * ($keys, $json, $ua...); for plain items ev is NULL and paths start at root. */
typedef struct tm_predctx {
    const tm_event *ev;
    json_t *root;
    const char *ua_family;
} tm_predctx;

/* Compiles spec; on errors adds them to errs and returns NULL. */
tm_pred *tm_pred_compile(const tm_jdoc *doc, json_t *spec, tm_errlist *errs);
int tm_pred_eval(const tm_pred *p, const tm_predctx *ctx);
void tm_pred_free(tm_pred *p);

#endif

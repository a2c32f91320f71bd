/* rules.h: load, validate and compile rules/ into an immutable ruleset.
 *
 * A ruleset is validated completely before anyone uses it: every error of
 * every file is collected as "file:line:column: message".  Once built it is
 * never changed; holders share it by reference count, so a server can swap
 * in a new one while work in flight finishes with the old. */
#ifndef TM_RULES_H
#define TM_RULES_H

#include <jansson.h>
#include <stddef.h>

#include "errlist.h"
#include "pipeline.h"
#include "pred.h"
#include "tmpl.h"

/* ---- user-agent families ---- */
typedef struct tm_ua_test {
    int op; /* 0 equals, 1 starts_with, 2 ends_with, 3 contains */
    char *s;
} tm_ua_test;

typedef struct tm_ua_family {
    char *name;
    int any; /* 0: all tests must hold; 1: any */
    tm_ua_test *tests;
    size_t ntests;
    int *prepend; /* label ids put first on events of this family */
    size_t nprepend;
} tm_ua_family;

/* ---- per-event label rules ---- */
typedef struct tm_chain tm_chain;
typedef struct tm_branch {
    tm_pred *when; /* NULL: else */
    int *emit;
    size_t nemit;
    tm_chain *then;
    size_t nthen;
} tm_branch;
struct tm_chain {
    tm_branch *b;
    size_t n;
};

typedef struct tm_eventrule {
    char *key; /* lowercased "svc:name" */
    int *emit;
    size_t nemit;
    tm_chain chain;
} tm_eventrule;

/* ---- signal definitions ---- */
enum {
    TM_FLAG_SUPPRESSED = 1,
    TM_FLAG_NO_HISTORY = 2,
    TM_FLAG_ONE_PER_EVENT = 4,
    TM_FLAG_GENERIC = 8,
};

typedef struct tm_strs {
    char **v;
    size_t n;
    int star; /* "*" */
} tm_strs;

typedef struct tm_var {
    char *name;
    tm_pipeline *steps;
    int shape; /* TM_SHAPE_* (pipeline.h) */
} tm_var;

typedef struct tm_datakey {
    char *key;
    int var; /* index into vars */
    int shape;
} tm_datakey;

typedef struct tm_label {
    char *name;
    char *service, *title; /* title: the signal's Name */
    tm_tmpl *url, *summary;
    char *url_text, *summary_text; /* the templates as written */
    tm_strs anchor, required, optional;
    double back, ahead;
    unsigned flags;
    tm_var *vars;
    size_t nvars;
    tm_datakey *data;
    size_t ndata;
    int has_data;
    char *file; /* where it was defined, for listings */
    int line;
} tm_label;

/* ---- overrides ---- */
typedef struct tm_ctx tm_ctx; /* a compiled override condition */

enum { TM_OV_REWRITE, TM_OV_DROP, TM_OV_REWRITE_PREV, TM_OV_MERGE };

typedef struct tm_override {
    int stage;
    int label;          /* rewrite/drop: the label it applies to */
    int to;             /* rewrite/rewrite_prev: the new label */
    int *current_in;    /* rewrite_prev */
    size_t ncurrent_in;
    int prev_label;     /* rewrite_prev */
    int from, into;     /* merge: history indices (-1 newest) */
    tm_ctx *cond;       /* NULL: always */
} tm_override;

typedef struct tm_ruleset {
    int refs;
    char *version; /* hash of the files' bytes */
    char *dir;

    tm_ua_family *families;
    size_t nfamilies;
    char *default_family;
    int strip_brackets;

    tm_eventrule *events; /* sorted by key */
    size_t nevents;

    tm_label *labels; /* sorted by name; ids are indices */
    size_t nlabels;

    tm_override *overrides;
    size_t noverrides;
} tm_ruleset;

/* Loads the directory.  On any error returns TM_EINVAL with every problem
 * in errs (and nothing in *out). */
int tm_rules_load(const char *dir, tm_ruleset **out, tm_errlist *errs);
tm_ruleset *tm_rules_ref(tm_ruleset *rs);
void tm_rules_unref(tm_ruleset *rs);

/* Label id by name, or -1. */
int tm_rules_label(const tm_ruleset *rs, const char *name);
/* The rule of an event name (matched ignoring case), or NULL. */
const tm_eventrule *tm_rules_event(const tm_ruleset *rs, const char *name_full);
/* The family of a user agent, or NULL (then rs->default_family applies). */
const tm_ua_family *tm_rules_ua_family(const tm_ruleset *rs, const char *ua);

/* Override conditions, evaluated by the mapper (overrides.c). */
typedef struct tm_ctxenv tm_ctxenv;
int tm_ctx_eval(const tm_ctx *c, const tm_ctxenv *env);

/* The default rules directory: $TRAILMAP_RULES, else the installed or
 * source-tree rules/. */
const char *tm_rules_default_dir(void);

#endif

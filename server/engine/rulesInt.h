/* rulesInt.h: the compiled forms of a ruleset (rules.h), for the modules
 * that build or walk them: the compilers (rules.c, lang/overrides.c), the
 * lookups (ruleset.c), the stages that apply them (label.c, mapper.c,
 * output.c) and the rule listings of trailmap-admin. */
#ifndef TM_RULESINT_H
#define TM_RULESINT_H

#include <jansson.h>
#include <stddef.h>

#include "pred.h"
#include "rules.h"
#include "tmpl.h"
#include "vars.h"

/* ---- user-agent families ---- */
typedef struct tm_ua_test {
    int op; /* 0 equals, 1 starts_with, 2 ends_with, 3 contains */
    char *s;
} tm_ua_test;

struct tm_ua_family {
    char *name;
    int any; /* 0: all tests must hold; 1: any */
    tm_ua_test *tests;
    size_t ntests;
    int *prepend; /* label ids put first on events of this family */
    size_t nprepend;
};

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

struct tm_eventrule {
    char *key; /* lowercased "svc:name" */
    int *emit;
    size_t nemit;
    tm_chain chain;
};

/* ---- signal definitions ---- */
enum {
    TM_FLAG_SUPPRESSED = 1,
    TM_FLAG_NO_HISTORY = 2,
    TM_FLAG_ONE_PER_EVENT = 4,
    TM_FLAG_GENERIC = 8,
};

/* What made a signal: the reference's rules, or one of trailmap's own
 * kinds for what those rules leave unexplained (additions.h). */
enum {
    TM_KIND_RULE = 0,  /* a console action the rules recognise */
    TM_KIND_SIGNIN,    /* a sign-in event (one signal each) */
    TM_KIND_API,       /* calls of one kind by one API client */
    TM_KIND_ACTION,    /* a console write no rule explains (one signal each) */
};

typedef struct tm_strs {
    char **v;
    size_t n;
    int star; /* "*" */
} tm_strs;

typedef struct tm_var {
    char *name;
    tm_pipeline *steps;
    int shape; /* TM_SHAPE_* (vars.h) */
} tm_var;

typedef struct tm_datakey {
    char *key;
    int var; /* index into vars */
    int shape;
} tm_datakey;

struct tm_label {
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
    /* trailmap's own kinds (additions.c); TM_KIND_RULE for the rest */
    int kind;
    tm_pred *when;            /* the events it takes; NULL: every candidate */
    double gap;               /* TM_KIND_API: most seconds between two calls of one signal */
    tm_tmpl *name_tmpl, *service_tmpl; /* Name and Service are templates there */
    tm_strs key_params;       /* TM_KIND_ACTION: request parameters that name the target */
};

/* ---- overrides ---- */
typedef struct tm_ctx tm_ctx; /* a compiled override condition */

enum { TM_OV_REWRITE, TM_OV_DROP, TM_OV_REWRITE_PREV, TM_OV_MERGE };

struct tm_override {
    int stage;
    int label;          /* rewrite/drop: the label it applies to */
    int to;             /* rewrite/rewrite_prev: the new label */
    int *current_in;    /* rewrite_prev */
    size_t ncurrent_in;
    int prev_label;     /* rewrite_prev */
    int from, into;     /* merge: history indices (-1 newest) */
    tm_ctx *cond;       /* NULL: always */
};

/* Override conditions, evaluated by the mapper (overrides.c). */
typedef struct tm_ctxenv tm_ctxenv;
int tm_ctx_eval(const tm_ctx *c, const tm_ctxenv *env);

#endif

/* rules.h: load, validate and compile rules/ into an immutable ruleset.
 *
 * A ruleset is validated completely before anyone uses it: every error of
 * every file is collected as "file:line:column: message".  Once built it is
 * never changed; holders share it by reference count, so a server can swap
 * in a new one while work in flight finishes with the old.
 *
 * The compiled forms it holds (signal definitions, label rules, overrides,
 * user-agent families) are in rulesInt.h, for the compilers, the mapper and
 * the listings; everyone else needs only the names and counts here. */
#ifndef TM_RULES_H
#define TM_RULES_H

#include <stddef.h>

#include "errlist.h"

typedef struct tm_ua_family tm_ua_family;   /* rulesInt.h */
typedef struct tm_eventrule tm_eventrule;   /* rulesInt.h */
typedef struct tm_label tm_label;           /* a signal definition, rulesInt.h */
typedef struct tm_override tm_override;     /* rulesInt.h */
typedef struct tm_origin tm_origin;         /* origin.c */

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
    tm_origin *origin; /* origin.json, or NULL: every record's origin is unknown */
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

/* The default rules directory: $TRAILMAP_RULES, else the installed or
 * source-tree rules/. */
const char *tm_rules_default_dir(void);

#endif

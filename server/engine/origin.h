/* origin.h: did a record come from the console or from an API client?
 *
 * Decided per event from the record's own evidence, as rules/origin.json
 * says: its "console" tests (sessionCredentialFromConsole, a console sign-in,
 * CloudShell...) are tried first, then its "api" tests (long-term keys, the
 * CLI's, SDKs' and automation tools' user agents), and the api tests only
 * on records that pass "api_requires" (records that name their caller).  A
 * record that passes none is UNKNOWN and is treated as the reference treats
 * every record, as console activity: minimized exports such as the
 * compatibility corpus carry no evidence and map as they always did.
 *
 * Console labels never apply to API events; they become trailmap's own
 * "api" signals instead (additions.h). */
#ifndef TM_ORIGIN_H
#define TM_ORIGIN_H

#include "errlist.h"
#include "event.h"
#include "jsonpos.h"
#include "rules.h"

enum { TM_ORIGIN_UNKNOWN = 0, TM_ORIGIN_CONSOLE = 1, TM_ORIGIN_API = 2 };

/* Compiles origin.json into rs->origin.  Errors go to errs with their
 * file:line:column; returns 0, TM_EINVAL or TM_ENOMEM. */
int tm_origin_compile(tm_ruleset *rs, const tm_jdoc *doc, tm_errlist *errs);
void tm_origin_free(tm_origin *o);

/* TM_ORIGIN_*; UNKNOWN when the ruleset has no origin.json. */
int tm_origin_of(const tm_ruleset *rs, const tm_event *e);

/* The name of the API client that made e ("aws-cli", "Terraform", ...):
 * the first matching "clients" entry, else the user agent's first word,
 * else "an unnamed client".  malloc'd; NULL when out of memory. */
char *tm_origin_client(const tm_ruleset *rs, const tm_event *e);

/* "console", "api" or "unknown". */
const char *tm_origin_name(int origin);

#endif

/* additions.h: trailmap's own signals, for what the reference's rules
 * leave unexplained in a real trail.
 *
 * After the reference's pass (mapper.c) every event no signal took is
 * offered to the signal definitions that have a "kind":
 *   signin  each sign-in event (failed console logins, CheckMfa, Identity
 *           Center sign-ins...) is a signal of its own
 *   api     calls by an API client (origin.h) of one event name, made with
 *           one client, each within "gap" seconds of the one before, are
 *           one signal: "Called secretsmanager:GetSecretValue 20 times
 *           with aws-cli"
 *   action  each console write that no rule explains is a signal named
 *           after the call and its target: "Console action:
 *           rds:DeleteDBInstance (db-prod-1)"
 * The kinds are tried in that order; within a kind, definitions in label
 * order, the first whose "when" holds takes the event.  Their Name,
 * Service, Url and Summary are templates over the values listed at
 * TM_ADDITION_VARS; AdditionalData holds those values.
 *
 * They come after the reference's pass and never take an event it took,
 * so the reference's signals are the same with or without them; the
 * cartographer format leaves them out unless asked (output.h). */
#ifndef TM_ADDITIONS_H
#define TM_ADDITIONS_H

#include <jansson.h>

#include "errlist.h"
#include "jsonpos.h"
#include "mapper.h"
#include "rules.h"

/* The values an addition's templates may use. */
#define TM_ADDITION_VARS                                                                                   \
    "awsRegion", "eventNameFull", "eventSource", "eventName", "svc", "count", "times", "client", "target", \
        "targets", "outcome", "errorCode", "user", "origin"

/* Compiles the members of a definition that has "kind" (rules.c calls it
 * instead of the reference's compiler).  Errors go to errs; returns 0 or
 * -1. */
int tm_additions_compile(tm_label *l, const tm_jdoc *doc, json_t *def, tm_errlist *errs);
void tm_additions_free(tm_label *l);

/* The name of a kind ("signin", "api", "action"), or NULL for TM_KIND_RULE. */
const char *tm_additions_kind_name(int kind);

/* Makes the additions of m: m->origin must be set.  0 or TM_ENOMEM. */
int tm_additions_map(tm_mapping *m, tm_error *err);

#endif

/* reload.h: replacing the running ruleset without a restart.
 *
 * A new ruleset is loaded and validated completely before it is used; on
 * any error the running one stays and every error goes to the caller and
 * the log.  A good one is swapped in atomically: requests in flight keep the
 * ruleset they started with (reference count), the next query of a session
 * maps it again under the new rules.  Triggers: SIGHUP, the ReloadRules RPC,
 * and changes in the rules directory (watch.h). */
#ifndef TM_RELOAD_H
#define TM_RELOAD_H

#include "errlist.h"
#include "server.h"

/* Loads s->rules_dir and swaps it in.  Safe from any thread; reloads run
 * one at a time.  *changed (may be NULL) tells whether the version differs
 * from the one that was running.  Returns 0, or TM_EINVAL with errs filled. */
int tm_reload_rules(tm_server *s, const char *why, tm_errlist *errs, int *changed);

#endif

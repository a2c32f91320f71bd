/* reload.h: replacing the running ruleset without a restart.
 *
 * A new ruleset is loaded and validated completely before it is used; on
 * any error the running one stays and every error goes to the caller and
 * the log.  A good one is swapped in atomically: requests in flight keep the
 * ruleset they started with (reference count), the next query of a session
 * maps it again under the new rules.  Triggers: SIGHUP, the ReloadRules RPC,
 * and changes in the rules directory (libuv file watching, debounced so an
 * editor's save or a git pull gives one reload). */
#ifndef TM_RELOAD_H
#define TM_RELOAD_H

#include <uv.h>

#include "errlist.h"
#include "server.h"

/* Loads s->rules_dir and swaps it in.  Safe from any thread; reloads run
 * one at a time.  *changed (may be NULL) tells whether the version differs
 * from the one that was running.  Returns 0, or TM_EINVAL with errs filled. */
int tm_reload_rules(tm_server *s, const char *why, tm_errlist *errs, int *changed);

typedef struct tm_watch tm_watch;

/* Watches the rules directory and its labels/ and signals/ folders. */
int tm_watch_start(uv_loop_t *loop, tm_server *s, unsigned debounce_ms, tm_watch **out, tm_error *err);
/* Closes the watcher's handles (they are freed by the loop). */
void tm_watch_stop(tm_watch *w);

#endif

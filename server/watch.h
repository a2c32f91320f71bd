/* watch.h: reloading the rules when their files change.
 *
 * libuv file watching of the rules directory, debounced so an editor's save
 * or a git pull gives one reload (tm_reload_rules, reload.h). */
#ifndef TM_WATCH_H
#define TM_WATCH_H

#include <uv.h>

#include "error.h"
#include "server.h"

typedef struct tm_watch tm_watch;

/* Watches the rules directory and its labels/ and signals/ folders. */
int tm_watch_start(uv_loop_t *loop, tm_server *s, unsigned debounce_ms, tm_watch **out, tm_error *err);
/* Closes the watcher's handles (they are freed by the loop). */
void tm_watch_stop(tm_watch *w);

#endif

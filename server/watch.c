/* watch.c: the debounced libuv watcher of the rules directory; it calls
 * tm_reload_rules (reload.c) in the loop's thread pool. */
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reload.h"

#define NWATCH 3

struct tm_watch {
    tm_server *srv;
    uv_loop_t *loop;
    uv_fs_event_t ev[NWATCH];
    int nev;
    uv_timer_t timer;
    unsigned debounce_ms;
    int busy, again; /* a reload runs in the pool; another change came meanwhile */
    uv_work_t work;
    int closing, open_handles;
};

static void reload_work(uv_work_t *req) {
    tm_watch *w = req->data;
    tm_errlist errs = {0};
    tm_reload_rules(w->srv, "rules directory changed", &errs, NULL);
    tm_errlist_free(&errs);
}

static void on_timer(uv_timer_t *t);

static void reload_done(uv_work_t *req, int status) {
    tm_watch *w = req->data;
    (void)status;
    w->busy = 0;
    if (w->closing) {
        if (w->open_handles == 0) free(w);
        return;
    }
    if (w->again) {
        w->again = 0;
        uv_timer_start(&w->timer, on_timer, w->debounce_ms, 0);
    }
}

static void on_timer(uv_timer_t *t) {
    tm_watch *w = t->data;
    if (w->closing) return;
    if (w->busy) {
        w->again = 1;
        return;
    }
    w->busy = 1;
    w->work.data = w;
    if (uv_queue_work(w->loop, &w->work, reload_work, reload_done) != 0) w->busy = 0;
}

static void on_change(uv_fs_event_t *h, const char *filename, int events, int status) {
    tm_watch *w = h->data;
    (void)events;
    if (status < 0) {
        tm_log_warn("rules", "watching the rules directory: %s", uv_strerror(status));
        return;
    }
    /* editors write temporary files; only JSON files and folders matter */
    if (filename && *filename && !strstr(filename, ".json") && strchr(filename, '.')) return;
    uv_timer_start(&w->timer, on_timer, w->debounce_ms, 0); /* restart: one reload per burst */
}

static void on_closed(uv_handle_t *h) {
    tm_watch *w = h->data;
    if (--w->open_handles == 0 && !w->busy) free(w);
}

int tm_watch_start(uv_loop_t *loop, tm_server *s, unsigned debounce_ms, tm_watch **out, tm_error *err) {
    tm_watch *w = calloc(1, sizeof(*w));
    if (!w) return tm_error_set(err, TM_ENOMEM, "out of memory");
    w->srv = s;
    w->loop = loop;
    w->debounce_ms = debounce_ms;
    uv_timer_init(loop, &w->timer);
    w->timer.data = w;
    w->open_handles = 1;
    const char *sub[NWATCH] = {"", "/labels", "/signals"};
    for (int i = 0; i < NWATCH; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s%s", s->rules_dir, sub[i]);
        uv_fs_event_init(loop, &w->ev[w->nev]);
        w->ev[w->nev].data = w;
        w->open_handles++;
        int rc = uv_fs_event_start(&w->ev[w->nev], on_change, path, 0);
        w->nev++;
        if (rc != 0) {
            tm_error_set(err, TM_EIO, "cannot watch %s: %s", path, uv_strerror(rc));
            tm_watch_stop(w);
            return TM_EIO;
        }
    }
    tm_log_info("rules", "watching %s for changes (reload %u ms after the last one)", s->rules_dir, debounce_ms);
    *out = w;
    return 0;
}

void tm_watch_stop(tm_watch *w) {
    if (!w || w->closing) return;
    w->closing = 1;
    for (int i = 0; i < w->nev; i++) uv_close((uv_handle_t *)&w->ev[i], on_closed);
    uv_close((uv_handle_t *)&w->timer, on_closed);
}

/* reload.c: load-validate-swap, and the debounced directory watcher. */
#include "reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;

int tm_reload_rules(tm_server *s, const char *why, tm_errlist *errs, int *changed) {
    pthread_mutex_lock(&reload_mu);
    tm_ruleset *rs = NULL;
    size_t before = errs->n;
    int rc = tm_rules_load(s->rules_dir, &rs, errs);
    if (rc != 0) {
        for (size_t i = before; i < errs->n; i++) tm_log_error("rules", "%s", errs->v[i]);
        pthread_mutex_lock(&s->rules_mu);
        s->reloads_refused++;
        const char *keep = s->rules ? s->rules->version : "none";
        tm_log_error("rules", "%s: %zu error%s in %s; still using rules %s", why, errs->n - before,
                     errs->n - before == 1 ? "" : "s", s->rules_dir, keep);
        pthread_mutex_unlock(&s->rules_mu);
        pthread_mutex_unlock(&reload_mu);
        return rc;
    }
    pthread_mutex_lock(&s->rules_mu);
    tm_ruleset *old = s->rules;
    int differs = !old || strcmp(old->version, rs->version) != 0;
    s->rules = rs;
    s->rules_loaded_ms = tm_now_ms();
    if (old) s->reloads++;
    pthread_mutex_unlock(&s->rules_mu);
    if (changed) *changed = differs;
    tm_log_info("rules", "%s: loaded %s: version %s%s, %zu labels, %zu event rules, %zu overrides", why, s->rules_dir,
                rs->version, differs ? "" : " (unchanged)", rs->nlabels, rs->nevents, rs->noverrides);
    if (old) tm_rules_unref(old); /* requests in flight keep their own reference */
    pthread_mutex_unlock(&reload_mu);
    return 0;
}

/* ---- watching ---- */

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

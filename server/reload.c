/* reload.c: load-validate-swap of the running ruleset (the watcher that
 * triggers it on file changes is watch.c). */
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

/* label.c: per-event label rules (the user-agent family first). */
#include "label.h"
#include "rulesInt.h"

#include <stdlib.h>
#include <string.h>

static int push(tm_labels *l, int id) {
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        int *nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv) return TM_ENOMEM;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = id;
    return 0;
}

void tm_labels_free(tm_labels *l) {
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

const char *tm_label_ua_family(const tm_ruleset *rs, const char *ua) {
    const tm_ua_family *f = tm_rules_ua_family(rs, ua);
    return f ? f->name : rs->default_family;
}

static int run_chain(const tm_chain *c, const tm_predctx *pc, tm_labels *out) {
    for (size_t i = 0; i < c->n; i++) {
        const tm_branch *b = &c->b[i];
        int r = b->when ? tm_pred_eval(b->when, pc) : TM_TRUE;
        if (r == TM_ERR) return 0; /* the reference abandoned the whole statement */
        if (r != TM_TRUE) continue;
        for (size_t k = 0; k < b->nemit; k++)
            if (push(out, b->emit[k])) return TM_ENOMEM;
        for (size_t k = 0; k < b->nthen; k++) {
            int rc = run_chain(&b->then[k], pc, out);
            if (rc) return rc;
        }
        return 0;
    }
    return 0;
}

int tm_label_event(const tm_ruleset *rs, const tm_event *e, tm_labels *out) {
    const tm_ua_family *fam = tm_rules_ua_family(rs, e->ua);
    if (fam)
        for (size_t k = 0; k < fam->nprepend; k++)
            if (push(out, fam->prepend[k])) return TM_ENOMEM;
    const tm_eventrule *r = tm_rules_event(rs, e->name_full);
    if (!r) return 0;
    for (size_t k = 0; k < r->nemit; k++)
        if (push(out, r->emit[k])) return TM_ENOMEM;
    if (r->chain.n) {
        tm_predctx pc = {e, e->json, fam ? fam->name : rs->default_family};
        return run_chain(&r->chain, &pc, out);
    }
    return 0;
}

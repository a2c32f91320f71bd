/* ruleset.c: lookups in a compiled ruleset (label ids, event rules, user-agent
 * families).  The bottom of the rule modules: it calls none of them, so the
 * compilers (overrides.c, rules.c) and the stages (label.c) can all use it. */
#include "rules.h"
#include "rulesInt.h"

#include <string.h>
#include <strings.h>

/* ---- labels by name ---- */

int tm_rules_label(const tm_ruleset *rs, const char *name) {
    size_t lo = 0, hi = rs->nlabels;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(rs->labels[mid].name, name);
        if (c == 0) return (int)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const tm_eventrule *tm_rules_event(const tm_ruleset *rs, const char *name_full) {
    size_t lo = 0, hi = rs->nevents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcasecmp(rs->events[mid].key, name_full);
        if (c == 0) return &rs->events[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* ---- user-agent families ---- */

static int ua_test(const tm_ua_test *t, const char *s, size_t len) {
    size_t tl = strlen(t->s);
    switch (t->op) {
    case 0: return len == tl && memcmp(s, t->s, len) == 0;
    case 1: return len >= tl && memcmp(s, t->s, tl) == 0;
    case 2: return len >= tl && memcmp(s + len - tl, t->s, tl) == 0;
    case 3: return tl <= len && memmem(s, len, t->s, tl) != NULL;
    }
    return 0;
}

const tm_ua_family *tm_rules_ua_family(const tm_ruleset *rs, const char *ua) {
    if (!ua) return NULL;
    size_t len = strlen(ua);
    if (rs->strip_brackets && len >= 2 && ua[0] == '[' && ua[len - 1] == ']') {
        ua++;
        len -= 2;
    }
    for (size_t i = 0; i < rs->nfamilies; i++) {
        const tm_ua_family *f = &rs->families[i];
        int ok = !f->any;
        for (size_t k = 0; k < f->ntests; k++) {
            int r = ua_test(&f->tests[k], ua, len);
            if (f->any && r) {
                ok = 1;
                break;
            }
            if (!f->any && !r) {
                ok = 0;
                break;
            }
        }
        if (ok && f->ntests) return f;
    }
    return NULL;
}

/* mapping.c: the result of mapping one session (mapper.h): its signals'
 * storage and the order a timeline shows them in.  Apart from the mapper
 * so that the stages after it (additions.c) add signals without calling
 * back into it. */
#include "mapper.h"

#include <stdlib.h>
#include <string.h>

tm_signal *tm_mapping_new_signal(tm_mapping *m) {
    if (m->nsignals == m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 32;
        tm_signal *ns = realloc(m->signals, ncap * sizeof(*ns));
        if (!ns) return NULL;
        m->signals = ns;
        m->cap = ncap;
    }
    tm_signal *s = &m->signals[m->nsignals++];
    memset(s, 0, sizeof(*s));
    s->merged_into = -1;
    return s;
}

void tm_mapping_free(tm_mapping *m) {
    if (!m) return;
    for (size_t i = 0; m->labels && i < m->nevents; i++) tm_labels_free(&m->labels[i]);
    free(m->labels);
    free(m->origin);
    free(m->signal_of);
    for (size_t i = 0; i < m->nsignals; i++) tm_rendered_clear(&m->signals[i].r);
    free(m->signals);
    tm_rules_unref(m->rs);
    free(m);
}

static int cmp_anchor(const void *a, const void *b, void *arg) {
    const tm_mapping *m = arg;
    size_t x = m->signals[*(const size_t *)a].anchor, y = m->signals[*(const size_t *)b].anchor;
    return x < y ? -1 : x > y;
}

size_t tm_mapping_timeline(const tm_mapping *m, size_t **order) {
    size_t *o = calloc(m->nsignals + 1, sizeof(*o)), n = 0;
    *order = o;
    if (!o) return 0;
    for (size_t i = 0; i < m->nsignals; i++)
        if (m->signals[i].merged_into < 0) o[n++] = i;
    /* anchors are distinct events, so the order is fully determined */
    qsort_r(o, n, sizeof(*o), cmp_anchor, (void *)m);
    return n;
}

/* value.c: PowerShell's view of JSON values (comparison, order, text). */
#include "value.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int tm_vals_push(tm_vals *l, json_t *v) {
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 8;
        json_t **nv = realloc(l->v, ncap * sizeof(*nv));
        if (!nv) return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n++] = l->owned ? json_incref(v) : v;
    return 0;
}

void tm_vals_clear(tm_vals *l) {
    if (l->owned)
        for (size_t i = 0; i < l->n; i++) json_decref(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

int tm_path_parse(const char *s, tm_path *p) {
    memset(p, 0, sizeof(*p));
    if (!s || !*s) return TM_EPARSE;
    if (strcmp(s, ".") == 0) return 0; /* the root itself */
    const char *q = s;
    while (*q) {
        const char *end = q;
        while (*end && *end != '.' && *end != '[') end++;
        long idx = -1;
        const char *next = end;
        if (*next == '[') {
            char *after;
            errno = 0;
            idx = strtol(next + 1, &after, 10);
            if (errno || after == next + 1 || *after != ']' || idx < 0) goto bad;
            next = after + 1;
        }
        if (end == q && idx < 0) goto bad;
        char **ns = realloc(p->seg, (p->n + 1) * sizeof(*ns));
        if (!ns) goto oom;
        p->seg = ns;
        long *ni = realloc(p->idx, (p->n + 1) * sizeof(*ni));
        if (!ni) goto oom;
        p->idx = ni;
        p->seg[p->n] = end > q ? strndup(q, (size_t)(end - q)) : NULL;
        if (end > q && !p->seg[p->n]) goto oom;
        p->idx[p->n] = idx;
        p->n++;
        if (*next == '.') next++;
        else if (*next) goto bad;
        q = next;
    }
    return 0;
bad:
    tm_path_free(p);
    return TM_EPARSE;
oom:
    tm_path_free(p);
    return TM_ENOMEM;
}

void tm_path_free(tm_path *p) {
    for (size_t i = 0; i < p->n; i++) free(p->seg[i]);
    free(p->seg);
    free(p->idx);
    memset(p, 0, sizeof(*p));
}

/* One step of member access with PowerShell's member enumeration. */
static int step(json_t *v, const char *name, tm_vals *out) {
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (step(e, name, out)) return -1;
        }
        return 0;
    }
    if (!json_is_object(v)) return 0;
    json_t *m = json_object_get(v, name);
    if (m && tm_vals_push(out, m)) return -1;
    return 0;
}

int tm_path_get(const tm_path *p, json_t *root, int raw, tm_vals *out) {
    tm_vals cur = {0}, next = {0};
    if (!root) return 0;
    if (tm_vals_push(&cur, root)) return -1;
    for (size_t s = 0; s < p->n; s++) {
        for (size_t i = 0; i < cur.n; i++) {
            if (p->seg[s]) {
                if (step(cur.v[i], p->seg[s], &next)) goto oom;
            } else if (tm_vals_push(&next, cur.v[i])) {
                goto oom;
            }
        }
        if (p->idx[s] >= 0) {
            /* An index applies to the array the member gave; a member that is
             * not an array indexes like PowerShell's scalar [0]: itself. */
            tm_vals idx = {0};
            for (size_t i = 0; i < next.n; i++) {
                json_t *v = next.v[i];
                json_t *e = json_is_array(v) ? json_array_get(v, (size_t)p->idx[s])
                                             : (p->idx[s] == 0 ? v : NULL);
                if (e && tm_vals_push(&idx, e)) {
                    tm_vals_clear(&idx);
                    goto oom;
                }
            }
            tm_vals_clear(&next);
            next = idx;
        }
        tm_vals_clear(&cur);
        cur = next;
        memset(&next, 0, sizeof(next));
    }
    for (size_t i = 0; i < cur.n; i++) {
        json_t *v = cur.v[i];
        if (json_is_array(v) && !raw) {
            size_t k;
            json_t *e;
            json_array_foreach(v, k, e) {
                if (tm_vals_push(out, e)) goto oom;
            }
        } else if (tm_vals_push(out, v)) {
            goto oom;
        }
    }
    tm_vals_clear(&cur);
    return 0;
oom:
    tm_vals_clear(&cur);
    tm_vals_clear(&next);
    return -1;
}

static int parse_number(const char *s, double *d) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s) return -1;
    char *end;
    errno = 0;
    *d = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    return (errno || *end) ? -1 : 0;
}

int tm_value_loose_eq(const json_t *value, const json_t *lit, int ic) {
    if (json_is_null(lit)) return json_is_null(value);
    if (!value || json_is_null(value)) return 0;
    if (json_is_string(value)) {
        char *t = tm_value_text(lit);
        if (!t) return 0;
        /* a boolean literal becomes "True"/"False": compare those ignoring case */
        if (json_is_boolean(lit)) ic = 1;
        int eq = ic ? strcasecmp(json_string_value(value), t) == 0
                    : strcmp(json_string_value(value), t) == 0;
        free(t);
        return eq;
    }
    if (json_is_number(value)) {
        double lv;
        if (json_is_number(lit)) lv = json_number_value(lit);
        else if (json_is_string(lit)) {
            if (parse_number(json_string_value(lit), &lv)) return 0;
        } else if (json_is_boolean(lit)) {
            lv = json_is_true(lit) ? 1 : 0;
        } else {
            return 0;
        }
        return json_number_value(value) == lv;
    }
    if (json_is_boolean(value)) {
        if (json_is_boolean(lit)) return json_is_true(value) == json_is_true(lit);
        if (json_is_string(lit)) {
            const char *s = json_string_value(lit);
            return json_is_true(value) ? strcasecmp(s, "true") == 0 : strcasecmp(s, "false") == 0;
        }
        if (json_is_number(lit)) return (json_number_value(lit) != 0) == json_is_true(value);
        return 0;
    }
    return json_equal((json_t *)value, (json_t *)lit);
}

int tm_value_truthy(const json_t *v) {
    if (!v || json_is_null(v) || json_is_false(v)) return 0;
    if (json_is_true(v)) return 1;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_real(v)) return json_real_value(v) != 0;
    if (json_is_array(v)) {
        /* PowerShell: one element takes that element's truthiness. */
        if (json_array_size(v) == 0) return 0;
        if (json_array_size(v) == 1) return tm_value_truthy(json_array_get(v, 0));
        return 1;
    }
    return 1; /* objects, even {} */
}

char *tm_value_text(const json_t *v) {
    char *s = NULL;
    if (!v || json_is_null(v)) return NULL;
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (json_is_true(v)) return strdup("True");
    if (json_is_false(v)) return strdup("False");
    if (json_is_integer(v)) {
        if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0) return NULL;
        return s;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 1e15) {
            if (asprintf(&s, "%.0f", d) < 0) return NULL;
        } else if (asprintf(&s, "%.15g", d) < 0) {
            return NULL;
        }
        return s;
    }
    if (json_is_array(v)) {
        size_t len = 0, i;
        json_t *e;
        char *acc = strdup("");
        if (!acc) return NULL;
        json_array_foreach(v, i, e) {
            char *t = tm_value_text(e);
            size_t tl = t ? strlen(t) : 0;
            char *na = realloc(acc, len + tl + 2);
            if (!na) {
                free(t);
                free(acc);
                return NULL;
            }
            acc = na;
            if (i) acc[len++] = ' ';
            if (t) memcpy(acc + len, t, tl);
            len += tl;
            acc[len] = 0;
            free(t);
        }
        return acc;
    }
    return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* Primary weight of a byte: punctuation, then digits, then letters. */
static int weight(unsigned char c) {
    if (isdigit(c)) return 1000 + c;
    if (isalpha(c)) return 2000 + tolower(c);
    if (c >= 0x80) return 3000 + c; /* non-ASCII after ASCII letters */
    return c;                       /* punctuation and symbols first */
}

int tm_culture_cmp(const char *a, const char *b) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    size_t i = 0;
    for (; x[i] && y[i]; i++) {
        int wx = weight(x[i]), wy = weight(y[i]);
        if (wx != wy) return wx < wy ? -1 : 1;
    }
    if (x[i] || y[i]) return x[i] ? 1 : -1;
    for (i = 0; x[i]; i++) {
        if (x[i] != y[i]) return islower(x[i]) ? -1 : 1; /* lowercase first */
    }
    return 0;
}

int tm_value_cmp(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y;
    }
    char *ta = tm_value_text(a), *tb = tm_value_text(b);
    int r = tm_culture_cmp(ta ? ta : "", tb ? tb : "");
    free(ta);
    free(tb);
    return r;
}

static int cmp_ptr(const void *a, const void *b) {
    return tm_value_cmp(*(json_t *const *)a, *(json_t *const *)b);
}

void tm_vals_sort(tm_vals *l) {
    if (l->n < 2) return;
    /* qsort is not stable; a stable order for ties keeps output repeatable,
     * so sort with insertion when small and fall back to qsort otherwise. */
    if (l->n <= 64) {
        for (size_t i = 1; i < l->n; i++) {
            json_t *k = l->v[i];
            size_t j = i;
            while (j > 0 && tm_value_cmp(l->v[j - 1], k) > 0) {
                l->v[j] = l->v[j - 1];
                j--;
            }
            l->v[j] = k;
        }
    } else {
        qsort(l->v, l->n, sizeof(*l->v), cmp_ptr);
    }
}

void tm_vals_sort_unique(tm_vals *l) {
    if (l->n < 2) return;
    tm_vals_sort(l);
    size_t w = 1;
    for (size_t i = 1; i < l->n; i++) {
        char *a = tm_value_text(l->v[w - 1]), *b = tm_value_text(l->v[i]);
        int same = (!a && !b) || (a && b && strcasecmp(a, b) == 0);
        if (json_is_object(l->v[i]) || json_is_object(l->v[w - 1]))
            same = json_equal(l->v[i], l->v[w - 1]);
        free(a);
        free(b);
        if (same) {
            if (l->owned) json_decref(l->v[i]);
        } else {
            l->v[w++] = l->v[i];
        }
    }
    l->n = w;
}

char *tm_url_min_encode(const char *s, const char *keep) {
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    char *out = malloc(n * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        if (isalnum(c) || strchr("-+=,._", c) || (keep && strchr(keep, c))) *o++ = (char)c;
        else if (c == ' ') *o++ = '+';
        else if (strchr("!*()", c)) *o++ = (char)c; /* HttpUtility.UrlEncode keeps these */
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return out;
}

const char *tm_value_type_phrase(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_NULL: return "null";
    }
    return "a value";
}

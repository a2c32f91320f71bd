/* bounded_re.c: the checks of bounded_re.h before regcomp. */
#include "bounded_re.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64 /* nesting of parentheses */

/* Skips a bracket expression starting at p[i] == '['; returns the index
 * after its closing ']', or the length when it is not closed (regcomp then
 * reports the error itself). */
static size_t skip_bracket(const char *p, size_t i, size_t n) {
    i++;
    if (i < n && p[i] == '^') i++;
    if (i < n && p[i] == ']') i++; /* a leading ']' is a member */
    while (i < n && p[i] != ']') {
        if (p[i] == '[' && i + 1 < n && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
            const char *end = strstr(p + i + 2, p[i + 1] == ':' ? ":]" : p[i + 1] == '.' ? ".]" : "=]");
            if (!end) return n;
            i = (size_t)(end - p) + 2;
        } else {
            i++;
        }
    }
    return i < n ? i + 1 : n;
}

/* The largest count of a quantifier at p[i] ("*", "+", "?" or "{m,n}"),
 * with *len its length; 0 when p[i] starts no quantifier, -1 when a count
 * is over the limit. */
static long quantifier(const char *p, size_t i, size_t n, size_t *len) {
    *len = 1;
    if (p[i] == '*' || p[i] == '?') return 1;
    if (p[i] == '+') return 2; /* "x+" is built as "xx*" */
    if (p[i] != '{') return 0;
    long lo = -1, hi = -1, cur = -1;
    size_t k = i + 1;
    for (; k < n && p[k] != '}'; k++) {
        if (p[k] >= '0' && p[k] <= '9') {
            cur = (cur < 0 ? 0 : cur) * 10 + (p[k] - '0');
            if (cur > TM_REGEX_MAX_REPEAT) return -1;
        } else if (p[k] == ',' && lo < 0) {
            lo = cur < 0 ? 0 : cur;
            cur = -1;
        } else {
            return 0; /* not a bound: regcomp decides */
        }
    }
    if (k == n) return 0;
    *len = k - i + 1;
    if (lo < 0) lo = cur; /* {m} */
    else hi = cur;        /* {m,} or {m,n} */
    long most = hi >= 0 ? hi : lo + 1;
    return most < 1 ? 1 : most;
}

int tm_regex_compile(regex_t *re, const char *pattern, int flags, char *why, size_t whylen) {
    size_t n = strlen(pattern);
    /* cost[d]: atoms so far in the group open at depth d; last[d]: the
     * cost of the last item there, which a quantifier multiplies */
    double cost[MAX_DEPTH + 1] = {0}, last[MAX_DEPTH + 1] = {0};
    int depth = 0, quantified = 0;
    if (n > TM_REGEX_MAX_LEN) {
        snprintf(why, whylen, "longer than %d characters", TM_REGEX_MAX_LEN);
        return 1;
    }
    for (size_t i = 0; i < n;) {
        size_t len;
        long q = quantifier(pattern, i, n, &len);
        if (q < 0) {
            snprintf(why, whylen, "a repetition count over %d", TM_REGEX_MAX_REPEAT);
            return 1;
        }
        if (q > 0) {
            if (quantified) {
                snprintf(why, whylen, "a quantifier right after another (at offset %zu)", i);
                return 1;
            }
            cost[depth] += last[depth] * (double)(q - 1);
            last[depth] *= (double)q;
            quantified = 1;
            i += len;
        } else if (pattern[i] == '(') {
            if (depth == MAX_DEPTH) {
                snprintf(why, whylen, "parentheses nested deeper than %d", MAX_DEPTH);
                return 1;
            }
            depth++;
            cost[depth] = last[depth] = 0;
            quantified = 0;
            i++;
        } else if (pattern[i] == ')' && depth > 0) {
            double inner = cost[depth--];
            cost[depth] += inner;
            last[depth] = inner;
            quantified = 0;
            i++;
        } else {
            size_t next = pattern[i] == '[' ? skip_bracket(pattern, i, n) : pattern[i] == '\\' ? i + 2 : i + 1;
            cost[depth] += 1;
            last[depth] = 1;
            quantified = 0;
            i = next < n ? next : n;
        }
        if (cost[depth] > TM_REGEX_MAX_COST) {
            snprintf(why, whylen, "its repetitions expand to more than %d atoms", TM_REGEX_MAX_COST);
            return 1;
        }
    }
    /* regcomp frees what it built when it fails (POSIX leaves re undefined
     * then, so no regfree); it does not always say REG_ESPACE when what
     * failed was an allocation, but malloc said ENOMEM */
    errno = 0;
    int rc = regcomp(re, pattern, flags);
    if (rc) {
        if (errno == ENOMEM) rc = REG_ESPACE;
        regerror(rc, re, why, whylen);
    }
    return rc;
}

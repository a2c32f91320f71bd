/* jsonscan.c: byte spans of JSON values (see jsonscan.h). */
#include "jsonscan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_delim(char c) {
    return is_ws(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' ||
           c == '"';
}

size_t tm_jscan_ws(const char *buf, size_t len, size_t pos) {
    while (pos < len && is_ws(buf[pos])) pos++;
    return pos;
}

/* Index after the string whose opening quote is at pos, or 0 on failure
 * (a string is at least two bytes, so 0 is never a valid end). */
static size_t string_end(const char *buf, size_t len, size_t pos) {
    size_t i = pos + 1;
    while (i < len) {
        char c = buf[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            i += 2;
            continue;
        }
        if (c == '\n' || c == '\r') return 0;
        i++;
    }
    return 0;
}

int tm_jscan_value(const char *buf, size_t len, size_t pos, size_t *end) {
    size_t depth = 0, i = pos;
    if (pos >= len) return -1;
    do {
        if (i >= len) return -1;
        char c = buf[i];
        if (c == '"') {
            size_t e = string_end(buf, len, i);
            if (e == 0) return -1;
            i = e;
        } else if (c == '{' || c == '[') {
            depth++;
            i++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return -1;
            depth--;
            i++;
        } else if (depth > 0) {
            i++; /* whitespace, ',', ':' or part of a scalar inside a container */
        } else {
            /* a scalar at the top: it ends at the next delimiter */
            if (is_delim(c)) return -1;
            while (i < len && !is_delim(buf[i])) i++;
        }
    } while (depth > 0);
    *end = i;
    return 0;
}

int tm_jscan_array(const char *buf, size_t len, size_t pos, tm_jspan **spans, size_t *n) {
    tm_jspan *v = NULL;
    size_t cnt = 0, cap = 0;
    *spans = NULL;
    *n = 0;
    if (pos >= len || buf[pos] != '[') return -1;
    size_t i = tm_jscan_ws(buf, len, pos + 1);
    if (i < len && buf[i] == ']') return 0;
    for (;;) {
        size_t e;
        if (i >= len || tm_jscan_value(buf, len, i, &e) != 0) goto bad;
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            tm_jspan *nv = (ncap > SIZE_MAX / sizeof(*nv)) ? NULL : realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                free(v);
                return TM_ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt].start = i;
        v[cnt].end = e;
        cnt++;
        i = tm_jscan_ws(buf, len, e);
        if (i >= len) goto bad;
        if (buf[i] == ']') break;
        if (buf[i] != ',') goto bad;
        i = tm_jscan_ws(buf, len, i + 1);
    }
    *spans = v;
    *n = cnt;
    return 0;
bad:
    free(v);
    return -1;
}

int tm_jscan_member(const char *buf, size_t len, size_t pos, const char *key, tm_jspan *out) {
    size_t klen = strlen(key);
    int found = 0;
    if (pos >= len || buf[pos] != '{') return -1;
    size_t i = tm_jscan_ws(buf, len, pos + 1);
    if (i < len && buf[i] == '}') return -1;
    for (;;) {
        if (i >= len || buf[i] != '"') return -1;
        size_t ke = string_end(buf, len, i);
        if (ke == 0) return -1;
        int match = (ke - i - 2 == klen && memcmp(buf + i + 1, key, klen) == 0);
        i = tm_jscan_ws(buf, len, ke);
        if (i >= len || buf[i] != ':') return -1;
        i = tm_jscan_ws(buf, len, i + 1);
        size_t ve;
        if (i >= len || tm_jscan_value(buf, len, i, &ve) != 0) return -1;
        if (match) {
            out->start = i;
            out->end = ve;
            found = 1;
        }
        i = tm_jscan_ws(buf, len, ve);
        if (i >= len) return -1;
        if (buf[i] == '}') break;
        if (buf[i] != ',') return -1;
        i = tm_jscan_ws(buf, len, i + 1);
    }
    return found ? 0 : -1;
}

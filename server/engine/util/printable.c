/* printable.c: escape what a terminal would act on (see printable.h). */
#include "printable.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the UTF-8 sequence at s (1-4) and its code point, or 0 when
 * the bytes there are not valid UTF-8 (overlong forms and surrogates
 * included). */
static int utf8_at(const unsigned char *s, uint32_t *cp) {
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (n == 0) return 0;
    uint32_t c = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

static int unsafe(uint32_t c) {
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF;
}

int tm_is_printable(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        int n = utf8_at(p, &c);
        if (n == 0 || unsafe(c) || c == '\\') return 0;
        p += n;
    }
    return 1;
}

char *tm_printable(const char *s) {
    size_t len = strlen(s);
    if (len > (SIZE_MAX - 1) / 6) return NULL;
    char *out = malloc(len * 6 + 1), *o = out; /* "\u202e" is 6 bytes for at least 1 */
    if (!out) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        int n = utf8_at(p, &c);
        if (n == 0) {
            o += sprintf(o, "\\x%02x", *p);
            p++;
        } else if (c == '\\') {
            *o++ = '\\';
            *o++ = '\\';
            p++;
        } else if (unsafe(c)) {
            o += c < 0x100 ? sprintf(o, "\\x%02x", (unsigned)c) : sprintf(o, "\\u%04x", (unsigned)c);
            p += n;
        } else {
            memcpy(o, p, (size_t)n);
            o += n;
            p += n;
        }
    }
    *o = '\0';
    return out;
}

json_t *tm_json_text(const char *s) {
    if (!s) s = "";
    json_t *v = json_string(s);
    if (v) return v;
    size_t n = strlen(s), o = 0;
    if (n > (SIZE_MAX - 1) / 3) return NULL;
    char *buf = malloc(3 * n + 1);
    if (!buf) return NULL;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t c;
        int k = utf8_at(p, &c);
        if (k) {
            memcpy(buf + o, p, (size_t)k);
            o += (size_t)k;
            p += k;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    buf[o] = 0;
    v = json_string(buf);
    free(buf);
    return v;
}

/* event.c: the normalized CloudTrail event (see event.h).
 *
 * The compact JSON of requestParameters (rp_json) is what the label rules
 * compare against, and the reference computed it with PowerShell's
 * ConvertTo-Json -Compress (Newtonsoft underneath), after its JSON reader
 * had turned ISO date-like strings into dates.  jansson's json_dumps
 * differs from that in small ways (upper-case \u00XX escapes, U+0085/
 * U+2028/U+2029 left raw, reals printed with 17 digits), so rp_json comes
 * from our own serializer, tm_json_compact(), which writes:
 *   - members in input order, no whitespace;
 *   - strings with '"' and '\' escaped, \b \t \n \f \r, other control
 *     characters and U+0085, U+2028, U+2029 as \u00xx (lower-case hex);
 *     '/' and all other non-ASCII characters left as they are;
 *   - integers as written, reals in .NET's shortest round-trip form with
 *     ".0" appended to whole numbers (100.0, 1E+20, 1E-05);
 *   - strings that PowerShell would have read as dates re-serialized the way
 *     it writes them back: "yyyy-MM-ddTHH:mm:ss[.fffffff]" with the
 *     fraction's trailing zeros removed, then "Z" for UTC values and nothing
 *     for values without a zone.  Values with a numeric offset are kept as
 *     written (PowerShell would convert them to the local time of whatever
 *     machine ran it, which cannot be reproduced); "/Date(ms)/" becomes a
 *     UTC time. */
#include "event.h"
#include "calendar.h"
#include "hash.h"
#include "value.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ time */


static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The basic form "YYYYMMDDTHHMMSS" (as some creationDates are written);
 * returns where the rest starts, or NULL. */
static const char *basic_form(const char *s, int *Y, int *M, int *D, int *h, int *mi, int *sec) {
    if (strlen(s) < 15 || digits(s, 4, Y) || digits(s + 4, 2, M) || digits(s + 6, 2, D) ||
        (s[8] != 'T' && s[8] != 't') || digits(s + 9, 2, h) || digits(s + 11, 2, mi) || digits(s + 13, 2, sec))
        return NULL;
    return s + 15;
}

int tm_time_parse(const char *s, int64_t *ms) {
    int Y, M, D, h, mi, sec;
    if (!s) return -1;
    size_t n = strlen(s);
    const char *p;
    if (n >= 19 && !digits(s, 4, &Y) && s[4] == '-' && !digits(s + 5, 2, &M) && s[7] == '-' &&
        !digits(s + 8, 2, &D) && (s[10] == 'T' || s[10] == 't' || s[10] == ' ') && !digits(s + 11, 2, &h) &&
        s[13] == ':' && !digits(s + 14, 2, &mi) && s[16] == ':' && !digits(s + 17, 2, &sec))
        p = s + 19; /* exporters write a space for the T, and no zone for UTC */
    else if (!(p = basic_form(s, &Y, &M, &D, &h, &mi, &sec)))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > tm_days_in_month(Y, M) || h > 23 || mi > 59 || sec > 59)
        return -1;
    int frac_ms = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3) frac_ms = frac_ms * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0) return -1;
        for (; nd < 3; nd++) frac_ms *= 10;
    }
    int off_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(p, 2, &oh)) return -1;
        p += 2;
        if (*p == ':') {
            p++;
            if (digits(p, 2, &om)) return -1;
            p += 2;
        } else if (*p >= '0' && *p <= '9') {
            if (digits(p, 2, &om)) return -1;
            p += 2;
        }
        if (oh > 23 || om > 59) return -1;
        off_min = sign * (oh * 60 + om);
    }
    if (*p != '\0') return -1;
    int64_t days = tm_days_from_civil(Y, M, D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)off_min * 60;
    *ms = secs * 1000 + frac_ms;
    return 0;
}

void tm_time_format(int64_t ms, char *buf) {
    int64_t days = ms / 86400000, rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    int m, d;
    tm_civil_from_days(days, &y, &m, &d);
    int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60);
    int f = (int)(rem % 1000);
    if (f == 0) {
        snprintf(buf, 32, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", y, m, d, h, mi, s);
    } else {
        char fr[4];
        snprintf(fr, sizeof(fr), "%03d", f);
        if (fr[2] == '0') fr[2] = '\0';
        if (fr[1] == '0' && fr[2] == '\0') fr[1] = '\0';
        snprintf(buf, 32, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%sZ", y, m, d, h, mi, s, fr);
    }
}

/* ------------------------------------------------------- string builder */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n >= b->cap - b->n || !b->p) {
        size_t need = b->n + n + 1;
        if (need < b->n) {
            b->oom = 1;
            return;
        }
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < need) {
            if (ncap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            ncap *= 2;
        }
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}

/* ---------------------------------------------- PowerShell-style compact JSON */

/* Rewrites s the way PowerShell's reader and writer would if it is an ISO
 * date-time in UTC or without a zone; out must hold 48 bytes.  Returns 1
 * when rewritten, 0 when the string is to be written as it is. */
static int date_like(const char *s, size_t n, char *out) {
    int Y, M, D, h, mi, sec;
    if (n < 19 || n > 40 || s[0] < '0' || s[0] > '9' || s[10] != 'T') return 0;
    if (digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D) || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return 0;
    if (Y < 1 || M < 1 || M > 12 || D < 1 || D > tm_days_in_month(Y, M) || h > 24 || mi > 59 ||
        sec > 59 || (h == 24 && (mi != 0 || sec != 0)))
        return 0;
    size_t i = 19;
    long frac = 0;
    if (i < n && s[i] == '.') {
        int nd = 0;
        i++;
        while (i < n && nd < 7 && s[i] >= '0' && s[i] <= '9') {
            frac = frac * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0) return 0;
        for (; nd < 7; nd++) frac *= 10;
        if (h == 24 && frac != 0) return 0;
    }
    const char *zone;
    if (i == n) {
        zone = "";
    } else if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        zone = "Z";
    } else {
        return 0; /* an offset (machine-local in PowerShell) or not a date */
    }
    int64_t days = tm_days_from_civil(Y, M, D);
    if (h == 24) {
        days++;
        h = 0;
    }
    int64_t y;
    tm_civil_from_days(days, &y, &M, &D);
    if (y > 9999) return 0;
    int k = snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, M, D, h, mi, sec);
    if (frac) {
        char fr[24];
        snprintf(fr, sizeof(fr), "%07ld", frac);
        int e = 7;
        while (e > 0 && fr[e - 1] == '0') e--;
        fr[e] = '\0';
        k += snprintf(out + k, (size_t)(48 - k), ".%s", fr);
    }
    snprintf(out + k, (size_t)(48 - k), "%s", zone);
    return 1;
}

/* "/Date(<ms>)/" → UTC ISO; 1 when rewritten (out holds 48 bytes). */
static int ms_date(const char *s, size_t n, char *out) {
    if (n < 9 || memcmp(s, "/Date(", 6) != 0 || memcmp(s + n - 2, ")/", 2) != 0) return 0;
    size_t i = 6, e = n - 2;
    int neg = 0;
    if (i < e && s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i == e || e - i > 15) return 0;
    int64_t v = 0;
    for (; i < e; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (neg) v = -v;
    int64_t days = v / 86400000, rem = v % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    int M, D;
    tm_civil_from_days(days, &y, &M, &D);
    if (y < 1 || y > 9999) return 0;
    int k = snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d", (int)y, M, D,
                     (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60));
    int f = (int)(rem % 1000);
    if (f) {
        char fr[4];
        snprintf(fr, sizeof(fr), "%03d", f);
        if (fr[2] == '0') fr[2] = '\0';
        if (fr[1] == '0' && fr[2] == '\0') fr[1] = '\0';
        k += snprintf(out + k, (size_t)(48 - k), ".%s", fr);
    }
    snprintf(out + k, (size_t)(48 - k), "Z");
    return 1;
}

static void put_escaped(sbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    sb_putn(b, "\"", 1);
    size_t run = 0; /* start of the pending run of bytes written as they are */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        size_t skip = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        } else if (c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0x85) {
            esc = "\\u0085";
            skip = 2;
        } else if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            esc = (unsigned char)s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (esc) {
            sb_putn(b, s + run, i - run);
            sb_puts(b, esc);
            i += skip - 1;
            run = i + 1;
        }
    }
    sb_putn(b, s + run, n - run);
    sb_putn(b, "\"", 1);
}

static void put_string(sbuf *b, const char *s, size_t n) {
    char d[48];
    if (date_like(s, n, d) || ms_date(s, n, d)) put_escaped(b, d, strlen(d));
    else put_escaped(b, s, n);
}

/* A double as .NET's round-trip format writes it, then Newtonsoft's rule
 * that a real always shows a decimal point or an exponent. */
static void put_real(sbuf *b, double v) {
    char tmp[40], dig[24], out[64];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    if (prec > 17) snprintf(tmp, sizeof(tmp), "%.16e", v);
    const char *p = tmp;
    int neg = 0, nd = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < (int)sizeof(dig) - 1) dig[nd++] = *p;
    dig[nd] = '\0';
    int exp = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && dig[nd - 1] == '0') dig[--nd] = '\0';
    size_t k = 0;
    if (neg) out[k++] = '-';
    if (exp >= 15 || exp < -4) {
        out[k++] = dig[0];
        if (nd > 1) {
            out[k++] = '.';
            for (int i = 1; i < nd; i++) out[k++] = dig[i];
        }
        snprintf(out + k, sizeof(out) - k, "E%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp >= 0) {
        for (int i = 0; i <= exp || i < nd; i++) {
            if (i == exp + 1) out[k++] = '.';
            out[k++] = i < nd ? dig[i] : '0';
        }
        if (nd <= exp + 1) {
            out[k++] = '.';
            out[k++] = '0';
        }
        out[k] = '\0';
    } else {
        out[k++] = '0';
        out[k++] = '.';
        for (int i = 0; i < -exp - 1; i++) out[k++] = '0';
        for (int i = 0; i < nd; i++) out[k++] = dig[i];
        out[k] = '\0';
    }
    sb_puts(b, out);
}

/* Iterative walk (no recursion: nesting depth is bounded only by memory). */
typedef struct {
    const json_t *v;
    void *iter;   /* objects */
    size_t index; /* arrays */
} frame;

static void put_value(sbuf *b, const json_t *root) {
    frame *st = NULL;
    size_t n = 0, cap = 0;
    const json_t *v = root;
    for (;;) {
        /* write v (scalars completely, containers' opening) */
        if (v) {
            switch (json_typeof(v)) {
            case JSON_OBJECT:
            case JSON_ARRAY:
                if (n == cap) {
                    size_t ncap = cap ? cap * 2 : 16;
                    frame *ns = ncap > SIZE_MAX / sizeof(*ns) ? NULL : realloc(st, ncap * sizeof(*ns));
                    if (!ns) {
                        b->oom = 1;
                        free(st);
                        return;
                    }
                    st = ns;
                    cap = ncap;
                }
                st[n].v = v;
                st[n].iter = json_is_object(v) ? json_object_iter((json_t *)v) : NULL;
                st[n].index = 0;
                n++;
                sb_putn(b, json_is_object(v) ? "{" : "[", 1);
                break;
            case JSON_STRING:
                put_string(b, json_string_value(v), json_string_length(v));
                break;
            case JSON_INTEGER: {
                char t[32];
                snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                sb_puts(b, t);
                break;
            }
            case JSON_REAL:
                put_real(b, json_real_value(v));
                break;
            case JSON_TRUE:
                sb_puts(b, "true");
                break;
            case JSON_FALSE:
                sb_puts(b, "false");
                break;
            case JSON_NULL:
                sb_puts(b, "null");
                break;
            }
            v = NULL;
        }
        if (n == 0 || b->oom) break;
        /* next child of the innermost open container */
        frame *f = &st[n - 1];
        if (json_is_object(f->v)) {
            if (!f->iter) {
                sb_putn(b, "}", 1);
                n--;
                continue;
            }
            if (f->index++ > 0) sb_putn(b, ",", 1);
            const char *key = json_object_iter_key(f->iter);
            put_escaped(b, key, strlen(key));
            sb_putn(b, ":", 1);
            v = json_object_iter_value(f->iter);
            f->iter = json_object_iter_next((json_t *)f->v, f->iter);
        } else {
            if (f->index >= json_array_size(f->v)) {
                sb_putn(b, "]", 1);
                n--;
                continue;
            }
            if (f->index > 0) sb_putn(b, ",", 1);
            v = json_array_get(f->v, f->index++);
        }
    }
    free(st);
}

char *tm_json_compact(const json_t *v) {
    sbuf b = {0};
    if (!v) return NULL;
    put_value(&b, v);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

/* ----------------------------------------------------------------- event */


/* A short printable rendering of a string for messages: at most 60
 * characters, control characters as '?', "..." when cut. */
static void quote_short(const char *s, size_t n, char *out, size_t outsz) {
    size_t k = 0, lim = outsz - 4;
    for (size_t i = 0; i < n && k < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
        if (k >= 60 && i + 1 < n) {
            /* do not cut in the middle of a UTF-8 sequence */
            while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) k--;
            if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0) k--;
            memcpy(out + k, "...", 3);
            k += 3;
            break;
        }
    }
    out[k] = '\0';
}

/* The string member `key` of rec, validated.  Returns 0, or fills err. */
static int required_string(const json_t *rec, const char *key, const char **out, tm_error *err) {
    json_t *v = json_object_get(rec, key);
    if (!v || json_is_null(v)) return tm_error_set(err, TM_EPARSE, "no %s", key);
    if (!json_is_string(v))
        return tm_error_set(err, TM_EPARSE, "%s is %s, not a string", key, tm_value_type_phrase(v));
    if (json_string_length(v) == 0) return tm_error_set(err, TM_EPARSE, "%s is empty", key);
    *out = json_string_value(v);
    return 0;
}

static const char *optional_string(const json_t *rec, const char *key, const char *dflt) {
    json_t *v = json_object_get(rec, key);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int derive(tm_event *e) {
    json_t *rp = json_object_get(e->json, "requestParameters");
    if (!rp || json_is_null(rp) || (json_is_string(rp) && json_string_length(rp) == 0)) return 0;
    e->rp_json = tm_json_compact(rp);
    if (!e->rp_json) return TM_ENOMEM;
    if (!json_is_object(rp)) return 0;
    e->rp = rp;
    size_t n = json_object_size(rp);
    if (n == 0) return 0;
    e->keys = malloc(n * sizeof(*e->keys));
    e->empty_keys = malloc(n * sizeof(*e->empty_keys));
    if (!e->keys || !e->empty_keys) return TM_ENOMEM;
    const char *k;
    json_t *v;
    json_object_foreach(rp, k, v) {
        e->keys[e->nkeys++] = k;
        if ((json_is_object(v) && json_object_size(v) == 0) ||
            (json_is_string(v) && json_string_length(v) == 0))
            e->empty_keys[e->nempty_keys++] = k;
    }
    return 0;
}

int tm_event_from_json(json_t *rec, const char *text, size_t len, tm_event **out, tm_error *err) {
    const char *tstr, *source, *name;
    int rc;
    *out = NULL;
    if (!rec) return tm_error_set(err, TM_EINVAL, "no record");
    if (!json_is_object(rec)) {
        rc = tm_error_set(err, TM_EPARSE, "the record is %s, not a JSON object", tm_value_type_phrase(rec));
        json_decref(rec);
        return rc;
    }
    /* Logstash's cloudtrail codec moves eventTime to @timestamp */
    const char *tkey = !json_object_get(rec, "eventTime") && json_object_get(rec, "@timestamp") ? "@timestamp"
                                                                                                : "eventTime";
    if ((rc = required_string(rec, tkey, &tstr, err)) != 0) {
        if (rc == TM_EPARSE && json_is_string(json_object_get(rec, tkey)))
            tm_error_set(err, TM_EPARSE, "%s \"\" is not a time", tkey);
        json_decref(rec);
        return rc;
    }
    int64_t ms;
    json_t *tv = json_object_get(rec, tkey);
    if (strlen(tstr) != json_string_length(tv) || tm_time_parse(tstr, &ms) != 0) {
        char q[80];
        quote_short(tstr, json_string_length(tv), q, sizeof(q));
        rc = tm_error_set(err, TM_EPARSE, "%s \"%s\" is not a time", tkey, q);
        json_decref(rec);
        return rc;
    }
    if ((rc = required_string(rec, "eventSource", &source, err)) != 0 ||
        (rc = required_string(rec, "eventName", &name, err)) != 0) {
        json_decref(rec);
        return rc;
    }

    tm_event *e = calloc(1, sizeof(*e));
    if (!e) {
        json_decref(rec);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    e->json = rec;
    e->time_ms = ms;
    e->id = optional_string(rec, "eventID", "");
    e->source = source;
    e->name = name;
    e->region = optional_string(rec, "awsRegion", "");
    e->ua = optional_string(rec, "userAgent", NULL);

    e->raw = malloc(len + 1);
    size_t slen = strcspn(source, ".");
    size_t nlen = strlen(name);
    e->name_full = malloc(slen + 1 + nlen + 1);
    if (!e->raw || !e->name_full) goto oom;
    if (len) memcpy(e->raw, text, len);
    e->raw[len] = '\0';
    e->raw_len = len;
    memcpy(e->name_full, source, slen);
    e->name_full[slen] = ':';
    memcpy(e->name_full + slen + 1, name, nlen + 1);
    if (derive(e) != 0) goto oom;
    *out = e;
    return 0;
oom:
    tm_event_free(e);
    return tm_error_set(err, TM_ENOMEM, "out of memory");
}

int tm_event_from_text(const char *text, size_t len, tm_event **out, tm_error *err) {
    json_error_t je;
    *out = NULL;
    json_t *rec = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (!rec)
        return tm_error_set(err, TM_EPARSE, "not JSON: %s (line %d, column %d)", je.text, je.line,
                            je.column);
    return tm_event_from_json(rec, text, len, out, err);
}

void tm_event_free(tm_event *e) {
    if (!e) return;
    free(e->raw);
    free(e->name_full);
    free(e->rp_json);
    free(e->keys);
    free(e->empty_keys);
    free(e->session);
    json_decref(e->json);
    free(e);
}

json_t *tm_event_get(const tm_event *e, const char *path) {
    if (!e || !path) return NULL;
    json_t *cur = e->json;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, p, n);
        } else if (json_is_array(cur) && n > 0 && n < 10 && strspn(p, "0123456789") >= n) {
            size_t idx = 0;
            for (size_t i = 0; i < n; i++) idx = idx * 10 + (size_t)(p[i] - '0');
            cur = json_array_get(cur, idx);
        } else {
            return NULL;
        }
        if (!cur || !dot) return cur;
        p = dot + 1;
    }
}

/* ------------------------------------------------------------ event vector */

int tm_eventvec_push(tm_eventvec *vec, tm_event *e) {
    if (vec->n == vec->cap) {
        size_t ncap = vec->cap ? vec->cap * 2 : 64;
        tm_event **nv = ncap > SIZE_MAX / sizeof(*nv) ? NULL : realloc(vec->v, ncap * sizeof(*nv));
        if (!nv) return TM_ENOMEM;
        vec->v = nv;
        vec->cap = ncap;
    }
    vec->v[vec->n++] = e;
    return 0;
}

void tm_eventvec_free(tm_eventvec *vec) {
    if (!vec) return;
    for (size_t i = 0; i < vec->n; i++) tm_event_free(vec->v[i]);
    free(vec->v);
    vec->v = NULL;
    vec->n = vec->cap = 0;
}

static int ev_cmp(const tm_event *a, const tm_event *b) {
    if (a->time_ms != b->time_ms) return a->time_ms < b->time_ms ? -1 : 1;
    return strcmp(a->id, b->id);
}

static int ev_qcmp(const void *x, const void *y) {
    return ev_cmp(*(tm_event *const *)x, *(tm_event *const *)y);
}

/* Stable merge sort (bottom-up), so equal (time, id) keep input order and
 * the copy kept of a duplicate is the first one received. */
static void sort_events(tm_event **v, size_t n) {
    if (n < 2) return;
    tm_event **tmp = n > SIZE_MAX / sizeof(*tmp) ? NULL : malloc(n * sizeof(*tmp));
    if (!tmp) {
        qsort(v, n, sizeof(*v), ev_qcmp); /* not stable, but sorted */
        return;
    }
    tm_event **src = v, **dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = ev_cmp(src[j], src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        tm_event **t = src;
        src = dst;
        dst = t;
        if (w > SIZE_MAX / 2) break;
    }
    if (src != v) memcpy(v, src, n * sizeof(*v));
    free(tmp);
}

/* FNV-1a over s and its terminating NUL, so ("ab","c") != ("a","bc"). */
static uint64_t fnv(uint64_t h, const char *s) { return tm_fnv_bytes(h, s, strlen(s) + 1); }

const char *tm_event_principal(const tm_event *e) {
    static const char *const paths[] = {"userIdentity.arn", "userIdentity.principalId", "userIdentity.accessKeyId"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
        const char *s = json_string_value(tm_event_get(e, paths[i]));
        if (s && *s) return s;
    }
    return "";
}

int tm_event_same(const tm_event *a, const tm_event *b) {
    return a->time_ms == b->time_ms && strcmp(a->id, b->id) == 0 && strcmp(a->source, b->source) == 0 &&
           strcmp(a->name, b->name) == 0 && strcmp(tm_event_principal(a), tm_event_principal(b)) == 0;
}

static uint64_t same_hash(const tm_event *e) {
    uint64_t h = fnv(TM_FNV_OFFSET, e->id);
    h = tm_fnv_bytes(h, &e->time_ms, sizeof(e->time_ms));
    return fnv(fnv(fnv(h, e->source), e->name), tm_event_principal(e));
}

/* Open addressing over kept events: `same` finds a copy of e, else the id
 * finds an event that shares e's id and says something else. */
typedef struct seen {
    tm_event **ev;
    size_t cap;
} seen;

static int seen_init(seen *s, size_t n) {
    s->cap = 16;
    while (s->cap < n * 2 && s->cap < SIZE_MAX / 4 / sizeof(*s->ev)) s->cap *= 2;
    s->ev = calloc(s->cap, sizeof(*s->ev));
    return s->ev ? 0 : -1;
}

/* Returns the copy of e already kept, or NULL after keeping e. */
static tm_event *seen_same(seen *s, tm_event *e) {
    size_t h = (size_t)same_hash(e) & (s->cap - 1);
    while (s->ev[h] && !tm_event_same(s->ev[h], e)) h = (h + 1) & (s->cap - 1);
    if (s->ev[h]) return s->ev[h];
    s->ev[h] = e;
    return NULL;
}

/* Whether an event with e's id was kept before (and keeps e's id). */
static int seen_id(seen *s, tm_event *e) {
    size_t h = (size_t)fnv(TM_FNV_OFFSET, e->id) & (s->cap - 1);
    while (s->ev[h] && strcmp(s->ev[h]->id, e->id) != 0) h = (h + 1) & (s->cap - 1);
    if (s->ev[h]) return 1;
    s->ev[h] = e;
    return 0;
}

size_t tm_eventvec_sort_dedupe(tm_eventvec *vec) { return tm_eventvec_sort_dedupe_report(vec, NULL); }

size_t tm_eventvec_sort_dedupe_report(tm_eventvec *vec, tm_dedupe_report *rep) {
    size_t n = vec->n, removed = 0, k = 0;
    sort_events(vec->v, n);
    seen same = {0}, ids = {0};
    int have = seen_init(&same, n) == 0 && seen_init(&ids, n) == 0;
    if (rep) memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < n; i++) {
        tm_event *e = vec->v[i];
        int dup = 0;
        if (e->id[0] != '\0') {
            if (have) {
                dup = seen_same(&same, e) != NULL;
                if (!dup && seen_id(&ids, e) && rep && rep->clashes++ < TM_DEDUPE_IDS) rep->ids[rep->nids++] = e->id;
            } else {
                /* no memory for the sets: copies of one event are adjacent
                 * unless another of the same time and id lies between them */
                dup = k > 0 && tm_event_same(vec->v[k - 1], e);
            }
        }
        if (dup) {
            tm_event_free(e);
            removed++;
        } else {
            vec->v[k++] = e;
        }
    }
    free(same.ev);
    free(ids.ev);
    vec->n = k;
    return removed;
}

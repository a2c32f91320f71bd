/* builtin_time.c: date and time built-ins.
 *
 *   "parse_time"   each item (text or epoch milliseconds) -> an ISO string
 *   "timespan"     [start, end] -> the span in words ("30 minutes")
 *   "span_ms"      [start, end] -> end - start in milliseconds
 * (the range is the items [start, end], or two earlier vars named by the
 * arguments "start" and "end")
 *   "format_time"  each ISO item -> text in a .NET-style custom format
 *
 * Times are kept as 100-ns ticks of a wall clock since 1970-01-01 plus a
 * kind, the way .NET's DateTime carries them:
 *   unspecified  no zone known: written with no suffix ("2023-12-17T02:12:45")
 *   utc          written with "Z"
 *   local        wall time of America/New_York, written with its offset
 *                ("2023-12-17T02:12:45-05:00")
 * The reference ran on a machine in America/New_York; its conversions
 * between local time and UTC are reproduced with the US daylight-saving
 * rules, coded here so that the host's time-zone database never matters. */
#include "builtins.h"
#include "calendar.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TICKS_PER_SEC INT64_C(10000000)
#define TICKS_PER_MS INT64_C(10000)
#define TICKS_PER_MIN (60 * TICKS_PER_SEC)
#define TICKS_PER_HOUR (3600 * TICKS_PER_SEC)
#define TICKS_PER_DAY (86400 * TICKS_PER_SEC)

enum { KIND_UNSPEC = 0, KIND_UTC = 1, KIND_LOCAL = 2 };

typedef struct tm_dt {
    int64_t t; /* wall-clock ticks since 1970-01-01T00:00:00 */
    int kind;
} tm_dt;

/* ---- calendar ---------------------------------------------------------- */


static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

typedef struct parts {
    int y, mo, d, h, mi, s;
    int64_t frac; /* ticks below one second */
    int dow;      /* 0 = Sunday */
} parts;

static void split_ticks(int64_t t, parts *p) {
    int64_t days = floor_div(t, TICKS_PER_DAY);
    int64_t rem = t - days * TICKS_PER_DAY;
    int64_t y;
    tm_civil_from_days(days, &y, &p->mo, &p->d);
    p->y = (int)y;
    p->h = (int)(rem / TICKS_PER_HOUR);
    rem %= TICKS_PER_HOUR;
    p->mi = (int)(rem / TICKS_PER_MIN);
    rem %= TICKS_PER_MIN;
    p->s = (int)(rem / TICKS_PER_SEC);
    p->frac = rem % TICKS_PER_SEC;
    p->dow = (int)(((days % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
}

static int64_t make_ticks(int y, int mo, int d, int h, int mi, int s, int64_t frac) {
    return tm_days_from_civil(y, mo, d) * TICKS_PER_DAY + h * TICKS_PER_HOUR + mi * TICKS_PER_MIN +
           s * TICKS_PER_SEC + frac;
}

/* ---- America/New_York -------------------------------------------------- */

/* Day of month of the n-th Sunday (n >= 1) of a month, or of the last one
 * when n == 0. */
static int nth_sunday(int y, int mo, int n) {
    int64_t first = tm_days_from_civil(y, mo, 1);
    int dow = (int)(((first % 7) + 7 + 4) % 7);
    int d = 1 + (7 - dow) % 7; /* first Sunday */
    if (n > 0) return d + 7 * (n - 1);
    while (d + 7 <= tm_days_in_month(y, mo)) d += 7;
    return d;
}

/* The local days on which daylight time starts and ends in year y (the
 * switch happens at 02:00 local).  From 2007: second Sunday of March to
 * first Sunday of November; before (the 1987 rule, also used for older
 * years here): first Sunday of April to last Sunday of October. */
static void dst_days(int y, int *smo, int *sd, int *emo, int *ed) {
    if (y >= 2007) {
        *smo = 3, *sd = nth_sunday(y, 3, 2);
        *emo = 11, *ed = nth_sunday(y, 11, 1);
    } else {
        *smo = 4, *sd = nth_sunday(y, 4, 1);
        *emo = 10, *ed = nth_sunday(y, 10, 0);
    }
}

/* UTC offset in minutes of New York at a UTC instant. */
static int ny_offset_at_utc(int64_t utc) {
    parts p;
    split_ticks(utc, &p);
    int smo, sd, emo, ed;
    dst_days(p.y, &smo, &sd, &emo, &ed);
    int64_t start = make_ticks(p.y, smo, sd, 7, 0, 0, 0); /* 02:00 EST */
    int64_t end = make_ticks(p.y, emo, ed, 6, 0, 0, 0);   /* 02:00 EDT */
    return (utc >= start && utc < end) ? -240 : -300;
}

/* UTC offset in minutes of a New York wall time.  As .NET does, a time in
 * the skipped spring hour and a time in the repeated autumn hour are both
 * taken as standard time. */
static int ny_offset_of_local(int64_t local) {
    parts p;
    split_ticks(local, &p);
    int smo, sd, emo, ed;
    dst_days(p.y, &smo, &sd, &emo, &ed);
    int64_t start = make_ticks(p.y, smo, sd, 3, 0, 0, 0);
    int64_t end = make_ticks(p.y, emo, ed, 1, 0, 0, 0);
    return (local >= start && local < end) ? -240 : -300;
}

static int64_t to_utc(tm_dt v, int unspec_is_local) {
    if (v.kind == KIND_UTC) return v.t;
    if (v.kind == KIND_LOCAL || unspec_is_local)
        return v.t - (int64_t)ny_offset_of_local(v.t) * TICKS_PER_MIN;
    return v.t;
}

/* ---- parsing ----------------------------------------------------------- */

static const char *const month_names[] = {"january", "february", "march",     "april",
                                          "may",     "june",     "july",      "august",
                                          "september", "october", "november", "december"};
static const char *const day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                        "Thursday", "Friday", "Saturday"};

static int read_int(const char **s, int mindig, int maxdig, int *out) {
    const char *p = *s;
    int v = 0, n = 0;
    while (n < maxdig && isdigit((unsigned char)*p)) v = v * 10 + (*p++ - '0'), n++;
    if (n < mindig) return -1;
    *s = p;
    *out = v;
    return 0;
}

/* Skips blanks, including the no-break spaces (U+00A0, U+202F) newer
 * en-US formats put before "AM"/"PM". */
static void skip_spaces(const char **s) {
    for (;;) {
        const unsigned char *p = (const unsigned char *)*s;
        if (*p == ' ' || *p == '\t') *s += 1;
        else if (p[0] == 0xC2 && p[1] == 0xA0) *s += 2;
        else if (p[0] == 0xE2 && p[1] == 0x80 && p[2] == 0xAF) *s += 3;
        else return;
    }
}

static int valid_date(int y, int mo, int d) {
    return y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= tm_days_in_month(y, mo);
}

/* "HH:MM[:SS[.fffffff]]" with an optional " AM"/" PM". */
static int parse_clock(const char **s, int *h, int *mi, int *sec, int64_t *frac, int allow_ampm) {
    const char *p = *s;
    *sec = 0, *frac = 0;
    if (read_int(&p, 1, 2, h) || *p != ':') return -1;
    p++;
    if (read_int(&p, 2, 2, mi)) return -1;
    if (*p == ':') {
        p++;
        if (read_int(&p, 2, 2, sec)) return -1;
        if (*p == '.' || *p == ',') {
            p++;
            if (!isdigit((unsigned char)*p)) return -1;
            int64_t scale = TICKS_PER_SEC / 10;
            while (isdigit((unsigned char)*p)) {
                *frac += (*p - '0') * scale;
                scale /= 10;
                p++;
            }
        }
    }
    if (allow_ampm) {
        const char *q = p;
        skip_spaces(&q);
        if ((toupper((unsigned char)q[0]) == 'A' || toupper((unsigned char)q[0]) == 'P') &&
            toupper((unsigned char)q[1]) == 'M' && !isalnum((unsigned char)q[2])) {
            if (*h < 1 || *h > 12) return -1;
            int pm = toupper((unsigned char)q[0]) == 'P';
            *h = (*h % 12) + (pm ? 12 : 0);
            p = q + 2;
        }
    }
    if (*h > 23 || *mi > 59 || *sec > 59) return -1;
    *s = p;
    return 0;
}

/* A zone suffix: "Z", "+hh:mm", "+hhmm", "+hh"; sets *kind and *off_min. */
static int parse_zone(const char **s, int *kind, int *off_min) {
    const char *p = *s;
    if (*p == 'Z' || *p == 'z') {
        *kind = KIND_UTC, *off_min = 0;
        *s = p + 1;
        return 0;
    }
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, hh, mm = 0;
        p++;
        if (read_int(&p, 2, 2, &hh)) return -1;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p) && read_int(&p, 2, 2, &mm)) return -1;
        if (hh > 14 || mm > 59) return -1;
        *kind = KIND_LOCAL, *off_min = sign * (hh * 60 + mm);
        *s = p;
        return 0;
    }
    *kind = KIND_UNSPEC, *off_min = 0;
    return 0;
}

static int finish(const char *p, int y, int mo, int d, int h, int mi, int sec, int64_t frac,
                  int kind, int off, tm_dt *out) {
    skip_spaces(&p);
    if (*p) return -1;
    if (!valid_date(y, mo, d)) return -1;
    int64_t t = make_ticks(y, mo, d, h, mi, sec, frac);
    if (kind == KIND_LOCAL) {
        /* An explicit offset: the instant, seen on the New York clock. */
        int64_t utc = t - (int64_t)off * TICKS_PER_MIN;
        t = utc + (int64_t)ny_offset_at_utc(utc) * TICKS_PER_MIN;
    }
    out->t = t;
    out->kind = kind;
    return 0;
}

/* ISO 8601: "YYYY-MM-DD[(T| )HH:MM[:SS[.f]]][Z|±hh:mm]". */
static int parse_iso(const char *s, tm_dt *out) {
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0, kind = KIND_UNSPEC, off = 0;
    int64_t frac = 0;
    skip_spaces(&p);
    if (read_int(&p, 4, 4, &y) || *p++ != '-' || read_int(&p, 1, 2, &mo) || *p++ != '-' ||
        read_int(&p, 1, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || (*p == ' ' && isdigit((unsigned char)p[1]))) {
        p++;
        if (parse_clock(&p, &h, &mi, &sec, &frac, 0)) return -1;
        if (parse_zone(&p, &kind, &off)) return -1;
    }
    return finish(p, y, mo, d, h, mi, sec, frac, kind, off, out);
}

static int month_from_name(const char **s) {
    const char *p = *s;
    size_t n = 0;
    while (isalpha((unsigned char)p[n])) n++;
    if (n < 3) return 0;
    for (int i = 0; i < 12; i++) {
        size_t full = strlen(month_names[i]);
        if ((n == 3 || n == full) && n <= full && strncasecmp(p, month_names[i], n) == 0) {
            *s = p + n;
            if (n == 3 && **s == '.') (*s)++;
            return i + 1;
        }
    }
    return 0;
}

/* en-US text: "Dec 17, 2023, 2:12:45 AM", "December 17, 2023 2:12 PM",
 * "12/17/2023 2:12:45 AM", each with or without a leading weekday and with
 * or without the time. */
static int parse_enus(const char *s, tm_dt *out) {
    const char *p = s;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    skip_spaces(&p);
    for (int i = 0; i < 7; i++) { /* optional weekday */
        size_t n = strlen(day_names[i]);
        if (strncasecmp(p, day_names[i], n) == 0) { p += n; break; }
        if (strncasecmp(p, day_names[i], 3) == 0 && !isalpha((unsigned char)p[3])) { p += 3; break; }
    }
    if (*p == ',') p++;
    skip_spaces(&p);
    if (isalpha((unsigned char)*p)) {
        if (!(mo = month_from_name(&p))) return -1;
        skip_spaces(&p);
        if (read_int(&p, 1, 2, &d)) return -1;
        if (*p == ',') p++;
        skip_spaces(&p);
        if (read_int(&p, 4, 4, &y)) return -1;
    } else {
        if (read_int(&p, 1, 2, &mo) || *p++ != '/' || read_int(&p, 1, 2, &d) || *p++ != '/' ||
            read_int(&p, 4, 4, &y))
            return -1;
    }
    if (*p == ',') p++;
    skip_spaces(&p);
    if (*p && parse_clock(&p, &h, &mi, &sec, &frac, 1)) return -1;
    int kind = KIND_UNSPEC, off = 0;
    skip_spaces(&p);
    if (parse_zone(&p, &kind, &off)) return -1;
    return finish(p, y, mo, d, h, mi, sec, frac, kind, off, out);
}

static int from_epoch_ms(double ms, tm_dt *out) {
    if (!isfinite(ms) || ms < -62135596800000.0 || ms > 253402300799999.0) return -1;
    out->t = (int64_t)llround(ms) * TICKS_PER_MS;
    out->kind = KIND_UTC;
    return 0;
}

/* Any accepted form of one item; -1 when it is not a time. */
static int parse_any(const json_t *v, tm_dt *out) {
    if (json_is_integer(v)) return from_epoch_ms((double)json_integer_value(v), out);
    if (json_is_real(v)) return from_epoch_ms(json_real_value(v), out);
    if (!json_is_string(v)) return -1;
    const char *s = json_string_value(v);
    const char *p = s;
    if (*p == '-') p++;
    if (*p && strspn(p, "0123456789") == strlen(p) && strlen(p) >= 5)
        return from_epoch_ms(strtod(s, NULL), out);
    if (parse_iso(s, out) == 0) return 0;
    return parse_enus(s, out);
}

/* ---- formatting -------------------------------------------------------- */

/* ISO text as the reference's JSON writer produced it: fraction digits with
 * trailing zeros removed (none when zero), then the kind's suffix. */
static void format_iso(tm_dt v, int keep_frac, char *buf, size_t len) {
    parts p;
    split_ticks(v.t, &p);
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", p.y, p.mo, p.d, p.h, p.mi, p.s);
    if (keep_frac && p.frac) {
        char f[8];
        snprintf(f, sizeof(f), "%07lld", (long long)p.frac);
        for (int i = 6; i > 0 && f[i] == '0'; i--) f[i] = 0;
        n += snprintf(buf + n, len - (size_t)n, ".%s", f);
    }
    if (v.kind == KIND_UTC) {
        snprintf(buf + n, len - (size_t)n, "Z");
    } else if (v.kind == KIND_LOCAL) {
        int off = ny_offset_of_local(v.t);
        int a = off < 0 ? -off : off;
        snprintf(buf + n, len - (size_t)n, "%c%02d:%02d", off < 0 ? '-' : '+', a / 60, a % 60);
    }
}

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_putn(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->n + n + 1) nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) { b->oom = 1; return; }
        b->s = ns, b->cap = nc;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_num(sbuf *b, long long v, int width) {
    char t[32];
    snprintf(t, sizeof(t), "%0*lld", width, v);
    sb_puts(b, t);
}

/* .NET custom date format, the specifiers a rule may need: y, M, d, H, h,
 * m, s, f, F, t, K, z (repeated as in .NET), '...' and "..." literals, \x.
 * Every other character is copied (so "Z" and "T" are literals). */
static char *format_custom(tm_dt v, const char *fmt) {
    static const char *const mon_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const char *const mon_full[] = {"January", "February", "March",     "April",
                                           "May",     "June",     "July",      "August",
                                           "September", "October", "November", "December"};
    parts p;
    split_ticks(v.t, &p);
    sbuf b = {0};
    sb_puts(&b, "");
    for (const char *f = fmt; *f;) {
        char c = *f;
        size_t r = 1;
        while (f[r] == c) r++;
        switch (c) {
        case 'y':
            if (r <= 2) sb_num(&b, p.y % 100, (int)r);
            else sb_num(&b, p.y, (int)r);
            break;
        case 'M':
            if (r >= 4) sb_puts(&b, mon_full[p.mo - 1]);
            else if (r == 3) sb_puts(&b, mon_abbr[p.mo - 1]);
            else sb_num(&b, p.mo, (int)r);
            break;
        case 'd':
            if (r >= 4) sb_puts(&b, day_names[p.dow]);
            else if (r == 3) sb_putn(&b, day_names[p.dow], 3);
            else sb_num(&b, p.d, (int)r);
            break;
        case 'H': sb_num(&b, p.h, r > 1 ? 2 : 1); break;
        case 'h': sb_num(&b, p.h % 12 ? p.h % 12 : 12, r > 1 ? 2 : 1); break;
        case 'm': sb_num(&b, p.mi, r > 1 ? 2 : 1); break;
        case 's': sb_num(&b, p.s, r > 1 ? 2 : 1); break;
        case 'f':
        case 'F': {
            size_t k = r > 7 ? 7 : r;
            char t[8];
            snprintf(t, sizeof(t), "%07lld", (long long)p.frac);
            t[k] = 0;
            if (c == 'F') {
                for (int i = (int)k - 1; i >= 0 && t[i] == '0'; i--) t[i] = 0;
                if (!t[0] && b.n && b.s[b.n - 1] == '.') b.s[--b.n] = 0; /* drop a bare '.' */
            }
            sb_puts(&b, t);
            break;
        }
        case 't':
            sb_putn(&b, p.h < 12 ? "AM" : "PM", r > 1 ? 2 : 1);
            break;
        case 'K':
        case 'z': {
            r = c == 'K' ? 1 : r;
            if (c == 'K' && v.kind == KIND_UNSPEC) break;
            if (c == 'K' && v.kind == KIND_UTC) { sb_puts(&b, "Z"); break; }
            int off = v.kind == KIND_UTC ? 0 : ny_offset_of_local(v.t);
            if (c == 'z' && v.kind == KIND_UNSPEC) off = ny_offset_of_local(v.t);
            int a = off < 0 ? -off : off;
            sb_putn(&b, off < 0 ? "-" : "+", 1);
            if (c == 'K' || r >= 3) {
                sb_num(&b, a / 60, 2);
                sb_puts(&b, ":");
                sb_num(&b, a % 60, 2);
            } else {
                sb_num(&b, a / 60, r == 1 ? 1 : 2);
            }
            break;
        }
        case '\'':
        case '"': {
            const char *e = strchr(f + 1, c);
            size_t n = e ? (size_t)(e - f - 1) : strlen(f + 1);
            sb_putn(&b, f + 1, n);
            r = n + 1 + (e ? 1 : 0);
            break;
        }
        case '\\':
            if (f[1]) sb_putn(&b, f + 1, 1), r = 2;
            else r = 1;
            break;
        default:
            sb_putn(&b, f, r);
            break;
        }
        f += r;
    }
    if (b.oom) { free(b.s); return NULL; }
    return b.s;
}

/* A double as .NET prints it by default: the shortest text that reads back
 * to the same value, fixed notation for decimal exponents -4..14, else
 * "d.dddE+XX". */
static void format_double(double x, char *out, size_t len) {
    if (x == 0) { snprintf(out, len, "0"); return; }
    if (!isfinite(x)) { snprintf(out, len, isnan(x) ? "NaN" : (x > 0 ? "∞" : "-∞")); return; }
    char e[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(e, sizeof(e), "%.*e", prec - 1, x);
        if (strtod(e, NULL) == x) break;
    }
    /* e is "-d.ddde±XX": collect digits and exponent */
    char digits[24];
    int nd = 0, neg = 0;
    const char *p = e;
    if (*p == '-') neg = 1, p++;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    digits[nd] = 0;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = 0;
    size_t n = 0;
    if (neg) out[n++] = '-';
    if (exp10 > -5 && exp10 < 15) {
        if (exp10 < 0) {
            out[n++] = '0', out[n++] = '.';
            for (int i = 0; i < -exp10 - 1; i++) out[n++] = '0';
            for (int i = 0; i < nd; i++) out[n++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++) out[n++] = i < nd ? digits[i] : '0';
            if (nd > exp10 + 1) {
                out[n++] = '.';
                for (int i = exp10 + 1; i < nd; i++) out[n++] = digits[i];
            }
        }
        out[n] = 0;
    } else {
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            for (int i = 1; i < nd; i++) out[n++] = digits[i];
        }
        snprintf(out + n, len - n, "E%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
}

/* ---- built-ins --------------------------------------------------------- */

static int bad_arg(tm_error *err, const char *fn, const char *what) {
    return tm_error_set(err, TM_EINVAL, "%s: %s", fn, what);
}

static int push_new(json_t *arr, json_t *v, tm_error *err) {
    if (!v || json_array_append_new(arr, v)) return tm_error_set(err, TM_ENOMEM, "out of memory");
    return 0;
}

/* {"fn": "parse_time", "zone": "unspecified"|"utc"|"new_york", "ms": bool}
 * Each item: en-US date text ("Dec 17, 2023, 2:12:45 AM"), ISO-8601, or a
 * number (or all-digit text) of epoch milliseconds.  Output: ISO text.
 * zone "unspecified" (default): text without a zone stays without one;
 *   ISO with "Z" stays UTC; ISO with an offset becomes New York local time
 *   with its offset; epoch milliseconds are UTC.
 * zone "utc": text without a zone is taken as UTC; everything ends in "Z".
 * zone "new_york": text without a zone is taken as New York wall time and
 *   converted to UTC ("Z"), as .NET's ToUniversalTime did on the reference's
 *   machine.
 * "ms": true keeps the fraction of a second (trailing zeros trimmed);
 * otherwise it is cut.  Null items and items that are not times are
 * dropped. */
int tm_fn_parse_time(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                     tm_error *err) {
    (void)ctx;
    const json_t *zone = json_object_get(step, "zone");
    const json_t *ms = json_object_get(step, "ms");
    int mode = 0;
    if (zone) {
        const char *z = json_string_value(zone);
        if (!z) return bad_arg(err, "parse_time", "\"zone\" must be a string");
        if (strcmp(z, "unspecified") == 0) mode = 0;
        else if (strcmp(z, "utc") == 0) mode = 1;
        else if (strcmp(z, "new_york") == 0) mode = 2;
        else return bad_arg(err, "parse_time", "\"zone\" must be unspecified, utc or new_york");
    }
    if (ms && !json_is_boolean(ms)) return bad_arg(err, "parse_time", "\"ms\" must be true or false");
    int keep = ms && json_is_true(ms);
    json_t *res = json_array();
    if (!res) return tm_error_set(err, TM_ENOMEM, "out of memory");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        tm_dt v;
        if (parse_any(it, &v)) continue;
        if (mode == 1 || mode == 2) {
            v.t = to_utc(v, mode == 2);
            v.kind = KIND_UTC;
        }
        if (!keep) v.t -= ((v.t % TICKS_PER_SEC) + TICKS_PER_SEC) % TICKS_PER_SEC;
        char buf[64];
        format_iso(v, keep, buf, sizeof(buf));
        int rc = push_new(res, json_string(buf), err);
        if (rc) { json_decref(res); return rc; }
    }
    *out = res;
    return 0;
}

/* The value of var `name` (its first item when it is a list), or NULL. */
static const json_t *var_value(const tm_fnctx *ctx, const char *name) {
    const json_t *v = ctx && ctx->vars ? json_object_get(ctx->vars, name) : NULL;
    if (json_is_array(v)) v = json_array_get(v, 0);
    return v;
}

/* Checks the optional "start"/"end" arguments (names of earlier vars). */
static int check_range_args(const json_t *step, const char *fn, tm_error *err) {
    const json_t *s = json_object_get(step, "start"), *e = json_object_get(step, "end");
    if (!s && !e) return 0;
    if (!json_is_string(s) || !json_is_string(e))
        return bad_arg(err, fn, "\"start\" and \"end\" go together and name vars");
    return 0;
}

/* The two wall clocks of the range: the vars named by "start" and "end"
 * when the step has them, else items [start, end].  .NET subtracts
 * DateTimes whatever their kind (an ISO offset was already turned into New
 * York time by the reference's JSON reader).  -1 when one is missing. */
static int two_times(const json_t *step, json_t *items, const tm_fnctx *ctx, int64_t *start,
                     int64_t *end) {
    const json_t *sv, *ev;
    const json_t *sn = json_object_get(step, "start"), *en = json_object_get(step, "end");
    if (sn && en) {
        sv = var_value(ctx, json_string_value(sn));
        ev = var_value(ctx, json_string_value(en));
    } else {
        if (json_array_size(items) < 2) return -1;
        sv = json_array_get(items, 0);
        ev = json_array_get(items, 1);
    }
    tm_dt a, b;
    if (!sv || !ev || parse_any(sv, &a) || parse_any(ev, &b)) return -1;
    *start = a.t;
    *end = b.t;
    return 0;
}

static int excluded(const json_t *ex, const char *unit) {
    if (json_is_string(ex)) return strcasecmp(json_string_value(ex), unit) == 0;
    size_t i;
    json_t *v;
    json_array_foreach(ex, i, v)
        if (json_is_string(v) && strcasecmp(json_string_value(v), unit) == 0) return 1;
    return 0;
}

/* Whether the default text of d has no '.' (the reference's "whole" test). */
static int whole(double d, char *txt, size_t len) {
    format_double(d, txt, len);
    return strchr(txt, '.') == NULL;
}

/* {"fn": "timespan", "exclude": ["month", "week", ...], "start": VAR, "end": VAR}
 * Items [start, end] (or the vars named by "start" and "end") -> one text naming end - start in its largest whole
 * unit: whole calendar years, then whole calendar months (both only when
 * the day of month is the same), then 30-day months, weeks, days, hours,
 * minutes, seconds, and finally the whole days.  "exclude" removes units
 * (year, month, week, day, hour, minute, second).  Nothing when an item is
 * missing or not a time. */
int tm_fn_timespan(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                   tm_error *err) {
    static const char *const units[] = {"year", "month", "week", "day", "hour", "minute", "second"};
    const json_t *ex = json_object_get(step, "exclude");
    if (ex && !json_is_array(ex) && !json_is_string(ex))
        return bad_arg(err, "timespan", "\"exclude\" must be a list of units");
    if (ex) {
        size_t i;
        json_t *v;
        json_t *one = json_is_string(ex) ? json_pack("[O]", ex) : json_incref((json_t *)ex);
        if (!one) return tm_error_set(err, TM_ENOMEM, "out of memory");
        json_array_foreach(one, i, v) {
            int ok = 0;
            for (size_t u = 0; u < sizeof(units) / sizeof(*units); u++)
                if (json_is_string(v) && strcasecmp(json_string_value(v), units[u]) == 0) ok = 1;
            if (!ok) { json_decref(one); return bad_arg(err, "timespan", "unknown unit in \"exclude\""); }
        }
        json_decref(one);
    }
    int rc0 = check_range_args(step, "timespan", err);
    if (rc0) return rc0;
    json_t *res = json_array();
    if (!res) return tm_error_set(err, TM_ENOMEM, "out of memory");
    int64_t s, e;
    if (two_times(step, items, ctx, &s, &e) == 0) {
        parts ps, pe;
        split_ticks(s, &ps);
        split_ticks(e, &pe);
        long long months = ps.d == pe.d ? (long long)(pe.mo + pe.y * 12) - (ps.mo + ps.y * 12) : 0;
        long long years = months % 12 == 0 ? months / 12 : 0;
        int64_t span = e - s;
        double total_days = (double)span / (double)TICKS_PER_DAY;
        char text[96], num[48];
        if (!excluded(ex, "year") && years > 0)
            snprintf(text, sizeof(text), "%lld year%s", years, years == 1 ? "" : "s");
        else if (!excluded(ex, "month") && months > 0)
            snprintf(text, sizeof(text), "%lld month%s", months, months == 1 ? "" : "s");
        else if (!excluded(ex, "month") && whole(total_days / 30, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s month%s", num, total_days / 30 == 1 ? "" : "s");
        else if (!excluded(ex, "week") && whole(total_days / 7, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s week%s", num, total_days / 7 == 1 ? "" : "s");
        else if (!excluded(ex, "day") && whole(total_days, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s day%s", num, total_days == 1 ? "" : "s");
        else if (!excluded(ex, "hour") && whole((double)span / (double)TICKS_PER_HOUR, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s hour%s", num, span == TICKS_PER_HOUR ? "" : "s");
        else if (!excluded(ex, "minute") && whole((double)span / (double)TICKS_PER_MIN, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s minute%s", num, span == TICKS_PER_MIN ? "" : "s");
        else if (!excluded(ex, "second") && whole((double)span / (double)TICKS_PER_SEC, num, sizeof(num)))
            snprintf(text, sizeof(text), "%s second%s", num, span == TICKS_PER_SEC ? "" : "s");
        else {
            long long days = (long long)(span / TICKS_PER_DAY);
            snprintf(text, sizeof(text), "%lld day%s", days, days == 1 ? "" : "s");
        }
        int rc = push_new(res, json_string(text), err);
        if (rc) { json_decref(res); return rc; }
    }
    *out = res;
    return 0;
}

/* {"fn": "span_ms", "start": VAR, "end": VAR}: items [start, end] (or the
 * vars named by "start" and "end") -> one number, end - start in
 * milliseconds (an integer when whole).  Nothing when one is missing. */
int tm_fn_span_ms(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                  tm_error *err) {
    int rc0 = check_range_args(step, "span_ms", err);
    if (rc0) return rc0;
    json_t *res = json_array();
    if (!res) return tm_error_set(err, TM_ENOMEM, "out of memory");
    int64_t s, e;
    if (two_times(step, items, ctx, &s, &e) == 0) {
        int64_t span = e - s;
        json_t *v = span % TICKS_PER_MS == 0 ? json_integer((json_int_t)(span / TICKS_PER_MS))
                                             : json_real((double)span / (double)TICKS_PER_MS);
        int rc = push_new(res, v, err);
        if (rc) { json_decref(res); return rc; }
    }
    *out = res;
    return 0;
}

/* {"fn": "format_time", "format": "yyyy-MM-ddTHH:mm:ssZ"}
 * Each time item -> text in a .NET custom date format (default
 * "yyyy-MM-ddTHH:mm:ssZ", where "Z" is a literal letter, as in the
 * reference).  The item's wall clock is printed (an ISO offset is first
 * turned into New York time); "K" and "z" print its zone.  Items that are
 * not times are dropped. */
int tm_fn_format_time(const json_t *step, json_t *items, const tm_fnctx *ctx, json_t **out,
                      tm_error *err) {
    (void)ctx;
    const json_t *fj = json_object_get(step, "format");
    if (fj && !json_is_string(fj)) return bad_arg(err, "format_time", "\"format\" must be a string");
    const char *fmt = fj ? json_string_value(fj) : "yyyy-MM-ddTHH:mm:ssZ";
    json_t *res = json_array();
    if (!res) return tm_error_set(err, TM_ENOMEM, "out of memory");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        tm_dt v;
        if (parse_any(it, &v)) continue;
        char *t = format_custom(v, fmt);
        if (!t) { json_decref(res); return tm_error_set(err, TM_ENOMEM, "out of memory"); }
        int rc = push_new(res, json_string(t), err);
        free(t);
        if (rc) { json_decref(res); return rc; }
    }
    *out = res;
    return 0;
}

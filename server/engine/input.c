/* input.c: decode documents into events (see input.h).
 *
 * Detection, in this order:
 *   1. gzip (magic 1f 8b), possibly several concatenated members, is
 *      inflated and the text decoded as below;
 *   2. a UTF-8 byte order mark is skipped; a text of only whitespace holds
 *      no events and is not an error;
 *   3. the text parses as one JSON value:
 *        object with an "Events" array   aws cloudtrail lookup-events output;
 *                                        each CloudTrailEvent string is a record
 *        object with "Records"           a CloudTrail log file ("Records" must
 *                                        be an array)
 *        array                           records
 *        other object                    a single record
 *   4. otherwise it is a sequence of JSON values (JSON lines, or documents
 *      written one after another), when the first value is complete and more
 *      follows it, or when every non-blank line starts with '{'.  Each value
 *      is decoded as in 3.  A value that is not JSON is a bad record named by
 *      its line; decoding goes on at the next line;
 *   5. anything else is a document error "name:line:column: reason".
 *
 * Each record keeps its text exactly as it stood in the document: the
 * scanner (jsonscan.c) finds the span of every array element, and jansson's
 * tree of the element gives the values.  For lookup-events the record's text
 * is the decoded CloudTrailEvent string.
 *
 * Bad records go to the report as "record 12: no eventTime" (0-based index
 * in the array, as jq's .Records[12]) or "line 7: ..." (1-based line of a
 * JSON lines text); tm_input_problem.index holds that same number. */
#include "input.h"
#include "fileio.h"
#include "value.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jsonscan.h"

#define PARSE_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

typedef struct {
    const char *name;
    tm_eventvec *out;
    tm_input_report *rep;
    tm_error *err;
} ctx;

/* Where a record stands: a 1-based line of a JSON lines text (0 when the
 * text is one document) and a 0-based index in its array (or -1). */
typedef struct {
    size_t line;
    long long rec;
} loc;

/* ---------------------------------------------------------------- report */

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap) {
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

static int bad(ctx *c, loc l, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int bad(ctx *c, loc l, const char *f, ...) {
    if (!c->rep) return 0;
    if (c->rep->max_problems && c->rep->n >= c->rep->max_problems) {
        c->rep->omitted++; /* counted, not kept: the report stays small */
        return 0;
    }
    va_list ap;
    va_start(ap, f);
    char *msg = vfmt(f, ap);
    va_end(ap);
    if (!msg) return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    char *reason;
    if (l.line && l.rec >= 0) reason = fmt("line %zu, record %lld: %s", l.line, l.rec, msg);
    else if (l.line) reason = fmt("line %zu: %s", l.line, msg);
    else reason = fmt("record %lld: %s", l.rec, msg);
    free(msg);
    char *file = strdup(c->name);
    tm_input_report *r = c->rep;
    if (!reason || !file) goto oom;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 8;
        tm_input_problem *nv = ncap > SIZE_MAX / sizeof(*nv) ? NULL : realloc(r->v, ncap * sizeof(*nv));
        if (!nv) goto oom;
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n].file = file;
    r->v[r->n].index = l.line ? l.line : (size_t)l.rec;
    r->v[r->n].reason = reason;
    r->n++;
    return 0;
oom:
    free(reason);
    free(file);
    return tm_error_set(c->err, TM_ENOMEM, "out of memory");
}

void tm_input_report_free(tm_input_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].file);
        free(r->v[i].reason);
    }
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
    r->accepted = 0;
    r->omitted = 0;
}

/* --------------------------------------------------------------- records */

static int add_lookup_item(ctx *c, json_t *item, loc l);

/* Turns one record (reference stolen) into an event.  A lookup-events
 * element met without its {"Events": [...]} (jq '.Events[]') is unwrapped. */
static int add_record(ctx *c, json_t *rec, const char *text, size_t len, loc l) {
    if (json_is_object(rec) && json_is_string(json_object_get(rec, "CloudTrailEvent")) &&
        !json_object_get(rec, "eventName")) {
        int rc = add_lookup_item(c, rec, l);
        json_decref(rec);
        return rc;
    }
    tm_event *ev;
    tm_error e2;
    e2.msg[0] = '\0';
    int rc = tm_event_from_json(rec, text, len, &ev, &e2);
    if (rc == TM_ENOMEM) return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    if (rc != 0) return bad(c, l, "%s", e2.msg);
    ev->input_index = l.line ? l.line : (size_t)l.rec;
    if (tm_eventvec_push(c->out, ev) != 0) {
        tm_event_free(ev);
        return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    }
    if (c->rep) c->rep->accepted++;
    return 0;
}


static int decode_value(ctx *c, json_t *root, const char *t, size_t s, size_t e, size_t line);

/* An array element that is itself a log file or lookup-events output, as
 * `jq -s` gathers several: {"Records": [...]} or {"Events": [...]}. */
static int is_document(json_t *el) {
    return json_is_object(el) && !json_object_get(el, "eventName") &&
           (json_is_array(json_object_get(el, "Records")) || json_is_array(json_object_get(el, "Events")));
}

/* The elements of array `arr`, whose text is t[s, e). */
static int decode_array(ctx *c, json_t *arr, const char *t, size_t s, size_t e, size_t line) {
    tm_jspan *spans = NULL;
    size_t nspans = 0;
    int rc = tm_jscan_array(t, e, s, &spans, &nspans);
    if (rc == TM_ENOMEM) return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    size_t n = json_array_size(arr);
    if (rc != 0 || nspans != n) {
        /* cannot happen for text jansson accepted; keep going with the
         * records re-serialized rather than lose them */
        free(spans);
        spans = NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(arr, i);
        loc l = {line, (long long)i};
        if (is_document(el)) {
            rc = spans ? decode_value(c, el, t, spans[i].start, spans[i].end, line)
                       : decode_value(c, el, "", 0, 0, line);
        } else if (spans) {
            rc = add_record(c, json_incref(el), t + spans[i].start, spans[i].end - spans[i].start, l);
        } else {
            char *txt = json_dumps(el, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!txt) {
                rc = tm_error_set(c->err, TM_ENOMEM, "out of memory");
            } else {
                rc = add_record(c, json_incref(el), txt, strlen(txt), l);
                free(txt);
            }
        }
        if (rc != 0) break;
    }
    free(spans);
    return rc;
}

/* One element of lookup-events' "Events": its CloudTrailEvent string is
 * the record. */
static int add_lookup_item(ctx *c, json_t *item, loc l) {
    json_t *s = json_object_get(item, "CloudTrailEvent");
    if (!json_is_object(item)) return bad(c, l, "the Events entry is %s, not an object", tm_value_type_phrase(item));
    if (!s) return bad(c, l, "no CloudTrailEvent");
    if (!json_is_string(s))
        return bad(c, l, "CloudTrailEvent is %s, not a string of JSON", tm_value_type_phrase(s));
    const char *txt = json_string_value(s);
    size_t len = json_string_length(s);
    json_error_t je;
    json_t *rec = json_loadb(txt, len, PARSE_FLAGS, &je);
    if (!rec)
        return bad(c, l, "CloudTrailEvent is not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
    if (json_is_object(rec) && json_object_get(rec, "CloudTrailEvent") && !json_object_get(rec, "eventName")) {
        json_decref(rec); /* never unwrap twice: a record inside a record is not a record */
        return bad(c, l, "CloudTrailEvent holds another lookup-events element");
    }
    return add_record(c, rec, txt, len, l);
}

static int decode_lookup(ctx *c, json_t *events, size_t line) {
    size_t i;
    json_t *item;
    json_array_foreach(events, i, item) {
        int rc = add_lookup_item(c, item, (loc){line, (long long)i});
        if (rc != 0) return rc;
    }
    return 0;
}

/* One JSON value, parsed as root, whose text is t[s, e).  line is 0 for a
 * whole document, else the line where the value starts in a JSON lines
 * text. */
static int decode_value(ctx *c, json_t *root, const char *t, size_t s, size_t e, size_t line) {
    if (json_is_object(root)) {
        json_t *events = json_object_get(root, "Events");
        if (json_is_array(events)) return decode_lookup(c, events, line);
        json_t *records = json_object_get(root, "Records");
        if (records) {
            if (!json_is_array(records)) {
                if (line) return bad(c, (loc){line, -1}, "\"Records\" is %s, not an array",
                                     tm_value_type_phrase(records));
                return tm_error_set(c->err, TM_EPARSE, "%s: \"Records\" is %s, not an array",
                                    c->name, tm_value_type_phrase(records));
            }
            tm_jspan m;
            if (tm_jscan_member(t, e, s, "Records", &m) != 0) m.start = m.end = 0;
            if (m.end <= m.start || t[m.start] != '[') {
                /* the key was written with escapes: no span, re-serialize */
                return decode_array(c, records, "", 0, 0, line);
            }
            return decode_array(c, records, t, m.start, m.end, line);
        }
        return add_record(c, json_incref(root), t + s, e - s, (loc){line, line ? -1 : 0});
    }
    if (json_is_array(root)) return decode_array(c, root, t, s, e, line);
    if (line) return bad(c, (loc){line, -1}, "%s, not a record object", tm_value_type_phrase(root));
    return tm_error_set(c->err, TM_EPARSE,
                        "%s:1:1: the document is %s, not CloudTrail records (an object or an array)",
                        c->name, tm_value_type_phrase(root));
}

/* Every non-blank line starts with '{', and there are at least two. */
static int looks_like_lines(const char *t, size_t n) {
    size_t lines = 0, i = 0;
    while (i < n) {
        while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r')) i++;
        if (i < n && t[i] != '\n') {
            if (t[i] != '{') return 0;
            lines++;
        }
        while (i < n && t[i] != '\n') i++;
        i++;
    }
    return lines >= 2;
}

static int decode_lines(ctx *c, const char *t, size_t n) {
    size_t pos = 0, line = 1, line_start = 0;
    for (;;) {
        while (pos < n && (t[pos] == ' ' || t[pos] == '\t' || t[pos] == '\r' || t[pos] == '\n')) {
            if (t[pos] == '\n') {
                line++;
                line_start = pos + 1;
            }
            pos++;
        }
        if (pos >= n) return 0;
        size_t end;
        json_error_t je;
        int rc;
        if (t[pos] != '{' && t[pos] != '[') {
            /* text, or a bare number: one problem per line, not per word */
            size_t eol = pos;
            while (eol < n && t[eol] != '\n') eol++;
            if ((rc = bad(c, (loc){line, -1}, "not a JSON record"))) return rc;
            pos = eol;
        } else if (tm_jscan_value(t, n, pos, &end) == 0) {
            json_t *v = json_loadb(t + pos, end - pos, PARSE_FLAGS, &je);
            if (v) {
                rc = decode_value(c, v, t, pos, end, line);
                json_decref(v);
            } else {
                size_t col = (size_t)(je.line > 1 ? je.column : je.column + (int)(pos - line_start));
                rc = bad(c, (loc){line + (size_t)(je.line > 1 ? je.line - 1 : 0), -1},
                         "not JSON: %s (column %zu)", je.text, col);
            }
            if (rc != 0) return rc;
            for (size_t i = pos; i < end; i++)
                if (t[i] == '\n') {
                    line++;
                    line_start = i + 1;
                }
            pos = end;
        } else {
            /* not even the shape of a value: report it, go on at the next line */
            size_t eol = pos;
            while (eol < n && t[eol] != '\n') eol++;
            json_t *v = json_loadb(t + pos, eol - pos, PARSE_FLAGS, &je);
            if (v) {
                json_decref(v); /* cannot happen: the scanner accepts every value */
                rc = bad(c, (loc){line, -1}, "not JSON");
            } else {
                rc = bad(c, (loc){line, -1}, "not JSON: %s (column %zu)", je.text,
                         (size_t)je.column + (pos - line_start));
            }
            if (rc != 0) return rc;
            pos = eol;
        }
    }
}

/* jansson's tree takes about 64 bytes per JSON value (the value, its slot
 * in an array or object, the allocator's overhead).  CloudTrail records
 * hold one value per 15 bytes or so; a text of one value per two bytes
 * ("[0,0,0,...]") would take 30 times its size.  So a text with more than
 * one value per MIN_BYTES_PER_VALUE bytes (after the first FREE_VALUES) is
 * refused before it is parsed: the tree stays within ~10x the text. */
#define MIN_BYTES_PER_VALUE 6
#define FREE_VALUES 65536

/* The number of JSON values in t[0, n), counted from the separators
 * outside strings (every value but the first follows a '[', '{', ',' or
 * ':'; keys count as values, as they cost as much). */
static size_t count_values(const char *t, size_t n) {
    size_t v = 1;
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = t[i];
        if (in_string) {
            if (ch == '\\') i++;
            else if (ch == '"') in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == ',' || ch == ':' || ch == '[' || ch == '{') {
            v++;
        }
    }
    return v;
}

/* The array at t[pos] taken element by element: what jansson cannot read
 * (a byte that is not UTF-8, a lone surrogate, nesting past its limit)
 * costs that one element, reported with its index. */
static int salvage_array(ctx *c, const char *t, size_t n, size_t pos) {
    tm_jspan *spans = NULL;
    size_t nspans = 0;
    int rc = tm_jscan_array(t, n, pos, &spans, &nspans);
    if (rc == TM_ENOMEM) return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    if (rc != 0) return 1;
    for (size_t i = 0; i < nspans && rc == 0; i++) {
        json_error_t je;
        const char *el = t + spans[i].start;
        size_t len = spans[i].end - spans[i].start;
        json_t *v = json_loadb(el, len, PARSE_FLAGS, &je);
        if (!v) rc = bad(c, (loc){0, (long long)i}, "not JSON: %s (column %d of the record)", je.text, je.column);
        else if (is_document(v)) {
            rc = decode_value(c, v, t, spans[i].start, spans[i].end, 0);
            json_decref(v);
        } else
            rc = add_record(c, v, el, len, (loc){0, (long long)i});
    }
    free(spans);
    return rc;
}

/* A document jansson refused as a whole: its records one by one, when it
 * has the shape of an array of them or of a log file's "Records" (or
 * lookup-events' "Events").  Returns 1 when it has neither shape. */
static int salvage(ctx *c, const char *t, size_t n, size_t s) {
    if (t[s] == '[') return salvage_array(c, t, n, s);
    if (t[s] != '{') return 1;
    static const char *const members[] = {"Records", "Events"};
    for (size_t k = 0; k < 2; k++) {
        tm_jspan m;
        if (tm_jscan_member(t, n, s, members[k], &m) == 0 && m.end > m.start && t[m.start] == '[')
            return salvage_array(c, t, n, m.start);
    }
    return 1;
}

static int decode_text(ctx *c, const char *t, size_t n) {
    if (n >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0) {
        t += 3;
        n -= 3;
    }
    size_t s = tm_jscan_ws(t, n, 0);
    if (s == n) return 0;
    size_t values = count_values(t, n);
    if (values > FREE_VALUES && values - FREE_VALUES > n / MIN_BYTES_PER_VALUE)
        return tm_error_set(c->err, TM_ENOMEM,
                            "%s holds %zu JSON values in %zu bytes, more than one per %d bytes: too dense to parse "
                            "within its memory bound (CloudTrail records hold one per 15 bytes or so)",
                            c->name, values, n, MIN_BYTES_PER_VALUE);
    size_t e = n;
    while (e > s && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\r' || t[e - 1] == '\n')) e--;
    json_error_t je;
    json_t *root = json_loadb(t, n, PARSE_FLAGS, &je);
    if (root) {
        int rc = decode_value(c, root, t, s, e, 0);
        json_decref(root);
        return rc;
    }
    if (json_error_code(&je) == json_error_end_of_input_expected || looks_like_lines(t, n))
        return decode_lines(c, t, n);
    /* one undecodable record must not cost the others */
    enum json_error_code code = json_error_code(&je);
    if (code == json_error_invalid_utf8 || code == json_error_invalid_syntax || code == json_error_stack_overflow ||
        code == json_error_null_character) {
        size_t before = c->out->n, kept = c->rep ? c->rep->n : 0, omitted = c->rep ? c->rep->omitted : 0;
        int rc = salvage(c, t, n, s);
        if (rc < 0) return rc;
        if (rc == 0 && c->out->n > before) return 0;
        /* nothing readable: the document's own error says more than a
         * list of records that are not JSON */
        while (c->rep && c->rep->n > kept) {
            c->rep->n--;
            free(c->rep->v[c->rep->n].file);
            free(c->rep->v[c->rep->n].reason);
        }
        if (c->rep) c->rep->omitted = omitted;
    }
    return tm_error_set(c->err, TM_EPARSE, "%s:%d:%d: %s", c->name, je.line, je.column, je.text);
}

/* ------------------------------------------------------------------ gzip */

#define ZCHUNK ((size_t)1 << 30)

/* Inflates in[0, n) into a new buffer of at most max + 1 bytes: output
 * past max bytes is an error, so a small bomb never grows large. */
static int gunzip(ctx *c, const unsigned char *in, size_t n, size_t max, unsigned char **out, size_t *outn) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    *out = NULL;
    *outn = 0;
    if (max == SIZE_MAX) max--;
    if (inflateInit2(&zs, 15 + 32) != Z_OK) return tm_error_set(c->err, TM_ENOMEM, "out of memory");
    size_t cap = n < SIZE_MAX / 8 - 4096 ? n * 4 + 4096 : n;
    if (cap > max + 1) cap = max + 1;
    unsigned char *buf = malloc(cap);
    size_t ipos = 0, opos = 0;
    int rc = 0;
    if (!buf) {
        rc = tm_error_set(c->err, TM_ENOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        if (zs.avail_in == 0 && ipos < n) {
            size_t k = n - ipos < ZCHUNK ? n - ipos : ZCHUNK;
            zs.next_in = (Bytef *)(uintptr_t)(in + ipos);
            zs.avail_in = (uInt)k;
            ipos += k;
        }
        if (opos == cap) {
            size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = tm_error_set(c->err, TM_ENOMEM, "out of memory");
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - opos < ZCHUNK ? cap - opos : ZCHUNK;
        zs.next_out = buf + opos;
        zs.avail_out = (uInt)room;
        int r = inflate(&zs, Z_NO_FLUSH);
        opos += room - zs.avail_out;
        if (opos > max) {
            rc = tm_error_set(c->err, TM_ENOMEM, "%s inflates to more than %zu bytes", c->name, max);
            goto done;
        }
        if (r == Z_STREAM_END) {
            size_t left = zs.avail_in + (n - ipos);
            if (left == 0) break;
            const unsigned char *rest = in + (n - left);
            if (left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
                if (inflateReset(&zs) != Z_OK) {
                    rc = tm_error_set(c->err, TM_EPARSE, "%s: bad gzip data", c->name);
                    goto done;
                }
                continue;
            }
            size_t z = 0;
            while (z < left && rest[z] == 0) z++;
            if (z == left) break; /* zero padding after the data */
            rc = tm_error_set(c->err, TM_EPARSE, "%s: unexpected data after the gzip stream (byte %zu)",
                              c->name, n - left);
            goto done;
        } else if (r == Z_OK) {
            continue;
        } else if (r == Z_BUF_ERROR) {
            if (zs.avail_in == 0 && ipos == n && zs.avail_out > 0) {
                rc = tm_error_set(c->err, TM_EPARSE, "%s: the gzip data is truncated", c->name);
                goto done;
            }
            continue;
        } else if (r == Z_MEM_ERROR) {
            rc = tm_error_set(c->err, TM_ENOMEM, "out of memory");
            goto done;
        } else {
            rc = tm_error_set(c->err, TM_EPARSE, "%s: not valid gzip data (%s)", c->name,
                              zs.msg ? zs.msg : "corrupt stream");
            goto done;
        }
    }
done:
    inflateEnd(&zs);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *outn = opos;
    return 0;
}

/* ------------------------------------------------------------------ entry */

int tm_input_decode_max(const char *name, const unsigned char *buf, size_t len, size_t max_decoded,
                        size_t *decoded, tm_eventvec *out, tm_input_report *report, tm_error *err) {
    ctx c = {name ? name : "-", out, report, err};
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        unsigned char *txt;
        size_t n;
        int rc = gunzip(&c, buf, len, max_decoded, &txt, &n);
        if (rc != 0) return rc;
        if (decoded) *decoded = n;
        rc = decode_text(&c, (const char *)txt, n);
        free(txt);
        return rc;
    }
    if (decoded) *decoded = 0;
    return decode_text(&c, (const char *)buf, len);
}

int tm_input_decode(const char *name, const unsigned char *buf, size_t len, tm_eventvec *out,
                    tm_input_report *report, tm_error *err) {
    return tm_input_decode_max(name, buf, len, TM_INPUT_MAX_DECODED, NULL, out, report, err);
}

int tm_input_read_file_max(const char *path, size_t max_decoded, tm_eventvec *out, tm_input_report *report,
                           tm_error *err) {
    char *buf;
    size_t n;
    int rc = tm_file_read(path, &buf, &n, err);
    if (rc) return rc;
    rc = tm_input_decode_max(path, (const unsigned char *)buf, n, max_decoded, NULL, out, report, err);
    free(buf);
    return rc;
}

int tm_input_read_file(const char *path, tm_eventvec *out, tm_input_report *report, tm_error *err) {
    return tm_input_read_file_max(path, TM_INPUT_MAX_DECODED, out, report, err);
}

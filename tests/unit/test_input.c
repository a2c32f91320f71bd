/* test_input.c: every input format, raw text kept, errors with positions. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "input.h"
#include "test.h"

#define R1 "{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventID\":\"id-1\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"DescribeVpcs\"}"
#define R2 "{ \"eventTime\" : \"2023-12-04T20:27:08Z\" , \"eventID\":\"id-2\",\n    \"eventSource\":\"s3.amazonaws.com\", \"eventName\":\"ListBuckets\", \"requestParameters\": {\"Host\": \"s3.amazonaws.com\"} }"
#define R3 "{\"eventTime\":\"2023-12-04T20:27:09Z\",\"eventID\":\"id-3\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"ListUsers\",\"note\":\"caf\\u00e9 \\/ x\"}"

typedef struct {
    tm_eventvec ev;
    tm_input_report rep;
    tm_error err;
    int rc;
} result;

static result decode(const char *name, const void *buf, size_t len) {
    result r;
    memset(&r, 0, sizeof(r));
    r.rc = tm_input_decode(name, buf, len, &r.ev, &r.rep, &r.err);
    return r;
}

static result decode_s(const char *text) {
    return decode("doc.json", text, strlen(text));
}

static void done(result *r) {
    tm_eventvec_free(&r->ev);
    tm_input_report_free(&r->rep);
}

static int raw_is(const tm_event *e, const char *text) {
    return e->raw_len == strlen(text) && memcmp(e->raw, text, e->raw_len) == 0;
}

static void test_records(void) {
    const char *doc = "{\"Records\": [\n  " R1 ",\n  " R2 " ,\n" R3 "\n]}\n";
    result r = decode_s(doc);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 3);
    CHECK_INT(r.rep.accepted, 3);
    CHECK_INT(r.rep.n, 0);
    if (r.ev.n == 3) {
        CHECK(raw_is(r.ev.v[0], R1));
        CHECK(raw_is(r.ev.v[1], R2)); /* spaces and the line break inside are kept */
        CHECK(raw_is(r.ev.v[2], R3)); /* escapes are kept as written */
        CHECK_STR(r.ev.v[1]->name, "ListBuckets");
        CHECK_STR(r.ev.v[1]->rp_json, "{\"Host\":\"s3.amazonaws.com\"}");
        CHECK_INT(r.ev.v[2]->input_index, 2);
    }
    done(&r);

    /* Records is not the first member; other members hold brackets and strings */
    doc = "{\"x\": [\"]\", {\"Records\": 1}], \"Records\":[" R1 "], \"y\": \"}\"}";
    r = decode_s(doc);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 1);
    if (r.ev.n == 1) CHECK(raw_is(r.ev.v[0], R1));
    done(&r);

    /* empty Records */
    r = decode_s("{\"Records\":[]}");
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 0);
    done(&r);

    /* Records that is not an array */
    r = decode_s("{\"Records\":{\"a\":1}}");
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK_STR(r.err.msg, "doc.json: \"Records\" is an object, not an array");
    done(&r);
}

static void test_array_and_single(void) {
    const char *doc = "\xEF\xBB\xBF[" R3 ",\t" R1 "]";
    result r = decode_s(doc);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 2);
    if (r.ev.n == 2) {
        CHECK(raw_is(r.ev.v[0], R3));
        CHECK(raw_is(r.ev.v[1], R1));
    }
    done(&r);

    r = decode_s("\n\n  " R2 "  \n");
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 1);
    if (r.ev.n == 1) CHECK(raw_is(r.ev.v[0], R2));
    done(&r);

    r = decode_s("[]");
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 0);
    done(&r);
}

static void test_empty(void) {
    result r = decode("empty", "", 0);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 0);
    CHECK_INT(r.rep.n, 0);
    done(&r);
    r = decode_s(" \n\r\n\t ");
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 0);
    done(&r);
}

static void test_lookup_events(void) {
    /* what `aws cloudtrail lookup-events` prints: each record is a JSON string */
    const char *doc =
        "{\n  \"Events\": [\n    {\n      \"EventId\": \"id-1\",\n      \"EventName\": \"DescribeVpcs\",\n"
        "      \"CloudTrailEvent\": \"{\\\"eventVersion\\\":\\\"1.08\\\",\\\"eventTime\\\":\\\"2023-12-04T20:27:07Z\\\","
        "\\\"eventID\\\":\\\"id-1\\\",\\\"eventSource\\\":\\\"ec2.amazonaws.com\\\",\\\"eventName\\\":\\\"DescribeVpcs\\\","
        "\\\"requestParameters\\\":{\\\"path\\\":\\\"a\\\\\\/b\\\"}}\"\n    },\n"
        "    {\"EventId\": \"id-2\", \"CloudTrailEvent\": \"not json\"},\n"
        "    {\"EventId\": \"id-3\"},\n"
        "    {\"CloudTrailEvent\": \"{\\\"eventTime\\\":\\\"2023-12-04T20:27:09Z\\\",\\\"eventSource\\\":\\\"s3.amazonaws.com\\\",\\\"eventName\\\":\\\"ListBuckets\\\"}\"}\n"
        "  ],\n  \"NextToken\": \"abc\"\n}\n";
    result r = decode("lookup.json", doc, strlen(doc));
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 2);
    CHECK_INT(r.rep.accepted, 2);
    CHECK_INT(r.rep.n, 2);
    if (r.ev.n == 2) {
        /* the raw text is the decoded string, its own escapes included */
        CHECK(raw_is(r.ev.v[0],
                     "{\"eventVersion\":\"1.08\",\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventID\":\"id-1\","
                     "\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"DescribeVpcs\","
                     "\"requestParameters\":{\"path\":\"a\\/b\"}}"));
        CHECK_STR(r.ev.v[0]->rp_json, "{\"path\":\"a/b\"}");
        CHECK_STR(r.ev.v[1]->name, "ListBuckets");
    }
    if (r.rep.n == 2) {
        CHECK_STR(r.rep.v[0].file, "lookup.json");
        CHECK_INT(r.rep.v[0].index, 1);
        CHECK(strncmp(r.rep.v[0].reason, "record 1: CloudTrailEvent is not JSON: ", 39) == 0);
        CHECK_INT(r.rep.v[1].index, 2);
        CHECK_STR(r.rep.v[1].reason, "record 2: no CloudTrailEvent");
    }
    done(&r);
}

static void test_json_lines(void) {
    const char *doc = R1 "\n"
                      "\n"
                      "{\"eventTime\": \"2023-12-04T20:27:10Z\", \"eventSource\": broken}\n"
                      "   " R3 "\r\n"
                      "{\"eventSource\":\"a\",\"eventName\":\"b\"}\n"
                      "{\"eventTime\": \"2023-12-04T20:27:11Z\"\n"
                      "[1]\n"
                      R2 "\n";
    result r = decode("lines.jsonl", doc, strlen(doc));
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 3);
    if (r.ev.n == 3) {
        CHECK(raw_is(r.ev.v[0], R1));
        CHECK(raw_is(r.ev.v[1], R3));
        CHECK(raw_is(r.ev.v[2], R2));
        CHECK_INT(r.ev.v[0]->input_index, 1);
        CHECK_INT(r.ev.v[1]->input_index, 4);
        CHECK_INT(r.ev.v[2]->input_index, 8); /* R2 spans lines 8-9 */
    }
    CHECK_INT(r.rep.n, 4);
    if (r.rep.n == 4) {
        CHECK_INT(r.rep.v[0].index, 3);
        CHECK(strncmp(r.rep.v[0].reason, "line 3: not JSON: ", 18) == 0);
        CHECK(strstr(r.rep.v[0].reason, "(column 59)") != NULL);
        CHECK_INT(r.rep.v[1].index, 5);
        CHECK_STR(r.rep.v[1].reason, "line 5: no eventTime");
        CHECK_INT(r.rep.v[2].index, 6);
        CHECK(strncmp(r.rep.v[2].reason, "line 6: not JSON: ", 18) == 0);
        CHECK_INT(r.rep.v[3].index, 7);
        CHECK_STR(r.rep.v[3].reason, "line 7, record 0: the record is a number, not a JSON object");
    }
    done(&r);

    /* the first line bad: still JSON lines since every line starts with '{' */
    doc = "{\"eventTime\":\n" R1 "\n" R3 "\n";
    r = decode_s(doc);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 2);
    CHECK_INT(r.rep.n, 1);
    if (r.rep.n == 1) CHECK_INT(r.rep.v[0].index, 1);
    done(&r);

    /* concatenated documents, e.g. `cat` of several CloudTrail files */
    doc = "{\"Records\":[" R1 "," R2 "]}{\"Records\":[" R3 "]}\n[" R1 "]";
    r = decode_s(doc);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 4);
    if (r.ev.n == 4) {
        CHECK(raw_is(r.ev.v[1], R2));
        CHECK(raw_is(r.ev.v[2], R3));
    }
    done(&r);
}

static void test_bad_document(void) {
    const char *doc = "{\n  \"Records\": [\n    {\"eventTime\": \"2023-12-04T20:27:07Z\",,}\n  ]\n}\n";
    result r = decode("trail.json", doc, strlen(doc));
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK_INT(r.ev.n, 0);
    CHECK(strncmp(r.err.msg, "trail.json:3:", 13) == 0);
    fprintf(stderr, "  (bad document says: %s)\n", r.err.msg);
    done(&r);

    r = decode("t.json", "[1, 2", 5);
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK(strncmp(r.err.msg, "t.json:1:", 9) == 0);
    done(&r);

    r = decode("t.json", "hello", 5);
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK(strncmp(r.err.msg, "t.json:1:", 9) == 0);
    done(&r);

    r = decode("t.json", "42", 2);
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK_STR(r.err.msg, "t.json:1:1: the document is a number, not CloudTrail records (an object or an array)");
    done(&r);
}

static void test_bad_records(void) {
    const char *doc = "{\"Records\":[" R1 ",\n"
                      "{\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"X\"},\n"
                      "{\"eventTime\":\"yesterday\",\"eventSource\":\"ec2.amazonaws.com\",\"eventName\":\"X\"},\n"
                      "\"just a string\",\n" R2 "]}";
    result r = decode("trail.json", doc, strlen(doc));
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 2);
    CHECK_INT(r.rep.accepted, 2);
    CHECK_INT(r.rep.n, 3);
    if (r.rep.n == 3) {
        CHECK_STR(r.rep.v[0].file, "trail.json");
        CHECK_INT(r.rep.v[0].index, 1);
        CHECK_STR(r.rep.v[0].reason, "record 1: no eventTime");
        CHECK_INT(r.rep.v[1].index, 2);
        CHECK_STR(r.rep.v[1].reason, "record 2: eventTime \"yesterday\" is not a time");
        CHECK_INT(r.rep.v[2].index, 3);
        CHECK_STR(r.rep.v[2].reason, "record 3: the record is a string, not a JSON object");
    }
    if (r.ev.n == 2) CHECK(raw_is(r.ev.v[1], R2));
    done(&r);

    /* without a report the bad records are skipped silently */
    tm_eventvec ev = {0};
    tm_error err = {0};
    CHECK_INT(tm_input_decode("x", (const unsigned char *)doc, strlen(doc), &ev, NULL, &err), 0);
    CHECK_INT(ev.n, 2);
    tm_eventvec_free(&ev);
}

/* gzip of text (one member), malloc'd */
static unsigned char *gz(const char *text, size_t len, size_t *outn) {
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&zs, len) + 64;
    unsigned char *out = malloc(cap);
    if (!out) return NULL;
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    *outn = cap - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void test_gzip(void) {
    /* a big document: the inflated text is many times the compressed size */
    size_t n = 20000;
    size_t cap = n * (strlen(R1) + 8) + 64, k = 0;
    char *doc = malloc(cap);
    k += (size_t)snprintf(doc + k, cap - k, "{\"Records\":[");
    for (size_t i = 0; i < n; i++) k += (size_t)snprintf(doc + k, cap - k, "%s%s", i ? "," : "", R1);
    k += (size_t)snprintf(doc + k, cap - k, "]}");
    size_t zn;
    unsigned char *z = gz(doc, k, &zn);
    CHECK(z != NULL);
    if (!z) return;
    CHECK(zn * 20 < k);
    result r = decode("trail.json.gz", z, zn);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, n);
    if (r.ev.n == n) CHECK(raw_is(r.ev.v[n - 1], R1));
    done(&r);

    /* truncated */
    r = decode("cut.gz", z, zn / 2);
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK_STR(r.err.msg, "cut.gz: the gzip data is truncated");
    done(&r);

    /* corrupt */
    unsigned char *bad = malloc(zn);
    memcpy(bad, z, zn);
    for (size_t i = 12; i < zn && i < 40; i++) bad[i] ^= 0x5a;
    r = decode("bad.gz", bad, zn);
    CHECK_INT(r.rc, TM_EPARSE);
    CHECK(strncmp(r.err.msg, "bad.gz: ", 8) == 0);
    done(&r);
    free(bad);
    free(z);
    free(doc);

    /* two members (cat a.json.gz b.json.gz) holding JSON lines, then zero padding */
    size_t n1, n2;
    unsigned char *z1 = gz(R1 "\n", strlen(R1) + 1, &n1), *z2 = gz(R3 "\n", strlen(R3) + 1, &n2);
    unsigned char *both = calloc(n1 + n2 + 16, 1);
    memcpy(both, z1, n1);
    memcpy(both + n1, z2, n2);
    r = decode("two.gz", both, n1 + n2 + 16);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 2);
    if (r.ev.n == 2) CHECK(raw_is(r.ev.v[1], R3));
    done(&r);
    both[n1 + n2 + 3] = 'x';
    r = decode("two.gz", both, n1 + n2 + 16);
    CHECK_INT(r.rc, TM_EPARSE);
    done(&r);
    free(z1);
    free(z2);
    free(both);

    /* gzip of nothing */
    unsigned char *ze = gz("", 0, &zn);
    r = decode("empty.gz", ze, zn);
    CHECK_INT(r.rc, 0);
    CHECK_INT(r.ev.n, 0);
    done(&r);
    free(ze);
}

static void test_read_file(void) {
    char path[] = "/tmp/tm_test_input_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *doc = "[" R1 "," R2 "]";
    CHECK(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc));
    close(fd);
    tm_eventvec ev = {0};
    tm_input_report rep = {0};
    tm_error err = {0};
    CHECK_INT(tm_input_read_file(path, &ev, &rep, &err), 0);
    CHECK_INT(ev.n, 2);
    if (ev.n == 2) CHECK(raw_is(ev.v[1], R2));
    tm_eventvec_free(&ev);
    tm_input_report_free(&rep);
    unlink(path);

    CHECK_INT(tm_input_read_file("/nonexistent/trail.json", &ev, &rep, &err), TM_EIO);
    CHECK_STR(err.msg, "cannot read /nonexistent/trail.json: No such file or directory");
    CHECK_INT(ev.n, 0);

    /* the test data file, when the source tree is known */
    const char *src = getenv("TM_SOURCE_DIR");
    if (src) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/tests/data/three_users.json.gz", src);
        if (access(p, R_OK) == 0) {
            CHECK_INT(tm_input_read_file(p, &ev, &rep, &err), 0);
            CHECK(ev.n > 200);
            CHECK_INT(rep.n, 0);
            tm_eventvec_free(&ev);
            tm_input_report_free(&rep);
        }
    }
}

/* A bound on the inflated size: a bomb stops at the limit with an error
 * naming the document and the limit; exactly the limit passes. */
static void test_gzip_limit(void) {
    size_t n = (size_t)8 << 20;
    char *spaces = malloc(n);
    memset(spaces, ' ', n);
    size_t zn;
    unsigned char *z = gz(spaces, n, &zn);
    free(spaces);
    CHECK(z && zn < n / 500);
    if (!z) return;
    tm_eventvec ev = {0};
    tm_error err;
    size_t decoded = 7;
    CHECK_INT(tm_input_decode_max("bomb.gz", z, zn, (size_t)1 << 20, &decoded, &ev, NULL, &err), TM_ENOMEM);
    CHECK_STR(err.msg, "bomb.gz inflates to more than 1048576 bytes");
    CHECK_INT(decoded, 7); /* untouched on error */
    CHECK_INT(tm_input_decode_max("bomb.gz", z, zn, n - 1, &decoded, &ev, NULL, &err), TM_ENOMEM);
    CHECK_INT(tm_input_decode_max("bomb.gz", z, zn, n, &decoded, &ev, NULL, &err), 0);
    CHECK_INT(decoded, n);
    CHECK_INT(ev.n, 0); /* only blanks */
    /* text that is not gzip'd is not bounded and inflates to nothing */
    const char *one = R1;
    CHECK_INT(tm_input_decode_max("r.json", (const unsigned char *)one, strlen(one), 1, &decoded, &ev, NULL, &err), 0);
    CHECK_INT(decoded, 0);
    CHECK_INT(ev.n, 1);
    tm_eventvec_free(&ev);
    /* the same through a file */
    char path[] = "/tmp/tm_input_bomb_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, z, zn) == (ssize_t)zn);
    if (fd >= 0) close(fd);
    CHECK_INT(tm_input_read_file_max(path, 4096, &ev, NULL, &err), TM_ENOMEM);
    CHECK(strstr(err.msg, "inflates to more than 4096 bytes") != NULL);
    unlink(path);
    free(z);
}

/* Text with a JSON value every two bytes would make a tree 30 times its
 * size: refused before parsing, naming the document. */
static void test_dense(void) {
    size_t values = 200000, n = 2 * values + 1;
    char *doc = malloc(n + 1);
    doc[0] = '[';
    for (size_t i = 0; i < values; i++) {
        doc[1 + 2 * i] = '0';
        doc[2 + 2 * i] = i + 1 < values ? ',' : ']';
    }
    doc[n] = 0;
    tm_eventvec ev = {0};
    tm_error err;
    CHECK_INT(tm_input_decode("zeros.json", (const unsigned char *)doc, n, &ev, NULL, &err), TM_ENOMEM);
    CHECK(strstr(err.msg, "zeros.json holds 200001 JSON values in 400001 bytes") != NULL);
    /* the same values spread out (7 bytes each) parse: all rejected, none kept */
    char *spread = malloc(7 * values + 2), *p = spread;
    *p++ = '[';
    for (size_t i = 0; i < values; i++) p += sprintf(p, "%s     0", i ? "," : "");
    *p++ = ']';
    tm_input_report rep = {0};
    rep.max_problems = 1;
    CHECK_INT(tm_input_decode("spread.json", (const unsigned char *)spread, (size_t)(p - spread), &ev, &rep, &err), 0);
    CHECK_INT(rep.n + rep.omitted, values);
    tm_input_report_free(&rep);
    /* strings do not count: commas inside them are no separators */
    char *str = malloc(400100);
    p = str;
    p += sprintf(p, "{\"Records\":[{\"x\":\"");
    for (size_t i = 0; i < 200000; i++) p += sprintf(p, ",,");
    p += sprintf(p, "\\\",\"}]}");
    rep.max_problems = 0;
    CHECK_INT(tm_input_decode("str.json", (const unsigned char *)str, (size_t)(p - str), &ev, &rep, &err), 0);
    CHECK_INT(rep.n, 1); /* one record, without eventTime */
    tm_input_report_free(&rep);
    free(str);
    free(spread);
    free(doc);
    tm_eventvec_free(&ev);
}

/* A report that keeps the first problems and counts the rest. */
static void test_report_cap(void) {
    tm_eventvec ev = {0};
    tm_input_report rep = {0};
    tm_error err;
    rep.max_problems = 3;
    const char *doc = "[1,2,3,4,5,6,7]";
    CHECK_INT(tm_input_decode("n.json", (const unsigned char *)doc, strlen(doc), &ev, &rep, &err), 0);
    CHECK_INT(rep.n, 3);
    CHECK_INT(rep.omitted, 4);
    if (rep.n == 3) CHECK_INT(rep.v[2].index, 2);
    tm_input_report_free(&rep);
    tm_eventvec_free(&ev);
}

int main(void) {
    test_gzip_limit();
    test_report_cap();
    test_dense();
    test_records();
    test_array_and_single();
    test_empty();
    test_lookup_events();
    test_json_lines();
    test_bad_document();
    test_bad_records();
    test_gzip();
    test_read_file();
    return tm_test_done();
}

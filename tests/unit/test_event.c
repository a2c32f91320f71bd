/* test_event.c: normalized events, times, compact JSON, sort and dedupe. */
#include <stdint.h>
#include <string.h>

#include "event.h"
#include "test.h"

static int64_t T(const char *s) {
    int64_t ms = -1;
    if (tm_time_parse(s, &ms) != 0) return INT64_MIN;
    return ms;
}

static void test_time_parse(void) {
    CHECK_INT(T("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(T("2023-12-04T20:27:07Z"), 1701721627000LL);
    CHECK_INT(T("2023-12-04T20:27:07.5Z"), 1701721627500LL);
    CHECK_INT(T("2023-12-04T20:27:07.036Z"), 1701721627036LL);
    CHECK_INT(T("2023-12-04T20:27:07.0369999Z"), 1701721627036LL); /* truncated to ms */
    CHECK_INT(T("2023-12-04T22:27:07+02:00"), 1701721627000LL);
    CHECK_INT(T("2023-12-04T15:57:07-04:30"), 1701721627000LL);
    CHECK_INT(T("2023-12-04T22:27:07+0200"), 1701721627000LL);
    CHECK_INT(T("2023-12-04T20:27:07"), 1701721627000LL); /* no zone: UTC */
    CHECK_INT(T("2023-12-04t20:27:07z"), 1701721627000LL);
    CHECK_INT(T("2024-02-29T00:00:00Z"), 1709164800000LL);
    CHECK_INT(T("1969-12-31T23:59:59.999Z"), -1);
    CHECK_INT(T("2000-01-01T00:00:00.000+00:00"), 946684800000LL);
    CHECK_INT(T("2023-02-29T00:00:00Z"), INT64_MIN); /* not a leap year */
    CHECK_INT(T("2023-13-01T00:00:00Z"), INT64_MIN);
    CHECK_INT(T("2023-12-04T24:00:00Z"), INT64_MIN);
    CHECK_INT(T("2023-12-04T20:60:00Z"), INT64_MIN);
    /* as real exporters write them */
    CHECK_INT(T("2023-12-04 20:27:07Z"), 1701721627000LL);
    CHECK_INT(T("2025-01-21 17:49:47.000000000"), 1737481787000LL);
    CHECK_INT(T("2025-01-21 17:49:47.123456789"), 1737481787123LL);
    CHECK_INT(T("2022-02-08 09:23:37+11:00"), 1644272617000LL);
    CHECK_INT(T("20230710T122745Z"), 1688992065000LL);
    CHECK_INT(T("20230710T122745"), 1688992065000LL);
    CHECK_INT(T("20231310T122745Z"), INT64_MIN);
    CHECK_INT(T("20230710 122745Z"), INT64_MIN);
    CHECK_INT(T("2023-12-04_20:27:07Z"), INT64_MIN);
    CHECK_INT(T("2023-12-04T20:27:07.Z"), INT64_MIN);
    CHECK_INT(T("2023-12-04T20:27:07Zjunk"), INT64_MIN);
    CHECK_INT(T("2023-12-04T20:27:07+2"), INT64_MIN);
    CHECK_INT(T("2023-12-04"), INT64_MIN);
    CHECK_INT(T("yesterday"), INT64_MIN);
    CHECK_INT(T(""), INT64_MIN);
    int64_t ms;
    CHECK(tm_time_parse(NULL, &ms) == -1);
}

static void test_time_format(void) {
    char b[32];
    tm_time_format(0, b);
    CHECK_STR(b, "1970-01-01T00:00:00Z");
    tm_time_format(1701721627000LL, b);
    CHECK_STR(b, "2023-12-04T20:27:07Z");
    tm_time_format(1701721627500LL, b);
    CHECK_STR(b, "2023-12-04T20:27:07.5Z");
    tm_time_format(1701721627120LL, b);
    CHECK_STR(b, "2023-12-04T20:27:07.12Z");
    tm_time_format(1701721627007LL, b);
    CHECK_STR(b, "2023-12-04T20:27:07.007Z");
    tm_time_format(1701721627036LL, b);
    CHECK_STR(b, "2023-12-04T20:27:07.036Z");
    tm_time_format(-1, b);
    CHECK_STR(b, "1969-12-31T23:59:59.999Z");
    tm_time_format(1709164800000LL, b);
    CHECK_STR(b, "2024-02-29T00:00:00Z");
    tm_time_format(253402300799999LL, b);
    CHECK_STR(b, "9999-12-31T23:59:59.999Z");
    /* round trip over a range of values */
    int ok = 1;
    for (int64_t v = -86400000LL * 800; v < 86400000LL * 80000; v += 86400000LL * 37 + 12345) {
        int64_t back;
        tm_time_format(v, b);
        if (tm_time_parse(b, &back) != 0 || back != v) ok = 0;
    }
    CHECK(ok);
    /* extremes must not overflow the buffer */
    tm_time_format(INT64_MAX, b);
    CHECK(strlen(b) < 32);
    tm_time_format(INT64_MIN, b);
    CHECK(strlen(b) < 32);
}

static const char *REC =
    "{\"eventVersion\": \"1.08\",\n"
    "  \"eventTime\":\"2023-12-04T20:27:07Z\", \"eventID\": \"0b2a\\u0041\",\n"
    "  \"eventSource\": \"iam.amazonaws.com\", \"eventName\": \"CreateAccessKey\",\n"
    "  \"awsRegion\": \"us-east-1\", \"userAgent\": \"AWS Internal\",\n"
    "  \"requestParameters\": {\"userName\": \"b\\/ob\", \"tags\": {}, \"note\": \"\", \"list\": [],"
    " \"n\": null, \"x\": {\"y\": [1, {\"z\": \"deep\"}]}}}  ";

static void test_from_text(void) {
    tm_event *e = NULL;
    tm_error err = {0};
    size_t len = strlen(REC);
    CHECK_INT(tm_event_from_text(REC, len, &e, &err), 0);
    if (!e) return;
    CHECK_INT(e->raw_len, len);
    CHECK(memcmp(e->raw, REC, len) == 0); /* byte for byte, spaces and escapes included */
    CHECK(e->raw[len] == '\0');
    CHECK_INT(e->time_ms, 1701721627000LL);
    CHECK_STR(e->id, "0b2aA");
    CHECK_STR(e->source, "iam.amazonaws.com");
    CHECK_STR(e->name, "CreateAccessKey");
    CHECK_STR(e->name_full, "iam:CreateAccessKey");
    CHECK_STR(e->region, "us-east-1");
    CHECK_STR(e->ua, "AWS Internal");
    CHECK(e->session == NULL);
    CHECK(e->rp != NULL);
    CHECK_STR(e->rp_json,
              "{\"userName\":\"b/ob\",\"tags\":{},\"note\":\"\",\"list\":[],\"n\":null,"
              "\"x\":{\"y\":[1,{\"z\":\"deep\"}]}}");
    CHECK_INT(e->nkeys, 6);
    if (e->nkeys == 6) {
        CHECK_STR(e->keys[0], "userName");
        CHECK_STR(e->keys[1], "tags");
        CHECK_STR(e->keys[2], "note");
        CHECK_STR(e->keys[5], "x");
    }
    CHECK_INT(e->nempty_keys, 2);
    if (e->nempty_keys == 2) {
        CHECK_STR(e->empty_keys[0], "tags");
        CHECK_STR(e->empty_keys[1], "note");
    }
    /* dotted paths */
    CHECK_STR(json_string_value(tm_event_get(e, "requestParameters.userName")), "b/ob");
    CHECK_STR(json_string_value(tm_event_get(e, "requestParameters.x.y.1.z")), "deep");
    CHECK_INT(json_integer_value(tm_event_get(e, "requestParameters.x.y.0")), 1);
    CHECK(tm_event_get(e, "requestParameters.x.y.2") == NULL);
    CHECK(tm_event_get(e, "requestParameters.userName.more") == NULL);
    CHECK(tm_event_get(e, "nothing") == NULL);
    CHECK(json_is_null(tm_event_get(e, "requestParameters.n")));
    CHECK(tm_event_get(e, "eventTime") != NULL);
    tm_event_free(e);

    /* minimal record: optional fields absent */
    const char *min = "{\"eventTime\":\"2023-01-01T00:00:00.250Z\",\"eventSource\":\"signin\","
                      "\"eventName\":\"ConsoleLogin\"}";
    CHECK_INT(tm_event_from_text(min, strlen(min), &e, &err), 0);
    if (e) {
        CHECK_STR(e->id, "");
        CHECK_STR(e->region, "");
        CHECK(e->ua == NULL);
        CHECK_STR(e->name_full, "signin:ConsoleLogin");
        CHECK_INT(e->time_ms % 1000, 250);
        CHECK(e->rp == NULL && e->rp_json == NULL && e->nkeys == 0 && e->keys == NULL);
        tm_event_free(e);
    }
}

static void expect_bad(const char *text, const char *reason) {
    tm_event *e = (tm_event *)1;
    tm_error err = {0};
    int rc = tm_event_from_text(text, strlen(text), &e, &err);
    CHECK_INT(rc, TM_EPARSE);
    CHECK(e == NULL);
    CHECK_STR(err.msg, reason);
}

static void test_bad_records(void) {
    expect_bad("{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\"}", "no eventTime");
    expect_bad("{\"eventTime\":null,\"eventSource\":\"a\",\"eventName\":\"b\"}", "no eventTime");
    expect_bad("{\"eventTime\":\"yesterday\",\"eventSource\":\"a\",\"eventName\":\"b\"}",
               "eventTime \"yesterday\" is not a time");
    expect_bad("{\"eventTime\":\"\",\"eventSource\":\"a\",\"eventName\":\"b\"}",
               "eventTime \"\" is not a time");
    expect_bad("{\"eventTime\":\"bad\\ntime\",\"eventSource\":\"a\",\"eventName\":\"b\"}",
               "eventTime \"bad?time\" is not a time");
    expect_bad("{\"eventTime\":1701721627,\"eventSource\":\"a\",\"eventName\":\"b\"}",
               "eventTime is a number, not a string");
    expect_bad("{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventName\":\"b\"}", "no eventSource");
    expect_bad("{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventSource\":\"a\"}", "no eventName");
    expect_bad("{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventSource\":\"a\",\"eventName\":[]}",
               "eventName is an array, not a string");
    expect_bad("{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventSource\":\"\",\"eventName\":\"b\"}",
               "eventSource is empty");
    expect_bad("[1,2]", "the record is an array, not a JSON object");
    expect_bad("\"text\"", "the record is a string, not a JSON object");
    {
        tm_event *e = NULL;
        tm_error err = {0};
        CHECK_INT(tm_event_from_text("{\"eventTime\":", 13, &e, &err), TM_EPARSE);
        CHECK(strncmp(err.msg, "not JSON: ", 10) == 0);
        CHECK(strstr(err.msg, "(line 1, column 13)") != NULL);
    }

    /* a very long bad time is cut in the message, which stays bounded */
    char big[3000];
    strcpy(big, "{\"eventSource\":\"a\",\"eventName\":\"b\",\"eventTime\":\"");
    size_t k = strlen(big);
    memset(big + k, 'x', 2000);
    strcpy(big + k + 2000, "\"}");
    tm_event *e = NULL;
    tm_error err = {0};
    CHECK_INT(tm_event_from_text(big, strlen(big), &e, &err), TM_EPARSE);
    CHECK(strlen(err.msg) < 100);
    CHECK(strstr(err.msg, "...\" is not a time") != NULL);
}

static char *rp_of(const char *rp) {
    static char buf[2048];
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"eventTime\":\"2023-12-04T20:27:07Z\",\"eventSource\":\"a.b\",\"eventName\":\"N\","
             "\"requestParameters\":%s}",
             rp);
    tm_event *e = NULL;
    tm_error err = {0};
    if (tm_event_from_text(text, strlen(text), &e, &err) != 0) return "(parse failed)";
    snprintf(buf, sizeof(buf), "%s", e->rp_json ? e->rp_json : "(null)");
    tm_event_free(e);
    return buf;
}

static void test_compact_json(void) {
    CHECK_STR(rp_of("{}"), "{}");
    CHECK_STR(rp_of("null"), "(null)");
    CHECK_STR(rp_of("\"\""), "(null)");
    CHECK_STR(rp_of("\"abc\""), "\"abc\"");
    CHECK_STR(rp_of("[1, \"a\"]"), "[1,\"a\"]");
    /* escapes as Newtonsoft writes them */
    CHECK_STR(rp_of("{\"p\":\"a/b\\\\c\\\"d\"}"), "{\"p\":\"a/b\\\\c\\\"d\"}");
    CHECK_STR(rp_of("{\"p\":\"\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"}"),
              "{\"p\":\"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"}");
    CHECK_STR(rp_of("{\"p\":\"\\u00e9<>&'\\u0085\\u2028\\u2029\\u2030\"}"),
              "{\"p\":\"\xc3\xa9<>&'\\u0085\\u2028\\u2029\xe2\x80\xb0\"}");
    CHECK_STR(rp_of("{\"p\":\"\\u0000x\"}"), "{\"p\":\"\\u0000x\"}");
    CHECK_STR(rp_of("{\"k\\u0001\":1}"), "{\"k\\u0001\":1}");
    /* numbers */
    CHECK_STR(rp_of("{\"a\":0.1,\"b\":100.0,\"c\":1e20,\"d\":1e-5,\"e\":-2.5,\"f\":123456789012345.0}"),
              "{\"a\":0.1,\"b\":100.0,\"c\":1E+20,\"d\":1E-05,\"e\":-2.5,\"f\":123456789012345.0}");
    CHECK_STR(rp_of("{\"a\":1e15,\"b\":0.0001,\"c\":1.5e300,\"d\":-0.0,\"e\":3.14159}"),
              "{\"a\":1E+15,\"b\":0.0001,\"c\":1.5E+300,\"d\":-0.0,\"e\":3.14159}");
    CHECK_STR(rp_of("{\"a\":-9223372036854775808,\"b\":true,\"c\":false}"),
              "{\"a\":-9223372036854775808,\"b\":true,\"c\":false}");
    /* date-like strings, as PowerShell reads and writes them back */
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07.000Z\"}"), "{\"t\":\"2023-12-04T20:27:07Z\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07.0360Z\"}"), "{\"t\":\"2023-12-04T20:27:07.036Z\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T07:19:13.036Z\"}"), "{\"t\":\"2023-12-04T07:19:13.036Z\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07\"}"), "{\"t\":\"2023-12-04T20:27:07\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07.50\"}"), "{\"t\":\"2023-12-04T20:27:07.5\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07+02:00\"}"), "{\"t\":\"2023-12-04T20:27:07+02:00\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-04T20:27:07.123456789Z\"}"),
              "{\"t\":\"2023-12-04T20:27:07.123456789Z\"}"); /* 9 digits: not a date for it */
    CHECK_STR(rp_of("{\"t\":\"2023-02-30T00:00:00Z\"}"), "{\"t\":\"2023-02-30T00:00:00Z\"}");
    CHECK_STR(rp_of("{\"t\":\"2023-12-31T24:00:00Z\"}"), "{\"t\":\"2024-01-01T00:00:00Z\"}");
    CHECK_STR(rp_of("{\"t\":\"/Date(1701721627036)/\"}"), "{\"t\":\"2023-12-04T20:27:07.036Z\"}");
    CHECK_STR(rp_of("{\"t\":\"Dec 17, 2023, 2:12:45 AM\"}"), "{\"t\":\"Dec 17, 2023, 2:12:45 AM\"}");

    /* deep nesting is written without recursion */
    size_t depth = 100000;
    json_t **lv = malloc((depth + 1) * sizeof(*lv));
    if (!lv) return;
    lv[0] = json_array();
    for (size_t i = 1; i <= depth; i++) {
        lv[i] = json_array();
        json_array_append_new(lv[i - 1], lv[i]);
    }
    char *s = tm_json_compact(lv[0]);
    CHECK(s && strlen(s) == 2 * (depth + 1));
    free(s);
    /* jansson frees recursively: empty the levels from the inside out */
    for (size_t i = depth; i > 0; i--) json_array_clear(lv[i - 1]);
    json_decref(lv[0]);
    free(lv);
}

static tm_event *ev(const char *time, const char *id, const char *tag) {
    char text[512];
    tm_event *e = NULL;
    tm_error err = {0};
    snprintf(text, sizeof(text),
             "{\"eventTime\":\"%s\",\"eventID\":\"%s\",\"eventSource\":\"ec2.amazonaws.com\","
             "\"eventName\":\"%s\"}",
             time, id, tag);
    if (tm_event_from_text(text, strlen(text), &e, &err) != 0) {
        fprintf(stderr, "bad test record: %s\n", err.msg);
        exit(2);
    }
    return e;
}

static void test_sort_dedupe(void) {
    tm_eventvec v = {0};
    CHECK_INT(tm_eventvec_sort_dedupe(&v), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:02Z", "c", "C")), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01Z", "b", "B1")), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01Z", "a", "A")), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01Z", "b", "B1")), 0);  /* a copy, received later */
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01Z", "b", "B2")), 0);  /* same id, another event */
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:00Z", "", "E1")), 0);   /* no id: kept */
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:00Z", "", "E2")), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:03Z", "a", "A-late")), 0); /* same id, later: kept */
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01Z", "B", "Bupper")), 0);
    CHECK_INT(tm_eventvec_push(&v, ev("2023-01-01T00:00:01.500Z", "0", "half")), 0);
    tm_dedupe_report dr;
    CHECK_INT(tm_eventvec_sort_dedupe_report(&v, &dr), 1);
    CHECK_INT(dr.clashes, 2);
    CHECK_INT(dr.nids, 2);
    const char *want[] = {"E1", "E2", "Bupper", "A", "B1", "B2", "half", "C", "A-late"};
    CHECK_INT(v.n, 9);
    for (size_t i = 0; i < v.n && i < 9; i++) CHECK_STR(v.v[i]->name, want[i]);
    /* idempotent */
    CHECK_INT(tm_eventvec_sort_dedupe(&v), 0);
    CHECK_INT(v.n, 9);
    tm_eventvec_free(&v);
    CHECK(v.v == NULL && v.n == 0);

    /* a larger shuffled set sorts stably and keeps the first copy of each id */
    tm_eventvec w = {0};
    unsigned x = 12345;
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        char t[40], id[16], tag[16];
        unsigned k = (x >> 4) % 2000; /* copies of one event agree on everything */
        snprintf(t, sizeof(t), "2023-01-01T00:%02u:%02uZ", k % 10, (k * 7) % 60);
        snprintf(id, sizeof(id), "id%04u", k);
        snprintf(tag, sizeof(tag), "n%u", k);
        tm_eventvec_push(&w, ev(t, id, tag));
    }
    size_t before = w.n, removed = tm_eventvec_sort_dedupe(&w);
    CHECK_INT(w.n + removed, before);
    int sorted = 1, unique = 1;
    for (size_t i = 1; i < w.n; i++) {
        const tm_event *a = w.v[i - 1], *b = w.v[i];
        if (a->time_ms > b->time_ms || (a->time_ms == b->time_ms && strcmp(a->id, b->id) >= 0))
            sorted = 0;
    }
    for (size_t i = 0; i < w.n; i++)
        for (size_t j = i + 1; j < w.n; j++)
            if (strcmp(w.v[i]->id, w.v[j]->id) == 0) unique = 0;
    CHECK(sorted);
    CHECK(unique);
    tm_eventvec_free(&w);

    /* a sanitized export writes one id for every event: all are kept, and
     * a different principal's record with the same id and name too */
    tm_eventvec r = {0};
    for (int i = 0; i < 218; i++) {
        char t[40], name[16];
        snprintf(t, sizeof(t), "2023-01-01T00:%02d:%02dZ", i / 60, i % 60);
        snprintf(name, sizeof(name), "Call%d", i % 7);
        tm_eventvec_push(&r, ev(t, "redacted", name));
    }
    const char *who = "{\"eventTime\":\"2023-01-01T00:00:00Z\",\"eventID\":\"redacted\",\"eventSource\":"
                      "\"ec2.amazonaws.com\",\"eventName\":\"Call0\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/bob\"}}";
    tm_event *bob = NULL;
    tm_error err = {0};
    CHECK_INT(tm_event_from_text(who, strlen(who), &bob, &err), 0);
    tm_eventvec_push(&r, bob);
    CHECK_INT(tm_eventvec_sort_dedupe_report(&r, &dr), 0);
    CHECK_INT(r.n, 219);
    CHECK_INT(dr.clashes, 218);
    CHECK_INT(dr.nids, TM_DEDUPE_IDS);
    /* and a true copy of one of them still counts once */
    tm_eventvec_push(&r, ev("2023-01-01T00:00:05Z", "redacted", "Call5"));
    CHECK_INT(tm_eventvec_sort_dedupe(&r), 1);
    CHECK_INT(r.n, 219);
    tm_eventvec_free(&r);
}

int main(void) {
    test_time_parse();
    test_time_format();
    test_from_text();
    test_bad_records();
    test_compact_json();
    test_sort_dedupe();
    return tm_test_done();
}

/* test_builtin_time.c: parse_time, timespan, span_ms, format_time. */
#include <jansson.h>

#include "builtins.h"
#include "test.h"

/* Runs built-in `fn` with the step given as JSON text on the items given as
 * JSON text; returns the result array as compact JSON (caller frees), or
 * "ERROR" when the built-in failed. */
static const char *vars_json = "{}";

static char *run(const char *fn, const char *step_json, const char *items_json) {
    const tm_builtin *b = tm_builtin_find(fn);
    if (!b) return strdup("NOFN");
    json_t *step = json_loads(step_json, 0, NULL);
    json_t *items = json_loads(items_json, 0, NULL);
    json_t *out = NULL;
    tm_error err = {0};
    tm_fnctx ctx = {0};
    ctx.vars = json_loads(vars_json, 0, NULL);
    int rc = b->fn(step, items, &ctx, &out, &err);
    char *s = rc ? strdup("ERROR") : json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(out);
    json_decref(step);
    json_decref(items);
    json_decref(ctx.vars);
    return s;
}

#define EXPECT(fn, step, items, want) do { \
    char *got_ = run(fn, step, items); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void test_parse_time(void) {
    /* en-US text, kind kept unspecified (CloudTrail event history) */
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}", "[\"Dec 17, 2023, 2:12:45 AM\"]",
           "[\"2023-12-17T02:12:45\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"unspecified\"}",
           "[\"Dec 17, 2023, 2:42:45 AM\",\"Nov 30, 2023, 8:14:00 PM\",\"Dec 16, 2023, 12:05:00 AM\",\"Dec 16, 2023, 12:05:00 PM\"]",
           "[\"2023-12-17T02:42:45\",\"2023-11-30T20:14:00\",\"2023-12-16T00:05:00\",\"2023-12-16T12:05:00\"]");
    /* New York wall time to UTC: EDT in October, EST in December */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"new_york\"}",
           "[\"Oct 18, 2023, 5:15:51 AM\",\"Dec 18, 2023, 5:15:51 AM\"]",
           "[\"2023-10-18T09:15:51Z\",\"2023-12-18T10:15:51Z\"]");
    /* DST edges 2023: starts Mar 12 02:00, ends Nov 5 02:00 (skipped and
     * repeated hours are taken as standard time) */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"new_york\"}",
           "[\"2023-03-12T01:59:59\",\"2023-03-12T02:30:00\",\"2023-03-12T03:00:00\","
           "\"2023-11-05T00:59:59\",\"2023-11-05T01:30:00\",\"2023-11-05T02:00:00\"]",
           "[\"2023-03-12T06:59:59Z\",\"2023-03-12T07:30:00Z\",\"2023-03-12T07:00:00Z\","
           "\"2023-11-05T04:59:59Z\",\"2023-11-05T06:30:00Z\",\"2023-11-05T07:00:00Z\"]");
    /* other years: 2024 (Mar 10 / Nov 3) and the pre-2007 rule (2006: Apr 2 / Oct 29) */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"new_york\"}",
           "[\"Mar 10, 2024, 3:00:00 AM\",\"Mar 9, 2024, 3:00:00 AM\",\"Nov 3, 2024, 1:00:00 AM\","
           "\"Nov 2, 2024, 11:00:00 PM\",\"Apr 2, 2006, 3:00:00 AM\",\"Mar 12, 2006, 3:00:00 AM\","
           "\"Oct 29, 2006, 12:30:00 AM\"]",
           "[\"2024-03-10T07:00:00Z\",\"2024-03-09T08:00:00Z\",\"2024-11-03T06:00:00Z\","
           "\"2024-11-03T03:00:00Z\",\"2006-04-02T07:00:00Z\",\"2006-03-12T08:00:00Z\","
           "\"2006-10-29T04:30:00Z\"]");
    /* text taken as UTC */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"utc\"}", "[\"Oct 18, 2023, 5:15:51 AM\"]",
           "[\"2023-10-18T05:15:51Z\"]");
    /* epoch milliseconds, with and without the fraction */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"utc\",\"ms\":true}",
           "[1702875599999,1702789200000,\"1702875599999\"]",
           "[\"2023-12-18T04:59:59.999Z\",\"2023-12-17T05:00:00Z\",\"2023-12-18T04:59:59.999Z\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}", "[1702875599999]", "[\"2023-12-18T04:59:59Z\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"ms\":true}", "[1702875599990, 1702875599900]",
           "[\"2023-12-18T04:59:59.99Z\",\"2023-12-18T04:59:59.9Z\"]");
    /* ISO: Z stays UTC, an offset becomes New York local time */
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}",
           "[\"2023-12-17T02:12:45Z\",\"2023-12-17T02:12:45+01:00\",\"2023-07-01T12:00:00.5Z\"]",
           "[\"2023-12-17T02:12:45Z\",\"2023-12-16T20:12:45-05:00\",\"2023-07-01T12:00:00Z\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"new_york\",\"ms\":true}",
           "[\"2023-07-01T12:00:00.1234567Z\",\"2023-07-01T12:00:00-04:00\",\"2023-12-17\"]",
           "[\"2023-07-01T12:00:00.1234567Z\",\"2023-07-01T16:00:00Z\",\"2023-12-17T05:00:00Z\"]");
    /* other en-US forms */
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}",
           "[\"December 1, 2023 2:05 PM\",\"12/17/2023 2:12:45 AM\",\"Sunday, December 17, 2023\",\"Sept 1, 2023\"]",
           "[\"2023-12-01T14:05:00\",\"2023-12-17T02:12:45\",\"2023-12-17T00:00:00\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}", "[\"Dec 17, 2023, 2:12:45\u202fPM\",\"Dec 17, 2023,\u00a02:12:45 AM\"]",
           "[\"2023-12-17T14:12:45\",\"2023-12-17T02:12:45\"]");
    /* nulls and non-times dropped; invalid dates rejected */
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}",
           "[null,\"hello\",true,\"Feb 30, 2023, 1:00:00 AM\",\"2023-02-29T00:00:00Z\",\"13:00 PM\",\"Feb 29, 2024, 1:00:00 PM\"]",
           "[\"2024-02-29T13:00:00\"]");
    EXPECT("parse_time", "{\"fn\":\"parse_time\"}", "[]", "[]");
    /* bad arguments */
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"zone\":\"Europe/Paris\"}", "[]", "ERROR");
    EXPECT("parse_time", "{\"fn\":\"parse_time\",\"ms\":1}", "[]", "ERROR");
}

static void test_timespan(void) {
    const char *ts = "{\"fn\":\"timespan\"}";
    EXPECT("timespan", ts, "[\"2023-12-17T02:12:45\",\"2023-12-17T02:42:45\"]", "[\"30 minutes\"]");
    EXPECT("timespan", ts, "[\"2023-12-16T14:43:05\",\"2023-12-17T02:43:05\"]", "[\"12 hours\"]");
    /* same day of month two months apart (UTC-converted Insights range) */
    EXPECT("timespan", ts, "[\"2023-10-18T09:15:51Z\",\"2023-12-18T10:15:51Z\"]", "[\"2 months\"]");
    EXPECT("timespan", ts, "[\"2022-02-17T13:37:00\",\"2024-02-17T13:37:00\"]", "[\"2 years\"]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"year\"]}",
           "[\"2022-02-17T13:37:00\",\"2024-02-17T13:37:00\"]", "[\"24 months\"]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"year\",\"month\"]}",
           "[\"2006-02-17T13:37:00\",\"2008-02-17T13:37:00\"]", "[\"730 days\"]");
    EXPECT("timespan", ts, "[\"2008-01-18T13:37:00\",\"2008-02-17T13:37:00\"]", "[\"1 month\"]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":\"month\"}",
           "[\"2008-01-18T13:37:00\",\"2008-02-17T13:37:00\"]", "[\"30 days\"]");
    /* a zero span is "0 months" (the month test comes first) */
    EXPECT("timespan", ts, "[\"2023-12-17T02:12:45\",\"2023-12-17T02:12:45\"]", "[\"0 months\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-17T00:00:00\"]", "[\"1 week\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-11T00:00:00\"]", "[\"1 day\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T03:00:00\"]", "[\"3 hours\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T01:00:00\"]", "[\"1 hour\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T00:00:01\"]", "[\"1 second\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T22:17:00\"]", "[\"1337 minutes\"]");
    /* epoch-ms day range with month and week excluded (GuardDuty) */
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"month\",\"week\"]}",
           "[\"2023-12-17T05:00:00Z\",\"2023-12-18T05:00:00Z\"]", "[\"1 day\"]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"month\",\"week\"]}",
           "[\"2023-12-11T05:00:00Z\",\"2023-12-18T05:00:00Z\"]", "[\"7 days\"]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"month\",\"week\"]}",
           "[\"2023-12-17T05:00:00Z\",\"2023-12-18T04:59:59.999Z\"]", "[\"0 days\"]");
    /* .NET prints tiny doubles in exponent form without a '.', which the
     * reference took for a whole number */
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T00:00:00.0000001\"]", "[\"1E-07 seconds\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T00:00:00.00001\"]", "[\"1E-05 seconds\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T00:00:00.0001\"]", "[\"0 days\"]");
    EXPECT("timespan", ts, "[\"2023-12-10T00:00:00\",\"2023-12-10T00:00:00.5\"]", "[\"0 days\"]");
    /* negative spans */
    EXPECT("timespan", ts, "[\"2023-12-10T01:00:00\",\"2023-12-10T00:00:00\"]", "[\"-1 hours\"]");
    /* nothing fits: whole days */
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"second\"]}",
           "[\"2023-12-10T00:00:00\",\"2023-12-12T00:00:01\"]", "[\"2 days\"]");
    /* en-US text accepted directly; a missing end gives nothing */
    EXPECT("timespan", ts, "[\"Dec 17, 2023, 2:12:45 AM\",\"Dec 17, 2023, 2:42:45 AM\"]", "[\"30 minutes\"]");
    EXPECT("timespan", ts, "[\"2023-12-17T02:12:45\"]", "[]");
    EXPECT("timespan", ts, "[\"2023-12-17T02:12:45\",null]", "[]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"exclude\":[\"fortnight\"]}", "[]", "ERROR");
}

static void test_span_ms(void) {
    const char *st = "{\"fn\":\"span_ms\"}";
    EXPECT("span_ms", st, "[\"2023-12-17T02:12:45\",\"2023-12-17T02:42:45\"]", "[1800000]");
    EXPECT("span_ms", st, "[\"2023-10-18T09:15:51Z\",\"2023-12-18T10:15:51Z\"]", "[5274000000]");
    EXPECT("span_ms", st, "[\"2023-10-18T09:15:51Z\",\"2023-10-18T09:15:50Z\"]", "[-1000]");
    EXPECT("span_ms", st, "[\"2023-10-18T09:15:51Z\",\"2023-10-18T09:15:51.0015Z\"]", "[1.5]");
    EXPECT("span_ms", st, "[null,\"2023-10-18T09:15:51Z\"]", "[]");
}

static void test_format_time(void) {
    const char *ft = "{\"fn\":\"format_time\"}";
    EXPECT("format_time", ft, "[\"2023-12-17T02:12:45\",\"2023-12-18T04:59:59.999Z\",\"2023-12-16T20:12:45-05:00\"]",
           "[\"2023-12-17T02:12:45Z\",\"2023-12-18T04:59:59Z\",\"2023-12-16T20:12:45Z\"]");
    EXPECT("format_time", "{\"fn\":\"format_time\",\"format\":\"MM/dd/yyyy HH:mm:ss\"}",
           "[\"2024-04-13T05:11:21Z\"]", "[\"04/13/2024 05:11:21\"]");
    EXPECT("format_time", "{\"fn\":\"format_time\",\"format\":\"ddd, MMM d yyyy h:mm tt 'at' K\"}",
           "[\"2024-04-13T17:01:02Z\",\"2024-04-13T17:01:02\",\"2024-04-13T17:01:02-04:00\"]",
           "[\"Sat, Apr 13 2024 5:01 PM at Z\",\"Sat, Apr 13 2024 5:01 PM at \",\"Sat, Apr 13 2024 5:01 PM at -04:00\"]");
    EXPECT("format_time", "{\"fn\":\"format_time\",\"format\":\"ss.fff|ss.FFF|yy\"}",
           "[\"2024-04-13T17:01:02.5Z\",\"2024-04-13T17:01:02Z\"]", "[\"02.500|02.5|24\",\"02.000|02|24\"]");
    EXPECT("format_time", ft, "[1702875599999,\"nope\"]", "[\"2023-12-18T04:59:59Z\"]");
    EXPECT("format_time", "{\"fn\":\"format_time\",\"format\":3}", "[]", "ERROR");
}

static void test_range_vars(void) {
    vars_json = "{\"s\":\"2023-12-17T02:12:45\",\"e\":[\"2023-12-17T02:42:45\",\"x\"],\"n\":null}";
    EXPECT("timespan", "{\"fn\":\"timespan\",\"start\":\"s\",\"end\":\"e\"}", "[]", "[\"30 minutes\"]");
    EXPECT("span_ms", "{\"fn\":\"span_ms\",\"start\":\"s\",\"end\":\"e\"}", "[1,2]", "[1800000]");
    EXPECT("span_ms", "{\"fn\":\"span_ms\",\"start\":\"s\",\"end\":\"n\"}", "[]", "[]");
    EXPECT("span_ms", "{\"fn\":\"span_ms\",\"start\":\"s\",\"end\":\"missing\"}", "[]", "[]");
    EXPECT("timespan", "{\"fn\":\"timespan\",\"start\":\"s\"}", "[]", "ERROR");
    EXPECT("span_ms", "{\"fn\":\"span_ms\",\"start\":\"s\",\"end\":3}", "[]", "ERROR");
    vars_json = "{}";
}

int main(void) {
    test_parse_time();
    test_timespan();
    test_span_ms();
    test_format_time();
    test_range_vars();
    return tm_test_done();
}

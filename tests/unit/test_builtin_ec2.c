/* test_builtin_ec2.c: pairs, ec2_filter_url, kv_text, append_vars, json_text. */
#include <jansson.h>

#include "builtins.h"
#include "test.h"

/* Runs built-in `fn` with the step and items given as JSON text, the vars
 * computed so far as `vars` (JSON text); returns the result array as compact
 * JSON with sorted keys (caller frees), "ERROR" when the built-in failed or
 * "NOFN" when it is not registered. */
static char *run_vars(const char *fn, const char *step_json, const char *items_json, const char *vars) {
    const tm_builtin *b = tm_builtin_find(fn);
    if (!b) return strdup("NOFN");
    json_t *step = json_loads(step_json, 0, NULL);
    json_t *items = json_loads(items_json, 0, NULL);
    if (!step || !items) {
        json_decref(step);
        json_decref(items);
        return strdup("BADTEST");
    }
    json_t *out = NULL;
    tm_error err = {0};
    tm_fnctx ctx = {0};
    ctx.vars = json_loads(vars, 0, NULL);
    int rc = b->fn(step, items, &ctx, &out, &err);
    char *s = rc ? strdup("ERROR") : json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
    json_decref(out);
    json_decref(step);
    json_decref(items);
    json_decref(ctx.vars);
    return s;
}

#define EXPECT_V(fn, step, items, vars, want) do { \
    char *got_ = run_vars(fn, step, items, vars); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

#define EXPECT(fn, step, items, want) EXPECT_V(fn, step, items, "{}", want)

/* EC2 filterSet items as CloudTrail records them. */
#define F_STATE "{\"name\":\"instance-state-name\",\"valueSet\":{\"items\":[{\"value\":\"running\"}]}}"
#define F_TYPE2 "{\"name\":\"instance-type\",\"valueSet\":{\"items\":[{\"value\":\"t2.micro\"},{\"value\":\"t3.nano\"}]}}"
#define F_NOVAL "{\"name\":\"product-code\",\"valueSet\":{}}"
#define F_NONAME "{\"valueSet\":{\"items\":[{\"value\":\"x\"}]}}"

static void test_pairs(void) {
    EXPECT("pairs", "{\"fn\":\"pairs\"}", "[]", "[]");
    /* one pair per value, order kept */
    EXPECT("pairs", "{\"fn\":\"pairs\"}", "[" F_STATE "," F_TYPE2 "]",
           "[{\"Key\":\"instance-state-name\",\"Value\":\"running\"},"
           "{\"Key\":\"instance-type\",\"Value\":\"t2.micro\"},"
           "{\"Key\":\"instance-type\",\"Value\":\"t3.nano\"}]");
    /* a key with no value gives one pair with null; an item without a key is dropped */
    EXPECT("pairs", "{\"fn\":\"pairs\"}", "[" F_NOVAL "," F_NONAME "]",
           "[{\"Key\":\"product-code\",\"Value\":null}]");
    /* exact duplicates (across items) removed, first kept; case matters */
    EXPECT("pairs", "{\"fn\":\"pairs\"}",
           "[" F_STATE "," F_STATE ",{\"name\":\"instance-state-name\",\"valueSet\":{\"items\":[{\"value\":\"Running\"}]}}]",
           "[{\"Key\":\"instance-state-name\",\"Value\":\"running\"},"
           "{\"Key\":\"instance-state-name\",\"Value\":\"Running\"}]");
    /* camel_keys */
    EXPECT("pairs", "{\"fn\":\"pairs\",\"camel_keys\":true}", "[" F_STATE "," F_NOVAL ",{\"name\":\"tag:Name\"}]",
           "[{\"Key\":\"instanceStateName\",\"Value\":\"running\"},"
           "{\"Key\":\"productCode\",\"Value\":null},{\"Key\":\"tag:Name\",\"Value\":null}]");
    /* other layouts: {Name, Value:[{content}]} and {key, values:[...]}, custom names */
    EXPECT("pairs", "{\"fn\":\"pairs\",\"key\":\"Name\",\"values\":\"Value.content\",\"camel_keys\":true}",
           "[{\"Name\":\"instance-type\",\"Value\":{\"content\":\"a1.medium\",\"tag\":1}},"
           "{\"Name\":\"availability-zone\",\"Value\":[{\"content\":\"us-east-1a\"},{\"content\":\"us-east-1b\"}]}]",
           "[{\"Key\":\"instanceType\",\"Value\":\"a1.medium\"},"
           "{\"Key\":\"availabilityZone\",\"Value\":\"us-east-1a\"},"
           "{\"Key\":\"availabilityZone\",\"Value\":\"us-east-1b\"}]");
    EXPECT("pairs", "{\"fn\":\"pairs\",\"key\":\"key\",\"values\":\"values\",\"names\":[\"k\",\"v\"]}",
           "[{\"key\":\"name\",\"values\":[\"a\",\"b\",\"a\"]},{\"key\":\"\",\"values\":[\"c\"]},{\"key\":\"all\",\"values\":[]}]",
           "[{\"k\":\"name\",\"v\":\"a\"},{\"k\":\"name\",\"v\":\"b\"},{\"k\":\"all\",\"v\":null}]");
    /* bad arguments */
    EXPECT("pairs", "{\"fn\":\"pairs\",\"key\":3}", "[]", "ERROR");
    EXPECT("pairs", "{\"fn\":\"pairs\",\"names\":[\"a\"]}", "[]", "ERROR");
    EXPECT("pairs", "{\"fn\":\"pairs\",\"camel_keys\":\"yes\"}", "[]", "ERROR");
    EXPECT("pairs", "{\"fn\":\"pairs\",\"values\":\"a..b\"}", "[]", "ERROR");
}

static void test_filter_url(void) {
    /* nothing to say: no output at all */
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"version\":\"3\"}", "[]", "[]");
    EXPECT_V("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"visibility\":\"vis\",\"version\":\"3\"}", "[]",
             "{\"vis\":null}", "[]");
    /* visibility only: no version */
    EXPECT_V("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"visibility\":\"vis\",\"version\":\"3\"}", "[]",
             "{\"vis\":\"owned-by-me\"}", "[\"visibility=owned-by-me\"]");
    /* contains syntax, camelCase keys, null values, version last */
    EXPECT_V("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"visibility\":\"vis\",\"version\":\"3\"}",
             "[{\"Key\":\"snapshot-id\",\"Value\":\"*snap-0abc*\"},{\"Key\":\"ownerId\",\"Value\":\"blaOwnerEquals\"},"
             "{\"Key\":\"productCode\",\"Value\":null}]",
             "{\"vis\":\"public\"}",
             "[\"visibility=public;snapshotId=:snap-0abc;ownerId=blaOwnerEquals;productCode=;v=3\"]");
    /* no version argument (capacity reservations); minimal encoding of keys and values */
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\"}",
           "[{\"Key\":\"instanceType\",\"Value\":\"a1.medium\"},{\"Key\":\"tag:Name\",\"Value\":\"my app/1\"}]",
           "[\"instanceType=a1.medium;tag%3aName=my+app%2f1\"]");
    /* a lone star, and stars on one side only */
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\"}",
           "[{\"Key\":\"a\",\"Value\":\"*\"},{\"Key\":\"b\",\"Value\":\"*x\"},{\"Key\":\"c\",\"Value\":\"**\"}]",
           "[\"a=:;b=*x;c=:\"]");
    /* camel_keys false keeps dashes */
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"camel_keys\":false,\"version\":\"3\"}",
           "[{\"Key\":\"instance-type\",\"Value\":\"t2.micro\"}]", "[\"instance-type=t2.micro;v=3\"]");
    /* numbers and booleans print as PowerShell does */
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\"}",
           "[{\"Key\":\"n\",\"Value\":5},{\"Key\":\"b\",\"Value\":true}]", "[\"n=5;b=True\"]");
    EXPECT("ec2_filter_url", "{\"fn\":\"ec2_filter_url\",\"version\":3}", "[]", "ERROR");
}

static void test_kv_text(void) {
    EXPECT("kv_text", "{\"fn\":\"kv_text\"}", "[]", "[]");
    EXPECT("kv_text", "{\"fn\":\"kv_text\"}",
           "[{\"Key\":\"state\",\"Value\":\"open\"},{\"Key\":\"productCode\",\"Value\":null},{\"Key\":\"x\",\"Value\":\"\"}]",
           "[\"state='open', productCode=UNDEFINED, x=UNDEFINED\"]");
    EXPECT("kv_text", "{\"fn\":\"kv_text\",\"key\":\"k\",\"value\":\"v\",\"sep\":\";\"}",
           "[{\"k\":\"a\",\"v\":\"1\"},{\"k\":\"b\",\"v\":2}]", "[\"a='1';b='2'\"]");
    EXPECT("kv_text", "{\"fn\":\"kv_text\",\"sep\":1}", "[]", "ERROR");
}

static void test_append_vars(void) {
    const char *vars = "{\"one\":\"i-1\",\"many\":[\"i-2\",\"i-3\"],\"none\":null}";
    EXPECT_V("append_vars", "{\"fn\":\"append_vars\",\"vars\":[\"one\",\"none\",\"many\",\"absent\"]}", "[\"i-0\"]",
             vars, "[\"i-0\",\"i-1\",\"i-2\",\"i-3\"]");
    EXPECT_V("append_vars", "{\"fn\":\"append_vars\",\"vars\":[\"none\"]}", "[]", vars, "[]");
    EXPECT_V("append_vars", "{\"fn\":\"append_vars\",\"vars\":[\"many\",\"one\"]}", "[]", vars,
             "[\"i-2\",\"i-3\",\"i-1\"]");
    EXPECT("append_vars", "{\"fn\":\"append_vars\",\"vars\":\"one\"}", "[]", "ERROR");
    EXPECT("append_vars", "{\"fn\":\"append_vars\",\"vars\":[1]}", "[]", "ERROR");
}

static void test_json_text(void) {
    /* key order of the input is kept, no spaces, '/' not escaped */
    EXPECT("json_text", "{\"fn\":\"json_text\",\"path\":\"requestParameters\"}",
           "[{\"requestParameters\":{\"z\":1,\"ownersSet\":{},\"a\":{\"items\":[{\"owner\":\"self\"}]},\"p\":\"a/b\"}},"
           "{\"eventName\":\"X\"}]",
           "[\"{\\\"z\\\":1,\\\"ownersSet\\\":{},\\\"a\\\":{\\\"items\\\":[{\\\"owner\\\":\\\"self\\\"}]},\\\"p\\\":\\\"a/b\\\"}\","
           "\"null\"]");
    EXPECT("json_text", "{\"fn\":\"json_text\"}", "[\"s\",3,null]", "[\"\\\"s\\\"\",\"3\",\"null\"]");
    EXPECT("json_text", "{\"fn\":\"json_text\",\"path\":\"\"}", "[]", "ERROR");
}

int main(void) {
    test_pairs();
    test_filter_url();
    test_kv_text();
    test_append_vars();
    test_json_text();
    return tm_test_done();
}

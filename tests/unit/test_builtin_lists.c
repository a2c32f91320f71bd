/* test_builtin_lists.c: exclude_seen_in_previous, secrets_search_url,
 * as_array, map_member. */
#include <jansson.h>

#include "builtins.h"
#include "test.h"

/* Runs built-in `fn` with the step, items and history given as JSON text;
 * returns the result array as compact JSON (caller frees), or "ERROR". */
static char *run_h(const char *fn, const char *step_json, const char *items_json, const char *history_json) {
    const tm_builtin *b = tm_builtin_find(fn);
    if (!b) return strdup("NOFN");
    json_t *step = json_loads(step_json, 0, NULL);
    json_t *items = json_loads(items_json, 0, NULL);
    json_t *out = NULL;
    tm_error err = {0};
    tm_fnctx ctx = {0};
    ctx.vars = json_object();
    ctx.history = history_json ? json_loads(history_json, 0, NULL) : NULL;
    if (!step || !items) {
        json_decref(step);
        json_decref(items);
        json_decref(ctx.vars);
        json_decref(ctx.history);
        return strdup("BADTEST");
    }
    int rc = b->fn(step, items, &ctx, &out, &err);
    char *s = rc ? strdup("ERROR") : json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    json_decref(out);
    json_decref(step);
    json_decref(items);
    json_decref(ctx.vars);
    json_decref(ctx.history);
    return s;
}

#define EXPECT_H(fn, step, items, hist, want) do { \
    char *got_ = run_h(fn, step, items, hist); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)
#define EXPECT(fn, step, items, want) EXPECT_H(fn, step, items, NULL, want)

#define EXCL "{\"fn\":\"exclude_seen_in_previous\",\"label\":\"CloudTrail_EventHistory\"," \
             "\"fields\":[\"attributeKey\",\"attributeValue\"]}"
#define P(k, v) "{\"attributeKey\":\"" k "\",\"attributeValue\":\"" v "\"}"

static void test_exclude_seen_in_previous(void) {
    const char *hist =
        "[{\"label\":\"CloudTrail_EventHistory\",\"data\":{\"attributeKey\":\"Username\",\"attributeValue\":\"bob\"}},"
        " {\"label\":\"CloudTrail_EventHistory\",\"data\":{\"attributeKey\":\"ReadOnly\",\"attributeValue\":\"false\"}},"
        " {\"label\":\"CloudTrail_EventHistory\",\"data\":{\"attributeKey\":null,\"attributeValue\":null}},"
        " {\"label\":\"IAM_Users\",\"data\":{\"attributeKey\":\"EventName\",\"attributeValue\":\"x\"}},"
        " {\"label\":\"S3_Buckets\",\"data\":null}]";
    /* the newest same-label entry with both fields set is ReadOnly=false: it is dropped */
    EXPECT_H("exclude_seen_in_previous", EXCL, "[" P("ReadOnly", "false") "," P("EventName", "ListUsers") "]", hist,
             "[" P("EventName", "ListUsers") "]");
    /* dropping everything keeps everything */
    EXPECT_H("exclude_seen_in_previous", EXCL, "[" P("ReadOnly", "false") "]", hist, "[" P("ReadOnly", "false") "]");
    /* case-sensitive: readonly is not ReadOnly */
    EXPECT_H("exclude_seen_in_previous", EXCL, "[" P("readonly", "false") "," P("ReadOnly", "FALSE") "]", hist,
             "[" P("readonly", "false") "," P("ReadOnly", "FALSE") "]");
    /* only the key matching is not enough */
    EXPECT_H("exclude_seen_in_previous", EXCL, "[" P("ReadOnly", "true") "," P("Username", "bob") "]", hist,
             "[" P("ReadOnly", "true") "," P("Username", "bob") "]");
    /* no history: only all-null items drop */
    EXPECT_H("exclude_seen_in_previous", EXCL,
             "[{\"attributeKey\":null,\"attributeValue\":null},{\"attributeValue\":null}," P("Username", "bob") "]",
             "[]", "[" P("Username", "bob") "]");
    EXPECT("exclude_seen_in_previous", EXCL, "[" P("Username", "bob") "]", "[" P("Username", "bob") "]");
    /* other labels are not looked at */
    EXPECT_H("exclude_seen_in_previous",
             "{\"fn\":\"exclude_seen_in_previous\",\"label\":\"IAM_Users\",\"fields\":[\"attributeKey\",\"attributeValue\"]}",
             "[" P("EventName", "x") "," P("ReadOnly", "false") "]", hist, "[" P("ReadOnly", "false") "]");
    /* loose equality: the number 5 equals the text "5" */
    EXPECT_H("exclude_seen_in_previous",
             "{\"fn\":\"exclude_seen_in_previous\",\"label\":\"L\",\"fields\":[\"n\"]}",
             "[{\"n\":5},{\"n\":6}]", "[{\"label\":\"L\",\"data\":{\"n\":\"5\"}}]", "[{\"n\":6}]");
    EXPECT("exclude_seen_in_previous", EXCL, "[]", "[]");
    /* bad arguments */
    EXPECT("exclude_seen_in_previous", "{\"fn\":\"exclude_seen_in_previous\",\"fields\":[\"a\"]}", "[]", "ERROR");
    EXPECT("exclude_seen_in_previous", "{\"fn\":\"exclude_seen_in_previous\",\"label\":\"L\",\"fields\":[]}", "[]",
           "ERROR");
    EXPECT("exclude_seen_in_previous", "{\"fn\":\"exclude_seen_in_previous\",\"label\":\"L\",\"fields\":[1]}", "[]",
           "ERROR");
}

#define SURL "{\"fn\":\"secrets_search_url\",\"keys\":{\"Name\":\"name\",\"Description\":\"description\"," \
             "\"Tag key\":\"tag-key\",\"Tag value\":\"tag-value\",\"Replicated secrets\":\"Replicated%2520secrets\"," \
             "\"Managed by\":\"owning-service\"}}"
#define KV(k, v) "{\"Key\":\"" k "\",\"Value\":\"" v "\"}"

static void test_secrets_search_url(void) {
    EXPECT("secrets_search_url", SURL, "[]", "[]");
    EXPECT("secrets_search_url", SURL, "[" KV("Name", "prod") "]", "[\"&search=name%3Dprod\"]");
    /* sorted; values minimally encoded; null value as "" */
    EXPECT("secrets_search_url", SURL,
           "[" KV("Tag key", "env") "," KV("Description", "a b/c") ",{\"Key\":\"Name\",\"Value\":null}]",
           "[\"&search=description%3Da+b%2fc%26name%3D%26tag-key%3Denv\"]");
    /* unknown keys are encoded as they are; lookup ignores case */
    EXPECT("secrets_search_url", SURL, "[" KV("all", "x") "," KV("name", "y") "]",
           "[\"&search=all%3Dx%26name%3Dy\"]");
    /* upper-case entries first */
    EXPECT("secrets_search_url", SURL, "[" KV("Replicated secrets", "us-east-1") "]",
           "[\"&search=Replicated%2520secrets%3Dus-east-1\"]");
    EXPECT("secrets_search_url", SURL,
           "[" KV("Name", "n") "," KV("Replicated secrets", "b") "," KV("Replicated secrets", "a") "]",
           "[\"&search=Replicated%2520secrets%3Da%26Replicated%2520secrets%3Db%26name%3Dn\"]");
    EXPECT("secrets_search_url", SURL, "[" KV("Name", "n") "," KV("Replicated secrets", "us-east-1") "]",
           "[\"&search=Replicated%2520secrets%3Dus-east-1%26name%3Dn\"]");
    EXPECT("secrets_search_url", SURL,
           "[" KV("Tag key", "t") "," KV("Name", "n") "," KV("Replicated secrets", "us-east-1") "]",
           "[\"&search=Replicated%2520secrets%3Dus-east-1%26name%3Dn%26tag-key%3Dt\"]");
    /* numbers print as text */
    EXPECT("secrets_search_url", SURL, "[{\"Key\":\"Name\",\"Value\":42}]", "[\"&search=name%3D42\"]");
    EXPECT("secrets_search_url", "{\"fn\":\"secrets_search_url\"}", "[]", "ERROR");
}

static void test_as_array(void) {
    EXPECT("as_array", "{\"fn\":\"as_array\"}", "[]", "[[]]");
    EXPECT("as_array", "{\"fn\":\"as_array\"}", "[\"a\"]", "[[\"a\"]]");
    EXPECT("as_array", "{\"fn\":\"as_array\"}", "[\"a\",{\"b\":1}]", "[[\"a\",{\"b\":1}]]");
}

#define MAPM "{\"fn\":\"map_member\",\"member\":\"Key\",\"table\":{\"name\":\"Name\",\"tag-key\":\"Tag key\"}"

static void test_map_member(void) {
    EXPECT("map_member", MAPM "}", "[" KV("name", "a") "," KV("NAME", "b") "," KV("all", "c") "]",
           "[" KV("Name", "a") "," KV("NAME", "b") "," KV("all", "c") "]");
    EXPECT("map_member", MAPM ",\"ignore_case\":true}",
           "[" KV("NAME", "b") ",\"text\",{\"Value\":1},{\"Key\":null,\"Value\":2}]",
           "[" KV("Name", "b") ",\"text\",{\"Value\":1},{\"Key\":null,\"Value\":2}]");
    EXPECT("map_member", "{\"fn\":\"map_member\",\"table\":{}}", "[]", "ERROR");
    EXPECT("map_member", "{\"fn\":\"map_member\",\"member\":\"K\"}", "[]", "ERROR");
    EXPECT("map_member", "{\"fn\":\"map_member\",\"member\":\"K\",\"table\":{},\"ignore_case\":1}", "[]", "ERROR");
}

int main(void) {
    test_exclude_seen_in_previous();
    test_secrets_search_url();
    test_as_array();
    test_map_member();
    return tm_test_done();
}

/* test_pipeline.c: every pipeline step of rules/README.md, the shapes, and
 * the compile-time checks. */
#include <stdlib.h>
#include <string.h>

#include "vars.h"
#include "test.h"

static tm_event *EVS[4];
static tm_pipectx CTX;
static json_t *HISTORY, *VARS, *ITEMS, *KNOWN;

static tm_event *mkev(const char *id, const char *time, const char *name, const char *region, const char *rp) {
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"eventTime\":\"%s\",\"eventID\":\"%s\",\"eventSource\":\"svc.amazonaws.com\",\"eventName\":\"%s\","
             "\"awsRegion\":\"%s\",\"requestParameters\":%s}",
             time, id, name, region, rp);
    tm_event *e = NULL;
    tm_error err;
    if (tm_event_from_text(buf, strlen(buf), &e, &err)) {
        fprintf(stderr, "bad event: %s\n", err.msg);
        exit(2);
    }
    return e;
}

static void setup(void) {
    EVS[0] = mkev("ev-1", "2024-01-01T00:00:10Z", "Open", "us-east-1",
                  "{\"name\":\"n1\",\"ids\":[\"i-1\",\"i-2\"],\"kind\":\"x\"}");
    EVS[1] = mkev("ev-2", "2024-01-01T00:00:11Z", "Load", "us-east-1",
                  "{\"name\":\"n2\",\"kind\":\"y\",\"tags\":[{\"k\":\"a\",\"v\":1},{\"k\":\"b\",\"v\":2}]}");
    EVS[2] = mkev("ev-3", "2024-01-01T00:00:12Z", "Load", "eu-west-1", "{\"name\":\"n3\",\"kind\":\"x\"}");
    EVS[3] = mkev("ev-4", "2024-01-01T00:00:13Z", "Extra", "us-east-1", "null");
    HISTORY = json_loads("[{\"label\":\"H_One\",\"data\":{\"x\":1},\"awsRegion\":\"us-east-1\","
                         "\"eventTime\":\"2024-01-01T00:00:01Z\"},"
                         "{\"label\":\"H_Two\",\"data\":null,\"awsRegion\":\"us-west-2\","
                         "\"eventTime\":\"2024-01-01T00:00:05Z\"}]",
                         0, NULL);
    VARS = json_loads("{\"v\":[\"x\",\"y\"],\"sc\":\"abc\",\"n\":3,\"nul\":null,\"empty\":null,\"flag\":true,"
                      "\"one\":\"first\"}", 0, NULL);
    ITEMS = json_loads("{\"v\":[\"x\",\"y\"],\"sc\":[\"abc\"],\"n\":[3],\"nul\":[],\"empty\":[],\"flag\":[true],"
                       "\"one\":[\"first\",\"second\"]}", 0, NULL);
    KNOWN = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(VARS, k, v) json_object_set_new(KNOWN, k, json_true());
    CTX.anchor = EVS[0];
    CTX.related = EVS;
    CTX.nrelated = 4;
    CTX.history = HISTORY;
    CTX.vars = VARS;
    CTX.var_items = ITEMS;
}

static void teardown(void) {
    for (int i = 0; i < 4; i++) tm_event_free(EVS[i]);
    json_decref(HISTORY);
    json_decref(VARS);
    json_decref(ITEMS);
    json_decref(KNOWN);
}

static tm_pipeline *compile(const char *steps, tm_errlist *errs) {
    tm_jdoc *doc = NULL;
    tm_error err;
    if (tm_jdoc_loadb("steps.json", steps, strlen(steps), &doc, &err)) {
        fprintf(stderr, "bad steps JSON in test: %s\n", err.msg);
        exit(2);
    }
    tm_pipeline *p = tm_pipeline_compile(doc, tm_jdoc_root(doc), KNOWN, errs);
    tm_jdoc_free(doc);
    return p;
}

/* Runs steps; returns the items as compact JSON. */
static char *RUN(const char *steps) {
    tm_errlist errs = {0};
    tm_pipeline *p = compile(steps, &errs);
    if (!p) {
        fprintf(stderr, "pipeline did not compile: %s\n", steps);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
        tm_errlist_free(&errs);
        return strdup("(error)");
    }
    tm_errlist_free(&errs);
    json_t *out = NULL;
    tm_error err;
    char *s;
    if (tm_pipeline_run(p, &CTX, &out, &err)) s = strdup("(run error)");
    else s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    tm_pipeline_free(p);
    return s;
}

#define CHECK_RUN(steps, want) do { \
    char *got_ = RUN(steps); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void expect_error(const char *steps, const char *want) {
    tm_errlist errs = {0};
    tm_pipeline *p = compile(steps, &errs);
    CHECK(p == NULL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i], want)) found = 1;
    if (!found) {
        fprintf(stderr, "no error containing \"%s\" for %s; got:\n", want, steps);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
    }
    CHECK(found);
    tm_pipeline_free(p);
    tm_errlist_free(&errs);
}

static void test_sources(void) {
    /* anchor */
    CHECK_RUN("[{\"anchor\":true},{\"get\":\"eventID\"}]", "[\"ev-1\"]");
    /* related with names (time order), and "*" */
    CHECK_RUN("[{\"related\":[\"svc:Load\"]},{\"get\":\"eventID\"}]", "[\"ev-2\",\"ev-3\"]");
    CHECK_RUN("[{\"related\":[\"svc:Extra\",\"svc:Open\"]},{\"get\":\"eventID\"}]", "[\"ev-1\",\"ev-4\"]");
    CHECK_RUN("[{\"related\":\"*\"},{\"get\":\"eventID\"}]", "[\"ev-1\",\"ev-2\",\"ev-3\",\"ev-4\"]");
    CHECK_RUN("[{\"related\":[\"svc:Nothing\"]},{\"get\":\"eventID\"}]", "[]");
    CHECK_RUN("[{\"related\":[\"svc:load\"]}]", "[]"); /* names compare exactly */
    /* a source replaces the list */
    CHECK_RUN("[{\"anchor\":true},{\"related\":[\"svc:Extra\"]},{\"get\":\"eventID\"}]", "[\"ev-4\"]");
    /* var: the items of an earlier var */
    CHECK_RUN("[{\"var\":\"v\"}]", "[\"x\",\"y\"]");
    CHECK_RUN("[{\"var\":\"nul\"}]", "[]");
    /* const */
    CHECK_RUN("[{\"const\":[1,\"two\",null]}]", "[1,\"two\",null]");
    CHECK_RUN("[{\"const\":\"s\"}]", "[\"s\"]");
    CHECK_RUN("[{\"const\":{\"k\":1}}]", "[{\"k\":1}]");
    CHECK_RUN("[{\"const\":null}]", "[]");
    /* history: oldest first, as objects */
    CHECK_RUN("[{\"history\":true},{\"get\":\"label\"}]", "[\"H_One\",\"H_Two\"]");
    CHECK_RUN("[{\"history\":true},{\"last\":true},{\"get\":\"awsRegion\"}]", "[\"us-west-2\"]");
    CHECK_RUN("[{\"history\":true},{\"get\":\"data.x\"}]", "[1]");
    CHECK_RUN("[{\"history\":true},{\"first\":true},{\"get\":\"eventTime\"}]", "[\"2024-01-01T00:00:01Z\"]");
}

static void test_get(void) {
    CHECK_RUN("[{\"related\":\"*\"},{\"get\":\"requestParameters.name\"}]", "[\"n1\",\"n2\",\"n3\"]");
    /* arrays at the end flattened; raw keeps them */
    CHECK_RUN("[{\"anchor\":true},{\"get\":\"requestParameters.ids\"}]", "[\"i-1\",\"i-2\"]");
    CHECK_RUN("[{\"anchor\":true},{\"get\":\"requestParameters.ids\",\"raw\":true}]", "[[\"i-1\",\"i-2\"]]");
    /* crossing arrays, and an index */
    CHECK_RUN("[{\"related\":[\"svc:Load\"]},{\"get\":\"requestParameters.tags.k\"}]", "[\"a\",\"b\"]");
    CHECK_RUN("[{\"related\":[\"svc:Load\"]},{\"get\":\"requestParameters.tags[1].v\"}]", "[2]");
    /* null values are items; missing ones are not */
    CHECK_RUN("[{\"related\":\"*\"},{\"get\":\"requestParameters\"},{\"count\":true}]", "[4]");
    CHECK_RUN("[{\"related\":\"*\"},{\"get\":\"requestParameters.nope\"}]", "[]");
    /* $eventNameFull, and "." the item itself */
    CHECK_RUN("[{\"related\":\"*\"},{\"get\":\"$eventNameFull\"}]", "[\"svc:Open\",\"svc:Load\",\"svc:Load\",\"svc:Extra\"]");
    CHECK_RUN("[{\"const\":[\"a\",\"b\"]},{\"get\":\".\"}]", "[\"a\",\"b\"]");
    CHECK_RUN("[{\"anchor\":true},{\"get\":\"awsRegion\"}]", "[\"us-east-1\"]");
}

static void test_per_item(void) {
    /* filter: predicate on each item, paths relative to it */
    CHECK_RUN("[{\"related\":\"*\"},{\"filter\":{\"f\":\"requestParameters.kind\",\"eq\":\"x\"}},{\"get\":\"eventID\"}]",
              "[\"ev-1\",\"ev-3\"]");
    CHECK_RUN("[{\"const\":[{\"name\":\"resource-id\",\"v\":1},{\"name\":\"key\",\"v\":2},{\"name\":\"resource-id\",\"v\":3}]},"
              "{\"filter\":{\"f\":\"name\",\"eq\":\"resource-id\"}},{\"get\":\"v\"}]",
              "[1,3]");
    CHECK_RUN("[{\"const\":[{\"type\":\"REGION\"},{\"type\":\"TAG\"},{}]},{\"filter\":{\"f\":\"type\",\"ne\":\"REGION\"}}]",
              "[{\"type\":\"TAG\"},{}]");
    CHECK_RUN("[{\"const\":[{\"a\":\"xa\"},{\"b\":1}]},{\"filter\":{\"f\":\"a\",\"starts_with\":\"x\"}}]",
              "[{\"a\":\"xa\"}]"); /* an erring test drops the item */
    /* starts_with */
    CHECK_RUN("[{\"const\":[\"i-1\",\"vol-2\",\"i-3\",5,null,\"I-4\"]},{\"starts_with\":\"i-\"}]", "[\"i-1\",\"i-3\"]");
    /* nonempty */
    CHECK_RUN("[{\"const\":[null,\"\",false,0,[],{},\"a\",1,true,[0],{\"k\":1},\"0\"]},{\"nonempty\":true}]",
              "[\"a\",1,true,[0],{\"k\":1},\"0\"]");
    /* split_last */
    CHECK_RUN("[{\"const\":[\"arn:aws:cloudtrail:us-east-1:1:trail/my\",\"plain\",\"a:trail/b:trail/c\",7]},"
              "{\"split_last\":\":trail/\"}]",
              "[\"my\",\"plain\",\"c\",7]");
    CHECK_RUN("[{\"const\":[\"a/b/c\",\"a/\"]},{\"split_last\":\"/\"}]", "[\"c\",\"\"]");
    /* replace: every match, POSIX extended */
    CHECK_RUN("[{\"const\":[\"alias/foo\",\"x\",\"alias/alias/y\"]},{\"replace\":[\"^alias/\",\"\"]}]",
              "[\"foo\",\"x\",\"alias/y\"]");
    CHECK_RUN("[{\"const\":[\"aaa\"]},{\"replace\":[\"a\",\"b\"]}]", "[\"bbb\"]");
    CHECK_RUN("[{\"const\":[\"aaa\"]},{\"replace\":[\"^a\",\"b\"]}]", "[\"baa\"]");
    CHECK_RUN("[{\"const\":[\"ab12cd345\"]},{\"replace\":[\"[0-9]+\",\"#\"]}]", "[\"ab#cd#\"]");
    CHECK_RUN("[{\"const\":[\"my-app-secret-AbC123\",\"plain\"]},{\"replace\":[\"-[A-Za-z0-9]+\",\"\"]}]",
              "[\"my\",\"plain\"]");
    CHECK_RUN("[{\"const\":[\"arn:aws:secretsmanager:r:1:secret:name-Ab12\"]},{\"replace\":[\"^.*:secret:\",\"\"]}]",
              "[\"name-Ab12\"]");
    CHECK_RUN("[{\"const\":[\"a|b\"]},{\"replace\":[\"(a|b)\",\"x\"]}]", "[\"x|x\"]");
    /* empty matches: everywhere, including the end (as .NET's Regex.Replace) */
    CHECK_RUN("[{\"const\":[\"abc\"]},{\"replace\":[\"x*\",\"-\"]}]", "[\"-a-b-c-\"]");
    CHECK_RUN("[{\"const\":[\"\"]},{\"replace\":[\"x*\",\"-\"]}]", "[\"-\"]");
    CHECK_RUN("[{\"const\":[\"abc\"]},{\"replace\":[\"$\",\"!\"]}]", "[\"abc!\"]");
    CHECK_RUN("[{\"const\":[\"\"]},{\"replace\":[\"^alias/\",\"\"]}]", "[\"\"]");
    /* map, with and without default */
    CHECK_RUN("[{\"const\":[\"a\",\"b\",\"c\"]},{\"map\":{\"a\":\"A\",\"b\":\"B\"}}]", "[\"A\",\"B\",\"c\"]");
    CHECK_RUN("[{\"const\":[\"a\",\"b\",\"c\"]},{\"map\":{\"a\":\"A\",\"b\":\"B\"},\"default\":\"{{UNKNOWN}}\"}]",
              "[\"A\",\"B\",\"{{UNKNOWN}}\"]");
    CHECK_RUN("[{\"const\":[1,true]},{\"map\":{\"1\":\"one\",\"True\":\"yes\"}}]", "[\"one\",\"yes\"]");
    CHECK_RUN("[{\"const\":[\"x\"]},{\"map\":{\"x\":{\"o\":1}}}]", "[{\"o\":1}]");
    /* obj */
    CHECK_RUN("[{\"related\":[\"svc:Load\"]},{\"obj\":{\"id\":\"eventID\",\"n\":\"requestParameters.name\","
              "\"t\":\"requestParameters.tags.k\",\"x\":\"requestParameters.nope\"}}]",
              "[{\"id\":\"ev-2\",\"n\":\"n2\",\"t\":\"a\",\"x\":null},{\"id\":\"ev-3\",\"n\":\"n3\",\"t\":null,\"x\":null}]");
    CHECK_RUN("[{\"anchor\":true},{\"obj\":{\"ids\":\"requestParameters.ids\"}}]", "[{\"ids\":[\"i-1\",\"i-2\"]}]");
    /* each: the steps run on each item alone */
    CHECK_RUN("[{\"const\":[{\"a\":[1,2]},{\"a\":[3]},{\"b\":0}]},{\"each\":[{\"get\":\"a\"},{\"last\":true}]}]", "[2,3]");
    CHECK_RUN("[{\"const\":[{\"a\":[1,2]},{\"a\":[3]}]},{\"get\":\"a\"},{\"last\":true}]", "[3]");
    CHECK_RUN("[{\"related\":\"*\"},{\"each\":[{\"get\":\"requestParameters.name\"},{\"count\":true}]}]", "[1,1,1,0]");
    /* fn: a built-in */
    CHECK_RUN("[{\"const\":[\"x\",\"y\"]},{\"fn\":\"as_array\"}]", "[[\"x\",\"y\"]]");
    CHECK_RUN("[{\"const\":[\"x\"]},{\"fn\":\"as_array\"}]", "[[\"x\"]]");
}

static void test_whole_list(void) {
    CHECK_RUN("[{\"const\":[1,2,3]},{\"first\":true}]", "[1]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"last\":true}]", "[3]");
    CHECK_RUN("[{\"const\":[]},{\"first\":true}]", "[]");
    CHECK_RUN("[{\"const\":[]},{\"last\":true}]", "[]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":0}]", "[1]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":1}]", "[2]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":-1}]", "[3]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":-3}]", "[1]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":3}]", "[]");
    CHECK_RUN("[{\"const\":[1,2,3]},{\"index\":-4}]", "[]");
    /* sort_unique: culture order, case-insensitive duplicates */
    CHECK_RUN("[{\"const\":[\"b\",\"A\",\"a\",\"_z\",\"10\",\"9\",\"B\"]},{\"sort_unique\":true}]",
              "[\"_z\",\"10\",\"9\",\"a\",\"b\"]");
    CHECK_RUN("[{\"const\":[\"AWSServiceRoleForSupport\",\"AWSServiceRoleForSSO\",\"AWSServiceRoleForSecurityHub\","
              "\"AWSServiceRoleForSSO\"]},{\"sort_unique\":true}]",
              "[\"AWSServiceRoleForSecurityHub\",\"AWSServiceRoleForSSO\",\"AWSServiceRoleForSupport\"]");
    /* unique: first appearance, exact duplicates, objects compared whole */
    CHECK_RUN("[{\"const\":[\"b\",\"a\",\"b\",{\"k\":1},{\"k\":1},{\"k\":2},\"A\",1,1]},{\"unique\":true}]",
              "[\"b\",\"a\",{\"k\":1},{\"k\":2},\"A\",1]");
    /* count, exists */
    CHECK_RUN("[{\"const\":[1,2,3]},{\"count\":true}]", "[3]");
    CHECK_RUN("[{\"const\":[]},{\"count\":true}]", "[0]");
    CHECK_RUN("[{\"const\":[]},{\"exists\":true}]", "[false]");
    CHECK_RUN("[{\"const\":[null]},{\"exists\":true}]", "[true]");
    CHECK_RUN("[{\"related\":[\"svc:Extra\"]},{\"exists\":true}]", "[true]");
    CHECK_RUN("[{\"related\":[\"svc:Nope\"]},{\"exists\":true}]", "[false]");
    /* join */
    CHECK_RUN("[{\"const\":[\"a\",1,true]},{\"join\":\",\"}]", "[\"a,1,True\"]");
    CHECK_RUN("[{\"const\":[\"a\",\"b\"]},{\"join\":\" and \"}]", "[\"a and b\"]");
    CHECK_RUN("[{\"const\":[]},{\"join\":\",\"}]", "[\"\"]");
    /* else_var */
    CHECK_RUN("[{\"const\":[]},{\"else_var\":\"v\"}]", "[\"x\",\"y\"]");
    CHECK_RUN("[{\"const\":[\"z\"]},{\"else_var\":\"v\"}]", "[\"z\"]");
    CHECK_RUN("[{\"related\":[\"svc:Nope\"]},{\"get\":\"eventID\"},{\"else_var\":\"sc\"}]", "[\"abc\"]");
    /* test: a predicate over the vars */
    CHECK_RUN("[{\"test\":{\"f\":\"n\",\"eq\":3}}]", "[true]");
    CHECK_RUN("[{\"test\":{\"f\":\"n\",\"eq\":\"3\"}}]", "[true]");
    CHECK_RUN("[{\"test\":{\"f\":\"sc\",\"eq\":\"zzz\"}}]", "[false]");
    CHECK_RUN("[{\"test\":{\"all\":[{\"f\":\"sc\",\"starts_with\":\"a\"},{\"f\":\"v\",\"count_eq\":2}]}}]", "[true]");
    CHECK_RUN("[{\"test\":{\"any\":[{\"f\":\"nul\",\"null\":false},{\"f\":\"flag\",\"eq\":true}]}}]", "[true]");
    CHECK_RUN("[{\"test\":{\"not\":{\"f\":\"v\",\"count_gt\":0}}}]", "[false]");
    CHECK_RUN("[{\"test\":{\"f\":\"nul\",\"starts_with\":\"x\"}}]", "[false]"); /* an error is not true */
    CHECK_RUN("[{\"const\":[1,2]},{\"test\":{\"f\":\"v\",\"eq\":\"y\"}}]", "[true]"); /* replaces the list */
    /* a test sees the collapsed value (a scalar-shaped var is one value), not the var's items */
    CHECK_RUN("[{\"test\":{\"f\":\"one\",\"count_eq\":1}}]", "[true]");
    CHECK_RUN("[{\"test\":{\"f\":\"one\",\"eq\":\"second\"}}]", "[false]");
    CHECK_RUN("[{\"var\":\"one\"}]", "[\"first\",\"second\"]"); /* var gives the items */
}

static json_t *collapse(const char *items, int shape) {
    json_t *a = json_loads(items, 0, NULL);
    json_t *r = tm_shape_collapse(a, shape);
    json_decref(a);
    return r;
}

#define CHECK_SHAPE(items, shape, want) do { \
    json_t *v_ = collapse(items, shape); \
    char *s_ = json_dumps(v_, JSON_COMPACT | JSON_ENCODE_ANY); \
    CHECK_STR(s_, want); \
    free(s_); \
    json_decref(v_); \
} while (0)

static void test_shapes(void) {
    CHECK_SHAPE("[]", TM_SHAPE_PIPELINE, "null");
    CHECK_SHAPE("[\"a\"]", TM_SHAPE_PIPELINE, "\"a\"");
    CHECK_SHAPE("[[\"a\"]]", TM_SHAPE_PIPELINE, "[\"a\"]"); /* one item that is an array */
    CHECK_SHAPE("[\"a\",\"b\"]", TM_SHAPE_PIPELINE, "[\"a\",\"b\"]");
    CHECK_SHAPE("[]", TM_SHAPE_ARRAY, "[]");
    CHECK_SHAPE("[\"a\"]", TM_SHAPE_ARRAY, "[\"a\"]");
    CHECK_SHAPE("[\"a\",\"b\"]", TM_SHAPE_ARRAY, "[\"a\",\"b\"]");
    CHECK_SHAPE("[]", TM_SHAPE_SCALAR, "null");
    CHECK_SHAPE("[\"a\"]", TM_SHAPE_SCALAR, "\"a\"");
    CHECK_SHAPE("[\"a\",\"b\"]", TM_SHAPE_SCALAR, "\"a\"");
    CHECK_SHAPE("[{\"k\":1}]", TM_SHAPE_PIPELINE, "{\"k\":1}");
    /* a collapsed array is a copy: changing it leaves the items alone */
    json_t *items = json_loads("[1,2]", 0, NULL);
    json_t *c = tm_shape_collapse(items, TM_SHAPE_ARRAY);
    json_array_append_new(c, json_integer(3));
    CHECK_INT(json_array_size(items), 2);
    json_decref(c);
    json_decref(items);
}

static void test_errors(void) {
    expect_error("[]", "non-empty list of steps");
    expect_error("{\"get\":\"a\"}", "non-empty list of steps");
    expect_error("[{\"frobnicate\":true}]", "unknown pipeline step");
    expect_error("[{\"get\":\"a\",\"first\":true}]", "one step per object");
    expect_error("[{\"get\":\"a\",\"rw\":true}]", "unknown member \"rw\"");
    expect_error("[{\"var\":\"later\"}]", "unknown value \"later\"");
    expect_error("[{\"else_var\":\"later\"}]", "unknown value \"later\"");
    expect_error("[{\"test\":{\"f\":\"later\",\"eq\":1}}]", "unknown value \"later\" in a test");
    expect_error("[{\"test\":{\"all\":[{\"f\":\"v\",\"eq\":1},{\"not\":{\"f\":\"later\",\"eq\":1}}]}}]", "\"later\"");
    expect_error("[{\"get\":\"a..b\"}]", "malformed path");
    expect_error("[{\"replace\":[\"a(\",\"b\"]}]", "bad regex");
    expect_error("[{\"replace\":\"a\"}]", "takes [REGEX, REPLACEMENT]");
    expect_error("[{\"index\":\"1\"}]", "takes an integer");
    expect_error("[{\"fn\":\"no_such_builtin\"}]", "unknown built-in");
    expect_error("[{\"fn\":\"as_array\",\"bogus\":1}]", "takes no argument \"bogus\"");
    expect_error("[{\"related\":\"svc:Load\"}]", "list of event names");
    expect_error("[{\"obj\":{}}]", "\"obj\" takes");
    expect_error("[{\"map\":[1]}]", "\"map\" takes");
    expect_error("[{\"each\":[]}]", "non-empty list of steps");
    expect_error("[{\"filter\":{\"f\":\"x\",\"nope\":1}}]", "unknown operator");
}

int main(void) {
    setup();
    test_sources();
    test_get();
    test_per_item();
    test_whole_list();
    test_shapes();
    test_errors();
    teardown();
    return tm_test_done();
}

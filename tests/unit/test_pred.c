/* test_pred.c: the predicates of the rule language (every operator, the
 * special fields, all/any/not and the three-valued error), and the label
 * chains built from them (if/elseif/else, nested and sibling chains, the
 * error that silences a chain, user-agent families and prepended labels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "label.h"
#include "pred.h"
#include "rules.h"
#include "rulesInt.h"
#include "helpers.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

static tm_pred *compile(const char *spec, tm_errlist *errs) {
    tm_jdoc *doc = NULL;
    tm_error err;
    if (tm_jdoc_loadb("pred.json", spec, strlen(spec), &doc, &err) != 0) {
        fprintf(stderr, "bad predicate JSON in test: %s\n", err.msg);
        exit(2);
    }
    tm_pred *p = tm_pred_compile(doc, tm_jdoc_root(doc), errs);
    tm_jdoc_free(doc);
    return p;
}

/* An event of service "s", name "N", region us-west-2, with the given
 * requestParameters JSON text (NULL: the member is absent) and extra
 * members (", \"k\": v" or ""). */
static tm_event *mkev(const char *rp, const char *extra) {
    char buf[4096];
    snprintf(buf, sizeof(buf),
             "{\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventID\":\"e1\",\"eventSource\":\"s.amazonaws.com\","
             "\"eventName\":\"N\",\"awsRegion\":\"us-west-2\",\"userAgent\":\"AWS Internal\"%s%s%s}",
             rp ? ",\"requestParameters\":" : "", rp ? rp : "", extra ? extra : "");
    tm_event *e = NULL;
    tm_error err;
    if (tm_event_from_text(buf, strlen(buf), &e, &err) != 0) {
        fprintf(stderr, "bad event in test: %s\n%s\n", err.msg, buf);
        exit(2);
    }
    return e;
}

/* Evaluates spec on e (user-agent family ua); -1 when it does not compile. */
static int EV(const char *spec, const tm_event *e, const char *ua) {
    tm_errlist errs = {0};
    tm_pred *p = compile(spec, &errs);
    if (!p) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
        tm_errlist_free(&errs);
        return -1;
    }
    tm_errlist_free(&errs);
    tm_predctx pc = {e, e->json, ua};
    int r = tm_pred_eval(p, &pc);
    tm_pred_free(p);
    return r;
}

/* Evaluates spec on a plain item (no event: paths start at the item). */
static int EVI(const char *spec, const char *item) {
    tm_errlist errs = {0};
    tm_pred *p = compile(spec, &errs);
    tm_errlist_free(&errs);
    if (!p) return -1;
    json_t *root = json_loads(item, JSON_DECODE_ANY, NULL);
    tm_predctx pc = {NULL, root, NULL};
    int r = tm_pred_eval(p, &pc);
    json_decref(root);
    tm_pred_free(p);
    return r;
}

/* Expects spec to be refused with a message containing want. */
static void expect_compile_error(const char *spec, const char *want) {
    tm_errlist errs = {0};
    tm_pred *p = compile(spec, &errs);
    CHECK(p == NULL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i], want)) found = 1;
    if (!found) {
        fprintf(stderr, "no error containing \"%s\" for %s; got:\n", want, spec);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
    }
    CHECK(found);
    tm_pred_free(p);
    tm_errlist_free(&errs);
}

#define T TM_TRUE
#define F TM_FALSE
#define ERR TM_ERR

/* ------------------------------------------------------------- operators */

static void test_eq_family(void) {
    tm_event *e = mkev("{\"maxResults\":50,\"strNum\":\"50\",\"type\":\"ACCOUNT\",\"flag\":true,"
                       "\"flagText\":\"false\",\"stateValue\":\"OK\",\"nul\":null,\"empty\":\"\"}",
                       NULL);
    /* eq: loose, both ways */
    CHECK_INT(EV("{\"f\":\"requestParameters.maxResults\",\"eq\":50}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.maxResults\",\"eq\":\"50\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.strNum\",\"eq\":50}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.strNum\",\"eq\":\"50\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.maxResults\",\"eq\":51}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.strNum\",\"eq\":\"51\"}", e, NULL), F);
    /* booleans against their text, any case */
    CHECK_INT(EV("{\"f\":\"requestParameters.flag\",\"eq\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.flag\",\"eq\":\"TRUE\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.flag\",\"eq\":\"true\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.flag\",\"eq\":false}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.flag\",\"eq\":\"false\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.flagText\",\"eq\":false}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.flagText\",\"eq\":true}", e, NULL), F);
    /* string eq is case-sensitive, eq_ci is not */
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"eq\":\"ACCOUNT\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"eq\":\"account\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"eq_ci\":\"account\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"eq_ci\":\"organization\"}", e, NULL), F);
    /* eq on a missing field: false, not an error */
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"eq\":\"x\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.nul\",\"eq\":null}", e, NULL), T);
    /* ne: no value is eq (a missing field has none) */
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"ne\":\"ORGANIZATION\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.type\",\"ne\":\"ACCOUNT\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.maxResults\",\"ne\":\"50\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"ne\":\"x\"}", e, NULL), T);
    /* in */
    CHECK_INT(EV("{\"f\":\"requestParameters.stateValue\",\"in\":[\"ALARM\",\"INSUFFICIENT_DATA\",\"OK\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.stateValue\",\"in\":[\"ALARM\",\"ok\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.maxResults\",\"in\":[\"10\",\"50\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"in\":[\"x\"]}", e, NULL), F);
    /* a field outside requestParameters */
    CHECK_INT(EV("{\"f\":\"awsRegion\",\"eq\":\"us-west-2\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"eventName\",\"eq\":\"N\"}", e, NULL), T);
    tm_event_free(e);
}

static void test_string_ops(void) {
    tm_event *e = mkev("{\"id\":\"cr-0123\",\"host\":\"s3.us-west-2.amazonaws.com\",\"trailName\":"
                       "\"arn:aws:cloudtrail:us-east-1:1:trail/t\",\"num\":12,"
                       "\"instancesSet\":{\"items\":[{\"instanceId\":\"x-9\"},{\"instanceId\":\"i-1\"}]},"
                       "\"ownersSet\":{\"items\":[{\"owner\":\"123456789012\"},{\"owner\":\"self\"}]},"
                       "\"nul\":null,\"arr\":[]}",
                       NULL);
    CHECK_INT(EV("{\"f\":\"requestParameters.id\",\"starts_with\":\"cr-\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.id\",\"starts_with\":\"CR-\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"ends_with\":\".amazonaws.com\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"ends_with\":\".amazonaws.co\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.trailName\",\"contains\":\":trail/\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.trailName\",\"contains\":\":TRAIL/\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.num\",\"starts_with\":\"1\"}", e, NULL), T); /* on the number's text */
    /* any element of an array path */
    CHECK_INT(EV("{\"f\":\"requestParameters.instancesSet.items.instanceId\",\"starts_with\":\"i-\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.instancesSet.items.instanceId\",\"starts_with\":\"vol-\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.instancesSet.items[0].instanceId\",\"starts_with\":\"i-\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.instancesSet.items[1].instanceId\",\"starts_with\":\"i-\"}", e, NULL), T);
    /* regex (POSIX ERE) */
    CHECK_INT(EV("{\"f\":\"requestParameters.ownersSet.items.owner\",\"regex\":\"^[0-9]{12}$\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.ownersSet.items[0].owner\",\"regex\":\"^[0-9]{12}$\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.ownersSet.items[1].owner\",\"regex\":\"^[0-9]{12}$\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.id\",\"regex\":\"^cr-[0-9]+$\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.id\",\"regex\":\"(a|b)\"}", e, NULL), F);
    /* a missing value: string tests are an error, regex is false */
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"starts_with\":\"x\"}", e, NULL), ERR);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"ends_with\":\"x\"}", e, NULL), ERR);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"contains\":\"x\"}", e, NULL), ERR);
    CHECK_INT(EV("{\"f\":\"requestParameters.nul\",\"starts_with\":\"x\"}", e, NULL), ERR); /* JSON null */
    CHECK_INT(EV("{\"f\":\"requestParameters.arr\",\"contains\":\"x\"}", e, NULL), ERR);   /* no elements */
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"regex\":\"x\"}", e, NULL), F);
    /* template value */
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"eq\":{\"tmpl\":\"s3.{{awsRegion}}.amazonaws.com\"}}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"eq\":{\"tmpl\":\"s3.{{awsRegion}}.amazonaws.co\"}}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"starts_with\":{\"tmpl\":\"s3.{{awsRegion}}\"}}", e, NULL), T);
    tm_event_free(e);
    tm_event *e2 = mkev("{\"host\":\"s3.us-west-2.amazonaws.com\"}", ",\"awsRegion\":\"eu-central-1\"");
    CHECK_INT(EV("{\"f\":\"requestParameters.host\",\"eq\":{\"tmpl\":\"s3.{{awsRegion}}.amazonaws.com\"}}", e2, NULL), F);
    tm_event_free(e2);
    /* many placeholders and a long region: the expansion must fit */
    char region[128], host[2048], evtext[4096], spec[600];
    memset(region, 'r', 120);
    region[120] = 0;
    strcpy(host, "{\"host\":\"");
    for (int i = 0; i < 10; i++) {
        strcat(host, region);
        strcat(host, ".");
    }
    strcat(host, "\"}");
    snprintf(evtext, sizeof(evtext),
             "{\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventID\":\"e1\",\"eventSource\":\"s.amazonaws.com\","
             "\"eventName\":\"N\",\"awsRegion\":\"%s\",\"requestParameters\":%s}", region, host);
    tm_event *e3 = NULL;
    tm_error err;
    CHECK(tm_event_from_text(evtext, strlen(evtext), &e3, &err) == 0);
    snprintf(spec, sizeof(spec), "%s",
             "{\"f\":\"requestParameters.host\",\"eq\":{\"tmpl\":\"{{awsRegion}}.{{awsRegion}}.{{awsRegion}}."
             "{{awsRegion}}.{{awsRegion}}.{{awsRegion}}.{{awsRegion}}.{{awsRegion}}.{{awsRegion}}.{{awsRegion}}.\"}}");
    if (e3) CHECK_INT(EV(spec, e3, NULL), T);
    tm_event_free(e3);
}

static void test_null_and_counts(void) {
    tm_event *e = mkev("{\"filterSet\":{\"items\":[{\"name\":\"resource-type\"},{\"name\":\"key\"}]},"
                       "\"instanceIds\":[\"i-1\",\"x\",\"i-2\"],\"one\":[\"i-1\",\"y\"],"
                       "\"encryptionContext\":{\"SecretARN\":\"a\",\"SecretVersionId\":\"v\"},"
                       "\"services\":[\"MULTIPLE_SERVICES\",\"EC2\"],\"mixed\":[\"b\",\"A\",\"_c\"],"
                       "\"Metrics\":[\"UnblendedCost\"],\"two\":[\"A\",\"B\"],\"empty\":\"\",\"nul\":null}",
                       ",\"errorCode\":\"ThrottlingException\"");
    /* null: missing, JSON null or "" */
    CHECK_INT(EV("{\"f\":\"errorMessage\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"errorMessage\",\"null\":false}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"errorCode\",\"null\":true}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"errorCode\",\"null\":false}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"errorCode\",\"eq\":\"ThrottlingException\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.empty\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.nul\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.services\",\"null\":false}", e, NULL), T);
    /* count_gt / count_eq */
    CHECK_INT(EV("{\"f\":\"requestParameters.filterSet.items\",\"count_gt\":1}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.filterSet.items\",\"count_gt\":2}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.filterSet.items\",\"count_eq\":2}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"count_eq\":0}", e, NULL), T);
    /* where starts_with, then count */
    CHECK_INT(EV("{\"f\":\"requestParameters.instanceIds\",\"where\":{\"starts_with\":\"i-\"},\"count_gt\":1}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.instanceIds\",\"where\":{\"starts_with\":\"i-\"},\"count_eq\":2}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.one\",\"where\":{\"starts_with\":\"i-\"},\"count_gt\":1}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.one\",\"where\":{\"starts_with\":\"i-\"},\"count_gt\":0}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.one\",\"count_gt\":1}", e, NULL), T); /* without where: 2 */
    /* has_keys */
    CHECK_INT(EV("{\"f\":\"requestParameters.encryptionContext\",\"has_keys\":[\"SecretARN\",\"SecretVersionId\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.encryptionContext\",\"has_keys\":[\"SecretARN\",\"Other\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters\",\"has_keys\":[\"filterSet\",\"instanceIds\",\"Metrics\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters\",\"has_keys\":[\"filterSet\",\"metrics\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.nope\",\"has_keys\":[\"a\"]}", e, NULL), F);
    /* sorted_join: culture order, comma */
    CHECK_INT(EV("{\"f\":\"requestParameters.services\",\"sorted_join\":\"EC2,MULTIPLE_SERVICES\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.services\",\"sorted_join\":\"MULTIPLE_SERVICES,EC2\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.services\",\"sorted_join\":[\"X\",\"EC2,MULTIPLE_SERVICES\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.mixed\",\"sorted_join\":\"_c,A,b\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.mixed\",\"sorted_join\":\"A,_c,b\"}", e, NULL), F); /* not ASCII */
    /* space_join: input order, one space */
    CHECK_INT(EV("{\"f\":\"requestParameters.Metrics\",\"space_join\":[\"UnblendedCost\",\"NetUnblendedCost\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.Metrics\",\"space_join\":[\"NetUnblendedCost\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"requestParameters.two\",\"space_join\":\"A B\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"requestParameters.two\",\"space_join\":\"B A\"}", e, NULL), F);
    tm_event_free(e);
}

static void test_special_fields(void) {
    /* $keys: a set (order and sort do not matter), case-variant duplicates kept */
    tm_event *e = mkev("{\"Tagging\":{\"x\":1},\"bucketName\":\"b\",\"tagging\":\"\",\"Host\":\"h\"}", NULL);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"bucketName\",\"Host\",\"tagging\",\"Tagging\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"bucketName\",\"Host\",\"Tagging\",\"tagging\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"bucketName\",\"Host\",\"tagging\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"bucketName\",\"Host\",\"tagging\",\"Tagging\",\"x\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"bucketname\",\"host\",\"tagging\",\"Tagging\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq_ci\":[\"bucketname\",\"host\",\"TAGGING\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"ne\":[\"bucketName\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"in\":[[\"a\"],[\"Host\",\"bucketName\",\"Tagging\",\"tagging\"]]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"in\":[[\"a\"],[\"Host\"]]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$keys\",\"contains\":\"ucketN\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"contains\":\"userName\"}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$keys\",\"count_eq\":4}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"null\":false}", e, NULL), T);
    /* $empty_keys: {} and "" only */
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[\"tagging\"]}", e, NULL), T);
    tm_event_free(e);
    e = mkev("{\"a\":{},\"b\":\"\",\"c\":[],\"d\":null,\"e\":0,\"f\":false,\"g\":\"x\",\"h\":{\"k\":{}}}", NULL);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[\"a\",\"b\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[\"b\",\"a\"]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[\"a\",\"b\",\"c\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[\"a\",\"b\",\"d\"]}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"in\":[[\"a\"],[\"a\",\"b\"]]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\"]}", e, NULL), T);
    /* $json: compact, input key order */
    CHECK_INT(EV("{\"f\":\"$json\",\"eq\":\"{\\\"a\\\":{},\\\"b\\\":\\\"\\\",\\\"c\\\":[],\\\"d\\\":null,\\\"e\\\":0,"
                 "\\\"f\\\":false,\\\"g\\\":\\\"x\\\",\\\"h\\\":{\\\"k\\\":{}}}\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$json\",\"contains\":\"\\\"g\\\":\\\"x\\\"\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$json\",\"contains\":\"\\\"g\\\": \\\"x\\\"\"}", e, NULL), F); /* no spaces */
    CHECK_INT(EV("{\"f\":\"$json\",\"starts_with\":\"{\\\"a\\\":{}\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":false}", e, NULL), T);
    tm_event_free(e);
    e = mkev("{\"z\":1,\"a\":\"b c\"}", NULL);
    CHECK_INT(EV("{\"f\":\"$json\",\"eq\":\"{\\\"z\\\":1,\\\"a\\\":\\\"b c\\\"}\"}", e, NULL), T);
    tm_event_free(e);
    /* $rp: null for null, absent and "", not for {} */
    e = mkev("null", NULL);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$json\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$json\",\"contains\":\"x\"}", e, NULL), ERR); /* $json absent */
    CHECK_INT(EV("{\"f\":\"$keys\",\"null\":true}", e, NULL), T);
    tm_event_free(e);
    e = mkev(NULL, NULL);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":false}", e, NULL), F);
    tm_event_free(e);
    e = mkev("\"\"", NULL);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":true}", e, NULL), T);
    tm_event_free(e);
    e = mkev("{}", NULL);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":true}", e, NULL), F);
    CHECK_INT(EV("{\"f\":\"$rp\",\"null\":false}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$json\",\"eq\":\"{}\"}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"eq\":[]}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$keys\",\"null\":true}", e, NULL), T);
    CHECK_INT(EV("{\"f\":\"$empty_keys\",\"eq\":[]}", e, NULL), T);
    /* $ua: the family given by the labeller */
    CHECK_INT(EV("{\"f\":\"$ua\",\"eq\":\"AWS_Internal\"}", e, "AWS_Internal"), T);
    CHECK_INT(EV("{\"f\":\"$ua\",\"eq\":\"AWS_Internal\"}", e, "S3_Console"), F);
    CHECK_INT(EV("{\"f\":\"$ua\",\"ne\":\"AWS_Internal\"}", e, "S3_Console"), T);
    CHECK_INT(EV("{\"f\":\"$ua\",\"in\":[\"AWS_Internal\",\"Coral_Netty_4\"]}", e, "Coral_Netty_4"), T);
    /* the raw user agent is a plain field */
    CHECK_INT(EV("{\"f\":\"userAgent\",\"eq\":\"AWS Internal\"}", e, "AWS_Internal"), T);
    /* $eventNameFull */
    CHECK_INT(EV("{\"f\":\"$eventNameFull\",\"eq\":\"s:N\"}", e, NULL), T);
    tm_event_free(e);
}

static void test_logic(void) {
    tm_event *e = mkev("{\"a\":1,\"s\":\"abc\"}", NULL);
    const char *yes = "{\"f\":\"requestParameters.a\",\"eq\":1}";
    const char *no = "{\"f\":\"requestParameters.a\",\"eq\":2}";
    const char *err = "{\"f\":\"requestParameters.missing\",\"starts_with\":\"x\"}";
    char buf[512];
#define L2(op, x, y) (snprintf(buf, sizeof(buf), "{\"" op "\":[%s,%s]}", x, y), EV(buf, e, NULL))
    CHECK_INT(L2("all", yes, yes), T);
    CHECK_INT(L2("all", yes, no), F);
    CHECK_INT(L2("all", no, yes), F);
    CHECK_INT(L2("any", no, yes), T);
    CHECK_INT(L2("any", no, no), F);
    /* the error propagates through all/any (evaluated left to right, as -and/-or) */
    CHECK_INT(L2("all", yes, err), ERR);
    CHECK_INT(L2("all", err, yes), ERR);
    CHECK_INT(L2("all", no, err), F);  /* short-circuit: the erring term is never reached */
    CHECK_INT(L2("any", no, err), ERR);
    CHECK_INT(L2("any", err, yes), ERR);
    CHECK_INT(L2("any", yes, err), T);
#undef L2
    snprintf(buf, sizeof(buf), "{\"not\":%s}", yes);
    CHECK_INT(EV(buf, e, NULL), F);
    snprintf(buf, sizeof(buf), "{\"not\":%s}", no);
    CHECK_INT(EV(buf, e, NULL), T);
    snprintf(buf, sizeof(buf), "{\"not\":%s}", err);
    CHECK_INT(EV(buf, e, NULL), ERR);
    snprintf(buf, sizeof(buf), "{\"all\":[%s,{\"any\":[%s,{\"not\":%s}]}]}", yes, no, no);
    CHECK_INT(EV(buf, e, NULL), T);
    snprintf(buf, sizeof(buf), "{\"all\":[%s,{\"any\":[%s,%s]}]}", yes, no, err);
    CHECK_INT(EV(buf, e, NULL), ERR);
    tm_event_free(e);

    /* plain items (pipeline filters): paths start at the item, no event fields */
    CHECK_INT(EVI("{\"f\":\"name\",\"eq\":\"resource-id\"}", "{\"name\":\"resource-id\"}"), T);
    CHECK_INT(EVI("{\"f\":\"name\",\"eq\":\"resource-id\"}", "{\"name\":\"key\"}"), F);
    CHECK_INT(EVI("{\"f\":\"values\",\"contains\":\"b\"}", "{\"values\":[\"a\",\"abc\"]}"), T);
    CHECK_INT(EVI("{\"f\":\"$keys\",\"eq\":[\"name\"]}", "{\"name\":1}"), F);
}

static void test_compile_errors(void) {
    expect_compile_error("{\"f\":\"x\",\"equals\":1}", "unknown operator \"equals\"");
    expect_compile_error("{\"f\":\"x\",\"eq\":1,\"ne\":2}", "one operator per predicate");
    expect_compile_error("{\"f\":\"x\"}", "needs an operator");
    expect_compile_error("{\"eq\":1}", "needs \"f\"");
    expect_compile_error("{\"f\":\"$bogus\",\"eq\":1}", "unknown special field");
    expect_compile_error("{\"f\":\"a..b\",\"eq\":1}", "malformed field path");
    expect_compile_error("{\"f\":\"x\",\"regex\":\"a(b\"}", "bad regex");
    expect_compile_error("{\"f\":\"x\",\"starts_with\":1}", "needs a string");
    expect_compile_error("{\"f\":\"x\",\"null\":\"yes\"}", "needs true or false");
    expect_compile_error("{\"f\":\"x\",\"count_gt\":\"1\"}", "needs an integer");
    expect_compile_error("{\"f\":\"x\",\"in\":\"a\"}", "needs a list");
    expect_compile_error("{\"f\":\"$keys\",\"eq\":\"a\"}", "compared with a list");
    expect_compile_error("{\"f\":\"$keys\",\"in\":[\"a\"]}", "list of lists");
    expect_compile_error("{\"f\":\"x\",\"eq\":{\"tmpl\":\"{{eventName}}\"}}", "only {{awsRegion}}");
    expect_compile_error("{\"f\":\"x\",\"where\":{\"prefix\":\"i-\"},\"count_gt\":0}", "\"where\" takes");
    expect_compile_error("{\"all\":[]}", "non-empty list");
    expect_compile_error("{\"any\":[{\"f\":\"x\",\"eq\":1},{\"f\":\"y\",\"bad\":1}]}", "unknown operator \"bad\"");
    expect_compile_error("[1]", "must be an object");
}

/* ---------------------------------------------------------- label chains */

static char dir[128];

static void put(const char *rel, const char *text) { tm_test_put(dir, rel, text); }

static const char *const LABELS[] = {"A_Zero", "A_One", "A_Two", "A_Three", "A_Four",
                                     "N_Top", "N_P", "N_Q", "N_R", "N_Else", "N_Other",
                                     "E_Yes", "E_Else", "E_After", "U_Internal", "U_Other", "P_Shell",
                                     "P_Two", NULL};

static tm_ruleset *load_chain_rules(void) {
    snprintf(dir, sizeof(dir), "/tmp/tm_pred_test_%d", (int)getpid());
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/labels %s/signals", dir, dir, dir);
    if (system(cmd) != 0) exit(1);
    char sig[8192] = "{\"signals\": [\n";
    for (int i = 0; LABELS[i]; i++) {
        char one[512];
        snprintf(one, sizeof(one),
                 "%s{\"label\": \"%s\", \"service\": \"T\", \"name\": \"n\", \"url\": \"N/A\", "
                 "\"anchor\": [\"x:E\"], \"required\": [\"x:E\"], \"summary\": \"s\"}\n",
                 i ? "," : "", LABELS[i]);
        strcat(sig, one);
    }
    strcat(sig, "]}\n");
    put("signals/t.json", sig);
    put("useragent.json",
        "{\"strip_brackets\": true, \"families\": [\n"
        "  {\"family\": \"Shell\", \"all\": [{\"contains\": \" exec-env/CloudShell \"}, {\"starts_with\": \"aws-cli/\"}]},\n"
        "  {\"family\": \"Internal\", \"all\": [{\"equals\": \"AWS Internal\"}]},\n"
        "  {\"family\": \"Bucket\", \"any\": [{\"starts_with\": \"S3Console/\"}, {\"starts_with\": \"AWS Console S3, S3Console/\"}]},\n"
        "  {\"family\": \"Async\", \"all\": [{\"ends_with\": \" ClientAsync\"}]}\n"
        " ], \"default\": \"Nobody\", \"prepend\": {\"Shell\": [\"P_Shell\", \"P_Two\"]}}\n");
    put("overrides.json", "{\"overrides\": []}\n");
    put("labels/x.json",
        "{\"events\": [\n"
        /* if / elseif / else after an unconditional emit */
        "  {\"event\": \"x:Chain\", \"emit\": [\"A_Zero\"], \"chain\": [\n"
        "    {\"when\": {\"all\": [{\"f\": \"requestParameters.mode\", \"eq\": \"a\"}, {\"f\": \"requestParameters.n\", \"eq\": 1}]},\n"
        "     \"emit\": [\"A_One\", \"A_Two\"]},\n"
        "    {\"when\": {\"f\": \"requestParameters.mode\", \"starts_with\": \"a\"}, \"emit\": [\"A_Three\"]},\n"
        "    {\"emit\": [\"A_Four\", \"A_One\"]}]},\n"
        /* nesting: a branch with two sibling chains */
        "  {\"event\": \"x:Nest\", \"chain\": [\n"
        "    {\"when\": {\"f\": \"requestParameters.k\", \"eq\": 1}, \"emit\": [\"N_Top\"], \"then\": [\n"
        "      {\"chain\": [{\"when\": {\"f\": \"requestParameters.v\", \"starts_with\": \"p\"}, \"emit\": [\"N_P\"]},\n"
        "                 {\"when\": {\"f\": \"requestParameters.v\", \"eq\": \"q\"}, \"emit\": [\"N_Q\"]}]},\n"
        "      {\"chain\": [{\"when\": {\"f\": \"requestParameters.w\", \"eq\": \"r\"}, \"emit\": [\"N_R\"], \"then\": [\n"
        "                    {\"chain\": [{\"when\": {\"f\": \"requestParameters.deep\", \"eq\": true}, \"emit\": [\"N_Other\"]}]}]},\n"
        "                 {\"emit\": [\"N_Else\"]}]}]},\n"
        "    {\"when\": {\"f\": \"requestParameters.k\", \"eq\": 2}, \"then\": [\n"
        "      {\"chain\": [{\"when\": {\"f\": \"requestParameters.v\", \"eq\": \"q\"}, \"emit\": [\"N_Q\"]}]}]},\n"
        "    {\"when\": {\"f\": \"requestParameters.k\", \"eq\": 3}, \"emit\": [\"N_Other\"]}]},\n"
        /* an erring test silences its chain */
        "  {\"event\": \"x:Err\", \"emit\": [\"E_After\"], \"chain\": [\n"
        "    {\"when\": {\"f\": \"requestParameters.a\", \"eq\": 1}, \"emit\": [\"E_Yes\"]},\n"
        "    {\"when\": {\"f\": \"requestParameters.name\", \"starts_with\": \"x\"}, \"emit\": [\"E_Yes\"]},\n"
        "    {\"emit\": [\"E_Else\"]}]},\n"
        /* user-agent families */
        "  {\"event\": \"x:Ua\", \"chain\": [\n"
        "    {\"when\": {\"f\": \"$ua\", \"eq\": \"Internal\"}, \"emit\": [\"U_Internal\"]},\n"
        "    {\"when\": {\"f\": \"$ua\", \"in\": [\"Bucket\", \"Nobody\"]}, \"emit\": [\"U_Other\"]}]}\n"
        "]}\n");
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    int rc = tm_rules_load(dir, &rs, &errs);
    if (rc) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.v[i]);
        exit(1);
    }
    tm_errlist_free(&errs);
    return rs;
}

/* The labels of an event, comma-joined. */
static char *labels_of(tm_ruleset *rs, const char *source, const char *name, const char *rp, const char *ua) {
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"eventTime\":\"2024-01-01T00:00:00Z\",\"eventID\":\"e\",\"eventSource\":\"%s\","
             "\"eventName\":\"%s\",\"awsRegion\":\"us-east-1\"%s%s%s%s%s}",
             source, name, ua ? ",\"userAgent\":\"" : "", ua ? ua : "", ua ? "\"" : "",
             rp ? ",\"requestParameters\":" : "", rp ? rp : "");
    tm_event *e = NULL;
    tm_error err;
    if (tm_event_from_text(buf, strlen(buf), &e, &err)) {
        fprintf(stderr, "bad event: %s\n", err.msg);
        exit(2);
    }
    tm_labels l = {0};
    CHECK_INT(tm_label_event(rs, e, &l), 0);
    char *out = calloc(1, 4096);
    for (size_t i = 0; i < l.n; i++) {
        if (i) strcat(out, ",");
        strcat(out, rs->labels[l.v[i]].name);
    }
    tm_labels_free(&l);
    tm_event_free(e);
    return out;
}

#define CHECK_LABELS(name, rp, ua, want) do { \
    char *got_ = labels_of(rs, "x.amazonaws.com", name, rp, ua); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void test_chains(void) {
    tm_ruleset *rs = load_chain_rules();
    const char *UA = "AWS Internal";
    /* first matching branch wins, after the unconditional labels; order kept */
    CHECK_LABELS("Chain", "{\"mode\":\"a\",\"n\":1}", UA, "A_Zero,A_One,A_Two");
    CHECK_LABELS("Chain", "{\"mode\":\"a\",\"n\":2}", UA, "A_Zero,A_Three");
    CHECK_LABELS("Chain", "{\"mode\":\"ab\",\"n\":1}", UA, "A_Zero,A_Three");
    CHECK_LABELS("Chain", "{\"mode\":\"b\"}", UA, "A_Zero,A_Four,A_One"); /* else; duplicates kept */
    /* event names are looked up ignoring case */
    {
        char *got = labels_of(rs, "X.AMAZONAWS.COM", "CHAIN", "{\"mode\":\"b\"}", UA);
        CHECK_STR(got, "A_Zero,A_Four,A_One");
        free(got);
    }
    /* an event with no rule has no labels */
    CHECK_LABELS("Unknown", "{}", UA, "");

    /* nested then-chains: each sibling chain evaluated, labels concatenated */
    CHECK_LABELS("Nest", "{\"k\":1,\"v\":\"p1\",\"w\":\"r\"}", UA, "N_Top,N_P,N_R");
    CHECK_LABELS("Nest", "{\"k\":1,\"v\":\"q\",\"w\":\"s\"}", UA, "N_Top,N_Q,N_Else");
    CHECK_LABELS("Nest", "{\"k\":1,\"v\":\"z\",\"w\":\"r\",\"deep\":true}", UA, "N_Top,N_R,N_Other");
    CHECK_LABELS("Nest", "{\"k\":2,\"v\":\"q\"}", UA, "N_Q");   /* a container branch emits nothing itself */
    CHECK_LABELS("Nest", "{\"k\":2,\"v\":\"p\"}", UA, "");
    CHECK_LABELS("Nest", "{\"k\":3}", UA, "N_Other");
    CHECK_LABELS("Nest", "{\"k\":4}", UA, "");
    /* an error in the first sibling chain silences that chain only */
    CHECK_LABELS("Nest", "{\"k\":1,\"w\":\"r\"}", UA, "N_Top,N_R");
    CHECK_LABELS("Nest", "{\"k\":1,\"w\":\"t\"}", UA, "N_Top,N_Else");

    /* an error makes the whole chain emit nothing (not even its else) */
    CHECK_LABELS("Err", "{\"a\":2}", UA, "E_After");
    CHECK_LABELS("Err", "{\"a\":2,\"name\":\"xy\"}", UA, "E_After,E_Yes");
    CHECK_LABELS("Err", "{\"a\":2,\"name\":\"zz\"}", UA, "E_After,E_Else");
    CHECK_LABELS("Err", "{\"a\":1}", UA, "E_After,E_Yes"); /* the erring test is never reached */
    CHECK_LABELS("Err", NULL, UA, "E_After");

    /* user-agent families: first match, case-sensitive, brackets stripped */
    CHECK_STR(tm_label_ua_family(rs, "AWS Internal"), "Internal");
    CHECK_STR(tm_label_ua_family(rs, "[AWS Internal]"), "Internal");
    CHECK_STR(tm_label_ua_family(rs, "[AWS Internal"), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, "aws internal"), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, "AWS Internal "), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, "S3Console/0.4"), "Bucket");
    CHECK_STR(tm_label_ua_family(rs, "AWS Console S3, S3Console/0.4"), "Bucket");
    CHECK_STR(tm_label_ua_family(rs, "[S3Console/0.4]"), "Bucket");
    CHECK_STR(tm_label_ua_family(rs, "aws-cli/2.1 Python/3 exec-env/CloudShell exe/x86"), "Shell");
    CHECK_STR(tm_label_ua_family(rs, "aws-cli/2.1 Python/3 exec-env/CloudShellx"), "Nobody"); /* all: one fails */
    CHECK_STR(tm_label_ua_family(rs, "boto3 exec-env/CloudShell x"), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, "AWSPowerShell ClientAsync"), "Async");
    CHECK_STR(tm_label_ua_family(rs, "AWSPowerShell ClientAsync "), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, NULL), "Nobody");
    CHECK_STR(tm_label_ua_family(rs, ""), "Nobody");
    /* $ua in a chain */
    CHECK_LABELS("Ua", "{}", "AWS Internal", "U_Internal");
    CHECK_LABELS("Ua", "{}", "[AWS Internal]", "U_Internal");
    CHECK_LABELS("Ua", "{}", "S3Console/1", "U_Other");
    CHECK_LABELS("Ua", "{}", "Mozilla/5.0", "U_Other");
    CHECK_LABELS("Ua", "{}", NULL, "U_Other");
    CHECK_LABELS("Ua", "{}", "AWSPowerShell ClientAsync", "");
    /* prepend: the family's labels come first, in order, on every event */
    CHECK_LABELS("Chain", "{\"mode\":\"a\",\"n\":1}", "aws-cli/2.1 exec-env/CloudShell exe/x", "P_Shell,P_Two,A_Zero,A_One,A_Two");
    CHECK_LABELS("Unknown", "{}", "[aws-cli/2.1 exec-env/CloudShell exe/x]", "P_Shell,P_Two");
    CHECK_LABELS("Err", "{\"a\":2}", "aws-cli/2.1 exec-env/CloudShell exe/x", "P_Shell,P_Two,E_After");

    tm_rules_unref(rs);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    test_eq_family();
    test_string_ops();
    test_null_and_counts();
    test_special_fields();
    test_logic();
    test_compile_errors();
    test_chains();
    return tm_test_done();
}

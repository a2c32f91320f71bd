/* test_rules.c: the loader refuses a broken ruleset with the right
 * file:line:column, and compiles a good one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "helpers.h"
#include "test.h"

static char dir[256];

static void put(const char *rel, const char *text) { tm_test_put(dir, rel, text); }

static const char *UA = "{\"families\": [{\"family\": \"AWS_Internal\", \"all\": [{\"equals\": \"AWS Internal\"}]}]}\n";
static const char *LABELS =
    "{\"events\": [\n"
    "  {\"event\": \"iam:ListUsers\", \"chain\": [\n"
    "    {\"when\": {\"f\": \"$ua\", \"eq\": \"AWS_Internal\"}, \"emit\": [\"IAM_Users\"]}]},\n"
    "  {\"event\": \"iam:ListMFADevices\", \"emit\": [\"IAM_Users\"]}\n"
    "]}\n";
static const char *SIGNALS =
    "{\"signals\": [\n"
    "  {\"label\": \"IAM_Users\", \"service\": \"IAM\", \"name\": \"Clicked IAM->Users\",\n"
    "   \"url\": \"https://{{awsRegion}}.console.aws.amazon.com/iam/home#/users\",\n"
    "   \"anchor\": [\"iam:ListUsers\"], \"required\": [\"iam:ListUsers\"], \"optional\": [\"iam:ListMFADevices\"],\n"
    "   \"vars\": {\"users\": [{\"related\": [\"iam:ListMFADevices\"]}, {\"get\": \"requestParameters.userName\"}, {\"sort_unique\": true}]},\n"
    "   \"data\": {\"userNameArr\": \"users\"},\n"
    "   \"summary\": \"Listed {{users|count}} user{{users|plural}}.\"}\n"
    "]}\n";

static void fresh(void) {
    snprintf(dir, sizeof(dir), "/tmp/tm_rules_test_%d", (int)getpid());
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s/labels %s/signals", dir, dir, dir);
    if (system(cmd) != 0) exit(1);
    put("useragent.json", UA);
    put("labels/iam.json", LABELS);
    put("signals/iam.json", SIGNALS);
    put("overrides.json", "{\"overrides\": []}\n");
}

/* Loads and expects exactly one error containing `want`. */
static void expect_error(const char *what, const char *want) {
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    int rc = tm_rules_load(dir, &rs, &errs);
    CHECK(rc != 0);
    CHECK(rs == NULL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i], want)) found = 1;
    if (!found) {
        fprintf(stderr, "%s: no error containing \"%s\"; got:\n", what, want);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
    }
    CHECK(found);
    tm_errlist_free(&errs);
}

int main(void) {
    char want[2048];

    fresh();
    tm_errlist errs = {0};
    tm_ruleset *rs = NULL;
    CHECK_INT(tm_rules_load(dir, &rs, &errs), 0);
    CHECK_INT(errs.n, 0);
    if (rs) {
        CHECK_INT(rs->nlabels, 1);
        CHECK_INT(rs->nevents, 2);
        CHECK(tm_rules_label(rs, "IAM_Users") == 0);
        CHECK(tm_rules_event(rs, "IAM:listusers") != NULL); /* looked up ignoring case */
        CHECK(rs->version && strlen(rs->version) == 16);
        tm_rules_unref(rs);
    }
    tm_errlist_free(&errs);

    /* JSON syntax error: jansson's position */
    fresh();
    put("labels/iam.json", "{\"events\": [\n  {\"event\": \"iam:ListUsers\" \"emit\": []}\n]}\n");
    snprintf(want, sizeof(want), "%s/labels/iam.json:2:34: '}' expected near '\"emit\"'", dir);
    expect_error("syntax", want);

    /* unknown label in an emit list: line 3, column 59 is the label string */
    fresh();
    put("labels/iam.json",
        "{\"events\": [\n  {\"event\": \"iam:ListUsers\", \"chain\": [\n"
        "    {\"when\": {\"f\": \"$ua\", \"eq\": \"AWS_Internal\"}, \"emit\": [\"IAM_Userz\"]}]}\n]}\n");
    snprintf(want, sizeof(want), "%s/labels/iam.json:3:59: unknown label \"IAM_Userz\"", dir);
    expect_error("unknown label", want);

    /* unknown operator */
    fresh();
    put("labels/iam.json",
        "{\"events\": [\n  {\"event\": \"iam:ListUsers\", \"chain\": [\n"
        "    {\"when\": {\"f\": \"$ua\", \"equals\": \"AWS_Internal\"}, \"emit\": [\"IAM_Users\"]}]}\n]}\n");
    snprintf(want, sizeof(want), "%s/labels/iam.json:3:27: unknown operator \"equals\"", dir);
    expect_error("unknown operator", want);

    /* bad regex */
    fresh();
    put("labels/iam.json",
        "{\"events\": [\n  {\"event\": \"iam:ListUsers\", \"chain\": [\n"
        "    {\"when\": {\"f\": \"userAgent\", \"regex\": \"a(b\"}, \"emit\": [\"IAM_Users\"]}]}\n]}\n");
    snprintf(want, sizeof(want), "%s/labels/iam.json:3:42: bad regex \"a(b\"", dir);
    expect_error("bad regex", want);

    /* template naming an unknown value */
    fresh();
    char *bad = strdup(SIGNALS);
    char *p = strstr(bad, "{{users|count}}");
    memcpy(p, "{{usrs|count}} ", 15);
    put("signals/iam.json", bad);
    free(bad);
    snprintf(want, sizeof(want), "%s/signals/iam.json:7:15: template: unknown value \"usrs\"", dir);
    expect_error("template", want);

    /* duplicate label */
    fresh();
    put("signals/other.json",
        "{\"signals\": [\n  {\"label\": \"IAM_Users\", \"service\": \"IAM\", \"name\": \"x\", \"url\": \"N/A\",\n"
        "   \"anchor\": [\"iam:ListUsers\"], \"required\": [\"iam:ListUsers\"], \"summary\": \"x\"}]}\n");
    snprintf(want, sizeof(want), "%s/signals/other.json:2:13: duplicate label \"IAM_Users\" (first defined at %s/signals/iam.json:2:13)", dir, dir);
    expect_error("duplicate", want);

    /* unknown member (a typo must not silently disable a rule) */
    fresh();
    put("labels/iam.json", "{\"events\": [\n  {\"event\": \"iam:ListUsers\", \"emits\": [\"IAM_Users\"]}\n]}\n");
    snprintf(want, sizeof(want), "%s/labels/iam.json:2:30: unknown member \"emits\"", dir);
    expect_error("unknown member", want);

    /* an override naming an unknown label */
    fresh();
    put("overrides.json", "{\"overrides\": [\n  {\"stage\": \"rewrite\", \"label\": \"IAM_Users\", \"to\": \"IAM_Nope\"}\n]}\n");
    snprintf(want, sizeof(want), "%s/overrides.json:2:52: unknown label \"IAM_Nope\"", dir);
    expect_error("override", want);

    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return tm_test_done();
}

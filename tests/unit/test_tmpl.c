/* test_tmpl.c: url and summary templates: vars, filters, sections, and the
 * compile-time checks. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tmpl.h"

/* The vars every render below uses. */
static const char *VARS =
    "{\"s\":\"abc\",\"n\":5,\"t\":true,\"f\":false,\"z\":0,\"e\":\"\",\"nul\":null,"
    "\"one\":[\"solo\"],\"two\":[\"alice\",\"bob\"],\"three\":[\"a\",\"b\",\"c\"],\"none\":[],"
    "\"enc\":\"a?b/c~d:e$\",\"arn\":\"arn:aws:cloudtrail:us-east-1:1:trail/my trail\","
    "\"obj\":{\"k\":[1,\"x\"],\"b\":true},\"emptyobj\":{},\"nums\":[1,2],\"awsRegion\":\"eu-west-1\"}";

static json_t *known_of(json_t *vars) {
    json_t *k = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(vars, key, v) json_object_set_new(k, key, json_true());
    json_object_set_new(k, "missing", json_true()); /* known, but never given a value */
    return k;
}

static char *R(const char *text) {
    json_t *vars = json_loads(VARS, 0, NULL);
    json_t *known = known_of(vars);
    tm_errlist errs = {0};
    tm_tmpl *t = tm_tmpl_compile(text, known, NULL, NULL, &errs);
    char *out = NULL;
    if (!t) {
        fprintf(stderr, "template did not compile: %s\n", text);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
        out = strdup("(error)");
    } else {
        out = tm_tmpl_render(t, vars);
    }
    tm_tmpl_free(t);
    tm_errlist_free(&errs);
    json_decref(known);
    json_decref(vars);
    return out;
}

#define CHECK_R(text, want) do { \
    char *got_ = R(text); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void expect_error(const char *text, const char *want) {
    json_t *vars = json_loads(VARS, 0, NULL);
    json_t *known = known_of(vars);
    tm_errlist errs = {0};
    tm_tmpl *t = tm_tmpl_compile(text, known, NULL, NULL, &errs);
    CHECK(t == NULL);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        if (strstr(errs.v[i], want)) found = 1;
    if (!found) {
        fprintf(stderr, "no error containing \"%s\" for %s; got:\n", want, text);
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "  %s\n", errs.v[i]);
    }
    CHECK(found);
    tm_tmpl_free(t);
    tm_errlist_free(&errs);
    json_decref(known);
    json_decref(vars);
}

static void test_vars(void) {
    CHECK_R("plain text", "plain text");
    CHECK_R("", "");
    CHECK_R("{{s}}", "abc");
    CHECK_R("x{{s}}y{{s}}z", "xabcyabcz");
    CHECK_R("{{n}} {{t}} {{f}} {{z}}", "5 True False 0");
    CHECK_R("[{{nul}}]", "[]");        /* null deletes the placeholder */
    CHECK_R("[{{missing}}]", "[]");
    CHECK_R("[{{e}}]", "[]");
    CHECK_R("{{two}}", "alice bob");   /* arrays print space-joined */
    CHECK_R("{{one}}", "solo");
    CHECK_R("[{{none}}]", "[]");
    CHECK_R("https://{{awsRegion}}.console.aws.amazon.com/", "https://eu-west-1.console.aws.amazon.com/");
    CHECK_R("a single { brace } stays", "a single { brace } stays");
}

static void test_filters(void) {
    /* url: minimal encoding */
    CHECK_R("{{enc|url}}", "a%3fb%2fc%7ed%3ae%24");
    CHECK_R("{{arn|url}}", "arn%3aaws%3acloudtrail%3aus-east-1%3a1%3atrail%2fmy+trail");
    CHECK_R("{{arn|url:/:}}", "arn:aws:cloudtrail:us-east-1:1:trail/my+trail");
    CHECK_R("[{{nul|url}}]", "[]");
    CHECK_R("{{two|url}}", "alice+bob");
    /* count */
    CHECK_R("{{nul|count}} {{s|count}} {{one|count}} {{two|count}} {{three|count}} {{none|count}}", "0 1 1 2 3 0");
    /* plural, and plural with two endings */
    CHECK_R("user{{one|plural}}", "user");
    CHECK_R("user{{two|plural}}", "users");
    CHECK_R("user{{none|plural}}", "users");
    CHECK_R("user{{nul|plural}}", "users");
    CHECK_R("user{{s|plural}}", "user");
    CHECK_R("polic{{one|plural:y:ies}}", "policy");
    CHECK_R("polic{{three|plural:y:ies}}", "policies");
    CHECK_R("polic{{none|plural:y:ies}}", "policies");
    /* qlist and list */
    CHECK_R("{{two|qlist}}", "'alice','bob'");
    CHECK_R("{{one|qlist}}", "'solo'");
    CHECK_R("{{s|qlist}}", "'abc'");
    CHECK_R("[{{none|qlist}}]", "[]");
    CHECK_R("[{{nul|qlist}}]", "[]");
    CHECK_R("{{three|list}}", "a, b, c");
    CHECK_R("{{nums|list}}", "1, 2");
    /* json */
    CHECK_R("{{obj|json}}", "{\"k\":[1,\"x\"],\"b\":true}");
    CHECK_R("{{two|json}}", "[\"alice\",\"bob\"]");
    CHECK_R("{{s|json}}", "\"abc\"");
    CHECK_R("{{n|json}}", "5");
    CHECK_R("{{nul|json}}", "null");
    CHECK_R("{{emptyobj|json}}", "{}");
    /* filters chain: later ones work on the text */
    CHECK_R("{{two|qlist|url}}", "%27alice%27,%27bob%27");
    CHECK_R("{{three|count|url}}", "3");
}

static void test_sections(void) {
    struct {
        const char *var, *want;
    } cases[] = {
        {"s", "yes"}, {"n", "yes"}, {"t", "yes"}, {"one", "yes"}, {"two", "yes"}, {"obj", "yes"},
        {"emptyobj", "yes"}, {"f", "no"}, {"z", "no"}, {"e", "no"}, {"nul", "no"}, {"none", "no"},
        {"missing", "no"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{{#%s}}yes{{/%s}}{{^%s}}no{{/%s}}", cases[i].var, cases[i].var, cases[i].var,
                 cases[i].var);
        char *got = R(buf);
        if (!got || strcmp(got, cases[i].want) != 0) fprintf(stderr, "section on %s\n", cases[i].var);
        CHECK_STR(got, cases[i].want);
        free(got);
    }
    /* text and vars inside sections */
    CHECK_R("Opened the list{{#two}}, showing {{two|count}} user{{two|plural}} ({{two|qlist}}){{/two}}"
            "{{^two}}; no users{{/two}}.",
            "Opened the list, showing 2 users ('alice','bob').");
    CHECK_R("Opened the list{{#none}}, showing {{none|count}} user{{none|plural}} ({{none|qlist}}){{/none}}"
            "{{^none}}; no users{{/none}}.",
            "Opened the list; no users.");
    /* nested sections */
    CHECK_R("{{#s}}A{{#two}}B{{/two}}{{^two}}-{{/two}}{{#none}}C{{/none}}{{^none}}D{{/none}}{{/s}}", "ABD");
    CHECK_R("{{#nul}}A{{#two}}B{{/two}}{{/nul}}E", "E");
    CHECK_R("{{^nul}}{{^none}}{{#one}}[{{one}}]{{/one}}{{/none}}{{/nul}}", "[solo]");
    CHECK_R("{{#s}}{{#s}}twice{{/s}}{{/s}}", "twice");
    CHECK_R("pre{{#t}}{{s}}{{/t}}mid{{^t}}{{s}}{{/t}}post", "preabcmidpost");
}

static void test_errors(void) {
    expect_error("{{unknown}}", "unknown value \"unknown\"");
    expect_error("{{#unknown}}x{{/unknown}}", "unknown value \"unknown\"");
    expect_error("{{s|shout}}", "unknown filter \"shout\"");
    expect_error("{{s|plural:y}}", "plural takes two endings");
    expect_error("{{#s}}open", "section not closed");
    expect_error("{{#s}}x{{/two}}", "unexpected section end");
    expect_error("x{{/s}}", "unexpected section end");
    expect_error("{{s", "unclosed {{");
    /* names the template uses */
    json_t *vars = json_loads(VARS, 0, NULL), *known = known_of(vars);
    tm_errlist errs = {0};
    tm_tmpl *t = tm_tmpl_compile("a{{#two}}{{s|url}}{{/two}}", known, NULL, NULL, &errs);
    CHECK(t != NULL);
    if (t) {
        CHECK(tm_tmpl_uses(t, "two"));
        CHECK(tm_tmpl_uses(t, "s"));
        CHECK(!tm_tmpl_uses(t, "n"));
        CHECK(!tm_tmpl_uses(t, "a"));
    }
    tm_tmpl_free(t);
    tm_errlist_free(&errs);
    json_decref(known);
    json_decref(vars);
}

int main(void) {
    test_vars();
    test_filters();
    test_sections();
    test_errors();
    return tm_test_done();
}

/* test_value.c: PowerShell's view of values: loose equality, truthiness,
 * the culture-aware order, sort_unique, minimal URL encoding and paths with
 * member enumeration. */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "error.h"
#include "value.h"

static json_t *J(const char *text) {
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);
    if (!v) {
        fprintf(stderr, "bad JSON in test: %s: %s\n", text, e.text);
        exit(2);
    }
    return v;
}

/* loose_eq on two JSON texts */
static int EQ(const char *value, const char *literal, int ic) {
    json_t *v = J(value), *l = J(literal);
    int r = tm_value_loose_eq(v, l, ic);
    json_decref(v);
    json_decref(l);
    return r;
}

static int TRUTHY(const char *value) {
    json_t *v = J(value);
    int r = tm_value_truthy(v);
    json_decref(v);
    return r;
}

/* The compact JSON of a tm_vals list, as an array. */
static char *dump_vals(const tm_vals *l) {
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++) json_array_append(a, l->v[i]);
    char *s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(a);
    return s;
}

/* Values at a path (raw or not) of a JSON text, as a compact JSON array. */
static char *GET(const char *doc, const char *path, int raw) {
    tm_path p;
    if (tm_path_parse(path, &p) != 0) return strdup("(malformed)");
    json_t *root = J(doc);
    tm_vals out = {0};
    char *s = NULL;
    if (tm_path_get(&p, root, raw, &out) == 0) s = dump_vals(&out);
    tm_vals_clear(&out);
    json_decref(root);
    tm_path_free(&p);
    return s;
}

#define CHECK_GET(doc, path, raw, want) do { \
    char *got_ = GET(doc, path, raw); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

/* sort_unique over a JSON array text; returns compact JSON */
static char *SORTU(const char *arr, int unique) {
    json_t *a = J(arr);
    tm_vals l = {0};
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) tm_vals_push(&l, e);
    if (unique) tm_vals_sort_unique(&l);
    else tm_vals_sort(&l);
    char *s = dump_vals(&l);
    tm_vals_clear(&l);
    json_decref(a);
    return s;
}

#define CHECK_SORT(arr, unique, want) do { \
    char *got_ = SORTU(arr, unique); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

#define CHECK_URL(s, keep, want) do { \
    char *got_ = tm_url_min_encode(s, keep); \
    CHECK_STR(got_, want); \
    free(got_); \
} while (0)

static void test_loose_eq(void) {
    /* numbers and numeric strings, both ways */
    CHECK(EQ("50", "\"50\"", 0));
    CHECK(EQ("\"50\"", "50", 0));
    CHECK(EQ("50", "50", 0));
    CHECK(EQ("50", "50.0", 0));
    CHECK(EQ("1.5", "\"1.5\"", 0));
    CHECK(EQ("50", "\" 50 \"", 0));   /* the literal is converted to a number */
    CHECK(!EQ("50", "\"51\"", 0));
    CHECK(!EQ("\"50\"", "51", 0));
    CHECK(!EQ("50", "\"fifty\"", 0));
    CHECK(!EQ("\"050\"", "50", 0));    /* the string side compares as text */
    /* booleans and their text, any case */
    CHECK(EQ("true", "\"true\"", 0));
    CHECK(EQ("true", "\"TRUE\"", 0));
    CHECK(EQ("true", "\"True\"", 0));
    CHECK(EQ("false", "\"false\"", 0));
    CHECK(EQ("false", "\"FaLsE\"", 0));
    CHECK(!EQ("true", "\"false\"", 0));
    CHECK(!EQ("false", "\"true\"", 0));
    CHECK(EQ("\"true\"", "true", 0));
    CHECK(EQ("\"TRUE\"", "true", 0));
    CHECK(EQ("\"False\"", "false", 0));
    CHECK(!EQ("\"false\"", "true", 0));
    CHECK(!EQ("\"yes\"", "true", 0));
    CHECK(EQ("true", "true", 0));
    CHECK(!EQ("true", "false", 0));
    /* strings: case-sensitive unless ignore_case */
    CHECK(EQ("\"ACCOUNT\"", "\"ACCOUNT\"", 0));
    CHECK(!EQ("\"ACCOUNT\"", "\"account\"", 0));
    CHECK(EQ("\"ACCOUNT\"", "\"account\"", 1));
    CHECK(EQ("\"on-demand\"", "\"ON-DEMAND\"", 1));
    CHECK(!EQ("\"on-demand\"", "\"on-demand \"", 1));
    /* null */
    CHECK(EQ("null", "null", 0));
    CHECK(!EQ("\"\"", "null", 0));
    CHECK(!EQ("null", "\"\"", 0));
    json_t *x = json_string("x");
    CHECK(!tm_value_loose_eq(NULL, x, 0)); /* missing value */
    json_decref(x);
}

static void test_truthy(void) {
    CHECK(!TRUTHY("null"));
    CHECK(!TRUTHY("false"));
    CHECK(!TRUTHY("0"));
    CHECK(!TRUTHY("0.0"));
    CHECK(!TRUTHY("\"\""));
    CHECK(!TRUTHY("[]"));
    CHECK(!TRUTHY("[0]"));      /* one element: its truthiness */
    CHECK(!TRUTHY("[\"\"]"));
    CHECK(TRUTHY("[0,0]"));     /* two or more: true */
    CHECK(TRUTHY("[\"a\"]"));
    CHECK(TRUTHY("true"));
    CHECK(TRUTHY("1"));
    CHECK(TRUTHY("-1"));
    CHECK(TRUTHY("\"0\""));
    CHECK(TRUTHY("\"false\""));
    CHECK(TRUTHY("{}"));
    CHECK(TRUTHY("{\"a\":1}"));
    CHECK(!tm_value_truthy(NULL));
}

static void test_text(void) {
    json_t *v;
    char *t;
#define TEXT(js, want) do { v = J(js); t = tm_value_text(v); CHECK_STR(t, want); free(t); json_decref(v); } while (0)
    TEXT("\"abc\"", "abc");
    TEXT("true", "True");
    TEXT("false", "False");
    TEXT("42", "42");
    TEXT("-7", "-7");
    TEXT("2.5", "2.5");
    TEXT("3.0", "3");
    TEXT("[\"a\",1,true]", "a 1 True");
    TEXT("[]", "");
#undef TEXT
    v = json_null();
    CHECK(tm_value_text(v) == NULL);
}

static void test_culture_order(void) {
    /* case-insensitive: SecurityHub < SSO < Support (ASCII would put SSO first) */
    CHECK(tm_culture_cmp("AWSServiceRoleForSecurityHub", "AWSServiceRoleForSSO") < 0);
    CHECK(tm_culture_cmp("AWSServiceRoleForSSO", "AWSServiceRoleForSupport") < 0);
    CHECK(tm_culture_cmp("AWSServiceRoleForSecurityHub", "AWSServiceRoleForSupport") < 0);
    CHECK(tm_culture_cmp("AWSServiceRoleForSupport", "AWSServiceRoleForSSO") > 0);
    CHECK(tm_culture_cmp("alpha", "Zeta") < 0);
    CHECK(tm_culture_cmp("Zeta", "alpha") > 0);
    CHECK(tm_culture_cmp("bucketName", "Host") < 0);
    CHECK(tm_culture_cmp("Host", "policy") < 0);
    /* punctuation < digits < letters (ASCII puts '_' after digits and capitals) */
    CHECK(tm_culture_cmp("_", "0") < 0);
    CHECK(tm_culture_cmp(":", "1") < 0);
    CHECK(tm_culture_cmp("@x", "9") < 0);
    CHECK(tm_culture_cmp("9", "a") < 0);
    CHECK(tm_culture_cmp("9", "A") < 0);
    CHECK(tm_culture_cmp("a_b", "a0") < 0);
    CHECK(tm_culture_cmp("a0", "aa") < 0);
    CHECK(tm_culture_cmp("Z_", "z0") < 0); /* primary difference beats case */
    /* lowercase first on a tie */
    CHECK(tm_culture_cmp("a", "A") < 0);
    CHECK(tm_culture_cmp("A", "a") > 0);
    CHECK(tm_culture_cmp("tagging", "Tagging") < 0);
    CHECK(tm_culture_cmp("aB", "Ab") < 0);
    CHECK(tm_culture_cmp("abc", "abc") == 0);
    /* a prefix sorts first */
    CHECK(tm_culture_cmp("ab", "abc") < 0);
    CHECK(tm_culture_cmp("ABC", "ab") > 0);
    CHECK(tm_culture_cmp("", "a") < 0);
}

static void test_sort(void) {
    CHECK_SORT("[\"AWSServiceRoleForSupport\",\"AWSServiceRoleForSSO\",\"AWSServiceRoleForSecurityHub\"]", 0,
               "[\"AWSServiceRoleForSecurityHub\",\"AWSServiceRoleForSSO\",\"AWSServiceRoleForSupport\"]");
    CHECK_SORT("[\"b\",\"A\",\"_c\",\"1\"]", 0, "[\"_c\",\"1\",\"A\",\"b\"]");
    CHECK_SORT("[\"B\",\"b\"]", 0, "[\"b\",\"B\"]");
    /* numbers compare as numbers */
    CHECK_SORT("[10,9,100]", 0, "[9,10,100]");
    /* sort_unique: duplicates ignoring case removed */
    CHECK_SORT("[\"b\",\"A\",\"a\",\"B\",\"_x\",\"1\"]", 1, "[\"_x\",\"1\",\"a\",\"b\"]");
    CHECK_SORT("[\"x\",\"x\",\"x\"]", 1, "[\"x\"]");
    CHECK_SORT("[\"Role\",\"role\",\"ROLE\",\"roles\"]", 1, "[\"role\",\"roles\"]");
    CHECK_SORT("[3,1,3,2,1]", 1, "[1,2,3]");
    CHECK_SORT("[\"10\",\"9\",\"10\"]", 1, "[\"10\",\"9\"]"); /* strings sort as text */
    CHECK_SORT("[{\"k\":1},{\"k\":1},{\"k\":2}]", 1, "[{\"k\":1},{\"k\":2}]");
    CHECK_SORT("[]", 1, "[]");
    CHECK_SORT("[\"only\"]", 1, "[\"only\"]");
    /* owned lists drop their references to removed duplicates (ASan checks) */
    tm_vals l = {0};
    l.owned = 1;
    json_t *s1 = json_string("dup"), *s2 = json_string("DUP"), *s3 = json_string("a");
    tm_vals_push(&l, s1);
    tm_vals_push(&l, s2);
    tm_vals_push(&l, s3);
    json_decref(s1);
    json_decref(s2);
    json_decref(s3);
    tm_vals_sort_unique(&l);
    CHECK_INT(l.n, 2);
    CHECK_STR(json_string_value(l.v[0]), "a");
    CHECK_STR(json_string_value(l.v[1]), "dup");
    tm_vals_clear(&l);
}

static void test_url(void) {
    CHECK_URL("a?b/c~d:e$", NULL, "a%3fb%2fc%7ed%3ae%24");
    CHECK_URL("a b", NULL, "a+b");
    CHECK_URL("AZaz09-+=,._", NULL, "AZaz09-+=,._");
    CHECK_URL("x&y#z%", NULL, "x%26y%23z%25");
    CHECK_URL("'q'\"", NULL, "%27q%27%22");
    CHECK_URL("\xc3\xa9", NULL, "%c3%a9"); /* UTF-8 bytes, lowercase hex */
    CHECK_URL("", NULL, "");
    /* characters HttpUtility.UrlEncode leaves alone stay as they are */
    CHECK_URL("(x)!*", NULL, "(x)!*");
    CHECK_URL("bad?Name!x+y/z~w:v$u", NULL, "bad%3fName!x+y%2fz%7ew%3av%24u");
    CHECK_URL("bad?Name!x+y/z~w:v$u", "/:", "bad%3fName!x+y/z%7ew:v%24u");
    /* url:/: keeps / and : */
    CHECK_URL("arn:aws:cloudtrail:us-east-1:123:trail/my trail", "/:",
              "arn:aws:cloudtrail:us-east-1:123:trail/my+trail");
    CHECK_URL("a?b/c~d:e$", "/:", "a%3fb/c%7ed:e%24");
}

static void test_paths(void) {
    const char *doc =
        "{\"items\":[{\"n\":\"x\",\"v\":[1,2]},{\"n\":\"y\",\"v\":[3]},{\"m\":1}],"
        "\"obj\":{\"deep\":{\"k\":\"v\"}},\"s\":\"scalar\",\"nul\":null,"
        "\"grid\":[{\"row\":[{\"c\":1},{\"c\":2}]},{\"row\":[{\"c\":3}]}]}";
    /* member enumeration over arrays */
    CHECK_GET(doc, "items.n", 0, "[\"x\",\"y\"]");
    CHECK_GET(doc, "items.v", 0, "[1,2,3]");       /* arrays at the end are flattened */
    CHECK_GET(doc, "items.v", 1, "[[1,2],[3]]");   /* raw keeps them */
    CHECK_GET(doc, "grid.row.c", 0, "[1,2,3]");    /* crossing two levels of arrays */
    CHECK_GET(doc, "items", 0, "[{\"n\":\"x\",\"v\":[1,2]},{\"n\":\"y\",\"v\":[3]},{\"m\":1}]");
    CHECK_GET(doc, "items", 1, "[[{\"n\":\"x\",\"v\":[1,2]},{\"n\":\"y\",\"v\":[3]},{\"m\":1}]]");
    /* [N] indexes */
    CHECK_GET(doc, "items[0].n", 0, "[\"x\"]");
    CHECK_GET(doc, "items[1].n", 0, "[\"y\"]");
    CHECK_GET(doc, "items[2].n", 0, "[]");
    CHECK_GET(doc, "items[9].n", 0, "[]");
    CHECK_GET(doc, "items[0].v[1]", 0, "[2]");
    CHECK_GET(doc, "grid.row[0].c", 0, "[1,3]");  /* index applies to each enumerated array */
    CHECK_GET(doc, "s[0]", 0, "[\"scalar\"]");    /* a scalar's [0] is itself */
    CHECK_GET(doc, "s[1]", 0, "[]");
    /* objects, misses */
    CHECK_GET(doc, "obj.deep.k", 0, "[\"v\"]");
    CHECK_GET(doc, "obj.deep", 0, "[{\"k\":\"v\"}]");
    CHECK_GET(doc, "obj.nope.k", 0, "[]");
    CHECK_GET(doc, "nope", 0, "[]");
    CHECK_GET(doc, "s.x", 0, "[]");
    CHECK_GET(doc, "nul", 0, "[null]");
    CHECK_GET(doc, ".", 1, "[" "{\"items\":[{\"n\":\"x\",\"v\":[1,2]},{\"n\":\"y\",\"v\":[3]},{\"m\":1}],"
                     "\"obj\":{\"deep\":{\"k\":\"v\"}},\"s\":\"scalar\",\"nul\":null,"
                     "\"grid\":[{\"row\":[{\"c\":1},{\"c\":2}]},{\"row\":[{\"c\":3}]}]}" "]");
    /* malformed paths */
    tm_path p;
    CHECK(tm_path_parse("", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a..b", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a[", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a[x]", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a[-1]", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a[0]b", &p) == TM_EPARSE);
    CHECK(tm_path_parse("a.b[2].c", &p) == 0);
    CHECK_INT(p.n, 3);
    CHECK_STR(p.seg[1], "b");
    CHECK_INT(p.idx[1], 2);
    CHECK_INT(p.idx[0], -1);
    tm_path_free(&p);
    /* a NULL root yields nothing */
    CHECK(tm_path_parse("a", &p) == 0);
    tm_vals out = {0};
    CHECK(tm_path_get(&p, NULL, 0, &out) == 0);
    CHECK_INT(out.n, 0);
    tm_path_free(&p);
}

int main(void) {
    test_loose_eq();
    test_truthy();
    test_text();
    test_culture_order();
    test_sort();
    test_url();
    test_paths();
    return tm_test_done();
}

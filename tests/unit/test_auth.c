/* test_auth.c: the token file (plain and sha256: lines, names, errors with
 * file:line) and lookups (roles, names, near misses). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "helpers.h"
#include "test.h"

static char path[256];

static void put(const char *text) { tm_test_put(path, NULL, text); }

/* Loads text; returns the auth or NULL with err filled. */
static tm_auth *load(const char *text, tm_error *err) {
    put(text);
    tm_auth *a = NULL;
    memset(err, 0, sizeof(*err));
    if (tm_auth_load(path, &a, err) != 0) return NULL;
    return a;
}

/* printf %s alice-secret-1 | sha256sum; the second one in upper case */
#define ALICE_HASH "097dc248eabfe172d083ee0f6a865ba18532cf4308c6109b4c059bc61755dfbc"
#define READER_HASH_UC "31D3A315D03B2B1DCCFCF4C10DE215673261F5B5699ACF29269E0C00A3C6E2D2"

static void expect_error(const char *text, int line, const char *words) {
    tm_error err;
    tm_auth *a = load(text, &err);
    CHECK(a == NULL);
    tm_auth_free(a);
    char where[300];
    snprintf(where, sizeof(where), "%s:%d:", path, line);
    if (!strstr(err.msg, where) || !strstr(err.msg, words))
        fprintf(stderr, "  error \"%s\" wants \"%s\" and \"%s\"\n", err.msg, where, words);
    CHECK(strstr(err.msg, where) != NULL);
    CHECK(strstr(err.msg, words) != NULL);
}

static void test_plain(void) {
    tm_error err;
    tm_auth *a = load("# tokens\n\nreader-token-0001 read\n  submit-token-0002   submit  bob\nadmin-token-00003 admin alice-admin\n", &err);
    CHECK(a != NULL);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK_INT(tm_auth_count(a), 3);
    const char *name = "x";
    CHECK_INT(tm_auth_check(a, "reader-token-0001", 17, &name), TM_ROLE_READ);
    CHECK_STR(name, "line 3"); /* the default name: the line, never the token */
    CHECK_INT(tm_auth_check(a, "submit-token-0002", 17, &name), TM_ROLE_SUBMIT);
    CHECK_STR(name, "bob");
    CHECK_INT(tm_auth_check(a, "admin-token-00003", 17, &name), TM_ROLE_ADMIN);
    CHECK_STR(name, "alice-admin");
    /* near misses: prefix, longer, one character off, empty */
    CHECK_INT(tm_auth_check(a, "admin-token-0000", 16, &name), TM_ROLE_NONE);
    CHECK(name == NULL);
    CHECK_INT(tm_auth_check(a, "admin-token-000034", 18, &name), TM_ROLE_NONE);
    CHECK_INT(tm_auth_check(a, "admin-token-00004", 17, &name), TM_ROLE_NONE);
    CHECK_INT(tm_auth_check(a, "", 0, &name), TM_ROLE_NONE);
    CHECK(name == NULL);
    /* the length counts: a longer buffer is cut at len */
    CHECK_INT(tm_auth_check(a, "admin-token-00003XYZ", 17, NULL), TM_ROLE_ADMIN);
    /* the old interface */
    CHECK_INT(tm_auth_role(a, "submit-token-0002"), TM_ROLE_SUBMIT);
    CHECK_INT(tm_auth_role(a, "submit-token-000"), TM_ROLE_NONE);
    CHECK_INT(tm_auth_role(a, NULL), TM_ROLE_NONE);
    CHECK_STR(tm_auth_role_name(TM_ROLE_ADMIN), "admin");
    tm_auth_free(a);
}

static void test_hashed(void) {
    tm_error err;
    tm_auth *a = load("sha256:" ALICE_HASH " admin alice-admin\n"
                      "sha256:" READER_HASH_UC " read\n"
                      "plain-token-0003 submit\n",
                      &err);
    CHECK(a != NULL);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    const char *name = NULL;
    CHECK_INT(tm_auth_check(a, "alice-secret-1", 14, &name), TM_ROLE_ADMIN);
    CHECK_STR(name, "alice-admin");
    /* upper-case hex matches; the default name is the hash's first 4 digits */
    CHECK_INT(tm_auth_check(a, "reader-secret-2", 15, &name), TM_ROLE_READ);
    CHECK_STR(name, "31d3");
    CHECK_INT(tm_auth_check(a, "plain-token-0003", 16, &name), TM_ROLE_SUBMIT);
    CHECK_STR(name, "line 3");
    /* the hash itself is not a token */
    CHECK_INT(tm_auth_role(a, ALICE_HASH), TM_ROLE_NONE);
    CHECK_INT(tm_auth_role(a, "sha256:" ALICE_HASH), TM_ROLE_NONE);
    CHECK_INT(tm_auth_role(a, "alice-secret-2"), TM_ROLE_NONE);
    /* hashed tokens may be short: the file does not know their length */
    tm_auth_free(a);
    /* printf %s shorty | sha256sum */
    a = load("sha256:07672b212369f416dc3505dcba04f379ff39de0d0db31536e57dae76486b5000 read\n", &err);
    CHECK(a != NULL);
    CHECK_INT(tm_auth_role(a, "shorty"), TM_ROLE_READ);
    tm_auth_free(a);
}

static void test_errors(void) {
    expect_error("good-token-0001 read\nbad-token-0002 owner\n", 2, "ROLE read, submit or admin");
    expect_error("good-token-0001\n", 1, "ROLE read, submit or admin");
    expect_error("good-token-0001 read alice extra\n", 1, "TOKEN ROLE [NAME]");
    expect_error("# c\nshort read\n", 2, "too short");
    expect_error("sha256:" ALICE_HASH "0 read\n", 1, "64 hex digits");
    expect_error("sha256:097dc248 read\n", 1, "64 hex digits");
    expect_error("sha256:097dc248eabfe172d083ee0f6a865ba18532cf4308c6109b4c059bc61755dfbg read\n", 1, "64 hex digits");
    expect_error("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 read\n", 1, "empty token");
    expect_error("good-token-0001 read\n\ngood-token-0001 admin\n", 3, "listed twice");
    /* the same token once plain and once hashed */
    expect_error("alice-secret-1 read\nsha256:" ALICE_HASH " admin\n", 2, "listed twice");
    expect_error("good-token-0001 read alice\ngood-token-0002 read alice\n", 2, "two tokens");
    expect_error("good-token-0001 read al'ice\n", 1, "name");
    expect_error("good-token-0001 read "
                 "a123456789a123456789a123456789a123456789a123456789a123456789abcde\n", 1, "name");
    /* the error never shows the token */
    tm_error err;
    tm_auth *a = load("secret-token-9999 owner\n", &err);
    CHECK(a == NULL);
    CHECK(strstr(err.msg, "secret-token-9999") == NULL);
    /* a file with no token, a missing file */
    a = load("# nothing\n\n", &err);
    CHECK(a == NULL);
    CHECK(strstr(err.msg, "no token") != NULL);
    memset(&err, 0, sizeof(err));
    CHECK(tm_auth_load("/nonexistent/tokens", &a, &err) != 0);
    CHECK(strstr(err.msg, "/nonexistent/tokens") != NULL);
}

int main(void) {
    snprintf(path, sizeof(path), "/tmp/test_auth.%d", (int)getpid());
    test_plain();
    test_hashed();
    test_errors();
    unlink(path);
    return tm_test_done();
}

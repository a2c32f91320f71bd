/* test_bounded_re.c: patterns that would make regcomp allocate without
 * bound are refused before it runs; ordinary ones compile and match. */
#include "bounded_re.h"

#include "test.h"

static int compiles(const char *pattern, char *why, size_t whylen) {
    regex_t re;
    if (tm_regex_compile(&re, pattern, REG_EXTENDED, why, whylen) != 0) return 0;
    regfree(&re);
    return 1;
}

static int matches(const char *pattern, const char *text) {
    regex_t re;
    char why[200];
    if (tm_regex_compile(&re, pattern, REG_EXTENDED | REG_NOSUB, why, sizeof(why)) != 0) return -1;
    int m = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

int main(void) {
    char why[200];
    /* patterns of the real rules' kinds */
    CHECK(compiles("^arn:aws:iam::[0-9]{12}:user/.+$", why, sizeof(why)));
    CHECK(compiles("^.*:secret:", why, sizeof(why)));
    CHECK(compiles("-[A-Za-z0-9]+", why, sizeof(why)));
    CHECK(compiles("[]a+*]+x", why, sizeof(why)));       /* quantifier characters inside brackets */
    CHECK(compiles("[[:alpha:]+]+", why, sizeof(why)));
    CHECK(compiles("a\\+\\+\\+b", why, sizeof(why)));     /* escaped, not quantifiers */
    CHECK(compiles("(ab){2,5}(cd)*", why, sizeof(why)));
    CHECK(compiles("a{255}", why, sizeof(why)));
    CHECK_INT(matches("^i-[0-9a-f]+$", "i-0abc12"), 1);
    CHECK_INT(matches("^i-[0-9a-f]+$", "vol-0abc12"), 0);

    /* found by fuzz_lang: each stacked "+" doubles glibc's tree (gigabytes) */
    CHECK(!compiles("-++++++++++++++++++++++[A-Za-z0-9]+", why, sizeof(why)));
    CHECK(strstr(why, "quantifier right after another") != NULL);
    CHECK(!compiles("a*+", why, sizeof(why)));
    CHECK(!compiles("a{2}{3}", why, sizeof(why)));
    CHECK(!compiles("a{256}", why, sizeof(why)));
    CHECK(strstr(why, "repetition count over 255") != NULL);
    CHECK(!compiles("a{1,99999999999999999999}", why, sizeof(why)));
    /* nested repetitions multiply */
    CHECK(!compiles("((a{200}){200})", why, sizeof(why)));
    CHECK(strstr(why, "expand to more than") != NULL);
    CHECK(!compiles("((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)", why, sizeof(why)));
    char deep[300];
    memset(deep, '(', 100);
    deep[100] = 'a';
    memset(deep + 101, ')', 100);
    deep[201] = 0;
    CHECK(!compiles(deep, why, sizeof(why)));
    char longp[TM_REGEX_MAX_LEN + 2];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    CHECK(!compiles(longp, why, sizeof(why)));
    /* regcomp's own errors still come through */
    CHECK(!compiles("a(b", why, sizeof(why)));
    CHECK(why[0] != 0);
    return tm_test_done();
}

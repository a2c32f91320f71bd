/* test.h: the smallest test harness that says what failed and where.
 * Each test file is a program; it prints "N passed, N failed" and exits 1
 * on any failure. */
#ifndef TM_TEST_H
#define TM_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tm_test_passed, tm_test_failed;

#define CHECK(cond) do { \
    if (cond) tm_test_passed++; \
    else { tm_test_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (a_ && b_ && strcmp(a_, b_) == 0) tm_test_passed++; \
    else { tm_test_failed++; fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", \
                                     __FILE__, __LINE__, b_ ? b_ : "(null)", a_ ? a_ : "(null)"); } \
} while (0)

#define CHECK_INT(a, b) do { \
    long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ == b_) tm_test_passed++; \
    else { tm_test_failed++; fprintf(stderr, "%s:%d: %s: expected %lld, got %lld\n", \
                                     __FILE__, __LINE__, #a, b_, a_); } \
} while (0)

static inline int tm_test_done(void) {
    printf("%d passed, %d failed\n", tm_test_passed, tm_test_failed);
    return tm_test_failed ? 1 : 0;
}

#endif

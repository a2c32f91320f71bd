/* test_util.c: the shared utilities (util/strmap, util/hash, util/calendar). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "hash.h"
#include "strmap.h"
#include "test.h"

/* tm_murmur3_128("trailmap"), as the store computed it before util/hash.c */
#define MURMUR_TRAILMAP "c28d5e9e4e9fcb6672a1b50b2dcc2cef"

static void test_strmap(void) {
    tm_strmap m = {0};
    CHECK(tm_strmap_get(&m, "absent") == TM_STRMAP_NONE);
    char k[32];
    for (size_t i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "key-%zu", i);
        CHECK_INT(tm_strmap_set(&m, k, i * 3), 0);
    }
    CHECK_INT(m.n, 10000);
    CHECK(m.n * 2 <= m.cap); /* never more than half full */
    int all = 1;
    for (size_t i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "key-%zu", i);
        if (tm_strmap_get(&m, k) != i * 3) all = 0;
    }
    CHECK(all);
    CHECK(tm_strmap_get(&m, "key-10000") == TM_STRMAP_NONE);
    CHECK_INT(tm_strmap_set(&m, "key-7", 1), 0); /* set replaces */
    CHECK_INT(tm_strmap_get(&m, "key-7"), 1);
    CHECK_INT(m.n, 10000);
    CHECK_INT(tm_strmap_set(&m, "", 5), 0);
    CHECK_INT(tm_strmap_get(&m, ""), 5);
    tm_strmap_free(&m);
    CHECK(m.keys == NULL && m.cap == 0);
}

static void test_hash(void) {
    /* the published FNV-1a 64 test vectors */
    CHECK(tm_fnv_str("") == 0xcbf29ce484222325ull);
    CHECK(tm_fnv_str("a") == 0xaf63dc4c8601ec8cull);
    CHECK(tm_fnv_str("foobar") == 0x85944171f73967e8ull);
    CHECK(tm_fnv_bytes(tm_fnv_bytes(TM_FNV_OFFSET, "foo", 3), "bar", 3) == tm_fnv_str("foobar"));
    /* store ids are made of it: the value must never change */
    uint64_t h[2];
    tm_murmur3_128("trailmap", 8, h);
    char got[40];
    snprintf(got, sizeof(got), "%016" PRIx64 "%016" PRIx64, h[0], h[1]);
    CHECK_STR(got, MURMUR_TRAILMAP);
    tm_murmur3_128("", 0, h);
    uint64_t e0 = h[0];
    tm_murmur3_128("a", 1, h);
    CHECK(h[0] != e0);
}

static void test_calendar(void) {
    CHECK_INT(tm_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(tm_days_from_civil(2000, 3, 1), 11017);
    CHECK_INT(tm_days_from_civil(1969, 12, 31), -1);
    CHECK_INT(tm_days_from_civil(1, 1, 1), -719162);
    CHECK_INT(tm_is_leap(2000), 1);
    CHECK_INT(tm_is_leap(1900), 0);
    CHECK_INT(tm_is_leap(2024), 1);
    CHECK_INT(tm_days_in_month(2023, 2), 28);
    CHECK_INT(tm_days_in_month(2024, 2), 29);
    CHECK_INT(tm_days_in_month(2024, 12), 31);
    int round = 1;
    for (int64_t d = -800000; d < 3000000; d += 13) {
        int64_t y;
        int m, dd;
        tm_civil_from_days(d, &y, &m, &dd);
        if (tm_days_from_civil(y, m, dd) != d || m < 1 || m > 12 || dd < 1 || dd > tm_days_in_month(y, m)) round = 0;
    }
    CHECK(round);
}

int main(void) {
    test_strmap();
    test_hash();
    test_calendar();
    return tm_test_done();
}

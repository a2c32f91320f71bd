/* test_log.c: repeats of one message are collapsed into a count, from many
 * threads at once; different messages, modules and levels are not. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "test.h"

/* the lines the log printed, captured */
static char *lines[64];
static size_t nlines, dropped;

static void sink(const char *line, void *arg) {
    (void)arg;
    if (nlines < sizeof(lines) / sizeof(lines[0])) lines[nlines++] = strdup(line);
    else dropped++;
}

static void forget(void) {
    for (size_t i = 0; i < nlines; i++) free(lines[i]);
    nlines = dropped = 0;
}

/* a clock the test moves */
static int64_t fake_now;
static int64_t fake_clock(void) { return __atomic_load_n(&fake_now, __ATOMIC_RELAXED); }

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static void test_collapse(void) {
    tm_log_set_hooks(sink, NULL, fake_clock);
    for (int i = 0; i < 100; i++) tm_log_error("store", "disk full at %s", "/data");
    CHECK_INT(nlines, 1);
    CHECK(nlines >= 1 && strncmp(lines[0], "error ", 6) == 0);
    CHECK(nlines >= 1 && ends_with(lines[0], " store: disk full at /data"));
    tm_log_info("api", "something else");
    CHECK_INT(nlines, 3);
    CHECK(nlines >= 2 && ends_with(lines[1], " store: disk full at /data (repeated 99 more times)"));
    CHECK(nlines >= 3 && ends_with(lines[2], " api: something else"));
    /* one repeat is said in the singular; no count when nothing repeated */
    tm_log_info("api", "something else");
    tm_log_info("api", "a third thing");
    CHECK_INT(nlines, 5);
    CHECK(nlines >= 4 && ends_with(lines[3], "something else (repeated 1 more time)"));
    tm_log_info("api", "a fourth thing");
    CHECK_INT(nlines, 6);
    forget();
}

static void test_not_same(void) {
    tm_log_set_hooks(sink, NULL, fake_clock);
    tm_log_error("store", "same text");
    tm_log_error("api", "same text");  /* another module */
    tm_log_warn("api", "same text");   /* another level */
    tm_log_warn("api", "same text!");  /* another text */
    CHECK_INT(nlines, 4);
    forget();
}

static void test_window(void) {
    tm_log_set_hooks(sink, NULL, fake_clock);
    fake_now = 1000;
    tm_log_error("store", "full");
    fake_now += 10;
    for (int i = 0; i < 5; i++) tm_log_error("store", "full");
    tm_log_flush(0); /* the window is not over: nothing yet */
    CHECK_INT(nlines, 1);
    fake_now += TM_LOG_REPEAT_MS;
    tm_log_flush(0); /* now it is: the count so far */
    CHECK_INT(nlines, 2);
    CHECK(nlines >= 2 && ends_with(lines[1], "full (repeated 5 more times)"));
    /* a message that keeps coming is reported once per window, on its own */
    tm_log_error("store", "full");
    tm_log_error("store", "full");
    CHECK_INT(nlines, 2);
    fake_now += TM_LOG_REPEAT_MS;
    tm_log_error("store", "full");
    CHECK_INT(nlines, 3);
    CHECK(nlines >= 3 && ends_with(lines[2], "full (repeated 3 more times)"));
    /* forced at exit */
    tm_log_error("store", "full");
    tm_log_flush(1);
    CHECK_INT(nlines, 4);
    CHECK(nlines >= 4 && ends_with(lines[3], "full (repeated 1 more time)"));
    tm_log_flush(1); /* nothing left to say */
    CHECK_INT(nlines, 4);
    forget();
}

static void *hammer(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++) tm_log_error("api", "SubmitEvents: store: database or disk is full");
    return NULL;
}

static void test_threads(void) {
    tm_log_set_hooks(sink, NULL, fake_clock);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, hammer, NULL) == 0);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    tm_log_flush(1);
    CHECK_INT(nlines, 2);
    CHECK(nlines >= 2 && ends_with(lines[1], "database or disk is full (repeated 7999 more times)"));
    forget();
}

static void test_long(void) {
    tm_log_set_hooks(sink, NULL, fake_clock);
    char *big = malloc(10000);
    CHECK(big != NULL);
    if (!big) return;
    memset(big, 'x', 9999);
    big[9999] = 0;
    tm_log_info("api", "%s", big);
    tm_log_info("api", "%s", big);
    tm_log_flush(1);
    CHECK_INT(nlines, 2);
    CHECK(nlines >= 1 && strlen(lines[0]) < 2048 + 128);
    CHECK(nlines >= 2 && strstr(lines[1], "(repeated 1 more time)") != NULL);
    free(big);
    forget();
}

int main(void) {
    test_collapse();
    test_not_same();
    test_window();
    test_threads();
    test_long();
    tm_log_set_hooks(NULL, NULL, NULL);
    CHECK_INT(dropped, 0);
    return tm_test_done();
}

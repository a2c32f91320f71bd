/* log.c: the log, with repeats collapsed (see log.h).  One mutex orders the
 * lines and guards the memory of the previous message. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LINE_MAX_LEN 2048

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* the previous message, and how often it came again since it was printed */
static struct {
    int valid;
    char level[16], module[64], text[LINE_MAX_LEN];
    uint64_t repeats;
    int64_t since_ms; /* when it (or its last report) was printed */
} last;

static void (*sink_fn)(const char *line, void *arg);
static void *sink_arg;
static int64_t (*clock_fn)(void);

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(void) { return clock_fn ? clock_fn() : mono_ms(); }

/* Prints "level ts module: text suffix" as one write.  Called with mu held. */
static void emit(const char *level, const char *module, const char *text, const char *suffix) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[LINE_MAX_LEN + 128];
    snprintf(line, sizeof(line), "%s %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: %s%s", level, tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, module, text, suffix);
    if (sink_fn) sink_fn(line, sink_arg);
    else fprintf(stderr, "%s\n", line);
}

/* The count of the previous message's repeats, if any.  Called with mu held. */
static void report_repeats(int64_t now) {
    if (!last.valid || last.repeats == 0) return;
    char suffix[64];
    snprintf(suffix, sizeof(suffix), " (repeated %llu more time%s)", (unsigned long long)last.repeats,
             last.repeats == 1 ? "" : "s");
    emit(last.level, last.module, last.text, suffix);
    last.repeats = 0;
    last.since_ms = now;
}

void tm_log(const char *level, const char *module, const char *fmt, ...) {
    char text[LINE_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    int64_t now = now_ms();
    if (last.valid && strcmp(last.level, level) == 0 && strcmp(last.module, module) == 0 && strcmp(last.text, text) == 0) {
        /* the same again: count it; past the window, report the count (this one included) */
        last.repeats++;
        if (now - last.since_ms >= TM_LOG_REPEAT_MS) report_repeats(now);
        pthread_mutex_unlock(&mu);
        return;
    }
    report_repeats(now);
    emit(level, module, text, "");
    last.valid = 1;
    snprintf(last.level, sizeof(last.level), "%s", level);
    snprintf(last.module, sizeof(last.module), "%s", module);
    memcpy(last.text, text, sizeof(text));
    last.repeats = 0;
    last.since_ms = now;
    pthread_mutex_unlock(&mu);
}

void tm_log_flush(int force) {
    pthread_mutex_lock(&mu);
    int64_t now = now_ms();
    if (force || now - last.since_ms >= TM_LOG_REPEAT_MS) report_repeats(now);
    pthread_mutex_unlock(&mu);
}

void tm_log_set_hooks(void (*sink)(const char *line, void *arg), void *arg, int64_t (*now)(void)) {
    pthread_mutex_lock(&mu);
    sink_fn = sink;
    sink_arg = arg;
    clock_fn = now;
    last.valid = 0;
    last.repeats = 0;
    pthread_mutex_unlock(&mu);
}

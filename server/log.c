#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void tm_log(const char *level, const char *module, const char *fmt, ...) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char line[2048];
    int n = snprintf(line, sizeof(line), "%s %04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s: ", level, tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, module);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(line)) vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line, so lines of concurrent threads do not interleave */
    fprintf(stderr, "%s\n", line);
}

/* log.h: one line per event of interest, "level ts module: message", to stderr.
 *
 * A message identical to the previous one (same level, module and text) is
 * not printed again within TM_LOG_REPEAT_MS of the first: a full disk makes
 * every submit fail the same way, and a thousand equal lines hide the one
 * that matters.  The repeats are counted and reported in one line,
 * "... (repeated N more times)", when a different message comes, when
 * tm_log_flush finds the window over, or at tm_log_flush(1).  Lines are
 * cut at 2048 bytes.  Thread-safe: lines of threads never interleave. */
#ifndef TM_LOG_H
#define TM_LOG_H

#include <stdint.h>

#define TM_LOG_REPEAT_MS 10000

void tm_log(const char *level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports the repeats counted so far if the window is over, or always when
 * force is set (at exit).  trailmapd calls it from a timer. */
void tm_log_flush(int force);

#define tm_log_info(mod, ...) tm_log("info", mod, __VA_ARGS__)
#define tm_log_warn(mod, ...) tm_log("warn", mod, __VA_ARGS__)
#define tm_log_error(mod, ...) tm_log("error", mod, __VA_ARGS__)

/* For tests: send finished lines (no newline) to sink instead of stderr, and
 * read the clock (milliseconds, monotonic) from now_ms.  NULLs restore the
 * defaults.  Also forgets the previous message. */
void tm_log_set_hooks(void (*sink)(const char *line, void *arg), void *arg, int64_t (*now_ms)(void));

#endif

/* log.h: one line per event of interest, "level ts module: message", to stderr. */
#ifndef TM_LOG_H
#define TM_LOG_H

void tm_log(const char *level, const char *module, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define tm_log_info(mod, ...) tm_log("info", mod, __VA_ARGS__)
#define tm_log_warn(mod, ...) tm_log("warn", mod, __VA_ARGS__)
#define tm_log_error(mod, ...) tm_log("error", mod, __VA_ARGS__)

#endif

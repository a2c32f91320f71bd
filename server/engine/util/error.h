/* error.h: the error convention of every trailmap module.
 *
 * Functions return 0 on success or a negative TM_E* code, and describe the
 * failure in a caller-owned tm_error.  Messages name the file, the position
 * and the problem, because they end up in front of an investigator. */
#ifndef TM_ERROR_H
#define TM_ERROR_H

#include <stddef.h>

enum {
    TM_OK = 0,
    TM_ENOMEM = -1,   /* allocation failed */
    TM_EIO = -2,      /* reading or writing failed */
    TM_EPARSE = -3,   /* input is not what it should be */
    TM_EINVAL = -4,   /* a bad argument or a bad rule */
    TM_ENOTFOUND = -5
};

typedef struct tm_error {
    int code;
    char msg[1024]; /* truncated, never overflowed: see tm_error_set */
} tm_error;

/* Formats into err->msg (truncating) and returns code, so callers can write
 * `return tm_error_set(err, TM_EPARSE, "...", ...);`.  err may be NULL. */
int tm_error_set(tm_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

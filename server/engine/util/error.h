/* error.h: the error convention of every trailmap module.
 *
 * Functions return 0 on success or a negative TM_E* code, and describe the
 * failure in a caller-owned tm_error.  Messages name the file, the position
 * and the problem, because they end up in front of an investigator. */
#ifndef TM_ERROR_H
#define TM_ERROR_H

#include <stddef.h>

/* Far from -1 on purpose: a bare `return -1` somewhere on the way up can
 * never pass for one of these, out of memory above all. */
enum {
    TM_OK = 0,
    TM_ENOMEM = -1001,    /* allocation failed */
    TM_EIO = -1002,       /* reading or writing failed */
    TM_EPARSE = -1003,    /* input is not what it should be */
    TM_EINVAL = -1004,    /* a bad argument or a bad rule */
    TM_ENOTFOUND = -1005
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

/* fileio.h: reading a whole file, or standard input, into memory. */
#ifndef TM_FILEIO_H
#define TM_FILEIO_H

#include <stddef.h>

#include "error.h"

/* Reads path ("-" = standard input).  *out is malloc'd and NUL-terminated
 * (the NUL is not counted in *len).  Errors: "cannot read PATH: reason". */
int tm_file_read(const char *path, char **out, size_t *len, tm_error *err);

#endif

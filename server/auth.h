/* auth.h: tokens and their roles, from a file.
 *
 * File format: one token per line, blank lines and lines starting with #
 * ignored:
 *
 *     TOKEN ROLE [NAME]            the token itself (at least 8 characters)
 *     sha256:HEX ROLE [NAME]       a token whose SHA-256 is HEX (64 hex digits,
 *                                  either case): `printf %s TOKEN | sha256sum`
 *
 * ROLE is read, submit or admin.  Roles nest: admin may do everything submit
 * may, submit everything read may.  NAME ([A-Za-z0-9._@-], at most 64) is
 * what the log calls the token; by default "line N" for a plain token and
 * the first 4 hex digits of the hash for a hashed one, never the token.
 *
 * Every token is kept as its SHA-256 only, and a presented token is hashed
 * and compared with every entry in constant time, so neither its length nor
 * how close it came leaks through timing. */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include <stddef.h>

#include "error.h"

enum { TM_ROLE_NONE = 0, TM_ROLE_READ = 1, TM_ROLE_SUBMIT = 2, TM_ROLE_ADMIN = 3 };

typedef struct tm_auth tm_auth;

/* Errors name the file and line ("auth: FILE:LINE: ..."), never the token. */
int tm_auth_load(const char *path, tm_auth **out, tm_error *err);
void tm_auth_free(tm_auth *a);
/* The role of token[0..len), TM_ROLE_NONE when unknown or empty.  When the
 * token is known and name is not NULL, *name is its name (owned by a, valid
 * until tm_auth_free); otherwise *name is NULL. */
int tm_auth_check(const tm_auth *a, const char *token, size_t len, const char **name);
/* tm_auth_check of a NUL-terminated token, without the name. */
int tm_auth_role(const tm_auth *a, const char *token);
size_t tm_auth_count(const tm_auth *a);
const char *tm_auth_role_name(int role);

#endif

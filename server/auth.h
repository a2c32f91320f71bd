/* auth.h: tokens and their roles, from a file.
 *
 * File format: one token per line, "TOKEN ROLE", ROLE one of read, submit,
 * admin; blank lines and lines starting with # are ignored.  Roles nest:
 * admin may do everything submit may, submit everything read may. */
#ifndef TM_AUTH_H
#define TM_AUTH_H

#include "error.h"

enum { TM_ROLE_NONE = 0, TM_ROLE_READ = 1, TM_ROLE_SUBMIT = 2, TM_ROLE_ADMIN = 3 };

typedef struct tm_auth tm_auth;

/* Errors name the file and line. */
int tm_auth_load(const char *path, tm_auth **out, tm_error *err);
void tm_auth_free(tm_auth *a);
/* The role of a token, TM_ROLE_NONE when unknown.  Compares in constant
 * time per token so a wrong token does not leak how close it was. */
int tm_auth_role(const tm_auth *a, const char *token);
size_t tm_auth_count(const tm_auth *a);
const char *tm_auth_role_name(int role);

#endif

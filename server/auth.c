/* auth.c: load the token file and look tokens up. */
#include "auth.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *token;
    int role;
} entry;

struct tm_auth {
    entry *v;
    size_t n;
};

const char *tm_auth_role_name(int role) {
    switch (role) {
    case TM_ROLE_READ: return "read";
    case TM_ROLE_SUBMIT: return "submit";
    case TM_ROLE_ADMIN: return "admin";
    }
    return "none";
}

void tm_auth_free(tm_auth *a) {
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) free(a->v[i].token);
    free(a->v);
    free(a);
}

int tm_auth_load(const char *path, tm_auth **out, tm_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return tm_error_set(err, TM_EIO, "auth: cannot open %s: %m", path);
    tm_auth *a = calloc(1, sizeof(*a));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    if (!a) {
        fclose(f);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        char *tok = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
        while (isspace((unsigned char)*p)) p++;
        char *role = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (*p) *p++ = 0;
        while (isspace((unsigned char)*p)) p++;
        int r = !strcmp(role, "read") ? TM_ROLE_READ : !strcmp(role, "submit") ? TM_ROLE_SUBMIT
              : !strcmp(role, "admin") ? TM_ROLE_ADMIN : 0;
        if (!r || *p) {
            rc = tm_error_set(err, TM_EINVAL, "auth: %s:%d: expected \"TOKEN ROLE\" with ROLE read, submit or admin", path, lineno);
            break;
        }
        if (strlen(tok) < 8) {
            rc = tm_error_set(err, TM_EINVAL, "auth: %s:%d: token too short (at least 8 characters)", path, lineno);
            break;
        }
        for (size_t i = 0; i < a->n; i++)
            if (!strcmp(a->v[i].token, tok)) {
                rc = tm_error_set(err, TM_EINVAL, "auth: %s:%d: token listed twice", path, lineno);
                break;
            }
        if (rc) break;
        entry *nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
        if (!nv || !(tok = strdup(tok))) {
            if (nv) a->v = nv;
            rc = tm_error_set(err, TM_ENOMEM, "out of memory");
            break;
        }
        a->v = nv;
        a->v[a->n].token = tok;
        a->v[a->n++].role = r;
    }
    free(line);
    fclose(f);
    if (!rc && a->n == 0) rc = tm_error_set(err, TM_EINVAL, "auth: %s holds no token", path);
    if (rc) {
        tm_auth_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static int same(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la; i++) d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return d == 0;
}

int tm_auth_role(const tm_auth *a, const char *token) {
    int role = TM_ROLE_NONE;
    if (!token || !*token) return role;
    for (size_t i = 0; i < a->n; i++)
        if (same(a->v[i].token, token)) role = a->v[i].role;
    return role;
}

size_t tm_auth_count(const tm_auth *a) { return a->n; }

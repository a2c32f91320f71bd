/* auth.c: load the token file and look tokens up.
 *
 * Plain and hashed lines end up the same: each entry holds the SHA-256 of
 * its token.  A lookup hashes the presented token once and compares the 32
 * bytes with every entry without an early exit; the time it takes depends
 * on the number of entries only. */
#include "auth.h"

#include <ctype.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HASH_LEN SHA256_DIGEST_SIZE
#define NAME_MAX_LEN 64
#define MIN_TOKEN_LEN 8

typedef struct entry {
    unsigned char hash[HASH_LEN];
    int role;
    char *name;
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
    for (size_t i = 0; i < a->n; i++) free(a->v[i].name);
    free(a->v);
    free(a);
}

static void sha256(const char *data, size_t len, unsigned char out[HASH_LEN]) {
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, len, (const uint8_t *)data);
    sha256_digest(&ctx, HASH_LEN, out);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 64 hex digits, either case, into out; -1 when it is not that. */
static int parse_hex(const char *s, unsigned char out[HASH_LEN]) {
    if (strlen(s) != 2 * HASH_LEN) return -1;
    for (size_t i = 0; i < HASH_LEN; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Names end up in log lines: a plain, short word, nothing to forge a line with. */
static int name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._@-", *s)) return 0;
    return 1;
}

/* The next whitespace-separated field of *p ("" at the end); NUL-terminates it. */
static char *field(char **p) {
    char *s = *p;
    while (isspace((unsigned char)*s)) s++;
    char *f = s;
    while (*s && !isspace((unsigned char)*s)) s++;
    if (*s) *s++ = '\0';
    *p = s;
    return f;
}

static int role_of(const char *s) {
    return !strcmp(s, "read") ? TM_ROLE_READ : !strcmp(s, "submit") ? TM_ROLE_SUBMIT
         : !strcmp(s, "admin") ? TM_ROLE_ADMIN : TM_ROLE_NONE;
}

/* One non-blank, non-comment line into e (e->name allocated). */
static int parse_line(const char *path, int lineno, char *line, entry *e, tm_error *err) {
    char *p = line;
    char *tok = field(&p), *role = field(&p), *name = field(&p), *extra = field(&p);
    e->role = role_of(role);
    if (!e->role || *extra)
        return tm_error_set(err, TM_EINVAL, "auth: %s:%d: expected \"TOKEN ROLE [NAME]\" with ROLE read, submit or admin",
                            path, lineno);
    char defname[32];
    if (strncasecmp(tok, "sha256:", 7) == 0) {
        if (parse_hex(tok + 7, e->hash) != 0)
            return tm_error_set(err, TM_EINVAL, "auth: %s:%d: sha256: wants the 64 hex digits of a SHA-256", path, lineno);
        unsigned char empty[HASH_LEN];
        sha256("", 0, empty);
        if (memcmp(empty, e->hash, HASH_LEN) == 0)
            return tm_error_set(err, TM_EINVAL, "auth: %s:%d: that is the hash of the empty token", path, lineno);
        snprintf(defname, sizeof(defname), "%02x%02x", e->hash[0], e->hash[1]);
    } else {
        if (strlen(tok) < MIN_TOKEN_LEN)
            return tm_error_set(err, TM_EINVAL, "auth: %s:%d: token too short (at least %d characters)", path, lineno,
                                MIN_TOKEN_LEN);
        sha256(tok, strlen(tok), e->hash);
        snprintf(defname, sizeof(defname), "line %d", lineno);
    }
    if (*name && !name_ok(name))
        return tm_error_set(err, TM_EINVAL, "auth: %s:%d: a token's name is 1 to %d letters, digits or ._@-", path,
                            lineno, NAME_MAX_LEN);
    e->name = strdup(*name ? name : defname);
    if (!e->name) return tm_error_set(err, TM_ENOMEM, "out of memory");
    return 0;
}

/* The same token twice, or two tokens with one name, is a mistake. */
static int check_unique(const tm_auth *a, const entry *e, const char *path, int lineno, tm_error *err) {
    for (size_t i = 0; i < a->n; i++) {
        if (memcmp(a->v[i].hash, e->hash, HASH_LEN) == 0)
            return tm_error_set(err, TM_EINVAL, "auth: %s:%d: token listed twice (as '%s' before)", path, lineno,
                                a->v[i].name);
        if (strcmp(a->v[i].name, e->name) == 0)
            return tm_error_set(err, TM_EINVAL, "auth: %s:%d: name '%s' given to two tokens", path, lineno, e->name);
    }
    return 0;
}

static int add_entry(tm_auth *a, const entry *e, tm_error *err) {
    entry *nv = realloc(a->v, (a->n + 1) * sizeof(*nv));
    if (!nv) return tm_error_set(err, TM_ENOMEM, "out of memory");
    a->v = nv;
    a->v[a->n++] = *e;
    return 0;
}

int tm_auth_load(const char *path, tm_auth **out, tm_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return tm_error_set(err, TM_EIO, "auth: cannot open %s: %m", path);
    tm_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        fclose(f);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        entry e = {0};
        rc = parse_line(path, lineno, line, &e, err);
        if (rc == 0) rc = check_unique(a, &e, path, lineno, err);
        if (rc == 0) rc = add_entry(a, &e, err);
        if (rc) {
            free(e.name);
            break;
        }
    }
    if (!rc && ferror(f)) rc = tm_error_set(err, TM_EIO, "auth: cannot read %s", path);
    /* the buffer held tokens: wipe it before it goes back to the allocator */
    if (line) explicit_bzero(line, cap);
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

int tm_auth_check(const tm_auth *a, const char *token, size_t len, const char **name) {
    if (name) *name = NULL;
    if (!a || !token || len == 0) return TM_ROLE_NONE;
    unsigned char h[HASH_LEN];
    sha256(token, len, h);
    unsigned role = TM_ROLE_NONE;
    uintptr_t found = 0;
    /* every entry, every byte; the match is selected with masks, not branches */
    for (size_t i = 0; i < a->n; i++) {
        unsigned d = 0;
        for (size_t k = 0; k < HASH_LEN; k++) d |= (unsigned)(a->v[i].hash[k] ^ h[k]);
        unsigned mask = 0u - (unsigned)(d == 0);            /* all ones on a match */
        uintptr_t pmask = (uintptr_t)0 - (uintptr_t)(d == 0); /* the same, pointer-wide */
        role |= (unsigned)a->v[i].role & mask;
        found |= (uintptr_t)a->v[i].name & pmask;
    }
    if (name) *name = (const char *)found;
    return (int)role;
}

int tm_auth_role(const tm_auth *a, const char *token) {
    return token ? tm_auth_check(a, token, strlen(token), NULL) : TM_ROLE_NONE;
}

size_t tm_auth_count(const tm_auth *a) { return a->n; }

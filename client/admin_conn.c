/* admin_conn.c: trailmap-admin's connection options and error reporting,
 * the same options and exit statuses as the trailmap client's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

void admin_conn_init(admin_conn *cn) {
    cn->server = getenv("TRAILMAP_SERVER");
    cn->token = getenv("TRAILMAP_TOKEN");
    cn->ca = getenv("TRAILMAP_CA");
    cn->timeout_ms = TM_RPC_DEFAULT_TIMEOUT_MS;
}

int admin_conn_opt(admin_conn *cn, const char *cmd, int opt, const char *arg) {
    switch (opt) {
    case A_SERVER: cn->server = arg; return 1;
    case A_TOKEN: cn->token = arg; return 1;
    case A_CA: cn->ca = arg; return 1;
    case A_TIMEOUT: {
        char *end;
        errno = 0;
        double s = strtod(arg, &end);
        if (errno || end == arg || *end || !(s > 0) || s > 86400) {
            fprintf(stderr, "trailmap-admin %s: --timeout wants seconds (0 < SEC <= 86400), not \"%s\"\n", cmd, arg);
            return -1;
        }
        cn->timeout_ms = (int)(s * 1000 + 0.5);
        if (cn->timeout_ms < 1) cn->timeout_ms = 1;
        return 1;
    }
    default: return 0;
    }
}

static int exit_of(int code) {
    switch (code) {
    case TM_RPC_EUNREACHABLE: return TM_EXIT_UNREACHABLE;
    case TM_RPC_EURL: return TM_EXIT_USAGE;
    default: return TM_EXIT_NO;
    }
}

int admin_report(const char *cmd, const tm_rpc *c, const tm_error *err) {
    if (err->code == TM_RPC_ESTATUS && c)
        fprintf(stderr, "trailmap-admin %s: %s (%s)\n", cmd, err->msg, tm_rpc_status_name(tm_rpc_status(c)));
    else
        fprintf(stderr, "trailmap-admin %s: %s\n", cmd, err->msg);
    return exit_of(err->code);
}

int admin_connect(const admin_conn *cn, tm_rpc **c) {
    tm_error err;
    tm_rpc_opts o = {cn->server, cn->token, cn->ca, cn->timeout_ms, 0};
    if (tm_rpc_open(&o, c, &err) != 0) {
        fprintf(stderr, "trailmap-admin: %s\n", err.msg);
        return exit_of(err.code);
    }
    return 0;
}

int admin_finish(const char *cmd, int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "trailmap-admin %s: writing the output failed\n", cmd);
        return rc ? rc : TM_EXIT_NO;
    }
    return rc;
}

void admin_time_text(int64_t ms, char *buf) {
    if (ms) tm_time_format(ms, buf);
    else strcpy(buf, "-");
}

char *admin_dir_name(const char *dir) {
    char *d = strdup(dir);
    if (!d) return NULL;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/') d[--n] = 0;
    return d;
}

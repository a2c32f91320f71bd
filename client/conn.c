/* conn.c: connection options, opening, and errors to exit statuses. */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

void tm_conn_init(tm_conn *cn, const char *prog) {
    cn->prog = prog;
    cn->server = getenv("TRAILMAP_SERVER");
    cn->token = getenv("TRAILMAP_TOKEN");
    cn->ca = getenv("TRAILMAP_CA");
    cn->timeout_ms = TM_RPC_DEFAULT_TIMEOUT_MS;
}

int tm_conn_opt(tm_conn *cn, const char *cmd, int opt, const char *arg) {
    switch (opt) {
    case TM_OPT_SERVER: cn->server = arg; return 1;
    case TM_OPT_TOKEN: cn->token = arg; return 1;
    case TM_OPT_CA: cn->ca = arg; return 1;
    case TM_OPT_TIMEOUT: {
        char *end;
        errno = 0;
        double s = strtod(arg, &end);
        if (errno || end == arg || *end || !(s > 0) || s > 86400) {
            fprintf(stderr, "%s %s: --timeout wants seconds (0 < SEC <= 86400), not \"%s\"\n", cn->prog, cmd, arg);
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

int tm_conn_report(const char *prog, const char *cmd, const tm_rpc *c, const tm_error *err) {
    fprintf(stderr, "%s%s%s: %s", prog, cmd ? " " : "", cmd ? cmd : "", err->msg);
    if (err->code == TM_RPC_ESTATUS && c) fprintf(stderr, " (%s)", tm_rpc_status_name(tm_rpc_status(c)));
    fputc('\n', stderr);
    return exit_of(err->code);
}

int tm_conn_open(const tm_conn *cn, tm_rpc **c) {
    tm_error err;
    tm_rpc_opts o = {cn->server, cn->token, cn->ca, cn->timeout_ms, 0};
    if (tm_rpc_open(&o, c, &err) != 0) return tm_conn_report(cn->prog, NULL, NULL, &err);
    return 0;
}

int tm_conn_finish(const char *prog, const char *cmd, int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s %s: writing the output failed\n", prog, cmd);
        return rc ? rc : TM_EXIT_NO;
    }
    return rc;
}

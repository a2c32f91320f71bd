/* conn.h: the connection options and exit statuses trailmap and
 * trailmap-admin share (--server, --token, --ca, --timeout). */
#ifndef TM_CONN_H
#define TM_CONN_H

#include <getopt.h>

#include "rpc_client.h"

/* getopt codes of the connection options; commands number theirs from
 * TM_OPT_FIRST_FREE on */
enum { TM_OPT_SERVER = 1000, TM_OPT_TOKEN, TM_OPT_CA, TM_OPT_TIMEOUT, TM_OPT_FIRST_FREE };

#define TM_CONN_OPTIONS                                                                                           \
    {"server", required_argument, NULL, TM_OPT_SERVER}, {"token", required_argument, NULL, TM_OPT_TOKEN},         \
        {"ca", required_argument, NULL, TM_OPT_CA}, {"timeout", required_argument, NULL, TM_OPT_TIMEOUT}

typedef struct tm_conn {
    const char *prog; /* "trailmap" or "trailmap-admin", for messages */
    const char *server, *token, *ca;
    int timeout_ms;
} tm_conn;

/* Defaults from $TRAILMAP_SERVER, $TRAILMAP_TOKEN, $TRAILMAP_CA. */
void tm_conn_init(tm_conn *cn, const char *prog);
/* 1 when opt was a connection option (taken), 0 when not, -1 on a bad
 * value (said on stderr). */
int tm_conn_opt(tm_conn *cn, const char *cmd, int opt, const char *arg);
/* Opens the connection; 0, or the exit status (the error is printed). */
int tm_conn_open(const tm_conn *cn, tm_rpc **c);
/* Prints a failed call's error as "PROG[ CMD]: message (STATUS)" and
 * returns its exit status: 1 the server said no, 2 usage, 3 unreachable. */
int tm_conn_report(const char *prog, const char *cmd, const tm_rpc *c, const tm_error *err);
/* Flushes stdout; 1 when writing failed, else rc. */
int tm_conn_finish(const char *prog, const char *cmd, int rc);

#endif

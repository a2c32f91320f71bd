/* admin.h: the pieces of trailmap-admin, one file per group of commands.
 *
 *   trailmap_admin.c   main: the command table and the overview
 *   admin_conn.c       --server/--token/--ca/--timeout, errors to exit statuses
 *   admin_rules.c      validate, rules, reload, stats
 *   admin_test.c       test (a corpus of fixtures) and test --record
 *   admin_coverage.c   coverage (the events no rule mapped)
 *
 * Every command takes its own argv (argv[0] is the command's name) and
 * returns the exit status: 0 done, 1 the server or the ruleset said no (or
 * a test found differences), 2 usage, 3 the server cannot be reached. */
#ifndef TM_ADMIN_H
#define TM_ADMIN_H

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "conn.h"
#include "rpc_client.h"

/* getopt codes of the connection options */
enum { A_SERVER = TM_OPT_SERVER, A_TOKEN = TM_OPT_TOKEN, A_CA = TM_OPT_CA, A_TIMEOUT = TM_OPT_TIMEOUT,
       A_FIRST_FREE = TM_OPT_FIRST_FREE };

#define ADMIN_CONN_OPTIONS TM_CONN_OPTIONS

#define ADMIN_CONN_HELP                                                                                           \
    "connection:\n"                                                                                               \
    "  --server URL    trailmapd's address: tcp://HOST:PORT, ipc:///PATH or\n"                                    \
    "                  tls+tcp://HOST:PORT (default: $TRAILMAP_SERVER, else\n"                                    \
    "                  " TM_RPC_DEFAULT_URL ")\n"                                                                 \
    "  --token TOKEN   access token; the rules calls need the admin role (default:\n"                            \
    "                  $TRAILMAP_TOKEN)\n"                                                                        \
    "  --ca FILE       tls+tcp: PEM file of the CA that signed the server's\n"                                    \
    "                  certificate (default: $TRAILMAP_CA, else the system's CAs)\n"                              \
    "  --timeout SEC   how long to wait for each answer (default 60)\n"

#define ADMIN_EXIT_HELP                                                                                           \
    "Exit status: 0 done, 1 the server or the ruleset said no (the reasons are\n"                                 \
    "printed), 2 usage, 3 the server cannot be reached.\n"

typedef tm_conn admin_conn;

/* Defaults from $TRAILMAP_SERVER, $TRAILMAP_TOKEN, $TRAILMAP_CA. */
void admin_conn_init(admin_conn *cn);
/* 1 when opt was a connection option (taken), 0 when not, -1 on a bad
 * value (said on stderr). */
int admin_conn_opt(admin_conn *cn, const char *cmd, int opt, const char *arg);
/* Opens the connection; 0, or the exit status (the error is printed). */
int admin_connect(const admin_conn *cn, tm_rpc **c);
/* Prints a failed call's error; returns its exit status. */
int admin_report(const char *cmd, const tm_rpc *c, const tm_error *err);
/* Flushes stdout; TM_EXIT_NO when writing failed, else rc. */
int admin_finish(const char *cmd, int rc);

/* "YYYY-MM-DDTHH:MM:SSZ", or "-" for 0.  buf holds 32 bytes. */
void admin_time_text(int64_t ms, char *buf);
/* A directory name without trailing slashes (the rules version hashes
 * paths relative to it); malloc'd. */
char *admin_dir_name(const char *dir);

int admin_cmd_validate(int argc, char **argv);
int admin_cmd_rules(int argc, char **argv);
int admin_cmd_reload(int argc, char **argv);
int admin_cmd_stats(int argc, char **argv);
int admin_cmd_test(int argc, char **argv);
int admin_cmd_coverage(int argc, char **argv);

#endif

/* admin_conn.c: trailmap-admin's connection options and error reporting,
 * the same options and exit statuses as the trailmap client's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

void admin_conn_init(admin_conn *cn) { tm_conn_init(cn, "trailmap-admin"); }

int admin_conn_opt(admin_conn *cn, const char *cmd, int opt, const char *arg) {
    return tm_conn_opt(cn, cmd, opt, arg);
}

int admin_report(const char *cmd, const tm_rpc *c, const tm_error *err) {
    return tm_conn_report("trailmap-admin", cmd, c, err);
}

int admin_connect(const admin_conn *cn, tm_rpc **c) { return tm_conn_open(cn, c); }

int admin_finish(const char *cmd, int rc) { return tm_conn_finish("trailmap-admin", cmd, rc); }

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

/* fuzz_rpc.c: one RpcRequest's bytes through framing, authorization and
 * dispatch (api.h tm_api_handle), as trailmapd's RPC listener hands them
 * over, without sockets (set up as tests/unit/test_api.c does).
 *
 * The server has the real rules (rules_dir set, so ReloadRules reloads
 * them), a store in a temporary directory (under /dev/shm when it exists:
 * SQLite's synchronous=FULL fsyncs cost nothing on tmpfs), and a token file
 * with three tokens, one per role, so that every path of authorization
 * runs: readtoken123 (read), submittoken1 (submit), admintoken99 (admin);
 * the seeds (make_seeds.py) use them, and tests/fuzz/trailmap.dict names
 * them.
 *
 * The store persists across inputs (a SubmitEvents makes the next
 * GetSession find something), so that it does not grow without bound it
 * is closed, removed and opened afresh every RESET_RUNS inputs, with a new
 * cache.  A crash that needs the stored state of earlier inputs may then
 * not reproduce from its one input: libFuzzer's -runs with the whole
 * corpus replays the history.
 *
 * Checked besides the sanitizers: every input gets a response that
 * unpacks as an RpcResponse, with a status among the gRPC codes the API
 * uses, and a message whenever the status is not OK. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "log.h"
#include "trailmap.pb-c.h"

#define RESET_RUNS 2000

/* Silences the log when log.c has hooks (the API logs admin actions and
 * refusals; thousands of lines a second would slow the fuzzer down). */
void tm_log_set_hooks(void (*sink)(const char *line, void *arg), void *arg, int64_t (*now_ms)(void))
    __attribute__((weak));

static tm_server srv;
static char dir[64];
static char store_dir[128];
static unsigned long runs;

static void quiet(const char *line, void *arg) {
    (void)line;
    (void)arg;
}

static void open_store(void) {
    tm_error err;
    if (tm_store_open(store_dir, &srv.store, &err) != 0) {
        fprintf(stderr, "fuzz_rpc: %s\n", err.msg);
        exit(1);
    }
    srv.cache = tm_cache_new(20000);
    if (!srv.cache) exit(1);
}

static void close_store(void) {
    tm_cache_free(srv.cache);
    srv.cache = NULL;
    tm_store_close(srv.store);
    srv.store = NULL;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store_dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_rpc: could not remove %s\n", store_dir);
}

static void cleanup(void) {
    close_store();
    tm_auth_free(srv.auth);
    tm_rules_unref(srv.rules);
    free(srv.rules_dir);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_rpc: could not remove %s\n", dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    struct stat st;
    snprintf(dir, sizeof(dir), "%s/tm_fuzz_rpc_XXXXXX", stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_rpc: mkdtemp");
        exit(1);
    }
    snprintf(store_dir, sizeof(store_dir), "%s/store", dir);
    if (tm_log_set_hooks && !getenv("TM_FUZZ_DEBUG")) tm_log_set_hooks(quiet, NULL, NULL);

    const char *src = getenv("TM_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/rules", src ? src : TM_SOURCE_DIR);
    srv.rules_dir = strdup(path);
    tm_errlist errs = {0};
    pthread_mutex_init(&srv.rules_mu, NULL);
    srv.max_message_bytes = 1 << 20;
    srv.started_ms = tm_now_ms();
    if (!srv.rules_dir || tm_rules_load(path, &srv.rules, &errs) != 0) {
        fprintf(stderr, "fuzz_rpc: cannot load %s: %s\n", path, errs.n ? errs.v[0] : "?");
        exit(1);
    }
    tm_errlist_free(&errs);

    char tokens[128];
    snprintf(tokens, sizeof(tokens), "%s/tokens", dir);
    FILE *f = fopen(tokens, "w");
    if (!f || fprintf(f, "# fuzz_rpc\nreadtoken123 read\nsubmittoken1 submit\nadmintoken99 admin\n") < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "fuzz_rpc: cannot write %s\n", tokens);
        exit(1);
    }
    tm_error err;
    if (tm_auth_load(tokens, &srv.auth, &err) != 0) {
        fprintf(stderr, "fuzz_rpc: %s\n", err.msg);
        exit(1);
    }
    open_store();
    atexit(cleanup);
    return 0;
}

static int known_status(int s) {
    switch (s) {
    case TRAILMAP__STATUS__OK:
    case TRAILMAP__STATUS__INVALID_ARGUMENT:
    case TRAILMAP__STATUS__NOT_FOUND:
    case TRAILMAP__STATUS__UNAUTHENTICATED:
    case TRAILMAP__STATUS__PERMISSION_DENIED:
    case TRAILMAP__STATUS__RESOURCE_EXHAUSTED:
    case TRAILMAP__STATUS__UNAVAILABLE:
    case TRAILMAP__STATUS__INTERNAL:
    case TRAILMAP__STATUS__UNIMPLEMENTED:
        return 1;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (++runs % RESET_RUNS == 0) {
        close_store();
        open_store();
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (tm_api_handle(&srv, data, size, &out, &out_len) != 0) abort(); /* out of memory only */
    Trailmap__RpcResponse *r = trailmap__rpc_response__unpack(NULL, out_len, out);
    if (!r || !known_status(r->status)) abort();
    if (r->status != TRAILMAP__STATUS__OK && (!r->error_message || !r->error_message[0])) abort();
    trailmap__rpc_response__free_unpacked(r, NULL);
    free(out);
    return 0;
}

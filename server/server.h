/* server.h: the state trailmapd's handlers share. */
#ifndef TM_SERVER_H
#define TM_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "auth.h"
#include "cache.h"
#include "rules.h"
#include "store.h"

#define TM_VERSION "0.1.0"
#define TM_MAX_METHODS 32

typedef struct tm_server {
    tm_store *store;
    tm_cache *cache;
    tm_auth *auth;                /* NULL: no auth (loopback and ipc only) */
    char *rules_dir;

    pthread_mutex_t rules_mu;     /* guards the four fields below */
    tm_ruleset *rules;
    int64_t rules_loaded_ms;
    uint64_t reloads, reloads_refused;

    int64_t started_ms;
    size_t max_message_bytes;
    /* limits of api.c (0: the default named there, see README "Limits") */
    size_t max_batch_records;     /* elements of any repeated field of a request */
    size_t max_decoded_bytes;     /* decompressed documents of one SubmitEvents */
    size_t max_session_events;    /* GetSession and GetEvents of larger sessions are refused */
    size_t max_inflight_bytes;    /* request bytes and inflated documents handled at once */
    size_t inflight_bytes;        /* atomically */
    size_t max_connections;       /* per RPC listener (0: rpc.c's default) */
    uint64_t requests[TM_MAX_METHODS]; /* by method index, atomically */
    uint64_t requests_bad;             /* malformed or unknown method */
} tm_server;

/* A new reference to the ruleset in use. */
tm_ruleset *tm_server_rules(tm_server *s);

int64_t tm_now_ms(void);

#endif

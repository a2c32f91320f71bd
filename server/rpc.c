/* rpc.c: nng contexts feeding the libuv thread pool.
 *
 * Each context is a small state machine driven by its aio callback (nng's
 * threads): RECV -> hand to loop -> WORK (thread pool) -> SEND -> RECV.
 * The only things shared with the loop are a mutex-guarded queue and
 * uv_async_send, which is safe from any thread. */
#include "rpc.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "tls.h"
#include "log.h"

enum { W_RECV, W_WORK, W_SEND, W_IDLE };

typedef struct worker {
    struct tm_listener *r;
    nng_ctx ctx;
    nng_aio *aio;
    int state;
    nng_msg *req, *reply;
    uv_work_t work;
    struct worker *next; /* in the hand-off queue */
} worker;

struct tm_listener {
    uv_loop_t *loop;
    tm_server *srv;
    nng_socket sock;
    nng_listener listener;
    worker *w;
    int n;
    uv_async_t async;
    pthread_mutex_t mu;
    worker *queue;   /* received, waiting for the loop */
    int stopping;    /* under mu */
    int active;      /* workers not idle, under mu */
    void (*done)(void *);
    void *done_arg;
    char *url;
    uint32_t *conns; /* ids of the connections let in, under mu */
    size_t nconns, maxconns;
};

/* Connections per listener when --max-connections is not given. */
#define MAX_CONNECTIONS 256

static void go_idle(worker *w);

/* Waits for the next request, unless the listener is stopping.  The state
 * changes under the mutex tm_listener_stop takes, so no receive is missed. */
static void arm_recv(worker *w) {
    tm_listener *r = w->r;
    pthread_mutex_lock(&r->mu);
    if (r->stopping) {
        pthread_mutex_unlock(&r->mu);
        go_idle(w);
        return;
    }
    w->state = W_RECV;
    nng_ctx_recv(w->ctx, w->aio);
    pthread_mutex_unlock(&r->mu);
}

/* A worker stops; the last one to stop tells the loop. */
static void go_idle(worker *w) {
    tm_listener *r = w->r;
    w->state = W_IDLE;
    pthread_mutex_lock(&r->mu);
    int last = --r->active == 0;
    pthread_mutex_unlock(&r->mu);
    if (last) uv_async_send(&r->async);
}

static void aio_cb(void *arg) {
    worker *w = arg;
    tm_listener *r = w->r;
    int rv = nng_aio_result(w->aio);
    switch (w->state) {
    case W_RECV:
        if (rv != 0) {
            if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) go_idle(w);
            else arm_recv(w);
            return;
        }
        w->req = nng_aio_get_msg(w->aio);
        w->state = W_WORK;
        pthread_mutex_lock(&r->mu);
        w->next = r->queue;
        r->queue = w;
        pthread_mutex_unlock(&r->mu);
        uv_async_send(&r->async);
        return;
    case W_SEND:
        if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio)); /* the client went away */
        arm_recv(w);
        return;
    default:
        return;
    }
}

static void work_cb(uv_work_t *req) {
    worker *w = req->data;
    uint8_t *out = NULL;
    size_t out_len = 0;
    w->reply = NULL;
    if (tm_api_handle(w->r->srv, nng_msg_body(w->req), nng_msg_len(w->req), &out, &out_len) == 0) {
        if (nng_msg_alloc(&w->reply, 0) != 0 || nng_msg_append(w->reply, out, out_len) != 0) {
            if (w->reply) nng_msg_free(w->reply);
            w->reply = NULL;
        }
    }
    free(out);
    nng_msg_free(w->req);
    w->req = NULL;
}

static void after_work_cb(uv_work_t *req, int status) {
    worker *w = req->data;
    (void)status;
    if (!w->reply) {
        tm_log_error("rpc", "out of memory answering a request; the client will time out");
        arm_recv(w);
        return;
    }
    w->state = W_SEND;
    nng_aio_set_msg(w->aio, w->reply);
    w->reply = NULL;
    nng_ctx_send(w->ctx, w->aio);
}

/* nng holds up to one message (up to its receive limit) per connection
 * before a context takes it, so the number of connections bounds what a
 * flood can make the server hold.  A connection past the limit is closed
 * before the socket sees it.  nng reports the removal of every pipe it
 * reported (refused ones too), so the connections let in are kept by id.
 * nng_close returns only after every pipe's callbacks have run. */
static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg) {
    tm_listener *r = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    int refuse = 0;
    pthread_mutex_lock(&r->mu);
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        if (r->nconns < r->maxconns) r->conns[r->nconns++] = id;
        else refuse = 1;
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        for (size_t i = 0; i < r->nconns; i++)
            if (r->conns[i] == id) {
                r->conns[i] = r->conns[--r->nconns];
                break;
            }
    }
    pthread_mutex_unlock(&r->mu);
    if (refuse) {
        tm_log_warn("rpc", "%s: %zu connections open, refusing more (--max-connections)", r->url, r->maxconns);
        nng_pipe_close(p);
    }
}

static void rpc_free(uv_handle_t *h) {
    tm_listener *r = h->data;
    void (*done)(void *) = r->done;
    void *arg = r->done_arg;
    for (int i = 0; i < r->n; i++) {
        nng_aio_free(r->w[i].aio);
        nng_ctx_close(r->w[i].ctx);
    }
    nng_close(r->sock);
    pthread_mutex_destroy(&r->mu);
    free(r->conns);
    free(r->w);
    free(r->url);
    free(r);
    if (done) done(arg);
}

static void async_cb(uv_async_t *h) {
    tm_listener *r = h->data;
    pthread_mutex_lock(&r->mu);
    worker *q = r->queue;
    r->queue = NULL;
    int finished = r->stopping && r->active == 0;
    pthread_mutex_unlock(&r->mu);
    for (worker *w = q; w;) {
        worker *next = w->next;
        w->work.data = w;
        if (uv_queue_work(r->loop, &w->work, work_cb, after_work_cb) != 0) {
            tm_log_error("rpc", "cannot queue a request");
            nng_msg_free(w->req);
            w->req = NULL;
            arm_recv(w);
        }
        w = next;
    }
    if (finished) {
        tm_log_info("rpc", "listener %s closed, all requests answered", r->url);
        uv_close((uv_handle_t *)&r->async, rpc_free);
    }
}

static int setup_tls(tm_listener *r, const tm_listener_opts *o, tm_error *err) {
    nng_tls_config *cfg = NULL;
    int rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER);
    if (rv) return tm_error_set(err, TM_EINVAL, "TLS setup for %s failed: %s", o->url, nng_strerror(rv));
    int rc = tm_tls_own_cert(cfg, o->url, o->tls_cert, o->tls_key, err);
    if (rc == 0 && (rv = nng_listener_set_ptr(r->listener, NNG_OPT_TLS_CONFIG, cfg)) != 0)
        rc = tm_error_set(err, TM_EINVAL, "TLS setup for %s failed: %s", o->url, nng_strerror(rv));
    nng_tls_config_free(cfg); /* the listener holds its own reference */
    return rc;
}

int tm_listener_start(uv_loop_t *loop, tm_server *srv, const tm_listener_opts *o, tm_listener **out, tm_error *err) {
    tm_listener *r = calloc(1, sizeof(*r));
    if (!r) return tm_error_set(err, TM_ENOMEM, "out of memory");
    r->loop = loop;
    r->srv = srv;
    r->n = o->contexts > 0 ? o->contexts : 16;
    r->url = strdup(o->url);
    r->w = calloc((size_t)r->n, sizeof(*r->w));
    r->maxconns = srv->max_connections ? srv->max_connections : MAX_CONNECTIONS;
    r->conns = calloc(r->maxconns, sizeof(*r->conns));
    int rv;
    if (!r->url || !r->w || !r->conns || pthread_mutex_init(&r->mu, NULL)) {
        free(r->url);
        free(r->conns);
        free(r->w);
        free(r);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    if ((rv = nng_rep0_open(&r->sock)) != 0) goto nng_fail;
    if ((rv = nng_listener_create(&r->listener, r->sock, o->url)) != 0) goto nng_fail;
    /* nng drops a message over this size by closing the connection; allow
     * some room above the server's limit so an oversize request gets a
     * RESOURCE_EXHAUSTED answer instead of a silent hang-up */
    size_t hard = srv->max_message_bytes + srv->max_message_bytes / 2 + (1u << 20);
    if ((rv = nng_listener_set_size(r->listener, NNG_OPT_RECVMAXSZ, hard)) != 0) goto nng_fail;
    if (strncmp(o->url, "tls+", 4) == 0 && setup_tls(r, o, err) != 0) goto fail;
    for (int i = 0; i < r->n; i++) {
        worker *w = &r->w[i];
        w->r = r;
        if ((rv = nng_aio_alloc(&w->aio, aio_cb, w)) != 0) goto nng_fail;
        if ((rv = nng_ctx_open(&w->ctx, r->sock)) != 0) goto nng_fail;
    }
    if ((rv = nng_pipe_notify(r->sock, NNG_PIPE_EV_ADD_PRE, pipe_cb, r)) != 0 ||
        (rv = nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, pipe_cb, r)) != 0)
        goto nng_fail;
    if ((rv = nng_listener_start(r->listener, 0)) != 0) goto nng_fail;
    if (uv_async_init(loop, &r->async, async_cb) != 0) {
        tm_error_set(err, TM_EIO, "cannot set up the loop hand-off");
        goto fail;
    }
    r->async.data = r;
    r->active = r->n;
    for (int i = 0; i < r->n; i++) arm_recv(&r->w[i]);
    tm_log_info("rpc", "listening on %s (%d contexts, messages up to %zu bytes, %zu connections)", o->url, r->n,
                srv->max_message_bytes, r->maxconns);
    *out = r;
    return 0;
nng_fail:
    tm_error_set(err, TM_EIO, "cannot listen on %s: %s", o->url, nng_strerror(rv));
fail:
    for (int i = 0; i < r->n; i++)
        if (r->w[i].aio) nng_aio_free(r->w[i].aio);
    nng_close(r->sock);
    pthread_mutex_destroy(&r->mu);
    free(r->conns);
    free(r->w);
    free(r->url);
    free(r);
    return err->code ? err->code : TM_EIO;
}

void tm_listener_stop(tm_listener *r, void (*done)(void *), void *arg) {
    r->done = done;
    r->done_arg = arg;
    nng_listener_close(r->listener); /* no new connections */
    /* receives waiting for a request end now; requests being worked on
     * finish and are answered first */
    int *waiting = calloc((size_t)r->n, sizeof(*waiting));
    pthread_mutex_lock(&r->mu);
    r->stopping = 1;
    for (int i = 0; waiting && i < r->n; i++) waiting[i] = r->w[i].state == W_RECV;
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n; i++)
        if (!waiting || waiting[i]) nng_aio_cancel(r->w[i].aio);
    free(waiting);
    uv_async_send(&r->async);
}

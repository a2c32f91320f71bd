/* http.c: the web listener, on libmicrohttpd (see http.h; what a request
 * means is http_route.c's business, this file only moves bytes).
 *
 * Threads.  MHD runs one internal thread (epoll) that accepts, reads,
 * writes and calls the callbacks below.  Nothing slow may run there, so:
 *   - the URI log callback, called once per request before MHD parses the
 *     request line, keeps the raw target (MHD's own `url` is already
 *     percent-decoded and stripped of its query; the route needs the bytes
 *     as sent);
 *   - the access handler asks tm_http_route with api_allowed 0: assets and
 *     refusals are answered at once; an API request is copied into the
 *     request, the connection is suspended (MHD_suspend_connection), and the
 *     request goes on a mutex-guarded queue for the libuv loop
 *     (uv_async_send), which runs tm_http_route in its thread pool
 *     (uv_queue_work);
 *   - the after-work callback, on the loop, resumes the connection
 *     (MHD_resume_connection is thread-safe); MHD calls the access handler
 *     again and it queues the answer.
 * A request's memory belongs to MHD's connection from the URI log callback
 * to the completed callback, and a suspended connection is never completed,
 * so the pool never writes into freed memory.
 *
 * Limits: at most MAX_INFLIGHT API requests queued or running (503 beyond),
 * a connection cap (off loopback also one per client address: MHD closes
 * the connections past it), an inactivity timeout per connection (slow or idle
 * clients are closed by MHD), and a memory pool per connection that the
 * request line and headers must fit in (MHD answers 414 or 431 when they
 * don't). */
#include "http.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netdb.h>
#include <nng/nng.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fileio.h"
#include "http_route.h"
#include "log.h"
#include "netaddr.h"

#define MAX_INFLIGHT 256              /* API requests queued or running at once; more get 503 */
#define CONN_MEMORY (64 * 1024)       /* per connection: request line and headers must fit */

enum { REQ_NEW, REQ_STARTED, REQ_IN_POOL, REQ_ANSWERED };

typedef struct req {
    struct tm_http *h;
    struct MHD_Connection *conn;
    char *target;                 /* raw, as sent, up to a NUL */
    uintptr_t version_at;         /* where MHD's version string must start (see uri_log_cb) */
    int state;
    /* copies for the pool thread */
    char *method, *host, *auth;
    uint64_t body_len;
    tm_http_response res;
    uv_work_t work;
    struct req *next;
} req;

struct tm_http {
    uv_loop_t *loop;
    tm_server *srv;
    struct MHD_Daemon *d;
    char *url;
    char *host;                   /* the URL's host, for the Host check */
    tm_http_route_cfg cfg;
    char *cert, *key;             /* PEM text, for https:// */
    uv_async_t async;
    pthread_mutex_t mu;
    req *queue;                   /* under mu: waiting for the loop */
    int inflight;                 /* under mu: queued or in the pool */
    int answering;                /* under mu: requests past the access handler, not yet completed */
    int stopping;                 /* under mu */
    int closing;                  /* loop thread: the daemon is being stopped */
    MHD_socket listen_fd;         /* from MHD_quiesce_daemon, closed after the daemon */
    char last_error[256];         /* under mu: MHD's last log message (start failures) */
    uv_work_t stop_work;
    void (*done)(void *);
    void *done_arg;
};

/* ------------------------------------------------------------- helpers */

/* MHD's messages go to our log; the last one also explains a failed start. */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    tm_http *h = cls;
    char line[256];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    pthread_mutex_lock(&h->mu);
    memcpy(h->last_error, line, n + 1);
    pthread_mutex_unlock(&h->mu);
    tm_log_warn("http", "libmicrohttpd: %s", line);
}

static void req_free(req *r) {
    if (!r) return;
    free(r->target);
    free(r->method);
    free(r->host);
    free(r->auth);
    tm_http_response_clear(&r->res);
    free(r);
}

/* The body a request announces: Content-Length, or 1 for a chunked one. */
static uint64_t body_len_of(struct MHD_Connection *conn) {
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te) return 1;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl) return 0;
    char *end;
    unsigned long long v = strtoull(cl, &end, 10);
    return *end || end == cl ? 1 : (uint64_t)v;
}

static void free_body(void *p) { free(p); }

/* Hands r->res to MHD. */
static enum MHD_Result send_res(tm_http *h, req *r) {
    tm_http_response *res = &r->res;
    struct MHD_Response *mr;
    if (res->owned_body && res->body == (const unsigned char *)res->owned_body) {
        mr = MHD_create_response_from_buffer_with_free_callback(res->len, res->owned_body, free_body);
        if (mr) res->owned_body = NULL; /* MHD's now */
    } else {
        mr = MHD_create_response_from_buffer(res->len, (void *)res->body, MHD_RESPMEM_PERSISTENT);
    }
    if (!mr) return MHD_NO; /* out of memory: MHD drops the connection */
    for (size_t i = 0; i < res->nheaders; i++)
        if (MHD_add_response_header(mr, res->headers[i].name, res->headers[i].value) != MHD_YES) {
            MHD_destroy_response(mr);
            return MHD_NO;
        }
    pthread_mutex_lock(&h->mu);
    int stopping = h->stopping;
    pthread_mutex_unlock(&h->mu);
    /* while stopping, keep-alive connections end with their answer */
    if (stopping) MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rv = MHD_queue_response(r->conn, (unsigned int)res->status, mr);
    MHD_destroy_response(mr);
    return rv;
}

/* ------------------------------------------------------- MHD callbacks */

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn) {
    tm_http *h = cls;
    req *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->h = h;
    r->conn = conn;
    r->target = strdup(uri ? uri : "");
    if (!r->target) {
        free(r);
        return NULL;
    }
    /* A NUL byte in the request line ends MHD's C string early:
     * "GET /index.html\0.js HTTP/1.1" would reach us as "/index.html".  MHD
     * parses the line in place and cuts it at the last space, so the version
     * string it hands the access handler starts right after the whole
     * target; when it does not start where this string's end says, bytes
     * were hidden behind a NUL (see target_of).  Only the address is kept,
     * never dereferenced. */
    r->version_at = (uintptr_t)uri + strlen(uri ? uri : "") + 1;
    return r;
}

/* Puts r on the loop's queue; 503 when too many are in flight or the
 * server is stopping.  Returns 0 when queued. */
static int hand_off(tm_http *h, req *r) {
    pthread_mutex_lock(&h->mu);
    if (h->stopping || h->inflight >= MAX_INFLIGHT) {
        int stopping = h->stopping;
        pthread_mutex_unlock(&h->mu);
        tm_http_response_error(&r->res, 503, stopping ? "the server is stopping" : "the server is busy; try again");
        return -1;
    }
    h->inflight++;
    r->state = REQ_IN_POOL;
    pthread_mutex_unlock(&h->mu);
    /* suspended before the loop can see it, so the resume cannot come first;
     * outside mu, so that no thread holds mu while waiting for MHD's locks */
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&h->mu);
    r->next = h->queue;
    h->queue = r;
    pthread_mutex_unlock(&h->mu);
    uv_async_send(&h->async);
    return 0;
}

/* The length of the target to route: its own, or one more (its NUL) when
 * the request line had bytes after a NUL or no HTTP version, which the
 * route then refuses (400). */
static size_t target_of(const req *r, const char *version) {
    size_t n = strlen(r->target);
    int whole = version && strncmp(version, "HTTP/", 5) == 0 && (uintptr_t)version == r->version_at;
    return whole ? n : n + 1;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                 const char *version, const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
    tm_http *h = cls;
    req *r = *req_cls;
    (void)url;
    (void)upload_data;
    if (!r) return MHD_NO; /* the URI log callback ran out of memory */
    if (r->state == REQ_ANSWERED) return send_res(h, r);
    if (r->state == REQ_IN_POOL) return MHD_YES; /* not called while suspended; never routed twice */
    if (*upload_data_size) { /* a body after all (refused below): drop it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    tm_http_request q = {method, r->target, target_of(r, version),
                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
                         MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
                         body_len_of(conn)};
    if (r->state == REQ_NEW) {
        pthread_mutex_lock(&h->mu);
        h->answering++;
        pthread_mutex_unlock(&h->mu);
        r->state = REQ_STARTED;
        /* MHD 0.9.75 closes the connection after an answer queued in this
         * first call (a body might follow): only refusals of a method or a
         * body are answered now, everything else in the next call, when the
         * request is complete and the connection can be kept alive */
        int plain = (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && q.body_len == 0;
        if (plain) return MHD_YES;
    }
    if (tm_http_route(NULL, &h->cfg, &q, 0, &r->res) == 0) return send_res(h, r);
    /* an API request: copy what the pool needs, then hand it off */
    r->method = strdup(method);
    r->host = q.host ? strdup(q.host) : NULL;
    r->auth = q.authorization ? strdup(q.authorization) : NULL;
    r->body_len = q.body_len;
    if (!r->method || (q.host && !r->host) || (q.authorization && !r->auth))
        tm_http_response_error(&r->res, 500, "out of memory");
    else if (hand_off(h, r) == 0)
        return MHD_YES;
    return send_res(h, r);
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
    tm_http *h = cls;
    req *r = *req_cls;
    (void)conn;
    (void)toe;
    if (!r) return;
    *req_cls = NULL;
    pthread_mutex_lock(&h->mu);
    if (r->state != REQ_NEW) h->answering--;
    int wake = h->stopping;
    pthread_mutex_unlock(&h->mu);
    req_free(r);
    if (wake) uv_async_send(&h->async); /* the loop may be waiting for this one */
}

/* ------------------------------------------------------- the loop side */

static void work_cb(uv_work_t *w) {
    req *r = w->data;
    tm_http *h = r->h;
    tm_http_request q = {r->method, r->target, strlen(r->target), r->host, r->auth, r->body_len};
    tm_http_route(h->srv, &h->cfg, &q, 1, &r->res);
}

static void server_closed(uv_handle_t *hd) {
    tm_http *h = hd->data;
    void (*done)(void *) = h->done;
    void *arg = h->done_arg;
    tm_log_info("http", "%s closed, all requests answered", h->url);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h->cert);
    free(h->key);
    free(h);
    if (done) done(arg);
}

/* In the pool: MHD_stop_daemon joins MHD's thread. */
static void stop_work_cb(uv_work_t *w) {
    tm_http *h = w->data;
    MHD_stop_daemon(h->d);
    h->d = NULL;
    if (h->listen_fd != MHD_INVALID_SOCKET) close(h->listen_fd);
}

static void stop_after_cb(uv_work_t *w, int status) {
    tm_http *h = w->data;
    (void)status;
    uv_close((uv_handle_t *)&h->async, server_closed);
}

/* On the loop: once stopping, with nothing queued, running or being
 * answered, the daemon stops. */
static void maybe_close(tm_http *h) {
    pthread_mutex_lock(&h->mu);
    int go = h->stopping && h->inflight == 0 && h->answering == 0 && !h->closing;
    if (go) h->closing = 1;
    pthread_mutex_unlock(&h->mu);
    if (!go) return;
    h->stop_work.data = h;
    if (uv_queue_work(h->loop, &h->stop_work, stop_work_cb, stop_after_cb) != 0) {
        stop_work_cb(&h->stop_work);
        stop_after_cb(&h->stop_work, 0);
    }
}

/* On the loop: the answer is ready; MHD takes it from the access handler. */
static void answer(req *r) {
    tm_http *h = r->h;
    pthread_mutex_lock(&h->mu);
    r->state = REQ_ANSWERED;
    h->inflight--;
    pthread_mutex_unlock(&h->mu);
    MHD_resume_connection(r->conn); /* r may be completed and freed from here on */
    maybe_close(h);
}

static void after_work_cb(uv_work_t *w, int status) {
    (void)status;
    answer(w->data);
}

static void async_cb(uv_async_t *a) {
    tm_http *h = a->data;
    pthread_mutex_lock(&h->mu);
    req *q = h->queue;
    h->queue = NULL;
    pthread_mutex_unlock(&h->mu);
    /* the queue is newest first: serve in arrival order */
    req *rev = NULL;
    while (q) {
        req *next = q->next;
        q->next = rev;
        rev = q;
        q = next;
    }
    while (rev) {
        req *r = rev;
        rev = rev->next;
        r->work.data = r;
        if (uv_queue_work(h->loop, &r->work, work_cb, after_work_cb) != 0) {
            tm_log_error("http", "cannot queue a request");
            tm_http_response_error(&r->res, 500, "the server could not queue the request");
            answer(r);
        }
    }
    maybe_close(h);
}

/* ----------------------------------------------------------- start, stop */

/* Reads the PEM files and checks them with GnuTLS (MHD's TLS library),
 * which says what is wrong; MHD itself would only fail to start. */
static int load_tls(tm_http *h, const tm_http_opts *o, tm_error *err) {
    if (!o->tls_cert || !o->tls_key) return tm_error_set(err, TM_EINVAL, "%s needs --tls-cert and --tls-key", o->url);
    size_t clen, klen;
    if (tm_file_read(o->tls_cert, &h->cert, &clen, err) != 0) return err->code;
    if (tm_file_read(o->tls_key, &h->key, &klen, err) != 0) return err->code;
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS)
        return tm_error_set(err, TM_ENOMEM, "TLS setup for %s failed: out of memory", o->url);
    gnutls_datum_t c = {(unsigned char *)h->cert, (unsigned)clen}, k = {(unsigned char *)h->key, (unsigned)klen};
    int rv = gnutls_certificate_set_x509_key_mem(cred, &c, &k, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rv < 0) return tm_error_set(err, TM_EINVAL, "TLS setup for %s failed: %s", o->url, gnutls_strerror(rv));
    return 0;
}

/* The address to bind: the URL's host and port, IPv4 preferred for a name
 * with both. */
static int resolve(const tm_http_opts *o, const nng_url *u, struct sockaddr_storage *ss, tm_error *err) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
    const char *port = u->u_port && *u->u_port ? u->u_port : (strncmp(o->url, "https", 5) ? "80" : "443");
    int rv = getaddrinfo(u->u_hostname && *u->u_hostname ? u->u_hostname : NULL, port, &hints, &res);
    if (rv) return tm_error_set(err, TM_EINVAL, "--http %s: %s", o->url, gai_strerror(rv));
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next)
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* "http://IP:PORT/": the address actually bound (port 0 picks one). */
static void bound_url(const struct sockaddr_storage *ss, unsigned port, int https, char *buf, size_t n) {
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip, sizeof(ip));
        snprintf(buf, n, "%s://[%s]:%u/", https ? "https" : "http", ip, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
        snprintf(buf, n, "%s://%s:%u/", https ? "https" : "http", ip, port);
    }
}

static void free_on_close(uv_handle_t *hd) {
    tm_http *h = hd->data;
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h->cert);
    free(h->key);
    free(h);
}

/* The URL's parts into h; 0 or an error. */
static int parse_url(tm_http *h, const tm_http_opts *o, struct sockaddr_storage *ss, tm_error *err) {
    nng_url *u = NULL;
    int rv = nng_url_parse(&u, o->url);
    if (rv) return tm_error_set(err, TM_EINVAL, "--http %s: %s", o->url, nng_strerror(rv));
    int rc = resolve(o, u, ss, err);
    h->url = strdup(o->url);
    /* nng's URL keeps IPv6 hosts without brackets; the Host header has them */
    const char *host = u->u_hostname ? u->u_hostname : "";
    if (asprintf(&h->host, strchr(host, ':') ? "[%s]" : "%s", host) < 0) h->host = NULL;
    nng_url_free(u);
    if (rc == 0 && (!h->url || !h->host)) rc = tm_error_set(err, TM_ENOMEM, "out of memory");
    return rc;
}

int tm_http_start(uv_loop_t *loop, tm_server *srv, const tm_http_opts *o, tm_http **out, tm_error *err) {
    int https = strncmp(o->url, "https://", 8) == 0;
    if (!https && strncmp(o->url, "http://", 7) != 0)
        return tm_error_set(err, TM_EINVAL, "--http wants http://HOST:PORT or https://HOST:PORT, not \"%s\"", o->url);
    tm_http *h = calloc(1, sizeof(*h));
    if (!h) return tm_error_set(err, TM_ENOMEM, "out of memory");
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    h->loop = loop;
    h->srv = srv;
    h->listen_fd = MHD_INVALID_SOCKET;
    struct sockaddr_storage ss;
    if (parse_url(h, o, &ss, err) != 0) goto fail;
    if (https && load_tls(h, o, err) != 0) goto fail;
    h->cfg.loopback = tm_url_is_local(o->url);
    h->cfg.host = h->host;
    if (uv_async_init(loop, &h->async, async_cb) != 0) {
        tm_error_set(err, TM_EIO, "cannot set up the loop hand-off");
        goto fail;
    }
    h->async.data = h;
    unsigned timeout = o->timeout_s ? o->timeout_s : TM_HTTP_DEFAULT_TIMEOUT;
    unsigned maxconn = o->max_connections ? o->max_connections : TM_HTTP_DEFAULT_MAX_CONNECTIONS;
    /* Off loopback, one address may hold a quarter of the connections, so
     * one client cannot take them all.  On loopback every client is
     * 127.0.0.1 and the limit would only be the cap again. */
    unsigned per_ip = h->cfg.loopback ? 0 : (maxconn / 4 ? maxconn / 4 : 1);
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (https) flags |= MHD_USE_TLS;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[] = {
        {https ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                            MHD_OPTION_CONNECTION_LIMIT, maxconn,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, h,
                            MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
                            MHD_OPTION_ARRAY, tls_opts,
                            MHD_OPTION_END);
    if (!h->d) {
        pthread_mutex_lock(&h->mu);
        tm_error_set(err, TM_EIO, "cannot serve the web page on %s: %s (choose another with --http URL, or --http none)",
                     o->url, *h->last_error ? h->last_error : "libmicrohttpd did not start");
        pthread_mutex_unlock(&h->mu);
        uv_close((uv_handle_t *)&h->async, free_on_close); /* h goes with the handle */
        return err->code;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    char where[300];
    bound_url(&ss, info ? info->port : 0, https, where, sizeof(where));
    if (per_ip)
        tm_log_info("http", "serving the web page on %s (libmicrohttpd; timeout %us, at most %u connections, %u "
                    "per client address)", where, timeout, maxconn, per_ip);
    else
        tm_log_info("http", "serving the web page on %s (libmicrohttpd; timeout %us, at most %u connections)", where,
                    timeout, maxconn);
    *out = h;
    return 0;
fail:
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h->host);
    free(h->cert);
    free(h->key);
    free(h);
    return err->code ? err->code : TM_EIO;
}

void tm_http_stop(tm_http *h, void (*done)(void *), void *arg) {
    h->done = done;
    h->done_arg = arg;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_mutex_unlock(&h->mu);
    /* no new connections from here on; the ones open finish their request */
    h->listen_fd = MHD_quiesce_daemon(h->d);
    /* the loop runs maybe_close, after any queue hand-off in progress */
    uv_async_send(&h->async);
}

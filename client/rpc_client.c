/* rpc_client.c: calls to trailmapd over nng req0 (see rpc_client.h). */
#include "rpc_client.h"

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trailmap.pb-c.h"

struct tm_rpc {
    nng_socket sock;
    char *url;
    char *token;
    int timeout_ms;
    uint64_t next_id;
    int status;
    char *message; /* the whole error_message of the last response */
};

/* nng's error in the words of a message that follows "cannot reach URL: ". */
static const char *reason_of(int rv) {
    switch (rv) {
    case NNG_ECONNREFUSED: return "connection refused";
    case NNG_ENOENT: return "no such socket";
    case NNG_ETIMEDOUT: return "timed out waiting for the server";
    case NNG_ECONNRESET: return "connection reset";
    case NNG_ECONNSHUT: return "connection closed";
    case NNG_EADDRINVAL: return "address invalid";
    case NNG_EPEERAUTH:
    case NNG_ECRYPTO:
        return "TLS handshake failed (is the server's certificate signed by the CA given with --ca, "
               "and made out to this host name?)";
    case NNG_EPERM: return "permission denied";
    case NNG_EUNREACHABLE: return "host unreachable";
    case NNG_ECLOSED: return "connection closed";
    case NNG_EPROTO: return "the peer does not speak req/rep";
    default: return nng_strerror(rv);
    }
}

const char *tm_rpc_status_name(int status) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&trailmap__status__descriptor, status);
    return v ? v->name : "UNKNOWN";
}

const char *tm_rpc_url(const tm_rpc *c) { return c->url; }

int tm_rpc_status(const tm_rpc *c) { return c->status; }

const char *tm_rpc_message(const tm_rpc *c) { return c->message ? c->message : ""; }

void tm_rpc_close(tm_rpc *c) {
    if (!c) return;
    nng_close(c->sock);
    free(c->url);
    free(c->token);
    free(c->message);
    free(c);
}

static const char *system_ca_bundle(void) {
    static const char *const paths[] = {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                                        "/etc/ssl/cert.pem"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        if (access(paths[i], R_OK) == 0) return paths[i];
    return NULL;
}

static int is_ip_literal(const char *host) {
    unsigned char b[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, b) == 1 || inet_pton(AF_INET6, host, b) == 1;
}

/* The TLS configuration of a tls+tcp:// dialer: trust ca_file, check the
 * certificate against the URL's host name.
 *
 * The TLS library under nng (mbed TLS 2.28) matches a host name against
 * the certificate's DNS names and CN only, never against IP addresses, so a
 * URL with an IP address is checked by its chain alone: the certificate
 * must be signed by a CA the user named (--ca).  The system's CAs are not
 * enough there, or any certificate a public CA issued would pass. */
static int tls_setup(nng_dialer d, const char *url, const char *ca_file, tm_error *err) {
    nng_url *u = NULL;
    nng_tls_config *cfg = NULL;
    int rv;
    if ((rv = nng_url_parse(&u, url)) != 0)
        return tm_error_set(err, TM_RPC_EURL, "bad server address %s: %s", url, reason_of(rv));
    int by_ip = u->u_hostname && is_ip_literal(u->u_hostname);
    if (!ca_file && by_ip) {
        nng_url_free(u);
        return tm_error_set(err, TM_RPC_EURL,
                            "%s: a server named by its IP address is checked against the CA given with --ca FILE "
                            "(or use its host name)", url);
    }
    if (!ca_file && !(ca_file = system_ca_bundle())) {
        nng_url_free(u);
        return tm_error_set(err, TM_RPC_EURL, "%s: no CA bundle found on this system; name one with --ca FILE", url);
    }
    if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0) {
        nng_url_free(u);
        return tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot reach %s: TLS: %s", url, nng_strerror(rv));
    }
    if ((rv = nng_tls_config_ca_file(cfg, ca_file)) != 0) {
        tm_error_set(err, TM_RPC_EURL, "cannot use CA file %s: %s", ca_file,
                     rv == NNG_ENOENT ? "no such file" : rv == NNG_EPERM ? "permission denied"
                                                                          : "not a PEM certificate file");
        goto out;
    }
    if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
        (u->u_hostname && *u->u_hostname && !by_ip && (rv = nng_tls_config_server_name(cfg, u->u_hostname)) != 0) ||
        (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) != 0) {
        tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot reach %s: TLS: %s", url, nng_strerror(rv));
        goto out;
    }
    rv = 0;
out:
    nng_tls_config_free(cfg); /* the dialer holds its own reference */
    nng_url_free(u);
    return rv ? err->code : 0;
}

int tm_rpc_open(const tm_rpc_opts *o, tm_rpc **out, tm_error *err) {
    *out = NULL;
    const char *url = o->url && *o->url ? o->url : TM_RPC_DEFAULT_URL;
    tm_rpc *c = calloc(1, sizeof(*c));
    if (!c) return tm_error_set(err, TM_ENOMEM, "out of memory");
    c->url = strdup(url);
    c->token = strdup(o->token ? o->token : "");
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : TM_RPC_DEFAULT_TIMEOUT_MS;
    /* request ids only need to differ between calls; start somewhere
     * unpredictable so two runs' ids do not look alike in a server log */
    c->next_id = ((uint64_t)time(NULL) << 20) ^ ((uint64_t)getpid() << 4);
    if (!c->url || !c->token) {
        free(c->url);
        free(c->token);
        free(c);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    int rv;
    if ((rv = nng_req0_open(&c->sock)) != 0) {
        free(c->url);
        free(c->token);
        free(c);
        return tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot open a request socket: %s", nng_strerror(rv));
    }
    size_t recv_max = o->recv_max ? o->recv_max : TM_RPC_DEFAULT_RECV_MAX;
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, c->timeout_ms);
    nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, c->timeout_ms);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, recv_max);
    /* a request is sent once: SubmitEvents is idempotent but costly, and a
     * server that has not answered within the timeout is reported as such */
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);

    nng_dialer d;
    if ((rv = nng_dialer_create(&d, c->sock, url)) != 0) {
        tm_error_set(err, TM_RPC_EURL,
                     "bad server address %s: %s (use tcp://HOST:PORT, ipc:///PATH or tls+tcp://HOST:PORT)", url,
                     rv == NNG_ENOTSUP ? "unknown scheme" : reason_of(rv));
        tm_rpc_close(c);
        return err->code;
    }
    nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, recv_max);
    if (strncmp(url, "tls+", 4) == 0 && tls_setup(d, url, o->ca_file, err) != 0) {
        tm_rpc_close(c);
        return err->code;
    }
    /* synchronous: fails at once when nothing listens */
    if ((rv = nng_dialer_start(d, 0)) != 0) {
        tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot reach %s: %s", url, reason_of(rv));
        tm_rpc_close(c);
        return err->code;
    }
    *out = c;
    return 0;
}

static int transport_error(tm_rpc *c, int rv, tm_error *err) {
    if (rv == NNG_ETIMEDOUT)
        return tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot reach %s: no answer within %g s", c->url,
                            c->timeout_ms / 1000.0);
    if (rv == NNG_ENOMEM) return tm_error_set(err, TM_ENOMEM, "out of memory");
    return tm_error_set(err, TM_RPC_EUNREACHABLE, "cannot reach %s: %s", c->url, reason_of(rv));
}

int tm_rpc_call(tm_rpc *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                tm_error *err) {
    *resp = NULL;
    c->status = TRAILMAP__STATUS__UNKNOWN;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(&trailmap__trailmap__descriptor, method);
    if (!md) return tm_error_set(err, TM_EINVAL, "no method \"%s\" in service Trailmap", method);
    if (req->descriptor != md->input)
        return tm_error_set(err, TM_EINVAL, "%s takes a %s, not a %s", method, md->input->name,
                            req->descriptor->name);

    size_t plen = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = malloc(plen ? plen : 1);
    if (!payload) return tm_error_set(err, TM_ENOMEM, "out of memory");
    protobuf_c_message_pack(req, payload);

    Trailmap__RpcRequest r = TRAILMAP__RPC_REQUEST__INIT;
    r.method = (char *)method;
    r.request_id = ++c->next_id;
    r.auth_token = c->token;
    r.payload.data = payload;
    r.payload.len = plen;
    nng_msg *msg;
    int rv = nng_msg_alloc(&msg, trailmap__rpc_request__get_packed_size(&r));
    if (rv != 0) {
        free(payload);
        return tm_error_set(err, TM_ENOMEM, "out of memory");
    }
    trailmap__rpc_request__pack(&r, nng_msg_body(msg));
    free(payload);
    if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
        nng_msg_free(msg);
        return transport_error(c, rv, err);
    }
    if ((rv = nng_recvmsg(c->sock, &msg, 0)) != 0) return transport_error(c, rv, err);

    Trailmap__RpcResponse *rr = trailmap__rpc_response__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    nng_msg_free(msg);
    if (!rr) return tm_error_set(err, TM_RPC_EPROTO, "%s answered %s with something that is not an RpcResponse", c->url, method);
    if (rr->request_id != r.request_id) {
        tm_error_set(err, TM_RPC_EPROTO, "%s answered request %llu of %s with the response to request %llu",
                     c->url, (unsigned long long)r.request_id, method, (unsigned long long)rr->request_id);
        trailmap__rpc_response__free_unpacked(rr, NULL);
        return err->code;
    }
    c->status = (int)rr->status;
    free(c->message);
    c->message = strdup(rr->error_message ? rr->error_message : "");
    if (rr->status != TRAILMAP__STATUS__OK) {
        if (rr->error_message && *rr->error_message) tm_error_set(err, TM_RPC_ESTATUS, "%s", rr->error_message);
        else tm_error_set(err, TM_RPC_ESTATUS, "%s failed with status %s", method, tm_rpc_status_name(c->status));
        trailmap__rpc_response__free_unpacked(rr, NULL);
        return err->code;
    }
    *resp = protobuf_c_message_unpack(md->output, NULL, rr->payload.len, rr->payload.data);
    trailmap__rpc_response__free_unpacked(rr, NULL);
    if (!*resp)
        return tm_error_set(err, TM_RPC_EPROTO, "%s answered %s with a payload that is not a %s", c->url, method,
                            md->output->name);
    return 0;
}

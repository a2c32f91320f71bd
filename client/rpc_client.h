/* rpc_client.h: calls to trailmapd over nng (req0).
 *
 * One call packs the method's request message into an RpcRequest
 * {method, request_id, auth_token, payload}, sends it, waits for the
 * RpcResponse, checks that it answers this request and unpacks its payload
 * as the method's response message.  Methods are the rpcs of service
 * Trailmap in proto/trailmap.proto, looked up in the generated service
 * descriptor, which also gives the response type.
 *
 * Errors tell the caller what kind of failure it was, because the command
 * line maps them to different exit statuses:
 *   TM_RPC_EURL          the server address is not usable (usage)
 *   TM_RPC_EUNREACHABLE  nothing answers: dial refused, no such socket,
 *                        TLS handshake failed, or no reply within the timeout
 *   TM_RPC_ESTATUS       the server answered with a status other than OK;
 *                        tm_rpc_status() gives it, err the server's message
 *   TM_RPC_EPROTO        the reply is not a valid answer to the request */
#ifndef TM_RPC_CLIENT_H
#define TM_RPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "rpc_error.h"

#define TM_RPC_DEFAULT_URL "tcp://127.0.0.1:7470"
#define TM_RPC_DEFAULT_TIMEOUT_MS 60000
#define TM_RPC_DEFAULT_RECV_MAX ((size_t)256 << 20)

typedef struct tm_rpc_opts {
    const char *url;      /* tcp://, ipc:// or tls+tcp://; NULL: TM_RPC_DEFAULT_URL */
    const char *token;    /* sent as auth_token; NULL or "" for none */
    const char *ca_file;  /* tls+tcp: PEM file of the CAs to trust; NULL: the
                             system bundle when there is one */
    int timeout_ms;       /* per call, sending and receiving; <= 0: the default */
    size_t recv_max;      /* largest reply accepted; 0: the default */
} tm_rpc_opts;

typedef struct tm_rpc tm_rpc;

/* Opens a connection (the dial is synchronous: a refused connection fails
 * here, at once).  Returns 0 or a TM_RPC_E* / TM_ENOMEM code with err set
 * ("cannot reach tcp://127.0.0.1:7470: connection refused"). */
int tm_rpc_open(const tm_rpc_opts *o, tm_rpc **out, tm_error *err);

/* Calls `method` ("GetSession") with req, which must be of the method's
 * input type.  On success *resp is the method's response (free it with
 * protobuf_c_message_free_unpacked(*resp, NULL)). */
int tm_rpc_call(tm_rpc *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                tm_error *err);

/* The status of the last response (0 = OK). */
int tm_rpc_status(const tm_rpc *c);

/* The whole error message of the last response ("" when none); a
 * tm_error holds at most 1 KiB of it. */
const char *tm_rpc_message(const tm_rpc *c);

/* The name of a status code ("NOT_FOUND"); "UNKNOWN" for an unknown one. */
const char *tm_rpc_status_name(int status);

/* The URL this client talks to. */
const char *tm_rpc_url(const tm_rpc *c);

void tm_rpc_close(tm_rpc *c);

#endif

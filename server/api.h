/* api.h: one RPC, bytes in, bytes out.
 *
 * Decodes the RpcRequest framing, checks the token's role, finds the method
 * in the protobuf-c service descriptor, runs its handler and frames the
 * answer.  Every failure becomes an RpcResponse with a gRPC status code and
 * a message; nothing a client sends can stop the server. */
#ifndef TM_API_H
#define TM_API_H

#include <stddef.h>
#include <stdint.h>

#include "server.h"

/* Always produces a response in *out (malloc'd) unless memory runs out
 * (then returns -1).  `peer_trusted` is unused for now (auth applies to
 * every peer when a token file is given). */
int tm_api_handle(tm_server *s, const uint8_t *req, size_t len, uint8_t **out, size_t *out_len);

/* The defaults of the limits in tm_server (used where a field is 0).
 * A request's payload may make protobuf-c allocate 4x its size + 64 KiB;
 * beyond that, or beyond the limits below, it gets RESOURCE_EXHAUSTED. */
#define TM_API_MAX_BATCH_RECORDS ((size_t)100000)      /* elements of a repeated field */
#define TM_API_MAX_DECODED_BYTES ((size_t)256 << 20)   /* inflated documents per SubmitEvents */
#define TM_API_MAX_SESSION_EVENTS ((size_t)1000000)    /* events of a session GetSession maps */
#define TM_API_MAX_INFLIGHT_BYTES ((size_t)512 << 20)  /* request bytes and inflated documents
                                                          handled at once */

/* Runs one method with an already-built request, exactly as an RPC would
 * run it (token and role checks included): for the HTTP endpoints.  On 0,
 * *status is the gRPC status, *message its message (free it) and *resp the
 * response message when OK (free with protobuf_c_message_free_unpacked).
 * -1 when memory runs out or the method is unknown. */
#include <protobuf-c/protobuf-c.h>
int tm_api_invoke(tm_server *s, const char *method, const char *token, const ProtobufCMessage *req,
                  ProtobufCMessage **resp, int *status, char **message);

#endif

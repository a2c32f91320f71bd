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

#endif

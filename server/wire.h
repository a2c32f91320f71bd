/* wire.h: reading untrusted protobuf bytes before protobuf-c does.
 *
 * protobuf-c's unpack allocates as it goes: unknown fields are kept, every
 * string and element gets its own malloc, and an RpcRequest is unpacked
 * whole before anyone looks at its token.  So trailmapd reads the framing
 * itself, without allocating, checks the token, and then checks the
 * payload against its descriptor (no unknown fields, no NUL in a string,
 * a bounded count of repeated elements, and an estimate of what unpacking
 * will allocate) before it lets protobuf-c unpack it. */
#ifndef TM_WIRE_H
#define TM_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* A view into the request buffer: not NUL-terminated, may contain NULs. */
typedef struct tm_wire_bytes {
    const uint8_t *p;
    size_t len;
} tm_wire_bytes;

/* The fields of an RpcRequest (proto/trailmap.proto), as views. */
typedef struct tm_wire_request {
    tm_wire_bytes method;
    tm_wire_bytes token;
    tm_wire_bytes payload;
    uint64_t request_id;
} tm_wire_request;

/* Reads an RpcRequest without allocating.  Absent fields are empty.
 * TM_EPARSE (err says why) for a truncated varint or length, a field that
 * is not one of RpcRequest's four, a field sent twice or with the wrong
 * wire type.  *out holds what was read before the error (request_id). */
int tm_wire_read_request(const uint8_t *buf, size_t len, tm_wire_request *out, tm_error *err);

/* Limits of tm_wire_check. */
typedef struct tm_wire_limits {
    size_t max_alloc;     /* largest estimated allocation of the unpacked message */
    size_t max_repeated;  /* most elements of any one repeated field */
} tm_wire_limits;

/* Checks that buf is a well-formed message of type d that protobuf-c can
 * unpack within the limits, recursing into message fields.  Returns 0 and
 * sets *estimate (bytes protobuf-c will allocate, roughly from above);
 * TM_EPARSE when the bytes are malformed, hold a field d does not know, a
 * field with the wrong wire type, or a string with a NUL byte; TM_ENOMEM
 * when a repeated field has more than max_repeated elements or the
 * estimate passes max_alloc (err names the field and the limit). */
int tm_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, const tm_wire_limits *lim,
                  size_t *estimate, tm_error *err);

#endif

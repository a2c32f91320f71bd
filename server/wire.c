/* wire.c: reading untrusted protobuf bytes before protobuf-c does (see
 * wire.h).
 *
 * The protobuf wire format: a message is a sequence of fields, each a
 * varint key (field number << 3 | wire type) followed by its value:
 *   0 varint            up to 10 bytes, 7 bits each, high bit = more
 *   1 64-bit            8 bytes
 *   2 length-delimited  a varint length, then that many bytes
 *   5 32-bit            4 bytes
 * (3 and 4 are the deprecated groups, which trailmap's API never uses).
 *
 * The allocation estimate follows what protobuf-c 1.4's unpack does: one
 * scan record per field on the wire (ScannedMember, 32 bytes, in slabs
 * that double, so up to 64), the message
 * struct, one array per repeated field, and one block per string, bytes
 * value and sub-message; every block also costs the allocator's overhead. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

enum { WT_VARINT = 0, WT_64BIT = 1, WT_LEN = 2, WT_32BIT = 5 };

#define SCAN_RECORD 64   /* protobuf-c's ScannedMember (32 bytes) per field on the wire,
                            kept in slabs that double: up to twice that */
#define BLOCK_OVERHEAD 16 /* malloc's header and rounding, per block */
#define MAX_DEPTH 32      /* message nesting; trailmap's API has 3 levels */

/* a + b, saturating at SIZE_MAX */
static size_t add_sat(size_t a, size_t b) {
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Reads a varint at *pos.  0, or -1 when it is truncated or longer than
 * 10 bytes. */
static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) {
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (*pos >= len) return -1;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* One field read from the wire. */
typedef struct wfield {
    uint32_t number;
    int type;         /* wire type */
    uint64_t varint;  /* WT_VARINT */
    tm_wire_bytes value; /* WT_LEN: the bytes; 32/64-bit: the raw bytes */
} wfield;

static const char *wire_type_name(int t) {
    switch (t) {
    case WT_VARINT: return "varint";
    case WT_64BIT: return "64-bit";
    case WT_LEN: return "length-delimited";
    case WT_32BIT: return "32-bit";
    default: return "group";
    }
}

/* Reads the field at *pos.  0, or TM_EPARSE naming what is wrong. */
static int read_field(const uint8_t *p, size_t len, size_t *pos, wfield *f, tm_error *err) {
    size_t at = *pos;
    uint64_t key;
    if (read_varint(p, len, pos, &key) != 0) return tm_error_set(err, TM_EPARSE, "byte %zu: truncated field key", at);
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
        return tm_error_set(err, TM_EPARSE, "byte %zu: field number %llu is not valid", at,
                            (unsigned long long)(key >> 3));
    f->number = (uint32_t)(key >> 3);
    f->type = (int)(key & 7);
    f->varint = 0;
    f->value.p = NULL;
    f->value.len = 0;
    switch (f->type) {
    case WT_VARINT:
        if (read_varint(p, len, pos, &f->varint) != 0)
            return tm_error_set(err, TM_EPARSE, "byte %zu: field %u: truncated varint", at, f->number);
        return 0;
    case WT_64BIT:
    case WT_32BIT: {
        size_t n = f->type == WT_64BIT ? 8 : 4;
        if (len - *pos < n) return tm_error_set(err, TM_EPARSE, "byte %zu: field %u: truncated value", at, f->number);
        f->value.p = p + *pos;
        f->value.len = n;
        *pos += n;
        return 0;
    }
    case WT_LEN: {
        uint64_t n;
        if (read_varint(p, len, pos, &n) != 0)
            return tm_error_set(err, TM_EPARSE, "byte %zu: field %u: truncated length", at, f->number);
        if (n > len - *pos)
            return tm_error_set(err, TM_EPARSE, "byte %zu: field %u: length %llu runs past the end (%zu bytes left)",
                                at, f->number, (unsigned long long)n, len - *pos);
        f->value.p = p + *pos;
        f->value.len = (size_t)n;
        *pos += (size_t)n;
        return 0;
    }
    default:
        return tm_error_set(err, TM_EPARSE, "byte %zu: field %u: wire type %d is not used by this API", at,
                            f->number, f->type);
    }
}

/* ------------------------------------------------------------ RpcRequest */

/* The field numbers of RpcRequest in proto/trailmap.proto (test_wire checks
 * them against the generated descriptor). */
enum { RQ_METHOD = 1, RQ_REQUEST_ID = 2, RQ_AUTH_TOKEN = 3, RQ_PAYLOAD = 4 };

int tm_wire_read_request(const uint8_t *buf, size_t len, tm_wire_request *out, tm_error *err) {
    static const char *names[] = {NULL, "method", "request_id", "auth_token", "payload"};
    memset(out, 0, sizeof(*out));
    unsigned seen = 0;
    size_t pos = 0;
    while (pos < len) {
        wfield f;
        int rc = read_field(buf, len, &pos, &f, err);
        if (rc) return rc;
        if (f.number > RQ_PAYLOAD)
            return tm_error_set(err, TM_EPARSE, "RpcRequest has no field %u", f.number);
        if (seen & (1u << f.number))
            return tm_error_set(err, TM_EPARSE, "RpcRequest.%s is given twice", names[f.number]);
        seen |= 1u << f.number;
        int want = f.number == RQ_REQUEST_ID ? WT_VARINT : WT_LEN;
        if (f.type != want)
            return tm_error_set(err, TM_EPARSE, "RpcRequest.%s is sent as %s, not %s", names[f.number],
                                wire_type_name(f.type), wire_type_name(want));
        switch (f.number) {
        case RQ_METHOD: out->method = f.value; break;
        case RQ_REQUEST_ID: out->request_id = f.varint; break;
        case RQ_AUTH_TOKEN: out->token = f.value; break;
        default: out->payload = f.value; break;
        }
    }
    return 0;
}

/* --------------------------------------------------------- payload check */

typedef struct checker {
    const tm_wire_limits *lim;
    size_t estimate;
    tm_error *err;
} checker;

/* The wire type a field of this type is sent with when not packed. */
static int wire_type_of(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return WT_64BIT;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return WT_32BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE: return WT_LEN;
    default: return WT_VARINT; /* the int types, bool, enum */
    }
}

/* The size of one element in protobuf-c's array of a repeated field. */
static size_t element_size(ProtobufCType t) {
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64: return 8;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
    default: return 4; /* 32-bit ints, float, bool (protobuf_c_boolean is an int), enum */
    }
}

/* The number of elements in a packed run of scalars, or -1 when the run is
 * malformed. */
static long long packed_count(const ProtobufCFieldDescriptor *fd, tm_wire_bytes v) {
    int wt = wire_type_of(fd->type);
    if (wt == WT_64BIT) return v.len % 8 ? -1 : (long long)(v.len / 8);
    if (wt == WT_32BIT) return v.len % 4 ? -1 : (long long)(v.len / 4);
    long long n = 0;
    for (size_t i = 0; i < v.len; i++)
        if (!(v.p[i] & 0x80)) n++;
    if (v.len && (v.p[v.len - 1] & 0x80)) return -1; /* the last varint does not end */
    return n;
}

static int check_message(checker *k, const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         int depth);

/* Adds bytes to the estimate; TM_ENOMEM once it passes the limit. */
static int charge(checker *k, size_t bytes) {
    k->estimate = add_sat(k->estimate, bytes);
    if (k->estimate > k->lim->max_alloc)
        return tm_error_set(k->err, TM_ENOMEM,
                            "unpacking the request would allocate more than %zu bytes (the limit for its size)",
                            k->lim->max_alloc);
    return 0;
}

/* One field of message d, whose descriptor is fd. */
static int check_field(checker *k, const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *fd,
                       const wfield *f, size_t *count, int depth) {
    int want = wire_type_of(fd->type);
    int packed = fd->label == PROTOBUF_C_LABEL_REPEATED && f->type == WT_LEN && want != WT_LEN;
    if (f->type != want && !packed)
        return tm_error_set(k->err, TM_EPARSE, "%s.%s is sent as %s, not %s", d->short_name, fd->name,
                            wire_type_name(f->type), wire_type_name(want));
    size_t elements = 1;
    if (packed) {
        long long n = packed_count(fd, f->value);
        if (n < 0) return tm_error_set(k->err, TM_EPARSE, "%s.%s: malformed packed values", d->short_name, fd->name);
        elements = (size_t)n;
    }
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        *count = add_sat(*count, elements);
        if (*count > k->lim->max_repeated)
            return tm_error_set(k->err, TM_ENOMEM, "%s.%s has more than %zu elements (the server's limit)",
                                d->short_name, fd->name, k->lim->max_repeated);
    }
    int rc = charge(k, SCAN_RECORD);
    if (rc) return rc;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (f->value.len && memchr(f->value.p, 0, f->value.len))
            return tm_error_set(k->err, TM_EPARSE, "%s.%s: a string holds a NUL byte", d->short_name, fd->name);
        return charge(k, add_sat(f->value.len, 1 + BLOCK_OVERHEAD));
    case PROTOBUF_C_TYPE_BYTES:
        return charge(k, add_sat(f->value.len, BLOCK_OVERHEAD));
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sub = fd->descriptor;
        if ((rc = charge(k, add_sat(sub->sizeof_message, BLOCK_OVERHEAD)))) return rc;
        return check_message(k, sub, f->value.p, f->value.len, depth + 1);
    }
    default:
        return 0;
    }
}

static int check_message(checker *k, const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         int depth) {
    if (depth > MAX_DEPTH) return tm_error_set(k->err, TM_EPARSE, "messages nested more than %d deep", MAX_DEPTH);
    size_t *counts = calloc(d->n_fields + 1, sizeof(*counts)); /* elements of each repeated field */
    if (!counts) return tm_error_set(k->err, TM_ENOMEM, "out of memory");
    int rc = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        wfield f;
        if ((rc = read_field(buf, len, &pos, &f, k->err))) break;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.number);
        if (!fd) {
            rc = tm_error_set(k->err, TM_EPARSE, "%s has no field %u", d->short_name, f.number);
            break;
        }
        rc = check_field(k, d, fd, &f, &counts[fd - d->fields], depth);
    }
    /* one array per repeated field that has elements */
    for (unsigned i = 0; i < d->n_fields && rc == 0; i++)
        if (counts[i]) {
            size_t bytes = counts[i] > SIZE_MAX / 8 ? SIZE_MAX : counts[i] * element_size(d->fields[i].type);
            rc = charge(k, add_sat(bytes, BLOCK_OVERHEAD));
        }
    free(counts);
    return rc;
}

int tm_wire_check(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, const tm_wire_limits *lim,
                  size_t *estimate, tm_error *err) {
    checker k = {lim, 0, err};
    *estimate = 0;
    int rc = charge(&k, add_sat(d->sizeof_message, BLOCK_OVERHEAD));
    if (rc == 0) rc = check_message(&k, d, buf, len, 0);
    *estimate = k.estimate;
    return rc;
}

/* test_wire.c: the RpcRequest reader and the payload check of wire.c.
 * Framing errors (unknown, repeated and mistyped fields, truncation) are
 * refused; the check refuses unknown fields and NUL in strings, caps
 * repeated fields, and its allocation estimate is never below what
 * protobuf-c really allocates (measured with a counting allocator). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "trailmap.pb-c.h"
#include "wire.h"

/* ---- a counting allocator: what protobuf-c's unpack really takes ---- */

typedef struct counting {
    size_t total;  /* bytes asked for, plus the same overhead wire.c assumes per block */
} counting;

static void *count_alloc(void *data, size_t size) {
    counting *c = data;
    c->total += size + 16;
    return malloc(size);
}

static void count_free(void *data, void *p) {
    (void)data;
    free(p);
}

static size_t real_alloc(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len) {
    counting c = {0};
    ProtobufCAllocator a = {count_alloc, count_free, &c};
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &a, len, buf);
    if (!m) return (size_t)-1;
    protobuf_c_message_free_unpacked(m, &a);
    return c.total;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len) {
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*len + 1);
    protobuf_c_message_pack(m, b);
    return b;
}

/* buf + extra bytes appended (a field the message type does not have, ...) */
static uint8_t *append(const uint8_t *buf, size_t len, const void *extra, size_t n, size_t *out_len) {
    uint8_t *b = malloc(len + n + 1);
    memcpy(b, buf, len);
    memcpy(b + len, extra, n);
    *out_len = len + n;
    return b;
}

static void test_request(void) {
    tm_wire_request rq;
    tm_error err;
    /* the field numbers wire.c reads are RpcRequest's */
    const ProtobufCMessageDescriptor *d = &trailmap__rpc_request__descriptor;
    CHECK_STR(protobuf_c_message_descriptor_get_field(d, 1)->name, "method");
    CHECK_STR(protobuf_c_message_descriptor_get_field(d, 2)->name, "request_id");
    CHECK_STR(protobuf_c_message_descriptor_get_field(d, 3)->name, "auth_token");
    CHECK_STR(protobuf_c_message_descriptor_get_field(d, 4)->name, "payload");
    CHECK(protobuf_c_message_descriptor_get_field(d, 5) == NULL);

    /* a request packed by protobuf-c reads back as views into the buffer */
    Trailmap__RpcRequest m = TRAILMAP__RPC_REQUEST__INIT;
    m.method = "GetSession";
    m.request_id = 1234567890123ull;
    m.auth_token = "tok-abc";
    uint8_t pl[] = {0x0a, 0x01, 'k'};
    m.payload.data = pl;
    m.payload.len = sizeof(pl);
    size_t n;
    uint8_t *buf = pack(&m.base, &n);
    CHECK_INT(tm_wire_read_request(buf, n, &rq, &err), 0);
    CHECK(rq.method.len == 10 && memcmp(rq.method.p, "GetSession", 10) == 0);
    CHECK(rq.token.len == 7 && memcmp(rq.token.p, "tok-abc", 7) == 0);
    CHECK(rq.payload.len == 3 && rq.payload.p >= buf && rq.payload.p + 3 <= buf + n);
    CHECK(rq.request_id == 1234567890123ull);

    /* a NUL inside the method is kept: the caller compares the full length */
    static const uint8_t nul_method[] = {0x0a, 0x08, 'H', 'e', 'a', 'l', 't', 'h', 0, 'X'};
    CHECK_INT(tm_wire_read_request(nul_method, sizeof(nul_method), &rq, &err), 0);
    CHECK_INT(rq.method.len, 8);

    /* empty: every field absent */
    CHECK_INT(tm_wire_read_request(buf, 0, &rq, &err), 0);
    CHECK(rq.method.len == 0 && rq.token.len == 0 && rq.payload.len == 0 && rq.request_id == 0);

    size_t n2;
    /* an unknown field (5, length-delimited) */
    static const uint8_t f5[] = {0x2a, 0x02, 'x', 'y'};
    uint8_t *b2 = append(buf, n, f5, sizeof(f5), &n2);
    CHECK_INT(tm_wire_read_request(b2, n2, &rq, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "no field 5") != NULL);
    free(b2);
    /* the method twice */
    static const uint8_t twice[] = {0x0a, 0x06, 'H', 'e', 'a', 'l', 't', 'h'};
    b2 = append(buf, n, twice, sizeof(twice), &n2);
    CHECK_INT(tm_wire_read_request(b2, n2, &rq, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "method") && strstr(err.msg, "twice"));
    free(b2);
    /* request_id as a string, the method as a varint */
    static const uint8_t id_len[] = {0x12, 0x01, '1'};
    CHECK_INT(tm_wire_read_request(id_len, sizeof(id_len), &rq, &err), TM_EPARSE);
    static const uint8_t method_varint[] = {0x08, 0x01};
    CHECK_INT(tm_wire_read_request(method_varint, sizeof(method_varint), &rq, &err), TM_EPARSE);
    /* truncations: a length past the end, a varint that does not end, a key alone */
    CHECK_INT(tm_wire_read_request(buf, n - 1, &rq, &err), TM_EPARSE);
    static const uint8_t long_len[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
    CHECK_INT(tm_wire_read_request(long_len, sizeof(long_len), &rq, &err), TM_EPARSE);
    static const uint8_t open_varint[] = {0x10, 0x80, 0x80};
    CHECK_INT(tm_wire_read_request(open_varint, sizeof(open_varint), &rq, &err), TM_EPARSE);
    static const uint8_t eleven[] = {0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    CHECK_INT(tm_wire_read_request(eleven, sizeof(eleven), &rq, &err), TM_EPARSE);
    /* groups and field number 0 */
    static const uint8_t group[] = {0x0b, 0x0c};
    CHECK_INT(tm_wire_read_request(group, sizeof(group), &rq, &err), TM_EPARSE);
    static const uint8_t zero[] = {0x02, 0x00};
    CHECK_INT(tm_wire_read_request(zero, sizeof(zero), &rq, &err), TM_EPARSE);
    free(buf);
}

static const tm_wire_limits roomy = {(size_t)1 << 30, 100000};

static void test_check(void) {
    const ProtobufCMessageDescriptor *d = &trailmap__submit_events_request__descriptor;
    tm_error err;
    size_t est, n;

    /* a good SubmitEventsRequest: accepted, the estimate is not below what
     * unpacking takes, and within 4x + 64 KiB of its size */
    Trailmap__SubmitEventsRequest m = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    char *recs[] = {"{\"eventID\":\"a\"}", "", ("{\"eventID\":\"b\",\"x\":\"" /* long */ "0123456789012345678901234567890123456789\"}")};
    Trailmap__Document doc = TRAILMAP__DOCUMENT__INIT, *docs[] = {&doc, &doc};
    doc.name = "trail.json";
    uint8_t content[] = {'[', 0, ']'}; /* bytes may hold NUL */
    doc.content.data = content;
    doc.content.len = sizeof(content);
    m.records = recs;
    m.n_records = 3;
    m.documents = docs;
    m.n_documents = 2;
    m.session_key = "s";
    uint8_t *buf = pack(&m.base, &n);
    CHECK_INT(tm_wire_check(d, buf, n, &roomy, &est, &err), 0);
    size_t real = real_alloc(d, buf, n);
    CHECK(real != (size_t)-1 && est >= real);
    CHECK(est <= 4 * n + 65536);

    /* many empty records: the estimate grows with the element count, and
     * stays an upper bound */
    enum { MANY = 20000 };
    char **empty = calloc(MANY, sizeof(*empty));
    for (size_t i = 0; i < MANY; i++) empty[i] = "";
    Trailmap__SubmitEventsRequest e = TRAILMAP__SUBMIT_EVENTS_REQUEST__INIT;
    e.records = empty;
    e.n_records = MANY;
    size_t en;
    uint8_t *ebuf = pack(&e.base, &en);
    CHECK_INT(en, 2 * MANY);
    CHECK_INT(tm_wire_check(d, ebuf, en, &roomy, &est, &err), 0);
    real = real_alloc(d, ebuf, en);
    CHECK(est >= real);
    CHECK(est > 4 * en + 65536); /* so the server's 4x + 64 KiB rule refuses it */
    tm_wire_limits tight = {4 * en + 65536, 100000};
    CHECK_INT(tm_wire_check(d, ebuf, en, &tight, &est, &err), TM_ENOMEM);
    CHECK(strstr(err.msg, "allocate") != NULL);
    /* the element cap names the field */
    tm_wire_limits capped = {(size_t)1 << 30, MANY - 1};
    CHECK_INT(tm_wire_check(d, ebuf, en, &capped, &est, &err), TM_ENOMEM);
    CHECK(strstr(err.msg, "records") && strstr(err.msg, "19999"));
    capped.max_repeated = MANY;
    CHECK_INT(tm_wire_check(d, ebuf, en, &capped, &est, &err), 0);
    free(ebuf);
    free(empty);

    size_t n2;
    uint8_t *b2;
    /* an unknown field, at the top and inside a document */
    static const uint8_t f9[] = {0x4a, 0x01, 'x'};
    b2 = append(buf, n, f9, sizeof(f9), &n2);
    CHECK_INT(tm_wire_check(d, b2, n2, &roomy, &est, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "SubmitEventsRequest") && strstr(err.msg, "field 9"));
    free(b2);
    static const uint8_t doc_unknown[] = {0x12, 0x05, 0x0a, 0x01, 'n', 0x18, 0x01};
    CHECK_INT(tm_wire_check(d, doc_unknown, sizeof(doc_unknown), &roomy, &est, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "Document") && strstr(err.msg, "field 3"));
    /* a NUL in a string (a record, a document's name); not in bytes */
    static const uint8_t rec_nul[] = {0x0a, 0x03, 'a', 0, 'b'};
    CHECK_INT(tm_wire_check(d, rec_nul, sizeof(rec_nul), &roomy, &est, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "NUL") && strstr(err.msg, "records"));
    static const uint8_t name_nul[] = {0x12, 0x04, 0x0a, 0x02, 'n', 0};
    CHECK_INT(tm_wire_check(d, name_nul, sizeof(name_nul), &roomy, &est, &err), TM_EPARSE);
    static const uint8_t content_nul[] = {0x12, 0x04, 0x12, 0x02, 'n', 0};
    CHECK_INT(tm_wire_check(d, content_nul, sizeof(content_nul), &roomy, &est, &err), 0);
    /* a wrong wire type: session_key as a varint */
    static const uint8_t key_varint[] = {0x18, 0x05};
    CHECK_INT(tm_wire_check(d, key_varint, sizeof(key_varint), &roomy, &est, &err), TM_EPARSE);
    CHECK(strstr(err.msg, "session_key") != NULL);
    /* a truncated document */
    CHECK_INT(tm_wire_check(d, buf, n - 1, &roomy, &est, &err), TM_EPARSE);
    /* an empty payload is an empty message */
    CHECK_INT(tm_wire_check(d, NULL, 0, &roomy, &est, &err), 0);
    free(buf);

    /* scalars and a oneof: GetEventsRequest {key, all, page_size} */
    Trailmap__GetEventsRequest g = TRAILMAP__GET_EVENTS_REQUEST__INIT;
    g.key = "k";
    g.which_case = TRAILMAP__GET_EVENTS_REQUEST__WHICH_ALL;
    g.all = 1;
    g.page_size = 300;
    buf = pack(&g.base, &n);
    CHECK_INT(tm_wire_check(&trailmap__get_events_request__descriptor, buf, n, &roomy, &est, &err), 0);
    CHECK(est >= real_alloc(&trailmap__get_events_request__descriptor, buf, n));
    free(buf);
    /* page_size as a 64-bit value */
    static const uint8_t ps64[] = {0x29, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK_INT(tm_wire_check(&trailmap__get_events_request__descriptor, ps64, sizeof(ps64), &roomy, &est, &err),
              TM_EPARSE);
    /* a message with no fields takes none */
    static const uint8_t one[] = {0x08, 0x01};
    CHECK_INT(tm_wire_check(&trailmap__health_request__descriptor, one, sizeof(one), &roomy, &est, &err), TM_EPARSE);
}

int main(void) {
    test_request();
    test_check();
    return tm_test_done();
}

#!/usr/bin/env python3
"""sp_raw.py: a raw RPC client for trailmapd's limit tests.

Speaks nng's req0 over TCP by hand (the SP handshake: 8 bytes "\\0SP\\0",
protocol 0x30 req0 / 0x31 rep0, two zero bytes; then every message is a
64-bit big-endian length and the body; a req0 body starts with a 4-byte
request id with its high bit set) and writes the protobuf bytes itself, so
a test can send what no well-behaved client would: padding, NUL bytes,
millions of empty records, gzip bombs.

usage: sp_raw.py URL CASE [ARGS...]; prints one line per answer:
  status=NAME bytes=N [rejected=N listed=N] msg=...
"""
import socket
import struct
import sys
import threading
import zlib

STATUS = {0: "OK", 3: "INVALID_ARGUMENT", 5: "NOT_FOUND", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
          12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE", 16: "UNAUTHENTICATED"}


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def request(method, payload=b"", token=b"", extra=b"", rid=1):
    return field_bytes(1, method) + field_varint(2, rid) + field_bytes(3, token) + field_bytes(4, payload) + extra


def read_varint(b, i):
    x = s = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return x, i


def fields(b):
    """(number, value) of every field; value an int or bytes."""
    i, out = 0, []
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(b, i)
        elif wt == 2:
            n, i = read_varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        else:
            v, i = b[i:i + 4], i + 4
        out.append((num, v))
    return out


class Conn:
    def __init__(self, url):
        host, port = url.split("://", 1)[1].rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=300)
        self.s.sendall(b"\x00SP\x00\x00\x30\x00\x00")
        peer = self.recvn(8)
        if peer[:4] != b"\x00SP\x00" or peer[4:6] != b"\x00\x31":
            raise SystemExit("not an nng rep0 peer: %r" % peer)
        self.id = 0x80000001

    def recvn(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return bytes(buf)

    def call(self, body):
        self.id = 0x80000000 | ((self.id + 1) & 0x7FFFFFFF)
        msg = struct.pack(">I", self.id) + body
        self.s.sendall(struct.pack(">Q", len(msg)) + msg)
        n = struct.unpack(">Q", self.recvn(8))[0]
        return self.recvn(n)[4:]  # the request id header


def describe(reply):
    status, msg, payload = 0, b"", b""
    for num, v in fields(reply):
        if num == 2:
            status = v
        elif num == 3:
            msg = v
        elif num == 4:
            payload = v
    line = "status=%s bytes=%d" % (STATUS.get(status, str(status)), len(reply))
    return line, status, msg, payload


def submit_summary(payload):
    rejected = listed = 0
    for num, v in fields(payload):
        if num == 3:
            rejected = v
        elif num == 4:
            listed += 1
    return " rejected=%d listed=%d" % (rejected, listed)


def gzip_bomb(size):
    """gzip of `size` spaces: one member of 1 MiB, repeated (gzip members
    may follow each other), so a 1 GiB bomb takes a second to make."""
    def member(n):
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        return z.compress(b" " * n) + z.flush()
    mib = 1 << 20
    out = member(mib) * (size // mib)
    if size % mib:
        out += member(size % mib)
    return out


def one(url, body):
    reply = Conn(url).call(body)
    line, status, msg, payload = describe(reply)
    if status == 0 and payload and body.startswith(field_bytes(1, b"SubmitEvents")):
        line += submit_summary(payload)
    print(line + " msg=" + msg.decode("utf-8", "replace").replace("\n", " | "))


def flood(url, conns, per, body):
    """conns connections at once, per requests each; counts the answers."""
    counts, lock = {}, threading.Lock()

    def run():
        try:
            c = Conn(url)
            for _ in range(per):
                st = describe(c.call(body))[1]
                with lock:
                    counts[st] = counts.get(st, 0) + 1
        except Exception as e:  # a connection the server dropped
            with lock:
                counts["error:" + type(e).__name__] = counts.get("error:" + type(e).__name__, 0) + 1

    threads = [threading.Thread(target=run) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % (STATUS.get(k, k), v) for k, v in sorted(counts.items(), key=str)))


def hold(url, n, body):
    """n connections open at once, then one call on each; counts the answers."""
    conns, counts = [], {}
    for _ in range(n):
        conns.append(Conn(url))
    for c in conns:
        try:
            st = STATUS.get(describe(c.call(body))[1], "other")
        except (EOFError, OSError) as e:  # refused: closed by the server
            st = "closed"
        counts[st] = counts.get(st, 0) + 1
    for c in conns:
        c.s.close()
    print(" ".join("%s=%d" % kv for kv in sorted(counts.items())))


def main():
    url, case, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    tok = b""
    if args and args[-1].startswith("token="):
        tok = args.pop().encode()[6:].replace(b"\\0", b"\0")
    if case == "pad-request":  # RpcRequest{Health} + N bytes of unknown varint fields (5 = 0)
        n = int(args[0])
        one(url, request(b"Health", token=tok, extra=b"\x28\x00" * (n // 2)))
    elif case == "pad-payload":  # HealthRequest padded with N bytes of unknown fields
        n = int(args[0])
        one(url, request(b"Health", payload=b"\x08\x00" * (n // 2), token=tok))
    elif case == "empty-records":  # SubmitEvents with N empty records
        n = int(args[0])
        one(url, request(b"SubmitEvents", payload=b"\x0a\x00" * n + field_bytes(3, b"s"), token=tok))
    elif case == "junk-records":  # SubmitEvents with N records of L bytes that are not JSON
        n, l = int(args[0]), int(args[1])
        rec = field_bytes(1, b"x" * l)
        one(url, request(b"SubmitEvents", payload=rec * n + field_bytes(3, b"s"), token=tok))
    elif case == "bomb":  # SubmitEvents with one document of N spaces, gzip'd
        doc = field_bytes(1, b"bomb.json.gz") + field_bytes(2, gzip_bomb(int(args[0])))
        one(url, request(b"SubmitEvents", payload=field_bytes(2, doc), token=tok))
    elif case == "write-bomb":  # the same document into a file, for `trailmap map`
        with open(args[1], "wb") as f:
            f.write(gzip_bomb(int(args[0])))
    elif case == "method":  # any method name, "\0" for NUL
        one(url, request(args[0].encode().replace(b"\\0", b"\0"), token=tok))
    elif case == "file":  # an RpcRequest read from a file, sent as it is
        with open(args[0], "rb") as f:
            one(url, f.read())
    elif case == "zeros":  # SubmitEvents with a document "[0,0,...]" of N values (dense JSON)
        doc = b"[" + b"0," * (int(args[0]) - 1) + b"0]"
        one(url, request(b"SubmitEvents", payload=field_bytes(2, field_bytes(1, b"zeros.json") + field_bytes(2, doc)),
                         token=tok))
    elif case == "hold":  # N connections at once
        hold(url, int(args[0]), request(b"Health", token=tok))
    elif case == "health":
        one(url, request(b"Health", token=tok))
    elif case == "flood":  # CONNS PER [junk-records N L]
        conns, per = int(args[0]), int(args[1])
        if len(args) > 2:
            rec = field_bytes(1, b"x" * int(args[4]))
            body = request(b"SubmitEvents", payload=rec * int(args[3]) + field_bytes(3, b"s"), token=tok)
        else:
            body = request(b"Health", token=tok)
        flood(url, conns, per, body)
    else:
        raise SystemExit("unknown case " + case)


if __name__ == "__main__":
    main()

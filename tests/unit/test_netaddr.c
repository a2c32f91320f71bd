/* test_netaddr.c: only literal loopback addresses (and local sockets) count
 * as local; names that merely start like one do not. */
#include "netaddr.h"
#include "test.h"

static const struct {
    const char *url;
    int local;
} cases[] = {
    /* local sockets */
    {"ipc:///tmp/trailmap.sock", 1},
    {"inproc://x", 1},
    {"abstract://trailmap", 1},
    /* IPv4 loopback literals, the whole 127.0.0.0/8 */
    {"tcp://127.0.0.1:7470", 1},
    {"tcp://127.255.3.4:1", 1},
    {"tcp4://127.0.0.1:7470", 1},
    {"tls+tcp://127.0.0.1:7470", 1},
    {"http://127.0.0.1:7471", 1},
    {"http://127.0.0.1:7471/", 1},
    {"http://127.0.0.1", 1},
    {"https://127.0.0.1:8443/x", 1},
    /* IPv6 loopback, written any valid way */
    {"tcp://[::1]:7470", 1},
    {"tcp6://[::1]:7470", 1},
    {"http://[0:0:0:0:0:0:0:1]:7471", 1},
    /* the name localhost, exactly */
    {"tcp://localhost:7470", 1},
    {"http://localhost:7471", 1},
    /* names that only look local */
    {"tcp://127.0.0.1.example.com:7470", 0},
    {"tcp://127.example.com:7470", 0},
    {"tcp://localhost.evil:7470", 0},
    {"http://localhost.evil:7471", 0},
    {"tcp://localhostx:7470", 0},
    {"tcp://LOCALHOST.example:7470", 0},
    {"http://127.0.0.1.nip.io:7471", 0},
    {"http://user@127.0.0.1:7471", 0},
    {"http://127.0.0.1@evil.com:7471", 0},
    /* other addresses */
    {"tcp://0.0.0.0:7470", 0},
    {"tcp://*:7470", 0},
    {"tcp://:7470", 0},
    {"tcp://10.0.0.1:7470", 0},
    {"tcp://128.0.0.1:7470", 0},
    {"tcp://[::]:7470", 0},
    {"tcp://[::ffff:127.0.0.1]:7470", 0},
    {"tcp://[::1:7470", 0},
    {"tcp://example.com:7470", 0},
    /* not quite literals */
    {"tcp://127.1:7470", 0},
    {"tcp://0177.0.0.1:7470", 0},
    {"tcp://127.0.0.1 :7470", 0},
    /* ports */
    {"tcp://127.0.0.1", 0},
    {"tcp://127.0.0.1:", 0},
    {"tcp://127.0.0.1:0", 1}, /* any free port, still loopback */
    {"http://127.0.0.1:0", 1},
    {"tcp://0.0.0.0:0", 0},
    {"tcp://127.0.0.1:65536", 0},
    {"tcp://127.0.0.1:7470x", 0},
    {"tcp://127.0.0.1:7470/path", 0},
    {"http://127.0.0.1:/", 0},
    {"tcp://[::1]", 0},
    {"tcp://[::1]x:7470", 0},
    /* schemes */
    {"ws://127.0.0.1:7470", 0},
    {"127.0.0.1:7470", 0},
    {"", 0},
    {"tcp://", 0},
    {"http://", 0},
};

int main(void) {
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = tm_url_is_local(cases[i].url) != 0;
        if (got != cases[i].local) fprintf(stderr, "  %s: expected %d\n", cases[i].url, cases[i].local);
        CHECK_INT(got, cases[i].local);
    }
    CHECK_INT(tm_url_is_local(NULL), 0);
    return tm_test_done();
}

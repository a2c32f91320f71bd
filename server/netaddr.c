/* netaddr.c: is a listen URL loopback-only?  See netaddr.h. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* Local sockets never leave the machine. */
static const char *const local_schemes[] = {"ipc://", "inproc://", "abstract://"};
/* Network schemes whose host we judge; http(s) may carry a path. */
static const struct {
    const char *prefix;
    int web;
} net_schemes[] = {
    {"tcp://", 0}, {"tcp4://", 0}, {"tcp6://", 0}, {"tls+tcp://", 0}, {"http://", 1}, {"https://", 1},
};

/* host[0..len) is a loopback literal or exactly "localhost".  The host is
 * copied so inet_pton sees the whole of it and nothing after. */
static int host_is_loopback(const char *host, size_t len, int bracketed) {
    char buf[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    if (strcmp(buf, "localhost") == 0) return 1;
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) != 1) return 0; /* dotted quad, whole string */
    return (ntohl(a4.s_addr) >> 24) == 127;
}

/* p points after the host: ":PORT" (0-65535; 0 lets the system choose)
 * then the end, or for web URLs an optional port then the end or a path. */
static int tail_ok(const char *p, int web) {
    if (*p == ':') {
        p++;
        long port = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) port = port * 10 + (*p++ - '0'), digits++;
        if (digits == 0 || port > 65535) return 0;
    } else if (!web) {
        return 0; /* nng's tcp URLs need a port */
    }
    return *p == '\0' || (web && *p == '/');
}

int tm_url_is_local(const char *url) {
    if (!url) return 0;
    for (size_t i = 0; i < sizeof(local_schemes) / sizeof(local_schemes[0]); i++)
        if (strncmp(url, local_schemes[i], strlen(local_schemes[i])) == 0) return 1;
    for (size_t i = 0; i < sizeof(net_schemes) / sizeof(net_schemes[0]); i++) {
        size_t n = strlen(net_schemes[i].prefix);
        if (strncmp(url, net_schemes[i].prefix, n) != 0) continue;
        const char *h = url + n, *end;
        int bracketed = *h == '[';
        if (bracketed) {
            end = strchr(h, ']');
            if (!end) return 0;
            return host_is_loopback(h + 1, (size_t)(end - h - 1), 1) && tail_ok(end + 1, net_schemes[i].web);
        }
        end = h + strcspn(h, ":/");
        return host_is_loopback(h, (size_t)(end - h), 0) && tail_ok(end, net_schemes[i].web);
    }
    return 0;
}

/* netaddr.h: what a listen URL points at.
 *
 * Without --auth trailmapd listens on this machine only, so deciding what is
 * "this machine" must not be fooled by a name: tcp://127.0.0.1.example.com
 * or http://localhost.evil resolve wherever their owner likes.  Only
 * literal addresses count, parsed exactly. */
#ifndef TM_NETADDR_H
#define TM_NETADDR_H

/* Non-zero when url can only be reached from this machine:
 *   ipc://, inproc:// and abstract:// (local sockets), or
 *   tcp://, tcp4://, tcp6://, tls+tcp://, http://, https:// whose host is
 *   an IPv4 literal in 127.0.0.0/8, the IPv6 literal [::1], or exactly
 *   "localhost"; tcp-like schemes need ":PORT" (0-65535, 0 for any free
 *   port), http(s) may omit it, and a
 *   path may follow only for http(s).
 * Everything else (other names, 0.0.0.0, empty hosts, user@host, bad
 * ports, unknown schemes, NULL) is not local. */
int tm_url_is_local(const char *url);

#endif

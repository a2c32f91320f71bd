/* tls.h: the server certificate of trailmapd's TLS listeners (RPC and HTTP). */
#ifndef TM_TLS_H
#define TM_TLS_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "error.h"

/* Reads the PEM certificate and key files and sets them on cfg.  `url`
 * names the listener in messages. */
int tm_tls_own_cert(nng_tls_config *cfg, const char *url, const char *cert_path, const char *key_path,
                    tm_error *err);

#endif

#include "tls.h"

#include <stdlib.h>

#include "fileio.h"

int tm_tls_own_cert(nng_tls_config *cfg, const char *url, const char *cert_path, const char *key_path,
                    tm_error *err) {
    if (!cert_path || !key_path) return tm_error_set(err, TM_EINVAL, "%s needs --tls-cert and --tls-key", url);
    char *cert = NULL, *key = NULL;
    size_t len;
    int rc = tm_file_read(cert_path, &cert, &len, err);
    if (rc == 0) rc = tm_file_read(key_path, &key, &len, err);
    if (rc == 0) {
        int rv = nng_tls_config_own_cert(cfg, cert, key, NULL);
        if (rv) rc = tm_error_set(err, TM_EINVAL, "TLS setup for %s failed: %s", url, nng_strerror(rv));
    }
    free(cert);
    free(key);
    return rc;
}

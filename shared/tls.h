/* tls.h - the relay's own small PKI and certificate fingerprints.
 *
 * On its first start the relay makes a CA (ca.pem, ca.key) and a server certificate
 * signed by it (server.pem holding the leaf and the CA, server.key), all EC P-256 and
 * private keys mode 0600. Edges pin the server certificate by its SHA-256 fingerprint,
 * printed by `ongrid-relay run` and `ongrid-relay keys create`, so no public CA is needed
 * behind NAT or in an air-gapped VPC.
 */
#ifndef ONGRID_TLS_H
#define ONGRID_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "shared/diag.h"

#define TLS_FINGERPRINT_LEN (7 + 64) /* "sha256:" + 64 lowercase hex */

/* Make dir/ca.pem, ca.key, server.pem, server.key unless server.pem and server.key both
 * exist. hostname becomes the CN and a DNS SAN. *ret_created tells whether anything was
 * made. Returns 0 or -errno with d set. */
int tls_ensure_server_cert(const char *dir, const char *hostname, bool *ret_created,
                           struct diag *d);

/* The fingerprint of the first certificate in a PEM file, "sha256:<hex>"; out must hold
 * TLS_FINGERPRINT_LEN + 1 bytes. */
int tls_fingerprint_file(const char *pem_path, char *out, size_t outsz, struct diag *d);

/* The same for a DER certificate in memory (what a TLS peer sent). */
int tls_fingerprint_der(const unsigned char *der, size_t len, char *out, size_t outsz);

/* Compare fingerprints case-insensitively, ignoring ':' separators and an optional
 * "sha256:" prefix, so "SHA256:AB:CD:..." (openssl x509 -fingerprint) also matches. */
bool tls_fingerprint_equal(const char *a, const char *b);

#endif

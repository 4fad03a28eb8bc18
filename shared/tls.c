/* tls.c - CA and server certificate generation on first start; fingerprints. See tls.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "shared/str.h"
#include "shared/tls.h"
#include "shared/banned.h"

/* Ten years: a relay's identity is its pinned fingerprint, and rotating it means
 * re-enrolling every edge; expiry would only turn into an outage. */
#define CERT_DAYS 3650

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EIO;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -EIO;
}

static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                      const char *san)
{
	X509 *c = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (!c)
		return NULL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f; /* positive */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)))
		goto out;
	X509_set_version(c, 2);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), (long)CERT_DAYS * 86400);
	X509_set_pubkey(c, key);
	name = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"ongrid", -1, -1,
	                           0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	if (ca) {
		if (add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") < 0 ||
		    add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
		    add_ext(c, c, NID_subject_key_identifier, "hash") < 0)
			goto out;
	} else {
		if (add_ext(c, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(c, issuer, NID_key_usage, "critical,digitalSignature") < 0 ||
		    add_ext(c, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
		    add_ext(c, issuer, NID_subject_alt_name, san) < 0)
			goto out;
	}
	if (!X509_sign(c, issuer_key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	if (!ok) {
		X509_free(c);
		return NULL;
	}
	return c;
}

/* Write to path.tmp with mode, then rename: a crash never leaves half a key. */
static int write_pem(const char *dir, const char *name, mode_t mode, X509 *c1, X509 *c2,
                     EVP_PKEY *key, struct diag *d)
{
	char path[4096], tmp[4200];
	FILE *f;
	int fd, ok = 1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return diag_set(d, -errno, "cannot create '%s': %s", tmp, strerror(errno));
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return diag_set(d, -EIO, "cannot write '%s'", tmp);
	}
	if (c1)
		ok = ok && PEM_write_X509(f, c1);
	if (c2)
		ok = ok && PEM_write_X509(f, c2);
	if (key)
		ok = ok && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) < 0) {
		(void)unlink(tmp);
		return diag_set(d, -EIO, "cannot write '%s'", path);
	}
	return 0;
}

int tls_ensure_server_cert(const char *dir, const char *hostname, bool *ret_created, struct diag *d)
{
	char p1[4096], p2[4096], san[600];
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca = NULL, *srv = NULL;
	int r = -EIO;

	*ret_created = false;
	snprintf(p1, sizeof(p1), "%s/server.pem", dir);
	snprintf(p2, sizeof(p2), "%s/server.key", dir);
	if (access(p1, R_OK) == 0 && access(p2, R_OK) == 0)
		return 0;
	if (strlen(hostname) > 255)
		return diag_set(d, -EINVAL, "host name '%.40s...' is too long for a certificate",
		                hostname);
	snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1", hostname);
	ca_key = new_key();
	srv_key = new_key();
	if (!ca_key || !srv_key) {
		diag_set(d, -EIO, "cannot generate EC P-256 keys");
		goto out;
	}
	ca = new_cert(ca_key, "ongrid relay CA", NULL, ca_key, true, NULL);
	srv = ca ? new_cert(srv_key, hostname, ca, ca_key, false, san) : NULL;
	if (!srv) {
		diag_set(d, -EIO, "cannot make the relay's certificates");
		goto out;
	}
	r = write_pem(dir, "ca.key", 0600, NULL, NULL, ca_key, d);
	if (r == 0)
		r = write_pem(dir, "ca.pem", 0644, ca, NULL, NULL, d);
	if (r == 0)
		r = write_pem(dir, "server.key", 0600, NULL, NULL, srv_key, d);
	/* server.pem last: its presence is what says "done" on the next start. */
	if (r == 0)
		r = write_pem(dir, "server.pem", 0644, srv, ca, NULL, d);
	if (r == 0)
		*ret_created = true;
out:
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	return r;
}

int tls_fingerprint_file(const char *pem_path, char *out, size_t outsz, struct diag *d)
{
	unsigned char *der = NULL;
	FILE *f = fopen(pem_path, "re");
	X509 *c;
	int len, r;

	if (!f)
		return diag_set(d, -errno, "cannot open '%s': %s", pem_path, strerror(errno));
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!c)
		return diag_set(d, -EINVAL, "'%s' holds no PEM certificate", pem_path);
	len = i2d_X509(c, &der);
	X509_free(c);
	if (len <= 0)
		return diag_set(d, -EIO, "cannot encode the certificate in '%s'", pem_path);
	r = tls_fingerprint_der(der, (size_t)len, out, outsz);
	OPENSSL_free(der);
	if (r < 0)
		return diag_set(d, r, "cannot hash the certificate in '%s'", pem_path);
	return 0;
}

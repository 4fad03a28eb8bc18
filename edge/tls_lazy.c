/* tls_lazy.c - the TLS stack (libwebsockets, OpenSSL's libssl and libcrypto) mapped the
 * first time the edge uses it, not at start (shared/lazylib.h says why).
 *
 * Only the relay tunnel needs it: `ongrid-edge connect`, an investigation's session to the
 * relay, `connect --call`. The daemon (`ongrid-edge run`) never does, and linked the usual
 * way the three libraries cost it about 1.3 MiB of RSS: libcrypto's relocated data alone
 * is 392 KiB of dirty pages, for nothing.
 *
 * How: this file defines the few functions of theirs the edge calls, with their own names
 * and prototypes (the headers check them), so the linker resolves the edge's calls here
 * and, with --as-needed, leaves the libraries out of the executable's dependencies. The
 * first call loads libwebsockets (which brings libssl and libcrypto) and resolves them all.
 * These definitions are not exported (no -rdynamic), so they never interpose on the
 * libraries' own calls to each other. The relay links the libraries normally.
 *
 * A failure to load is fatal, exactly as it was when the dynamic linker did it at start:
 * the package is missing and no tunnel can work.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "shared/compiler.h"
#include "shared/lazylib.h"
#include "shared/banned.h"

static struct {
	/* libwebsockets */
	int (*callback_on_writable)(struct lws *);
	struct lws *(*client_connect_via_info)(const struct lws_client_connect_info *);
	void (*context_destroy)(struct lws_context *);
	struct lws_context *(*create_context)(const struct lws_context_creation_info *);
	void *(*get_opaque_user_data)(const struct lws *);
	SSL *(*get_ssl)(struct lws *);
	int (*is_final_fragment)(struct lws *);
	int (*is_first_fragment)(struct lws *);
	void (*set_log_level)(int, void (*)(int, const char *));
	void (*set_timeout)(struct lws *, enum pending_timeout, int);
	int (*write)(struct lws *, unsigned char *, size_t, enum lws_write_protocol);
	/* libssl.so.3 */
	X509 *(*ssl_get1_peer_certificate)(const SSL *);
	/* libcrypto.so.3 */
	int (*crypto_memcmp)(const void *, const void *, size_t);
	void (*crypto_free)(void *, const char *, int);
	int (*evp_digest)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *,
	                  ENGINE *);
	const EVP_MD *(*evp_sha256)(void);
	unsigned char *(*hmac)(const EVP_MD *, const void *, int, const unsigned char *, size_t,
	                       unsigned char *, unsigned int *);
	unsigned char *(*sha256)(const unsigned char *, size_t, unsigned char *);
	void (*x509_free)(X509 *);
	int (*i2d_x509)(const X509 *, unsigned char **);
	bool loaded;
} tls;

#define SYM(name, field)                  \
	{                                 \
		name, (void **)&tls.field \
	}

/* The soname of the libwebsockets the edge was built against (Debian 12: 4.1, package
 * libwebsockets17). lws has no macro for it; a build against another release stops here
 * rather than load a library whose ABI these prototypes do not describe. */
#define LWS_SONAME "libwebsockets.so.17"
_Static_assert(LWS_LIBRARY_VERSION_MAJOR == 4 && LWS_LIBRARY_VERSION_MINOR == 1,
               "libwebsockets other than 4.1: set LWS_SONAME to its soname");

static void load(void)
{
	static const struct lazylib_sym lws_syms[] = {
		SYM("lws_callback_on_writable", callback_on_writable),
		SYM("lws_client_connect_via_info", client_connect_via_info),
		SYM("lws_context_destroy", context_destroy),
		SYM("lws_create_context", create_context),
		SYM("lws_get_opaque_user_data", get_opaque_user_data),
		SYM("lws_get_ssl", get_ssl),
		SYM("lws_is_final_fragment", is_final_fragment),
		SYM("lws_is_first_fragment", is_first_fragment),
		SYM("lws_set_log_level", set_log_level),
		SYM("lws_set_timeout", set_timeout),
		SYM("lws_write", write),
	};
	static const struct lazylib_sym ssl_syms[] = {
		SYM("SSL_get1_peer_certificate", ssl_get1_peer_certificate),
	};
	static const struct lazylib_sym crypto_syms[] = {
		SYM("CRYPTO_memcmp", crypto_memcmp),
		SYM("CRYPTO_free", crypto_free),
		SYM("EVP_Digest", evp_digest),
		SYM("EVP_sha256", evp_sha256),
		SYM("HMAC", hmac),
		SYM("SHA256", sha256),
		SYM("X509_free", x509_free),
		SYM("i2d_X509", i2d_x509),
	};
	struct diag d = { 0 };

	if (tls.loaded)
		return;
	/* libwebsockets first: libssl and libcrypto come as its dependencies */
	if (lazylib_load(LWS_SONAME, lws_syms, ARRAY_SIZE(lws_syms), &d) < 0 ||
	    lazylib_load("libssl.so.3", ssl_syms, ARRAY_SIZE(ssl_syms), &d) < 0 ||
	    lazylib_load("libcrypto.so.3", crypto_syms, ARRAY_SIZE(crypto_syms), &d) < 0) {
		fprintf(stderr, "ongrid-edge: %s (the TLS libraries the relay tunnel needs)\n",
		        d.msg);
		exit(1);
	}
	tls.loaded = true;
}

/* ---- libwebsockets ------------------------------------------------------------------- */

int lws_callback_on_writable(struct lws *wsi)
{
	load();
	return tls.callback_on_writable(wsi);
}

struct lws *lws_client_connect_via_info(const struct lws_client_connect_info *ccinfo)
{
	load();
	return tls.client_connect_via_info(ccinfo);
}

void lws_context_destroy(struct lws_context *context)
{
	load();
	tls.context_destroy(context);
}

struct lws_context *lws_create_context(const struct lws_context_creation_info *info)
{
	load();
	return tls.create_context(info);
}

void *lws_get_opaque_user_data(const struct lws *wsi)
{
	load();
	return tls.get_opaque_user_data(wsi);
}

SSL *lws_get_ssl(struct lws *wsi)
{
	load();
	return tls.get_ssl(wsi);
}

int lws_is_final_fragment(struct lws *wsi)
{
	load();
	return tls.is_final_fragment(wsi);
}

int lws_is_first_fragment(struct lws *wsi)
{
	load();
	return tls.is_first_fragment(wsi);
}

void lws_set_log_level(int level, void (*log_emit_function)(int level, const char *line))
{
	load();
	tls.set_log_level(level, log_emit_function);
}

void lws_set_timeout(struct lws *wsi, enum pending_timeout reason, int secs)
{
	load();
	tls.set_timeout(wsi, reason, secs);
}

int lws_write(struct lws *wsi, unsigned char *buf, size_t len, enum lws_write_protocol protocol)
{
	load();
	return tls.write(wsi, buf, len, protocol);
}

/* ---- libssl, libcrypto --------------------------------------------------------------- */

X509 *SSL_get1_peer_certificate(const SSL *s)
{
	load();
	return tls.ssl_get1_peer_certificate(s);
}

int CRYPTO_memcmp(const void *in_a, const void *in_b, size_t len)
{
	load();
	return tls.crypto_memcmp(in_a, in_b, len);
}

void CRYPTO_free(void *ptr, const char *file, int line)
{
	load();
	tls.crypto_free(ptr, file, line);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl)
{
	load();
	return tls.evp_digest(data, count, md, size, type, impl);
}

const EVP_MD *EVP_sha256(void)
{
	load();
	return tls.evp_sha256();
}

unsigned char *HMAC(const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *data,
                    size_t data_len, unsigned char *md, unsigned int *md_len)
{
	load();
	return tls.hmac(evp_md, key, key_len, data, data_len, md, md_len);
}

unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md)
{
	load();
	return tls.sha256(d, n, md);
}

void X509_free(X509 *a)
{
	load();
	tls.x509_free(a);
}

int i2d_X509(const X509 *a, unsigned char **out)
{
	load();
	return tls.i2d_x509(a, out);
}

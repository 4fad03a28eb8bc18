/* tls_fingerprint.c - certificate fingerprints (tls.h), apart from the relay's PKI in
 * tls.c: the edge pins the relay's certificate with these and must not pull in the
 * certificate-making code and what it calls. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "shared/tls.h"
#include "shared/banned.h"

int tls_fingerprint_der(const unsigned char *der, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (outsz < TLS_FINGERPRINT_LEN + 1)
		return -EINVAL;
	if (!EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	memcpy(out, "sha256:", 7);
	for (unsigned i = 0; i < mdlen; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[7 + 2 * i + 1] = hex[md[i] & 15];
	}
	out[7 + 64] = '\0';
	return 0;
}

static const char *skip_prefix(const char *s)
{
	return strncasecmp(s, "sha256:", 7) == 0 ? s + 7 : s;
}

bool tls_fingerprint_equal(const char *a, const char *b)
{
	size_t n = 0;

	if (!a || !b)
		return false;
	a = skip_prefix(a);
	b = skip_prefix(b);
	for (;;) {
		while (*a == ':')
			a++;
		while (*b == ':')
			b++;
		if (!*a || !*b)
			break;
		char ca = *a >= 'A' && *a <= 'F' ? (char)(*a - 'A' + 'a') : *a;
		char cb = *b >= 'A' && *b <= 'F' ? (char)(*b - 'A' + 'a') : *b;
		if (ca != cb)
			return false;
		a++, b++, n++;
	}
	return !*a && !*b && n == 64;
}

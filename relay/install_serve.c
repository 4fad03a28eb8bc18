/* install_serve.c - the edge installer on the relay's HTTP listener (docs/install.md):
 * GET /install/edge.sh with this relay's WSS URL, certificate fingerprint, its own base
 * URL and the edge binary's SHA-256 filled in, and the files of install.dir (the edge
 * binary, its unit files). The script checks the binary against the hash it announced. */
#define LOG_MODULE "install"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "relay/httpd.h"
#include "relay/install_serve.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/compiler.h"
#include "shared/fsutil.h"
#include "shared/log.h"
#include "shared/str.h"
#include "shared/banned.h"

#define INSTALL_FILE_MAX (256u << 20) /* the edge binary is a few MiB */
#define SCRIPT_MAX       (256u << 10)

struct install {
	struct relay *relay;
	const struct relay_conf *conf;
};

/* The host part of a Host header ("relay:8444" -> "relay", "[::1]:8444" -> "[::1]"). */
static void host_part(const char *hosthdr, char *out, size_t outsz)
{
	const char *end = hosthdr + strlen(hosthdr);

	if (hosthdr[0] == '[') {
		const char *rb = strchr(hosthdr, ']');
		if (rb)
			end = rb + 1;
	} else if (strrchr(hosthdr, ':')) {
		end = strrchr(hosthdr, ':');
	}
	snprintf(out, outsz, "%.*s", (int)(end - hosthdr), hosthdr);
}

/* A Host header goes into a shell script: only host-name characters pass. */
static bool header_safe(const char *s)
{
	if (strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(".-_:[]", *s)))
			return false;
	return true;
}

static int sha256_file(const char *path, char out[65])
{
	char *data;
	size_t len;
	unsigned char md[32];
	unsigned int mdlen = 0;
	int r = read_file_max(path, INSTALL_FILE_MAX, &data, &len);

	if (r < 0)
		return r;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		free(data);
		return -EIO;
	}
	free(data);
	for (int i = 0; i < 32; i++)
		snprintf(out + (size_t)2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Replace every @NAME@ of vars in text. */
static int fill(struct buf *b, const char *text, const char *const vars[][2], size_t nvars)
{
	const char *p = text;

	while (*p) {
		const char *at = strchr(p, '@');
		bool done = false;
		if (!at)
			return buf_adds(b, p);
		if (buf_add(b, p, (size_t)(at - p)) < 0)
			return -ENOSPC;
		for (size_t i = 0; i < nvars && !done; i++) {
			size_t n = strlen(vars[i][0]);
			if (!strncmp(at, vars[i][0], n)) {
				if (buf_adds(b, vars[i][1]) < 0)
					return -ENOSPC;
				p = at + n;
				done = true;
			}
		}
		if (!done) {
			if (buf_addc(b, '@') < 0)
				return -ENOSPC;
			p = at + 1;
		}
	}
	return 0;
}

static void on_script(void *udata, const struct httpd_req *req, struct httpd_resp *resp)
{
	struct install *in = udata;
	const struct relay_conf *c = in->conf;
	char path[4096], host[300], wss[400], base[600], lhost[256], sha[65] = "";
	struct buf b = BUF_INIT(SCRIPT_MAX);
	char *script;
	size_t len;
	int port;
	struct diag d = { 0 };

	if (!header_safe(req->host)) {
		httpd_text(resp, 400, "malformed Host header");
		return;
	}
	snprintf(path, sizeof(path), "%s/install-edge.sh", c->install_dir);
	if (read_file_max(path, SCRIPT_MAX, &script, &len) < 0) {
		log_warn("cannot read %s: the installer is not served", path);
		httpd_text(resp, 404, "no installer in install.dir");
		return;
	}
	host_part(req->host[0] ? req->host : "localhost", host, sizeof(host));
	if (relay_conf_listen(c, lhost, sizeof(lhost), &port, &d) < 0)
		port = 8443;
	/* Edges reach the WSS port on the host name they reached this listener at, unless
	 * the relay listens on one specific address. */
	if (strcmp(lhost, "0.0.0.0") != 0 && strcmp(lhost, "::") != 0 && strcmp(lhost, "*") != 0)
		snprintf(host, sizeof(host), strchr(lhost, ':') ? "[%s]" : "%s", lhost);
	snprintf(wss, sizeof(wss), "%s://%s:%d/", c->tls_insecure ? "ws" : "wss", host, port);
	if (c->http_public_url[0])
		snprintf(base, sizeof(base), "%s", c->http_public_url);
	else
		snprintf(base, sizeof(base), "http://%s", req->host[0] ? req->host : "localhost");
	snprintf(path, sizeof(path), "%s/ongrid-edge", c->install_dir);
	if (sha256_file(path, sha) < 0)
		sha[0] = '\0';
	{
		const char *const vars[][2] = {
			{ "@RELAY_URL@", wss },
			{ "@FINGERPRINT@", relay_fingerprint(in->relay) },
			{ "@BASE_URL@", base },
			{ "@EDGE_SHA256@", sha },
		};
		if (fill(&b, script, vars, ARRAY_SIZE(vars)) < 0) {
			free(script);
			buf_release(&b);
			httpd_text(resp, 500, "the installer is too large");
			return;
		}
	}
	free(script);
	resp->status = 200;
	resp->content_type = "text/x-shellscript";
	resp->body = buf_detach(&b, &resp->len);
	log_info("served the edge installer to %s", req->peer);
}

static void serve_file(struct install *in, const char *name, const char *type,
                       const struct httpd_req *req, struct httpd_resp *resp)
{
	char path[4096];
	char *data;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/%s", in->conf->install_dir, name);
	r = read_file_max(path, INSTALL_FILE_MAX, &data, &len);
	if (r < 0) {
		log_warn("cannot serve %s: %s", path, strerror(-r));
		httpd_text(resp, 404, "%s is not in install.dir", name);
		return;
	}
	resp->status = 200;
	resp->content_type = type;
	resp->body = data;
	resp->len = len;
	log_info("served %s to %s", name, req->peer);
}

static void on_binary(void *udata, const struct httpd_req *req, struct httpd_resp *resp)
{
	serve_file(udata, "ongrid-edge", "application/octet-stream", req, resp);
}

static void on_unit(void *udata, const struct httpd_req *req, struct httpd_resp *resp)
{
	serve_file(udata, req->path + strlen("/install/"), "text/plain", req, resp);
}

int install_serve_start(struct relay *r, struct httpd *h, const struct relay_conf *conf)
{
	struct install *in;

	if (!conf->install_dir || !conf->install_dir[0])
		return 0;
	in = xcalloc(1, sizeof(*in));
	in->relay = r;
	in->conf = conf;
	relay_at_free(r, free, in);
	if (httpd_route(h, "GET", "/install/edge.sh", on_script, in) < 0 ||
	    httpd_route(h, "GET", "/install/ongrid-edge", on_binary, in) < 0 ||
	    httpd_route(h, "GET", "/install/ongrid-edge.service", on_unit, in) < 0 ||
	    httpd_route(h, "GET", "/install/ongrid-edge-tunnel.service", on_unit, in) < 0)
		return -ENOSPC;
	log_info("serving the edge installer from %s", conf->install_dir);
	return 0;
}

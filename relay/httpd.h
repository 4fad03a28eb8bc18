/* httpd.h - the relay's small plain-HTTP listener (http.listen) on its libev loop.
 *
 * It serves a handful of exact paths: Alertmanager webhooks (relay/alerts.c) and the edge
 * installer (relay/install_serve.c). One request per connection (Connection: close),
 * Content-Length bodies only, every size and time bounded (HTTPD_* below), and at most
 * HTTPD_MAX_CONNS connections at once. Handlers answer synchronously: anything slow
 * (an investigation) is started from the handler and finishes later on the loop.
 * No TLS: keep it on loopback or a trusted network, or put a TLS proxy in front.
 */
#ifndef ONGRID_RELAY_HTTPD_H
#define ONGRID_RELAY_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "shared/compiler.h"
#include "shared/diag.h"

#define HTTPD_MAX_HEAD   16384 /* request line + headers */
#define HTTPD_MAX_CONNS  64
#define HTTPD_TIMEOUT_MS 10000 /* to receive a whole request */
#define HTTPD_MAX_ROUTES 16

struct httpd;

/* One parsed request; every string is valid during the handler only. */
struct httpd_req {
	const char *method; /* "GET", "POST" */
	const char *path;   /* without the query */
	const char *query;  /* after '?', or "" */
	const char *host;   /* Host header, or "" */
	const char *authorization;
	const char *content_type;
	const char *peer; /* "127.0.0.1:50412" */
	const char *body;
	size_t body_len;
};

/* What a handler fills in; body is malloc'd and taken by httpd (NULL: empty). */
struct httpd_resp {
	int status;
	const char *content_type; /* static string */
	char *body;
	size_t len;
	const char *www_authenticate; /* static string, for 401 */
};

typedef void httpd_handler_fn(void *udata, const struct httpd_req *req, struct httpd_resp *resp);

/* Listen on "host:port" ("[v6]:port"). -EINVAL (malformed) or -errno with d set. */
int httpd_new(struct ev_loop *loop, const char *addr, uint64_t max_body, struct httpd **ret,
              struct diag *d);
/* Close the listener and every connection. NULL-safe. */
void httpd_free(struct httpd *h);
/* The port actually bound (for "host:0"). */
int httpd_port(const struct httpd *h);
/* Serve method + exact path with fn. -ENOSPC past HTTPD_MAX_ROUTES. A path with another
 * method gets 405, an unknown path 404. */
int httpd_route(struct httpd *h, const char *method, const char *path, httpd_handler_fn *fn,
                void *udata);

/* Response helpers: a text/plain line, or JSON (borrowed). */
void httpd_text(struct httpd_resp *resp, int status, const char *fmt, ...) _printf_(3, 4);
void httpd_json(struct httpd_resp *resp, int status, const cJSON *o);

/* Parse a request head (request line + headers, up to and without the blank line) in
 * place: head is modified and req points into it. Returns 0, or an HTTP status (400,
 * 414, 501, 505) with why set. *ret_clen gets Content-Length (-1 when absent), *expect100
 * whether the client waits for "100 Continue". Pure; fuzzed by fuzz_httpd_head.c. */
int httpd_parse_head(char *head, struct httpd_req *req, int64_t *ret_clen, int *expect100,
                     const char **why);

#endif

/* http_metrics.h - the edge's tiny HTTP/1.1 server for Prometheus: GET /metrics and
 * GET /healthz, nothing else.
 *
 * It runs on the daemon's libev loop. Every connection is bounded: the request head may
 * be at most HTTP_METRICS_REQUEST_MAX bytes and must arrive within
 * HTTP_METRICS_TIMEOUT_MS, at most HTTP_METRICS_MAX_CONNS connections are open at once,
 * and each answer closes its connection (Connection: close), so no state outlives one
 * request. The listening address comes from metrics.listen and is loopback by default.
 */
#ifndef ONGRID_HTTP_METRICS_H
#define ONGRID_HTTP_METRICS_H

#include <sys/socket.h>

#include <ev.h>

#include "shared/buf.h"
#include "shared/diag.h"

#define HTTP_METRICS_REQUEST_MAX 8192
#define HTTP_METRICS_TIMEOUT_MS  10000
#define HTTP_METRICS_MAX_CONNS   16
#define HTTP_METRICS_BODY_MAX    (32u << 20) /* the exposition of one round */

/* Fill body with the current exposition. Returns 0 or a negative errno (503 then). */
typedef int http_metrics_render_fn(void *udata, struct buf *body);

struct http_metrics;

/* Listen on listen ("127.0.0.1:9256", "[::1]:9256"; numeric addresses only). A bad
 * address is -EINVAL with d naming it; a busy port is -EADDRINUSE. */
int http_metrics_start(struct ev_loop *loop, const char *listen, http_metrics_render_fn *render,
                       void *udata, struct http_metrics **ret, struct diag *d);
/* The port actually bound (useful with port 0). */
int http_metrics_port(const struct http_metrics *h);
/* Close the listener and every open connection. NULL-safe. */
void http_metrics_stop(struct http_metrics *h);

/* Split "HOST:PORT" or "[V6]:PORT" into a socket address. */
int http_metrics_parse_listen(const char *listen, struct sockaddr_storage *ret, unsigned *ret_len,
                              struct diag *d);

#endif

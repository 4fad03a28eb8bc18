/* ctl.h - the control socket: how the CLI reaches a running ongrid-edge daemon.
 *
 * A Unix stream socket (mode 0600 in a 0700 directory: root only). The client writes one
 * JSON object terminated by "\n" and reads one JSON line back:
 *     request   {"cmd": "query", ...arguments...}
 *     response  {"ok": true, "result": ...}  or  {"ok": false, "error": "...", "code": 2}
 * `code` is the exit status the CLI should use (2 bad input, 1 run-time failure).
 * Requests are capped at ONGRID_JSON_MAX_BYTES; a malformed one gets an error response.
 */
#ifndef ONGRID_CTL_H
#define ONGRID_CTL_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

/* Handle one request. On success set *ret_result (ownership passes to the server) and
 * return 0; on failure return a negative errno with d set (-EINVAL means bad input). */
typedef int ctl_handler_fn(void *udata, const cJSON *req, cJSON **ret_result, struct diag *d);

struct ctl_server;

int ctl_server_open(const char *path, struct ctl_server **ret, struct diag *d);
void ctl_server_register(struct ctl_server *s, const char *cmd, ctl_handler_fn *fn, void *udata);
int ctl_server_fd(const struct ctl_server *s); /* listening fd, for the event loop */
void ctl_server_accept(struct ctl_server *s);  /* call when the fd is readable */
void ctl_server_close(struct ctl_server *s);   /* unlinks the socket; NULL-safe */

/* Client side. Returns 0 with *ret_result set (caller cJSON_Delete()s), -ENOENT or
 * -ECONNREFUSED when no daemon listens (the caller then works on its own), -ETIMEDOUT, or
 * the error the daemon reported (d holds its message; d->code its exit-status class). */
int ctl_call(const char *path, const cJSON *req, int64_t timeout_ms, cJSON **ret_result,
             struct diag *d);

#endif

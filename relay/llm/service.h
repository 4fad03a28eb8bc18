/* service.h - the LLM router as a relay module: edges send "llm.request" and get the
 * neutral response back; the router runs on the relay's libev loop.
 *
 *   request payload  {"purpose": "investigate", "incident": "inc-42",   (incident optional)
 *                     "request": {neutral request, docs/llm.md}}
 *   reply payload    the neutral response (llm_response_to_json)
 *   errors           bad_request (malformed request, unknown purpose), budget_exhausted
 *                    (a llm.budget.* cap), unavailable (every route failed), busy
 */
#ifndef ONGRID_LLM_SERVICE_H
#define ONGRID_LLM_SERVICE_H

#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/diag.h"

struct llm_service;

/* Create the router on the relay's loop and register "llm.request". Freed by relay_free;
 * found by other modules as relay module "llm". */
int llm_service_start(struct relay *r, const struct relay_conf *conf, struct diag *d);

/* SIGHUP: use conf (borrowed, must outlive the service or the next reload) for calls
 * from now on; calls in flight finish on the routes they resolved. */
int llm_service_reload(struct llm_service *s, const struct relay_conf *conf, struct diag *d);

/* The llm section in use: the start-up configuration's or the last reload's. */
const struct llm_conf *llm_service_conf(const struct llm_service *s);

#endif

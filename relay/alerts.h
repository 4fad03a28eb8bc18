/* alerts.h - Alertmanager webhooks into investigations (docs/alerts.md).
 *
 * POST /alerts/alertmanager on the relay's HTTP listener (relay/httpd.h), authenticated
 * with alerts.token (Bearer) or alerts.user/password (Basic). Each alert of a payload
 * (version 4) is routed by its instance label (host[:port]; an ongrid_edge label wins) to
 * a connected edge. A firing alert not seen before (fingerprint + startsAt) opens a
 * thread in its channel (alerts.channel, or its ongrid_channel label) and the edge
 * investigates there; repeats are counted, not re-posted. A resolved alert is posted in
 * the same thread. Rows: relay.sqlite table alerts (alert <-> incident <-> thread).
 */
#ifndef ONGRID_RELAY_ALERTS_H
#define ONGRID_RELAY_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/diag.h"

#define ALERTS_LABEL_MAX  256 /* bytes of one label value kept */
#define ALERTS_LABELS_MAX 64  /* labels per alert */
#define ALERTS_FIELD_MAX  1024

/* One alert of a webhook, validated; strings point into the parsed JSON. */
struct alert {
	const char *status; /* "firing" | "resolved" */
	const char *fingerprint;
	const char *starts_at, *ends_at;
	const char *alertname, *instance, *severity, *summary, *description;
	const char *edge_label, *channel_label; /* ongrid_edge, ongrid_channel; may be NULL */
	const cJSON *labels, *annotations;
};

/* Check a payload: version "4", an alerts array, each alert with a status, labels (an
 * object of strings) and a fingerprint or labels to make one. Calls fn for each alert
 * up to max (the count of the rest is returned in *ret_dropped). -EINVAL with d naming
 * the offending field ("alerts[2].labels: expected an object"). Pure; fuzzed by
 * tests/fuzz/fuzz_alerts.c. */
typedef void alerts_fn(void *udata, const struct alert *a);
int alerts_parse(const cJSON *payload, size_t max, alerts_fn *fn, void *udata, size_t *ret_dropped,
                 struct diag *d);

/* Whether "host[:port]" names edge (its name, its first label, or its address's host). */
int alerts_instance_matches(const char *instance, const char *edge_name, const char *edge_address);

/* Check an Authorization header against the alerts.* keys: 0, -EACCES (wrong or absent),
 * -ENOKEY (no credential is configured). Constant-time on the secret. */
int alerts_check_auth(const struct relay_conf *c, const char *authorization);

struct httpd;
int alerts_start(struct relay *r, const struct relay_conf *conf, struct diag *d);

#endif

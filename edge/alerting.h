/* alerting.h - local alert rules in the running daemon (docs/alerts.md).
 *
 * A timer evaluates the rules (edge/alert_rules.h) every alerts.interval against the
 * daemon's store. A rule that starts firing, and one that resolves, is queued in the
 * outbox as kind "alert" (the relay opens a thread for it, as for an Alertmanager alert);
 * a firing one also starts `ongrid-edge investigate` in a child process (at most
 * ALERTING_MAX_RUNNING at once), whose report is queued as an "alert" of state "report".
 */
#ifndef ONGRID_EDGE_ALERTING_H
#define ONGRID_EDGE_ALERTING_H

#include <cjson/cJSON.h>
#include <ev.h>

#include "edge/alert_rules.h"
#include "edge/edge.h"
#include "edge/tsdb/tsdb.h"
#include "shared/diag.h"

#define ALERTING_MAX_RUNNING 2 /* investigations started by alerts at once */

struct alerting;

/* Load the rules (-EINVAL with d naming the bad rule: a configuration error) and start
 * the timer on loop. conf and db are borrowed; conf_path (NULL: the default) is passed
 * to the investigations. *ret is NULL when alerts.interval is 0. */
int alerting_start(struct ev_loop *loop, const struct edge_conf *conf, const char *conf_path,
                   struct tsdb *db, struct alerting **ret, struct diag *d);
/* SIGHUP: the daemon's configuration (conf, as borrowed by alerting_start) has been
 * replaced; rules (loaded by the caller from it, owned by alerting from here on) replace
 * the old ones, which hand over the state of the rules that did not change
 * (alert_rules_adopt), and the timer follows alerts.interval. */
void alerting_reload(struct alerting *a, struct alert_rules *rules);
/* Stop the timer; running investigations are left to finish on their own. NULL-safe. */
void alerting_stop(struct alerting *a);
/* For the control socket's "alerts": {rules: [...], fired, resolved, investigations}. */
cJSON *alerting_json(const struct alerting *a);

#endif

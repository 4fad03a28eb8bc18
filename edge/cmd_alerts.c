/* cmd_alerts.c - `ongrid-edge alerts`: the local alert rules and what is pending or
 * firing (from the running daemon), the built-in rules (--defaults), or a check of a
 * rules file (--check FILE) before the daemon is pointed at it (docs/alerts.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/alert_rules.h"
#include "edge/ctl.h"
#include "edge/edge.h"
#include "shared/cli.h"
#include "shared/json.h"
#include "shared/banned.h"

#define ALERTS_CTL_TIMEOUT_MS 5000

static const char *jstr(const cJSON *o, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
	return s ? s : "";
}

static void print_text(const cJSON *res)
{
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(res, "rules"), *r;

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "on"))) {
		printf("local alerting is off (alerts.interval = 0)\n");
		return;
	}
	cJSON_ArrayForEach(r, rules) {
		const cJSON *act = cJSON_GetObjectItemCaseSensitive(r, "active"), *a;
		int n = cJSON_GetArraySize(act);
		printf("%-22s %-8s %s\n", jstr(r, "name"), n ? "active" : "ok", jstr(r, "summary"));
		cJSON_ArrayForEach(a, act) {
			char *l = json_print(cJSON_GetObjectItemCaseSensitive(a, "labels"), false);
			printf("  %-8s %s value %g\n", jstr(a, "state"), l,
			       cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(a, "value")));
			free(l);
		}
	}
}

int cmd_alerts(int argc, char **argv)
{
	const char *path = NULL, *check = NULL;
	bool json = false, defaults = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
		{ "defaults", 0, false, NULL, &defaults },
		{ "check", 0, true, &check, NULL },
	};
	struct edge_conf conf;
	struct diag d = { 0 };
	cJSON *req, *res = NULL;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-edge", "alerts", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs != 0) {
		fprintf(stderr,
		        "usage: ongrid-edge alerts [-c FILE] [--json] | alerts --defaults | "
		        "alerts --check FILE\n");
		return 2;
	}
	if (defaults) {
		fputs(alert_rules_defaults(), stdout);
		return 0;
	}
	if (check) {
		struct alert_rules *rs;
		r = alert_rules_load(check, false, &rs, &d);
		if (r < 0) {
			fprintf(stderr, "ongrid-edge alerts: %s\n", d.msg);
			return r == -EINVAL ? 2 : 1;
		}
		printf("%zu rules OK\n", alert_rules_count(rs));
		alert_rules_free(rs);
		return 0;
	}
	r = edge_conf_load(&conf, path);
	if (r)
		return r;
	req = json_obj();
	json_add_str(req, "cmd", "alerts");
	r = ctl_call(conf.control_socket, req, ALERTS_CTL_TIMEOUT_MS, &res, &d);
	cJSON_Delete(req);
	if (r == -ENOENT || r == -ECONNREFUSED) {
		fprintf(stderr,
		        "ongrid-edge alerts: no daemon answers on %s; rules are evaluated by "
		        "`ongrid-edge run`\n",
		        conf.control_socket);
		edge_conf_release(&conf);
		return 1;
	}
	edge_conf_release(&conf);
	if (r < 0) {
		fprintf(stderr, "ongrid-edge alerts: %s\n", d.msg[0] ? d.msg : strerror(-r));
		return 1;
	}
	if (json)
		r = json_print_stdout(res, true) < 0 ? 1 : 0;
	else
		print_text(res);
	cJSON_Delete(res);
	return r;
}

/* cmd_keys.c - `ongrid-relay keys create NAME | list | revoke NAME`: enrol edges.
 *
 * create prints the access key, the secret (shown this once; only its derived verifier
 * is stored) and the relay certificate's fingerprint, as an edge.conf fragment ready to
 * paste. revoke takes effect on a running relay within a second: live connections with
 * that key are cut (relay_core.c watches the database).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/db.h"
#include "relay/keys.h"
#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/cli.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/tls.h"
#include "shared/banned.h"

static int keys_create_cmd(sqlite3 *db, const struct relay_conf *conf, const char *name,
                           const char *role, bool json)
{
	char secret[AUTH_SECRET_LEN + 1], fp[TLS_FINGERPRINT_LEN + 1];
	struct relay_key k;
	struct diag d = { 0 };
	int r;

	if (!keys_valid_name(name)) {
		fprintf(stderr,
		        "ongrid-relay keys: key name '%s': expected 1-64 characters of "
		        "[A-Za-z0-9._-]\n",
		        name);
		return 2;
	}
	if (!keys_valid_role(role)) {
		fprintf(stderr,
		        "ongrid-relay keys: role '%s': expected safe-read, safe-write or "
		        "dangerous\n",
		        role);
		return 2;
	}
	/* The fingerprint first: a key without a way to reach the relay is no use. */
	r = relay_prepare_tls(conf, fp, sizeof(fp));
	if (r)
		return r;
	r = keys_create(db, name, role, &k, secret, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay keys: %s\n", d.msg);
		return r == -EEXIST ? 2 : 1;
	}
	if (relay_db_audit(db, "key.created", NULL, k.name, "role %s", k.role) < 0)
		fprintf(stderr, "ongrid-relay keys: cannot write the audit row, ignoring\n");
	if (json) {
		cJSON *o = json_obj();
		json_add_str(o, "name", k.name);
		json_add_str(o, "access_key", k.access_key);
		json_add_str(o, "secret_key", secret);
		json_add_str(o, "role", k.role);
		json_add_str(o, "fingerprint", fp);
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
		cJSON_Delete(o);
	} else {
		printf("# edge.conf for '%s' (role %s). The secret is shown only now.\n", k.name,
		       k.role);
		printf("relay: {\n");
		printf("  url = \"%s://RELAY-HOST:%s/\";\n", conf->tls_insecure ? "ws" : "wss",
		       strrchr(conf->listen, ':') ? strrchr(conf->listen, ':') + 1 : "8443");
		printf("  access_key = \"%s\";\n", k.access_key);
		printf("  secret_key = \"%s\";\n", secret);
		if (fp[0])
			printf("  fingerprint = \"%s\";\n", fp);
		else
			printf("  insecure = true;  # the relay serves plain ws://\n");
		printf("};\n");
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	memset(secret, 0, sizeof(secret));
	return r;
}

static int keys_list_cmd(sqlite3 *db, bool json)
{
	struct diag d = { 0 };
	cJSON *arr, *k;
	int r;

	r = keys_list(db, &arr, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay keys: %s\n", d.msg);
		return 1;
	}
	if (json) {
		r = json_print_stdout(arr, true) < 0 ? 1 : 0;
	} else {
		printf("%-24s %-28s %-10s %-22s %s\n", "NAME", "ACCESS KEY", "ROLE", "CREATED",
		       "REVOKED");
		cJSON_ArrayForEach(k, arr) {
			const cJSON *rv = cJSON_GetObjectItem(k, "revoked");
			printf("%-24s %-28s %-10s %-22s %s\n",
			       cJSON_GetObjectItem(k, "name")->valuestring,
			       cJSON_GetObjectItem(k, "access_key")->valuestring,
			       cJSON_GetObjectItem(k, "role")->valuestring,
			       cJSON_GetObjectItem(k, "created")->valuestring,
			       cJSON_IsString(rv) ? rv->valuestring : "-");
		}
		r = fflush(stdout) == 0 ? 0 : 1;
	}
	cJSON_Delete(arr);
	return r;
}

static int keys_revoke_cmd(sqlite3 *db, const char *name)
{
	struct diag d = { 0 };
	int r = keys_revoke(db, name, &d);

	if (r < 0) {
		fprintf(stderr, "ongrid-relay keys: %s\n", d.msg);
		return r == -EIO ? 1 : 2;
	}
	if (relay_db_audit(db, "key.revoked", NULL, name, "revoked from the command line") < 0)
		fprintf(stderr, "ongrid-relay keys: cannot write the audit row, ignoring\n");
	printf("revoked key '%s'; a running relay disconnects its edges within a second\n", name);
	return 0;
}

int cmd_keys(int argc, char **argv)
{
	const char *path = NULL, *role = "safe-read";
	bool json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "role", 0, true, &role, NULL },
		{ "json", 0, false, NULL, &json },
	};
	struct relay_conf conf;
	struct diag d = { 0 };
	sqlite3 *db = NULL;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "keys", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs < 1 || (strcmp(args[0], "list") != 0 && nargs != 2) ||
	    (strcmp(args[0], "list") == 0 && nargs != 1)) {
		fprintf(stderr,
		        "usage: ongrid-relay keys create NAME [--role ROLE] [--json] | list "
		        "[--json] | revoke NAME\n");
		return 2;
	}
	if (strcmp(args[0], "create") != 0 && strcmp(args[0], "list") != 0 &&
	    strcmp(args[0], "revoke") != 0) {
		fprintf(stderr,
		        "ongrid-relay keys: unknown subcommand '%s' (create, list or revoke)\n",
		        args[0]);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	if (relay_db_open(conf.data_dir, &db, &d) < 0) {
		fprintf(stderr, "ongrid-relay keys: %s\n", d.msg);
		relay_conf_release(&conf);
		return 1;
	}
	if (!strcmp(args[0], "create"))
		r = keys_create_cmd(db, &conf, args[1], role, json);
	else if (!strcmp(args[0], "list"))
		r = keys_list_cmd(db, json);
	else
		r = keys_revoke_cmd(db, args[1]);
	db_close(db);
	relay_conf_release(&conf);
	return r;
}

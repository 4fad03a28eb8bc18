/* cmd_enrol.c - `ongrid-relay enrol NAME`: a new edge key and the one command that
 * installs and enrols that host from the relay's HTTP listener (docs/install.md);
 * `enrol --fingerprint` makes the certificate if needed and prints its fingerprint
 * (install/install.sh uses it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "relay/db.h"
#include "relay/keys.h"
#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/auth.h"
#include "shared/cli.h"
#include "shared/db.h"
#include "shared/json.h"
#include "shared/tls.h"
#include "shared/banned.h"

int cmd_enrol(int argc, char **argv)
{
	const char *path = NULL, *role = "safe-read", *url = NULL;
	bool fp_only = false, json = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL }, { "role", 0, true, &role, NULL },
		{ "url", 0, true, &url, NULL },       { "fingerprint", 0, false, NULL, &fp_only },
		{ "json", 0, false, NULL, &json },
	};
	struct relay_conf conf;
	struct relay_key k;
	struct diag d = { 0 };
	char fp[TLS_FINGERPRINT_LEN + 1], secret[AUTH_SECRET_LEN + 1], host[256], base[512];
	sqlite3 *db = NULL;
	char **args;
	int nargs, port, r;

	r = cli_parse("ongrid-relay", "enrol", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if ((fp_only && nargs != 0) || (!fp_only && nargs != 1)) {
		fprintf(stderr,
		        "usage: ongrid-relay enrol NAME [--role ROLE] [--url BASE] [-c FILE] "
		        "| enrol --fingerprint\n");
		return 2;
	}
	if (!fp_only && !keys_valid_name(args[0])) {
		fprintf(stderr,
		        "ongrid-relay enrol: edge name '%s': expected 1-64 characters of "
		        "[A-Za-z0-9._-]\n",
		        args[0]);
		return 2;
	}
	if (!keys_valid_role(role)) {
		fprintf(stderr,
		        "ongrid-relay enrol: role '%s': expected safe-read, safe-write or "
		        "dangerous\n",
		        role);
		return 2;
	}
	if (url && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		fprintf(stderr, "ongrid-relay enrol: --url '%s': expected http://HOST:PORT\n", url);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	r = relay_prepare_tls(&conf, fp, sizeof(fp));
	if (r)
		goto out;
	if (fp_only) {
		printf("%s\n", fp[0] ? fp : "none (tls.insecure)");
		goto out;
	}
	if (!url && !conf.http_public_url[0] && !conf.http_listen[0]) {
		fprintf(stderr, "ongrid-relay enrol: http.listen is off, so the relay serves no "
		                "installer: set http.listen (and install.dir), or pass --url\n");
		r = 2;
		goto out;
	}
	if (relay_db_open(conf.data_dir, &db, &d) < 0) {
		fprintf(stderr, "ongrid-relay enrol: %s\n", d.msg);
		r = 1;
		goto out;
	}
	r = keys_create(db, args[0], role, &k, secret, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay enrol: %s\n", d.msg);
		r = r == -EEXIST ? 2 : 1;
		goto out;
	}
	r = 0;
	(void)relay_db_audit(db, "key.created", NULL, k.name, "role %s (enrol)", k.role);
	if (url)
		snprintf(base, sizeof(base), "%s", url);
	else if (conf.http_public_url[0])
		snprintf(base, sizeof(base), "%s", conf.http_public_url);
	else
		snprintf(base, sizeof(base), "http://%s", conf.http_listen);
	if (relay_conf_listen(&conf, host, sizeof(host), &port, &d) < 0)
		port = 8443;
	if (json) {
		cJSON *o = json_obj();
		json_add_str(o, "name", k.name);
		json_add_str(o, "access_key", k.access_key);
		json_add_str(o, "secret_key", secret);
		json_add_str(o, "role", k.role);
		json_add_str(o, "fingerprint", fp);
		json_add_str(o, "installer", base);
		r = json_print_stdout(o, true) < 0 ? 1 : 0;
		cJSON_Delete(o);
	} else {
		printf("# On the host '%s', as root (the secret is shown only now):\n", k.name);
		printf("curl -fsSL %s/install/edge.sh | sh -s -- --name %s --access-key %s "
		       "--secret-key %s\n",
		       base, k.name, k.access_key, secret);
		printf("# The script pins this relay's certificate: %s\n", fp);
		if (!strncmp(base, "http://0.0.0.0", 14))
			printf("# Replace 0.0.0.0 with an address the host reaches this relay at "
			       "(or set http.public_url).\n");
	}
out:
	db_close(db);
	relay_conf_release(&conf);
	return r;
}

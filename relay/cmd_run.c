/* cmd_run.c - `ongrid-relay run`: the relay daemon in the foreground. */
#define LOG_MODULE "relay"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ev.h>

#include "relay/db.h"
#include "relay/llm/service.h"
#include "relay/modules.h"
#include "relay/relay.h"
#include "relay/relay_core.h"
#include "shared/alloc.h"
#include "shared/cli.h"
#include "shared/db.h"
#include "shared/log.h"
#include "shared/tls.h"
#include "shared/banned.h"

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("received %s, shutting down", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

/* SIGHUP re-reads relay.conf for the LLM router (providers, keys, routes, budgets,
 * timeouts, proxy) and the log level. The edge server, TLS, chat platforms and the HTTP
 * listener were built from the start-up configuration and keep it until a restart: they
 * hold sockets and sessions a reload must not drop. A file that does not load changes
 * nothing. */
struct reload {
	const char *path; /* -c, or NULL for the default and ONGRID_* overrides */
	struct relay *relay;
	struct relay_conf *llm_conf; /* owned: the last reload's, which the router uses */
};

static void on_reload(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct reload *rl = w->data;
	struct llm_service *s = relay_module(rl->relay, "llm");
	struct relay_conf *nc = xcalloc(1, sizeof(*nc));
	struct diag d = { 0 };

	(void)loop;
	(void)revents;
	log_info("received SIGHUP, re-reading %s", rl->path ? rl->path : "the configuration");
	if (relay_conf_load(nc, rl->path) != 0) { /* it printed why, naming file and line */
		free(nc);
		log_err("reload failed: the configuration does not load; the relay keeps running "
		        "on the one it has");
		return;
	}
	if (!s || llm_service_reload(s, nc, &d) < 0) {
		log_err("reload failed: %s; the relay keeps running on the configuration it has",
		        s ? d.msg : "no LLM router");
		relay_conf_release(nc);
		free(nc);
		return;
	}
	if (rl->llm_conf) {
		relay_conf_release(rl->llm_conf);
		free(rl->llm_conf);
	}
	rl->llm_conf = nc;
	log_info("reloaded: llm router now has %zu providers, %zu routes (listen, tls, edges, "
	         "chat, approvals, http and alerts keep their start-up settings until a restart)",
	         nc->llm.providers.n, nc->llm.routes.n);
}

/* Each edge is one socket: lift the soft descriptor limit to the hard one. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Make the certificate on first start unless plain text was asked for; returns an exit
 * status. */
int relay_prepare_tls(const struct relay_conf *c, char *fingerprint, size_t fpsz)
{
	struct diag d = { 0 };
	char host[256], path[4096];
	bool created = false;
	int r;

	fingerprint[0] = '\0';
	if (c->tls_insecure)
		return 0;
	if (c->tls_cert && *c->tls_cert) {
		snprintf(path, sizeof(path), "%s", c->tls_cert);
	} else {
		if (c->tls_hostname && *c->tls_hostname) {
			snprintf(host, sizeof(host), "%s", c->tls_hostname);
		} else if (gethostname(host, sizeof(host)) < 0) {
			snprintf(host, sizeof(host), "ongrid-relay");
		}
		host[sizeof(host) - 1] = '\0';
		r = tls_ensure_server_cert(c->data_dir, host, &created, &d);
		if (r < 0) {
			log_err("%s", d.msg);
			return 1;
		}
		if (created)
			log_info("created the relay's CA and server certificate in '%s'",
			         c->data_dir);
		snprintf(path, sizeof(path), "%s/server.pem", c->data_dir);
	}
	r = tls_fingerprint_file(path, fingerprint, fpsz, &d);
	if (r < 0) {
		log_err("%s", d.msg);
		return r == -EINVAL ? 2 : 1;
	}
	return 0;
}

int cmd_run(int argc, char **argv)
{
	const char *path = NULL;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
	};
	char fp[TLS_FINGERPRINT_LEN + 1];
	struct relay_conf conf;
	struct relay *relay = NULL;
	struct ev_loop *loop;
	ev_signal sigint, sigterm, sighup;
	struct reload reload = { NULL, NULL, NULL };
	struct diag d = { 0 };
	sqlite3 *db = NULL;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "run", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	if (nargs) {
		fprintf(stderr, "ongrid-relay run: unexpected argument '%s'\n", args[0]);
		return 2;
	}
	r = relay_conf_load(&conf, path);
	if (r)
		return r;
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	r = relay_db_open(conf.data_dir, &db, &d);
	if (r < 0) {
		log_err("%s", d.msg);
		r = 1;
		goto out_conf;
	}
	r = relay_prepare_tls(&conf, fp, sizeof(fp));
	if (r)
		goto out_db;
	if (conf.tls_insecure)
		log_warn(
		        "tls.insecure is set: serving plain ws:// WITHOUT TLS on %s; secrets never "
		        "cross the wire, but everything else does in clear text",
		        conf.listen);
	loop = ev_default_loop(EVFLAG_AUTO);
	r = relay_new(loop, &conf, db, &relay, &d);
	if (r < 0) {
		log_err("%s", d.msg);
		r = 1;
		goto out_db;
	}
	r = relay_modules_start(relay, &conf, &d);
	if (r < 0) {
		log_err("%s", d.msg);
		r = 1;
		goto out_relay;
	}
	if (relay_pidfile_write(conf.data_dir, &d) < 0)
		log_warn("%s, ignoring", d.msg);
	log_info("listening on %s://%s (version %s)", conf.tls_insecure ? "ws" : "wss", conf.listen,
	         ONGRID_VERSION);
	if (fp[0])
		log_info("certificate fingerprint %s (edges pin this: relay.fingerprint)", fp);
	/* A line tests and scripts can wait for. */
	fprintf(stderr, "ongrid-relay: ready\n");
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	ev_signal_init(&sighup, on_reload, SIGHUP);
	reload.path = path;
	reload.relay = relay;
	sighup.data = &reload;
	ev_signal_start(loop, &sigint);
	ev_signal_start(loop, &sigterm);
	ev_signal_start(loop, &sighup);
	ev_run(loop, 0);
	ev_signal_stop(loop, &sigint);
	ev_signal_stop(loop, &sigterm);
	ev_signal_stop(loop, &sighup);
	relay_pidfile_remove(conf.data_dir);
	r = 0;
out_relay:
	relay_free(relay);
	if (reload.llm_conf) { /* after the router that used it */
		relay_conf_release(reload.llm_conf);
		free(reload.llm_conf);
	}
out_db:
	db_close(db);
out_conf:
	relay_conf_release(&conf);
	return r;
}

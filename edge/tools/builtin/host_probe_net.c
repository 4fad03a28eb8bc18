/* host_probe_net.c - is the network the problem? TCP retransmits, resets, failed
 * connects and listen-queue drops over one second; per-connection retransmits and RTT per
 * peer from the kernel's tcp_info (sock_diag); connect latency per peer from the tcp eBPF
 * collector; socket states; interface errors and drops; listening services. With the
 * daemon running, the retransmit rate 30, 15 and 5 minutes ago. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/topo.h"
#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/banned.h"

static int by_retrans(const void *a, const void *b)
{
	const struct topo_connect *x = a, *y = b;

	if (x->retransmits != y->retransmits)
		return x->retransmits < y->retransmits ? 1 : -1;
	return x->rtt_ms < y->rtt_ms ? 1 : x->rtt_ms > y->rtt_ms ? -1 : 0;
}

/* With the daemon: the peers the tcp eBPF collector saw retransmitting most in the last
 * 5 minutes, each against its rate 30 minutes ago. */
static void peer_history(struct tool_ctx *ctx, cJSON *ev)
{
	cJSON *res = NULL, *s, *rows;
	struct diag d = { 0 };

	if (evidence_promql(ctx->conf, "topk(5, rate(ongrid_tcp_retransmits_total[5m]) > 0)", 0,
	                    &res, &d) < 0)
		return;
	rows = evidence_rows(ev, "peers_history");
	cJSON_ArrayForEach(s, res) {
		const char *peer = cJSON_GetStringValue(
		        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "metric"), "peer"));
		const char *v = cJSON_GetStringValue(
		        cJSON_GetArrayItem(cJSON_GetObjectItem(s, "value"), 1));
		char q[200];
		int64_t ago[1] = { 1800000 };
		double before = NAN, now = v ? strtod(v, NULL) : NAN;
		if (!peer || strchr(peer, '"') || strchr(peer, '\\'))
			continue;
		snprintf(q, sizeof(q), "rate(ongrid_tcp_retransmits_total{peer=\"%s\"}[5m])", peer);
		evidence_history(ctx->conf, q, ago, 1, &before);
		cJSON *o = json_obj();
		json_add_str(o, "peer", peer);
		json_add_num(o, "retransmits_per_s_5m", now);
		if (!isnan(before))
			json_add_num(o, "retransmits_per_s_30m_ago", before);
		json_push(rows, o);
		if (isnan(before))
			evidence_say(ev, "retransmits to %s: %.2f/s over the last 5 min (eBPF)",
			             peer, now);
		else
			evidence_say(
			        ev,
			        "retransmits to %s went from %.2f/s 30 min ago to %.2f/s over the "
			        "last 5 min (eBPF)",
			        peer, before, now);
	}
	cJSON_Delete(res);
}

/* Peers whose connect latency is reported, at most. */
#define NET_LATENCY_PEERS_MAX 64

struct peer_latency {
	char peer[64]; /* the address, without a port: the eBPF collector's "peer" label */
	double connects, p50_ms, p99_ms;
};

static int by_p99(const void *a, const void *b)
{
	const struct peer_latency *x = a, *y = b;

	return (x->p99_ms < y->p99_ms) - (x->p99_ms > y->p99_ms);
}

/* Connect latency per peer over the sampled second, from the tcp eBPF collector's histogram
 * (one series per peer address), slowest first. */
static size_t connect_latency_by_peer(const struct snapshot *a, const struct snapshot *b,
                                      struct peer_latency *out, size_t max)
{
	static const char base[] = "ongrid_tcp_connect_latency_seconds";
	size_t n = 0;

	for (size_t i = 0; i < b->n && n < max; i++) {
		const struct snapshot_sample *x = &b->samples[i];
		const char *peer;
		bool seen = false;
		double connects, p99;

		if (strcmp(x->name, "ongrid_tcp_connect_latency_seconds_bucket") != 0)
			continue;
		peer = snap_label(x, "peer");
		for (size_t j = 0; j < n && !seen; j++)
			seen = strcmp(out[j].peer, peer) == 0;
		if (seen || !*peer)
			continue;
		p99 = snap_hist_quantile_where(a, b, base, 0.99, "peer", peer, &connects);
		if (isnan(p99) || connects <= 0)
			continue;
		snprintf(out[n].peer, sizeof(out[n].peer), "%s", peer);
		out[n].connects = connects;
		out[n].p99_ms = p99 * 1000;
		out[n].p50_ms =
		        snap_hist_quantile_where(a, b, base, 0.5, "peer", peer, NULL) * 1000;
		n++;
	}
	qsort(out, n, sizeof(*out), by_p99);
	return n;
}

/* With the daemon: the peers with the slowest connects over the last 5 minutes. */
static void connect_latency_history(struct tool_ctx *ctx, cJSON *ev)
{
	cJSON *res = NULL, *s, *rows;
	struct diag d = { 0 };

	if (evidence_promql(ctx->conf,
	                    "topk(5, histogram_quantile(0.99, sum by (peer, le) "
	                    "(rate(ongrid_tcp_connect_latency_seconds_bucket[5m]))))",
	                    0, &res, &d) < 0)
		return;
	rows = evidence_rows(ev, "connect_latency_history");
	cJSON_ArrayForEach(s, res) {
		const char *peer = cJSON_GetStringValue(
		        cJSON_GetObjectItem(cJSON_GetObjectItem(s, "metric"), "peer"));
		const char *v = cJSON_GetStringValue(
		        cJSON_GetArrayItem(cJSON_GetObjectItem(s, "value"), 1));
		double p99 = v ? strtod(v, NULL) : NAN;
		cJSON *o;

		if (!peer || isnan(p99))
			continue;
		o = json_obj();
		json_add_str(o, "peer", peer);
		json_add_num(o, "connect_p99_ms_5m", round(p99 * 1e6) / 1e3);
		json_push(rows, o);
	}
	cJSON_Delete(res);
}

static int net_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	struct snapshot a, b;
	cJSON *off, *ev, *tcp, *rows;
	struct topo *t = NULL;
	struct diag td = { 0 };
	size_t limit = arg_limit(args);
	struct peer_latency lat[NET_LATENCY_PEERS_MAX];
	size_t nlat;
	int r;
	double dt;

	r = evidence_sample(ctx->conf, "netstat,net,tcp", 1000, &a, &b, &off, &ctx->diag);
	if (r < 0)
		return r;
	dt = (double)(b.t_ms - a.t_ms) / 1000.0;
	ev = evidence_new();
	double retr = snap_delta(&a, &b, "ongrid_netstat_tcp_retrans_segs_total", NULL, NULL) / dt;
	double outseg = snap_delta(&a, &b, "ongrid_netstat_tcp_out_segs_total", NULL, NULL) / dt;
	double rst = snap_delta(&a, &b, "ongrid_netstat_tcp_out_rsts_total", NULL, NULL) / dt;
	double estres =
	        snap_delta(&a, &b, "ongrid_netstat_tcp_estab_resets_total", NULL, NULL) / dt;
	double fails =
	        snap_delta(&a, &b, "ongrid_netstat_tcp_attempt_fails_total", NULL, NULL) / dt;
	double ldrop = snap_delta(&a, &b, "ongrid_netstat_tcp_listen_drops_total", NULL, NULL) / dt;
	double lovf =
	        snap_delta(&a, &b, "ongrid_netstat_tcp_listen_overflows_total", NULL, NULL) / dt;
	tcp = json_obj();
	json_add_num(tcp, "retransmits_per_s", retr);
	json_add_num(tcp, "segments_out_per_s", outseg);
	json_add_num(tcp, "resets_sent_per_s", rst);
	json_add_num(tcp, "established_resets_per_s", estres);
	json_add_num(tcp, "failed_connects_per_s", fails);
	json_add_num(tcp, "listen_drops_per_s", ldrop);
	json_add_num(tcp, "listen_overflows_per_s", lovf);
	double cl99 = snap_hist_quantile(&a, &b, "ongrid_tcp_connect_latency_seconds", 0.99);
	if (!isnan(cl99))
		json_add_num(tcp, "connect_latency_p99_ms", cl99 * 1000);
	json_add(ev, "tcp", tcp);
	evidence_say(ev,
	             "TCP now: %.0f retransmits/s (%.2f%% of %.0f segments/s), %.0f resets "
	             "sent/s, %.0f failed connects/s",
	             retr, outseg > 0 ? retr / outseg * 100 : 0, outseg, rst, fails);
	if (ldrop > 0 || lovf > 0)
		evidence_say(ev,
		             "%.0f listen drops/s (%.0f overflows): a server is not accepting fast "
		             "enough",
		             ldrop, lovf);
	if (!isnan(cl99))
		evidence_say(ev, "connect latency p99 %.2f ms over the second (eBPF)", cl99 * 1000);
	nlat = connect_latency_by_peer(&a, &b, lat, NET_LATENCY_PEERS_MAX);
	rows = evidence_rows(ev, "connect_latency");
	for (size_t i = 0; i < nlat && i < limit; i++) {
		cJSON *o = json_obj();
		json_add_str(o, "peer", lat[i].peer);
		json_add_num(o, "connects", lat[i].connects);
		json_add_num(o, "p50_ms", round(lat[i].p50_ms * 1000) / 1000);
		json_add_num(o, "p99_ms", round(lat[i].p99_ms * 1000) / 1000);
		json_push(rows, o);
	}
	if (nlat)
		evidence_say(ev, "slowest connects: to %s, p99 %.2f ms over %.0f connects (eBPF)",
		             lat[0].peer, lat[0].p99_ms, lat[0].connects);

	/* interfaces */
	rows = evidence_rows(ev, "interfaces");
	for (size_t i = 0; i < b.n; i++) {
		const struct snapshot_sample *x = &b.samples[i];
		if (strcmp(x->name, "ongrid_net_receive_errors_total") != 0)
			continue;
		const char *ifn = snap_label(x, "interface");
		double rxe = x->value;
		double txe = snap_value(&b, "ongrid_net_transmit_errors_total", "interface", ifn);
		double rxd = snap_value(&b, "ongrid_net_receive_drops_total", "interface", ifn);
		double txd = snap_value(&b, "ongrid_net_transmit_drops_total", "interface", ifn);
		double rxd_s =
		        snap_delta(&a, &b, "ongrid_net_receive_drops_total", "interface", ifn);
		double rxe_s =
		        snap_delta(&a, &b, "ongrid_net_receive_errors_total", "interface", ifn);
		cJSON *o = json_obj();
		json_add_str(o, "interface", ifn);
		json_add_num(o, "rx_bytes_per_s",
		             round(snap_delta(&a, &b, "ongrid_net_receive_bytes_total", "interface",
		                              ifn) /
		                   dt));
		json_add_num(o, "tx_bytes_per_s",
		             round(snap_delta(&a, &b, "ongrid_net_transmit_bytes_total",
		                              "interface", ifn) /
		                   dt));
		json_add_num(o, "rx_errors", rxe);
		json_add_num(o, "tx_errors", txe);
		json_add_num(o, "rx_drops", rxd);
		json_add_num(o, "tx_drops", txd);
		json_push(rows, o);
		if (rxe_s > 0 || rxd_s > 0)
			evidence_say(ev,
			             "interface %s: %.0f receive errors and %.0f drops in the last "
			             "second",
			             ifn, rxe_s, rxd_s);
	}

	r = topo_scan(&t, &td);
	if (r == 0) {
		cJSON *st = json_obj();
		for (int s = 1; s < 13; s++)
			if (t->states[s])
				json_add_num(st, topo_state_name(s), t->states[s]);
		json_add(ev, "socket_states", st);
		if (t->states[8] > 50)
			evidence_say(ev,
			             "%u sockets in CLOSE_WAIT: a local program is not closing "
			             "connections its peer closed",
			             t->states[8]);
		if (t->states[2] > 10)
			evidence_say(ev, "%u connects waiting in SYN_SENT: a peer is not answering",
			             t->states[2]);
		qsort(t->connect, t->nconnect, sizeof(*t->connect), by_retrans);
		rows = evidence_rows(ev, "peers");
		for (size_t i = 0; i < t->nconnect && i < limit; i++) {
			const struct topo_connect *c = &t->connect[i];
			cJSON *o = json_obj();
			json_add_str(o, "peer", c->peer);
			json_add_str(o, "process", c->process);
			json_add_num(o, "connections", c->count);
			json_add_num(o, "retransmits", (double)c->retransmits);
			json_add_num(o, "rtt_ms", round(c->rtt_ms * 1000) / 1000);
			for (size_t j = 0; j < nlat; j++)
				if (strcmp(lat[j].peer, c->peer_addr) == 0)
					json_add_num(o, "connect_latency_p99_ms",
					             round(lat[j].p99_ms * 1000) / 1000);
			json_add_num(o, "bytes_sent", (double)c->bytes_sent);
			json_add_num(o, "bytes_received", (double)c->bytes_received);
			json_push(rows, o);
		}
		if (t->nconnect && t->connect[0].retransmits > 0)
			evidence_say(ev,
			             "most retransmits on open connections: %s from %s, %llu on %u "
			             "connections, RTT %.2f ms",
			             t->connect[0].peer, t->connect[0].process,
			             (unsigned long long)t->connect[0].retransmits,
			             t->connect[0].count, t->connect[0].rtt_ms);
		rows = evidence_rows(ev, "listening");
		for (size_t i = 0; i < t->nlisten && i < limit; i++) {
			cJSON *o = json_obj();
			json_add_str(o, "addr", t->listen[i].addr);
			json_add_num(o, "port", t->listen[i].port);
			json_add_str(o, "process", t->listen[i].process);
			json_add_num(o, "pid", t->listen[i].pid);
			json_add_num(o, "connections", t->listen[i].connections);
			json_push(rows, o);
		}
		evidence_say(ev, "%zu listening services, %u established connections", t->nlisten,
		             t->states[1]);
		topo_free(t);
	} else {
		evidence_say(ev, "sockets not read: %s", td.msg);
	}

	static const int64_t ago[] = { 1800000, 900000, 300000 }; /* 30, 15, 5 min */
	double hist[3];
	if (evidence_history(ctx->conf, "sum(rate(ongrid_netstat_tcp_retrans_segs_total[1m]))", ago,
	                     3, hist)) {
		json_add_str(ev, "history", "on");
		evidence_trend(ev, "TCP retransmits", hist, retr, TREND_PER_S);
		peer_history(ctx, ev);
		connect_latency_history(ctx, ev);
	} else {
		json_add_str(ev, "history", "off: no daemon running; two samples 1 s apart now");
	}
	json_add(ev, "collectors_off", off);
	snapshot_release(&a);
	snapshot_release(&b);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_host_probe_net = {
	.name = "host_probe_net",
	.class = TOOL_SAFE_READ,
	.summary = "network now: retransmits, resets, per-peer RTT, connect latency and "
	           "retransmits, socket states, interface errors, listening services",
	.description = "One call for 'is the network the problem': TCP retransmits, resets, "
	               "failed connects and listen drops per second; per peer the open "
	               "connections' retransmits, RTT and bytes (tcp_info) and their connect "
	               "latency p50/p99 (eBPF, during the sampled second; the last 5 min with the "
	               "daemon); socket states; interface errors and drops; listening services "
	               "with their processes. With the daemon running, the retransmit trend.",
	.args_schema = "{\"type\":\"object\",\"properties\":{"
	               "\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":200}},"
	               "\"additionalProperties\":false}",
	.run = net_run,
};

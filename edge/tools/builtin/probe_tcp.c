/* probe_tcp.c - can this host open a TCP connection to host:port, and how long does the
 * handshake take? A few attempts, each with its own outcome (connected, refused, timed
 * out, unreachable), so a flaky peer shows as flaky rather than as one lucky result. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

/* One attempt: 0 connected, else a negative errno; *ms the time it took. */
static int attempt(const struct addrinfo *ai, int timeout_ms, double *ms)
{
	int64_t t0 = mono_ns();
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
		} else {
			struct pollfd p = { fd, POLLOUT, 0 };
			int k = poll(&p, 1, timeout_ms);
			if (k == 0) {
				r = -ETIMEDOUT;
			} else {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
				r = -err;
			}
		}
	}
	*ms = (double)(mono_ns() - t0) / 1e6;
	close(fd);
	return r;
}

static const char *outcome(int r)
{
	switch (r) {
	case 0:
		return "connected";
	case -ECONNREFUSED:
		return "refused";
	case -ETIMEDOUT:
		return "timed out";
	case -ENETUNREACH:
		return "network unreachable";
	case -EHOSTUNREACH:
		return "host unreachable";
	default:
		return "failed";
	}
}

static int tcp_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *host = arg_str(args, "host", "");
	int port = (int)arg_int(args, "port", 0), count = (int)arg_int(args, "count", 3);
	int timeout_ms = (int)arg_int(args, "timeout_ms", 2000), ok = 0;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char portstr[8], addr[INET6_ADDRSTRLEN] = "?";
	double min = 0, max = 0, sum = 0;
	cJSON *ev, *rows;
	int r, last_fail = 0;

	snprintf(portstr, sizeof(portstr), "%d", port);
	int64_t t0 = mono_ns();
	r = getaddrinfo(host, portstr, &hints, &res);
	double resolve_ms = (double)(mono_ns() - t0) / 1e6;
	if (r != 0) {
		ev = evidence_new();
		evidence_say(ev, "%s does not resolve: %s", host, gai_strerror(r));
		json_add_str(ev, "host", host);
		json_add_bool(ev, "resolved", false);
		*ret_evidence = ev;
		return 0;
	}
	if (res->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr, addr,
		          sizeof(addr));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr, addr,
		          sizeof(addr));
	ev = evidence_new();
	json_add_str(ev, "host", host);
	json_add_str(ev, "address", addr);
	json_add_num(ev, "port", port);
	json_add_num(ev, "resolve_ms", resolve_ms);
	rows = evidence_rows(ev, "attempts");
	for (int i = 0; i < count; i++) {
		double ms = 0;
		if (tool_time_left_ms(ctx) < timeout_ms)
			break;
		r = attempt(res, timeout_ms, &ms);
		cJSON *o = json_obj();
		json_add_str(o, "outcome", outcome(r));
		if (r < 0 && strcmp(outcome(r), "failed") == 0)
			json_add_str(o, "error", strerror(-r));
		json_add_num(o, "ms", (double)(int64_t)(ms * 1000) / 1000);
		json_push(rows, o);
		if (r == 0) {
			min = ok == 0 || ms < min ? ms : min;
			max = ms > max ? ms : max;
			sum += ms;
			ok++;
		} else {
			last_fail = r;
		}
	}
	freeaddrinfo(res);
	int tried = cJSON_GetArraySize(rows);
	if (ok == tried)
		evidence_say(ev,
		             "%s:%d (%s) accepts connections: %d of %d connected, handshake "
		             "%.2f ms avg (min %.2f, max %.2f)",
		             host, port, addr, ok, tried, sum / ok, min, max);
	else if (ok == 0)
		evidence_say(ev, "%s:%d (%s) does not accept connections: %d of %d attempts %s",
		             host, port, addr, tried, tried, outcome(last_fail));
	else
		evidence_say(ev,
		             "%s:%d (%s) is flaky: %d of %d connected (avg %.2f ms), the rest %s",
		             host, port, addr, ok, tried, sum / ok, outcome(last_fail));
	json_add_num(ev, "connected", ok);
	json_add_num(ev, "tried", tried);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_probe_tcp = {
	.name = "probe_tcp",
	.class = TOOL_SAFE_READ,
	.summary = "connect to host:port a few times: refused, timed out or handshake time",
	.description = "Open TCP connections to host:port (count attempts, each bounded by "
	               "timeout_ms) and report each outcome - connected, refused, timed out, "
	               "unreachable - and the handshake time. Nothing is sent.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"host\",\"port\"],\"properties\":{"
	               "\"host\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":253},"
	               "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
	               "\"count\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":10},"
	               "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":10000}},"
	               "\"additionalProperties\":false}",
	.run = tcp_run,
};

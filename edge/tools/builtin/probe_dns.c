/* probe_dns.c - does a name resolve, to what, and how fast? Without a server: the host's
 * own resolver (getaddrinfo: /etc/hosts, then nsswitch and resolv.conf), which is what the
 * host's programs see. With a server: one query over UDP to that server, parsed here, so
 * the answer code (NXDOMAIN, SERVFAIL) and the TTLs are visible. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

#define DNS_MAX_ANSWERS 32

static const char *const rcodes[] = { "NOERROR",  "FORMERR", "SERVFAIL",
	                              "NXDOMAIN", "NOTIMP",  "REFUSED" };

/* Encode name into a query for type; returns the length or -EINVAL. */
static int build_query(const char *name, int type, uint16_t id, unsigned char *q, size_t max)
{
	size_t o = 12;

	memset(q, 0, 12);
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	q[2] = 0x01; /* recursion desired */
	q[5] = 1;    /* one question */
	for (const char *p = name; *p;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len > 63 || o + len + 6 > max)
			return -EINVAL;
		q[o++] = (unsigned char)len;
		memcpy(q + o, p, len);
		o += len;
		p += len + (dot ? 1 : 0);
	}
	q[o++] = 0;
	q[o++] = 0;
	q[o++] = (unsigned char)type;
	q[o++] = 0;
	q[o++] = 1; /* IN */
	return (int)o;
}

/* Skip a (possibly compressed) name at off; returns the offset after it or -EPROTO. */
static int skip_name(const unsigned char *m, size_t n, size_t off)
{
	for (int hops = 0; off < n && hops < 128; hops++) {
		unsigned l = m[off];
		if (l == 0)
			return (int)off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= n ? (int)off + 2 : -EPROTO;
		off += l + 1;
	}
	return -EPROTO;
}

static int server_query(struct tool_ctx *ctx, cJSON *ev, const char *name, int type,
                        const char *server, int port, int timeout_ms)
{
	unsigned char q[512], a[4096];
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint16_t id;
	int qlen, fd, rcode;
	ssize_t n;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint16_t)mono_ns();
	qlen = build_query(name, type, id, q, sizeof(q));
	if (qlen < 0)
		return diag_set(&ctx->diag, -EINVAL, "name '%s' is not a valid DNS name", name);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, server, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, server, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*s6);
	} else {
		return diag_set(&ctx->diag, -EINVAL, "server '%s': expected an IP address", server);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return diag_set(&ctx->diag, -errno, "socket: %s", strerror(errno));
	int64_t t0 = mono_ns();
	if (sendto(fd, q, (size_t)qlen, 0, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		evidence_say(ev, "query to %s:%d could not be sent: %s", server, port, strerror(e));
		return 0;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = timeout_ms - (int)((mono_ns() - t0) / 1000000);
		if (left <= 0 || poll(&p, 1, left) <= 0) {
			close(fd);
			evidence_say(ev, "%s:%d did not answer for %s within %d ms", server, port,
			             name, timeout_ms);
			json_add_bool(ev, "answered", false);
			return 0;
		}
		n = recv(fd, a, sizeof(a), 0);
		if (n >= 12 && a[0] == q[0] && a[1] == q[1])
			break; /* ours; anything else is ignored */
	}
	double ms = (double)(mono_ns() - t0) / 1e6;
	close(fd);
	rcode = a[3] & 0x0f;
	unsigned qd = (unsigned)(a[4] << 8 | a[5]), an = (unsigned)(a[6] << 8 | a[7]);
	int off = 12;
	for (unsigned i = 0; i < qd && off > 0; i++) {
		off = skip_name(a, (size_t)n, (size_t)off);
		off += 4;
	}
	cJSON *rows = evidence_rows(ev, "answers");
	unsigned naddr = 0;
	for (unsigned i = 0; i < an && i < DNS_MAX_ANSWERS && off > 0; i++) {
		off = skip_name(a, (size_t)n, (size_t)off);
		if (off < 0 || (size_t)off + 10 > (size_t)n)
			break;
		int rtype = a[off] << 8 | a[off + 1];
		uint32_t ttl = (uint32_t)a[off + 4] << 24 | (uint32_t)a[off + 5] << 16 |
		               (uint32_t)a[off + 6] << 8 | a[off + 7];
		int rdlen = a[off + 8] << 8 | a[off + 9];
		off += 10;
		if ((size_t)off + (size_t)rdlen > (size_t)n)
			break;
		char txt[INET6_ADDRSTRLEN] = "";
		if (rtype == 1 && rdlen == 4)
			inet_ntop(AF_INET, a + off, txt, sizeof(txt));
		else if (rtype == 28 && rdlen == 16)
			inet_ntop(AF_INET6, a + off, txt, sizeof(txt));
		if (*txt) {
			cJSON *o = json_obj();
			json_add_str(o, "address", txt);
			json_add_num(o, "ttl", ttl);
			json_push(rows, o);
			naddr++;
		}
		off += rdlen;
	}
	json_add_bool(ev, "answered", true);
	json_add_str(ev, "rcode", rcode < 6 ? rcodes[rcode] : "other");
	json_add_num(ev, "ms", ms);
	if (rcode != 0)
		evidence_say(ev, "%s answered %s for %s in %.1f ms", server,
		             rcode < 6 ? rcodes[rcode] : "an error", name, ms);
	else if (naddr == 0)
		evidence_say(ev, "%s answered NOERROR for %s in %.1f ms but with no %s records",
		             server, name, ms, type == 1 ? "A" : "AAAA");
	else
		evidence_say(
		        ev, "%s resolves %s to %s (and %u more) in %.1f ms", server, name,
		        cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "address")->valuestring,
		        naddr - 1, ms);
	return 0;
}

static int system_query(cJSON *ev, const char *name, int type)
{
	struct addrinfo hints = { .ai_family = type == 1 ? AF_INET : AF_INET6,
		                  .ai_socktype = SOCK_STREAM },
	                *res = NULL;
	int64_t t0 = mono_ns();
	int r = getaddrinfo(name, NULL, &hints, &res);
	double ms = (double)(mono_ns() - t0) / 1e6;
	cJSON *rows = evidence_rows(ev, "answers");

	json_add_num(ev, "ms", ms);
	if (r != 0) {
		evidence_say(ev, "the system resolver cannot resolve %s (%s) after %.1f ms", name,
		             gai_strerror(r), ms);
		json_add_bool(ev, "resolved", false);
		return 0;
	}
	for (struct addrinfo *ai = res; ai && cJSON_GetArraySize(rows) < DNS_MAX_ANSWERS;
	     ai = ai->ai_next) {
		char txt[INET6_ADDRSTRLEN];
		if (ai->ai_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr,
			          txt, sizeof(txt));
		else
			inet_ntop(AF_INET6,
			          &((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr, txt,
			          sizeof(txt));
		cJSON *o = json_obj();
		json_add_str(o, "address", txt);
		json_push(rows, o);
	}
	freeaddrinfo(res);
	json_add_bool(ev, "resolved", true);
	evidence_say(ev, "the system resolver resolves %s to %s in %.1f ms", name,
	             cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "address")->valuestring, ms);
	return 0;
}

static int dns_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *name = arg_str(args, "name", ""), *server = arg_str(args, "server", NULL);
	int type = strcmp(arg_str(args, "type", "A"), "AAAA") == 0 ? 28 : 1;
	cJSON *ev = evidence_new();
	int r;

	json_add_str(ev, "name", name);
	json_add_str(ev, "type", type == 1 ? "A" : "AAAA");
	json_add_str(ev, "resolver", server ? server : "system");
	if (server)
		r = server_query(ctx, ev, name, type, server, (int)arg_int(args, "port", 53),
		                 (int)arg_int(args, "timeout_ms", 2000));
	else
		r = system_query(ev, name, type);
	if (r < 0) {
		cJSON_Delete(ev);
		return r;
	}
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_probe_dns = {
	.name = "probe_dns",
	.class = TOOL_SAFE_READ,
	.summary = "resolve a name with the system resolver or ask one DNS server",
	.description = "Resolve name (A or AAAA). Without server: the host's resolver, as its "
	               "programs see it (/etc/hosts included). With server (an IP): one UDP "
	               "query to it, with the answer code (NXDOMAIN, SERVFAIL), addresses, TTLs "
	               "and the time taken.",
	.args_schema = "{\"type\":\"object\",\"required\":[\"name\"],\"properties\":{"
	               "\"name\":{\"type\":\"string\",\"pattern\":\"^[A-Za-z0-9._-]{1,253}$\"},"
	               "\"type\":{\"type\":\"string\",\"enum\":[\"A\",\"AAAA\"]},"
	               "\"server\":{\"type\":\"string\",\"pattern\":\"^[0-9A-Fa-f.:]{2,45}$\"},"
	               "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535},"
	               "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":10000}},"
	               "\"additionalProperties\":false}",
	.run = dns_run,
};

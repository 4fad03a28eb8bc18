/* probe_http.c - one HTTP(S) request as a user would make it, timed phase by phase (DNS,
 * connect, TLS, first byte, total), with the status and the start of the body. GET or
 * HEAD only: a probe must not change anything. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "edge/tools/builtin/evidence.h"
#include "edge/tools/tool.h"
#include "shared/json.h"
#include "shared/lazylib.h"
#include "shared/banned.h"

/* The body kept for evidence; the rest is counted and dropped. */
#define HTTP_BODY_KEEP 512

struct body {
	char keep[HTTP_BODY_KEEP];
	size_t kept, total;
};

/* libcurl, mapped by the first probe (shared/lazylib.h), not at the edge's start: with
 * its dependencies it is ~3.6 MiB of resident pages that most edges would carry for a tool
 * they never run. */
static struct {
	bool loaded;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
} curl;

static int curl_load(struct diag *d)
{
	const struct lazylib_sym syms[] = {
		{ "curl_easy_init", (void **)&curl.easy_init },
		{ "curl_easy_setopt", (void **)&curl.easy_setopt },
		{ "curl_easy_perform", (void **)&curl.easy_perform },
		{ "curl_easy_getinfo", (void **)&curl.easy_getinfo },
		{ "curl_easy_strerror", (void **)&curl.easy_strerror },
		{ "curl_easy_cleanup", (void **)&curl.easy_cleanup },
	};
	int r;

	if (curl.loaded)
		return 0;
	r = lazylib_load("libcurl.so.4", syms, sizeof(syms) / sizeof(syms[0]), d);
	curl.loaded = r == 0;
	return r;
}

static size_t on_body(char *p, size_t sz, size_t n, void *udata)
{
	struct body *b = udata;
	size_t len = sz * n, room = HTTP_BODY_KEEP - b->kept;

	memcpy(b->keep + b->kept, p, len < room ? len : room);
	b->kept += len < room ? len : room;
	b->total += len;
	return len;
}

static double ms_of(CURL *c, CURLINFO what)
{
	curl_off_t us = 0;

	curl.easy_getinfo(c, what, &us);
	return (double)us / 1000.0;
}

static int http_run(struct tool_ctx *ctx, const cJSON *args, cJSON **ret_evidence)
{
	const char *url = arg_str(args, "url", ""), *method = arg_str(args, "method", "GET");
	int64_t timeout_ms = arg_int(args, "timeout_ms", 5000);
	bool insecure = arg_bool(args, "insecure", false);
	struct body b = { .kept = 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURL *c;
	CURLcode rc;
	cJSON *ev;

	if (timeout_ms > tool_time_left_ms(ctx))
		timeout_ms = tool_time_left_ms(ctx);
	if (curl_load(&ctx->diag) < 0)
		return ctx->diag.code;
	c = curl.easy_init();
	if (!c)
		return diag_set(&ctx->diag, -ENOMEM, "cannot start an HTTP client");
	curl.easy_setopt(c, CURLOPT_URL, url);
	curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl.easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(c, CURLOPT_USERAGENT, "ongrid-edge probe_http");
	curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl.easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (insecure) {
		curl.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl.easy_perform(c);
	curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	ev = evidence_new();
	json_add_str(ev, "url", url);
	double dns = ms_of(c, CURLINFO_NAMELOOKUP_TIME_T), conn = ms_of(c, CURLINFO_CONNECT_TIME_T);
	double tls = ms_of(c, CURLINFO_APPCONNECT_TIME_T),
	       ttfb = ms_of(c, CURLINFO_STARTTRANSFER_TIME_T);
	double total = ms_of(c, CURLINFO_TOTAL_TIME_T);
	cJSON *t = json_obj();
	json_add_num(t, "dns_ms", dns);
	json_add_num(t, "connect_ms", conn);
	json_add_num(t, "tls_ms", tls);
	json_add_num(t, "first_byte_ms", ttfb);
	json_add_num(t, "total_ms", total);
	if (rc != CURLE_OK) {
		evidence_say(ev, "%s %s failed after %.1f ms: %s", method, url, total,
		             *errbuf ? errbuf : curl.easy_strerror(rc));
		json_add_bool(ev, "ok", false);
		json_add_str(ev, "error", *errbuf ? errbuf : curl.easy_strerror(rc));
	} else {
		evidence_say(ev,
		             "%s %s answered %ld in %.1f ms (connect %.1f ms, first byte %.1f "
		             "ms), %zu bytes",
		             method, url, status, total, conn, ttfb, b.total);
		if (status >= 500)
			evidence_say(ev, "status %ld is a server error", status);
		else if (status >= 400)
			evidence_say(ev, "status %ld is a client error (check path, auth)", status);
		json_add_bool(ev, "ok", status > 0 && status < 400);
		json_add_num(ev, "status", (double)status);
		json_add_num(ev, "bytes", (double)b.total);
		tool_add_output(ev, "body_start", b.keep, b.kept, b.total > b.kept);
	}
	json_add(ev, "timings", t);
	curl.easy_cleanup(c);
	*ret_evidence = ev;
	return 0;
}

const struct tool tool_probe_http = {
	.name = "probe_http",
	.class = TOOL_SAFE_READ,
	.summary = "one GET or HEAD, timed per phase: DNS, connect, TLS, first byte, total",
	.description = "Make one HTTP or HTTPS request (GET or HEAD, no redirects followed) and "
	               "report the status, the time of each phase and the first 512 bytes of "
	               "the body. Use it to check a health endpoint as a client sees it.",
	.args_schema =
	        "{\"type\":\"object\",\"required\":[\"url\"],\"properties\":{"
	        "\"url\":{\"type\":\"string\",\"pattern\":\"^https?://\",\"maxLength\":2048},"
	        "\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"HEAD\"]},"
	        "\"timeout_ms\":{\"type\":\"integer\",\"minimum\":100,\"maximum\":30000},"
	        "\"insecure\":{\"type\":\"boolean\"}},"
	        "\"additionalProperties\":false}",
	.run = http_run,
};

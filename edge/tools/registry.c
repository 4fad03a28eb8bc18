/* registry.c - the one list of tools. Add a tool here and in tool.h; test_gate checks that
 * every name is unique and every schema is one the validator fully understands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/tool.h"
#include "shared/alloc.h"
#include "shared/buf.h"
#include "shared/clock.h"
#include "shared/json.h"
#include "shared/banned.h"

const struct tool *const tool_registry[] = {
	&tool_bash,
	&tool_add_incident_note,
	&tool_kill_process,
	&tool_restart_service,
	&tool_list_processes,
	&tool_process_detail,
	&tool_read_file,
	&tool_tail_file,
	&tool_probe_tcp,
	&tool_probe_http,
	&tool_probe_dns,
	&tool_query_metrics,
	&tool_query_logs,
	&tool_log_patterns,
	&tool_find_topology_node,
	&tool_expand_topology,
	&tool_host_probe_cpu,
	&tool_query_change_events,
	&tool_kb_search,
	&tool_host_probe_memory,
	&tool_host_probe_disk,
	&tool_host_probe_net,
	&tool_service_status,
	&tool_service_logs,
	&tool_profile_cpu,
};

const size_t tool_registry_count = sizeof(tool_registry) / sizeof(tool_registry[0]);

const struct tool *tool_find(const char *name)
{
	for (size_t i = 0; i < tool_registry_count; i++)
		if (strcmp(tool_registry[i]->name, name) == 0)
			return tool_registry[i];
	return NULL;
}

static const char *const class_names[_TOOL_CLASS_MAX] = { "safe-read", "safe-write", "dangerous" };

const char *tool_class_name(enum tool_class c)
{
	return c >= 0 && c < _TOOL_CLASS_MAX ? class_names[c] : "unknown";
}

int tool_class_parse(const char *s, enum tool_class *ret)
{
	for (int i = 0; i < _TOOL_CLASS_MAX; i++)
		if (strcmp(s, class_names[i]) == 0) {
			*ret = (enum tool_class)i;
			return 0;
		}
	return -EINVAL;
}

int64_t tool_time_left_ms(const struct tool_ctx *ctx)
{
	int64_t left = ctx->deadline_ms - mono_ms();

	return left > 0 ? left : 1;
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

#define KEY_MARK     "PRIVATE KEY-----"
#define KEY_WITHHELD "[private key withheld]"

/* Does the line [p, end) hold a PEM private key's BEGIN (1) or END (-1) line, or neither? */
static int key_line(const char *p, const char *end)
{
	const char *m = memmem(p, (size_t)(end - p), KEY_MARK, strlen(KEY_MARK));

	if (!m)
		return 0;
	if (memmem(p, (size_t)(m - p), "-----BEGIN ", 11))
		return 1;
	if (memmem(p, (size_t)(m - p), "-----END ", 9))
		return -1;
	return 0;
}

/* Private keys never go into evidence, whatever file or program they came from. Each line
 * of a PEM private key block, from its BEGIN line (or the start of the output, when it was
 * cut inside the block) to its END line (or the end of the output), is replaced by one
 * marker. path_rules refuses a file that starts with a key; this catches one later in a file
 * (a certificate bundle), under a recursive grep or in any program's output. Returns the
 * new length of s (never longer: the marker is shorter than the two lines it replaces). */
static size_t withhold_keys(char *s, size_t len)
{
	static const char withheld[] = KEY_WITHHELD "\n";
	size_t o = 0, block = 0, i = 0;
	bool in_block = false;

	if (!memmem(s, len, KEY_MARK, strlen(KEY_MARK)))
		return len;
	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t eol = nl ? (size_t)(nl - s) + 1 : len;
		int kind = key_line(s + i, s + eol);

		if (kind == 1 && !in_block) {
			in_block = true; /* withheld from here */
			block = o;
		} else if (kind == -1) {
			/* cut inside the block (no BEGIN seen): withhold what came before */
			o = in_block ? block : 0;
			memcpy(s + o, withheld, sizeof(withheld) - 1);
			o += sizeof(withheld) - 1;
			in_block = false;
			i = eol;
			continue;
		}
		if (!in_block)
			memmove(s + o, s + i, eol - i);
		o += eol - i; /* inside a block: the space is kept until the block ends */
		i = eol;
	}
	if (in_block) {
		memcpy(s + block, withheld, sizeof(withheld) - 2); /* no newline at the end */
		o = block + sizeof(withheld) - 2;
	}
	return o;
}

void tool_add_output(cJSON *evidence, const char *key, const char *data, size_t len, bool truncated)
{
	char *clean = xmalloc(len + 64);
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const unsigned char *p = (const unsigned char *)data + i;
		size_t n = utf8_seq(p, len - i);

		if (n == 0 || (n == 1 && p[0] < 0x20 && p[0] != '\n' && p[0] != '\t') ||
		    p[0] == 0x7f) {
			clean[o++] = '?';
			i++;
			continue;
		}
		memcpy(clean + o, p, n);
		o += n;
		i += n;
	}
	o = withhold_keys(clean, o);
	if (truncated)
		o += (size_t)snprintf(clean + o, 64, "\n[... truncated at %zu bytes]", len);
	clean[o] = '\0';
	json_add_str(evidence, key, clean);
	free(clean);
}

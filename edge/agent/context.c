/* context.c - what a question arrives with: the chat thread so far, whether it follows up
 * an earlier answer, who asked, and the alert that raised it. The relay's "investigate"
 * payload carries these; `ongrid-edge investigate --context FILE` reads them.
 *
 * The input is checked field by field (a wrong shape is an error that names the field,
 * never a half-read context) and compacted to a budget: the most recent thread messages,
 * each cut short, and the alert's labels and annotations. A long thread costs the model a
 * few kilobytes, not its whole history. Everything is redacted before it is kept, since
 * it goes into the timeline and may go to a model.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/banned.h"

#define CONTEXT_FILE_MAX   (256u << 10) /* the relay's payloads are far smaller */
#define CONTEXT_TURNS_MAX  12           /* the most recent thread messages kept */
#define CONTEXT_TURN_MAX   600          /* bytes of one message kept */
#define CONTEXT_THREAD_MAX 4096         /* bytes of thread text kept in all */
#define CONTEXT_ALERT_MAX  2048         /* bytes of the alert kept, as JSON */
#define CONTEXT_FIELD_MAX  128          /* who, platform, user, role */

static const char *jstr(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* A copy of s of at most max bytes (cut on a UTF-8 character boundary and marked " [...]"
 * when longer), redacted. */
static char *cut_redacted(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *c, *r;

	if (n <= max) {
		c = xstrdup(s);
	} else {
		max -= sizeof(" [...]") - 1;
		while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
			max--;
		c = xasprintf("%.*s [...]", (int)max, s);
	}
	r = redact_text(c, NULL);
	free(c);
	return r;
}

/* An optional string member: absent is fine, anything but a short string is not. */
static int opt_str(const cJSON *o, const char *k, const char *where, size_t max, const char **ret,
                   struct diag *d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	*ret = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return diag_set(d, -EINVAL, "%s%s: expected a string", where, k);
	if (strlen(v->valuestring) > max)
		return diag_set(d, -EINVAL, "%s%s: longer than %zu bytes", where, k, max);
	*ret = v->valuestring;
	return 0;
}

static int take_thread(const cJSON *in, cJSON *out, struct diag *d)
{
	const cJSON *turns = cJSON_GetObjectItemCaseSensitive(in, "context");
	cJSON *kept;
	int n, first, r;
	size_t total = 0;

	if (!turns || cJSON_IsNull(turns))
		return 0;
	if (!cJSON_IsArray(turns))
		return diag_set(d, -EINVAL, "context: expected an array of {\"who\", \"text\"}");
	n = cJSON_GetArraySize(turns);
	for (int i = 0; i < n; i++) {
		const cJSON *t = cJSON_GetArrayItem(turns, i);
		const char *who, *text;
		char where[32];

		snprintf(where, sizeof(where), "context[%d].", i);
		if (!cJSON_IsObject(t))
			return diag_set(d, -EINVAL, "context[%d]: expected {\"who\", \"text\"}", i);
		r = opt_str(t, "who", where, CONTEXT_FIELD_MAX, &who, d);
		if (r == 0)
			r = opt_str(t, "text", where, CONTEXT_FILE_MAX, &text, d);
		if (r < 0)
			return r;
		if (!who || !text)
			return diag_set(d, -EINVAL, "context[%d]: expected \"who\" and \"text\"",
			                i);
	}
	/* newest last; walk back from the end while the budget lasts */
	first = n;
	while (first > 0 && n - first < CONTEXT_TURNS_MAX) {
		size_t len = strlen(jstr(cJSON_GetArrayItem(turns, first - 1), "text"));

		len = len < CONTEXT_TURN_MAX ? len : CONTEXT_TURN_MAX;
		if (total + len > CONTEXT_THREAD_MAX && first < n)
			break;
		total += len;
		first--;
	}
	kept = json_arr();
	for (int i = first; i < n; i++) {
		const cJSON *t = cJSON_GetArrayItem(turns, i);
		char *who = cut_redacted(jstr(t, "who"), CONTEXT_FIELD_MAX);
		char *text = cut_redacted(jstr(t, "text"), CONTEXT_TURN_MAX);
		cJSON *o = json_obj();

		json_add_str(o, "who", who);
		json_add_str(o, "text", text);
		json_push(kept, o);
		free(who);
		free(text);
	}
	json_add(out, "context", kept);
	if (first > 0)
		json_add_num(out, "context_omitted", first);
	return 0;
}

static int take_requester(const cJSON *in, cJSON *out, struct diag *d)
{
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(in, "requester");
	const char *const keys[] = { "platform", "user", "role" };
	cJSON *o;

	if (!req || cJSON_IsNull(req))
		return 0;
	if (!cJSON_IsObject(req))
		return diag_set(d, -EINVAL,
		                "requester: expected {\"platform\", \"user\", \"role\"}");
	o = json_obj();
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		int r = opt_str(req, keys[i], "requester.", CONTEXT_FIELD_MAX, &v, d);

		if (r < 0) {
			cJSON_Delete(o);
			return r;
		}
		if (v)
			json_add_str(o, keys[i], v);
	}
	json_add(out, "requester", o);
	return 0;
}

/* Labels and annotations say what fired and why; the rest (generator URLs, fingerprints)
 * is left out. Past the budget only the labels stay. */
static int take_alert(const cJSON *in, cJSON *out, struct diag *d)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(in, "alert");
	const char *const keep[] = { "status", "labels", "annotations", "startsAt", "endsAt" };
	cJSON *o;
	char *printed;

	if (!a || cJSON_IsNull(a))
		return 0;
	if (!cJSON_IsObject(a))
		return diag_set(d, -EINVAL, "alert: expected an object (labels, annotations, ...)");
	o = json_obj();
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(a, keep[i]);

		if (v)
			json_add(o, keep[i], cJSON_Duplicate(v, true));
	}
	redact_json(o);
	printed = json_print(o, false);
	if (strlen(printed) > CONTEXT_ALERT_MAX) {
		cJSON *labels = cJSON_DetachItemFromObjectCaseSensitive(o, "labels");

		cJSON_Delete(o);
		o = json_obj();
		if (labels)
			json_add(o, "labels", labels);
		json_add_bool(o, "cut", true);
	}
	free(printed);
	json_add(out, "alert", o);
	return 0;
}

int agent_context_take(const cJSON *in, cJSON **ret, struct diag *d)
{
	const cJSON *fu = cJSON_GetObjectItemCaseSensitive(in, "follow_up");
	cJSON *out;
	int r;

	*ret = NULL;
	if (!cJSON_IsObject(in))
		return diag_set(d, -EINVAL,
		                "expected an object {\"context\", \"follow_up\", \"requester\", "
		                "\"alert\"}");
	if (fu && !cJSON_IsNull(fu) && !cJSON_IsBool(fu))
		return diag_set(d, -EINVAL, "follow_up: expected true or false");
	out = json_obj();
	json_add_bool(out, "follow_up", cJSON_IsTrue(fu));
	r = take_thread(in, out, d);
	if (r == 0)
		r = take_requester(in, out, d);
	if (r == 0)
		r = take_alert(in, out, d);
	if (r < 0) {
		cJSON_Delete(out);
		return r;
	}
	*ret = out;
	return 0;
}

int agent_context_parse(const char *text, size_t len, cJSON **ret, struct diag *d)
{
	cJSON *in = json_parse(text, len, CONTEXT_FILE_MAX, d);
	int r;

	*ret = NULL;
	if (!in)
		return -EINVAL;
	r = agent_context_take(in, ret, d);
	cJSON_Delete(in);
	return r;
}

int agent_context_load(const char *path, cJSON **ret, struct diag *d)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf;
	size_t n;
	int r;

	*ret = NULL;
	if (!f)
		return diag_set(d, -errno, "%s: %s", path, strerror(errno));
	buf = xmalloc(CONTEXT_FILE_MAX + 1);
	n = fread(buf, 1, CONTEXT_FILE_MAX + 1, f);
	if (ferror(f)) {
		r = diag_set(d, -EIO, "%s: read error", path);
	} else if (n > CONTEXT_FILE_MAX) {
		r = diag_set(d, -EINVAL, "%s: larger than %u bytes", path, CONTEXT_FILE_MAX);
	} else {
		struct diag pd = { 0 };

		r = agent_context_parse(buf, n, ret, &pd);
		if (r < 0)
			diag_set(d, r, "%s: %s", path, pd.msg);
	}
	if (f != stdin)
		fclose(f);
	free(buf);
	return r;
}

void agent_context_classify_text(const char *question, const cJSON *ctx, char *out, size_t n)
{
	const cJSON *alert = cJSON_GetObjectItemCaseSensitive(ctx, "alert");
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(alert, "labels");
	const cJSON *ann = cJSON_GetObjectItemCaseSensitive(alert, "annotations");
	const char *name = jstr(labels, "alertname"), *summary = jstr(ann, "summary");

	char words[256];
	size_t w = 0;

	/* "HighCPUSteal", "disk_full": the words the keywords match on word starts */
	for (size_t i = 0; name && name[i] && w + 2 < sizeof(words); i++) {
		char c = name[i];

		if (i > 0 && isupper((unsigned char)c) && islower((unsigned char)name[i - 1]))
			words[w++] = ' ';
		words[w++] = c == '_' || c == '-' ? ' ' : c;
	}
	words[w] = '\0';
	snprintf(out, n, "%s%s%s%s%s", question, w ? " " : "", words, summary ? " " : "",
	         summary ? summary : "");
}

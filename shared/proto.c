/* proto.c - encode and decode the edge<->relay envelope; see proto.h and docs/protocol.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/proto.h"
#include "shared/str.h"
#include "shared/banned.h"

static const struct {
	const char *code;
	int err;
} codes[] = {
	{ "bad_frame", -EPROTO },
	{ "too_large", -E2BIG },
	{ "unknown_type", -ENOSYS },
	{ "timeout", -ETIMEDOUT },
	{ "cancelled", -ECANCELED },
	{ "unauthorized", -EACCES },
	{ "forbidden", -EPERM },
	{ "not_found", -ENOENT },
	{ "unavailable", -EHOSTUNREACH },
	{ "bad_request", -EINVAL },
	{ "busy", -EBUSY },
	{ "conflict", -EEXIST },
	{ "shutting_down", -ESHUTDOWN },
	{ "disconnected", -ECONNRESET },
	{ "budget_exhausted", -EDQUOT },
	{ "internal", -EIO },
};

const char *proto_code_from_errno(int err)
{
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (codes[i].err == err)
			return codes[i].code;
	return "internal";
}

int proto_errno_from_code(const char *code)
{
	for (size_t i = 0; i < ARRAY_SIZE(codes); i++)
		if (strcmp(codes[i].code, code) == 0)
			return codes[i].err;
	return -EIO;
}

static bool reserved_type(const char *type)
{
	return !strcmp(type, "reply") || !strcmp(type, "cancel") || !strcmp(type, "error");
}

static bool valid_type_chars(const char *type)
{
	size_t n = strlen(type);

	if (n == 0 || n > PROTO_TYPE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = type[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool proto_valid_type(const char *type)
{
	return type && valid_type_chars(type) && !reserved_type(type);
}

bool proto_valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > PROTO_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
			return false;
	return true;
}

#define bad(d, ...) diag_set(d, -EPROTO, __VA_ARGS__)

/* The error object of failed replies and error frames: {"code": "...", "message": "..."} */
static int decode_error(const cJSON *root, struct proto_msg *m, struct diag *d)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	const cJSON *c, *msg;

	if (!cJSON_IsObject(e))
		return bad(d, "frame.%s: expected an object with code and message", "error");
	c = cJSON_GetObjectItemCaseSensitive(e, "code");
	if (!cJSON_IsString(c) || !valid_type_chars(c->valuestring) ||
	    strlen(c->valuestring) > PROTO_CODE_MAX)
		return bad(d, "frame.%s: expected 1-32 characters of [a-z0-9._-]", "error.code");
	str_copy(m->code, c->valuestring, sizeof(m->code));
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (msg && !cJSON_IsString(msg))
		return bad(d, "frame.%s: expected a string", "error.message");
	/* Longer messages are cut, not refused: they are for people, never parsed. */
	if (msg)
		str_copy(m->message, msg->valuestring, sizeof(m->message));
	return 0;
}

int proto_decode(const char *data, size_t len, size_t max_bytes, struct proto_msg *ret,
                 struct diag *d)
{
	struct proto_msg m;
	const cJSON *type, *id, *v;
	struct diag jd = { 0 };
	cJSON *root;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (len > max_bytes)
		return diag_set(d, -E2BIG, "frame of %zu bytes exceeds the limit of %zu bytes", len,
		                max_bytes);
	root = json_parse(data, len, max_bytes, &jd);
	if (!root)
		return diag_set(d, jd.code == -E2BIG ? -E2BIG : -EPROTO, "frame: %s", jd.msg);
	memset(&m, 0, sizeof(m));
	m.root = root;
	if (!cJSON_IsObject(root)) {
		r = bad(d, "%s: expected a JSON object", "frame");
		goto out_free;
	}
	/* The id first, so that any later error can still be matched to its request. */
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	if (cJSON_IsString(id) && proto_valid_id(id->valuestring))
		str_copy(ret->id, id->valuestring, sizeof(ret->id));
	type = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(type) || !valid_type_chars(type->valuestring)) {
		r = bad(d, "frame.%s: expected 1-64 characters of [a-z0-9._-]", "type");
		goto out_free;
	}
	str_copy(m.type, type->valuestring, sizeof(m.type));
	if (!strcmp(m.type, "reply"))
		m.kind = PROTO_REPLY;
	else if (!strcmp(m.type, "cancel"))
		m.kind = PROTO_CANCEL;
	else if (!strcmp(m.type, "error"))
		m.kind = PROTO_ERROR;
	else
		m.kind = PROTO_REQUEST;

	if (id && !cJSON_IsNull(id) && !(cJSON_IsString(id) && proto_valid_id(id->valuestring))) {
		r = bad(d, "frame.%s: expected 1-64 printable characters", "id");
		goto out_free;
	}
	if (!ret->id[0] && m.kind != PROTO_ERROR) {
		r = bad(d, "frame.%s: missing (every request, reply and cancel has one)", "id");
		goto out_free;
	}
	str_copy(m.id, ret->id, sizeof(m.id));

	v = cJSON_GetObjectItemCaseSensitive(root, "payload");
	if (v && !cJSON_IsObject(v)) {
		r = bad(d, "frame.%s: expected an object", "payload");
		goto out_free;
	}
	m.payload = v;

	switch (m.kind) {
	case PROTO_REQUEST:
		v = cJSON_GetObjectItemCaseSensitive(root, "deadline_ms");
		if (v) {
			/* A whole number of ms within a day: longer is a mistake or an attack on
			 * the pending-request table. */
			if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
			    v->valuedouble > 86400000.0 ||
			    v->valuedouble != (double)(int64_t)v->valuedouble) {
				r = bad(d, "frame.%s: expected whole milliseconds, 0 to 86400000",
				        "deadline_ms");
				goto out_free;
			}
			m.deadline_ms = (int64_t)v->valuedouble;
		}
		break;
	case PROTO_REPLY:
		v = cJSON_GetObjectItemCaseSensitive(root, "ok");
		if (!cJSON_IsBool(v)) {
			r = bad(d, "frame.%s: expected true or false", "ok");
			goto out_free;
		}
		m.ok = cJSON_IsTrue(v);
		if (!m.ok) {
			r = decode_error(root, &m, d);
			if (r < 0)
				goto out_free;
		}
		break;
	case PROTO_ERROR:
		r = decode_error(root, &m, d);
		if (r < 0)
			goto out_free;
		break;
	case PROTO_CANCEL:
	case _PROTO_KIND_MAX:
		break;
	}
	*ret = m;
	return 0;

out_free:
	cJSON_Delete(root);
	return r;
}

void proto_msg_release(struct proto_msg *m)
{
	if (!m)
		return;
	cJSON_Delete(m->root);
	m->root = NULL;
	m->payload = NULL;
}

/* Print obj; refuse (NULL) past max_bytes. The payload is attached by reference so that
 * large payloads are not copied before printing. */
static char *finish(cJSON *obj, size_t max_bytes, size_t *ret_len)
{
	char *s = json_print(obj, false);
	size_t n;

	cJSON_Delete(obj);
	n = strlen(s);
	if (n > max_bytes) {
		free(s);
		return NULL;
	}
	if (ret_len)
		*ret_len = n;
	return s;
}

static void attach_payload(cJSON *obj, const cJSON *payload)
{
	if (payload)
		cJSON_AddItemReferenceToObject(obj, "payload", (cJSON *)payload);
	else
		json_add(obj, "payload", json_obj());
}

char *proto_encode_request(const char *type, const char *id, int64_t deadline_ms,
                           const cJSON *payload, size_t max_bytes, size_t *ret_len)
{
	cJSON *o = json_obj();

	json_add_str(o, "type", type);
	json_add_str(o, "id", id);
	if (deadline_ms > 0)
		json_add_num(o, "deadline_ms", (double)deadline_ms);
	attach_payload(o, payload);
	return finish(o, max_bytes, ret_len);
}

char *proto_encode_reply(const char *id, const cJSON *payload, size_t max_bytes, size_t *ret_len)
{
	cJSON *o = json_obj();

	json_add_str(o, "type", "reply");
	json_add_str(o, "id", id);
	json_add_bool(o, "ok", true);
	attach_payload(o, payload);
	return finish(o, max_bytes, ret_len);
}

char *proto_encode_failure(enum proto_kind kind, const char *id, const char *code,
                           const char *message, size_t *ret_len)
{
	cJSON *o = json_obj(), *e = json_obj();
	char msg[PROTO_MSG_MAX + 1];

	json_add_str(o, "type", kind == PROTO_ERROR ? "error" : "reply");
	if (id && *id)
		json_add_str(o, "id", id);
	if (kind != PROTO_ERROR)
		json_add_bool(o, "ok", false);
	str_copy(msg, message ? message : "", sizeof(msg));
	json_add_str(e, "code", code);
	json_add_str(e, "message", msg);
	json_add(o, "error", e);
	return finish(o, (size_t)-1, ret_len);
}

char *proto_encode_cancel(const char *id, size_t *ret_len)
{
	cJSON *o = json_obj();

	json_add_str(o, "type", "cancel");
	json_add_str(o, "id", id);
	return finish(o, (size_t)-1, ret_len);
}

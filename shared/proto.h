/* proto.h - the edge<->relay envelope (docs/protocol.md): JSON text frames, one message
 * each, with a type and an id.
 *
 *   request  {"type":"tool.run","id":"e7","deadline_ms":30000,"payload":{...}}
 *   reply    {"type":"reply","id":"e7","ok":true,"payload":{...}}
 *            {"type":"reply","id":"e7","ok":false,"error":{"code":"timeout","message":"..."}}
 *   cancel   {"type":"cancel","id":"e7"}
 *   error    {"type":"error","id":"e7","error":{"code":"bad_frame","message":"..."}}
 *
 * Both sides use this one decoder, so a frame either side accepts is a frame the other
 * would have produced. Every field is checked here (length, charset, type); the payload
 * is left as parsed JSON for the handler, which validates its own fields.
 */
#ifndef ONGRID_PROTO_H
#define ONGRID_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

#define PROTO_VERSION      1
#define PROTO_SUBPROTOCOL  "ongrid-v1" /* the WebSocket subprotocol name */
#define PROTO_TYPE_MAX     64          /* bytes in a message type */
#define PROTO_ID_MAX       64          /* bytes in a message id */
#define PROTO_CODE_MAX     32          /* bytes in an error code */
#define PROTO_MSG_MAX      256         /* bytes kept of an error message */
/* The start of the error message the relay closes an edge's link with when another
 * connection authenticated under the same edge name (docs/protocol.md, "Duplicates"). */
#define PROTO_REPLACED_MSG "replaced by a newer connection"

enum proto_kind { PROTO_REQUEST, PROTO_REPLY, PROTO_CANCEL, PROTO_ERROR, _PROTO_KIND_MAX };

struct proto_msg {
	enum proto_kind kind;
	char type[PROTO_TYPE_MAX + 1]; /* the request type; "reply", "cancel" or "error" */
	char id[PROTO_ID_MAX + 1];     /* empty only for an error about an unreadable frame */
	int64_t deadline_ms;           /* requests: how long the sender waits; 0 = unspecified */
	bool ok;                       /* replies: true on success */
	char code[PROTO_CODE_MAX + 1]; /* failed replies and errors: "timeout", "bad_frame" ... */
	char message[PROTO_MSG_MAX + 1];
	const cJSON *payload; /* borrowed from root; NULL when absent */
	cJSON *root;          /* owned: the whole parsed frame */
};

/* Decode one frame of len bytes. Frames over max_bytes are refused with -E2BIG before any
 * parsing; anything that is not a well-formed envelope gets -EPROTO with d naming the
 * field ("frame.id: expected 1-64 printable characters"). On success the caller owns
 * ret->root and must call proto_msg_release(). When the frame had a readable id, it is
 * copied into ret->id even on failure, so the error can name the request. */
int proto_decode(const char *data, size_t len, size_t max_bytes, struct proto_msg *ret,
                 struct diag *d);
void proto_msg_release(struct proto_msg *m);

/* Encoders return a malloc'ed NUL-terminated frame (caller frees) and its length, or NULL
 * with -E2BIG in *ret_err when the frame would exceed max_bytes. payload is borrowed and
 * may be NULL (encoded as {}). type and id must be valid (proto_valid_type/_id). */
char *proto_encode_request(const char *type, const char *id, int64_t deadline_ms,
                           const cJSON *payload, size_t max_bytes, size_t *ret_len);
char *proto_encode_reply(const char *id, const cJSON *payload, size_t max_bytes, size_t *ret_len);
/* A failed reply, or (kind PROTO_ERROR) a frame-level error; id may be "" for the latter. */
char *proto_encode_failure(enum proto_kind kind, const char *id, const char *code,
                           const char *message, size_t *ret_len);
char *proto_encode_cancel(const char *id, size_t *ret_len);

bool proto_valid_type(const char *type); /* [a-z0-9._-]{1,64}, not a reserved type */
bool proto_valid_id(const char *id);     /* 1-64 printable ASCII characters, no space */

/* Error codes on the wire <-> negative errno inside each process. Unknown codes map to
 * -EIO; errno values without a code map to "internal". */
const char *proto_code_from_errno(int err);
int proto_errno_from_code(const char *code);

#endif

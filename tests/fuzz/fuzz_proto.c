/* fuzz_proto: proto_decode must never crash, leak or read out of bounds, and whatever it
 * accepts must encode back into a frame it accepts again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shared/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m, m2;
	struct diag d = { 0 };
	size_t len = 0;
	char *f = NULL;

	if (proto_decode((const char *)data, size, 1 << 16, &m, &d) < 0)
		return 0;
	switch (m.kind) {
	case PROTO_REQUEST:
		f = proto_encode_request(m.type, m.id, m.deadline_ms, m.payload, 1 << 20, &len);
		break;
	case PROTO_REPLY:
		f = m.ok ? proto_encode_reply(m.id, m.payload, 1 << 20, &len)
		         : proto_encode_failure(PROTO_REPLY, m.id, m.code, m.message, &len);
		break;
	case PROTO_CANCEL:
		f = proto_encode_cancel(m.id, &len);
		break;
	case PROTO_ERROR:
		f = proto_encode_failure(PROTO_ERROR, m.id, m.code, m.message, &len);
		break;
	case _PROTO_KIND_MAX:
		break;
	}
	if (f) {
		if (proto_decode(f, len, 1 << 20, &m2, &d) != 0 || m2.kind != m.kind ||
		    strcmp(m2.id, m.id) != 0)
			abort();
		proto_msg_release(&m2);
		free(f);
	}
	proto_msg_release(&m);
	return 0;
}

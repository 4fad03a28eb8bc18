/* fuzz_llm_output: a model's reply is hostile bytes. Parsing it as the neutral response and
 * vetting each tool call must never crash, leak or read out of bounds; a call that passes
 * has a name of [a-z0-9_]{1,64} and arguments that are absent or an object. The same bytes
 * through redaction (what the agent does to every text it keeps) must not crash either. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/agent/agent.h"
#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	const cJSON *call;
	cJSON *resp;
	char *text, *red;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	resp = json_parse(text, size, 65536, &d);
	cJSON_ArrayForEach(call, cJSON_GetObjectItemCaseSensitive(resp, "tool_calls")) {
		const char *name = NULL;
		const cJSON *args = NULL;

		memset(&d, 0, sizeof(d));
		if (llm_tool_call_parse(call, &name, &args, &d) < 0) {
			if (!d.msg[0])
				abort(); /* a refusal always says why */
			continue;
		}
		if (!name || !*name || strlen(name) > 64 || (args && !cJSON_IsObject(args)))
			abort();
		for (const char *p = name; *p; p++)
			if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_')
				abort();
	}
	cJSON_Delete(resp);
	red = redact_text(text, NULL);
	free(red);
	free(text);
	return 0;
}

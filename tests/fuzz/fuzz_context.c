/* fuzz_context: the context a question arrives with (`investigate --context`, the relay's
 * "investigate" payload) is untrusted JSON. Taking it must never crash, leak or read out
 * of bounds; a refusal always says why; what is taken is within its budgets and taking it
 * again keeps it within them. */
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
	cJSON *c = NULL, *again = NULL;
	char *printed, words[512];

	if (agent_context_parse((const char *)data, size, &c, &d) < 0) {
		if (!d.msg[0] || c)
			abort(); /* a refusal says why and hands nothing back */
		return 0;
	}
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(c, "context")) > 12)
		abort();
	agent_context_classify_text("q", c, words, sizeof(words));
	printed = json_print(c, false);
	memset(&d, 0, sizeof(d));
	if (agent_context_parse(printed, strlen(printed), &again, &d) < 0)
		abort(); /* what was taken is a valid context */
	free(printed);
	cJSON_Delete(again);
	cJSON_Delete(c);
	return 0;
}

/* fuzz_schema: tool arguments come from a model; validating any JSON against the tools'
 * schemas, and checking any text as a schema, must never crash, leak or hang. The first
 * byte picks the mode so one corpus covers both. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge/tools/schema.h"
#include "edge/tools/tool.h"
#include "shared/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { 0 };
	char *text;

	if (size < 1 || size > 65536)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] & 1) {
		(void)schema_check(text, &d);
	} else {
		cJSON *args = json_parse(text, size - 1, 65536, &d);
		if (args) {
			for (size_t i = 0; i < tool_registry_count; i++)
				(void)schema_validate_text(tool_registry[i]->args_schema, args,
				                           "args", &d);
			cJSON_Delete(args);
		}
	}
	free(text);
	return 0;
}

/* wire.c - helpers shared by the LLM translators (see wire.h). */
#include <ctype.h>
#include <string.h>

#include "relay/llm/wire.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

const char *wire_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const cJSON *wire_obj(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsObject(v) ? v : NULL;
}

const cJSON *wire_arr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsArray(v) ? v : NULL;
}

int64_t wire_int(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > 1e15)
		return 0;
	return (int64_t)v->valuedouble;
}

bool wire_has(const char *haystack, const char *needle)
{
	return haystack && strcasestr(haystack, needle) != NULL;
}

void wire_msg(char *out, size_t outsz, const char *msg)
{
	size_t i = 0;

	if (!outsz)
		return;
	for (; msg && msg[i] && i + 1 < outsz; i++)
		out[i] = iscntrl((unsigned char)msg[i]) ? ' ' : msg[i];
	out[i] = '\0';
}

cJSON *wire_args_object(const char *args)
{
	cJSON *j =
	        args ? json_parse(args, strlen(args), ONGRID_LLM_MAX_RESPONSE_BYTES, NULL) : NULL;

	if (cJSON_IsObject(j))
		return j;
	cJSON_Delete(j);
	return cJSON_CreateObject();
}

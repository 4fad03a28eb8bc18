#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

/* cJSON recurses once per nesting level; measure the depth first (outside strings) so a
 * hostile "[[[[[[..." cannot exhaust the stack, whatever cJSON's own limit is. */
static size_t nesting_depth_exceeds(const char *s, size_t len, size_t max_depth)
{
	size_t depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return i + 1;
		} else if ((c == ']' || c == '}') && depth) {
			depth--;
		}
	}
	return 0;
}

cJSON *json_parse(const char *text, size_t len, size_t max_bytes, struct diag *d)
{
	const char *end = NULL;
	size_t at;
	cJSON *root;

	if (len > max_bytes) {
		diag_set(d, -E2BIG, "JSON document of %zu bytes exceeds the limit of %zu", len,
		         max_bytes);
		return NULL;
	}
	at = nesting_depth_exceeds(text, len, ONGRID_JSON_MAX_DEPTH);
	if (at) {
		diag_set(d, -EINVAL, "JSON nested deeper than %d levels at offset %zu",
		         ONGRID_JSON_MAX_DEPTH, at - 1);
		return NULL;
	}
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		size_t off = end && end >= text ? (size_t)(end - text) : 0;
		const char *err = cJSON_GetErrorPtr();
		if (err && err >= text && err <= text + len)
			off = (size_t)(err - text);
		diag_set(d, -EINVAL, "invalid JSON at offset %zu", off);
		return NULL;
	}
	/* Only whitespace may follow the value. */
	if (end) {
		while (end < text + len && strchr(" \t\r\n", *end) && *end)
			end++;
		if (end < text + len) {
			diag_set(d, -EINVAL, "invalid JSON at offset %zu: trailing data",
			         (size_t)(end - text));
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}

static const cJSON *lookup(const cJSON *obj, const char *key)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
}

int json_get_string(const cJSON *obj, const char *key, const char **ret, const char *what,
                    struct diag *d)
{
	const cJSON *it = lookup(obj, key);

	if (!it)
		return -ENOENT;
	if (!cJSON_IsString(it))
		return diag_set(d, -EINVAL, "%s.%s: expected a string", what, key);
	*ret = it->valuestring;
	return 0;
}

int json_get_number(const cJSON *obj, const char *key, double *ret, const char *what,
                    struct diag *d)
{
	const cJSON *it = lookup(obj, key);

	if (!it)
		return -ENOENT;
	if (!cJSON_IsNumber(it))
		return diag_set(d, -EINVAL, "%s.%s: expected a number", what, key);
	*ret = it->valuedouble;
	return 0;
}

int json_get_int(const cJSON *obj, const char *key, int64_t *ret, const char *what, struct diag *d)
{
	double v = 0;
	int r = json_get_number(obj, key, &v, what, d);

	if (r < 0)
		return r;
	if (v != floor(v) || v < -9007199254740992.0 || v > 9007199254740992.0)
		return diag_set(d, -EINVAL, "%s.%s: expected an integer", what, key);
	*ret = (int64_t)v;
	return 0;
}

int json_get_bool(const cJSON *obj, const char *key, bool *ret, const char *what, struct diag *d)
{
	const cJSON *it = lookup(obj, key);

	if (!it)
		return -ENOENT;
	if (!cJSON_IsBool(it))
		return diag_set(d, -EINVAL, "%s.%s: expected true or false", what, key);
	*ret = cJSON_IsTrue(it);
	return 0;
}

static _noreturn_ void json_oom(void)
{
	fprintf(stderr, "ongrid: out of memory (cJSON)\n");
	abort();
}

char *json_print(const cJSON *item, bool pretty)
{
	char *s = pretty ? cJSON_Print(item) : cJSON_PrintUnformatted(item);

	if (!s)
		json_oom();
	return s;
}

int json_print_stdout(const cJSON *item, bool pretty)
{
	char *s = json_print(item, pretty);
	int r = puts(s) < 0 ? -EIO : 0;

	cJSON_free(s);
	if (fflush(stdout) != 0)
		r = -EIO;
	return r;
}

cJSON *json_obj(void)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		json_oom();
	return o;
}

cJSON *json_arr(void)
{
	cJSON *a = cJSON_CreateArray();

	if (!a)
		json_oom();
	return a;
}

void json_add(cJSON *obj, const char *key, cJSON *item)
{
	if (!item || !cJSON_AddItemToObject(obj, key, item))
		json_oom();
}

void json_push(cJSON *arr, cJSON *item)
{
	if (!item || !cJSON_AddItemToArray(arr, item))
		json_oom();
}

void json_add_str(cJSON *obj, const char *key, const char *val)
{
	json_add(obj, key, val ? cJSON_CreateString(val) : cJSON_CreateNull());
}

void json_add_num(cJSON *obj, const char *key, double val)
{
	/* JSON has no NaN or Inf: emit null so consumers do not choke. */
	json_add(obj, key, isfinite(val) ? cJSON_CreateNumber(val) : cJSON_CreateNull());
}

void json_add_bool(cJSON *obj, const char *key, bool val)
{
	json_add(obj, key, cJSON_CreateBool(val));
}

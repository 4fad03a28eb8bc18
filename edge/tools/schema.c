/* schema.c - a JSON Schema subset, enough to describe tool arguments and to refuse bad
 * ones with a message that names the field. See schema.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "edge/tools/schema.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/banned.h"

/* A pattern is written by a tool author but matched against model-chosen input; bound
 * the backtracking so a bad pattern cannot hang the gate. */
#define PATTERN_MATCH_LIMIT 100000
#define PATTERN_DEPTH_LIMIT 1000

static const char *const type_names[] = { "object",  "array",   "string", "number",
	                                  "integer", "boolean", "null" };

static const char *const keywords[] = {
	"type",      "properties",  "required", "additionalProperties",
	"enum",      "minimum",     "maximum",  "minLength",
	"maxLength", "pattern",     "items",    "minItems",
	"maxItems",  "description", "title",    "default",
	"examples",
};

static bool is_type_name(const char *s)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(s, type_names[i]) == 0)
			return true;
	return false;
}

static int compile(const char *pattern, pcre2_code **ret, struct diag *d, const char *where)
{
	PCRE2_UCHAR msg[128];
	PCRE2_SIZE off;
	int err;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err,
	                               &off, NULL);

	if (!re) {
		pcre2_get_error_message(err, msg, sizeof(msg));
		return diag_set(d, -EINVAL, "%s: pattern '%s' does not compile at %zu: %s", where,
		                pattern, (size_t)off, (const char *)msg);
	}
	*ret = re;
	return 0;
}

static bool is_count(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble);
}

/* Recursion is bounded by ONGRID_SCHEMA_MAX_DEPTH. */
/* NOLINTNEXTLINE(misc-no-recursion) */
static int check_node(const cJSON *s, const char *where, int depth, struct diag *d)
{
	char sub[ONGRID_DIAG_MAX];
	const cJSON *k;

	if (depth > ONGRID_SCHEMA_MAX_DEPTH)
		return diag_set(d, -E2BIG, "%s: nested deeper than %d", where,
		                ONGRID_SCHEMA_MAX_DEPTH);
	if (!cJSON_IsObject(s))
		return diag_set(d, -EINVAL, "%s: expected an object", where);
	cJSON_ArrayForEach(k, s) {
		bool known = false;
		int r = 0;

		for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]) && !known; i++)
			known = strcmp(k->string, keywords[i]) == 0;
		if (!known)
			return diag_set(d, -EINVAL, "%s: unknown keyword '%s'", where, k->string);
		if (strcmp(k->string, "type") == 0) {
			const cJSON *t;
			if (cJSON_IsString(k)) {
				if (!is_type_name(k->valuestring))
					return diag_set(d, -EINVAL, "%s.type: unknown type '%s'",
					                where, k->valuestring);
			} else if (cJSON_IsArray(k) && cJSON_GetArraySize(k) > 0) {
				cJSON_ArrayForEach(t, k)
					if (!cJSON_IsString(t) || !is_type_name(t->valuestring))
						return diag_set(d, -EINVAL,
						                "%s.type: expected type names",
						                where);
			} else {
				return diag_set(d, -EINVAL, "%s.type: expected a type name", where);
			}
		} else if (strcmp(k->string, "properties") == 0) {
			const cJSON *p;
			if (!cJSON_IsObject(k))
				return diag_set(d, -EINVAL, "%s.properties: expected an object",
				                where);
			cJSON_ArrayForEach(p, k) {
				snprintf(sub, sizeof(sub), "%s.properties.%s", where, p->string);
				r = check_node(p, sub, depth + 1,
				               d); /* NOLINT(misc-no-recursion) */
				if (r < 0)
					return r;
			}
		} else if (strcmp(k->string, "required") == 0) {
			const cJSON *p;
			if (!cJSON_IsArray(k))
				return diag_set(d, -EINVAL, "%s.required: expected a list of names",
				                where);
			cJSON_ArrayForEach(p, k)
				if (!cJSON_IsString(p))
					return diag_set(d, -EINVAL,
					                "%s.required: expected a list of names",
					                where);
		} else if (strcmp(k->string, "additionalProperties") == 0) {
			if (!cJSON_IsBool(k)) {
				snprintf(sub, sizeof(sub), "%s.additionalProperties", where);
				r = check_node(k, sub, depth + 1,
				               d); /* NOLINT(misc-no-recursion) */
			}
		} else if (strcmp(k->string, "items") == 0) {
			snprintf(sub, sizeof(sub), "%s.items", where);
			r = check_node(k, sub, depth + 1, d); /* NOLINT(misc-no-recursion) */
		} else if (strcmp(k->string, "enum") == 0) {
			if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) == 0)
				return diag_set(d, -EINVAL, "%s.enum: expected a non-empty list",
				                where);
		} else if (strcmp(k->string, "minimum") == 0 || strcmp(k->string, "maximum") == 0) {
			if (!cJSON_IsNumber(k))
				return diag_set(d, -EINVAL, "%s.%s: expected a number", where,
				                k->string);
		} else if (strcmp(k->string, "minLength") == 0 ||
		           strcmp(k->string, "maxLength") == 0 ||
		           strcmp(k->string, "minItems") == 0 ||
		           strcmp(k->string, "maxItems") == 0) {
			if (!is_count(k))
				return diag_set(d, -EINVAL,
				                "%s.%s: expected a non-negative integer", where,
				                k->string);
		} else if (strcmp(k->string, "pattern") == 0) {
			pcre2_code *re = NULL;
			if (!cJSON_IsString(k))
				return diag_set(d, -EINVAL, "%s.pattern: expected a string", where);
			r = compile(k->valuestring, &re, d, where);
			if (r == 0)
				pcre2_code_free(re);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int schema_check(const char *text, struct diag *d)
{
	cJSON *s = json_parse(text, strlen(text), ONGRID_TOOL_ARGS_MAX_BYTES, d);
	int r;

	if (!s)
		return diag_prefix(d, "schema: ");
	r = check_node(s, "schema", 0, d);
	cJSON_Delete(s);
	return r;
}

static const char *type_of(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	return "null";
}

static bool has_type(const cJSON *v, const char *t)
{
	if (strcmp(t, "object") == 0)
		return cJSON_IsObject(v);
	if (strcmp(t, "array") == 0)
		return cJSON_IsArray(v);
	if (strcmp(t, "string") == 0)
		return cJSON_IsString(v);
	if (strcmp(t, "number") == 0)
		return cJSON_IsNumber(v);
	if (strcmp(t, "integer") == 0)
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
		       fabs(v->valuedouble) < 9007199254740992.0;
	if (strcmp(t, "boolean") == 0)
		return cJSON_IsBool(v);
	return cJSON_IsNull(v);
}

static const char *article(const char *t)
{
	return t[0] == 'a' || t[0] == 'o' || t[0] == 'i' ? "an" : "a";
}

static int check_type(const cJSON *t, const cJSON *v, const char *where, struct diag *d)
{
	char want[128] = "";
	const cJSON *e;

	if (cJSON_IsString(t)) {
		if (has_type(v, t->valuestring))
			return 0;
		if (strcmp(t->valuestring, "null") == 0)
			return diag_set(d, -EINVAL, "%s: expected null, got %s", where, type_of(v));
		return diag_set(d, -EINVAL, "%s: expected %s %s, got %s", where,
		                article(t->valuestring), t->valuestring, type_of(v));
	}
	cJSON_ArrayForEach(e, t) {
		if (has_type(v, e->valuestring))
			return 0;
		if (strlen(want) + strlen(e->valuestring) + 5 < sizeof(want)) {
			if (want[0])
				strncat(want, " or ", sizeof(want) - strlen(want) - 1);
			strncat(want, e->valuestring, sizeof(want) - strlen(want) - 1);
		}
	}
	return diag_set(d, -EINVAL, "%s: expected %s, got %s", where, want, type_of(v));
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static int check_pattern(const char *pattern, const char *v, const char *where, struct diag *d)
{
	pcre2_match_context *mc = NULL;
	pcre2_match_data *md = NULL;
	pcre2_code *re = NULL;
	int r = compile(pattern, &re, d, where), rc;

	if (r < 0)
		return r;
	mc = pcre2_match_context_create(NULL);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!mc || !md) {
		r = diag_set(d, -ENOMEM, "%s: out of memory matching a pattern", where);
		goto out;
	}
	pcre2_set_match_limit(mc, PATTERN_MATCH_LIMIT);
	pcre2_set_depth_limit(mc, PATTERN_DEPTH_LIMIT);
	rc = pcre2_match(re, (PCRE2_SPTR)v, strlen(v), 0, 0, md, mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		r = diag_set(d, -EINVAL, "%s: '%s' does not match the pattern '%s'", where, v,
		             pattern);
	else if (rc < 0)
		r = diag_set(d, -EINVAL, "%s: cannot be checked against the pattern '%s'", where,
		             pattern);
out:
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	pcre2_code_free(re);
	return r;
}

static int check_enum(const cJSON *e, const cJSON *v, const char *where, struct diag *d)
{
	char list[256] = "", *got;
	const cJSON *x;
	int r;

	cJSON_ArrayForEach(x, e)
		if (cJSON_Compare(x, v, true))
			return 0;
	cJSON_ArrayForEach(x, e) {
		char *s = cJSON_PrintUnformatted(x);
		if (s && strlen(list) + strlen(s) + 3 < sizeof(list)) {
			if (list[0])
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, s, sizeof(list) - strlen(list) - 1);
		}
		cJSON_free(s);
	}
	got = cJSON_PrintUnformatted(v);
	r = diag_set(d, -EINVAL, "%s: expected one of %s, got %.64s", where, list, got ? got : "?");
	cJSON_free(got);
	return r;
}

/* Recursion is bounded by ONGRID_SCHEMA_MAX_DEPTH. */
/* NOLINTNEXTLINE(misc-no-recursion) */
static int validate(const cJSON *s, const cJSON *v, const char *where, int depth, struct diag *d)
{
	const cJSON *k;
	char sub[ONGRID_DIAG_MAX];
	int r;

	if (depth > ONGRID_SCHEMA_MAX_DEPTH)
		return diag_set(d, -E2BIG, "%s: nested deeper than %d", where,
		                ONGRID_SCHEMA_MAX_DEPTH);
	k = cJSON_GetObjectItemCaseSensitive(s, "type");
	if (k && (r = check_type(k, v, where, d)) < 0)
		return r;
	k = cJSON_GetObjectItemCaseSensitive(s, "enum");
	if (k && (r = check_enum(k, v, where, d)) < 0)
		return r;
	if (cJSON_IsNumber(v)) {
		k = cJSON_GetObjectItemCaseSensitive(s, "minimum");
		if (k && v->valuedouble < k->valuedouble)
			return diag_set(d, -EINVAL, "%s: %g is less than the minimum %g", where,
			                v->valuedouble, k->valuedouble);
		k = cJSON_GetObjectItemCaseSensitive(s, "maximum");
		if (k && v->valuedouble > k->valuedouble)
			return diag_set(d, -EINVAL, "%s: %g is more than the maximum %g", where,
			                v->valuedouble, k->valuedouble);
	}
	if (cJSON_IsString(v)) {
		size_t n = utf8_chars(v->valuestring);
		k = cJSON_GetObjectItemCaseSensitive(s, "minLength");
		if (k && n < (size_t)k->valuedouble)
			return diag_set(d, -EINVAL, "%s: shorter than %g characters", where,
			                k->valuedouble);
		k = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
		if (k && n > (size_t)k->valuedouble)
			return diag_set(d, -EINVAL, "%s: longer than %g characters", where,
			                k->valuedouble);
		k = cJSON_GetObjectItemCaseSensitive(s, "pattern");
		if (k && (r = check_pattern(k->valuestring, v->valuestring, where, d)) < 0)
			return r;
	}
	if (cJSON_IsArray(v)) {
		int n = cJSON_GetArraySize(v), i = 0;
		const cJSON *item, *items = cJSON_GetObjectItemCaseSensitive(s, "items");

		k = cJSON_GetObjectItemCaseSensitive(s, "minItems");
		if (k && n < k->valuedouble)
			return diag_set(d, -EINVAL, "%s: fewer than %g items", where,
			                k->valuedouble);
		k = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
		if (k && n > k->valuedouble)
			return diag_set(d, -EINVAL, "%s: more than %g items", where,
			                k->valuedouble);
		cJSON_ArrayForEach(item, v) {
			if (items) {
				snprintf(sub, sizeof(sub), "%s[%d]", where, i);
				r = validate(items, item, sub, depth + 1, d); /* NOLINT */
				if (r < 0)
					return r;
			} else if (depth + 1 > ONGRID_SCHEMA_MAX_DEPTH) {
				return diag_set(d, -E2BIG, "%s: nested too deep", where);
			}
			i++;
		}
	}
	if (cJSON_IsObject(v)) {
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
		const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
		const cJSON *f;

		cJSON_ArrayForEach(f, req)
			if (!cJSON_GetObjectItemCaseSensitive(v, f->valuestring))
				return diag_set(d, -EINVAL, "%s: missing required field '%s'",
				                where, f->valuestring);
		cJSON_ArrayForEach(f, v) {
			const cJSON *ps =
			        props ? cJSON_GetObjectItemCaseSensitive(props, f->string) : NULL;

			/* cJSON answers the first of two equal keys; a person reading the
			 * proposal may see the last. Refuse the ambiguity. */
			for (const cJSON *g = f->next; g; g = g->next)
				if (strcmp(g->string, f->string) == 0)
					return diag_set(d, -EINVAL, "%s.%s: duplicate field", where,
					                f->string);
			snprintf(sub, sizeof(sub), "%s.%s", where, f->string);
			if (!ps && cJSON_IsFalse(extra)) {
				char allowed[200] = "";
				const cJSON *p;
				cJSON_ArrayForEach(p, props) {
					if (strlen(allowed) + strlen(p->string) + 3 >=
					    sizeof(allowed))
						break;
					if (allowed[0])
						strncat(allowed, ", ",
						        sizeof(allowed) - strlen(allowed) - 1);
					strncat(allowed, p->string,
					        sizeof(allowed) - strlen(allowed) - 1);
				}
				return diag_set(d, -EINVAL, "%s: unknown field (allowed: %s)", sub,
				                allowed[0] ? allowed : "none");
			}
			if (!ps && cJSON_IsObject(extra))
				ps = extra;
			if (ps) {
				r = validate(ps, f, sub, depth + 1,
				             d); /* NOLINT(misc-no-recursion) */
				if (r < 0)
					return r;
			}
		}
	}
	return 0;
}

int schema_validate(const cJSON *schema, const cJSON *value, const char *what, struct diag *d)
{
	return validate(schema, value, what, 0, d);
}

int schema_validate_text(const char *schema, const cJSON *value, const char *what, struct diag *d)
{
	struct diag sd = { 0 };
	cJSON *s = json_parse(schema, strlen(schema), ONGRID_TOOL_ARGS_MAX_BYTES, &sd);
	int r;

	if (!s)
		return diag_set(d, -EINVAL, "tool schema is not valid JSON: %s", sd.msg);
	r = validate(s, value, what, 0, d);
	cJSON_Delete(s);
	return r;
}

#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shared/alloc.h"
#include "shared/conf.h"
#include "shared/json.h"
#include "shared/limits.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const type_names[_CONF_TYPE_MAX] = {
	"string", "integer", "boolean", "duration", "size", "number", "list of strings",
};

static const char *const type_expect[_CONF_TYPE_MAX] = {
	"a string",
	"an integer",
	"true or false",
	"a duration such as 30s, 15m or 7d",
	"a size such as 512KiB or 64MiB",
	"a number",
	"a list of strings such as [\"a\", \"b\"]",
};

static void *field(void *obj, const struct conf_key *k)
{
	return (char *)obj + k->offset;
}

static void strlist_free(struct conf_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Comma-separated text into a list; blanks around items are dropped, empty items too. */
static void strlist_from_text(struct conf_strlist *l, const char *text)
{
	char *copy = xstrdup(text), *save = NULL;

	strlist_free(l);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = str_trim(tok);
		if (!*item)
			continue;
		l->v = xrealloc(l->v, st_mul(l->n + 1, sizeof(*l->v)));
		l->v[l->n++] = xstrdup(item);
	}
	free(copy);
}

static int check_range(const struct conf_key *k, int64_t v, const char *origin, struct diag *d)
{
	if (k->max > k->min && (v < k->min || v > k->max))
		return diag_set(d, -ERANGE, "%s: %s: %lld is out of range [%lld, %lld]", origin,
		                k->name, (long long)v, (long long)k->min, (long long)k->max);
	return 0;
}

static bool is_choice(const char *choices, const char *v)
{
	size_t n = strlen(v);

	for (const char *p = choices; p; p = strchr(p, '|')) {
		if (*p == '|')
			p++;
		if (strncmp(p, v, n) == 0 && (p[n] == '|' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* Set a key from its textual form. Shared by defaults, string values in files and the
 * environment, so "15d" means the same everywhere. */
static int set_from_text(const struct conf_key *k, void *obj, const char *text, const char *origin,
                         struct diag *d)
{
	void *f = field(obj, k);
	int r = 0;

	switch (k->type) {
	case CONF_STRING:
		if (text && k->choices && !is_choice(k->choices, text))
			return diag_set(d, -EINVAL, "%s: %s: expected one of %s, got '%s'", origin,
			                k->name, k->choices, text);
		free(*(char **)f);
		*(char **)f = text ? xstrdup(text) : NULL;
		return 0;
	case CONF_STRLIST:
		if (text)
			strlist_from_text(f, text);
		else
			strlist_free(f);
		return 0;
	default:
		break;
	}
	if (!text)
		return 0;
	switch (k->type) {
	case CONF_INT: {
		int64_t v;
		r = str_to_i64(text, &v);
		if (r == 0 && (r = check_range(k, v, origin, d)) < 0)
			return r;
		if (r == 0)
			*(int64_t *)f = v;
		break;
	}
	case CONF_BOOL:
		r = str_to_bool(text, f);
		break;
	case CONF_DURATION: {
		int64_t v;
		r = str_to_duration_ms(text, &v);
		if (r == 0 && k->max > 0 && (v < k->min || v > k->max)) {
			char lo[32], hi[32];
			str_format_duration(lo, sizeof(lo), k->min);
			str_format_duration(hi, sizeof(hi), k->max);
			return diag_set(d, -ERANGE, "%s: %s: '%s' is out of range [%s, %s]", origin,
			                k->name, text, lo, hi);
		}
		if (r == 0)
			*(int64_t *)f = v;
		break;
	}
	case CONF_SIZE: {
		uint64_t v;
		r = str_to_size(text, &v);
		if (r == 0 && k->max > 0 && (v < (uint64_t)k->min || v > (uint64_t)k->max))
			return diag_set(d, -ERANGE,
			                "%s: %s: '%s' is out of range [%lld, %lld] bytes", origin,
			                k->name, text, (long long)k->min, (long long)k->max);
		if (r == 0)
			*(uint64_t *)f = v;
		break;
	}
	case CONF_DOUBLE:
		r = str_to_double(text, f);
		break;
	default:
		r = -EINVAL;
	}
	if (r < 0)
		return diag_set(d, -EINVAL, "%s: %s: expected %s, got '%s'", origin, k->name,
		                type_expect[k->type], text);
	return 0;
}

void conf_defaults(const struct conf_table *t, void *obj)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		int r = set_from_text(&t->keys[i], obj, t->keys[i].def, "default", NULL);
		/* A default that does not parse is a bug in the table; tests catch it. */
		if (r < 0)
			abort();
	}
}

static const struct conf_key *find_key(const struct conf_table *t, const char *name)
{
	for (size_t i = 0; i < t->nkeys; i++)
		if (strcmp(t->keys[i].name, name) == 0)
			return &t->keys[i];
	return NULL;
}

/* Is name a group some key lives under ("tsdb" for "tsdb.retention")? */
static bool is_group(const struct conf_table *t, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < t->nkeys; i++)
		if (strncmp(t->keys[i].name, name, n) == 0 && t->keys[i].name[n] == '.')
			return true;
	for (size_t i = 0; i < t->nsections; i++)
		if (strncmp(t->sections[i].name, name, n) == 0 && t->sections[i].name[n] == '.')
			return true;
	return false;
}

static const struct conf_section *find_section(const struct conf_table *t, const char *name)
{
	for (size_t i = 0; i < t->nsections; i++)
		if (strcmp(t->sections[i].name, name) == 0)
			return &t->sections[i];
	return NULL;
}

int conf_set(const struct conf_table *t, void *obj, const char *key, const char *value,
             const char *origin, struct diag *d)
{
	const struct conf_key *k = find_key(t, key);

	if (!k)
		return diag_set(d, -EINVAL, "%s: unknown key '%s'", origin, key);
	return set_from_text(k, obj, value, origin, d);
}

/* One setting from the file: scalars of the natural libconfig type or a string in the
 * textual form; lists for CONF_STRLIST. */
static int apply_setting(const struct conf_key *k, void *obj, config_setting_t *s,
                         const char *origin, struct diag *d)
{
	int type = config_setting_type(s);
	char num[64];

	switch (type) {
	case CONFIG_TYPE_STRING:
		if (k->type == CONF_BOOL || k->type == CONF_INT || k->type == CONF_DOUBLE)
			break; /* a quoted number or boolean is a type error, as it reads */
		return set_from_text(k, obj, config_setting_get_string(s), origin, d);
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: {
		long long v = config_setting_get_int64(s);
		if (k->type == CONF_INT || k->type == CONF_DURATION || k->type == CONF_SIZE ||
		    k->type == CONF_DOUBLE) {
			if (k->type == CONF_SIZE && v < 0)
				break;
			snprintf(num, sizeof(num), "%lld", v);
			return set_from_text(k, obj, num, origin, d);
		}
		break;
	}
	case CONFIG_TYPE_FLOAT:
		if (k->type == CONF_DOUBLE) {
			*(double *)field(obj, k) = config_setting_get_float(s);
			return 0;
		}
		break;
	case CONFIG_TYPE_BOOL:
		if (k->type == CONF_BOOL) {
			*(bool *)field(obj, k) = config_setting_get_bool(s);
			return 0;
		}
		break;
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		if (k->type == CONF_STRLIST) {
			struct conf_strlist *l = field(obj, k);
			int n = config_setting_length(s);
			strlist_free(l);
			for (int i = 0; i < n; i++) {
				const char *v = config_setting_get_string_elem(s, i);
				if (!v)
					return diag_set(d, -EINVAL, "%s: %s[%d]: expected a string",
					                origin, k->name, i);
				l->v = xrealloc(l->v, st_mul(l->n + 1, sizeof(*l->v)));
				l->v[l->n++] = xstrdup(v);
			}
			return 0;
		}
		break;
	default:
		break;
	}
	return diag_set(d, -EINVAL, "%s: %s: expected %s", origin, k->name, type_expect[k->type]);
}

/* Recursion depth is bounded: only groups the table names are entered (is_group). */
static int walk(/* NOLINT(misc-no-recursion) */
                const struct conf_table *t, void *obj, config_setting_t *group, const char *prefix,
                const char *file, struct diag *d)
{
	int n = config_setting_length(group);

	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		char full[256], origin[512];
		const struct conf_section *sec;
		const struct conf_key *k;
		int r;

		if (!name)
			continue;
		snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "." : "", name);
		snprintf(origin, sizeof(origin), "%s:%d", file, config_setting_source_line(s));
		sec = find_section(t, full);
		if (sec) {
			void *f = (char *)obj + sec->offset;
			sec->release(f);
			r = sec->parse(s, f, file, d);
			if (r < 0)
				return r;
			continue;
		}
		if (config_setting_type(s) == CONFIG_TYPE_GROUP) {
			if (!is_group(t, full))
				return diag_set(d, -EINVAL, "%s: unknown section '%s'", origin,
				                full);
			r = walk(t, obj, s, full, file, d); /* NOLINT(misc-no-recursion) */
			if (r < 0)
				return r;
			continue;
		}
		k = find_key(t, full);
		if (!k)
			return diag_set(d, -EINVAL, "%s: unknown key '%s'", origin, full);
		r = apply_setting(k, obj, s, origin, d);
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_file(const struct conf_table *t, void *obj, const char *path, struct diag *d)
{
	config_t cfg;
	int r;

	struct stat st;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0) {
		int e = errno;
		return diag_set(d, e == ENOENT ? -ENOENT : -EACCES, "%s: cannot read: %s", path,
		                strerror(e));
	}
	if (!S_ISREG(st.st_mode))
		return diag_set(d, -EINVAL, "%s: not a regular file", path);
	if ((uint64_t)st.st_size > ONGRID_CONF_MAX_BYTES)
		return diag_set(d, -E2BIG, "%s: %lld bytes is larger than the limit of %u", path,
		                (long long)st.st_size, ONGRID_CONF_MAX_BYTES);
	config_init(&cfg);
	if (!config_read_file(&cfg, path)) {
		int line = config_error_line(&cfg);
		const char *file = config_error_file(&cfg);
		r = diag_set(d, -EINVAL, "%s:%d: %s", file ? file : path, line,
		             config_error_text(&cfg));
		config_destroy(&cfg);
		return r;
	}
	r = walk(t, obj, config_root_setting(&cfg), "", path, d);
	config_destroy(&cfg);
	return r;
}

static void env_name(char *out, size_t outsz, const char *key)
{
	size_t o = (size_t)snprintf(out, outsz, "ONGRID_");

	for (const char *p = key; *p && o + 1 < outsz; p++)
		out[o++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	out[o] = '\0';
}

int conf_load(const struct conf_table *t, void *obj, const char *path, struct diag *d)
{
	int r;

	conf_defaults(t, obj);
	if (path) {
		r = load_file(t, obj, path, d);
		if (r < 0)
			return r;
	} else if (t->default_path && access(t->default_path, F_OK) == 0) {
		r = load_file(t, obj, t->default_path, d);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->nkeys; i++) {
		char name[128];
		const char *v;
		env_name(name, sizeof(name), t->keys[i].name);
		v = getenv(name);
		if (!v)
			continue;
		r = set_from_text(&t->keys[i], obj, v, name, d);
		if (r < 0)
			return r;
	}
	return 0;
}

void conf_release(const struct conf_table *t, void *obj)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		void *f = field(obj, &t->keys[i]);
		if (t->keys[i].type == CONF_STRING) {
			free(*(char **)f);
			*(char **)f = NULL;
		} else if (t->keys[i].type == CONF_STRLIST) {
			strlist_free(f);
		}
	}
	for (size_t i = 0; i < t->nsections; i++)
		t->sections[i].release((char *)obj + t->sections[i].offset);
}

void conf_write_doc(const struct conf_table *t, FILE *out)
{
	char env[128];

	fprintf(out, "| key | type | default | environment | description |\n");
	fprintf(out, "|---|---|---|---|---|\n");
	for (size_t i = 0; i < t->nkeys; i++) {
		const struct conf_key *k = &t->keys[i];
		bool def = k->def && *k->def;

		env_name(env, sizeof(env), k->name);
		fprintf(out, "| `%s` | %s | %s%s%s | `%s` | %s", k->name, type_names[k->type],
		        def ? "`" : "", def ? k->def : "(unset)", def ? "`" : "", env, k->doc);
		if (k->choices) {
			/* "a|b" would split a Markdown table cell: list choices with commas. */
			fputs(" One of: ", out);
			for (const char *p = k->choices; *p; p++)
				fputs(*p == '|' ? ", " : (char[]){ *p, 0 }, out);
			fputc('.', out);
		}
		fputs(" |\n", out);
	}
	for (size_t i = 0; i < t->nsections; i++)
		fprintf(out, "| `%s` | %s | (none) | - | %s |\n", t->sections[i].name,
		        t->sections[i].type, t->sections[i].doc);
}

static cJSON *value_json(const struct conf_key *k, const void *obj)
{
	const void *f = (const char *)obj + k->offset;

	switch (k->type) {
	case CONF_STRING:
		return *(char *const *)f ? cJSON_CreateString(*(char *const *)f)
		                         : cJSON_CreateNull();
	case CONF_INT:
	case CONF_DURATION:
		return cJSON_CreateNumber((double)*(const int64_t *)f);
	case CONF_SIZE:
		return cJSON_CreateNumber((double)*(const uint64_t *)f);
	case CONF_BOOL:
		return cJSON_CreateBool(*(const bool *)f);
	case CONF_DOUBLE:
		return cJSON_CreateNumber(*(const double *)f);
	case CONF_STRLIST: {
		const struct conf_strlist *l = f;
		cJSON *a = json_arr();
		for (size_t i = 0; i < l->n; i++)
			json_push(a, cJSON_CreateString(l->v[i]));
		return a;
	}
	default:
		return cJSON_CreateNull();
	}
}

static void print_quoted(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void print_value(const struct conf_key *k, const void *obj)
{
	const void *f = (const char *)obj + k->offset;
	char tmp[64];

	switch (k->type) {
	case CONF_STRING:
		print_quoted(*(char *const *)f ? *(char *const *)f : "");
		break;
	case CONF_INT:
		printf("%lld", (long long)*(const int64_t *)f);
		break;
	case CONF_DURATION:
		str_format_duration(tmp, sizeof(tmp), *(const int64_t *)f);
		print_quoted(tmp);
		break;
	case CONF_SIZE:
		printf("%llu", (unsigned long long)*(const uint64_t *)f);
		break;
	case CONF_BOOL:
		printf("%s", *(const bool *)f ? "true" : "false");
		break;
	case CONF_DOUBLE:
		printf("%g", *(const double *)f);
		break;
	case CONF_STRLIST: {
		const struct conf_strlist *l = f;
		putchar('[');
		for (size_t j = 0; j < l->n; j++) {
			if (j)
				printf(", ");
			print_quoted(l->v[j]);
		}
		putchar(']');
		break;
	}
	default:
		break;
	}
}

/* A section's JSON in libconfig syntax: objects are groups, arrays of groups are lists
 * "( )", other arrays are arrays "[ ]". Depth is that of the section's own JSON. */
static void print_json_value(const cJSON *v, int indent) /* NOLINT(misc-no-recursion) */
{
	const cJSON *c;
	bool groups = cJSON_IsArray(v) && v->child && cJSON_IsObject(v->child);

	if (cJSON_IsObject(v)) {
		printf("{\n");
		cJSON_ArrayForEach(c, v) {
			printf("%*s%s = ", indent + 2, "", c->string);
			print_json_value(c, indent + 2); /* NOLINT(misc-no-recursion) */
			printf(";\n");
		}
		printf("%*s}", indent, "");
	} else if (cJSON_IsArray(v)) {
		putchar(groups ? '(' : '[');
		cJSON_ArrayForEach(c, v) {
			if (c != v->child)
				printf(", ");
			print_json_value(c, indent); /* NOLINT(misc-no-recursion) */
		}
		putchar(groups ? ')' : ']');
	} else if (cJSON_IsString(v)) {
		print_quoted(v->valuestring);
	} else if (cJSON_IsBool(v)) {
		printf("%s", cJSON_IsTrue(v) ? "true" : "false");
	} else if (cJSON_IsNumber(v)) {
		/* A whole number prints as a libconfig float when it was one (prices). */
		if (v->valuedouble == (double)(long long)v->valuedouble && v->valuedouble < 1e15 &&
		    v->valuedouble > -1e15)
			printf("%lld", (long long)v->valuedouble);
		else
			printf("%.17g", v->valuedouble);
	} else {
		printf("\"\"");
	}
}

static void print_sections(const struct conf_table *t, const void *obj, const char *prefix,
                           size_t plen, int indent)
{
	for (size_t i = 0; i < t->nsections; i++) {
		const struct conf_section *sec = &t->sections[i];
		cJSON *j;

		if (strncmp(sec->name, prefix, plen) != 0 || strchr(sec->name + plen, '.'))
			continue;
		j = sec->to_json((const char *)obj + sec->offset);
		printf("%*s%s = ", indent, "", sec->name + plen);
		print_json_value(j, indent);
		printf(";\n");
		cJSON_Delete(j);
	}
}

/* Print the keys under prefix (length plen) in libconfig syntax, nesting groups, each
 * group once, in table order. Depth is bounded by the dots in the table's names. */
static void print_group(/* NOLINT(misc-no-recursion) */
                        const struct conf_table *t, const void *obj, const char *prefix,
                        size_t plen, int indent)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		const char *name = t->keys[i].name, *seg, *dot;
		size_t seglen;
		bool seen = false;

		if (strncmp(name, prefix, plen) != 0)
			continue;
		seg = name + plen;
		dot = strchr(seg, '.');
		if (!dot) {
			printf("%*s%s = ", indent, "", seg);
			print_value(&t->keys[i], obj);
			printf(";\n");
			continue;
		}
		seglen = (size_t)(dot - seg);
		for (size_t j = 0; j < i && !seen; j++)
			seen = strncmp(t->keys[j].name, name, plen + seglen + 1) == 0;
		if (seen)
			continue;
		printf("%*s%.*s: {\n", indent, "", (int)seglen, seg);
		print_group(t, obj, name, /* NOLINT(misc-no-recursion) */
		            plen + seglen + 1, indent + 2);
		printf("%*s};\n", indent, "");
	}
	print_sections(t, obj, prefix, plen, indent);
}

int conf_print(const struct conf_table *t, const void *obj, bool json)
{
	if (json) {
		cJSON *o = json_obj();
		int r;
		for (size_t i = 0; i < t->nkeys; i++)
			json_add(o, t->keys[i].name, value_json(&t->keys[i], obj));
		for (size_t i = 0; i < t->nsections; i++)
			json_add(o, t->sections[i].name,
			         t->sections[i].to_json((const char *)obj + t->sections[i].offset));
		r = json_print_stdout(o, true);
		cJSON_Delete(o);
		return r < 0 ? 1 : 0;
	}
	print_group(t, obj, "", 0, 0);
	return fflush(stdout) == 0 ? 0 : 1;
}

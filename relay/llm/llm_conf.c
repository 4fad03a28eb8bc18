/* llm_conf.c - parse and check the llm.providers and llm.routes sections of relay.conf
 * (see llm_conf.h for the syntax). Every error names file:line and the setting. */
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/llm.h"
#include "relay/llm/llm_conf.h"
#include "shared/alloc.h"
#include "shared/json.h"
#include "shared/str.h"
#include "shared/banned.h"

static const char *const provider_keys[] = { "name",        "kind",   "base_url", "api_key",
	                                     "api_key_env", "vendor", "models" };
static const char *const model_keys[] = { "name", "input_per_mtok", "output_per_mtok" };

static bool known(const char *k, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n;
}

static int where(struct diag *d, const char *file, config_setting_t *s, const char *fmt, ...)
        _printf_(4, 5);
static int where(struct diag *d, const char *file, config_setting_t *s, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return diag_set(d, -EINVAL, "%s:%d: %s", file, config_setting_source_line(s), msg);
}

static int get_str(config_setting_t *g, const char *key, char **ret, const char *file,
                   const char *what, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	if (!s)
		return 0;
	v = config_setting_get_string(s);
	if (!v)
		return where(d, file, s, "%s.%s: expected a string", what, key);
	*ret = xstrdup(v);
	return 0;
}

static int get_price(config_setting_t *g, const char *key, double *ret, const char *file,
                     const char *what, struct diag *d)
{
	config_setting_t *s = config_setting_get_member(g, key);
	int t;

	if (!s)
		return 0;
	t = config_setting_type(s);
	if (t == CONFIG_TYPE_FLOAT)
		*ret = config_setting_get_float(s);
	else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
		*ret = (double)config_setting_get_int64(s);
	else
		return where(d, file, s, "%s.%s: expected a number (USD per million tokens)", what,
		             key);
	if (!(*ret >= 0) || *ret > 10000)
		return where(d, file, s, "%s.%s: expected 0..10000", what, key);
	return 0;
}

static int parse_models(config_setting_t *list, struct llm_provider_conf *p, const char *file,
                        struct diag *d)
{
	int n = config_setting_length(list);
	char what[128];
	int r;

	if (config_setting_type(list) != CONFIG_TYPE_LIST &&
	    config_setting_type(list) != CONFIG_TYPE_ARRAY)
		return where(d, file, list, "llm.providers.%s.models: expected a list%s", p->name,
		             "");
	if (n > ONGRID_LLM_MAX_MODELS)
		return where(d, file, list, "llm.providers.%s.models: more than the limit of %s",
		             p->name, "64");
	p->models = xcalloc((size_t)n + 1, sizeof(*p->models));
	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(list, (unsigned)i);
		struct llm_model_conf *mc = &p->models[p->nmodels];
		const char *s = config_setting_get_string(m);
		snprintf(what, sizeof(what), "llm.providers.%s.models[%d]", p->name, i);
		if (s) {
			mc->name = xstrdup(s);
		} else if (config_setting_type(m) == CONFIG_TYPE_GROUP) {
			for (int k = 0; k < config_setting_length(m); k++) {
				config_setting_t *e = config_setting_get_elem(m, (unsigned)k);
				if (!known(config_setting_name(e), model_keys,
				           ARRAY_SIZE(model_keys)))
					return where(d, file, e, "%s: unknown key '%s'", what,
					             config_setting_name(e));
			}
			r = get_str(m, "name", &mc->name, file, what, d);
			if (r == 0)
				r = get_price(m, "input_per_mtok", &mc->input_per_mtok, file, what,
				              d);
			if (r == 0)
				r = get_price(m, "output_per_mtok", &mc->output_per_mtok, file,
				              what, d);
			if (r < 0)
				return r;
		} else {
			return where(d, file, m, "%s: expected a model name or a group%s", what,
			             "");
		}
		p->nmodels++;
		if (!mc->name || !*mc->name || strlen(mc->name) > 128)
			return where(d, file, m, "%s.name: expected a model name%s", what, "");
	}
	return 0;
}

static int parse_provider(config_setting_t *g, struct llm_provider_conf *p, const char *file,
                          struct diag *d)
{
	const char *what = "llm.providers[]";
	config_setting_t *models;
	enum llm_vendor v;
	int r;

	snprintf(p->origin, sizeof(p->origin), "%s:%d", file, config_setting_source_line(g));
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return where(d, file, g, "%s: expected a group { name = ...; kind = ...; }%s", what,
		             "");
	for (int k = 0; k < config_setting_length(g); k++) {
		config_setting_t *e = config_setting_get_elem(g, (unsigned)k);
		if (!known(config_setting_name(e), provider_keys, ARRAY_SIZE(provider_keys)))
			return where(d, file, e, "%s: unknown key '%s'", what,
			             config_setting_name(e));
	}
	r = get_str(g, "name", &p->name, file, what, d);
	if (r == 0)
		r = get_str(g, "kind", &p->kind, file, what, d);
	if (r == 0)
		r = get_str(g, "base_url", &p->base_url, file, what, d);
	if (r == 0)
		r = get_str(g, "api_key", &p->api_key, file, what, d);
	if (r == 0)
		r = get_str(g, "api_key_env", &p->api_key_env, file, what, d);
	if (r == 0)
		r = get_str(g, "vendor", &p->vendor, file, what, d);
	if (r < 0)
		return r;
	if (!p->name || !valid_name(p->name))
		return where(d, file, g, "%s.name: expected a name of a-z 0-9 _ - .%s", what, "");
	if (!p->kind || (!llm_provider_find(p->kind) && strcmp(p->kind, "auto") != 0))
		return where(
		        d, file, g,
		        "llm.providers.%s.kind: expected anthropic, openai, openai-compatible, "
		        "gemini or auto, got '%s'",
		        p->name, p->kind ? p->kind : "");
	if (!p->base_url) {
		if (!strcmp(p->kind, "openai-compatible") || !strcmp(p->kind, "auto"))
			return where(d, file, g, "llm.providers.%s.base_url: required for kind %s",
			             p->name, p->kind);
		p->base_url =
		        xstrdup(!strcmp(p->kind, "openai")      ? "https://api.openai.com/v1"
		                : !strcmp(p->kind, "anthropic") ? "https://api.anthropic.com"
		                                                : "https://generativelanguage."
		                                                  "googleapis.com/v1beta");
	}
	if (!str_startswith(p->base_url, "http://") && !str_startswith(p->base_url, "https://"))
		return where(d, file, g,
		             "llm.providers.%s.base_url: expected http:// or https://, got '%s'",
		             p->name, p->base_url);
	if (p->vendor && llm_vendor_parse(p->vendor, &v) < 0)
		return where(d, file, g,
		             "llm.providers.%s.vendor: expected openai, generic, deepseek, zhipu, "
		             "moonshot, ollama, vllm or llamacpp, got '%s'",
		             p->name, p->vendor);
	models = config_setting_get_member(g, "models");
	return models ? parse_models(models, p, file, d) : 0;
}

int llm_providers_parse(struct config_setting_t *s, void *field, const char *file, struct diag *d)
{
	struct llm_providers_conf *pc = field;
	int n = config_setting_length(s);
	int r;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return where(d, file, s,
		             "llm.providers: expected a list of groups ( { ... }, ... )%s%s", "",
		             "");
	if (n > ONGRID_LLM_MAX_PROVIDERS)
		return where(d, file, s, "llm.providers: more than the limit of %s providers%s",
		             "32", "");
	pc->v = xcalloc((size_t)n + 1, sizeof(*pc->v));
	for (int i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		r = parse_provider(g, &pc->v[pc->n++], file, d);
		if (r < 0)
			return r;
		for (size_t j = 0; j + 1 < pc->n; j++)
			if (!strcmp(pc->v[j].name, pc->v[pc->n - 1].name))
				return where(d, file, g, "llm.providers: duplicate name '%s'%s",
				             pc->v[j].name, "");
	}
	return 0;
}

void llm_providers_release(void *field)
{
	struct llm_providers_conf *pc = field;

	for (size_t i = 0; i < pc->n; i++) {
		struct llm_provider_conf *p = &pc->v[i];
		free(p->name);
		free(p->kind);
		free(p->base_url);
		free(p->api_key);
		free(p->api_key_env);
		free(p->vendor);
		for (size_t j = 0; j < p->nmodels; j++)
			free(p->models[j].name);
		free(p->models);
	}
	free(pc->v);
	pc->v = NULL;
	pc->n = 0;
}

struct cJSON *llm_providers_json(const void *field)
{
	const struct llm_providers_conf *pc = field;
	cJSON *arr = json_arr();

	for (size_t i = 0; i < pc->n; i++) {
		const struct llm_provider_conf *p = &pc->v[i];
		cJSON *o = json_obj(), *models = json_arr();
		json_add_str(o, "name", p->name);
		json_add_str(o, "kind", p->kind);
		json_add_str(o, "base_url", p->base_url);
		/* Never print a key: only that one is set. */
		if (p->api_key)
			json_add_str(o, "api_key", "(set)");
		if (p->api_key_env)
			json_add_str(o, "api_key_env", p->api_key_env);
		if (p->vendor)
			json_add_str(o, "vendor", p->vendor);
		for (size_t j = 0; j < p->nmodels; j++) {
			cJSON *m = json_obj();
			json_add_str(m, "name", p->models[j].name);
			json_add_num(m, "input_per_mtok", p->models[j].input_per_mtok);
			json_add_num(m, "output_per_mtok", p->models[j].output_per_mtok);
			json_push(models, m);
		}
		json_add(o, "models", models);
		json_push(arr, o);
	}
	return arr;
}

int llm_routes_parse(struct config_setting_t *s, void *field, const char *file, struct diag *d)
{
	struct llm_routes_conf *rc = field;
	int n = config_setting_length(s);

	if (config_setting_type(s) != CONFIG_TYPE_GROUP)
		return where(d, file, s,
		             "llm.routes: expected a group { PURPOSE = [ \"provider/model\", ... "
		             "]; }%s%s",
		             "", "");
	if (n > ONGRID_LLM_MAX_ROUTES)
		return where(d, file, s, "llm.routes: more than the limit of %s purposes%s", "32",
		             "");
	rc->v = xcalloc((size_t)n + 1, sizeof(*rc->v));
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		struct llm_route_conf *rt = &rc->v[rc->n++];
		int m = config_setting_length(e);
		rt->purpose = xstrdup(config_setting_name(e));
		snprintf(rt->origin, sizeof(rt->origin), "%s:%d", file,
		         config_setting_source_line(e));
		if (config_setting_type(e) != CONFIG_TYPE_ARRAY &&
		    config_setting_type(e) != CONFIG_TYPE_LIST)
			return where(
			        d, file, e,
			        "llm.routes.%s: expected a list of \"provider/model\" strings%s",
			        rt->purpose, "");
		if (m < 1 || m > ONGRID_LLM_MAX_FALLBACKS)
			return where(d, file, e, "llm.routes.%s: expected 1 to %s targets",
			             rt->purpose, "8");
		rt->targets = xcalloc((size_t)m, sizeof(*rt->targets));
		for (int k = 0; k < m; k++) {
			const char *t = config_setting_get_string_elem(e, k);
			char prov[65];
			const char *model;
			if (!t || llm_target_split(t, prov, sizeof(prov), &model) < 0)
				return where(d, file, e,
				             "llm.routes.%s: expected \"provider/model\", got '%s'",
				             rt->purpose, t ? t : "(not a string)");
			rt->targets[rt->ntargets++] = xstrdup(t);
		}
	}
	return 0;
}

void llm_routes_release(void *field)
{
	struct llm_routes_conf *rc = field;

	for (size_t i = 0; i < rc->n; i++) {
		free(rc->v[i].purpose);
		for (size_t j = 0; j < rc->v[i].ntargets; j++)
			free(rc->v[i].targets[j]);
		free(rc->v[i].targets);
	}
	free(rc->v);
	rc->v = NULL;
	rc->n = 0;
}

struct cJSON *llm_routes_json(const void *field)
{
	const struct llm_routes_conf *rc = field;
	cJSON *o = json_obj();

	for (size_t i = 0; i < rc->n; i++) {
		cJSON *a = json_arr();
		for (size_t j = 0; j < rc->v[i].ntargets; j++)
			json_push(a, cJSON_CreateString(rc->v[i].targets[j]));
		json_add(o, rc->v[i].purpose, a);
	}
	return o;
}

int llm_target_split(const char *target, char *prov, size_t provsz, const char **ret_model)
{
	const char *slash = strchr(target, '/');
	size_t n;

	if (!slash || slash == target || !slash[1] || strlen(slash + 1) > 128)
		return -EINVAL;
	n = (size_t)(slash - target);
	if (n >= provsz)
		return -EINVAL;
	memcpy(prov, target, n);
	prov[n] = '\0';
	if (!valid_name(prov))
		return -EINVAL;
	*ret_model = slash + 1;
	return 0;
}

const struct llm_provider_conf *llm_conf_provider(const struct llm_conf *c, const char *name)
{
	for (size_t i = 0; i < c->providers.n; i++)
		if (!strcmp(c->providers.v[i].name, name))
			return &c->providers.v[i];
	return NULL;
}

const struct llm_model_conf *llm_conf_model(const struct llm_provider_conf *p, const char *model)
{
	for (size_t i = 0; i < p->nmodels; i++)
		if (!strcmp(p->models[i].name, model))
			return &p->models[i];
	return NULL;
}

int llm_conf_check(const struct llm_conf *c, struct diag *d)
{
	for (size_t i = 0; i < c->routes.n; i++) {
		const struct llm_route_conf *rt = &c->routes.v[i];
		for (size_t j = 0; j < rt->ntargets; j++) {
			char prov[65];
			const char *model;
			const struct llm_provider_conf *p;
			if (llm_target_split(rt->targets[j], prov, sizeof(prov), &model) < 0)
				return diag_set(d, -EINVAL, "%s: llm.routes.%s: bad target '%s'",
				                rt->origin, rt->purpose, rt->targets[j]);
			p = llm_conf_provider(c, prov);
			if (!p)
				return diag_set(d, -EINVAL,
				                "%s: llm.routes.%s: unknown provider '%s' in '%s' "
				                "(llm.providers has no such name)",
				                rt->origin, rt->purpose, prov, rt->targets[j]);
			if (p->nmodels && !llm_conf_model(p, model))
				return diag_set(
				        d, -EINVAL,
				        "%s: llm.routes.%s: provider '%s' lists no model '%s'",
				        rt->origin, rt->purpose, prov, model);
		}
	}
	return 0;
}

/* llm_conf.h - the llm section of relay.conf: providers, routes per purpose, budgets.
 *
 *   llm = {
 *     proxy = "http://proxy:3128";            # flat keys: relay_conf.c's table
 *     providers = (
 *       { name = "anthropic"; kind = "anthropic"; api_key_env = "ANTHROPIC_API_KEY";
 *         models = ( { name = "claude-sonnet-4-5"; input_per_mtok = 3.0; output_per_mtok = 15.0; } ); },
 *       { name = "local"; kind = "openai-compatible"; base_url = "http://127.0.0.1:11434";
 *         models = ( "qwen3:8b" ); }
 *     );
 *     routes = { investigate = [ "anthropic/claude-sonnet-4-5", "local/qwen3:8b" ]; };
 *   };
 *
 * providers and routes are conf sections (shared/conf.h) parsed here; the flat keys
 * (proxy, timeouts, retries, budgets) are ordinary table keys in relay_conf.c.
 */
#ifndef ONGRID_LLM_CONF_H
#define ONGRID_LLM_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "shared/conf.h"

struct llm_model_conf {
	char *name;
	double input_per_mtok;  /* USD per million input tokens */
	double output_per_mtok; /* USD per million output tokens */
};

struct llm_provider_conf {
	char *name;        /* "openai": the PROVIDER of PROVIDER/MODEL */
	char *kind;        /* anthropic | openai | openai-compatible | gemini */
	char *base_url;    /* as configured; the provider normalises it */
	char *api_key;     /* inline key, or NULL */
	char *api_key_env; /* variable holding the key, or NULL */
	char *vendor;      /* openai-compatible quirks: deepseek, zhipu, …; NULL = guess */
	struct llm_model_conf *models;
	size_t nmodels;
	char origin[128]; /* "relay.conf:12" */
};

struct llm_providers_conf {
	struct llm_provider_conf *v;
	size_t n;
};

struct llm_route_conf {
	char *purpose;  /* "investigate" */
	char **targets; /* "provider/model", in order of preference */
	size_t ntargets;
	char origin[128];
};

struct llm_routes_conf {
	struct llm_route_conf *v;
	size_t n;
};

/* Everything the router needs; embedded in struct relay_conf as ->llm. */
struct llm_conf {
	char *proxy;
	int64_t timeout_ms; /* one attempt, start to last byte */
	int64_t connect_timeout_ms;
	int64_t idle_timeout_ms;   /* no byte for this long ends a stream */
	int64_t retries;           /* per route, after the first attempt */
	int64_t max_retry_wait_ms; /* a longer retry-after moves to the next route */
	int64_t max_tokens;        /* default when a request says none */
	double budget_day_usd;     /* 0 = no cap */
	double budget_incident_usd;
	int64_t budget_day_tokens;
	int64_t budget_incident_tokens;
	struct llm_providers_conf providers;
	struct llm_routes_conf routes;
};

/* Section callbacks (shared/conf.h) for llm.providers (a struct llm_providers_conf) and
 * llm.routes (a struct llm_routes_conf); relay_conf.c lists them in its table. */
int llm_providers_parse(struct config_setting_t *s, void *field, const char *file, struct diag *d);
void llm_providers_release(void *field);
struct cJSON *llm_providers_json(const void *field);
int llm_routes_parse(struct config_setting_t *s, void *field, const char *file, struct diag *d);
void llm_routes_release(void *field);
struct cJSON *llm_routes_json(const void *field);

/* Cross-checks after loading: every route target names a configured provider, and
 * targets of a provider with a model list name one of its models. Errors carry the
 * route's file:line. */
int llm_conf_check(const struct llm_conf *c, struct diag *d);

const struct llm_provider_conf *llm_conf_provider(const struct llm_conf *c, const char *name);
const struct llm_model_conf *llm_conf_model(const struct llm_provider_conf *p, const char *model);
/* Split "provider/model" (the model may itself contain '/'); -EINVAL if malformed. */
int llm_target_split(const char *target, char *prov, size_t provsz, const char **ret_model);

#endif

/* cmd_model.c - `ongrid-relay model list|use|reset`: see and change which model serves
 * each purpose. Overrides live in data_dir/llm.sqlite, which the router reads at every
 * call, so a running relay follows a change from its next call on, without a restart
 * and without touching calls in flight. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/llm/accounting.h"
#include "relay/llm/router.h"
#include "relay/relay.h"
#include "shared/cli.h"
#include "shared/compiler.h"
#include "shared/json.h"
#include "shared/banned.h"

static const char *key_state(const struct llm_provider_conf *p)
{
	const char *k = p->api_key;

	if (!k && p->api_key_env)
		k = getenv(p->api_key_env);
	return k && *k ? "set" : "missing";
}

static void add_route(cJSON *routes, const char *purpose, char **targets, bool override)
{
	cJSON *o = json_obj(), *a = json_arr();

	json_add_str(o, "purpose", purpose);
	for (size_t i = 0; targets[i]; i++)
		json_push(a, cJSON_CreateString(targets[i]));
	json_add(o, "targets", a);
	json_add_str(o, "source", override ? "override" : "config");
	json_push(routes, o);
}

static int model_list(const struct relay_conf *c, struct llm_router *router, bool json)
{
	cJSON *root = json_obj(), *routes = json_arr(), *provs = json_arr(), *it;
	char **over = NULL;
	struct diag d = { 0 };
	int r;

	r = llm_acct_route_purposes(llm_router_acct(router), &over, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay model list: %s\n", d.msg);
		cJSON_Delete(root);
		return 1;
	}
	/* Configured purposes in file order, then purposes only an override names. */
	for (size_t i = 0; i <= c->llm.routes.n; i++) {
		for (size_t k = 0; i == c->llm.routes.n && over[k]; k++) {
			char **t = NULL;
			bool ov;
			bool configured = false;
			for (size_t j = 0; j < c->llm.routes.n; j++)
				configured =
				        configured || !strcmp(c->llm.routes.v[j].purpose, over[k]);
			if (!configured && llm_router_route(router, over[k], &t, &ov, &d) == 0) {
				add_route(routes, over[k], t, ov);
				llm_strv_free(t);
			}
		}
		if (i < c->llm.routes.n) {
			char **t = NULL;
			bool ov;
			if (llm_router_route(router, c->llm.routes.v[i].purpose, &t, &ov, &d) ==
			    0) {
				add_route(routes, c->llm.routes.v[i].purpose, t, ov);
				llm_strv_free(t);
			}
		}
	}
	llm_strv_free(over);
	for (size_t i = 0; i < c->llm.providers.n; i++) {
		const struct llm_provider_conf *p = &c->llm.providers.v[i];
		cJSON *o = json_obj(), *m = json_arr();
		unsigned dg;
		json_add_str(o, "name", p->name);
		json_add_str(o, "kind", p->kind);
		json_add_str(o, "base_url", p->base_url);
		json_add_str(o, "key", key_state(p));
		for (size_t j = 0; j < p->nmodels; j++) {
			cJSON *mo = json_obj(), *dgs = json_arr();
			const char *kind =
			        strcmp(p->kind, "auto") ? p->kind : llm_kind_detect(p->base_url);
			const struct llm_provider *prov = llm_provider_find(kind);
			char base[512];
			enum llm_vendor v = !strcmp(p->kind, "openai")
			                            ? LLM_VENDOR_OPENAI
			                            : llm_vendor_guess(p->base_url);
			if (p->vendor)
				(void)llm_vendor_parse(p->vendor, &v);
			prov->normalize(p->base_url, v, base, sizeof(base));
			json_add_str(mo, "name", p->models[j].name);
			json_add_num(mo, "input_per_mtok", p->models[j].input_per_mtok);
			json_add_num(mo, "output_per_mtok", p->models[j].output_per_mtok);
			(void)llm_acct_downgrades_get(llm_router_acct(router), base,
			                              p->models[j].name, &dg);
			for (unsigned b = 0; b < LLM_DG_COUNT; b++)
				if (dg & (1u << b))
					json_push(dgs,
					          cJSON_CreateString(llm_downgrade_name(1u << b)));
			json_add(mo, "downgrades", dgs);
			json_push(m, mo);
		}
		json_add(o, "models", m);
		json_push(provs, o);
	}
	json_add(root, "routes", routes);
	json_add(root, "providers", provs);
	if (json) {
		r = json_print_stdout(root, true) < 0 ? 1 : 0;
		cJSON_Delete(root);
		return r;
	}
	printf("%-14s %-9s %s\n", "PURPOSE", "SOURCE", "ROUTE (first choice, then fallbacks)");
	cJSON_ArrayForEach(it, routes) {
		const cJSON *t;
		bool first = true;
		printf("%-14s %-9s ", cJSON_GetObjectItem(it, "purpose")->valuestring,
		       cJSON_GetObjectItem(it, "source")->valuestring);
		cJSON_ArrayForEach(t, cJSON_GetObjectItem(it, "targets")) {
			printf("%s%s", first ? "" : ", ", t->valuestring);
			first = false;
		}
		putchar('\n');
	}
	printf("\n%-14s %-18s %-7s %s\n", "PROVIDER", "KIND", "KEY", "MODELS");
	cJSON_ArrayForEach(it, provs) {
		const cJSON *m;
		bool first = true;
		printf("%-14s %-18s %-7s ", cJSON_GetObjectItem(it, "name")->valuestring,
		       cJSON_GetObjectItem(it, "kind")->valuestring,
		       cJSON_GetObjectItem(it, "key")->valuestring);
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(it, "models")) {
			const cJSON *dgs = cJSON_GetObjectItem(m, "downgrades"), *x;
			printf("%s%s", first ? "" : ", ",
			       cJSON_GetObjectItem(m, "name")->valuestring);
			cJSON_ArrayForEach(x, dgs) {
				printf(" [%s]", x->valuestring);
			}
			first = false;
		}
		putchar('\n');
	}
	cJSON_Delete(root);
	return 0;
}

static int model_use(const struct relay_conf *c, struct llm_router *router, const char *purpose,
                     const char *target, bool only)
{
	const struct llm_provider_conf *p;
	char prov[65], *v[ONGRID_LLM_MAX_FALLBACKS + 1] = { 0 }, **cur = NULL;
	const char *model;
	struct diag d = { 0 };
	size_t n = 0;
	bool ov;
	int r;

	if (!*purpose || strlen(purpose) > 64 || strchr(purpose, ' ')) {
		fprintf(stderr, "ongrid-relay model use: bad purpose '%s'\n", purpose);
		return 2;
	}
	if (llm_target_split(target, prov, sizeof(prov), &model) < 0) {
		fprintf(stderr, "ongrid-relay model use: expected PROVIDER/MODEL, got '%s'\n",
		        target);
		return 2;
	}
	p = llm_conf_provider(&c->llm, prov);
	if (!p) {
		fprintf(stderr,
		        "ongrid-relay model use: unknown provider '%s' (llm.providers has:", prov);
		for (size_t i = 0; i < c->llm.providers.n; i++)
			fprintf(stderr, " %s", c->llm.providers.v[i].name);
		fprintf(stderr, "%s)\n", c->llm.providers.n ? "" : " none");
		return 2;
	}
	if (p->nmodels && !llm_conf_model(p, model)) {
		fprintf(stderr,
		        "ongrid-relay model use: provider '%s' lists no model '%s' (it has:", prov,
		        model);
		for (size_t i = 0; i < p->nmodels; i++)
			fprintf(stderr, " %s", p->models[i].name);
		fprintf(stderr, ")\n");
		return 2;
	}
	v[n++] = (char *)target;
	/* The new first choice keeps the configured fallbacks behind it. */
	if (!only) {
		for (size_t i = 0; i < c->llm.routes.n; i++) {
			const struct llm_route_conf *rt = &c->llm.routes.v[i];
			if (strcmp(rt->purpose, purpose) != 0)
				continue;
			for (size_t j = 0; j < rt->ntargets && n < ONGRID_LLM_MAX_FALLBACKS; j++)
				if (strcmp(rt->targets[j], target) != 0)
					v[n++] = rt->targets[j];
		}
	}
	r = llm_acct_route_set(llm_router_acct(router), purpose, v, n, &d);
	if (r == 0)
		r = llm_router_route(router, purpose, &cur, &ov, &d);
	if (r < 0 || !cur) {
		fprintf(stderr, "ongrid-relay model use: %s\n", d.msg);
		return 1;
	}
	printf("%s:", purpose);
	for (size_t i = 0; cur[i]; i++)
		printf("%s %s", i ? "," : "", cur[i]);
	printf(" (override; `ongrid-relay model reset %s` returns to relay.conf)\n", purpose);
	llm_strv_free(cur);
	return 0;
}

int cmd_model(int argc, char **argv)
{
	const char *path = NULL;
	bool json = false, only = false;
	const struct cli_opt opts[] = {
		{ "config", 'c', true, &path, NULL },
		{ "json", 0, false, NULL, &json },
		{ "only", 0, false, NULL, &only },
	};
	struct llm_router *router = NULL;
	struct relay_conf c;
	struct diag d = { 0 };
	const char *sub;
	char **args;
	int nargs, r;

	r = cli_parse("ongrid-relay", "model", argc, argv, opts, ARRAY_SIZE(opts), &args, &nargs);
	if (r)
		return r;
	sub = nargs ? args[0] : "";
	if (!((!strcmp(sub, "list") && nargs == 1) || (!strcmp(sub, "use") && nargs == 3) ||
	      (!strcmp(sub, "reset") && nargs == 2))) {
		fprintf(stderr, "usage: ongrid-relay model list [--json] | use PURPOSE "
		                "PROVIDER/MODEL [--only] | reset PURPOSE\n");
		return 2;
	}
	r = relay_conf_load(&c, path);
	if (r)
		return r;
	r = llm_router_new(&c.llm, c.data_dir, &router, &d);
	if (r < 0) {
		fprintf(stderr, "ongrid-relay model: %s\n", d.msg);
		relay_conf_release(&c);
		return 1;
	}
	if (!strcmp(sub, "list")) {
		r = model_list(&c, router, json);
	} else if (!strcmp(sub, "use")) {
		r = model_use(&c, router, args[1], args[2], only);
	} else {
		r = llm_acct_route_clear(llm_router_acct(router), args[1], &d);
		if (r < 0)
			fprintf(stderr, "ongrid-relay model reset: %s\n", d.msg);
		else
			printf("%s: back to relay.conf's route\n", args[1]);
		r = r < 0 ? 1 : 0;
	}
	llm_router_free(router);
	relay_conf_release(&c);
	return r;
}

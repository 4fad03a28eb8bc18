/* accounting.h - what the LLM router remembers in SQLite (data_dir/llm.sqlite):
 *   - usage: calls, tokens and cost per UTC day, edge, incident, purpose, provider, model;
 *   - budgets: checks of that usage against llm.budget.* before each call;
 *   - downgrades: the LLM_DG_* bits an endpoint taught us, per (base URL, model);
 *   - routes: `ongrid-relay model use` overrides of llm.routes, per purpose.
 * A running relay and the CLI share the file (WAL), which is how `model use` reaches a
 * running relay without a restart: the router reads overrides at every call.
 */
#ifndef ONGRID_LLM_ACCOUNTING_H
#define ONGRID_LLM_ACCOUNTING_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "relay/llm/llm.h"
#include "relay/llm/llm_conf.h"
#include "shared/diag.h"

#define LLM_DB_FILE "llm.sqlite"

struct llm_acct;

/* Create data_dir (0700) if needed and open data_dir/llm.sqlite. */
int llm_acct_open(const char *data_dir, struct llm_acct **ret, struct diag *d);
void llm_acct_close(struct llm_acct *a); /* NULL-safe */

/* Add one call's usage. edge/incident/purpose may be NULL ("" is stored). */
int llm_acct_record(struct llm_acct *a, const char *edge, const char *incident, const char *purpose,
                    const char *provider, const char *model, const struct llm_usage *u,
                    double cost_usd, struct diag *d);

/* 0 when another call fits every configured cap, else -EDQUOT with a message that names
 * the cap, what was spent and the key that raises it. */
int llm_acct_check_budget(struct llm_acct *a, const struct llm_conf *c, const char *incident,
                          struct diag *d);

/* Usage rows for today (UTC) or one incident, newest first, as a JSON array. */
int llm_acct_usage_json(struct llm_acct *a, const char *incident, cJSON **ret, struct diag *d);

int llm_acct_downgrades_get(struct llm_acct *a, const char *base_url, const char *model,
                            unsigned *ret);
int llm_acct_downgrades_add(struct llm_acct *a, const char *base_url, const char *model,
                            unsigned bits, struct diag *d);

/* The override for purpose as a NULL-terminated array of "provider/model" strings the
 * caller frees with llm_strv_free(); -ENOENT when none is set. */
int llm_acct_route_get(struct llm_acct *a, const char *purpose, char ***ret, struct diag *d);
int llm_acct_route_set(struct llm_acct *a, const char *purpose, char *const *targets, size_t n,
                       struct diag *d);
int llm_acct_route_clear(struct llm_acct *a, const char *purpose, struct diag *d);
/* Purposes that have an override, NULL-terminated (llm_strv_free). */
int llm_acct_route_purposes(struct llm_acct *a, char ***ret, struct diag *d);
void llm_strv_free(char **v);

#endif

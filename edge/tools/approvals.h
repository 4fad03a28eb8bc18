/* approvals.h - pending dangerous tool calls and the human decisions on them, kept in
 * SQLite (<data_dir>/approvals.db, mode 0600) so that a proposal made by the agent survives
 * a restart and can be approved from the CLI or a chat button by another process.
 *
 * Life of an approval: pending -> (approve [x needed]) -> running -> done | failed,
 * or pending -> denied (one deny is enough, and wins over any approvals), or
 * pending -> expired (no decision before `expires`). Every decision is recorded with who
 * and when, including refused ones' absence: a decision that is refused is not recorded.
 *
 * Rules enforced here, inside one write transaction per decision, so two approvers racing
 * cannot both start the call: an approval needs `needed` distinct approvers (2 with
 * double_sign); with double_sign the requester may not approve their own call; the same
 * person approving twice counts once and is refused; nothing is decided after expiry.
 */
#ifndef ONGRID_APPROVALS_H
#define ONGRID_APPROVALS_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

struct approvals;

#define APPROVAL_ID_LEN 16 /* hex characters */

struct approval {
	char id[APPROVAL_ID_LEN + 1];
	char *tool, *args, *requested_by, *role, *reason; /* owned */
	char *status; /* pending, running, done, failed, denied, expired */
	char *result; /* JSON of the run, once done or failed; else NULL */
	int64_t created_ms, expires_ms;
	int needed;    /* distinct approvers needed */
	int napproved; /* distinct approvers so far */
	bool denied;
};

struct approval_request {
	const char *tool, *args, *requested_by, *role, *reason;
	int64_t ttl_ms;
	int needed;
};

enum approval_outcome {
	APPROVAL_WAITING, /* recorded; more approvers needed */
	APPROVAL_GO,      /* enough approvers: the caller now owns the run (status running) */
	APPROVAL_DENIED,  /* recorded; the call will never run */
};

/* Open (creating) <dir>/approvals.db. */
int approvals_open(const char *dir, struct approvals **ret, struct diag *d);
void approvals_close(struct approvals *a); /* NULL-safe */

/* Record a new pending call; writes its id. -EAGAIN when ONGRID_APPROVALS_MAX_PENDING
 * calls already wait. Expires overdue proposals and deletes decided ones older than
 * ONGRID_APPROVALS_KEEP_MS first. */
int approvals_propose(struct approvals *a, const struct approval_request *req, int64_t now_ms,
                      char ret_id[APPROVAL_ID_LEN + 1], struct diag *d);

/* Load one approval; -ENOENT when there is none with that id. */
int approvals_get(struct approvals *a, const char *id, struct approval *ret, struct diag *d);
void approval_release(struct approval *ap);

/* Record who's decision. Returns 0 with the outcome, or -ENOENT (no such id), -EALREADY
 * (no longer pending: ran, denied or expired - d says which), -ETIMEDOUT (expired now),
 * -EPERM (requester approving under double_sign, or the same approver twice). */
int approvals_decide(struct approvals *a, const char *id, const char *who, bool approve,
                     int64_t now_ms, enum approval_outcome *ret, struct diag *d);

/* After APPROVAL_GO: record how the run ended. result is JSON text, copied. */
int approvals_finish(struct approvals *a, const char *id, bool ok, const char *result,
                     int64_t now_ms, struct diag *d);

/* The approval as JSON: id, tool, args (parsed), requested_by, role, reason, status,
 * created, expires (RFC 3339), needed, approvals, decisions [{who, decision, at}]. */
int approvals_describe(struct approvals *a, const char *id, cJSON **ret, struct diag *d);

/* Pending approvals (expired ones are marked expired first), newest first, at most 100. */
int approvals_list_pending(struct approvals *a, int64_t now_ms, cJSON **ret, struct diag *d);

#endif

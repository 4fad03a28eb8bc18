/* postmortem.h - a post-mortem draft of one incident from what the relay recorded
 * (docs/alerts.md): the alerts that opened and closed it, the conversation in its thread
 * (the edge's report summary included), the actions proposed and who approved or denied
 * them, and the audit rows naming the incident, in time order. */
#ifndef ONGRID_RELAY_POSTMORTEM_H
#define ONGRID_RELAY_POSTMORTEM_H

#include <sqlite3.h>

#include "shared/buf.h"
#include "shared/diag.h"

#define POSTMORTEM_MAX (256u << 10) /* bytes of one draft */

/* Where the incident's thread is. */
struct postmortem_thread {
	char platform[32], chat_id[96], thread_id[96];
};

/* Write the draft of incident (an id from chat_incidents) as Markdown into md and its
 * thread into th. -ENOENT with d set when no such incident. */
int postmortem_draft(sqlite3 *db, const char *incident, struct buf *md,
                     struct postmortem_thread *th, struct diag *d);

#endif

/* schema.h - the JSON Schema subset tool arguments are checked against before a tool runs.
 *
 * Keywords understood: type (a name or a list of names: object, array, string, number,
 * integer, boolean, null), properties, required, additionalProperties (false or a schema),
 * enum, minimum, maximum, minLength, maxLength (in characters), pattern (PCRE2, not
 * anchored, as JSON Schema says), items, minItems, maxItems; description, title, default
 * and examples are documentation. Any other keyword makes the schema invalid rather than
 * silently unenforced, so a tool author cannot believe a constraint holds when it does not.
 *
 * Errors name the path to the offending value the way a caller wrote it:
 *   "args.unit: expected a string"
 *   "args: missing required field 'unit'"
 *   "args.signal: expected one of \"TERM\", \"KILL\", got \"HUP\""
 *   "args.paths[2]: longer than 256 characters"
 */
#ifndef ONGRID_SCHEMA_H
#define ONGRID_SCHEMA_H

#include <cjson/cJSON.h>

#include "shared/diag.h"

/* Check that text is a schema this module fully understands. 0 or -EINVAL with d naming
 * the keyword and where it is ("schema.properties.pid: unknown keyword 'exclusiveMin'"). */
int schema_check(const char *text, struct diag *d);

/* Validate value against schema (a parsed schema that passed schema_check). `what` names
 * the value in messages ("args"). 0, or -EINVAL with d set. Nesting deeper than
 * ONGRID_SCHEMA_MAX_DEPTH is refused with -E2BIG. */
int schema_validate(const cJSON *schema, const cJSON *value, const char *what, struct diag *d);

/* Parse schema text and validate a value against it in one step (for callers that keep the
 * text, as struct tool does). */
int schema_validate_text(const char *schema, const cJSON *value, const char *what, struct diag *d);

#endif

/* json.h - cJSON helpers: bounded parsing and typed getters whose errors name the field.
 *
 * cJSON numbers are doubles: 64-bit ids travel as strings. Everything parsed from outside
 * goes through json_parse(), which refuses input over a size or nesting limit before
 * cJSON sees it, and reports the byte offset of a syntax error.
 */
#ifndef ONGRID_JSON_H
#define ONGRID_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "shared/diag.h"

/* Parse len bytes (need not be NUL-terminated). On error returns NULL and fills d with
 * "invalid JSON at offset N" or the limit that was exceeded. Caller cJSON_Delete()s. */
cJSON *json_parse(const char *text, size_t len, size_t max_bytes, struct diag *d);

/* Typed getters. `what` names the object for error messages ("args", "frame"). Each
 * returns 0, -ENOENT when the key is absent (d untouched), or -EINVAL when present with the
 * wrong type ("args.timeout: expected a number"). */
int json_get_string(const cJSON *obj, const char *key, const char **ret, const char *what,
                    struct diag *d);
int json_get_number(const cJSON *obj, const char *key, double *ret, const char *what,
                    struct diag *d);
int json_get_int(const cJSON *obj, const char *key, int64_t *ret, const char *what, struct diag *d);
int json_get_bool(const cJSON *obj, const char *key, bool *ret, const char *what, struct diag *d);

/* Print compactly (or indented) into a malloc'ed string the caller frees. */
char *json_print(const cJSON *item, bool pretty);
/* Print to stdout followed by a newline; returns 0 or -EIO. */
int json_print_stdout(const cJSON *item, bool pretty);

/* Add helpers that never return NULL (cJSON only fails on OOM, which we treat as fatal). */
cJSON *json_obj(void);
cJSON *json_arr(void);
void json_add_str(cJSON *obj, const char *key, const char *val);
void json_add_num(cJSON *obj, const char *key, double val);
void json_add_bool(cJSON *obj, const char *key, bool val);
void json_add(cJSON *obj, const char *key, cJSON *item); /* takes item */
void json_push(cJSON *arr, cJSON *item);                 /* takes item */

#endif

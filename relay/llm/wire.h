/* wire.h - small helpers the three translators share: tolerant getters over provider JSON
 * (ignore unknown fields, treat a wrong type as absent) and error-text matching. */
#ifndef ONGRID_LLM_WIRE_H
#define ONGRID_LLM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* The string at key, or NULL when absent or not a string. */
const char *wire_str(const cJSON *o, const char *key);
/* The object/array at key, or NULL when absent or of another type. */
const cJSON *wire_obj(const cJSON *o, const char *key);
const cJSON *wire_arr(const cJSON *o, const char *key);
/* A non-negative integer at key, or 0. */
int64_t wire_int(const cJSON *o, const char *key);
/* Case-insensitive substring test; NULL haystack is false. */
bool wire_has(const char *haystack, const char *needle);
/* Copy a message into out, truncated, with control characters replaced by spaces so a
 * hostile body cannot forge log lines. */
void wire_msg(char *out, size_t outsz, const char *msg);
/* Parse JSON text as a value to embed in a body: an object stays an object; anything
 * else (hostile or truncated model output) becomes {}. Caller deletes. */
cJSON *wire_args_object(const char *args);

#endif

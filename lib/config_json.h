/* Pieces of the stored config's JSON (API.md §1.20) that modify() also writes into a stored
 * config in place. */
#ifndef MSB_LIB_CONFIG_JSON_H
#define MSB_LIB_CONFIG_JSON_H

#include <jansson.h>

#include "lib/kv.h"

/* {"K": "V", ...}: labels and scripts. */
json_t *msb_config_kv_json (const msb_kvlist *l);
/* [{"key": "K", "value": "V"}, ...]: env, in the order given. */
json_t *msb_config_env_json (const msb_kvlist *l);

#endif

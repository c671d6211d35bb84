/* §1.20 JSON of a config's network section (see config_net_json.c). */
#ifndef MSB_LIB_CONFIG_NET_JSON_H
#define MSB_LIB_CONFIG_NET_JSON_H

#include <jansson.h>

#include "common/error.h"
#include "lib/net_spec.h"

json_t *msb_config_net_to_json (const msb_config_net *n);
/* Parses and validates a `network` object (NULL or JSON null = the default) into *out, which
 * must be zeroed; on failure *out is left cleared and the error names the offending key. */
int msb_config_net_from_json (json_t *o, msb_config_net *out, msb_error **err);

#endif

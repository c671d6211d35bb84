/* Scope-bound jansson references, as common/cleanup.h does for libc resources (common/ links
 * libc only: the agent is static and has no jansson). */
#ifndef MSB_LIB_JSON_CLEANUP_H
#define MSB_LIB_JSON_CLEANUP_H

#include <jansson.h>

static inline void
msb_cleanup_json_fn (json_t **j)
{
  if (*j)
    json_decref (*j);
}

#define _msb_cleanup_json_ __attribute__ ((cleanup (msb_cleanup_json_fn)))

#endif

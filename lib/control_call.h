/* Requests on a sandbox runtime's control socket (runtime/control.h): argument-less ones
 * (detach, stop-when-unused) and ones that carry arguments and answer with fields, such as
 * the live resize of modify(). */
#ifndef MSB_LIB_CONTROL_CALL_H
#define MSB_LIB_CONTROL_CALL_H

#include <jansson.h>

#include "common/error.h"
#include "lib/home.h"

/* Sends `request` (an object with "op") to sandbox `name`'s control socket and returns its
 * answer in *reply (new reference) whether or not it says ok; the caller reads "ok". A
 * sandbox that is not running is MSB_ERR_SANDBOX_NOT_RUNNING. */
int msb_control_call (const msb_home *home, const char *name, const json_t *request, json_t **reply,
                      msb_error **err);

/* Sends the argument-less request `op` and returns 0 if the sandbox answered ok. */
int msb_control_request (const msb_home *home, const char *name, const char *op, msb_error **err);

#endif

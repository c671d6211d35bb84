/* control.sock: one JSON request line, one JSON response line, then close (API.md §4).
 * Operations: {"op":"status"}, {"op":"stop"}, {"op":"drain"}, {"op":"detach"} (disarm the
 * attached-mode watchdog), {"op":"stop-when-unused"} (stop once no client is connected),
 * {"op":"resize","cpus":N,"memory_mib":M} (live resize, either may be absent; answers
 * {"ok":true,"cpus":…,"memory_mib":…} or {"ok":false,"error":…}). Only the owner can
 * connect (the socket is 0600 in a 0700 tree). */
#ifndef MSB_RUNTIME_CONTROL_H
#define MSB_RUNTIME_CONTROL_H

#include <jansson.h>

#include "common/error.h"
#include "runtime/loop.h"

typedef struct msb_control msb_control;

typedef struct msb_control_ops
{
  void *data;
  /* Fill `status` (a static string) and return 0, or -1 when the op is refused. */
  int (*stop) (void *data);
  int (*drain) (void *data);
  int (*detach) (void *data);
  int (*stop_when_unused) (void *data);
  const char *(*status) (void *data);
  /* Optional: ops that take arguments and answer with fields — `request` is the whole
   * request, `reply` an object to add fields to (besides "ok"). NULL = "unknown op". */
  int (*resize) (void *data, const json_t *request, json_t *reply);
} msb_control_ops;

int msb_control_start (msb_loop *loop, int listen_fd, const msb_control_ops *ops,
                       msb_control **out, msb_error **err);
void msb_control_free (msb_control *c);

#endif

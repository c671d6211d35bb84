/* Launching a sandbox's runtime process (`msb sandbox run`) and waiting for its verdict. */
#ifndef MSB_LIB_SPAWN_H
#define MSB_LIB_SPAWN_H

#include <stdbool.h>

#include "common/error.h"
#include "lib/home.h"

/* Starts the runtime of sandbox `name` (its record must exist) and waits up to timeout_ms
 * for the one-line ready report. The runtime is not our child: it double-forks and runs in
 * its own session. Attached mode (detached == false) returns in *watchdog_fd the write end
 * of a pipe whose closing makes the runtime stop the sandbox; keep it open as long as the
 * sandbox should live. A boot failure comes back as the runtime's own error kind and
 * message. */
int msb_spawn_runtime (const msb_home *home, const char *name, bool detached, int timeout_ms,
                       int *watchdog_fd, msb_error **err);

/* Sends one request line to the runtime's control socket and returns 0 if it answered ok. */
int msb_control_request (const msb_home *home, const char *name, const char *op, msb_error **err);

#endif

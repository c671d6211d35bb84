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

/* The msb executable contains the runtime: it registers its entry point here and sandboxes
 * it creates get their runtime by fork alone, without exec'ing msb again (no second program
 * load and dynamic linking on the create path). Other programs using libmsb (Python,
 * multithreaded) keep spawning `msb sandbox run`. The entry gets stdio on /dev/null, only
 * the two pipe ends open, and never returns into the caller's code. */
typedef int (*msb_runtime_entry_fn) (const char *home, const char *name, int ready_fd,
                                     int watchdog_fd);
void msb_spawn_set_inprocess_runtime (msb_runtime_entry_fn fn);
bool msb_spawn_is_inprocess (void);

#endif

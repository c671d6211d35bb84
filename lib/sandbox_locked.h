/* Operations of other parts of libmsb (snapshots, live modification) that must not interleave
 * with a create, start, stop or remove of the same sandbox: they run with its lifecycle lock
 * held (lib/sandbox.c owns the lock and what may be done under it). */
#ifndef MSB_LIB_SANDBOX_LOCKED_H
#define MSB_LIB_SANDBOX_LOCKED_H

#include <stdbool.h>

#include "lib/internal.h"
#include "lib/state.h"

/* `row` is the sandbox's record (reconciled); `is_live` whether its runtime runs. */
typedef int (*msb_sandbox_locked_fn) (msb_ctx *ctx, const msb_sandbox_row *row, bool is_live,
                                      void *data, msb_error **err);

/* Runs fn under the lifecycle lock of `name`. MSB_ERR_SANDBOX_NOT_FOUND if it does not exist. */
int msb_sandbox_with_lock (msb_ctx *ctx, const char *name, msb_sandbox_locked_fn fn, void *data,
                           msb_error **err);

/* Under the lock (from fn): stops the sandbox of `row` if it runs (graceful, then SIGKILL)
 * and boots it again from its stored config, detached — whoever owned its lifecycle before
 * no longer does. */
int msb_sandbox_restart_locked (msb_ctx *ctx, const msb_sandbox_row *row, msb_error **err);

#endif

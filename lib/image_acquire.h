/* Getting an image for a context: the cache, or the registry, as a pull policy says. Shared
 * by msb_image_pull (include/msb/pull.h) and sandbox creation (lib/sandbox.c), so both emit
 * the same events and apply the same rules. */
#ifndef MSB_LIB_IMAGE_ACQUIRE_H
#define MSB_LIB_IMAGE_ACQUIRE_H

#include <msb/pull.h>

#include "lib/image/store.h"
#include "lib/internal.h"

/* Makes `reference` available under `policy` ("always", "if-missing", "never"; NULL =
 * "if-missing") and fills *out with the cached image. Emits RESOLVING, RESOLVED, the layer
 * events of a download, and COMPLETE through opts->progress. The caller holds the image
 * store lock (store_lock.h) in shared mode until it has used the result. `opts` may be NULL.
 * Policy "never" and an uncached image: MSB_ERR_IMAGE_NOT_FOUND. */
int msb_image_acquire (msb_ctx *ctx, const char *reference, const char *policy,
                       const msb_pull_opts *opts, msb_image *out, msb_error **err);

/* Wraps a store image as a public info handle (takes over its content; image_api.c). */
msb_image_info *msb_image_info_take (msb_image *img);

#endif

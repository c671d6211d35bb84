/* The unpacked-layer cache: cache/layers/<diff_id hex>/ is the root of one layer, unpacked
 * once and shared read-only by every sandbox (an overlayfs lower dir as is). Owns the
 * per-layer lock (cache/locks/<hex>.lock), the temp dirs (cache/tmp/layer-<hex>.*) and the
 * `layers` row written after publication. Never publishes a layer whose digests did not
 * verify, never leaves a partial layer under cache/layers. */
#ifndef MSB_LIB_IMAGE_LAYER_CACHE_H
#define MSB_LIB_IMAGE_LAYER_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"
#include "lib/image/unpack.h"

/* Absolute path of the unpacked layer root of `diff_id` ("sha256:<hex>"), newly allocated;
 * NULL when diff_id is not a valid sha256 digest. */
char *msb_image_layer_path (const msb_home *home, const char *diff_id);

/* True when the layer is published in the cache. */
bool msb_image_layer_is_cached (const msb_home *home, const char *diff_id);

/* Makes layer `diff_id` present in the cache from the blob `read` supplies.
 *
 * Under the layer's flock: when the layer is already published, nothing is unpacked; if
 * `blob_digest` is NULL (a docker archive names no blob digest) the blob is still read once
 * to compute it and check the diff_id, otherwise it is not read at all. Else the blob is
 * unpacked into a temp dir under cache/tmp, verified against `diff_id` and `blob_digest`
 * (when not NULL), synced and renamed into place; then the `layers` row is written when
 * `db` is not NULL. Any failure removes the temp dir.
 *
 * `opts` (may be NULL) supplies limits and progress; its expected digests are ignored.
 * *res gets the digests and sizes (unpacked_bytes is 0 when the layer was cached);
 * *was_cached (may be NULL) tells whether another unpack had published it. */
int msb_image_layer_materialize (const msb_home *home, msb_db *db, const char *diff_id,
                                 const char *blob_digest, msb_unpack_read_fn read, void *read_ctx,
                                 const msb_unpack_opts *opts, msb_unpack_result *res,
                                 bool *was_cached, msb_error **err);

/* Writes (or completes the size of) the `layers` row of a published layer; for callers that
 * materialize without a database handle (registry pulls, on worker threads). */
int msb_image_layer_record (msb_db *db, const char *diff_id, uint64_t size, msb_error **err);

#endif

/* Taking images out of the store: `image rm` (one reference) and `image prune` (every image
 * no sandbox or snapshot uses, plus debris: unreferenced layers, stale temp dirs). Owns
 * deleting image rows, manifest rows, layer rows and layer directories.
 *
 * A manifest that a sandbox is pinned to is never deleted, even by a forced rm (which only
 * removes the reference): the sandbox must still start. Rows go in one transaction first;
 * directories are renamed into cache/tmp and removed after, so a crash leaves at worst
 * debris that the next prune clears, never a row naming a missing layer.
 *
 * Callers hold the image store lock exclusively (store_lock.h). */
#ifndef MSB_LIB_IMAGE_STORE_GC_H
#define MSB_LIB_IMAGE_STORE_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"

typedef struct msb_image_gc_report
{
  uint64_t refs_removed;
  uint64_t manifests_removed;
  uint64_t layers_removed;
  uint64_t bytes_reclaimed; /* disk blocks of the removed layer directories */
} msb_image_gc_report;

/* Removes `reference` (canonicalised; a bare manifest digest removes every reference to it).
 * When it is the last reference of a manifest that a sandbox uses: MSB_ERR_IMAGE_IN_USE
 * naming the sandbox, unless `force` (then only the reference goes). A manifest left without
 * references and users is deleted with the layers no other manifest shares. Unknown
 * reference: MSB_ERR_IMAGE_NOT_FOUND. `report` may be NULL. */
int msb_image_store_remove (const msb_home *home, msb_db *db, const char *reference, bool force,
                            msb_image_gc_report *report, msb_error **err);

/* Removes every image reference whose manifest no sandbox and no snapshot uses, then the
 * manifests and layers left unreferenced, layer directories without a row, and stale temp
 * dirs. */
int msb_image_store_prune (const msb_home *home, msb_db *db, msb_image_gc_report *report,
                           msb_error **err);

#endif

/* The image store lock, cache/locks/store.lock: shared by everything that adds to the store
 * or starts using an image (pull, load, sandbox create, from the lookup until the record or
 * sandbox row is written), exclusive for what removes from it (image rm, image prune). So a
 * prune can never delete a layer that a pull found cached a moment before and is about to
 * record, nor an image a create resolved and is about to pin. Per-layer locks (layer_cache.h)
 * still serialise two unpacks of one layer. */
#ifndef MSB_LIB_IMAGE_STORE_LOCK_H
#define MSB_LIB_IMAGE_STORE_LOCK_H

#include <stdbool.h>

#include "common/error.h"
#include "lib/home.h"

/* Takes the lock (blocking) and returns its fd; closing the fd releases it. */
int msb_image_store_lock (const msb_home *home, bool exclusive, msb_error **err);

#endif

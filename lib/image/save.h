/* `image save`: cached images out as a docker-archive (`docker save` format) or an OCI image
 * layout tar. The cache keeps each layer unpacked once and no compressed blobs, so every
 * layer is re-tarred from its directory (sorted names, numeric owners, hardlinks kept; the
 * overlayfs whiteouts the unpacker made — char 0/0 nodes and the opaque xattr — turned back
 * into OCI `.wh.` entries). The re-tarred layers have new diff_ids, so the config's
 * rootfs.diff_ids is rewritten: the output is semantically, not byte-, identical to what
 * was pulled (API.md §1.12), and a load of it round-trips the references, config and files.
 *
 * Reads the store only; writes nothing but its output and temp files under cache/tmp. */
#ifndef MSB_LIB_IMAGE_SAVE_H
#define MSB_LIB_IMAGE_SAVE_H

#include <stddef.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"
#include "lib/image/store.h"

typedef enum msb_save_format
{
  MSB_SAVE_DOCKER = 0,
  MSB_SAVE_OCI,
} msb_save_format;

/* Writes the n images (looked up by the caller, who holds the store lock shared so their
 * layers stay) to `out_fd` as one tar. configs[i] is the raw config JSON of imgs[i]
 * (msb_image_store_config_json); each image is saved under imgs[i].reference. */
int msb_image_store_save (const msb_home *home, const msb_image *imgs,
                          const char *const *configs, size_t n, msb_save_format format,
                          int out_fd, msb_error **err);

/* The raw config JSON stored for `manifest_digest`. */
int msb_image_store_config_json (msb_db *db, const char *manifest_digest, char **out,
                                 msb_error **err);

#endif

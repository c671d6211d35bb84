/* Sparse ext4 images: the storage of disk volumes (volumes/<name>/disk.raw) and of size-limited
 * writable layers (sandboxes/<name>/upper.ext4). Made with mke2fs from e2fsprogs, which the
 * host must have. */
#ifndef MSB_LIB_EXT4_IMAGE_H
#define MSB_LIB_EXT4_IMAGE_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Creates `name` in `dirfd` as a sparse file of `size_mib` MiB holding an empty ext4 whose
 * root directory belongs to uid:gid (no blocks reserved for root: the whole size is usable).
 * The file appears under its name only once complete. */
int msb_ext4_image_create (int dirfd, const char *name, uint64_t size_mib, uid_t uid, gid_t gid,
                           msb_error **err);

#endif

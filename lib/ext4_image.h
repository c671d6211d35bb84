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
/* Same with room for at least `inodes` files (0 = mke2fs's default for the size): a copy of
 * a layer with many small files needs more than the default ratio gives. */
int msb_ext4_image_create_inodes (int dirfd, const char *name, uint64_t size_mib, uid_t uid,
                                  gid_t gid, uint64_t inodes, msb_error **err);

/* Grows image `name` of `dirfd` (not mounted anywhere) to `size_mib` and its filesystem with
 * it (e2fsck, then resize2fs: offline, so no CAP_SYS_RESOURCE is needed). An image already
 * that large is left alone; ext4 images never shrink here. */
int msb_ext4_image_grow (int dirfd, const char *name, uint64_t size_mib, msb_error **err);

#endif

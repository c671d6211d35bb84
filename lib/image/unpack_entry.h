/* Internal to the unpacker: writing one tar entry under the layer root, and the directory
 * metadata applied once all content is in place. Must never resolve a path except through
 * inroot.h, never create a device node other than an overlay whiteout (char 0/0), never
 * restore an xattr from the tar. */
#ifndef MSB_LIB_IMAGE_UNPACK_ENTRY_H
#define MSB_LIB_IMAGE_UNPACK_ENTRY_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "lib/image/unpack.h"

typedef struct layer_dir_meta
{
  char *path; /* normalised, "" = the root */
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
} layer_dir_meta;

typedef struct layer_unpacker
{
  int root_fd;
  bool restore_owner;
  uint64_t max_unpacked;
  uint64_t unpacked;
  layer_dir_meta *dirs;
  size_t n_dirs, cap_dirs;
  msb_unpack_result *res;
} layer_unpacker;

/* Writes the entry `e` (data read from `a`). */
int layer_unpack_entry (layer_unpacker *u, struct archive *a, struct archive_entry *e,
                        msb_error **err);

/* Applies owner, mode and mtime of every directory entry, in tar order (a later entry for
 * the same directory wins). Directories get their final mode only now so a read-only
 * directory (0555) in the tar does not stop its own content from being written. */
int layer_apply_dir_meta (layer_unpacker *u, msb_error **err);

void layer_unpacker_clear (layer_unpacker *u);

#endif

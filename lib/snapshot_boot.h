/* Booting a sandbox from a disk snapshot (msb_create_opts.snapshot): the create's config gets
 * the snapshot's pinned image, and the new sandbox's writable layer starts as a copy of the
 * snapshot's, rebased into the new sandbox's id range. Used by lib/sandbox.c's create. */
#ifndef MSB_LIB_SNAPSHOT_BOOT_H
#define MSB_LIB_SNAPSHOT_BOOT_H

#include <msb/snapshot.h>

#include "lib/config.h"
#include "lib/internal.h"

typedef struct msb_snapshot_source
{
  msb_snapshot *snap;
  msb_config *cfg; /* the create's config, with the snapshot's image (owned) */
} msb_snapshot_source;

/* Opens the artifact `path_or_name` and derives the create's config from `cfg`: the image is
 * the snapshot's, pinned to its manifest digest (`cfg` must not name an image:
 * MSB_ERR_INVALID_ARGUMENT); without an upper size of its own the sandbox gets the size
 * limit the snapshot's source had. Missing artifact: MSB_ERR_SNAPSHOT_NOT_FOUND; a snapshot
 * that is not a disk snapshot: MSB_ERR_INVALID_ARGUMENT. */
int msb_snapshot_source_open (msb_ctx *ctx, const char *path_or_name, const msb_config *cfg,
                              msb_snapshot_source *out, msb_error **err);

/* Writes the snapshot's layer as the writable layer of sandbox `name` (its record and
 * directory exist, it has not booted), whose uid range is that of `uid_slot`. */
int msb_snapshot_source_install (msb_ctx *ctx, const msb_snapshot_source *src, const char *name,
                                 int uid_slot, msb_error **err);

void msb_snapshot_source_clear (msb_snapshot_source *src);

static inline void
msb_cleanup_snapshot_source_fn (msb_snapshot_source *s)
{
  msb_snapshot_source_clear (s);
}
#define _msb_cleanup_snapshot_source_ __attribute__ ((cleanup (msb_cleanup_snapshot_source_fn)))

#endif

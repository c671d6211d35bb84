/* Where a writable layer lives and how it moves: a sandbox's (its upper directory, or the
 * upper/ directory of its upper.ext4 when the layer has a size limit), a snapshot artifact's
 * (upper/ of upper.ext4), and writing a copy of one as a new ext4 image or a new directory.
 * The copies themselves are snapshot_tree.c's. */
#ifndef MSB_LIB_SNAPSHOT_LAYER_H
#define MSB_LIB_SNAPSHOT_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/snapshot_tree.h"

/* A layer opened for reading. */
typedef struct msb_layer_src
{
  int dir;              /* O_RDONLY directory fd of the layer's root, -1 = an empty layer */
  int image_root;       /* the detached mount holding it, -1 for a directory */
  uint64_t image_bytes; /* apparent size of its image, 0 for a directory */
} msb_layer_src;

#define MSB_LAYER_SRC_INIT                                                                         \
  {                                                                                                \
    -1, -1, 0                                                                                      \
  }

/* The layer of the (not running) sandbox whose directory is `sandbox_dir`: its upper.ext4
 * when `limit_mib` is set and the image exists, else its upper directory. A sandbox that
 * never booted has an empty layer. The image is mounted read-write, as the journal of a
 * sandbox that was killed needs replaying. */
int msb_layer_open_sandbox (int sandbox_dir, unsigned limit_mib, msb_layer_src *out,
                            msb_error **err);
/* The layer in image `name` of directory `dir`, mounted read-only (an artifact is shared by
 * every sandbox booting from it, maybe at once). */
int msb_layer_open_image (int dir, const char *name, msb_layer_src *out, msb_error **err);
void msb_layer_src_close (msb_layer_src *s);

/* Creates image `name` in `dir` (size_mib, room for `inodes`; sparse) holding upper/ — a copy
 * of `src` rebased from c->src_base to c->dst_base — and an empty work/. */
int msb_layer_write_image (int dir, const char *name, uint64_t size_mib, uint64_t inodes,
                           const msb_layer_src *src, msb_layer_copy *c, msb_error **err);
/* Creates image `name` in `dir` as a copy of image `src_name` in `src_dir` (the file, holes
 * kept; in the kernel), grown to `size_mib` when that is larger, with the owners in its
 * upper/ rebased from c->src_base to c->dst_base in place. Much cheaper than
 * msb_layer_write_image when the layer is already an image of the right size: data is copied
 * by the kernel and only metadata is rewritten. */
int msb_layer_clone_image (int src_dir, const char *src_name, int dir, const char *name,
                           uint64_t size_mib, msb_layer_copy *c, msb_error **err);
/* Creates directory `name` in `dir` as a copy of `src` (rebased likewise). */
int msb_layer_write_dir (int dir, const char *name, const msb_layer_src *src, msb_layer_copy *c,
                         msb_error **err);

static inline void
msb_cleanup_layer_src_fn (msb_layer_src *s)
{
  msb_layer_src_close (s);
}
#define _msb_cleanup_layer_src_ __attribute__ ((cleanup (msb_cleanup_layer_src_fn)))

#endif

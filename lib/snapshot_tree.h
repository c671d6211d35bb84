/* Copying a sandbox's writable layer between its two homes — a host directory or the `upper/`
 * directory of an ext4 image — with every property overlayfs gives meaning to: file types
 * (whiteouts are 0/0 character devices), owners, modes (set-id bits included), timestamps,
 * hard links, holes, and extended attributes (the overlay's opaque/redirect/origin markers,
 * file capabilities, POSIX ACLs).
 *
 * Owners are rebased on the way: a layer's ids are host ids of one sandbox's range
 * (src_base + n); the copy gets dst_base + n. Ids outside the source range, which only a
 * tampered layer holds, become the range's nobody (65534). File capabilities and ACLs name
 * ids too and are rebased the same way; a capability whose root lies outside the range is
 * dropped.
 *
 * The source is untrusted (a sandbox wrote it): nothing is ever followed (every lookup is
 * relative to a directory fd, with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW), device nodes other than
 * whiteouts are refused, and the depth is bounded. */
#ifndef MSB_LIB_SNAPSHOT_TREE_H
#define MSB_LIB_SNAPSHOT_TREE_H

#include <stdint.h>

#include "common/error.h"

#define MSB_LAYER_ID_RANGE 65536u

typedef struct msb_layer_copy
{
  uint32_t src_base; /* host id of the layer's root user at the source */
  uint32_t dst_base; /* … and at the destination */
  /* filled by the copy */
  uint64_t bytes;   /* file data copied */
  uint64_t entries; /* inodes created */
} msb_layer_copy;

/* Copies the contents of directory `src_dir` into the existing, empty directory `dst_dir`
 * and gives dst_dir the owner, mode, xattrs and times of src_dir. Both are O_RDONLY
 * directory fds. */
int msb_layer_copy_tree (int src_dir, int dst_dir, msb_layer_copy *c, msb_error **err);

/* Rebases the owners of the tree at `dir` where it is (a copied image): c->src_base ids
 * become c->dst_base ids; set-id bits, file capabilities and ACLs are carried over; device
 * nodes other than whiteouts are refused. Idempotent: ids already in the destination range
 * stay (a file with several links is seen once per link). */
int msb_layer_rebase_tree (int dir, msb_layer_copy *c, msb_error **err);

/* Space a copy of the tree at `dir` needs: allocated bytes and number of inodes. */
int msb_layer_usage (int dir, uint64_t *bytes, uint64_t *inodes, msb_error **err);

#endif

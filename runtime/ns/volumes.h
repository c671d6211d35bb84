/* The sandbox filesystem beyond the image (ns backend): volumes, the size-limited writable
 * layer, patches and scripts. The runtime (parent) prepares an msb_ns_fs_plan before clone —
 * resolving named volumes, building id mappings, staging host files for copy patches,
 * creating the upper image — and the sandbox's first process (child) carries it out:
 *   1. msb_ns_upper_disk_mount: before the overlay, as real root in its private mount ns;
 *   2. msb_ns_volumes_mount: after the API filesystems, before pivot_root;
 *   3. msb_ns_guest_setup: after becoming the sandbox's root, inside the new root — patches
 *      (first boot only) and /.msb/scripts.
 * Anything the child mounts lives in its mount namespace and disappears with it. */
#ifndef MSB_RUNTIME_NS_VOLUMES_H
#define MSB_RUNTIME_NS_VOLUMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/config.h"

typedef struct msb_runtime msb_runtime;

/* ---- idmap.c ---- */
typedef struct msb_ns_idmap_range
{
  uint32_t inside;  /* id stored on disk */
  uint32_t outside; /* id processes see (host kuid) */
  uint32_t count;
} msb_ns_idmap_range;

typedef struct msb_ns_idmap
{
  msb_ns_idmap_range uid[2];
  size_t n_uid;
  msb_ns_idmap_range gid[2];
  size_t n_gid;
} msb_ns_idmap;

/* A user namespace holding `map`, as an fd for mount_setattr(MOUNT_ATTR_IDMAP). */
int msb_ns_idmap_userns (const msb_ns_idmap *map, int *out_fd, msb_error **err);

/* ---- loopdev.c ---- */
/* Binds `backing_fd` to a free loop device (auto-clearing); returns the device fd, which must
 * stay open until the filesystem on it is mounted. dev_path receives "/dev/loopN". */
int msb_ns_loop_attach (int backing_fd, bool readonly, char dev_path[32], msb_error **err);

/* ---- volumes.c ---- */
typedef enum msb_ns_mount_kind
{
  MSB_NS_MOUNT_BIND = 1, /* host directory (bind volumes and directory volumes) */
  MSB_NS_MOUNT_DISK,     /* ext4 image through a loop device (disk volumes) */
  MSB_NS_MOUNT_TMPFS,
} msb_ns_mount_kind;

typedef struct msb_ns_mount_plan
{
  int kind;           /* msb_ns_mount_kind */
  char *target;       /* guest path, normalised */
  char *source;       /* host directory or image path */
  unsigned flags;     /* MSB_MOUNT_* */
  int idmap_fd;       /* user namespace of an idmapped mount; -1 = plain */
  bool must_idmap;    /* named volumes: without the mapping, owners would be wrong */
  uint64_t size_mib;  /* tmpfs */
  char *what;         /* "volume `data` at /data", for errors */
} msb_ns_mount_plan;

typedef struct msb_ns_fs_plan
{
  uint32_t uid_base;
  /* Writable layer on an ext4 image (upper_size_mib), else NULL. */
  char *upper_image;
  char *upper_mnt;     /* where the child mounts it (its own mount ns) */
  char *upper_dir;     /* upper_mnt/upper and upper_mnt/work */
  char *work_dir;
  msb_ns_mount_plan *mounts;
  size_t n_mounts;
  /* Patches: applied at the first boot only. */
  const msb_patch_spec *patches;
  size_t n_patches;
  bool apply_patches;
  int staging_fd;      /* staged host sources of copy patches (entry "<index>"), -1 = none */
  char *staging_rel;   /* relative to the sandbox dir, removed after boot */
  const msb_kvlist *scripts;
} msb_ns_fs_plan;

/* Parent side. */
int msb_ns_fs_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err);
/* After the child ran (booted = it executes the agent): records that patches were applied,
 * removes the staging, closes the plan's fds. */
void msb_ns_fs_finish (msb_runtime *rt, msb_ns_fs_plan *plan, bool booted);
void msb_ns_fs_plan_clear (msb_ns_fs_plan *plan);

/* Child side (see the order above). */
int msb_ns_upper_disk_mount (const msb_ns_fs_plan *plan, msb_error **err);
int msb_ns_volumes_mount (int rootfd, const msb_ns_fs_plan *plan, msb_error **err);
int msb_ns_guest_setup (const msb_ns_fs_plan *plan, msb_error **err);

#endif

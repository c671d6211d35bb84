/* Volume mounts of the ns backend: planned by the runtime (which volume, which id mapping),
 * mounted by the sandbox's first process under the assembled root before pivot_root.
 *
 * Id mappings (the ownership users see on the host):
 *   bind volume    the directory's owner O (and group G) appears as the sandbox's root, so
 *                  what the sandbox's root writes there belongs to O on the host; the
 *                  sandbox's other users keep their own unprivileged range. When O is root,
 *                  root is not mapped at all: the sandbox then writes as its unprivileged host
 *                  uid and needs the directory's permissions for it. No mapping ever has host
 *                  id 0 on either side (idmap.c refuses it), so a sandbox can never create a
 *                  file — a set-user-ID binary above all — owned by the host's root, nor a
 *                  file capability that would count on the host.
 *   named volume   the volume range (MSB_VOLUME_UID_BASE + N) appears as sandbox uid N, in
 *                  every sandbox: volumes are shared with consistent owners.
 *   tmpfs          owned by the sandbox's root; no mapping needed.
 *
 * Mount points are hostile (the image chose them): each component is opened inside the root
 * without following symlinks and created when missing; the mount goes onto the resulting fd
 * (move_mount), never onto a host path. nodev is always set: device nodes in a volume are
 * never usable.
 *
 * Must never: follow a symlink of the image while placing a mount, or mount through a path
 * string under the sandbox root. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/volume_store.h"
#include "runtime/ns/volumes.h"
#include "runtime/rtlog.h"
#include "runtime/runtime.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

/* ---- planning (runtime, before clone) --------------------------------------------------- */

/* Sandbox root ↔ `owner` when owner is an ordinary host id; identity on the sandbox's own
 * range otherwise. Returns the number of ranges. */
static size_t
owner_ranges (uint32_t owner, uint32_t uid_base, msb_ns_idmap_range r[2])
{
  bool in_own_range = owner >= uid_base && owner < uid_base + MSB_UID_RANGE_SIZE;
  if (owner == 0 || in_own_range)
    {
      r[0] = (msb_ns_idmap_range){ uid_base, uid_base, MSB_UID_RANGE_SIZE };
      return 1;
    }
  r[0] = (msb_ns_idmap_range){ owner, uid_base, 1 };
  r[1] = (msb_ns_idmap_range){ uid_base + 1, uid_base + 1, MSB_UID_RANGE_SIZE - 1 };
  return 2;
}

static int
plan_bind (msb_runtime *rt, const msb_mount_spec *m, msb_ns_mount_plan *out, msb_error **err)
{
  struct stat st;
  if (stat (m->source, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_INVALID_CONFIG, "host directory `%s`", m->source);
  if (!S_ISDIR (st.st_mode))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "host path `%s` is not a directory", m->source);
  msb_ns_idmap map = { 0 };
  map.n_uid = owner_ranges (st.st_uid, rt->uid_base, map.uid);
  map.n_gid = owner_ranges (st.st_gid, rt->uid_base, map.gid);
  out->kind = MSB_NS_MOUNT_BIND;
  out->source = msb_xstrdup (m->source);
  if (map.n_uid == 1 && map.n_gid == 1)
    return 0; /* nothing to remap: a plain bind shows the same */
  return msb_ns_idmap_userns (&map, &out->idmap_fd, err);
}

static int
plan_named (msb_runtime *rt, const msb_mount_spec *m, msb_ns_mount_plan *out, msb_error **err)
{
  msb_volume_row row = { 0 };
  if (msb_volume_row_get (&rt->db, m->source, &row, err) < 0)
    return -1;
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (row.name);
  _msb_cleanup_free_ char *dir = msb_home_path (&rt->home, rel);
  if (row.kind == MSB_VOLUME_DISK)
    {
      out->kind = MSB_NS_MOUNT_DISK;
      out->source = msb_xasprintf ("%s/disk.raw", dir);
    }
  else
    {
      out->kind = MSB_NS_MOUNT_BIND;
      out->source = msb_xstrdup (dir);
      /* The quota is advisory while a sandbox runs; at boot a full volume becomes read-only. */
      if (row.quota_mib && msb_volume_used_bytes (&rt->home, &row) >= (row.quota_mib << 20))
        {
          msb_rtlog (MSB_RT_WARN, "volume `%s` is at its quota of %llu MiB: mounted read-only",
                     row.name, (unsigned long long) row.quota_mib);
          out->flags |= MSB_MOUNT_READONLY;
        }
    }
  msb_volume_row_clear (&row);
  out->must_idmap = true;
  msb_ns_idmap map = { .n_uid = 1, .n_gid = 1 };
  map.uid[0] = (msb_ns_idmap_range){ MSB_VOLUME_UID_BASE, rt->uid_base, MSB_UID_RANGE_SIZE };
  map.gid[0] = map.uid[0];
  return msb_ns_idmap_userns (&map, &out->idmap_fd, err);
}

static int
by_target (const void *a, const void *b)
{
  return strcmp (((const msb_ns_mount_plan *) a)->target, ((const msb_ns_mount_plan *) b)->target);
}

int
msb_ns_volumes_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err)
{
  const msb_config_files *f = &rt->cfg->files;
  plan->mounts = msb_xcalloc (f->n_mounts ? f->n_mounts : 1, sizeof *plan->mounts);
  for (size_t i = 0; i < f->n_mounts; i++)
    {
      const msb_mount_spec *m = &f->mounts[i];
      msb_ns_mount_plan *p = &plan->mounts[plan->n_mounts++];
      p->target = msb_xstrdup (m->target);
      p->flags = m->flags | MSB_MOUNT_NODEV;
      p->idmap_fd = -1;
      p->size_mib = m->size_mib;
      int r = 0;
      switch (m->kind)
        {
        case MSB_MOUNT_KIND_BIND:
          p->what = msb_xasprintf ("`%s` at %s", m->source, m->target);
          r = plan_bind (rt, m, p, err);
          break;
        case MSB_MOUNT_KIND_NAMED:
          p->what = msb_xasprintf ("volume `%s` at %s", m->source, m->target);
          r = plan_named (rt, m, p, err);
          break;
        case MSB_MOUNT_KIND_TMPFS:
          p->what = msb_xasprintf ("tmpfs at %s", m->target);
          p->kind = MSB_NS_MOUNT_TMPFS;
          break;
        default:
          r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "unknown mount kind %d at %s", m->kind,
                        m->target);
        }
      if (r < 0)
        return msb_error_prefix (err, "mount %s", p->what ? p->what : m->target);
    }
  /* Parents first: a mount at /data/sub goes into the volume at /data. */
  if (plan->n_mounts > 1)
    qsort (plan->mounts, plan->n_mounts, sizeof *plan->mounts, by_target);
  return 0;
}

/* ---- mounting (sandbox's first process, real root, before pivot_root) ------------------- */

/* Opens directory `target` under the root, creating missing components (owned by the
 * sandbox's root) and refusing symlinks and non-directories. */
static int
open_mountpoint (int rootfd, const char *target, uint32_t uid_base, msb_error **err)
{
  int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the sandbox root");
  _msb_cleanup_free_ char *copy = msb_xstrdup (target);
  char *save = NULL;
  for (char *comp = strtok_r (copy, "/", &save); comp; comp = strtok_r (NULL, "/", &save))
    {
      int next = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT)
        {
          if (mkdirat (cur, comp, 0755) < 0 && errno != EEXIST)
            {
              int saved = errno;
              close (cur);
              return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "create mount point %s", target);
            }
          (void) !fchownat (cur, comp, uid_base, uid_base, AT_SYMLINK_NOFOLLOW);
          next = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      int saved = errno;
      close (cur);
      if (next < 0)
        {
          if (saved == ELOOP || saved == ENOTDIR)
            return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                             "mount point %s: `%s` in the image is a symbolic link or not a "
                             "directory; refusing to mount there",
                             target, comp);
          return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "open mount point %s", target);
        }
      cur = next;
    }
  return cur;
}

static uint64_t
mount_attrs (unsigned flags)
{
  return (flags & MSB_MOUNT_READONLY ? MOUNT_ATTR_RDONLY : 0)
         | (flags & MSB_MOUNT_NOEXEC ? MOUNT_ATTR_NOEXEC : 0)
         | (flags & MSB_MOUNT_NOSUID ? MOUNT_ATTR_NOSUID : 0)
         | (flags & MSB_MOUNT_NODEV ? MOUNT_ATTR_NODEV : 0);
}

/* Applies the id mapping (when planned) and the flags to a detached mount, and attaches it at
 * `target_fd`. A bind volume on a filesystem without idmapped mounts (NFS, FUSE) is attached
 * unmapped: the sandbox then writes as its unprivileged uid, as for a root-owned directory. */
static int
attach (int tree, int target_fd, const msb_ns_mount_plan *p, msb_error **err)
{
  if (p->idmap_fd >= 0)
    {
      struct mount_attr idmap = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) p->idmap_fd };
      if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &idmap, sizeof idmap) < 0
          && (p->must_idmap || errno != EINVAL))
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC,
                               "idmap %s (its filesystem must support idmapped mounts)", p->what);
    }
  struct mount_attr attr = { .attr_set = mount_attrs (p->flags) };
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "set the mount flags of %s", p->what);
  if (syscall (SYS_move_mount, tree, "", target_fd, "",
               MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
      < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "attach %s", p->what);
  return 0;
}

static int
mount_bind (const msb_ns_mount_plan *p, int target_fd, msb_error **err)
{
  /* Not recursive: mounts below the host directory stay on the host. */
  _msb_cleanup_close_ int tree
      = (int) syscall (SYS_open_tree, AT_FDCWD, p->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open %s", p->what);
  return attach (tree, target_fd, p, err);
}

static int
mount_disk (const msb_ns_mount_plan *p, int target_fd, msb_error **err)
{
  bool ro = p->flags & MSB_MOUNT_READONLY;
  _msb_cleanup_close_ int image = open (p->source, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW);
  if (image < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the image of %s", p->what);
  char dev[32];
  _msb_cleanup_close_ int loop = msb_ns_loop_attach (image, ro, dev, err);
  if (loop < 0)
    return msb_error_prefix (err, "%s", p->what);
  _msb_cleanup_close_ int fs = (int) syscall (SYS_fsopen, "ext4", FSOPEN_CLOEXEC);
  if (fs < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "%s: fsopen ext4", p->what);
  if (syscall (SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", dev, 0) < 0
      || (ro && syscall (SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
      || syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "%s: mount the ext4 image", p->what);
  _msb_cleanup_close_ int tree = (int) syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (tree < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "%s: fsmount", p->what);
  return attach (tree, target_fd, p, err);
}

static int
mount_tmpfs (const msb_ns_mount_plan *p, int target_fd, uint32_t uid_base, msb_error **err)
{
  char opts[128], target[32];
  int n = snprintf (opts, sizeof opts, "mode=1777,uid=%u,gid=%u", uid_base, uid_base);
  if (p->size_mib)
    snprintf (opts + n, sizeof opts - (size_t) n, ",size=%llum", (unsigned long long) p->size_mib);
  snprintf (target, sizeof target, "/proc/self/fd/%d", target_fd);
  unsigned long flags = MS_NODEV | (p->flags & MSB_MOUNT_READONLY ? MS_RDONLY : 0)
                        | (p->flags & MSB_MOUNT_NOEXEC ? MS_NOEXEC : 0)
                        | (p->flags & MSB_MOUNT_NOSUID ? MS_NOSUID : 0);
  if (mount ("tmpfs", target, "tmpfs", flags, opts) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount %s", p->what);
  return 0;
}

int
msb_ns_volumes_mount (int rootfd, const msb_ns_fs_plan *plan, msb_error **err)
{
  for (size_t i = 0; i < plan->n_mounts; i++)
    {
      const msb_ns_mount_plan *p = &plan->mounts[i];
      _msb_cleanup_close_ int target = open_mountpoint (rootfd, p->target, plan->uid_base, err);
      if (target < 0)
        return msb_error_prefix (err, "mount %s", p->what);
      int r;
      switch (p->kind)
        {
        case MSB_NS_MOUNT_BIND:
          r = mount_bind (p, target, err);
          break;
        case MSB_NS_MOUNT_DISK:
          r = mount_disk (p, target, err);
          break;
        default:
          r = mount_tmpfs (p, target, plan->uid_base, err);
          break;
        }
      if (r < 0)
        return -1;
    }
  return 0;
}

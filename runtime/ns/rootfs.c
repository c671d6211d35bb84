/* The sandbox root: an overlay of the image layers (read-only, idmapped into the sandbox's
 * uid range so files owned by root in the image are owned by root inside) and the sandbox's
 * own upper directory, assembled in the child's private mount namespace and pivoted into.
 * Nothing here is visible on the host, and it all disappears with the namespace, so a
 * crashed runtime cannot leave mounts behind.
 *
 * Layers, upper and work are passed to overlayfs as /proc/self/fd/N paths: the idmapped
 * layers are detached mounts that only exist as fds, and fd paths also keep sandbox names
 * (which may contain ',' or ':') out of the mount option string. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"
#include "runtime/ns/volumes.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

static int
open_idmapped_layer (const char *path, int userns_fd, msb_error **err)
{
  int fd = (int) syscall (SYS_open_tree, AT_FDCWD, path,
                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open layer `%s`", path);
  struct mount_attr attr = {
    .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID,
    .userns_fd = (uint64_t) userns_fd,
  };
  if (syscall (SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    {
      int saved = errno;
      close (fd);
      return msb_fail_errno (err, saved, MSB_ERR_UNSUPPORTED,
                             "idmap layer `%s` (needs Linux ≥ 5.19 and a filesystem that "
                             "supports idmapped mounts)",
                             path);
    }
  return fd;
}

static int
open_dir (const char *path, msb_error **err)
{
  int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", path);
  return fd;
}

static void
close_all (int *fds, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (fds[i] >= 0)
      close (fds[i]);
}

/* Overlay's lowerdir lists the top layer first. */
int
msb_ns_overlay_mount (const msb_rootfs_spec *spec, msb_error **err)
{
  _msb_cleanup_free_ int *fds = msb_xcalloc (spec->n_layers + 2, sizeof (int));
  size_t n = 0;
  _msb_cleanup_buf_ msb_buf opts = MSB_BUF_INIT;
  int r = 0;
  for (size_t i = spec->n_layers; r == 0 && i-- > 0;)
    {
      int fd = open_idmapped_layer (spec->layers[i], spec->userns_fd, err);
      if (fd < 0)
        r = -1;
      else
        {
          fds[n++] = fd;
          char part[48];
          snprintf (part, sizeof part, "%s/proc/self/fd/%d", n == 1 ? "lowerdir=" : ":", fd);
          msb_buf_append (&opts, part, strlen (part));
        }
    }
  int upper = r == 0 ? open_dir (spec->upper, err) : -1;
  int work = upper >= 0 ? open_dir (spec->work, err) : -1;
  if (upper >= 0)
    fds[n++] = upper;
  if (work >= 0)
    fds[n++] = work;
  if (r == 0 && work >= 0)
    {
      char part[96];
      snprintf (part, sizeof part, ",upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", upper,
                work);
      msb_buf_append (&opts, part, strlen (part) + 1);
      if (mount ("overlay", spec->target, "overlay", MS_NODEV, (const char *) opts.data) < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount the overlay root at `%s`",
                            spec->target);
    }
  else
    r = -1;
  close_all (fds, n);
  return r;
}

static int
pivot_into (int rootfd, msb_error **err)
{
  if (fchdir (rootfd) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "enter the new root");
  /* pivot_root(".", "."): the old root is stacked under the new one, then detached. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "pivot_root");
  if (umount2 (".", MNT_DETACH) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "detach the old root");
  if (chdir ("/") < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "chdir /");
  return 0;
}

int
msb_ns_rootfs_enter (const msb_rootfs_spec *spec, msb_error **err)
{
  /* Nothing we mount may propagate back to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "make mounts private");
  if (spec->fs && msb_ns_upper_disk_mount (spec->fs, err) < 0)
    return -1;
  if (msb_ns_overlay_mount (spec, err) < 0)
    return -1;
  _msb_cleanup_close_ int rootfd = open_dir (spec->target, err);
  if (rootfd < 0)
    return -1;
  if (msb_ns_mount_api_filesystems (rootfd, spec->uid_base, spec->runtime_dir, err) < 0)
    return -1;
  if (spec->fs && msb_ns_volumes_mount (rootfd, spec->fs, err) < 0)
    return -1;
  return pivot_into (rootfd, err);
}

/* API filesystems of the sandbox: /proc, a minimal /dev, /sys, and /.msb, mounted under the
 * assembled root before pivot_root, plus the usual masked and read-only /proc and /sys paths.
 *
 * Mount points in the image are hostile: an image may ship /proc as a symlink to /etc. Every
 * mount point is therefore resolved inside the root with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_SYMLINKS) and mounted through its /proc/self/fd path, never by joining strings
 * on the host; a symlinked mount point is refused. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static const char *const dev_links[][2] = {
  { "fd", "/proc/self/fd" },     { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" }, { "ptmx", "pts/ptmx" },       { "core", "/proc/kcore" },
};

/* Paths hidden behind /dev/null (files) or an empty read-only tmpfs (directories). */
static const char *const masked[] = {
  "proc/acpi",        "proc/kcore",        "proc/keys",         "proc/latency_stats",
  "proc/timer_list",  "proc/timer_stats",  "proc/sched_debug",  "proc/scsi",
  "sys/firmware",     "sys/devices/virtual/powercap",
};

static const char *const read_only[] = {
  "proc/asound", "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

static void
fd_path (int fd, char buf[32])
{
  snprintf (buf, 32, "/proc/self/fd/%d", fd);
}

static int
resolve_in_root (int rootfd, const char *rel, bool symlinks_ok)
{
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (symlinks_ok ? 0 : RESOLVE_NO_SYMLINKS),
  };
  return (int) syscall (SYS_openat2, rootfd, rel, &how, sizeof how);
}

/* A directory mount point `rel` (one component under the root), created when missing and
 * owned by root of the sandbox. */
static int
open_mountpoint_dir (int rootfd, const char *rel, uint32_t uid_base, msb_error **err)
{
  int fd = resolve_in_root (rootfd, rel, false);
  if (fd < 0 && errno == ENOENT)
    {
      if (mkdirat (rootfd, rel, 0755) < 0 && errno != EEXIST)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create mount point /%s", rel);
      if (fchownat (rootfd, rel, uid_base, uid_base, AT_SYMLINK_NOFOLLOW) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "chown mount point /%s", rel);
      fd = resolve_in_root (rootfd, rel, false);
    }
  if (fd < 0 && errno == ELOOP)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "the image's /%s is a symbolic link; refusing to mount over it", rel);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open mount point /%s", rel);
  struct stat st;
  if (fstat (fd, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      close (fd);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "the image's /%s is not a directory", rel);
    }
  return fd;
}

static int
mount_at (const char *source, int target_fd, const char *fstype, unsigned long flags,
          const char *data, const char *what, msb_error **err)
{
  char target[32];
  fd_path (target_fd, target);
  if (mount (source, target, fstype, flags, data) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount %s", what);
  return 0;
}

static int
mount_fresh (int rootfd, const char *rel, const char *fstype, unsigned long flags,
             const char *data, uint32_t uid_base, msb_error **err)
{
  _msb_cleanup_close_ int fd = open_mountpoint_dir (rootfd, rel, uid_base, err);
  if (fd < 0)
    return -1;
  _msb_cleanup_free_ char *what = msb_xasprintf ("%s at /%s", fstype, rel);
  return mount_at (fstype, fd, fstype, flags, data, what, err);
}

static int
populate_dev (int rootfd, uint32_t uid_base, msb_error **err)
{
  /* /dev is our fresh tmpfs now: plain *at() calls on it are safe. */
  _msb_cleanup_close_ int dev = openat (rootfd, "dev", O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dev < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /dev");
  for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++)
    {
      _msb_cleanup_close_ int f
          = openat (dev, dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
      if (f < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create /dev/%s", dev_nodes[i]);
      _msb_cleanup_free_ char *host = msb_xasprintf ("/dev/%s", dev_nodes[i]);
      _msb_cleanup_free_ char *what = msb_xasprintf ("/dev/%s", dev_nodes[i]);
      if (mount_at (host, f, NULL, MS_BIND, NULL, what, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
    if (symlinkat (dev_links[i][1], dev, dev_links[i][0]) < 0)
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "symlink /dev/%s", dev_links[i][0]);
  static const char *const subdirs[] = { "pts", "shm", "mqueue" };
  for (size_t i = 0; i < 3; i++)
    if (mkdirat (dev, subdirs[i], 0755) < 0
        || fchownat (dev, subdirs[i], uid_base, uid_base, AT_SYMLINK_NOFOLLOW) < 0)
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create /dev/%s", subdirs[i]);
  /* devpts options are read in the mounter's (initial) user namespace: gid 5 inside the
   * sandbox is uid_base + 5 here. */
  _msb_cleanup_free_ char *pts = msb_xasprintf ("newinstance,ptmxmode=0666,mode=0620,gid=%u",
                                                uid_base + 5);
  _msb_cleanup_free_ char *shm = msb_xasprintf ("mode=1777,size=65536k,uid=%u,gid=%u", uid_base,
                                                uid_base);
  if (mount_fresh (rootfd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, pts, uid_base, err) < 0
      || mount_fresh (rootfd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm, uid_base,
                      err)
             < 0
      || mount_fresh (rootfd, "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                      uid_base, err)
             < 0)
    return -1;
  return 0;
}

int
msb_ns_bind_runtime_dir (int rootfd, const char *runtime_dir, uint32_t uid_base, msb_error **err)
{
  _msb_cleanup_close_ int fd = open_mountpoint_dir (rootfd, ".msb", uid_base, err);
  if (fd < 0)
    return -1;
  if (mount_at (runtime_dir, fd, NULL, MS_BIND, NULL, "/.msb", err) < 0)
    return -1;
  /* The fd still names the covered directory: reopen to reach the bind mount itself. */
  _msb_cleanup_close_ int top = resolve_in_root (rootfd, ".msb", false);
  if (top < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "reopen /.msb");
  return mount_at (NULL, top, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL,
                   "/.msb (remount nosuid,nodev)", err);
}

static int
mask_path (int rootfd, const char *rel, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (rootfd, rel, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mask /%s", rel);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mask /%s", rel);
  _msb_cleanup_free_ char *what = msb_xasprintf ("mask over /%s", rel);
  if (S_ISDIR (st.st_mode))
    return mount_at ("tmpfs", fd, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     "size=0", what, err);
  return mount_at ("/dev/null", fd, NULL, MS_BIND, NULL, what, err);
}

static int
make_read_only (int rootfd, const char *rel, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (rootfd, rel, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /%s", rel);
  char path[32];
  fd_path (fd, path);
  _msb_cleanup_free_ char *what = msb_xasprintf ("/%s read-only", rel);
  if (mount_at (path, fd, NULL, MS_BIND | MS_REC, NULL, what, err) < 0)
    return -1;
  /* The bind is stacked on the same path: reopen to reach the new mount. */
  _msb_cleanup_close_ int top = openat (rootfd, rel, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (top < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "reopen /%s", rel);
  return mount_at (NULL, top, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   NULL, what, err);
}

int
msb_ns_mount_api_filesystems (int rootfd, uint32_t uid_base, const char *runtime_dir,
                              msb_error **err)
{
  _msb_cleanup_free_ char *devopts
      = msb_xasprintf ("mode=755,size=65536k,uid=%u,gid=%u", uid_base, uid_base);
  if (mount_fresh (rootfd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, uid_base, err) < 0
      || mount_fresh (rootfd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, devopts, uid_base, err) < 0
      || populate_dev (rootfd, uid_base, err) < 0
      || mount_fresh (rootfd, "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                      uid_base, err)
             < 0
      || (runtime_dir && msb_ns_bind_runtime_dir (rootfd, runtime_dir, uid_base, err) < 0))
    return -1;
  for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++)
    if (mask_path (rootfd, masked[i], err) < 0)
      return -1;
  for (size_t i = 0; i < sizeof read_only / sizeof read_only[0]; i++)
    if (make_read_only (rootfd, read_only[i], err) < 0)
      return -1;
  return 0;
}

/* Host-side files of a directory volume (msb_volume_fs_*). A sandbox may have written
 * anything into the volume — symlinks to /etc/shadow, FIFOs, links in place of directories —
 * so every path is resolved from an fd of the volume's root with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS): ".." above the root and absolute symlinks fail with EXDEV instead
 * of reaching the host. Final components are acted on with *at() calls that do not follow
 * them, and only regular files are read or written. Files and directories made here belong to
 * the volume's root user (MSB_VOLUME_UID_BASE), as if a sandbox's root had made them.
 *
 * Must never: open a path string relative to anything but the volume root fd. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/tree_copy.h"
#include "common/util.h"
#include "lib/fs_call.h"
#include "lib/internal.h"
#include "lib/volume_store.h"

/* Opens the root of a directory volume. */
static int
open_volume (msb_ctx *ctx, const char *volume, msb_error **err)
{
  msb_volume_row row = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_volume_row_get (&ctx->db, volume, &row, err);
  msb_volume_kind kind = row.kind;
  msb_volume_row_clear (&row);
  if (r < 0)
    return -1;
  if (kind == MSB_VOLUME_DISK)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "volume `%s` is a disk volume: reach its files through a sandbox that mounts it",
                     volume);
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (volume);
  int fd = openat (ctx->home.root_fd, rel, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open volume `%s`", volume);
  return fd;
}

/* Path relative to the volume root: leading slashes are the root itself. */
static const char *
relative (const char *path)
{
  while (path && *path == '/')
    path++;
  return path && *path ? path : ".";
}

static int
beneath (int root, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
  };
  int fd;
  do
    fd = (int) syscall (SYS_openat2, root, relative (path), &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

static int
fs_fail (msb_error **err, int errnum, const char *volume, const char *what, const char *path)
{
  if (errnum == EXDEV)
    return msb_fail_errno (err, errnum, MSB_ERR_FILESYSTEM,
                           "%s `%s` in volume `%s`: the path leads out of the volume", what, path,
                           volume);
  return msb_fail_errno (err, errnum, MSB_ERR_FILESYSTEM, "%s `%s` in volume `%s`", what, path,
                         volume);
}

/* The parent of `path` (O_PATH directory) and its last component. */
static int
open_parent (int root, const char *path, char **leaf)
{
  const char *rel = relative (path);
  size_t n = strlen (rel);
  while (n > 1 && rel[n - 1] == '/')
    n--;
  size_t start = n;
  while (start > 0 && rel[start - 1] != '/')
    start--;
  size_t len = n - start;
  if (len == 0 || (len == 1 && rel[start] == '.') || (len == 2 && rel[start] == '.' && rel[start + 1] == '.'))
    {
      errno = EINVAL;
      return -1;
    }
  _msb_cleanup_free_ char *parent = start ? msb_xstrndup (rel, start) : msb_xstrdup (".");
  int fd = beneath (root, parent, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0)
    *leaf = msb_xstrndup (rel + start, len);
  return fd;
}

int
msb_volume_fs_read (msb_ctx *ctx, const char *volume, const char *path, uint8_t **data,
                    size_t *len, msb_error **err)
{
  *data = NULL;
  *len = 0;
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  /* O_NONBLOCK: a FIFO left by a sandbox must not hang the caller. */
  _msb_cleanup_close_ int fd = beneath (root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return fs_fail (err, errno, volume, "read", path);
  if (!S_ISREG (st.st_mode))
    return fs_fail (err, S_ISDIR (st.st_mode) ? EISDIR : EINVAL, volume, "read", path);
  msb_buf b = MSB_BUF_INIT;
  for (;;)
    {
      ssize_t n = read (fd, msb_buf_reserve (&b, 1 << 16), 1 << 16);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          msb_buf_free (&b);
          return msb_fail_errno (err, saved, MSB_ERR_IO, "read `%s` in volume `%s`", path, volume);
        }
      if (n == 0)
        break;
      b.len += (size_t) n;
    }
  msb_buf_append_byte (&b, 0);
  *len = b.len - 1;
  *data = b.data;
  return 0;
}

int
msb_volume_fs_write (msb_ctx *ctx, const char *volume, const char *path, const void *data,
                     size_t len, msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_free_ char *leaf = NULL;
  _msb_cleanup_close_ int dir = open_parent (root, path, &leaf);
  if (dir < 0)
    return fs_fail (err, errno, volume, "write", path);
  int flags = O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  bool created = true;
  int fd = openat (dir, leaf, flags | O_CREAT | O_EXCL, 0644);
  if (fd < 0 && errno == EEXIST)
    {
      created = false;
      fd = openat (dir, leaf, flags);
    }
  _msb_cleanup_close_ int file = fd;
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return fs_fail (err, errno == ELOOP ? ELOOP : errno, volume, "write", path);
  if (!S_ISREG (st.st_mode))
    return fs_fail (err, EINVAL, volume, "write (not a regular file)", path);
  if (created && fchown (fd, MSB_VOLUME_UID_BASE, MSB_VOLUME_UID_BASE) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown `%s` in volume `%s`", path, volume);
  if (ftruncate (fd, 0) < 0 || msb_write_full (fd, data, len) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s` in volume `%s`", path, volume);
  return 0;
}

static void
entry_from_stat (msb_fs_entry *e, const char *path, const struct stat *st)
{
  msb_fs_entry_info info = {
    .path = (char *) path,
    .kind = S_ISREG (st->st_mode)   ? MSB_FS_KIND_FILE
            : S_ISDIR (st->st_mode) ? MSB_FS_KIND_DIR
            : S_ISLNK (st->st_mode) ? MSB_FS_KIND_SYMLINK
                                    : MSB_FS_KIND_OTHER,
    .size = (uint64_t) st->st_size,
    .mode = st->st_mode,
    .has_mtime = true,
    .mtime = st->st_mtim.tv_sec,
    .has_atime = true,
    .atime = st->st_atim.tv_sec,
    /* As a sandbox sees them: the volume range starts at its uid 0. */
    .uid = st->st_uid - MSB_VOLUME_UID_BASE < 65536u ? st->st_uid - MSB_VOLUME_UID_BASE : 65534,
    .gid = st->st_gid - MSB_VOLUME_UID_BASE < 65536u ? st->st_gid - MSB_VOLUME_UID_BASE : 65534,
  };
  fs_entry_from_wire (&info, e);
}

static int
entry_cmp (const void *a, const void *b)
{
  return strcmp (((const msb_fs_entry *) a)->path, ((const msb_fs_entry *) b)->path);
}

int
msb_volume_fs_list (msb_ctx *ctx, const char *volume, const char *path, msb_fs_entry **entries,
                    size_t *n, msb_error **err)
{
  *entries = NULL;
  *n = 0;
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  int fd = beneath (root, path, O_RDONLY | O_DIRECTORY, 0);
  _msb_cleanup_dir_ DIR *d = fd < 0 ? NULL : fdopendir (fd);
  if (d == NULL)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      return fs_fail (err, saved, volume, "list", path);
    }
  const char *rel = relative (path);
  msb_fs_entry *v = NULL;
  size_t count = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      _msb_cleanup_free_ char *p = strcmp (rel, ".") == 0
                                       ? msb_xstrdup (de->d_name)
                                       : msb_xasprintf ("%s/%s", rel, de->d_name);
      v = msb_xrealloc (v, (count + 1) * sizeof *v);
      entry_from_stat (&v[count++], p, &st);
    }
  if (count > 1)
    qsort (v, count, sizeof *v, entry_cmp);
  *entries = v ? v : msb_xcalloc (1, sizeof *v);
  *n = count;
  return 0;
}

/* mkdir -p beneath the root; created directories belong to the volume's root user. */
int
msb_volume_fs_mkdir (msb_ctx *ctx, const char *volume, const char *path, msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  const char *rel = relative (path);
  _msb_cleanup_free_ char *prefix = msb_xstrdup (rel);
  size_t n = strlen (rel);
  for (size_t i = 1; i <= n; i++)
    {
      if (i < n && rel[i] != '/')
        continue;
      prefix[i] = '\0';
      int fd = beneath (root, prefix, O_PATH | O_DIRECTORY, 0);
      if (fd < 0 && errno == ENOENT)
        {
          _msb_cleanup_free_ char *leaf = NULL;
          _msb_cleanup_close_ int dir = open_parent (root, prefix, &leaf);
          if (dir < 0)
            return fs_fail (err, errno, volume, "create directory", path);
          if (mkdirat (dir, leaf, 0755) == 0)
            (void) !fchownat (dir, leaf, MSB_VOLUME_UID_BASE, MSB_VOLUME_UID_BASE, AT_SYMLINK_NOFOLLOW);
          else if (errno != EEXIST)
            return fs_fail (err, errno, volume, "create directory", path);
          fd = beneath (root, prefix, O_PATH | O_DIRECTORY, 0);
        }
      if (fd < 0)
        return fs_fail (err, errno, volume, "create directory", path);
      close (fd);
      prefix[i] = rel[i];
    }
  return 0;
}

int
msb_volume_fs_remove_file (msb_ctx *ctx, const char *volume, const char *path, msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_free_ char *leaf = NULL;
  _msb_cleanup_close_ int dir = open_parent (root, path, &leaf);
  if (dir < 0 || unlinkat (dir, leaf, 0) < 0)
    return fs_fail (err, errno, volume, "remove", path);
  return 0;
}

int
msb_volume_fs_remove_dir (msb_ctx *ctx, const char *volume, const char *path, msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_free_ char *leaf = NULL;
  _msb_cleanup_close_ int dir = open_parent (root, path, &leaf);
  struct stat st;
  if (dir < 0 || fstatat (dir, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return fs_fail (err, errno, volume, "remove directory", path);
  if (!S_ISDIR (st.st_mode))
    return fs_fail (err, ENOTDIR, volume, "remove directory", path);
  msb_error *e = NULL;
  if (msb_rm_rf_at (dir, leaf, &e) < 0)
    {
      int errnum = msb_error_get_errno (e);
      msb_error_free (e);
      return fs_fail (err, errnum ? errnum : EIO, volume, "remove directory", path);
    }
  return 0;
}

int
msb_volume_fs_copy (msb_ctx *ctx, const char *volume, const char *from, const char *to,
                    msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_close_ int src = beneath (root, from, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  struct stat st;
  if (src < 0 || fstat (src, &st) < 0)
    return fs_fail (err, errno, volume, "copy", from);
  if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
    return fs_fail (err, EINVAL, volume, "copy (not a file or directory)", from);
  msb_set_nonblock (src, false);
  _msb_cleanup_free_ char *leaf = NULL;
  _msb_cleanup_close_ int dir = open_parent (root, to, &leaf);
  if (dir < 0)
    return fs_fail (err, errno, volume, "copy to", to);
  struct stat dst = { 0 };
  if (fstatat (dir, leaf, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (dst.st_mode) != S_ISDIR (st.st_mode))
    return fs_fail (err, S_ISDIR (dst.st_mode) ? EISDIR : ENOTDIR, volume, "copy to", to);
  if (S_ISDIR (st.st_mode))
    {
      if (mkdirat (dir, leaf, 0755) == 0)
        (void) !fchownat (dir, leaf, MSB_VOLUME_UID_BASE, MSB_VOLUME_UID_BASE, AT_SYMLINK_NOFOLLOW);
      if (fstatat (dir, leaf, &dst, AT_SYMLINK_NOFOLLOW) < 0)
        return fs_fail (err, errno, volume, "copy to", to);
    }
  msb_tree_copy_opts o = { .skip_dev = dst.st_dev, .skip_ino = dst.st_ino,
                           .owner_uid = (int) MSB_VOLUME_UID_BASE, .owner_gid = (int) MSB_VOLUME_UID_BASE };
  _msb_cleanup_free_ char *failed_at = NULL;
  if (msb_tree_copy (src, dir, leaf, &o, &failed_at) < 0)
    return fs_fail (err, errno, volume, "copy to", to);
  return 0;
}

int
msb_volume_fs_rename (msb_ctx *ctx, const char *volume, const char *from, const char *to,
                      msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_free_ char *sleaf = NULL, *dleaf = NULL;
  _msb_cleanup_close_ int sdir = open_parent (root, from, &sleaf);
  if (sdir < 0)
    return fs_fail (err, errno, volume, "rename", from);
  _msb_cleanup_close_ int ddir = open_parent (root, to, &dleaf);
  if (ddir < 0 || renameat (sdir, sleaf, ddir, dleaf) < 0)
    return fs_fail (err, errno, volume, "rename to", to);
  return 0;
}

int
msb_volume_fs_stat (msb_ctx *ctx, const char *volume, const char *path, msb_fs_metadata *out,
                    msb_error **err)
{
  _msb_cleanup_close_ int root = open_volume (ctx, volume, err);
  if (root < 0)
    return -1;
  _msb_cleanup_close_ int fd = beneath (root, path, O_PATH, 0);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return fs_fail (err, errno, volume, "stat", path);
  msb_fs_entry e;
  entry_from_stat (&e, path, &st);
  memset (out, 0, sizeof *out);
  out->kind = e.kind;
  out->size = e.size;
  out->mode = e.mode;
  out->readonly = (e.mode & 0200) == 0;
  out->modified_ms = e.modified_ms;
  out->accessed_ms = (int64_t) st.st_atim.tv_sec * 1000;
  out->created_ms = -1;
  out->uid = e.uid;
  out->gid = e.gid;
  free (e.path);
  return 0;
}

int
msb_volume_fs_exists (msb_ctx *ctx, const char *volume, const char *path, bool *out,
                      msb_error **err)
{
  msb_fs_metadata md;
  msb_error *e = NULL;
  int r = msb_volume_fs_stat (ctx, volume, path, &md, &e);
  return fs_exists_from_stat (r, e, out, err);
}

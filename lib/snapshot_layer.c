/* Writable layers as sources and destinations of copies (see snapshot_layer.h). Every image
 * is reached through a detached mount (ext4_mount.h): nothing here is ever visible in a mount
 * namespace. The copy into an image is flushed and the image unmounted before the image file
 * is synced, so a published image is complete and clean. */
#include "lib/snapshot_layer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/ext4_image.h"
#include "lib/ext4_mount.h"

#define UPPER_IMAGE "upper.ext4"

void
msb_layer_src_close (msb_layer_src *s)
{
  /* The layer's fd first: the mount goes away with the last fd into it. */
  if (s->dir >= 0)
    close (s->dir);
  if (s->image_root >= 0)
    close (s->image_root);
  s->dir = s->image_root = -1;
}

static int
open_in_image (int image_fd, bool readonly, uint64_t bytes, msb_layer_src *out, msb_error **err)
{
  if (msb_ext4_mount_detached (image_fd, readonly, &out->image_root, err) < 0)
    return -1;
  out->image_bytes = bytes;
  out->dir = openat (out->image_root, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out->dir < 0 && errno != ENOENT)
    {
      int saved = errno;
      msb_layer_src_close (out);
      return msb_fail_errno (err, saved, MSB_ERR_IO, "open upper/ in the layer image");
    }
  return 0;
}

int
msb_layer_open_sandbox (int sandbox_dir, unsigned limit_mib, msb_layer_src *out, msb_error **err)
{
  *out = (msb_layer_src) MSB_LAYER_SRC_INIT;
  struct stat st;
  if (limit_mib && fstatat (sandbox_dir, UPPER_IMAGE, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (!S_ISREG (st.st_mode))
        return msb_fail (err, MSB_ERR_IO, UPPER_IMAGE " of the sandbox is not a file");
      _msb_cleanup_close_ int image
          = openat (sandbox_dir, UPPER_IMAGE, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
      if (image < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "open the sandbox's " UPPER_IMAGE);
      return open_in_image (image, false, (uint64_t) st.st_size, out, err);
    }
  out->dir = openat (sandbox_dir, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (out->dir < 0 && errno != ENOENT)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open the sandbox's upper directory");
  return 0;
}

int
msb_layer_open_image (int dir, const char *name, msb_layer_src *out, msb_error **err)
{
  *out = (msb_layer_src) MSB_LAYER_SRC_INIT;
  _msb_cleanup_close_ int image = openat (dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (image < 0 || fstat (image, &st) < 0)
    return msb_fail_errno (err, errno, errno == ENOENT ? MSB_ERR_SNAPSHOT_NOT_FOUND : MSB_ERR_IO,
                           "open `%s`", name);
  if (!S_ISREG (st.st_mode))
    return msb_fail (err, MSB_ERR_IO, "`%s` is not a file", name);
  return open_in_image (image, true, (uint64_t) st.st_size, out, err);
}

/* The layer's root in `dst` (an empty directory), like src's root or, for an empty layer,
 * the default: 0755, owned by the destination's root. */
static int
fill (int dst, const msb_layer_src *src, msb_layer_copy *c, msb_error **err)
{
  if (src->dir >= 0)
    return msb_layer_copy_tree (src->dir, dst, c, err);
  if (fchown (dst, c->dst_base, c->dst_base) < 0 || fchmod (dst, 0755) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "set up the empty writable layer");
  return 0;
}

int
msb_layer_write_image (int dir, const char *name, uint64_t size_mib, uint64_t inodes,
                       const msb_layer_src *src, msb_layer_copy *c, msb_error **err)
{
  if (msb_ext4_image_create_inodes (dir, name, size_mib, c->dst_base, c->dst_base, inodes, err) < 0)
    return -1;
  _msb_cleanup_close_ int image = openat (dir, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (image < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", name);
  _msb_cleanup_close_ int root = -1;
  if (msb_ext4_mount_detached (image, false, &root, err) < 0)
    return -1;
  /* work/ as the ns backend makes it (upper_disk.c): the host's root owns it. */
  if (mkdirat (root, "upper", 0755) < 0 || mkdirat (root, "work", 0700) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create upper/ and work/ in `%s`", name);
  {
    _msb_cleanup_close_ int upper
        = openat (root, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (upper < 0)
      return msb_fail_errno (err, errno, MSB_ERR_IO, "open upper/ in `%s`", name);
    if (fill (upper, src, c, err) < 0)
      return -1;
  }
  if (msb_ext4_unmount_sync (&root, err) < 0)
    return -1;
  if (fsync (image) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "sync `%s`", name);
  return 0;
}

/* The whole file, holes kept: copy_file_range shares or copies the blocks in the kernel
 * (FICLONE first: a reflink where the filesystem has them). */
static int
copy_sparse_file (int in, int out, off_t size)
{
  if (ioctl (out, FICLONE, in) == 0)
    return 0;
  for (off_t pos = 0; pos < size;)
    {
      off_t data = lseek (in, pos, SEEK_DATA);
      if (data < 0 && errno == ENXIO)
        break;
      if (data < 0)
        return -1;
      off_t hole = lseek (in, data, SEEK_HOLE);
      if (hole < 0 || hole > size)
        hole = size;
      off_t off_in = data, off_out = data;
      while (off_in < hole)
        {
          ssize_t n = copy_file_range (in, &off_in, out, &off_out, (size_t) (hole - off_in), 0);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            return n == 0 ? (errno = EIO, -1) : -1;
        }
      pos = hole;
    }
  return ftruncate (out, size);
}

int
msb_layer_clone_image (int src_dir, const char *src_name, int dir, const char *name,
                       uint64_t size_mib, msb_layer_copy *c, msb_error **err)
{
  _msb_cleanup_close_ int in = openat (src_dir, src_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (in < 0 || fstat (in, &st) < 0)
    return msb_fail_errno (err, errno, errno == ENOENT ? MSB_ERR_SNAPSHOT_NOT_FOUND : MSB_ERR_IO,
                           "open `%s`", src_name);
  if (!S_ISREG (st.st_mode))
    return msb_fail (err, MSB_ERR_IO, "`%s` is not a file", src_name);
  _msb_cleanup_free_ char *tmp = msb_xasprintf (".%s.tmp", name);
  unlinkat (dir, tmp, 0);
  _msb_cleanup_close_ int out
      = openat (dir, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s`", name);
  int r = 0;
  if (copy_sparse_file (in, out, st.st_size) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "copy `%s`", src_name);
  if (r == 0 && (uint64_t) st.st_size < size_mib << 20)
    {
      close (out);
      out = -1;
      r = msb_ext4_image_grow (dir, tmp, size_mib, err);
      out = r == 0 ? openat (dir, tmp, O_RDWR | O_NOFOLLOW | O_CLOEXEC) : -1;
      if (r == 0 && out < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", name);
    }
  _msb_cleanup_close_ int root = -1;
  if (r == 0 && msb_ext4_mount_detached (out, false, &root, err) < 0)
    r = -1;
  if (r == 0)
    {
      /* A layer that never booted has no upper/ yet; work/ is the overlay's scratch space,
       * meaningless without its mount: both start afresh where needed. */
      if (mkdirat (root, "upper", 0755) == 0
          && fchownat (root, "upper", c->src_base, c->src_base, 0) < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_IO, "create upper/ in `%s`", name);
      if (r == 0 && (msb_rm_rf_at (root, "work", err) < 0 || mkdirat (root, "work", 0700) < 0))
        r = msb_fail_errno (err, errno, MSB_ERR_IO, "reset work/ in `%s`", name);
      _msb_cleanup_close_ int upper
          = r < 0 ? -1 : openat (root, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (r == 0 && upper < 0)
        r = msb_fail_errno (err, errno, MSB_ERR_IO, "open upper/ in `%s`", src_name);
      if (r == 0)
        r = msb_layer_rebase_tree (upper, c, err);
    }
  if (r == 0)
    r = msb_ext4_unmount_sync (&root, err);
  if (r == 0 && fsync (out) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "sync `%s`", name);
  if (r == 0 && renameat (dir, tmp, dir, name) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "publish `%s`", name);
  if (r < 0)
    {
      if (root >= 0)
        close (root), root = -1;
      unlinkat (dir, tmp, 0);
    }
  return r;
}

int
msb_layer_write_dir (int dir, const char *name, const msb_layer_src *src, msb_layer_copy *c,
                     msb_error **err)
{
  if (mkdirat (dir, name, 0700) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s`", name);
  _msb_cleanup_close_ int dst = openat (dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", name);
  return fill (dst, src, c, err);
}

/* One tar entry into the layer root. Each handler resolves the entry's parent in-root
 * (inroot.h), then works on the last component with *at() calls that never follow it. */
#include "lib/image/unpack_entry.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/inroot.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define OVERLAY_OPAQUE_XATTR "trusted.overlay.opaque"
/* Files at least this big ask the filesystem for its free space before being written. */
#define STATVFS_THRESHOLD (64u << 10)

static const char *
entry_path (struct archive_entry *e)
{
  const char *p = archive_entry_pathname (e);
  return p ? p : archive_entry_pathname_utf8 (e);
}

static const char *
entry_link (struct archive_entry *e, bool hard)
{
  const char *p = hard ? archive_entry_hardlink (e) : archive_entry_symlink (e);
  if (p)
    return p;
  return hard ? archive_entry_hardlink_utf8 (e) : archive_entry_symlink_utf8 (e);
}

/* uid/gid beyond 32 bits, or (uid_t)-1 which chown reads as "leave unchanged". */
static int
entry_owner (struct archive_entry *e, const char *path, uid_t *uid, gid_t *gid, msb_error **err)
{
  la_int64_t u = archive_entry_uid (e), g = archive_entry_gid (e);
  if (u < 0 || g < 0 || u >= (la_int64_t) UINT32_MAX || g >= (la_int64_t) UINT32_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer entry `%s`: invalid owner %lld:%lld",
                     path, (long long) u, (long long) g);
  *uid = (uid_t) u;
  *gid = (gid_t) g;
  return 0;
}

static struct timespec
entry_mtime (struct archive_entry *e)
{
  struct timespec ts = { 0, 0 };
  if (archive_entry_mtime_is_set (e))
    {
      ts.tv_sec = archive_entry_mtime (e);
      ts.tv_nsec = archive_entry_mtime_nsec (e);
    }
  return ts;
}

/* Tar semantics: a non-directory entry replaces whatever is at its path. */
static int
remove_existing (int pfd, const char *leaf, const char *path, msb_error **err)
{
  if (unlinkat (pfd, leaf, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "replace `%s` in layer", path);
  if (msb_rm_rf_at (pfd, leaf, err) < 0)
    return msb_error_prefix (err, "replace `%s` in layer", path);
  return 0;
}

/* The size checks stop a layer from filling the cache filesystem (a header can claim any
 * size; a sparse entry can claim a huge one with a few bytes of data). */
static int
check_size (layer_unpacker *u, int64_t size, const char *path, msb_error **err)
{
  if (size < 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer entry `%s`: negative size", path);
  if ((uint64_t) size > u->max_unpacked - u->unpacked)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "layer entry `%s` (%lld bytes) exceeds the unpacked layer limit of %llu bytes",
                     path, (long long) size, (unsigned long long) u->max_unpacked);
  if ((uint64_t) size >= STATVFS_THRESHOLD)
    {
      struct statvfs sv;
      if (fstatvfs (u->root_fd, &sv) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "statvfs of the layer cache");
      uint64_t avail = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
      if ((uint64_t) size > avail)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "layer entry `%s` (%lld bytes) is larger than the free space of the "
                         "cache filesystem (%llu bytes)",
                         path, (long long) size, (unsigned long long) avail);
    }
  return 0;
}

static int
pwrite_full (int fd, const void *buf, size_t n, off_t off)
{
  while (n > 0)
    {
      ssize_t w = pwrite (fd, buf, n, off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      buf = (const char *) buf + w;
      n -= (size_t) w;
      off += w;
    }
  return 0;
}

/* Copies the entry's data; every block must lie within the header size, and a non-sparse
 * entry must deliver exactly that many bytes. */
static int
write_file_data (struct archive *a, struct archive_entry *e, int fd, const char *path,
                 msb_error **err)
{
  int64_t size = archive_entry_size (e);
  bool sparse = archive_entry_sparse_count (e) > 0;
  uint64_t total = 0;
  for (;;)
    {
      const void *buf;
      size_t len;
      la_int64_t off;
      int r = archive_read_data_block (a, &buf, &len, &off);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "read data of `%s`: %s", path,
                         archive_error_string (a));
      if (off < 0 || (int64_t) len > size || off > size - (int64_t) len)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "layer entry `%s`: data beyond its declared size", path);
      if (len && pwrite_full (fd, buf, len, off) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s` in layer", path);
      total += len;
    }
  if (!sparse && total != (uint64_t) size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "layer entry `%s`: %llu bytes of data, header says %lld", path,
                     (unsigned long long) total, (long long) size);
  if (sparse && ftruncate (fd, size) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "size `%s` in layer", path);
  return 0;
}

/* chown first: it clears setuid/setgid, which the mode then restores. */
static int
apply_fd_meta (layer_unpacker *u, int fd, uid_t uid, gid_t gid, mode_t mode,
               struct timespec mtime, const char *path, msb_error **err)
{
  if (u->restore_owner && fchown (fd, uid, gid) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown `%s` in layer", path);
  if (fchmod (fd, mode & 07777) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chmod `%s` in layer", path);
  struct timespec ts[2] = { mtime, mtime };
  if (futimens (fd, ts) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "set times of `%s` in layer", path);
  return 0;
}

static int
unpack_regular (layer_unpacker *u, struct archive *a, struct archive_entry *e, const char *rel,
                int pfd, const char *leaf, msb_error **err)
{
  uid_t uid;
  gid_t gid;
  int64_t size = archive_entry_size (e);
  if (entry_owner (e, rel, &uid, &gid, err) < 0 || check_size (u, size, rel, err) < 0
      || remove_existing (pfd, leaf, rel, err) < 0)
    return -1;
  _msb_cleanup_close_ int fd
      = openat (pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s` in layer", rel);
  if (write_file_data (a, e, fd, rel, err) < 0)
    return -1;
  u->unpacked += (uint64_t) size;
  u->res->unpacked_bytes += (uint64_t) size;
  return apply_fd_meta (u, fd, uid, gid, archive_entry_mode (e), entry_mtime (e), rel, err);
}

static void
record_dir_meta (layer_unpacker *u, const char *rel, struct archive_entry *e, uid_t uid,
                 gid_t gid)
{
  if (u->n_dirs == u->cap_dirs)
    {
      u->cap_dirs = u->cap_dirs ? u->cap_dirs * 2 : 64;
      u->dirs = msb_xrealloc (u->dirs, u->cap_dirs * sizeof *u->dirs);
    }
  u->dirs[u->n_dirs++] = (layer_dir_meta){
    .path = msb_xstrdup (rel),
    .mode = archive_entry_mode (e),
    .uid = uid,
    .gid = gid,
    .mtime = entry_mtime (e),
  };
}

static bool
is_whiteout_node (const struct stat *st)
{
  return S_ISCHR (st->st_mode) && st->st_rdev == makedev (0, 0);
}

static int
set_opaque (int dirfd, const char *path, msb_error **err)
{
  if (fsetxattr (dirfd, OVERLAY_OPAQUE_XATTR, "y", 1, 0) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "mark `%s` opaque in layer", path);
  return 0;
}

/* An existing directory is kept (tar semantics). A directory replacing a whiteout from this
 * layer (".wh.x" then "x/") means "x is new": it becomes opaque so the lower x stays hidden. */
static int
unpack_dir (layer_unpacker *u, struct archive_entry *e, const char *rel, int pfd,
            const char *leaf, msb_error **err)
{
  uid_t uid;
  gid_t gid;
  if (entry_owner (e, rel, &uid, &gid, err) < 0)
    return -1;
  bool make_opaque = false;
  struct stat st;
  if (fstatat (pfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode))
    {
      make_opaque = is_whiteout_node (&st);
      if (remove_existing (pfd, leaf, rel, err) < 0)
        return -1;
    }
  if (mkdirat (pfd, leaf, 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create directory `%s` in layer", rel);
  if (make_opaque)
    {
      _msb_cleanup_close_ int dfd
          = openat (pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "open directory `%s` in layer", rel);
      if (set_opaque (dfd, rel, err) < 0)
        return -1;
    }
  record_dir_meta (u, rel, e, uid, gid);
  return 0;
}

static int
apply_path_meta (layer_unpacker *u, struct archive_entry *e, int pfd, const char *leaf,
                 const char *rel, bool chmod_too, msb_error **err)
{
  uid_t uid;
  gid_t gid;
  if (entry_owner (e, rel, &uid, &gid, err) < 0)
    return -1;
  if (u->restore_owner && fchownat (pfd, leaf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown `%s` in layer", rel);
  if (chmod_too && fchmodat (pfd, leaf, archive_entry_mode (e) & 07777, 0) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chmod `%s` in layer", rel);
  struct timespec mt = entry_mtime (e);
  struct timespec ts[2] = { mt, mt };
  if (utimensat (pfd, leaf, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "set times of `%s` in layer", rel);
  return 0;
}

/* The target text is stored verbatim and never followed here; later entries that pass
 * through this link are resolved with RESOLVE_IN_ROOT, so "evil -> /etc" then
 * "evil/passwd" lands in <root>/etc/passwd. */
static int
unpack_symlink (layer_unpacker *u, struct archive_entry *e, const char *rel, int pfd,
                const char *leaf, msb_error **err)
{
  const char *target = entry_link (e, false);
  if (target == NULL || *target == '\0')
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer symlink `%s` has no target", rel);
  if (strlen (target) >= PATH_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "layer symlink `%s`: target longer than PATH_MAX", rel);
  if (remove_existing (pfd, leaf, rel, err) < 0)
    return -1;
  if (symlinkat (target, pfd, leaf) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create symlink `%s` in layer", rel);
  return apply_path_meta (u, e, pfd, leaf, rel, false, err);
}

static int
link_fd_at (int fd, int pfd, const char *leaf)
{
  if (linkat (fd, "", pfd, leaf, AT_EMPTY_PATH) == 0)
    return 0;
  if (errno != EPERM && errno != ENOENT)
    return -1;
  /* Without CAP_DAC_READ_SEARCH (older kernels) AT_EMPTY_PATH is refused; our own fd's
   * /proc link names the same inode. */
  char proc[64];
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  return linkat (AT_FDCWD, proc, pfd, leaf, AT_SYMLINK_FOLLOW);
}

/* A hardlink may only point at something this layer already wrote: the target is resolved
 * in-root without following its last component, so "/etc/shadow" means <root>/etc/shadow
 * and a missing target rejects the layer instead of linking a host file. */
static int
unpack_hardlink (layer_unpacker *u, struct archive_entry *e, const char *rel, int pfd,
                 const char *leaf, msb_error **err)
{
  const char *raw = entry_link (e, true);
  _msb_cleanup_free_ char *target = NULL;
  if (raw == NULL || msb_inroot_normalize (raw, &target, err) < 0)
    return msb_error_prefix (err, "layer hardlink `%s`", rel);
  if (*target == '\0')
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer hardlink `%s` points at the root",
                     rel);
  _msb_cleanup_close_ int tfd = msb_inroot_open (u->root_fd, target, O_PATH | O_NOFOLLOW, 0);
  if (tfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IMAGE_PULL_FAILED,
                           "layer hardlink `%s`: target `%s` is not in the layer", rel, raw);
  struct stat st, cur;
  if (fstat (tfd, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "stat hardlink target `%s`", raw);
  if (S_ISDIR (st.st_mode))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "layer hardlink `%s`: target `%s` is a directory", rel, raw);
  if (fstatat (pfd, leaf, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_dev == st.st_dev
      && cur.st_ino == st.st_ino)
    return 0;
  if (remove_existing (pfd, leaf, rel, err) < 0)
    return -1;
  if (link_fd_at (tfd, pfd, leaf) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create hardlink `%s` in layer", rel);
  return 0;
}

static int
unpack_fifo (layer_unpacker *u, struct archive_entry *e, const char *rel, int pfd,
             const char *leaf, msb_error **err)
{
  if (remove_existing (pfd, leaf, rel, err) < 0)
    return -1;
  if (mknodat (pfd, leaf, S_IFIFO | 0600, 0) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create fifo `%s` in layer", rel);
  return apply_path_meta (u, e, pfd, leaf, rel, true, err);
}

/* OCI layer.md whiteouts, kept in overlayfs' own format so the layer can be a lower dir
 * as is: ".wh..wh..opq" marks the parent opaque, ".wh.<name>" becomes a char 0/0 node.
 * A whiteout only hides lower layers: an entry this layer already wrote at <name> stays
 * (a directory is made opaque instead, so "x/" + ".wh.x" still replaces the lower x). */
static int
unpack_whiteout (layer_unpacker *u, const char *rel, int pfd, const char *leaf, msb_error **err)
{
  if (strcmp (leaf, WHITEOUT_OPAQUE) == 0)
    return set_opaque (pfd, rel, err);
  if (strncmp (leaf, WHITEOUT_META_PREFIX, strlen (WHITEOUT_META_PREFIX)) == 0)
    {
      u->res->others_skipped++; /* aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs) */
      return 0;
    }
  const char *name = leaf + strlen (WHITEOUT_PREFIX);
  if (*name == '\0' || strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer whiteout `%s` names nothing", rel);
  struct stat st;
  if (fstatat (pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (!S_ISDIR (st.st_mode))
        return 0;
      _msb_cleanup_close_ int dfd
          = openat (pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (dfd < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s` in layer", rel);
      return set_opaque (dfd, rel, err);
    }
  if (mknodat (pfd, name, S_IFCHR | 0000, makedev (0, 0)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create whiteout for `%s` in layer", rel);
  return 0;
}

static bool
is_whiteout_name (const char *leaf)
{
  return strncmp (leaf, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0;
}

static int
unpack_at (layer_unpacker *u, struct archive *a, struct archive_entry *e, const char *rel,
           msb_error **err)
{
  mode_t type = archive_entry_filetype (e);
  bool is_hardlink = archive_entry_hardlink (e) || archive_entry_hardlink_utf8 (e);
  if (*rel == '\0')
    {
      uid_t uid;
      gid_t gid;
      if (type != AE_IFDIR || is_hardlink)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer entry replaces the layer root");
      if (entry_owner (e, "/", &uid, &gid, err) < 0)
        return -1;
      record_dir_meta (u, rel, e, uid, gid);
      return 0;
    }
  if (!is_hardlink && (type == AE_IFCHR || type == AE_IFBLK))
    {
      /* Device nodes from a layer would give the sandbox raw access to host devices. */
      u->res->devices_skipped++;
      return 0;
    }
  const char *leaf;
  _msb_cleanup_close_ int pfd = -1;
  if (msb_inroot_open_parent (u->root_fd, rel, &leaf, &pfd, err) < 0)
    return -1;
  if (is_whiteout_name (leaf))
    return unpack_whiteout (u, rel, pfd, leaf, err);
  if (is_hardlink)
    return unpack_hardlink (u, e, rel, pfd, leaf, err);
  switch (type)
    {
    case AE_IFREG:
      return unpack_regular (u, a, e, rel, pfd, leaf, err);
    case AE_IFDIR:
      return unpack_dir (u, e, rel, pfd, leaf, err);
    case AE_IFLNK:
      return unpack_symlink (u, e, rel, pfd, leaf, err);
    case AE_IFIFO:
      return unpack_fifo (u, e, rel, pfd, leaf, err);
    default:
      u->res->others_skipped++;
      return 0;
    }
}

int
layer_unpack_entry (layer_unpacker *u, struct archive *a, struct archive_entry *e,
                    msb_error **err)
{
  const char *raw = entry_path (e);
  if (raw == NULL)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer entry without a path");
  _msb_cleanup_free_ char *rel = NULL;
  if (msb_inroot_normalize (raw, &rel, err) < 0)
    return -1;
  if (unpack_at (u, a, e, rel, err) < 0)
    return msb_error_prefix (err, "unpack `%s`", raw);
  return 0;
}

int
layer_apply_dir_meta (layer_unpacker *u, msb_error **err)
{
  for (size_t i = 0; i < u->n_dirs; i++)
    {
      layer_dir_meta *d = &u->dirs[i];
      _msb_cleanup_close_ int fd
          = msb_inroot_open (u->root_fd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
      if (fd < 0)
        {
          /* Replaced by a later non-directory entry (or a symlink): nothing to apply. */
          if (errno == ENOTDIR || errno == ELOOP || errno == ENOENT)
            continue;
          return msb_fail_errno (err, errno, MSB_ERR_IO, "open directory `%s` in layer", d->path);
        }
      if (apply_fd_meta (u, fd, d->uid, d->gid, d->mode, d->mtime, *d->path ? d->path : "/",
                         err)
          < 0)
        return -1;
    }
  return 0;
}

void
layer_unpacker_clear (layer_unpacker *u)
{
  for (size_t i = 0; i < u->n_dirs; i++)
    free (u->dirs[i].path);
  free (u->dirs);
  u->dirs = NULL;
  u->n_dirs = u->cap_dirs = 0;
}

/* Copying a writable layer (see snapshot_tree.h).
 *
 * Metadata order matters: chown clears set-id bits and file capabilities, so the mode is set
 * after the owner and the xattrs after both; a directory's times are set after its children
 * are made (making them changes its mtime). Extended attributes are read and written through
 * /proc/self/fd/<dir>/<name> with the l*xattr calls, which never follow the last component,
 * so whiteouts, sockets and symlinks carry theirs too. */
#include "lib/snapshot_tree.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MAX_DEPTH 2048
#define COPY_CHUNK (1u << 20)
#define NOBODY 65534u

/* Files with several links: the first copy's path (relative to the destination root). */
typedef struct link_seen
{
  dev_t dev;
  ino_t ino;
  char *rel;
} link_seen;

typedef struct copier
{
  msb_layer_copy *c;
  int dst_root;
  link_seen *links;
  size_t n_links;
  /* copy_file_range refuses files on two filesystems (a layer image and the host's): then
   * sendfile, still in the kernel; read/write only when that fails too. */
  bool no_copy_range;
  bool no_sendfile;
  char *buf;
} copier;

static bool
in_range (uint32_t id, uint32_t base)
{
  return id >= base && id - base < MSB_LAYER_ID_RANGE;
}

/* An id of the source range moves to the destination range; one already there stays (a hard
 * link seen twice by the in-place rebase); anything else is nobody. */
static uint32_t
rebase (const copier *k, uint32_t id)
{
  if (in_range (id, k->c->src_base))
    return k->c->dst_base + (id - k->c->src_base);
  if (in_range (id, k->c->dst_base))
    return id;
  return k->c->dst_base + NOBODY;
}

/* ---- extended attributes ---- */

static char *
proc_path (int dirfd, const char *name)
{
  return name ? msb_xasprintf ("/proc/self/fd/%d/%s", dirfd, name)
              : msb_xasprintf ("/proc/self/fd/%d", dirfd);
}

/* A file capability names the host uid of its user namespace's root (v3) or none (v2 = the
 * initial namespace's root, as read by host root). Rebased into the destination's range; a
 * root outside the source range is not ours to carry over: *len = 0 drops it. */
static void
rebase_capability (const copier *k, uint8_t *v, ssize_t *len)
{
  struct vfs_ns_cap_data cap;
  memset (&cap, 0, sizeof cap);
  if (*len != XATTR_CAPS_SZ_2 && *len != XATTR_CAPS_SZ_3)
    {
      *len = 0;
      return;
    }
  memcpy (&cap, v, (size_t) *len);
  uint32_t magic = le32toh (cap.magic_etc);
  uint32_t root = (magic & VFS_CAP_REVISION_MASK) == VFS_CAP_REVISION_3 ? le32toh (cap.rootid) : 0;
  if (!in_range (root, k->c->src_base) && !in_range (root, k->c->dst_base))
    {
      *len = 0;
      return;
    }
  uint32_t new_root = rebase (k, root);
  uint32_t flags = magic & ~VFS_CAP_REVISION_MASK;
  if (new_root == 0)
    {
      cap.magic_etc = htole32 (VFS_CAP_REVISION_2 | flags);
      *len = XATTR_CAPS_SZ_2;
    }
  else
    {
      cap.magic_etc = htole32 (VFS_CAP_REVISION_3 | flags);
      cap.rootid = htole32 (new_root);
      *len = XATTR_CAPS_SZ_3;
    }
  memcpy (v, &cap, (size_t) *len);
}

/* POSIX ACL xattr: a 4-byte version, then {u16 tag, u16 perm, u32 id} entries; the named
 * user (2) and group (8) entries carry ids. */
static void
rebase_acl (const copier *k, uint8_t *v, ssize_t len)
{
  for (ssize_t off = 4; off + 8 <= len; off += 8)
    {
      uint16_t tag;
      uint32_t id;
      memcpy (&tag, v + off, 2);
      tag = le16toh (tag);
      if (tag != 0x02 && tag != 0x08)
        continue;
      memcpy (&id, v + off + 4, 4);
      id = htole32 (rebase (k, le32toh (id)));
      memcpy (v + off + 4, &id, 4);
    }
}

/* Attributes a layer cannot do without: the overlay's markers, and what rebasing rewrites.
 * Others (an LSM label the destination does not support, say) are copied when possible. */
static bool
xattr_is_required (const char *name)
{
  return strncmp (name, "user.", 5) == 0 || strncmp (name, "trusted.", 8) == 0
         || strcmp (name, "security.capability") == 0;
}

static int
copy_xattrs (copier *k, const char *src, const char *dst, bool follow, msb_error **err)
{
  ssize_t (*list) (const char *, char *, size_t) = follow ? listxattr : llistxattr;
  ssize_t (*get) (const char *, const char *, void *, size_t) = follow ? getxattr : lgetxattr;
  int (*set) (const char *, const char *, const void *, size_t, int)
      = follow ? setxattr : lsetxattr;
  ssize_t n = list (src, NULL, 0);
  if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
    return 0;
  if (n <= 0)
    return n < 0 ? msb_fail_errno (err, errno, MSB_ERR_IO, "list xattrs") : 0;
  _msb_cleanup_free_ char *names = msb_xmalloc ((size_t) n);
  n = list (src, names, (size_t) n);
  if (n < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "list xattrs");
  for (char *name = names; name < names + n; name += strlen (name) + 1)
    {
      ssize_t len = get (src, name, NULL, 0);
      if (len < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "read xattr `%s`", name);
      _msb_cleanup_free_ uint8_t *v = msb_xmalloc ((size_t) len + 1);
      len = get (src, name, v, (size_t) len);
      if (len < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "read xattr `%s`", name);
      if (strcmp (name, "security.capability") == 0)
        rebase_capability (k, v, &len);
      else if (strcmp (name, "system.posix_acl_access") == 0
               || strcmp (name, "system.posix_acl_default") == 0)
        rebase_acl (k, v, len);
      if (len == 0 && strcmp (name, "security.capability") == 0)
        continue;
      if (set (dst, name, v, (size_t) len, 0) < 0 && xattr_is_required (name))
        return msb_fail_errno (err, errno, MSB_ERR_IO, "write xattr `%s`", name);
    }
  return 0;
}

/* ---- metadata ---- */

/* Owner, mode, xattrs, times of entry `name` of `ddir` (name NULL: ddir itself) from `st`
 * and the source entry `sname` of `sdir`. */
static int
apply_meta (copier *k, int sdir, const char *sname, int ddir, const char *dname,
            const struct stat *st, msb_error **err)
{
  int at = dname ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
  const char *dn = dname ? dname : "";
  if (fchownat (ddir, dn, rebase (k, st->st_uid), rebase (k, st->st_gid), at) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown");
  if (!S_ISLNK (st->st_mode))
    {
      int r = dname ? fchmodat (ddir, dname, st->st_mode & 07777, 0)
                    : fchmod (ddir, st->st_mode & 07777);
      if (r < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "chmod");
    }
  _msb_cleanup_free_ char *sp = proc_path (sdir, sname);
  _msb_cleanup_free_ char *dp = proc_path (ddir, dname);
  if (copy_xattrs (k, sp, dp, dname == NULL, err) < 0)
    return -1;
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  int r = dname ? utimensat (ddir, dname, times, AT_SYMLINK_NOFOLLOW) : futimens (ddir, times);
  if (r < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "set times");
  return 0;
}

/* ---- data ---- */

static int
copy_range (copier *k, int in, int out, off_t from, off_t to)
{
  off_t off_in = from, off_out = from;
  while (!k->no_copy_range && off_in < to)
    {
      ssize_t n = copy_file_range (in, &off_in, out, &off_out, (size_t) (to - off_in), 0);
      if (n > 0)
        continue;
      if (n == 0)
        return off_in < to ? (errno = EIO, -1) : 0;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
        return -1;
      k->no_copy_range = true;
    }
  while (!k->no_sendfile && off_in < to)
    {
      if (lseek (out, off_in, SEEK_SET) < 0)
        return -1;
      ssize_t n = sendfile (out, in, &off_in, (size_t) (to - off_in));
      if (n > 0)
        continue;
      if (n == 0)
        return off_in < to ? (errno = EIO, -1) : 0;
      if (errno == EINTR)
        continue;
      if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
      k->no_sendfile = true;
    }
  while (off_in < to)
    {
      size_t want = (size_t) (to - off_in) < COPY_CHUNK ? (size_t) (to - off_in) : COPY_CHUNK;
      ssize_t n = pread (in, k->buf, want, off_in);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return n == 0 ? (errno = EIO, -1) : -1;
      for (ssize_t done = 0; done < n;)
        {
          ssize_t w = pwrite (out, k->buf + done, (size_t) (n - done), off_in + done);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return -1;
          done += w;
        }
      off_in += n;
    }
  return 0;
}

/* Copies the data of `in` into `out` leaving holes where `in` has them. */
static int
copy_data (copier *k, int in, int out, off_t size)
{
  off_t pos = 0;
  while (pos < size)
    {
      off_t data = lseek (in, pos, SEEK_DATA);
      if (data < 0 && errno == ENXIO)
        break; /* only a hole is left */
      if (data < 0)
        data = pos; /* no SEEK_DATA here: copy everything */
      off_t hole = lseek (in, data, SEEK_HOLE);
      if (hole < 0 || hole > size)
        hole = size;
      if (copy_range (k, in, out, data, hole) < 0)
        return -1;
      k->c->bytes += (uint64_t) (hole - data);
      pos = hole;
    }
  return ftruncate (out, size);
}

static int
copy_file (copier *k, int sdir, int ddir, const char *name, const struct stat *st, msb_error **err)
{
  _msb_cleanup_close_ int in = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (in < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open");
  _msb_cleanup_close_ int out
      = openat (ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create");
  if (copy_data (k, in, out, st->st_size) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "copy data");
  return 0;
}

/* ---- the walk ---- */

static const link_seen *
find_link (const copier *k, const struct stat *st)
{
  for (size_t i = 0; i < k->n_links; i++)
    if (k->links[i].dev == st->st_dev && k->links[i].ino == st->st_ino)
      return &k->links[i];
  return NULL;
}

/* A directory of the walk, for readdir on a descriptor of its own (the caller keeps `dir`),
 * unless the tree is deeper than MAX_DEPTH. */
static DIR *
open_level (int dir, int depth, msb_error **err)
{
  if (depth > MAX_DEPTH)
    {
      msb_fail (err, MSB_ERR_IO, "directories nested deeper than %d levels", MAX_DEPTH);
      return NULL;
    }
  int fd = openat (dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      msb_fail_errno (err, errno, MSB_ERR_IO, "open directory");
      return NULL;
    }
  DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      int saved = errno;
      close (fd);
      msb_fail_errno (err, saved, MSB_ERR_IO, "read directory");
    }
  return d;
}

static int copy_dir (copier *k, int sdir, int ddir, char *rel, int depth, msb_error **err);

/* Makes entry `name` of ddir like entry `name` of sdir (a directory: recursively). `rel` is
 * its path relative to the destination root. */
static int
copy_entry (copier *k, int sdir, int ddir, const char *name, char *rel, int depth, msb_error **err)
{
  struct stat st;
  if (fstatat (sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "stat");
  switch (st.st_mode & S_IFMT)
    {
    case S_IFDIR:
      {
        if (mkdirat (ddir, name, 0700) < 0)
          return msb_fail_errno (err, errno, MSB_ERR_IO, "create directory");
        _msb_cleanup_close_ int s
            = openat (sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _msb_cleanup_close_ int d
            = openat (ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (s < 0 || d < 0)
          return msb_fail_errno (err, errno, MSB_ERR_IO, "open directory");
        if (copy_dir (k, s, d, rel, depth + 1, err) < 0)
          return -1;
        break;
      }
    case S_IFREG:
      {
        const link_seen *seen = st.st_nlink > 1 ? find_link (k, &st) : NULL;
        if (seen)
          {
            if (linkat (k->dst_root, seen->rel, ddir, name, 0) < 0)
              return msb_fail_errno (err, errno, MSB_ERR_IO, "link to `%s`", seen->rel);
            return 0; /* the inode has its metadata already */
          }
        if (copy_file (k, sdir, ddir, name, &st, err) < 0)
          return -1;
        if (st.st_nlink > 1)
          {
            k->links = msb_xrealloc (k->links, (k->n_links + 1) * sizeof *k->links);
            k->links[k->n_links++] = (link_seen){ st.st_dev, st.st_ino, msb_xstrdup (rel) };
          }
        break;
      }
    case S_IFLNK:
      {
        if (st.st_size <= 0 || st.st_size >= 4096)
          return msb_fail (err, MSB_ERR_IO, "symlink target of %lld bytes", (long long) st.st_size);
        char target[4096];
        ssize_t n = readlinkat (sdir, name, target, sizeof target - 1);
        if (n < 0)
          return msb_fail_errno (err, errno, MSB_ERR_IO, "read symlink");
        target[n] = '\0';
        if (symlinkat (target, ddir, name) < 0)
          return msb_fail_errno (err, errno, MSB_ERR_IO, "create symlink");
        break;
      }
    case S_IFCHR:
    case S_IFBLK:
      /* Only overlayfs whiteouts (character device 0/0) belong in a layer: a real device
       * node could open host hardware from a sandbox. */
      if (!S_ISCHR (st.st_mode) || major (st.st_rdev) != 0 || minor (st.st_rdev) != 0)
        return msb_fail (err, MSB_ERR_IO,
                         "refusing device node %u:%u (only whiteouts belong in a layer)",
                         major (st.st_rdev), minor (st.st_rdev));
      /* fall through */
    case S_IFIFO:
    case S_IFSOCK:
      if (mknodat (ddir, name, (st.st_mode & S_IFMT) | 0600,
                   S_ISCHR (st.st_mode) ? makedev (0, 0) : 0)
          < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "create special file");
      break;
    default:
      return msb_fail (err, MSB_ERR_IO, "unknown file type 0%o", st.st_mode & S_IFMT);
    }
  k->c->entries++;
  return apply_meta (k, sdir, name, ddir, name, &st, err);
}

static int
copy_dir (copier *k, int sdir, int ddir, char *rel, int depth, msb_error **err)
{
  _msb_cleanup_dir_ DIR *d = open_level (sdir, depth, err);
  if (d == NULL)
    return -1;
  size_t base = strlen (rel);
  struct dirent *de;
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (base + 1 + strlen (de->d_name) >= 4096)
        return msb_fail (err, MSB_ERR_IO, "path `%s/%s` is too long", rel, de->d_name);
      sprintf (rel + base, "%s%s", base ? "/" : "", de->d_name);
      if (copy_entry (k, sdir, ddir, de->d_name, rel, depth, err) < 0)
        return msb_error_prefix (err, "`%s`", rel);
      rel[base] = '\0';
      errno = 0;
    }
  if (errno)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "read directory `%s`", base ? rel : ".");
  return 0;
}

int
msb_layer_copy_tree (int src_dir, int dst_dir, msb_layer_copy *c, msb_error **err)
{
  copier k = { .c = c, .dst_root = dst_dir, .buf = msb_xmalloc (COPY_CHUNK) };
  char rel[4096] = "";
  struct stat st;
  int r = fstat (src_dir, &st) < 0 ? msb_fail_errno (err, errno, MSB_ERR_IO, "stat the layer root")
                                   : copy_dir (&k, src_dir, dst_dir, rel, 0, err);
  if (r == 0)
    r = apply_meta (&k, src_dir, NULL, dst_dir, NULL, &st, err);
  for (size_t i = 0; i < k.n_links; i++)
    free (k.links[i].rel);
  free (k.links);
  free (k.buf);
  return r < 0 ? msb_error_prefix (err, "copy the writable layer") : 0;
}

/* ---- rebase in place ---- */

/* Owners of one entry (name NULL: the directory `dir` itself): chown clears set-id bits and
 * file capabilities, so the mode is put back and the capability rewritten afterwards. */
static int
rebase_entry (copier *k, int dir, const char *name, const struct stat *st, msb_error **err)
{
  uint32_t uid = rebase (k, st->st_uid), gid = rebase (k, st->st_gid);
  _msb_cleanup_free_ char *p = proc_path (dir, name);
  bool follow = name == NULL;
  uint8_t cap[XATTR_CAPS_SZ_3];
  ssize_t cap_len
      = S_ISREG (st->st_mode)
            ? (follow ? getxattr : lgetxattr) (p, "security.capability", cap, sizeof cap)
            : -1;
  if (uid == st->st_uid && gid == st->st_gid && cap_len < 0)
    return 0;
  int at = name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
  if (fchownat (dir, name ? name : "", uid, gid, at) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown");
  if (!S_ISLNK (st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID))
      && (name ? fchmodat (dir, name, st->st_mode & 07777, 0) : fchmod (dir, st->st_mode & 07777))
             < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chmod");
  if (cap_len > 0)
    {
      rebase_capability (k, cap, &cap_len);
      if (cap_len > 0
          && (follow ? setxattr : lsetxattr) (p, "security.capability", cap, (size_t) cap_len, 0)
                 < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "write xattr `security.capability`");
    }
  static const char *const acls[] = { "system.posix_acl_access", "system.posix_acl_default" };
  for (size_t i = 0; i < 2 && !S_ISLNK (st->st_mode); i++)
    {
      uint8_t acl[4096];
      ssize_t n = (follow ? getxattr : lgetxattr) (p, acls[i], acl, sizeof acl);
      if (n <= 0)
        continue;
      rebase_acl (k, acl, n);
      if ((follow ? setxattr : lsetxattr) (p, acls[i], acl, (size_t) n, 0) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "write xattr `%s`", acls[i]);
    }
  return 0;
}

static int
rebase_dir (copier *k, int dir, char *rel, int depth, msb_error **err)
{
  _msb_cleanup_dir_ DIR *d = open_level (dir, depth, err);
  if (d == NULL)
    return -1;
  size_t base = strlen (rel);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (base + 1 + strlen (de->d_name) >= 4096)
        return msb_fail (err, MSB_ERR_IO, "path `%s/%s` is too long", rel, de->d_name);
      sprintf (rel + base, "%s%s", base ? "/" : "", de->d_name);
      struct stat st;
      if (fstatat (dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "stat `%s`", rel);
      if ((S_ISCHR (st.st_mode) && (major (st.st_rdev) || minor (st.st_rdev)))
          || S_ISBLK (st.st_mode))
        return msb_fail (err, MSB_ERR_IO,
                         "`%s`: refusing device node %u:%u (only whiteouts belong in a layer)", rel,
                         major (st.st_rdev), minor (st.st_rdev));
      if (S_ISDIR (st.st_mode))
        {
          _msb_cleanup_close_ int sub
              = openat (dir, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", rel);
          if (rebase_dir (k, sub, rel, depth + 1, err) < 0)
            return -1;
        }
      if (rebase_entry (k, dir, de->d_name, &st, err) < 0)
        return msb_error_prefix (err, "`%s`", rel);
      k->c->entries++;
      rel[base] = '\0';
    }
  return 0;
}

int
msb_layer_rebase_tree (int dir, msb_layer_copy *c, msb_error **err)
{
  copier k = { .c = c, .dst_root = dir };
  char rel[4096] = "";
  struct stat st;
  int r = fstat (dir, &st) < 0 ? msb_fail_errno (err, errno, MSB_ERR_IO, "stat the layer root")
                               : rebase_dir (&k, dir, rel, 0, err);
  if (r == 0)
    r = rebase_entry (&k, dir, NULL, &st, err);
  return r < 0 ? msb_error_prefix (err, "rebase the owners of the writable layer") : 0;
}

/* ---- usage ---- */

static int
usage_dir (int dir, uint64_t *bytes, uint64_t *inodes, int depth, msb_error **err)
{
  _msb_cleanup_dir_ DIR *d = open_level (dir, depth, err);
  if (d == NULL)
    return -1;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      *bytes += (uint64_t) st.st_blocks * 512;
      *inodes += 1;
      if (S_ISDIR (st.st_mode))
        {
          _msb_cleanup_close_ int sub
              = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0 && usage_dir (sub, bytes, inodes, depth + 1, err) < 0)
            return -1;
        }
    }
  return 0;
}

int
msb_layer_usage (int dir, uint64_t *bytes, uint64_t *inodes, msb_error **err)
{
  *bytes = *inodes = 0;
  return usage_dir (dir, bytes, inodes, 0, err);
}

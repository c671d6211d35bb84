/* Recursive copy with dirfds (see tree_copy.h): used by the agent's Copy worker and by the
 * host-side volume files. The walk holds a dirfd per level and opens every entry relative to
 * it with O_NOFOLLOW: symlinks are copied as symlinks (their target text, unresolved), other
 * special files are skipped, and an entry swapped for a symlink between the listing and the
 * open fails to open instead of being followed.
 *
 * Must never: resolve a path string, or follow a symlink found inside the tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tree_copy.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Nesting beyond this is refused rather than risking the stack and the fd table. */
#define TREE_DEPTH_MAX 256

static int
fail_at (char **failed_at, const char *name)
{
  int saved = errno;
  if (*failed_at == NULL)
    *failed_at = msb_xstrdup (name);
  errno = saved;
  return -1;
}

static int
copy_bytes (int in, int out)
{
  for (;;)
    {
      ssize_t n = copy_file_range (in, NULL, out, NULL, 1u << 30, 0);
      if (n == 0)
        return 0;
      if (n > 0)
        continue;
      if (errno == EINTR)
        continue;
      if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
      break; /* no in-kernel copy between these files: plain read/write from here */
    }
  /* Per call, not static: libmsb copies volume files from several threads at once. */
  _msb_cleanup_free_ uint8_t *buf = msb_xmalloc (256 * 1024);
  for (;;)
    {
      ssize_t n = read (in, buf, 256 * 1024);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      if (msb_write_full (out, buf, (size_t) n) < 0)
        return -1;
    }
}

static void
set_owner (const msb_tree_copy_opts *o, int fd)
{
  if (o->owner_uid >= 0)
    (void) !fchown (fd, (uid_t) o->owner_uid, (gid_t) o->owner_gid);
}

static void
set_link_owner (const msb_tree_copy_opts *o, int dirfd, const char *name)
{
  if (o->owner_uid >= 0)
    (void) !fchownat (dirfd, name, (uid_t) o->owner_uid, (gid_t) o->owner_gid, AT_SYMLINK_NOFOLLOW);
}

static int
copy_file (const msb_tree_copy_opts *o, int sfd, const struct stat *st, int ddir,
           const char *dname, char **failed_at)
{
  /* O_NOFOLLOW: an existing symlink at the destination is an error, not a redirection. */
  _msb_cleanup_close_ int out
      = openat (ddir, dname, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                st->st_mode & 0777);
  if (out < 0 || copy_bytes (sfd, out) < 0 || fchmod (out, st->st_mode & 0777) < 0)
    return fail_at (failed_at, dname);
  set_owner (o, out);
  return 0;
}

static int copy_dir (const msb_tree_copy_opts *o, int sfd, int ddir, const char *dname,
                     int depth, char **failed_at);

static int
copy_entry (const msb_tree_copy_opts *o, int sdir, const char *name, int ddir, int depth,
            char **failed_at)
{
  struct stat st;
  if (fstatat (sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : fail_at (failed_at, name); /* removed meanwhile */
  if (S_ISLNK (st.st_mode))
    {
      char target[PATH_MAX + 1];
      ssize_t n = readlinkat (sdir, name, target, sizeof target - 1);
      if (n < 0)
        return fail_at (failed_at, name);
      target[n] = '\0';
      struct stat old;
      if (fstatat (ddir, name, &old, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (old.st_mode))
        unlinkat (ddir, name, 0);
      if (symlinkat (target, ddir, name) < 0)
        return fail_at (failed_at, name);
      set_link_owner (o, ddir, name);
      return 0;
    }
  if (S_ISDIR (st.st_mode))
    {
      if (st.st_dev == o->skip_dev && st.st_ino == o->skip_ino)
        return 0; /* the copy being made */
      _msb_cleanup_close_ int fd
          = openat (sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return fail_at (failed_at, name);
      return copy_dir (o, fd, ddir, name, depth + 1, failed_at);
    }
  if (!S_ISREG (st.st_mode))
    return 0; /* devices, FIFOs, sockets: not copied */
  _msb_cleanup_close_ int fd
      = openat (sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat now;
  if (fd < 0 || fstat (fd, &now) < 0)
    return fail_at (failed_at, name);
  if (!S_ISREG (now.st_mode))
    return 0; /* swapped for something else since the listing */
  msb_set_nonblock (fd, false);
  return copy_file (o, fd, &now, ddir, name, failed_at);
}

static int
copy_dir (const msb_tree_copy_opts *o, int sfd, int ddir, const char *dname, int depth,
          char **failed_at)
{
  if (depth > TREE_DEPTH_MAX)
    {
      errno = ELOOP;
      return fail_at (failed_at, dname);
    }
  struct stat st;
  if (fstat (sfd, &st) < 0)
    return fail_at (failed_at, dname);
  bool is_new = mkdirat (ddir, dname, 0700) == 0;
  if (!is_new && errno != EEXIST)
    return fail_at (failed_at, dname);
  _msb_cleanup_close_ int dfd = openat (ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return fail_at (failed_at, dname);
  int dup_fd = fcntl (sfd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0)
    return fail_at (failed_at, dname);
  _msb_cleanup_dir_ DIR *d = fdopendir (dup_fd);
  if (d == NULL)
    {
      close (dup_fd);
      return fail_at (failed_at, dname);
    }
  int r = 0;
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (d);
      if (de == NULL)
        {
          if (errno)
            r = fail_at (failed_at, dname);
          break;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (copy_entry (o, sfd, de->d_name, dfd, depth, failed_at) < 0)
        {
          r = -1;
          break;
        }
    }
  if (r == 0 && fchmod (dfd, st.st_mode & 07777) < 0)
    r = fail_at (failed_at, dname);
  if (r == 0 && is_new)
    set_owner (o, dfd);
  return r;
}

int
msb_tree_copy (int sfd, int ddir, const char *dname, const msb_tree_copy_opts *opts,
               char **failed_at)
{
  msb_tree_copy_opts none = { .owner_uid = -1, .owner_gid = -1 };
  const msb_tree_copy_opts *o = opts ? opts : &none;
  struct stat st;
  if (fstat (sfd, &st) < 0)
    return fail_at (failed_at, dname);
  if (S_ISDIR (st.st_mode))
    return copy_dir (o, sfd, ddir, dname, 0, failed_at);
  if (!S_ISREG (st.st_mode))
    {
      errno = EINVAL;
      return fail_at (failed_at, dname);
    }
  return copy_file (o, sfd, &st, ddir, dname, failed_at);
}

/* Path resolution of the fs server: the only code that turns a host-supplied path into an
 * fd. Everything goes through openat2() from the root fd with RESOLVE_IN_ROOT, so ".." and
 * absolute symlinks (an image's /data -> /etc, a sandbox's link to /etc/shadow) resolve
 * inside the sandbox root, and RESOLVE_NO_MAGICLINKS, so /proc/<pid>/root or /proc/self/fd
 * links cannot jump to another root. Operations on a final component (unlink, rename,
 * symlink, readlink) open its parent this way and then act on the name with an *at() call
 * that does not follow it: a symlink swapped in between is acted on, never through.
 *
 * Must never: join strings into a path and hand it to a path-based syscall. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/fs_internal.h"
#include "common/cleanup.h"
#include "common/util.h"

int
fs_path_open (const agent_fs *fs, const char *path, int flags, mode_t mode)
{
  if (path == NULL || *path == '\0')
    {
      errno = EINVAL;
      return -1;
    }
  if (strlen (path) >= PATH_MAX)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;
  do
    fd = (int) syscall (SYS_openat2, fs->root_fd, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN); /* a concurrent rename made the kernel ask for a retry */
  return fd;
}

/* Strips trailing slashes (keeping a lone "/"). */
static size_t
trimmed_len (const char *path)
{
  size_t n = strlen (path);
  while (n > 1 && path[n - 1] == '/')
    n--;
  return n;
}

int
fs_path_open_parent (const agent_fs *fs, const char *path, char **leaf_buf, const char **leaf)
{
  *leaf_buf = NULL;
  if (path == NULL || *path == '\0')
    {
      errno = EINVAL;
      return -1;
    }
  size_t n = trimmed_len (path);
  size_t start = n;
  while (start > 0 && path[start - 1] != '/')
    start--;
  size_t leaf_len = n - start;
  if (leaf_len == 0 || (leaf_len == 1 && path[start] == '.')
      || (leaf_len == 2 && path[start] == '.' && path[start + 1] == '.'))
    {
      errno = EINVAL; /* "/", ".", "x/..": no entry to act on */
      return -1;
    }
  _msb_cleanup_free_ char *parent = start == 0 ? msb_xstrdup (".") : msb_xstrndup (path, start);
  int fd = fs_path_open (fs, parent, O_PATH | O_DIRECTORY, 0);
  if (fd < 0)
    return -1;
  *leaf_buf = msb_xstrndup (path + start, leaf_len);
  *leaf = *leaf_buf;
  return fd;
}

int
fs_path_mkdir_parents (const agent_fs *fs, const char *path, mode_t mode)
{
  if (path == NULL || *path == '\0')
    {
      errno = EINVAL;
      return -1;
    }
  size_t n = strlen (path);
  if (n >= PATH_MAX)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  _msb_cleanup_free_ char *prefix = msb_xstrdup (path);
  /* Each prefix is resolved from the root again, so "..", symlinks and concurrent renames in
   * the middle of the path are handled by openat2, not by string arithmetic here. */
  for (size_t i = 1; i <= n; i++)
    {
      if (i < n && path[i] != '/')
        continue;
      prefix[i] = '\0';
      int fd = fs_path_open (fs, prefix, O_PATH | O_DIRECTORY, 0);
      if (fd >= 0)
        {
          close (fd);
          prefix[i] = path[i];
          continue;
        }
      if (errno != ENOENT)
        return -1;
      char *leaf_buf = NULL;
      const char *leaf = NULL;
      int parent = fs_path_open_parent (fs, prefix, &leaf_buf, &leaf);
      if (parent < 0)
        return -1;
      int r = mkdirat (parent, leaf, mode);
      int saved = errno;
      close (parent);
      free (leaf_buf);
      if (r < 0 && saved != EEXIST)
        {
          errno = saved;
          return -1;
        }
      /* EEXIST from a race is fine if what exists now is a directory. */
      fd = fs_path_open (fs, prefix, O_PATH | O_DIRECTORY, 0);
      if (fd < 0)
        return -1;
      close (fd);
      prefix[i] = path[i];
    }
  return 0;
}

char *
fs_path_of_fd (const agent_fs *fs, int fd)
{
  char link[64];
  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  char buf[PATH_MAX + 1];
  ssize_t n = readlink (link, buf, sizeof buf - 1);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  size_t rl = strlen (fs->root_path);
  if (buf[0] != '/' || strncmp (buf, fs->root_path, rl) != 0 || (buf[rl] != '/' && buf[rl] != '\0'))
    {
      errno = EXDEV; /* outside the root as this process sees it (deleted, other mount ns) */
      return NULL;
    }
  return msb_xstrdup (buf[rl] ? buf + rl : "/");
}

char *
fs_path_join (const char *dir, const char *name)
{
  size_t n = strlen (dir);
  if (n > 0 && dir[n - 1] == '/')
    return msb_xasprintf ("%s%s", dir, name);
  return msb_xasprintf ("%s/%s", dir, name);
}

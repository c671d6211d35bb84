/* Lexical normalisation and in-root resolution for the layer unpacker. */
#include "lib/image/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int
msb_inroot_normalize (const char *path, char **out, msb_error **err)
{
  size_t n = strlen (path);
  if (n >= PATH_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer path of %zu bytes exceeds PATH_MAX",
                     n);
  _msb_cleanup_free_ char *res = msb_xmalloc (n + 1);
  size_t len = 0;
  for (const char *c = path; *c;)
    {
      const char *e = strchr (c, '/');
      size_t cl = e ? (size_t) (e - c) : strlen (c);
      if (cl > NAME_MAX)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                         "layer path `%s`: component longer than NAME_MAX", path);
      if (cl == 2 && c[0] == '.' && c[1] == '.')
        {
          /* Lexical "..": going above the root is how tar-slip attacks reach the host. */
          if (len == 0)
            return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                             "layer path `%s` climbs above the layer root", path);
          while (len > 0 && res[len - 1] != '/')
            len--;
          if (len > 0)
            len--;
        }
      else if (cl > 0 && !(cl == 1 && c[0] == '.'))
        {
          if (len > 0)
            res[len++] = '/';
          memcpy (res + len, c, cl);
          len += cl;
        }
      c += cl;
      if (*c == '/')
        c++;
    }
  res[len] = '\0';
  *out = msb_steal_pointer (&res);
  return 0;
}

int
msb_inroot_open (int root_fd, const char *rel, int flags, int mode)
{
  struct open_how how = {
    .flags = (unsigned long long) (flags | O_CLOEXEC),
    .mode = (unsigned long long) ((flags & O_CREAT) ? mode : 0),
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  if (*rel == '\0')
    rel = ".";
  for (int tries = 0;; tries++)
    {
      long fd = syscall (SYS_openat2, root_fd, rel, &how, sizeof how);
      if (fd >= 0)
        return (int) fd;
      /* EAGAIN: a concurrent rename raced the lookup; only our own process writes here. */
      if ((errno == EAGAIN && tries < 16) || errno == EINTR)
        continue;
      return -1;
    }
}

/* Creates each missing component of the first `upto` bytes of rel, one level at a time,
 * resolving the existing prefix in-root every time so a symlink created by an earlier
 * entry is followed inside the root, never on the host. */
static int
mkdir_parents (int root_fd, char *rel, size_t upto, msb_error **err)
{
  for (size_t i = 0; i <= upto; i++)
    {
      if (i < upto && rel[i] != '/')
        continue;
      char saved = rel[i];
      rel[i] = '\0';
      char *slash = strrchr (rel, '/');
      const char *name = slash ? slash + 1 : rel;
      if (slash)
        *slash = '\0';
      _msb_cleanup_close_ int pfd = msb_inroot_open (root_fd, slash ? rel : "", O_RDONLY | O_DIRECTORY, 0);
      if (slash)
        *slash = '/';
      int saved_errno = errno;
      int r = pfd < 0 ? -1 : mkdirat (pfd, name, 0755);
      if (pfd < 0 || (r < 0 && errno != EEXIST))
        {
          int e = pfd < 0 ? saved_errno : errno;
          msb_fail_errno (err, e, MSB_ERR_IMAGE_PULL_FAILED, "create directory `%s` in layer", rel);
          rel[i] = saved;
          return -1;
        }
      rel[i] = saved;
    }
  return 0;
}

int
msb_inroot_open_parent (int root_fd, const char *rel, const char **leaf, int *out_fd,
                        msb_error **err)
{
  if (*rel == '\0')
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer entry replaces the layer root");
  const char *slash = strrchr (rel, '/');
  *leaf = slash ? slash + 1 : rel;
  if (!slash)
    {
      int fd = msb_inroot_open (root_fd, "", O_RDONLY | O_DIRECTORY, 0);
      if (fd < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IMAGE_PULL_FAILED, "open layer root");
      *out_fd = fd;
      return 0;
    }
  _msb_cleanup_free_ char *parent = msb_xstrndup (rel, (size_t) (slash - rel));
  int fd = msb_inroot_open (root_fd, parent, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0 && errno == ENOENT)
    {
      if (mkdir_parents (root_fd, parent, strlen (parent), err) < 0)
        return -1;
      fd = msb_inroot_open (root_fd, parent, O_RDONLY | O_DIRECTORY, 0);
    }
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IMAGE_PULL_FAILED,
                           "open directory `%s` in layer", parent);
  *out_fd = fd;
  return 0;
}

#include "common/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

void *
msb_xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
msb_xcalloc (size_t n, size_t size)
{
  void *p = calloc (n ? n : 1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
msb_xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    abort ();
  return p;
}

char *
msb_xstrdup (const char *s)
{
  if (s == NULL)
    return NULL;
  char *p = strdup (s);
  if (p == NULL)
    abort ();
  return p;
}

char *
msb_xstrndup (const char *s, size_t n)
{
  char *p = strndup (s, n);
  if (p == NULL)
    abort ();
  return p;
}

char *
msb_xasprintf (const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return s;
}

size_t
msb_strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **
msb_strv_dup (char *const *v)
{
  if (v == NULL)
    return NULL;
  size_t n = msb_strv_len (v);
  char **out = msb_xcalloc (n + 1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    out[i] = msb_xstrdup (v[i]);
  return out;
}

ssize_t
msb_read_full (int fd, void *buf, size_t n)
{
  size_t done = 0;
  while (done < n)
    {
      ssize_t r = read (fd, (char *) buf + done, n - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      done += (size_t) r;
    }
  return (ssize_t) done;
}

int
msb_write_full (int fd, const void *buf, size_t n)
{
  size_t done = 0;
  while (done < n)
    {
      ssize_t r = write (fd, (const char *) buf + done, n - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      done += (size_t) r;
    }
  return 0;
}

int
msb_read_fd_all (int fd, size_t max, char **out, size_t *out_len)
{
  size_t cap = 4096, len = 0;
  _msb_cleanup_free_ char *data = msb_xmalloc (cap + 1);
  for (;;)
    {
      if (len == cap)
        {
          if (cap >= max)
            {
              errno = EFBIG;
              return -1;
            }
          cap = cap * 2 > max ? max : cap * 2;
          data = msb_xrealloc (data, cap + 1);
        }
      ssize_t r = read (fd, data + len, cap - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -1;
      if (r == 0)
        break;
      len += (size_t) r;
    }
  data[len] = '\0';
  if (out_len)
    *out_len = len;
  *out = msb_steal_pointer (&data);
  return 0;
}

int
msb_read_file_at (int dirfd, const char *path, size_t max, char **out, size_t *out_len,
                  msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", path);
  if (msb_read_fd_all (fd, max, out, out_len) == 0)
    return 0;
  if (errno == EFBIG)
    return msb_fail (err, MSB_ERR_IO, "read `%s`: larger than %zu bytes", path, max);
  return msb_fail_errno (err, errno, MSB_ERR_IO, "read `%s`", path);
}

int
msb_write_file_atomic_at (int dirfd, const char *path, const void *data, size_t n, mode_t mode,
                          msb_error **err)
{
  _msb_cleanup_free_ char *tmp = msb_xasprintf ("%s.tmp.%d", path, (int) getpid ());
  _msb_cleanup_close_ int fd
      = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s`", tmp);
  if (msb_write_full (fd, data, n) < 0 || fsync (fd) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return msb_fail_errno (err, saved, MSB_ERR_IO, "write `%s`", tmp);
    }
  if (renameat (dirfd, tmp, dirfd, path) < 0)
    {
      int saved = errno;
      unlinkat (dirfd, tmp, 0);
      return msb_fail_errno (err, saved, MSB_ERR_IO, "rename `%s` to `%s`", tmp, path);
    }
  return 0;
}

int
msb_write_string_at (int dirfd, const char *path, const char *value, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (dirfd, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", path);
  if (msb_write_full (fd, value, strlen (value)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "write `%s` to `%s`", value, path);
  return 0;
}

char *
msb_path_dirname (const char *path)
{
  char *d = msb_xstrdup (path);
  char *slash = strrchr (d, '/');
  if (slash)
    *slash = '\0';
  return d;
}

int
msb_mkdir_p_at (int dirfd, const char *path, mode_t mode, msb_error **err)
{
  _msb_cleanup_free_ char *copy = msb_xstrdup (path);
  for (char *p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdirat (dirfd, copy, mode) < 0 && errno != EEXIST)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "mkdir `%s`", copy);
      *p = '/';
    }
  if (mkdirat (dirfd, copy, mode) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "mkdir `%s`", copy);
  return 0;
}

static int
rm_rf_children (int fd, msb_error **err)
{
  _msb_cleanup_dir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "opendir");
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (msb_rm_rf_at (dirfd (d), de->d_name, err) < 0)
        return -1;
    }
  return 0;
}

int
msb_rm_rf_at (int dirfd, const char *name, msb_error **err)
{
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "remove `%s`", name);
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return 0;
      return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", name);
    }
  if (rm_rf_children (fd, err) < 0)
    return msb_error_prefix (err, "remove `%s`", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "remove directory `%s`", name);
  return 0;
}

uint64_t
msb_now_mono_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

uint64_t
msb_now_realtime_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

int64_t
msb_now_ms (void)
{
  return (int64_t) (msb_now_realtime_ns () / 1000000ull);
}

void
msb_hex (const uint8_t *data, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++)
    {
      out[2 * i] = digits[data[i] >> 4];
      out[2 * i + 1] = digits[data[i] & 15];
    }
  out[2 * n] = '\0';
}

int
msb_set_nonblock (int fd, bool on)
{
  int fl = fcntl (fd, F_GETFL);
  if (fl < 0)
    return -1;
  fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  return fcntl (fd, F_SETFL, fl);
}

int
msb_set_cloexec (int fd, bool on)
{
  int fl = fcntl (fd, F_GETFD);
  if (fl < 0)
    return -1;
  fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
  return fcntl (fd, F_SETFD, fl);
}

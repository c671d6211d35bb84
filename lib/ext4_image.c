/* Sparse ext4 images (see ext4_image.h). mke2fs runs on a temporary file opened by us and
 * handed over as /proc/self/fd/N of the child, so no path under MSB_HOME is interpreted by
 * another program; the finished image is renamed into place. Its output goes to a pipe and is
 * quoted in the error when it fails. */
#include "lib/ext4_image.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"

static const char *const mke2fs_paths[] = { "/usr/sbin/mke2fs", "/sbin/mke2fs", "/usr/bin/mke2fs",
                                            "/bin/mke2fs" };

static const char *
find_mke2fs (void)
{
  for (size_t i = 0; i < sizeof mke2fs_paths / sizeof mke2fs_paths[0]; i++)
    if (access (mke2fs_paths[i], X_OK) == 0)
      return mke2fs_paths[i];
  return NULL;
}

static int
run_mke2fs (const char *mke2fs, int image_fd, uid_t uid, gid_t gid, msb_error **err)
{
  char target[64], ext[96];
  /* Everything the child needs is prepared here: libmsb may run in a threaded process, where
   * a forked child may only make async-signal-safe calls. */
  _msb_cleanup_close_ int fd = fcntl (image_fd, F_DUPFD_CLOEXEC, 3);
  int p[2];
  if (fd < 0 || pipe2 (p, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "mke2fs: prepare");
  snprintf (target, sizeof target, "/proc/self/fd/%d", fd);
  snprintf (ext, sizeof ext, "root_owner=%u:%u,lazy_itable_init=1,lazy_journal_init=1",
            (unsigned) uid, (unsigned) gid);
  char *const argv[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0", "-E", ext, target, NULL };
  sigset_t none;
  sigemptyset (&none);
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "mke2fs: fork");
    }
  if (pid == 0)
    {
      dup2 (p[1], 1);
      dup2 (p[1], 2);
      fcntl (fd, F_SETFD, 0); /* mke2fs opens the image through its /proc/self/fd path */
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (mke2fs, argv);
      _exit (127);
    }
  close (p[1]);
  msb_buf out = MSB_BUF_INIT;
  for (;;)
    {
      ssize_t n = read (p[0], msb_buf_reserve (&out, 512), 512);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      if (out.len < 4096)
        out.len += (size_t) n;
    }
  close (p[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  msb_buf_append_byte (&out, 0);
  int r = 0;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    r = msb_fail (err, MSB_ERR_IO, "mke2fs failed (status %d): %s",
                  WIFEXITED (status) ? WEXITSTATUS (status) : -1, (char *) out.data);
  msb_buf_free (&out);
  return r;
}

int
msb_ext4_image_create (int dirfd, const char *name, uint64_t size_mib, uid_t uid, gid_t gid,
                       msb_error **err)
{
  const char *mke2fs = find_mke2fs ();
  if (mke2fs == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED,
                     "create ext4 image `%s`: mke2fs was not found (install e2fsprogs)", name);
  _msb_cleanup_free_ char *tmp = msb_xasprintf (".%s.tmp", name);
  unlinkat (dirfd, tmp, 0);
  _msb_cleanup_close_ int fd
      = openat (dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create ext4 image `%s`", name);
  int r = 0;
  if (ftruncate (fd, (off_t) (size_mib << 20)) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "size ext4 image `%s` to %llu MiB", name,
                        (unsigned long long) size_mib);
  if (r == 0 && run_mke2fs (mke2fs, fd, uid, gid, err) < 0)
    r = msb_error_prefix (err, "create ext4 image `%s`", name);
  if (r == 0 && fsync (fd) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "sync ext4 image `%s`", name);
  if (r == 0 && renameat (dirfd, tmp, dirfd, name) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "publish ext4 image `%s`", name);
  if (r < 0)
    unlinkat (dirfd, tmp, 0);
  return r;
}

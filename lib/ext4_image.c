/* Sparse ext4 images (see ext4_image.h). The e2fsprogs tools (mke2fs; e2fsck and resize2fs
 * to grow one) run on a file opened by us and handed over as /proc/self/fd/N of the child, so
 * no path under MSB_HOME is interpreted by another program; a new image is made under a
 * temporary name and renamed into place. Their output goes to a pipe and is quoted in the
 * error when they fail. */
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

static const char *
find_tool (const char *name)
{
  static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };
  static __thread char path[64];
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    {
      snprintf (path, sizeof path, "%s/%s", dirs[i], name);
      if (access (path, X_OK) == 0)
        return path;
    }
  return NULL;
}

/* Runs e2fsprogs tool `name` with argv, in which argv[target] is replaced by the
 * /proc/self/fd path of `image_fd`. Exit statuses whose bit is in `ok_mask` succeed (e2fsck
 * reports "errors corrected" as 1). Its output is quoted in the error. */
static int
run_tool (const char *name, char **argv, int target, int image_fd, unsigned ok_mask,
          msb_error **err)
{
  const char *tool = find_tool (name);
  if (tool == NULL)
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "%s was not found (install e2fsprogs)", name);
  char path[64], target_path[64];
  snprintf (path, sizeof path, "%s", tool);
  /* Everything the child needs is prepared here: libmsb may run in a threaded process, where
   * a forked child may only make async-signal-safe calls. */
  _msb_cleanup_close_ int fd = fcntl (image_fd, F_DUPFD_CLOEXEC, 3);
  int p[2];
  if (fd < 0 || pipe2 (p, O_CLOEXEC) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "%s: prepare", name);
  snprintf (target_path, sizeof target_path, "/proc/self/fd/%d", fd);
  argv[target] = target_path;
  sigset_t none;
  sigemptyset (&none);
  pid_t pid = fork ();
  if (pid < 0)
    {
      close (p[0]);
      close (p[1]);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "%s: fork", name);
    }
  if (pid == 0)
    {
      dup2 (p[1], 1);
      dup2 (p[1], 2);
      fcntl (fd, F_SETFD, 0); /* the tool opens the image through its /proc/self/fd path */
      sigprocmask (SIG_SETMASK, &none, NULL);
      execv (path, argv);
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
  if (!WIFEXITED (status) || WEXITSTATUS (status) > 31 || !(ok_mask & (1u << WEXITSTATUS (status))))
    r = msb_fail (err, MSB_ERR_IO, "%s failed (status %d): %s", name,
                  WIFEXITED (status) ? WEXITSTATUS (status) : -1, (char *) out.data);
  msb_buf_free (&out);
  return r;
}

static int
run_mke2fs (int image_fd, uid_t uid, gid_t gid, uint64_t inodes, msb_error **err)
{
  char ext[96], n_inodes[24];
  snprintf (ext, sizeof ext, "root_owner=%u:%u,lazy_itable_init=1,lazy_journal_init=1",
            (unsigned) uid, (unsigned) gid);
  snprintf (n_inodes, sizeof n_inodes, "%llu", (unsigned long long) inodes);
  char *argv[] = { "mke2fs", "-q", "-F", "-t", "ext4", "-m", "0", "-E", ext, "-N", n_inodes, NULL, NULL };
  int target = 11;
  if (inodes == 0)
    target = 9, argv[10] = NULL; /* no -N */
  return run_tool ("mke2fs", argv, target, image_fd, 1u << 0, err);
}

int
msb_ext4_image_create (int dirfd, const char *name, uint64_t size_mib, uid_t uid, gid_t gid,
                       msb_error **err)
{
  return msb_ext4_image_create_inodes (dirfd, name, size_mib, uid, gid, 0, err);
}

int
msb_ext4_image_create_inodes (int dirfd, const char *name, uint64_t size_mib, uid_t uid,
                              gid_t gid, uint64_t inodes, msb_error **err)
{
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
  if (r == 0 && run_mke2fs (fd, uid, gid, inodes, err) < 0)
    r = msb_error_prefix (err, "create ext4 image `%s`", name);
  if (r == 0 && fsync (fd) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "sync ext4 image `%s`", name);
  if (r == 0 && renameat (dirfd, tmp, dirfd, name) < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "publish ext4 image `%s`", name);
  if (r < 0)
    unlinkat (dirfd, tmp, 0);
  return r;
}

int
msb_ext4_image_grow (int dirfd, const char *name, uint64_t size_mib, msb_error **err)
{
  _msb_cleanup_close_ int fd = openat (dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open ext4 image `%s`", name);
  if ((uint64_t) st.st_size >= size_mib << 20)
    return 0;
  /* resize2fs wants a filesystem checked since it was last mounted; preening also replays
   * the journal of a sandbox that was killed. 0 = clean, 1 = errors corrected. */
  char *fsck[] = { "e2fsck", "-f", "-p", NULL, NULL };
  char *resize[] = { "resize2fs", NULL, NULL };
  if (run_tool ("e2fsck", fsck, 3, fd, (1u << 0) | (1u << 1), err) < 0)
    return msb_error_prefix (err, "check ext4 image `%s`", name);
  if (ftruncate (fd, (off_t) (size_mib << 20)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "grow ext4 image `%s` to %llu MiB", name,
                           (unsigned long long) size_mib);
  if (run_tool ("resize2fs", resize, 1, fd, 1u << 0, err) < 0)
    return msb_error_prefix (err, "grow ext4 image `%s` to %llu MiB", name,
                             (unsigned long long) size_mib);
  if (fsync (fd) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "sync ext4 image `%s`", name);
  return 0;
}

/* The fs operations that are one request, one reply and a bounded amount of work: Stat,
 * SetStat, List, ReadLink, Symlink, Mkdir, Remove, Rename, RealPath. Each resolves its
 * paths through fs_path.c and answers exactly once.
 *
 * Must never: follow a final symlink the request did not ask to follow, or build a reply
 * larger than one frame (List is capped and tells the client to page with ReadDir). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/fs_internal.h"
#include "common/cleanup.h"
#include "common/util.h"

void
fs_op_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_close_ int fd = fs_path_open (fs, r->path, O_PATH | (r->follow_symlink ? 0 : O_NOFOLLOW), 0);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      fs_reply_errno (a, id, errno, "stat `%s`", r->path);
      return;
    }
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_STAT;
  fs_entry_from_stat (&m.u.fs_response.stat, r->path, &st);
  fs_reply_msg (a, id, &m);
}

static int
proc_fd_path (int fd, char buf[64])
{
  return snprintf (buf, 64, "/proc/self/fd/%d", fd);
}

int
fs_apply_attrs (int fd, const msb_fs_attrs *at)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return -1;
  char proc[64];
  proc_fd_path (fd, proc);
  if ((at->has_uid || at->has_gid)
      && fchownat (fd, "", at->has_uid ? at->uid : (uid_t) -1, at->has_gid ? at->gid : (gid_t) -1,
                   AT_EMPTY_PATH)
             < 0)
    return -1;
  if (at->has_mode)
    {
      if (S_ISLNK (st.st_mode))
        {
          errno = EOPNOTSUPP; /* Linux symlinks have no mode of their own */
          return -1;
        }
      /* fchmod() refuses O_PATH fds; the fd's /proc entry names exactly the resolved inode. */
      if (fchmod (fd, at->mode & 07777) < 0 && (errno != EBADF || chmod (proc, at->mode & 07777) < 0))
        return -1;
    }
  if (at->has_size)
    {
      if (S_ISDIR (st.st_mode))
        {
          errno = EISDIR;
          return -1;
        }
      if (!S_ISREG (st.st_mode))
        {
          errno = EINVAL;
          return -1;
        }
      if (ftruncate (fd, (off_t) at->size) < 0)
        {
          if (errno != EBADF && errno != EINVAL)
            return -1;
          _msb_cleanup_close_ int w = open (proc, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
          if (w < 0 || ftruncate (w, (off_t) at->size) < 0)
            return -1;
        }
    }
  if (at->has_atime || at->has_mtime)
    {
      struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
      if (at->has_atime)
        ts[0] = (struct timespec) { at->atime, 0 };
      if (at->has_mtime)
        ts[1] = (struct timespec) { at->mtime, 0 };
      if (utimensat (fd, "", ts, AT_EMPTY_PATH) < 0)
        {
          if (S_ISLNK (st.st_mode) || utimensat (AT_FDCWD, proc, ts, 0) < 0)
            return -1;
        }
    }
  return 0;
}

void
fs_op_set_stat (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_close_ int fd = fs_path_open (fs, r->path, O_PATH | (r->follow_symlink ? 0 : O_NOFOLLOW), 0);
  if (fd < 0 || fs_apply_attrs (fd, &r->attrs) < 0)
    {
      fs_reply_errno (a, id, errno, "set attributes of `%s`", r->path);
      return;
    }
  fs_reply_ok (a, id);
}

/* ---- listing ---------------------------------------------------------------------------- */

void
fs_free_entries (msb_fs_entry_info *e, char **paths, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (paths[i]);
  free (paths);
  free (e);
}

typedef struct name_stat
{
  char *name;
  struct stat st;
} name_stat;

static int
by_name (const void *x, const void *y)
{
  return strcmp (((const name_stat *) x)->name, ((const name_stat *) y)->name);
}

/* Entry fields besides the path take well under this many bytes of CBOR. */
#define ENTRY_OVERHEAD 160u

int
fs_collect_entries (DIR *dir, const char *dir_path, size_t limit, bool sorted,
                    msb_fs_entry_info **out, size_t *n, char ***paths, bool *is_end)
{
  name_stat *items = NULL;
  size_t count = 0, cap = 0, bytes = 0;
  *is_end = false;
  while (count < limit)
    {
      errno = 0;
      long pos = telldir (dir);
      struct dirent *de = readdir (dir);
      if (de == NULL)
        {
          if (errno != 0)
            {
              int saved = errno;
              for (size_t i = 0; i < count; i++)
                free (items[i].name);
              free (items);
              errno = saved;
              return -1;
            }
          *is_end = true;
          break;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      size_t cost = ENTRY_OVERHEAD + strlen (dir_path) + strlen (de->d_name);
      /* One entry costs far less than the cap, so a page is never empty. */
      if (bytes + cost > FS_LIST_BYTES_MAX)
        {
          if (!sorted)
            {
              seekdir (dir, pos); /* the next ReadDir starts with this entry */
              break;
            }
          for (size_t i = 0; i < count; i++)
            free (items[i].name);
          free (items);
          errno = EFBIG; /* List must be complete: the client pages with OpenDir/ReadDir */
          return -1;
        }
      if (count == cap)
        {
          cap = cap ? cap * 2 : 64;
          items = msb_xrealloc (items, cap * sizeof *items);
        }
      if (fstatat (dirfd (dir), de->d_name, &items[count].st, AT_SYMLINK_NOFOLLOW) < 0)
        continue; /* removed meanwhile */
      items[count].name = msb_xstrdup (de->d_name);
      bytes += cost;
      count++;
    }
  if (sorted && count > 1)
    qsort (items, count, sizeof *items, by_name);
  msb_fs_entry_info *e = msb_xcalloc (count ? count : 1, sizeof *e);
  char **p = msb_xcalloc (count ? count : 1, sizeof *p);
  for (size_t i = 0; i < count; i++)
    {
      p[i] = fs_path_join (dir_path, items[i].name);
      fs_entry_from_stat (&e[i], p[i], &items[i].st);
      free (items[i].name);
    }
  free (items);
  *out = e;
  *paths = p;
  *n = count;
  return 0;
}

void
fs_op_list (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  int fd = fs_path_open (fs, r->path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0)
    {
      fs_reply_errno (a, id, errno, "list `%s`", r->path);
      return;
    }
  _msb_cleanup_dir_ DIR *dir = fdopendir (fd);
  if (dir == NULL)
    {
      int saved = errno;
      close (fd);
      fs_reply_errno (a, id, saved, "list `%s`", r->path);
      return;
    }
  msb_fs_entry_info *entries = NULL;
  char **paths = NULL;
  size_t n = 0;
  bool is_end = false;
  if (fs_collect_entries (dir, r->path, SIZE_MAX, true, &entries, &n, &paths, &is_end) < 0)
    {
      if (errno == EFBIG)
        fs_reply_error (a, id, "list `%s`: too many entries for one reply; page with OpenDir "
                               "and ReadDir (EFBIG)", r->path);
      else
        fs_reply_errno (a, id, errno, "list `%s`", r->path);
      return;
    }
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_LIST;
  m.u.fs_response.entries = entries;
  m.u.fs_response.n_entries = n;
  fs_reply_msg (a, id, &m);
  fs_free_entries (entries, paths, n);
}

/* ---- links, directories, names ---------------------------------------------------------- */

void
fs_op_read_link (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_close_ int fd = fs_path_open (fs, r->path, O_PATH | O_NOFOLLOW, 0);
  char buf[PATH_MAX + 1];
  ssize_t n = fd < 0 ? -1 : readlinkat (fd, "", buf, sizeof buf - 1);
  if (n < 0)
    {
      /* readlinkat on a non-link O_PATH fd says ENOENT; say what is wrong instead. */
      int saved = errno == ENOENT && fd >= 0 ? EINVAL : errno;
      fs_reply_errno (a, id, saved, "read link `%s`", r->path);
      return;
    }
  buf[n] = '\0';
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_PATH;
  m.u.fs_response.path = buf;
  fs_reply_msg (a, id, &m);
}

void
fs_op_symlink (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  if (r->target == NULL || *r->target == '\0' || strlen (r->target) >= PATH_MAX)
    {
      fs_reply_errno (a, id, EINVAL, "symlink `%s`", r->link_path ? r->link_path : "");
      return;
    }
  _msb_cleanup_free_ char *leaf_buf = NULL;
  const char *leaf = NULL;
  _msb_cleanup_close_ int dir = fs_path_open_parent (fs, r->link_path, &leaf_buf, &leaf);
  /* The target is stored as text, never resolved here: it is resolved (inside the root) by
   * whoever follows the link later. */
  if (dir < 0 || symlinkat (r->target, dir, leaf) < 0)
    {
      fs_reply_errno (a, id, errno, "symlink `%s` -> `%s`", r->link_path, r->target);
      return;
    }
  fs_reply_ok (a, id);
}

void
fs_op_mkdir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  mode_t mode = r->has_mode ? (mode_t) (r->mode & 07777) : 0755;
  if (fs_path_mkdir_parents (fs, r->path, mode) < 0)
    {
      fs_reply_errno (a, id, errno, "create directory `%s`", r->path);
      return;
    }
  fs_reply_ok (a, id);
}

void
fs_op_remove (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_free_ char *leaf_buf = NULL;
  const char *leaf = NULL;
  _msb_cleanup_close_ int dir = fs_path_open_parent (fs, r->path, &leaf_buf, &leaf);
  if (dir < 0 || unlinkat (dir, leaf, 0) < 0)
    {
      fs_reply_errno (a, id, errno, "remove `%s`", r->path);
      return;
    }
  fs_reply_ok (a, id);
}

void
fs_op_rename (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_free_ char *sbuf = NULL, *dbuf = NULL;
  const char *sleaf = NULL, *dleaf = NULL;
  _msb_cleanup_close_ int sdir = fs_path_open_parent (fs, r->src, &sbuf, &sleaf);
  _msb_cleanup_close_ int ddir = sdir < 0 ? -1 : fs_path_open_parent (fs, r->dst, &dbuf, &dleaf);
  if (sdir < 0 || ddir < 0 || renameat (sdir, sleaf, ddir, dleaf) < 0)
    {
      fs_reply_errno (a, id, errno, "rename `%s` to `%s`", r->src ? r->src : "",
                      r->dst ? r->dst : "");
      return;
    }
  fs_reply_ok (a, id);
}

void
fs_op_real_path (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_close_ int fd = fs_path_open (fs, r->path, O_PATH, 0);
  _msb_cleanup_free_ char *real = fd < 0 ? NULL : fs_path_of_fd (fs, fd);
  if (real == NULL)
    {
      fs_reply_errno (a, id, errno, "resolve `%s`", r->path);
      return;
    }
  msb_msg m = { .type = MSB_MSG_FS_RESPONSE };
  m.u.fs_response.ok = true;
  m.u.fs_response.kind = MSB_FS_RESP_PATH;
  m.u.fs_response.path = real;
  fs_reply_msg (a, id, &m);
}

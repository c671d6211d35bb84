/* `msb cp SRC DST` (alias copy): docker-cp syntax. NAME:/path names a path in sandbox NAME,
 * anything else a host path (a path starting with '/' or '.' is always a host path). Files
 * and directory trees are copied host → sandbox, sandbox → host and sandbox → sandbox (through
 * this process); when DST is an existing directory the copy lands inside it under SRC's name.
 * A stopped sandbox is started for the copy and stops again once nothing uses it.
 *
 * The host side of a copy out of a sandbox is written through directory fds: every entry is
 * created with O_NOFOLLOW inside a directory this copy opened, so a symlink the sandbox put in
 * the tree (copied as a symlink) is never followed on the host, and a symlink already at the
 * destination is refused, not written through.
 *
 * Must never: open a host path built from a name the sandbox chose, other than relative to a
 * directory fd with O_NOFOLLOW. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

#define CHUNK (1u << 20)
#define DEPTH_MAX 256

typedef struct endpoint
{
  char *sandbox;      /* NULL = host */
  char *path;
  msb_sandbox *sb;
  bool started;       /* started for this copy: stop afterwards */
} endpoint;

/* -q: accepted for docker compatibility; cp prints nothing on success anyway. */
static int quiet;

static void
parse_endpoint (const char *arg, endpoint *e)
{
  memset (e, 0, sizeof *e);
  const char *colon = strchr (arg, ':');
  if (arg[0] != '/' && arg[0] != '.' && colon && colon != arg)
    {
      e->sandbox = strndup (arg, (size_t) (colon - arg));
      e->path = strdup (colon[1] ? colon + 1 : "/");
    }
  else
    e->path = strdup (arg);
}

static int
open_sandbox (msb_ctx *ctx, endpoint *e)
{
  msb_error *err = NULL;
  if (msb_sandbox_connect (ctx, e->sandbox, -1, &e->sb, &err) == 0)
    return 0;
  if (msb_error_get_kind (err) != MSB_ERR_SANDBOX_NOT_RUNNING)
    return cli_fail (err, -1);
  msb_error_free (err);
  err = NULL;
  if (msb_sandbox_start (ctx, e->sandbox, MSB_SANDBOX_UNTIL_UNUSED, &e->sb, &err) < 0)
    return cli_fail (err, -1);
  e->started = true;
  return 0;
}

static char *
join (const char *dir, const char *name)
{
  size_t n = strlen (dir);
  char *out = NULL;
  if (asprintf (&out, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name) < 0)
    abort ();
  return out;
}

static char *
base_of (const char *path)
{
  char *copy = strdup (path);
  size_t n = strlen (copy);
  while (n > 1 && copy[n - 1] == '/')
    copy[--n] = '\0';
  char *b = strdup (basename (copy));
  free (copy);
  return b;
}

/* ---- host → sandbox ------------------------------------------------------------------- */

static int
upload_file (msb_sandbox *sb, int fd, const char *guest, mode_t mode)
{
  msb_fs_writer *w = NULL;
  msb_error *err = NULL;
  if (msb_fs_write_open (sb, guest, &w, &err) < 0)
    return cli_fail (err, -1);
  static uint8_t buf[CHUNK];
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          msb_fs_write_close (w, NULL);
          return cli_failf (-1, "read host file for `%s`: %s", guest, strerror (saved));
        }
      if (n == 0)
        break;
      if (msb_fs_write_chunk (w, buf, (size_t) n, &err) < 0)
        {
          msb_fs_write_close (w, NULL);
          return cli_fail (err, -1);
        }
    }
  if (msb_fs_write_close (w, &err) < 0 || msb_fs_set_mode (sb, guest, mode & 07777, &err) < 0)
    return cli_fail (err, -1);
  return 0;
}

static int
upload_tree (msb_sandbox *sb, int dirfd, const char *guest, mode_t mode, int depth)
{
  msb_error *err = NULL;
  if (depth > DEPTH_MAX)
    return cli_failf (-1, "`%s`: the tree is nested too deeply", guest);
  if (msb_fs_mkdir (sb, guest, &err) < 0)
    return cli_fail (err, -1);
  int dup_fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 3);
  DIR *d = dup_fd < 0 ? NULL : fdopendir (dup_fd);
  if (d == NULL)
    return cli_failf (-1, "list host directory for `%s`: %s", guest, strerror (errno));
  int r = 0;
  struct dirent *de;
  while (r == 0 && (de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      char *child = join (guest, de->d_name);
      if (S_ISLNK (st.st_mode))
        {
          char target[PATH_MAX + 1];
          ssize_t n = readlinkat (dirfd, de->d_name, target, sizeof target - 1);
          if (n >= 0)
            {
              target[n] = '\0';
              msb_fs_remove (sb, child, NULL);
              if (msb_fs_symlink (sb, target, child, &err) < 0)
                r = cli_fail (err, -1);
            }
        }
      else if (S_ISDIR (st.st_mode) || S_ISREG (st.st_mode))
        {
          int fd = openat (dirfd, de->d_name,
                           (S_ISDIR (st.st_mode) ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
          if (fd < 0)
            r = cli_failf (-1, "open host `%s`: %s", de->d_name, strerror (errno));
          else
            {
              r = S_ISDIR (st.st_mode) ? upload_tree (sb, fd, child, st.st_mode, depth + 1)
                                       : upload_file (sb, fd, child, st.st_mode);
              close (fd);
            }
        }
      free (child);
    }
  closedir (d);
  if (r == 0 && msb_fs_set_mode (sb, guest, mode & 07777, &err) < 0)
    r = cli_fail (err, -1);
  return r;
}

/* ---- sandbox → host ------------------------------------------------------------------- */

/* Streams a sandbox file into (dirfd, name): never through a symlink, only a regular file. */
static int
download_file (msb_sandbox *sb, const char *guest, int dirfd, const char *name, mode_t mode)
{
  msb_fs_reader *r = NULL;
  msb_error *err = NULL;
  if (msb_fs_read_open (sb, guest, &r, &err) < 0)
    return cli_fail (err, -1);
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode & 0777);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || ftruncate (fd, 0) < 0)
    {
      int saved = fd < 0 || errno ? errno : EINVAL;
      if (fd >= 0)
        close (fd);
      msb_fs_read_close (r);
      return cli_failf (-1, "write host `%s`: %s%s", name, strerror (saved),
                        saved == ELOOP ? " (a symbolic link is never written through)" : "");
    }
  const uint8_t *data;
  size_t len;
  int rc;
  while ((rc = msb_fs_read_next (r, &data, &len, &err)) == 1)
    if (write (fd, data, len) != (ssize_t) len)
      {
        rc = cli_failf (-1, "write host `%s`: %s", name, strerror (errno));
        err = NULL;
        break;
      }
  msb_fs_read_close (r);
  close (fd);
  if (rc < 0 && err)
    return cli_fail (err, -1);
  return rc < 0 ? -1 : 0;
}

static int
download_tree (msb_sandbox *sb, const char *guest, int parent, const char *name, mode_t mode,
               int depth)
{
  if (depth > DEPTH_MAX)
    return cli_failf (-1, "`%s`: the tree is nested too deeply", guest);
  if (mkdirat (parent, name, 0700) < 0 && errno != EEXIST)
    return cli_failf (-1, "create host directory `%s`: %s", name, strerror (errno));
  int dirfd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    return cli_failf (-1, "open host directory `%s`: %s", name, strerror (errno));
  msb_fs_entry *entries = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  int r = msb_fs_list (sb, guest, &entries, &n, &err) < 0 ? cli_fail (err, -1) : 0;
  for (size_t i = 0; r == 0 && i < n; i++)
    {
      const msb_fs_entry *e = &entries[i];
      char *leaf = base_of (e->path);
      if (strchr (leaf, '/') || strcmp (leaf, ".") == 0 || strcmp (leaf, "..") == 0)
        {
          free (leaf);
          continue; /* not a name a listing may return */
        }
      if (e->kind == MSB_FS_DIRECTORY)
        r = download_tree (sb, e->path, dirfd, leaf, e->mode, depth + 1);
      else if (e->kind == MSB_FS_FILE)
        r = download_file (sb, e->path, dirfd, leaf, e->mode);
      else if (e->kind == MSB_FS_SYMLINK)
        {
          char *target = NULL;
          if (msb_fs_readlink (sb, e->path, &target, &err) < 0)
            r = cli_fail (err, -1);
          else if (symlinkat (target, dirfd, leaf) < 0 && errno != EEXIST)
            r = cli_failf (-1, "create host symlink `%s`: %s", leaf, strerror (errno));
          free (target);
        }
      free (leaf);
    }
  msb_fs_entries_free (entries, n);
  if (r == 0)
    fchmod (dirfd, mode & 07777);
  close (dirfd);
  return r;
}

/* ---- sandbox → sandbox ---------------------------------------------------------------- */

static int
relay_file (msb_sandbox *from, const char *src, msb_sandbox *to, const char *dst, mode_t mode)
{
  msb_fs_reader *r = NULL;
  msb_fs_writer *w = NULL;
  msb_error *err = NULL;
  if (msb_fs_read_open (from, src, &r, &err) < 0)
    return cli_fail (err, -1);
  if (msb_fs_write_open (to, dst, &w, &err) < 0)
    {
      msb_fs_read_close (r);
      return cli_fail (err, -1);
    }
  const uint8_t *data;
  size_t len;
  int rc;
  while ((rc = msb_fs_read_next (r, &data, &len, &err)) == 1)
    if (msb_fs_write_chunk (w, data, len, &err) < 0)
      {
        rc = -1;
        break;
      }
  msb_fs_read_close (r);
  if (rc < 0)
    {
      msb_fs_write_close (w, NULL);
      return cli_fail (err, -1);
    }
  if (msb_fs_write_close (w, &err) < 0 || msb_fs_set_mode (to, dst, mode & 07777, &err) < 0)
    return cli_fail (err, -1);
  return 0;
}

static int
relay_tree (msb_sandbox *from, const char *src, msb_sandbox *to, const char *dst, mode_t mode,
            int depth)
{
  msb_error *err = NULL;
  if (depth > DEPTH_MAX)
    return cli_failf (-1, "`%s`: the tree is nested too deeply", src);
  if (msb_fs_mkdir (to, dst, &err) < 0)
    return cli_fail (err, -1);
  msb_fs_entry *entries = NULL;
  size_t n = 0;
  int r = msb_fs_list (from, src, &entries, &n, &err) < 0 ? cli_fail (err, -1) : 0;
  for (size_t i = 0; r == 0 && i < n; i++)
    {
      char *leaf = base_of (entries[i].path);
      char *child = join (dst, leaf);
      if (entries[i].kind == MSB_FS_DIRECTORY)
        r = relay_tree (from, entries[i].path, to, child, entries[i].mode, depth + 1);
      else if (entries[i].kind == MSB_FS_FILE)
        r = relay_file (from, entries[i].path, to, child, entries[i].mode);
      else if (entries[i].kind == MSB_FS_SYMLINK)
        {
          char *target = NULL;
          if (msb_fs_readlink (from, entries[i].path, &target, &err) < 0
              || msb_fs_symlink (to, target, child, &err) < 0)
            r = cli_fail (err, -1);
          free (target);
        }
      free (child);
      free (leaf);
    }
  msb_fs_entries_free (entries, n);
  if (r == 0 && msb_fs_set_mode (to, dst, mode & 07777, &err) < 0)
    r = cli_fail (err, -1);
  return r;
}

/* ---- dispatch ------------------------------------------------------------------------- */

/* Where in the sandbox the copy of `src_path` lands: inside an existing directory DST. */
static char *
guest_target (msb_sandbox *sb, const char *dst, const char *src_path)
{
  msb_fs_metadata md;
  if (msb_fs_stat (sb, dst, &md, NULL) == 0 && md.kind == MSB_FS_DIRECTORY)
    {
      char *b = base_of (src_path);
      char *t = join (dst, b);
      free (b);
      return t;
    }
  return strdup (dst);
}

static int
host_to_sandbox (const endpoint *src, const endpoint *dst)
{
  int fd = open (src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return cli_failf (-1, "cp: `%s`: %s", src->path, strerror (errno));
  char *target = guest_target (dst->sb, dst->path, src->path);
  int r;
  if (S_ISDIR (st.st_mode))
    r = upload_tree (dst->sb, fd, target, st.st_mode, 0);
  else if (S_ISREG (st.st_mode))
    {
      fcntl (fd, F_SETFL, 0);
      r = upload_file (dst->sb, fd, target, st.st_mode);
    }
  else
    r = cli_failf (-1, "cp: `%s` is not a regular file or directory", src->path);
  close (fd);
  free (target);
  return r;
}

static int
sandbox_to_host (const endpoint *src, const endpoint *dst)
{
  msb_fs_metadata md;
  msb_error *err = NULL;
  if (msb_fs_stat (src->sb, src->path, &md, &err) < 0)
    return cli_fail (err, -1);
  /* The destination: inside an existing directory, else the named entry of its parent. */
  struct stat st;
  char *dir, *name;
  if (stat (dst->path, &st) == 0 && S_ISDIR (st.st_mode))
    {
      dir = strdup (dst->path);
      name = base_of (src->path);
    }
  else
    {
      char *copy = strdup (dst->path);
      dir = strdup (dirname (copy));
      free (copy);
      name = base_of (dst->path);
    }
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r;
  if (dirfd < 0)
    r = cli_failf (-1, "cp: host directory `%s`: %s", dir, strerror (errno));
  else if (md.kind == MSB_FS_DIRECTORY)
    r = download_tree (src->sb, src->path, dirfd, name, md.mode, 0);
  else if (md.kind == MSB_FS_FILE)
    r = download_file (src->sb, src->path, dirfd, name, md.mode);
  else
    r = cli_failf (-1, "cp: `%s:%s` is not a regular file or directory", src->sandbox, src->path);
  if (dirfd >= 0)
    close (dirfd);
  free (dir);
  free (name);
  return r;
}

static int
sandbox_to_sandbox (const endpoint *src, const endpoint *dst)
{
  msb_fs_metadata md;
  msb_error *err = NULL;
  if (msb_fs_stat (src->sb, src->path, &md, &err) < 0)
    return cli_fail (err, -1);
  char *target = guest_target (dst->sb, dst->path, src->path);
  int r = md.kind == MSB_FS_DIRECTORY ? relay_tree (src->sb, src->path, dst->sb, target, md.mode, 0)
          : md.kind == MSB_FS_FILE    ? relay_file (src->sb, src->path, dst->sb, target, md.mode)
                                      : cli_failf (-1, "cp: `%s:%s` is not a regular file or directory",
                                                   src->sandbox, src->path);
  free (target);
  return r;
}

static int
run_copy (endpoint *src, endpoint *dst)
{
  if (src->sandbox == NULL && dst->sandbox == NULL)
    return cli_failf (1, "cp: one of SRC and DST must be a sandbox path (NAME:/path)");
  if ((src->sandbox && src->path[0] != '/') || (dst->sandbox && dst->path[0] != '/'))
    return cli_failf (1, "cp: sandbox paths must be absolute (NAME:/path)");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int status = 1;
  if ((src->sandbox == NULL || open_sandbox (ctx, src) == 0)
      && (dst->sandbox == NULL || open_sandbox (ctx, dst) == 0))
    {
      int r = src->sandbox == NULL   ? host_to_sandbox (src, dst)
              : dst->sandbox == NULL ? sandbox_to_host (src, dst)
                                     : sandbox_to_sandbox (src, dst);
      status = r < 0 ? 1 : 0;
    }
  endpoint *eps[] = { src, dst };
  for (int i = 0; i < 2; i++)
    msb_sandbox_close (eps[i]->sb);
  /* A temporarily started sandbox stops by itself once unused (unless another client keeps
   * it running): wait a moment so a following command sees it stopped, like `msb exec`. */
  for (int i = 0; i < 2; i++)
    if (eps[i]->started)
      msb_sandbox_wait (ctx, eps[i]->sandbox, 3000, NULL, NULL);
  msb_ctx_close (ctx);
  return status;
}

int
cli_cp (int argc, char **argv)
{
  const char *args[2] = { NULL, NULL };
  int n = 0;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "-q") == 0 || strcmp (argv[i], "--quiet") == 0)
        quiet = 1;
      else if (strcmp (argv[i], "--") == 0)
        continue;
      else if (n < 2 && (argv[i][0] != '-' || strcmp (argv[i], "-") == 0))
        args[n++] = argv[i];
      else
        return cli_failf (1, "cp: unexpected argument `%s`", argv[i]);
    }
  if (n != 2)
    return cli_failf (1, "usage: msb cp SRC DST  (NAME:/path for a sandbox path)");
  if (strcmp (args[0], "-") == 0 || strcmp (args[1], "-") == 0)
    return cli_failf (1, "cp: tar streams on stdin/stdout (`-`) are not supported");
  endpoint src, dst;
  parse_endpoint (args[0], &src);
  parse_endpoint (args[1], &dst);
  int status = run_copy (&src, &dst);
  free (src.sandbox);
  free (src.path);
  free (dst.sandbox);
  free (dst.path);
  return status;
}

/* Patches (API.md §1.14): edits of the sandbox's writable root made once, at its first boot,
 * before the agent starts.
 *
 * They run in the sandbox's first process after it has become the sandbox's root user and
 * pivoted into the sandbox root, so a patch can do exactly what the sandbox's root could:
 * files it creates belong to the sandbox's root, and even a resolution mistake could not
 * write a host file. On top of that every path resolves from the root fd with
 * openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): an image's symlink (/etc -> /host/etc,
 * /x -> ../../..) stays inside the root.
 *
 * Host sources (copy_file, copy_dir) are read by the runtime before the sandbox starts, with
 * the caller's privileges, into a staging directory owned by the sandbox's root that the
 * first process reads through an fd (patch_stage below): the host side is read as the host
 * user, the sandbox side written as the sandbox's user.
 *
 * Rules: a patch writing to a path that exists fails unless `replace`; mkdir and remove are
 * idempotent; missing parents are created. The first failure stops the boot with an error
 * naming the patch ("patch 2 (text /etc/motd): …").
 *
 * Must never: open a guest path any other way than through the root fd as above. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/tree_copy.h"
#include "common/util.h"
#include "runtime/ns/volumes.h"
#include "runtime/runtime.h"

/* ---- staging (runtime, before clone) ---------------------------------------------------- */

static bool
is_copy (const msb_patch_spec *p)
{
  return p->kind == MSB_PATCH_COPY_FILE || p->kind == MSB_PATCH_COPY_DIR;
}

int
msb_ns_patches_stage (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err)
{
  bool any = false;
  for (size_t i = 0; i < plan->n_patches; i++)
    any = any || is_copy (&plan->patches[i]);
  if (!any)
    return 0;
  plan->staging_rel = msb_xstrdup ("patch-staging");
  msb_rm_rf_at (rt->sandbox_dirfd, plan->staging_rel, NULL);
  if (mkdirat (rt->sandbox_dirfd, plan->staging_rel, 0700) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create the patch staging directory");
  plan->staging_fd = openat (rt->sandbox_dirfd, plan->staging_rel,
                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (plan->staging_fd < 0 || fchown (plan->staging_fd, rt->uid_base, rt->uid_base) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "prepare the patch staging directory");
  msb_tree_copy_opts o = { .owner_uid = (int) rt->uid_base, .owner_gid = (int) rt->uid_base };
  for (size_t i = 0; i < plan->n_patches; i++)
    {
      const msb_patch_spec *p = &plan->patches[i];
      if (!is_copy (p))
        continue;
      _msb_cleanup_free_ char *what = msb_patch_describe (p, i);
      _msb_cleanup_close_ int src = open (p->src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
      struct stat st;
      if (src < 0 || fstat (src, &st) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "%s: read host path `%s`", what, p->src);
      bool want_dir = p->kind == MSB_PATCH_COPY_DIR;
      if (want_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: host path `%s` is not a %s", what,
                         p->src, want_dir ? "directory" : "regular file");
      msb_set_nonblock (src, false);
      char name[32];
      snprintf (name, sizeof name, "%zu", i);
      _msb_cleanup_free_ char *failed_at = NULL;
      if (msb_tree_copy (src, plan->staging_fd, name, &o, &failed_at) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "%s: copy host `%s` (at `%s`)", what,
                               p->src, failed_at ? failed_at : "?");
    }
  return 0;
}

/* ---- applying (sandbox's first process, as the sandbox's root, inside its root) --------- */

static int
in_root (int root, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  int fd;
  do
    fd = (int) syscall (SYS_openat2, root, path, &how, sizeof how);
  while (fd < 0 && errno == EAGAIN);
  return fd;
}

/* mkdir -p, every prefix resolved in the root again. 0 or -1 + errno. */
static int
mkdir_parents (int root, const char *path, mode_t mode)
{
  _msb_cleanup_free_ char *prefix = msb_xstrdup (path);
  size_t n = strlen (path);
  for (size_t i = 1; i <= n; i++)
    {
      if (i < n && path[i] != '/')
        continue;
      prefix[i] = '\0';
      int fd = in_root (root, prefix, O_PATH | O_DIRECTORY, 0);
      if (fd < 0 && errno == ENOENT)
        {
          char *slash = strrchr (prefix, '/');
          *slash = '\0';
          int parent = in_root (root, *prefix ? prefix : "/", O_PATH | O_DIRECTORY, 0);
          *slash = '/';
          if (parent < 0)
            return -1;
          int r = mkdirat (parent, slash + 1, mode);
          int saved = errno;
          close (parent);
          if (r < 0 && saved != EEXIST)
            {
              errno = saved;
              return -1;
            }
          fd = in_root (root, prefix, O_PATH | O_DIRECTORY, 0);
        }
      if (fd < 0)
        return -1;
      close (fd);
      prefix[i] = path[i];
    }
  return 0;
}

/* Parent directory of a normalised absolute path (created when missing) and its leaf. */
static int
open_parent (int root, const char *path, const char **leaf)
{
  const char *slash = strrchr (path, '/');
  *leaf = slash + 1;
  if (slash == path)
    return in_root (root, "/", O_PATH | O_DIRECTORY, 0);
  _msb_cleanup_free_ char *parent = msb_xstrndup (path, (size_t) (slash - path));
  if (mkdir_parents (root, parent, 0755) < 0)
    return -1;
  return in_root (root, parent, O_PATH | O_DIRECTORY, 0);
}

typedef struct patch_ctx
{
  int root;
  int staging;
  const msb_patch_spec *p;
  size_t index;
  char *what;
} patch_ctx;

static int
fail_errno (patch_ctx *c, int errnum, const char *doing, msb_error **err)
{
  return msb_fail_errno (err, errnum, MSB_ERR_INVALID_CONFIG, "%s: %s", c->what, doing);
}

/* msb_rm_rf_at with the patch's error: its errno, or EIO when it has none. */
static int
remove_tree (patch_ctx *c, int dir, const char *name, const char *doing, msb_error **err)
{
  msb_error *e = NULL;
  if (msb_rm_rf_at (dir, name, &e) == 0)
    return 0;
  int errnum = msb_error_get_errno (e);
  msb_error_free (e);
  return fail_errno (c, errnum ? errnum : EIO, doing, err);
}

/* The replace rule: fails when the entry exists (as anything, a dangling symlink included)
 * and the patch may not replace it. With replace, an existing entry that the patch cannot
 * write through (a directory, or anything for symlink and copy_dir) is removed first. */
static int
check_replace (patch_ctx *c, int dir, const char *leaf, bool remove_any, msb_error **err)
{
  struct stat st;
  if (fstatat (dir, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : fail_errno (c, errno, "inspect the target", err);
  if (!c->p->replace)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "%s: %s already exists in the sandbox (set replace to overwrite it)", c->what,
                     c->p->path);
  if (!remove_any && !S_ISDIR (st.st_mode))
    return 0;
  return remove_tree (c, dir, leaf, "remove what it replaces", err);
}

/* The directory that will hold the target (created when missing) and the target's name in
 * it, once the replace rule allows writing there. */
static int
open_target_parent (patch_ctx *c, bool remove_any, const char **leaf, msb_error **err)
{
  _msb_cleanup_close_ int dir = open_parent (c->root, c->p->path, leaf);
  if (dir < 0)
    return fail_errno (c, errno, "create its parent directory", err);
  if (check_replace (c, dir, *leaf, remove_any, err) < 0)
    return -1;
  return msb_steal_fd (&dir);
}

/* The target, opened through the root (a symlink resolves inside it); a regular file only. */
static int
open_regular_target (patch_ctx *c, int flags, mode_t mode, msb_error **err)
{
  _msb_cleanup_close_ int fd = in_root (c->root, c->p->path, flags | O_NOCTTY | O_NONBLOCK, mode);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return fail_errno (c, errno, "open", err);
  if (!S_ISREG (st.st_mode))
    return fail_errno (c, EINVAL, "the target is not a regular file", err);
  return msb_steal_fd (&fd);
}

static int
write_content (patch_ctx *c, int fd, const uint8_t *data, size_t len, msb_error **err)
{
  if (msb_write_full (fd, data, len) < 0)
    return fail_errno (c, errno, "write", err);
  return 0;
}

/* text, file, copy_file: create or (with replace) overwrite a regular file. */
static int
apply_file (patch_ctx *c, const uint8_t *data, size_t len, int src_fd, mode_t dflt, msb_error **err)
{
  const char *leaf;
  _msb_cleanup_close_ int dir = open_target_parent (c, false, &leaf, err);
  if (dir < 0)
    return -1;
  mode_t mode = c->p->mode >= 0 ? (mode_t) c->p->mode : dflt;
  /* Resolved from the root again, so a replaced symlink is written through inside the root. */
  _msb_cleanup_close_ int fd = open_regular_target (c, O_WRONLY | O_CREAT | O_TRUNC, mode, err);
  if (fd < 0)
    return -1;
  if (src_fd >= 0)
    {
      uint8_t buf[65536];
      for (;;)
        {
          ssize_t n = read (src_fd, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            return fail_errno (c, errno, "read the staged host file", err);
          if (n == 0)
            break;
          if (write_content (c, fd, buf, (size_t) n, err) < 0)
            return -1;
        }
    }
  else if (write_content (c, fd, data, len, err) < 0)
    return -1;
  if (fchmod (fd, mode) < 0)
    return fail_errno (c, errno, "set its mode", err);
  return 0;
}

static int
apply_append (patch_ctx *c, msb_error **err)
{
  const char *leaf;
  _msb_cleanup_close_ int dir = open_parent (c->root, c->p->path, &leaf);
  if (dir < 0)
    return fail_errno (c, errno, "create its parent directory", err);
  /* Opening for writing copies an image file up into the writable layer. */
  _msb_cleanup_close_ int fd = open_regular_target (c, O_WRONLY | O_APPEND | O_CREAT, 0644, err);
  if (fd < 0)
    return -1;
  return write_content (c, fd, c->p->content, c->p->content_len, err);
}

static int
apply_mkdir (patch_ctx *c, msb_error **err)
{
  mode_t mode = c->p->mode >= 0 ? (mode_t) c->p->mode : 0755;
  if (mkdir_parents (c->root, c->p->path, mode) < 0)
    return fail_errno (c, errno, "create the directory", err);
  if (c->p->mode >= 0)
    {
      _msb_cleanup_close_ int fd = in_root (c->root, c->p->path, O_RDONLY | O_DIRECTORY, 0);
      if (fd < 0 || fchmod (fd, mode) < 0)
        return fail_errno (c, errno, "set its mode", err);
    }
  return 0;
}

static int
apply_remove (patch_ctx *c, msb_error **err)
{
  const char *slash = strrchr (c->p->path, '/');
  _msb_cleanup_free_ char *parent = slash == c->p->path ? msb_xstrdup ("/")
                                                         : msb_xstrndup (c->p->path, (size_t) (slash - c->p->path));
  _msb_cleanup_close_ int dir = in_root (c->root, parent, O_PATH | O_DIRECTORY, 0);
  if (dir < 0)
    return errno == ENOENT ? 0 : fail_errno (c, errno, "open its parent directory", err);
  return remove_tree (c, dir, slash + 1, "remove", err);
}

static int
apply_copy_dir (patch_ctx *c, msb_error **err)
{
  char name[32];
  snprintf (name, sizeof name, "%zu", c->index);
  _msb_cleanup_close_ int src = openat (c->staging, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (src < 0)
    return fail_errno (c, errno, "open the staged host directory", err);
  const char *leaf;
  _msb_cleanup_close_ int dir = open_target_parent (c, true, &leaf, err);
  if (dir < 0)
    return -1;
  _msb_cleanup_free_ char *failed_at = NULL;
  if (msb_tree_copy (src, dir, leaf, NULL, &failed_at) < 0)
    {
      int saved = errno;
      _msb_cleanup_free_ char *doing = msb_xasprintf ("copy (at `%s`)", failed_at ? failed_at : "?");
      return fail_errno (c, saved, doing, err);
    }
  return 0;
}

static int
apply_symlink (patch_ctx *c, msb_error **err)
{
  const char *leaf;
  _msb_cleanup_close_ int dir = open_target_parent (c, true, &leaf, err);
  if (dir < 0)
    return -1;
  if (symlinkat (c->p->src, dir, leaf) < 0)
    return fail_errno (c, errno, "create the symlink", err);
  return 0;
}

static int
apply_one (patch_ctx *c, msb_error **err)
{
  const msb_patch_spec *p = c->p;
  switch (p->kind)
    {
    case MSB_PATCH_TEXT:
    case MSB_PATCH_FILE:
      return apply_file (c, p->content, p->content_len, -1, 0644, err);
    case MSB_PATCH_APPEND:
      return apply_append (c, err);
    case MSB_PATCH_MKDIR:
      return apply_mkdir (c, err);
    case MSB_PATCH_REMOVE:
      return apply_remove (c, err);
    case MSB_PATCH_COPY_FILE:
      {
        char name[32];
        snprintf (name, sizeof name, "%zu", c->index);
        _msb_cleanup_close_ int src = openat (c->staging, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (src < 0 || fstat (src, &st) < 0)
          return fail_errno (c, errno, "open the staged host file", err);
        return apply_file (c, NULL, 0, src, st.st_mode & 07777, err);
      }
    case MSB_PATCH_COPY_DIR:
      return apply_copy_dir (c, err);
    case MSB_PATCH_SYMLINK:
      return apply_symlink (c, err);
    default:
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: unknown patch kind", c->what);
    }
}

int
msb_ns_patches_apply (int root, const msb_ns_fs_plan *plan, msb_error **err)
{
  for (size_t i = 0; i < plan->n_patches; i++)
    {
      patch_ctx c = { .root = root, .staging = plan->staging_fd, .p = &plan->patches[i], .index = i };
      c.what = msb_patch_describe (c.p, i);
      int r = apply_one (&c, err);
      free (c.what);
      if (r < 0)
        return -1;
    }
  return 0;
}

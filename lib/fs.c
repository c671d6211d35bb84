/* The one-request filesystem calls of msb/fs.h: stat, exists, list, mkdir, remove,
 * remove_dir, copy, rename, realpath, symlink, readlink. Each is a request/reply through
 * fs_call.c; list pages through OpenDir/ReadDir when a directory is too large for one List
 * reply. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/fs_call.h"

/* Entries per ReadDir page when a directory is too large for one List reply. */
#define LIST_PAGE 2048u

const char *
msb_fs_entry_kind_name (msb_fs_entry_kind kind)
{
  switch (kind)
    {
    case MSB_FS_FILE:
      return "file";
    case MSB_FS_DIRECTORY:
      return "directory";
    case MSB_FS_SYMLINK:
      return "symlink";
    default:
      return "other";
    }
}

static int
check_path (const char *path, const char *op, msb_error **err)
{
  if (path == NULL || *path == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s: the path must not be empty", op);
  return 0;
}

static int
stat_impl (msb_sandbox *sb, const char *path, bool follow, msb_fs_metadata *out,
           msb_error **err)
{
  if (check_path (path, "stat", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_STAT, .path = (char *) path, .follow_symlink = follow };
  _msb_cleanup_free_ char *what = msb_xasprintf ("stat `%s`", path);
  fs_call c;
  int r = fs_call_run (sb, &req, -1, &c, what, err);
  if (r == 0 && c.reply.u.fs_response.kind != MSB_FS_RESP_STAT)
    r = msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox answered without metadata", what);
  if (r == 0)
    fs_metadata_from_wire (&c.reply.u.fs_response.stat, out);
  fs_call_end (&c);
  return r;
}

int
msb_fs_stat (msb_sandbox *sb, const char *path, msb_fs_metadata *out, msb_error **err)
{
  return stat_impl (sb, path, true, out, err);
}

int
msb_fs_lstat (msb_sandbox *sb, const char *path, msb_fs_metadata *out, msb_error **err)
{
  return stat_impl (sb, path, false, out, err);
}

int
fs_exists_from_stat (int stat_result, msb_error *stat_err, bool *out, msb_error **err)
{
  *out = stat_result == 0;
  if (stat_result == 0 || msb_error_get_kind (stat_err) == MSB_ERR_FILESYSTEM)
    {
      msb_error_free (stat_err);
      return 0;
    }
  if (err)
    *err = stat_err;
  else
    msb_error_free (stat_err);
  return -1;
}

int
msb_fs_exists (msb_sandbox *sb, const char *path, bool *out, msb_error **err)
{
  msb_fs_metadata md;
  msb_error *e = NULL;
  int r = stat_impl (sb, path, true, &md, &e);
  return fs_exists_from_stat (r, e, out, err);
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct entry_vec
{
  msb_fs_entry *v;
  size_t n, cap;
} entry_vec;

static void
vec_add (entry_vec *vec, const msb_fs_entry_info *items, size_t n)
{
  if (vec->n + n > vec->cap)
    {
      vec->cap = (vec->n + n) * 2;
      vec->v = msb_xrealloc (vec->v, vec->cap * sizeof *vec->v);
    }
  for (size_t i = 0; i < n; i++)
    fs_entry_from_wire (&items[i], &vec->v[vec->n++]);
}

void
msb_fs_entries_free (msb_fs_entry *entries, size_t n)
{
  for (size_t i = 0; entries && i < n; i++)
    free (entries[i].path);
  free (entries);
}

static int
by_path (const void *a, const void *b)
{
  return strcmp (((const msb_fs_entry *) a)->path, ((const msb_fs_entry *) b)->path);
}

/* OpenDir + ReadDir pages + CloseHandle. */
static int
list_paged (msb_sandbox *sb, const char *path, const char *what, entry_vec *vec, msb_error **err)
{
  msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_DIR, .path = (char *) path };
  fs_call c;
  int r = fs_call_run (sb, &req, -1, &c, what, err);
  uint64_t handle = c.reply.u.fs_response.handle;
  if (r == 0 && c.reply.u.fs_response.kind != MSB_FS_RESP_HANDLE)
    r = msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox answered without a handle", what);
  fs_call_end (&c);
  if (r < 0)
    return -1;
  for (;;)
    {
      req = (msb_msg_fs_request){ .op = MSB_FS_OP_READ_DIR, .handle = handle, .has_limit = true,
                                  .limit = LIST_PAGE };
      r = fs_call_run (sb, &req, -1, &c, what, err);
      if (r == 0 && c.reply.u.fs_response.kind != MSB_FS_RESP_LIST)
        r = msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox answered without entries", what);
      size_t n = r == 0 ? c.reply.u.fs_response.n_entries : 0;
      if (r == 0)
        vec_add (vec, c.reply.u.fs_response.entries, n);
      fs_call_end (&c);
      if (r < 0 || n == 0)
        break;
    }
  fs_call_close_handle (sb, handle);
  return r;
}

int
msb_fs_list (msb_sandbox *sb, const char *path, msb_fs_entry **entries, size_t *n,
             msb_error **err)
{
  *entries = NULL;
  *n = 0;
  if (check_path (path, "list", err) < 0)
    return -1;
  _msb_cleanup_free_ char *what = msb_xasprintf ("list `%s`", path);
  msb_msg_fs_request req = { .op = MSB_FS_OP_LIST, .path = (char *) path };
  entry_vec vec = { 0 };
  fs_call c;
  msb_error *e = NULL;
  int r = fs_call_run (sb, &req, -1, &c, what, &e);
  if (r == 0 && c.reply.u.fs_response.kind != MSB_FS_RESP_LIST)
    r = msb_fail (&e, MSB_ERR_GENERIC, "%s: the sandbox answered without entries", what);
  if (r == 0)
    vec_add (&vec, c.reply.u.fs_response.entries, c.reply.u.fs_response.n_entries);
  fs_call_end (&c);
  if (r < 0 && msb_error_get_errno (e) == EFBIG)
    {
      /* Too large for one reply: read it in pages instead. */
      msb_error_clear (&e);
      r = list_paged (sb, path, what, &vec, &e);
    }
  if (r < 0)
    {
      msb_fs_entries_free (vec.v, vec.n);
      if (err)
        *err = e;
      else
        msb_error_free (e);
      return -1;
    }
  if (vec.n > 1)
    qsort (vec.v, vec.n, sizeof *vec.v, by_path);
  *entries = vec.v ? vec.v : msb_xcalloc (1, sizeof (msb_fs_entry));
  *n = vec.n;
  return 0;
}

/* ---- one-shot operations ---------------------------------------------------------------- */

int
msb_fs_mkdir (msb_sandbox *sb, const char *path, msb_error **err)
{
  if (check_path (path, "mkdir", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_MKDIR, .path = (char *) path };
  _msb_cleanup_free_ char *what = msb_xasprintf ("mkdir `%s`", path);
  return fs_call_simple (sb, &req, what, err);
}

int
msb_fs_remove (msb_sandbox *sb, const char *path, msb_error **err)
{
  if (check_path (path, "remove", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_REMOVE, .path = (char *) path };
  _msb_cleanup_free_ char *what = msb_xasprintf ("remove `%s`", path);
  return fs_call_simple (sb, &req, what, err);
}

int
msb_fs_remove_dir (msb_sandbox *sb, const char *path, msb_error **err)
{
  if (check_path (path, "remove_dir", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_REMOVE_DIR, .path = (char *) path, .recursive = true };
  _msb_cleanup_free_ char *what = msb_xasprintf ("remove directory `%s`", path);
  return fs_call_simple (sb, &req, what, err);
}

int
msb_fs_copy (msb_sandbox *sb, const char *src, const char *dst, msb_error **err)
{
  if (check_path (src, "copy", err) < 0 || check_path (dst, "copy", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_COPY, .src = (char *) src, .dst = (char *) dst };
  _msb_cleanup_free_ char *what = msb_xasprintf ("copy `%s` to `%s`", src, dst);
  return fs_call_simple (sb, &req, what, err);
}

int
msb_fs_rename (msb_sandbox *sb, const char *src, const char *dst, msb_error **err)
{
  if (check_path (src, "rename", err) < 0 || check_path (dst, "rename", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_RENAME, .src = (char *) src, .dst = (char *) dst };
  _msb_cleanup_free_ char *what = msb_xasprintf ("rename `%s` to `%s`", src, dst);
  return fs_call_simple (sb, &req, what, err);
}

static int
path_reply (msb_sandbox *sb, const msb_msg_fs_request *req, const char *what, char **out,
            msb_error **err)
{
  fs_call c;
  int r = fs_call_run (sb, req, -1, &c, what, err);
  if (r == 0 && (c.reply.u.fs_response.kind != MSB_FS_RESP_PATH || c.reply.u.fs_response.path == NULL))
    r = msb_fail (err, MSB_ERR_GENERIC, "%s: the sandbox answered without a path", what);
  if (r == 0)
    *out = msb_xstrdup (c.reply.u.fs_response.path);
  fs_call_end (&c);
  return r;
}

int
msb_fs_realpath (msb_sandbox *sb, const char *path, char **out, msb_error **err)
{
  if (check_path (path, "realpath", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_REAL_PATH, .path = (char *) path };
  _msb_cleanup_free_ char *what = msb_xasprintf ("resolve `%s`", path);
  return path_reply (sb, &req, what, out, err);
}

int
msb_fs_readlink (msb_sandbox *sb, const char *path, char **out, msb_error **err)
{
  if (check_path (path, "readlink", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_READ_LINK, .path = (char *) path };
  _msb_cleanup_free_ char *what = msb_xasprintf ("read link `%s`", path);
  return path_reply (sb, &req, what, out, err);
}

int
msb_fs_symlink (msb_sandbox *sb, const char *target, const char *link_path, msb_error **err)
{
  if (check_path (target, "symlink", err) < 0 || check_path (link_path, "symlink", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_SYMLINK, .target = (char *) target,
                             .link_path = (char *) link_path };
  _msb_cleanup_free_ char *what = msb_xasprintf ("symlink `%s` -> `%s`", link_path, target);
  return fs_call_simple (sb, &req, what, err);
}

int
msb_fs_set_mode (msb_sandbox *sb, const char *path, uint32_t mode, msb_error **err)
{
  if (check_path (path, "set_mode", err) < 0)
    return -1;
  msb_msg_fs_request req = { .op = MSB_FS_OP_SET_STAT, .path = (char *) path, .follow_symlink = true };
  req.attrs.has_mode = true;
  req.attrs.mode = mode & 07777;
  _msb_cleanup_free_ char *what = msb_xasprintf ("set the mode of `%s`", path);
  return fs_call_simple (sb, &req, what, err);
}

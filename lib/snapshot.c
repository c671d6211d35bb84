/* Snapshot management (msb/snapshot.h): open, list a directory, remove, reindex, verify, and
 * the index lookups. Creation is snapshot_create.c; booting from one, snapshot_boot.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/image/store.h"
#include "lib/snapshot_artifact.h"
#include "lib/snapshot_descriptor.h"
#include "lib/snapshot_index.h"

int
msb_snapshot_open (msb_ctx *ctx, const char *path_or_name, msb_snapshot **out, msb_error **err)
{
  _msb_cleanup_free_ char *path = NULL;
  bool is_path = false;
  if (msb_snapshot_resolve (ctx, path_or_name, &path, &is_path, err) < 0
      || msb_snapshot_load (path, out, err) < 0)
    return msb_error_prefix (err, "open snapshot `%s`", path_or_name);
  return 0;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp ((*(msb_snapshot *const *) a)->name, (*(msb_snapshot *const *) b)->name);
}

/* Every loadable artifact directly inside `dir` (absolute). */
static int
scan_dir (const char *dir, msb_snapshot ***out, size_t *n, msb_error **err)
{
  *out = NULL;
  *n = 0;
  _msb_cleanup_dir_ DIR *d = opendir (dir);
  if (d == NULL)
    return msb_fail_errno (err, errno, errno == ENOENT ? MSB_ERR_SNAPSHOT_NOT_FOUND : MSB_ERR_IO,
                           "read snapshot directory `%s`", dir);
  msb_snapshot **list = msb_xcalloc (1, sizeof *list);
  size_t count = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.') /* ".", "..", and the temporary directories of a create */
        continue;
      _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", dir, de->d_name);
      msb_snapshot *s = NULL;
      if (msb_snapshot_load (path, &s, NULL) < 0)
        continue;
      list = msb_xrealloc (list, (count + 2) * sizeof *list);
      list[count++] = s;
      list[count] = NULL;
    }
  qsort (list, count, sizeof *list, compare_names);
  *out = list;
  *n = count;
  return 0;
}

int
msb_snapshot_list_dir (msb_ctx *ctx, const char *dir, msb_snapshot ***out, size_t *n,
                       msb_error **err)
{
  _msb_cleanup_free_ char *abs = NULL;
  bool is_path = false;
  _msb_cleanup_free_ char *spelled = dir && (strchr (dir, '/') || dir[0] == '.' || dir[0] == '~')
                                         ? msb_xstrdup (dir)
                                         : msb_xasprintf ("./%s", dir ? dir : "");
  if (msb_snapshot_resolve (ctx, spelled, &abs, &is_path, err) < 0)
    return -1;
  return scan_dir (abs, out, n, err);
}

/* ---- remove ---- */

int
msb_snapshot_remove (msb_ctx *ctx, const char *path_or_name, bool force, msb_error **err)
{
  _msb_cleanup_free_ char *path = NULL;
  bool is_path = false;
  if (msb_snapshot_resolve (ctx, path_or_name, &path, &is_path, err) < 0)
    return msb_error_prefix (err, "remove snapshot `%s`", path_or_name);
  struct stat st;
  if (lstat (path, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      /* A row left by an artifact deleted by hand goes too. */
      MSB_WITH_DB (ctx)
      msb_snapshot_index_delete (&ctx->db, path, NULL);
      return msb_fail (err, MSB_ERR_SNAPSHOT_NOT_FOUND, "remove snapshot `%s`: no artifact at `%s`",
                       path_or_name, path);
    }
  msb_snapshot *s = NULL;
  msb_error *load_err = NULL;
  if (msb_snapshot_load (path, &s, &load_err) < 0)
    {
      /* Refused unless forced: what is not an artifact may be anybody's directory. Even
       * forced, a directory without a descriptor is not touched. */
      _msb_cleanup_free_ char *desc = msb_xasprintf ("%s/" MSB_SNAPSHOT_DESCRIPTOR, path);
      if (!force || access (desc, F_OK) < 0)
        {
          if (err)
            *err = load_err;
          else
            msb_error_free (load_err);
          return msb_error_prefix (err, "remove snapshot `%s`%s", path_or_name,
                                   force ? "" : " (force removes an unreadable artifact)");
        }
      msb_error_free (load_err);
    }
  msb_snapshot_free (s);
  /* Renamed away first, so the artifact disappears at once even if deleting takes a while. */
  _msb_cleanup_free_ char *parent = msb_xstrdup (path);
  char *slash = strrchr (parent, '/');
  const char *base = slash + 1;
  *slash = '\0';
  _msb_cleanup_close_ int pfd = open (*parent ? parent : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", parent);
  _msb_cleanup_free_ char *doomed = msb_xasprintf (".%s.removing-%d", base, (int) getpid ());
  if (renameat (pfd, base, pfd, doomed) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "remove snapshot `%s`", path);
  int r;
  MSB_WITH_DB (ctx)
  r = msb_snapshot_index_delete (&ctx->db, path, err);
  if (msb_rm_rf_at (pfd, doomed, err) < 0)
    return msb_error_prefix (err, "remove snapshot `%s`", path);
  return r;
}

/* ---- reindex ---- */

int
msb_snapshot_reindex (msb_ctx *ctx, const char *dir, size_t *count, msb_error **err)
{
  _msb_cleanup_free_ char *abs = NULL;
  if (dir)
    {
      bool is_path = false;
      _msb_cleanup_free_ char *spelled = strchr (dir, '/') || dir[0] == '.' || dir[0] == '~'
                                             ? msb_xstrdup (dir)
                                             : msb_xasprintf ("./%s", dir);
      if (msb_snapshot_resolve (ctx, spelled, &abs, &is_path, err) < 0)
        return -1;
    }
  else
    abs = msb_snapshot_home_dir (ctx);
  msb_snapshot **list = NULL;
  size_t n = 0;
  if (scan_dir (abs, &list, &n, err) < 0)
    return msb_error_prefix (err, "reindex snapshots");
  struct msb_snapshot_info *rows = NULL;
  size_t n_rows = 0;
  size_t prefix = strlen (abs);
  int r = 0;
  MSB_WITH_DB (ctx)
  {
    for (size_t i = 0; r == 0 && i < n; i++)
      r = msb_snapshot_index_put (&ctx->db, list[i]->path, list[i]->name, list[i]->digest,
                                  list[i]->desc, err);
    if (r == 0)
      r = msb_snapshot_index_list (&ctx->db, &rows, &n_rows, err);
    for (size_t i = 0; r == 0 && i < n_rows; i++)
      {
        bool in_scope
            = dir == NULL
              || (strncmp (rows[i].path, abs, prefix) == 0 && rows[i].path[prefix] == '/');
        if (in_scope && !rows[i].available)
          r = msb_snapshot_index_delete (&ctx->db, rows[i].path, err);
      }
  }
  for (size_t i = 0; i < n_rows; i++)
    msb_snapshot_info_clear (&rows[i]);
  free (rows);
  msb_snapshot_list_free (list, n);
  if (r < 0)
    return msb_error_prefix (err, "reindex snapshots");
  if (count)
    *count = n;
  return 0;
}

/* ---- verify ---- */

static void
check (json_t *checks, bool *ok, const char *name, bool passed, const char *message)
{
  json_array_append_new (
      checks, json_pack ("{s:s, s:b, s:s}", "check", name, "ok", passed, "message", message));
  if (!passed)
    *ok = false;
}

int
msb_snapshot_verify (msb_ctx *ctx, const msb_snapshot *s, char **report_json, msb_error **err)
{
  json_t *checks = json_array ();
  bool ok = true;
  _msb_cleanup_close_ int dir = open (s->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    {
      json_decref (checks);
      return msb_fail_errno (err, errno, MSB_ERR_SNAPSHOT_NOT_FOUND, "verify snapshot `%s`",
                             s->path);
    }
  check (checks, &ok, "descriptor", true, "snapshot.json parses as schema 1");
  const char *file = msb_snapshot_desc_str (s->desc, "state.upper.file");
  struct stat st;
  if (file == NULL)
    check (checks, &ok, "upper", true, "no upper file (not a file snapshot)");
  else if (fstatat (dir, file, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG (st.st_mode))
    check (checks, &ok, "upper", false, "the upper file is missing");
  else
    {
      uint64_t want = msb_snapshot_desc_upper_size (s->desc);
      _msb_cleanup_free_ char *msg
          = msb_xasprintf ("%s is %llu bytes (descriptor: %llu)", file,
                           (unsigned long long) st.st_size, (unsigned long long) want);
      check (checks, &ok, "upper_size", (uint64_t) st.st_size == want, msg);
      const char *recorded = msb_snapshot_desc_str (s->desc, "state.upper.integrity.digest");
      if (recorded)
        {
          char actual[MSB_DIGEST_STRLEN];
          if (msb_snapshot_file_digest (dir, file, actual, err) < 0)
            {
              json_decref (checks);
              return msb_error_prefix (err, "verify snapshot `%s`", s->path);
            }
          _msb_cleanup_free_ char *m
              = msb_xasprintf ("%s of %s (recorded %s)", actual, file, recorded);
          check (checks, &ok, "integrity", strcmp (actual, recorded) == 0, m);
        }
      else
        check (checks, &ok, "integrity", true, "no integrity digest recorded");
    }
  const char *manifest = msb_snapshot_image_manifest_digest (s);
  if (manifest)
    {
      msb_image img;
      int found;
      MSB_WITH_DB (ctx)
      found = msb_image_store_lookup (&ctx->db, manifest, &img, NULL) == 0;
      if (found)
        msb_image_clear (&img);
      _msb_cleanup_free_ char *m
          = msb_xasprintf ("image %s %s", manifest,
                           found ? "is cached" : "is not cached (a boot pulls it by digest)");
      /* Not a failure: booting pulls the image by its digest when the policy allows. */
      check (checks, &ok, "image", true, m);
    }
  json_t *report = json_pack ("{s:b, s:s, s:s, s:o}", "ok", ok, "digest", s->digest, "path",
                              s->path, "checks", checks);
  *report_json = json_dumps (report, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (report);
  return 0;
}

/* ---- the index ---- */

int
msb_snapshot_get (msb_ctx *ctx, const char *name_or_digest, msb_snapshot_info **out,
                  msb_error **err)
{
  if (name_or_digest == NULL || *name_or_digest == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "snapshot: a name or digest is required");
  _msb_cleanup_free_ char *home = msb_snapshot_home_dir (ctx);
  _msb_cleanup_free_ char *prefer = msb_xasprintf ("%s/%s", home, name_or_digest);
  msb_snapshot_info *info = msb_xcalloc (1, sizeof *info);
  bool found = false;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_snapshot_index_find (&ctx->db, name_or_digest, prefer, info, &found, err);
  if (r == 0 && !found)
    r = msb_fail (err, MSB_ERR_SNAPSHOT_NOT_FOUND, "snapshot `%s` is not indexed", name_or_digest);
  if (r < 0)
    {
      free (info);
      return -1;
    }
  *out = info;
  return 0;
}

int
msb_snapshot_list (msb_ctx *ctx, msb_snapshot_info ***out, size_t *n, msb_error **err)
{
  struct msb_snapshot_info *rows = NULL;
  size_t count = 0;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_snapshot_index_list (&ctx->db, &rows, &count, err);
  if (r < 0)
    return -1;
  msb_snapshot_info **list = msb_xcalloc (count + 1, sizeof *list);
  for (size_t i = 0; i < count; i++)
    {
      list[i] = msb_xmalloc (sizeof **list);
      *list[i] = rows[i];
    }
  free (rows);
  *out = list;
  *n = count;
  return 0;
}

void
msb_snapshot_info_free (msb_snapshot_info *info)
{
  if (info == NULL)
    return;
  msb_snapshot_info_clear (info);
  free (info);
}

void
msb_snapshot_info_list_free (msb_snapshot_info **list, size_t n)
{
  for (size_t i = 0; list && i < n; i++)
    msb_snapshot_info_free (list[i]);
  free (list);
}

#define INFO_STR(field)                                                                            \
  const char *msb_snapshot_info_##field (const msb_snapshot_info *i) { return i->field; }
INFO_STR (digest)
INFO_STR (name)
INFO_STR (path)
INFO_STR (parent_digest)
INFO_STR (scope)
INFO_STR (image_ref)
INFO_STR (state_kind)
INFO_STR (format)
INFO_STR (fstype)
INFO_STR (source_sandbox)
INFO_STR (labels_json)
#undef INFO_STR

const char *
msb_snapshot_info_image_manifest_digest (const msb_snapshot_info *i)
{
  return i->manifest_digest;
}

uint64_t
msb_snapshot_info_size_bytes (const msb_snapshot_info *i)
{
  return i->size_bytes;
}

int64_t
msb_snapshot_info_created_at (const msb_snapshot_info *i)
{
  return i->created_at;
}

bool
msb_snapshot_info_is_available (const msb_snapshot_info *i)
{
  return i->available;
}

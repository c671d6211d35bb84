/* Snapshot artifacts on disk (see snapshot_artifact.h) and the accessors of msb_snapshot. */
#include "lib/snapshot_artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/snapshot_descriptor.h"
#include "lib/snapshot_index.h"

#define MAX_DESCRIPTOR (1u << 20)

int
msb_snapshot_name_validate (const char *name, msb_error **err)
{
  if (name == NULL || *name == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot name must not be empty");
  size_t n = strlen (name);
  if (n > 128)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot name is %zu bytes; the limit is 128",
                     n);
  if (name[0] == '.' || name[0] == '~')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "snapshot name `%s` must not start with '.' or '~' (that is a path)", name);
  for (const unsigned char *p = (const unsigned char *) name; *p; p++)
    if (*p == '/' || *p < 0x20 || *p == 0x7f)
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "snapshot name `%s` must not contain '/' or control characters", name);
  return 0;
}

char *
msb_snapshot_home_dir (msb_ctx *ctx)
{
  return msb_home_path (&ctx->home, "snapshots");
}

/* An absolute form of a user-given path: "~" expanded, relative paths taken from the current
 * directory, "." and ".." components folded when the path exists. */
static char *
absolute_path (const char *p)
{
  _msb_cleanup_free_ char *expanded = NULL;
  if (p[0] == '~' && (p[1] == '/' || p[1] == '\0'))
    {
      const char *home = getenv ("HOME");
      expanded = msb_xasprintf ("%s%s", home && *home ? home : "/", p + 1);
      p = expanded;
    }
  char real[PATH_MAX];
  if (realpath (p, real))
    return msb_xstrdup (real);
  if (p[0] == '/')
    return msb_xstrdup (p);
  char cwd[PATH_MAX];
  if (getcwd (cwd, sizeof cwd) == NULL)
    return msb_xstrdup (p);
  return msb_xasprintf ("%s/%s", cwd, p);
}

int
msb_snapshot_resolve (msb_ctx *ctx, const char *path_or_name, char **out, bool *is_path,
                      msb_error **err)
{
  if (path_or_name == NULL || *path_or_name == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "snapshot: a name or path is required");
  *is_path = strchr (path_or_name, '/') || path_or_name[0] == '.' || path_or_name[0] == '~';
  if (*is_path)
    {
      *out = absolute_path (path_or_name);
      return 0;
    }
  if (msb_snapshot_name_validate (path_or_name, err) < 0)
    return -1;
  _msb_cleanup_free_ char *dir = msb_snapshot_home_dir (ctx);
  char *path = msb_xasprintf ("%s/%s", dir, path_or_name);
  if (access (path, F_OK) == 0)
    {
      *out = path;
      return 0;
    }
  /* Not in the home's snapshots: an artifact made elsewhere (dest_dir) known by name. */
  struct msb_snapshot_info row;
  bool found = false;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_snapshot_index_find (&ctx->db, path_or_name, path, &row, &found, err);
  if (r < 0)
    {
      free (path);
      return -1;
    }
  if (found)
    {
      free (path);
      path = msb_steal_pointer (&row.path);
      msb_snapshot_info_clear (&row);
    }
  *out = path;
  return 0;
}

int
msb_snapshot_load (const char *path, msb_snapshot **out, msb_error **err)
{
  _msb_cleanup_close_ int dir = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return msb_fail_errno (
        err, errno, errno == ENOENT || errno == ENOTDIR ? MSB_ERR_SNAPSHOT_NOT_FOUND : MSB_ERR_IO,
        "snapshot artifact `%s`", path);
  _msb_cleanup_free_ char *text = NULL;
  size_t len = 0;
  msb_error *e = NULL;
  if (msb_read_file_at (dir, MSB_SNAPSHOT_DESCRIPTOR, MAX_DESCRIPTOR, &text, &len, &e) < 0)
    {
      bool missing = msb_error_get_errno (e) == ENOENT;
      msb_error_free (e);
      if (missing)
        return msb_fail (err, MSB_ERR_SNAPSHOT_NOT_FOUND,
                         "snapshot artifact `%s` has no " MSB_SNAPSHOT_DESCRIPTOR, path);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "read `%s/" MSB_SNAPSHOT_DESCRIPTOR "`", path);
    }
  json_t *desc = NULL;
  if (msb_snapshot_desc_parse (text, len, &desc, err) < 0)
    return msb_error_prefix (err, "`%s/" MSB_SNAPSHOT_DESCRIPTOR "`", path);
  msb_snapshot *s = msb_xcalloc (1, sizeof *s);
  s->path = msb_xstrdup (path);
  const char *slash = strrchr (s->path, '/');
  s->name = msb_xstrdup (slash && slash[1] ? slash + 1 : s->path);
  s->digest = msb_snapshot_desc_digest (desc);
  s->text = msb_steal_pointer (&text);
  s->desc = desc;
  *out = s;
  return 0;
}

void
msb_snapshot_free (msb_snapshot *s)
{
  if (s == NULL)
    return;
  free (s->path);
  free (s->name);
  free (s->digest);
  free (s->text);
  json_decref (s->desc);
  free (s);
}

void
msb_snapshot_list_free (msb_snapshot **list, size_t n)
{
  for (size_t i = 0; list && i < n; i++)
    msb_snapshot_free (list[i]);
  free (list);
}

const char *
msb_snapshot_path (const msb_snapshot *s)
{
  return s->path;
}

const char *
msb_snapshot_name (const msb_snapshot *s)
{
  return s->name;
}

const char *
msb_snapshot_digest (const msb_snapshot *s)
{
  return s->digest;
}

const char *
msb_snapshot_descriptor_json (const msb_snapshot *s)
{
  return s->text;
}

const char *
msb_snapshot_image_ref (const msb_snapshot *s)
{
  return msb_snapshot_desc_str (s->desc, "image.ref");
}

const char *
msb_snapshot_image_manifest_digest (const msb_snapshot *s)
{
  return msb_snapshot_desc_str (s->desc, "image.manifest_digest");
}

uint64_t
msb_snapshot_size_bytes (const msb_snapshot *s)
{
  return msb_snapshot_desc_upper_size (s->desc);
}

/* The public volume API (msb/volume.h) and what sandbox create does with named mounts
 * (volume_mounts.h): create the volumes a config asks for, refuse missing ones. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/internal.h"
#include "lib/state.h"
#include "lib/volume_mounts.h"
#include "lib/volume_store.h"

struct msb_volume_info
{
  msb_volume_row row;
  char *path;
  uint64_t used_bytes;
};

static char *
labels_json_of (const char *const *labels, msb_error **err)
{
  json_t *o = json_object ();
  for (const char *const *l = labels; l && *l; l++)
    {
      const char *eq = strchr (*l, '=');
      _msb_cleanup_free_ char *k = eq ? msb_xstrndup (*l, (size_t) (eq - *l)) : msb_xstrdup (*l);
      if (*k == '\0' || json_object_set_new (o, k, json_string (eq ? eq + 1 : "")) < 0)
        {
          json_decref (o);
          msb_fail (err, MSB_ERR_INVALID_CONFIG, "volume label `%s` is not K=V text", *l);
          return NULL;
        }
    }
  char *s = json_dumps (o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (o);
  return s;
}

static msb_volume_info *
info_new (msb_ctx *ctx, msb_volume_row *row)
{
  msb_volume_info *info = msb_xcalloc (1, sizeof *info);
  info->row = *row;
  memset (row, 0, sizeof *row);
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (info->row.name);
  info->path = msb_home_path (&ctx->home, rel);
  info->used_bytes = msb_volume_used_bytes (&ctx->home, &info->row);
  return info;
}

int
msb_volume_create (msb_ctx *ctx, const char *name, const msb_volume_opts *opts,
                   msb_volume_info **out, msb_error **err)
{
  msb_volume_opts o = { 0 };
  if (opts)
    memcpy (&o, opts, opts->size && opts->size < sizeof o ? opts->size : sizeof o);
  _msb_cleanup_free_ char *labels = labels_json_of (o.labels, err);
  if (labels == NULL)
    return -1;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_volume_create_in (&ctx->db, &ctx->home, name, o.kind, o.size_mib, o.quota_mib, labels,
                            err);
  if (r < 0)
    return msb_error_prefix (err, "create volume `%s`", name ? name : "");
  return out ? msb_volume_get (ctx, name, out, err) : 0;
}

int
msb_volume_get (msb_ctx *ctx, const char *name, msb_volume_info **out, msb_error **err)
{
  msb_volume_row row = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_volume_row_get (&ctx->db, name, &row, err);
  if (r < 0)
    return -1;
  *out = info_new (ctx, &row);
  return 0;
}

int
msb_volume_list (msb_ctx *ctx, msb_volume_info ***out, size_t *n, msb_error **err)
{
  msb_volume_row *rows = NULL;
  size_t count = 0;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_volume_rows_list (&ctx->db, &rows, &count, err);
  if (r < 0)
    return -1;
  msb_volume_info **list = msb_xcalloc (count + 1, sizeof *list);
  for (size_t i = 0; i < count; i++)
    list[i] = info_new (ctx, &rows[i]);
  free (rows);
  *out = list;
  *n = count;
  return 0;
}

/* The running sandbox that mounts volume `name`, or NULL. */
static char *
user_of (msb_ctx *ctx, const char *name)
{
  msb_sandbox_row *rows = NULL;
  size_t n = 0;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_state_list (&ctx->db, &ctx->home, &rows, &n, NULL);
  if (r < 0)
    return NULL;
  char *user = NULL;
  for (size_t i = 0; i < n; i++)
    {
      msb_config *cfg = NULL;
      bool live = rows[i].status == MSB_STATUS_STARTING || rows[i].status == MSB_STATUS_RUNNING
                  || rows[i].status == MSB_STATUS_DRAINING;
      if (user == NULL && live && msb_config_from_json (rows[i].config_json, &cfg, NULL) == 0)
        for (size_t k = 0; k < cfg->files.n_mounts && user == NULL; k++)
          if (cfg->files.mounts[k].kind == MSB_MOUNT_KIND_NAMED
              && strcmp (cfg->files.mounts[k].source, name) == 0
              && msb_runtime_is_alive (&ctx->home, rows[i].name))
            user = msb_xstrdup (rows[i].name);
      msb_config_free (cfg);
      msb_sandbox_row_clear (&rows[i]);
    }
  free (rows);
  return user;
}

int
msb_volume_remove (msb_ctx *ctx, const char *name, msb_error **err)
{
  msb_volume_row row = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_volume_row_get (&ctx->db, name, &row, err);
  msb_volume_row_clear (&row);
  if (r < 0)
    return -1;
  _msb_cleanup_free_ char *user = user_of (ctx, name);
  if (user)
    return msb_fail (err, MSB_ERR_GENERIC, "volume `%s` is in use by running sandbox `%s`", name,
                     user);
  if (msb_volume_storage_remove (&ctx->home, name, err) < 0)
    return -1;
  MSB_WITH_DB (ctx)
  r = msb_volume_row_delete (&ctx->db, name, err);
  return r;
}

void
msb_volume_info_free (msb_volume_info *info)
{
  if (info == NULL)
    return;
  msb_volume_row_clear (&info->row);
  free (info->path);
  free (info);
}

void
msb_volume_info_list_free (msb_volume_info **list, size_t n)
{
  for (size_t i = 0; list && i < n; i++)
    msb_volume_info_free (list[i]);
  free (list);
}

const char *
msb_volume_info_name (const msb_volume_info *i)
{
  return i->row.name;
}

msb_volume_kind
msb_volume_info_kind (const msb_volume_info *i)
{
  return i->row.kind;
}

const char *
msb_volume_info_path (const msb_volume_info *i)
{
  return i->path;
}

uint64_t
msb_volume_info_quota_mib (const msb_volume_info *i)
{
  return i->row.quota_mib;
}

uint64_t
msb_volume_info_used_bytes (const msb_volume_info *i)
{
  return i->used_bytes;
}

uint64_t
msb_volume_info_capacity_bytes (const msb_volume_info *i)
{
  return (i->row.kind == MSB_VOLUME_DISK ? i->row.size_mib : i->row.quota_mib) << 20;
}

const char *
msb_volume_info_disk_format (const msb_volume_info *i)
{
  return i->row.kind == MSB_VOLUME_DISK ? "raw" : NULL;
}

const char *
msb_volume_info_disk_fstype (const msb_volume_info *i)
{
  return i->row.kind == MSB_VOLUME_DISK ? "ext4" : NULL;
}

const char *
msb_volume_info_labels_json (const msb_volume_info *i)
{
  return i->row.labels_json ? i->row.labels_json : "{}";
}

int64_t
msb_volume_info_created_at (const msb_volume_info *i)
{
  return i->row.created_at;
}

/* ---- sandbox create --------------------------------------------------------------------- */

void
msb_volumes_created_free (msb_volumes_created *c)
{
  msb_strv_free (c->names);
  c->names = NULL;
}

int
msb_volumes_prepare_create (msb_ctx *ctx, const msb_config *cfg, msb_volumes_created *created,
                            msb_error **err)
{
  created->names = msb_xcalloc (cfg->files.n_mounts + 1, sizeof (char *));
  size_t n = 0;
  for (size_t i = 0; i < cfg->files.n_mounts; i++)
    {
      const msb_mount_spec *m = &cfg->files.mounts[i];
      if (m->kind != MSB_MOUNT_KIND_NAMED)
        continue;
      msb_volume_row row = { 0 };
      msb_error *e = NULL;
      int r;
      MSB_WITH_DB (ctx)
      r = msb_volume_row_get (&ctx->db, m->source, &row, &e);
      msb_volume_row_clear (&row);
      if (r == 0 && m->named_mode == MSB_NAMED_CREATE)
        {
          msb_error_free (e);
          return msb_fail (err, MSB_ERR_GENERIC,
                           "volume `%s` already exists (mode `create` makes a new one)", m->source);
        }
      if (r == 0)
        continue;
      if (msb_error_get_kind (e) != MSB_ERR_VOLUME_NOT_FOUND || m->named_mode == MSB_NAMED_EXISTING)
        {
          if (msb_error_get_kind (e) == MSB_ERR_VOLUME_NOT_FOUND)
            msb_error_prefix (&e, "mount at %s (create it with `msb volume create %s`)", m->target,
                              m->source);
          if (err)
            *err = e;
          else
            msb_error_free (e);
          return -1;
        }
      msb_error_free (e);
      MSB_WITH_DB (ctx)
      r = msb_volume_create_in (&ctx->db, &ctx->home, m->source, (msb_volume_kind) m->named_kind,
                                m->named_kind == MSB_VOLUME_DISK ? m->size_mib : 0, m->quota_mib,
                                NULL, err);
      if (r < 0)
        return msb_error_prefix (err, "create volume `%s` for %s", m->source, m->target);
      created->names[n++] = msb_xstrdup (m->source);
    }
  return 0;
}

void
msb_volumes_undo_create (msb_ctx *ctx, msb_volumes_created *created)
{
  for (char **n = created->names; n && *n; n++)
    {
      msb_volume_storage_remove (&ctx->home, *n, NULL);
      MSB_WITH_DB (ctx)
      msb_volume_row_delete (&ctx->db, *n, NULL);
    }
  msb_volumes_created_free (created);
}

/* The public image calls (include/msb/image.h) over the image store. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/save.h"
#include "lib/image/store.h"
#include "lib/image/store_gc.h"
#include "lib/image/store_lock.h"
#include "lib/image_acquire.h"
#include "lib/internal.h"

struct msb_image_info
{
  msb_image img;
};

int
msb_image_load (msb_ctx *ctx, const char *path, const char *tag, char ***refs, msb_error **err)
{
  int r;
  /* Shared store lock: a concurrent prune must not remove layers this load finds cached. */
  _msb_cleanup_close_ int store_lock = msb_image_store_lock (&ctx->home, false, err);
  if (store_lock < 0)
    return msb_error_prefix (err, "load `%s`", path);
  MSB_WITH_DB (ctx)
  r = msb_image_store_load (&ctx->home, &ctx->db, path, tag, refs, err);
  return r < 0 ? msb_error_prefix (err, "load `%s`", path) : 0;
}

msb_image_info *
msb_image_info_take (msb_image *img)
{
  msb_image_info *info = msb_xcalloc (1, sizeof *info);
  info->img = *img;
  memset (img, 0, sizeof *img);
  return info;
}

int
msb_image_get (msb_ctx *ctx, const char *reference, msb_image_info **out, msb_error **err)
{
  msb_image_info *info = msb_xcalloc (1, sizeof *info);
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_lookup (&ctx->db, reference, &info->img, err);
  if (r < 0)
    {
      free (info);
      return -1;
    }
  *out = info;
  return 0;
}

int
msb_image_list (msb_ctx *ctx, msb_image_info ***out, size_t *n, msb_error **err)
{
  msb_image *imgs = NULL;
  size_t count = 0;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_list (&ctx->db, &imgs, &count, err);
  if (r < 0)
    return -1;
  msb_image_info **list = msb_xcalloc (count + 1, sizeof *list);
  for (size_t i = 0; i < count; i++)
    {
      list[i] = msb_xcalloc (1, sizeof **list);
      list[i]->img = imgs[i];
    }
  free (imgs);
  *out = list;
  *n = count;
  return 0;
}

void
msb_image_info_free (msb_image_info *info)
{
  if (info == NULL)
    return;
  msb_image_clear (&info->img);
  free (info);
}

void
msb_image_info_list_free (msb_image_info **list, size_t n)
{
  for (size_t i = 0; list && i < n; i++)
    msb_image_info_free (list[i]);
  free (list);
}

const char *
msb_image_info_reference (const msb_image_info *i)
{
  return i->img.reference;
}

const char *
msb_image_info_manifest_digest (const msb_image_info *i)
{
  return i->img.manifest_digest;
}

const char *
msb_image_info_architecture (const msb_image_info *i)
{
  return i->img.architecture;
}

const char *
msb_image_info_os (const msb_image_info *i)
{
  return i->img.os;
}

size_t
msb_image_info_layer_count (const msb_image_info *i)
{
  return i->img.layer_count;
}

uint64_t
msb_image_info_size_bytes (const msb_image_info *i)
{
  return i->img.size_bytes;
}

int64_t
msb_image_info_created_at (const msb_image_info *i)
{
  return i->img.created_at;
}

const char *const *
msb_image_info_entrypoint (const msb_image_info *i)
{
  return (const char *const *) i->img.config.entrypoint;
}

const char *const *
msb_image_info_cmd (const msb_image_info *i)
{
  return (const char *const *) i->img.config.cmd;
}

const char *const *
msb_image_info_env (const msb_image_info *i)
{
  return (const char *const *) i->img.config.env;
}

const char *
msb_image_info_working_dir (const msb_image_info *i)
{
  return i->img.config.working_dir;
}

const char *
msb_image_info_user (const msb_image_info *i)
{
  return i->img.config.user;
}

const char *const *
msb_image_info_labels (const msb_image_info *i)
{
  return (const char *const *) i->img.config.labels;
}

const char *
msb_image_info_stop_signal (const msb_image_info *i)
{
  return i->img.config.stop_signal;
}

const char *
msb_image_info_config_digest (const msb_image_info *i)
{
  return i->img.config_digest;
}

int64_t
msb_image_info_last_used_at (const msb_image_info *i)
{
  return i->img.last_used_at;
}

const char *
msb_image_info_layer_diff_id (const msb_image_info *i, size_t k)
{
  return k < i->img.layer_count ? i->img.diff_ids[k] : NULL;
}

const char *
msb_image_info_layer_blob_digest (const msb_image_info *i, size_t k)
{
  return k < i->img.layer_count ? i->img.blob_digests[k] : NULL;
}

const char *
msb_image_info_layer_media_type (const msb_image_info *i, size_t k)
{
  return k < i->img.layer_count ? i->img.layer_media_types[k] : NULL;
}

uint64_t
msb_image_info_layer_compressed_size (const msb_image_info *i, size_t k)
{
  return k < i->img.layer_count ? i->img.compressed_sizes[k] : 0;
}

uint64_t
msb_image_info_layer_unpacked_size (const msb_image_info *i, size_t k)
{
  return k < i->img.layer_count ? i->img.unpacked_sizes[k] : 0;
}

/* ---- remove / prune / save ---- */

int
msb_image_remove (msb_ctx *ctx, const char *reference, bool force, msb_error **err)
{
  _msb_cleanup_close_ int lock = msb_image_store_lock (&ctx->home, true, err);
  if (lock < 0)
    return -1;
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_remove (&ctx->home, &ctx->db, reference, force, NULL, err);
  return r;
}

int
msb_image_prune (msb_ctx *ctx, msb_image_prune_report *report, msb_error **err)
{
  if (report && report->size < offsetof (msb_image_prune_report, layers_removed))
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "msb_image_prune_report.size is not set");
  _msb_cleanup_close_ int lock = msb_image_store_lock (&ctx->home, true, err);
  if (lock < 0)
    return -1;
  msb_image_gc_report rep = { 0 };
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_prune (&ctx->home, &ctx->db, &rep, err);
  if (r < 0)
    return -1;
  if (report)
    {
      msb_image_prune_report full = {
        .size = sizeof full,
        .image_refs_removed = rep.refs_removed,
        .manifests_removed = rep.manifests_removed,
        .layers_removed = rep.layers_removed,
        .bytes_reclaimed = (int64_t) rep.bytes_reclaimed,
      };
      size_t n = report->size < sizeof full ? report->size : sizeof full;
      memcpy (report, &full, n);
      report->size = n;
    }
  return 0;
}

int
msb_image_save_fd (msb_ctx *ctx, const char *const *references, size_t n, int fd,
                   msb_image_archive_format format, msb_error **err)
{
  if (n == 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "save: no image named");
  /* Shared: a prune waits until the layers are read. */
  _msb_cleanup_close_ int lock = msb_image_store_lock (&ctx->home, false, err);
  if (lock < 0)
    return -1;
  msb_image *imgs = msb_xcalloc (n, sizeof *imgs);
  char **configs = msb_xcalloc (n + 1, sizeof (char *));
  int r = 0;
  MSB_WITH_DB (ctx)
  for (size_t i = 0; i < n && r == 0; i++)
    {
      r = msb_image_store_lookup (&ctx->db, references[i], &imgs[i], err);
      if (r == 0)
        r = msb_image_store_config_json (&ctx->db, imgs[i].manifest_digest, &configs[i], err);
    }
  if (r == 0)
    r = msb_image_store_save (&ctx->home, imgs, (const char *const *) configs, n,
                              format == MSB_IMAGE_ARCHIVE_OCI ? MSB_SAVE_OCI : MSB_SAVE_DOCKER, fd,
                              err);
  for (size_t i = 0; i < n; i++)
    {
      msb_image_clear (&imgs[i]);
      free (configs[i]);
    }
  free (imgs);
  free (configs);
  return r < 0 ? msb_error_prefix (err, "save %s%s", references[0], n > 1 ? " and others" : "")
               : 0;
}

int
msb_image_save (msb_ctx *ctx, const char *const *references, size_t n, const char *output_path,
                msb_image_archive_format format, msb_error **err)
{
  _msb_cleanup_free_ char *tmp = msb_xasprintf ("%s.tmp.%d", output_path, (int) getpid ());
  _msb_cleanup_close_ int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "save to `%s`", output_path);
  if (msb_image_save_fd (ctx, references, n, fd, format, err) < 0)
    {
      unlink (tmp);
      return -1;
    }
  if (fsync (fd) < 0 || rename (tmp, output_path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return msb_fail_errno (err, e, MSB_ERR_IO, "save to `%s`", output_path);
    }
  return 0;
}

/* The public image calls (include/msb/image.h) over the image store. */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "lib/image/store.h"
#include "lib/internal.h"

struct msb_image_info
{
  msb_image img;
};

int
msb_image_load (msb_ctx *ctx, const char *path, const char *tag, char ***refs, msb_error **err)
{
  int r;
  MSB_WITH_DB (ctx)
  r = msb_image_store_load (&ctx->home, &ctx->db, path, tag, refs, err);
  return r < 0 ? msb_error_prefix (err, "load `%s`", path) : 0;
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

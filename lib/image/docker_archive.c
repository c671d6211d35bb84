/* `docker save` archives: manifest.json lists, per image, the config file, the RepoTags and
 * the layer files bottom to top. There is no manifest digest: load.c synthesises an OCI
 * manifest once the layer blobs are hashed. A config named by its digest (<hex>.json, or
 * blobs/sha256/<hex> in newer saves) is checked against it; layer files are checked
 * against the config's diff_ids as they are unpacked. */
#include <jansson.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/image_archive.h"
#include "lib/image/digest.h"
#include "lib/image/ref.h"
#include "lib/image/store.h"
#include "lib/json_cleanup.h"

/* "<64 hex>.json" and "blobs/sha256/<64 hex>" name their content's digest: returns
 * "sha256:<hex>" for such a path, else NULL. */
static char *
digest_in_path (const char *path)
{
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  size_t n = strspn (base, "0123456789abcdef");
  if (n == 64 && (base[64] == '\0' || strcmp (base + 64, ".json") == 0)
      && (strncmp (path, "blobs/sha256/", 13) == 0 || base[64] == '.'))
    return msb_xasprintf ("sha256:%.64s", base);
  return NULL;
}

static int
read_config (msb_image_source *src, const char *path, msb_loaded_image *img, char ***diff_ids,
             msb_error **err)
{
  size_t len = 0;
  if (msb_image_source_read (src, path, MSB_IMAGE_JSON_MAX, &img->config_json, &len, err) < 0)
    return -1;
  char actual[MSB_DIGEST_STRLEN];
  msb_sha256_digest (img->config_json, len, actual);
  _msb_cleanup_free_ char *named = digest_in_path (path);
  if (named && strcmp (named, actual) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "config `%s`: digest mismatch (content is %s)",
                     path, actual);
  img->config_digest = msb_xstrdup (actual);
  img->config_size = len;
  msb_image_config cfg;
  if (msb_image_config_parse (img->config_json, len, &cfg, NULL, NULL, diff_ids, err) < 0)
    return -1;
  msb_image_config_clear (&cfg);
  return 0;
}

static int
read_layers (json_t *layers, char **diff_ids, msb_loaded_image *img, msb_error **err)
{
  size_t n = json_array_size (layers);
  if (!json_is_array (layers) || msb_strv_len (diff_ids) != n)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "manifest.json lists %zu layers but the config has %zu diff_ids", n,
                     msb_strv_len (diff_ids));
  img->layers = msb_xcalloc (n ? n : 1, sizeof *img->layers);
  img->layer_count = n;
  for (size_t i = 0; i < n; i++)
    {
      const char *path = json_string_value (json_array_get (layers, i));
      if (path == NULL || msb_digest_check (diff_ids[i], "diff_id", err) < 0)
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest.json: bad layer %zu", i);
      img->layers[i].blob_path = msb_xstrdup (path);
      if (strncmp (path, "blobs/sha256/", 13) == 0)
        img->layers[i].blob_digest = digest_in_path (path);
      img->layers[i].diff_id = msb_xstrdup (diff_ids[i]);
    }
  return 0;
}

static int
read_repo_tags (json_t *tags, msb_loaded_image *img, msb_error **err)
{
  size_t i;
  json_t *t;
  json_array_foreach (tags, i, t)
  {
    _msb_cleanup_free_ char *canonical = NULL;
    const char *s = json_string_value (t);
    if (s == NULL || msb_image_ref_canonicalize (s, &canonical, err) < 0)
      return msb_error_prefix (err, "manifest.json RepoTags");
    msb_loaded_image_add_ref (img, canonical);
  }
  return 0;
}

static int
resolve_item (msb_image_source *src, json_t *item, msb_loaded_image *img, msb_error **err)
{
  const char *config = json_string_value (json_object_get (item, "Config"));
  if (config == NULL)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest.json: entry without Config");
  img->is_docker = true;
  _msb_cleanup_strv_ char **diff_ids = NULL;
  if (read_config (src, config, img, &diff_ids, err) < 0
      || read_layers (json_object_get (item, "Layers"), diff_ids, img, err) < 0
      || read_repo_tags (json_object_get (item, "RepoTags"), img, err) < 0)
    return -1;
  return 0;
}

int
msb_docker_archive_resolve (msb_image_source *src, msb_loaded_set *out, msb_error **err)
{
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (msb_image_source_read (src, "manifest.json", MSB_IMAGE_JSON_MAX, &data, &len, err) < 0)
    return msb_error_prefix (err, "docker archive");
  json_error_t jerr;
  _msb_cleanup_json_ json_t *doc = json_loadb (data, len, 0, &jerr);
  if (!json_is_array (doc) || json_array_size (doc) == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "docker archive: manifest.json is not a non-empty array");
  size_t i;
  json_t *item;
  json_array_foreach (doc, i, item)
  {
    if (resolve_item (src, item, msb_loaded_set_add (out), err) < 0)
      return msb_error_prefix (err, "docker archive image %zu", i);
  }
  return 0;
}

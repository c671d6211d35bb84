/* OCI image layout (image-spec image-layout.md): index.json names manifests (or nested
 * indexes) by digest; every blob read here is checked against its digest and size before
 * it is parsed, so only index.json itself is taken on trust (it is the input's root).
 * References come from `org.opencontainers.image.ref.name` when it holds a full reference
 * and from `io.containerd.image.name` (docker's own OCI saves). */
#include <jansson.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/image_archive.h"
#include "lib/image/digest.h"
#include "lib/image/ref.h"
#include "lib/image/store.h"
#include "lib/json_cleanup.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MAX_INDEX_DEPTH 4

static int
parse_json (const char *data, size_t len, const char *what, json_t **out, msb_error **err)
{
  json_error_t jerr;
  *out = json_loadb (data, len, 0, &jerr);
  if (*out == NULL || !json_is_object (*out))
    {
      if (*out)
        json_decref (*out);
      *out = NULL;
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s is not a JSON object%s%s", what,
                       jerr.text[0] ? ": " : "", jerr.text);
    }
  return 0;
}

typedef struct descriptor
{
  const char *media_type; /* may be NULL */
  const char *digest;
  uint64_t size;
} descriptor;

static int
get_descriptor (json_t *d, const char *what, descriptor *out, msb_error **err)
{
  json_t *size = json_object_get (d, "size");
  out->media_type = json_string_value (json_object_get (d, "mediaType"));
  out->digest = json_string_value (json_object_get (d, "digest"));
  if (!json_is_object (d) || msb_digest_check (out->digest, what, err) < 0)
    return msb_error_prefix (err, "bad %s descriptor", what);
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s %s: missing or negative size", what,
                     out->digest);
  out->size = (uint64_t) json_integer_value (size);
  return 0;
}

/* Reads blobs/sha256/<hex> and checks it is what the descriptor says. */
static int
read_blob (msb_image_source *src, const descriptor *d, char **out, size_t *len, msb_error **err)
{
  if (d->size > MSB_IMAGE_JSON_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "blob %s: %llu bytes is too large",
                     d->digest, (unsigned long long) d->size);
  _msb_cleanup_free_ char *path = msb_xasprintf ("blobs/sha256/%s", msb_digest_hex (d->digest));
  _msb_cleanup_free_ char *data = NULL;
  if (msb_image_source_read (src, path, MSB_IMAGE_JSON_MAX, &data, len, err) < 0)
    return -1;
  char actual[MSB_DIGEST_STRLEN];
  msb_sha256_digest (data, *len, actual);
  if (strcmp (actual, d->digest) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "blob %s: digest mismatch (content is %s)",
                     d->digest, actual);
  if (*len != d->size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "blob %s: %zu bytes, descriptor says %llu",
                     d->digest, *len, (unsigned long long) d->size);
  *out = msb_steal_pointer (&data);
  return 0;
}

static bool
is_index (const char *mt, json_t *doc)
{
  if (mt)
    return strcmp (mt, MT_OCI_INDEX) == 0 || strcmp (mt, MT_DOCKER_LIST) == 0;
  return json_is_array (json_object_get (doc, "manifests"));
}

static bool
platform_matches (json_t *platform)
{
  const char *os = json_string_value (json_object_get (platform, "os"));
  const char *arch = json_string_value (json_object_get (platform, "architecture"));
  return os && arch && strcmp (os, "linux") == 0 && strcmp (arch, msb_image_host_arch ()) == 0;
}

static bool
layer_media_type_ok (const char *mt)
{
  return mt && (strstr (mt, ".tar") || strstr (mt, "rootfs.diff.tar"));
}

static int
fill_layers (msb_loaded_image *img, json_t *layers, char **diff_ids, msb_error **err)
{
  size_t n = json_array_size (layers);
  if (!json_is_array (layers) || msb_strv_len (diff_ids) != n)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "manifest has %zu layers but its config lists %zu diff_ids", n,
                     msb_strv_len (diff_ids));
  img->layers = msb_xcalloc (n ? n : 1, sizeof *img->layers);
  img->layer_count = n;
  for (size_t i = 0; i < n; i++)
    {
      descriptor d;
      if (get_descriptor (json_array_get (layers, i), "layer", &d, err) < 0
          || msb_digest_check (diff_ids[i], "diff_id", err) < 0)
        return -1;
      if (!layer_media_type_ok (d.media_type))
        return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer %s: unsupported media type `%s`",
                         d.digest, d.media_type ? d.media_type : "(none)");
      msb_loaded_layer *l = &img->layers[i];
      l->blob_path = msb_xasprintf ("blobs/sha256/%s", msb_digest_hex (d.digest));
      l->blob_digest = msb_xstrdup (d.digest);
      l->blob_size = d.size;
      l->media_type = msb_xstrdup (d.media_type);
      l->diff_id = msb_xstrdup (diff_ids[i]);
    }
  return 0;
}

/* An image manifest: verify and parse its config, record its layers. */
static int
load_manifest (msb_image_source *src, const descriptor *md, const char *data, size_t len,
               json_t *doc, msb_loaded_image *img, msb_error **err)
{
  descriptor cd;
  if (get_descriptor (json_object_get (doc, "config"), "config", &cd, err) < 0)
    return -1;
  size_t clen = 0;
  if (read_blob (src, &cd, &img->config_json, &clen, err) < 0)
    return msb_error_prefix (err, "image config");
  msb_image_config cfg;
  _msb_cleanup_strv_ char **diff_ids = NULL;
  if (msb_image_config_parse (img->config_json, clen, &cfg, NULL, NULL, &diff_ids, err) < 0)
    return -1;
  msb_image_config_clear (&cfg);
  const char *mt = md->media_type ? md->media_type
                                  : json_string_value (json_object_get (doc, "mediaType"));
  img->manifest_digest = msb_xstrdup (md->digest);
  img->media_type = msb_xstrdup (mt ? mt : MT_OCI_MANIFEST);
  img->manifest_json = msb_xstrndup (data, len);
  img->config_digest = msb_xstrdup (cd.digest);
  img->config_size = cd.size;
  return fill_layers (img, json_object_get (doc, "layers"), diff_ids, err);
}

static int resolve_descriptor (msb_image_source *src, const descriptor *d, int depth,
                               msb_loaded_image *img, msb_error **err);

/* A nested index (multi-platform image): the manifest for the host, else a clear error. */
static int
pick_platform (msb_image_source *src, json_t *doc, int depth, msb_loaded_image *img,
               msb_error **err)
{
  json_t *manifests = json_object_get (doc, "manifests");
  size_t i;
  json_t *m;
  json_array_foreach (manifests, i, m)
  {
    if (!platform_matches (json_object_get (m, "platform")))
      continue;
    descriptor d;
    if (get_descriptor (m, "manifest", &d, err) < 0)
      return -1;
    return resolve_descriptor (src, &d, depth + 1, img, err);
  }
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "image index has no manifest for linux/%s",
                   msb_image_host_arch ());
}

static int
resolve_descriptor (msb_image_source *src, const descriptor *d, int depth, msb_loaded_image *img,
                    msb_error **err)
{
  if (depth > MAX_INDEX_DEPTH)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "image indexes nested too deeply");
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  _msb_cleanup_json_ json_t *doc = NULL;
  if (read_blob (src, d, &data, &len, err) < 0 || parse_json (data, len, d->digest, &doc, err) < 0)
    return -1;
  if (is_index (d->media_type, doc))
    return pick_platform (src, doc, depth, img, err);
  if (d->media_type && strcmp (d->media_type, MT_OCI_MANIFEST) != 0
      && strcmp (d->media_type, MT_DOCKER_MANIFEST) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest %s: unsupported media type `%s`",
                     d->digest, d->media_type);
  if (load_manifest (src, d, data, len, doc, img, err) < 0)
    return msb_error_prefix (err, "manifest %s", d->digest);
  return 0;
}

/* A full reference names a repository: a bare tag ("latest") cannot stand alone. */
static int
add_annotation_refs (json_t *desc, msb_loaded_image *img, msb_error **err)
{
  json_t *ann = json_object_get (desc, "annotations");
  const char *keys[] = { "org.opencontainers.image.ref.name", "io.containerd.image.name" };
  for (size_t k = 0; k < 2; k++)
    {
      const char *v = json_string_value (json_object_get (ann, keys[k]));
      if (v == NULL || (k == 0 && !strpbrk (v, "/:@")))
        continue;
      _msb_cleanup_free_ char *canonical = NULL;
      if (msb_image_ref_canonicalize (v, &canonical, err) < 0)
        return msb_error_prefix (err, "annotation %s", keys[k]);
      msb_loaded_image_add_ref (img, canonical);
    }
  return 0;
}

/* Merges images that resolved to one manifest (several names for one image). */
static void
merge_duplicate (msb_loaded_set *out)
{
  msb_loaded_image *last = &out->images[out->n - 1];
  for (size_t i = 0; i + 1 < out->n; i++)
    if (strcmp (out->images[i].manifest_digest, last->manifest_digest) == 0)
      {
        for (char **r = last->refs; *r; r++)
          msb_loaded_image_add_ref (&out->images[i], *r);
        msb_loaded_set v = { last, 1 };
        msb_loaded_set_clear (&v); /* frees its content; the slot is dropped below */
        out->n--;
        return;
      }
}

static int
resolve_index (msb_image_source *src, json_t *index, msb_loaded_set *out, msb_error **err)
{
  json_t *manifests = json_object_get (index, "manifests");
  if (!json_is_array (manifests) || json_array_size (manifests) == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "index.json lists no manifests");
  size_t i, skipped = 0;
  json_t *m;
  json_array_foreach (manifests, i, m)
  {
    json_t *platform = json_object_get (m, "platform");
    if (platform && !platform_matches (platform))
      {
        skipped++; /* another platform of a multi-platform layout */
        continue;
      }
    descriptor d;
    if (get_descriptor (m, "manifest", &d, err) < 0)
      return -1;
    msb_loaded_image *img = msb_loaded_set_add (out);
    if (resolve_descriptor (src, &d, 0, img, err) < 0 || add_annotation_refs (m, img, err) < 0)
      return -1;
    merge_duplicate (out);
  }
  if (out->n == 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "no manifest for linux/%s among the %zu of index.json",
                     msb_image_host_arch (), skipped);
  return 0;
}

int
msb_oci_layout_resolve (msb_image_source *src, msb_loaded_set *out, msb_error **err)
{
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  _msb_cleanup_json_ json_t *index = NULL;
  if (msb_image_source_read (src, "index.json", MSB_IMAGE_JSON_MAX, &data, &len, err) < 0
      || parse_json (data, len, "index.json", &index, err) < 0
      || resolve_index (src, index, out, err) < 0)
    return msb_error_prefix (err, "OCI image layout");
  return 0;
}

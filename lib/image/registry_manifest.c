/* Parsing registry manifests and indexes (OCI image-spec manifest.md / image-index.md,
 * Docker Registry v2 schema 2) and picking a platform. JSON via jansson; every field is
 * type-checked before use. */
#include "lib/image/registry_manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/json_cleanup.h"

static void
descriptor_clear (msb_descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->os);
  free (d->architecture);
  free (d->variant);
  memset (d, 0, sizeof *d);
}

void
msb_manifest_clear (msb_manifest *m)
{
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_clear (&m->manifests[i]);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  free (m->manifests);
  free (m->layers);
  descriptor_clear (&m->config);
  free (m->media_type);
  memset (m, 0, sizeof *m);
}

static char *
opt_str (json_t *obj, const char *key)
{
  const char *s = json_string_value (json_object_get (obj, key));
  return s ? msb_xstrdup (s) : NULL;
}

static int
parse_descriptor (json_t *j, const char *what, size_t index, msb_descriptor *d, msb_error **err)
{
  if (!json_is_object (j))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s %zu is not an object", what, index);
  json_t *mt = json_object_get (j, "mediaType");
  json_t *size = json_object_get (j, "size");
  const char *digest = json_string_value (json_object_get (j, "digest"));
  if (mt && !json_is_string (mt))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s %zu: mediaType is not a string", what,
                     index);
  if (msb_digest_check (digest, what, err) < 0)
    return msb_error_prefix (err, "%s %zu", what, index);
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%s %zu (%s): missing or negative size",
                     what, index, digest);
  d->media_type = mt ? msb_xstrdup (json_string_value (mt)) : NULL;
  d->digest = msb_xstrdup (digest);
  d->size = (uint64_t) json_integer_value (size);
  json_t *platform = json_object_get (j, "platform");
  if (json_is_object (platform))
    {
      d->os = opt_str (platform, "os");
      d->architecture = opt_str (platform, "architecture");
      d->variant = opt_str (platform, "variant");
    }
  return 0;
}

static int
parse_array (json_t *arr, const char *what, size_t max, msb_descriptor **out, size_t *n,
             msb_error **err)
{
  if (!json_is_array (arr))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "`%ss` is missing or not an array", what);
  size_t count = json_array_size (arr);
  if (count > max)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "%zu %ss; at most %zu are accepted", count,
                     what, max);
  *out = msb_xcalloc (count ? count : 1, sizeof **out);
  for (size_t i = 0; i < count; i++)
    {
      if (parse_descriptor (json_array_get (arr, i), what, i, &(*out)[i], err) < 0)
        return -1;
      *n = i + 1; /* counted as it is filled, so a failure frees what exists */
    }
  return 0;
}

bool
msb_layer_media_type_supported (const char *mt)
{
  static const char *const ok[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  };
  if (mt == NULL)
    return false;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp (mt, ok[i]) == 0)
      return true;
  return false;
}

static bool
is_index_type (const char *mt)
{
  return mt && (strcmp (mt, MSB_MT_OCI_INDEX) == 0 || strcmp (mt, MSB_MT_DOCKER_LIST) == 0);
}

static bool
is_manifest_type (const char *mt)
{
  return mt && (strcmp (mt, MSB_MT_OCI_MANIFEST) == 0 || strcmp (mt, MSB_MT_DOCKER_MANIFEST) == 0);
}

/* "application/json; charset=utf-8" → "application/json". */
static char *
bare_type (const char *content_type)
{
  if (content_type == NULL)
    return NULL;
  size_t n = strcspn (content_type, "; \t");
  return n ? msb_xstrndup (content_type, n) : NULL;
}

static int
parse_image_manifest (json_t *root, msb_manifest *m, msb_error **err)
{
  json_t *sv = json_object_get (root, "schemaVersion");
  if (!json_is_integer (sv) || json_integer_value (sv) != 2)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest schemaVersion is not 2");
  if (parse_descriptor (json_object_get (root, "config"), "config", 0, &m->config, err) < 0
      || parse_array (json_object_get (root, "layers"), "layer", MSB_MANIFEST_MAX_LAYERS,
                      &m->layers, &m->n_layers, err)
             < 0)
    return -1;
  if (m->config.size > MSB_MANIFEST_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "image config of %llu bytes is too large",
                     (unsigned long long) m->config.size);
  for (size_t i = 0; i < m->n_layers; i++)
    if (!msb_layer_media_type_supported (m->layers[i].media_type))
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                       "layer %zu (%s) has media type `%s`, which is not a container image layer",
                       i, m->layers[i].digest,
                       m->layers[i].media_type ? m->layers[i].media_type : "(none)");
  return 0;
}

int
msb_manifest_parse (const char *data, size_t len, const char *content_type, msb_manifest *out,
                    msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (len > MSB_MANIFEST_MAX)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest of %zu bytes is too large", len);
  json_error_t jerr;
  _msb_cleanup_json_ json_t *root = json_loadb (data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL || !json_is_object (root))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest is not a JSON object%s%s",
                     root ? "" : ": ", root ? "" : jerr.text);
  json_t *field = json_object_get (root, "mediaType");
  if (field && !json_is_string (field))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest mediaType is not a string");
  _msb_cleanup_free_ char *header = bare_type (content_type);
  const char *mt = field ? json_string_value (field) : header;
  if (mt && strstr (mt, "distribution.manifest.v1"))
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "the registry serves a Docker schema 1 manifest, which msb does not accept "
                     "(it cannot be verified by digest): push the image again with a current "
                     "tool");
  bool index;
  if (is_index_type (mt))
    index = true;
  else if (is_manifest_type (mt))
    index = false;
  else if (mt == NULL || strcmp (mt, "application/json") == 0)
    index = json_is_array (json_object_get (root, "manifests")); /* untyped: by shape */
  else
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "unsupported manifest media type `%s`", mt);
  out->is_index = index;
  out->media_type = msb_xstrdup (mt && strcmp (mt, "application/json") != 0
                                     ? mt
                                     : (index ? MSB_MT_OCI_INDEX : MSB_MT_OCI_MANIFEST));
  int r = index ? parse_array (json_object_get (root, "manifests"), "manifest",
                               MSB_MANIFEST_MAX_ENTRIES, &out->manifests, &out->n_manifests, err)
                : parse_image_manifest (root, out, err);
  if (r < 0)
    {
      msb_manifest_clear (out);
      return -1;
    }
  return 0;
}

static bool
str_eq (const char *a, const char *b)
{
  return a && b && strcmp (a, b) == 0;
}

int
msb_manifest_select_platform (const msb_manifest *index, const char *os,
                              const char *architecture, const char *variant,
                              const msb_descriptor **out, msb_error **err)
{
  const msb_descriptor *best = NULL;
  for (size_t i = 0; i < index->n_manifests; i++)
    {
      const msb_descriptor *d = &index->manifests[i];
      if (!str_eq (d->os, os) || !str_eq (d->architecture, architecture))
        continue;
      if (d->media_type && is_index_type (d->media_type))
        continue; /* nested indexes are not followed */
      if (variant && d->variant && strcmp (variant, d->variant) != 0)
        continue;
      if (best == NULL || (variant && str_eq (d->variant, variant) && !str_eq (best->variant, variant)))
        best = d;
    }
  if (best)
    {
      *out = best;
      return 0;
    }
  /* Say what is on offer: "linux/arm64, linux/s390x". */
  size_t cap = 64;
  for (size_t i = 0; i < index->n_manifests && i < 16; i++)
    cap += 64;
  _msb_cleanup_free_ char *offer = msb_xcalloc (cap, 1);
  size_t n = 0;
  for (size_t i = 0; i < index->n_manifests && i < 16; i++)
    {
      const msb_descriptor *d = &index->manifests[i];
      n += (size_t) snprintf (offer + n, cap - n, "%s%.20s/%.20s%s%.10s", n ? ", " : "",
                              d->os ? d->os : "?", d->architecture ? d->architecture : "?",
                              d->variant ? "/" : "", d->variant ? d->variant : "");
    }
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                   "the image has no manifest for %s/%s%s%s (it offers: %s)", os, architecture,
                   variant ? "/" : "", variant ? variant : "", n ? offer : "nothing");
}

static bool
part_ok (const char *s)
{
  if (*s == '\0' || strlen (s) > 32)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return false;
  return true;
}

int
msb_platform_parse (const char *s, char **os, char **architecture, char **variant,
                    msb_error **err)
{
  *os = *architecture = *variant = NULL;
  _msb_cleanup_free_ char *copy = msb_xstrdup (s ? s : "");
  char *parts[4] = { 0 };
  size_t n = 0;
  char *save = NULL;
  for (char *p = strtok_r (copy, "/", &save); p && n < 4; p = strtok_r (NULL, "/", &save))
    parts[n++] = p;
  if (n == 0 || n > 3)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "platform `%s` is not OS/ARCH[/VARIANT] (e.g. linux/arm64)", s ? s : "");
  if (n == 1) /* a bare architecture means linux */
    {
      parts[1] = parts[0];
      parts[0] = "linux";
      n = 2;
    }
  for (size_t i = 0; i < n; i++)
    if (!part_ok (parts[i]))
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "platform `%s`: bad part `%s`", s, parts[i]);
  *os = msb_xstrdup (parts[0]);
  *architecture = msb_xstrdup (parts[1]);
  *variant = n == 3 ? msb_xstrdup (parts[2]) : NULL;
  return 0;
}

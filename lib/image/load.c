/* `image load`: resolve what the input describes (oci_layout.c / docker_archive.c), make every
 * layer present in the cache (layer_cache.h, one stream per distinct blob), synthesise the
 * manifest of docker archives, then record all images in one transaction. A failed load
 * writes no row; layers it published stay (verified and content-addressed; prune removes
 * unreferenced ones). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/image_archive.h"
#include "lib/image/digest.h"
#include "lib/image/ref.h"
#include "lib/image/store.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"

msb_loaded_image *
msb_loaded_set_add (msb_loaded_set *set)
{
  set->images = msb_xrealloc (set->images, (set->n + 1) * sizeof *set->images);
  msb_loaded_image *img = &set->images[set->n++];
  memset (img, 0, sizeof *img);
  img->refs = msb_xcalloc (1, sizeof (char *));
  return img;
}

void
msb_loaded_image_add_ref (msb_loaded_image *img, const char *canonical)
{
  size_t n = msb_strv_len (img->refs);
  for (size_t i = 0; i < n; i++)
    if (strcmp (img->refs[i], canonical) == 0)
      return;
  img->refs = msb_xrealloc (img->refs, (n + 2) * sizeof (char *));
  img->refs[n] = msb_xstrdup (canonical);
  img->refs[n + 1] = NULL;
}

static void
loaded_image_clear (msb_loaded_image *img)
{
  free (img->manifest_digest);
  free (img->media_type);
  free (img->manifest_json);
  free (img->config_digest);
  free (img->config_json);
  for (size_t i = 0; i < img->layer_count; i++)
    {
      free (img->layers[i].blob_path);
      free (img->layers[i].blob_digest);
      free (img->layers[i].media_type);
      free (img->layers[i].diff_id);
    }
  free (img->layers);
  msb_strv_free (img->refs);
  memset (img, 0, sizeof *img);
}

void
msb_loaded_set_clear (msb_loaded_set *set)
{
  for (size_t i = 0; i < set->n; i++)
    loaded_image_clear (&set->images[i]);
  set->n = 0;
}

static void
loaded_set_free (msb_loaded_set *set)
{
  msb_loaded_set_clear (set);
  free (set->images);
  set->images = NULL;
}

/* One distinct blob of the input and what unpacking it told us. */
typedef struct blob_job
{
  msb_loaded_layer *first; /* the first layer using this blob */
  bool is_docker;
  msb_unpack_result res;
  bool was_cached;
} blob_job;

typedef struct load_ctx
{
  const msb_home *home;
  msb_db *db;
  blob_job *jobs;
  size_t n_jobs;
  blob_job **streamed; /* jobs that need the blob's bytes, in stream index order */
  size_t n_streamed;
} load_ctx;

/* The job already reading this layer's blob: same path, or (docker archives, which link
 * repeated layers to one file) same diff_id. */
static blob_job *
find_job (load_ctx *c, const msb_loaded_layer *l, bool is_docker)
{
  for (size_t i = 0; i < c->n_jobs; i++)
    if (strcmp (c->jobs[i].first->blob_path, l->blob_path) == 0
        || (is_docker && c->jobs[i].is_docker && strcmp (c->jobs[i].first->diff_id, l->diff_id) == 0))
      return &c->jobs[i];
  return NULL;
}

/* One job per distinct blob; a path claimed by two diff_ids is a forged input. */
static int
plan_jobs (load_ctx *c, msb_loaded_set *set, msb_error **err)
{
  size_t total = 0;
  for (size_t i = 0; i < set->n; i++)
    total += set->images[i].layer_count;
  c->jobs = msb_xcalloc (total ? total : 1, sizeof *c->jobs);
  c->streamed = msb_xcalloc (total ? total : 1, sizeof *c->streamed);
  for (size_t i = 0; i < set->n; i++)
    for (size_t j = 0; j < set->images[i].layer_count; j++)
      {
        msb_loaded_layer *l = &set->images[i].layers[j];
        blob_job *job = find_job (c, l, set->images[i].is_docker);
        if (job && strcmp (job->first->diff_id, l->diff_id) != 0)
          return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                           "blob `%s` is claimed by two diff_ids (%s, %s)", l->blob_path,
                           job->first->diff_id, l->diff_id);
        if (job)
          {
            l->job = (size_t) (job - c->jobs);
            continue;
          }
        l->job = c->n_jobs;
        job = &c->jobs[c->n_jobs++];
        job->first = l;
        job->is_docker = set->images[i].is_docker;
        /* An OCI blob whose layer is cached is not read at all: its digest is known. */
        if (job->is_docker || !msb_image_layer_is_cached (c->home, l->diff_id))
          c->streamed[c->n_streamed++] = job;
      }
  return 0;
}

static int
check_job (blob_job *job, msb_error **err)
{
  msb_loaded_layer *l = job->first;
  if (l->blob_digest && strcmp (l->blob_digest, job->res.blob_digest) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer blob digest mismatch: expected %s, got %s",
                     l->blob_digest, job->res.blob_digest);
  /* Nothing was read when the layer was already cached and its digest known. */
  if (l->blob_size && job->res.compressed_bytes && job->res.compressed_bytes != l->blob_size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "layer blob %s: %llu bytes, descriptor says %llu",
                     l->blob_digest, (unsigned long long) job->res.compressed_bytes,
                     (unsigned long long) l->blob_size);
  return 0;
}

static int
materialize_blob (void *ctx, size_t index, msb_unpack_read_fn read, void *read_ctx,
                  msb_error **err)
{
  load_ctx *c = ctx;
  blob_job *job = c->streamed[index];
  msb_loaded_layer *l = job->first;
  msb_unpack_opts opts = { .restore_owner = -1, .total_bytes = l->blob_size };
  /* A docker layer's blob digest is learnt by reading it, even when the layer is cached. */
  const char *expected = job->is_docker ? NULL : l->blob_digest;
  if (msb_image_layer_materialize (c->home, c->db, l->diff_id, expected, read, read_ctx, &opts,
                                   &job->res, &job->was_cached, err)
          < 0
      || check_job (job, err) < 0)
    return msb_error_prefix (err, "layer `%s`", l->blob_path);
  return 0;
}

static int
materialize_all (load_ctx *c, msb_image_source *src, msb_error **err)
{
  _msb_cleanup_free_ const char **paths = msb_xcalloc (c->n_streamed + 1, sizeof (char *));
  for (size_t i = 0; i < c->n_streamed; i++)
    paths[i] = c->streamed[i]->first->blob_path;
  return msb_image_source_stream (src, paths, c->n_streamed, materialize_blob, c, err);
}

static const char *
docker_layer_media_type (const char *compression)
{
  if (strcmp (compression, "gzip") == 0)
    return "application/vnd.oci.image.layer.v1.tar+gzip";
  if (strcmp (compression, "zstd") == 0)
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar";
}

static json_t *
descriptor_json (const char *media_type, const char *digest, uint64_t size)
{
  return json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                    (json_int_t) size);
}

/* Docker archives carry no manifest: build the OCI one they stand for; its sha256 is the
 * manifest digest (stable: compact JSON, sorted keys). */
static void
synthesise_manifest (load_ctx *c, msb_loaded_image *img)
{
  json_t *layers = json_array ();
  for (size_t i = 0; i < img->layer_count; i++)
    {
      msb_loaded_layer *l = &img->layers[i];
      blob_job *job = &c->jobs[l->job];
      free (l->blob_digest);
      l->blob_digest = msb_xstrdup (job->res.blob_digest);
      l->blob_size = job->res.compressed_bytes;
      l->media_type = msb_xstrdup (docker_layer_media_type (job->res.compression));
      json_array_append_new (layers, descriptor_json (l->media_type, l->blob_digest, l->blob_size));
    }
  json_t *m = json_pack ("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", MT_OCI_MANIFEST,
                         "config", descriptor_json (MT_OCI_CONFIG, img->config_digest, img->config_size),
                         "layers", layers);
  img->manifest_json = json_dumps (m, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref (m);
  if (img->manifest_json == NULL)
    abort ();
  char digest[MSB_DIGEST_STRLEN];
  msb_sha256_digest (img->manifest_json, strlen (img->manifest_json), digest);
  img->manifest_digest = msb_xstrdup (digest);
  img->media_type = msb_xstrdup (MT_OCI_MANIFEST);
}

static int
apply_tag (msb_loaded_set *set, const char *tag, msb_error **err)
{
  if (tag)
    {
      _msb_cleanup_free_ char *canonical = NULL;
      if (msb_image_ref_canonicalize (tag, &canonical, err) < 0)
        return -1;
      if (set->n != 1)
        return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                         "tag `%s` needs an archive holding one image, this one holds %zu", tag,
                         set->n);
      msb_loaded_image_add_ref (&set->images[0], canonical);
    }
  for (size_t i = 0; i < set->n; i++)
    if (set->images[i].refs[0] == NULL)
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "image %s names no reference (a bare tag annotation is not one): pass a tag",
                       set->images[i].config_digest);
  return 0;
}

/* Fills one record; the arrays are owned by *keep (freed by the caller). */
static void
build_record (load_ctx *c, msb_loaded_image *img, msb_image_record *r, void **keep)
{
  size_t n = img->layer_count;
  const char **strs = msb_xcalloc (3 * n + 1, sizeof (char *));
  uint64_t *sizes = msb_xcalloc (2 * n + 1, sizeof (uint64_t));
  for (size_t i = 0; i < n; i++)
    {
      msb_loaded_layer *l = &img->layers[i];
      blob_job *job = &c->jobs[l->job];
      strs[i] = l->diff_id;
      strs[n + i] = l->blob_digest;
      strs[2 * n + i] = l->media_type;
      sizes[i] = l->blob_size;
      sizes[n + i] = job && !job->was_cached ? job->res.unpacked_bytes : 0;
    }
  *r = (msb_image_record){
    .manifest_digest = img->manifest_digest,
    .media_type = img->media_type,
    .manifest_json = img->manifest_json,
    .config_digest = img->config_digest,
    .config_json = img->config_json,
    .layer_count = n,
    .diff_ids = strs,
    .blob_digests = strs + n,
    .layer_media_types = strs + 2 * n,
    .compressed_sizes = sizes,
    .unpacked_sizes = sizes + n,
    .references = (const char *const *) img->refs,
    .reference_count = msb_strv_len (img->refs),
  };
  keep[0] = strs;
  keep[1] = sizes;
}

static int
record_all (load_ctx *c, msb_loaded_set *set, msb_error **err)
{
  msb_image_record *recs = msb_xcalloc (set->n, sizeof *recs);
  void **keep = msb_xcalloc (2 * set->n, sizeof (void *));
  for (size_t i = 0; i < set->n; i++)
    build_record (c, &set->images[i], &recs[i], keep + 2 * i);
  int r = msb_image_store_record (c->db, recs, set->n, err);
  for (size_t i = 0; i < 2 * set->n; i++)
    free (keep[i]);
  free (keep);
  free (recs);
  return r;
}

static char **
all_refs (msb_loaded_set *set)
{
  msb_loaded_image acc = { .refs = msb_xcalloc (1, sizeof (char *)) };
  for (size_t i = 0; i < set->n; i++)
    for (char **r = set->images[i].refs; *r; r++)
      msb_loaded_image_add_ref (&acc, *r);
  return acc.refs;
}

static int
resolve_input (msb_image_source *src, msb_loaded_set *set, msb_error **err)
{
  if (msb_image_source_has (src, "index.json"))
    return msb_oci_layout_resolve (src, set, err);
  if (msb_image_source_has (src, "manifest.json"))
    return msb_docker_archive_resolve (src, set, err);
  return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                   "neither an OCI image layout (index.json) nor a docker archive (manifest.json)");
}

static int
load_source (load_ctx *c, msb_image_source *src, const char *tag, char ***out_refs,
             msb_error **err)
{
  msb_loaded_set set = { 0 };
  int r = -1;
  if (resolve_input (src, &set, err) == 0 && apply_tag (&set, tag, err) == 0
      && plan_jobs (c, &set, err) == 0 && materialize_all (c, src, err) == 0)
    {
      for (size_t i = 0; i < set.n; i++)
        if (set.images[i].is_docker)
          synthesise_manifest (c, &set.images[i]);
      r = record_all (c, &set, err);
      if (r == 0 && out_refs)
        *out_refs = all_refs (&set);
    }
  loaded_set_free (&set);
  return r;
}

int
msb_image_store_load (const msb_home *home, msb_db *db, const char *path, const char *tag,
                      char ***out_refs, msb_error **err)
{
  if (out_refs)
    *out_refs = NULL;
  msb_image_source *src = NULL;
  if (msb_image_source_open (path, &src, err) < 0)
    return msb_error_prefix (err, "load image from `%s`", path);
  load_ctx c = { .home = home, .db = db };
  int r = load_source (&c, src, tag, out_refs, err);
  free (c.jobs);
  free (c.streamed);
  msb_image_source_free (src);
  if (r < 0)
    return msb_error_prefix (err, "load image from `%s`", path);
  return 0;
}

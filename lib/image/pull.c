/* The pull pipeline: resolve (manifest, index → platform manifest, config), plan (one job
 * per distinct diff_id not cached yet), run the jobs on a worker pool, collect the record.
 * The first failing job cancels the others' transfers, so a bad layer fails the pull fast. */
#include "lib/image/pull.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"
#include "lib/image/image_archive.h" /* msb_image_host_arch */
#include "lib/image/layer_cache.h"
#include "lib/image/ref.h"
#include "lib/image/registry_blob.h"
#include "lib/image/registry_manifest.h"

void
msb_pulled_image_clear (msb_pulled_image *p)
{
  free (p->reference);
  free (p->manifest_digest);
  free (p->media_type);
  free (p->manifest_json);
  free (p->config_digest);
  free (p->config_json);
  for (size_t i = 0; i < p->layer_count; i++)
    {
      free (p->diff_ids[i]);
      free (p->blob_digests[i]);
      free (p->layer_media_types[i]);
    }
  free (p->diff_ids);
  free (p->blob_digests);
  free (p->layer_media_types);
  free (p->compressed_sizes);
  free (p->unpacked_sizes);
  memset (p, 0, sizeof *p);
}

void
msb_pulled_image_as_record (const msb_pulled_image *p, msb_image_record *r)
{
  *r = (msb_image_record){
    .manifest_digest = p->manifest_digest,
    .media_type = p->media_type,
    .manifest_json = p->manifest_json,
    .config_digest = p->config_digest,
    .config_json = p->config_json,
    .layer_count = p->layer_count,
    .diff_ids = (const char *const *) p->diff_ids,
    .blob_digests = (const char *const *) p->blob_digests,
    .layer_media_types = (const char *const *) p->layer_media_types,
    .compressed_sizes = p->compressed_sizes,
    .unpacked_sizes = p->unpacked_sizes,
    .references = (const char *const *) &p->reference,
    .reference_count = 1,
  };
}

/* ---- resolution ---- */

typedef struct resolved
{
  char *manifest_digest;
  char *manifest_json;
  size_t manifest_len;
  msb_manifest manifest; /* an image manifest, never an index */
  char *config_json;
  size_t config_len;
  char **diff_ids;
} resolved;

static void
resolved_clear (resolved *r)
{
  free (r->manifest_digest);
  free (r->manifest_json);
  msb_manifest_clear (&r->manifest);
  free (r->config_json);
  msb_strv_free (r->diff_ids);
  memset (r, 0, sizeof *r);
}

/* Fetches manifest `ref` and checks its bytes against what names it: the digest we asked
 * for, else the Docker-Content-Digest header when the registry sent one. */
static int
fetch_verified_manifest (msb_registry_client *c, const char *ref, const char *want_digest,
                         uint64_t want_size, char **body, size_t *len, char **digest,
                         msb_manifest *m, msb_error **err)
{
  _msb_cleanup_free_ char *ctype = NULL, *header_digest = NULL;
  if (msb_registry_fetch_manifest (c, ref, MSB_MANIFEST_MAX, body, len, &ctype, &header_digest,
                                   err)
      < 0)
    return -1;
  char actual[MSB_DIGEST_STRLEN];
  msb_sha256_digest (*body, *len, actual);
  if (want_digest && strcmp (want_digest, actual) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "manifest %s from %s does not match its digest (content is %s)", want_digest,
                     msb_registry_client_host (c), actual);
  if (want_size && *len != want_size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "manifest %s: %zu bytes, its descriptor says %llu",
                     want_digest, *len, (unsigned long long) want_size);
  if (!want_digest && header_digest && strncmp (header_digest, "sha256:", 7) == 0
      && strcmp (header_digest, actual) != 0)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "manifest %s from %s does not match the digest the registry announced (%s, "
                     "content is %s)",
                     ref, msb_registry_client_host (c), header_digest, actual);
  *digest = msb_xstrdup (actual);
  if (msb_manifest_parse (*body, *len, ctype, m, err) < 0)
    return msb_error_prefix (err, "manifest %s", ref);
  return 0;
}

static int
resolve_manifest (msb_registry_client *c, const msb_image_ref *ref, const char *os,
                  const char *arch, const char *variant, resolved *out, msb_error **err)
{
  const char *tag_or_digest = ref->digest ? ref->digest : ref->tag;
  _msb_cleanup_free_ char *body = NULL, *digest = NULL;
  size_t len = 0;
  msb_manifest first = { 0 };
  if (fetch_verified_manifest (c, tag_or_digest, ref->digest, 0, &body, &len, &digest, &first,
                               err)
      < 0)
    return -1;
  if (!first.is_index)
    {
      out->manifest = first;
      out->manifest_json = msb_steal_pointer (&body);
      out->manifest_len = len;
      out->manifest_digest = msb_steal_pointer (&digest);
      return 0;
    }
  const msb_descriptor *d = NULL;
  int r = msb_manifest_select_platform (&first, os, arch, variant, &d, err);
  _msb_cleanup_free_ char *want = r == 0 ? msb_xstrdup (d->digest) : NULL;
  uint64_t want_size = r == 0 ? d->size : 0;
  msb_manifest_clear (&first);
  if (r < 0)
    return msb_error_prefix (err, "image index %s", digest);
  if (fetch_verified_manifest (c, want, want, want_size, &out->manifest_json, &out->manifest_len,
                               &out->manifest_digest, &out->manifest, err)
      < 0)
    return msb_error_prefix (err, "image index %s", digest);
  if (out->manifest.is_index)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "image index %s points at another index (%s) for its platform", digest, want);
  return 0;
}

static int
fetch_config (msb_registry_client *c, resolved *res, msb_error **err)
{
  const msb_descriptor *cd = &res->manifest.config;
  if (msb_registry_fetch_blob (c, cd->digest, (size_t) cd->size, &res->config_json,
                               &res->config_len, err)
      < 0)
    return msb_error_prefix (err, "image config");
  char actual[MSB_DIGEST_STRLEN];
  msb_sha256_digest (res->config_json, res->config_len, actual);
  if (strcmp (actual, cd->digest) != 0 || res->config_len != cd->size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "image config %s does not match its descriptor (content is %s, %zu bytes)",
                     cd->digest, actual, res->config_len);
  msb_image_config cfg;
  if (msb_image_config_parse (res->config_json, res->config_len, &cfg, NULL, NULL,
                              &res->diff_ids, err)
      < 0)
    return msb_error_prefix (err, "image config %s", cd->digest);
  msb_image_config_clear (&cfg);
  size_t n = msb_strv_len (res->diff_ids);
  if (n != res->manifest.n_layers)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "the manifest has %zu layers but its config lists %zu diff_ids",
                     res->manifest.n_layers, n);
  for (size_t i = 0; i < n; i++)
    if (msb_digest_check (res->diff_ids[i], "diff_id", err) < 0)
      return msb_error_prefix (err, "image config %s", cd->digest);
  return 0;
}

/* ---- the worker pool ---- */

typedef struct pull_run pull_run;

typedef struct layer_job
{
  pull_run *run;
  size_t index; /* first layer of the manifest with this diff_id */
  const char *diff_id;
  const char *digest;
  uint64_t size;
  msb_blob_reader *reader;
  msb_unpack_result res;
  bool was_cached;
  bool fetched;
  bool eof_seen;
  uint64_t last_download_ns;
  uint64_t last_unpack_ns;
} layer_job;

struct pull_run
{
  const msb_pull_params *params;
  const msb_home *home;
  msb_registry_client *client;
  msb_pull_emitter *em;
  layer_job *jobs;
  size_t n_jobs;
  size_t next;
  pthread_mutex_t lock;
  msb_error *error; /* the first failure */
};

static void
on_download_progress (void *ctx, uint64_t downloaded, uint64_t total)
{
  layer_job *j = ctx;
  if (!msb_pull_progress_due (&j->last_download_ns))
    return;
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_LAYER_DOWNLOAD_PROGRESS);
  ev.layer_index = (int64_t) j->index;
  ev.digest = j->digest;
  ev.downloaded_bytes = (int64_t) downloaded;
  ev.total_bytes = (int64_t) total;
  msb_pull_emit (j->run->em, &ev);
}

static void
on_download_complete (void *ctx, uint64_t downloaded)
{
  layer_job *j = ctx;
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_LAYER_DOWNLOAD_COMPLETE);
  ev.layer_index = (int64_t) j->index;
  ev.digest = j->digest;
  ev.downloaded_bytes = (int64_t) downloaded;
  msb_pull_emit (j->run->em, &ev);
}

static void
on_unpack_progress (void *ctx, uint64_t bytes_read, uint64_t total)
{
  layer_job *j = ctx;
  if (!msb_pull_progress_due (&j->last_unpack_ns))
    return;
  msb_pull_event ev = msb_pull_event_blank (MSB_PULL_LAYER_MATERIALIZE_PROGRESS);
  ev.layer_index = (int64_t) j->index;
  ev.bytes_read = (int64_t) bytes_read;
  ev.total_bytes = (int64_t) total;
  msb_pull_emit (j->run->em, &ev);
}

static void
emit_layer (layer_job *j, msb_pull_event_type type, bool with_digest, bool with_diff_id)
{
  msb_pull_event ev = msb_pull_event_blank (type);
  ev.layer_index = (int64_t) j->index;
  ev.digest = with_digest ? j->digest : NULL;
  ev.diff_id = with_diff_id ? j->diff_id : NULL;
  msb_pull_emit (j->run->em, &ev);
}

/* The unpacker's reader: the ring, plus the events of the end of the stream (the digests
 * are checked, then the layer is synced and published, right after the last byte). */
static ssize_t
job_read (void *ctx, const void **buf, msb_error **err)
{
  layer_job *j = ctx;
  ssize_t n = msb_blob_reader_read (j->reader, buf, err);
  if (n == 0 && !j->eof_seen)
    {
      j->eof_seen = true;
      emit_layer (j, MSB_PULL_LAYER_DOWNLOAD_VERIFYING, true, false);
      emit_layer (j, MSB_PULL_LAYER_MATERIALIZE_WRITING, false, false);
    }
  return n;
}

static int
run_job (pull_run *run, layer_job *j, msb_error **err)
{
  emit_layer (j, MSB_PULL_LAYER_MATERIALIZE_STARTED, false, true);
  msb_unpack_opts opts = {
    .restore_owner = -1,
    .progress = on_unpack_progress,
    .progress_ctx = j,
    .total_bytes = j->size,
  };
  if (msb_image_layer_materialize (run->home, NULL, j->diff_id, j->digest, job_read, j, &opts,
                                   &j->res, &j->was_cached, err)
      < 0)
    return msb_error_prefix (err, "layer %zu (%s)", j->index, j->digest);
  if (!j->was_cached && j->res.compressed_bytes != j->size)
    return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED,
                     "layer %zu (%s): %llu bytes, its descriptor says %llu", j->index, j->digest,
                     (unsigned long long) j->res.compressed_bytes,
                     (unsigned long long) j->size);
  if (!j->was_cached && run->params->layer_published)
    run->params->layer_published (run->params->layer_published_ctx, j->diff_id,
                                  j->res.unpacked_bytes);
  emit_layer (j, MSB_PULL_LAYER_MATERIALIZE_COMPLETE, false, true);
  return 0;
}

static void *
worker (void *arg)
{
  pull_run *run = arg;
  for (;;)
    {
      pthread_mutex_lock (&run->lock);
      if (run->error || run->next >= run->n_jobs)
        {
          pthread_mutex_unlock (&run->lock);
          return NULL;
        }
      layer_job *j = &run->jobs[run->next++];
      msb_blob_source src = {
        .client = run->client,
        .digest = j->digest,
        .size = j->size,
        .on_progress = on_download_progress,
        .on_complete = on_download_complete,
        .cb_ctx = j,
      };
      j->reader = msb_blob_reader_new (&src);
      pthread_mutex_unlock (&run->lock);

      msb_error *e = NULL;
      int rc = run_job (run, j, &e);

      pthread_mutex_lock (&run->lock);
      msb_blob_reader *r = msb_steal_pointer (&j->reader);
      if (rc < 0 && run->error == NULL)
        {
          run->error = msb_steal_pointer (&e);
          for (size_t i = 0; i < run->n_jobs; i++)
            if (run->jobs[i].reader)
              msb_blob_reader_cancel (run->jobs[i].reader);
        }
      pthread_mutex_unlock (&run->lock);
      j->fetched = msb_blob_reader_started (r);
      msb_blob_reader_free (r);
      msb_error_free (e);
    }
}

static int
run_jobs (pull_run *run, unsigned parallel, msb_error **err)
{
  size_t n_threads = parallel < run->n_jobs ? parallel : run->n_jobs;
  pthread_t *threads = msb_xcalloc (n_threads ? n_threads : 1, sizeof *threads);
  size_t started = 0;
  /* The calling thread is a worker too: one layer needs no thread at all. */
  for (size_t i = 1; i < n_threads; i++)
    if (pthread_create (&threads[started], NULL, worker, run) == 0)
      started++;
  worker (run);
  for (size_t i = 0; i < started; i++)
    pthread_join (threads[i], NULL);
  free (threads);
  if (run->error)
    {
      if (err)
        *err = msb_steal_pointer (&run->error);
      else
        msb_error_clear (&run->error);
      return -1;
    }
  return 0;
}

/* ---- the whole pull ---- */

static int
host_platform (const char *platform, char **os, char **arch, char **variant, msb_error **err)
{
  if (platform)
    return msb_platform_parse (platform, os, arch, variant, err);
  *os = msb_xstrdup ("linux");
  *arch = msb_xstrdup (msb_image_host_arch ());
  *variant = NULL;
  return 0;
}

static void
fill_result (const resolved *res, const msb_image_ref *ref, layer_job *jobs, size_t n_jobs,
             size_t *job_of, msb_pulled_image *out)
{
  size_t n = res->manifest.n_layers;
  out->reference = msb_image_ref_canonical (ref);
  out->manifest_digest = msb_xstrdup (res->manifest_digest);
  out->media_type = msb_xstrdup (res->manifest.media_type);
  out->manifest_json = msb_xstrndup (res->manifest_json, res->manifest_len);
  out->config_digest = msb_xstrdup (res->manifest.config.digest);
  out->config_json = msb_xstrndup (res->config_json, res->config_len);
  out->layer_count = n;
  out->diff_ids = msb_xcalloc (n + 1, sizeof (char *));
  out->blob_digests = msb_xcalloc (n + 1, sizeof (char *));
  out->layer_media_types = msb_xcalloc (n + 1, sizeof (char *));
  out->compressed_sizes = msb_xcalloc (n + 1, sizeof (uint64_t));
  out->unpacked_sizes = msb_xcalloc (n + 1, sizeof (uint64_t));
  for (size_t i = 0; i < n; i++)
    {
      const msb_descriptor *d = &res->manifest.layers[i];
      out->diff_ids[i] = msb_xstrdup (res->diff_ids[i]);
      out->blob_digests[i] = msb_xstrdup (d->digest);
      out->layer_media_types[i] = msb_xstrdup (d->media_type);
      out->compressed_sizes[i] = d->size;
      layer_job *j = job_of[i] < n_jobs ? &jobs[job_of[i]] : NULL;
      if (j && !j->was_cached && j->index == i)
        out->unpacked_sizes[i] = j->res.unpacked_bytes;
    }
  for (size_t i = 0; i < n_jobs; i++)
    if (jobs[i].fetched && !jobs[i].was_cached)
      {
        out->layers_fetched++;
        out->bytes_downloaded += jobs[i].res.compressed_bytes;
      }
}

/* One job per distinct diff_id that is not cached; job_of[i] = job of layer i (n_jobs when
 * the layer needs none). Emits MATERIALIZE_COMPLETE for the layers already cached. */
static layer_job *
plan (const msb_home *home, const resolved *res, msb_pull_emitter *em, size_t *n_jobs,
      size_t *job_of, uint64_t *total)
{
  size_t n = res->manifest.n_layers;
  layer_job *jobs = msb_xcalloc (n ? n : 1, sizeof *jobs);
  size_t count = 0;
  *total = 0;
  for (size_t i = 0; i < n; i++)
    {
      job_of[i] = SIZE_MAX;
      for (size_t k = 0; k < count; k++)
        if (strcmp (jobs[k].diff_id, res->diff_ids[i]) == 0)
          job_of[i] = k;
      if (job_of[i] != SIZE_MAX || msb_image_layer_is_cached (home, res->diff_ids[i]))
        continue;
      job_of[i] = count;
      jobs[count++] = (layer_job){
        .index = i,
        .diff_id = res->diff_ids[i],
        .digest = res->manifest.layers[i].digest,
        .size = res->manifest.layers[i].size,
      };
      *total += res->manifest.layers[i].size;
    }
  *n_jobs = count;
  return jobs;
}

static void
emit_cached_layers (const resolved *res, const size_t *job_of, size_t n_jobs, msb_pull_emitter *em)
{
  for (size_t i = 0; i < res->manifest.n_layers; i++)
    if (job_of[i] == SIZE_MAX || job_of[i] >= n_jobs)
      {
        msb_pull_event ev = msb_pull_event_blank (MSB_PULL_LAYER_MATERIALIZE_COMPLETE);
        ev.layer_index = (int64_t) i;
        ev.diff_id = res->diff_ids[i];
        msb_pull_emit (em, &ev);
      }
}

static int
pull_resolved (const msb_home *home, msb_registry_client *client, const msb_image_ref *ref,
               const msb_pull_params *p, resolved *res, msb_pulled_image *out, msb_error **err)
{
  size_t n = res->manifest.n_layers;
  _msb_cleanup_free_ size_t *job_of = msb_xcalloc (n + 1, sizeof (size_t));
  size_t n_jobs = 0;
  uint64_t total = 0;
  _msb_cleanup_free_ layer_job *jobs = plan (home, res, p->events, &n_jobs, job_of, &total);
  msb_pull_emit_resolved (p->events, res->manifest_digest, (int64_t) n, (int64_t) total);
  emit_cached_layers (res, job_of, n_jobs, p->events);
  pull_run run = {
    .params = p, .home = home, .client = client, .em = p->events, .jobs = jobs, .n_jobs = n_jobs,
  };
  for (size_t i = 0; i < n_jobs; i++)
    jobs[i].run = &run;
  pthread_mutex_init (&run.lock, NULL);
  unsigned parallel = p->max_parallel ? p->max_parallel : MSB_PULL_DEFAULT_PARALLEL;
  if (parallel > MSB_PULL_MAX_PARALLEL)
    parallel = MSB_PULL_MAX_PARALLEL;
  int r = run_jobs (&run, parallel, err);
  pthread_mutex_destroy (&run.lock);
  if (r < 0)
    return -1;
  /* A duplicate diff_id's later layers complete with their job. */
  for (size_t i = 0; i < n; i++)
    if (job_of[i] < n_jobs && jobs[job_of[i]].index != i)
      {
        msb_pull_event ev = msb_pull_event_blank (MSB_PULL_LAYER_MATERIALIZE_COMPLETE);
        ev.layer_index = (int64_t) i;
        ev.diff_id = res->diff_ids[i];
        msb_pull_emit (p->events, &ev);
      }
  fill_result (res, ref, jobs, n_jobs, job_of, out);
  return 0;
}

int
msb_registry_pull (const msb_home *home, const char *reference, const msb_pull_params *p,
                   msb_pulled_image *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  _msb_cleanup_image_ref_ msb_image_ref ref = { 0 };
  _msb_cleanup_free_ char *os = NULL, *arch = NULL, *variant = NULL;
  if (msb_image_ref_parse (reference, &ref, err) < 0
      || host_platform (p->platform, &os, &arch, &variant, err) < 0)
    return -1;
  msb_registry_client *client = NULL;
  if (msb_registry_client_new (home, p->gc, ref.registry, ref.repository, &p->client, &client,
                               err)
      < 0)
    return msb_error_prefix (err, "pull `%s`", reference);
  resolved res = { 0 };
  int r = resolve_manifest (client, &ref, os, arch, variant, &res, err);
  if (r == 0)
    r = fetch_config (client, &res, err);
  if (r == 0)
    r = pull_resolved (home, client, &ref, p, &res, out, err);
  resolved_clear (&res);
  msb_registry_client_free (client);
  if (r < 0)
    {
      msb_pulled_image_clear (out);
      return msb_error_prefix (err, "pull `%s`", reference);
    }
  return 0;
}

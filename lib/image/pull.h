/* A registry pull, minus the database: resolve the reference to one image manifest (through
 * an index when there is one), verify manifest and config, then make every layer present in
 * the cache — the missing ones downloaded by a small pool of worker threads, each streaming
 * network → digest → decompress → unpack in one pass (registry_blob.h into
 * msb_image_layer_materialize). The caller records the result (store.h) under its database
 * lock and the image store lock.
 *
 * Never records anything, never leaves a partial layer: a failed pull leaves the cache as it
 * was, apart from layers that were complete and verified. */
#ifndef MSB_LIB_IMAGE_PULL_H
#define MSB_LIB_IMAGE_PULL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/globalconfig.h"
#include "lib/home.h"
#include "lib/image/pull_events.h"
#include "lib/image/registry_http.h"
#include "lib/image/store.h"

#define MSB_PULL_DEFAULT_PARALLEL 4
#define MSB_PULL_MAX_PARALLEL 16

typedef struct msb_pull_params
{
  const msb_global_config *gc;     /* may be NULL */
  msb_registry_client_opts client; /* credentials, insecure, CA roots */
  const char *platform;            /* NULL = linux/<host arch> */
  unsigned max_parallel;           /* 0 = default */
  msb_pull_emitter *events;        /* may be NULL */
  /* Called (from a worker thread) for each layer this pull published, so its row and size
   * exist even if the pull fails later and the layer is reused by a retry. May be NULL. */
  void (*layer_published) (void *ctx, const char *diff_id, uint64_t unpacked_bytes);
  void *layer_published_ctx;
} msb_pull_params;

/* What a pull produced, ready for msb_image_store_record. */
typedef struct msb_pulled_image
{
  char *reference; /* canonical */
  char *manifest_digest;
  char *media_type;
  char *manifest_json;
  char *config_digest;
  char *config_json;
  size_t layer_count;
  char **diff_ids;
  char **blob_digests;
  char **layer_media_types;
  uint64_t *compressed_sizes;
  uint64_t *unpacked_sizes;
  size_t layers_fetched;     /* layers this pull downloaded */
  uint64_t bytes_downloaded; /* compressed bytes this pull downloaded */
} msb_pulled_image;

void msb_pulled_image_clear (msb_pulled_image *p);

/* Views of *p as a record (valid while *p lives). */
void msb_pulled_image_as_record (const msb_pulled_image *p, msb_image_record *r);

/* Pulls `reference`. Emits RESOLVED and the layer events (RESOLVING and COMPLETE are the
 * caller's, which knows whether a pull happens at all). */
int msb_registry_pull (const msb_home *home, const char *reference, const msb_pull_params *params,
                       msb_pulled_image *out, msb_error **err);

#endif

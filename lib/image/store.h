/* The image store: cached images as the state database knows them (images, manifests,
 * manifest_layers, layers) on top of the layer cache (layer_cache.h). Owns reference
 * lookups (always through the canonical form), listing, recording a verified image in one
 * transaction, and `image load`. Never records an image before all of its layers are
 * published, never writes a row that a failed load would leave behind.
 *
 * Thread-safety: functions are safe on different msb_db handles; one handle is used by one
 * thread at a time. */
#ifndef MSB_LIB_IMAGE_STORE_H
#define MSB_LIB_IMAGE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/db.h"
#include "lib/home.h"
#include "lib/image/layer_cache.h" /* msb_image_layer_path */

typedef struct msb_image_config
{
  char **env;        /* NULL-terminated "K=V"; never NULL after a successful parse */
  char **cmd;        /* NULL-terminated, or NULL when the image has none */
  char **entrypoint; /* NULL-terminated, or NULL */
  char *working_dir; /* NULL when unset */
  char *user;        /* NULL when unset */
  char *stop_signal; /* NULL when unset */
  char **labels;     /* NULL-terminated "K=V", sorted by key; never NULL after a parse */
} msb_image_config;

typedef struct msb_image
{
  char *reference; /* canonical reference ("docker.io/library/alpine:latest") */
  char *manifest_digest;
  char *config_digest;
  char *media_type; /* of the manifest */
  char *architecture;
  char *os;
  size_t layer_count; /* the arrays below are bottom -> top */
  char **diff_ids;
  char **blob_digests;
  char **layer_media_types;
  uint64_t *compressed_sizes;
  uint64_t *unpacked_sizes; /* 0 when unknown */
  uint64_t size_bytes;      /* sum of the unpacked sizes of the layers */
  int64_t created_at;       /* ms since the epoch; when the reference was stored */
  int64_t last_used_at;     /* ms since the epoch; 0 = never */
  msb_image_config config;
} msb_image;

void msb_image_config_clear (msb_image_config *c);
void msb_image_clear (msb_image *img);
/* Frees an array of n images from msb_image_store_list. */
void msb_image_list_free (msb_image *imgs, size_t n);

/* Parses an OCI / docker image config JSON: the `config` object (Env, Cmd, Entrypoint,
 * WorkingDir, User, StopSignal, Labels), architecture, os and rootfs.diff_ids (strv, may be
 * NULL). MSB_ERR_INVALID_CONFIG on malformed JSON or wrongly typed fields. */
int msb_image_config_parse (const char *json, size_t len, msb_image_config *cfg,
                            char **architecture, char **os, char ***diff_ids, msb_error **err);

/* Finds a cached image by reference (canonicalised first: `alpine`,
 * `docker.io/library/alpine` and `docker.io/library/alpine:latest` are one image) or by
 * manifest digest ("sha256:<hex>"). `repo@sha256:…` also matches a tag of that repository
 * pinned to the digest. Missing → MSB_ERR_IMAGE_NOT_FOUND naming the reference; a malformed
 * reference → MSB_ERR_INVALID_CONFIG. */
int msb_image_store_lookup (msb_db *db, const char *reference_or_digest, msb_image *out,
                            msb_error **err);

/* Every cached image reference, sorted by reference. *out is NULL when there is none. */
int msb_image_store_list (msb_db *db, msb_image **out, size_t *n, msb_error **err);

/* Sets last_used_at of `reference` (canonicalised) to now. */
int msb_image_store_touch (msb_db *db, const char *reference, msb_error **err);

/* One verified image to record: the manifest, its config and its layers (all layers must
 * already be published in the cache). */
typedef struct msb_image_record
{
  const char *manifest_digest;
  const char *media_type;
  const char *manifest_json;
  const char *config_digest;
  const char *config_json;
  size_t layer_count;
  const char *const *diff_ids;
  const char *const *blob_digests;
  const char *const *layer_media_types;
  const uint64_t *compressed_sizes;
  const uint64_t *unpacked_sizes; /* may be NULL; 0 = unknown (the layer row keeps its size) */
  const char *const *references;  /* canonical references pointing at the manifest */
  size_t reference_count;
} msb_image_record;

/* Writes the manifest, layer and reference rows of `n` images in ONE transaction (a reference
 * already present moves to the new manifest). Used by `load` and by registry pulls. */
int msb_image_store_record (msb_db *db, const msb_image_record *recs, size_t n, msb_error **err);

/* Imports an OCI image layout directory, an OCI archive tar or a docker-archive tar at
 * `path`: every blob is verified, every layer unpacked into the cache (or found there), then
 * all rows are written in one transaction. `tag` (may be NULL) adds a reference; it needs
 * an archive holding one image. *out_refs (may be NULL) gets the NULL-terminated canonical
 * references created, `tag` included. */
int msb_image_store_load (const msb_home *home, msb_db *db, const char *path, const char *tag,
                          char ***out_refs, msb_error **err);

#endif

/* Internal to `image load`: reading an image from an OCI image layout directory, an OCI
 * archive tar or a docker-archive tar, and the images such an input describes. The input is
 * hostile: names inside it are confined to it (a directory through RESOLVE_IN_ROOT, a tar by
 * normalised names), JSON files are size-capped, and nothing here writes to the cache except
 * through layer_cache.h. */
#ifndef MSB_LIB_IMAGE_IMAGE_ARCHIVE_H
#define MSB_LIB_IMAGE_IMAGE_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/image/unpack.h"

/* Manifests, indexes and configs are small; a bigger one is hostile or broken. */
#define MSB_IMAGE_JSON_MAX (4u << 20)

/* ---- the input: a directory or a tar, read by path ---- */

typedef struct msb_image_source msb_image_source;

/* Opens `path`: a directory, or a tar (plain, gzip or zstd). A tar is scanned once here:
 * small files are kept in memory, the others are streamed by a second pass. */
int msb_image_source_open (const char *path, msb_image_source **out, msb_error **err);
void msb_image_source_free (msb_image_source *s);

/* True when the input holds a regular file at `path` (links followed inside the input). */
bool msb_image_source_has (msb_image_source *s, const char *path);

/* Reads the file at `path` (at most `max` bytes, NUL-terminated). */
int msb_image_source_read (msb_image_source *s, const char *path, size_t max, char **out,
                           size_t *out_len, msb_error **err);

/* Calls fn once for each of the n `paths` (which must name distinct files), in whatever
 * order the input yields them, with a reader of its content. fn may leave content unread.
 * A missing path is an error. */
typedef int (*msb_image_blob_fn) (void *ctx, size_t index, msb_unpack_read_fn read,
                                  void *read_ctx, msb_error **err);
int msb_image_source_stream (msb_image_source *s, const char *const *paths, size_t n,
                             msb_image_blob_fn fn, void *ctx, msb_error **err);

/* ---- what the input describes ---- */

typedef struct msb_loaded_layer
{
  char *blob_path;   /* inside the input */
  char *blob_digest; /* expected; NULL when the input does not name it (docker archives) */
  uint64_t blob_size; /* expected; 0 when unknown */
  char *media_type;   /* NULL until known (docker archives) */
  char *diff_id;      /* from the config's rootfs.diff_ids */
  size_t job;         /* load.c: the blob job that materializes it */
} msb_loaded_layer;

typedef struct msb_loaded_image
{
  char *manifest_digest; /* NULL for docker archives until synthesised */
  char *media_type;
  char *manifest_json;
  char *config_digest;
  char *config_json;
  uint64_t config_size;
  size_t layer_count;
  msb_loaded_layer *layers;
  char **refs; /* canonical, NULL-terminated (never NULL) */
  bool is_docker;
} msb_loaded_image;

typedef struct msb_loaded_set
{
  msb_loaded_image *images;
  size_t n;
} msb_loaded_set;

void msb_loaded_set_clear (msb_loaded_set *set);
/* Appends an empty image to the set and returns it. */
msb_loaded_image *msb_loaded_set_add (msb_loaded_set *set);
/* Adds a canonical reference to img unless present. */
void msb_loaded_image_add_ref (msb_loaded_image *img, const char *canonical);

/* OCI image layout (index.json): verifies manifests and configs against their digests,
 * picks the host platform from image indexes. */
int msb_oci_layout_resolve (msb_image_source *src, msb_loaded_set *out, msb_error **err);

/* `docker save` format (manifest.json). */
int msb_docker_archive_resolve (msb_image_source *src, msb_loaded_set *out, msb_error **err);

/* The host's OCI architecture ("amd64", "arm64", …) from uname. */
const char *msb_image_host_arch (void);

#endif

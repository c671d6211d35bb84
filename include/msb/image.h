/* Images in the local cache: load from OCI layouts and archives, list, inspect, remove,
 * prune, save (pulling from registries is in msb/pull.h). Layers are
 * verified against their digests, unpacked once and shared read-only by every sandbox. */
#ifndef MSB_IMAGE_H
#define MSB_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_ctx msb_ctx;
typedef struct msb_image_info msb_image_info;

/* Imports every image of an OCI image layout directory, an OCI archive tar or a docker-archive
 * tar (`docker save`). `tag` (may be NULL) is added as a reference to the loaded image (the
 * archive must hold exactly one image then). *refs receives the canonical references created
 * (NULL-terminated; free each string and the vector with free()). */
int msb_image_load (msb_ctx *ctx, const char *path, const char *tag, char ***refs,
                    msb_error **err);

/* A cached image by reference ("alpine", "docker.io/library/alpine:latest") or manifest digest.
 * MSB_ERR_IMAGE_NOT_FOUND when not cached. */
int msb_image_get (msb_ctx *ctx, const char *reference, msb_image_info **out, msb_error **err);

/* All cached images. Free with msb_image_info_list_free(). */
int msb_image_list (msb_ctx *ctx, msb_image_info ***out, size_t *n, msb_error **err);

void msb_image_info_free (msb_image_info *info);
void msb_image_info_list_free (msb_image_info **list, size_t n);

const char *msb_image_info_reference (const msb_image_info *info);
const char *msb_image_info_manifest_digest (const msb_image_info *info);
const char *msb_image_info_architecture (const msb_image_info *info);
const char *msb_image_info_os (const msb_image_info *info);
size_t msb_image_info_layer_count (const msb_image_info *info);
uint64_t msb_image_info_size_bytes (const msb_image_info *info);
int64_t msb_image_info_created_at (const msb_image_info *info);
/* The image config's ENTRYPOINT, CMD and ENV ("K=V"), NULL-terminated; NULL when absent. */
const char *const *msb_image_info_entrypoint (const msb_image_info *info);
const char *const *msb_image_info_cmd (const msb_image_info *info);
const char *const *msb_image_info_env (const msb_image_info *info);
/* WORKDIR and USER of the image config, NULL when unset. */
const char *msb_image_info_working_dir (const msb_image_info *info);
const char *msb_image_info_user (const msb_image_info *info);

/* The image config's LABEL ("K=V", sorted) and STOPSIGNAL; the config blob digest; when the
 * image was last used by a create (ms since the epoch, 0 = never). */
const char *const *msb_image_info_labels (const msb_image_info *info);
const char *msb_image_info_stop_signal (const msb_image_info *info);
const char *msb_image_info_config_digest (const msb_image_info *info);
int64_t msb_image_info_last_used_at (const msb_image_info *info);

/* Layer `i` (0 = bottom, < msb_image_info_layer_count()): diff_id, blob digest, media type,
 * compressed size and unpacked size (0 when unknown). NULL / 0 when out of range. */
const char *msb_image_info_layer_diff_id (const msb_image_info *info, size_t i);
const char *msb_image_info_layer_blob_digest (const msb_image_info *info, size_t i);
const char *msb_image_info_layer_media_type (const msb_image_info *info, size_t i);
uint64_t msb_image_info_layer_compressed_size (const msb_image_info *info, size_t i);
uint64_t msb_image_info_layer_unpacked_size (const msb_image_info *info, size_t i);

/* Removes a cached image reference (a bare manifest digest removes every reference to it).
 * The manifest and the layers no other image shares are deleted with its last reference.
 * When a sandbox uses the image: MSB_ERR_IMAGE_IN_USE, unless `force` — then only the
 * reference goes and the image stays cached for the sandbox (prune removes it once the
 * sandbox is gone). Unknown reference: MSB_ERR_IMAGE_NOT_FOUND. */
int msb_image_remove (msb_ctx *ctx, const char *reference, bool force, msb_error **err);

typedef struct msb_image_prune_report
{
  size_t size; /* sizeof (msb_image_prune_report), set by the caller */
  uint64_t image_refs_removed;
  uint64_t manifests_removed;
  uint64_t layers_removed;
  uint64_t fsmeta_removed; /* vm disk artifacts: always 0 today */
  uint64_t vmdk_removed;
  int64_t bytes_reclaimed; /* -1 when unknown */
} msb_image_prune_report;

/* Removes every image no sandbox (and no snapshot) uses, then unreferenced layers and
 * leftovers of interrupted pulls and loads. `report` may be NULL. */
int msb_image_prune (msb_ctx *ctx, msb_image_prune_report *report, msb_error **err);

typedef enum msb_image_archive_format
{
  MSB_IMAGE_ARCHIVE_DOCKER = 0, /* `docker save` layout: manifest.json, <id>/layer.tar */
  MSB_IMAGE_ARCHIVE_OCI,        /* OCI image layout: oci-layout, index.json, blobs/ */
} msb_image_archive_format;

/* Writes the `n` images named by `references` as one tar, loadable by msb_image_load,
 * `docker load` (docker format) or OCI tools. Layers are re-tarred from the cache, so the
 * result is semantically (not byte-) identical to what was pulled: same files, config and
 * references, new diff_ids. msb_image_save writes through a temp file renamed to
 * `output_path`; msb_image_save_fd writes to `fd` (a pipe is fine). Unknown reference:
 * MSB_ERR_IMAGE_NOT_FOUND. */
int msb_image_save (msb_ctx *ctx, const char *const *references, size_t n,
                    const char *output_path, msb_image_archive_format format, msb_error **err);
int msb_image_save_fd (msb_ctx *ctx, const char *const *references, size_t n, int fd,
                       msb_image_archive_format format, msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif

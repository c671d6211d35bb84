/* Images in the local cache: load from OCI layouts and archives, list, inspect. Layers are
 * verified against their digests, unpacked once and shared read-only by every sandbox. */
#ifndef MSB_IMAGE_H
#define MSB_IMAGE_H

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

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif

/* Manifests as a registry serves them, the pure part: parsing an OCI / Docker v2 schema 2
 * image manifest or an OCI image index / Docker manifest list, and choosing the manifest of
 * a platform out of an index. Never fetches anything (registry_pull.c does).
 *
 * The bytes come from the network: hostile. Sizes and counts are bounded, every digest is
 * checked for a form we can verify, and schema 1 manifests (unsigned content addressing)
 * are refused. */
#ifndef MSB_LIB_IMAGE_REGISTRY_MANIFEST_H
#define MSB_LIB_IMAGE_REGISTRY_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define MSB_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MSB_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MSB_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MSB_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
/* What we send as Accept when fetching a manifest, best first. */
#define MSB_MANIFEST_ACCEPT                                                                    \
  MSB_MT_OCI_INDEX ", " MSB_MT_DOCKER_LIST ", " MSB_MT_OCI_MANIFEST ", " MSB_MT_DOCKER_MANIFEST

/* A manifest, index or config bigger than this is hostile or broken. */
#define MSB_MANIFEST_MAX (4u << 20)
/* More layers than overlayfs could stack, or more index entries than anyone publishes. */
#define MSB_MANIFEST_MAX_LAYERS 500
#define MSB_MANIFEST_MAX_ENTRIES 1024

typedef struct msb_descriptor
{
  char *media_type; /* may be NULL in an index entry */
  char *digest;     /* "sha256:<hex>" */
  uint64_t size;
  /* index entries only (NULL otherwise) */
  char *os;
  char *architecture;
  char *variant;
} msb_descriptor;

typedef struct msb_manifest
{
  bool is_index;
  char *media_type; /* what the document is (resolved from its field or the Content-Type) */
  /* index */
  msb_descriptor *manifests;
  size_t n_manifests;
  /* image manifest */
  msb_descriptor config;
  msb_descriptor *layers;
  size_t n_layers;
} msb_manifest;

/* Parses `len` bytes of manifest JSON; `content_type` (may be NULL) is the Content-Type the
 * registry sent, used when the document has no mediaType field. */
int msb_manifest_parse (const char *data, size_t len, const char *content_type,
                        msb_manifest *out, msb_error **err);
void msb_manifest_clear (msb_manifest *m);

/* Chooses the entry of `index` for os/architecture[/variant] (variant may be NULL: any; an
 * entry with the exact variant beats one without). MSB_ERR_IMAGE_PULL_FAILED naming the
 * platforms on offer when none fits. *out points into index. */
int msb_manifest_select_platform (const msb_manifest *index, const char *os,
                                  const char *architecture, const char *variant,
                                  const msb_descriptor **out, msb_error **err);

/* "linux/arm64", "linux/arm/v7", "arm64" → parts (newly allocated; variant may be NULL).
 * MSB_ERR_INVALID_CONFIG when malformed. */
int msb_platform_parse (const char *s, char **os, char **architecture, char **variant,
                        msb_error **err);

/* True for the layer media types msb can unpack (tar, gzip, zstd; OCI and Docker names). */
bool msb_layer_media_type_supported (const char *media_type);

#endif

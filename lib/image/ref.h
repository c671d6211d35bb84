/* OCI / Docker image references: parsing, validation and the canonical form that keys the
 * `images` table. Pure string work: never touches the network, the cache or the database.
 *
 *   alpine                      -> docker.io/library/alpine:latest
 *   local/busybox:latest        -> docker.io/local/busybox:latest
 *   host:5000/a/b:tag           -> host:5000/a/b:tag
 *   repo:tag@sha256:<hex>       -> docker.io/library/repo@sha256:<hex>  (the digest pins it)
 */
#ifndef MSB_LIB_IMAGE_REF_H
#define MSB_LIB_IMAGE_REF_H

#include "common/error.h"

typedef struct msb_image_ref
{
  char *registry;   /* "docker.io", "host:5000", "localhost" */
  char *repository; /* "library/alpine" */
  char *tag;        /* "latest" unless a digest was given without a tag; may be NULL */
  char *digest;     /* "sha256:<hex>" or NULL */
} msb_image_ref;

#define MSB_IMAGE_DEFAULT_REGISTRY "docker.io"
#define MSB_IMAGE_DEFAULT_TAG "latest"

/* Parses `s`, filling *out (cleared first). An invalid reference is MSB_ERR_INVALID_CONFIG
 * with a message naming it and the rule it breaks. */
int msb_image_ref_parse (const char *s, msb_image_ref *out, msb_error **err);
void msb_image_ref_clear (msb_image_ref *r);

/* "registry/repository:tag", or "registry/repository@digest" when a digest is set.
 * Newly allocated. */
char *msb_image_ref_canonical (const msb_image_ref *r);

/* Parse + canonical in one call. */
int msb_image_ref_canonicalize (const char *s, char **out, msb_error **err);

static inline void
msb_cleanup_image_ref_fn (msb_image_ref *r)
{
  msb_image_ref_clear (r);
}
#define _msb_cleanup_image_ref_ __attribute__ ((cleanup (msb_cleanup_image_ref_fn)))

#endif

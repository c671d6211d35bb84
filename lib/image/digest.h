/* Content digests of the image store: streaming SHA-256 and the "sha256:<64 hex>" form OCI
 * uses to name blobs and layers. Owns no files; never accepts an algorithm it cannot verify
 * (a digest we cannot check would let unverified bytes into the cache). */
#ifndef MSB_LIB_IMAGE_DIGEST_H
#define MSB_LIB_IMAGE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* "sha256:" + 64 hex + NUL */
#define MSB_DIGEST_STRLEN 72

typedef struct msb_sha256
{
  void *ctx; /* EVP_MD_CTX */
} msb_sha256;

void msb_sha256_init (msb_sha256 *h);
void msb_sha256_update (msb_sha256 *h, const void *data, size_t n);
/* Writes "sha256:<hex>" into out and releases the context. */
void msb_sha256_final (msb_sha256 *h, char out[MSB_DIGEST_STRLEN]);
/* Releases the context without a result (safe on a finished or zeroed state). */
void msb_sha256_dispose (msb_sha256 *h);

/* One-shot digest of a buffer, "sha256:<hex>". */
void msb_sha256_digest (const void *data, size_t n, char out[MSB_DIGEST_STRLEN]);

/* True when `s` is exactly "sha256:" followed by 64 lowercase hex digits. */
bool msb_digest_is_valid (const char *s);

/* Checks `s` is a digest we can verify; MSB_ERR_INVALID_CONFIG naming `what` otherwise. */
int msb_digest_check (const char *s, const char *what, msb_error **err);

/* The 64-hex part of a valid digest (a pointer into `digest`). */
const char *msb_digest_hex (const char *digest);

#endif

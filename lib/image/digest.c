/* Streaming SHA-256 over OpenSSL's EVP interface, and digest-string validation. */
#include "lib/image/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void
msb_sha256_init (msb_sha256 *h)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  if (ctx == NULL || EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL) != 1)
    abort ();
  h->ctx = ctx;
}

void
msb_sha256_update (msb_sha256 *h, const void *data, size_t n)
{
  if (n && EVP_DigestUpdate (h->ctx, data, n) != 1)
    abort ();
}

void
msb_sha256_final (msb_sha256 *h, char out[MSB_DIGEST_STRLEN])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex (h->ctx, md, &len) != 1 || len != 32)
    abort ();
  memcpy (out, "sha256:", 7);
  msb_hex (md, 32, out + 7);
  msb_sha256_dispose (h);
}

void
msb_sha256_dispose (msb_sha256 *h)
{
  if (h->ctx)
    EVP_MD_CTX_free (h->ctx);
  h->ctx = NULL;
}

void
msb_sha256_digest (const void *data, size_t n, char out[MSB_DIGEST_STRLEN])
{
  msb_sha256 h;
  msb_sha256_init (&h);
  msb_sha256_update (&h, data, n);
  msb_sha256_final (&h, out);
}

bool
msb_digest_is_valid (const char *s)
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || strlen (s) != 71)
    return false;
  for (const char *p = s + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int
msb_digest_check (const char *s, const char *what, msb_error **err)
{
  if (msb_digest_is_valid (s))
    return 0;
  if (s && strncmp (s, "sha256:", 7) != 0 && strchr (s, ':'))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s `%s`: unsupported digest algorithm", what,
                     s);
  return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s `%s`: not a sha256 digest", what,
                   s ? s : "(missing)");
}

const char *
msb_digest_hex (const char *digest)
{
  return digest + 7;
}

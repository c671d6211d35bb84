/* OpenSSL's low-level SHA-256 rather than SHA256()/EVP: in OpenSSL 3 the first EVP use
 * loads openssl.cnf and initialises the providers, ~0.7–1 ms in every short-lived msb
 * process, to hash a sandbox name. The low-level functions are deprecated for new code that
 * needs algorithm agility, which a name hash does not. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "lib/sha256.h"

#include <openssl/sha.h>

void
msb_sha256_buf (const void *data, size_t len, uint8_t out[32])
{
  SHA256_CTX c;
  SHA256_Init (&c);
  SHA256_Update (&c, data, len);
  SHA256_Final (out, &c);
}

/* SHA-256 of a short buffer (sandbox names, slot names) on the create and exec paths. */
#ifndef MSB_LIB_SHA256_H
#define MSB_LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

void msb_sha256_buf (const void *data, size_t len, uint8_t out[32]);

#endif

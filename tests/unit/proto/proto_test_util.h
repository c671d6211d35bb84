/* Helpers for the codec tests: hand-built envelopes and payloads, so a test states only the
 * bytes it is about. */
#ifndef MSB_PROTO_TEST_UTIL_H
#define MSB_PROTO_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/cbor.h"
#include "proto/proto.h"

/* Literal byte strings written as C string literals; the terminating NUL is not counted. */
#define LIT(s) (const uint8_t *) (s), (sizeof (s) - 1)

/* Appends {"v": 7, "t": type, "p": h'payload'} to out. */
static inline void
put_envelope (msb_buf *out, const char *type, const uint8_t *payload, size_t payload_len)
{
  msb_cbor_put_map (out, 3);
  msb_cbor_put_cstr (out, "v");
  msb_cbor_put_uint (out, 7);
  msb_cbor_put_cstr (out, "t");
  msb_cbor_put_cstr (out, type);
  msb_cbor_put_cstr (out, "p");
  msb_cbor_put_bytes (out, payload, payload_len);
}

/* Decodes an envelope of `type` carrying `payload`; returns msb_msg_decode's result. The
 * decoded msb_bytes point into *body, which the caller frees. */
static inline int
decode_payload (msb_buf *body, const char *type, const uint8_t *payload, size_t payload_len,
                msb_msg *m, msb_proto_error_kind *perr)
{
  char why[128];
  put_envelope (body, type, payload, payload_len);
  int r = msb_msg_decode (body->data, body->len, m, perr, why, sizeof why);
  if (r < 0 && getenv ("PROTO_TEST_VERBOSE"))
    fprintf (stderr, "  decode %s: %s\n", type, why);
  return r;
}

/* Encodes m into a body, decodes it into *out; returns the decode result. */
static inline int
round_trip (const msb_msg *m, msb_buf *body, msb_msg *out)
{
  msb_proto_error_kind perr;
  char why[128] = "";
  msb_msg_encode_body (body, m);
  int r = msb_msg_decode (body->data, body->len, out, &perr, why, sizeof why);
  if (r < 0)
    fprintf (stderr, "  round trip of %s failed: %s\n", msb_msg_type_name (m->type), why);
  return r;
}

/* Re-encoding a decoded message gives the bytes it came from (for canonical input). */
static inline int
reencodes_identically (const msb_msg *decoded, const msb_buf *body)
{
  msb_buf again = MSB_BUF_INIT;
  msb_msg_encode_body (&again, decoded);
  int same = again.len == body->len && memcmp (again.data, body->data, body->len) == 0;
  msb_buf_free (&again);
  return same;
}

#endif

/* Fuzzes the CBOR reader on its own: skip and a typed walk must agree on what is
 * well-formed, and the walk's canonical re-encoding must be a fixed point (canonical input
 * re-encodes to itself). Floats, tags, undefined and simple values have no encoder; the walk
 * writes them as null.
 */
// FUZZ_SOURCES: proto/cbor.c common/buf.c common/util.c common/error.c
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "proto/cbor.h"

#define FUZZ_ASSERT(cond)                                                        \
  do                                                                             \
    {                                                                            \
      if (!(cond))                                                               \
        {                                                                        \
          fprintf (stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
          abort ();                                                              \
        }                                                                        \
    }                                                                            \
  while (0)

static int walk (msb_cbor_reader *r, msb_buf *out);

static int
walk_container (msb_cbor_reader *r, msb_buf *out, int is_map)
{
  size_t n;
  if ((is_map ? msb_cbor_enter_map (r, &n) : msb_cbor_enter_array (r, &n)) < 0)
    return -1;
  if (is_map)
    msb_cbor_put_map (out, n);
  else
    msb_cbor_put_array (out, n);
  for (size_t i = 0; i < (is_map ? 2 * n : n); i++)
    if (walk (r, out) < 0)
      return -1;
  msb_cbor_leave (r);
  return 0;
}

static int
walk_number (msb_cbor_reader *r, msb_buf *out)
{
  msb_cbor_reader before = *r;
  int64_t i;
  if (msb_cbor_read_int (r, &i) == 0)
    {
      msb_cbor_put_int (out, i);
      return 0;
    }
  *r = before;
  uint64_t u;
  if (msb_cbor_read_uint (r, &u) == 0)
    {
      msb_cbor_put_uint (out, u);
      return 0;
    }
  *r = before; /* a negative integer below INT64_MIN: well-formed, not representable */
  if (msb_cbor_skip (r) < 0)
    return -1;
  msb_cbor_put_null (out);
  return 0;
}

static int
walk (msb_cbor_reader *r, msb_buf *out)
{
  const char *s;
  const uint8_t *d;
  size_t len;
  bool b;
  switch (msb_cbor_peek (r))
    {
    case MSB_CBOR_UINT:
    case MSB_CBOR_NINT:
      return walk_number (r, out);
    case MSB_CBOR_TEXT:
      if (msb_cbor_read_text (r, &s, &len) < 0)
        return -1;
      msb_cbor_put_text (out, s, len);
      return 0;
    case MSB_CBOR_BYTES:
      if (msb_cbor_read_bytes (r, &d, &len) < 0)
        return -1;
      msb_cbor_put_bytes (out, d, len);
      return 0;
    case MSB_CBOR_ARRAY:
      return walk_container (r, out, 0);
    case MSB_CBOR_MAP:
      return walk_container (r, out, 1);
    case MSB_CBOR_BOOL:
      if (msb_cbor_read_bool (r, &b) < 0)
        return -1;
      msb_cbor_put_bool (out, b);
      return 0;
    case MSB_CBOR_NULL:
      if (msb_cbor_read_null (r) < 0)
        return -1;
      msb_cbor_put_null (out);
      return 0;
    default: /* tags, floats, simple, undefined, invalid, end */
      if (msb_cbor_skip (r) < 0)
        return -1;
      msb_cbor_put_null (out);
      return 0;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  msb_cbor_reader skipper, walker;
  msb_buf canon = MSB_BUF_INIT, again = MSB_BUF_INIT;
  msb_cbor_reader_init (&skipper, data, size);
  msb_cbor_reader_init (&walker, data, size);
  int skip_ok = msb_cbor_skip (&skipper) == 0;
  int walk_ok = walk (&walker, &canon) == 0;
  FUZZ_ASSERT (skip_ok == walk_ok);
  FUZZ_ASSERT (skip_ok || (skipper.error != NULL && walker.error != NULL));
  if (skip_ok)
    {
      FUZZ_ASSERT (skipper.p == walker.p && skipper.depth == 0 && walker.depth == 0);
      msb_cbor_reader r;
      msb_cbor_reader_init (&r, canon.data, canon.len);
      FUZZ_ASSERT (walk (&r, &again) == 0 && msb_cbor_at_end (&r));
      FUZZ_ASSERT (again.len == canon.len && memcmp (again.data, canon.data, canon.len) == 0);
    }
  msb_buf_free (&canon);
  msb_buf_free (&again);
  return 0;
}

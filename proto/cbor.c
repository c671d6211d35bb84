/* CBOR encoder and reader (see cbor.h for the contract).
 *
 * Owns: item heads (major type + argument), strings, containers, skipping.
 * Must never: read past `end`, compare a declared length with a pointer sum that could
 * overflow, allocate in the reader, or accept the indefinite-length/break encodings.
 */
#include "proto/cbor.h"

#include <string.h>

enum
{
  MAJOR_UINT = 0,
  MAJOR_NINT = 1,
  MAJOR_BYTES = 2,
  MAJOR_TEXT = 3,
  MAJOR_ARRAY = 4,
  MAJOR_MAP = 5,
  MAJOR_TAG = 6,
  MAJOR_SIMPLE = 7,
};

enum
{
  AI_FALSE = 20,
  AI_TRUE = 21,
  AI_NULL = 22,
  AI_UNDEFINED = 23,
  AI_1BYTE = 24,
  AI_2BYTES = 25,
  AI_4BYTES = 26,
  AI_8BYTES = 27,
  AI_INDEFINITE = 31,
};

/* ---- encoder ------------------------------------------------------------------------ */

size_t
msb_cbor_head_size (uint64_t arg)
{
  if (arg < 24)
    return 1;
  if (arg <= 0xff)
    return 2;
  if (arg <= 0xffff)
    return 3;
  if (arg <= 0xffffffffu)
    return 5;
  return 9;
}

size_t
msb_cbor_write_head (uint8_t *dst, unsigned major, uint64_t arg)
{
  size_t n = msb_cbor_head_size (arg);
  uint8_t ib = (uint8_t) (major << 5);
  switch (n)
    {
    case 1:
      dst[0] = ib | (uint8_t) arg;
      return 1;
    case 2:
      dst[0] = ib | AI_1BYTE;
      break;
    case 3:
      dst[0] = ib | AI_2BYTES;
      break;
    case 5:
      dst[0] = ib | AI_4BYTES;
      break;
    default:
      dst[0] = ib | AI_8BYTES;
      break;
    }
  for (size_t i = 1; i < n; i++)
    dst[i] = (uint8_t) (arg >> (8 * (n - 1 - i)));
  return n;
}

static void
put_head (msb_buf *out, unsigned major, uint64_t arg)
{
  uint8_t *dst = msb_buf_reserve (out, 9);
  out->len += msb_cbor_write_head (dst, major, arg);
}

void
msb_cbor_put_uint (msb_buf *out, uint64_t v)
{
  put_head (out, MAJOR_UINT, v);
}

void
msb_cbor_put_int (msb_buf *out, int64_t v)
{
  if (v >= 0)
    put_head (out, MAJOR_UINT, (uint64_t) v);
  else
    put_head (out, MAJOR_NINT, (uint64_t) (-1 - v)); /* -1 - INT64_MIN == INT64_MAX */
}

void
msb_cbor_put_bytes_head (msb_buf *out, uint64_t len)
{
  put_head (out, MAJOR_BYTES, len);
}

void
msb_cbor_put_bytes (msb_buf *out, const void *data, size_t len)
{
  put_head (out, MAJOR_BYTES, len);
  msb_buf_append (out, data, len);
}

void
msb_cbor_put_text (msb_buf *out, const char *s, size_t len)
{
  put_head (out, MAJOR_TEXT, len);
  msb_buf_append (out, s, len);
}

void
msb_cbor_put_cstr (msb_buf *out, const char *s)
{
  if (s == NULL)
    s = "";
  msb_cbor_put_text (out, s, strlen (s));
}

void
msb_cbor_put_array (msb_buf *out, uint64_t n)
{
  put_head (out, MAJOR_ARRAY, n);
}

void
msb_cbor_put_map (msb_buf *out, uint64_t n)
{
  put_head (out, MAJOR_MAP, n);
}

void
msb_cbor_put_bool (msb_buf *out, bool v)
{
  msb_buf_append_byte (out, (uint8_t) ((MAJOR_SIMPLE << 5) | (v ? AI_TRUE : AI_FALSE)));
}

void
msb_cbor_put_null (msb_buf *out)
{
  msb_buf_append_byte (out, (uint8_t) ((MAJOR_SIMPLE << 5) | AI_NULL));
}

/* ---- reader ------------------------------------------------------------------------- */

static int
fail (msb_cbor_reader *r, const char *why)
{
  if (r->error == NULL)
    r->error = why;
  return -1;
}

void
msb_cbor_reader_init (msb_cbor_reader *r, const uint8_t *data, size_t len)
{
  r->p = data;
  r->end = data + len;
  r->depth = 0;
  r->error = NULL;
}

size_t
msb_cbor_remaining (const msb_cbor_reader *r)
{
  return (size_t) (r->end - r->p);
}

bool
msb_cbor_at_end (const msb_cbor_reader *r)
{
  return r->p >= r->end;
}

msb_cbor_type
msb_cbor_peek (const msb_cbor_reader *r)
{
  if (r->p >= r->end)
    return MSB_CBOR_END;
  unsigned major = r->p[0] >> 5, ai = r->p[0] & 31;
  if (ai >= 28) /* reserved, indefinite length or a stray break */
    return MSB_CBOR_INVALID;
  static const msb_cbor_type by_major[] = {
    MSB_CBOR_UINT, MSB_CBOR_NINT, MSB_CBOR_BYTES, MSB_CBOR_TEXT,
    MSB_CBOR_ARRAY, MSB_CBOR_MAP, MSB_CBOR_TAG,
  };
  if (major != MAJOR_SIMPLE)
    return by_major[major];
  switch (ai)
    {
    case AI_FALSE:
    case AI_TRUE:
      return MSB_CBOR_BOOL;
    case AI_NULL:
      return MSB_CBOR_NULL;
    case AI_UNDEFINED:
      return MSB_CBOR_UNDEFINED;
    case AI_2BYTES:
    case AI_4BYTES:
    case AI_8BYTES:
      return MSB_CBOR_FLOAT;
    default:
      return MSB_CBOR_SIMPLE;
    }
}

/* Reads an item head: its major type and argument (a length, count, value, tag number,
 * simple value or raw float bits). */
static int
read_head (msb_cbor_reader *r, unsigned *major, uint64_t *arg)
{
  if (r->p >= r->end)
    return fail (r, "truncated item");
  uint8_t ib = *r->p++;
  unsigned ai = ib & 31;
  *major = ib >> 5;
  if (ai < AI_1BYTE)
    {
      *arg = ai;
      return 0;
    }
  if (ai == AI_INDEFINITE)
    return fail (r, *major == MAJOR_SIMPLE ? "unexpected break" : "indefinite length not supported");
  if (ai > AI_8BYTES)
    return fail (r, "reserved additional information");
  size_t n = (size_t) 1 << (ai - AI_1BYTE);
  if (msb_cbor_remaining (r) < n)
    return fail (r, "truncated item head");
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = (v << 8) | *r->p++;
  /* RFC 8949 §3.3: a simple value below 32 in the one-byte form is not well-formed. */
  if (*major == MAJOR_SIMPLE && ai == AI_1BYTE && v < 32)
    return fail (r, "malformed simple value");
  *arg = v;
  return 0;
}

static int
read_head_of (msb_cbor_reader *r, unsigned want, uint64_t *arg, const char *mismatch)
{
  unsigned major;
  if (read_head (r, &major, arg) < 0)
    return -1;
  if (major != want)
    return fail (r, mismatch);
  return 0;
}

int
msb_cbor_read_uint (msb_cbor_reader *r, uint64_t *v)
{
  return read_head_of (r, MAJOR_UINT, v, "expected an unsigned integer");
}

int
msb_cbor_read_int (msb_cbor_reader *r, int64_t *v)
{
  unsigned major;
  uint64_t arg;
  if (read_head (r, &major, &arg) < 0)
    return -1;
  if (major != MAJOR_UINT && major != MAJOR_NINT)
    return fail (r, "expected an integer");
  if (arg > (uint64_t) INT64_MAX)
    return fail (r, "integer out of range");
  *v = major == MAJOR_UINT ? (int64_t) arg : -1 - (int64_t) arg;
  return 0;
}

int
msb_cbor_read_bool (msb_cbor_reader *r, bool *v)
{
  msb_cbor_type t = msb_cbor_peek (r);
  if (t != MSB_CBOR_BOOL)
    return fail (r, t == MSB_CBOR_END ? "truncated item" : "expected a bool");
  *v = (*r->p++ & 31) == AI_TRUE;
  return 0;
}

int
msb_cbor_read_null (msb_cbor_reader *r)
{
  if (!msb_cbor_take_null (r))
    return fail (r, "expected null");
  return 0;
}

bool
msb_cbor_take_null (msb_cbor_reader *r)
{
  if (msb_cbor_peek (r) != MSB_CBOR_NULL)
    return false;
  r->p++;
  return true;
}

static int
read_string (msb_cbor_reader *r, unsigned major, const uint8_t **data, size_t *len,
             const char *mismatch)
{
  uint64_t n;
  if (read_head_of (r, major, &n, mismatch) < 0)
    return -1;
  if (n > msb_cbor_remaining (r))
    return fail (r, "string longer than the input");
  *data = r->p;
  *len = (size_t) n;
  r->p += n;
  return 0;
}

int
msb_cbor_read_text (msb_cbor_reader *r, const char **s, size_t *len)
{
  const uint8_t *d;
  if (read_string (r, MAJOR_TEXT, &d, len, "expected text") < 0)
    return -1;
  *s = (const char *) d;
  return 0;
}

int
msb_cbor_read_bytes (msb_cbor_reader *r, const uint8_t **data, size_t *len)
{
  return read_string (r, MAJOR_BYTES, data, len, "expected a byte string");
}

/* Items of a container that still fit in the input: each takes at least one byte, so a
 * count above the bytes left is a lie and is rejected before anyone loops or allocates. */
static int
enter (msb_cbor_reader *r, unsigned major, size_t per_entry, size_t *count, const char *mismatch)
{
  uint64_t n;
  if (read_head_of (r, major, &n, mismatch) < 0)
    return -1;
  if (n > msb_cbor_remaining (r) / per_entry)
    return fail (r, "container longer than the input");
  if (r->depth >= MSB_CBOR_MAX_DEPTH)
    return fail (r, "nesting too deep");
  r->depth++;
  *count = (size_t) n;
  return 0;
}

int
msb_cbor_enter_array (msb_cbor_reader *r, size_t *count)
{
  return enter (r, MAJOR_ARRAY, 1, count, "expected an array");
}

int
msb_cbor_enter_map (msb_cbor_reader *r, size_t *entries)
{
  return enter (r, MAJOR_MAP, 2, entries, "expected a map");
}

void
msb_cbor_leave (msb_cbor_reader *r)
{
  if (r->depth > 0)
    r->depth--;
}

int
msb_cbor_skip (msb_cbor_reader *r)
{
  unsigned major;
  uint64_t arg;
  if (read_head (r, &major, &arg) < 0)
    return -1;
  switch (major)
    {
    case MAJOR_BYTES:
    case MAJOR_TEXT:
      if (arg > msb_cbor_remaining (r))
        return fail (r, "string longer than the input");
      r->p += arg;
      return 0;
    case MAJOR_ARRAY:
    case MAJOR_MAP:
      {
        size_t per = major == MAJOR_MAP ? 2 : 1;
        if (arg > msb_cbor_remaining (r) / per)
          return fail (r, "container longer than the input");
        if (r->depth >= MSB_CBOR_MAX_DEPTH)
          return fail (r, "nesting too deep");
        r->depth++;
        for (uint64_t i = 0; i < arg * per; i++)
          if (msb_cbor_skip (r) < 0)
            return -1;
        r->depth--;
        return 0;
      }
    case MAJOR_TAG:
      /* A tag wraps one item; counting it as a level bounds chains of tags too. */
      if (r->depth >= MSB_CBOR_MAX_DEPTH)
        return fail (r, "nesting too deep");
      r->depth++;
      if (msb_cbor_skip (r) < 0)
        return -1;
      r->depth--;
      return 0;
    default: /* integers, simple values and floats are complete after their head */
      return 0;
    }
}

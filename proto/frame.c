/* Frame layer (API.md §3.2): `[len u32 BE][id u32 BE][flags u8][body]`.
 *
 * Owns: splitting a byte stream into frames and writing frame headers.
 * Must never: look at the body (the relay routes by header only), or wait for the rest of a
 * frame whose header is already known to be invalid — a bad len or flag byte is reported as
 * soon as it is visible, so a hostile peer cannot make the reader buffer 4 MiB first.
 */
#include "proto/proto.h"
#include "proto/internal.h"

#include <stdlib.h>

static uint32_t
get_u32_be (const uint8_t *p)
{
  return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static void
put_u32_be (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

int
msb_frame_parse (const uint8_t *buf, size_t len, msb_frame *f, size_t *consumed)
{
  if (len < 4)
    return 0;
  uint32_t frame_len = get_u32_be (buf);
  if (frame_len < 5 || frame_len > MSB_FRAME_MAX_LEN)
    return -1;
  if (len < MSB_FRAME_HEADER_LEN)
    return 0;
  uint8_t flags = buf[8];
  if (flags & ~MSB_FLAG_MASK)
    return -1;
  size_t total = 4 + (size_t) frame_len;
  if (len < total)
    return 0;
  f->id = get_u32_be (buf + 4);
  f->flags = flags;
  f->body = buf + MSB_FRAME_HEADER_LEN;
  f->body_len = total - MSB_FRAME_HEADER_LEN;
  *consumed = total;
  return 1;
}

void
msb_frame_header_write (uint8_t *dst, uint32_t id, uint8_t flags, size_t body_len)
{
  /* A body that does not fit the 32-bit len field cannot be framed at all; writing a
   * truncated length would desynchronise the stream, so this is a caller bug. Bodies over
   * MSB_FRAME_MAX_BODY are still written: the peer rejects them as a framing error. */
  if (body_len > UINT32_MAX - 5u)
    abort ();
  put_u32_be (dst, (uint32_t) (body_len + 5));
  put_u32_be (dst + 4, id);
  dst[8] = flags;
}

void
msb_frame_put_header (msb_buf *out, uint32_t id, uint8_t flags, size_t body_len)
{
  msb_frame_header_write (msb_buf_reserve (out, MSB_FRAME_HEADER_LEN), id, flags, body_len);
  out->len += MSB_FRAME_HEADER_LEN;
}

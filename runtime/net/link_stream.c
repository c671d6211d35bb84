/* The stream link (vm backend): QEMU's `-netdev stream` / `-netdev socket` framing, a 4-byte
 * big-endian length before each Ethernet frame, over a stream socket. Input is reassembled
 * across reads; a length of 0 or beyond MSB_NET_FRAME_MAX is a protocol error and ends the
 * link (the peer is not QEMU). Output is written whole frames at a time: what the socket does
 * not take now waits in a queue of at most OUT_MAX bytes, and frames that would overflow it
 * are dropped whole, never cut. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "runtime/net/link.h"

#define OUT_MAX (4u << 20)
#define READ_CHUNK (256u << 10)

typedef struct stream_link
{
  msb_net_link base;
  msb_buf in;
  size_t in_off;
  msb_buf out;
  size_t out_off;
  bool broken;
} stream_link;

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* A complete frame at the read offset: copies it out and returns its length. */
static ssize_t
take_frame (stream_link *s, uint8_t *buf, size_t cap)
{
  size_t avail = s->in.len - s->in_off;
  if (avail < 4)
    return 0;
  uint32_t len = rd32 (s->in.data + s->in_off);
  if (len == 0 || len > MSB_NET_FRAME_MAX || len > cap)
    {
      s->broken = true;
      return -1;
    }
  if (avail < 4 + (size_t) len)
    return 0;
  memcpy (buf, s->in.data + s->in_off + 4, len);
  s->in_off += 4 + len;
  if (s->in_off == s->in.len)
    {
      msb_buf_reset (&s->in);
      s->in_off = 0;
    }
  return len;
}

static ssize_t
stream_recv (msb_net_link *l, uint8_t *buf, size_t cap)
{
  stream_link *s = (stream_link *) l;
  if (s->broken)
    return -1;
  ssize_t f = take_frame (s, buf, cap);
  if (f != 0)
    return f;
  if (s->in_off)
    {
      msb_buf_consume (&s->in, s->in_off);
      s->in_off = 0;
    }
  for (;;)
    {
      ssize_t n = recv (l->fd, msb_buf_reserve (&s->in, READ_CHUNK), READ_CHUNK, 0);
      if (n > 0)
        {
          s->in.len += (size_t) n;
          return take_frame (s, buf, cap);
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      s->broken = true;
      return -1;
    }
}

static int
stream_flush (msb_net_link *l)
{
  stream_link *s = (stream_link *) l;
  while (s->out_off < s->out.len)
    {
      ssize_t n = send (l->fd, s->out.data + s->out_off, s->out.len - s->out_off, MSG_NOSIGNAL);
      if (n > 0)
        {
          s->out_off += (size_t) n;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      s->broken = true;
      return -1;
    }
  if (s->out_off == s->out.len)
    {
      msb_buf_reset (&s->out);
      s->out_off = 0;
    }
  else if (s->out_off > OUT_MAX / 2)
    {
      msb_buf_consume (&s->out, s->out_off);
      s->out_off = 0;
    }
  return 0;
}

static bool
stream_send (msb_net_link *l, const uint8_t *frame, size_t len)
{
  stream_link *s = (stream_link *) l;
  if (s->broken || len == 0 || len > MSB_NET_FRAME_MAX)
    return false;
  if (s->out.len - s->out_off + 4 + len > OUT_MAX)
    {
      stream_flush (l);
      if (s->out.len - s->out_off + 4 + len > OUT_MAX)
        return false;
    }
  uint8_t hdr[4] = { (uint8_t) (len >> 24), (uint8_t) (len >> 16), (uint8_t) (len >> 8), (uint8_t) len };
  msb_buf_append (&s->out, hdr, 4);
  msb_buf_append (&s->out, frame, len);
  /* Small queues go out at once; the engine flushes the rest when the socket is writable. */
  if (s->out.len - s->out_off <= 4 + len)
    stream_flush (l);
  return true;
}

static short
stream_events (const msb_net_link *l)
{
  const stream_link *s = (const stream_link *) l;
  return (short) (POLLIN | (s->out.len > s->out_off ? POLLOUT : 0));
}

static bool
stream_buffered (const msb_net_link *l)
{
  const stream_link *s = (const stream_link *) l;
  return s->in.len - s->in_off >= 4;
}

static void
stream_free (msb_net_link *l)
{
  stream_link *s = (stream_link *) l;
  if (l->fd >= 0)
    close (l->fd);
  msb_buf_free (&s->in);
  msb_buf_free (&s->out);
  free (s);
}

static const msb_net_link_ops stream_ops = { stream_recv, stream_send, stream_flush,
                                             stream_events, stream_buffered, stream_free };

msb_net_link *
msb_net_link_stream_new (int fd)
{
  stream_link *s = msb_xcalloc (1, sizeof *s);
  s->base.ops = &stream_ops;
  s->base.fd = fd;
  msb_set_nonblock (fd, true);
  return &s->base;
}

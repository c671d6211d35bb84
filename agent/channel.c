/* agent_channel: frame I/O on the host stream (see channel.h). Never interprets a message
 * and never blocks, except in agent_channel_flush_until, which shutdown uses on purpose. */
#include "agent/channel.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* One read; large enough that a 4 MiB frame arrives in few syscalls, small enough that the
 * inbound buffer stays near one frame. */
#define CHANNEL_READ_CHUNK (256u * 1024u)
/* Largest single write: bounds the time spent in one syscall and keeps the loop fair. */
#define CHANNEL_WRITE_CHUNK (1024u * 1024u)

void
agent_channel_init (agent_channel *ch, int fd)
{
  memset (ch, 0, sizeof *ch);
  ch->fd = fd;
}

void
agent_channel_free (agent_channel *ch)
{
  msb_buf_free (&ch->in);
  agent_queue_free (&ch->out);
  if (ch->fd >= 0)
    close (ch->fd);
  ch->fd = -1;
}

int
agent_channel_fill (agent_channel *ch, msb_error **err)
{
  uint8_t *p = msb_buf_reserve (&ch->in, CHANNEL_READ_CHUNK);
  ssize_t n;
  do
    n = read (ch->fd, p, CHANNEL_READ_CHUNK);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 1;
  if (n < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "read from the host channel");
  if (n == 0)
    return 0;
  ch->in.len += (size_t) n;
  return 1;
}

int
agent_channel_next_frame (agent_channel *ch, msb_frame *f)
{
  size_t consumed = 0;
  int r = msb_frame_parse (ch->in.data + ch->in_off, ch->in.len - ch->in_off, f, &consumed);
  if (r == 1)
    ch->in_off += consumed;
  return r;
}

void
agent_channel_compact (agent_channel *ch)
{
  if (ch->in_off == 0)
    return;
  msb_buf_consume (&ch->in, ch->in_off);
  ch->in_off = 0;
}

size_t
agent_channel_unparsed (const agent_channel *ch)
{
  return ch->in.len - ch->in_off;
}

void
agent_channel_send (agent_channel *ch, uint32_t id, const msb_msg *m)
{
  msb_msg_write_frame (&ch->out.buf, id, 0, m);
}

void
agent_channel_send_error (agent_channel *ch, uint32_t id, msb_proto_error_kind kind,
                          const char *offending_type, const char *fmt, ...)
{
  char message[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (message, sizeof message, fmt, ap);
  va_end (ap);

  msb_msg m = { .type = MSB_MSG_ERROR, .generation = MSB_PROTO_GENERATION };
  m.u.error.kind = kind;
  m.u.error.message = message;
  m.u.error.offending_type = (char *) offending_type;
  agent_channel_send (ch, id, &m);
}

size_t
agent_channel_pending (const agent_channel *ch)
{
  return agent_queue_pending (&ch->out);
}

int
agent_channel_flush (agent_channel *ch, msb_error **err)
{
  while (agent_queue_pending (&ch->out) > 0)
    {
      size_t len = agent_queue_pending (&ch->out);
      if (len > CHANNEL_WRITE_CHUNK)
        len = CHANNEL_WRITE_CHUNK;
      ssize_t n = write (ch->fd, agent_queue_data (&ch->out), len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
      if (n < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "write to the host channel");
      agent_queue_consume (&ch->out, (size_t) n);
    }
  return 0;
}

int
agent_channel_flush_until (agent_channel *ch, uint64_t deadline_ns, msb_error **err)
{
  for (;;)
    {
      if (agent_channel_flush (ch, err) < 0)
        return -1;
      if (agent_queue_pending (&ch->out) == 0)
        return 0;
      uint64_t now = msb_now_mono_ns ();
      if (now >= deadline_ns)
        return msb_fail (err, MSB_ERR_IO, "host channel: %zu bytes left unsent",
                         agent_queue_pending (&ch->out));
      struct pollfd pfd = { .fd = ch->fd, .events = POLLOUT };
      int timeout_ms = (int) ((deadline_ns - now) / 1000000u) + 1;
      if (poll (&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "wait for the host channel");
    }
}

/* The TAP link (ns backend): the kernel keeps frame boundaries, so one read is one frame and
 * one write is one frame. The device queue absorbs bursts; when it is full the frame is
 * dropped rather than queued here (the guest's TCP retransmits). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/net/link.h"

static ssize_t
tap_recv (msb_net_link *l, uint8_t *buf, size_t cap)
{
  for (;;)
    {
      ssize_t n = read (l->fd, buf, cap);
      if (n > 0)
        return n;
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      return -1; /* EBADFD / EIO: the namespace and its device are gone */
    }
}

static bool
tap_send (msb_net_link *l, const uint8_t *frame, size_t len)
{
  for (;;)
    {
      ssize_t n = write (l->fd, frame, len);
      if (n == (ssize_t) len)
        return true;
      if (n < 0 && errno == EINTR)
        continue;
      return false;
    }
}

static int
tap_flush (msb_net_link *l)
{
  return 0;
}

static short
tap_events (const msb_net_link *l)
{
  return POLLIN;
}

static bool
tap_buffered (const msb_net_link *l)
{
  return false;
}

static void
tap_free (msb_net_link *l)
{
  if (l->fd >= 0)
    close (l->fd);
  free (l);
}

static const msb_net_link_ops tap_ops = { tap_recv, tap_send, tap_flush, tap_events,
                                        tap_buffered, tap_free };

msb_net_link *
msb_net_link_tap_new (int fd)
{
  msb_net_link *l = msb_xcalloc (1, sizeof *l);
  l->ops = &tap_ops;
  l->fd = fd;
  msb_set_nonblock (fd, true);
  return l;
}

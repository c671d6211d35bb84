/* A link: how Ethernet frames travel between the sandbox and the network engine. Two kinds:
 *   tap     the ns backend: a TAP device (`eth0` in the sandbox's network namespace) whose
 *           fd the runtime holds; one read() or write() is one frame;
 *   stream  the vm backend: a stream socket carrying QEMU's `-netdev stream` (and `socket`)
 *           format — each frame preceded by its length as a 4-byte big-endian integer.
 * The engine polls link->fd for link_events() and calls recv/flush when it is ready. A link
 * never blocks: a frame that cannot be written now is queued up to a bound and then dropped,
 * which TCP inside the guest recovers from. Not thread-safe: the engine thread owns it. */
#ifndef MSB_RUNTIME_NET_LINK_H
#define MSB_RUNTIME_NET_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MSB_NET_FRAME_MAX 65536

typedef struct msb_net_link msb_net_link;

typedef struct msb_net_link_ops
{
  /* One frame into buf (cap ≥ MSB_NET_FRAME_MAX): its length, 0 when none is ready, -1 when
   * the link is gone (the sandbox or QEMU ended). */
  ssize_t (*recv) (msb_net_link *l, uint8_t *buf, size_t cap);
  /* Sends one frame, or queues it; false when it was dropped. */
  bool (*send) (msb_net_link *l, const uint8_t *frame, size_t len);
  /* Writes queued output; -1 when the link is gone. */
  int (*flush) (msb_net_link *l);
  /* POLLIN, plus POLLOUT while output is queued. */
  short (*events) (const msb_net_link *l);
  /* Is input already read and waiting (poll would not report it)? */
  bool (*buffered) (const msb_net_link *l);
  void (*free) (msb_net_link *l);
} msb_net_link_ops;

struct msb_net_link
{
  const msb_net_link_ops *ops;
  int fd;
};

/* Takes ownership of `fd` (a TAP fd opened with IFF_TAP | IFF_NO_PI). */
msb_net_link *msb_net_link_tap_new (int fd);
/* Takes ownership of `fd` (a connected stream socket). */
msb_net_link *msb_net_link_stream_new (int fd);

#endif

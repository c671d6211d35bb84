/* agent_queue: see queue.h. Owns nothing but its buffer. */
#include "agent/queue.h"

#include <string.h>

/* Below this the memmove is cheaper than keeping the dead bytes around. */
#define QUEUE_COMPACT_MIN (256u * 1024u)

void
agent_queue_consume (agent_queue *q, size_t n)
{
  size_t pending = agent_queue_pending (q);
  if (n >= pending)
    {
      q->buf.len = 0;
      q->head = 0;
      return;
    }
  q->head += n;
  if (q->head >= QUEUE_COMPACT_MIN && q->head > pending - n)
    {
      memmove (q->buf.data, q->buf.data + q->head, q->buf.len - q->head);
      q->buf.len -= q->head;
      q->head = 0;
    }
}

void
agent_queue_free (agent_queue *q)
{
  msb_buf_free (&q->buf);
  q->head = 0;
}

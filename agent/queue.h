/* A FIFO of bytes with a read head: the agent's outbound frame queue and each session's
 * pending stdin. Consuming a prefix moves a head instead of memmove-ing the tail on every
 * partial write; the buffer is compacted only when the dead prefix dominates, so a
 * multi-MiB queue drained in 64 KiB writes costs O(n), not O(n²). */
#ifndef MSB_AGENT_QUEUE_H
#define MSB_AGENT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

typedef struct agent_queue
{
  msb_buf buf;  /* appended to with msb_buf_* or msb_msg_write_frame */
  size_t head;  /* first byte not yet consumed */
} agent_queue;

static inline size_t
agent_queue_pending (const agent_queue *q)
{
  return q->buf.len - q->head;
}

static inline const uint8_t *
agent_queue_data (const agent_queue *q)
{
  return q->buf.data + q->head;
}

/* Drops the first `n` pending bytes. */
void agent_queue_consume (agent_queue *q, size_t n);
/* Drops everything pending and releases the memory. */
void agent_queue_free (agent_queue *q);

#endif

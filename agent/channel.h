/* The byte stream to the host: frames in, frames out. Inbound bytes are parsed in place
 * (decoded messages point into the inbound buffer until agent_channel_compact); outbound
 * frames are encoded straight into a queue that is written without ever blocking the loop.
 * Owns the channel fd. Knows nothing about what the frames mean. */
#ifndef MSB_AGENT_CHANNEL_H
#define MSB_AGENT_CHANNEL_H

#include <stdint.h>

#include "agent/queue.h"
#include "common/error.h"
#include "proto/proto.h"

typedef struct agent_channel
{
  int fd;
  msb_buf in;      /* bytes read from the host */
  size_t in_off;   /* first byte of `in` not yet parsed into a frame */
  agent_queue out; /* encoded frames waiting for the host */
} agent_channel;

void agent_channel_init (agent_channel *ch, int fd);
void agent_channel_free (agent_channel *ch);

/* One non-blocking read into the inbound buffer. Returns 1 when bytes arrived or none were
 * available, 0 at end of stream, -1 on a read error. Must not be called while a frame
 * returned by agent_channel_next_frame is still in use. */
int agent_channel_fill (agent_channel *ch, msb_error **err);

/* Takes the next complete frame out of the inbound buffer: 1 = *f filled (its body is valid
 * until agent_channel_compact), 0 = incomplete, -1 = framing error (the stream is
 * unrecoverable). */
int agent_channel_next_frame (agent_channel *ch, msb_frame *f);

/* Drops the parsed prefix of the inbound buffer. */
void agent_channel_compact (agent_channel *ch);

/* Bytes read but not yet parsed. */
size_t agent_channel_unparsed (const agent_channel *ch);

/* Queues one frame carrying `m` (flags as the spec fixes them for its type). */
void agent_channel_send (agent_channel *ch, uint32_t id, const msb_msg *m);

/* Queues a core.error. `offending_type` may be NULL. */
void agent_channel_send_error (agent_channel *ch, uint32_t id, msb_proto_error_kind kind,
                               const char *offending_type, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

/* Bytes queued for the host. */
size_t agent_channel_pending (const agent_channel *ch);

/* Writes queued bytes until the socket would block. Returns 0, or -1 when the host is gone
 * or the write failed. */
int agent_channel_flush (agent_channel *ch, msb_error **err);

/* Writes queued bytes, waiting for the socket, until the queue is empty or CLOCK_MONOTONIC
 * passes `deadline_ns`. Best effort; returns 0 when everything was written. */
int agent_channel_flush_until (agent_channel *ch, uint64_t deadline_ns, msb_error **err);

#endif

/* A client connection to a sandbox's relay (agent.sock): the 8-byte handshake, the cached
 * core.ready, and multiplexed sessions. A reader thread routes incoming frames by id to
 * per-session queues; callers block on a session (or poll its eventfd) and decode frames
 * themselves. Safe to use from many threads. */
#ifndef MSB_LIB_CONN_H
#define MSB_LIB_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "lib/home.h"
#include "proto/proto.h"

typedef struct msb_conn msb_conn;
typedef struct msb_conn_session msb_conn_session;

/* Connects to sandbox `name`; MSB_ERR_SANDBOX_NOT_RUNNING when nothing listens. */
int msb_conn_open (const msb_home *home, const char *name, int timeout_ms, msb_conn **out,
                   msb_error **err);
void msb_conn_close (msb_conn *c);
bool msb_conn_is_alive (const msb_conn *c);
/* The agent's core.ready as received at connect. */
const msb_msg_ready *msb_conn_ready (const msb_conn *c);

/* A new session with a fresh id from this connection's range. */
int msb_conn_session_open (msb_conn *c, msb_conn_session **out, msb_error **err);
uint32_t msb_conn_session_id (const msb_conn_session *s);
int msb_conn_session_event_fd (const msb_conn_session *s);
/* Sends `m` on the session's id (the type's spec flags + extra). */
int msb_conn_session_send (msb_conn_session *s, uint8_t extra_flags, const msb_msg *m,
                           msb_error **err);
/* Sends `m` on id 0 (core.shutdown). */
int msb_conn_send_control (msb_conn *c, const msb_msg *m, msb_error **err);

/* Next frame of the session, decoded into *m (valid until the next call or close).
 * Returns 1, 0 on timeout (timeout_ms ≥ 0), or -1 when the connection is lost or the frame
 * is malformed. */
int msb_conn_session_next (msb_conn_session *s, msb_msg *m, uint8_t *flags, int timeout_ms,
                           msb_error **err);
void msb_conn_session_close (msb_conn_session *s);

/* One request, one terminal reply (ping/pong, touch/touched). */
int msb_conn_request (msb_conn *c, const msb_msg *req, msb_msg *reply, int timeout_ms,
                      msb_error **err);

#endif

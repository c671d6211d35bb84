/* The relay: bytes between the agent channel and up to 128 clients on agent.sock, routed by
 * frame header (API.md §3.4), with the exec.log tap on the side. Frames from clients are
 * checked against the id range the relay handed out; the agent's frames go only to the
 * client owning their id. */
#ifndef MSB_RUNTIME_RELAY_H
#define MSB_RUNTIME_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "runtime/exec_log.h"
#include "runtime/loop.h"

typedef struct msb_relay msb_relay;

typedef struct msb_relay_events
{
  void *data;
  /* A client sent core.shutdown (id 0). */
  void (*on_shutdown_request) (void *data);
  /* The agent channel reached EOF or failed. */
  void (*on_agent_closed) (void *data);
  /* The runtime's own main command ended (exit code, -1 if killed or failed to start). */
  void (*on_main_exited) (void *data, int code);
} msb_relay_events;

/* The id of the runtime's own exec session (the sandbox's main command): above every client
 * range (128 × MSB_RELAY_ID_STEP), so no client can send or receive its frames. */
#define MSB_RELAY_MAIN_SESSION_ID 0xFFFFFFF0u

/* Takes over `agent_fd` (non-blocking) and `listen_fd` (listening, non-blocking).
 * `ready_frame` is the agent's core.ready frame, replayed to each client after the handshake. */
int msb_relay_start (msb_loop *loop, int agent_fd, int listen_fd, const uint8_t *ready_frame,
                     size_t ready_len, msb_exec_log *log, const msb_relay_events *events,
                     msb_relay **out, msb_error **err);

/* Starts the sandbox's main command as the runtime's own exec session; its output goes to
 * exec.log and its end is reported through on_main_exited. */
void msb_relay_start_main (msb_relay *r, char *const *argv);

/* Queues a frame for the agent (e.g. core.shutdown). */
void msb_relay_send_to_agent (msb_relay *r, const uint8_t *frame, size_t len);

/* While draining, new exec requests are answered with core.exec.failed by the relay itself. */
void msb_relay_set_draining (msb_relay *r, bool draining);

/* Exec sessions in flight and the time of the last activity (CLOCK_MONOTONIC ns): exec
 * traffic and touch count; ping does not. */
unsigned msb_relay_active_sessions (const msb_relay *r);
/* Connected clients. */
unsigned msb_relay_client_count (const msb_relay *r);
uint64_t msb_relay_last_activity_ns (const msb_relay *r);

/* Stops accepting clients and closes every connection (the agent fd stays open). */
void msb_relay_close_clients (msb_relay *r);
/* Writes out what is queued for the agent, blocking up to timeout_ms. */
void msb_relay_flush_agent (msb_relay *r, int timeout_ms);
void msb_relay_free (msb_relay *r);

#endif

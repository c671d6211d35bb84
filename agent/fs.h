/* The agent's filesystem server (API.md §3.7): core.fs.request on a session id, answered with
 * one core.fs.response (TERMINAL), preceded by core.fs.data chunks for Read; Write consumes
 * core.fs.data chunks from the host until an empty one.
 *
 * Every path is resolved inside the sandbox root (the agent's "/", or MSB_AGENT_FS_ROOT in
 * tests) with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): ".." and absolute symlinks
 * stop at the root, /proc magic links are refused, so a request behaves the same whether
 * the agent runs in a namespace sandbox or as the init of a VM.
 *
 * Never blocks the loop for long: reads are produced one chunk at a time while the host
 * channel has room, writes are applied one received chunk at a time, and the operations
 * whose cost has no bound (recursive copy and removal) run in a forked worker. */
#ifndef MSB_AGENT_FS_H
#define MSB_AGENT_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"
#include "proto/proto.h"

/* Opens the root. Called once at startup; the server stays unavailable (requests fail) when
 * the root cannot be opened. */
int agent_fs_init (msb_agent *a, msb_error **err);

/* core.fs.request on `id`. */
void agent_fs_on_request (msb_agent *a, uint32_t id, const msb_msg_fs_request *req);
/* core.fs.data from the host on `id` (a Write stream); unknown ids are dropped. */
void agent_fs_on_data (msb_agent *a, uint32_t id, const uint8_t *data, size_t len);
/* core.relay.client.disconnected: drops the range's handles, streams and pending replies. */
void agent_fs_forget_range (msb_agent *a, uint32_t start, uint32_t end);
/* Produces read-stream chunks while the host channel has room. Returns true when there is
 * more to send right away (the loop should not sleep). */
bool agent_fs_pump (msb_agent *a);
/* The result pipe of a background job is readable. */
void agent_fs_on_job (msb_agent *a, agent_watch *w);

#endif

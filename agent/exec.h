/* Starting exec sessions (API.md §3.6): turns a core.exec.request into a forked child with
 * its pipes or pty, and later turns the child's setup report into core.exec.started or a
 * terminal core.exec.failed. The child side lives in spawn.c, the running session in
 * session.c. */
#ifndef MSB_AGENT_EXEC_H
#define MSB_AGENT_EXEC_H

#include <stdint.h>

#include "agent/agent.h"
#include "agent/session.h"
#include "proto/proto.h"

/* Handles core.exec.request on frame id `id` (non-zero, not in use). Always answers:
 * started (later, once the child has exec'd) or failed. */
void agent_exec_start (msb_agent *a, uint32_t id, const msb_msg_exec_request *req);

/* The report pipe of a spawning session is readable (or its child was reaped): resolves it
 * into started or failed. Leaves the session spawning while the child is still setting up. */
void agent_exec_on_report (msb_agent *a, agent_session *s);

#endif

/* Shutdown (API.md §3.5 core.shutdown): on core.shutdown, SIGTERM/SIGINT, or when the host
 * goes away: SIGTERM everything, wait for it to go (grace period), SIGKILL what is left,
 * sync, flush what is queued for the host, and end the agent. */
#ifndef MSB_AGENT_SHUTDOWN_H
#define MSB_AGENT_SHUTDOWN_H

#include <stdbool.h>

#include "agent/agent.h"

/* Starts shutting down (idempotent). `is_host_gone`: the channel is closed or broken, so
 * nothing will be flushed. `exit_code` is the agent's exit status. */
void agent_shutdown_begin (msb_agent *a, int exit_code, bool is_host_gone);

/* Runs once per loop iteration while shutting down: reaps, escalates to SIGKILL at the
 * deadline. Returns true when the agent may end; otherwise *timeout_ms is how long the loop
 * may sleep before calling again. */
bool agent_shutdown_step (msb_agent *a, int *timeout_ms);

/* sync(), best-effort flush, then agent_terminate(). */
_Noreturn void agent_shutdown_finish (msb_agent *a);

/* Ends the agent with `code`. */
_Noreturn void agent_terminate (msb_agent *a, int code);

#endif

/* Custom init handoff (see init.c). */
#ifndef MSB_AGENT_INIT_H
#define MSB_AGENT_INIT_H

#include "agent/agent.h"
#include "proto/proto.h"

/* When the bootstrap names an init: checks it, forks, and in the parent (PID 1) executes it;
 * returns 0 in the agent, which continues as a child subreaper. No init: returns 0 at once. */
int agent_init_handoff (msb_agent *a, const msb_msg_bootstrap *b, msb_error **err);

/* Asks the init to shut down (once). */
void agent_init_request_stop (msb_agent *a);

/* The agent's end with an init: ask it to stop and wait to be ended with the sandbox. */
_Noreturn void agent_init_wait_end (msb_agent *a);

#endif

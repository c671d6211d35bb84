/* Host → agent messages (API.md §3.5): decodes one frame and routes it to its handler. */
#ifndef MSB_AGENT_DISPATCH_H
#define MSB_AGENT_DISPATCH_H

#include "agent/agent.h"
#include "proto/proto.h"

/* Handles one frame. Undecodable frames and types the agent does not serve are answered
 * with core.error on the frame's id; nothing here ends the agent except core.shutdown. */
void agent_dispatch_frame (msb_agent *a, const msb_frame *f);

#endif

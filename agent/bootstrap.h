/* Agent startup handshake (API.md §3.5): wait for core.bootstrap on id 0, apply the
 * sandbox defaults it carries, answer core.ready. */
#ifndef MSB_AGENT_BOOTSTRAP_H
#define MSB_AGENT_BOOTSTRAP_H

#include "agent/agent.h"

/* Blocks until the first frame arrives. Anything other than a decodable core.bootstrap on
 * id 0 is answered with core.error and fails. Returns 0 after queueing core.ready (or when a
 * SIGTERM arrived first: a->is_shutting_down is then set). */
int agent_bootstrap (msb_agent *a, msb_error **err);

#endif

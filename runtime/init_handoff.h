/* The custom init of a sandbox (API.md §1.18 InitConfig) as the runtime hands it to the agent
 * in core.bootstrap: init_cmd, init_args, init_env. */
#ifndef MSB_RUNTIME_INIT_HANDOFF_H
#define MSB_RUNTIME_INIT_HANDOFF_H

#include "proto/proto.h"

typedef struct msb_runtime msb_runtime;

/* Fills the init fields of `b` from the sandbox's config (nothing when it has no init). "auto"
 * becomes the image's ENTRYPOINT when it has one; otherwise the agent probes the usual init
 * paths inside the sandbox. The strings stay valid for the life of the runtime. */
void msb_runtime_init_bootstrap (const msb_runtime *rt, msb_msg_bootstrap *b);

#endif

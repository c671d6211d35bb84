/* The runtime's metrics sampler: every interval (1 s), it reads the backend's counters
 * (cgroups) and the network engine's byte counters and publishes them in the live metrics
 * slot (metrics_shm.h). */
#ifndef MSB_RUNTIME_METRICS_H
#define MSB_RUNTIME_METRICS_H

#include "common/error.h"
#include "runtime/runtime.h"

typedef struct msb_sampler msb_sampler;

int msb_sampler_open (msb_runtime *rt, uint64_t interval_ms, msb_sampler **out, msb_error **err);
/* Takes and publishes one sample; `state` as in msb_metrics_slot. */
void msb_sampler_sample (msb_sampler *s, uint32_t state);
uint64_t msb_sampler_interval_ms (const msb_sampler *s);
/* Unlinks the slot. */
void msb_sampler_close (msb_sampler *s);

#endif

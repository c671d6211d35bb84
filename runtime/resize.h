/* The runtime's side of live resize (modify(), API.md §1.8): the control op "resize". */
#ifndef MSB_RUNTIME_RESIZE_H
#define MSB_RUNTIME_RESIZE_H

#include <jansson.h>

/* control.sock op {"op":"resize","cpus":N?,"memory_mib":M?} on the serving state `data`
 * (msb_rt_serve): bounded by the boot-time max_cpus / max_memory, applied by the backend,
 * recorded in the runtime's config (metrics report the new limits at once). Fills `reply`
 * with the enforced "cpus" and "memory_mib", or "error". Returns 0 or -1. */
int msb_rt_control_resize (void *data, const json_t *request, json_t *reply);

#endif

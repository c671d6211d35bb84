/* Live resize in the runtime (see resize.h). The bounds are checked here as well as by the
 * library's plan: the runtime is the one that knows the ceilings it booted with, and a client
 * speaking to control.sock directly must not get past them. */
#include "runtime/resize.h"

#include <stdio.h>

#include "runtime/rtlog.h"
#include "runtime/serve.h"

static int
refuse (json_t *reply, const char *fmt, unsigned a, unsigned b)
{
  char msg[256];
  snprintf (msg, sizeof msg, fmt, a, b);
  json_object_set_new (reply, "error", json_string (msg));
  return -1;
}

int
msb_rt_control_resize (void *data, const json_t *request, json_t *reply)
{
  msb_rt_serve *s = data;
  msb_runtime *rt = s->rt;
  json_t *jc = json_object_get (request, "cpus"), *jm = json_object_get (request, "memory_mib");
  json_int_t cpus = json_is_integer (jc) ? json_integer_value (jc) : 0;
  json_int_t mib = json_is_integer (jm) ? json_integer_value (jm) : 0;
  if (rt->backend->resize == NULL)
    {
      json_object_set_new (reply, "error",
                           json_string ("this backend cannot resize a running sandbox"));
      return -1;
    }
  if (s->stopping)
    {
      json_object_set_new (reply, "error", json_string ("the sandbox is stopping"));
      return -1;
    }
  if (cpus < 0 || cpus > rt->cfg->max_cpus)
    return refuse (reply, "cpus %u is outside 1..max_cpus (%u)", (unsigned) cpus,
                   rt->cfg->max_cpus);
  if (mib < 0 || (mib && mib < 16) || mib > rt->cfg->max_memory_mib)
    return refuse (reply, "memory %u MiB is outside 16..max_memory (%u MiB)", (unsigned) mib,
                   rt->cfg->max_memory_mib);
  unsigned actual_cpus = 0;
  uint64_t actual_memory = 0;
  msb_error *err = NULL;
  if (rt->backend->resize (rt, (unsigned) cpus, (uint64_t) mib << 20, &actual_cpus, &actual_memory,
                           &err)
      < 0)
    {
      json_object_set_new (reply, "error", json_string (msb_error_get_message (err)));
      msb_rtlog (MSB_RT_WARN, "resize refused: %s", msb_error_get_message (err));
      msb_error_free (err);
      return -1;
    }
  if (cpus)
    rt->cfg->cpus = (unsigned) cpus;
  if (mib)
    rt->cfg->memory_mib = (unsigned) mib;
  msb_rtlog (MSB_RT_INFO, "resized: %u cpus, %u MiB", rt->cfg->cpus, rt->cfg->memory_mib);
  /* Published now, not at the next tick: whoever asked reads metrics next. */
  msb_sampler_sample (s->sampler, s->stopping ? 2 : s->draining ? 1 : 0);
  json_object_set_new (reply, "cpus", json_integer (actual_cpus ? actual_cpus : rt->cfg->cpus));
  json_object_set_new (reply, "memory_mib",
                       json_integer ((json_int_t) (actual_memory && actual_memory != UINT64_MAX
                                                       ? actual_memory >> 20
                                                       : rt->cfg->memory_mib)));
  return 0;
}

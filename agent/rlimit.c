/* Rlimit name table (see rlimit.h). */
#include "agent/rlimit.h"

#include <string.h>
#include <sys/types.h>

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "cpu", RLIMIT_CPU },
  { "fsize", RLIMIT_FSIZE },
  { "data", RLIMIT_DATA },
  { "stack", RLIMIT_STACK },
  { "core", RLIMIT_CORE },
  { "rss", RLIMIT_RSS },
  { "nproc", RLIMIT_NPROC },
  { "nofile", RLIMIT_NOFILE },
  { "memlock", RLIMIT_MEMLOCK },
  { "as", RLIMIT_AS },
  { "locks", RLIMIT_LOCKS },
  { "sigpending", RLIMIT_SIGPENDING },
  { "msgqueue", RLIMIT_MSGQUEUE },
  { "nice", RLIMIT_NICE },
  { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },
};

#define N_RLIMIT_NAMES (sizeof rlimit_names / sizeof rlimit_names[0])

static ssize_t
rlimit_index (const char *name)
{
  for (size_t i = 0; name && i < N_RLIMIT_NAMES; i++)
    if (strcmp (rlimit_names[i].name, name) == 0)
      return (ssize_t) i;
  return -1;
}

int
agent_rlimit_resource (const char *name)
{
  ssize_t i = rlimit_index (name);
  return i < 0 ? -1 : rlimit_names[i].resource;
}

int
agent_rlimit_resolve (const msb_rlimit_spec *specs, size_t n, agent_rlimit *out,
                      size_t *bad_index)
{
  for (size_t i = 0; i < n; i++)
    {
      ssize_t at = rlimit_index (specs[i].resource);
      if (at < 0)
        {
          *bad_index = i;
          return -1;
        }
      /* u64 max is RLIM_INFINITY on 64-bit ABIs, so "unlimited" needs no translation. */
      out[i].resource = rlimit_names[at].resource;
      out[i].name = rlimit_names[at].name;
      out[i].limit.rlim_cur = (rlim_t) specs[i].soft;
      out[i].limit.rlim_max = (rlim_t) specs[i].hard;
    }
  return 0;
}

/* Exec rlimits: the resource names of API.md §1.6 and their RLIMIT_* numbers. Resolution
 * happens in the agent (an unknown name is the host's bad argument); setrlimit itself runs
 * in the child (spawn.c). */
#ifndef MSB_AGENT_RLIMIT_H
#define MSB_AGENT_RLIMIT_H

#include <sys/resource.h>

#include "proto/proto.h"

typedef struct agent_rlimit
{
  int resource;     /* RLIMIT_* */
  const char *name; /* §1.6 name, static */
  struct rlimit limit;
} agent_rlimit;

/* RLIMIT_* for a §1.6 name ("nofile", "as", …), or -1. */
int agent_rlimit_resource (const char *name);

/* Resolves `n` specs into out[0..n). Returns 0, or -1 with *bad_index set to the first
 * spec whose resource is unknown. */
int agent_rlimit_resolve (const msb_rlimit_spec *specs, size_t n, agent_rlimit *out,
                          size_t *bad_index);

#endif

/* What the sandbox's first process needs between clone and exec; filled by the parent
 * before clone, so the child allocates nothing it must free. */
#ifndef MSB_RUNTIME_NS_CHILD_H
#define MSB_RUNTIME_NS_CHILD_H

#include "runtime/ns/ns.h"

typedef struct msb_ns_child
{
  msb_rootfs_spec rootfs;
  const char *hostname;
  int userns_fd;
  int agent_channel_fd; /* becomes fd 3 */
  int agent_exe_fd;     /* the msb-agent binary, executed with execveat */
  int cgroup_tasks_fds[8]; /* v1 `tasks` files: the child moves itself with "0" */
  size_t n_cgroup_tasks_fds;
  int go_fd;            /* read end: one byte once the parent is done (v2 attach fallback) */
  int error_fd;         /* write end (CLOEXEC): a message here means setup failed */
  /* Patches and scripts, applied as the sandbox's root (volumes.h); NULL = none. */
  const struct msb_ns_fs_plan *fs;
  /* Networking: bind /.msb/resolv.conf and /.msb/hosts over /etc's (netns.c). */
  bool net_files;
} msb_ns_child;

/* Runs in the cloned child; never returns. */
__attribute__ ((noreturn)) void msb_ns_child_run (const msb_ns_child *c);

#endif

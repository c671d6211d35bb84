/* The child side of an exec session: everything between fork() and execve(). Everything the
 * child needs is prepared by the agent beforehand (exec.c), so this code only makes system
 * calls on ready data. A failure is written to the report pipe as an agent_spawn_report and
 * the child exits 127; a successful execve closes the pipe (O_CLOEXEC), which is how the
 * agent tells "started" from "failed". */
#ifndef MSB_AGENT_SPAWN_H
#define MSB_AGENT_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "agent/rlimit.h"

/* Where the child gave up; mapped to core.exec.failed `stage` and `kind` by exec.c. */
typedef enum agent_spawn_stage
{
  AGENT_SPAWN_STAGE_SPAWN = 1, /* session, stdio, signal reset */
  AGENT_SPAWN_STAGE_PTY,
  AGENT_SPAWN_STAGE_RLIMIT,
  AGENT_SPAWN_STAGE_CHDIR,
  AGENT_SPAWN_STAGE_USER,
  AGENT_SPAWN_STAGE_EXEC,
} agent_spawn_stage;

/* Written once on the report pipe; smaller than PIPE_BUF, so the write is atomic. */
typedef struct agent_spawn_report
{
  int32_t stage;  /* agent_spawn_stage */
  int32_t errnum; /* errno of the failing call; EISDIR when the command is a directory */
  char message[512]; /* what failed, naming the command, path or limit */
} agent_spawn_report;

typedef struct agent_spawn_spec
{
  const char *cmd;  /* as requested: a path when it contains '/', else searched in `path` */
  char **argv;
  char **envp;
  const char *path; /* PATH of envp */
  const char *cwd;
  const char *user_spec; /* for messages */

  uid_t uid;
  gid_t gid;
  const gid_t *groups;
  size_t n_groups;
  bool can_setgroups;

  const agent_rlimit *rlimits;
  size_t n_rlimits;
  struct rlimit nofile_base; /* the nofile limit the agent itself was started with */

  int stdin_fd;  /* child ends of the pipes, or all three the pty slave */
  int stdout_fd;
  int stderr_fd;
  bool has_tty;
  int report_fd;

  const sigset_t *ignored_signals; /* dispositions to reset to SIG_DFL */
} agent_spawn_spec;

/* Runs in the forked child only; never returns. */
_Noreturn void agent_spawn_child (const agent_spawn_spec *spec);

#endif

/* Exec session start (see exec.h). Everything that can be decided before fork() is: the
 * argv, the environment, the user's ids and groups (parsed from the sandbox's own account
 * files), the rlimits, the pipes or pty. The child then only makes system calls. The agent
 * never waits for it: the report pipe is watched like any other fd, so a child stuck before
 * exec cannot stall the loop. */
#include "agent/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "agent/env.h"
#include "agent/pty.h"
#include "agent/rlimit.h"
#include "agent/spawn.h"
#include "agent/user.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Upper bounds on what a request may carry; the frame limit (4 MiB) bounds the rest. */
#define EXEC_ENV_MAX 8192u /* the env merge is quadratic in this */
#define EXEC_RLIMITS_MAX 64u

static const char *const stage_names[] = {
  [AGENT_SPAWN_STAGE_SPAWN] = "spawn",   [AGENT_SPAWN_STAGE_PTY] = "pty",
  [AGENT_SPAWN_STAGE_RLIMIT] = "rlimit", [AGENT_SPAWN_STAGE_CHDIR] = "chdir",
  [AGENT_SPAWN_STAGE_USER] = "user",     [AGENT_SPAWN_STAGE_EXEC] = "exec",
};

/* What the child needs besides the request; owns the child's ends of the pipes. */
typedef struct exec_plan
{
  char **argv; /* the strings belong to the request */
  char **envp;
  agent_user user;
  agent_rlimit *rlimits;
  size_t n_rlimits;
  int child_stdin, child_stdout, child_stderr, child_report;
} exec_plan;

static void
close_once (int *fd, int *const *others, size_t n)
{
  if (*fd < 0)
    return;
  /* With a tty, the three stdio fds are the one slave. */
  for (size_t i = 0; i < n; i++)
    if (others[i] != fd && *others[i] == *fd)
      *others[i] = -1;
  close (*fd);
  *fd = -1;
}

static void
exec_plan_clear (exec_plan *p)
{
  free (p->argv);
  msb_strv_free (p->envp);
  agent_user_clear (&p->user);
  free (p->rlimits);
  int *const fds[] = { &p->child_stdin, &p->child_stdout, &p->child_stderr, &p->child_report };
  for (size_t i = 0; i < 4; i++)
    close_once (fds[i], fds, 4);
}

static void
send_failed (msb_agent *a, agent_session *s, msb_exec_fail_kind kind, int errnum,
             agent_spawn_stage stage, const char *message)
{
  msb_msg_exec_failed f = {
    .kind = kind,
    .has_errno = errnum != 0,
    .errnum = errnum,
    .errno_name = errnum ? (char *) strerrorname_np (errnum) : NULL,
    .message = (char *) message,
    .stage = (char *) stage_names[stage],
  };
  agent_session_fail (a, s, &f);
}

static msb_exec_fail_kind
kind_of_exec_errno (int errnum)
{
  switch (errnum)
    {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return MSB_EXEC_FAILED_NOT_FOUND;
    case EACCES:
    case EPERM:
      return MSB_EXEC_FAILED_PERMISSION_DENIED;
    case ENOEXEC:
    case EISDIR:
    case ELIBBAD:
      return MSB_EXEC_FAILED_NOT_EXECUTABLE;
    case E2BIG:
      return MSB_EXEC_FAILED_BAD_ARGS;
    case ENOMEM:
      return MSB_EXEC_FAILED_OUT_OF_MEMORY;
    case EAGAIN: /* RLIMIT_NPROC is checked at execve after a uid change */
    case EMFILE:
    case ENFILE:
      return MSB_EXEC_FAILED_RESOURCE_LIMIT;
    default:
      return MSB_EXEC_FAILED_OTHER;
    }
}

static msb_exec_fail_kind
kind_of_report (int stage, int errnum)
{
  switch (stage)
    {
    case AGENT_SPAWN_STAGE_PTY:
      return MSB_EXEC_FAILED_PTY_SETUP_FAILED;
    case AGENT_SPAWN_STAGE_RLIMIT:
      return MSB_EXEC_FAILED_RESOURCE_LIMIT;
    case AGENT_SPAWN_STAGE_CHDIR:
      return MSB_EXEC_FAILED_BAD_CWD;
    case AGENT_SPAWN_STAGE_USER:
      return MSB_EXEC_FAILED_USER_SETUP_FAILED;
    case AGENT_SPAWN_STAGE_EXEC:
      return kind_of_exec_errno (errnum);
    default:
      return errnum == ENOMEM ? MSB_EXEC_FAILED_OUT_OF_MEMORY : MSB_EXEC_FAILED_OTHER;
    }
}

/* ---- planning (parent side, before fork) ---------------------------------------------- */

static int
plan_args (msb_agent *a, agent_session *s, const msb_msg_exec_request *req, exec_plan *p)
{
  if (req->cmd == NULL || req->cmd[0] == '\0')
    {
      send_failed (a, s, MSB_EXEC_FAILED_BAD_ARGS, 0, AGENT_SPAWN_STAGE_SPAWN, "empty command");
      return -1;
    }
  if (msb_strv_len (req->env) > EXEC_ENV_MAX || msb_strv_len (a->defaults.env) > EXEC_ENV_MAX)
    {
      send_failed (a, s, MSB_EXEC_FAILED_BAD_ARGS, E2BIG, AGENT_SPAWN_STAGE_SPAWN,
                   "too many environment variables");
      return -1;
    }
  size_t argc = msb_strv_len (req->args);
  p->argv = msb_xcalloc (argc + 2, sizeof (char *));
  p->argv[0] = req->cmd;
  memcpy (p->argv + 1, req->args, argc * sizeof (char *));
  return 0;
}

static int
plan_rlimits (msb_agent *a, agent_session *s, const msb_msg_exec_request *req, exec_plan *p)
{
  size_t bad = 0;
  if (req->n_rlimits > EXEC_RLIMITS_MAX)
    {
      send_failed (a, s, MSB_EXEC_FAILED_BAD_ARGS, 0, AGENT_SPAWN_STAGE_RLIMIT, "too many rlimits");
      return -1;
    }
  p->rlimits = msb_xcalloc (req->n_rlimits + 1, sizeof (agent_rlimit));
  p->n_rlimits = req->n_rlimits;
  if (agent_rlimit_resolve (req->rlimits, req->n_rlimits, p->rlimits, &bad) < 0)
    {
      _msb_cleanup_free_ char *message
          = msb_xasprintf ("unknown rlimit resource `%s`", req->rlimits[bad].resource);
      send_failed (a, s, MSB_EXEC_FAILED_BAD_ARGS, 0, AGENT_SPAWN_STAGE_RLIMIT, message);
      return -1;
    }
  return 0;
}

static int
plan_user_and_env (msb_agent *a, agent_session *s, const msb_msg_exec_request *req,
                   exec_plan *p)
{
  _msb_cleanup_error_ msb_error *err = NULL;
  const char *spec = req->user && *req->user ? req->user : a->defaults.user;
  if (agent_user_resolve (spec, "/etc/passwd", "/etc/group", &p->user, &err) < 0)
    {
      send_failed (a, s, MSB_EXEC_FAILED_USER_SETUP_FAILED, msb_error_get_errno (err),
                   AGENT_SPAWN_STAGE_USER, msb_error_get_message (err));
      return -1;
    }
  p->envp = agent_env_build (a->defaults.env, req->env, p->user.home, req->tty);
  return 0;
}

static int
make_pipe (int *parent_end, int *child_end, bool is_parent_reading)
{
  int fds[2];
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return -1;
  *parent_end = is_parent_reading ? fds[0] : fds[1];
  *child_end = is_parent_reading ? fds[1] : fds[0];
  /* Only the agent's end is non-blocking: the child gets ordinary blocking stdio. */
  return msb_set_nonblock (*parent_end, true);
}

static int
pipes_failed (msb_agent *a, agent_session *s, int errnum)
{
  _msb_cleanup_free_ char *message
      = msb_xasprintf ("create the stdio pipes of `%s`: %s", s->cmd, strerror (errnum));
  bool is_limit = errnum == EMFILE || errnum == ENFILE;
  send_failed (a, s, is_limit ? MSB_EXEC_FAILED_RESOURCE_LIMIT : MSB_EXEC_FAILED_OTHER, errnum,
               AGENT_SPAWN_STAGE_SPAWN, message);
  return -1;
}

static int
plan_pty (msb_agent *a, agent_session *s, const msb_msg_exec_request *req, exec_plan *p)
{
  _msb_cleanup_error_ msb_error *err = NULL;
  int slave = -1;
  if (agent_pty_open (req->rows, req->cols, &s->out.fd, &slave, &err) < 0)
    {
      send_failed (a, s, MSB_EXEC_FAILED_PTY_SETUP_FAILED, msb_error_get_errno (err),
                   AGENT_SPAWN_STAGE_PTY, msb_error_get_message (err));
      return -1;
    }
  p->child_stdin = p->child_stdout = p->child_stderr = slave;
  return 0;
}

/* The session gets the agent's ends (so they close with it), the plan the child's. */
static int
plan_stdio (msb_agent *a, agent_session *s, const msb_msg_exec_request *req, exec_plan *p)
{
  if (make_pipe (&s->report.fd, &p->child_report, true) < 0)
    return pipes_failed (a, s, errno);
  if (req->tty)
    return plan_pty (a, s, req, p);
  if (make_pipe (&s->in.fd, &p->child_stdin, false) < 0
      || make_pipe (&s->out.fd, &p->child_stdout, true) < 0
      || make_pipe (&s->err.fd, &p->child_stderr, true) < 0)
    return pipes_failed (a, s, errno);
  return 0;
}

static void
fill_spawn_spec (msb_agent *a, const msb_msg_exec_request *req, const exec_plan *p,
                 agent_spawn_spec *spec)
{
  const char *cwd = req->cwd && *req->cwd ? req->cwd : a->defaults.workdir;
  *spec = (agent_spawn_spec){
    .cmd = req->cmd,
    .argv = p->argv,
    .envp = p->envp,
    .path = agent_env_get (p->envp, "PATH"),
    .cwd = cwd && *cwd ? cwd : "/",
    .user_spec = req->user && *req->user ? req->user : a->defaults.user ? a->defaults.user : "root",
    .uid = p->user.uid,
    .gid = p->user.gid,
    .groups = p->user.groups,
    .n_groups = p->user.n_groups,
    .can_setgroups = a->can_setgroups,
    .rlimits = p->rlimits,
    .n_rlimits = p->n_rlimits,
    .nofile_base = a->nofile_orig,
    .stdin_fd = p->child_stdin,
    .stdout_fd = p->child_stdout,
    .stderr_fd = p->child_stderr,
    .has_tty = req->tty,
    .report_fd = p->child_report,
    .ignored_signals = &a->ignored_signals,
  };
}

static void
fork_failed (msb_agent *a, agent_session *s, int errnum)
{
  _msb_cleanup_free_ char *message = msb_xasprintf ("fork for `%s`: %s", s->cmd, strerror (errnum));
  msb_exec_fail_kind kind = errnum == ENOMEM   ? MSB_EXEC_FAILED_OUT_OF_MEMORY
                            : errnum == EAGAIN ? MSB_EXEC_FAILED_RESOURCE_LIMIT
                                               : MSB_EXEC_FAILED_OTHER;
  send_failed (a, s, kind, errnum, AGENT_SPAWN_STAGE_SPAWN, message);
}

void
agent_exec_start (msb_agent *a, uint32_t id, const msb_msg_exec_request *req)
{
  agent_session *s = agent_session_new (a, id, req->cmd ? req->cmd : "", req->tty);
  __attribute__ ((cleanup (exec_plan_clear))) exec_plan p
      = { .child_stdin = -1, .child_stdout = -1, .child_stderr = -1, .child_report = -1 };
  if (plan_args (a, s, req, &p) < 0 || plan_rlimits (a, s, req, &p) < 0
      || plan_user_and_env (a, s, req, &p) < 0 || plan_stdio (a, s, req, &p) < 0)
    return;

  agent_spawn_spec spec;
  fill_spawn_spec (a, req, &p, &spec);
  pid_t pid = fork ();
  if (pid == 0)
    agent_spawn_child (&spec);
  if (pid < 0)
    {
      fork_failed (a, s, errno);
      return;
    }
  agent_session_set_pid (a, s, pid);
  s->is_spawning = true;
  /* On failure the report is still read when the child is reaped. */
  agent_watch_set (a, &s->report, EPOLLIN, NULL);
}

void
agent_exec_on_report (msb_agent *a, agent_session *s)
{
  agent_spawn_report r;
  ssize_t n;
  do
    n = read (s->report.fd, &r, sizeof r);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  int read_errno = errno;
  agent_watch_close (a, &s->report);
  s->is_spawning = false;
  if (n == 0)
    {
      agent_session_start (a, s);
      return;
    }
  if (n != (ssize_t) sizeof r || r.stage < AGENT_SPAWN_STAGE_SPAWN || r.stage > AGENT_SPAWN_STAGE_EXEC)
    {
      _msb_cleanup_free_ char *message = msb_xasprintf ("start `%s`: unreadable setup report", s->cmd);
      send_failed (a, s, MSB_EXEC_FAILED_OTHER, n < 0 ? read_errno : 0, AGENT_SPAWN_STAGE_SPAWN, message);
      return;
    }
  r.message[sizeof r.message - 1] = '\0';
  send_failed (a, s, kind_of_report (r.stage, r.errnum), r.errnum, r.stage, r.message);
}

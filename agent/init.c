/* Custom init handoff (API.md §1.18, §3.5): once the agent has applied the bootstrap, a guest
 * init takes PID 1 and the agent keeps serving.
 *
 * PID 1 forks: the child carries on as the agent (same channel, same state) and becomes a
 * child subreaper, so the processes of its exec sessions are still its own to reap and to
 * signal; the parent — still PID 1 — resets what the agent changed about its signals and
 * executes the init. Everything the agent holds is close-on-exec, so the init starts with
 * stdio on /dev/null and nothing else.
 *
 * Shutdown: the agent asks PID 1 to stop (SIGTERM; SIGRTMIN+4, "poweroff", for systemd),
 * stops its own sessions, syncs, flushes the channel and then waits: when the init exits,
 * the kernel ends the pid namespace and the agent with it. The host's flush window is 8 s
 * with an init (API.md §3.5); an init that ignores the request is killed when it passes.
 *
 * Must never: let the init inherit the host channel or the agent's blocked signal mask, or
 * hand PID 1 over to a path that was not checked to be executable (a failed exec would end
 * the sandbox). */
#include "agent/init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static const char *const auto_candidates[] = { "/sbin/init", "/lib/systemd/systemd",
                                               "/usr/lib/systemd/systemd" };

static int
resolve_cmd (const char *cmd, char **out, msb_error **err)
{
  if (strcmp (cmd, "auto") == 0)
    {
      for (size_t i = 0; i < sizeof auto_candidates / sizeof auto_candidates[0]; i++)
        if (access (auto_candidates[i], X_OK) == 0)
          {
            *out = msb_xstrdup (auto_candidates[i]);
            return 0;
          }
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "init `auto`: the image has no ENTRYPOINT and none of /sbin/init, "
                       "/lib/systemd/systemd, /usr/lib/systemd/systemd");
    }
  if (cmd[0] != '/')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "init `%s` must be an absolute path", cmd);
  if (access (cmd, X_OK) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_INVALID_CONFIG, "init `%s`", cmd);
  *out = msb_xstrdup (cmd);
  return 0;
}

/* The init's environment: the sandbox's defaults, overridden by its own. */
static char **
init_env (const msb_agent *a, char **own)
{
  size_t n_def = msb_strv_len (a->defaults.env), n_own = msb_strv_len (own);
  char **env = msb_xcalloc (n_def + n_own + 1, sizeof (char *));
  size_t n = 0;
  for (size_t i = 0; i < n_def; i++)
    {
      const char *eq = strchr (a->defaults.env[i], '=');
      size_t klen = eq ? (size_t) (eq - a->defaults.env[i]) : strlen (a->defaults.env[i]);
      bool overridden = false;
      for (size_t k = 0; k < n_own && !overridden; k++)
        overridden = strncmp (own[k], a->defaults.env[i], klen) == 0 && own[k][klen] == '=';
      if (!overridden)
        env[n++] = a->defaults.env[i];
    }
  for (size_t k = 0; k < n_own; k++)
    env[n++] = own[k];
  return env;
}

static _Noreturn void
exec_init (msb_agent *a, const char *cmd, char **argv, char **envp)
{
  /* What the agent changed about signals must not reach the init (execve keeps masks and
   * ignored dispositions). */
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember (&a->ignored_signals, sig) == 1)
      signal (sig, SIG_DFL);
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  setrlimit (RLIMIT_NOFILE, &a->nofile_orig);
  execve (cmd, argv, envp);
  /* Checked executable a moment ago; if it still fails, PID 1 ends and so does the sandbox. */
  fprintf (stderr, "msb-agent: execute init `%s`: %s\n", cmd, strerror (errno));
  _exit (127);
}

/* A signalfd registered with epoll waits on the signal queue of the process that registered
 * it: after fork the agent's own SIGCHLD would never wake the loop. A fresh one, registered
 * by the agent process itself, does. */
static int
reopen_signalfd (msb_agent *a, msb_error **err)
{
  agent_watch_close (a, &a->signal_watch);
  int fd = signalfd (-1, &a->blocked_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "signalfd");
  a->signal_watch = (agent_watch){ .kind = AGENT_WATCH_SIGNALS, .fd = fd };
  return agent_watch_set (a, &a->signal_watch, EPOLLIN, err);
}

int
agent_init_handoff (msb_agent *a, const msb_msg_bootstrap *b, msb_error **err)
{
  if (b->init_cmd == NULL || *b->init_cmd == '\0')
    return 0;
  _msb_cleanup_free_ char *cmd = NULL;
  if (resolve_cmd (b->init_cmd, &cmd, err) < 0)
    return -1;
  size_t n_args = msb_strv_len (b->init_args);
  _msb_cleanup_free_ char **argv = msb_xcalloc (n_args + 2, sizeof (char *));
  argv[0] = cmd;
  for (size_t i = 0; i < n_args; i++)
    argv[i + 1] = b->init_args[i];
  _msb_cleanup_free_ char **envp = init_env (a, b->init_env);
  const char *base = strrchr (cmd, '/');
  a->init_stop_signal = strstr (base ? base : cmd, "systemd") ? SIGRTMIN + 4 : SIGTERM;

  if (!a->is_pid1)
    {
      /* Tests run the agent as an ordinary process: the init is then just its child. */
      pid_t pid = fork ();
      if (pid < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "start init `%s`", cmd);
      if (pid == 0)
        exec_init (a, cmd, argv, envp);
      a->init_pid = pid;
      a->has_init = true;
      return 0;
    }
  pid_t pid = fork ();
  if (pid < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "hand PID 1 to init `%s`", cmd);
  if (pid > 0)
    exec_init (a, cmd, argv, envp); /* PID 1 becomes the init */
  /* The agent continues here, no longer PID 1. */
  a->is_pid1 = false;
  a->has_init = true;
  a->init_pid = 1;
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "become a child subreaper");
  return reopen_signalfd (a, err);
}

void
agent_init_request_stop (msb_agent *a)
{
  if (a->has_init && !a->has_asked_init_to_stop)
    {
      a->has_asked_init_to_stop = true;
      kill (a->init_pid, a->init_stop_signal);
    }
}

_Noreturn void
agent_init_wait_end (msb_agent *a)
{
  agent_init_request_stop (a);
  /* The sandbox ends when its init does; until then there is nothing left to do. */
  for (;;)
    pause ();
}

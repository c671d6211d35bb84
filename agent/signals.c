/* Signal intake and child reaping (see signals.h). */
#include "agent/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/exec.h"
#include "agent/session.h"
#include "agent/shutdown.h"
#include "common/cleanup.h"
#include "common/util.h"

int
agent_signals_setup (msb_agent *a, msb_error **err)
{
  sigemptyset (&a->blocked_signals);
  sigaddset (&a->blocked_signals, SIGCHLD);
  sigaddset (&a->blocked_signals, SIGTERM);
  sigaddset (&a->blocked_signals, SIGINT);
  sigaddset (&a->blocked_signals, SIGHUP);
  if (sigprocmask (SIG_BLOCK, &a->blocked_signals, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "block signals");

  /* Ignored dispositions survive execve: remember them so children start clean. */
  sigemptyset (&a->ignored_signals);
  for (int sig = 1; sig < NSIG; sig++)
    {
      struct sigaction old;
      if (sigaction (sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
        sigaddset (&a->ignored_signals, sig);
    }
  /* A host or child that went away shows up as EPIPE, not as a fatal signal. */
  signal (SIGPIPE, SIG_IGN);
  sigaddset (&a->ignored_signals, SIGPIPE);

  int fd = signalfd (-1, &a->blocked_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "signalfd");
  a->signal_watch = (agent_watch){ .kind = AGENT_WATCH_SIGNALS, .fd = fd };
  return 0;
}

void
agent_signals_on_readable (msb_agent *a)
{
  struct signalfd_siginfo si[16];
  ssize_t n;
  while ((n = read (a->signal_watch.fd, si, sizeof si)) > 0)
    for (size_t i = 0; i < (size_t) n / sizeof si[0]; i++)
      if (si[i].ssi_signo == SIGTERM || si[i].ssi_signo == SIGINT)
        agent_shutdown_begin (a, 0, false);
  /* SIGCHLD coalesces, so reap on any wakeup rather than counting signals. SIGHUP has no
   * meaning for the agent and is dropped. */
  agent_reap_children (a);
}

static void
on_child_exit (msb_agent *a, pid_t pid, int status)
{
  agent_session *s = agent_session_find_pid (a, pid);
  if (s == NULL)
    return;
  if (s->is_spawning)
    agent_exec_on_report (a, s);
  agent_session_exited (a, s, status);
}

bool
agent_reap_children (msb_agent *a)
{
  for (;;)
    {
      int status = 0;
      pid_t pid = waitpid (-1, &status, WNOHANG);
      if (pid > 0)
        {
          on_child_exit (a, pid, status);
          continue;
        }
      if (pid < 0 && errno == EINTR)
        continue;
      return pid == 0;
    }
}

/* Not PID 1: the agent is a subreaper, so everything it must stop is a direct child by the
 * time its parent is gone. */
static void
signal_direct_children (int sig)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/self/task/%d/children", (int) gettid ());
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (msb_read_file_at (AT_FDCWD, path, 1u << 20, &data, &len, NULL) < 0)
    return;
  char *save = NULL;
  for (char *tok = strtok_r (data, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
    {
      long pid = strtol (tok, NULL, 10);
      if (pid > 1)
        kill ((pid_t) pid, sig);
    }
}

void
agent_signal_everything (msb_agent *a, int sig)
{
  agent_sessions_signal_all (a, sig);
  if (a->is_pid1)
    kill (-1, sig); /* everyone in the namespace but the agent itself */
  else
    signal_direct_children (sig);
}

/* msb-agent: PID 1 of a sandbox (API.md §3). Startup, then one single-threaded epoll loop
 * over the host channel, a signalfd and every session's fds.
 *
 * Contract with the runtime: no arguments (or --version); the host byte stream on the fd
 * named by env MSB_AGENT_FD (default 3); fds 0-2 may be /dev/null. When it is not PID 1 (tests
 * run it as a plain child) it becomes a child subreaper so orphans are still its to reap.
 *
 * Flow control: when the bytes queued for the host pass OUTPUT_PAUSE_HIGH, session output
 * stops being read (the producers block on full pipes) until the queue falls below
 * OUTPUT_RESUME_LOW. When children's stdin backlog passes STDIN_PAUSE_HIGH, the agent stops
 * reading the host while that stdin is still moving, so a bulk upload is paced by its
 * reader; a child that stalls cannot wedge the channel for everyone (signals must still get
 * through), so after STDIN_STALL_NS without progress reading resumes and session.c refuses
 * what exceeds its caps. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/bootstrap.h"
#include "agent/dispatch.h"
#include "agent/exec.h"
#include "agent/fs.h"
#include "agent/session.h"
#include "agent/shutdown.h"
#include "agent/signals.h"
#include "agent/vm_init.h"
#include "common/cleanup.h"
#include "common/util.h"

#define OUTPUT_PAUSE_HIGH (4u * 1024u * 1024u)
#define OUTPUT_RESUME_LOW (1u * 1024u * 1024u)
/* Not even control replies are worth queueing beyond this for a host that does not read. */
#define CHANNEL_READ_STOP (16u * 1024u * 1024u)
#define STDIN_PAUSE_HIGH (8u * 1024u * 1024u)
#define STDIN_STALL_NS (1000ull * 1000000ull)
#define EPOLL_BATCH 64

static msb_agent agent;

/* ---- startup -------------------------------------------------------------------------- */

/* Session setup dup2()s onto 0-2 assuming every other fd is above them. */
static int
ensure_stdio_open (msb_error **err)
{
  for (int fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0 && errno == EBADF)
      {
        int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
        if (null < 0)
          return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /dev/null");
        if (null != fd)
          return msb_fail (err, MSB_ERR_GENERIC, "fd %d is closed and cannot be reopened", fd);
      }
  return 0;
}

static int
open_channel (msb_agent *a, msb_error **err)
{
  const char *env = getenv ("MSB_AGENT_FD");
  long fd = 3;
  if (env && *env)
    {
      char *end = NULL;
      errno = 0;
      fd = strtol (env, &end, 10);
      if (errno || *end || fd < 0 || fd > 65535)
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "invalid MSB_AGENT_FD `%s`", env);
    }
  if (fcntl ((int) fd, F_GETFD) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_INVALID_CONFIG, "channel fd %ld", fd);
  /* Keep the channel above 0-2, which children's stdio replace. */
  int ch = fcntl ((int) fd, F_DUPFD_CLOEXEC, 3);
  if (ch < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "dup channel fd %ld", fd);
  close ((int) fd);
  if (ensure_stdio_open (err) < 0 || msb_set_nonblock (ch, true) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "set up channel fd");
  agent_channel_init (&a->channel, ch);
  a->channel_watch = (agent_watch){ .kind = AGENT_WATCH_CHANNEL, .fd = ch };
  unsetenv ("MSB_AGENT_FD");
  return 0;
}

/* The agent keeps up to four fds per session; children get the original limit back. */
static void
raise_nofile (msb_agent *a)
{
  getrlimit (RLIMIT_NOFILE, &a->nofile_orig);
  struct rlimit raised = { a->nofile_orig.rlim_max, a->nofile_orig.rlim_max };
  setrlimit (RLIMIT_NOFILE, &raised);
}

static bool
can_setgroups (void)
{
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  if (msb_read_file_at (AT_FDCWD, "/proc/self/setgroups", 64, &data, &len, NULL) < 0)
    return true;
  return strncmp (data, "deny", 4) != 0;
}

static int
agent_start (msb_agent *a, msb_error **err)
{
  if (ensure_stdio_open (err) < 0 || open_channel (a, err) < 0)
    return -1;
  a->is_pid1 = getpid () == 1;
  if (!a->is_pid1 && prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "become a child subreaper");
  if (chdir ("/") < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "chdir /");
  raise_nofile (a);
  a->can_setgroups = can_setgroups ();
  if (agent_signals_setup (a, err) < 0)
    return -1;
  _msb_cleanup_error_ msb_error *fs_err = NULL;
  if (agent_fs_init (a, &fs_err) < 0) /* exec still works without it */
    fprintf (stderr, "msb-agent: %s\n", msb_error_get_message (fs_err));
  a->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (a->epoll_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "epoll_create1");
  if (agent_watch_set (a, &a->channel_watch, EPOLLIN, err) < 0
      || agent_watch_set (a, &a->signal_watch, EPOLLIN, err) < 0)
    return -1;
  return 0;
}

/* ---- loop ----------------------------------------------------------------------------- */

static bool
is_stdin_throttling (msb_agent *a, uint64_t now, int *timeout_ms)
{
  if (a->stdin_backlog <= STDIN_PAUSE_HIGH || now - a->stdin_progress_ns >= STDIN_STALL_NS)
    return false;
  int ms = (int) ((a->stdin_progress_ns + STDIN_STALL_NS - now) / 1000000u) + 1;
  if (*timeout_ms < 0 || ms < *timeout_ms)
    *timeout_ms = ms;
  return true;
}

/* Derives what the loop waits for from the queues; returns the epoll timeout. */
static int
update_flow (msb_agent *a, int timeout_ms)
{
  size_t pending = agent_channel_pending (&a->channel);
  if (!a->is_output_paused && pending > OUTPUT_PAUSE_HIGH)
    agent_sessions_set_output_paused (a, true);
  else if (a->is_output_paused && pending < OUTPUT_RESUME_LOW)
    agent_sessions_set_output_paused (a, false);

  bool is_reading = !a->is_shutting_down && pending < CHANNEL_READ_STOP
                    && !is_stdin_throttling (a, msb_now_mono_ns (), &timeout_ms);
  uint32_t events = (is_reading ? EPOLLIN : 0) | (pending && !a->is_host_gone ? EPOLLOUT : 0);
  agent_watch_set (a, &a->channel_watch, events, NULL);
  return timeout_ms;
}

static void
process_frames (msb_agent *a)
{
  msb_frame f;
  int r;
  while (!a->is_shutting_down && (r = agent_channel_next_frame (&a->channel, &f)) == 1)
    agent_dispatch_frame (a, &f);
  if (!a->is_shutting_down && r < 0)
    {
      /* A bad length or flag byte: there is no next frame boundary to resync on. */
      agent_channel_send_error (&a->channel, 0, MSB_PERR_MALFORMED_MESSAGE, NULL, "framing error");
      agent_shutdown_begin (a, 1, false);
    }
  agent_channel_compact (&a->channel);
}

static void
on_channel (msb_agent *a, uint32_t events)
{
  if ((events & EPOLLOUT) && agent_channel_flush (&a->channel, NULL) < 0)
    agent_shutdown_begin (a, 1, true);
  if (!(a->channel_watch.events & EPOLLIN))
    {
      if (events & (EPOLLHUP | EPOLLERR))
        agent_shutdown_begin (a, 0, true);
      return;
    }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    return;
  int r = agent_channel_fill (&a->channel, NULL);
  if (r <= 0)
    {
      agent_shutdown_begin (a, r < 0 ? 1 : 0, true);
      return;
    }
  process_frames (a);
}

static void
on_event (msb_agent *a, agent_watch *w, uint32_t events)
{
  if (w->fd < 0)
    return; /* closed earlier in this batch */
  agent_session *s = w->owner;
  switch (w->kind)
    {
    case AGENT_WATCH_CHANNEL:
      on_channel (a, events);
      break;
    case AGENT_WATCH_SIGNALS:
      agent_signals_on_readable (a);
      break;
    case AGENT_WATCH_SESSION_OUTPUT:
      agent_session_on_output (a, w, events);
      break;
    case AGENT_WATCH_SESSION_STDIN:
      agent_session_on_stdin_ready (a, s);
      break;
    case AGENT_WATCH_SESSION_REPORT:
      agent_exec_on_report (a, s);
      break;
    case AGENT_WATCH_FS_JOB:
      agent_fs_on_job (a, w);
      break;
    }
}

static _Noreturn void
run_loop (msb_agent *a)
{
  struct epoll_event events[EPOLL_BATCH];
  for (;;)
    {
      int timeout_ms = -1;
      if (a->is_shutting_down && agent_shutdown_step (a, &timeout_ms))
        agent_shutdown_finish (a);
      agent_sessions_collect_garbage (a);
      /* File reads are produced here, before the channel's interest is derived from what
       * is queued; more of them waiting means the loop must not sleep. */
      if (agent_fs_pump (a))
        timeout_ms = 0;
      timeout_ms = update_flow (a, timeout_ms);

      int n = epoll_wait (a->epoll_fd, events, EPOLL_BATCH, timeout_ms);
      if (n < 0 && errno != EINTR)
        agent_shutdown_begin (a, 1, false);
      for (int i = 0; i < n; i++)
        on_event (a, events[i].data.ptr, events[i].events);
      agent_sessions_collect_garbage (a);
      if (!a->is_host_gone && agent_channel_flush (&a->channel, NULL) < 0)
        agent_shutdown_begin (a, 1, true);
    }
}

int
main (int argc, char **argv)
{
  agent.boot_time_ns = agent_boottime_ns ();
  if (argc > 1)
    {
      if (strcmp (argv[1], "--version") == 0)
        {
          printf ("msb-agent %s\n", MSB_VERSION);
          return 0;
        }
      fprintf (stderr, "usage: msb-agent [--version]\n"
                       "  the host channel is the fd named by MSB_AGENT_FD (default 3)\n");
      return 2;
    }
  _msb_cleanup_error_ msb_error *err = NULL;
  /* vm backend: the agent is the guest kernel's init and builds the sandbox itself first. */
  if (agent_vm_is_guest_init () && agent_vm_boot (&err) < 0)
    {
      fprintf (stderr, "msb-agent: guest boot failed: %s\n", msb_error_get_message (err));
      agent_vm_power_off (&agent, 1);
    }
  if (agent_start (&agent, &err) < 0)
    {
      fprintf (stderr, "msb-agent: %s\n", msb_error_get_message (err));
      return 1;
    }
  if (agent_bootstrap (&agent, &err) < 0)
    {
      fprintf (stderr, "msb-agent: bootstrap: %s\n", msb_error_get_message (err));
      agent_shutdown_begin (&agent, 2, false);
    }
  run_loop (&agent);
}

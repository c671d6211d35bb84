#include "runtime/serve.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "proto/proto.h"
#include "runtime/resize.h"
#include "runtime/rtlog.h"

#define NS_PER_MS 1000000ull
#define IDLE_CHECK_NS (500ull * NS_PER_MS)

/* 2 s; 8 s when a custom init must shut its services down first (API.md §3.5). */
static uint64_t
flush_window_ns (const msb_rt_serve *s)
{
  long dflt = s->rt && s->rt->cfg && s->rt->cfg->files.init_cmd ? 8000 : 2000;
  const char *env = getenv ("MSB_SHUTDOWN_FLUSH_TIMEOUT_MS");
  long ms = env ? strtol (env, NULL, 10) : dflt;
  return (uint64_t) (ms > 0 ? ms : dflt) * NS_PER_MS;
}

void
msb_rt_block_signals (void)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGUSR1);
  sigaddset (&set, SIGCHLD);
  sigprocmask (SIG_BLOCK, &set, NULL);
  signal (SIGPIPE, SIG_IGN);
}

/* One timerfd armed for the nearest deadline. */
static void
rearm_timer (msb_rt_serve *s)
{
  uint64_t next = 0, now = msb_now_mono_ns ();
  if (s->stopping)
    next = s->flush_deadline_ns;
  if (s->max_deadline_ns && (!next || s->max_deadline_ns < next))
    next = s->max_deadline_ns;
  if (s->idle_timeout_ns && !s->stopping && (!next || now + IDLE_CHECK_NS < next))
    next = now + IDLE_CHECK_NS;
  struct itimerspec its;
  memset (&its, 0, sizeof its);
  if (next)
    {
      uint64_t delta = next > now ? next - now : 1;
      its.it_value.tv_sec = (time_t) (delta / 1000000000ull);
      its.it_value.tv_nsec = (long) (delta % 1000000000ull);
    }
  timerfd_settime (s->timer_fd, 0, &its, NULL);
}

void
msb_rt_serve_stop (msb_rt_serve *s, const char *reason)
{
  if (s->stopping || s->done)
    return;
  s->stopping = true;
  s->reason = reason;
  msb_rtlog (MSB_RT_INFO, "stopping: %s", reason);
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_SHUTDOWN;
  msb_buf frame = MSB_BUF_INIT;
  msb_msg_write_frame (&frame, 0, 0, &m);
  msb_relay_send_to_agent (s->relay, frame.data, frame.len);
  msb_buf_free (&frame);
  s->flush_deadline_ns = msb_now_mono_ns () + flush_window_ns (s);
  rearm_timer (s);
}

static uint32_t
slot_state (const msb_rt_serve *s)
{
  return s->stopping ? 2 : s->draining ? 1 : 0;
}

static void
on_metrics (msb_watch *w, uint32_t events)
{
  msb_rt_serve *s = w->data;
  uint64_t ticks;
  (void) !read (w->fd, &ticks, sizeof ticks);
  msb_sampler_sample (s->sampler, slot_state (s));
}

/* Draining: running commands finish, new ones are refused, then the sandbox stops. */
static void
start_drain (msb_rt_serve *s)
{
  if (s->draining || s->stopping)
    return;
  s->draining = true;
  msb_relay_set_draining (s->relay, true);
  msb_state_set_status (&s->rt->db, s->rt->name, MSB_STATUS_DRAINING, NULL);
  msb_sampler_sample (s->sampler, slot_state (s));
  msb_rtlog (MSB_RT_INFO, "draining: new commands are refused");
}

static void
force_kill (msb_rt_serve *s, const char *why)
{
  msb_rtlog (MSB_RT_WARN, "killing the sandbox: %s", why);
  s->rt->backend->kill (s->rt);
}

static void
reap_sandbox (msb_rt_serve *s)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    if (pid == s->rt->sandbox_pid)
      {
        s->done = true;
        s->wait_status = status;
      }
}

static void
on_signal (msb_watch *w, uint32_t events)
{
  msb_rt_serve *s = w->data;
  struct signalfd_siginfo si;
  while (read (w->fd, &si, sizeof si) == (ssize_t) sizeof si)
    switch (si.ssi_signo)
      {
      case SIGCHLD:
        reap_sandbox (s);
        break;
      case SIGUSR1:
        start_drain (s);
        break;
      default:
        msb_rt_serve_stop (s, "stopped");
        break;
      }
}

static void
on_watchdog (msb_watch *w, uint32_t events)
{
  msb_rt_serve *s = w->data;
  char buf[64];
  ssize_t n = read (w->fd, buf, sizeof buf);
  if (n > 0 || (n < 0 && errno == EAGAIN))
    return;
  msb_loop_del (&s->loop, w);
  close (w->fd);
  s->watchdog_fd = w->fd = -1;
  msb_rt_serve_stop (s, "creator exited");
}

static void
on_timer (msb_watch *w, uint32_t events)
{
  msb_rt_serve *s = w->data;
  uint64_t ticks;
  (void) !read (w->fd, &ticks, sizeof ticks);
  uint64_t now = msb_now_mono_ns ();
  if (s->stopping && now >= s->flush_deadline_ns)
    {
      force_kill (s, "the flush window after core.shutdown passed");
      s->flush_deadline_ns = now + 5000 * NS_PER_MS;
    }
  else if (s->max_deadline_ns && now >= s->max_deadline_ns)
    {
      s->max_deadline_ns = 0;
      msb_rt_serve_stop (s, "max_duration");
    }
  else if (s->idle_timeout_ns && !s->stopping && msb_relay_active_sessions (s->relay) == 0
           && now - msb_relay_last_activity_ns (s->relay) >= s->idle_timeout_ns)
    msb_rt_serve_stop (s, "idle_timeout");
  rearm_timer (s);
}

static void
on_agent_closed (void *data)
{
  msb_rt_serve *s = data;
  /* The agent exits last during shutdown; otherwise it died under us. Either way the sandbox
   * is over: make sure nothing is left and wait for the reap. */
  if (!s->stopping)
    s->reason = "sandbox exited";
  /* A custom init's own shutdown may end the agent (it signals every process) while the init
   * still winds down: during a stop it keeps the rest of the flush window. */
  bool init_stopping = s->stopping && s->rt->cfg->files.init_cmd != NULL;
  if (!s->done && !init_stopping)
    s->rt->backend->kill (s->rt);
}

static void
on_main_exited (void *data, int code)
{
  msb_rt_serve *s = data;
  s->has_main = true;
  s->main_exit_code = code;
  msb_rt_serve_stop (s, "command exited");
}

static void
on_shutdown_request (void *data)
{
  msb_rt_serve *s = data;
  if (!s->stopping)
    {
      s->stopping = true;
      s->reason = "stopped";
      s->flush_deadline_ns = msb_now_mono_ns () + flush_window_ns (s);
      rearm_timer (s);
    }
}

static int
control_stop (void *data)
{
  msb_rt_serve_stop (data, "stopped");
  return 0;
}

static int
control_drain (void *data)
{
  start_drain (data);
  return 0;
}

static int
control_detach (void *data)
{
  msb_rt_serve *s = data;
  if (s->watchdog_fd >= 0)
    {
      msb_loop_del (&s->loop, &s->watchdog_w);
      close (s->watchdog_fd);
      s->watchdog_fd = s->watchdog_w.fd = -1;
    }
  return 0;
}

static int
control_stop_when_unused (void *data)
{
  msb_rt_serve *s = data;
  s->stop_when_unused = true;
  return 0;
}

static const char *
control_status (void *data)
{
  msb_rt_serve *s = data;
  return s->stopping ? "stopping" : s->draining ? "draining" : "running";
}

int
msb_rt_serve_init (msb_rt_serve *s, msb_runtime *rt, int watchdog_fd, msb_error **err)
{
  memset (s, 0, sizeof *s);
  s->rt = rt;
  s->signal_fd = s->timer_fd = s->metrics_fd = -1;
  s->watchdog_fd = watchdog_fd;
  if (msb_loop_init (&s->loop) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create event loop");
  sigset_t set;
  sigprocmask (SIG_BLOCK, NULL, &set);
  s->signal_fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  s->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (s->signal_fd < 0 || s->timer_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create signal and timer fds");
  if (msb_loop_add (&s->loop, &s->signal_w, s->signal_fd, EPOLLIN, on_signal, s) < 0
      || msb_loop_add (&s->loop, &s->timer_w, s->timer_fd, EPOLLIN, on_timer, s) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "watch signals");
  if (watchdog_fd >= 0)
    {
      msb_set_nonblock (watchdog_fd, true);
      if (msb_loop_add (&s->loop, &s->watchdog_w, watchdog_fd, EPOLLIN, on_watchdog, s) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "watch the creator");
    }
  if (rt->cfg->max_duration_secs > 0)
    s->max_deadline_ns = msb_now_mono_ns () + (uint64_t) rt->cfg->max_duration_secs * 1000000000ull;
  if (rt->cfg->idle_timeout_secs > 0)
    s->idle_timeout_ns = (uint64_t) rt->cfg->idle_timeout_secs * 1000000000ull;
  return 0;
}

/* The first sample is published before the sandbox is reported ready, so metrics are
 * available from the first moment a client can see the sandbox. */
static int
start_sampler (msb_rt_serve *s, msb_error **err)
{
  uint64_t interval = 1000;
  const char *env = getenv ("MSB_METRICS_INTERVAL_MS");
  if (env && strtoull (env, NULL, 10) >= 10)
    interval = strtoull (env, NULL, 10);
  if (msb_sampler_open (s->rt, interval, &s->sampler, err) < 0)
    return -1;
  s->metrics_fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  struct itimerspec its = { { (time_t) (interval / 1000), (long) (interval % 1000) * 1000000L },
                            { (time_t) (interval / 1000), (long) (interval % 1000) * 1000000L } };
  if (s->metrics_fd < 0 || timerfd_settime (s->metrics_fd, 0, &its, NULL) < 0
      || msb_loop_add (&s->loop, &s->metrics_w, s->metrics_fd, EPOLLIN, on_metrics, s) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "start the metrics sampler");
  msb_sampler_sample (s->sampler, 0);
  return 0;
}

int
msb_rt_serve_attach (msb_rt_serve *s, int agent_listen_fd, int control_listen_fd,
                     const uint8_t *ready_frame, size_t ready_len, msb_error **err)
{
  msb_relay_events ev = { s, on_shutdown_request, on_agent_closed, on_main_exited };
  if (msb_relay_start (&s->loop, s->rt->agent_fd, agent_listen_fd, ready_frame, ready_len, s->log,
                       &ev, &s->relay, err)
      < 0)
    return -1;
  msb_control_ops ops = { s, control_stop, control_drain, control_detach, control_stop_when_unused,
                          control_status, msb_rt_control_resize /* runtime/resize.c */ };
  if (msb_control_start (&s->loop, control_listen_fd, &ops, &s->control, err) < 0)
    return -1;
  if (start_sampler (s, err) < 0)
    return -1;
  if (s->rt->cfg->main_cmd && s->rt->cfg->main_cmd[0])
    msb_relay_start_main (s->relay, s->rt->cfg->main_cmd);
  rearm_timer (s);
  return 0;
}

void
msb_rt_serve_run (msb_rt_serve *s)
{
  reap_sandbox (s); /* it may have died before the signalfd existed */
  while (!s->done)
    {
      /* Drain finishes when the last in-flight command does. */
      if (s->draining && !s->stopping && msb_relay_active_sessions (s->relay) == 0)
        msb_rt_serve_stop (s, "drained");
      if (s->stop_when_unused && !s->stopping && msb_relay_client_count (s->relay) == 0)
        msb_rt_serve_stop (s, "temporary start ended");
      msb_loop_run_once (&s->loop, s->draining ? 100 : -1);
    }
}

void
msb_rt_serve_close (msb_rt_serve *s)
{
  msb_control_free (s->control);
  s->control = NULL;
  msb_relay_free (s->relay);
  s->relay = NULL;
  if (s->signal_fd >= 0)
    close (s->signal_fd);
  if (s->timer_fd >= 0)
    close (s->timer_fd);
  if (s->metrics_fd >= 0)
    close (s->metrics_fd);
  msb_sampler_close (s->sampler);
  s->sampler = NULL;
  if (s->watchdog_fd >= 0)
    close (s->watchdog_fd);
  msb_loop_close (&s->loop);
}

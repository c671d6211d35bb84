/* Shutdown sequence (see shutdown.h). */
#include "agent/shutdown.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/init.h"
#include "agent/signals.h"
#include "agent/vm_init.h"
#include "common/util.h"

/* How long processes get between SIGTERM and SIGKILL: inside the host's flush window
 * (2 s, API.md §3.5) with room for the sync and the final flush. */
#define SHUTDOWN_GRACE_NS (1500ull * 1000000ull)
/* After SIGKILL: only the kernel's own teardown is left to wait for. */
#define SHUTDOWN_KILL_WAIT_NS (500ull * 1000000ull)
/* While waiting after SIGKILL, re-kill this often: orphans keep being reparented to a
 * subreaper agent until their whole subtree is gone. */
#define SHUTDOWN_KILL_POLL_MS 10
#define SHUTDOWN_FLUSH_NS (1000ull * 1000000ull)

void
agent_shutdown_begin (msb_agent *a, int exit_code, bool is_host_gone)
{
  a->is_host_gone = a->is_host_gone || is_host_gone;
  if (a->is_shutting_down)
    return;
  a->is_shutting_down = true;
  a->exit_code = exit_code;
  a->shutdown_deadline_ns = msb_now_mono_ns () + SHUTDOWN_GRACE_NS;
  agent_signal_everything (a, SIGTERM);
}

bool
agent_shutdown_step (msb_agent *a, int *timeout_ms)
{
  if (!agent_reap_children (a))
    return true;
  uint64_t now = msb_now_mono_ns ();
  if (a->has_sent_sigkill && now >= a->shutdown_deadline_ns)
    return true; /* unkillable (D state): do not hang the host's stop */
  if (a->has_sent_sigkill || now >= a->shutdown_deadline_ns)
    {
      if (!a->has_sent_sigkill)
        a->shutdown_deadline_ns = now + SHUTDOWN_KILL_WAIT_NS;
      a->has_sent_sigkill = true;
      agent_signal_everything (a, SIGKILL);
      *timeout_ms = SHUTDOWN_KILL_POLL_MS;
      return false;
    }
  *timeout_ms = (int) ((a->shutdown_deadline_ns - now) / 1000000u) + 1;
  return false;
}

_Noreturn void
agent_shutdown_finish (msb_agent *a)
{
  sync ();
  if (!a->is_host_gone)
    agent_channel_flush_until (&a->channel, msb_now_mono_ns () + SHUTDOWN_FLUSH_NS, NULL);
  agent_terminate (a, a->exit_code);
}

_Noreturn void
agent_terminate (msb_agent *a, int code)
{
  /* vm backend: a kernel's init must not exit; the guest powers off (with its init). */
  if (agent_vm_is_active ())
    agent_vm_power_off (a, code);
  /* With a custom init as PID 1 the sandbox ends when the init does: ask it now that the
   * agent's own sessions are gone and its output is flushed, and wait to be ended with it. */
  if (a->has_init && a->init_pid == 1)
    agent_init_wait_end (a);
  /* ns backend: PID 1 exiting tears the pid namespace down with it. */
  exit (code);
}

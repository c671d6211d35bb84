/* core.bootstrap → core.ready (see bootstrap.h). The bootstrap frame is the only input the
 * agent waits for with a blocking poll: there is nothing else to do before it. Frames the
 * host pipelines behind it stay in the channel buffer for the main loop. */
#include "agent/bootstrap.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "agent/init.h"
#include "agent/signals.h"
#include "agent/user.h"
#include "agent/vm_init.h"
#include "common/cleanup.h"
#include "common/util.h"

/* Waits until a complete frame is buffered. Returns 1 with *f, 0 when shutdown began while
 * waiting, -1 on error. */
static int
wait_first_frame (msb_agent *a, msb_frame *f, msb_error **err)
{
  for (;;)
    {
      int r = agent_channel_next_frame (&a->channel, f);
      if (r != 0)
        return r < 0 ? msb_fail (err, MSB_ERR_GENERIC, "framing error in the first frame") : 1;
      struct pollfd pfd[2] = { { .fd = a->channel.fd, .events = POLLIN },
                               { .fd = a->signal_watch.fd, .events = POLLIN } };
      if (poll (pfd, 2, -1) < 0 && errno != EINTR)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "wait for core.bootstrap");
      if (pfd[1].revents)
        {
          agent_signals_on_readable (a);
          if (a->is_shutting_down)
            return 0;
        }
      if (pfd[0].revents)
        {
          r = agent_channel_fill (&a->channel, err);
          if (r < 0)
            return -1;
          if (r == 0)
            return msb_fail (err, MSB_ERR_GENERIC, "the host closed the channel before bootstrap");
        }
    }
}

/* The custom init takes PID 1 last, once the agent's own setup is done (init.c). */
static int
apply_init_handoff (msb_agent *a, const msb_msg_bootstrap *b, msb_error **err)
{
  return agent_init_handoff (a, b, err);
}

/* The default user must exist in the image: refusing it here fails the create with a clear
 * error, instead of a sandbox in which every command fails to start. */
static int
check_default_user (const char *spec, msb_error **err)
{
  if (spec == NULL || *spec == '\0')
    return 0;
  agent_user u;
  if (agent_user_resolve (spec, "/etc/passwd", "/etc/group", &u, err) < 0)
    return msb_error_prefix (err, "default user `%s`", spec);
  agent_user_clear (&u);
  return 0;
}

static int
apply_bootstrap (msb_agent *a, const msb_msg_bootstrap *b, msb_error **err)
{
  if (check_default_user (b->user, err) < 0)
    return -1;
  a->defaults.env = msb_strv_dup (b->env);
  a->defaults.workdir = msb_xstrdup (b->workdir);
  a->defaults.user = msb_xstrdup (b->user);
  /* The ns runtime sets the hostname itself and may leave the agent without CAP_SYS_ADMIN
   * in the UTS namespace. */
  if (b->hostname && sethostname (b->hostname, strlen (b->hostname)) < 0 && errno != EPERM)
    return msb_fail_errno (err, errno, MSB_ERR_INVALID_CONFIG, "set hostname `%s`", b->hostname);
  /* clock_unix_nanos: the ns backend shares the host clock; a guest has its own. */
  agent_vm_set_clock (b->clock_unix_nanos);
  return apply_init_handoff (a, b, err);
}

static void
reject_first_frame (msb_agent *a, const msb_frame *f, msb_proto_error_kind kind,
                    const char *offending_type, const char *reason)
{
  agent_channel_send_error (&a->channel, f->id, kind, offending_type,
                            "expected core.bootstrap on id 0: %s", reason);
  agent_channel_flush_until (&a->channel, msb_now_mono_ns () + 1000000000ull, NULL);
}

static void
send_ready (msb_agent *a)
{
  msb_msg m = { .type = MSB_MSG_READY, .generation = MSB_PROTO_GENERATION };
  m.u.ready.boot_time_ns = a->boot_time_ns;
  m.u.ready.init_time_ns = a->init_time_ns;
  m.u.ready.ready_time_ns = agent_boottime_ns ();
  m.u.ready.agent_version = (char *) MSB_VERSION;
  agent_channel_send (&a->channel, 0, &m);
}

int
agent_bootstrap (msb_agent *a, msb_error **err)
{
  msb_frame f;
  int r = wait_first_frame (a, &f, err);
  if (r <= 0)
    return r;

  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  char reason[128] = "";
  if (msb_msg_decode (f.body, f.body_len, &m, &perr, reason, sizeof reason) < 0)
    {
      reject_first_frame (a, &f, perr ? perr : MSB_PERR_MALFORMED_MESSAGE, NULL, reason);
      msb_msg_clear (&m);
      return msb_fail (err, MSB_ERR_GENERIC, "undecodable first frame: %s", reason);
    }
  if (m.type != MSB_MSG_BOOTSTRAP || f.id != 0)
    {
      const char *name = m.type_name ? m.type_name : "?";
      reject_first_frame (a, &f, MSB_PERR_INVALID_PAYLOAD, name, "got another message");
      msb_msg_clear (&m);
      return msb_fail (err, MSB_ERR_GENERIC, "first frame is `%s` on id %u", name, f.id);
    }
  r = apply_bootstrap (a, &m.u.bootstrap, err);
  msb_msg_clear (&m);
  agent_channel_compact (&a->channel);
  if (r < 0)
    {
      agent_channel_send_error (&a->channel, 0, MSB_PERR_INVALID_PAYLOAD, "core.bootstrap", "%s",
                                err && *err ? msb_error_get_message (*err) : "bootstrap failed");
      agent_channel_flush_until (&a->channel, msb_now_mono_ns () + 1000000000ull, NULL);
      return -1;
    }
  a->init_time_ns = agent_boottime_ns ();
  send_ready (a);
  return 0;
}

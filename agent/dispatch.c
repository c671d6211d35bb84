/* Message routing (see dispatch.h). Frames for session ids the agent does not know (never
 * started, already finished, or forgotten after a client disconnect) are dropped silently:
 * they cross the session's terminal frame in flight all the time. Control-only messages
 * are accepted on id 0 alone: the relay lets clients use id 0 for nothing but
 * core.shutdown, so a client cannot forge core.relay.client.disconnected for another
 * client's range by sending it on one of its own ids. */
#include "agent/dispatch.h"

#include "agent/exec.h"
#include "agent/fs.h"
#include "agent/session.h"
#include "agent/shutdown.h"
#include "agent/vm_init.h"

static void
reply (msb_agent *a, uint32_t id, msb_msg_type type)
{
  msb_msg m = { .type = type, .generation = MSB_PROTO_GENERATION };
  if (type == MSB_MSG_TOUCHED)
    m.u.touched.activity_seq = a->activity_seq;
  agent_channel_send (&a->channel, id, &m);
}

static void
on_exec_request (msb_agent *a, uint32_t id, const msb_msg_exec_request *req)
{
  a->activity_seq++;
  if (id == 0)
    {
      agent_channel_send_error (&a->channel, id, MSB_PERR_INVALID_SESSION, "core.exec.request",
                                "id 0 is the control id, not a session id");
      return;
    }
  if (agent_session_find (a, id))
    {
      agent_channel_send_error (&a->channel, id, MSB_PERR_INVALID_SESSION, "core.exec.request",
                                "session id %u is already in use", id);
      return;
    }
  agent_exec_start (a, id, req);
}

static void
on_session_message (msb_agent *a, uint32_t id, const msb_msg *m)
{
  agent_session *s = id ? agent_session_find (a, id) : NULL;
  if (s == NULL)
    return;
  switch (m->type)
    {
    case MSB_MSG_EXEC_STDIN:
      agent_session_write_stdin (a, s, m->u.data.data.data, m->u.data.data.len);
      break;
    case MSB_MSG_EXEC_SIGNAL:
      agent_session_signal (s, m->u.exec_signal.signal);
      break;
    case MSB_MSG_EXEC_RESIZE:
      agent_session_resize (s, m->u.exec_resize.rows, m->u.exec_resize.cols);
      break;
    default:
      break;
    }
}

static bool
is_control_only (msb_msg_type type)
{
  return type == MSB_MSG_SHUTDOWN || type == MSB_MSG_RELAY_CLIENT_DISCONNECTED
         || type == MSB_MSG_BOOTSTRAP;
}

static void
on_message (msb_agent *a, const msb_frame *f, const msb_msg *m)
{
  if (f->id != 0 && is_control_only (m->type))
    {
      agent_channel_send_error (&a->channel, f->id, MSB_PERR_INVALID_SESSION,
                                msb_msg_type_name (m->type), "`%s` is only valid on id 0",
                                msb_msg_type_name (m->type));
      return;
    }
  switch (m->type)
    {
    case MSB_MSG_PING:
      reply (a, f->id, MSB_MSG_PONG);
      break;
    case MSB_MSG_TOUCH:
      a->activity_seq++;
      reply (a, f->id, MSB_MSG_TOUCHED);
      break;
    case MSB_MSG_EXEC_REQUEST:
      on_exec_request (a, f->id, &m->u.exec_request);
      break;
    case MSB_MSG_EXEC_STDIN:
    case MSB_MSG_EXEC_SIGNAL:
    case MSB_MSG_EXEC_RESIZE:
      on_session_message (a, f->id, m);
      break;
    case MSB_MSG_FS_REQUEST:
      agent_fs_on_request (a, f->id, &m->u.fs_request);
      break;
    case MSB_MSG_FS_DATA:
      agent_fs_on_data (a, f->id, m->u.data.data.data, m->u.data.data.len);
      break;
    case MSB_MSG_SHUTDOWN:
      agent_shutdown_begin (a, 0, false);
      break;
    case MSB_MSG_RELAY_CLIENT_DISCONNECTED:
      agent_sessions_forget_range (a, m->u.relay_client_disconnected.id_start,
                                   m->u.relay_client_disconnected.id_end_exclusive);
      agent_fs_forget_range (a, m->u.relay_client_disconnected.id_start,
                             m->u.relay_client_disconnected.id_end_exclusive);
      break;
    case MSB_MSG_CLOCK_SYNC: /* the ns backend shares the host clock; a guest has its own */
      agent_vm_set_clock (m->u.clock_sync.unix_time_nanos);
      break;
    case MSB_MSG_INIT_ACK:   /* custom init handoff: later */
    case MSB_MSG_ERROR:      /* never answer an error with an error */
      break;
    case MSB_MSG_BOOTSTRAP:
      agent_channel_send_error (&a->channel, f->id, MSB_PERR_INVALID_PAYLOAD, "core.bootstrap",
                                "the sandbox is already bootstrapped");
      break;
    default:
      agent_channel_send_error (&a->channel, f->id, MSB_PERR_UNSUPPORTED_MESSAGE_TYPE,
                                m->type_name ? m->type_name : msb_msg_type_name (m->type),
                                "the agent does not serve `%s`",
                                m->type_name ? m->type_name : "?");
      break;
    }
}

void
agent_dispatch_frame (msb_agent *a, const msb_frame *f)
{
  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  char reason[160] = "";
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, reason, sizeof reason) < 0)
    {
      msb_msg_type type = MSB_MSG_UNKNOWN;
      const char *name = msb_msg_peek_type (f->body, f->body_len, &type) == 0
                             ? msb_msg_type_name (type) : NULL;
      agent_channel_send_error (&a->channel, f->id,
                                perr ? perr : MSB_PERR_MALFORMED_MESSAGE, name,
                                "cannot decode frame: %s", reason);
    }
  else
    on_message (a, f, &m);
  msb_msg_clear (&m);
}

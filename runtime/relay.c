/* The relay. Frames are forwarded as raw bytes; only what routing and the tap need is
 * decoded (frame headers always, the message type of session-start frames from clients, and
 * the bodies of stdout/stderr frames for exec.log). A client that sends a frame outside its
 * id range is disconnected; when a client goes away its exec sessions are killed and the
 * agent is told to forget its range.
 *
 * Flow control: a slow client stops the relay from reading the agent once its queue passes
 * 8 MiB (the agent then stops reading its processes' output), and is disconnected past 64 MiB
 * so it cannot stall the sandbox forever; a slow agent stops the relay from reading clients. */
#include "runtime/relay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"
#include "proto/proto.h"

#define CLIENT_OUT_HIGH (8u << 20)
#define CLIENT_OUT_LOW (1u << 20)
#define CLIENT_OUT_MAX (64u << 20)
#define AGENT_OUT_HIGH (8u << 20)
#define AGENT_OUT_LOW (1u << 20)
#define READ_CHUNK (256u << 10)

typedef struct exec_session
{
  uint32_t id;
  uint64_t log_id;
  bool tty;
} exec_session;

typedef struct relay_client
{
  msb_watch w;
  msb_relay *relay;
  unsigned slot;
  uint32_t id_start;
  uint32_t id_end;
  msb_buf in;
  msb_buf out;
  exec_session *sessions;
  size_t n_sessions;
  size_t cap_sessions;
} relay_client;

struct msb_relay
{
  msb_loop *loop;
  msb_watch agent_w;
  msb_watch listen_w;
  msb_buf agent_in;
  msb_buf agent_out;
  msb_buf ready;
  relay_client *clients[MSB_RELAY_MAX_CLIENTS];
  msb_exec_log *log;
  msb_relay_events ev;
  exec_session main_session; /* id 0 when there is no main command */
  uint64_t next_log_id;
  unsigned active_sessions;
  uint64_t last_activity_ns;
  bool draining;
  bool agent_closed;
  bool agent_reads_paused;
  bool client_reads_paused;
};

static void client_close (relay_client *c);

/* ---- writing ---- */

/* Writes as much of `b` as the socket takes. Returns -1 on a broken connection. */
static int
flush_buf (int fd, msb_buf *b)
{
  while (b->len > 0)
    {
      ssize_t n = send (fd, b->data, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
      if (n < 0)
        return -1;
      msb_buf_consume (b, (size_t) n);
    }
  return 0;
}

static uint32_t
agent_events (const msb_relay *r)
{
  return (r->agent_reads_paused ? 0 : EPOLLIN) | (r->agent_out.len ? EPOLLOUT : 0);
}

static uint32_t
client_events (const msb_relay *r, const relay_client *c)
{
  return (r->client_reads_paused ? 0 : EPOLLIN) | (c->out.len ? EPOLLOUT : 0);
}

static void
update_agent_watch (msb_relay *r)
{
  if (!r->agent_closed)
    msb_loop_set (r->loop, &r->agent_w, agent_events (r));
}

static bool
any_client_above (msb_relay *r, size_t mark)
{
  for (unsigned i = 0; i < MSB_RELAY_MAX_CLIENTS; i++)
    if (r->clients[i] && r->clients[i]->out.len > mark)
      return true;
  return false;
}

static void
set_client_reads (msb_relay *r, bool paused)
{
  if (r->client_reads_paused == paused)
    return;
  r->client_reads_paused = paused;
  for (unsigned i = 0; i < MSB_RELAY_MAX_CLIENTS; i++)
    if (r->clients[i])
      msb_loop_set (r->loop, &r->clients[i]->w, client_events (r, r->clients[i]));
}

static void
agent_lost (msb_relay *r)
{
  r->agent_closed = true;
  msb_loop_del (r->loop, &r->agent_w);
  if (r->ev.on_agent_closed)
    r->ev.on_agent_closed (r->ev.data);
}

static void
agent_flush (msb_relay *r)
{
  if (r->agent_closed)
    return;
  if (flush_buf (r->agent_w.fd, &r->agent_out) < 0)
    {
      agent_lost (r);
      return;
    }
  if (r->agent_out.len > AGENT_OUT_HIGH)
    set_client_reads (r, true);
  else if (r->agent_out.len < AGENT_OUT_LOW)
    set_client_reads (r, false);
  update_agent_watch (r);
}

void
msb_relay_send_to_agent (msb_relay *r, const uint8_t *frame, size_t len)
{
  msb_buf_append (&r->agent_out, frame, len);
  agent_flush (r);
}

static void
send_msg_to_agent (msb_relay *r, uint32_t id, const msb_msg *m)
{
  msb_msg_write_frame (&r->agent_out, id, 0, m);
  agent_flush (r);
}

/* Queues bytes for a client; false when the client was closed for being too slow. */
static bool
client_queue (relay_client *c, const uint8_t *data, size_t len)
{
  msb_relay *r = c->relay;
  msb_buf_append (&c->out, data, len);
  if (flush_buf (c->w.fd, &c->out) < 0 || c->out.len > CLIENT_OUT_MAX)
    {
      client_close (c);
      return false;
    }
  if (c->out.len > CLIENT_OUT_HIGH && !r->agent_reads_paused)
    {
      r->agent_reads_paused = true;
      update_agent_watch (r);
    }
  msb_loop_set (r->loop, &c->w, client_events (r, c));
  return true;
}

/* ---- sessions ---- */

static exec_session *
find_session (relay_client *c, uint32_t id)
{
  for (size_t i = 0; i < c->n_sessions; i++)
    if (c->sessions[i].id == id)
      return &c->sessions[i];
  return NULL;
}

static void
add_session (relay_client *c, uint32_t id, bool tty)
{
  if (c->n_sessions == c->cap_sessions)
    {
      c->cap_sessions = c->cap_sessions ? c->cap_sessions * 2 : 8;
      c->sessions = msb_xrealloc (c->sessions, c->cap_sessions * sizeof *c->sessions);
    }
  c->sessions[c->n_sessions++] = (exec_session) { id, ++c->relay->next_log_id, tty };
  c->relay->active_sessions++;
}

static void
remove_session (relay_client *c, exec_session *s)
{
  *s = c->sessions[--c->n_sessions];
  c->relay->active_sessions--;
  c->relay->last_activity_ns = msb_now_mono_ns ();
}

/* ---- agent → clients ---- */

static void
tap_output (msb_relay *r, exec_session *s, const msb_frame *f)
{
  msb_msg_type type;
  if (msb_msg_peek_type (f->body, f->body_len, &type) < 0
      || (type != MSB_MSG_EXEC_STDOUT && type != MSB_MSG_EXEC_STDERR))
    return;
  msb_msg m;
  msb_proto_error_kind perr;
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, NULL, 0) < 0)
    return;
  const char *source = s->tty ? "output" : type == MSB_MSG_EXEC_STDOUT ? "stdout" : "stderr";
  msb_exec_log_write (r->log, source, m.u.data.data.data, m.u.data.data.len, s->log_id);
  msb_msg_clear (&m);
}

/* Frames of the main command: logged, and its end reported; nobody else sees them. */
static void
route_main_frame (msb_relay *r, const msb_frame *f)
{
  if (r->main_session.id == 0)
    return;
  tap_output (r, &r->main_session, f);
  r->last_activity_ns = msb_now_mono_ns ();
  if (!(f->flags & MSB_FLAG_TERMINAL))
    return;
  msb_msg m;
  msb_proto_error_kind perr;
  int code = -1;
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, NULL, 0) == 0)
    {
      if (m.type == MSB_MSG_EXEC_EXITED)
        code = m.u.exec_exited.code;
      msb_msg_clear (&m);
    }
  r->main_session.id = 0;
  r->active_sessions--;
  if (r->ev.on_main_exited)
    r->ev.on_main_exited (r->ev.data, code);
}

void
msb_relay_start_main (msb_relay *r, char *const *argv)
{
  static char *none[] = { NULL };
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_REQUEST;
  m.u.exec_request.cmd = argv[0];
  m.u.exec_request.args = (char **) argv + 1;
  m.u.exec_request.env = none;
  m.u.exec_request.rows = 24;
  m.u.exec_request.cols = 80;
  r->main_session = (exec_session) { MSB_RELAY_MAIN_SESSION_ID, ++r->next_log_id, false };
  r->active_sessions++;
  send_msg_to_agent (r, MSB_RELAY_MAIN_SESSION_ID, &m);
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_STDIN; /* stdin at EOF */
  send_msg_to_agent (r, MSB_RELAY_MAIN_SESSION_ID, &m);
}

static void
route_agent_frame (msb_relay *r, const uint8_t *raw, size_t len, const msb_frame *f)
{
  if (f->id == 0)
    return; /* control frames from the agent (a late core.ready, errors) stay here */
  if (f->id == MSB_RELAY_MAIN_SESSION_ID)
    {
      route_main_frame (r, f);
      return;
    }
  unsigned slot = f->id / MSB_RELAY_ID_STEP;
  relay_client *c = slot < MSB_RELAY_MAX_CLIENTS ? r->clients[slot] : NULL;
  if (c == NULL || f->id < c->id_start || f->id >= c->id_end)
    return; /* its client is gone */
  exec_session *s = find_session (c, f->id);
  if (s)
    {
      tap_output (r, s, f);
      r->last_activity_ns = msb_now_mono_ns ();
      if (f->flags & MSB_FLAG_TERMINAL)
        remove_session (c, s);
    }
  client_queue (c, raw, len);
}

/* Appends what the non-blocking `fd` has now to `in`; false at EOF or on a read error. */
static bool
read_available (int fd, msb_buf *in)
{
  for (;;)
    {
      uint8_t *dst = msb_buf_reserve (in, READ_CHUNK);
      ssize_t n = read (fd, dst, READ_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
      if (n <= 0)
        return false;
      in->len += (size_t) n;
      if ((size_t) n < READ_CHUNK)
        return true;
    }
}

static void
agent_read (msb_relay *r)
{
  if (!read_available (r->agent_w.fd, &r->agent_in))
    {
      agent_lost (r);
      return;
    }
  size_t off = 0;
  for (;;)
    {
      msb_frame f;
      size_t used;
      int p = msb_frame_parse (r->agent_in.data + off, r->agent_in.len - off, &f, &used);
      if (p == 0)
        break;
      if (p < 0)
        {
          /* The agent is hostile or broken: stop listening to it. */
          agent_lost (r);
          return;
        }
      route_agent_frame (r, r->agent_in.data + off, used, &f);
      off += used;
    }
  msb_buf_consume (&r->agent_in, off);
}

static void
on_agent (msb_watch *w, uint32_t events)
{
  msb_relay *r = w->data;
  if (events & EPOLLOUT)
    agent_flush (r);
  if (!r->agent_closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
    agent_read (r);
}

/* ---- clients → agent ---- */

/* Returns false when the client had to be closed. */
static bool
reply_draining (relay_client *c, uint32_t id)
{
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_FAILED;
  m.u.exec_failed.kind = MSB_EXEC_FAILED_OTHER;
  m.u.exec_failed.message = "sandbox is draining: new commands are refused";
  m.u.exec_failed.stage = "relay";
  msb_buf frame = MSB_BUF_INIT;
  msb_msg_write_frame (&frame, id, 0, &m);
  bool open = client_queue (c, frame.data, frame.len);
  msb_buf_free (&frame);
  return open;
}

static bool
exec_request_is_tty (const msb_frame *f)
{
  msb_msg m;
  msb_proto_error_kind perr;
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, NULL, 0) < 0)
    return false;
  bool tty = m.u.exec_request.tty;
  msb_msg_clear (&m);
  return tty;
}

/* Returns false when the client had to be closed. */
static bool
route_client_frame (relay_client *c, const uint8_t *raw, size_t len, const msb_frame *f)
{
  msb_relay *r = c->relay;
  msb_msg_type type = MSB_MSG_UNKNOWN;
  msb_msg_peek_type (f->body, f->body_len, &type);
  if (f->id == 0)
    {
      if (type != MSB_MSG_SHUTDOWN)
        {
          client_close (c);
          return false;
        }
      msb_relay_send_to_agent (r, raw, len);
      if (r->ev.on_shutdown_request)
        r->ev.on_shutdown_request (r->ev.data);
      return true;
    }
  if (f->id < c->id_start || f->id >= c->id_end)
    {
      client_close (c);
      return false;
    }
  if (type != MSB_MSG_PING)
    r->last_activity_ns = msb_now_mono_ns ();
  if ((f->flags & MSB_FLAG_SESSION_START) && type == MSB_MSG_EXEC_REQUEST)
    {
      if (r->draining)
        return reply_draining (c, f->id);
      if (find_session (c, f->id) == NULL)
        add_session (c, f->id, exec_request_is_tty (f));
    }
  msb_buf_append (&r->agent_out, raw, len);
  return true;
}

static void
client_read (relay_client *c)
{
  msb_relay *r = c->relay;
  if (!read_available (c->w.fd, &c->in))
    {
      client_close (c);
      return;
    }
  size_t off = 0;
  for (;;)
    {
      msb_frame f;
      size_t used;
      int p = msb_frame_parse (c->in.data + off, c->in.len - off, &f, &used);
      if (p == 0)
        break;
      if (p < 0 || !route_client_frame (c, c->in.data + off, used, &f))
        {
          if (p < 0)
            client_close (c);
          agent_flush (r);
          return;
        }
      off += used;
    }
  msb_buf_consume (&c->in, off);
  agent_flush (r);
}

static void
on_client (msb_watch *w, uint32_t events)
{
  relay_client *c = w->data;
  msb_relay *r = c->relay;
  if (events & EPOLLOUT)
    {
      if (flush_buf (c->w.fd, &c->out) < 0)
        {
          client_close (c);
          return;
        }
      if (r->agent_reads_paused && !any_client_above (r, CLIENT_OUT_LOW))
        {
          r->agent_reads_paused = false;
          update_agent_watch (r);
        }
      msb_loop_set (r->loop, &c->w, client_events (r, c));
    }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
    client_read (c);
}

static void
client_close (relay_client *c)
{
  msb_relay *r = c->relay;
  msb_msg m;
  for (size_t i = 0; i < c->n_sessions; i++)
    {
      memset (&m, 0, sizeof m);
      m.type = MSB_MSG_EXEC_SIGNAL;
      m.u.exec_signal.signal = 9;
      send_msg_to_agent (r, c->sessions[i].id, &m);
      r->active_sessions--;
    }
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_RELAY_CLIENT_DISCONNECTED;
  m.u.relay_client_disconnected.id_start = c->id_start;
  m.u.relay_client_disconnected.id_end_exclusive = c->id_end;
  if (!r->agent_closed)
    send_msg_to_agent (r, 0, &m);
  msb_loop_del (r->loop, &c->w);
  close (c->w.fd);
  r->clients[c->slot] = NULL;
  msb_buf_free (&c->in);
  msb_buf_free (&c->out);
  free (c->sessions);
  free (c);
  if (r->agent_reads_paused && !any_client_above (r, CLIENT_OUT_LOW))
    {
      r->agent_reads_paused = false;
      update_agent_watch (r);
    }
}

static void
put_u32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static void
client_accept (msb_relay *r, int fd)
{
  unsigned slot = 0;
  while (slot < MSB_RELAY_MAX_CLIENTS && r->clients[slot])
    slot++;
  if (slot == MSB_RELAY_MAX_CLIENTS)
    {
      close (fd); /* full: the client sees EOF before the handshake */
      return;
    }
  relay_client *c = msb_xcalloc (1, sizeof *c);
  c->relay = r;
  c->slot = slot;
  c->id_start = slot * MSB_RELAY_ID_STEP + 1;
  c->id_end = slot * MSB_RELAY_ID_STEP + MSB_RELAY_ID_STEP;
  if (msb_loop_add (r->loop, &c->w, fd, 0, on_client, c) < 0)
    {
      close (fd);
      free (c);
      return;
    }
  r->clients[slot] = c;
  uint8_t hello[8];
  put_u32 (hello, c->id_start);
  put_u32 (hello + 4, c->id_end);
  msb_buf_append (&c->out, hello, sizeof hello);
  client_queue (c, r->ready.data, r->ready.len);
}

static void
on_listen (msb_watch *w, uint32_t events)
{
  msb_relay *r = w->data;
  for (;;)
    {
      int fd = accept4 (w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      client_accept (r, fd);
    }
}

/* ---- lifecycle ---- */

int
msb_relay_start (msb_loop *loop, int agent_fd, int listen_fd, const uint8_t *ready_frame,
                 size_t ready_len, msb_exec_log *log, const msb_relay_events *events,
                 msb_relay **out, msb_error **err)
{
  msb_relay *r = msb_xcalloc (1, sizeof *r);
  r->loop = loop;
  r->log = log;
  if (events)
    r->ev = *events;
  r->last_activity_ns = msb_now_mono_ns ();
  msb_buf_append (&r->ready, ready_frame, ready_len);
  msb_set_nonblock (agent_fd, true);
  msb_set_nonblock (listen_fd, true);
  if (msb_loop_add (loop, &r->agent_w, agent_fd, EPOLLIN, on_agent, r) < 0
      || msb_loop_add (loop, &r->listen_w, listen_fd, EPOLLIN, on_listen, r) < 0)
    {
      free (r);
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "start the relay");
    }
  *out = r;
  return 0;
}

void
msb_relay_set_draining (msb_relay *r, bool draining)
{
  r->draining = draining;
}

unsigned
msb_relay_active_sessions (const msb_relay *r)
{
  return r->active_sessions;
}

unsigned
msb_relay_client_count (const msb_relay *r)
{
  unsigned n = 0;
  for (unsigned i = 0; i < MSB_RELAY_MAX_CLIENTS; i++)
    n += r->clients[i] != NULL;
  return n;
}

uint64_t
msb_relay_last_activity_ns (const msb_relay *r)
{
  return r->last_activity_ns;
}

void
msb_relay_close_clients (msb_relay *r)
{
  if (r->listen_w.fd >= 0)
    {
      msb_loop_del (r->loop, &r->listen_w);
      close (r->listen_w.fd);
      r->listen_w.fd = -1;
    }
  for (unsigned i = 0; i < MSB_RELAY_MAX_CLIENTS; i++)
    if (r->clients[i])
      {
        relay_client *c = r->clients[i];
        flush_buf (c->w.fd, &c->out);
        c->n_sessions = 0; /* the sandbox is going away: nothing to kill */
        client_close (c);
      }
}

void
msb_relay_flush_agent (msb_relay *r, int timeout_ms)
{
  uint64_t deadline = msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u;
  while (!r->agent_closed && r->agent_out.len > 0 && msb_now_mono_ns () < deadline)
    {
      agent_flush (r);
      if (r->agent_out.len)
        usleep (1000);
    }
}

void
msb_relay_free (msb_relay *r)
{
  if (r == NULL)
    return;
  msb_relay_close_clients (r);
  if (!r->agent_closed)
    msb_loop_del (r->loop, &r->agent_w);
  msb_buf_free (&r->agent_in);
  msb_buf_free (&r->agent_out);
  msb_buf_free (&r->ready);
  free (r);
}

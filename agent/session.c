/* Exec sessions after spawn (see session.h): table, output, stdin, signals, end of life.
 *
 * Ordering guarantee: core.exec.exited is sent only when the process has been reaped, after
 * its pipes (or pty master) were read until they would block, so every byte it wrote before
 * exiting precedes `exited`. Writers that outlive it (background grandchildren) are not
 * waited for: the fds are closed and they get EPIPE.
 *
 * Memory: output is read only while the host keeps up (agent_sessions_set_output_paused);
 * stdin queues are capped per session and in total, and data beyond the caps is refused
 * with core.exec.stdin.error rather than buffered without bound. */
#include "agent/session.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/pty.h"
#include "common/util.h"

/* One read of session output; also the largest stdout/stderr frame the agent sends. */
#define OUTPUT_READ_MAX (64u * 1024u)
/* What a reaped process may still have in its pipe: far above any pipe or pty buffer, so
 * it bounds only a grandchild that keeps writing while we drain. */
#define OUTPUT_DRAIN_MAX (4u * 1024u * 1024u)
/* Stdin the agent holds for a child that is slower than the host. */
#define STDIN_SESSION_MAX (16u * 1024u * 1024u)
#define STDIN_TOTAL_MAX (64u * 1024u * 1024u)

static uint8_t output_buf[OUTPUT_READ_MAX];

/* ---- table ---------------------------------------------------------------------------- */

static size_t
bucket_of (uint32_t key)
{
  /* Fibonacci hashing: ids of one relay client are consecutive, pids nearly so. */
  return (size_t) ((key * 2654435761u) >> 22) % AGENT_SESSION_BUCKETS;
}

static void
unlink_id (msb_agent *a, agent_session *s)
{
  if (!s->is_in_id_table)
    return;
  for (agent_session **p = &a->by_id[bucket_of (s->id)]; *p; p = &(*p)->next_by_id)
    if (*p == s)
      {
        *p = s->next_by_id;
        break;
      }
  s->is_in_id_table = false;
}

static void
unlink_pid (msb_agent *a, agent_session *s)
{
  if (!s->is_in_pid_table)
    return;
  for (agent_session **p = &a->by_pid[bucket_of ((uint32_t) s->pid)]; *p; p = &(*p)->next_by_pid)
    if (*p == s)
      {
        *p = s->next_by_pid;
        break;
      }
  s->is_in_pid_table = false;
}

agent_session *
agent_session_new (msb_agent *a, uint32_t id, const char *cmd, bool has_tty)
{
  agent_session *s = msb_xcalloc (1, sizeof *s);
  s->id = id;
  s->has_tty = has_tty;
  s->cmd = msb_xstrdup (cmd);
  s->out = (agent_watch){ .kind = AGENT_WATCH_SESSION_OUTPUT, .fd = -1, .owner = s };
  s->err = (agent_watch){ .kind = AGENT_WATCH_SESSION_OUTPUT, .fd = -1, .owner = s };
  s->in = (agent_watch){ .kind = AGENT_WATCH_SESSION_STDIN, .fd = -1, .owner = s };
  s->report = (agent_watch){ .kind = AGENT_WATCH_SESSION_REPORT, .fd = -1, .owner = s };

  size_t b = bucket_of (id);
  s->next_by_id = a->by_id[b];
  a->by_id[b] = s;
  s->is_in_id_table = true;

  s->next = a->sessions;
  if (a->sessions)
    a->sessions->prev = s;
  a->sessions = s;
  a->n_sessions++;
  return s;
}

agent_session *
agent_session_find (msb_agent *a, uint32_t id)
{
  for (agent_session *s = a->by_id[bucket_of (id)]; s; s = s->next_by_id)
    if (s->id == id)
      return s;
  return NULL;
}

agent_session *
agent_session_find_pid (msb_agent *a, pid_t pid)
{
  for (agent_session *s = a->by_pid[bucket_of ((uint32_t) pid)]; s; s = s->next_by_pid)
    if (s->pid == pid)
      return s;
  return NULL;
}

void
agent_session_set_pid (msb_agent *a, agent_session *s, pid_t pid)
{
  s->pid = pid;
  size_t b = bucket_of ((uint32_t) pid);
  s->next_by_pid = a->by_pid[b];
  a->by_pid[b] = s;
  s->is_in_pid_table = true;
}

/* ---- watches -------------------------------------------------------------------------- */

static int
stdin_fd (const agent_session *s)
{
  if (s->has_tty)
    return s->stdin_errno ? -1 : s->out.fd;
  return s->in.fd;
}

static bool
is_output_wanted (const msb_agent *a, const agent_session *s)
{
  return !s->is_spawning && !a->is_output_paused;
}

/* Derives every watch's epoll interest from the session state. */
static void
update_watches (msb_agent *a, agent_session *s)
{
  bool has_stdin = agent_queue_pending (&s->stdin_queue) > 0;
  uint32_t out_events = 0;
  if (is_output_wanted (a, s) && !s->is_pty_eof)
    out_events |= EPOLLIN;
  if (s->has_tty && has_stdin)
    out_events |= EPOLLOUT;
  /* Failures here only delay streaming: the drain at exit reads the fds directly. */
  agent_watch_set (a, &s->out, out_events, NULL);
  agent_watch_set (a, &s->err, is_output_wanted (a, s) ? EPOLLIN : 0, NULL);
  agent_watch_set (a, &s->in, has_stdin ? EPOLLOUT : 0, NULL);
}

static void
send_frame (msb_agent *a, agent_session *s, msb_msg *m)
{
  if (s->is_finished)
    return;
  m->generation = MSB_PROTO_GENERATION;
  agent_channel_send (&a->channel, s->id, m);
}

/* ---- stdin ---------------------------------------------------------------------------- */

static void
report_stdin_error (msb_agent *a, agent_session *s, int errnum, const char *what)
{
  if (s->has_reported_stdin_error)
    return;
  s->has_reported_stdin_error = true;
  char message[256];
  snprintf (message, sizeof message, "stdin of `%s`: %s: %s", s->cmd, what, strerror (errnum));
  msb_msg m = { .type = MSB_MSG_EXEC_STDIN_ERROR };
  m.u.exec_stdin_error.has_errno = true;
  m.u.exec_stdin_error.errnum = errnum;
  m.u.exec_stdin_error.errno_name = (char *) strerrorname_np (errnum);
  m.u.exec_stdin_error.message = message;
  send_frame (a, s, &m);
}

static void
discard_stdin (msb_agent *a, agent_session *s)
{
  a->stdin_backlog -= agent_queue_pending (&s->stdin_queue);
  agent_queue_free (&s->stdin_queue);
}

/* The child's stdin is gone (`errnum`): drop what is queued and stop accepting more. */
static void
close_stdin (msb_agent *a, agent_session *s, int errnum)
{
  discard_stdin (a, s);
  s->stdin_errno = errnum;
  if (!s->has_tty)
    agent_watch_close (a, &s->in);
}

/* Writes queued stdin until the child stops taking it. */
static void
flush_stdin (msb_agent *a, agent_session *s)
{
  int fd = stdin_fd (s);
  while (fd >= 0 && agent_queue_pending (&s->stdin_queue) > 0)
    {
      ssize_t n = write (fd, agent_queue_data (&s->stdin_queue), agent_queue_pending (&s->stdin_queue));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (n < 0)
        {
          report_stdin_error (a, s, errno, "write");
          close_stdin (a, s, errno);
          break;
        }
      agent_queue_consume (&s->stdin_queue, (size_t) n);
      a->stdin_backlog -= (size_t) n;
      a->stdin_progress_ns = msb_now_mono_ns ();
    }
  if (s->is_stdin_eof_pending && agent_queue_pending (&s->stdin_queue) == 0 && !s->has_tty)
    close_stdin (a, s, EPIPE);
  update_watches (a, s);
}

void
agent_session_write_stdin (msb_agent *a, agent_session *s, const uint8_t *data, size_t len)
{
  if (len == 0)
    {
      /* EOF; a pty has no EOF of its own (^D is data), so it is ignored there. */
      if (!s->has_tty && !s->is_stdin_eof_pending)
        {
          s->is_stdin_eof_pending = true;
          flush_stdin (a, s);
        }
      return;
    }
  if (s->is_stdin_eof_pending || stdin_fd (s) < 0)
    {
      report_stdin_error (a, s, s->stdin_errno ? s->stdin_errno : EPIPE, "closed");
      return;
    }
  size_t pending = agent_queue_pending (&s->stdin_queue);
  if (pending + len > STDIN_SESSION_MAX || a->stdin_backlog + len > STDIN_TOTAL_MAX)
    {
      report_stdin_error (a, s, ENOBUFS, "the child is not reading; data dropped");
      return;
    }
  if (pending == 0)
    a->stdin_progress_ns = msb_now_mono_ns ();
  msb_buf_append (&s->stdin_queue.buf, data, len);
  a->stdin_backlog += len;
  flush_stdin (a, s);
}

void
agent_session_on_stdin_ready (msb_agent *a, agent_session *s)
{
  flush_stdin (a, s);
}

/* ---- output --------------------------------------------------------------------------- */

/* One read from an output fd. Returns 1 after data, 0 when it would block, -1 at its end. */
static int
read_output_once (msb_agent *a, agent_session *s, agent_watch *w)
{
  ssize_t n;
  do
    n = read (w->fd, output_buf, sizeof output_buf);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    {
      msb_msg m = { .type = w == &s->err ? MSB_MSG_EXEC_STDERR : MSB_MSG_EXEC_STDOUT };
      m.u.data.data = (msb_bytes){ output_buf, (size_t) n };
      send_frame (a, s, &m);
      return 1;
    }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  if (s->has_tty)
    {
      /* EIO: no process has the slave open. The master stays open until the session ends
       * (closing it would hang up the session); only reading stops. */
      s->is_pty_eof = true;
      if (agent_queue_pending (&s->stdin_queue) > 0)
        report_stdin_error (a, s, EIO, "the terminal was closed");
      close_stdin (a, s, EIO);
      update_watches (a, s);
      return -1;
    }
  agent_watch_close (a, w);
  return -1;
}

void
agent_session_on_output (msb_agent *a, agent_watch *w, uint32_t events)
{
  agent_session *s = w->owner;
  if (s->has_tty && (events & EPOLLOUT))
    flush_stdin (a, s);
  if (w->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->is_pty_eof)
    read_output_once (a, s, w);
}

static void
drain_output (msb_agent *a, agent_session *s, agent_watch *w)
{
  if (s->is_pty_eof)
    return;
  for (size_t budget = OUTPUT_DRAIN_MAX; w->fd >= 0 && budget >= OUTPUT_READ_MAX; budget -= OUTPUT_READ_MAX)
    if (read_output_once (a, s, w) <= 0)
      break;
}

/* ---- end of a session ----------------------------------------------------------------- */

static void
release (msb_agent *a, agent_session *s)
{
  unlink_id (a, s);
  unlink_pid (a, s);
  agent_watch_close (a, &s->out);
  agent_watch_close (a, &s->err);
  agent_watch_close (a, &s->in);
  agent_watch_close (a, &s->report);
  discard_stdin (a, s);
  if (s->prev)
    s->prev->next = s->next;
  else
    a->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  a->n_sessions--;
  /* Later events of the current epoll batch may still point at its watches. */
  s->next_dead = a->graveyard;
  a->graveyard = s;
}

/* No more frames for this session: its id is free again, its fds are closed. It stays in
 * the pid table until reaped (or is released now when there is no process). */
static void
finish (msb_agent *a, agent_session *s)
{
  s->is_finished = true;
  s->is_spawning = false;
  unlink_id (a, s);
  agent_watch_close (a, &s->out);
  agent_watch_close (a, &s->err);
  agent_watch_close (a, &s->in);
  agent_watch_close (a, &s->report);
  discard_stdin (a, s);
  if (!s->is_in_pid_table)
    release (a, s);
}

void
agent_session_start (msb_agent *a, agent_session *s)
{
  msb_msg m = { .type = MSB_MSG_EXEC_STARTED };
  m.u.exec_started.pid = (uint32_t) s->pid;
  send_frame (a, s, &m);
  update_watches (a, s);
}

void
agent_session_fail (msb_agent *a, agent_session *s, const msb_msg_exec_failed *f)
{
  msb_msg m = { .type = MSB_MSG_EXEC_FAILED };
  m.u.exec_failed = *f;
  send_frame (a, s, &m);
  finish (a, s);
}

void
agent_session_exited (msb_agent *a, agent_session *s, int status)
{
  unlink_pid (a, s);
  if (!s->is_finished)
    {
      drain_output (a, s, &s->out);
      drain_output (a, s, &s->err);
      msb_msg m = { .type = MSB_MSG_EXEC_EXITED };
      m.u.exec_exited.code = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
      send_frame (a, s, &m);
    }
  finish (a, s);
}

/* ---- control -------------------------------------------------------------------------- */

void
agent_session_signal (agent_session *s, int sig)
{
  if (s->pid <= 0 || !s->is_in_pid_table || sig < 0 || sig >= NSIG)
    return;
  /* Before the child's setsid() its group does not exist yet; the pid itself does. */
  if (kill (-s->pid, sig) < 0 && errno == ESRCH)
    kill (s->pid, sig);
}

void
agent_session_resize (agent_session *s, uint16_t rows, uint16_t cols)
{
  if (s->has_tty && s->out.fd >= 0)
    agent_pty_resize (s->out.fd, rows, cols, NULL);
}

void
agent_sessions_forget_range (msb_agent *a, uint32_t start, uint32_t end)
{
  for (agent_session *s = a->sessions, *next; s; s = next)
    {
      next = s->next;
      if (!s->is_finished && s->id >= start && s->id < end)
        finish (a, s);
    }
}

void
agent_sessions_set_output_paused (msb_agent *a, bool paused)
{
  a->is_output_paused = paused;
  for (agent_session *s = a->sessions; s; s = s->next)
    if (!s->is_finished)
      update_watches (a, s);
}

void
agent_sessions_signal_all (msb_agent *a, int sig)
{
  for (agent_session *s = a->sessions; s; s = s->next)
    agent_session_signal (s, sig);
}

void
agent_sessions_collect_garbage (msb_agent *a)
{
  while (a->graveyard)
    {
      agent_session *s = a->graveyard;
      a->graveyard = s->next_dead;
      agent_queue_free (&s->stdin_queue);
      free (s->cmd);
      free (s);
    }
}

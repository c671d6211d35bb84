/* Commands in a sandbox over the relay: core.exec.request on a fresh session id, then
 * events until the terminal core.exec.exited / core.exec.failed (API.md §3.6). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/internal.h"
#include "proto/proto.h"

struct msb_exec
{
  msb_conn_session *session;
  char *id;
  bool tty;
  bool finished;   /* EXITED or FAILED was returned */
  bool terminal;   /* the terminal frame arrived */
  msb_msg current; /* backs the last event's data/message */
};

const char *
msb_exec_fail_name (msb_exec_fail kind)
{
  return msb_exec_fail_kind_name ((msb_exec_fail_kind) kind);
}

static void
fill_request (msb_msg *m, const char *cmd, const char *const *args, const msb_exec_opts *o,
              msb_rlimit_spec *rl)
{
  memset (m, 0, sizeof *m);
  m->type = MSB_MSG_EXEC_REQUEST;
  msb_msg_exec_request *r = &m->u.exec_request;
  static char *empty[] = { NULL };
  r->cmd = (char *) cmd;
  r->args = args ? (char **) args : empty;
  r->env = o && o->env ? (char **) o->env : empty;
  r->cwd = o ? (char *) o->cwd : NULL;
  r->user = o ? (char *) o->user : NULL;
  r->tty = o && o->tty;
  r->rows = o && o->rows ? o->rows : 24;
  r->cols = o && o->cols ? o->cols : 80;
  if (o && o->n_rlimits)
    {
      for (size_t i = 0; i < o->n_rlimits; i++)
        rl[i] = (msb_rlimit_spec) { (char *) o->rlimits[i].resource, o->rlimits[i].soft,
                                    o->rlimits[i].hard };
      r->rlimits = rl;
      r->n_rlimits = o->n_rlimits;
    }
}

static int
send_stdin (msb_exec *ex, const void *data, size_t len, msb_error **err)
{
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_STDIN;
  m.u.data.data.data = data;
  m.u.data.data.len = len;
  return msb_conn_session_send (ex->session, 0, &m, err);
}

/* Initial stdin per mode: NULL = EOF now; BYTES = data in chunks then EOF; PIPE = nothing. */
static int
send_initial_stdin (msb_exec *ex, const msb_exec_opts *o, msb_error **err)
{
  msb_stdin_mode mode = o ? o->stdin_mode : MSB_STDIN_NULL;
  if (mode == MSB_STDIN_PIPE)
    return 0;
  if (mode == MSB_STDIN_BYTES)
    {
      const uint8_t *p = o->stdin_data;
      for (size_t off = 0; off < o->stdin_len;)
        {
          size_t n = o->stdin_len - off > MSB_DATA_CHUNK_MAX ? MSB_DATA_CHUNK_MAX : o->stdin_len - off;
          if (send_stdin (ex, p + off, n, err) < 0)
            return -1;
          off += n;
        }
    }
  if (ex->tty)
    return 0; /* a terminal has no EOF to send; closing it is up to the program */
  return send_stdin (ex, NULL, 0, err);
}

/* What the agent would silently drop (an env entry with no name) or resolve against a cwd
 * the caller cannot know (a relative workdir) is the caller's mistake: say so. */
static int
check_opts (const msb_exec_opts *o, msb_error **err)
{
  if (o == NULL)
    return 0;
  for (const char *const *e = o->env; e && *e; e++)
    {
      const char *eq = strchr (*e, '=');
      if (eq == NULL || eq == *e)
        return msb_fail (err, MSB_ERR_INVALID_ARGUMENT,
                         "exec: env entry `%s` must be K=V with a non-empty name", *e);
    }
  if (o->cwd && *o->cwd && o->cwd[0] != '/')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "exec: cwd `%s` must be an absolute path",
                     o->cwd);
  return 0;
}

int
msb_exec_start (msb_sandbox *sb, const char *cmd, const char *const *args,
                const msb_exec_opts *opts, msb_exec **out, msb_error **err)
{
  if (cmd == NULL || *cmd == '\0')
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "exec: the command must not be empty");
  if (check_opts (opts, err) < 0)
    return -1;
  if (sb == NULL || !msb_conn_is_alive (sb->conn))
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running",
                     sb ? sb->name : "?");
  msb_exec *ex = msb_xcalloc (1, sizeof *ex);
  ex->tty = opts && opts->tty;
  if (msb_conn_session_open (sb->conn, &ex->session, err) < 0)
    {
      free (ex);
      return -1;
    }
  ex->id = msb_xasprintf ("%s:%u", sb->name, msb_conn_session_id (ex->session));
  _msb_cleanup_free_ msb_rlimit_spec *rl
      = msb_xcalloc (opts && opts->n_rlimits ? opts->n_rlimits : 1, sizeof *rl);
  msb_msg req;
  fill_request (&req, cmd, args, opts, rl);
  if (msb_conn_session_send (ex->session, 0, &req, err) < 0 || send_initial_stdin (ex, opts, err) < 0)
    {
      msb_exec_free (ex);
      return msb_error_prefix (err, "exec `%s`", cmd);
    }
  *out = ex;
  return 0;
}

static void
event_from_msg (msb_exec *ex, const msb_msg *m, msb_exec_event *ev, bool *skip)
{
  memset (ev, 0, sizeof *ev);
  *skip = false;
  switch (m->type)
    {
    case MSB_MSG_EXEC_STARTED:
      ev->type = MSB_EXEC_EVENT_STARTED;
      ev->pid = m->u.exec_started.pid;
      break;
    case MSB_MSG_EXEC_STDOUT:
    case MSB_MSG_EXEC_STDERR:
      ev->type = m->type == MSB_MSG_EXEC_STDOUT ? MSB_EXEC_EVENT_STDOUT : MSB_EXEC_EVENT_STDERR;
      ev->data = m->u.data.data.data;
      ev->len = m->u.data.data.len;
      break;
    case MSB_MSG_EXEC_EXITED:
      ev->type = MSB_EXEC_EVENT_EXITED;
      ev->code = m->u.exec_exited.code;
      ex->terminal = true;
      break;
    case MSB_MSG_EXEC_FAILED:
      ev->type = MSB_EXEC_EVENT_FAILED;
      ev->fail_kind = (msb_exec_fail) m->u.exec_failed.kind;
      ev->code = m->u.exec_failed.has_errno ? m->u.exec_failed.errnum : 0;
      ev->message = m->u.exec_failed.message ? m->u.exec_failed.message : "command failed to start";
      ex->terminal = true;
      break;
    case MSB_MSG_EXEC_STDIN_ERROR:
      ev->type = MSB_EXEC_EVENT_STDIN_ERROR;
      ev->code = m->u.exec_stdin_error.has_errno ? m->u.exec_stdin_error.errnum : 0;
      ev->message = m->u.exec_stdin_error.message ? m->u.exec_stdin_error.message : "stdin error";
      break;
    case MSB_MSG_ERROR:
      ev->type = MSB_EXEC_EVENT_FAILED;
      ev->fail_kind = MSB_EXEC_FAIL_OTHER;
      ev->message = m->u.error.message ? m->u.error.message : "protocol error";
      ex->terminal = true;
      break;
    default:
      *skip = true;
    }
}

int
msb_exec_next (msb_exec *ex, msb_exec_event *ev, int timeout_ms, msb_error **err)
{
  msb_msg_clear (&ex->current);
  if (ex->terminal)
    {
      ex->finished = true;
      return 0;
    }
  uint64_t deadline = timeout_ms > 0 ? msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u : 0;
  for (;;)
    {
      int wait_ms = timeout_ms;
      if (timeout_ms > 0)
        {
          uint64_t now = msb_now_mono_ns ();
          wait_ms = now >= deadline ? 0 : (int) ((deadline - now + 999999u) / 1000000u);
        }
      int r = msb_conn_session_next (ex->session, &ex->current, NULL, wait_ms, err);
      if (r < 0)
        return -1;
      if (r == 0)
        return msb_fail (err, MSB_ERR_EXEC_TIMEOUT, "no event within %d ms", timeout_ms);
      bool skip;
      event_from_msg (ex, &ex->current, ev, &skip);
      if (!skip)
        return 1;
      msb_msg_clear (&ex->current);
    }
}

int
msb_exec_event_fd (const msb_exec *ex)
{
  return msb_conn_session_event_fd (ex->session);
}

const char *
msb_exec_id (const msb_exec *ex)
{
  return ex->id;
}

int
msb_exec_write_stdin (msb_exec *ex, const void *data, size_t len, msb_error **err)
{
  const uint8_t *p = data;
  for (size_t off = 0; off < len;)
    {
      size_t n = len - off > MSB_DATA_CHUNK_MAX ? MSB_DATA_CHUNK_MAX : len - off;
      if (send_stdin (ex, p + off, n, err) < 0)
        return -1;
      off += n;
    }
  return 0;
}

int
msb_exec_close_stdin (msb_exec *ex, msb_error **err)
{
  return send_stdin (ex, NULL, 0, err);
}

int
msb_exec_signal (msb_exec *ex, int sig, msb_error **err)
{
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_SIGNAL;
  m.u.exec_signal.signal = sig;
  return msb_conn_session_send (ex->session, 0, &m, err);
}

int
msb_exec_resize (msb_exec *ex, uint16_t rows, uint16_t cols, msb_error **err)
{
  msb_msg m;
  memset (&m, 0, sizeof m);
  m.type = MSB_MSG_EXEC_RESIZE;
  m.u.exec_resize.rows = rows;
  m.u.exec_resize.cols = cols;
  return msb_conn_session_send (ex->session, 0, &m, err);
}

void
msb_exec_free (msb_exec *ex)
{
  if (ex == NULL)
    return;
  if (!ex->terminal)
    msb_exec_signal (ex, SIGKILL, NULL);
  msb_msg_clear (&ex->current);
  msb_conn_session_close (ex->session);
  free (ex->id);
  free (ex);
}

void
msb_exec_output_clear (msb_exec_output *out)
{
  free (out->stdout_data);
  free (out->stderr_data);
  memset (out, 0, sizeof *out);
}

/* After a timeout: kill the group and wait (≤ 5 s) for the exit so nothing is left running. */
static void
kill_and_reap (msb_exec *ex)
{
  msb_exec_signal (ex, SIGKILL, NULL);
  uint64_t deadline = msb_now_mono_ns () + 5000000000ull;
  msb_exec_event ev;
  while (!ex->terminal && msb_now_mono_ns () < deadline)
    {
      msb_error *e = NULL;
      int r = msb_exec_next (ex, &ev, 100, &e);
      bool lost = r < 0 && msb_error_get_kind (e) != MSB_ERR_EXEC_TIMEOUT;
      msb_error_free (e);
      if (lost)
        break;
    }
}

static int
collect (msb_exec *ex, const msb_exec_opts *opts, msb_exec_output *out, msb_exec_fail *fail_kind,
         msb_buf *o, msb_buf *e, msb_error **err)
{
  int64_t timeout_ms = opts ? opts->timeout_ms : 0;
  uint64_t deadline = timeout_ms > 0 ? msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u : 0;
  msb_exec_event ev;
  for (;;)
    {
      int wait_ms = -1;
      if (deadline)
        {
          uint64_t now = msb_now_mono_ns ();
          if (now >= deadline)
            {
              kill_and_reap (ex);
              return msb_fail (err, MSB_ERR_EXEC_TIMEOUT, "command timed out after %lld ms",
                               (long long) timeout_ms);
            }
          wait_ms = (int) ((deadline - now + 999999u) / 1000000u);
        }
      msb_error *tmp = NULL;
      int r = msb_exec_next (ex, &ev, wait_ms, &tmp);
      if (r < 0 && msb_error_get_kind (tmp) == MSB_ERR_EXEC_TIMEOUT)
        {
          msb_error_free (tmp);
          continue;
        }
      if (r < 0)
        {
          *err = tmp;
          return -1;
        }
      if (r == 0)
        return 0;
      if (ev.type == MSB_EXEC_EVENT_STDOUT)
        msb_buf_append (o, ev.data, ev.len);
      else if (ev.type == MSB_EXEC_EVENT_STDERR)
        msb_buf_append (e, ev.data, ev.len);
      else if (ev.type == MSB_EXEC_EVENT_EXITED)
        out->exit_code = ev.code;
      else if (ev.type == MSB_EXEC_EVENT_FAILED)
        {
          if (fail_kind)
            *fail_kind = ev.fail_kind;
          return msb_fail (err, MSB_ERR_EXEC_FAILED, "%s: %s", msb_exec_fail_name (ev.fail_kind),
                           ev.message);
        }
    }
}

int
msb_exec_run (msb_sandbox *sb, const char *cmd, const char *const *args,
              const msb_exec_opts *opts, msb_exec_output *out, msb_exec_fail *fail_kind,
              msb_error **err)
{
  memset (out, 0, sizeof *out);
  out->exit_code = -1;
  msb_exec *ex = NULL;
  if (msb_exec_start (sb, cmd, args, opts, &ex, err) < 0)
    return -1;
  msb_buf o = MSB_BUF_INIT, e = MSB_BUF_INIT;
  int r = collect (ex, opts, out, fail_kind, &o, &e, err);
  msb_exec_free (ex);
  if (r < 0)
    {
      msb_buf_free (&o);
      msb_buf_free (&e);
      out->exit_code = -1;
      return msb_error_prefix (err, "exec `%s`", cmd);
    }
  out->stdout_data = o.data ? o.data : msb_xcalloc (1, 1);
  out->stdout_len = o.len;
  out->stderr_data = e.data ? e.data : msb_xcalloc (1, 1);
  out->stderr_len = e.len;
  return 0;
}

int
msb_shell (msb_sandbox *sb, const char *script, const msb_exec_opts *opts, msb_exec_output *out,
           msb_error **err)
{
  const char *args[] = { "-c", script, NULL };
  return msb_exec_run (sb, sb->shell ? sb->shell : "/bin/sh", args, opts, out, NULL, err);
}

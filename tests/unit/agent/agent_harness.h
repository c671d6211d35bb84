/* Test harness for msb-agent: runs the agent binary (env MSB_AGENT_BIN) as a child with a
 * socketpair on fd 3 and MSB_AGENT_FD=3, and plays the host with the real codec. Sends are
 * queued and written by the same poll loop that receives, so a test can stream stdin into
 * a session while its output streams back without deadlocking on full socket buffers. */
#ifndef MSB_TEST_AGENT_HARNESS_H
#define MSB_TEST_AGENT_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "proto/proto.h"
#include "tests/unit/test.h"

#define HARNESS_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct agent_proc
{
  pid_t pid;
  int fd;        /* host end of the channel */
  msb_buf in;    /* received, not yet parsed */
  msb_buf out;   /* queued for the agent */
  size_t out_head;
  bool is_eof;
} agent_proc;

/* One received frame, decoded; `body` owns the bytes the message points into. */
typedef struct rx_frame
{
  uint32_t id;
  uint8_t flags;
  uint8_t *body;
  size_t body_len;
  msb_msg m;
  int decode_rc;
} rx_frame;

static inline uint64_t
harness_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

static inline uint64_t
harness_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static inline void
rx_clear (rx_frame *f)
{
  msb_msg_clear (&f->m);
  free (f->body);
  memset (f, 0, sizeof *f);
}

/* Starts the agent without bootstrapping it. */
static inline int
agent_spawn (agent_proc *ap)
{
  memset (ap, 0, sizeof *ap);
  const char *bin = getenv ("MSB_AGENT_BIN");
  if (bin == NULL)
    {
      fprintf (stderr, "MSB_AGENT_BIN is not set\n");
      return -1;
    }
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return -1;
  pid_t pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      if (dup2 (sv[1], 3) < 0)
        _exit (120);
      int null = open ("/dev/null", O_RDWR);
      dup2 (null, 0);
      dup2 (null, 1);
      setenv ("MSB_AGENT_FD", "3", 1);
      execl (bin, bin, (char *) NULL);
      _exit (121);
    }
  close (sv[1]);
  fcntl (sv[0], F_SETFL, O_NONBLOCK);
  ap->pid = pid;
  ap->fd = sv[0];
  return 0;
}

static inline void
harness_flush (agent_proc *ap)
{
  while (ap->out_head < ap->out.len)
    {
      ssize_t n = write (ap->fd, ap->out.data + ap->out_head, ap->out.len - ap->out_head);
      if (n <= 0)
        break;
      ap->out_head += (size_t) n;
    }
  if (ap->out_head == ap->out.len)
    {
      ap->out.len = 0;
      ap->out_head = 0;
    }
}

static inline void
agent_send_raw (agent_proc *ap, uint32_t id, uint8_t flags, const uint8_t *body, size_t len)
{
  msb_frame_put_header (&ap->out, id, flags, len);
  msb_buf_append (&ap->out, body, len);
  harness_flush (ap);
}

static inline void
agent_send (agent_proc *ap, uint32_t id, msb_msg *m)
{
  m->generation = MSB_PROTO_GENERATION;
  msb_msg_write_frame (&ap->out, id, 0, m);
  harness_flush (ap);
}

static inline void
agent_send_type (agent_proc *ap, uint32_t id, msb_msg_type type)
{
  msb_msg m = { .type = type };
  agent_send (ap, id, &m);
}

/* Takes one complete frame out of the inbound buffer. */
static inline int
harness_take_frame (agent_proc *ap, rx_frame *out)
{
  msb_frame f;
  size_t consumed = 0;
  int r = msb_frame_parse (ap->in.data, ap->in.len, &f, &consumed);
  if (r <= 0)
    return r;
  memset (out, 0, sizeof *out);
  out->id = f.id;
  out->flags = f.flags;
  out->body_len = f.body_len;
  out->body = malloc (f.body_len ? f.body_len : 1);
  memcpy (out->body, f.body, f.body_len);
  msb_buf_consume (&ap->in, consumed);
  msb_proto_error_kind perr;
  out->decode_rc = msb_msg_decode (out->body, out->body_len, &out->m, &perr, NULL, 0);
  return 1;
}

/* Flushes queued sends and waits up to timeout_ms for one frame: 1 = got one, 0 = timeout,
 * -1 = the agent closed the channel (or broke framing). */
static inline int
agent_recv (agent_proc *ap, int timeout_ms, rx_frame *out)
{
  uint64_t deadline = harness_now_ms () + (uint64_t) timeout_ms;
  for (;;)
    {
      int r = harness_take_frame (ap, out);
      if (r != 0)
        return r;
      if (ap->is_eof)
        return -1;
      harness_flush (ap);
      uint64_t now = harness_now_ms ();
      if (now >= deadline)
        return 0;
      struct pollfd pfd = { .fd = ap->fd, .events = POLLIN };
      if (ap->out.len > ap->out_head)
        pfd.events |= POLLOUT;
      poll (&pfd, 1, (int) (deadline - now));
      if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
        {
          uint8_t *p = msb_buf_reserve (&ap->in, 1 << 20);
          ssize_t n = read (ap->fd, p, 1 << 20);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            ap->is_eof = true;
          if (n > 0)
            ap->in.len += (size_t) n;
        }
    }
}

/* Waits for the agent process to exit; returns its wait status, or -1 on timeout (after
 * which it is SIGKILLed). */
static inline int
agent_wait_exit (agent_proc *ap, int timeout_ms)
{
  uint64_t deadline = harness_now_ms () + (uint64_t) timeout_ms;
  int status = 0;
  while (harness_now_ms () < deadline)
    {
      if (waitpid (ap->pid, &status, WNOHANG) == ap->pid)
        {
          ap->pid = 0;
          return status;
        }
      usleep (2000);
    }
  kill (ap->pid, SIGKILL);
  waitpid (ap->pid, &status, 0);
  ap->pid = 0;
  return -1;
}

static inline void
agent_free (agent_proc *ap)
{
  if (ap->pid > 0)
    {
      kill (ap->pid, SIGKILL);
      waitpid (ap->pid, NULL, 0);
    }
  if (ap->fd >= 0)
    close (ap->fd);
  msb_buf_free (&ap->in);
  msb_buf_free (&ap->out);
  ap->fd = -1;
  ap->pid = 0;
}

/* Sends core.shutdown and waits for the agent to exit; returns its wait status or -1. */
static inline int
agent_shutdown (agent_proc *ap)
{
  agent_send_type (ap, 0, MSB_MSG_SHUTDOWN);
  rx_frame f;
  while (agent_recv (ap, 5000, &f) == 1)
    rx_clear (&f);
  int status = agent_wait_exit (ap, 5000);
  agent_free (ap);
  return status;
}

static char *harness_default_env[] = { "PATH=" HARNESS_PATH, "BASE=base", "FOO=base", NULL };

/* Starts the agent and bootstraps it with `b` (NULL = PATH, BASE, FOO; no workdir, no
 * user). Fills *ready when not NULL. */
static inline int
agent_boot_with (agent_proc *ap, msb_msg_bootstrap *b, msb_msg_ready *ready)
{
  if (agent_spawn (ap) < 0)
    return -1;
  msb_msg m = { .type = MSB_MSG_BOOTSTRAP };
  if (b)
    m.u.bootstrap = *b;
  else
    m.u.bootstrap.env = harness_default_env;
  agent_send (ap, 0, &m);
  rx_frame f;
  if (agent_recv (ap, 5000, &f) != 1)
    return -1;
  int ok = f.decode_rc == 0 && f.m.type == MSB_MSG_READY && f.id == 0;
  if (ok && ready)
    {
      *ready = f.m.u.ready;
      ready->agent_version = NULL;
      if (f.m.u.ready.agent_version)
        ready->agent_version = strdup (f.m.u.ready.agent_version);
    }
  rx_clear (&f);
  return ok ? 0 : -1;
}

static inline int
agent_boot (agent_proc *ap)
{
  return agent_boot_with (ap, NULL, NULL);
}

/* ---- exec sessions ---------------------------------------------------------------------- */

typedef struct exec_opts
{
  const char *cmd;
  const char *args[16];
  const char *env[8];
  const char *cwd;
  const char *user;
  bool tty;
  uint16_t rows, cols;
  msb_rlimit_spec rlimits[4];
  size_t n_rlimits;
  bool keep_stdin_open; /* pipe mode: do not send EOF right after the request */
} exec_opts;

typedef struct exec_result
{
  uint32_t id;
  bool is_started;
  uint32_t pid;
  bool is_failed;
  msb_exec_fail_kind fail_kind;
  int fail_errno;
  char fail_errno_name[32];
  char fail_stage[32];
  char fail_message[512];
  bool is_exited;
  int code;
  bool has_error;
  msb_proto_error_kind error_kind;
  char offending_type[64];
  int n_stdin_errors;
  int stdin_errno;
  msb_buf out;
  msb_buf err;
  int n_frames_after_terminal;
  int n_output_before_started;
  bool is_done;
  uint64_t started_at_ms;
  uint64_t done_at_ms;
} exec_result;

static inline void
exec_result_free (exec_result *r)
{
  msb_buf_free (&r->out);
  msb_buf_free (&r->err);
}

static inline void
exec_send (agent_proc *ap, uint32_t id, const exec_opts *o)
{
  msb_msg m = { .type = MSB_MSG_EXEC_REQUEST };
  msb_msg_exec_request *req = &m.u.exec_request;
  req->cmd = (char *) o->cmd;
  req->args = (char **) o->args;
  req->env = (char **) o->env;
  req->cwd = (char *) o->cwd;
  req->user = (char *) o->user;
  req->tty = o->tty;
  req->rows = o->rows ? o->rows : 24;
  req->cols = o->cols ? o->cols : 80;
  req->rlimits = (msb_rlimit_spec *) o->rlimits;
  req->n_rlimits = o->n_rlimits;
  agent_send (ap, id, &m);
  if (!o->tty && !o->keep_stdin_open)
    {
      msb_msg eof = { .type = MSB_MSG_EXEC_STDIN };
      agent_send (ap, id, &eof);
    }
}

static inline void
exec_send_stdin (agent_proc *ap, uint32_t id, const void *data, size_t len)
{
  msb_msg m = { .type = MSB_MSG_EXEC_STDIN };
  m.u.data.data = (msb_bytes){ data, len };
  agent_send (ap, id, &m);
}

static inline void
exec_send_signal (agent_proc *ap, uint32_t id, int sig)
{
  msb_msg m = { .type = MSB_MSG_EXEC_SIGNAL };
  m.u.exec_signal.signal = sig;
  agent_send (ap, id, &m);
}

static inline void
exec_send_resize (agent_proc *ap, uint32_t id, uint16_t rows, uint16_t cols)
{
  msb_msg m = { .type = MSB_MSG_EXEC_RESIZE };
  m.u.exec_resize.rows = rows;
  m.u.exec_resize.cols = cols;
  agent_send (ap, id, &m);
}

static inline void
copy_str (char *dst, size_t n, const char *src)
{
  snprintf (dst, n, "%s", src ? src : "");
}

/* Applies one frame to the result it belongs to. */
static inline void
exec_apply (exec_result *r, const rx_frame *f)
{
  if (r->is_done)
    {
      r->n_frames_after_terminal++;
      return;
    }
  const msb_msg *m = &f->m;
  switch (m->type)
    {
    case MSB_MSG_EXEC_STARTED:
      r->is_started = true;
      r->pid = m->u.exec_started.pid;
      r->started_at_ms = harness_now_ms ();
      break;
    case MSB_MSG_EXEC_STDOUT:
    case MSB_MSG_EXEC_STDERR:
      if (!r->is_started)
        r->n_output_before_started++;
      msb_buf_append (m->type == MSB_MSG_EXEC_STDOUT ? &r->out : &r->err, m->u.data.data.data,
                      m->u.data.data.len);
      break;
    case MSB_MSG_EXEC_STDIN_ERROR:
      r->n_stdin_errors++;
      r->stdin_errno = m->u.exec_stdin_error.errnum;
      break;
    case MSB_MSG_EXEC_EXITED:
      r->is_exited = true;
      r->code = m->u.exec_exited.code;
      r->is_done = true;
      break;
    case MSB_MSG_EXEC_FAILED:
      r->is_failed = true;
      r->fail_kind = m->u.exec_failed.kind;
      r->fail_errno = m->u.exec_failed.has_errno ? m->u.exec_failed.errnum : 0;
      copy_str (r->fail_errno_name, sizeof r->fail_errno_name, m->u.exec_failed.errno_name);
      copy_str (r->fail_stage, sizeof r->fail_stage, m->u.exec_failed.stage);
      copy_str (r->fail_message, sizeof r->fail_message, m->u.exec_failed.message);
      r->is_done = true;
      break;
    case MSB_MSG_ERROR:
      r->has_error = true;
      r->error_kind = m->u.error.kind;
      copy_str (r->offending_type, sizeof r->offending_type, m->u.error.offending_type);
      r->is_done = true;
      break;
    default:
      break;
    }
  if (r->is_done)
    r->done_at_ms = harness_now_ms ();
}

/* Receives frames, routing them to results[] by id, until `until` is true for every
 * result or the timeout passes. Returns the number of frames for unknown ids. */
static inline int
exec_pump (agent_proc *ap, exec_result *results, size_t n, int timeout_ms,
           bool (*until) (const exec_result *))
{
  uint64_t deadline = harness_now_ms () + (uint64_t) timeout_ms;
  int strays = 0;
  for (;;)
    {
      size_t pending = 0;
      for (size_t i = 0; i < n; i++)
        pending += !until (&results[i]);
      uint64_t now = harness_now_ms ();
      if (pending == 0 || now >= deadline)
        return strays;
      rx_frame f;
      int r = agent_recv (ap, (int) (deadline - now), &f);
      if (r < 0)
        return strays;
      if (r == 0)
        continue;
      exec_result *target = NULL;
      for (size_t i = 0; i < n && !target; i++)
        if (results[i].id == f.id)
          target = &results[i];
      if (target && f.decode_rc == 0)
        exec_apply (target, &f);
      else
        strays++;
      rx_clear (&f);
    }
}

static inline bool
exec_is_done (const exec_result *r)
{
  return r->is_done;
}

static inline bool
exec_is_started (const exec_result *r)
{
  return r->is_started || r->is_done;
}

/* Runs one session to its terminal frame. */
static inline void
exec_run (agent_proc *ap, uint32_t id, const exec_opts *o, exec_result *r)
{
  memset (r, 0, sizeof *r);
  r->id = id;
  exec_send (ap, id, o);
  exec_pump (ap, r, 1, 20000, exec_is_done);
}

/* Output as a NUL-terminated string (the buffer keeps a spare NUL). */
static inline const char *
exec_stdout (exec_result *r)
{
  msb_buf_append_byte (&r->out, 0);
  r->out.len--;
  return (const char *) r->out.data;
}

static inline const char *
exec_stderr (exec_result *r)
{
  msb_buf_append_byte (&r->err, 0);
  r->err.len--;
  return (const char *) r->err.data;
}

/* Children of `pid` (its main thread), as listed by the kernel; -1 when unreadable. */
static inline int
count_children (pid_t pid)
{
  char path[64], buf[4096];
  snprintf (path, sizeof path, "/proc/%d/task/%d/children", (int) pid, (int) pid);
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  int count = 0;
  for (char *tok = strtok (buf, " \n"); tok; tok = strtok (NULL, " \n"))
    count++;
  return count;
}

/* Waits up to timeout_ms for `pid` to have no children left. */
static inline int
wait_no_children (pid_t pid, int timeout_ms)
{
  uint64_t deadline = harness_now_ms () + (uint64_t) timeout_ms;
  int n;
  while ((n = count_children (pid)) != 0 && harness_now_ms () < deadline)
    usleep (5000);
  return n;
}

static inline long
proc_status_kib (pid_t pid, const char *field)
{
  char path[64], line[256];
  snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return -1;
  long v = -1;
  size_t flen = strlen (field);
  while (fgets (line, sizeof line, f))
    if (strncmp (line, field, flen) == 0 && line[flen] == ':')
      v = strtol (line + flen + 1, NULL, 10);
  fclose (f);
  return v;
}

static inline bool
process_exists (pid_t pid)
{
  return kill (pid, 0) == 0 || errno != ESRCH;
}

#endif

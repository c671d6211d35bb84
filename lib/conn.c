/* The relay client. The reader thread owns the socket's read side; writers serialise on
 * wlock and write whole frames, so frames of concurrent sessions never interleave. A frame
 * for an id nobody waits on is dropped (its session was closed). When the socket ends, every
 * session is woken and sees the connection as lost. */
#include "lib/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"
#include "lib/state.h"

typedef struct frame_node
{
  struct frame_node *next;
  uint8_t flags;
  size_t len;
  uint8_t body[];
} frame_node;

struct msb_conn_session
{
  msb_conn *conn;
  uint32_t id;
  frame_node *head, *tail;
  frame_node *current; /* the frame the caller's last msb_msg points into */
  pthread_cond_t cond;
  int efd;
  bool signalled; /* efd holds a count */
};

struct msb_conn
{
  int fd;
  uint32_t id_start, id_end, next_id;
  msb_msg ready;
  msb_buf ready_body;
  pthread_t reader;
  bool reader_started;
  pthread_mutex_t lock;  /* sessions, queues, alive */
  pthread_mutex_t wlock; /* socket writes */
  bool alive;
  int refs; /* the owner + one per open session: a session may outlive msb_conn_close */
  msb_conn_session **sessions;
  size_t n_sessions, cap_sessions;
};

static uint32_t
get_u32 (const uint8_t *p)
{
  return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

static int
wait_readable (int fd, int timeout_ms)
{
  struct pollfd pfd = { fd, POLLIN, 0 };
  int r;
  while ((r = poll (&pfd, 1, timeout_ms)) < 0 && errno == EINTR)
    ;
  return r;
}

/* Reads exactly n bytes within the deadline (handshake only; the socket is blocking). */
static int
read_exact (int fd, void *buf, size_t n, uint64_t deadline_ns)
{
  size_t done = 0;
  while (done < n)
    {
      uint64_t now = msb_now_mono_ns ();
      if (now >= deadline_ns || wait_readable (fd, (int) ((deadline_ns - now) / 1000000u) + 1) <= 0)
        return -1;
      ssize_t r = read (fd, (char *) buf + done, n - done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return -1;
      done += (size_t) r;
    }
  return 0;
}

static int
connect_relay (const msb_home *home, const char *name, msb_error **err)
{
  _msb_cleanup_free_ char *run_rel = msb_sandbox_run_dir_rel (name);
  _msb_cleanup_close_ int dirfd = openat (home->root_fd, run_rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running", name);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  msb_sock_path (dirfd, "agent.sock", addr.sun_path, sizeof addr.sun_path);
  _msb_cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "socket");
  /* File transfers and command output arrive in MiB-sized frames: larger socket buffers
   * mean fewer wake-ups per frame on both sides. Best effort. */
  int size = 4 << 20;
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running (%s)", name,
                     strerror (errno));
  return msb_steal_fd (&fd);
}

static int
handshake (msb_conn *c, const msb_home *home, const char *name, int timeout_ms, msb_error **err)
{
  uint64_t deadline = msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000u;
  uint8_t hello[8], hdr[MSB_FRAME_HEADER_LEN];
  if (read_exact (c->fd, hello, 8, deadline) < 0 || read_exact (c->fd, hdr, sizeof hdr, deadline) < 0)
    {
      /* A relay that has no free slot closes the connection before the handshake; the
       * sandbox is running all the same, and "not running" would send callers to start it. */
      if (msb_runtime_is_alive (home, name))
        return msb_fail (err, MSB_ERR_GENERIC,
                         "sandbox `%s` refused the connection (its relay serves at most %u "
                         "clients at a time, or it is stopping)",
                         name, MSB_RELAY_MAX_CLIENTS);
      return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING,
                       "sandbox `%s` did not complete the relay handshake", name);
    }
  c->id_start = get_u32 (hello);
  c->id_end = get_u32 (hello + 4);
  uint32_t len = get_u32 (hdr);
  if (c->id_start == 0 || c->id_end <= c->id_start || len < 5 || len > MSB_FRAME_MAX_LEN)
    return msb_fail (err, MSB_ERR_GENERIC, "sandbox `%s`: malformed relay handshake", name);
  uint8_t *body = msb_buf_reserve (&c->ready_body, len - 5);
  if (read_exact (c->fd, body, len - 5, deadline) < 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s`: relay closed", name);
  c->ready_body.len = len - 5;
  msb_proto_error_kind perr;
  if (msb_msg_decode (c->ready_body.data, c->ready_body.len, &c->ready, &perr, NULL, 0) < 0
      || c->ready.type != MSB_MSG_READY)
    return msb_fail (err, MSB_ERR_GENERIC, "sandbox `%s`: expected core.ready from the relay", name);
  c->next_id = c->id_start;
  return 0;
}

/* ---- reader thread ---- */

static msb_conn_session *
find_session (msb_conn *c, uint32_t id)
{
  for (size_t i = 0; i < c->n_sessions; i++)
    if (c->sessions[i]->id == id)
      return c->sessions[i];
  return NULL;
}

static void
session_notify (msb_conn_session *s)
{
  pthread_cond_broadcast (&s->cond);
  if (!s->signalled)
    {
      uint64_t one = 1;
      (void) !write (s->efd, &one, sizeof one);
      s->signalled = true;
    }
}

static void
dispatch_frame (msb_conn *c, const msb_frame *f)
{
  pthread_mutex_lock (&c->lock);
  msb_conn_session *s = f->id ? find_session (c, f->id) : NULL;
  if (s)
    {
      frame_node *n = msb_xmalloc (sizeof *n + f->body_len);
      n->next = NULL;
      n->flags = f->flags;
      n->len = f->body_len;
      memcpy (n->body, f->body, f->body_len);
      if (s->tail)
        s->tail->next = n;
      else
        s->head = n;
      s->tail = n;
      session_notify (s);
    }
  pthread_mutex_unlock (&c->lock);
}

static void *
reader_main (void *arg)
{
  msb_conn *c = arg;
  msb_buf in = MSB_BUF_INIT;
  for (;;)
    {
      ssize_t n = read (c->fd, msb_buf_reserve (&in, 262144), 262144);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      in.len += (size_t) n;
      size_t off = 0;
      msb_frame f;
      size_t used;
      int p;
      while ((p = msb_frame_parse (in.data + off, in.len - off, &f, &used)) > 0)
        {
          dispatch_frame (c, &f);
          off += used;
        }
      msb_buf_consume (&in, off);
      if (p < 0)
        break;
    }
  msb_buf_free (&in);
  pthread_mutex_lock (&c->lock);
  c->alive = false;
  for (size_t i = 0; i < c->n_sessions; i++)
    session_notify (c->sessions[i]);
  pthread_mutex_unlock (&c->lock);
  return NULL;
}

int
msb_conn_open (const msb_home *home, const char *name, int timeout_ms, msb_conn **out,
               msb_error **err)
{
  int fd = connect_relay (home, name, err);
  if (fd < 0)
    return -1;
  msb_conn *c = msb_xcalloc (1, sizeof *c);
  c->fd = fd;
  c->refs = 1;
  pthread_mutex_init (&c->lock, NULL);
  pthread_mutex_init (&c->wlock, NULL);
  if (handshake (c, home, name, timeout_ms < 0 ? 10000 : timeout_ms, err) < 0)
    {
      msb_conn_close (c);
      return -1;
    }
  c->alive = true;
  /* The reader takes no signals: with the caller's mask it would be handed process-directed
   * signals that the application blocks in order to read them from a signalfd (the CLI
   * forwards SIGINT, SIGTERM and SIGWINCH to the command that way), and lose them or die. */
  sigset_t all, caller;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &caller);
  int started = pthread_create (&c->reader, NULL, reader_main, c);
  pthread_sigmask (SIG_SETMASK, &caller, NULL);
  if (started != 0)
    {
      msb_conn_close (c);
      return msb_fail (err, MSB_ERR_GENERIC, "start the connection reader thread");
    }
  c->reader_started = true;
  *out = c;
  return 0;
}

bool
msb_conn_is_alive (const msb_conn *c)
{
  return c && c->alive;
}

const msb_msg_ready *
msb_conn_ready (const msb_conn *c)
{
  return &c->ready.u.ready;
}

static void
conn_unref (msb_conn *c)
{
  if (__atomic_sub_fetch (&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
    return;
  close (c->fd);
  free (c->sessions);
  msb_msg_clear (&c->ready);
  msb_buf_free (&c->ready_body);
  pthread_mutex_destroy (&c->lock);
  pthread_mutex_destroy (&c->wlock);
  free (c);
}

void
msb_conn_close (msb_conn *c)
{
  if (c == NULL)
    return;
  /* Wakes the reader; sessions still open now see a dead connection. */
  shutdown (c->fd, SHUT_RDWR);
  if (c->reader_started)
    pthread_join (c->reader, NULL);
  c->reader_started = false;
  conn_unref (c);
}

/* ---- sessions ---- */

static uint32_t
allocate_id (msb_conn *c)
{
  for (;;)
    {
      uint32_t id = c->next_id++;
      if (c->next_id >= c->id_end)
        c->next_id = c->id_start;
      if (find_session (c, id) == NULL)
        return id;
    }
}

int
msb_conn_session_open (msb_conn *c, msb_conn_session **out, msb_error **err)
{
  msb_conn_session *s = msb_xcalloc (1, sizeof *s);
  s->conn = c;
  s->efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s->efd < 0)
    {
      free (s);
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "eventfd");
    }
  /* Deadlines are CLOCK_MONOTONIC (deadline_after): the condition must wait on that clock,
   * or every timed wait compares a boot-relative time against the epoch and ends at once. */
  pthread_condattr_t attr;
  pthread_condattr_init (&attr);
  pthread_condattr_setclock (&attr, CLOCK_MONOTONIC);
  pthread_cond_init (&s->cond, &attr);
  pthread_condattr_destroy (&attr);
  pthread_mutex_lock (&c->lock);
  if (!c->alive)
    {
      pthread_mutex_unlock (&c->lock);
      close (s->efd);
      free (s);
      return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "the connection to the sandbox is closed");
    }
  s->id = allocate_id (c);
  if (c->n_sessions == c->cap_sessions)
    {
      c->cap_sessions = c->cap_sessions ? c->cap_sessions * 2 : 16;
      c->sessions = msb_xrealloc (c->sessions, c->cap_sessions * sizeof *c->sessions);
    }
  c->sessions[c->n_sessions++] = s;
  __atomic_add_fetch (&c->refs, 1, __ATOMIC_ACQ_REL);
  pthread_mutex_unlock (&c->lock);
  *out = s;
  return 0;
}

uint32_t
msb_conn_session_id (const msb_conn_session *s)
{
  return s->id;
}

int
msb_conn_session_event_fd (const msb_conn_session *s)
{
  return s->efd;
}

static int
send_frame (msb_conn *c, uint32_t id, uint8_t extra_flags, const msb_msg *m, msb_error **err)
{
  msb_buf frame = MSB_BUF_INIT;
  msb_msg_write_frame (&frame, id, extra_flags, m);
  pthread_mutex_lock (&c->wlock);
  int r = 0;
  size_t done = 0;
  while (done < frame.len)
    {
      ssize_t n = send (c->fd, frame.data + done, frame.len - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          r = msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "send to the sandbox: %s",
                        strerror (errno));
          break;
        }
      done += (size_t) n;
    }
  pthread_mutex_unlock (&c->wlock);
  msb_buf_free (&frame);
  return r;
}

int
msb_conn_session_send (msb_conn_session *s, uint8_t extra_flags, const msb_msg *m, msb_error **err)
{
  return send_frame (s->conn, s->id, extra_flags, m, err);
}

int
msb_conn_send_control (msb_conn *c, const msb_msg *m, msb_error **err)
{
  return send_frame (c, 0, 0, m, err);
}

static void
deadline_after (struct timespec *ts, int timeout_ms)
{
  clock_gettime (CLOCK_MONOTONIC, ts);
  ts->tv_sec += timeout_ms / 1000;
  ts->tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L)
    {
      ts->tv_sec++;
      ts->tv_nsec -= 1000000000L;
    }
}

/* Waits for a queued frame; returns it (caller owns) or NULL on timeout / dead connection. */
static frame_node *
pop_frame (msb_conn_session *s, int timeout_ms, bool *lost)
{
  msb_conn *c = s->conn;
  struct timespec deadline;
  if (timeout_ms > 0)
    deadline_after (&deadline, timeout_ms);
  pthread_mutex_lock (&c->lock);
  while (s->head == NULL && c->alive && timeout_ms != 0)
    {
      if (timeout_ms < 0)
        pthread_cond_wait (&s->cond, &c->lock);
      else if (pthread_cond_timedwait (&s->cond, &c->lock, &deadline) == ETIMEDOUT)
        break;
    }
  frame_node *n = s->head;
  if (n)
    {
      s->head = n->next;
      if (s->head == NULL)
        s->tail = NULL;
    }
  if (s->head == NULL && c->alive && s->signalled)
    {
      uint64_t v;
      (void) !read (s->efd, &v, sizeof v);
      s->signalled = false;
    }
  *lost = n == NULL && !c->alive;
  pthread_mutex_unlock (&c->lock);
  return n;
}

int
msb_conn_session_next (msb_conn_session *s, msb_msg *m, uint8_t *flags, int timeout_ms,
                       msb_error **err)
{
  free (s->current);
  s->current = NULL;
  bool lost = false;
  frame_node *n = pop_frame (s, timeout_ms, &lost);
  if (n == NULL)
    {
      if (lost)
        return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING,
                         "the connection to the sandbox was lost");
      return 0;
    }
  s->current = n;
  msb_proto_error_kind perr;
  char why[128];
  if (msb_msg_decode (n->body, n->len, m, &perr, why, sizeof why) < 0)
    return msb_fail (err, MSB_ERR_GENERIC, "malformed message from the sandbox: %s", why);
  if (flags)
    *flags = n->flags;
  return 1;
}

void
msb_conn_session_close (msb_conn_session *s)
{
  if (s == NULL)
    return;
  msb_conn *c = s->conn;
  pthread_mutex_lock (&c->lock);
  for (size_t i = 0; i < c->n_sessions; i++)
    if (c->sessions[i] == s)
      {
        c->sessions[i] = c->sessions[--c->n_sessions];
        break;
      }
  pthread_mutex_unlock (&c->lock);
  while (s->head)
    {
      frame_node *n = s->head;
      s->head = n->next;
      free (n);
    }
  free (s->current);
  close (s->efd);
  pthread_cond_destroy (&s->cond);
  free (s);
  conn_unref (c);
}

int
msb_conn_request (msb_conn *c, const msb_msg *req, msb_msg *reply, int timeout_ms, msb_error **err)
{
  msb_conn_session *s = NULL;
  if (msb_conn_session_open (c, &s, err) < 0)
    return -1;
  int r = msb_conn_session_send (s, 0, req, err);
  if (r == 0)
    {
      msb_msg m;
      r = msb_conn_session_next (s, &m, NULL, timeout_ms, err);
      if (r == 0)
        r = msb_fail (err, MSB_ERR_GENERIC, "the sandbox did not answer within %d ms", timeout_ms);
      else if (r > 0)
        {
          *reply = m; /* payload-free replies only: nothing points into the frame */
          r = 0;
        }
    }
  msb_conn_session_close (s);
  return r;
}

#include "runtime/control.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/util.h"

#define MAX_REQUEST 65536

typedef struct control_conn
{
  msb_watch w;
  msb_control *ctl;
  msb_buf in;
  struct control_conn *next;
} control_conn;

struct msb_control
{
  msb_loop *loop;
  msb_watch listen_w;
  msb_control_ops ops;
  control_conn *conns;
};

static void
conn_free (control_conn *c)
{
  msb_control *ctl = c->ctl;
  for (control_conn **p = &ctl->conns; *p; p = &(*p)->next)
    if (*p == c)
      {
        *p = c->next;
        break;
      }
  msb_loop_del (ctl->loop, &c->w);
  close (c->w.fd);
  msb_buf_free (&c->in);
  free (c);
}

static json_t *
dispatch (msb_control *ctl, const json_t *req)
{
  int r = -1;
  const char *op = req ? json_string_value (json_object_get (req, "op")) : NULL;
  if (op == NULL)
    return json_pack ("{s:b, s:s}", "ok", 0, "error", "missing `op`");
  if (strcmp (op, "status") == 0)
    return json_pack ("{s:b, s:s, s:i}", "ok", 1, "status", ctl->ops.status (ctl->ops.data), "pid",
                      (int) getpid ());
  if (strcmp (op, "stop") == 0)
    r = ctl->ops.stop (ctl->ops.data);
  else if (strcmp (op, "drain") == 0)
    r = ctl->ops.drain (ctl->ops.data);
  else if (strcmp (op, "detach") == 0)
    r = ctl->ops.detach (ctl->ops.data);
  else if (strcmp (op, "stop-when-unused") == 0)
    r = ctl->ops.stop_when_unused (ctl->ops.data);
  else if (strcmp (op, "resize") == 0 && ctl->ops.resize)
    {
      json_t *reply = json_object ();
      r = ctl->ops.resize (ctl->ops.data, req, reply);
      json_object_set_new (reply, "ok", json_boolean (r == 0));
      return reply;
    }
  else
    return json_pack ("{s:b, s:s}", "ok", 0, "error", "unknown op");
  return json_pack ("{s:b}", "ok", r == 0);
}

static void
handle_request (control_conn *c, const char *line)
{
  json_t *req = json_loads (line, 0, NULL);
  json_t *resp = dispatch (c->ctl, req);
  json_decref (req);
  char *text = json_dumps (resp, JSON_COMPACT);
  json_decref (resp);
  if (text)
    {
      /* Small reply on a fresh socket: it fits in the buffer, a blocking send is fine. */
      send (c->w.fd, text, strlen (text), MSG_NOSIGNAL | MSG_DONTWAIT);
      send (c->w.fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      free (text);
    }
}

static void
on_conn (msb_watch *w, uint32_t events)
{
  control_conn *c = w->data;
  uint8_t *dst = msb_buf_reserve (&c->in, 4096);
  ssize_t n = read (w->fd, dst, 4096);
  if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
    {
      conn_free (c);
      return;
    }
  if (n > 0)
    c->in.len += (size_t) n;
  void *nl = memchr (c->in.data, '\n', c->in.len);
  if (nl == NULL && c->in.len < MAX_REQUEST)
    return;
  if (nl)
    *(uint8_t *) nl = '\0';
  else
    c->in.data[c->in.len - 1] = '\0';
  handle_request (c, (const char *) c->in.data);
  conn_free (c);
}

static void
on_listen (msb_watch *w, uint32_t events)
{
  msb_control *ctl = w->data;
  for (;;)
    {
      int fd = accept4 (w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return;
      control_conn *c = msb_xcalloc (1, sizeof *c);
      c->ctl = ctl;
      if (msb_loop_add (ctl->loop, &c->w, fd, EPOLLIN, on_conn, c) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      c->next = ctl->conns;
      ctl->conns = c;
    }
}

int
msb_control_start (msb_loop *loop, int listen_fd, const msb_control_ops *ops, msb_control **out,
                   msb_error **err)
{
  msb_control *ctl = msb_xcalloc (1, sizeof *ctl);
  ctl->loop = loop;
  ctl->ops = *ops;
  msb_set_nonblock (listen_fd, true);
  if (msb_loop_add (loop, &ctl->listen_w, listen_fd, EPOLLIN, on_listen, ctl) < 0)
    {
      free (ctl);
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "start the control socket");
    }
  *out = ctl;
  return 0;
}

void
msb_control_free (msb_control *ctl)
{
  if (ctl == NULL)
    return;
  while (ctl->conns)
    conn_free (ctl->conns);
  msb_loop_del (ctl->loop, &ctl->listen_w);
  close (ctl->listen_w.fd);
  free (ctl);
}

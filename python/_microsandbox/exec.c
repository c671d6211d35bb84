/* Exec: one msb_exec session. Its event fd is readable whenever msb_exec_next would not
 * block, so the asyncio layer registers it with loop.add_reader and drains events with a
 * zero timeout on the loop thread — no polling, no thread parked per command. Writes to the
 * session (stdin, signals, resize) may block on the socket and are made from worker threads
 * with the GIL released; the session is freed only when none is in flight. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void
msbpy_exec_opts_clear (msbpy_exec_opts *o)
{
  free (o->cwd);
  free (o->user);
  msbpy_strv_free (o->env);
  for (size_t i = 0; i < o->n_rlimits; i++)
    free (o->rlimit_names[i]);
  free (o->rlimit_names);
  free (o->rlimits);
  free (o->stdin_data);
  memset (o, 0, sizeof *o);
}

static int
parse_rlimits (PyObject *v, msbpy_exec_opts *o)
{
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (v, "rlimits must be a list");
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE (seq);
  if (n == 0)
    return 0;
  o->rlimits = calloc ((size_t) n, sizeof *o->rlimits);
  o->rlimit_names = calloc ((size_t) n, sizeof *o->rlimit_names);
  if (o->rlimits == NULL || o->rlimit_names == NULL)
    {
      PyErr_NoMemory ();
      return -1;
    }
  for (Py_ssize_t i = 0; i < n; i++)
    {
      PyObject *name;
      unsigned long long soft, hard;
      if (!PyArg_ParseTuple (PySequence_Fast_GET_ITEM (seq, i), "UKK", &name, &soft, &hard))
        return -1;
      if (msbpy_strdup_arg (name, "rlimit resource", false, &o->rlimit_names[i]) < 0)
        return -1;
      o->n_rlimits = (size_t) i + 1;
      o->rlimits[i] = (msb_rlimit) { o->rlimit_names[i], soft, hard };
    }
  return 0;
}

static int
parse_opts_item (msbpy_exec_opts *o, const char *key, PyObject *v)
{
  if (v == Py_None)
    return 0;
  if (strcmp (key, "cwd") == 0)
    return msbpy_strdup_arg (v, "cwd", true, &o->cwd);
  if (strcmp (key, "user") == 0)
    return msbpy_strdup_arg (v, "user", true, &o->user);
  if (strcmp (key, "env") == 0)
    return msbpy_strv_arg (v, "env", &o->env);
  if (strcmp (key, "tty") == 0)
    {
      int b = PyObject_IsTrue (v);
      o->opts.tty = b > 0;
      return b < 0 ? -1 : 0;
    }
  if (strcmp (key, "rows") == 0 || strcmp (key, "cols") == 0)
    {
      long n = PyLong_AsLong (v);
      if (n == -1 && PyErr_Occurred ())
        return -1;
      if (n < 0 || n > 65535)
        {
          PyErr_Format (PyExc_ValueError, "%s must be between 0 and 65535", key);
          return -1;
        }
      *(key[0] == 'r' ? &o->opts.rows : &o->opts.cols) = (uint16_t) n;
      return 0;
    }
  if (strcmp (key, "rlimits") == 0)
    return parse_rlimits (v, o);
  if (strcmp (key, "timeout_ms") == 0)
    {
      long long ms = PyLong_AsLongLong (v);
      o->opts.timeout_ms = ms;
      return ms == -1 && PyErr_Occurred () ? -1 : 0;
    }
  if (strcmp (key, "stdin_mode") == 0)
    {
      long m = PyLong_AsLong (v);
      if (m == -1 && PyErr_Occurred ())
        return -1;
      o->opts.stdin_mode = (msb_stdin_mode) m;
      return 0;
    }
  if (strcmp (key, "stdin_data") == 0)
    {
      Py_buffer view;
      if (PyObject_GetBuffer (v, &view, PyBUF_SIMPLE) < 0)
        return -1;
      o->stdin_data = malloc (view.len ? (size_t) view.len : 1);
      if (o->stdin_data)
        {
          memcpy (o->stdin_data, view.buf, (size_t) view.len);
          o->stdin_len = (size_t) view.len;
        }
      PyBuffer_Release (&view);
      if (o->stdin_data == NULL)
        {
          PyErr_NoMemory ();
          return -1;
        }
      return 0;
    }
  PyErr_Format (PyExc_TypeError, "unknown exec option: %s", key);
  return -1;
}

int
msbpy_exec_opts_parse (PyObject *dict, msbpy_exec_opts *o)
{
  memset (o, 0, sizeof *o);
  o->opts.size = sizeof o->opts;
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next (dict, &pos, &key, &value))
    {
      const char *k = PyUnicode_Check (key) ? PyUnicode_AsUTF8 (key) : NULL;
      if (k == NULL || parse_opts_item (o, k, value) < 0)
        {
          if (!PyErr_Occurred ())
            PyErr_SetString (PyExc_TypeError, "exec option keys must be str");
          msbpy_exec_opts_clear (o);
          return -1;
        }
    }
  o->opts.cwd = o->cwd;
  o->opts.user = o->user;
  o->opts.env = (const char *const *) o->env;
  o->opts.rlimits = o->rlimits;
  o->opts.n_rlimits = o->n_rlimits;
  o->opts.stdin_data = o->stdin_data;
  o->opts.stdin_len = o->stdin_len;
  return 0;
}

/* ---- accumulation buffers of pump() ---- */

static int
buf_append (msbpy_buf *b, const void *data, size_t len)
{
  if (b->len + len > b->cap)
    {
      size_t cap = b->cap ? b->cap : 4096;
      while (cap < b->len + len)
        cap *= 2;
      char *p = realloc (b->data, cap);
      if (p == NULL)
        return -1;
      b->data = p;
      b->cap = cap;
    }
  if (len)
    memcpy (b->data + b->len, data, len);
  b->len += len;
  return 0;
}

static void
buf_free (msbpy_buf *b)
{
  free (b->data);
  memset (b, 0, sizeof *b);
}

/* ---- the object ---- */

PyObject *
msbpy_exec_wrap (PyObject *sandbox, msb_exec *ex)
{
  msbpy_exec *self = PyObject_New (msbpy_exec, &msbpy_exec_type);
  if (self == NULL)
    {
      Py_BEGIN_ALLOW_THREADS
      msb_exec_free (ex);
      Py_END_ALLOW_THREADS
      return NULL;
    }
  Py_INCREF (sandbox);
  self->sandbox = sandbox;
  self->ex = ex;
  self->event_fd = msb_exec_event_fd (ex);
  self->inflight = 0;
  self->closing = false;
  self->finished = false;
  self->pending = NULL;
  memset (&self->out, 0, sizeof self->out);
  memset (&self->err, 0, sizeof self->err);
  return (PyObject *) self;
}

static void
really_free (msbpy_exec *self)
{
  msb_exec *ex = self->ex;
  self->ex = NULL;
  self->event_fd = -1;
  if (ex == NULL)
    return;
  /* A command still running is killed: the session is the only way to reach it. */
  Py_BEGIN_ALLOW_THREADS
  msb_exec_free (ex);
  Py_END_ALLOW_THREADS
}

/* Pins the session for a write made with the GIL released (and tells the connection a
 * write is in flight). */
static msb_exec *
acquire (msbpy_exec *self)
{
  if (self->ex == NULL || self->closing)
    {
      PyErr_SetString (PyExc_RuntimeError, "exec session is closed");
      return NULL;
    }
  self->inflight++;
  msbpy_sandbox_writer_enter (self->sandbox);
  return self->ex;
}

static void
release (msbpy_exec *self)
{
  msbpy_sandbox_writer_leave (self->sandbox);
  if (--self->inflight == 0 && self->closing)
    really_free (self);
}

static void
exec_dealloc (msbpy_exec *self)
{
  really_free (self);
  msb_error_free (self->pending);
  buf_free (&self->out);
  buf_free (&self->err);
  Py_XDECREF (self->sandbox);
  PyObject_Free (self);
}

static PyObject *
exec_get_id (msbpy_exec *self, void *closure)
{
  if (self->ex == NULL)
    Py_RETURN_NONE;
  return msbpy_str_or_none (msb_exec_id (self->ex));
}

static PyObject *
exec_get_finished (msbpy_exec *self, void *closure)
{
  return PyBool_FromLong (self->finished);
}

static PyObject *
exec_fileno (msbpy_exec *self, PyObject *unused)
{
  if (self->ex == NULL)
    {
      PyErr_SetString (PyExc_RuntimeError, "exec session is closed");
      return NULL;
    }
  return PyLong_FromLong (self->event_fd);
}

/* One event as (type, pid, code, data, fail_kind, message). */
static PyObject *
event_tuple (const msb_exec_event *ev)
{
  PyObject *data;
  if (ev->type == MSB_EXEC_EVENT_STDOUT || ev->type == MSB_EXEC_EVENT_STDERR)
    data = PyBytes_FromStringAndSize ((const char *) ev->data, (Py_ssize_t) ev->len);
  else
    {
      data = Py_None;
      Py_INCREF (data);
    }
  if (data == NULL)
    return NULL;
  const char *kind = ev->type == MSB_EXEC_EVENT_FAILED ? msb_exec_fail_name (ev->fail_kind) : NULL;
  const char *msg = ev->type == MSB_EXEC_EVENT_FAILED || ev->type == MSB_EXEC_EVENT_STDIN_ERROR
                        ? ev->message
                        : NULL;
  return Py_BuildValue ("(iIiNzz)", (int) ev->type, (unsigned) ev->pid, (int) ev->code, data,
                        kind, msg);
}

/* Next queued event without blocking: 1 with *ev, 0 when none is queued or the stream ended
 * (self->finished tells which), -1 with *err. */
static int
next_now (msbpy_exec *self, msb_exec_event *ev, msb_error **err)
{
  if (self->finished)
    return 0;
  msb_error *e = NULL;
  int r = msb_exec_next (self->ex, ev, 0, &e);
  if (r < 0 && msb_error_get_kind (e) == MSB_ERR_EXEC_TIMEOUT)
    {
      msb_error_free (e);
      return 0;
    }
  if (r < 0)
    {
      *err = e;
      return -1;
    }
  if (r == 0 || ev->type == MSB_EXEC_EVENT_EXITED || ev->type == MSB_EXEC_EVENT_FAILED)
    self->finished = true;
  return r;
}

static PyObject *
exec_drain (msbpy_exec *self, PyObject *args)
{
  Py_ssize_t max = 256;
  if (!PyArg_ParseTuple (args, "|n:drain", &max))
    return NULL;
  if (self->pending)
    {
      msb_error *e = self->pending;
      self->pending = NULL;
      self->finished = true;
      return msbpy_raise (e);
    }
  PyObject *list = PyList_New (0);
  if (list == NULL)
    return NULL;
  if (self->ex == NULL)
    return list;
  for (Py_ssize_t n = 0; n < max; n++)
    {
      msb_exec_event ev;
      msb_error *err = NULL;
      int r = next_now (self, &ev, &err);
      if (r < 0 && PyList_GET_SIZE (list) > 0)
        {
          self->pending = err; /* raised by the next call, after these events */
          break;
        }
      if (r < 0)
        {
          Py_DECREF (list);
          self->finished = true;
          return msbpy_raise (err);
        }
      if (r == 0)
        break;
      PyObject *t = event_tuple (&ev);
      if (t == NULL || PyList_Append (list, t) < 0)
        {
          Py_XDECREF (t);
          Py_DECREF (list);
          return NULL;
        }
      Py_DECREF (t);
    }
  return list;
}

/* Buffered mode: takes every queued event into the stdout/stderr accumulators. Returns None
 * while the command runs, (exit_code, stdout, stderr) once it exited; a command that could
 * not start raises ExecFailedError ("<kind>: <reason>"). */
static PyObject *
exec_pump (msbpy_exec *self, PyObject *unused)
{
  if (self->pending)
    {
      msb_error *e = self->pending;
      self->pending = NULL;
      return msbpy_raise (e);
    }
  if (self->ex == NULL)
    {
      PyErr_SetString (PyExc_RuntimeError, "exec session is closed");
      return NULL;
    }
  for (;;)
    {
      msb_exec_event ev;
      msb_error *err = NULL;
      int r = next_now (self, &ev, &err);
      if (r < 0)
        {
          self->finished = true;
          return msbpy_raise (err);
        }
      if (r == 0)
        Py_RETURN_NONE;
      switch (ev.type)
        {
        case MSB_EXEC_EVENT_STDOUT:
        case MSB_EXEC_EVENT_STDERR:
          if (buf_append (ev.type == MSB_EXEC_EVENT_STDOUT ? &self->out : &self->err, ev.data,
                          ev.len)
              < 0)
            return PyErr_NoMemory ();
          break;
        case MSB_EXEC_EVENT_EXITED:
          {
            PyObject *t = Py_BuildValue ("(iy#y#)", (int) ev.code,
                                         self->out.data ? self->out.data : "",
                                         (Py_ssize_t) self->out.len,
                                         self->err.data ? self->err.data : "",
                                         (Py_ssize_t) self->err.len);
            buf_free (&self->out);
            buf_free (&self->err);
            return t;
          }
        case MSB_EXEC_EVENT_FAILED:
          return msbpy_raise_kind (MSB_ERR_EXEC_FAILED, "%s: %s",
                                   msb_exec_fail_name (ev.fail_kind),
                                   ev.message ? ev.message : "command failed to start");
        default:
          break;
        }
    }
}

static PyObject *
exec_write_stdin (msbpy_exec *self, PyObject *args)
{
  Py_buffer view;
  if (!PyArg_ParseTuple (args, "y*:write_stdin", &view))
    return NULL;
  /* An empty chunk means EOF on the wire: writing nothing is a no-op here. */
  if (view.len == 0)
    {
      PyBuffer_Release (&view);
      Py_RETURN_NONE;
    }
  msb_exec *ex = acquire (self);
  if (ex == NULL)
    {
      PyBuffer_Release (&view);
      return NULL;
    }
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_exec_write_stdin (ex, view.buf, (size_t) view.len, &err));
  release (self);
  PyBuffer_Release (&view);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
exec_close_stdin (msbpy_exec *self, PyObject *unused)
{
  msb_exec *ex = acquire (self);
  if (ex == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_exec_close_stdin (ex, &err));
  release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
exec_signal (msbpy_exec *self, PyObject *args)
{
  int sig;
  if (!PyArg_ParseTuple (args, "i:signal", &sig))
    return NULL;
  msb_exec *ex = acquire (self);
  if (ex == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_exec_signal (ex, sig, &err));
  release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
exec_resize (msbpy_exec *self, PyObject *args)
{
  unsigned short rows, cols;
  if (!PyArg_ParseTuple (args, "HH:resize", &rows, &cols))
    return NULL;
  msb_exec *ex = acquire (self);
  if (ex == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_exec_resize (ex, rows, cols, &err));
  release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
exec_close (msbpy_exec *self, PyObject *unused)
{
  self->closing = true;
  if (self->inflight == 0)
    really_free (self);
  Py_RETURN_NONE;
}

static PyMethodDef exec_methods[] = {
  { "fileno", (PyCFunction) exec_fileno, METH_NOARGS,
    "fileno() -> int\n\nThe event fd: readable whenever an event is queued." },
  { "drain", (PyCFunction) exec_drain, METH_VARARGS,
    "drain(max=256) -> list[tuple]\n\nQueued events (type, pid, code, data, fail_kind, message),\n"
    "without blocking; stops after the terminal EXITED/FAILED event." },
  { "pump", (PyCFunction) exec_pump, METH_NOARGS,
    "pump() -> None | (exit_code, stdout, stderr)\n\nBuffers queued output without blocking." },
  { "write_stdin", (PyCFunction) exec_write_stdin, METH_VARARGS,
    "write_stdin(data: bytes) -> None (blocks; the GIL is released)" },
  { "close_stdin", (PyCFunction) exec_close_stdin, METH_NOARGS, "close_stdin() -> None" },
  { "signal", (PyCFunction) exec_signal, METH_VARARGS, "signal(sig: int) -> None" },
  { "resize", (PyCFunction) exec_resize, METH_VARARGS, "resize(rows: int, cols: int) -> None" },
  { "close", (PyCFunction) exec_close, METH_NOARGS,
    "close() -> None\n\nFrees the session (a command still running is killed)." },
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef exec_getset[] = {
  { "id", (getter) exec_get_id, NULL, "Correlation id of the session.", NULL },
  { "finished", (getter) exec_get_finished, NULL, "Whether the terminal event was delivered.",
    NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject msbpy_exec_type = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "microsandbox._microsandbox.Exec",
  .tp_basicsize = sizeof (msbpy_exec),
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "An exec session (from SandboxConn.exec_start).",
  .tp_dealloc = (destructor) exec_dealloc,
  .tp_methods = exec_methods,
  .tp_getset = exec_getset,
};

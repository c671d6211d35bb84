/* SandboxConn: an msb_sandbox, a connection to a running sandbox's relay, and the calls made
 * through it (exec, ping, touch, detach). Closing is deferred while calls are in flight, so a
 * worker thread never sees the handle freed under it. Dropping an attached handle (one that
 * owns the lifecycle) stops its sandbox, as msb_sandbox_close documents. */
#include "module.h"

PyObject *
msbpy_sandbox_wrap (msbpy_context *context, msb_sandbox *sb)
{
  msbpy_sandbox *self = PyObject_New (msbpy_sandbox, &msbpy_sandbox_type);
  if (self == NULL)
    {
      msb_sandbox_close (sb);
      return NULL;
    }
  Py_INCREF (context);
  self->context = context;
  self->sb = sb;
  self->inflight = 0;
  self->writers = 0;
  self->closing = false;
  self->name = msbpy_str_or_none (msb_sandbox_name (sb));
  self->shell = msbpy_str_or_none (msb_sandbox_shell (sb));
  if (self->name == NULL || self->shell == NULL)
    {
      Py_DECREF (self);
      return NULL;
    }
  return (PyObject *) self;
}

static void
really_close (msbpy_sandbox *self)
{
  msb_sandbox *sb = self->sb;
  self->sb = NULL;
  if (sb == NULL)
    return;
  Py_BEGIN_ALLOW_THREADS
  msb_sandbox_close (sb);
  Py_END_ALLOW_THREADS
}

/* Pins the handle for one call (GIL held). NULL with RuntimeError once closed. */
msb_sandbox *
msbpy_sandbox_acquire (msbpy_sandbox *self)
{
  if (self->sb == NULL || self->closing)
    {
      PyErr_SetString (PyExc_RuntimeError, "sandbox has been consumed");
      return NULL;
    }
  self->inflight++;
  return self->sb;
}

void
msbpy_sandbox_release (msbpy_sandbox *self)
{
  if (--self->inflight == 0 && self->closing)
    really_close (self);
}

static void
sandbox_dealloc (msbpy_sandbox *self)
{
  really_close (self);
  Py_XDECREF (self->name);
  Py_XDECREF (self->shell);
  Py_XDECREF (self->context);
  PyObject_Free (self);
}

static PyObject *
sandbox_get_name (msbpy_sandbox *self, void *closure)
{
  Py_INCREF (self->name);
  return self->name;
}

static PyObject *
sandbox_get_shell (msbpy_sandbox *self, void *closure)
{
  Py_INCREF (self->shell);
  return self->shell;
}

static PyObject *
sandbox_get_owns (msbpy_sandbox *self, void *closure)
{
  return PyBool_FromLong (self->sb != NULL && msb_sandbox_owns_lifecycle (self->sb));
}

static PyObject *
sandbox_get_closed (msbpy_sandbox *self, void *closure)
{
  return PyBool_FromLong (self->sb == NULL || self->closing);
}

static PyObject *
sandbox_get_context (msbpy_sandbox *self, void *closure)
{
  Py_INCREF (self->context);
  return (PyObject *) self->context;
}

/* ---- exec ---- */

static PyObject *
sandbox_exec_start (msbpy_sandbox *self, PyObject *args)
{
  const char *cmd;
  PyObject *argv_obj, *opts_obj;
  if (!PyArg_ParseTuple (args, "sOO!:exec_start", &cmd, &argv_obj, &PyDict_Type, &opts_obj))
    return NULL;
  _msbpy_cleanup_strv_ char **argv = NULL;
  _msbpy_cleanup_exec_opts_ msbpy_exec_opts o = { 0 };
  if (msbpy_strv_arg (argv_obj, "args", &argv) < 0 || msbpy_exec_opts_parse (opts_obj, &o) < 0)
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_exec *ex = NULL;
  int r = MSBPY_NOGIL (msb_exec_start (sb, cmd, (const char *const *) argv, &o.opts, &ex, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return msbpy_exec_wrap ((PyObject *) self, ex);
}

/* Small stdin data goes out with the request; more could fill the socket. */
#define NOWAIT_STDIN_MAX 65536

/* exec_start on the event loop's thread, without the round trip through a worker: only when
 * nothing else is writing on this connection (no call in flight, no stream write) and the
 * request is small, so msb_exec_start's few hundred bytes go into an idle socket and cannot
 * block. The GIL stays held, so no other thread of this process starts a write meanwhile.
 * Returns None when the start has to be made from a worker thread. */
static PyObject *
sandbox_exec_start_nowait (msbpy_sandbox *self, PyObject *args)
{
  const char *cmd;
  PyObject *argv_obj, *opts_obj;
  if (!PyArg_ParseTuple (args, "sOO!:exec_start_nowait", &cmd, &argv_obj, &PyDict_Type, &opts_obj))
    return NULL;
  if (self->sb == NULL || self->closing)
    {
      PyErr_SetString (PyExc_RuntimeError, "sandbox has been consumed");
      return NULL;
    }
  if (self->inflight > 0 || self->writers > 0)
    Py_RETURN_NONE;
  _msbpy_cleanup_strv_ char **argv = NULL;
  _msbpy_cleanup_exec_opts_ msbpy_exec_opts o = { 0 };
  if (msbpy_strv_arg (argv_obj, "args", &argv) < 0 || msbpy_exec_opts_parse (opts_obj, &o) < 0)
    return NULL;
  if (o.stdin_len > NOWAIT_STDIN_MAX)
    Py_RETURN_NONE;
  msb_error *err = NULL;
  msb_exec *ex = NULL;
  if (msb_exec_start (self->sb, cmd, (const char *const *) argv, &o.opts, &ex, &err) < 0)
    return msbpy_raise (err);
  return msbpy_exec_wrap ((PyObject *) self, ex);
}

/* Buffered run to completion in one blocking call (the C-level baseline of the benchmark and
 * a fallback for callers without an event loop). Returns (exit_code, stdout, stderr). */
static PyObject *
sandbox_exec_run (msbpy_sandbox *self, PyObject *args)
{
  const char *cmd;
  PyObject *argv_obj, *opts_obj;
  if (!PyArg_ParseTuple (args, "sOO!:exec_run", &cmd, &argv_obj, &PyDict_Type, &opts_obj))
    return NULL;
  _msbpy_cleanup_strv_ char **argv = NULL;
  _msbpy_cleanup_exec_opts_ msbpy_exec_opts o = { 0 };
  if (msbpy_strv_arg (argv_obj, "args", &argv) < 0 || msbpy_exec_opts_parse (opts_obj, &o) < 0)
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_exec_output out;
  int r = MSBPY_NOGIL (
      msb_exec_run (sb, cmd, (const char *const *) argv, &o.opts, &out, NULL, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  PyObject *t = Py_BuildValue ("(iy#y#)", out.exit_code, (const char *) out.stdout_data,
                               (Py_ssize_t) out.stdout_len, (const char *) out.stderr_data,
                               (Py_ssize_t) out.stderr_len);
  msb_exec_output_clear (&out);
  return t;
}

/* ---- liveness ---- */

static PyObject *
sandbox_ping (msbpy_sandbox *self, PyObject *unused)
{
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  double latency = 0;
  int r = MSBPY_NOGIL (msb_sandbox_ping (sb, &latency, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return PyFloat_FromDouble (latency);
}

static PyObject *
sandbox_touch (msbpy_sandbox *self, PyObject *unused)
{
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  uint64_t seq = 0;
  int r = MSBPY_NOGIL (msb_sandbox_touch (sb, &seq, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return PyLong_FromUnsignedLongLong (seq);
}

/* ---- ownership ---- */

static PyObject *
sandbox_detach (msbpy_sandbox *self, PyObject *unused)
{
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_sandbox_detach (sb, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
sandbox_close (msbpy_sandbox *self, PyObject *unused)
{
  self->closing = true;
  if (self->inflight == 0)
    really_close (self);
  Py_RETURN_NONE;
}

static PyMethodDef sandbox_methods[] = {
  { "exec_start", (PyCFunction) sandbox_exec_start, METH_VARARGS,
    "exec_start(cmd, args, opts) -> Exec\n\nStarts a command and returns its event stream." },
  { "exec_start_nowait", (PyCFunction) sandbox_exec_start_nowait, METH_VARARGS,
    "exec_start_nowait(cmd, args, opts) -> Exec | None\n\nStarts a command from the calling thread when\n"
    "that cannot block (an idle connection, a small request); None otherwise." },
  { "exec_run", (PyCFunction) sandbox_exec_run, METH_VARARGS,
    "exec_run(cmd, args, opts) -> (exit_code, stdout, stderr)\n\nRuns to completion (blocks)." },
  { "ping", (PyCFunction) sandbox_ping, METH_NOARGS, "ping() -> float (latency in ms)" },
  { "touch", (PyCFunction) sandbox_touch, METH_NOARGS, "touch() -> int (activity sequence)" },
  { "detach", (PyCFunction) sandbox_detach, METH_NOARGS,
    "detach() -> None\n\nDisarms lifecycle ownership: the sandbox outlives this process." },
  { "close", (PyCFunction) sandbox_close, METH_NOARGS,
    "close() -> None\n\nCloses the connection (stops the sandbox if this handle owns it)." },
  MSBPY_SANDBOX_FS_METHODS
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef sandbox_getset[] = {
  { "name", (getter) sandbox_get_name, NULL, "Sandbox name.", NULL },
  { "shell", (getter) sandbox_get_shell, NULL, "Configured shell of the sandbox.", NULL },
  { "owns_lifecycle", (getter) sandbox_get_owns, NULL, "Whether closing stops the sandbox.",
    NULL },
  { "closed", (getter) sandbox_get_closed, NULL, "Whether close() was called.", NULL },
  { "context", (getter) sandbox_get_context, NULL, "The Context of the handle.", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject msbpy_sandbox_type = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "microsandbox._microsandbox.SandboxConn",
  .tp_basicsize = sizeof (msbpy_sandbox),
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A connection to a running sandbox (from Context.sandbox_create/start/connect).",
  .tp_dealloc = (destructor) sandbox_dealloc,
  .tp_methods = sandbox_methods,
  .tp_getset = sandbox_getset,
};

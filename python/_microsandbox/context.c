/* Context: one msb_ctx (a state root and its database) and the libmsb calls that take a
 * context and a sandbox name — lifecycle, metadata, metrics, logs — plus the image cache.
 * Every call runs with the GIL released; the results come back as plain Python values that
 * the asyncio layer turns into the SDK's types. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

/* The state root is opened in tp_new, not __init__: a Context never exists unopened, so the
 * methods here and in images.c, volumes.c, snapshots.c and modify.c can use self->ctx as is
 * (Context.__new__ without __init__ would otherwise hand them a NULL). */
static PyObject *
context_new (PyTypeObject *type, PyObject *args, PyObject *kwds)
{
  static char *kwlist[] = { "home", NULL };
  const char *home = NULL;
  if (!PyArg_ParseTupleAndKeywords (args, kwds, "|z:Context", kwlist, &home))
    return NULL;
  msb_error *err = NULL;
  msb_ctx *ctx = NULL;
  if (MSBPY_NOGIL (msb_ctx_open (&ctx, home, &err)) < 0)
    return msbpy_raise (err);
  msbpy_context *self = (msbpy_context *) type->tp_alloc (type, 0);
  if (self == NULL)
    {
      msb_ctx_close (ctx);
      return NULL;
    }
  self->ctx = ctx;
  return (PyObject *) self;
}

static void
context_dealloc (msbpy_context *self)
{
  if (self->ctx)
    msb_ctx_close (self->ctx);
  Py_TYPE (self)->tp_free ((PyObject *) self);
}

static PyObject *
context_home (msbpy_context *self, void *closure)
{
  return msbpy_str_or_none (msb_ctx_home (self->ctx));
}

/* ---- create / start / connect: a connected SandboxConn ---- */

static PyObject *
context_sandbox_create (msbpy_context *self, PyObject *args, PyObject *kwds)
{
  static char *kwlist[] = { "name", "config", "flags", "replace_grace_ms", "progress", "snapshot",
                            NULL };
  const char *name, *snapshot = NULL;
  PyObject *dict, *progress = Py_None;
  unsigned flags = 0;
  int grace_ms = -1;
  if (!PyArg_ParseTupleAndKeywords (args, kwds, "sO!|IiOz:sandbox_create", kwlist, &name,
                                    &PyDict_Type, &dict, &flags, &grace_ms, &progress, &snapshot))
    return NULL;
  _msbpy_cleanup_config_ msb_config *cfg = NULL;
  if (msbpy_config_from_dict (dict, &cfg) < 0)
    return NULL;
  msb_sandbox *sb = NULL;
  if (msbpy_create (self, name, cfg, flags, grace_ms, progress, snapshot, &sb) < 0)
    return NULL;
  return msbpy_sandbox_wrap (self, sb);
}

static PyObject *
context_sandbox_start (msbpy_context *self, PyObject *args)
{
  const char *name;
  unsigned flags = 0;
  if (!PyArg_ParseTuple (args, "s|I:sandbox_start", &name, &flags))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_sandbox *sb = NULL;
  if (MSBPY_NOGIL (msb_sandbox_start (ctx, name, flags, &sb, &err)) < 0)
    return msbpy_raise (err);
  return msbpy_sandbox_wrap (self, sb);
}

static PyObject *
context_sandbox_connect (msbpy_context *self, PyObject *args)
{
  const char *name;
  int timeout_ms = -1;
  if (!PyArg_ParseTuple (args, "s|i:sandbox_connect", &name, &timeout_ms))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_sandbox *sb = NULL;
  if (MSBPY_NOGIL (msb_sandbox_connect (ctx, name, timeout_ms, &sb, &err)) < 0)
    return msbpy_raise (err);
  return msbpy_sandbox_wrap (self, sb);
}

/* ---- lifecycle requests by name ---- */

typedef int (*name_op_fn) (msb_ctx *, const char *, msb_error **);
typedef int (*name_timeout_op_fn) (msb_ctx *, const char *, int, msb_error **);

static PyObject *
run_name_op (msbpy_context *self, PyObject *args, const char *fmt, name_op_fn fn)
{
  const char *name;
  if (!PyArg_ParseTuple (args, fmt, &name))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  if (MSBPY_NOGIL (fn (ctx, name, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
run_name_timeout_op (msbpy_context *self, PyObject *args, const char *fmt, name_timeout_op_fn fn)
{
  const char *name;
  int timeout_ms = -1;
  if (!PyArg_ParseTuple (args, fmt, &name, &timeout_ms))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  if (MSBPY_NOGIL (fn (ctx, name, timeout_ms, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
context_sandbox_stop (msbpy_context *self, PyObject *args)
{
  return run_name_timeout_op (self, args, "s|i:sandbox_stop", msb_sandbox_stop);
}

static PyObject *
context_sandbox_kill (msbpy_context *self, PyObject *args)
{
  return run_name_timeout_op (self, args, "s|i:sandbox_kill", msb_sandbox_kill);
}

static PyObject *
context_sandbox_drain (msbpy_context *self, PyObject *args)
{
  return run_name_op (self, args, "s:sandbox_drain", msb_sandbox_drain);
}

static PyObject *
context_sandbox_request_stop (msbpy_context *self, PyObject *args)
{
  return run_name_op (self, args, "s:sandbox_request_stop", msb_sandbox_request_stop);
}

static PyObject *
context_sandbox_request_kill (msbpy_context *self, PyObject *args)
{
  return run_name_op (self, args, "s:sandbox_request_kill", msb_sandbox_request_kill);
}

static PyObject *
context_sandbox_remove (msbpy_context *self, PyObject *args)
{
  return run_name_op (self, args, "s:sandbox_remove", msb_sandbox_remove);
}

static PyObject *
context_sandbox_wait (msbpy_context *self, PyObject *args)
{
  const char *name;
  int timeout_ms = -1;
  if (!PyArg_ParseTuple (args, "s|i:sandbox_wait", &name, &timeout_ms))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  int code = -1;
  if (MSBPY_NOGIL (msb_sandbox_wait (ctx, name, timeout_ms, &code, &err)) < 0)
    return msbpy_raise (err);
  return PyLong_FromLong (code);
}

/* ---- metadata ---- */

static PyObject *
context_sandbox_get (msbpy_context *self, PyObject *args)
{
  const char *name;
  if (!PyArg_ParseTuple (args, "s:sandbox_get", &name))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_sandbox_info *info = NULL;
  if (MSBPY_NOGIL (msb_sandbox_get (ctx, name, &info, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = msbpy_info_dict (info);
  msb_sandbox_info_free (info);
  return d;
}

static PyObject *
context_sandbox_list (msbpy_context *self, PyObject *unused)
{
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_sandbox_list (ctx, &list, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, msbpy_info_dict (list[i]));
  msb_sandbox_info_list_free (list, n);
  return out;
}

/* ---- metrics ---- */

static PyObject *
context_sandbox_metrics (msbpy_context *self, PyObject *args)
{
  const char *name;
  if (!PyArg_ParseTuple (args, "s:sandbox_metrics", &name))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_metrics m = { .size = sizeof m };
  if (MSBPY_NOGIL (msb_sandbox_metrics (ctx, name, &m, &err)) < 0)
    return msbpy_raise (err);
  return msbpy_metrics_dict (&m);
}

/* Metrics of every running sandbox, one pass with the GIL released: the names and samples are
 * gathered first, converted after. Sandboxes that stop meanwhile or have not published their
 * first sample are left out. */
typedef struct named_sample
{
  char *name;
  msb_metrics m;
} named_sample;

static PyObject *
context_all_metrics (msbpy_context *self, PyObject *unused)
{
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_sandbox_info **list = NULL;
  size_t n = 0, got = 0;
  named_sample *samples = NULL;
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_sandbox_list (ctx, &list, &n, &err);
  if (r == 0)
    samples = calloc (n ? n : 1, sizeof *samples);
  for (size_t i = 0; r == 0 && samples && i < n; i++)
    {
      if (msb_sandbox_info_status (list[i]) != MSB_STATUS_RUNNING
          && msb_sandbox_info_status (list[i]) != MSB_STATUS_DRAINING)
        continue;
      msb_metrics m = { .size = sizeof m };
      if (msb_sandbox_metrics (ctx, msb_sandbox_info_name (list[i]), &m, NULL) < 0)
        continue;
      samples[got].name = strdup (msb_sandbox_info_name (list[i]));
      samples[got].m = m;
      if (samples[got].name)
        got++;
    }
  msb_sandbox_info_list_free (list, n);
  Py_END_ALLOW_THREADS
  if (r < 0)
    return msbpy_raise (err);
  if (samples == NULL)
    return PyErr_NoMemory ();
  PyObject *out = PyDict_New ();
  for (size_t i = 0; i < got; i++)
    {
      PyObject *d = out ? msbpy_metrics_dict (&samples[i].m) : NULL;
      if (d == NULL || PyDict_SetItemString (out, samples[i].name, d) < 0)
        Py_CLEAR (out);
      Py_XDECREF (d);
      free (samples[i].name);
    }
  free (samples);
  return out;
}

/* ---- logs ---- */

static PyObject *
context_sandbox_logs (msbpy_context *self, PyObject *args, PyObject *kwds)
{
  static char *kwlist[] = { "name", "sources", "since_ms", "until_ms", "tail", "after_cursor",
                            NULL };
  const char *name, *after = NULL;
  unsigned sources = 0;
  long long since_ms = 0, until_ms = 0;
  Py_ssize_t tail = 0;
  if (!PyArg_ParseTupleAndKeywords (args, kwds, "s|ILLnz:sandbox_logs", kwlist, &name, &sources,
                                    &since_ms, &until_ms, &tail, &after))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_log_query q = {
    .size = sizeof q,
    .sources = sources,
    .since_ms = since_ms,
    .until_ms = until_ms,
    .tail = tail > 0 ? (size_t) tail : 0,
    .after_cursor = after,
  };
  msb_error *err = NULL;
  msb_log_entry *entries = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_sandbox_logs (ctx, name, &q, &entries, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, msbpy_log_entry_tuple (&entries[i]));
  msb_log_entries_free (entries, n);
  return out;
}

/* ---- images ---- */

static PyObject *
context_image_get (msbpy_context *self, PyObject *args)
{
  const char *ref;
  if (!PyArg_ParseTuple (args, "s:image_get", &ref))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_image_info *info = NULL;
  if (MSBPY_NOGIL (msb_image_get (ctx, ref, &info, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = msbpy_image_dict (info);
  msb_image_info_free (info);
  return d;
}

static PyObject *
context_image_list (msbpy_context *self, PyObject *unused)
{
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  msb_image_info **list = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_image_list (ctx, &list, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, msbpy_image_dict (list[i]));
  msb_image_info_list_free (list, n);
  return out;
}

static PyObject *
context_image_load (msbpy_context *self, PyObject *args)
{
  const char *path, *tag = NULL;
  if (!PyArg_ParseTuple (args, "s|z:image_load", &path, &tag))
    return NULL;
  msb_ctx *ctx = self->ctx;
  msb_error *err = NULL;
  char **refs = NULL;
  if (MSBPY_NOGIL (msb_image_load (ctx, path, tag, &refs, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = msbpy_strv_or_none ((const char *const *) refs);
  msbpy_strv_free (refs);
  return out;
}

static PyMethodDef context_methods[] = {
  { "sandbox_create", (PyCFunction) (void (*) (void)) context_sandbox_create,
    METH_VARARGS | METH_KEYWORDS,
    "sandbox_create(name, config, flags=0, replace_grace_ms=-1, progress=None, snapshot=None)\n"
    "-> SandboxConn\n\n"
    "Pulls or finds the image (reporting pull events to `progress`), creates and boots the\n"
    "sandbox (from disk snapshot `snapshot` when given). Blocks; the GIL is released." },
  { "sandbox_start", (PyCFunction) context_sandbox_start, METH_VARARGS,
    "sandbox_start(name, flags=0) -> SandboxConn" },
  { "sandbox_connect", (PyCFunction) context_sandbox_connect, METH_VARARGS,
    "sandbox_connect(name, timeout_ms=-1) -> SandboxConn" },
  { "sandbox_stop", (PyCFunction) context_sandbox_stop, METH_VARARGS,
    "sandbox_stop(name, timeout_ms=-1) -> None" },
  { "sandbox_kill", (PyCFunction) context_sandbox_kill, METH_VARARGS,
    "sandbox_kill(name, timeout_ms=-1) -> None" },
  { "sandbox_drain", (PyCFunction) context_sandbox_drain, METH_VARARGS,
    "sandbox_drain(name) -> None" },
  { "sandbox_request_stop", (PyCFunction) context_sandbox_request_stop, METH_VARARGS,
    "sandbox_request_stop(name) -> None" },
  { "sandbox_request_kill", (PyCFunction) context_sandbox_request_kill, METH_VARARGS,
    "sandbox_request_kill(name) -> None" },
  { "sandbox_wait", (PyCFunction) context_sandbox_wait, METH_VARARGS,
    "sandbox_wait(name, timeout_ms=-1) -> int (exit code, -1 if unknown)" },
  { "sandbox_remove", (PyCFunction) context_sandbox_remove, METH_VARARGS,
    "sandbox_remove(name) -> None" },
  { "sandbox_get", (PyCFunction) context_sandbox_get, METH_VARARGS,
    "sandbox_get(name) -> dict" },
  { "sandbox_list", (PyCFunction) context_sandbox_list, METH_NOARGS,
    "sandbox_list() -> list[dict] (newest first)" },
  { "sandbox_metrics", (PyCFunction) context_sandbox_metrics, METH_VARARGS,
    "sandbox_metrics(name) -> dict" },
  { "all_metrics", (PyCFunction) context_all_metrics, METH_NOARGS,
    "all_metrics() -> dict[str, dict] (running sandboxes with a published sample)" },
  { "sandbox_logs", (PyCFunction) (void (*) (void)) context_sandbox_logs,
    METH_VARARGS | METH_KEYWORDS,
    "sandbox_logs(name, sources=0, since_ms=0, until_ms=0, tail=0, after_cursor=None)\n"
    "-> list[tuple[timestamp_ms, source_bit, session_id, data, cursor]]" },
  { "image_get", (PyCFunction) context_image_get, METH_VARARGS, "image_get(reference) -> dict" },
  { "image_list", (PyCFunction) context_image_list, METH_NOARGS, "image_list() -> list[dict]" },
  { "image_load", (PyCFunction) context_image_load, METH_VARARGS,
    "image_load(path, tag=None) -> list[str]" },
  { "image_remove", (PyCFunction) msbpy_image_remove, METH_VARARGS,
    "image_remove(reference, force=False) -> None" },
  { "image_prune", (PyCFunction) msbpy_image_prune, METH_NOARGS, "image_prune() -> dict" },
  { "image_save", (PyCFunction) msbpy_image_save, METH_VARARGS,
    "image_save(references, output_path, format) -> None" },
  { "volume_create", (PyCFunction) msbpy_volume_create, METH_VARARGS,
    "volume_create(name, kind, size_mib=0, quota_mib=0, labels=None) -> dict" },
  { "volume_get", (PyCFunction) msbpy_volume_get, METH_VARARGS, "volume_get(name) -> dict" },
  { "volume_list", (PyCFunction) msbpy_volume_list, METH_NOARGS, "volume_list() -> list[dict]" },
  { "volume_remove", (PyCFunction) msbpy_volume_remove, METH_VARARGS,
    "volume_remove(name) -> None" },
  { "volume_fs", (PyCFunction) msbpy_volume_fs, METH_VARARGS,
    "volume_fs(op, volume, path, arg=None)\n\nHost-side file call on a directory volume." },
  { "snapshot_create", (PyCFunction) (void (*) (void)) msbpy_snapshot_create,
    METH_VARARGS | METH_KEYWORDS,
    "snapshot_create(name, from_sandbox, dest_dir=None, labels=None, force=False,\n"
    "record_integrity=False, resumable=False) -> dict (path, name, digest, descriptor_json)" },
  { "snapshot_open", (PyCFunction) msbpy_snapshot_open, METH_VARARGS,
    "snapshot_open(path_or_name) -> dict" },
  { "snapshot_list_dir", (PyCFunction) msbpy_snapshot_list_dir, METH_VARARGS,
    "snapshot_list_dir(dir) -> list[dict]" },
  { "snapshot_verify", (PyCFunction) msbpy_snapshot_verify, METH_VARARGS,
    "snapshot_verify(path_or_name) -> str (report JSON)" },
  { "snapshot_get", (PyCFunction) msbpy_snapshot_get, METH_VARARGS,
    "snapshot_get(name_or_digest) -> dict (index row)" },
  { "snapshot_list", (PyCFunction) msbpy_snapshot_list, METH_NOARGS,
    "snapshot_list() -> list[dict] (index rows, newest first)" },
  { "snapshot_remove", (PyCFunction) msbpy_snapshot_remove, METH_VARARGS,
    "snapshot_remove(path_or_name, force=False) -> None" },
  { "snapshot_reindex", (PyCFunction) msbpy_snapshot_reindex, METH_VARARGS,
    "snapshot_reindex(dir=None) -> int" },
  { "sandbox_modify", (PyCFunction) msbpy_sandbox_modify, METH_VARARGS,
    "sandbox_modify(name, changes_json, flags=0) -> str (plan JSON)" },
  { NULL, NULL, 0, NULL },
};

static PyGetSetDef context_getset[] = {
  { "home", (getter) context_home, NULL, "Absolute path of the state root.", NULL },
  { NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject msbpy_context_type = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "microsandbox._microsandbox.Context",
  .tp_basicsize = sizeof (msbpy_context),
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "Context(home=None)\n\nAn open state root (None: $MSB_HOME, else ~/.microsandbox).",
  .tp_new = context_new,
  .tp_dealloc = (destructor) context_dealloc,
  .tp_methods = context_methods,
  .tp_getset = context_getset,
};

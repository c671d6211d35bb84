/* Files in a running sandbox (msb/fs.h): the SandboxConn.fs_* methods and the streamed
 * reader / writer objects. Every call pins the connection and runs with the GIL released. */
#include "module.h"

#include <stdlib.h>

PyObject *
msbpy_fs_metadata_tuple (const msb_fs_metadata *m)
{
  return Py_BuildValue ("(sKIOLLL)", msb_fs_entry_kind_name (m->kind),
                        (unsigned long long) m->size, (unsigned) m->mode,
                        m->readonly ? Py_True : Py_False, (long long) m->modified_ms,
                        (long long) m->accessed_ms, (long long) m->created_ms);
}

PyObject *
msbpy_fs_entries_list (const msb_fs_entry *entries, size_t n)
{
  PyObject *list = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; list && i < n; i++)
    msbpy_list_put (&list, i,
                    Py_BuildValue ("(NsKIL)", msbpy_str_or_none (entries[i].path),
                                   msb_fs_entry_kind_name (entries[i].kind),
                                   (unsigned long long) entries[i].size,
                                   (unsigned) entries[i].mode, (long long) entries[i].modified_ms));
  return list;
}

/* ---- paths in, no result ---- */

typedef int (*path_fn) (msb_sandbox *, const char *, msb_error **);
typedef int (*two_path_fn) (msb_sandbox *, const char *, const char *, msb_error **);

static PyObject *
path_op (msbpy_sandbox *self, PyObject *args, const char *fmt, path_fn fn)
{
  const char *path;
  if (!PyArg_ParseTuple (args, fmt, &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (fn (sb, path, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
two_path_op (msbpy_sandbox *self, PyObject *args, const char *fmt, two_path_fn fn)
{
  const char *a, *b;
  if (!PyArg_ParseTuple (args, fmt, &a, &b))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (fn (sb, a, b, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

/* SandboxConn.fs_<name>: msb_fs_<name> through one of the helpers above. */
#define FS_METHOD(name, helper, fmt)                                                          \
  PyObject *msbpy_fs_##name (msbpy_sandbox *self, PyObject *args)                             \
  {                                                                                           \
    return helper (self, args, fmt ":fs_" #name, msb_fs_##name);                              \
  }

FS_METHOD (mkdir, path_op, "s")
FS_METHOD (remove, path_op, "s")
FS_METHOD (remove_dir, path_op, "s")
FS_METHOD (copy, two_path_op, "ss")
FS_METHOD (rename, two_path_op, "ss")
FS_METHOD (symlink, two_path_op, "ss")
FS_METHOD (copy_from_host, two_path_op, "ss")
FS_METHOD (copy_to_host, two_path_op, "ss")

/* ---- results ---- */

static PyObject *
string_op (msbpy_sandbox *self, PyObject *args, const char *fmt,
           int (*fn) (msb_sandbox *, const char *, char **, msb_error **))
{
  const char *path;
  if (!PyArg_ParseTuple (args, fmt, &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  char *out = NULL;
  int r = MSBPY_NOGIL (fn (sb, path, &out, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return msbpy_str_take (out);
}

FS_METHOD (readlink, string_op, "s")
FS_METHOD (realpath, string_op, "s")

PyObject *
msbpy_fs_stat (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  int follow = 1;
  if (!PyArg_ParseTuple (args, "s|p:fs_stat", &path, &follow))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_fs_metadata m;
  int r = MSBPY_NOGIL (follow ? msb_fs_stat (sb, path, &m, &err)
                              : msb_fs_lstat (sb, path, &m, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return msbpy_fs_metadata_tuple (&m);
}

PyObject *
msbpy_fs_exists (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:fs_exists", &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  bool exists = false;
  int r = MSBPY_NOGIL (msb_fs_exists (sb, path, &exists, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  return PyBool_FromLong (exists);
}

PyObject *
msbpy_fs_list (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:fs_list", &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_fs_entry *entries = NULL;
  size_t n = 0;
  int r = MSBPY_NOGIL (msb_fs_list (sb, path, &entries, &n, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  PyObject *list = msbpy_fs_entries_list (entries, n);
  msb_fs_entries_free (entries, n);
  return list;
}

PyObject *
msbpy_fs_read (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:fs_read", &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  uint8_t *data = NULL;
  size_t len = 0;
  int r = MSBPY_NOGIL (msb_fs_read (sb, path, &data, &len, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  PyObject *b = PyBytes_FromStringAndSize ((const char *) data, (Py_ssize_t) len);
  free (data);
  return b;
}

PyObject *
msbpy_fs_write (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  Py_buffer view;
  if (!PyArg_ParseTuple (args, "sy*:fs_write", &path, &view))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    {
      PyBuffer_Release (&view);
      return NULL;
    }
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_fs_write (sb, path, view.buf, (size_t) view.len, &err));
  msbpy_sandbox_release (self);
  PyBuffer_Release (&view);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

/* ---- streams ---- */

typedef struct
{
  PyObject_HEAD
  PyObject *sandbox; /* strong: the connection outlives the stream */
  void *stream;      /* msb_fs_reader * or msb_fs_writer *; NULL once closed */
  bool busy;         /* a call is in flight (GIL released) */
} msbpy_fs_stream;

static PyObject *
stream_new (PyTypeObject *type, PyObject *sandbox, void *stream)
{
  msbpy_fs_stream *s = PyObject_New (msbpy_fs_stream, type);
  if (s == NULL)
    return NULL;
  Py_INCREF (sandbox);
  s->sandbox = sandbox;
  s->stream = stream;
  s->busy = false;
  return (PyObject *) s;
}

static void *
stream_take (msbpy_fs_stream *s)
{
  if (s->stream == NULL)
    {
      PyErr_SetString (PyExc_RuntimeError, "stream is closed");
      return NULL;
    }
  if (s->busy)
    {
      PyErr_SetString (PyExc_RuntimeError, "stream is in use by another call");
      return NULL;
    }
  s->busy = true;
  msbpy_sandbox_writer_enter (s->sandbox);
  return s->stream;
}

static void
stream_done (msbpy_fs_stream *s)
{
  msbpy_sandbox_writer_leave (s->sandbox);
  s->busy = false;
}

PyObject *
msbpy_fs_read_open (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:fs_read_open", &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_fs_reader *reader = NULL;
  int r = MSBPY_NOGIL (msb_fs_read_open (sb, path, &reader, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  PyObject *o = stream_new (&msbpy_fs_reader_type, (PyObject *) self, reader);
  if (o == NULL)
    msb_fs_read_close (reader);
  return o;
}

static PyObject *
reader_next (msbpy_fs_stream *self, PyObject *unused)
{
  msb_fs_reader *reader = stream_take (self);
  if (reader == NULL)
    return NULL;
  msb_error *err = NULL;
  const uint8_t *data = NULL;
  size_t len = 0;
  int r = MSBPY_NOGIL (msb_fs_read_next (reader, &data, &len, &err));
  stream_done (self);
  if (r < 0)
    return msbpy_raise (err);
  if (r == 0)
    Py_RETURN_NONE;
  /* The chunk stays valid until the next call on this reader, which cannot start before this
   * one returns. */
  return PyBytes_FromStringAndSize ((const char *) data, (Py_ssize_t) len);
}

static void
reader_free (msbpy_fs_stream *self)
{
  msb_fs_reader *reader = self->stream;
  self->stream = NULL;
  if (reader)
    {
      Py_BEGIN_ALLOW_THREADS
      msb_fs_read_close (reader);
      Py_END_ALLOW_THREADS
    }
}

static PyObject *
reader_close (msbpy_fs_stream *self, PyObject *unused)
{
  if (self->busy)
    {
      PyErr_SetString (PyExc_RuntimeError, "stream is in use by another call");
      return NULL;
    }
  reader_free (self);
  Py_RETURN_NONE;
}

static void
reader_dealloc (msbpy_fs_stream *self)
{
  reader_free (self);
  Py_XDECREF (self->sandbox);
  PyObject_Free (self);
}

static PyMethodDef reader_methods[] = {
  { "next", (PyCFunction) reader_next, METH_NOARGS,
    "next() -> bytes | None\n\nThe next chunk (≤ 3 MiB), None at the end (blocks)." },
  { "close", (PyCFunction) reader_close, METH_NOARGS, "close() -> None" },
  { NULL, NULL, 0, NULL },
};

PyTypeObject msbpy_fs_reader_type = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "microsandbox._microsandbox.FsReader",
  .tp_basicsize = sizeof (msbpy_fs_stream),
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A streamed read of a sandbox file (from SandboxConn.fs_read_open).",
  .tp_dealloc = (destructor) reader_dealloc,
  .tp_methods = reader_methods,
};

PyObject *
msbpy_fs_write_open (msbpy_sandbox *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:fs_write_open", &path))
    return NULL;
  msb_sandbox *sb = msbpy_sandbox_acquire (self);
  if (sb == NULL)
    return NULL;
  msb_error *err = NULL;
  msb_fs_writer *writer = NULL;
  int r = MSBPY_NOGIL (msb_fs_write_open (sb, path, &writer, &err));
  msbpy_sandbox_release (self);
  if (r < 0)
    return msbpy_raise (err);
  PyObject *o = stream_new (&msbpy_fs_writer_type, (PyObject *) self, writer);
  if (o == NULL)
    msb_fs_write_close (writer, NULL);
  return o;
}

static PyObject *
writer_write (msbpy_fs_stream *self, PyObject *args)
{
  Py_buffer view;
  if (!PyArg_ParseTuple (args, "y*:write", &view))
    return NULL;
  msb_fs_writer *writer = stream_take (self);
  if (writer == NULL)
    {
      PyBuffer_Release (&view);
      return NULL;
    }
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_fs_write_chunk (writer, view.buf, (size_t) view.len, &err));
  stream_done (self);
  PyBuffer_Release (&view);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static PyObject *
writer_close (msbpy_fs_stream *self, PyObject *unused)
{
  if (self->stream == NULL)
    Py_RETURN_NONE;
  msb_fs_writer *writer = stream_take (self);
  if (writer == NULL)
    return NULL;
  self->stream = NULL;
  msb_error *err = NULL;
  int r = MSBPY_NOGIL (msb_fs_write_close (writer, &err));
  stream_done (self);
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

static void
writer_dealloc (msbpy_fs_stream *self)
{
  msb_fs_writer *writer = self->stream;
  self->stream = NULL;
  if (writer)
    {
      Py_BEGIN_ALLOW_THREADS
      msb_fs_write_close (writer, NULL);
      Py_END_ALLOW_THREADS
    }
  Py_XDECREF (self->sandbox);
  PyObject_Free (self);
}

static PyMethodDef writer_methods[] = {
  { "write", (PyCFunction) writer_write, METH_VARARGS, "write(data: bytes) -> None (blocks)" },
  { "close", (PyCFunction) writer_close, METH_NOARGS,
    "close() -> None\n\nFinishes the file and reports the first failure (blocks)." },
  { NULL, NULL, 0, NULL },
};

PyTypeObject msbpy_fs_writer_type = {
  PyVarObject_HEAD_INIT (NULL, 0)
  .tp_name = "microsandbox._microsandbox.FsWriter",
  .tp_basicsize = sizeof (msbpy_fs_stream),
  .tp_flags = Py_TPFLAGS_DEFAULT,
  .tp_doc = "A streamed write of a sandbox file (from SandboxConn.fs_write_open).",
  .tp_dealloc = (destructor) writer_dealloc,
  .tp_methods = writer_methods,
};

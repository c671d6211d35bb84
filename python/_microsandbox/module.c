/* Module init, the msb_error → exception mapping and the small argument helpers every other
 * file of the binding uses. */
#include "module.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One class per msb_error_kind, indexed by kind; filled at import from microsandbox.errors
 * (the pure-Python classes users catch), so the mapping is one to one and never parses
 * messages. MSB_ERR_INVALID_ARGUMENT is Python's ValueError. */
#define MAX_KIND 64
static PyObject *error_classes[MAX_KIND];

PyObject *
msbpy_error_class (msb_error_kind kind)
{
  if (kind == MSB_ERR_INVALID_ARGUMENT)
    return PyExc_ValueError;
  if (kind == MSB_ERR_SNAPSHOT_NOT_FOUND) /* API.md §1.19: a missing snapshot artifact */
    return PyExc_FileNotFoundError;
  if ((int) kind > 0 && (int) kind < MAX_KIND && error_classes[kind])
    return error_classes[kind];
  return error_classes[MSB_ERR_GENERIC] ? error_classes[MSB_ERR_GENERIC] : PyExc_RuntimeError;
}

PyObject *
msbpy_raise (msb_error *e)
{
  if (e == NULL)
    {
      PyErr_SetString (msbpy_error_class (MSB_ERR_GENERIC), "operation failed (no detail)");
      return NULL;
    }
  PyObject *cls = msbpy_error_class (msb_error_get_kind (e));
  const char *msg = msb_error_get_message (e);
  PyObject *exc = PyObject_CallFunction (cls, "s", msg ? msg : "operation failed");
  if (exc)
    {
      int errnum = msb_error_get_errno (e);
      if (errnum && cls != PyExc_ValueError && cls != PyExc_FileNotFoundError)
        {
          PyObject *v = PyLong_FromLong (errnum);
          if (v == NULL || PyObject_SetAttrString (exc, "errno", v) < 0)
            PyErr_Clear ();
          Py_XDECREF (v);
        }
      PyErr_SetObject (cls, exc);
      Py_DECREF (exc);
    }
  msb_error_free (e);
  return NULL;
}

int
msbpy_raise_int (msb_error *e)
{
  msbpy_raise (e);
  return -1;
}

PyObject *
msbpy_raise_kind (msb_error_kind kind, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  PyErr_SetString (msbpy_error_class (kind), buf);
  return NULL;
}

int
msbpy_errors_init (PyObject *module)
{
  _msbpy_cleanup_decref_ PyObject *errors = PyImport_ImportModule ("microsandbox.errors");
  if (errors == NULL)
    return -1;
  _msbpy_cleanup_decref_ PyObject *by_code = PyObject_GetAttrString (errors, "_BY_CODE");
  if (by_code == NULL)
    return -1;
  for (int kind = MSB_ERR_GENERIC; kind < MAX_KIND; kind++)
    {
      if (kind == MSB_ERR_INVALID_ARGUMENT || kind == MSB_ERR_SNAPSHOT_NOT_FOUND)
        continue;
      const char *code = msb_error_kind_code ((msb_error_kind) kind);
      if (code == NULL)
        continue;
      PyObject *cls = PyDict_GetItemString (by_code, code); /* borrowed */
      if (cls == NULL)
        continue; /* a kind newer than this package: falls back to MicrosandboxError */
      Py_INCREF (cls);
      Py_XSETREF (error_classes[kind], cls);
    }
  if (error_classes[MSB_ERR_GENERIC] == NULL)
    {
      PyErr_SetString (PyExc_ImportError, "microsandbox.errors has no MicrosandboxError");
      return -1;
    }
  (void) module;
  return 0;
}

/* ---- argument helpers ---- */

int
msbpy_strdup_arg (PyObject *o, const char *what, bool allow_none, char **out)
{
  *out = NULL;
  if (o == NULL || (o == Py_None && allow_none))
    return 0;
  if (!PyUnicode_Check (o))
    {
      PyErr_Format (PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE (o)->tp_name);
      return -1;
    }
  Py_ssize_t n;
  const char *s = PyUnicode_AsUTF8AndSize (o, &n);
  if (s == NULL)
    return -1;
  if ((size_t) n != strlen (s))
    {
      PyErr_Format (PyExc_ValueError, "%s must not contain NUL characters", what);
      return -1;
    }
  *out = strdup (s);
  if (*out == NULL)
    {
      PyErr_NoMemory ();
      return -1;
    }
  return 0;
}

void
msbpy_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

int
msbpy_strv_arg (PyObject *o, const char *what, char ***out)
{
  *out = NULL;
  if (o == NULL || o == Py_None)
    return 0;
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (o, what);
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE (seq);
  char **v = calloc ((size_t) n + 1, sizeof *v);
  if (v == NULL)
    {
      PyErr_NoMemory ();
      return -1;
    }
  for (Py_ssize_t i = 0; i < n; i++)
    if (msbpy_strdup_arg (PySequence_Fast_GET_ITEM (seq, i), what, false, &v[i]) < 0)
      {
        msbpy_strv_free (v);
        return -1;
      }
  *out = v;
  return 0;
}

PyObject *
msbpy_str_or_none (const char *s)
{
  if (s == NULL)
    Py_RETURN_NONE;
  return PyUnicode_DecodeUTF8 (s, (Py_ssize_t) strlen (s), "replace");
}

PyObject *
msbpy_str_take (char *s)
{
  PyObject *o = msbpy_str_or_none (s);
  free (s);
  return o;
}

PyObject *
msbpy_strv_or_none (const char *const *v)
{
  if (v == NULL)
    Py_RETURN_NONE;
  PyObject *list = PyList_New (0);
  if (list == NULL)
    return NULL;
  for (; *v; v++)
    {
      PyObject *s = msbpy_str_or_none (*v);
      if (s == NULL || PyList_Append (list, s) < 0)
        {
          Py_XDECREF (s);
          Py_DECREF (list);
          return NULL;
        }
      Py_DECREF (s);
    }
  return list;
}

/* ---- module functions ---- */

static PyObject *
mod_version (PyObject *self, PyObject *unused)
{
  return PyUnicode_FromString (msb_version ());
}

static PyObject *
mod_error_code (PyObject *self, PyObject *arg)
{
  long kind = PyLong_AsLong (arg);
  if (kind == -1 && PyErr_Occurred ())
    return NULL;
  return msbpy_str_or_none (msb_error_kind_code ((msb_error_kind) kind));
}

/* Where libmsb was loaded from: libmsb looks for `msb` and `msb-agent` next to itself. */
static PyObject *
mod_library_path (PyObject *self, PyObject *unused)
{
  Dl_info info;
  if (dladdr ((void *) msb_version, &info) && info.dli_fname && info.dli_fname[0] == '/')
    return PyUnicode_DecodeFSDefault (info.dli_fname);
  Py_RETURN_NONE;
}

static PyObject *
mod_install_bindir (PyObject *self, PyObject *unused)
{
  return PyUnicode_DecodeFSDefault (MSBPY_INSTALL_BINDIR);
}

static PyObject *
mod_install_libexecdir (PyObject *self, PyObject *unused)
{
  return PyUnicode_DecodeFSDefault (MSBPY_INSTALL_LIBEXECDIR);
}

static PyMethodDef module_methods[] = {
  { "library_path", mod_library_path, METH_NOARGS,
    "library_path() -> str | None\n\nPath of the loaded libmsb." },
  { "install_bindir", mod_install_bindir, METH_NOARGS, "install_bindir() -> str" },
  { "install_libexecdir", mod_install_libexecdir, METH_NOARGS, "install_libexecdir() -> str" },
  { "version", mod_version, METH_NOARGS, "version() -> str\n\nVersion of libmsb." },
  { "error_code", mod_error_code, METH_O,
    "error_code(kind: int) -> str | None\n\nThe stable code of an msb_error_kind." },
  { "network_normalize", msbpy_network_normalize, METH_O,
    "network_normalize(json: str) -> str\n\nValidates the `network` object of a create (API.md\n"
    "§1.20) the way libmsb stores it; ValueError names the offending key." },
  { NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
  PyModuleDef_HEAD_INIT,
  .m_name = "microsandbox._microsandbox",
  .m_doc = "Native binding of libmsb for the microsandbox package (internal).",
  .m_size = -1,
  .m_methods = module_methods,
};

static int
module_setup (PyObject *m)
{
  if (msbpy_errors_init (m) < 0)
    return -1;
  PyTypeObject *types[] = { &msbpy_context_type, &msbpy_sandbox_type, &msbpy_exec_type,
                            &msbpy_fs_reader_type, &msbpy_fs_writer_type };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      if (PyType_Ready (types[i]) < 0)
        return -1;
      const char *dot = strrchr (types[i]->tp_name, '.');
      Py_INCREF (types[i]);
      if (PyModule_AddObject (m, dot ? dot + 1 : types[i]->tp_name, (PyObject *) types[i]) < 0)
        {
          Py_DECREF (types[i]);
          return -1;
        }
    }
  static const struct
  {
    const char *name;
    long value;
  } constants[] = {
    { "SANDBOX_DETACHED", MSB_SANDBOX_DETACHED },
    { "SANDBOX_REPLACE", MSB_SANDBOX_REPLACE },
    { "MODIFY_DRY_RUN", MSB_MODIFY_DRY_RUN },
    { "MODIFY_NEXT_START", MSB_MODIFY_NEXT_START },
    { "MODIFY_RESTART", MSB_MODIFY_RESTART },
    { "EVENT_STARTED", MSB_EXEC_EVENT_STARTED },
    { "EVENT_STDOUT", MSB_EXEC_EVENT_STDOUT },
    { "EVENT_STDERR", MSB_EXEC_EVENT_STDERR },
    { "EVENT_EXITED", MSB_EXEC_EVENT_EXITED },
    { "EVENT_FAILED", MSB_EXEC_EVENT_FAILED },
    { "EVENT_STDIN_ERROR", MSB_EXEC_EVENT_STDIN_ERROR },
    { "STDIN_NULL", MSB_STDIN_NULL },
    { "STDIN_PIPE", MSB_STDIN_PIPE },
    { "STDIN_BYTES", MSB_STDIN_BYTES },
    { "LOG_STDOUT", MSB_LOG_STDOUT },
    { "LOG_STDERR", MSB_LOG_STDERR },
    { "LOG_OUTPUT", MSB_LOG_OUTPUT },
    { "LOG_SYSTEM", MSB_LOG_SYSTEM },
    { "LOG_ALL", MSB_LOG_ALL },
  };
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
    if (PyModule_AddIntConstant (m, constants[i].name, constants[i].value) < 0)
      return -1;
  return 0;
}

PyMODINIT_FUNC
PyInit__microsandbox (void)
{
  PyObject *m = PyModule_Create (&module_def);
  if (m != NULL && module_setup (m) < 0)
    Py_CLEAR (m);
  return m;
}

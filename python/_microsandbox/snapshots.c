/* Disk snapshots (msb/snapshot.h) as Context methods: an artifact comes back as a dict of its
 * path, name, digest and descriptor text (the asyncio layer reads the fields it exposes from
 * the descriptor), an index row as a dict of its columns. */
#include "module.h"

static PyObject *
artifact_dict (const msb_snapshot *s)
{
  return Py_BuildValue ("{sNsNsNsN}", "path", msbpy_str_or_none (msb_snapshot_path (s)), "name",
                        msbpy_str_or_none (msb_snapshot_name (s)), "digest",
                        msbpy_str_or_none (msb_snapshot_digest (s)), "descriptor_json",
                        msbpy_str_or_none (msb_snapshot_descriptor_json (s)));
}

static PyObject *
info_dict (const msb_snapshot_info *i)
{
  return Py_BuildValue ("{sNsNsNsNsNsNsNsNsNsNsKsNsNsLsO}", "digest",
                        msbpy_str_or_none (msb_snapshot_info_digest (i)), "name",
                        msbpy_str_or_none (msb_snapshot_info_name (i)), "path",
                        msbpy_str_or_none (msb_snapshot_info_path (i)), "parent_digest",
                        msbpy_str_or_none (msb_snapshot_info_parent_digest (i)), "scope",
                        msbpy_str_or_none (msb_snapshot_info_scope (i)), "image_ref",
                        msbpy_str_or_none (msb_snapshot_info_image_ref (i)),
                        "image_manifest_digest",
                        msbpy_str_or_none (msb_snapshot_info_image_manifest_digest (i)),
                        "state_kind", msbpy_str_or_none (msb_snapshot_info_state_kind (i)),
                        "format", msbpy_str_or_none (msb_snapshot_info_format (i)), "fstype",
                        msbpy_str_or_none (msb_snapshot_info_fstype (i)), "size_bytes",
                        (unsigned long long) msb_snapshot_info_size_bytes (i), "source_sandbox",
                        msbpy_str_or_none (msb_snapshot_info_source_sandbox (i)), "labels_json",
                        msbpy_str_or_none (msb_snapshot_info_labels_json (i)), "created_at",
                        (long long) msb_snapshot_info_created_at (i), "available",
                        msb_snapshot_info_is_available (i) ? Py_True : Py_False);
}

PyObject *
msbpy_snapshot_create (msbpy_context *self, PyObject *args, PyObject *kwds)
{
  static char *kwlist[] = { "name",  "from_sandbox",     "dest_dir",  "labels",
                            "force", "record_integrity", "resumable", NULL };
  const char *name, *from, *dest = NULL;
  PyObject *labels_obj = Py_None;
  int force = 0, integrity = 0, resumable = 0;
  if (!PyArg_ParseTupleAndKeywords (args, kwds, "ss|zOppp:snapshot_create", kwlist, &name, &from,
                                    &dest, &labels_obj, &force, &integrity, &resumable))
    return NULL;
  _msbpy_cleanup_strv_ char **labels = NULL;
  if (msbpy_strv_arg (labels_obj, "labels", &labels) < 0)
    return NULL;
  msb_snapshot_opts o = {
    .size = sizeof o,
    .dest_dir = dest,
    .labels = (const char *const *) labels,
    .force = force,
    .record_integrity = integrity,
    .resumable = resumable,
  };
  msb_error *err = NULL;
  msb_snapshot *s = NULL;
  if (MSBPY_NOGIL (msb_snapshot_create (self->ctx, name, from, &o, &s, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = artifact_dict (s);
  msb_snapshot_free (s);
  return d;
}

PyObject *
msbpy_snapshot_open (msbpy_context *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:snapshot_open", &path))
    return NULL;
  msb_error *err = NULL;
  msb_snapshot *s = NULL;
  if (MSBPY_NOGIL (msb_snapshot_open (self->ctx, path, &s, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = artifact_dict (s);
  msb_snapshot_free (s);
  return d;
}

PyObject *
msbpy_snapshot_list_dir (msbpy_context *self, PyObject *args)
{
  const char *dir;
  if (!PyArg_ParseTuple (args, "s:snapshot_list_dir", &dir))
    return NULL;
  msb_error *err = NULL;
  msb_snapshot **list = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_snapshot_list_dir (self->ctx, dir, &list, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, artifact_dict (list[i]));
  msb_snapshot_list_free (list, n);
  return out;
}

PyObject *
msbpy_snapshot_verify (msbpy_context *self, PyObject *args)
{
  const char *path;
  if (!PyArg_ParseTuple (args, "s:snapshot_verify", &path))
    return NULL;
  msb_error *err = NULL;
  msb_snapshot *s = NULL;
  char *report = NULL;
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_snapshot_open (self->ctx, path, &s, &err);
  if (r == 0)
    r = msb_snapshot_verify (self->ctx, s, &report, &err);
  msb_snapshot_free (s);
  Py_END_ALLOW_THREADS
  if (r < 0)
    return msbpy_raise (err);
  return msbpy_str_take (report);
}

PyObject *
msbpy_snapshot_get (msbpy_context *self, PyObject *args)
{
  const char *key;
  if (!PyArg_ParseTuple (args, "s:snapshot_get", &key))
    return NULL;
  msb_error *err = NULL;
  msb_snapshot_info *info = NULL;
  if (MSBPY_NOGIL (msb_snapshot_get (self->ctx, key, &info, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = info_dict (info);
  msb_snapshot_info_free (info);
  return d;
}

PyObject *
msbpy_snapshot_list (msbpy_context *self, PyObject *unused)
{
  msb_error *err = NULL;
  msb_snapshot_info **list = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_snapshot_list (self->ctx, &list, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, info_dict (list[i]));
  msb_snapshot_info_list_free (list, n);
  return out;
}

PyObject *
msbpy_snapshot_remove (msbpy_context *self, PyObject *args)
{
  const char *path;
  int force = 0;
  if (!PyArg_ParseTuple (args, "s|p:snapshot_remove", &path, &force))
    return NULL;
  msb_error *err = NULL;
  if (MSBPY_NOGIL (msb_snapshot_remove (self->ctx, path, force, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

PyObject *
msbpy_snapshot_reindex (msbpy_context *self, PyObject *args)
{
  const char *dir = NULL;
  if (!PyArg_ParseTuple (args, "|z:snapshot_reindex", &dir))
    return NULL;
  msb_error *err = NULL;
  size_t count = 0;
  if (MSBPY_NOGIL (msb_snapshot_reindex (self->ctx, dir, &count, &err)) < 0)
    return msbpy_raise (err);
  return PyLong_FromSize_t (count);
}

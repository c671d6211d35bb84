/* Named volumes (msb/volume.h): create, get, list, remove and the host-side file calls of a
 * directory volume. */
#include "module.h"

#include <stdlib.h>
#include <string.h>


static PyObject *
volume_dict (const msb_volume_info *v)
{
  uint64_t quota = msb_volume_info_quota_mib (v), cap = msb_volume_info_capacity_bytes (v);
  return Py_BuildValue (
      "{sNsNsNsNsKsNsNsNsNsN}", "name", msbpy_str_or_none (msb_volume_info_name (v)), "kind",
      msbpy_str_or_none (msb_volume_kind_name (msb_volume_info_kind (v))), "path",
      msbpy_str_or_none (msb_volume_info_path (v)), "quota_mib",
      quota ? PyLong_FromUnsignedLongLong (quota) : (Py_INCREF (Py_None), Py_None), "used_bytes",
      (unsigned long long) msb_volume_info_used_bytes (v), "capacity_bytes",
      cap ? PyLong_FromUnsignedLongLong (cap) : (Py_INCREF (Py_None), Py_None), "disk_format",
      msbpy_str_or_none (msb_volume_info_disk_format (v)), "disk_fstype",
      msbpy_str_or_none (msb_volume_info_disk_fstype (v)), "labels_json",
      msbpy_str_or_none (msb_volume_info_labels_json (v)), "created_at",
      msbpy_ms_or_none (msb_volume_info_created_at (v)));
}

PyObject *
msbpy_volume_create (msbpy_context *self, PyObject *args)
{
  const char *name, *kind;
  unsigned long long size_mib = 0, quota_mib = 0;
  PyObject *labels_obj = Py_None;
  if (!PyArg_ParseTuple (args, "ss|KKO:volume_create", &name, &kind, &size_mib, &quota_mib,
                         &labels_obj))
    return NULL;
  _msbpy_cleanup_strv_ char **labels = NULL;
  if (msbpy_strv_arg (labels_obj, "labels", &labels) < 0)
    return NULL;
  msb_volume_opts o = {
    .size = sizeof o,
    .kind = strcmp (kind, "disk") == 0 ? MSB_VOLUME_DISK : MSB_VOLUME_DIR,
    .size_mib = size_mib,
    .quota_mib = quota_mib,
    .labels = (const char *const *) labels,
  };
  msb_error *err = NULL;
  msb_volume_info *info = NULL;
  if (MSBPY_NOGIL (msb_volume_create (self->ctx, name, &o, &info, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = volume_dict (info);
  msb_volume_info_free (info);
  return d;
}

PyObject *
msbpy_volume_get (msbpy_context *self, PyObject *args)
{
  const char *name;
  if (!PyArg_ParseTuple (args, "s:volume_get", &name))
    return NULL;
  msb_error *err = NULL;
  msb_volume_info *info = NULL;
  if (MSBPY_NOGIL (msb_volume_get (self->ctx, name, &info, &err)) < 0)
    return msbpy_raise (err);
  PyObject *d = volume_dict (info);
  msb_volume_info_free (info);
  return d;
}

PyObject *
msbpy_volume_list (msbpy_context *self, PyObject *unused)
{
  msb_error *err = NULL;
  msb_volume_info **list = NULL;
  size_t n = 0;
  if (MSBPY_NOGIL (msb_volume_list (self->ctx, &list, &n, &err)) < 0)
    return msbpy_raise (err);
  PyObject *out = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; out && i < n; i++)
    msbpy_list_put (&out, i, volume_dict (list[i]));
  msb_volume_info_list_free (list, n);
  return out;
}

PyObject *
msbpy_volume_remove (msbpy_context *self, PyObject *args)
{
  const char *name;
  if (!PyArg_ParseTuple (args, "s:volume_remove", &name))
    return NULL;
  msb_error *err = NULL;
  if (MSBPY_NOGIL (msb_volume_remove (self->ctx, name, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

/* ---- host-side files: volume_fs(op, volume, path[, arg]) ---- */

typedef int (*vol_path_fn) (msb_ctx *, const char *, const char *, msb_error **);
typedef int (*vol_two_fn) (msb_ctx *, const char *, const char *, const char *, msb_error **);

static PyObject *
vol_path_op (msbpy_context *self, const char *volume, const char *path, vol_path_fn fn)
{
  msb_error *err = NULL;
  if (MSBPY_NOGIL (fn (self->ctx, volume, path, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

PyObject *
msbpy_volume_fs (msbpy_context *self, PyObject *args)
{
  const char *op, *volume, *path;
  PyObject *arg = Py_None;
  if (!PyArg_ParseTuple (args, "sss|O:volume_fs", &op, &volume, &path, &arg))
    return NULL;
  msb_error *err = NULL;
  if (strcmp (op, "mkdir") == 0)
    return vol_path_op (self, volume, path, msb_volume_fs_mkdir);
  if (strcmp (op, "remove_file") == 0)
    return vol_path_op (self, volume, path, msb_volume_fs_remove_file);
  if (strcmp (op, "remove_dir") == 0)
    return vol_path_op (self, volume, path, msb_volume_fs_remove_dir);
  if (strcmp (op, "copy") == 0 || strcmp (op, "rename") == 0)
    {
      const char *to = PyUnicode_Check (arg) ? PyUnicode_AsUTF8 (arg) : NULL;
      if (to == NULL)
        return PyErr_Occurred () ? NULL : (PyErr_SetString (PyExc_TypeError, "to must be a str"), NULL);
      vol_two_fn fn = op[0] == 'c' ? msb_volume_fs_copy : msb_volume_fs_rename;
      if (MSBPY_NOGIL (fn (self->ctx, volume, path, to, &err)) < 0)
        return msbpy_raise (err);
      Py_RETURN_NONE;
    }
  if (strcmp (op, "read") == 0)
    {
      uint8_t *data = NULL;
      size_t len = 0;
      if (MSBPY_NOGIL (msb_volume_fs_read (self->ctx, volume, path, &data, &len, &err)) < 0)
        return msbpy_raise (err);
      PyObject *b = PyBytes_FromStringAndSize ((const char *) data, (Py_ssize_t) len);
      free (data);
      return b;
    }
  if (strcmp (op, "write") == 0)
    {
      Py_buffer view;
      if (PyObject_GetBuffer (arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
      int r = MSBPY_NOGIL (
          msb_volume_fs_write (self->ctx, volume, path, view.buf, (size_t) view.len, &err));
      PyBuffer_Release (&view);
      if (r < 0)
        return msbpy_raise (err);
      Py_RETURN_NONE;
    }
  if (strcmp (op, "exists") == 0)
    {
      bool exists = false;
      if (MSBPY_NOGIL (msb_volume_fs_exists (self->ctx, volume, path, &exists, &err)) < 0)
        return msbpy_raise (err);
      return PyBool_FromLong (exists);
    }
  if (strcmp (op, "stat") == 0)
    {
      msb_fs_metadata m;
      if (MSBPY_NOGIL (msb_volume_fs_stat (self->ctx, volume, path, &m, &err)) < 0)
        return msbpy_raise (err);
      return msbpy_fs_metadata_tuple (&m);
    }
  if (strcmp (op, "list") == 0)
    {
      msb_fs_entry *entries = NULL;
      size_t n = 0;
      if (MSBPY_NOGIL (msb_volume_fs_list (self->ctx, volume, path, &entries, &n, &err)) < 0)
        return msbpy_raise (err);
      PyObject *list = msbpy_fs_entries_list (entries, n);
      msb_fs_entries_free (entries, n);
      return list;
    }
  PyErr_Format (PyExc_ValueError, "unknown volume file operation `%s`", op);
  return NULL;
}

/* libmsb's result structs as plain Python values (dicts and tuples); the asyncio layer
 * builds the SDK's dataclasses from them. GIL held throughout. */
#include "module.h"

#include <string.h>

int
msbpy_put (PyObject *d, const char *key, PyObject *v)
{
  if (v == NULL)
    return -1;
  int r = PyDict_SetItemString (d, key, v);
  Py_DECREF (v);
  return r;
}

void
msbpy_list_put (PyObject **list, size_t i, PyObject *item)
{
  if (item == NULL)
    Py_CLEAR (*list);
  else
    PyList_SET_ITEM (*list, (Py_ssize_t) i, item);
}

PyObject *
msbpy_ms_or_none (int64_t ms)
{
  if (ms <= 0)
    Py_RETURN_NONE;
  return PyFloat_FromDouble ((double) ms);
}

PyObject *
msbpy_info_dict (const msb_sandbox_info *info)
{
  PyObject *d = PyDict_New ();
  if (d == NULL)
    return NULL;
  if (msbpy_put (d, "name", msbpy_str_or_none (msb_sandbox_info_name (info))) < 0
      || msbpy_put (d, "status",
                    PyUnicode_FromString (msb_sandbox_status_name (msb_sandbox_info_status (info))))
             < 0
      || msbpy_put (d, "config_json", msbpy_str_or_none (msb_sandbox_info_config_json (info))) < 0
      || msbpy_put (d, "image", msbpy_str_or_none (msb_sandbox_info_image (info))) < 0
      || msbpy_put (d, "manifest_digest",
                    msbpy_str_or_none (msb_sandbox_info_manifest_digest (info)))
             < 0
      || msbpy_put (d, "created_at", msbpy_ms_or_none (msb_sandbox_info_created_at (info))) < 0
      || msbpy_put (d, "updated_at", msbpy_ms_or_none (msb_sandbox_info_updated_at (info))) < 0
      || msbpy_put (d, "pid", PyLong_FromLong (msb_sandbox_info_pid (info))) < 0
      || msbpy_put (d, "exit_code", PyLong_FromLong (msb_sandbox_info_exit_code (info))) < 0
      || msbpy_put (d, "termination_reason",
                    msbpy_str_or_none (msb_sandbox_info_termination_reason (info)))
             < 0)
    {
      Py_DECREF (d);
      return NULL;
    }
  return d;
}

PyObject *
msbpy_metrics_dict (const msb_metrics *m)
{
  PyObject *d = PyDict_New ();
  if (d == NULL)
    return NULL;
  if (msbpy_put (d, "cpu_percent", PyFloat_FromDouble (m->cpu_percent)) < 0
      || msbpy_put (d, "cpu_time_ns", PyLong_FromUnsignedLongLong (m->cpu_time_ns)) < 0
      || msbpy_put (d, "memory_bytes", PyLong_FromUnsignedLongLong (m->memory_bytes)) < 0
      || msbpy_put (d, "memory_limit_bytes", PyLong_FromUnsignedLongLong (m->memory_limit_bytes))
             < 0
      || msbpy_put (d, "disk_read_bytes", PyLong_FromUnsignedLongLong (m->disk_read_bytes)) < 0
      || msbpy_put (d, "disk_write_bytes", PyLong_FromUnsignedLongLong (m->disk_write_bytes)) < 0
      || msbpy_put (d, "net_rx_bytes", PyLong_FromUnsignedLongLong (m->net_rx_bytes)) < 0
      || msbpy_put (d, "net_tx_bytes", PyLong_FromUnsignedLongLong (m->net_tx_bytes)) < 0
      || msbpy_put (d, "upper_used_bytes", PyLong_FromUnsignedLongLong (m->upper_used_bytes)) < 0
      || msbpy_put (d, "uptime_ms", PyLong_FromUnsignedLongLong (m->uptime_ms)) < 0
      || msbpy_put (d, "timestamp_ms", PyFloat_FromDouble ((double) m->timestamp_ms)) < 0
      || msbpy_put (d, "cpus", PyLong_FromUnsignedLong (m->cpus)) < 0
      || msbpy_put (d, "interval_ms", PyLong_FromUnsignedLong (m->interval_ms)) < 0)
    {
      Py_DECREF (d);
      return NULL;
    }
  return d;
}

PyObject *
msbpy_image_dict (const msb_image_info *info)
{
  PyObject *d = PyDict_New ();
  if (d == NULL)
    return NULL;
  if (msbpy_put (d, "reference", msbpy_str_or_none (msb_image_info_reference (info))) < 0
      || msbpy_put (d, "manifest_digest", msbpy_str_or_none (msb_image_info_manifest_digest (info)))
             < 0
      || msbpy_put (d, "architecture", msbpy_str_or_none (msb_image_info_architecture (info))) < 0
      || msbpy_put (d, "os", msbpy_str_or_none (msb_image_info_os (info))) < 0
      || msbpy_put (d, "layer_count", PyLong_FromSize_t (msb_image_info_layer_count (info))) < 0
      || msbpy_put (d, "size_bytes", PyLong_FromUnsignedLongLong (msb_image_info_size_bytes (info)))
             < 0
      || msbpy_put (d, "created_at", msbpy_ms_or_none (msb_image_info_created_at (info))) < 0
      || msbpy_put (d, "entrypoint", msbpy_strv_or_none (msb_image_info_entrypoint (info))) < 0
      || msbpy_put (d, "cmd", msbpy_strv_or_none (msb_image_info_cmd (info))) < 0
      || msbpy_put (d, "env", msbpy_strv_or_none (msb_image_info_env (info))) < 0
      || msbpy_put (d, "working_dir", msbpy_str_or_none (msb_image_info_working_dir (info))) < 0
      || msbpy_put (d, "user", msbpy_str_or_none (msb_image_info_user (info))) < 0
      || msbpy_image_details (d, info) < 0)
    {
      Py_DECREF (d);
      return NULL;
    }
  return d;
}

PyObject *
msbpy_log_entry_tuple (const msb_log_entry *e)
{
  return Py_BuildValue ("(dIKy#s)", (double) e->timestamp_ms, (unsigned) e->source,
                        (unsigned long long) e->session_id, (const char *) e->data,
                        (Py_ssize_t) e->len, e->cursor ? e->cursor : "");
}

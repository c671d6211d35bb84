/* Creating a sandbox, with the image pull progress of API.md §1.11: msb_sandbox_create_ex
 * pulls the image per the config's pull policy and reports every event (resolving, resolved
 * and complete also for a cached image); each one is handed to the progress callable as a
 * dict of the fields that apply. */
#include "module.h"

/* Sets d[key] = v when v applies (a string that is set, a number ≥ 0). */
static int
put_str (PyObject *d, const char *key, const char *v)
{
  return v ? msbpy_put (d, key, msbpy_str_or_none (v)) : 0;
}

static int
put_int (PyObject *d, const char *key, int64_t v)
{
  return v >= 0 ? msbpy_put (d, key, PyLong_FromLongLong (v)) : 0;
}

static PyObject *
event_dict (const msb_pull_event *ev)
{
  PyObject *d = PyDict_New ();
  if (d
      && (put_str (d, "event_type", msb_pull_event_type_name (ev->type)) < 0
          || put_str (d, "reference", ev->reference) < 0
          || put_str (d, "manifest_digest", ev->manifest_digest) < 0
          || put_int (d, "layer_count", ev->layer_count) < 0
          || put_int (d, "total_download_bytes", ev->total_download_bytes) < 0
          || put_int (d, "layer_index", ev->layer_index) < 0 || put_str (d, "digest", ev->digest) < 0
          || put_str (d, "diff_id", ev->diff_id) < 0
          || put_int (d, "downloaded_bytes", ev->downloaded_bytes) < 0
          || put_int (d, "total_bytes", ev->total_bytes) < 0
          || put_int (d, "bytes_read", ev->bytes_read) < 0))
    Py_CLEAR (d);
  return d;
}

/* Runs on libmsb's threads while the creating thread has released the GIL. A failing
 * callback is reported, never raised: progress reporting does not abort a create. */
static void
on_pull_event (const msb_pull_event *ev, void *data)
{
  PyObject *progress = data;
  PyGILState_STATE g = PyGILState_Ensure ();
  PyObject *d = event_dict (ev);
  PyObject *r = d ? PyObject_CallOneArg (progress, d) : NULL;
  if (r == NULL)
    PyErr_WriteUnraisable (progress);
  Py_XDECREF (r);
  Py_XDECREF (d);
  PyGILState_Release (g);
}

int
msbpy_create (msbpy_context *context, const char *name, const msb_config *cfg, unsigned flags,
              int grace_ms, PyObject *progress, const char *snapshot, msb_sandbox **out)
{
  bool report = progress != NULL && progress != Py_None;
  msb_create_opts opts = {
    .size = sizeof opts,
    .flags = flags,
    .has_replace_grace = grace_ms >= 0,
    .replace_grace_ms = grace_ms >= 0 ? grace_ms : 0,
    .progress = report ? on_pull_event : NULL,
    .progress_data = progress,
    .snapshot = snapshot,
  };
  msb_error *err = NULL;
  if (MSBPY_NOGIL (msb_sandbox_create_ex (context->ctx, name, cfg, &opts, out, &err)) < 0)
    return msbpy_raise_int (err);
  return 0;
}

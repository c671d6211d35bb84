/* Creating a sandbox, with the image pull progress of API.md §1.11.
 *
 * With msb_sandbox_create_ex (libmsb with registry pulls), libmsb pulls the image per the
 * config's pull policy and reports every event; they are handed to the progress callable as
 * dicts. With an older libmsb (cache only), the three events a cached image produces
 * (resolving, resolved, complete) are emitted around a cache lookup, so PullSession behaves
 * the same; an uncached image then fails in msb_sandbox_create with ImageNotFoundError.
 *
 * The newer entry points are referenced weakly: the binding loads against either libmsb. */
#include "module.h"

#include <stdlib.h>
#include <string.h>

#pragma weak msb_sandbox_create_ex
#pragma weak msb_pull_event_type_name

bool
msbpy_pull_available (void)
{
  return msb_sandbox_create_ex != NULL && msb_pull_event_type_name != NULL;
}

int
msbpy_pull_init (PyObject *module)
{
  return 0;
}

/* ---- events as dicts ---- */

static int
put_str (PyObject *d, const char *key, const char *v)
{
  if (v == NULL)
    return 0;
  PyObject *o = msbpy_str_or_none (v);
  int r = o ? PyDict_SetItemString (d, key, o) : -1;
  Py_XDECREF (o);
  return r;
}

static int
put_int (PyObject *d, const char *key, int64_t v)
{
  if (v < 0)
    return 0;
  PyObject *o = PyLong_FromLongLong (v);
  int r = o ? PyDict_SetItemString (d, key, o) : -1;
  Py_XDECREF (o);
  return r;
}

/* Calls progress(d); a failing callback is reported, never raised: progress reporting does
 * not abort a create. GIL held; steals d. */
static void
emit (PyObject *progress, PyObject *d)
{
  PyObject *r = d ? PyObject_CallOneArg (progress, d) : NULL;
  if (r == NULL)
    PyErr_WriteUnraisable (progress);
  Py_XDECREF (r);
  Py_XDECREF (d);
}

static PyObject *
event_dict (const char *type)
{
  PyObject *d = PyDict_New ();
  if (d && put_str (d, "event_type", type) < 0)
    Py_CLEAR (d);
  return d;
}

/* Runs on libmsb's threads while the caller has released the GIL. */
static void
on_pull_event (const msb_pull_event *ev, void *data)
{
  PyObject *progress = data;
  PyGILState_STATE g = PyGILState_Ensure ();
  PyObject *d = event_dict (msb_pull_event_type_name (ev->type));
  if (d
      && (put_str (d, "reference", ev->reference) < 0
          || put_str (d, "manifest_digest", ev->manifest_digest) < 0
          || put_int (d, "layer_count", ev->layer_count) < 0
          || put_int (d, "total_download_bytes", ev->total_download_bytes) < 0
          || put_int (d, "layer_index", ev->layer_index) < 0 || put_str (d, "digest", ev->digest) < 0
          || put_str (d, "diff_id", ev->diff_id) < 0
          || put_int (d, "downloaded_bytes", ev->downloaded_bytes) < 0
          || put_int (d, "total_bytes", ev->total_bytes) < 0
          || put_int (d, "bytes_read", ev->bytes_read) < 0))
    Py_CLEAR (d);
  emit (progress, d);
  PyGILState_Release (g);
}

/* The cached image's events (no pull support). GIL held. */
static void
emit_cached (msbpy_context *context, const char *ref, PyObject *progress)
{
  PyObject *d = event_dict ("resolving");
  if (d && put_str (d, "reference", ref) < 0)
    Py_CLEAR (d);
  emit (progress, d);

  msb_error *err = NULL;
  msb_image_info *info = NULL;
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_image_get (context->ctx, ref, &info, &err);
  Py_END_ALLOW_THREADS
  if (r < 0)
    {
      msb_error_free (err); /* not cached: msb_sandbox_create says so, naming the policy */
      return;
    }
  int64_t layers = (int64_t) msb_image_info_layer_count (info);
  d = event_dict ("resolved");
  if (d
      && (put_str (d, "reference", ref) < 0
          || put_str (d, "manifest_digest", msb_image_info_manifest_digest (info)) < 0
          || put_int (d, "layer_count", layers) < 0 || put_int (d, "total_download_bytes", 0) < 0))
    Py_CLEAR (d);
  emit (progress, d);
  d = event_dict ("complete");
  if (d && (put_str (d, "reference", ref) < 0 || put_int (d, "layer_count", layers) < 0))
    Py_CLEAR (d);
  emit (progress, d);
  msb_image_info_free (info);
}

int
msbpy_create (msbpy_context *context, const char *name, const msb_config *cfg, unsigned flags,
              int grace_ms, PyObject *progress, msb_sandbox **out)
{
  bool report = progress != NULL && progress != Py_None;
  msb_error *err = NULL;
  int r;
  if (msbpy_pull_available ())
    {
      msb_create_opts opts = {
        .size = sizeof opts,
        .flags = flags,
        .has_replace_grace = grace_ms >= 0,
        .replace_grace_ms = grace_ms >= 0 ? grace_ms : 0,
        .progress = report ? on_pull_event : NULL,
        .progress_data = progress,
      };
      Py_BEGIN_ALLOW_THREADS
      r = msb_sandbox_create_ex (context->ctx, name, cfg, &opts, out, &err);
      Py_END_ALLOW_THREADS
    }
  else
    {
      if (report && msb_config_get_image (cfg))
        emit_cached (context, msb_config_get_image (cfg), progress);
      Py_BEGIN_ALLOW_THREADS
      r = msb_sandbox_create (context->ctx, name, cfg, flags, grace_ms, out, &err);
      Py_END_ALLOW_THREADS
    }
  return r < 0 ? msbpy_raise_int (err) : 0;
}

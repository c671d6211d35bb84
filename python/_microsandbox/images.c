/* Image cache management beyond get/list/load (msb/image.h): remove, prune, save, and the
 * layer and config details of an image. Referenced weakly (newer libmsb entry points). */
#include "module.h"

#include <stdlib.h>
#include <string.h>

#pragma weak msb_image_remove
#pragma weak msb_image_prune
#pragma weak msb_image_save
#pragma weak msb_image_info_labels
#pragma weak msb_image_info_stop_signal
#pragma weak msb_image_info_config_digest
#pragma weak msb_image_info_last_used_at
#pragma weak msb_image_info_layer_diff_id
#pragma weak msb_image_info_layer_blob_digest
#pragma weak msb_image_info_layer_media_type
#pragma weak msb_image_info_layer_compressed_size
#pragma weak msb_image_info_layer_unpacked_size

static bool
have (bool present, const char *what)
{
  if (!present)
    msbpy_raise_kind (MSB_ERR_UNSUPPORTED, "%s is not supported by this libmsb", what);
  return present;
}

/* Adds the optional details of newer libmsbs to an image dict. */
int
msbpy_image_details (PyObject *d, const msb_image_info *info)
{
  if (msb_image_info_labels)
    {
      PyObject *v = msbpy_strv_or_none (msb_image_info_labels (info));
      if (v == NULL || PyDict_SetItemString (d, "labels", v) < 0)
        {
          Py_XDECREF (v);
          return -1;
        }
      Py_DECREF (v);
    }
  if (msb_image_info_stop_signal && msb_image_info_config_digest && msb_image_info_last_used_at)
    {
      PyObject *sig = msbpy_str_or_none (msb_image_info_stop_signal (info));
      PyObject *dig = msbpy_str_or_none (msb_image_info_config_digest (info));
      int64_t used = msb_image_info_last_used_at (info);
      PyObject *last = used > 0 ? PyFloat_FromDouble ((double) used) : (Py_INCREF (Py_None), Py_None);
      int r = (sig && dig && last && PyDict_SetItemString (d, "stop_signal", sig) == 0
               && PyDict_SetItemString (d, "config_digest", dig) == 0
               && PyDict_SetItemString (d, "last_used_at", last) == 0)
                  ? 0
                  : -1;
      Py_XDECREF (sig);
      Py_XDECREF (dig);
      Py_XDECREF (last);
      if (r < 0)
        return -1;
    }
  if (msb_image_info_layer_diff_id && msb_image_info_layer_blob_digest
      && msb_image_info_layer_media_type && msb_image_info_layer_compressed_size
      && msb_image_info_layer_unpacked_size)
    {
      size_t n = msb_image_info_layer_count (info);
      PyObject *layers = PyList_New ((Py_ssize_t) n);
      for (size_t i = 0; layers && i < n; i++)
        {
          PyObject *t = Py_BuildValue (
              "(NNNKKn)", msbpy_str_or_none (msb_image_info_layer_diff_id (info, i)),
              msbpy_str_or_none (msb_image_info_layer_blob_digest (info, i)),
              msbpy_str_or_none (msb_image_info_layer_media_type (info, i)),
              (unsigned long long) msb_image_info_layer_compressed_size (info, i),
              (unsigned long long) msb_image_info_layer_unpacked_size (info, i), (Py_ssize_t) i);
          if (t == NULL)
            Py_CLEAR (layers);
          else
            PyList_SET_ITEM (layers, (Py_ssize_t) i, t);
        }
      int r = layers ? PyDict_SetItemString (d, "layers", layers) : -1;
      Py_XDECREF (layers);
      if (r < 0)
        return -1;
    }
  return 0;
}

PyObject *
msbpy_image_remove (msbpy_context *self, PyObject *args)
{
  const char *ref;
  int force = 0;
  if (!PyArg_ParseTuple (args, "s|p:image_remove", &ref, &force)
      || !have (msb_image_remove != NULL, "image removal"))
    return NULL;
  msb_error *err = NULL;
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_image_remove (self->ctx, ref, force != 0, &err);
  Py_END_ALLOW_THREADS
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

PyObject *
msbpy_image_prune (msbpy_context *self, PyObject *unused)
{
  if (!have (msb_image_prune != NULL, "image prune"))
    return NULL;
  msb_error *err = NULL;
  msb_image_prune_report rep = { .size = sizeof rep, .bytes_reclaimed = -1 };
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_image_prune (self->ctx, &rep, &err);
  Py_END_ALLOW_THREADS
  if (r < 0)
    return msbpy_raise (err);
  return Py_BuildValue ("{sKsKsKsKsKsL}", "image_refs_removed",
                        (unsigned long long) rep.image_refs_removed, "manifests_removed",
                        (unsigned long long) rep.manifests_removed, "layers_removed",
                        (unsigned long long) rep.layers_removed, "fsmeta_removed",
                        (unsigned long long) rep.fsmeta_removed, "vmdk_removed",
                        (unsigned long long) rep.vmdk_removed, "bytes_reclaimed",
                        (long long) rep.bytes_reclaimed);
}

PyObject *
msbpy_image_save (msbpy_context *self, PyObject *args)
{
  PyObject *refs_obj;
  const char *path, *format;
  if (!PyArg_ParseTuple (args, "Oss:image_save", &refs_obj, &path, &format)
      || !have (msb_image_save != NULL, "image save"))
    return NULL;
  _msbpy_cleanup_strv_ char **refs = NULL;
  if (msbpy_strv_arg (refs_obj, "references", &refs) < 0)
    return NULL;
  size_t n = 0;
  while (refs && refs[n])
    n++;
  msb_image_archive_format fmt
      = strcmp (format, "oci") == 0 ? MSB_IMAGE_ARCHIVE_OCI : MSB_IMAGE_ARCHIVE_DOCKER;
  msb_error *err = NULL;
  int r;
  Py_BEGIN_ALLOW_THREADS
  r = msb_image_save (self->ctx, (const char *const *) refs, n, path, fmt, &err);
  Py_END_ALLOW_THREADS
  if (r < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

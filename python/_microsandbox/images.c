/* Image cache management beyond get/list/load (msb/image.h): remove, prune, save, and the
 * layer and config details of an image. */
#include "module.h"

#include <string.h>

/* The layers, bottom first: (diff_id, blob digest, media type, compressed size, unpacked
 * size, position). */
static PyObject *
layers_list (const msb_image_info *info)
{
  size_t n = msb_image_info_layer_count (info);
  PyObject *layers = PyList_New ((Py_ssize_t) n);
  for (size_t i = 0; layers && i < n; i++)
    msbpy_list_put (
        &layers, i,
        Py_BuildValue ("(NNNKKn)", msbpy_str_or_none (msb_image_info_layer_diff_id (info, i)),
                       msbpy_str_or_none (msb_image_info_layer_blob_digest (info, i)),
                       msbpy_str_or_none (msb_image_info_layer_media_type (info, i)),
                       (unsigned long long) msb_image_info_layer_compressed_size (info, i),
                       (unsigned long long) msb_image_info_layer_unpacked_size (info, i),
                       (Py_ssize_t) i));
  return layers;
}

/* Adds labels, stop signal, config digest, last use and the layers to an image dict. */
int
msbpy_image_details (PyObject *d, const msb_image_info *info)
{
  if (msbpy_put (d, "labels", msbpy_strv_or_none (msb_image_info_labels (info))) < 0
      || msbpy_put (d, "stop_signal", msbpy_str_or_none (msb_image_info_stop_signal (info))) < 0
      || msbpy_put (d, "config_digest", msbpy_str_or_none (msb_image_info_config_digest (info)))
             < 0
      || msbpy_put (d, "last_used_at", msbpy_ms_or_none (msb_image_info_last_used_at (info))) < 0
      || msbpy_put (d, "layers", layers_list (info)) < 0)
    return -1;
  return 0;
}

PyObject *
msbpy_image_remove (msbpy_context *self, PyObject *args)
{
  const char *ref;
  int force = 0;
  if (!PyArg_ParseTuple (args, "s|p:image_remove", &ref, &force))
    return NULL;
  msb_error *err = NULL;
  if (MSBPY_NOGIL (msb_image_remove (self->ctx, ref, force != 0, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

PyObject *
msbpy_image_prune (msbpy_context *self, PyObject *unused)
{
  msb_error *err = NULL;
  msb_image_prune_report rep = { .size = sizeof rep, .bytes_reclaimed = -1 };
  if (MSBPY_NOGIL (msb_image_prune (self->ctx, &rep, &err)) < 0)
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
  if (!PyArg_ParseTuple (args, "Oss:image_save", &refs_obj, &path, &format))
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
  if (MSBPY_NOGIL (msb_image_save (self->ctx, (const char *const *) refs, n, path, fmt, &err)) < 0)
    return msbpy_raise (err);
  Py_RETURN_NONE;
}

/* The network section of a create (API.md §1.15, §1.20): the asyncio layer serialises
 * `ports=` and `network=` into the stored config's `network` object (microsandbox/_network.py)
 * and this file hands that JSON to libmsb, which alone judges it (msb_config_set_network_json:
 * CIDRs, ports, groups, nameservers, pools, limits). Two entry points:
 *   network_normalize(json) -> str   module function: validates now, on the caller's thread,
 *                                    so create_with_progress raises synchronously; returns the
 *                                    section as libmsb stores it
 *   config["network"] = json         the create's msb_config setter (config.c's table)
 * Must never interpret the policy itself. GIL held throughout (both are cheap and pure). */
#include "module.h"

#include <string.h>

/* The JSON argument as UTF-8 (borrowed from `v`), or NULL with TypeError / ValueError. */
static const char *
json_arg (PyObject *v, const char *what)
{
  if (!PyUnicode_Check (v))
    {
      PyErr_Format (PyExc_TypeError, "%s must be a JSON str, not %.100s", what, Py_TYPE (v)->tp_name);
      return NULL;
    }
  Py_ssize_t n;
  const char *s = PyUnicode_AsUTF8AndSize (v, &n);
  if (s != NULL && (size_t) n != strlen (s))
    {
      PyErr_Format (PyExc_ValueError, "%s must not contain NUL characters", what);
      return NULL;
    }
  return s;
}

int
msbpy_config_set_network (msb_config *cfg, const char *key, PyObject *v)
{
  const char *json = json_arg (v, key);
  if (json == NULL)
    return -1;
  msb_error *err = NULL;
  if (msb_config_set_network_json (cfg, json, &err) < 0)
    return msbpy_raise_int (err);
  return 0;
}

PyObject *
msbpy_network_normalize (PyObject *module, PyObject *arg)
{
  (void) module;
  const char *json = json_arg (arg, "network");
  if (json == NULL)
    return NULL;
  _msbpy_cleanup_config_ msb_config *cfg = msb_config_new ();
  msb_error *err = NULL;
  if (msb_config_set_network_json (cfg, json, &err) < 0)
    return msbpy_raise (err);
  return msbpy_str_take (msb_config_get_network_json (cfg));
}

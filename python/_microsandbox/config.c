/* The create options the asyncio layer has validated (a dict of plain values) as an
 * msb_config, one setter per key. The setters check values themselves and name the option
 * in their errors (InvalidConfigError / ValueError), so nothing is re-validated here beyond
 * the Python types. Keys this libmsb has no setter for raise UnsupportedError. */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*str_setter) (msb_config *, const char *, msb_error **);
typedef int (*strv_setter) (msb_config *, const char *const *, msb_error **);
typedef int (*pair_setter) (msb_config *, const char *, const char *, msb_error **);
typedef int (*double_setter) (msb_config *, double, msb_error **);
typedef int (*uint_setter) (msb_config *, unsigned, msb_error **);
typedef int (*bool_setter) (msb_config *, bool, msb_error **);

static int
apply_str (msb_config *cfg, const char *key, PyObject *v, str_setter fn)
{
  char *s = NULL;
  if (msbpy_strdup_arg (v, key, false, &s) < 0)
    return -1;
  msb_error *err = NULL;
  int r = fn (cfg, s, &err);
  free (s);
  return r < 0 ? msbpy_raise_int (err) : 0;
}

static int
apply_strv (msb_config *cfg, const char *key, PyObject *v, strv_setter fn)
{
  _msbpy_cleanup_strv_ char **sv = NULL;
  if (msbpy_strv_arg (v, key, &sv) < 0)
    return -1;
  msb_error *err = NULL;
  return fn (cfg, (const char *const *) sv, &err) < 0 ? msbpy_raise_int (err) : 0;
}

/* A list of (key, value) pairs of str. */
static int
apply_pairs (msb_config *cfg, const char *key, PyObject *v, pair_setter fn)
{
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (v, key);
  if (seq == NULL)
    return -1;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE (seq); i++)
    {
      PyObject *item = PySequence_Fast_GET_ITEM (seq, i);
      PyObject *k, *val;
      if (!PyArg_ParseTuple (item, "UU", &k, &val))
        return -1;
      char *ks = NULL, *vs = NULL;
      if (msbpy_strdup_arg (k, key, false, &ks) < 0 || msbpy_strdup_arg (val, key, false, &vs) < 0)
        {
          free (ks);
          return -1;
        }
      msb_error *err = NULL;
      int r = fn (cfg, ks, vs, &err);
      free (ks);
      free (vs);
      if (r < 0)
        return msbpy_raise_int (err);
    }
  return 0;
}

static int
apply_double (msb_config *cfg, const char *key, PyObject *v, double_setter fn)
{
  double d = PyFloat_AsDouble (v);
  if (d == -1.0 && PyErr_Occurred ())
    return -1;
  msb_error *err = NULL;
  return fn (cfg, d, &err) < 0 ? msbpy_raise_int (err) : 0;
}

static int
apply_uint (msb_config *cfg, const char *key, PyObject *v, uint_setter fn)
{
  unsigned long u = PyLong_AsUnsignedLong (v);
  if (u == (unsigned long) -1 && PyErr_Occurred ())
    return -1;
  if (u > 0xffffffffUL)
    {
      PyErr_Format (PyExc_ValueError, "%s is too large", key);
      return -1;
    }
  msb_error *err = NULL;
  return fn (cfg, (unsigned) u, &err) < 0 ? msbpy_raise_int (err) : 0;
}

static int
apply_bool (msb_config *cfg, const char *key, PyObject *v, bool_setter fn)
{
  int b = PyObject_IsTrue (v);
  if (b < 0)
    return -1;
  msb_error *err = NULL;
  return fn (cfg, b != 0, &err) < 0 ? msbpy_raise_int (err) : 0;
}

static int
apply_memory (msb_config *cfg, unsigned mib, msb_error **err)
{
  return msb_config_set_memory_mib (cfg, mib, err);
}

/* ---- structured options (init, patches, volumes, registry) ---- */

static int
missing (const char *key)
{
  msbpy_raise_kind (MSB_ERR_UNSUPPORTED, "create option `%s` is not supported by this libmsb", key);
  return -1;
}

static int
apply_init (msb_config *cfg, const char *key, PyObject *v)
{
  if (msb_config_set_init == NULL)
    return missing (key);
  PyObject *cmd_obj, *args_obj, *env_obj;
  if (!PyArg_ParseTuple (v, "UOO", &cmd_obj, &args_obj, &env_obj))
    return -1;
  _msbpy_cleanup_strv_ char **args = NULL;
  _msbpy_cleanup_strv_ char **env = NULL;
  char *cmd = NULL;
  if (msbpy_strdup_arg (cmd_obj, "init cmd", false, &cmd) < 0 || msbpy_strv_arg (args_obj, "init args", &args) < 0)
    {
      free (cmd);
      return -1;
    }
  /* env arrives as (key, value) pairs; libmsb takes "K=V". */
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (env_obj, "init env");
  if (seq == NULL)
    {
      free (cmd);
      return -1;
    }
  Py_ssize_t n = PySequence_Fast_GET_SIZE (seq);
  env = calloc ((size_t) n + 1, sizeof *env);
  for (Py_ssize_t i = 0; env && i < n; i++)
    {
      const char *k, *val;
      if (!PyArg_ParseTuple (PySequence_Fast_GET_ITEM (seq, i), "ss", &k, &val)
          || asprintf (&env[i], "%s=%s", k, val) < 0)
        {
          env[i] = NULL;
          free (cmd);
          return PyErr_Occurred () ? -1 : (PyErr_NoMemory (), -1);
        }
    }
  if (env == NULL)
    {
      free (cmd);
      PyErr_NoMemory ();
      return -1;
    }
  msb_error *err = NULL;
  int r = msb_config_set_init (cfg, cmd, (const char *const *) args, (const char *const *) env, &err);
  free (cmd);
  return r < 0 ? msbpy_raise_int (err) : 0;
}

/* (kind, path, src_or_target, content, mode, replace) */
static int
apply_patch (msb_config *cfg, PyObject *item)
{
  const char *kind, *path, *src;
  PyObject *content;
  int mode, replace;
  if (!PyArg_ParseTuple (item, "szzOip", &kind, &path, &src, &content, &mode, &replace))
    return -1;
  msb_error *err = NULL;
  int r;
  if (strcmp (kind, "text") == 0 || strcmp (kind, "append") == 0 || strcmp (kind, "file") == 0)
    {
      char *data;
      Py_ssize_t len;
      if (!PyBytes_Check (content))
        {
          PyErr_SetString (PyExc_TypeError, "patch content must be bytes");
          return -1;
        }
      PyBytes_AsStringAndSize (content, &data, &len);
      if (kind[0] == 'f')
        {
          if (msb_config_add_patch_file == NULL)
            return missing ("patches");
          r = msb_config_add_patch_file (cfg, path, data, (size_t) len, mode, replace, &err);
        }
      else if ((size_t) len != strlen (data))
        {
          PyErr_SetString (PyExc_ValueError, "patch text must not contain NUL characters");
          return -1;
        }
      else if (kind[0] == 't')
        {
          if (msb_config_add_patch_text == NULL)
            return missing ("patches");
          r = msb_config_add_patch_text (cfg, path, data, mode, replace, &err);
        }
      else
        {
          if (msb_config_add_patch_append == NULL)
            return missing ("patches");
          r = msb_config_add_patch_append (cfg, path, data, &err);
        }
    }
  else if (strcmp (kind, "mkdir") == 0)
    r = msb_config_add_patch_mkdir ? msb_config_add_patch_mkdir (cfg, path, mode, &err) : missing ("patches");
  else if (strcmp (kind, "remove") == 0)
    r = msb_config_add_patch_remove ? msb_config_add_patch_remove (cfg, path, &err) : missing ("patches");
  else if (strcmp (kind, "copy_file") == 0)
    r = msb_config_add_patch_copy_file
            ? msb_config_add_patch_copy_file (cfg, src, path, mode, replace, &err)
            : missing ("patches");
  else if (strcmp (kind, "copy_dir") == 0)
    r = msb_config_add_patch_copy_dir ? msb_config_add_patch_copy_dir (cfg, src, path, replace, &err)
                                      : missing ("patches");
  else if (strcmp (kind, "symlink") == 0)
    r = msb_config_add_patch_symlink ? msb_config_add_patch_symlink (cfg, src, path, replace, &err)
                                     : missing ("patches");
  else
    {
      PyErr_Format (PyExc_ValueError, "unknown patch kind `%s`", kind);
      return -1;
    }
  if (r < 0 && err)
    return msbpy_raise_int (err);
  return r < 0 ? -1 : 0;
}

static unsigned
mount_flags (int ro, int noexec, int nosuid, int nodev)
{
  return (ro ? MSB_MOUNT_READONLY : 0) | (noexec ? MSB_MOUNT_NOEXEC : 0)
         | (nosuid ? MSB_MOUNT_NOSUID : 0) | (nodev ? MSB_MOUNT_NODEV : 0);
}

/* (kind, source, guest, (ro, noexec, nosuid, nodev), named_mode, named_kind, size_mib,
 * quota_mib) */
static int
apply_mount (msb_config *cfg, PyObject *item)
{
  const char *kind, *source, *guest, *named_mode, *named_kind;
  int ro, noexec, nosuid, nodev;
  unsigned long long size_mib, quota_mib;
  if (!PyArg_ParseTuple (item, "szs(pppp)zzKK", &kind, &source, &guest, &ro, &noexec, &nosuid,
                         &nodev, &named_mode, &named_kind, &size_mib, &quota_mib))
    return -1;
  unsigned flags = mount_flags (ro, noexec, nosuid, nodev);
  msb_error *err = NULL;
  int r;
  if (strcmp (kind, "bind") == 0)
    r = msb_config_add_bind_mount ? msb_config_add_bind_mount (cfg, source, guest, flags, &err)
                                  : missing ("volumes");
  else if (strcmp (kind, "tmpfs") == 0)
    r = msb_config_add_tmpfs_mount ? msb_config_add_tmpfs_mount (cfg, guest, size_mib, flags, &err)
                                   : missing ("volumes");
  else if (strcmp (kind, "named") == 0)
    {
      if (msb_config_add_named_mount == NULL)
        return missing ("volumes");
      msb_named_mount_opts o = { .size = sizeof o, .flags = flags, .size_mib = size_mib,
                                 .quota_mib = quota_mib };
      o.mode = named_mode == NULL || strcmp (named_mode, "existing") == 0 ? MSB_NAMED_EXISTING
               : strcmp (named_mode, "create") == 0                       ? MSB_NAMED_CREATE
                                                                          : MSB_NAMED_ENSURE_EXISTS;
      o.kind = named_kind && strcmp (named_kind, "disk") == 0 ? MSB_VOLUME_DISK : MSB_VOLUME_DIR;
      r = msb_config_add_named_mount (cfg, source, guest, &o, &err);
    }
  else
    {
      msbpy_raise_kind (MSB_ERR_UNSUPPORTED, "%s mounts are not supported by this msb build", kind);
      return -1;
    }
  if (r < 0 && err)
    return msbpy_raise_int (err);
  return r < 0 ? -1 : 0;
}

static int
apply_each (msb_config *cfg, const char *key, PyObject *v, int (*fn) (msb_config *, PyObject *))
{
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (v, key);
  if (seq == NULL)
    return -1;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE (seq); i++)
    if (fn (cfg, PySequence_Fast_GET_ITEM (seq, i)) < 0)
      return -1;
  return 0;
}

static int
apply_registry_auth (msb_config *cfg, const char *key, PyObject *v)
{
  if (msb_config_set_registry_auth == NULL)
    return 0; /* this libmsb pulls nothing: credentials have no use */
  const char *user, *password;
  if (!PyArg_ParseTuple (v, "ss", &user, &password))
    return -1;
  msb_error *err = NULL;
  return msb_config_set_registry_auth (cfg, user, password, &err) < 0 ? msbpy_raise_int (err) : 0;
}

static int
apply_ca_files (msb_config *cfg, const char *key, PyObject *v)
{
  if (msb_config_add_registry_ca_file == NULL)
    return 0;
  _msbpy_cleanup_strv_ char **files = NULL;
  if (msbpy_strv_arg (v, key, &files) < 0)
    return -1;
  for (char **f = files; f && *f; f++)
    {
      msb_error *err = NULL;
      if (msb_config_add_registry_ca_file (cfg, *f, &err) < 0)
        return msbpy_raise_int (err);
    }
  return 0;
}

static int
set_registry_insecure (msb_config *cfg, bool insecure, msb_error **err)
{
  return msb_config_set_registry_insecure ? msb_config_set_registry_insecure (cfg, insecure, err) : 0;
}

static int
add_registry_ca_pem (msb_config *cfg, const char *pem, msb_error **err)
{
  return msb_config_add_registry_ca_pem ? msb_config_add_registry_ca_pem (cfg, pem, err) : 0;
}

static int
set_script (msb_config *cfg, const char *name, const char *body, msb_error **err)
{
  return msb_config_set_script (cfg, name, body, err);
}

typedef enum
{
  K_STR,
  K_STRV,
  K_PAIRS,
  K_DOUBLE,
  K_UINT,
  K_BOOL,
  K_CUSTOM,
} key_kind;

typedef int (*custom_fn) (msb_config *, const char *, PyObject *);

typedef struct
{
  const char *key;
  key_kind kind;
  void (*fn) (void);
  bool needs_weak;         /* the key needs `weak`, a function newer libmsbs have */
  void (*weak) (void);
} key_setter;

#define SETTER(f) ((void (*) (void)) (f))

static int
apply_patches (msb_config *cfg, const char *key, PyObject *v)
{
  return apply_each (cfg, key, v, apply_patch);
}

static int
apply_volumes (msb_config *cfg, const char *key, PyObject *v)
{
  return apply_each (cfg, key, v, apply_mount);
}

static const key_setter setters[] = {
  { "image", K_STR, SETTER (msb_config_set_image), false, NULL },
  { "cpus", K_UINT, SETTER (msb_config_set_cpus), false, NULL },
  { "memory", K_UINT, SETTER (apply_memory), false, NULL },
  { "max_cpus", K_UINT, SETTER (msb_config_set_max_cpus), true, SETTER (msb_config_set_max_cpus) },
  { "max_memory", K_UINT, SETTER (msb_config_set_max_memory_mib), true, SETTER (msb_config_set_max_memory_mib) },
  { "thp", K_STR, SETTER (msb_config_set_thp), true, SETTER (msb_config_set_thp) },
  { "pids_limit", K_UINT, SETTER (msb_config_set_pids_limit), false, NULL },
  { "env", K_PAIRS, SETTER (msb_config_set_env), false, NULL },
  { "labels", K_PAIRS, SETTER (msb_config_set_label), false, NULL },
  { "scripts", K_PAIRS, SETTER (set_script), true, SETTER (msb_config_set_script) },
  { "workdir", K_STR, SETTER (msb_config_set_workdir), false, NULL },
  { "user", K_STR, SETTER (msb_config_set_user), false, NULL },
  { "hostname", K_STR, SETTER (msb_config_set_hostname), false, NULL },
  { "shell", K_STR, SETTER (msb_config_set_shell), false, NULL },
  { "entrypoint", K_STRV, SETTER (msb_config_set_entrypoint), false, NULL },
  { "cmd", K_STRV, SETTER (msb_config_set_cmd), false, NULL },
  { "pull_policy", K_STR, SETTER (msb_config_set_pull_policy), false, NULL },
  { "log_level", K_STR, SETTER (msb_config_set_log_level), false, NULL },
  { "backend", K_STR, SETTER (msb_config_set_backend), false, NULL },
  { "max_duration", K_DOUBLE, SETTER (msb_config_set_max_duration), false, NULL },
  { "idle_timeout", K_DOUBLE, SETTER (msb_config_set_idle_timeout), false, NULL },
  { "ephemeral", K_BOOL, SETTER (msb_config_set_ephemeral), false, NULL },
  { "upper_size_mib", K_UINT, SETTER (msb_config_set_upper_size_mib), true, SETTER (msb_config_set_upper_size_mib) },
  { "init", K_CUSTOM, SETTER (apply_init), false, NULL },
  { "patches", K_CUSTOM, SETTER (apply_patches), false, NULL },
  { "volumes", K_CUSTOM, SETTER (apply_volumes), false, NULL },
  { "registry_auth", K_CUSTOM, SETTER (apply_registry_auth), false, NULL },
  { "registry_insecure", K_BOOL, SETTER (set_registry_insecure), false, NULL },
  { "registry_ca_files", K_CUSTOM, SETTER (apply_ca_files), false, NULL },
  { "registry_ca_pem", K_STR, SETTER (add_registry_ca_pem), false, NULL },
};

static int
apply_key (msb_config *cfg, const char *key, PyObject *v)
{
  if (v == Py_None)
    return 0;
  for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++)
    {
      const key_setter *s = &setters[i];
      if (strcmp (s->key, key) != 0)
        continue;
      if (s->needs_weak && s->weak == NULL)
        return missing (key);
      switch (s->kind)
        {
        case K_STR:
          return apply_str (cfg, key, v, (str_setter) s->fn);
        case K_STRV:
          return apply_strv (cfg, key, v, (strv_setter) s->fn);
        case K_PAIRS:
          return apply_pairs (cfg, key, v, (pair_setter) s->fn);
        case K_DOUBLE:
          return apply_double (cfg, key, v, (double_setter) s->fn);
        case K_UINT:
          return apply_uint (cfg, key, v, (uint_setter) s->fn);
        case K_BOOL:
          return apply_bool (cfg, key, v, (bool_setter) s->fn);
        case K_CUSTOM:
          return ((custom_fn) s->fn) (cfg, key, v);
        }
    }
  return missing (key);
}

int
msbpy_config_from_dict (PyObject *dict, msb_config **out)
{
  msb_config *cfg = msb_config_new ();
  if (cfg == NULL)
    {
      PyErr_NoMemory ();
      return -1;
    }
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next (dict, &pos, &key, &value))
    {
      const char *k = PyUnicode_Check (key) ? PyUnicode_AsUTF8 (key) : NULL;
      if (k == NULL)
        {
          if (!PyErr_Occurred ())
            PyErr_SetString (PyExc_TypeError, "config keys must be str");
          msb_config_free (cfg);
          return -1;
        }
      if (apply_key (cfg, k, value) < 0)
        {
          msb_config_free (cfg);
          return -1;
        }
    }
  *out = cfg;
  return 0;
}

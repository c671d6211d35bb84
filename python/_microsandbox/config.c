/* The create options the asyncio layer has validated (a dict of plain values, see
 * microsandbox/_config.py) as an msb_config, one setter per key. The setters check values
 * themselves and name the option in their errors (InvalidConfigError / ValueError), so
 * nothing is re-validated here beyond the Python types. GIL held throughout. */
#include "module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

typedef int (*str_setter) (msb_config *, const char *, msb_error **);
typedef int (*strv_setter) (msb_config *, const char *const *, msb_error **);
typedef int (*pair_setter) (msb_config *, const char *, const char *, msb_error **);
typedef int (*double_setter) (msb_config *, double, msb_error **);
typedef int (*uint_setter) (msb_config *, unsigned, msb_error **);
typedef int (*bool_setter) (msb_config *, bool, msb_error **);
typedef int (*custom_fn) (msb_config *, const char *, PyObject *);

/* A setter's result: 0, or -1 with the exception of its error set. */
static int
done (int r, msb_error *err)
{
  return r < 0 ? msbpy_raise_int (err) : 0;
}

/* ---- scalar options ---- */

static int
apply_str (msb_config *cfg, const char *key, PyObject *v, str_setter fn)
{
  char *s = NULL;
  if (msbpy_strdup_arg (v, key, false, &s) < 0)
    return -1;
  msb_error *err = NULL;
  int r = fn (cfg, s, &err);
  free (s);
  return done (r, err);
}

static int
apply_strv (msb_config *cfg, const char *key, PyObject *v, strv_setter fn)
{
  _msbpy_cleanup_strv_ char **sv = NULL;
  if (msbpy_strv_arg (v, key, &sv) < 0)
    return -1;
  msb_error *err = NULL;
  return done (fn (cfg, (const char *const *) sv, &err), err);
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
      const char *k, *val;
      if (!PyArg_ParseTuple (PySequence_Fast_GET_ITEM (seq, i), "ss", &k, &val))
        return -1;
      msb_error *err = NULL;
      if (fn (cfg, k, val, &err) < 0)
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
  return done (fn (cfg, d, &err), err);
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
  return done (fn (cfg, (unsigned) u, &err), err);
}

static int
apply_bool (msb_config *cfg, const char *key, PyObject *v, bool_setter fn)
{
  int b = PyObject_IsTrue (v);
  if (b < 0)
    return -1;
  msb_error *err = NULL;
  return done (fn (cfg, b != 0, &err), err);
}

/* ---- structured options ---- */

/* init: (cmd, [args], [(key, value)]) — libmsb takes the environment as "K=V". */
static int
apply_init (msb_config *cfg, const char *key, PyObject *v)
{
  const char *cmd;
  PyObject *args_obj, *env_obj;
  if (!PyArg_ParseTuple (v, "sOO", &cmd, &args_obj, &env_obj))
    return -1;
  _msbpy_cleanup_strv_ char **args = NULL;
  if (msbpy_strv_arg (args_obj, "init args", &args) < 0)
    return -1;
  _msbpy_cleanup_decref_ PyObject *seq = PySequence_Fast (env_obj, "init env");
  if (seq == NULL)
    return -1;
  Py_ssize_t n = PySequence_Fast_GET_SIZE (seq);
  _msbpy_cleanup_strv_ char **env = calloc ((size_t) n + 1, sizeof *env);
  if (env == NULL)
    {
      PyErr_NoMemory ();
      return -1;
    }
  for (Py_ssize_t i = 0; i < n; i++)
    {
      const char *k, *val;
      if (!PyArg_ParseTuple (PySequence_Fast_GET_ITEM (seq, i), "ss", &k, &val))
        return -1;
      if (asprintf (&env[i], "%s=%s", k, val) < 0)
        {
          env[i] = NULL;
          PyErr_NoMemory ();
          return -1;
        }
    }
  msb_error *err = NULL;
  return done (msb_config_set_init (cfg, cmd, (const char *const *) args, (const char *const *) env,
                                    &err),
               err);
}

/* One patch: (kind, path, src_or_target, content, mode, replace); mode -1 = default. */
static int
apply_patch (msb_config *cfg, PyObject *item)
{
  const char *kind, *path, *src;
  PyObject *content;
  int mode, replace;
  if (!PyArg_ParseTuple (item, "szzOip", &kind, &path, &src, &content, &mode, &replace))
    return -1;
  char *data = NULL;
  Py_ssize_t len = 0;
  if (content != Py_None && PyBytes_AsStringAndSize (content, &data, &len) < 0)
    return -1;
  bool is_text = strcmp (kind, "text") == 0 || strcmp (kind, "append") == 0;
  if (is_text && (data == NULL || (size_t) len != strlen (data)))
    {
      PyErr_Format (PyExc_ValueError, "%s patch content must be text without NUL characters", kind);
      return -1;
    }
  msb_error *err = NULL;
  int r;
  if (strcmp (kind, "text") == 0)
    r = msb_config_add_patch_text (cfg, path, data, mode, replace, &err);
  else if (strcmp (kind, "append") == 0)
    r = msb_config_add_patch_append (cfg, path, data, &err);
  else if (strcmp (kind, "file") == 0)
    r = msb_config_add_patch_file (cfg, path, data, (size_t) len, mode, replace, &err);
  else if (strcmp (kind, "mkdir") == 0)
    r = msb_config_add_patch_mkdir (cfg, path, mode, &err);
  else if (strcmp (kind, "remove") == 0)
    r = msb_config_add_patch_remove (cfg, path, &err);
  else if (strcmp (kind, "copy_file") == 0)
    r = msb_config_add_patch_copy_file (cfg, src, path, mode, replace, &err);
  else if (strcmp (kind, "copy_dir") == 0)
    r = msb_config_add_patch_copy_dir (cfg, src, path, replace, &err);
  else if (strcmp (kind, "symlink") == 0)
    r = msb_config_add_patch_symlink (cfg, src, path, replace, &err);
  else
    {
      PyErr_Format (PyExc_ValueError, "unknown patch kind `%s`", kind);
      return -1;
    }
  return done (r, err);
}

static msb_named_mode
named_mode_of (const char *mode)
{
  if (mode == NULL || strcmp (mode, "existing") == 0)
    return MSB_NAMED_EXISTING;
  return strcmp (mode, "create") == 0 ? MSB_NAMED_CREATE : MSB_NAMED_ENSURE_EXISTS;
}

/* One mount: (kind, source, guest, (readonly, noexec, nosuid, nodev), named_mode,
 * named_kind, size_mib, quota_mib). */
static int
apply_mount (msb_config *cfg, PyObject *item)
{
  const char *kind, *source, *guest, *named_mode, *named_kind;
  int ro, noexec, nosuid, nodev;
  unsigned long long size_mib, quota_mib;
  if (!PyArg_ParseTuple (item, "szs(pppp)zzKK", &kind, &source, &guest, &ro, &noexec, &nosuid,
                         &nodev, &named_mode, &named_kind, &size_mib, &quota_mib))
    return -1;
  unsigned flags = (ro ? MSB_MOUNT_READONLY : 0) | (noexec ? MSB_MOUNT_NOEXEC : 0)
                   | (nosuid ? MSB_MOUNT_NOSUID : 0) | (nodev ? MSB_MOUNT_NODEV : 0);
  msb_error *err = NULL;
  int r;
  if (strcmp (kind, "bind") == 0)
    r = msb_config_add_bind_mount (cfg, source, guest, flags, &err);
  else if (strcmp (kind, "tmpfs") == 0)
    r = msb_config_add_tmpfs_mount (cfg, guest, size_mib, flags, &err);
  else if (strcmp (kind, "named") == 0)
    {
      msb_named_mount_opts o = {
        .size = sizeof o,
        .flags = flags,
        .mode = named_mode_of (named_mode),
        .kind = named_kind && strcmp (named_kind, "disk") == 0 ? MSB_VOLUME_DISK : MSB_VOLUME_DIR,
        .size_mib = size_mib,
        .quota_mib = quota_mib,
      };
      r = msb_config_add_named_mount (cfg, source, guest, &o, &err);
    }
  else
    {
      msbpy_raise_kind (MSB_ERR_UNSUPPORTED, "%s mounts are not supported by this msb build", kind);
      return -1;
    }
  return done (r, err);
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
apply_patches (msb_config *cfg, const char *key, PyObject *v)
{
  return apply_each (cfg, key, v, apply_patch);
}

static int
apply_volumes (msb_config *cfg, const char *key, PyObject *v)
{
  return apply_each (cfg, key, v, apply_mount);
}

/* registry_auth: (username, password). Never stored in the config JSON (libmsb's rule). */
static int
apply_registry_auth (msb_config *cfg, const char *key, PyObject *v)
{
  const char *user, *password;
  if (!PyArg_ParseTuple (v, "ss", &user, &password))
    return -1;
  msb_error *err = NULL;
  return done (msb_config_set_registry_auth (cfg, user, password, &err), err);
}

static int
apply_ca_files (msb_config *cfg, const char *key, PyObject *v)
{
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
set_memory (msb_config *cfg, unsigned mib, msb_error **err)
{
  return msb_config_set_memory_mib (cfg, mib, err);
}

/* ---- the table ---- */

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

typedef struct
{
  const char *key;
  key_kind kind;
  void (*fn) (void);
} key_setter;

#define SETTER(f) ((void (*) (void)) (f))

/* Applied in the dict's order: the Python layer puts cpus/memory before their ceilings. */
static const key_setter setters[] = {
  { "image", K_STR, SETTER (msb_config_set_image) },
  { "cpus", K_UINT, SETTER (msb_config_set_cpus) },
  { "memory", K_UINT, SETTER (set_memory) },
  { "max_cpus", K_UINT, SETTER (msb_config_set_max_cpus) },
  { "max_memory", K_UINT, SETTER (msb_config_set_max_memory_mib) },
  { "thp", K_STR, SETTER (msb_config_set_thp) },
  { "pids_limit", K_UINT, SETTER (msb_config_set_pids_limit) },
  { "upper_size_mib", K_UINT, SETTER (msb_config_set_upper_size_mib) },
  { "env", K_PAIRS, SETTER (msb_config_set_env) },
  { "labels", K_PAIRS, SETTER (msb_config_set_label) },
  { "scripts", K_PAIRS, SETTER (msb_config_set_script) },
  { "workdir", K_STR, SETTER (msb_config_set_workdir) },
  { "user", K_STR, SETTER (msb_config_set_user) },
  { "hostname", K_STR, SETTER (msb_config_set_hostname) },
  { "shell", K_STR, SETTER (msb_config_set_shell) },
  { "entrypoint", K_STRV, SETTER (msb_config_set_entrypoint) },
  { "cmd", K_STRV, SETTER (msb_config_set_cmd) },
  { "pull_policy", K_STR, SETTER (msb_config_set_pull_policy) },
  { "log_level", K_STR, SETTER (msb_config_set_log_level) },
  { "backend", K_STR, SETTER (msb_config_set_backend) },
  { "max_duration", K_DOUBLE, SETTER (msb_config_set_max_duration) },
  { "idle_timeout", K_DOUBLE, SETTER (msb_config_set_idle_timeout) },
  { "ephemeral", K_BOOL, SETTER (msb_config_set_ephemeral) },
  { "init", K_CUSTOM, SETTER (apply_init) },
  { "patches", K_CUSTOM, SETTER (apply_patches) },
  { "volumes", K_CUSTOM, SETTER (apply_volumes) },
  { "registry_auth", K_CUSTOM, SETTER (apply_registry_auth) },
  { "registry_insecure", K_BOOL, SETTER (msb_config_set_registry_insecure) },
  { "registry_ca_files", K_CUSTOM, SETTER (apply_ca_files) },
  { "registry_ca_pem", K_STR, SETTER (msb_config_add_registry_ca_pem) },
  { "network", K_CUSTOM, SETTER (msbpy_config_set_network) },
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
  msbpy_raise_kind (MSB_ERR_UNSUPPORTED, "create option `%s` is not supported by this msb build", key);
  return -1;
}

int
msbpy_config_from_dict (PyObject *dict, msb_config **out)
{
  _msbpy_cleanup_config_ msb_config *cfg = msb_config_new ();
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next (dict, &pos, &key, &value))
    {
      const char *k = PyUnicode_Check (key) ? PyUnicode_AsUTF8 (key) : NULL;
      if (k == NULL)
        {
          if (!PyErr_Occurred ())
            PyErr_SetString (PyExc_TypeError, "config keys must be str");
          return -1;
        }
      if (apply_key (cfg, k, value) < 0)
        return -1;
    }
  *out = msb_steal_pointer (&cfg);
  return 0;
}

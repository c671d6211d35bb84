/* The stored form of a sandbox config (API.md §1.20). Readers ignore unknown keys; writers
 * emit every section so other tools can rely on the shape. registry_auth is never written. */
#include <jansson.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/util.h"
#include "lib/config.h"
#include "lib/config_fs_json.h"
#include "lib/config_json.h"
#include "lib/config_net_json.h"

static json_t *
str_or_null (const char *s)
{
  return s ? json_string (s) : json_null ();
}

static json_t *
strv_or_null (char **v)
{
  if (v == NULL)
    return json_null ();
  json_t *a = json_array ();
  for (; *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

static json_t *
int_or_null (int64_t v)
{
  return v > 0 ? json_integer (v) : json_null ();
}

static const char *
pull_policy_json (const char *p)
{
  if (p && strcmp (p, "always") == 0)
    return "Always";
  if (p && strcmp (p, "never") == 0)
    return "Never";
  return "IfMissing";
}

json_t *
msb_config_kv_json (const msb_kvlist *l)
{
  json_t *o = json_object ();
  for (size_t i = 0; i < l->n; i++)
    json_object_set_new (o, l->items[i].key, json_string (l->items[i].value));
  return o;
}

json_t *
msb_config_env_json (const msb_kvlist *l)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new (a, json_pack ("{s:s, s:s}", "key", l->items[i].key, "value",
                                         l->items[i].value));
  return a;
}

static json_t *
config_to_json_object (const msb_config *c, const char *name)
{
  json_t *root = json_object ();
  json_object_set_new (root, "name", str_or_null (name));
  json_t *oci = json_pack ("{s:o}", "reference", str_or_null (c->image));
  msb_config_root_disk_json (c, oci);
  json_object_set_new (root, "image", json_pack ("{s:o}", "Oci", oci));
  json_object_set_new (root, "resources",
                       json_pack ("{s:I, s:I, s:I, s:I, s:I}", "cpus", (json_int_t) c->cpus,
                                  "memory_mib", (json_int_t) c->memory_mib, "max_cpus",
                                  (json_int_t) c->max_cpus, "max_memory_mib",
                                  (json_int_t) c->max_memory_mib, "pids_limit",
                                  (json_int_t) c->pids_limit));
  if (c->thp) /* §1.20: omitted when madvise */
    json_object_set_new (json_object_get (root, "resources"), "thp",
                         json_string (msb_config_thp_name (c->thp)));
  json_t *rt = json_object ();
  json_object_set_new (rt, "workdir", str_or_null (c->workdir));
  json_object_set_new (rt, "shell", str_or_null (c->shell));
  json_object_set_new (rt, "scripts", msb_config_kv_json (&c->scripts));
  json_object_set_new (rt, "entrypoint", strv_or_null (c->entrypoint));
  json_object_set_new (rt, "cmd", strv_or_null (c->cmd));
  json_object_set_new (rt, "main", strv_or_null (c->main_cmd));
  json_object_set_new (rt, "hostname", str_or_null (c->hostname));
  json_object_set_new (rt, "user", str_or_null (c->user));
  json_object_set_new (rt, "log_level", str_or_null (c->log_level));
  json_object_set_new (root, "runtime", rt);
  json_object_set_new (root, "env", msb_config_env_json (&c->env));
  json_object_set_new (root, "labels", msb_config_kv_json (&c->labels));
  json_object_set_new (root, "mounts", msb_config_mounts_json (c));
  json_object_set_new (root, "patches", msb_config_patches_json (c));
  json_object_set_new (root, "rlimits", json_array ());
  json_object_set_new (root, "network", msb_config_net_to_json (&c->net));
  json_object_set_new (root, "init", msb_config_init_json (c));
  json_object_set_new (root, "pull_policy", json_string (pull_policy_json (c->pull_policy)));
  json_object_set_new (root, "security_profile", json_string ("default"));
  json_object_set_new (root, "lifecycle",
                       json_pack ("{s:b, s:o, s:o}", "ephemeral", c->ephemeral,
                                  "max_duration_secs", int_or_null (c->max_duration_secs),
                                  "idle_timeout_secs", int_or_null (c->idle_timeout_secs)));
  json_object_set_new (root, "backend", str_or_null (c->backend));
  return root;
}

char *
msb_config_to_json_named (const msb_config *c, const char *name)
{
  json_t *root = config_to_json_object (c, name);
  char *s = json_dumps (root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref (root);
  if (s == NULL)
    abort ();
  return s;
}

char *
msb_config_to_json (const msb_config *c)
{
  return msb_config_to_json_named (c, NULL);
}

/* ---- parsing ---- */

static const char *
get_str (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

static char **
get_strv (json_t *o, const char *key)
{
  json_t *a = json_object_get (o, key);
  if (!json_is_array (a))
    return NULL;
  char **v = msb_xcalloc (json_array_size (a) + 1, sizeof (char *));
  size_t i, n = 0;
  json_t *item;
  json_array_foreach (a, i, item)
    if (json_is_string (item))
      v[n++] = msb_xstrdup (json_string_value (item));
  return v;
}

static void
read_kv_object (json_t *o, msb_kvlist *l)
{
  const char *k;
  json_t *v;
  if (!json_is_object (o))
    return;
  json_object_foreach (o, k, v)
    if (json_is_string (v))
      msb_kvlist_set (l, k, json_string_value (v));
}

static void
read_resources (json_t *r, msb_config *c)
{
  if (!json_is_object (r))
    return;
  json_t *v;
  if (json_is_integer (v = json_object_get (r, "cpus")) && json_integer_value (v) > 0)
    c->cpus = (unsigned) json_integer_value (v);
  if (json_is_integer (v = json_object_get (r, "memory_mib")) && json_integer_value (v) > 0)
    c->memory_mib = (unsigned) json_integer_value (v);
  if (json_is_integer (v = json_object_get (r, "max_cpus")) && json_integer_value (v) > 0)
    c->max_cpus = (unsigned) json_integer_value (v), c->max_cpus_set = true;
  if (json_is_integer (v = json_object_get (r, "max_memory_mib")) && json_integer_value (v) > 0)
    c->max_memory_mib = (unsigned) json_integer_value (v), c->max_memory_set = true;
  if (json_is_integer (v = json_object_get (r, "pids_limit")) && json_integer_value (v) >= 0)
    c->pids_limit = (unsigned) json_integer_value (v);
  if (json_is_string (v = json_object_get (r, "thp")))
    msb_config_set_thp (c, json_string_value (v), NULL);
}

static void
read_runtime (json_t *rt, msb_config *c)
{
  if (!json_is_object (rt))
    return;
  c->workdir = msb_xstrdup (get_str (rt, "workdir"));
  if (get_str (rt, "shell"))
    {
      free (c->shell);
      c->shell = msb_xstrdup (get_str (rt, "shell"));
    }
  read_kv_object (json_object_get (rt, "scripts"), &c->scripts);
  c->entrypoint = get_strv (rt, "entrypoint");
  c->cmd = get_strv (rt, "cmd");
  c->main_cmd = get_strv (rt, "main");
  c->hostname = msb_xstrdup (get_str (rt, "hostname"));
  c->user = msb_xstrdup (get_str (rt, "user"));
  c->log_level = msb_xstrdup (get_str (rt, "log_level"));
}

static void
read_env (json_t *a, msb_config *c)
{
  size_t i;
  json_t *item;
  if (!json_is_array (a))
    return;
  json_array_foreach (a, i, item)
  {
    const char *k = get_str (item, "key"), *v = get_str (item, "value");
    if (k && v)
      msb_kvlist_set (&c->env, k, v);
  }
}

static void
read_lifecycle (json_t *l, msb_config *c)
{
  if (!json_is_object (l))
    return;
  json_t *v;
  c->ephemeral = json_is_true (json_object_get (l, "ephemeral"));
  if (json_is_integer (v = json_object_get (l, "max_duration_secs")))
    c->max_duration_secs = json_integer_value (v);
  if (json_is_integer (v = json_object_get (l, "idle_timeout_secs")))
    c->idle_timeout_secs = json_integer_value (v);
}

static void
read_pull_policy (const char *p, msb_config *c)
{
  const char *v = "if-missing";
  if (p && strcmp (p, "Always") == 0)
    v = "always";
  else if (p && strcmp (p, "Never") == 0)
    v = "never";
  free (c->pull_policy);
  c->pull_policy = msb_xstrdup (v);
}

int
msb_config_from_json (const char *text, msb_config **out, msb_error **err)
{
  json_error_t jerr;
  json_t *root = json_loads (text, 0, &jerr);
  if (root == NULL || !json_is_object (root))
    {
      json_decref (root);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "parse sandbox config: %s",
                       root ? "not an object" : jerr.text);
    }
  msb_config *c = msb_config_new ();
  json_t *image = json_object_get (root, "image");
  json_t *oci = json_object_get (image, "Oci");
  c->image = msb_xstrdup (get_str (oci, "reference"));
  read_resources (json_object_get (root, "resources"), c);
  read_runtime (json_object_get (root, "runtime"), c);
  read_env (json_object_get (root, "env"), c);
  read_kv_object (json_object_get (root, "labels"), &c->labels);
  read_lifecycle (json_object_get (root, "lifecycle"), c);
  read_pull_policy (get_str (root, "pull_policy"), c);
  c->backend = msb_xstrdup (get_str (root, "backend"));
  msb_config_files_from_json (root, c);
  if (msb_config_net_from_json (json_object_get (root, "network"), &c->net, err) < 0)
    {
      json_decref (root);
      msb_config_free (c);
      return msb_error_prefix (err, "parse sandbox config");
    }
  json_decref (root);
  *out = c;
  return 0;
}

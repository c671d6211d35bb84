/* The image config JSON (OCI image-spec config.md, docker's container config): the run
 * defaults a sandbox inherits and the diff_ids that pin the layers. Parsing only. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/store.h"
#include "lib/json_cleanup.h"

void
msb_image_config_clear (msb_image_config *c)
{
  msb_strv_free (c->env);
  msb_strv_free (c->cmd);
  msb_strv_free (c->entrypoint);
  free (c->working_dir);
  free (c->user);
  free (c->stop_signal);
  msb_strv_free (c->labels);
  memset (c, 0, sizeof *c);
}

/* A JSON array of strings (or null / absent → *out = NULL). */
static int
get_strv (json_t *obj, const char *key, char ***out, msb_error **err)
{
  *out = NULL;
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_array (v))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image config: `%s` is not an array", key);
  char **res = msb_xcalloc (json_array_size (v) + 1, sizeof (char *));
  for (size_t i = 0; i < json_array_size (v); i++)
    {
      const char *s = json_string_value (json_array_get (v, i));
      if (s == NULL)
        {
          msb_strv_free (res);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                           "image config: `%s` holds a non-string", key);
        }
      res[i] = msb_xstrdup (s);
    }
  *out = res;
  return 0;
}

static int
get_str (json_t *obj, const char *key, char **out, msb_error **err)
{
  *out = NULL;
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_string (v))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image config: `%s` is not a string", key);
  if (*json_string_value (v))
    *out = msb_xstrdup (json_string_value (v));
  return 0;
}

static int
compare_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
get_labels (json_t *obj, char ***out, msb_error **err)
{
  json_t *v = json_object_get (obj, "Labels");
  size_t n = json_is_object (v) ? json_object_size (v) : 0;
  if (v && !json_is_null (v) && !json_is_object (v))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image config: `Labels` is not an object");
  char **res = msb_xcalloc (n + 1, sizeof (char *));
  size_t i = 0;
  const char *key;
  json_t *val;
  json_object_foreach (v, key, val)
  {
    const char *s = json_string_value (val);
    res[i++] = msb_xasprintf ("%s=%s", key, s ? s : "");
  }
  qsort (res, i, sizeof (char *), compare_str);
  *out = res;
  return 0;
}

static int
parse_run_config (json_t *c, msb_image_config *cfg, msb_error **err)
{
  if (c && !json_is_null (c) && !json_is_object (c))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image config: `config` is not an object");
  if (get_strv (c, "Env", &cfg->env, err) < 0 || get_strv (c, "Cmd", &cfg->cmd, err) < 0
      || get_strv (c, "Entrypoint", &cfg->entrypoint, err) < 0
      || get_str (c, "WorkingDir", &cfg->working_dir, err) < 0
      || get_str (c, "User", &cfg->user, err) < 0
      || get_str (c, "StopSignal", &cfg->stop_signal, err) < 0
      || get_labels (c, &cfg->labels, err) < 0)
    return -1;
  if (cfg->env == NULL)
    cfg->env = msb_xcalloc (1, sizeof (char *));
  return 0;
}

int
msb_image_config_parse (const char *json, size_t len, msb_image_config *cfg,
                        char **architecture, char **os, char ***diff_ids, msb_error **err)
{
  memset (cfg, 0, sizeof *cfg);
  json_error_t jerr;
  _msb_cleanup_json_ json_t *root = json_loadb (json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL || !json_is_object (root))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image config is not a JSON object: %s",
                     root ? "wrong type" : jerr.text);
  _msb_cleanup_free_ char *arch = NULL, *sys = NULL;
  _msb_cleanup_strv_ char **ids = NULL;
  json_t *rootfs = json_object_get (root, "rootfs");
  if (parse_run_config (json_object_get (root, "config"), cfg, err) < 0
      || get_str (root, "architecture", &arch, err) < 0 || get_str (root, "os", &sys, err) < 0
      || (rootfs && get_strv (rootfs, "diff_ids", &ids, err) < 0))
    {
      msb_image_config_clear (cfg);
      return -1;
    }
  if (architecture)
    *architecture = msb_steal_pointer (&arch);
  if (os)
    *os = msb_steal_pointer (&sys);
  if (diff_ids)
    *diff_ids = msb_steal_pointer (&ids);
  return 0;
}

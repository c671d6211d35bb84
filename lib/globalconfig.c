/* Reading $MSB_HOME/config.json: the `registries` section today. Unknown keys are ignored;
 * known keys with the wrong type are errors. */
#include "lib/globalconfig.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/json_cleanup.h"

void
msb_global_config_clear (msb_global_config *c)
{
  for (size_t i = 0; i < c->n_registries; i++)
    {
      free (c->registries[i].host);
      msb_strv_free (c->registries[i].mirrors);
      msb_strv_free (c->registries[i].ca_files);
    }
  free (c->registries);
  memset (c, 0, sizeof *c);
}

char *
msb_registry_host_normalize (const char *host)
{
  char *s = msb_xstrdup (host);
  for (char *p = s; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  if (strcmp (s, "index.docker.io") == 0 || strcmp (s, "registry-1.docker.io") == 0
      || strcmp (s, "registry.hub.docker.com") == 0)
    {
      free (s);
      return msb_xstrdup ("docker.io");
    }
  return s;
}

/* A string or an array of strings (absent → NULL). */
static int
get_strings (json_t *obj, const char *key, const char *what, const char *host, char ***out,
             msb_error **err)
{
  *out = NULL;
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return 0;
  if (json_is_string (v))
    {
      *out = msb_xcalloc (2, sizeof (char *));
      (*out)[0] = msb_xstrdup (json_string_value (v));
      return 0;
    }
  if (!json_is_array (v))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "%s: registries.\"%s\".%s must be a string or an array of strings", what,
                     host, key);
  char **res = msb_xcalloc (json_array_size (v) + 1, sizeof (char *));
  for (size_t i = 0; i < json_array_size (v); i++)
    {
      const char *s = json_string_value (json_array_get (v, i));
      if (s == NULL || *s == '\0')
        {
          msb_strv_free (res);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                           "%s: registries.\"%s\".%s[%zu] must be a non-empty string", what, host,
                           key, i);
        }
      res[i] = msb_xstrdup (s);
    }
  *out = res;
  return 0;
}

/* Appends the strings of `more` to *v (both NULL-terminated; `more` is consumed). */
static void
strv_extend (char ***v, char **more)
{
  if (more == NULL)
    return;
  size_t a = msb_strv_len (*v), b = msb_strv_len (more);
  *v = msb_xrealloc (*v, (a + b + 1) * sizeof (char *));
  memcpy (*v + a, more, (b + 1) * sizeof (char *));
  free (more);
}

static int
parse_registry (const char *host, json_t *v, const char *what, msb_registry_settings *s,
                msb_error **err)
{
  if (!json_is_object (v))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: registries.\"%s\" must be an object", what,
                     host);
  json_t *insecure = json_object_get (v, "insecure");
  if (insecure && !json_is_boolean (insecure))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "%s: registries.\"%s\".insecure must be true or false", what, host);
  s->insecure = json_is_true (insecure);
  char **more = NULL;
  if (get_strings (v, "mirrors", what, host, &s->mirrors, err) < 0
      || get_strings (v, "ca_file", what, host, &s->ca_files, err) < 0
      || get_strings (v, "ca_files", what, host, &more, err) < 0)
    return -1;
  strv_extend (&s->ca_files, more);
  for (char **f = s->ca_files; f && *f; f++)
    if (**f != '/')
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "%s: registries.\"%s\": CA file `%s` must be an absolute path", what, host,
                       *f);
  return 0;
}

int
msb_global_config_parse (const char *json, size_t len, const char *what, msb_global_config *out,
                         msb_error **err)
{
  memset (out, 0, sizeof *out);
  json_error_t jerr;
  _msb_cleanup_json_ json_t *root = json_loadb (json, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: line %d: %s", what, jerr.line, jerr.text);
  if (!json_is_object (root))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: not a JSON object", what);
  json_t *regs = json_object_get (root, "registries");
  if (regs == NULL || json_is_null (regs))
    return 0;
  if (!json_is_object (regs))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `registries` must be an object", what);
  out->registries = msb_xcalloc (json_object_size (regs) + 1, sizeof *out->registries);
  const char *host;
  json_t *v;
  json_object_foreach (regs, host, v)
  {
    msb_registry_settings *s = &out->registries[out->n_registries++];
    s->host = msb_registry_host_normalize (host);
    if (parse_registry (host, v, what, s, err) < 0)
      {
        msb_global_config_clear (out);
        return -1;
      }
  }
  return 0;
}

int
msb_global_config_load (const msb_home *home, msb_global_config *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  _msb_cleanup_free_ char *data = NULL;
  size_t len = 0;
  msb_error *rerr = NULL;
  if (msb_read_file_at (home->root_fd, "config.json", MSB_GLOBAL_CONFIG_MAX, &data, &len, &rerr)
      < 0)
    {
      bool missing = msb_error_get_errno (rerr) == ENOENT;
      if (missing)
        {
          msb_error_free (rerr);
          return 0;
        }
      if (err)
        *err = rerr;
      else
        msb_error_free (rerr);
      return msb_error_prefix (err, "read %s/config.json", home->root);
    }
  _msb_cleanup_free_ char *what = msb_xasprintf ("%s/config.json", home->root);
  return msb_global_config_parse (data, len, what, out, err);
}

const msb_registry_settings *
msb_global_config_registry (const msb_global_config *c, const char *host)
{
  _msb_cleanup_free_ char *norm = msb_registry_host_normalize (host);
  for (size_t i = 0; i < c->n_registries; i++)
    if (strcmp (c->registries[i].host, norm) == 0)
      return &c->registries[i];
  return NULL;
}

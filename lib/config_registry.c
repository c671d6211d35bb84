/* The registry options of a config (registry_auth, registry_insecure, registry_ca_certs).
 * They serve the pull of one create and live in memory only: config_json.c never writes
 * them, and the password is wiped when the config is freed. */
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"

static void
wipe_free (char *s)
{
  if (s == NULL)
    return;
  explicit_bzero (s, strlen (s));
  free (s);
}

void
msb_config_registry_clear (msb_config *c)
{
  free (c->registry.username);
  wipe_free (c->registry.password);
  msb_strv_free (c->registry.ca_files);
  free (c->registry.ca_pem);
  memset (&c->registry, 0, sizeof c->registry);
}

void
msb_config_registry_copy (msb_config *dst, const msb_config *src)
{
  dst->registry.username = msb_xstrdup (src->registry.username);
  dst->registry.password = msb_xstrdup (src->registry.password);
  dst->registry.insecure = src->registry.insecure;
  dst->registry.ca_files = msb_strv_dup (src->registry.ca_files);
  dst->registry.ca_pem = msb_xstrdup (src->registry.ca_pem);
}

int
msb_config_set_registry_auth (msb_config *c, const char *username, const char *password,
                              msb_error **err)
{
  if ((username == NULL) != (password == NULL))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "registry_auth: give both a user name and a password (or neither)");
  if (username && (*username == '\0' || strchr (username, ':')))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "registry_auth: the user name must be non-empty and without ':'");
  free (c->registry.username);
  wipe_free (c->registry.password);
  c->registry.username = msb_xstrdup (username);
  c->registry.password = msb_xstrdup (password);
  return 0;
}

int
msb_config_set_registry_insecure (msb_config *c, bool insecure, msb_error **err)
{
  c->registry.insecure = insecure;
  return 0;
}

int
msb_config_add_registry_ca_file (msb_config *c, const char *path, msb_error **err)
{
  if (path == NULL || path[0] == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "registry_ca_certs: empty file name");
  size_t n = msb_strv_len (c->registry.ca_files);
  c->registry.ca_files = msb_xrealloc (c->registry.ca_files, (n + 2) * sizeof (char *));
  c->registry.ca_files[n] = msb_xstrdup (path);
  c->registry.ca_files[n + 1] = NULL;
  return 0;
}

int
msb_config_add_registry_ca_pem (msb_config *c, const char *pem, msb_error **err)
{
  if (pem == NULL || strstr (pem, "-----BEGIN CERTIFICATE-----") == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "registry_ca_certs: data is not a PEM certificate");
  char *joined = msb_xasprintf ("%s%s\n", c->registry.ca_pem ? c->registry.ca_pem : "", pem);
  free (c->registry.ca_pem);
  c->registry.ca_pem = joined;
  return 0;
}

const char *
msb_config_get_pull_policy (const msb_config *c)
{
  return c->pull_policy;
}

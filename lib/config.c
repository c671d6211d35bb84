/* msb_config setters: each validates its own argument and names the option in its error. */
#include "lib/config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/util.h"

msb_config *
msb_config_new (void)
{
  msb_config *c = msb_xcalloc (1, sizeof *c);
  c->cpus = c->max_cpus = 1;
  c->memory_mib = c->max_memory_mib = 512;
  c->pids_limit = 2048;
  c->shell = msb_xstrdup ("/bin/sh");
  c->pull_policy = msb_xstrdup ("if-missing");
  return c;
}

void
msb_config_free (msb_config *c)
{
  if (c == NULL)
    return;
  free (c->image);
  free (c->workdir);
  free (c->shell);
  free (c->hostname);
  free (c->user);
  free (c->log_level);
  free (c->backend);
  msb_strv_free (c->entrypoint);
  msb_strv_free (c->cmd);
  msb_strv_free (c->main_cmd);
  msb_kvlist_clear (&c->env);
  msb_kvlist_clear (&c->labels);
  msb_kvlist_clear (&c->scripts);
  free (c->pull_policy);
  msb_config_registry_clear (c);
  msb_config_files_clear (c);
  msb_config_net_clear (&c->net);
  free (c);
}

msb_config *
msb_config_copy (const msb_config *src)
{
  msb_config *c = msb_xcalloc (1, sizeof *c);
  *c = *src;
  c->image = msb_xstrdup (src->image);
  c->workdir = msb_xstrdup (src->workdir);
  c->shell = msb_xstrdup (src->shell);
  c->hostname = msb_xstrdup (src->hostname);
  c->user = msb_xstrdup (src->user);
  c->log_level = msb_xstrdup (src->log_level);
  c->backend = msb_xstrdup (src->backend);
  c->entrypoint = msb_strv_dup (src->entrypoint);
  c->cmd = msb_strv_dup (src->cmd);
  c->main_cmd = msb_strv_dup (src->main_cmd);
  c->pull_policy = msb_xstrdup (src->pull_policy);
  memset (&c->env, 0, sizeof c->env);
  memset (&c->labels, 0, sizeof c->labels);
  memset (&c->scripts, 0, sizeof c->scripts);
  msb_kvlist_copy (&c->env, &src->env);
  msb_kvlist_copy (&c->labels, &src->labels);
  msb_kvlist_copy (&c->scripts, &src->scripts);
  msb_config_registry_copy (c, src);
  msb_config_files_copy (c, src);
  msb_config_net_copy (&c->net, &src->net);
  return c;
}

static void
replace_str (char **slot, const char *value)
{
  free (*slot);
  *slot = msb_xstrdup (value);
}

static bool
has_control_chars (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

int
msb_config_set_image (msb_config *c, const char *ref, msb_error **err)
{
  if (ref == NULL || *ref == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image: must not be empty");
  if (strlen (ref) > 4096 || has_control_chars (ref))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image: `%s` is not a valid reference", ref);
  replace_str (&c->image, ref);
  return 0;
}

int
msb_config_set_cpus (msb_config *c, unsigned cpus, msb_error **err)
{
  if (cpus < 1 || cpus > 128)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "cpus: must be between 1 and 128, got %u", cpus);
  c->cpus = cpus;
  if (!c->max_cpus_set || c->max_cpus < cpus)
    c->max_cpus = cpus;
  return 0;
}

int
msb_config_set_memory_mib (msb_config *c, unsigned mib, msb_error **err)
{
  if (mib < 16)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "memory: must be at least 16 MiB, got %u", mib);
  if (mib > 16u * 1024u * 1024u)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "memory: %u MiB is more than 16 TiB", mib);
  c->memory_mib = mib;
  if (!c->max_memory_set || c->max_memory_mib < mib)
    c->max_memory_mib = mib;
  return 0;
}

int
msb_config_set_pids_limit (msb_config *c, unsigned limit, msb_error **err)
{
  if (limit != 0 && limit < 8)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "pids_limit: must be 0 (unlimited) or at least 8, got %u", limit);
  c->pids_limit = limit;
  return 0;
}

static int
check_env_key (const char *key, msb_error **err)
{
  if (key == NULL || *key == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "env: variable name must not be empty");
  if (strchr (key, '=') || has_control_chars (key))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "env: `%s` is not a valid variable name (no '=' or control characters)", key);
  return 0;
}

int
msb_config_set_env (msb_config *c, const char *key, const char *value, msb_error **err)
{
  if (check_env_key (key, err) < 0)
    return -1;
  if (value == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "env: value of `%s` must not be NULL", key);
  msb_kvlist_set (&c->env, key, value);
  return 0;
}

static int
check_abs_path (const char *option, const char *path, msb_error **err)
{
  if (path == NULL || path[0] != '/')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `%s` must be an absolute path", option,
                     path ? path : "(null)");
  if (strlen (path) >= 4096 || has_control_chars (path))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `%s` is not a valid path", option, path);
  return 0;
}

int
msb_config_set_workdir (msb_config *c, const char *path, msb_error **err)
{
  if (check_abs_path ("workdir", path, err) < 0)
    return -1;
  replace_str (&c->workdir, path);
  return 0;
}

int
msb_config_set_user (msb_config *c, const char *user, msb_error **err)
{
  if (user == NULL || *user == '\0' || strlen (user) > 256 || has_control_chars (user)
      || strchr (user, ':') != strrchr (user, ':'))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "user: `%s` must be `name`, `uid`, `name:group` or `uid:gid`",
                     user ? user : "(null)");
  replace_str (&c->user, user);
  return 0;
}

int
msb_config_set_hostname (msb_config *c, const char *hostname, msb_error **err)
{
  size_t n = hostname ? strlen (hostname) : 0;
  if (n == 0 || n > 64)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "hostname: must be 1 to 64 characters");
  for (const char *p = hostname; *p; p++)
    if (!(isalnum ((unsigned char) *p) || *p == '-' || *p == '.' || *p == '_'))
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "hostname: `%s` may only contain letters, digits, '-', '_' and '.'",
                       hostname);
  replace_str (&c->hostname, hostname);
  return 0;
}

int
msb_config_set_shell (msb_config *c, const char *shell, msb_error **err)
{
  if (shell == NULL || *shell == '\0' || has_control_chars (shell))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "shell: must be a command name or path");
  replace_str (&c->shell, shell);
  return 0;
}

static int
set_argv (char ***slot, const char *option, const char *const *argv, msb_error **err)
{
  if (argv && argv[0] == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: must not be an empty list", option);
  msb_strv_free (*slot);
  *slot = msb_strv_dup ((char *const *) argv);
  return 0;
}

int
msb_config_set_entrypoint (msb_config *c, const char *const *argv, msb_error **err)
{
  return set_argv (&c->entrypoint, "entrypoint", argv, err);
}

int
msb_config_set_cmd (msb_config *c, const char *const *argv, msb_error **err)
{
  return set_argv (&c->cmd, "cmd", argv, err);
}

int
msb_config_set_main_command (msb_config *c, const char *const *argv, msb_error **err)
{
  return set_argv (&c->main_cmd, "main command", argv, err);
}

int
msb_config_set_label (msb_config *c, const char *key, const char *value, msb_error **err)
{
  static const char *const reserved[] = { "sandbox.", "microsandbox.", "service." };
  if (key == NULL || *key == '\0' || has_control_chars (key))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "labels: label key must not be empty");
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strncmp (key, reserved[i], strlen (reserved[i])) == 0)
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "labels: key `%s` uses the reserved prefix `%s`", key, reserved[i]);
  msb_kvlist_set (&c->labels, key, value ? value : "");
  return 0;
}

int
msb_config_set_pull_policy (msb_config *c, const char *policy, msb_error **err)
{
  if (policy == NULL
      || (strcmp (policy, "always") && strcmp (policy, "if-missing") && strcmp (policy, "never")))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "pull_policy: `%s` is not one of always, if-missing, never",
                     policy ? policy : "(null)");
  replace_str (&c->pull_policy, policy);
  return 0;
}

static int
set_duration (int64_t *slot, const char *option, double seconds, msb_error **err)
{
  if (isnan (seconds) || seconds < 0)
    return msb_fail (err, MSB_ERR_INVALID_ARGUMENT, "%s must be non-negative", option);
  if (seconds > 100.0 * 365 * 86400)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: %.0f seconds is too long", option, seconds);
  /* Stored as whole seconds (API.md §1.3); a positive fraction still arms the timer. */
  int64_t whole = (int64_t) seconds;
  if (whole == 0 && seconds > 0)
    whole = 1;
  *slot = whole;
  return 0;
}

int
msb_config_set_max_duration (msb_config *c, double seconds, msb_error **err)
{
  return set_duration (&c->max_duration_secs, "max_duration", seconds, err);
}

int
msb_config_set_idle_timeout (msb_config *c, double seconds, msb_error **err)
{
  return set_duration (&c->idle_timeout_secs, "idle_timeout", seconds, err);
}

int
msb_config_set_ephemeral (msb_config *c, bool ephemeral, msb_error **err)
{
  (void) err;
  c->ephemeral = ephemeral;
  return 0;
}

int
msb_config_set_backend (msb_config *c, const char *backend, msb_error **err)
{
  if (backend == NULL
      || (strcmp (backend, "ns") && strcmp (backend, "vm") && strcmp (backend, "auto")))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "backend: `%s` is not one of ns, vm, auto",
                     backend ? backend : "(null)");
  replace_str (&c->backend, backend);
  return 0;
}

int
msb_config_set_log_level (msb_config *c, const char *level, msb_error **err)
{
  static const char *const levels[] = { "trace", "debug", "info", "warn", "error" };
  for (size_t i = 0; level && i < sizeof levels / sizeof levels[0]; i++)
    if (strcmp (level, levels[i]) == 0)
      {
        replace_str (&c->log_level, level);
        return 0;
      }
  return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                   "log_level: `%s` is not one of trace, debug, info, warn, error",
                   level ? level : "(null)");
}

int
msb_config_validate (const msb_config *c, msb_error **err)
{
  if (c->image == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "image: an image is required");
  return 0;
}

char *
msb_config_effective_hostname (const msb_config *c, const char *name)
{
  if (c->hostname)
    return msb_xstrdup (c->hostname);
  char *h = msb_xcalloc (64, 1);
  size_t n = 0;
  for (const char *p = name; *p && n < 63; p++)
    {
      unsigned char ch = (unsigned char) *p;
      char out = isalnum (ch) && ch < 0x80 ? (char) tolower (ch) : '-';
      if (out == '-' && (n == 0 || h[n - 1] == '-'))
        continue;
      h[n++] = out;
    }
  while (n > 0 && h[n - 1] == '-')
    h[--n] = '\0';
  if (n == 0)
    strcpy (h, "sandbox");
  return h;
}

const char *
msb_config_get_image (const msb_config *c)
{
  return c->image;
}

unsigned
msb_config_get_cpus (const msb_config *c)
{
  return c->cpus;
}

unsigned
msb_config_get_memory_mib (const msb_config *c)
{
  return c->memory_mib;
}

const char *
msb_config_get_shell (const msb_config *c)
{
  return c->shell;
}

const char *const *
msb_config_get_entrypoint (const msb_config *c)
{
  return (const char *const *) c->entrypoint;
}

const char *const *
msb_config_get_cmd (const msb_config *c)
{
  return (const char *const *) c->cmd;
}

/* The create flags shared by `msb run` and `msb create` (API.md §2), applied to an
 * msb_config; errors name the flag. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char help[] =
    "  -n, --name NAME            sandbox name (default: generated)\n"
    "  -c, --cpus N               vCPUs (CPU-time limit on the ns backend)\n"
    "  -m, --memory SIZE          memory limit (512M, 1G)\n"
    "      --max-cpus N, --max-memory SIZE  ceilings for live resize\n"
    "      --pids-limit N         maximum number of processes (0 = unlimited)\n"
    "  -e, --env K=V              environment variable (repeatable)\n"
    "  -w, --workdir DIR          default working directory\n"
    "  -u, --user USER            default user (name, uid, name:group, uid:gid)\n"
    "  -H, --hostname NAME        hostname\n"
    "      --shell PATH           shell used by `msb shell`\n"
    "      --entrypoint CMD       override the image ENTRYPOINT\n"
    "      --label K[=V]          label (repeatable)\n"
    "      --replace              replace an existing sandbox of the same name\n"
    "      --replace-with-timeout DUR  grace before SIGKILL when replacing\n"
    "      --max-duration DUR     stop the sandbox after this long\n"
    "      --idle-timeout DUR     stop the sandbox after this long without activity\n"
    "      --pull POLICY          always, if-missing (default) or never\n"
    "      --backend KIND         ns, vm or auto\n"
    "      --log-level LEVEL      runtime log level\n";

const char *
cli_create_flags_help (void)
{
  static char *both;
  if (both == NULL
      && asprintf (&both, "%s%s%s", help, cli_create_fs_flags_help (), cli_create_net_flags_help ()) < 0)
    both = NULL;
  return both ? both : help;
}

/* Flags of API.md §2 this build does not have: refused with the reason and what to use
 * instead, never ignored and never reported as unknown. */
static const struct
{
  const char *flag;
  const char *why;
} unimplemented[] = {
  { "--thp", "transparent huge pages are not configurable yet (the host's setting applies)" },
  { "--mount-file", "single-file mounts are not supported yet: bind its directory with -v, or "
                    "copy the file in with --copy-file" },
  { "--mount-disk", "disk-image mounts are not supported yet: use a disk volume (msb volume create "
                    "NAME --kind disk --size 1G) with -v NAME:GUEST" },
  { "--secret", "secret substitution needs TLS interception, which the network engine does not "
                "have yet" },
  { "--security", "only the default security profile exists (README: security model); "
                  "`--security default` is accepted" },
  { "--conf", "config files are not read yet: give the flags on the command line" },
};

static int
refuse_unimplemented (const char *flag)
{
  for (size_t k = 0; k < sizeof unimplemented / sizeof unimplemented[0]; k++)
    {
      size_t n = strlen (unimplemented[k].flag);
      if (strncmp (flag, unimplemented[k].flag, n) == 0 && (flag[n] == '\0' || flag[n] == '='))
        {
          fprintf (stderr, "msb: %s is not supported by this build: %s\n", unimplemented[k].flag,
                   unimplemented[k].why);
          return -1;
        }
    }
  return 0;
}

const char *
cli_flag_value (int argc, char **argv, int *i, const char *shortf, const char *longf, bool *matched)
{
  const char *a = argv[*i];
  size_t ll = longf ? strlen (longf) : 0;
  *matched = false;
  if (longf && strncmp (a, longf, ll) == 0 && a[ll] == '=')
    {
      *matched = true;
      return a + ll + 1;
    }
  if ((shortf && strcmp (a, shortf) == 0) || (longf && strcmp (a, longf) == 0))
    {
      *matched = true;
      return *i + 1 < argc ? argv[++*i] : NULL;
    }
  return NULL;
}

int
cli_flag_bad_value (const char *flag, const char *value, const char *what)
{
  fprintf (stderr, "msb: %s: invalid value `%s`: %s\n", flag, value ? value : "(missing)", what);
  return -1;
}

int
cli_flag_applied (msb_error *err)
{
  if (err == NULL)
    return 1;
  cli_fail (err, 0);
  return -1;
}

static int
set_kv (msb_config *cfg, const char *v, bool label)
{
  msb_error *err = NULL;
  const char *eq = strchr (v, '=');
  char *key = eq ? strndup (v, (size_t) (eq - v)) : strdup (v);
  const char *value = eq ? eq + 1 : (label ? "" : getenv (v));
  if (!label && value == NULL)
    value = "";
  if (label)
    msb_config_set_label (cfg, key, value, &err);
  else
    msb_config_set_env (cfg, key, value, &err);
  free (key);
  return cli_flag_applied (err);
}

int
cli_create_flag (cli_create_opts *o, int argc, char **argv, int *i)
{
  msb_error *err = NULL;
  bool m;
  const char *v;
  unsigned n;
  double d;
  const char *flag = argv[*i];
  int fs_flag = cli_create_fs_flag (o, argc, argv, i); /* volumes, patches, init (create_fs_flags.c) */
  if (fs_flag != 0)
    return fs_flag;
  int net_flag = cli_create_net_flag (o, argc, argv, i); /* -p, --net… (create_net_flags.c) */
  if (net_flag != 0)
    return net_flag;
  bool missing = false;
  /* A flag given without its value matches nothing here and is reported once, below. */
#define VALUE(s, l) \
  ((v = cli_flag_value (argc, argv, i, s, l, &m)), m && (v != NULL || (missing = true, false)))
  if (VALUE ("-n", "--name"))
    return v ? (o->name = v, 1) : cli_flag_bad_value (flag, v, "a name is required");
  if (VALUE ("-c", "--cpus"))
    {
      if (v == NULL || (n = (unsigned) strtoul (v, NULL, 10)) == 0)
        return cli_flag_bad_value (flag, v, "expected a positive integer");
      return msb_config_set_cpus (o->cfg, n, &err), cli_flag_applied (err);
    }
  if (VALUE ("-m", "--memory"))
    {
      if (v == NULL || cli_parse_size_mib (v, &n) < 0)
        return cli_flag_bad_value (flag, v, "expected a size such as 512M or 1G");
      return msb_config_set_memory_mib (o->cfg, n, &err), cli_flag_applied (err);
    }
  if (VALUE (NULL, "--max-cpus"))
    {
      if (v == NULL || (n = (unsigned) strtoul (v, NULL, 10)) == 0)
        return cli_flag_bad_value (flag, v, "expected a positive integer");
      return msb_config_set_max_cpus (o->cfg, n, &err), cli_flag_applied (err);
    }
  if (VALUE (NULL, "--max-memory"))
    {
      if (v == NULL || cli_parse_size_mib (v, &n) < 0)
        return cli_flag_bad_value (flag, v, "expected a size such as 512M or 1G");
      return msb_config_set_max_memory_mib (o->cfg, n, &err), cli_flag_applied (err);
    }
  if (VALUE (NULL, "--pids-limit"))
    {
      char *end;
      if (v == NULL || (n = (unsigned) strtoul (v, &end, 10), *end))
        return cli_flag_bad_value (flag, v, "expected an integer");
      return msb_config_set_pids_limit (o->cfg, n, &err), cli_flag_applied (err);
    }
  if (VALUE ("-e", "--env"))
    return v ? set_kv (o->cfg, v, false) : cli_flag_bad_value (flag, v, "expected K=V");
  if (VALUE (NULL, "--label"))
    return v ? set_kv (o->cfg, v, true) : cli_flag_bad_value (flag, v, "expected K[=V]");
  if (VALUE ("-w", "--workdir"))
    return msb_config_set_workdir (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE ("-u", "--user"))
    return msb_config_set_user (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE ("-H", "--hostname"))
    return msb_config_set_hostname (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE (NULL, "--shell"))
    return msb_config_set_shell (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE (NULL, "--entrypoint"))
    {
      const char *argv1[] = { v, NULL };
      if (v == NULL)
        return cli_flag_bad_value (flag, v, "expected a command");
      return msb_config_set_entrypoint (o->cfg, argv1, &err), cli_flag_applied (err);
    }
  if (strcmp (flag, "--replace") == 0)
    return o->replace = true, 1;
  if (VALUE (NULL, "--replace-with-timeout"))
    {
      if (v == NULL || cli_parse_duration (v, &d) < 0)
        return cli_flag_bad_value (flag, v, "expected a duration such as 10s");
      o->replace = true;
      o->replace_timeout = d;
      return 1;
    }
  if (VALUE (NULL, "--max-duration"))
    {
      if (v == NULL || cli_parse_duration (v, &d) < 0)
        return cli_flag_bad_value (flag, v, "expected a duration such as 30s, 5m, 1h");
      return msb_config_set_max_duration (o->cfg, d, &err), cli_flag_applied (err);
    }
  if (VALUE (NULL, "--idle-timeout"))
    {
      if (v == NULL || cli_parse_duration (v, &d) < 0)
        return cli_flag_bad_value (flag, v, "expected a duration such as 30s, 5m, 1h");
      return msb_config_set_idle_timeout (o->cfg, d, &err), cli_flag_applied (err);
    }
  if (VALUE (NULL, "--pull"))
    return msb_config_set_pull_policy (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE (NULL, "--backend"))
    return msb_config_set_backend (o->cfg, v, &err), cli_flag_applied (err);
  if (VALUE (NULL, "--log-level"))
    return msb_config_set_log_level (o->cfg, v, &err), cli_flag_applied (err);
  if (strcmp (flag, "-q") == 0 || strcmp (flag, "--quiet") == 0)
    return o->quiet = true, 1;
  /* The profile every sandbox has; `restricted` is refused below. */
  if (VALUE (NULL, "--security") && strcmp (v, "default") == 0)
    return 1;
#undef VALUE
  if (missing)
    return cli_flag_bad_value (flag, NULL, "a value is required");
  return refuse_unimplemented (flag);
}

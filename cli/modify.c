/* `msb modify NAME` (alias mod): change a sandbox's resources and config (API.md §1.8), a thin
 * translation of flags to msb_sandbox_modify's changes JSON. Prints the plan (a table, or the
 * plan JSON with --format json); exits 1 when a conflict kept the changes from applying. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void
usage (FILE *to)
{
  fputs ("usage: msb modify NAME [--cpus N] [--max-cpus N] [--memory SIZE] [--max-memory SIZE]\n"
         "                       [--root-disk SIZE] [--env K=V]... [--env-rm K]...\n"
         "                       [--label K=V]... [--label-rm K]... [--workdir DIR]\n"
         "                       [--secret ENV@HOST[,HOST]]... [--secret-rm NAME]...\n"
         "                       [--dry-run] [--restart|--next-start] [--format json]\n"
         "cpus and memory change live within the max the sandbox booted with; the rest needs\n"
         "--next-start (stored for the next start) or --restart (restarts it now).\n",
         to);
}

static json_t *
section (json_t *o, const char *key, bool array)
{
  json_t *v = json_object_get (o, key);
  if (v == NULL)
    {
      v = array ? json_array () : json_object ();
      json_object_set_new (o, key, v);
    }
  return v;
}

static int
put_kv (json_t *changes, const char *key, const char *flag, const char *arg)
{
  const char *eq = strchr (arg, '=');
  if (eq == NULL || eq == arg)
    return cli_failf (-1, "modify: %s: expected K=V, got `%s`", flag, arg);
  char *k = strndup (arg, (size_t) (eq - arg));
  json_object_set_new (section (changes, key, false), k, json_string (eq + 1));
  free (k);
  return 0;
}

static void
print_value (const json_t *v)
{
  if (json_is_integer (v))
    printf ("%lld", (long long) json_integer_value (v));
  else if (json_is_string (v))
    printf ("%s", json_string_value (v));
  else
    printf ("-");
}

static void
print_plan (const json_t *plan, bool dry_run)
{
  const char *applied = json_is_true (json_object_get (plan, "applied")) ? "applied"
                        : dry_run ? "dry run: nothing applied"
                                  : "nothing applied";
  printf ("sandbox %s (%s), policy %s: %s\n", json_string_value (json_object_get (plan, "sandbox")),
          json_string_value (json_object_get (plan, "status")),
          json_string_value (json_object_get (plan, "policy")), applied);
  size_t i;
  json_t *c;
  json_array_foreach (json_object_get (plan, "changes"), i, c)
    {
      const char *key = json_string_value (json_object_get (c, "key"));
      const char *name = json_string_value (json_object_get (c, "name"));
      printf ("  %-8s %-16s %-8s ", json_string_value (json_object_get (c, "field")),
              key    ? key
              : name ? name
                     : "",
              json_string_value (json_object_get (c, "change")));
      print_value (json_object_get (c, "before"));
      printf (" -> ");
      print_value (json_object_get (c, "after"));
      printf ("  [%s] %s\n", json_string_value (json_object_get (c, "disposition")),
              json_string_value (json_object_get (c, "reason")));
    }
  json_array_foreach (json_object_get (plan, "resize_status"), i, c)
    printf ("  resize %s: requested %lld, enforced %lld by %s (%s)\n",
            json_string_value (json_object_get (c, "resource")),
            (long long) json_integer_value (json_object_get (c, "requested")),
            (long long) json_integer_value (json_object_get (c, "actual")),
            json_string_value (json_object_get (c, "enforced")),
            json_string_value (json_object_get (c, "state")));
  json_array_foreach (json_object_get (plan, "conflicts"), i, c)
    printf ("conflict: %s\n", json_string_value (json_object_get (c, "message")));
  json_array_foreach (json_object_get (plan, "warnings"), i, c)
    printf ("warning: %s\n", json_string_value (json_object_get (c, "message")));
}

int
cli_modify (int argc, char **argv)
{
  const char *name = NULL;
  bool json = false, dry_run = false;
  unsigned flags = 0;
  json_t *changes = json_object ();
  int status = 0;
  for (int i = 1; i < argc && status == 0; i++)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      unsigned n;
      bool takes_value = a[0] == '-' && strcmp (a, "--dry-run") && strcmp (a, "--restart")
                         && strcmp (a, "--next-start") && strcmp (a, "--help") && strcmp (a, "-h");
      if (takes_value && v == NULL)
        {
          status = cli_failf (1, "modify: %s needs a value", a);
          break;
        }
      if (strcmp (a, "--help") == 0 || strcmp (a, "-h") == 0)
        {
          usage (stdout);
          json_decref (changes);
          return 0;
        }
      else if (strcmp (a, "--dry-run") == 0)
        dry_run = true, flags |= MSB_MODIFY_DRY_RUN;
      else if (strcmp (a, "--restart") == 0)
        flags |= MSB_MODIFY_RESTART;
      else if (strcmp (a, "--next-start") == 0)
        flags |= MSB_MODIFY_NEXT_START;
      else if (strcmp (a, "--format") == 0)
        json = strcmp (argv[++i], "json") == 0;
      else if (strcmp (a, "--cpus") == 0 || strcmp (a, "--max-cpus") == 0)
        {
          char *end;
          long c = strtol (argv[++i], &end, 10);
          if (*end || c <= 0)
            status = cli_failf (1, "modify: %s: expected a positive integer, got `%s`", a, v);
          else
            json_object_set_new (changes, a[2] == 'c' ? "cpus" : "max_cpus", json_integer (c));
        }
      else if (strcmp (a, "--memory") == 0 || strcmp (a, "--max-memory") == 0
               || strcmp (a, "--root-disk") == 0)
        {
          if (cli_parse_size_mib (argv[++i], &n) < 0)
            status
                = cli_failf (1, "modify: %s: expected a size such as 512M or 1G, got `%s`", a, v);
          else
            json_object_set_new (changes,
                                 strcmp (a, "--memory") == 0       ? "memory"
                                 : strcmp (a, "--max-memory") == 0 ? "max_memory"
                                                                   : "root_disk_size",
                                 json_integer (n));
        }
      else if (strcmp (a, "--env") == 0 || strcmp (a, "-e") == 0)
        status = put_kv (changes, "env", a, argv[++i]) < 0;
      else if (strcmp (a, "--label") == 0)
        status = put_kv (changes, "labels", a, argv[++i]) < 0;
      else if (strcmp (a, "--env-rm") == 0)
        json_array_append_new (section (changes, "env_rm", true), json_string (argv[++i]));
      else if (strcmp (a, "--label-rm") == 0)
        json_array_append_new (section (changes, "labels_rm", true), json_string (argv[++i]));
      else if (strcmp (a, "--workdir") == 0 || strcmp (a, "-w") == 0)
        json_object_set_new (changes, "workdir", json_string (argv[++i]));
      else if (strcmp (a, "--secret") == 0)
        {
          /* ENV@host[,host]: the value comes from the host env var ENV (a reference, §1.20). */
          const char *spec = argv[++i];
          const char *at = strchr (spec, '@');
          char *env = at ? strndup (spec, (size_t) (at - spec)) : strdup (spec);
          json_object_set_new (
              section (changes, "secrets", false), env,
              json_pack ("{s:s, s:s?}", "env", env, "allowed_hosts", at ? at + 1 : NULL));
          free (env);
        }
      else if (strcmp (a, "--secret-rm") == 0)
        json_array_append_new (section (changes, "secrets_rm", true), json_string (argv[++i]));
      else if (a[0] != '-' && name == NULL)
        name = a;
      else
        {
          usage (stderr);
          status = cli_failf (1, "modify: unexpected argument `%s`", a);
        }
    }
  if (status == 0 && name == NULL)
    {
      usage (stderr);
      status = cli_failf (1, "modify: a sandbox name is required");
    }
  if (status != 0)
    {
      json_decref (changes);
      return 1;
    }
  char *text = json_dumps (changes, JSON_COMPACT);
  json_decref (changes);
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    {
      free (text);
      return 1;
    }
  char *plan_text = NULL;
  msb_error *err = NULL;
  if (msb_sandbox_modify (ctx, name, text, flags, &plan_text, &err) < 0)
    status = cli_fail (err, 1);
  else
    {
      json_t *plan = json_loads (plan_text, 0, NULL);
      if (json)
        cli_print_json (plan, false);
      else
        print_plan (plan, dry_run);
      if (json_array_size (json_object_get (plan, "conflicts")))
        status = 1;
      json_decref (plan);
    }
  free (plan_text);
  free (text);
  msb_ctx_close (ctx);
  return status;
}
